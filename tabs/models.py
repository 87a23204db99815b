"""Models tab: every registered backend, what is on disk and in memory, and controls for both."""

from __future__ import annotations

import gradio as gr

from pipelines import hub
from pipelines.registry import GIB, STATUS_HEADERS, Registry, status_rows
from tabs import downloads
from tabs.common import ACCELERATOR, ACCELERATOR_CONCURRENCY, gpu, ui_text, user_errors

TITLE = "Models"
TASK = None


def cache_summary(registry: Registry) -> str:
    stats = registry.stats()
    budget = stats["budget_bytes"]
    budget_text = f"{budget / GIB:.1f} GB" if budget else "free device memory"
    lines = [
        f"**Memory budget:** {budget_text}, headroom {stats['headroom_bytes'] / GIB:.1f} GB; "
        f"evictions so far: {stats['evictions']}.",
    ]
    for e in stats["entries"]:
        pin = ", running a job" if e["pinned"] else ""
        lines.append(
            f"- `{e['id']}` on {e['device']} ({e['dtype']}), {e['bytes'] / 1e6:.1f} MB, "
            f"loaded in {e['load_seconds']} s, idle {e['idle_seconds']} s{pin}"
        )
    if not stats["entries"]:
        lines.append("- nothing is loaded")
    return "\n".join(lines)


def disk_summary(registry: Registry) -> str:
    """Disk the model files use: the total (shared files counted once) and the largest specs."""
    per_spec, total = hub.disk_usage(registry)
    used = sorted(((b, s) for s, b in per_spec.items() if b), reverse=True)
    parts = ", ".join(f"`{s}` {hub.human_bytes(b)}" for b, s in used[:6]) or "none yet"
    gated = [s.id for s in registry if s.gated]
    note = (f" Gated (accept the licence on the repo's page, then set HF_TOKEN or run "
            f"`hf auth login`): {', '.join(gated)}." if gated else "")
    return (f"**Model files on disk:** {hub.human_bytes(total)} in all ({parts}). Hub cache "
            f"`{hub.hub_cache_dir()}`, URL cache `{hub.url_cache_dir()}`.{note}")


def build(registry: Registry):
    """Lay out the tab; returns the (handler, outputs) that refresh it when it is opened."""
    gr.Markdown(ui_text("models"))
    table = gr.Dataframe(
        headers=list(STATUS_HEADERS),
        value=status_rows(registry),
        interactive=False,
        wrap=True,
        label="Registered backends",
    )
    ids = [spec.id for spec in registry]
    with gr.Row():
        spec_id = gr.Dropdown(ids, value=ids[0] if ids else None, label="Backend", scale=3)
        refresh = gr.Button("Refresh", scale=1)
        fetch = gr.Button("Fetch weights", scale=1)
        load = gr.Button("Load", variant="primary", scale=1)
        unload = gr.Button("Unload", scale=1)
        free_all = gr.Button("Free all", variant="stop", scale=1)
    with gr.Row():
        cancel = gr.Button("Cancel download", size="sm", scale=0)
        delete = gr.Button("Delete files", size="sm", variant="stop", scale=0)
    token = gr.State(downloads.new_cancel_token)
    message = gr.Markdown()
    summary = gr.Markdown(cache_summary(registry) + "\n\n" + disk_summary(registry))

    def snapshot(note: str = ""):
        return (status_rows(registry), note,
                cache_summary(registry) + "\n\n" + disk_summary(registry))

    @user_errors
    def do_refresh():
        return snapshot()

    @user_errors
    def do_fetch(chosen: str, session: str, progress=gr.Progress()):  # noqa: B008 (gradio idiom)
        return snapshot(downloads.download(registry, chosen, progress=progress,
                                           cancel_token=session))

    @user_errors
    def do_delete(chosen: str):
        return snapshot(hub.prune(registry, chosen).describe())

    @gpu()
    @user_errors
    def do_load(chosen: str):
        registry.load(chosen)
        return snapshot(f"Loaded `{chosen}`.")

    @user_errors
    def do_unload(chosen: str):
        count = registry.unload(chosen)
        return snapshot(f"Unloaded `{chosen}`." if count else f"`{chosen}` was not loaded.")

    @user_errors
    def do_free_all():
        return snapshot(f"Freed {registry.unload_all()} loaded backend(s).")

    outputs = [table, message, summary]
    # Progress shows on the message line only, so an error toast never blanks the table.
    quiet = {"show_progress_on": [message]}
    refresh.click(do_refresh, None, outputs, api_name="models_status", **quiet)
    fetch.click(do_fetch, [spec_id, token], outputs, api_name="models_fetch",
                concurrency_limit=2, **quiet)
    cancel.click(downloads.cancel, token, message, api_name="models_cancel_fetch", **quiet)
    delete.click(do_delete, spec_id, outputs, api_name="models_delete", **quiet)
    load.click(
        do_load,
        spec_id,
        outputs,
        api_name="models_load",
        concurrency_id=ACCELERATOR,
        concurrency_limit=ACCELERATOR_CONCURRENCY,
        **quiet,
    )
    unload.click(do_unload, spec_id, outputs, api_name="models_unload", **quiet)
    free_all.click(do_free_all, None, outputs, api_name="models_free_all", **quiet)
    return do_refresh, outputs
