"""The talking-heads tab through its API: a served app called with gradio_client."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines import media
from pipelines.catalog import build_registry
from tabs.common import ASSETS
from tests.conftest import served_studio
from tests.talking_head_fixtures import landscape, needs_espeak

EXAMPLES = ASSETS / "talking_head"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with served_studio(build_registry(), tmp_path_factory.mktemp("downloads")) as client:
        yield client


def call(client, face, audio=None, text="", backend="talking_head.classical"):
    from gradio_client import handle_file

    return client.predict(
        handle_file(str(face)), None, handle_file(str(audio)) if audio else None, text, "en",
        150, backend, False, 0.0, 1.0, 0, 1280, 16, 0.2, "",
        api_name="/talking_head",
    )


def test_api_makes_a_talking_head_from_the_examples(client):
    video, details, files = call(client, EXAMPLES / "astronaut.jpg", EXAMPLES / "speech.wav")
    path = video["video"] if isinstance(video, dict) else video
    info = media.probe_video(path)
    seconds = len(media.read_audio(EXAMPLES / "speech.wav", 16000)) / 16000
    assert info.has_audio and info.fps == 25 and abs(info.duration - seconds) <= 1 / 25
    assert f"**{info.frame_count} frames**" in details
    assert any(str(f).endswith("manifest.json") for f in files)


def test_api_reports_a_missing_face_clearly(client, tmp_path):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        call(client, landscape(tmp_path / "sky.png"), EXAMPLES / "speech.wav")
    assert "No face was found" in str(info.value) and "Traceback" not in str(info.value)


@needs_espeak
def test_api_previews_speech(client):
    path = client.predict("Testing, one, two.", "en", 150, api_name="/talking_head_speech")
    samples = media.read_audio(path, 16000)
    assert len(samples) > 8000 and np.abs(samples).max() > 0.1
