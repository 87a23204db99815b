"""The Curate view (inside the Keyframe extraction tab): many videos in, one row per shot out.

``build_curate(registry)`` lays out, inside the caller's Blocks context: several video uploads
or a folder on the server (only below ``STUDIO_CURATE_ROOT``; without it folders are refused),
the filter thresholds, a Run button, the summary, the table of rows with a filter (all, kept,
dropped, duplicates, errors) and the ``manifest.jsonl`` download. The work is
:func:`pipelines.curate.run.curate` (imported when a run starts), on the engine ``STUDIO_ENGINE``
names (``local`` process pool by default, ``ray`` for a cluster).
"""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

import gradio as gr

from pipelines.curate.settings import FILTER_NAMES, SETTINGS, CurateParams
from pipelines.errors import InputError
from pipelines.manifest import outputs_dir
from pipelines.registry import Registry
from tabs.common import progress_callback, setting_widget, user_errors

ROOT_VARIABLE = "STUDIO_CURATE_ROOT"
VIEWS = ("all", "kept", "dropped", "duplicates", "errors")
HEADERS = ["video", "shot", "start", "end", "seconds", "motion", "sharpness", "brightness",
           "duplicate of", "keep", "reason"]  # fmt: skip
def allowed_folder(text: str) -> Path:
    """``text`` as a folder below ``STUDIO_CURATE_ROOT``, or an InputError saying why not."""
    root = os.environ.get(ROOT_VARIABLE, "").strip()
    if not root:
        raise InputError(f"Server folders are turned off; set {ROOT_VARIABLE} to the folder "
                         f"that may be read, or upload the videos instead.")  # fmt: skip
    base = Path(root).expanduser().resolve()
    folder = Path(text).expanduser()
    folder = (folder if folder.is_absolute() else base / folder).resolve()
    if not folder.is_relative_to(base):
        raise InputError(f"The folder {text} is outside {base}; give a folder inside it.")
    if not folder.is_dir():
        raise InputError(f"The folder {text} does not exist under {base}.")
    return folder


def table(rows: list[dict], view: str) -> list[list[Any]]:
    """Table rows for ``view`` (one of :data:`VIEWS`)."""
    wanted = {
        "all": lambda r: True,
        "kept": lambda r: bool(r["keep"]),
        "dropped": lambda r: not r["keep"],
        "duplicates": lambda r: r["duplicate_of"] is not None,
        "errors": lambda r: r["error"] is not None,
    }[view]
    return [[Path(r["video"]).name, r["shot"], r["start_time"], r["end_time"], r["duration"],
             r["motion"], r["sharpness"], r["brightness"],
             r["duplicate_of"] and Path(r["duplicate_of"]).name, r["keep"],
             r["reason"] if r["error"] is None else f"error: {r['error']}"]
            for r in rows if wanted(r)]  # fmt: skip


def run_curation(uploads: list[Any] | None, folder: str, *values: Any,
                 progress: gr.Progress | None = None) -> tuple[str, list, str, list]:  # fmt: skip
    """Curate the uploads (or the server folder); returns summary, table, manifest, rows."""
    from pipelines.curate.run import MANIFEST, curate, read_manifest

    inputs: list[Path] = [Path(getattr(u, "name", u)) for u in uploads or []]
    if folder and folder.strip():
        inputs.append(allowed_folder(folder.strip()))
    if not inputs:
        raise InputError("Upload one or more videos, or name a server folder.")
    names = [*FILTER_NAMES, "clips", "shards"]
    given = dict(zip(names, values, strict=True))
    checked = SETTINGS.validate({n: given[n] for n in FILTER_NAMES})
    params = CurateParams(**checked, clips=bool(given["clips"]), shards=bool(given["shards"]))
    out = outputs_dir() / "curate" / f"{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
    report = progress_callback(progress)
    engine = os.environ.get("STUDIO_ENGINE", "local")
    if engine == "local" and len(inputs) == 1 and inputs[0].is_file():
        engine = "inline"  # one video: no pool to start
    summary = curate(inputs, out, params, engine=engine,
                     progress=lambda done, total, what: report(done / max(1, total),
                                                               Path(what).name))  # fmt: skip
    rows = read_manifest(out / MANIFEST)
    return f"**Summary.** {summary.text()}.", table(rows, "all"), str(out / MANIFEST), rows


def build_curate(registry: Registry) -> None:
    """Lay out the Curate view in the current Blocks context and wire its events."""
    gr.Markdown("### Curate many videos\nShots of every video with motion, sharpness, "
                "brightness and duplicates marked; filter, then download the manifest.")
    with gr.Row():
        uploads = gr.File(label="Videos", file_count="multiple", file_types=["video"])
        folder = gr.Textbox(label="Server folder",
                            info=f"A folder below {ROOT_VARIABLE} (read recursively)",
                            placeholder="e.g. footage/day1")  # fmt: skip
    with gr.Accordion("Filters", open=False):
        widgets = [setting_widget("curate", SETTINGS[name]) for name in FILTER_NAMES]
        clips = gr.Checkbox(value=False, label="Write one MP4 per kept shot")
        shards = gr.Checkbox(value=False, label="Write WebDataset tar shards")
    run = gr.Button("Curate", variant="primary")
    summary = gr.Markdown()
    view = gr.Radio(list(VIEWS), value="all", label="Show")
    rows_table = gr.Dataframe(headers=HEADERS, interactive=False, wrap=True)
    manifest = gr.File(label="manifest.jsonl")
    rows_state = gr.State([])

    @user_errors
    def on_run(files, path, *values, progress=gr.Progress()):  # noqa: B008 (gradio's idiom)
        return run_curation(files, path, *values, progress=progress)

    run.click(on_run, [uploads, folder, *widgets, clips, shards],
              [summary, rows_table, manifest, rows_state], api_name="curate",
              concurrency_limit=1)  # fmt: skip
    view.change(lambda rows, chosen: table(rows, chosen), [rows_state, view], rows_table,
                api_name="curate_view")  # fmt: skip
