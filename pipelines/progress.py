"""The one progress type: ``progress(fraction, what)`` with ``fraction`` in [0, 1].

Runners, jobs, the CLI's progress bar and the tabs' ``gr.Progress`` all speak it
(:func:`pipelines.task.run_job` hands each stage its share of the bar).
"""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[float, str], None]  # progress(fraction in [0, 1], what is happening)


def no_progress(fraction: float, desc: str = "") -> None:
    """A :data:`Progress` that reports nowhere."""


def scaled(progress: Progress | None, start: float, span: float) -> Progress:
    """``progress`` for a part of the work that covers ``[start, start + span]`` of the whole."""
    report = progress or no_progress

    def inner(fraction: float, desc: str = "") -> None:
        report(start + span * max(0.0, min(1.0, float(fraction))), desc)

    return inner
