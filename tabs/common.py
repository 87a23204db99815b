"""What every tab shares: the GPU shim, error mapping, backend pickers and UI text.

Tabs import gradio but never torch or a model library; runners are reached only through the
registry, which loads them on first use.
"""

from __future__ import annotations

import functools
import importlib.util
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import gradio as gr

from pipelines.errors import StudioError
from pipelines.registry import Registry

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


def progress_callback(progress: gr.Progress | None) -> Callable[[float, str], None]:
    """Adapt ``gr.Progress`` to the runners' ``progress(fraction, description)`` callback."""

    def report(fraction: float, desc: str = "") -> None:
        if progress is not None:
            progress(max(0.0, min(1.0, fraction)), desc=desc)

    return report


def backend_choices(registry: Registry, task: str) -> list[tuple[str, str]]:
    """(label, spec id) pairs for a backend dropdown, the classical default first."""
    return [(f"{s.label} ({s.kind})", s.id) for s in registry.by_task(task)]


def backend_dropdown(registry: Registry, task: str, **kwargs: Any) -> gr.Dropdown:
    choices = backend_choices(registry, task)
    # Wide enough for the labels: in a row on a phone it wraps onto a line of its own.
    kwargs.setdefault("min_width", 280)
    return gr.Dropdown(
        choices=choices,
        value=choices[0][1] if choices else None,
        label="Backend",
        info="Classical backends need no downloads; model backends load on first use.",
        **kwargs,
    )


def ui_text(name: str) -> str:
    """Markdown from ``assets/ui/<name>.md`` (UI prose lives beside the examples, not in code)."""
    path = ASSETS / "ui" / f"{name}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else ""


def backends_table(registry: Registry, task: str) -> str:
    specs = registry.by_task(task)
    if not specs:
        return "_No backend is registered for this task yet._"
    rows = ["| Backend | Kind | Checkpoint | Licence |", "|---|---|---|---|"]
    rows += [
        f"| {s.label} | {s.kind} | {s.repo_id or 'none (weight-free)'} | {s.license or '-'} |"
        for s in specs
    ]
    return "\n".join(rows)


def pending_tab(registry: Registry, task: str) -> None:
    """Layout of a tab whose task is still being built: what it will do and its backends."""
    gr.Markdown(ui_text(task))
    gr.Markdown(
        "**This task is being built.** Its backends, as registered so far:\n\n"
        + backends_table(registry, task)
    )
