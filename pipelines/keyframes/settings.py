"""Every setting of a keyframe job, declared once and light to import (no OpenCV, no numpy).

:data:`KNOBS` names each setting with its range and help; the tab's accordion and the CLI's
flags are built from it, and :func:`settings_from` turns their values into validated
:class:`Settings` (detector, selection and run options).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.errors import InputError

CLIP_SPEC = "metrics.clip-vit-b32"  # the shared CLIP image encoder clustering may use
FEATURES = ("auto", "colour", "clip")
IMAGE_FORMATS = ("jpg", "png", "webp")


@dataclass(frozen=True)
class Weights:
    """How much each cue counts in the frame distance (normalised to sum 1 when used)."""

    colour: float = 0.3
    edges: float = 0.3
    luma: float = 0.4


DETECTORS = ("combined", "content", "fade")


@dataclass(frozen=True)
class DetectorParams:
    """Every knob of shot detection (the tab's accordion and the CLI expose them all)."""

    detector: str = "combined"
    min_score: float = 0.3  # a cut needs at least this frame distance (0..1)
    margin: float = 0.25  # ... and this much above the local baseline
    window: int = 24  # frames of recent within-shot change forming the baseline
    lookahead: int = 3  # frames after a candidate whose change also forms the baseline
    flash_frames: int = 2  # longest disturbance that reverts and is not a cut
    flash_rise: float = 24.0  # mean-luma jump (0..255) that marks a brightness spike
    min_shot_frames: int = 12  # no two cuts closer than this
    flat_std: float = 3.0  # luma standard deviation below which a frame is plain
    black_level: float = 40.0  # plain frames darker than this are black
    white_level: float = 215.0  # plain frames brighter than this are white
    fade_frames: int = 60  # longest fade ramp looked back over
    weights: Weights = field(default_factory=Weights)

    def validate(self) -> DetectorParams:
        """Return self, or raise InputError naming the first setting out of range."""
        if self.detector not in DETECTORS:
            raise InputError(f"Unknown detector {self.detector!r}; use one of "
                             f"{', '.join(DETECTORS)}.")  # fmt: skip
        checks = (
            ("min_score", 0.0 < self.min_score <= 1.0, "between 0 and 1"),
            ("margin", 0.0 <= self.margin <= 1.0, "between 0 and 1"),
            ("window", 1 <= self.window <= 1000, "between 1 and 1000 frames"),
            ("lookahead", 0 <= self.lookahead <= 30, "between 0 and 30 frames"),
            ("flash_frames", 0 <= self.flash_frames <= 10, "between 0 and 10 frames"),
            ("flash_rise", 1.0 <= self.flash_rise <= 255.0, "between 1 and 255"),
            ("min_shot_frames", 1 <= self.min_shot_frames <= 10_000, "at least 1 frame"),
            ("flat_std", 0.0 <= self.flat_std <= 128.0, "between 0 and 128"),
            ("black_level", 0.0 <= self.black_level < self.white_level, "below white_level"),
            ("white_level", self.white_level <= 255.0, "at most 255"),
            ("fade_frames", 0 <= self.fade_frames <= 1000, "between 0 and 1000 frames"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise InputError(f"The detector setting {name}={getattr(self, name)} is out of "
                                 f"range; use a value {rule}.")  # fmt: skip
        w = self.weights
        if min(w.colour, w.edges, w.luma) < 0 or w.edges + w.luma <= 0:
            raise InputError("Cue weights must be non-negative, with edges + luma above 0.")
        return self


@dataclass(frozen=True)
class SelectParams:
    """Every knob of keyframe selection."""

    k: int = 0  # 0: one keyframe per shot; N: N keyframes across the video (k-means)
    sharpness_weight: float = 0.5  # 0: most typical frame, 1: sharpest frame
    features: str = "auto"  # clustering features: auto (CLIP when on disk), colour or clip
    dedupe_bits: int = 10  # perceptual-hash distance (of 64 bits) at or below which frames match
    min_gap: float = 1.0  # seconds between keyframes chosen by clustering
    edge_frames: int = 2  # frames next to a transition or flash never chosen
    embed_every: float = 0.5  # seconds between frames embedded for CLIP clustering
    seed: int = 0  # k-means initialisation

    def validate(self) -> SelectParams:
        checks = (
            ("k", 0 <= self.k <= 1000, "between 0 (one per shot) and 1000"),
            ("sharpness_weight", 0.0 <= self.sharpness_weight <= 1.0, "between 0 and 1"),
            ("features", self.features in FEATURES, f"one of {', '.join(FEATURES)}"),
            ("dedupe_bits", 0 <= self.dedupe_bits <= 32, "between 0 (off) and 32"),
            ("min_gap", 0.0 <= self.min_gap <= 3600.0, "between 0 and 3600 seconds"),
            ("edge_frames", 0 <= self.edge_frames <= 100, "between 0 and 100 frames"),
            ("embed_every", 0.01 <= self.embed_every <= 60.0, "between 0.01 and 60 seconds"),
        )
        for name, ok, rule in checks:
            if not ok:
                raise InputError(f"The keyframe setting {name}={getattr(self, name)!r} is out "
                                 f"of range; use {rule}.")  # fmt: skip
        return self


@dataclass(frozen=True)
class Knob:
    """One user-facing setting: where it goes, its range and what it does."""

    name: str
    group: str  # detector | weights | select | run
    label: str
    help: str
    minimum: float | None = None
    maximum: float | None = None
    step: float | None = None
    choices: tuple[str, ...] = ()

    @property
    def field(self) -> str:
        """The dataclass field this knob sets."""
        return self.name.removeprefix("weight_")

    @property
    def integer(self) -> bool:
        return isinstance(self.default, int) and not self.choices

    @property
    def default(self) -> Any:
        return getattr(_DEFAULTS[self.group], self.field)


@dataclass(frozen=True)
class RunOptions:
    analysis_side: int = 256
    image_format: str = "jpg"


_DEFAULTS: dict[str, Any] = {
    "detector": DetectorParams(), "weights": Weights(), "select": SelectParams(),
    "run": RunOptions(),
}  # fmt: skip

KNOBS: tuple[Knob, ...] = (
    Knob("detector", "detector", "Detector",
         "combined: content changes and fades; content: frame-to-frame change only; fade: "
         "fades through black or white only", choices=DETECTORS),
    Knob("min_score", "detector", "Minimum change",
         "A cut needs at least this frame distance (0 = same, 1 = unrelated).", 0.05, 1.0, 0.01),
    Knob("margin", "detector", "Margin over baseline",
         "How far above the local baseline of change a cut must rise.", 0.0, 1.0, 0.01),
    Knob("window", "detector", "Baseline window (frames)",
         "Recent within-shot frames whose change forms the adaptive baseline.", 1, 240, 1),
    Knob("lookahead", "detector", "Look-ahead (frames)",
         "Frames after a candidate whose change also forms the baseline (a camera that starts "
         "moving fast is not a cut).", 0, 30, 1),
    Knob("flash_frames", "detector", "Flash length (frames)",
         "Longest flash or glitch whose content comes back and is not a cut.", 0, 10, 1),
    Knob("flash_rise", "detector", "Flash brightness jump",
         "Rise of mean brightness (0-255) that, reverting within the flash length, is a flash.",
         1.0, 255.0, 1.0),
    Knob("min_shot_frames", "detector", "Shortest shot (frames)",
         "No two cuts closer than this.", 1, 600, 1),
    Knob("flat_std", "detector", "Plain-frame contrast",
         "Luma standard deviation below which a frame counts as plain (black, white, flat).",
         0.0, 64.0, 0.5),
    Knob("black_level", "detector", "Black level",
         "Plain frames darker than this (0-255) are black.", 0.0, 127.0, 1.0),
    Knob("white_level", "detector", "White level",
         "Plain frames brighter than this (0-255) are white.", 128.0, 255.0, 1.0),
    Knob("fade_frames", "detector", "Longest fade ramp (frames)",
         "How far back and forward a fade's ramp is followed.", 0, 300, 1),
    Knob("weight_colour", "weights", "Weight: colour",
         "Weight of the hue-histogram difference in the frame distance.", 0.0, 1.0, 0.05),
    Knob("weight_edges", "weights", "Weight: edges",
         "Weight of the edge-structure difference in the frame distance.", 0.0, 1.0, 0.05),
    Knob("weight_luma", "weights", "Weight: luma",
         "Weight of the luma-structure difference in the frame distance.", 0.0, 1.0, 0.05),
    Knob("analysis_side", "run", "Analysis size (pixels)",
         "Longer side of the downscaled frames the detectors see.", 64, 1024, 32),
    Knob("k", "select", "Keyframes across the video",
         "0: one keyframe per shot. N: N keyframes across the whole video by clustering.",
         0, 200, 1),
    Knob("sharpness_weight", "select", "Sharpness vs typicality",
         "0 picks the most typical frame, 1 the sharpest.", 0.0, 1.0, 0.05),
    Knob("features", "select", "Clustering features",
         "auto: CLIP embeddings when the CLIP checkpoint is on disk, else colour and texture.",
         choices=FEATURES),
    Knob("dedupe_bits", "select", "Near-duplicate distance (bits)",
         "Clustered keyframes whose 64-bit perceptual hashes differ in this many bits or fewer "
         "are duplicates (0 turns this off).", 0, 32, 1),
    Knob("min_gap", "select", "Minimum gap (seconds)",
         "Clustered keyframes are at least this far apart.", 0.0, 60.0, 0.1),
    Knob("edge_frames", "select", "Transition margin (frames)",
         "Frames this close to a cut, fade or flash are not chosen.", 0, 30, 1),
    Knob("embed_every", "select", "CLIP sampling (seconds)",
         "Seconds between the frames embedded when clustering on CLIP embeddings.", 0.1, 10.0,
         0.1),
    Knob("seed", "select", "Clustering seed", "Seed of the k-means initialisation.", 0, 2**31 - 1,
         1),
    Knob("image_format", "run", "Image format", "Format of the keyframe images and ZIP.",
         choices=IMAGE_FORMATS),
)  # fmt: skip


@dataclass(frozen=True)
class Settings:
    detector: DetectorParams = field(default_factory=DetectorParams)
    select: SelectParams = field(default_factory=SelectParams)
    run: RunOptions = field(default_factory=RunOptions)

    def as_dict(self) -> dict[str, Any]:
        """Every knob's value by name (the manifest's parameters)."""
        return {k.name: getattr(self._part(k.group), k.field) for k in KNOBS}

    def _part(self, group: str) -> Any:
        return self.detector.weights if group == "weights" else getattr(self, group)


def settings_from(values: Mapping[str, Any]) -> Settings:
    """Settings from knob values by name (missing ones keep their defaults), validated."""
    unknown = set(values) - {k.name for k in KNOBS}
    if unknown:
        raise InputError(f"Unknown keyframe setting(s): {', '.join(sorted(unknown))}.")
    parts: dict[str, dict[str, Any]] = {"detector": {}, "weights": {}, "select": {}, "run": {}}
    for knob in KNOBS:
        if knob.name in values and values[knob.name] is not None:
            value = values[knob.name]
            if knob.integer:
                if float(value) != int(float(value)):
                    raise InputError(f"The setting {knob.name} must be a whole number; "
                                     f"got {value}.")  # fmt: skip
                value = int(float(value))
            elif not knob.choices:
                value = float(value)
            parts[knob.group][knob.field] = value
    run = dataclasses.replace(RunOptions(), **parts["run"])
    if run.image_format not in IMAGE_FORMATS:
        raise InputError(f"Unknown image format {run.image_format!r}; use one of "
                         f"{', '.join(IMAGE_FORMATS)}.")  # fmt: skip
    weights = dataclasses.replace(Weights(), **parts["weights"])
    detector = dataclasses.replace(DetectorParams(), weights=weights, **parts["detector"])
    select = dataclasses.replace(SelectParams(), **parts["select"])
    return Settings(detector.validate(), select.validate(), run)


