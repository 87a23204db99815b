"""The trained face landmark model serves portrait animation and talking heads (the mouth
region) when its files are on disk; Haar cascades otherwise; the notes say which."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from pipelines import landmarks
from pipelines.catalog import build_registry
from pipelines.media import load_image
from pipelines.portrait import TASK as PORTRAIT
from pipelines.talking_head import TASK as TALKING_HEAD
from pipelines.task import run_job
from tests import media_real

ASSETS = Path(__file__).resolve().parent.parent / "assets"
FACE = ASSETS / "talking_head" / "astronaut.jpg"
SPEECH = ASSETS / "talking_head" / "speech.wav"


@pytest.fixture
def with_model(monkeypatch):
    """The studio's default landmark lookup finds the model (files from the mediapipe wheel)."""
    try:
        registry = media_real.landmark_registry()
    except Exception as err:  # the wheel could not be fetched: no model on this machine
        pytest.skip(f"MediaPipe's model files are not available here: {err}")
    monkeypatch.setitem(landmarks._DEFAULT, "registry", registry)
    return registry


@pytest.fixture
def without_model(monkeypatch):
    monkeypatch.setitem(landmarks._DEFAULT, "registry", build_registry())


def _talk(tmp_path):
    return run_job(build_registry(), TALKING_HEAD, "classical", {"face": FACE, "audio": SPEECH},
                   {"max_side": 256}, root=tmp_path)


def test_talking_head_mouth_comes_from_the_face_mesh(with_model, tmp_path):
    from pipelines.landmarks import find_faces
    from pipelines.talking_head.motion import locate_mouth

    out = _talk(tmp_path)
    assert json.loads(out.manifest.read_text())["face_finder"] == "mediapipe"
    rgb = load_image(FACE).rgb
    face = find_faces(rgb)[0]
    assert face.source == "mediapipe"
    mouth = locate_mouth(rgb, face)
    lips = face.landmarks.xy[[61, 291, 0, 17]]
    assert lips[0, 0] < mouth.cx < lips[1, 0]
    assert lips[2, 1] <= mouth.seam <= lips[3, 1]
    assert mouth.half_width == pytest.approx(abs(lips[1, 0] - lips[0, 0]) / 2)


def test_without_the_model_haar_cascades_are_used_and_said(without_model, tmp_path):
    out = _talk(tmp_path)
    assert json.loads(out.manifest.read_text())["face_finder"] == "haar"


def test_portrait_animation_says_which_face_finder_it_used(with_model, tmp_path):
    out = run_job(build_registry(), PORTRAIT, "classical", {"image": FACE},
                  {"frames": 4, "fps": 12, "max_side": 256}, root=tmp_path)
    info = json.loads(out.manifest.read_text())["backend_info"]
    assert info["face_finder"] == "mediapipe" and "face_finder_note" not in info
    frames = out.data["frames"]
    assert frames == 4 and np.isfinite(out.data["fps"])
