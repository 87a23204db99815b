"""Errors a user can act on.

Every error raised for a person to read derives from :class:`StudioError`; its message is a
sentence that says what went wrong and what to change. Tabs turn these into ``gr.Error`` and the
CLI prints them without a traceback. Anything else reaching a tab is a bug and is reported as one.
"""

from __future__ import annotations


class StudioError(Exception):
    """A problem the user can fix; ``str(err)`` is shown to them as is."""


class InputError(StudioError, ValueError):
    """An input file or parameter cannot be used (corrupt, empty, wrong kind, out of range)."""


class LimitExceeded(InputError):
    """An input breaches one of the configured limits; the message names the limit."""

    def __init__(self, limit: str, value: float | int, maximum: float | int, hint: str = ""):
        self.limit = limit
        self.value = value
        self.maximum = maximum
        unit_hint = f" {hint}" if hint else ""
        super().__init__(
            f"Input exceeds the {limit} limit: {value:,} > {maximum:,}.{unit_hint} "
            f"Use a smaller input, or raise the limit with the environment variable "
            f"STUDIO_{limit.upper()}."
        )


class UnknownPipeline(StudioError, KeyError):
    """A spec id that the registry does not know."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "unknown pipeline"


class WeightsUnavailable(StudioError):
    """A checkpoint is not on disk and cannot be downloaded now."""

    def __init__(self, spec_id: str, repo_id: str, reason: str = ""):
        self.spec_id = spec_id
        self.repo_id = repo_id
        why = f" ({reason})" if reason else ""
        # Metric networks have no weight-free alternative to pick; task backends do.
        instead = "" if spec_id.startswith("metrics.") else ", or pick the 'classical' backend"
        super().__init__(
            f"The weights of '{spec_id}' ({repo_id}) are not on this machine and cannot be "
            f"downloaded now{why}. Run `python cli.py fetch {spec_id}` on a machine with "
            f"network access (or use the Models tab's Fetch button){instead}."
        )
