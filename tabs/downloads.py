"""First run in the app: download a backend's missing files, with progress, then run the job.

Every tab calls :func:`fetch_then_run` around its job. When the chosen backend's files are on
disk (or it needs none) the job simply runs. When they are missing and the hosts they come from
answer within a second, the files are downloaded first, reporting bytes, speed and time left
through the tab's progress bar, and the job then runs; a cancel token stops the download and
keeps what arrived for the next try. Offline (``HF_HUB_OFFLINE=1`` or no answer), the job runs
as before and its load reports the missing weights with the ``python cli.py fetch ID`` command.

:func:`build_panel` adds the visible part to a tab: a line that says, for the selected backend,
how much would be downloaded and how much disk would stay free, with Download and Cancel
buttons. Nothing here imports torch.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pipelines import hub, sources
from pipelines.errors import StudioError
from pipelines.registry import Registry, cached_weights

T = TypeVar("T")
ProgressFn = Callable[..., Any]  # gr.Progress or any (fraction, desc=...) callable

_CANCEL: dict[str, threading.Event] = {}
_CANCEL_LOCK = threading.Lock()


def new_cancel_token() -> str:
    """A token a session keeps (``gr.State``) to cancel its download."""
    token = uuid.uuid4().hex
    with _CANCEL_LOCK:
        _CANCEL[token] = threading.Event()
    return token


def cancel_event(token: str | None) -> threading.Event | None:
    if not token:
        return None
    with _CANCEL_LOCK:
        return _CANCEL.setdefault(token, threading.Event())


def cancel(token: str | None) -> str:
    """Ask the download of ``token`` to stop; it stops at its next chunk."""
    event = cancel_event(token)
    if event is None:
        return "Nothing is downloading."
    event.set()
    return "Cancelling the download; what arrived is kept for the next try."


def weights_missing(registry: Registry, spec_id: str) -> bool:
    spec = registry.get(spec_id)
    return spec.needs_weights and cached_weights(spec) is None


@dataclass(frozen=True)
class Offer:
    """What downloading a backend's files would take."""

    spec_id: str
    download_bytes: int
    free_after: int
    files: int
    gated: bool

    def describe(self) -> str:
        gated = (" Its repo is gated: accept the licence on its Hub page and set HF_TOKEN first."
                 if self.gated else "")
        return (f"**{self.spec_id}** needs {hub.human_bytes(self.download_bytes)} of model files "
                f"({self.files} file(s)); free disk after the download: "
                f"{hub.human_bytes(self.free_after)}. They download before the job runs "
                f"(Run or Download), with progress; Cancel keeps what arrived.{gated}")


def offer(registry: Registry, spec_id: str) -> Offer | None:
    """The download a backend still needs, or None when its files are on disk, it needs none,
    or the Hub is not reachable within a second (then the job's own message applies)."""
    spec = registry.get(spec_id)
    if not weights_missing(registry, spec_id) or not sources.reachable(spec):
        return None
    plan = sources.plan(spec, timeout=5.0)
    return Offer(spec_id, plan.download_bytes, plan.free_after, len(plan.missing), spec.gated)


def offer_markdown(registry: Registry, spec_id: str | None) -> str:
    """The panel's text for the selected backend ("" when nothing needs downloading)."""
    if not spec_id:
        return ""
    try:
        found = offer(registry, spec_id)
    except StudioError as err:
        return f"**{spec_id}**: {err}"
    return found.describe() if found else ""


def progress_adapter(progress: ProgressFn | None) -> Callable[[hub.FetchProgress], None] | None:
    """Maps download progress onto a ``gr.Progress`` (fraction, desc) callable."""
    if progress is None:
        return None

    def report(update: hub.FetchProgress) -> None:
        progress(update.fraction, desc=f"Downloading {update.spec_id}: {update.describe()}")

    return report


def download(registry: Registry, spec_id: str, *, progress: ProgressFn | None = None,
             cancel_token: str | None = None) -> str:
    """Download a backend's files now; returns a sentence saying where they are."""
    event = cancel_event(cancel_token)
    if event is not None:
        event.clear()
    folder = registry.fetch(spec_id, progress=progress_adapter(progress), cancel=event)
    return (f"`{spec_id}` is ready: its files are in `{folder}`." if folder
            else f"`{spec_id}` needs no files.")


def fetch_then_run(registry: Registry, spec_id: str, job: Callable[[], T], *,
                   progress: ProgressFn | None = None, cancel_token: str | None = None) -> T:
    """Run ``job`` after downloading the backend's missing files when the Hub is reachable.

    Offline, ``job`` runs straight away, and its load raises the usual WeightsUnavailable
    sentence. Progress of the download goes to ``progress`` (a ``gr.Progress``); a cancel
    raises :class:`pipelines.hub.FetchCancelled` and the job does not run.
    """
    spec = registry.get(spec_id)
    if weights_missing(registry, spec_id) and sources.reachable(spec):
        download(registry, spec_id, progress=progress, cancel_token=cancel_token)
    return job()


def fetch_first(registry: Registry, progress: ProgressFn | None = None
                ) -> Callable[[Any, Any], None]:
    """The job skeleton's ``fetch`` hook for a tab: download the chosen backend's missing files
    first (with the tab's progress bar) when the Hub answers within a second."""

    def fetch(spec: Any, report: Any) -> None:
        if weights_missing(registry, spec.id) and sources.reachable(spec):
            download(registry, spec.id, progress=progress)

    return fetch


@dataclass
class Panel:
    """The download panel's components, for a tab to wire into its events."""

    message: Any  # gr.Markdown
    download: Any  # gr.Button
    cancel: Any  # gr.Button
    token: Any  # gr.State holding this session's cancel token


def build_panel(registry: Registry, backend) -> Panel:
    """Lay out the panel under a backend dropdown and wire its events (no job: Download only
    fetches; a tab's Run goes through :func:`fetch_then_run`)."""
    import gradio as gr

    message = gr.Markdown(visible=False)  # shown for a backend with files to fetch
    with gr.Row(visible=False) as buttons:
        get = gr.Button("Download model files", size="sm", scale=0)
        stop = gr.Button("Cancel download", size="sm", variant="stop", scale=0)
    # This session's cancel token, made when a backend with files to fetch is picked (a State
    # with a callable value would add a public load event to the app's API).
    token = gr.State(None)

    def on_backend(spec_id: str | None, session_token: str | None) -> tuple[str, Any, Any]:
        text = offer_markdown(registry, spec_id)
        if text and not session_token:
            session_token = new_cancel_token()
        return (gr.update(value=text, visible=bool(text)), gr.update(visible=bool(text)),
                session_token)

    def on_download(spec_id: str | None, session_token: str,
                    progress=gr.Progress()) -> str:  # noqa: B008 (gradio's injection idiom)
        if not spec_id:
            return ""
        try:
            return download(registry, spec_id, progress=progress, cancel_token=session_token)
        except StudioError as err:
            raise gr.Error(str(err)) from None

    backend.change(on_backend, [backend, token], [message, buttons, token],
                   show_progress="hidden", api_visibility="private")
    get.click(on_download, [backend, token], message, concurrency_limit=2,
              api_visibility="private",
              show_progress_on=[message])
    stop.click(cancel, token, message, show_progress="hidden", api_visibility="private")
    return Panel(message, get, stop, token)
