"""The task contract: one task list serves the CLI, the app and the benchmark; every spec of the
catalog conforms; a new task is one declaration (proved with a toy task defined here)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import cli
from pipelines.catalog import build_registry
from pipelines.errors import InputError
from pipelines.layouts import spec_files
from pipelines.media import load_image
from pipelines.registry import KINDS, PipelineSpec, describe
from pipelines.task import Input, JobContext, Schema, Setting, Task, run_job
from pipelines.tasks import TASKS
from tests.conftest import served_studio

ROOT = Path(__file__).resolve().parent.parent
PICTURE = ROOT / "assets" / "portrait" / "coffee.jpg"


# --------------------------------------------------------------------------------------------
# A toy task, declared in this file only


@dataclass
class ToyRequest:
    image: np.ndarray
    amount: float


@dataclass
class ToyResult:
    frames: list[np.ndarray]
    fps: float = 1.0
    notes: list[str] = field(default_factory=list)


class ToyRunner:
    """Blends the picture towards its negative by ``amount``."""

    device, dtype = "cpu", "float32"

    def __call__(self, request: ToyRequest, progress=None) -> ToyResult:
        if progress:
            progress(0.5, "inverting")
        image = request.image.astype(np.float32)
        out = image + request.amount * (255.0 - 2.0 * image)
        return ToyResult([np.clip(np.rint(out), 0, 255).astype(np.uint8)])

    def modules(self) -> dict:
        return {}


def build_toy(ctx) -> ToyRunner:
    return ToyRunner()


def prepare_toy(inputs, values, seed, spec) -> ToyRequest:
    if not inputs.get("image"):
        raise InputError("Give the toy a picture.")
    return ToyRequest(load_image(inputs["image"]).rgb, values["amount"])


def toy_job(ctx: JobContext, request: ToyRequest) -> None:
    with ctx.stage("invert", 0.8) as report:
        result = ctx.runner(request, report)
    ctx.write_image("image", "toy.png", result.frames[0])
    ctx.summary = f"inverted by {request.amount:g}"


TOY = Task(
    id="toy",
    title="Toy inversion",
    specs=(PipelineSpec(id="toy.classical", task="toy", label="Invert", kind="classical",
                        builder=build_toy),),
    settings=Schema("toy", (Setting("amount", 1.0, "Amount", "How far towards the negative.",
                                    0.0, 1.0, 0.05),)),
    inputs=(Input("image", "image", "Picture"),),
    prepare=prepare_toy,
    job=toy_job,
    examples=("portrait/coffee.jpg",),
)
WITH_TOY = (*TASKS, TOY)


def test_a_new_task_is_served_by_the_cli(tmp_path, capsys):
    out = tmp_path / "out"
    code = cli.main(["toy", str(PICTURE), "--amount", "1", "--quiet", "--out", str(out)],
                    tasks=WITH_TOY)
    assert code == 0, capsys.readouterr().err
    original = load_image(PICTURE).rgb
    inverted = load_image(out / "toy.png").rgb
    assert np.array_equal(inverted, 255 - original)
    assert "inverted by 1" in capsys.readouterr().out
    code = cli.main(["toy", str(PICTURE), "--amount", "1.5", "--out", str(out)], tasks=WITH_TOY)
    err = capsys.readouterr().err
    assert code == 2 and "'amount'" in err and "use 0 to 1" in err
    with pytest.raises(SystemExit):
        cli.main(["toy", "--help"], tasks=WITH_TOY)
    assert "--amount" in capsys.readouterr().out


def test_a_new_task_is_served_by_the_app(tmp_path):
    from gradio_client import handle_file

    registry = build_registry(WITH_TOY)
    with served_studio(registry, tmp_path, WITH_TOY) as client:
        video, image, files, summary, manifest = client.predict(
            handle_file(str(PICTURE)), "toy.classical", 0, 0.5, api_name="/toy")
        assert video is None and Path(image).suffix == ".png"
        result = load_image(files[0]["value"] if isinstance(files[0], dict) else files[0]).rgb
        expected = ToyRunner()(ToyRequest(load_image(PICTURE).rgb, 0.5)).frames[0]
        assert np.array_equal(result, expected)
        assert "inverted by 0.5" in summary
        record = json.loads(Path(manifest).read_text())
        assert record["task"] == "toy" and record["parameters"] == {"amount": 0.5}
        assert record["device"] == "cpu" and record["runner"]["dtype"] == "float32"
        assert "/toy" in client.view_api(return_format="dict", print_info=False)[
            "named_endpoints"]


def test_a_new_task_is_served_by_the_benchmark(tmp_path):
    from pipelines.benchmark.adapters import adapter_for
    from pipelines.benchmark.harness import run_bench

    registry = build_registry(WITH_TOY)
    result = run_bench(registry, TOY, ["toy.classical", "toy.classical:amount=0.25"],
                       seed=3, root=tmp_path)
    assert [r.status for r in result.rows] == ["ok", "ok"]
    assert adapter_for(TOY).choices(registry)[0] == ("Invert (classical)", "toy.classical")
    with pytest.raises(InputError, match="amount"):
        adapter_for(TOY).resolve(registry, "toy.classical:amount=3")


def test_job_skeleton_removes_the_folder_of_a_failed_job(tmp_path):
    def broken(ctx, request):
        ctx.write_image("image", "half.png", request.image)
        raise InputError("stopped half way")

    task = Task(**{**TOY.__dict__, "job": broken})
    registry = build_registry((task,))
    with pytest.raises(InputError, match="half way"):
        run_job(registry, task, None, {"image": str(PICTURE)}, root=tmp_path)
    assert not list(tmp_path.glob("toy/*"))
    with pytest.raises(InputError, match="Unknown toy setting"):
        run_job(registry, task, None, {"image": str(PICTURE)}, {"amont": 1}, root=tmp_path)


# --------------------------------------------------------------------------------------------
# Every spec and every task of the studio


REGISTRY = build_registry()


@pytest.mark.parametrize("spec", list(REGISTRY), ids=lambda s: s.id)
def test_every_spec_conforms(spec: PipelineSpec):
    """diffusers' habit of one test mixin over every pipeline: one conformance test over every
    spec of the catalog (declaration only: no weights are loaded)."""
    task_ids = {t.id for t in TASKS}
    assert spec.kind in KINDS
    assert spec.task in task_ids or spec.task in {"metrics", "faces"}
    assert spec.label and spec.license, f"{spec.id}: label and licence are shown in Models"
    assert callable(spec.resolve_builder())  # the builder string imports
    if spec.needs_weights:
        # the files to fetch, listed or (diffusers layout) named by the repo's model_index.json
        assert spec_files(spec), f"{spec.id}: list exactly the files to fetch"
        assert spec.files or spec.layout == "diffusers", spec.id
        assert spec.est_memory_gb > 0
    if spec.kind == "classical":
        assert not spec.needs_gpu


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_every_task_is_declared_once_and_complete(task: Task):
    specs = REGISTRY.by_task(task.id)
    assert specs and specs[0].id == f"{task.id}.classical", "the classical backend is default"
    assert task.settings.task == task.id
    for spec in specs:
        group = task.group_of(spec)
        task.settings.validate({}, spec.id, group)  # every default is valid for every backend
    for path in task.examples:
        assert (ROOT / "assets" / path).is_file(), path


def test_classical_runners_describe_themselves():
    for task in TASKS:
        runner = REGISTRY.load(f"{task.id}.classical")
        info = describe(runner)
        assert info.device == "cpu" and info.dtype == "float32"


def test_nothing_else_names_the_set_of_tasks():
    """Only pipelines/tasks.py lists the tasks: no other module holds a tuple, list, set or dict
    literal naming three or more task ids (as the catalog, cli.py, the tabs and the benchmark
    each did before the contract)."""
    import ast

    ids = {t.id for t in TASKS}
    offenders = []
    for path in ROOT.rglob("*.py"):
        rel = path.relative_to(ROOT).as_posix()
        if rel.startswith(("tests/", ".venv/")) or rel == "pipelines/tasks.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            items = node.keys if isinstance(node, ast.Dict) else \
                node.elts if isinstance(node, (ast.Tuple, ast.List, ast.Set)) else []
            named = {i.value for i in items if isinstance(i, ast.Constant)} & ids
            if len(named) >= 3:
                offenders.append(f"{rel}:{node.lineno}")
    assert offenders == []


def test_metrics_table_marks_the_best_value_per_input():
    from metrics.table import METRICS, best_index
    from pipelines.benchmark.results import BASE_COLUMNS
    from tabs.benchmark import best_cells

    assert best_index("psnr", [30.0, 32.5, None]) == 1
    assert best_index("lpips", [0.2, 0.1, 0.3]) == 1
    assert best_index("shots", [3, 4]) is None  # a count has no better direction
    assert best_index("seconds", [1.0, 1.0]) is None
    assert {k for k, _ in BASE_COLUMNS if k in METRICS} >= {"seconds", "fps", "peak_rss_mb"}

    class Row:
        def __init__(self, inp, seconds, psnr):
            self.input, self.status, self._v = inp, "ok", {"seconds": seconds, "psnr": psnr}

        def value(self, key):
            return self._v.get(key)

    from types import SimpleNamespace

    result = SimpleNamespace(metric_columns=["psnr"], rows=[
        Row("a", 2.0, 30.0), Row("a", 1.0, 29.0), Row("b", 3.0, 25.0), Row("b", 4.0, 26.0)])
    assert best_cells(result) == {(1, "seconds"), (0, "psnr"), (2, "seconds"), (3, "psnr")}


def _cli_action(task: Task, name: str):
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    command = sub.choices[task.command_name]
    return next((a for a in command._actions if a.dest == name), None)


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_tab_range_equals_cli_range_equals_validation_range(task: Task, studio_widgets):
    """Each setting is declared once: the tab's widget, the CLI flag and request validation all
    take their range, choices and default from the schema."""
    for setting in task.settings:
        widget = studio_widgets.get(f"{task.id}-{setting.name}")
        assert widget is not None, f"{task.id}: no widget for {setting.name}"
        action = _cli_action(task, setting.name)
        assert action is not None, f"{task.id}: no CLI flag for {setting.name}"
        assert setting.cli_flag in action.option_strings
        if setting.kind == "choice":
            assert [v for _, v in widget.choices] == list(setting.choices)
            assert list(action.choices) == list(setting.choices)
            with pytest.raises(InputError, match=setting.name):
                task.settings.validate({setting.name: "not-a-choice"})
        elif setting.kind == "multi":
            assert [v for _, v in widget.choices] == list(setting.choices)
        elif setting.bounded:
            assert (widget.minimum, widget.maximum) == (setting.minimum, setting.maximum)
            assert action.type is (int if setting.kind == "int" else float)
            assert task.settings.validate({setting.name: setting.maximum})[setting.name] == \
                setting.maximum
            above = setting.maximum + (setting.step or 1)
            below = setting.minimum - (setting.step or 1)
            for bad in (above, below):
                with pytest.raises(InputError, match=setting.name):
                    task.settings.validate({setting.name: bad})
        assert widget.value == (list(setting.default) if setting.multi else setting.default)


def test_fetch_hook_runs_before_the_run_folder_opens(tmp_path):
    """The app's first-run download (tabs.downloads.fetch_first) hooks in here: after the
    request is checked, before the run folder and the load."""
    seen = []

    def fetch(spec, progress):
        seen.append((spec.id, list(tmp_path.glob("toy/*"))))
        progress(0.0, "downloading")

    registry = build_registry((TOY,))
    out = run_job(registry, TOY, None, {"image": str(PICTURE)}, root=tmp_path, fetch=fetch)
    assert seen == [("toy.classical", [])] and out.outputs["image"].is_file()
    with pytest.raises(InputError):
        run_job(registry, TOY, None, {"image": ""}, root=tmp_path, fetch=fetch)
    assert len(seen) == 1  # a bad input is refused before anything is downloaded


def test_curate_thresholds_are_declared_once(studio_widgets):
    """Curation is no task, but its thresholds follow the same rule: the Curate view's sliders,
    the CLI flags and validation share one schema."""
    from pipelines.curate.settings import FILTER_NAMES, SETTINGS, CurateParams

    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["curate"]
    flags = {a.dest: a for a in sub._actions}
    for setting in SETTINGS:
        assert setting.name in flags and setting.cli_flag in flags[setting.name].option_strings
        with pytest.raises(InputError, match=setting.name):
            CurateParams(**{setting.name: setting.maximum + (setting.step or 1)}).validate()
    for name in FILTER_NAMES:
        widget = studio_widgets[f"curate-{name}"]
        assert (widget.minimum, widget.maximum) == (SETTINGS[name].minimum, SETTINGS[name].maximum)


def test_cli_progress_bar_shows_stage_percent_and_time_left():
    import io

    from pipelines.commands import ProgressBar

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    log, term = io.StringIO(), Terminal()
    for stream in (log, term):
        bar = ProgressBar(stream, every=60)
        bar(0.0, "load model")
        bar(0.5, "frame 5/10")
        bar(0.6, "frame 6/10")  # same stage, within 60 s: no new line off a terminal
        bar(1.0, "done")
        bar.close()
    lines = log.getvalue().splitlines()
    assert len(lines) == 3 and "50%" in lines[1] and "left" in lines[1] and "frame 5/10" in lines[1]
    assert lines[2].startswith("[" + "#" * 24 + "]") and "100%" in lines[2]
    assert term.getvalue().count("\r") == 4 and term.getvalue().endswith("\n")


# --------------------------------------------------------------------------------------------
# What a tab shows on first load equals what picking its selected backend would show


@pytest.fixture(scope="module")
def studio_app():
    import app

    return app.build_app(build_registry())


def _hidden_settings(task: Task) -> tuple[str, ...]:
    """Settings a tab keeps off the page whatever the backend (portrait's ``still``: the Edit
    button sets it)."""
    from importlib import import_module

    return getattr(import_module(task.tab), "HIDDEN", ()) if task.tab else ()


def check_opening_widgets(demo, task: Task) -> None:
    """Each setting's widget starts as backend_updates leaves it for the default backend: shown
    exactly when the schema says the setting applies to that backend's group, holding that
    backend's default (per-backend frames, steps, ...)."""
    from tabs.common import backend_updates
    from tests.contract_fixtures import widgets_by_id

    widgets = widgets_by_id(demo)
    spec = demo.registry.default(task.id)
    group = task.group_of(spec)
    hidden = _hidden_settings(task)
    names = [n for n in task.settings.names if n not in hidden]
    updates = backend_updates(task, demo.registry, names)(spec.id)
    for name, update in zip(names, updates, strict=True):
        widget = widgets[f"{task.id}-{name}"]
        assert widget.visible == update["visible"] == task.settings[name].applies_to(group), name
        value = task.settings[name].default_for(spec.id, group)
        assert widget.value == (list(value) if task.settings[name].multi else value), name
        if "value" in update:
            assert widget.value == update["value"], name
    for name in hidden:
        assert widgets[f"{task.id}-{name}"].visible is False, name


def check_backend_handlers(demo, task: Task) -> None:
    """Every handler of the backend dropdown's change (settings, panels of settings, the
    portrait's driving video and end picture, the download offer), run with the page's initial
    values, returns what the page already shows; every setting whose visibility or default
    depends on the backend is among their outputs."""
    from tabs.common import backend_dropdown_id
    from tests.contract_fixtures import widgets_by_id

    widgets = widgets_by_id(demo)
    dropdown = widgets[backend_dropdown_id(task.id)]
    assert dropdown.value == demo.registry.default(task.id).id
    handlers = [f for f in demo.fns.values()
                if (dropdown._id, "change") in [tuple(t) for t in f.targets]]
    assert handlers, f"{task.id}: nothing follows the backend dropdown"
    followed = set()
    for handler in handlers:
        result = handler.fn(*[component.value for component in handler.inputs])
        results = result if isinstance(result, tuple) else (result,)
        for component, out in zip(handler.outputs, results, strict=True):
            where = (f"{task.id}: {getattr(component, 'elem_id', None) or ''} "
                     f"{type(component).__name__} {getattr(component, 'label', None) or ''}")
            followed.add(component._id)
            if isinstance(out, dict) and out.get("__type__") == "update":
                if "visible" in out:
                    assert component.visible == out["visible"], where
                if "value" in out:
                    assert (component.value or "") == (out["value"] or ""), where
            else:
                assert (component.value or None) == (out or None), where
    groups = {task.group_of(s) for s in demo.registry.by_task(task.id)}
    for setting in task.settings:
        if setting.name in _hidden_settings(task):
            continue
        if len({setting.applies_to(g) for g in groups}) > 1 or setting.defaults:
            assert widgets[f"{task.id}-{setting.name}"]._id in followed, setting.name


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_a_tab_opens_with_the_widgets_of_its_default_backend(task: Task, studio_app):
    check_opening_widgets(studio_app, task)


@pytest.mark.parametrize("task", TASKS, ids=lambda t: t.id)
def test_picking_the_selected_backend_changes_nothing_on_a_fresh_page(task: Task, studio_app):
    check_backend_handlers(studio_app, task)


def test_the_generic_tab_opens_with_its_default_backends_settings():
    """A task without a layout of its own, with a model-only setting, a per-backend default and
    an advanced setting for the model only: its Advanced accordion starts hidden."""
    import app
    from tests.contract_fixtures import widgets_by_id

    model = PipelineSpec(id="toy.model", task="toy", label="Invert harder", kind="torch",
                         repo_id="studio-test/toy", files=("model.safetensors",),
                         builder=build_toy)
    settings = Schema("toy", (
        Setting("amount", 1.0, "Amount", "How far towards the negative.", 0.0, 1.0, 0.05,
                defaults=(("toy.model", 0.5),)),
        Setting("detail", 2, "Detail", "Model only.", 1, 8, 1, backends=("model",)),
        Setting("passes", 1, "Passes", "Model only.", 1, 4, 1, backends=("model",),
                advanced=True),
    ))
    task = Task(**{**TOY.__dict__, "specs": (*TOY.spec_list(), model), "settings": settings})
    demo = app.build_app(build_registry((task,)), (task,))
    check_opening_widgets(demo, task)
    check_backend_handlers(demo, task)
    widgets = widgets_by_id(demo)
    assert not widgets["toy-detail"].visible and widgets["toy-amount"].value == 1.0
    accordion = next(b for b in demo.blocks.values()
                     if type(b).__name__ == "Accordion" and b.label == "Advanced settings")
    assert accordion.visible is False
