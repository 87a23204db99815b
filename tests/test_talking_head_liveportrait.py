"""The LivePortrait talking head through the talking-heads job, with tiny seeded networks saved
in the Hub repo's layout (tests/test_liveportrait.py): length, audio, and keypoints that follow
the speech."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines import media
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.portrait.liveportrait.specs import SPECS as PORTRAIT_SPECS
from pipelines.talking_head.analysis import analyse
from pipelines.talking_head.job import TalkOptions, talk
from tests.talking_head_fixtures import SR, face_video, modulated_voice, write_wav
from tests.test_liveportrait import _save_tiny

SPEC_ID = "talking_head.liveportrait"

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = _save_tiny(tmp_path_factory.mktemp("lp-talk") / "LivePortrait")
    reg = build_registry()
    reg.replace(SPEC_ID, repo_id=str(folder))
    return reg


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("lp-talk-inputs")
    voice, _ = modulated_voice(1.2)
    # 0.6 s of silence, 1.2 s of voice whose loudness rises and falls, 0.6 s of silence.
    speech = np.concatenate([np.zeros(int(0.6 * SR)), voice, np.zeros(int(0.6 * SR))])
    face = media.save_image(folder / "astronaut.png", data.astronaut()[::2, ::2])
    return {"face": face, "speech": write_wav(folder / "speech.wav", speech), "samples": speech,
            "folder": folder}


def test_spec_shares_the_portrait_weights():
    reg = build_registry()
    talking, portrait = reg.get(SPEC_ID), PORTRAIT_SPECS[0]
    assert (talking.task, talking.repo_id, talking.revision, talking.files, talking.sha256) == (
        "talking_head", portrait.repo_id, portrait.revision, portrait.files, portrait.sha256)
    assert reg.resolve("talking_head", "liveportrait").id == SPEC_ID


def test_liveportrait_talks_with_its_keypoints(registry, inputs):
    job = talk(registry, inputs["face"], inputs["speech"],
               options=TalkOptions(backend="liveportrait", blinks=True, head_motion=1.0, seed=2))
    seconds = len(inputs["samples"]) / SR
    info = media.probe_video(job.video)
    assert job.result.frames == info.frame_count == int(np.ceil(seconds * 25 - 1e-6)) == 60
    assert info.fps == 25 and info.has_audio and abs(info.duration - seconds) <= 1 / 25
    assert (info.width, info.height) == (256, 256)
    motion = job.result.motion
    # The lip retargeting offset follows the loudness, and is zero in the silences.
    loudness = analyse(inputs["samples"], 25.0).loudness
    mouth = motion["mouth_keypoints"]
    assert np.corrcoef(mouth, loudness)[0, 1] > 0.8
    assert mouth[:12].max() < 1e-6 and mouth[20:40].mean() > 1e-4
    # Head rotation: turning while speaking, calm in the silences.
    turn = np.sqrt(motion["yaw"] ** 2 + motion["pitch"] ** 2 + motion["roll"] ** 2)
    assert turn[18:45].mean() > 1.0 and turn[18:45].mean() > 3 * turn[:12].mean()
    # The render follows: frames during speech move away from the first (the source's
    # keypoints); frames in the leading silence stay close to it.
    frames = media.read_frames(job.video)
    face = (slice(20, 120), slice(80, 180))
    change = np.array([np.abs(f[face].astype(float) - frames[0][face]).mean() for f in frames])
    assert change[18:45].mean() > 2 * change[1:12].mean()
    assert job.manifest.is_file()


def test_a_face_video_is_refused_with_a_sentence(registry, inputs):
    clip = face_video(inputs["folder"] / "face.mp4", frames=5, fps=10)
    with pytest.raises(InputError, match="animates a portrait image"):
        talk(registry, clip, inputs["speech"], options=TalkOptions(backend="liveportrait"))
