"""Frame interpolation as a task of the studio: the CLI, the served API, the benchmark, and the
sound kept in sync (the engine's own tests are in test_interpolate.py)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import cli
from pipelines.catalog import build_registry
from pipelines.media import VideoWriter, probe_video, read_audio, read_frames
from tests.conftest import served_studio
from tests.interpolate_fixtures import moving_scene


@pytest.fixture(scope="module")
def clip_with_sound(tmp_path_factory) -> Path:
    """24 frames at 12 fps (2 s) of known motion, with a 440 Hz tone."""
    path = tmp_path_factory.mktemp("clip") / "moving.mp4"
    rate = 16000
    tone = 0.3 * np.sin(2 * np.pi * 440 * np.arange(2 * rate) / rate).astype(np.float32)
    with VideoWriter(path, 12, audio_samples=(tone, rate)) as writer:
        for frame in moving_scene(24):
            writer.write(frame)
    return path


def test_cli_doubles_the_frame_rate_and_keeps_the_sound(clip_with_sound, tmp_path, capsys):
    out = tmp_path / "double.mp4"
    code = cli.main(["interpolate", str(clip_with_sound), "--factor", "2", "--quiet",
                     "-o", str(out)], registry=build_registry())
    assert code == 0, capsys.readouterr().err
    info = probe_video(out)
    assert info.fps == pytest.approx(24.0)
    assert info.frame_count == len(read_frames(out)) in (47, 48)
    assert info.has_audio
    seconds = len(read_audio(out, 16000)) / 16000
    assert seconds == pytest.approx(info.frame_count / 24.0, abs=0.1)


def test_cli_target_fps_and_refusals(clip_with_sound, tmp_path, capsys):
    out = tmp_path / "thirty.mp4"
    code = cli.main(["interpolate", str(clip_with_sound), "--fps", "30", "--quiet",
                     "-o", str(out)], registry=build_registry())
    assert code == 0, capsys.readouterr().err
    assert probe_video(out).fps == pytest.approx(30.0)
    code = cli.main(["interpolate", str(clip_with_sound), "--fps", "6", "-o", str(out)],
                    registry=build_registry())
    assert code == 2 and "fps" in capsys.readouterr().err
    with pytest.raises(SystemExit) as refused:  # argparse: 5 is not one of the factors
        cli.main(["interpolate", str(clip_with_sound), "--factor", "5", "-o", str(out)],
                 registry=build_registry())
    assert refused.value.code == 2 and "choose from 2, 3, 4, 8" in capsys.readouterr().err


def test_api_interpolates_and_writes_a_manifest(clip_with_sound, tmp_path):
    from gradio_client import handle_file

    with served_studio(build_registry(), tmp_path) as client:
        video, _image, files, summary, manifest = client.predict(
            handle_file(str(clip_with_sound)), "interpolate.classical", 0, 2, 0.0,
            False, False, True, 0, api_name="/interpolate")
        record = json.loads(Path(manifest).read_text())
        shown = video["video"] if isinstance(video, dict) else video
        assert probe_video(shown).frame_count == record["output"]["frames"]
        assert len(files) == 1
        assert record["task"] == "interpolate" and record["parameters"]["factor"] == 2
        assert record["output"]["frames"] in (47, 48) and "frames made" in summary
        assert record["outputs"]["video"] == "interpolated.mp4"


def test_benchmark_compares_interpolation_backends(tmp_path):
    from pipelines.benchmark.harness import run_bench

    result = run_bench(build_registry(), "interpolate",
                       ["interpolate.classical", "interpolate.classical:factor=3",
                        "interpolate.rife"], seed=0, root=tmp_path)
    status = {r.backend: r.status for r in result.rows}
    assert status["interpolate.classical"] == "ok"
    assert status["interpolate.classical:factor=3"] == "ok"
    assert status["interpolate.rife"] == "unavailable"


def test_portrait_clip_smoothed_to_a_higher_frame_rate(tmp_path):
    """Portrait animation's "smooth to N fps" post-step: the video output is the interpolated
    clip, the original stays beside it, and the manifest says both."""
    from pipelines.portrait import TASK as PORTRAIT
    from pipelines.task import run_job

    picture = Path(__file__).resolve().parent.parent / "assets" / "portrait" / "astronaut.jpg"
    out = run_job(build_registry(), PORTRAIT, "classical", {"image": picture},
                  {"frames": 12, "fps": 12, "max_side": 256, "smooth_fps": 24}, root=tmp_path)
    smooth, source = probe_video(out.outputs["video"]), probe_video(out.outputs["video_source"])
    assert source.fps == pytest.approx(12) and source.frame_count == 12
    assert smooth.fps == pytest.approx(24) and smooth.frame_count == 24
    assert any("Interpolated from 12 to 24 fps" in n for n in out.notes)
    record = json.loads(out.manifest.read_text())
    assert record["parameters"]["smooth_fps"] == 24
    assert set(record["outputs"]) >= {"video", "video_source", "gif", "preview"}


def test_super_resolution_in_space_and_time_is_one_run(clip_with_sound, tmp_path, capsys):
    """The Super-resolution tab's "both": upscale, then interpolate, one run folder, one
    manifest (here through ``cli.py upscale --time-factor``)."""
    out = tmp_path / "both.mp4"
    code = cli.main(["upscale", str(clip_with_sound), "--scale", "2", "--time-factor", "2",
                     "--quiet", "-o", str(out)], registry=build_registry())
    assert code == 0, capsys.readouterr().err
    info = probe_video(out)
    source = probe_video(clip_with_sound)
    assert (info.width, info.height) == (2 * source.width, 2 * source.height)
    assert info.fps == pytest.approx(24.0) and info.frame_count in (47, 48) and info.has_audio
    runs = sorted((Path(__import__("os").environ["STUDIO_OUTPUTS"]) / "super_res").glob("*"))
    record = json.loads((runs[-1] / "manifest.json").read_text())
    assert record["parameters"]["time_factor"] == 2
    assert record["interpolation"]["backend"] == "interpolate.classical"
    assert {"video", "video_source"} <= set(record["outputs"])
    assert "interpolate" in record["timings_seconds"]


def test_super_resolution_tab_offers_space_time_and_both(clip_with_sound, tmp_path):
    from gradio_client import handle_file

    with served_studio(build_registry(), tmp_path) as client:
        video, summary = client.predict(handle_file(str(clip_with_sound)),
                                        "super_res.classical", 2, 0, "time", 2, 0.0,
                                        "classical", api_name="/super_res_video")
        path = video["video"] if isinstance(video, dict) else video
        info = probe_video(path)
        assert info.fps == pytest.approx(24.0) and info.width == probe_video(
            clip_with_sound).width  # time only: same size, twice the frames
        assert "frames made" in summary
