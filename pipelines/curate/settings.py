"""Every threshold and option of a curation run, validated in one place."""

from __future__ import annotations

from dataclasses import asdict, dataclass

from pipelines.errors import InputError

REASONS = ("error", "duplicate", "short", "dark", "bright", "blurry", "static", "shaky")


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

    def validate(self) -> CurateParams:
        checks = (
            ("min_duration", 0.0 <= self.min_duration <= 3600.0, "between 0 and 3600 seconds"),
            ("min_brightness", 0.0 <= self.min_brightness <= 255.0, "between 0 and 255"),
            ("max_brightness", self.min_brightness <= self.max_brightness <= 255.0,
             "between min_brightness and 255"),
            ("min_sharpness", 0.0 <= self.min_sharpness <= 1e6, "between 0 and 1000000"),
            ("min_motion", 0.0 <= self.min_motion <= 100.0, "between 0 and 100"),
            ("max_motion", self.max_motion == 0.0 or self.min_motion <= self.max_motion <= 100.0,
             "0 (off) or between min_motion and 100"),
            ("dedupe_bits", 0 <= self.dedupe_bits <= 16, "between 0 (exact hash) and 16"),
            ("motion_pairs_per_second", 0.1 <= self.motion_pairs_per_second <= 30.0,
             "between 0.1 and 30"),
            ("analysis_side", 64 <= self.analysis_side <= 1024, "between 64 and 1024 pixels"),
            ("shard_size", 1 <= self.shard_size <= 1_000_000, "between 1 and 1000000"),
        )  # fmt: skip
        for name, ok, rule in checks:
            if not ok:
                raise InputError(f"The curation setting {name}={getattr(self, name)!r} is out of "
                                 f"range; use a value {rule}.")  # fmt: skip
        return self

    def as_dict(self) -> dict:
        return asdict(self)
