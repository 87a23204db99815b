"""What every tab shares: the GPU shim, error mapping, backend pickers and UI text.

Tabs import gradio but never torch or a model library; runners are reached only through the
registry, which loads them on first use.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import gradio as gr

from pipelines.errors import StudioError
from pipelines.progress import Progress
from pipelines.registry import PipelineSpec, Registry
from pipelines.task import Setting, Task

log = logging.getLogger("studio")

ASSETS = Path(__file__).resolve().parent.parent / "assets"
# Every event that runs a model shares this id, so accelerator work is queued as one line.
ACCELERATOR = "accelerator"
ACCELERATOR_CONCURRENCY = 1


def gpu(duration: int = 120) -> Callable[[Callable], Callable]:
    """``spaces.GPU`` on a Hugging Face ZeroGPU Space; a no-op everywhere else."""
    if importlib.util.find_spec("spaces") is None:
        return lambda fn: fn
    import spaces

    return spaces.GPU(duration=duration)


def user_errors(fn: Callable) -> Callable:
    """Turn errors into messages a person can act on; never show a traceback.

    A :class:`StudioError` already says what to change. Anything else is a bug: it is logged in
    full on the server and the user gets a short sentence naming the error type.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except gr.Error:
            raise
        except StudioError as err:
            raise gr.Error(str(err), print_exception=False) from None
        except MemoryError:
            log.exception("out of memory in %s", fn.__qualname__)
            raise gr.Error(
                "The machine ran out of memory. Try a smaller input, a lower scale or frame "
                "count, or free loaded models in the Models tab.",
                print_exception=False,
            ) from None
        except Exception as err:
            log.exception("unexpected error in %s", fn.__qualname__)
            raise gr.Error(
                f"Something went wrong inside the studio ({type(err).__name__}). The details "
                "are in the server log; try again, or pick another backend.",
                print_exception=False,
            ) from None

    return wrapper


def image_upload(**kwargs: Any) -> gr.Image:
    """A ``gr.Image`` input whose handler receives the uploaded file untouched (a file path).

    ``gr.Image`` opens every upload with PIL before the handler runs, so an empty, damaged or
    huge file fails inside Gradio with a generic "raised an exception" message, and a large
    image is decoded before the studio's pixel limit is checked. Jobs read the file with
    :func:`pipelines.media.load_image`, which checks the limits from the header and says what to
    change. Pasted images (data URLs) still go through Gradio, which writes them to a file.
    (The instance's ``preprocess`` is replaced: a subclass of a Gradio component would make
    Gradio write a ``.pyi`` stub next to this module at import.)
    """
    image = gr.Image(type="filepath", image_mode=None, **kwargs)
    convert = image.preprocess

    def preprocess(payload: Any) -> str | None:
        if payload is not None and payload.path:
            return str(payload.path)
        return convert(payload)

    image.preprocess = preprocess
    return image


def progress_callback(progress: gr.Progress | None) -> Progress:
    """Adapt ``gr.Progress`` to the runners' ``progress(fraction, description)`` callback."""

    def report(fraction: float, desc: str = "") -> None:
        if progress is not None:
            progress(max(0.0, min(1.0, fraction)), desc=desc)

    return report


def backend_choices(registry: Registry, task: str) -> list[tuple[str, str]]:
    """(label, spec id) pairs for a backend dropdown, the classical default first."""
    return [(f"{s.label} ({s.kind})", s.id) for s in registry.by_task(task)]


def default_backend(registry: Registry, task: Task) -> PipelineSpec:
    """The backend a tab opens with: its dropdown's first choice (the classical one)."""
    return registry.default(task.id)


def backend_dropdown_id(task: str) -> str:
    """The element id of a tab's backend dropdown (never a setting's: names have no dash)."""
    return f"{task}-backend-dropdown"


def backend_dropdown(registry: Registry, task: str, **kwargs: Any) -> gr.Dropdown:
    choices = backend_choices(registry, task)
    # Wide enough for the labels: in a row on a phone it wraps onto a line of its own.
    kwargs.setdefault("min_width", 280)
    kwargs.setdefault("elem_id", backend_dropdown_id(task))
    return gr.Dropdown(
        choices=choices,
        value=registry.default(task).id if choices else None,
        label="Backend",
        info="Classical backends need no downloads; model backends load on first use.",
        **kwargs,
    )


def ui_text(name: str) -> str:
    """Markdown from ``assets/ui/<name>.md`` (UI prose lives beside the examples, not in code)."""
    path = ASSETS / "ui" / f"{name}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


# --------------------------------------------------------------------------------------------
# Widgets from a task's settings schema


def setting_id(task: str, name: str) -> str:
    """The element id of a setting's widget (tests find widgets by it)."""
    return f"{task}-{name}"


def setting_widget(task: str, setting: Setting, **kwargs: Any) -> gr.Component:
    """The widget for one setting: its range, default, label and help come from the schema
    (``value`` and ``visible`` in ``kwargs`` override the default and the shown state)."""
    value = kwargs.pop("value", setting.default)
    common = {"label": setting.label, "info": setting.help or None,
              "elem_id": setting_id(task, setting.name), **kwargs}
    kind = setting.kind
    if kind == "multi":
        return gr.CheckboxGroup(setting.choice_pairs(), value=list(value), **common)
    if kind == "choice":
        return gr.Dropdown(setting.choice_pairs(), value=value, **common)
    if kind == "bool":
        return gr.Checkbox(value=value, **common)
    if kind in ("int", "float") and setting.bounded:
        step = setting.step or (1 if kind == "int" else 0.01)
        return gr.Slider(setting.minimum, setting.maximum, value=value, step=step, **common)
    if kind in ("int", "float"):
        return gr.Number(value, precision=0 if kind == "int" else None, **common)
    return gr.Textbox(value, lines=setting.lines, **common)


def backend_state(task: Task, setting: Setting, spec: PipelineSpec) -> dict[str, Any]:
    """What the widget of ``setting`` shows while ``spec`` is the chosen backend: ``visible``
    (the setting applies to the backend's group) and, for a setting with per-backend defaults
    (frames, steps, ...), that backend's ``value``. Widgets are built with it and the backend
    dropdown's change applies it, so the page always matches the selected backend."""
    group = task.group_of(spec)
    state: dict[str, Any] = {"visible": setting.applies_to(group)}
    if setting.defaults:
        value = setting.default_for(spec.id, group)
        state["value"] = list(value) if setting.multi else value
    return state


def panel_visible(task: Task, names: Sequence[str], spec: PipelineSpec) -> bool:
    """Whether a panel (an accordion) holding the settings ``names`` is shown for ``spec``: when
    one of them applies to the backend's group."""
    group = task.group_of(spec)
    return any(task.settings[name].applies_to(group) for name in names)


def task_widget(task: Task, name: str, backend: PipelineSpec, **kwargs: Any) -> gr.Component:
    """The widget for the task's setting ``name`` as it is while ``backend`` is selected
    (:func:`backend_state`); ``kwargs`` (layout, interactivity) go to the component."""
    setting = task.settings[name]
    return setting_widget(task.id, setting, **{**backend_state(task, setting, backend),
                                               **kwargs})


def setting_widgets(task: Task, names: Sequence[str] | None = None, *, backend: PipelineSpec,
                    advanced: bool | None = None) -> dict[str, gr.Component]:
    """Widgets for the task's settings (``names``, or all with the given ``advanced`` flag),
    in schema order, each as it is while ``backend`` (the tab's default) is selected."""
    chosen = [s for s in task.settings if (names is None or s.name in names)
              and (advanced is None or s.advanced == advanced)]
    return {s.name: task_widget(task, s.name, backend) for s in chosen}


def backend_updates(task: Task, registry: Registry, names: Sequence[str],
                    panels: Sequence[Sequence[str]] = ()) -> Callable[[str], tuple[dict, ...]]:
    """For a backend dropdown's change: show the settings that apply to the chosen backend and
    load its defaults (frames, steps, ...) into them (:func:`backend_state`); one update per
    name, in order, then one per panel of ``panels`` (the setting names an accordion holds:
    shown when one of them applies, :func:`panel_visible`)."""

    def update(spec_id: str) -> tuple[dict, ...]:
        spec = registry.get(spec_id) if spec_id in registry else registry.default(task.id)
        updates = [gr.update(**backend_state(task, task.settings[name], spec))
                   for name in names]
        updates += [gr.update(visible=panel_visible(task, held, spec)) for held in panels]
        return tuple(updates)

    return update
