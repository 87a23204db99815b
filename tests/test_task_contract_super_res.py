"""Super-resolution on the task contract: the tab, the CLI and the job take their ranges from one
schema; the job runs through run_job for images and videos; the benchmark's variants use it."""

from __future__ import annotations

import json

import numpy as np
import pytest
from PIL import Image

import cli
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.media import probe_video, write_video
from pipelines.super_res import TASK
from pipelines.task import run_job
from tests.contract_fixtures import (
    check_flag,
    check_widget,
    cli_word,
    outside,
    subcommand,
)
from tests.media_fixtures import moving_frames

TASKS = (TASK,)
SETTINGS = list(TASK.settings)
OUTSIDE = [(s.name, v) for s in SETTINGS for v in outside(s)]


@pytest.fixture(scope="module")
def registry():
    return build_registry(TASKS)


@pytest.fixture
def picture(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "in.png"
    Image.fromarray(rng.integers(0, 256, (12, 16, 3), dtype=np.uint8)).save(path)
    return path


def test_every_setting_is_declared_with_a_range_or_choices():
    # The image API's order; settings added later go after these.
    assert TASK.settings.names[:4] == ("scale", "tile", "format", "self_check")
    assert (TASK.settings["scale"].minimum, TASK.settings["scale"].maximum) == (1.0, 8.0)
    assert TASK.settings["format"].choices == ("png", "jpg", "webp")


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_tab_widget_has_the_schema_range(studio_widgets, setting):
    assert f"super_res-{setting.name}" in studio_widgets
    check_widget(TASK, setting, studio_widgets[f"super_res-{setting.name}"])


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_cli_flag_has_the_schema_type_and_choices(setting):
    check_flag(subcommand(cli.build_parser(TASKS), "upscale"), setting)


@pytest.mark.parametrize(("name", "value"), OUTSIDE)
def test_job_refuses_a_value_just_outside_the_range(registry, picture, tmp_path, name, value):
    with pytest.raises(InputError, match=f"'{name}'"):
        run_job(registry, TASK, None, {"image": str(picture)}, {name: value}, root=tmp_path)
    assert not list(tmp_path.glob("super_res/*"))  # refused before any folder


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, v in OUTSIDE
                                             if TASK.settings[n].bounded])
def test_cli_refuses_a_value_just_outside_the_range(registry, picture, capsys, name, value):
    flag = TASK.settings[name].cli_flag
    code = cli.main(["upscale", str(picture), flag, cli_word(value), "--quiet"],
                    registry=registry, tasks=TASKS)
    err = capsys.readouterr().err
    assert code == 2 and f"'{name}'" in err and TASK.settings[name].range_text() in err


def test_cli_refuses_an_unknown_format(picture, capsys):
    with pytest.raises(SystemExit):
        cli.main(["upscale", str(picture), "--format", "gif"], tasks=TASKS)
    assert "--format" in capsys.readouterr().err


def test_image_and_video_through_run_job(registry, picture, tmp_path):
    out = run_job(registry, TASK, "classical", {"input": str(picture)},
                  {"scale": 2.5, "format": "webp"}, root=tmp_path)
    assert Image.open(out.outputs["image"]).size == (40, 30)
    record = json.loads(out.manifest.read_text())
    assert record["parameters"] == {"scale": 2.5, "tile": 0, "format": "webp",
                                    "self_check": False, "input_size": [16, 12],
                                    "reference": False}
    assert record["device"] == "cpu" and record["runner"]["dtype"] == "float32"
    assert set(record["timings_seconds"]) >= {"load", "upscale", "metrics", "save"}
    assert out.data["output_size"] == (40, 30) and out.summary == "16x12 -> 40x30"

    clip = write_video(tmp_path / "clip.mp4", moving_frames(4, 32, 24), 8)
    reports = []
    video = run_job(registry, TASK, None, {"input": str(clip)}, {"scale": 2},
                    progress=lambda f, d="": reports.append((f, d)), root=tmp_path)
    info = probe_video(video.outputs["video"])
    assert (info.width, info.height, info.frame_count) == (64, 48, 4)
    record = json.loads(video.manifest.read_text())
    assert "format" not in record["parameters"] and record["parameters"]["frames"] == 4
    assert record["frames_written"] == 4 and "frames" in record["timings_seconds"]
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any("ETA" in d for _, d in reports)


def test_missing_input_says_what_to_upload(registry, tmp_path):
    with pytest.raises(InputError, match="Upload an image to upscale first"):
        run_job(registry, TASK, None, {"image": None}, root=tmp_path)
    with pytest.raises(InputError, match="Upload a video to upscale first"):
        run_job(registry, TASK, None, {"video": ""}, root=tmp_path)


def test_benchmark_variant_settings_come_from_the_schema(registry):
    from pipelines.benchmark.adapters import adapter_for
    from pipelines.benchmark.results import BenchInput

    adapter = adapter_for(TASK)
    choice = adapter.resolve(registry, "classical:scale=4")
    item = adapter.examples()[0]
    prepared = adapter.prepare(choice, item, 0, item.source.parent)
    original = prepared.data["originals"][0]
    assert prepared.request.scale == 4.0
    assert prepared.request.frames[0].shape[1] == round(original.shape[1] / 4)
    with pytest.raises(InputError, match="'scale'"):
        adapter.resolve(registry, "classical:scale=9")
    with pytest.raises(InputError, match="'tile'"):
        adapter.prepare(adapter.resolve(registry, "classical:tile=-8"),
                        BenchInput(item.name, item.kind, item.source), 0, item.source.parent)
