"""Keyframes on the task contract: the tab, the CLI, the job and the detector/selection
dataclasses take their ranges from one schema; the job runs through run_job; the benchmark's
variants go through the task's prepare."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

import cli
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.keyframes import TASK
from pipelines.keyframes.settings import (
    GROUP_OF,
    KNOBS,
    SECTIONS,
    DetectorParams,
    Knob,
    SelectParams,
    Settings,
    Weights,
    field_of,
)
from pipelines.media import write_video
from pipelines.task import Setting, run_job
from tests.contract_fixtures import (
    check_flag,
    check_widget,
    cli_word,
    outside,
    subcommand,
)

TASKS = (TASK,)
SETTINGS = list(TASK.settings)
OUTSIDE = [(s.name, v) for s in SETTINGS for v in outside(s)]


@pytest.fixture(scope="module")
def registry():
    return build_registry(TASKS)


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    """Two still shots of coarse random blocks, 12 frames each, cut in the middle."""
    rng = np.random.default_rng(0)
    first, second = (np.kron(rng.integers(0, 256, (6, 8, 3), dtype=np.uint8),
                             np.ones((8, 8, 1), np.uint8)) for _ in range(2))
    return write_video(tmp_path_factory.mktemp("clip") / "cut.mp4",
                       [first] * 12 + [second] * 12, 12)


def test_knobs_are_the_schema_settings():
    assert Knob is Setting and tuple(TASK.settings) == KNOBS
    listed = [n for _, _, names in SECTIONS for n in names]
    assert sorted(listed) == sorted(TASK.settings.names)  # every setting in exactly one section
    assert len(listed) == len(set(listed)) == len(GROUP_OF)
    # Defaults are the dataclasses' defaults (declared once there).
    parts = {"detector": DetectorParams(), "weights": Weights(), "select": SelectParams()}
    for setting in TASK.settings:
        group = GROUP_OF[setting.name]
        if group in parts:
            assert setting.default == getattr(parts[group], field_of(setting.name)), setting.name


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_tab_widget_has_the_schema_range(studio_widgets, setting):
    assert f"keyframes-{setting.name}" in studio_widgets
    check_widget(TASK, setting, studio_widgets[f"keyframes-{setting.name}"])


@pytest.mark.parametrize("setting", SETTINGS, ids=lambda s: s.name)
def test_cli_flag_has_the_schema_type_and_choices(setting):
    check_flag(subcommand(cli.build_parser(TASKS), "keyframes"), setting)


@pytest.mark.parametrize(("name", "value"), OUTSIDE)
def test_job_refuses_a_value_just_outside_the_range(registry, clip, tmp_path, name, value):
    with pytest.raises(InputError, match=f"'{name}'"):
        run_job(registry, TASK, None, {"video": str(clip)}, {name: value}, root=tmp_path)
    assert not list(tmp_path.glob("keyframes/*"))  # refused before any folder


@pytest.mark.parametrize(("name", "value"), [(n, v) for n, v in OUTSIDE
                                             if TASK.settings[n].bounded])
def test_cli_refuses_a_value_just_outside_the_range(registry, clip, tmp_path, capsys, name,
                                                     value):
    flag = TASK.settings[name].cli_flag
    code = cli.main(["keyframes", str(clip), "--out", str(tmp_path / "out"), flag,
                     cli_word(value), "--quiet"], registry=registry, tasks=TASKS)
    err = capsys.readouterr().err
    assert code == 2 and f"'{name}'" in err and TASK.settings[name].range_text() in err


@pytest.mark.parametrize("setting", [s for s in SETTINGS if s.bounded
                                     and GROUP_OF[s.name] in ("detector", "weights", "select")],
                         ids=lambda s: s.name)
def test_detector_and_selection_checks_use_the_same_ranges(setting):
    """The dataclasses the detectors read accept the schema's ends and refuse just outside."""
    group, name = GROUP_OF[setting.name], field_of(setting.name)

    def params(value):
        if group == "weights":
            return DetectorParams(weights=dataclasses.replace(Weights(), **{name: value}))
        cls = DetectorParams if group == "detector" else SelectParams
        return cls(**{name: value})

    for end in (setting.minimum, setting.maximum):
        if setting.name in ("black_level", "white_level"):
            continue  # their ends meet the black < white cross-check, tested below
        params(end).validate()
    for value in outside(setting):
        with pytest.raises(InputError, match=setting.name):
            params(value).validate()


def test_black_must_stay_below_white():
    with pytest.raises(InputError, match="black level"):
        DetectorParams(black_level=200.0, white_level=150.0).validate()
    DetectorParams(black_level=0.0, white_level=255.0).validate()


def test_job_through_run_job_records_the_schema_and_the_runner(registry, clip, tmp_path):
    reports = []
    out = run_job(registry, TASK, "classical", {"video": str(clip)}, {"min_shot_frames": 5},
                  progress=lambda f, d="": reports.append((f, d)), root=tmp_path)
    record = json.loads(out.manifest.read_text())
    expected = Settings(DetectorParams(min_shot_frames=5)).as_dict()
    assert list(expected) == list(TASK.settings.names)
    assert record["parameters"] == {k: v for k, v in expected.items()  # classical's settings
                                    if TASK.settings[k].applies_to("classical")}
    assert record["device"] == "cpu" and record["runner"]["dtype"] == "float32"
    assert set(record["timings_seconds"]) >= {"load", "analyse", "write"}
    assert record["summary"]["shots"] == 2 and record["summary"]["frames"] == 24
    assert set(record["outputs"]) >= {"shots_json", "shots_csv", "contact_sheet", "plot", "zip"}
    result = out.data["result"]
    assert [s.start_frame for s in result.shots] == [0, 12]
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0


def test_missing_video_is_one_sentence(registry, tmp_path):
    with pytest.raises(InputError, match="Upload a video"):
        run_job(registry, TASK, None, {"video": None}, root=tmp_path)


def test_benchmark_variants_go_through_prepare(registry):
    from pipelines.benchmark.adapters import adapter_for

    adapter = adapter_for(TASK)
    item = adapter.examples()[0]
    named = adapter.prepare(adapter.resolve(registry, "classical:fade"), item, 7, item.source)
    assert named.request.detector.detector == "fade" and named.request.select.seed == 7
    assert named.request.select.features == "colour" and named.request.analysis_side == 256
    given = adapter.resolve(registry, "classical:min_shot_frames=5,k=3")
    request = adapter.prepare(given, item, 0, item.source).request
    assert (request.detector.min_shot_frames, request.select.k) == (5, 3)
    with pytest.raises(InputError, match="'window'"):
        adapter.resolve(registry, "classical:window=0")
