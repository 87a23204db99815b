"""Talking heads on the task contract: one schema gives the tab's ranges, the CLI's flags and
validation; typed text, progress and the manifest go through the one job skeleton."""

from __future__ import annotations

import argparse
import json

import pytest

import cli
from pipelines import media
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.talking_head import TASK, speech
from pipelines.talking_head.job import TalkOptions, talk
from pipelines.task import run_job
from tests.talking_head_fixtures import modulated_voice, portrait, write_wav

BOUNDED = [s for s in TASK.settings if s.bounded or s.choices]


@pytest.fixture(scope="module")
def registry():
    return build_registry()


@pytest.fixture(scope="module")
def flags():
    """flag -> argparse action of ``cli.py talk``."""
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    talk_parser = sub.choices[TASK.command_name]
    return {flag: action for action in talk_parser._actions for flag in action.option_strings}


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("talk-contract")
    return {"face": portrait(folder / "face.png"),
            "audio": write_wav(folder / "voice.wav", modulated_voice(0.4)[0])}


def outside(setting) -> float:
    """A value just above the setting's range (by one step)."""
    return setting.maximum + (setting.step or 1)


def test_the_schema_holds_every_existing_flag_and_the_ranges_are_the_widest_supported():
    names = {s.name: s for s in TASK.settings}
    assert {s.cli_flag for s in TASK.settings} == {
        "--voice", "--rate", "--blinks", "--head-motion", "--mouth", "--max-side",
        "--batch-size", "--chin-padding", "--sharpen"}
    assert (names["rate"].minimum, names["rate"].maximum) == speech.RATE_RANGE
    assert (names["max_side"].minimum, names["max_side"].maximum) == (64, 4096)
    assert (names["batch_size"].minimum, names["batch_size"].maximum) == (1, 512)
    assert (names["chin_padding"].minimum, names["chin_padding"].maximum) == (0.0, 1.0)


@pytest.mark.parametrize("setting", BOUNDED, ids=lambda s: s.name)
def test_tab_range_equals_the_schema(studio_widgets, setting):
    widget = studio_widgets[f"{TASK.id}-{setting.name}"]
    assert (widget.minimum, widget.maximum) == (setting.minimum, setting.maximum)
    assert widget.value == setting.default and widget.step == setting.step
    assert widget.label == setting.label


@pytest.mark.parametrize("setting", BOUNDED, ids=lambda s: s.name)
def test_cli_flag_takes_the_schema_type(flags, setting):
    action = flags[setting.cli_flag]
    assert action.dest == setting.name and action.type is type(setting.default)
    assert action.default is None  # unset flags take the backend's default from the schema


@pytest.mark.parametrize("setting", BOUNDED, ids=lambda s: s.name)
def test_a_value_outside_the_range_is_refused_by_run_job_and_the_cli(registry, inputs, setting,
                                                                     capsys, tmp_path):
    kind = type(setting.default)
    above, below = kind(outside(setting)), kind(setting.minimum - (setting.step or 1))
    for value in (above, below):
        with pytest.raises(InputError, match=f"'{setting.name}'"):
            run_job(registry, TASK, None, inputs, {setting.name: value}, root=tmp_path)
    with pytest.raises(InputError, match=f"'{setting.name}'"):
        talk(registry, inputs["face"], inputs["audio"],
             options=TalkOptions(**{setting.name: above}))
    code = cli.main(["talk", str(inputs["face"]), str(inputs["audio"]), "--quiet",
                     setting.cli_flag, str(above)], registry=registry)
    err = capsys.readouterr().err
    assert code == 2 and f"'{setting.name}'" in err and setting.range_text() in err
    assert not list(tmp_path.rglob("manifest.json"))  # refused before any run folder


def test_the_edges_of_each_range_are_accepted(registry):
    for setting in BOUNDED:
        for value in (setting.minimum, setting.maximum):
            assert TASK.settings.validate({setting.name: value})[setting.name] == value


def test_backend_choice_shows_its_own_controls(registry):
    from tabs.common import backend_updates

    names = ["mouth_strength", "batch_size", "chin_padding", "sharpen", "head_motion"]
    update = backend_updates(TASK, registry, names)
    shown = {n: u["visible"] for n, u in zip(names, update("talking_head.wav2lip"), strict=True)}
    assert shown == {"mouth_strength": False, "batch_size": True, "chin_padding": True,
                     "sharpen": True, "head_motion": True}
    shown = {n: u["visible"] for n, u in zip(names, update("talking_head.classical"),
                                             strict=True)}
    assert shown == {"mouth_strength": True, "batch_size": False, "chin_padding": False,
                     "sharpen": False, "head_motion": True}


def test_the_manifest_keeps_only_the_backends_settings(registry, inputs):
    job = talk(registry, inputs["face"], inputs["audio"],
               options=TalkOptions(head_motion=0.0, blinks=False, max_side=320))
    manifest = json.loads(job.manifest.read_text())
    params = manifest["parameters"]
    assert params["max_side"] == 320 and params["head_motion"] == 0.0 and not params["blinks"]
    assert "batch_size" not in params and "chin_padding" not in params  # Wav2Lip only
    assert params["face"] == "face.png" and params["audio"] == "voice.wav" and params["fps"] == 25
    assert set(manifest["timings_seconds"]) >= {"load", "generate"}
    assert manifest["device"] == "cpu" and manifest["runner"]["device"] == "cpu"
    assert manifest["outputs"] == {"video": "talking_head.mp4"}
    assert max(media.probe_video(job.video).width, media.probe_video(job.video).height) <= 320


def test_typed_text_goes_through_the_speech_stage(registry, inputs, monkeypatch):
    """espeak-ng stood in for by a tone writer: the job speaks into the run folder, lip-syncs to
    it, records it, and reports the stages in order."""
    spoken = []

    def synthesize(text, path, voice, rate):
        spoken.append((text, voice, rate))
        samples = modulated_voice(0.6)[0]
        return write_wav(path, samples)

    monkeypatch.setattr(speech, "espeak_path", lambda: "/usr/bin/espeak-ng")
    monkeypatch.setattr(speech, "synthesize", synthesize)
    reports = []
    out = run_job(registry, TASK, "classical", {"face": inputs["face"], "text": " Hello. "},
                  {"voice": "de", "rate": 200, "blinks": False},
                  progress=lambda fraction, desc="": reports.append((fraction, desc)))
    assert spoken == [("Hello.", "de", 200)]
    assert out.outputs["speech"] == out.run_dir / "speech.wav"
    assert out.data["speech"] == out.outputs["speech"]
    info = media.probe_video(out.outputs["video"])
    assert info.has_audio and abs(info.duration - 0.6) <= 1 / 25
    manifest = json.loads(out.manifest.read_text())
    assert manifest["parameters"]["text"] == "Hello." and manifest["parameters"]["audio"] is None
    assert list(manifest["timings_seconds"])[:3] == ["load", "speech", "generate"]
    fractions = [f for f, _ in reports]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    stages = [d for _, d in reports if d in ("speech", "generate")]
    assert stages == ["speech", "generate"]
    assert any(d == "rendering frames" for _, d in reports)


def test_typed_text_without_espeak_is_refused_before_any_folder(registry, inputs, monkeypatch,
                                                                 tmp_path):
    monkeypatch.setattr(speech, "espeak_path", lambda: None)
    with pytest.raises(Exception, match="espeak-ng"):
        run_job(registry, TASK, None, {"face": inputs["face"], "text": "hi"}, root=tmp_path)
    assert not list(tmp_path.rglob("*"))


def test_sharpening_is_skipped_with_a_note_on_the_classical_backend(registry, inputs):
    sharpen = registry.by_task("super_res")
    if not sharpen:
        pytest.skip("no super-resolution backend is registered")
    job = talk(registry, inputs["face"], inputs["audio"],
               options=TalkOptions(sharpen=sharpen[0].id, blinks=False, head_motion=0.0))
    assert any("Wav2Lip backends only" in note for note in job.notes)
    assert json.loads(job.manifest.read_text())["sharpened_with"] is None


def test_cli_shows_a_progress_bar_on_stderr(registry, inputs, tmp_path, capsys):
    out = tmp_path / "talk.mp4"
    assert cli.main(["talk", str(inputs["face"]), str(inputs["audio"]), "--no-blinks",
                     "--head-motion", "0", "-o", str(out)], registry=registry) == 0
    captured = capsys.readouterr()
    assert "generate" in captured.err and "%" in captured.err and "elapsed" in captured.err
    assert "100%" in captured.err and "manifest" in captured.out
    assert media.probe_video(out).has_audio


def test_benchmark_rows_are_prepared_by_the_task(registry, inputs, tmp_path):
    from pipelines.benchmark.adapters import adapter_for

    adapter = adapter_for(TASK.id)
    item = adapter.inputs_from([inputs["face"], inputs["audio"]])[0]
    choice = adapter.resolve(registry, "classical:still")
    request = adapter.prepare(choice, item, 4, tmp_path).request
    assert (request.head_motion, request.blinks, request.seed) == (0.0, False, 4)
    assert request.max_side == adapter.settings["max_side"]
    assert request.output == tmp_path / "talking_head.mp4"
    custom = adapter.resolve(registry, "classical:head_motion=0.8")
    assert adapter.prepare(custom, item, 0, tmp_path).request.head_motion == 0.8
    with pytest.raises(InputError, match="'head_motion'"):
        adapter.resolve(registry, "classical:head_motion=3")
    with pytest.raises(InputError, match="Upload a portrait"):
        adapter.prepare(choice, item.__class__(item.name, item.kind, "", item.extra), 0,
                        tmp_path)
