"""Registry, cache and device policy: lazy, cached, budgeted, and honest about missing weights."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from pipelines import device as dev
from pipelines.catalog import build_registry
from pipelines.errors import StudioError, UnknownPipeline, WeightsUnavailable
from pipelines.registry import (
    GIB,
    LoadContext,
    ModelCache,
    PipelineSpec,
    Registry,
    cached_weights,
    status_rows,
)


class FakeRunner:
    """A runner without torch modules; records what it was built with."""

    def __init__(self, ctx: LoadContext):
        self.ctx = ctx
        self.closed = False

    def __call__(self, request, progress=None):
        return request

    def modules(self):
        return {}

    def close(self):
        self.closed = True


def spec(name: str, gb: float = 1.0, task: str = "style", **kw) -> PipelineSpec:
    kw.setdefault("kind", "torch")
    kw.setdefault("repo_id", None if kw["kind"] == "classical" else "/nonexistent/repo")
    return PipelineSpec(
        id=f"{task}.{name}", task=task, label=name, builder=FakeRunner, est_memory_gb=gb, **kw
    )


def weight_folder(tmp_path: Path, name: str = "w") -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "model.bin").write_bytes(b"0" * 1000)
    return folder


def registry_with(tmp_path: Path, *names: str, budget_gb: float = 2.0) -> Registry:
    folder = weight_folder(tmp_path)
    specs = [spec(n, repo_id=str(folder), files=("model.bin",)) for n in names]
    return Registry(tuple(specs), ModelCache(budget_bytes=int(budget_gb * GIB)))


def test_specs_validate_their_fields():
    with pytest.raises(ValueError, match="must start with its task"):
        PipelineSpec(id="x.y", task="style", label="x", kind="classical", builder=FakeRunner)
    with pytest.raises(ValueError, match="only classical"):
        PipelineSpec(id="style.y", task="style", label="y", kind="torch", builder=FakeRunner)
    with pytest.raises(ValueError, match="kind"):
        PipelineSpec(id="style.y", task="style", label="y", kind="onnx", builder=FakeRunner)
    with pytest.raises(ValueError, match="tuple"):
        spec("y", kind="classical", tags="oops")


def test_duplicate_ids_raise_and_add_is_atomic():
    registry = Registry((spec("a", kind="classical"),))
    with pytest.raises(ValueError, match=r"duplicate pipeline id\(s\): style.a"):
        registry.add(spec("b", kind="classical"), spec("a", kind="classical"))
    assert [s.id for s in registry] == ["style.a"]  # "b" was not added either
    with pytest.raises(ValueError, match="style.c"):
        registry.add(spec("c", kind="classical"), spec("c", kind="classical"))
    assert len(registry) == 1


def test_by_task_puts_classical_first_and_get_names_known_ids(tmp_path):
    registry = registry_with(tmp_path, "zeta")
    registry.add(spec("classical", kind="classical"), spec("x", task="portrait", kind="classical"))
    assert [s.id for s in registry.by_task("style")] == ["style.classical", "style.zeta"]
    assert registry.default("style").id == "style.classical"
    with pytest.raises(UnknownPipeline, match="Known backends: .*style.zeta"):
        registry.get("style.nope")


def test_load_is_lazy_and_cached(tmp_path):
    registry = registry_with(tmp_path, "a")
    assert registry.cache.loaded() == []  # declaring loads nothing
    first = registry.load("style.a")
    assert registry.load("style.a") is first
    assert first.ctx.device == "cpu" and first.ctx.dtype == "float32"
    assert first.ctx.weights == tmp_path / "w"
    assert first.ctx.file("model.bin").stat().st_size == 1000


def test_concurrent_loads_of_one_key_build_once(tmp_path):
    calls = []

    def slow_builder(ctx):
        calls.append(ctx)
        time.sleep(0.2)
        return FakeRunner(ctx)

    registry = registry_with(tmp_path, "a")
    registry.replace("style.a", builder=slow_builder)
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(registry.load("style.a"))) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert len({id(r) for r in results}) == 1


def test_budget_evicts_least_recently_used(tmp_path):
    registry = registry_with(tmp_path, "a", "b", "c", budget_gb=2.0)
    a = registry.load("style.a")
    registry.load("style.b")
    registry.load("style.a")  # a is now more recently used than b
    registry.load("style.c")  # needs room for 1 GB: b goes
    assert {k[0] for k in registry.cache.loaded()} == {"style.a", "style.c"}
    assert registry.cache.evictions == [("style.b", "cpu", "float32")]
    assert registry.load("style.a") is a


def test_pinned_entries_are_not_evicted(tmp_path):
    registry = registry_with(tmp_path, "a", "b", "c", budget_gb=2.0)
    with registry.pinned("style.a") as runner_a:
        registry.load("style.b")
        registry.load("style.c")  # a is older but pinned: b is evicted instead
        assert {k[0] for k in registry.cache.loaded()} == {"style.a", "style.c"}
        with pytest.raises(StudioError, match="running a job"):
            registry.unload("style.a")
        assert registry.unload_all() == 1  # only c; a is running
    assert registry.cache.loaded() == [("style.a", "cpu", "float32")]
    assert not runner_a.closed
    assert registry.unload("style.a") == 1
    assert runner_a.closed


def test_budget_from_free_memory_keeps_headroom(tmp_path):
    free = {"cpu": int(3 * GIB)}
    cache = ModelCache(headroom_bytes=GIB, free_bytes=lambda device: free["cpu"])
    registry = registry_with(tmp_path, "a", "b")
    registry = registry.copy(cache)
    registry.load("style.a")
    free["cpu"] = int(1.5 * GIB)  # a took memory: 1.5 free - 1 headroom < 1 GB needed
    original_drop = cache._drop

    def drop_and_free(key):
        original_drop(key)
        free["cpu"] += GIB

    cache._drop = drop_and_free
    registry.load("style.b")
    assert [k[0] for k in cache.loaded()] == ["style.b"]


def test_replace_and_copy_isolate_tests(tmp_path):
    registry = registry_with(tmp_path, "a")
    original = registry.load("style.a")
    clone = registry.copy()
    new = registry.replace("style.a", label="renamed")
    assert new.label == "renamed" and registry.get("style.a").label == "renamed"
    assert clone.get("style.a").label == "a"
    assert original.closed  # replacing a spec drops its loaded runner
    assert clone.cache is not registry.cache and clone.cache.loaded() == []
    with pytest.raises(ValueError, match="id"):
        registry.replace("style.a", id="style.b")


def test_missing_weights_raise_fast_with_fetch_command(monkeypatch):
    # Even without HF_HUB_OFFLINE, loading looks only at the local cache: no network, no hang.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    registry = build_registry()
    spec_id = "metrics.clip-vit-b32"
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailable) as info:
        registry.load(spec_id)
    elapsed = time.perf_counter() - start
    message = str(info.value)
    assert "openai/clip-vit-base-patch32" in message
    assert f"python cli.py fetch {spec_id}" in message
    assert "classical" not in message  # a metric network has no weight-free alternative
    with pytest.raises(WeightsUnavailable, match="pick the 'classical' backend"):
        registry.load("super_res.swin2sr-x2")
    assert elapsed < 10, f"a missing checkpoint took {elapsed:.1f} s to report"  # hub retries: 24 s
    assert registry.cache.loaded() == []


def test_fetch_offline_is_refused_at_once():
    registry = build_registry()
    with pytest.raises(WeightsUnavailable, match="HF_HUB_OFFLINE"):
        registry.fetch("metrics.clip-vit-b32")


def test_weights_are_found_in_the_hugging_face_cache_layout(hub_cache, tmp_path):
    """A checkpoint in the hub cache (refs/main -> snapshot) loads by repo id, offline."""
    repo = hub_cache / "models--studio-test--tiny"
    commit = "0123456789abcdef0123456789abcdef01234567"
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    (snapshot / "config.json").write_text("{}")
    tiny = spec("tiny", repo_id="studio-test/tiny", files=("config.json", "*.safetensors"))
    assert cached_weights(tiny) is None  # the weights file is still missing
    (snapshot / "model.safetensors").write_bytes(b"x" * 10)
    registry = Registry((tiny,))
    assert cached_weights(tiny) == snapshot
    assert registry.load("style.tiny").ctx.weights == snapshot
    row = next(r for r in status_rows(registry) if r[0] == "style.tiny")
    assert row[7] == "yes" and row[9].startswith("cpu")


def test_auto_fetch_follows_environment(monkeypatch):
    from pipelines.registry import auto_fetch_enabled

    assert not auto_fetch_enabled()  # HF_HUB_OFFLINE=1 in tests
    monkeypatch.delenv("HF_HUB_OFFLINE")
    assert not auto_fetch_enabled()
    monkeypatch.setenv("SPACE_ID", "user/space")
    assert auto_fetch_enabled()
    monkeypatch.setenv("STUDIO_AUTO_FETCH", "0")
    assert not auto_fetch_enabled()


def test_device_policy(monkeypatch):
    monkeypatch.setenv("STUDIO_DEVICE", "cpu")
    assert dev.pick_device() == "cpu"
    assert dev.pick_dtype("cpu", ("float16", "bfloat16")) == "float32"
    monkeypatch.setenv("STUDIO_DEVICE", "auto")
    assert dev.pick_device() == dev.available_devices()[0]
    if "cuda" not in dev.available_devices():
        monkeypatch.setenv("STUDIO_DEVICE", "cuda")
        with pytest.raises(StudioError, match="not available"):
            dev.pick_device()
    monkeypatch.setenv("STUDIO_DTYPE", "int3")
    with pytest.raises(StudioError, match="STUDIO_DTYPE"):
        dev.pick_dtype("cpu")


def test_gpu_only_spec_is_refused_on_cpu_unless_the_cpu_is_asked_for(tmp_path, monkeypatch,
                                                                      caplog):
    registry = registry_with(tmp_path, "a")
    registry.replace("style.a", needs_gpu=True)
    monkeypatch.setenv("STUDIO_DEVICE", "auto")
    with pytest.raises(StudioError, match="needs a GPU"):
        registry.load("style.a")  # auto fell back to the CPU: refused with today's sentence
    runner = registry.load("style.a", device="cpu")  # asked for by name: runs, with a warning
    assert runner is registry.load("style.a", device="cpu")
    assert "on the CPU as asked" in caplog.text
    registry.unload_all()
    monkeypatch.setenv("STUDIO_DEVICE", "cpu")
    assert registry.load("style.a") is not None


def test_resolve_takes_full_ids_short_names_and_defaults(tmp_path):
    from pipelines.errors import InputError

    registry = registry_with(tmp_path, "zeta")
    registry.add(spec("classical", kind="classical"), spec("x", task="portrait", kind="classical"))
    assert registry.resolve("style", None).id == "style.classical"
    assert registry.resolve("style", " zeta ").id == "style.zeta"
    assert registry.resolve("style", "style.zeta").id == "style.zeta"
    with pytest.raises(InputError, match="is a portrait backend, not a style one"):
        registry.resolve("style", "portrait.x")
    with pytest.raises(UnknownPipeline, match="Unknown backend 'style.nope'"):
        registry.resolve("style", "nope")
