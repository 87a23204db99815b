"""Spacetime Studio: the Gradio app.

``python app.py`` serves the studio at http://127.0.0.1:7860. Importing this module builds
nothing and imports no torch, diffusers or transformers: models load the first time a tab uses
them, through the shared registry.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr

from pipelines.errors import StudioError
from pipelines.manifest import cleanup_runs, outputs_dir, run_max_age_hours
from pipelines.media import get_limits
from pipelines.registry import Registry
from pipelines.task import Task
from tabs import build_tabs
from tabs.common import ui_text

log = logging.getLogger("studio")

QUEUE_MAX_SIZE = int(os.environ.get("STUDIO_QUEUE_SIZE", "32"))
AUTH_ENV = "STUDIO_AUTH"
CSS = ".gradio-container {max-width: 1400px !important}"


def build_app(registry: Registry | None = None,
              tasks: tuple[Task, ...] | None = None) -> gr.Blocks:
    """The studio's Blocks: one tab per task of ``tasks`` (default: the studio's task list),
    then the Benchmark and Models tabs, all on one registry."""
    if registry is None:
        from pipelines.catalog import build_registry

        registry = build_registry(tasks)
    # Gradio's own upload/temp cache: swept hourly, files older than a day removed.
    with gr.Blocks(title="Spacetime Studio", delete_cache=(3600, 86400)) as demo:
        gr.Markdown(ui_text("header"))
        with gr.Tabs():
            build_tabs(registry, tasks)
    demo.queue(max_size=QUEUE_MAX_SIZE, default_concurrency_limit=2)
    demo.registry = registry  # the app's registry, for tests and embedding
    return demo


def parse_auth(value: str | None) -> list[tuple[str, str]] | None:
    """``"user:password[,user2:password2]"`` -> credentials for ``launch(auth=...)``."""
    if not value:
        return None
    pairs = []
    for item in value.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise StudioError(
                f"--auth / {AUTH_ENV} must look like 'user:password' (comma-separated for "
                "several users); got an entry without both parts."
            )
        pairs.append((user, password))
    return pairs


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Spacetime Studio")
    parser.add_argument("--host", default=os.environ.get("STUDIO_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("STUDIO_PORT", "7860")))
    parser.add_argument("--share", action="store_true", help="open a public gradio.live link")
    parser.add_argument(
        "--engine",
        default=os.environ.get("STUDIO_ENGINE", "inline"),
        choices=("inline", "local", "ray"),
        help="where jobs run: in this process (inline), in a worker process (local), or as Ray "
        "tasks on RAY_ADDRESS's cluster or a local Ray (ray); also STUDIO_ENGINE",
    )
    parser.add_argument(
        "--auth",
        default=os.environ.get(AUTH_ENV),
        help=f"user:password required to open the app (or set {AUTH_ENV})",
    )
    return parser.parse_args(argv)


def share_warning(args: argparse.Namespace, auth: list[tuple[str, str]] | None) -> str | None:
    """The warning a public link without credentials deserves, or None."""
    if args.share and not auth:
        return (
            "WARNING: --share makes this studio reachable by anyone with the link, and it runs "
            f"jobs on this machine. Protect it with --auth user:password or {AUTH_ENV}."
        )
    return None


def main(argv: Sequence[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = parse_args(argv)
    try:
        auth = parse_auth(args.auth)
    except StudioError as err:
        sys.exit(f"error: {err}")
    os.environ["STUDIO_ENGINE"] = args.engine  # every tab's job runs on it (run_job_on_engine)
    warning = share_warning(args, auth)
    if warning:
        print(warning, file=sys.stderr)
    outputs = outputs_dir()
    outputs.mkdir(parents=True, exist_ok=True)
    try:
        removed = cleanup_runs(run_max_age_hours(), outputs)
    except ValueError as err:
        sys.exit(f"error: {err}")
    if removed:
        log.info("removed %d run folder(s) older than %s h", removed, run_max_age_hours())
    demo = build_app()
    demo.launch(
        server_name=args.host,
        server_port=args.port,
        share=args.share,
        auth=auth,
        allowed_paths=[str(outputs)],
        max_file_size=get_limits().max_upload_bytes,
        theme=gr.themes.Soft(),
        css=CSS,
    )


if __name__ == "__main__":
    main()
