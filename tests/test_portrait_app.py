"""The portrait job end to end: run folder and manifest, ``cli.py animate``, and the served API."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipelines.catalog import build_registry
from pipelines.media import probe_video
from pipelines.portrait.job import animate
from pipelines.portrait.types import MotionSettings
from tests.conftest import ROOT, served_studio

ASTRONAUT = ROOT / "assets" / "portrait" / "astronaut.jpg"
COFFEE = ROOT / "assets" / "portrait" / "coffee.jpg"


def test_examples_are_small_and_present():
    assert ASTRONAUT.is_file() and COFFEE.is_file()
    assert sum(p.stat().st_size for p in (ROOT / "assets" / "portrait").iterdir()) < 1_000_000


def test_job_writes_video_gif_preview_and_manifest():
    out = animate(build_registry(), "portrait.classical", ASTRONAUT, frames=16, fps=16, seed=4,
                  motion=MotionSettings(camera="orbit"))
    info = probe_video(out.video)
    assert (info.frame_count, info.width, info.height) == (16, 512, 512)
    assert info.fps == pytest.approx(16)
    assert out.gif.read_bytes()[:6] == b"GIF89a" and out.strip.stat().st_size > 0
    manifest = json.loads(out.manifest.read_text())
    assert manifest["spec_id"] == "portrait.classical" and manifest["seed"] == 4
    assert manifest["parameters"]["classical"]["camera"] == "orbit"
    assert manifest["output"] == {"frames": 16, "size": [512, 512], "fps": 16.0}
    assert set(manifest["outputs"]) == {"video", "gif", "preview"}
    assert {"load", "animate", "render_and_encode"} <= set(manifest["timings_seconds"])


def test_cli_animate(tmp_path):
    from cli import main

    target = tmp_path / "clip.mp4"
    code = main(["animate", str(COFFEE), "--frames", "8", "--camera", "pan", "-o", str(target)],
                registry=build_registry())
    assert code == 0
    info = probe_video(target)
    assert (info.frame_count, info.width, info.height) == (8, 600, 400)
    gif = tmp_path / "clip.gif"
    assert main(["animate", str(ASTRONAUT), "--frames", "4", "--motion", "blink", "--no-loop",
                 "-o", str(gif)], registry=build_registry()) == 0
    assert gif.read_bytes()[:6] == b"GIF89a"


def test_cli_reports_bad_input_in_one_sentence(tmp_path, capsys, monkeypatch):
    from cli import main

    monkeypatch.setenv("STUDIO_DEVICE", "auto")  # a CPU-only machine, no device asked for
    registry = build_registry()
    code = main(["animate", str(COFFEE), "--camera", "none", "-o", str(tmp_path / "x.mp4")],
                registry=registry)
    assert code == 2 and "Pick a camera preset" in capsys.readouterr().err
    code = main(["animate", str(COFFEE), "--backend", "svd", "-o", str(tmp_path / "x.mp4")],
                registry=registry)
    assert code == 2 and "needs a GPU" in capsys.readouterr().err
    code = main(["animate", str(COFFEE), "--motion", "wink", "-o", str(tmp_path / "x.mp4")],
                registry=registry)
    assert code == 2 and "Unknown motion" in capsys.readouterr().err


def test_cli_runs_gpu_models_on_the_cpu_when_asked(tmp_path, capsys, monkeypatch):
    """--device cpu (or STUDIO_DEVICE=cpu) lets a GPU model run on the CPU: the job gets past
    the GPU check and stops only at the missing weights, with a warning in the log."""
    from cli import main

    monkeypatch.setenv("STUDIO_DEVICE", "auto")
    code = main(["animate", str(COFFEE), "--backend", "svd", "--device", "cpu", "--quiet",
                 "-o", str(tmp_path / "x.mp4")], registry=build_registry())
    err = capsys.readouterr().err
    assert code == 2 and "needs a GPU" not in err and "python cli.py fetch portrait.svd" in err


def test_backend_choice_shows_its_own_controls():
    from pipelines.portrait import TASK
    from tabs.common import backend_updates

    names = ["camera", "motion_bucket_id", "prompt", "camera_strength", "steps",
             "decode_chunk_size", "frames", "fps", "side"]
    update = backend_updates(TASK, build_registry(), names)
    shown = {n: u["visible"] for n, u in zip(names, update("portrait.svd-xt"), strict=True)}
    assert shown == {"camera": False, "motion_bucket_id": True, "prompt": False,
                     "camera_strength": False, "steps": True, "decode_chunk_size": True,
                     "frames": True, "fps": True, "side": True}
    values = dict(zip(names, update("portrait.svd-xt"), strict=True))
    assert (values["frames"]["value"], values["fps"]["value"]) == (25, 7)
    assert values["side"]["value"] == 768 and values["steps"]["value"] == 25
    shown = {n: u["visible"] for n, u in zip(names, update("portrait.ltx-video"), strict=True)}
    assert shown["prompt"] and not shown["motion_bucket_id"] and not shown["decode_chunk_size"]
    assert not shown["camera"] and shown["steps"]
    ltx = dict(zip(names, update("portrait.ltx-video"), strict=True))
    assert (ltx["frames"]["value"], ltx["steps"]["value"], ltx["side"]["value"]) == (49, 40, 640)
    assert update("portrait.classical")[0]["visible"] is True


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with served_studio(build_registry(), tmp_path_factory.mktemp("downloads")) as client:
        yield client


def _arguments(picture: Path, backend: str = "portrait.classical") -> list:
    from gradio_client import handle_file

    return [handle_file(str(picture)), backend, 12, 12, 3, "zoom_in",
            ["breathing", "sway", "blink"], 1.0, True, 1.0, 512, 127, 0.02, 25, 8, "gpu", "crop",
            768, "", "", 3.0]


def test_api_animates_a_portrait(client):
    video, gif, strip, summary, manifest = client.predict(*_arguments(ASTRONAUT),
                                                          api_name="/portrait")
    video_path = Path(video["video"] if isinstance(video, dict) else video)
    assert probe_video(video_path).frame_count == 12
    assert Path(gif).suffix == ".gif" and Path(strip).is_file()
    assert "12 frames" in summary and "512x512" in summary
    assert json.loads(Path(manifest).read_text())["spec_id"] == "portrait.classical"


def test_api_errors_are_sentences_and_the_server_keeps_serving(client, monkeypatch):
    from gradio_client.exceptions import AppError

    monkeypatch.setenv("STUDIO_DEVICE", "auto")  # the served studio runs in this process

    with pytest.raises(AppError, match="needs a GPU") as info:
        client.predict(*_arguments(COFFEE, "portrait.svd-xt"), api_name="/portrait")
    assert "Traceback" not in str(info.value)
    seed = client.predict(api_name="/portrait_random_seed")
    assert isinstance(seed, (int, float)) and 0 <= seed < 2**31
