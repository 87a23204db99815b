"""Style transfer on the task contract: one schema gives the tab's ranges and choices, the CLI's
flags and validation (the runner's ``StyleRequest.validate`` too); jobs go through run_job."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
from skimage import data

import cli
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.media import load_image, save_image, write_video
from pipelines.style import TASK
from pipelines.style.command import image_format
from pipelines.style.job import StyleJob
from pipelines.style.job import run_job as style_job
from pipelines.style.types import StyleRequest
from pipelines.task import run_job
from tests.style_fixtures import panning_frames, style_image

BOUNDED = [s for s in TASK.settings if s.bounded]
CHOICES = [s for s in TASK.settings if s.choices]


@pytest.fixture(scope="module")
def registry():
    return build_registry()


@pytest.fixture(scope="module")
def flags():
    """flag -> argparse action of ``cli.py style``."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    style_parser = sub.choices[TASK.command_name]
    return {flag: action for action in style_parser._actions for flag in action.option_strings}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("style-contract")
    return {"content": save_image(folder / "cat.png", data.chelsea()[::6, ::6].copy()),
            "style": style_image(folder / "style.png"),
            "video": write_video(folder / "pan.mp4", panning_frames(6, 64, 48), 12.0)}


def below_and_above(setting) -> tuple[float, float]:
    step = setting.step or 1
    kind = type(setting.default)
    return kind(setting.minimum - step), kind(setting.maximum + step)


def test_the_schema_holds_every_existing_flag():
    assert {s.cli_flag for s in TASK.settings} == {
        "--method", "--strength", "--consistent", "--mix", "--keep-colours", "--blend",
        "--max-side", "--metrics", "--format"}
    assert (TASK.settings["max_side"].minimum, TASK.settings["max_side"].maximum) == (32, 8192)


@pytest.mark.parametrize("setting", BOUNDED, ids=lambda s: s.name)
def test_tab_range_equals_the_schema(studio_widgets, setting):
    widget = studio_widgets[f"{TASK.id}-{setting.name}"]
    assert (widget.minimum, widget.maximum) == (setting.minimum, setting.maximum)
    assert widget.value == setting.default and widget.step == setting.step


@pytest.mark.parametrize("setting", CHOICES, ids=lambda s: s.name)
def test_tab_choices_equal_the_schema(studio_widgets, setting):
    widget = studio_widgets[f"{TASK.id}-{setting.name}"]
    assert [value for _, value in widget.choices] == list(setting.choices)
    assert [label for label, _ in widget.choices] == [label for label, _ in
                                                      setting.choice_pairs()]
    assert widget.value == setting.default


@pytest.mark.parametrize("setting", BOUNDED, ids=lambda s: s.name)
def test_cli_flag_takes_the_schema_type(flags, setting):
    action = flags[setting.cli_flag]
    assert action.dest == setting.name and action.type is type(setting.default)
    assert action.default is None


@pytest.mark.parametrize("setting", CHOICES, ids=lambda s: s.name)
def test_cli_choices_equal_the_schema(flags, setting):
    action = flags[setting.cli_flag]
    assert action.dest == setting.name and action.choices == list(setting.choices)


def test_the_image_format_is_the_outputs_suffix_and_format_must_agree():
    for fmt in TASK.settings["fmt"].choices:
        assert image_format(Path(f"out.{fmt}"), "cat.png") == fmt
        assert image_format(Path(f"out.{fmt}"), "cat.png", fmt) == fmt
    assert image_format(Path("out.jpeg"), "cat.png") == "jpg"
    assert image_format(Path("out.mp4"), "pan.mp4") is None
    with pytest.raises(InputError, match=r"\.png, \.jpg or \.webp"):
        image_format(Path("out.gif"), "cat.png")
    with pytest.raises(InputError, match="--format is webp"):
        image_format(Path("out.png"), "cat.png", "webp")
    with pytest.raises(InputError, match="leave out --format"):
        image_format(Path("out.mp4"), "pan.mp4", "png")


@pytest.mark.parametrize("setting", BOUNDED, ids=lambda s: s.name)
def test_a_value_outside_the_range_is_refused_everywhere(registry, inputs, setting, capsys,
                                                         tmp_path):
    files = {"content": inputs["content"], "style": inputs["style"]}
    for value in below_and_above(setting):
        with pytest.raises(InputError, match=f"'{setting.name}'"):
            run_job(registry, TASK, None, files, {setting.name: value}, root=tmp_path)
        with pytest.raises(InputError, match=f"'{setting.name}'"):  # the runner's own check
            StyleRequest("c.png", "s.png", "o.png", **{setting.name: value}).validate()
    _, above = below_and_above(setting)
    code = cli.main(["style", str(inputs["content"]), str(inputs["style"]), "--quiet",
                     "-o", str(tmp_path / "out.png"), setting.cli_flag, str(above)],
                    registry=registry)
    err = capsys.readouterr().err
    assert code == 2 and f"'{setting.name}'" in err and setting.range_text() in err
    assert not list(tmp_path.rglob("manifest.json"))


@pytest.mark.parametrize("setting", CHOICES, ids=lambda s: s.name)
def test_a_value_outside_the_choices_is_refused(registry, inputs, setting, tmp_path):
    files = {"content": inputs["content"], "style": inputs["style"]}
    with pytest.raises(InputError, match=f"'{setting.name}'"):
        run_job(registry, TASK, None, files, {setting.name: "oil"}, root=tmp_path)
    assert not list(tmp_path.rglob("manifest.json"))
    with pytest.raises(SystemExit):  # argparse refuses it (cli.main exits with status 2)
        cli.main(["style", "c.png", "s.png", "-o", "o.png", setting.cli_flag, "oil"],
                 registry=registry)


def test_the_edges_of_each_range_are_accepted():
    for setting in BOUNDED:
        for value in (setting.minimum, setting.maximum):
            assert TASK.settings.validate({setting.name: value})[setting.name] == value
            StyleRequest("c.png", "s.png", "o.png", **{setting.name: value}).validate()


def test_backend_choice_shows_the_method_for_the_classical_backend_only(registry):
    from tabs.common import backend_updates

    names = ["method", "strength", "max_side"]
    update = backend_updates(TASK, registry, names)
    assert [u["visible"] for u in update("style.adain")] == [False, True, True]
    assert [u["visible"] for u in update("style.classical")] == [True, True, True]


def test_an_image_job_writes_its_format_and_a_manifest(registry, inputs, tmp_path):
    reports = []
    out = run_job(registry, TASK, "classical", {"content": inputs["content"],
                                                 "style": inputs["style"]},
                  {"fmt": "webp", "method": "cartoon", "max_side": 64}, root=tmp_path,
                  progress=lambda fraction, desc="": reports.append((fraction, desc)))
    image = out.outputs["image"]
    assert image.name == "stylised.webp" and max(load_image(image).rgb.shape[:2]) == 64
    manifest = json.loads(out.manifest.read_text())
    params = manifest["parameters"]
    assert params["method"] == "cartoon" and params["fmt"] == "webp"
    assert params["content"] == str(inputs["content"]) and params["backend"] == "style.classical"
    assert set(manifest["timings_seconds"]) >= {"load", "stylise"}
    loaded = load_image(image)
    assert manifest["device"] == "cpu" and manifest["size"] == [loaded.width, loaded.height]
    assert [d for _, d in reports][-1] == "done" and reports[-1][0] == 1.0
    assert "stylise" in [d for _, d in reports]


def test_the_old_entry_point_and_the_cli_progress_bar(registry, inputs, tmp_path, capsys):
    out, result = style_job(registry, StyleJob(inputs["video"], inputs["style"], method="pencil",
                                               max_side=64), root=tmp_path)
    assert result.is_video and result.frames == 6 and out.outputs["video"] == result.output
    assert out.outputs["video"].name == "stylised.mp4"
    assert json.loads(out.manifest.read_text())["frames"] == 6
    target = tmp_path / "v.mp4"
    assert cli.main(["style", str(inputs["video"]), str(inputs["style"]), "--no-metrics",
                     "--max-side", "64", "-o", str(target)], registry=registry) == 0
    captured = capsys.readouterr()
    assert "stylise" in captured.err and "100%" in captured.err and "elapsed" in captured.err
    assert "warping error" not in captured.out  # --no-metrics still works


def test_benchmark_rows_are_prepared_by_the_task(registry, inputs, tmp_path):
    from pipelines.benchmark.adapters import adapter_for

    adapter = adapter_for(TASK.id)
    item = adapter.inputs_from([inputs["content"]])[0]
    request = adapter.prepare(adapter.resolve(registry, "classical:pencil"), item, 0,
                              tmp_path).request
    assert request.method == "pencil" and request.max_side == adapter.settings["max_side"]
    assert not request.measure and request.output == tmp_path / "stylised.png"
    custom = adapter.resolve(registry, "classical:strength=0.3,method=histogram")
    request = adapter.prepare(custom, item, 0, tmp_path).request
    assert (request.strength, request.method) == (0.3, "histogram")
    with pytest.raises(InputError, match="'blend'"):
        adapter.resolve(registry, "classical:blend=0.99")
