"""Every threshold and option of a curation run, validated in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pipelines.errors import InputError
from pipelines.task import Schema, Setting

REASONS = ("error", "duplicate", "short", "dark", "bright", "blurry", "static", "shaky")
SHOT_BACKENDS = ("classical", "transnetv2")  # keyframe backends that can find the shots


@dataclass(frozen=True)
class CurateParams:
    """Filters (a shot failing one is dropped with that reason) and outputs."""

    min_duration: float = 1.0  # seconds; shorter shots: "short"
    min_brightness: float = 16.0  # mean luma 0-255; darker: "dark"
    max_brightness: float = 240.0  # brighter: "bright"
    min_sharpness: float = 20.0  # median variance of the Laplacian (analysis size); "blurry"
    min_motion: float = 0.0  # mean optical flow, % of frame width per frame; below: "static"
    max_motion: float = 0.0  # above: "shaky" (0 turns this filter off)
    dedupe_bits: int = 6  # perceptual-hash distance (of 64 bits) counted as a duplicate
    motion_pairs_per_second: float = 2.0  # frame pairs whose optical flow is measured
    analysis_side: int = 256
    clips: bool = False  # one MP4 per kept shot
    shards: bool = False  # WebDataset-style tar shards of the kept shots
    shard_size: int = 1000  # samples per shard
    contact_sheets: bool = True  # one contact sheet per video
    shot_backend: str = "classical"  # classical, or transnetv2 (the network finds the shots)
    shot_weights: str = ""  # transnetv2: its weights file (pipelines.curate.run.shot_weights)

    def validate(self) -> CurateParams:
        """Self, or InputError naming the first setting out of :data:`SETTINGS`' range."""
        for setting in SETTINGS:
            setting.check(getattr(self, setting.name))
        if self.max_brightness < self.min_brightness:
            raise InputError(f"The curation setting max_brightness={self.max_brightness!r} is "
                             f"below min_brightness={self.min_brightness!r}; raise it.")
        if self.shot_backend not in SHOT_BACKENDS:
            raise InputError(f"The shot backend '{self.shot_backend}' is unknown; use one of: "
                             f"{', '.join(SHOT_BACKENDS)}.")
        if self.shot_backend != "classical" and not self.shot_weights:
            raise InputError(f"The shot backend '{self.shot_backend}' needs its weights file; "
                             "let the curate command find it (--shots).")
        if self.max_motion and self.max_motion < self.min_motion:
            raise InputError(f"The curation setting max_motion={self.max_motion!r} is below "
                             f"min_motion={self.min_motion!r}; use 0 (off) or a larger value.")
        return self

    def as_dict(self) -> dict:
        return asdict(self)


_DEFAULTS = CurateParams()


def _setting(name: str, label: str, help_text: str, low: float, high: float, step: float,
             unit: str = "") -> Setting:
    return Setting(name, getattr(_DEFAULTS, name), label, help_text, low, high, step, unit=unit)


# Every threshold, declared once: the CLI flags, the Curate view's sliders and validation use it.
SETTINGS = Schema("curate", (
    _setting("min_duration", "Shortest shot (seconds)",
             "Shots shorter than this are dropped as 'short'.", 0.0, 3600.0, 0.1, "s"),
    _setting("min_brightness", "Darkest mean brightness",
             "Shots with mean luma (0-255) below this are 'dark'.", 0.0, 255.0, 1.0),
    _setting("max_brightness", "Brightest mean brightness",
             "Shots with mean luma above this are 'bright'.", 0.0, 255.0, 1.0),
    _setting("min_sharpness", "Least sharpness (Laplacian variance)",
             "Shots whose median Laplacian variance is below this are 'blurry'.", 0.0, 1e6, 5.0),
    _setting("min_motion", "Least motion (% of width per frame, 0: off)",
             "Shots with mean optical flow below this are 'static'.", 0.0, 100.0, 0.05, "%"),
    _setting("max_motion", "Most motion (% of width per frame, 0: off)",
             "Shots with mean optical flow above this are 'shaky'.", 0.0, 100.0, 0.1, "%"),
    _setting("dedupe_bits", "Duplicate distance (bits of 64)",
             "Keyframe perceptual hashes this many bits apart or closer are duplicates.",
             0, 16, 1),
    _setting("motion_pairs_per_second", "Motion samples per second",
             "Frame pairs per second whose optical flow is measured.", 0.1, 30.0, 0.1),
    _setting("analysis_side", "Analysis size (pixels)",
             "Longer side of the analysis frames.", 64, 1024, 32, "px"),
    _setting("shard_size", "Samples per tar shard", "Samples per WebDataset tar shard.",
             1, 1_000_000, 1),
))
FILTER_NAMES = ("min_duration", "min_brightness", "max_brightness", "min_sharpness",
                "min_motion", "max_motion", "dedupe_bits")  # the Curate view's sliders
