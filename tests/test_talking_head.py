"""The classical talking head end to end: video length, audio, sync, bad inputs, CLI."""

from __future__ import annotations

import json

import av
import numpy as np
import pytest

import cli
from pipelines import media
from pipelines.catalog import build_registry
from pipelines.errors import InputError, LimitExceeded
from pipelines.faces import detect_faces
from pipelines.manifest import outputs_dir
from pipelines.talking_head.job import TalkOptions, talk
from tests.talking_head_fixtures import (
    SR,
    VOWELS,
    face_video,
    landscape,
    modulated_voice,
    needs_espeak,
    portrait,
    two_faces,
    vowel,
    write_wav,
)

FRAME = 1 / 25
STILL = TalkOptions(blinks=False, head_motion=0.0)


@pytest.fixture(scope="module")
def registry():
    return build_registry()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("talk")
    samples, _ = modulated_voice(1.5)
    # 0.4 s of silence, 1.5 s of voice, 0.3 s of silence: the mouth must follow.
    speech = np.concatenate([np.zeros(int(0.4 * SR)), samples, np.zeros(int(0.3 * SR))])
    return {
        "portrait": portrait(folder / "astronaut.png"),
        "speech": write_wav(folder / "speech.wav", speech),
        "seconds": len(speech) / SR,
        "folder": folder,
    }


def test_video_lasts_as_long_as_the_audio_and_carries_it(registry, inputs):
    job = talk(registry, inputs["portrait"], inputs["speech"])
    info = media.probe_video(job.video)
    assert (info.width, info.height, info.fps) == (512, 512, 25.0)
    assert info.frame_count == job.result.frames == round(inputs["seconds"] * 25)  # 2.2 s
    assert abs(info.duration - inputs["seconds"]) <= FRAME
    assert info.has_audio and info.audio_codec == "aac"
    with av.open(str(job.video)) as container:
        stream = container.streams.audio[0]
        assert abs(float(stream.duration * stream.time_base) - inputs["seconds"]) <= FRAME
    muxed = media.read_audio(job.video, SR)  # decoded whole AAC frames: up to 1024 more samples
    assert abs(len(muxed) / SR - inputs["seconds"]) <= FRAME + 1024 / SR
    manifest = json.loads(job.manifest.read_text())
    assert manifest["spec_id"] == "talking_head.classical"
    assert manifest["frames"] == info.frame_count
    assert manifest["outputs"]["video"] == "talking_head.mp4"
    assert manifest["faces_found"] == 1 and manifest["notes"] == []


def test_mouth_moves_with_the_speech(registry, inputs):
    job = talk(registry, inputs["portrait"], inputs["speech"], options=STILL)
    frames = media.read_frames(job.video)
    still = media.load_image(inputs["portrait"]).rgb.astype(np.float32)
    face = detect_faces(still.astype(np.uint8))[0]
    box = face.box
    lower = (slice(box.y + box.h // 2, box.y + box.h * 6 // 5), slice(box.x, box.x + box.w))
    upper = (slice(box.y, box.y + box.h // 2), slice(box.x, box.x + box.w))
    change = np.array([np.abs(f[lower].astype(np.float32) - still[lower]).mean() for f in frames])
    opening = job.result.mouth_open
    assert np.corrcoef(change, opening)[0, 1] > 0.9  # the picture follows the track, in sync
    # Leading silence: the mouth stays closed (frames differ from the still by codec noise only).
    assert opening[:8].max() == 0 and np.ptp(change[:8]) < 0.2
    assert opening[15:40].mean() > 0.4 and change[15:40].mean() > 2 * change[:8].mean()
    eyes = [np.abs(f[upper].astype(np.float32) - still[upper]).mean() for f in frames]
    assert np.ptp(eyes) < 0.3  # no blinks and no head motion asked for: the upper face stays put


def test_portrait_blinks_and_moves_by_default(registry, inputs, tmp_path):
    silence = write_wav(tmp_path / "silence.wav", np.zeros(6 * SR, np.float32))
    job = talk(registry, inputs["portrait"], silence)
    assert any("silent" in note for note in job.notes)
    assert not job.result.mouth_open.any()
    frames = media.read_frames(job.video)
    first = frames[0].astype(np.float32)
    eyes = [f[85:115, 180:270].astype(np.float32) for f in frames]
    blink = max(np.abs(e - eyes[0]).mean() for e in eyes)
    background = max(np.abs(f[:40, :40].astype(np.float32) - first[:40, :40]).mean()
                     for f in frames)
    assert blink > 5  # at least one blink (or the head moved) in six seconds
    assert background < 1.5  # the background stays still


def test_head_turns_nods_and_brows_follow_the_speech(registry, inputs, tmp_path):
    """1 s of silence, 1.2 s of a low voice, a 0.6 s rise in pitch, 1.4 s of silence."""
    low, high = 0.5 * vowel(VOWELS["a"], 1.2, f0=105), 0.5 * vowel(VOWELS["a"], 0.6, f0=150)
    speech = np.concatenate([np.zeros(SR), low, high, np.zeros(int(1.4 * SR))])
    audio = write_wav(tmp_path / "intonation.wav", speech)
    lively = talk(registry, inputs["portrait"], audio,
                  options=TalkOptions(blinks=False, head_motion=1.0, seed=5))
    motion = lively.result.motion
    assert set(motion) >= {"yaw", "pitch", "roll", "brow", "blink", "activity"}
    turn = np.sqrt(motion["yaw"] ** 2 + motion["pitch"] ** 2 + motion["roll"] ** 2)
    before, talking, after = turn[:22], turn[28:70], turn[90:]
    assert talking.mean() > 1.0  # degrees: the head moves while speaking ...
    assert talking.mean() > 3 * before.mean() and talking.mean() > 3 * after.mean()  # calm pauses
    assert motion["brow"][58:70].mean() > motion["brow"][30:52].mean() + 0.1  # higher pitch
    assert motion["brow"][:22].max() < 0.05 and not motion["blink"].any()
    # The picture follows: the face moves against the still while speaking, not before.
    frames = media.read_frames(lively.video)
    still = media.load_image(inputs["portrait"]).rgb.astype(np.float32)
    face = (slice(60, 200), slice(170, 300))  # forehead, eyes and nose of the astronaut
    change = np.array([np.abs(f[face].astype(np.float32) - still[face]).mean() for f in frames])
    assert change[28:70].mean() > 2 * change[:22].mean()
    gentle = talk(registry, inputs["portrait"], audio, options=TalkOptions(blinks=False, seed=5))
    gentle_turn = np.sqrt(sum(gentle.result.motion[k] ** 2 for k in ("yaw", "pitch", "roll")))
    assert 0 < gentle_turn[28:70].mean() < talking.mean()  # the default is gentler
    still_job = talk(registry, inputs["portrait"], audio, options=STILL)
    assert not any(still_job.result.motion[k].any() for k in ("yaw", "pitch", "roll"))


def test_a_blip_of_audio_still_makes_a_video(registry, inputs, tmp_path):
    blip = write_wav(tmp_path / "blip.wav", 0.5 * vowel(VOWELS["a"], 0.03))
    job = talk(registry, inputs["portrait"], blip)
    assert job.result.frames == 1 and media.probe_video(job.video).frame_count == 1


def test_the_same_seed_gives_the_same_video(registry, inputs):
    a = talk(registry, inputs["portrait"], inputs["speech"], options=TalkOptions(seed=3))
    b = talk(registry, inputs["portrait"], inputs["speech"], options=TalkOptions(seed=3))
    assert np.array_equal(media.read_frames(a.video, end=20), media.read_frames(b.video, end=20))


def test_no_face_is_a_clear_error(registry, inputs, tmp_path):
    runs = outputs_dir() / "talking_head"
    before = set(runs.glob("*")) if runs.exists() else set()
    with pytest.raises(InputError, match="No face was found in the image 'sky.png'"):
        talk(registry, landscape(tmp_path / "sky.png"), inputs["speech"])
    assert set(runs.glob("*")) == before  # the failed job left no run folder behind


def test_several_faces_use_the_largest_and_say_so(registry, inputs, tmp_path):
    job = talk(registry, two_faces(tmp_path / "two.png"), inputs["speech"], options=STILL)
    assert any("Found 2 faces" in note and "largest" in note for note in job.notes)
    assert job.result.face_box.x < 400  # the big face on the left


def test_an_image_given_as_audio_is_refused(registry, inputs):
    with pytest.raises(InputError, match="no audio track"):
        talk(registry, inputs["portrait"], inputs["portrait"])


def test_audio_over_the_limit_is_refused(registry, inputs, monkeypatch):
    monkeypatch.setenv("STUDIO_MAX_SECONDS", "1")
    with pytest.raises(LimitExceeded, match="max_seconds"):
        talk(registry, inputs["portrait"], inputs["speech"])


def test_inputs_must_be_one_audio_or_text(registry, inputs):
    with pytest.raises(InputError, match="not both"):
        talk(registry, inputs["portrait"], inputs["speech"], "hello")
    with pytest.raises(InputError, match="Upload an audio file"):
        talk(registry, inputs["portrait"])
    with pytest.raises(InputError, match="Upload a portrait"):
        talk(registry, None, inputs["speech"])
    with pytest.raises(InputError, match="neither a readable image nor a readable video"):
        talk(registry, inputs["speech"], inputs["speech"])


def test_a_face_video_is_resampled_and_looped(registry, inputs, tmp_path):
    clip = face_video(tmp_path / "face.mp4", frames=10, fps=10)  # one second
    voice = write_wav(tmp_path / "voice.wav", 0.5 * vowel(VOWELS["a"], 2.0))
    job = talk(registry, clip, voice)
    info = media.probe_video(job.video)
    assert info.frame_count == 50 and info.fps == 25 and (info.width, info.height) == (256, 256)
    assert any("video" in note for note in job.notes)
    frames = media.read_frames(job.video)
    # 25 fps from 10 fps: each source frame shows 2-3 times; the loop restarts at 1 s.
    assert np.abs(frames[25][:40].astype(int) - frames[0][:40]).mean() < 2


@needs_espeak
def test_typed_text_is_spoken_and_lip_synced(registry, inputs):
    job = talk(registry, inputs["portrait"], text="Hello, I am a talking portrait.")
    assert job.speech is not None and job.speech.parent == job.run_dir
    seconds = len(media.read_audio(job.speech, SR)) / SR
    info = media.probe_video(job.video)
    assert abs(info.duration - seconds) <= FRAME and info.has_audio
    assert job.result.mouth_open.max() > 0.5


def test_cli_talk(inputs, tmp_path, capsys):
    out = tmp_path / "out" / "talk.mp4"
    code = cli.main(["talk", str(inputs["portrait"]), str(inputs["speech"]), "-o", str(out),
                     "--no-blinks", "--head-motion", "0"])
    assert code == 0, capsys.readouterr().err
    assert abs(media.probe_video(out).duration - inputs["seconds"]) <= FRAME
    assert "manifest" in capsys.readouterr().out
    sky = landscape(tmp_path / "sky.png")
    assert cli.main(["talk", str(sky), str(inputs["speech"])]) == 2
    assert "No face was found" in capsys.readouterr().err
