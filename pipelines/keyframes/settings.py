"""Every setting of a keyframe job, declared once and light to import (no OpenCV, no numpy).

:data:`SETTINGS` (the task's :class:`~pipelines.task.Schema`) declares each setting with its
range or choices, label and help; the tab's widgets, the CLI's flags, validation, the manifest's
parameters and the benchmark's variants all come from it. Defaults live in the dataclasses the
detectors and the selection read (:class:`DetectorParams`, :class:`Weights`,
:class:`SelectParams`, :class:`RunOptions`); their ``validate`` checks every field against the
same declarations. :data:`SECTIONS` groups the settings for the tab's accordion and the CLI's
help; :func:`settings_from` turns values by name into validated :class:`Settings`.

The settings are in the order of the ``/keyframes`` API parameters (video, backend, then these);
new settings go at the end. ``Knob`` and ``KNOBS`` are the older names of :class:`Setting` and
the schema's settings.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pipelines.errors import InputError
from pipelines.task import Schema, Setting

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
    transnet_threshold: float = 0.5  # TransNetV2: single-frame probability that ends a shot

    def validate(self) -> DetectorParams:
        """Return self, or raise InputError naming the first setting out of range."""
        _check(self, "detector")
        _check(self.weights, "weights")
        if self.black_level >= self.white_level:
            raise InputError(f"The black level ({self.black_level:g}) must be below the white "
                             f"level ({self.white_level:g}); lower black_level or raise "
                             "white_level.")  # fmt: skip
        w = self.weights
        if w.edges + w.luma <= 0:
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
        """Return self, or raise InputError naming the first setting out of range."""
        _check(self, "select")
        return self


@dataclass(frozen=True)
class RunOptions:
    analysis_side: int = 256
    image_format: str = "jpg"


_DEFAULTS: dict[str, Any] = {
    "detector": DetectorParams(), "weights": Weights(), "select": SelectParams(),
    "run": RunOptions(),
}  # fmt: skip

# Where each setting goes: (group, section title, setting names). A group is the dataclass the
# setting's value lands in; weight settings are named ``weight_<field>``.
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("detector", "Shot detection",
     ("detector", "min_score", "margin", "window", "lookahead", "flash_frames", "flash_rise",
      "min_shot_frames", "flat_std", "black_level", "white_level", "fade_frames",
      "transnet_threshold")),
    ("weights", "Frame distance", ("weight_colour", "weight_edges", "weight_luma")),
    ("select", "Keyframe selection",
     ("k", "sharpness_weight", "features", "dedupe_bits", "min_gap", "edge_frames",
      "embed_every", "seed")),
    ("run", "Analysis and output", ("analysis_side", "image_format")),
)
GROUP_OF: dict[str, str] = {name: group for group, _, names in SECTIONS for name in names}


def field_of(name: str) -> str:
    """The dataclass field a setting sets (``weight_colour`` -> ``colour``)."""
    return name.removeprefix("weight_")


def backend_group(spec: Any) -> str:
    """A keyframe backend's settings group: ``classical``, or the model's short name
    (``transnetv2``)."""
    return "classical" if spec.kind == "classical" else spec.id.partition(".")[2]


# Settings only the classical detectors read (TransNetV2 finds transitions by itself; the
# plain-frame levels still serve keyframe selection and naming fades).
CLASSICAL_ONLY = ("detector", "min_score", "margin", "window", "lookahead", "flash_frames",
                  "flash_rise", "min_shot_frames", "fade_frames", "weight_colour",
                  "weight_edges", "weight_luma")


def _setting(name: str, label: str, help: str, minimum: float | None = None,
             maximum: float | None = None, step: float | None = None, *,
             choices: tuple[str, ...] = (), unit: str = "", advanced: bool = True,
             backends: tuple[str, ...] = ()) -> Setting:
    """A setting whose default is its dataclass field's default (one place for each default)."""
    default = getattr(_DEFAULTS[GROUP_OF[name]], field_of(name))
    if name in CLASSICAL_ONLY:
        backends = ("classical",)
    return Setting(name, default, label, help, minimum, maximum, step, choices, unit=unit,
                   advanced=advanced, backends=backends)


SETTINGS = Schema("keyframes", (
    _setting("detector", "Detector",
             "combined: content changes and fades; content: frame-to-frame change only; fade: "
             "fades through black or white only", choices=DETECTORS, advanced=False),
    _setting("min_score", "Minimum change",
             "A cut needs at least this frame distance (0 = same, 1 = unrelated).",
             0.01, 1.0, 0.01),
    _setting("margin", "Margin over baseline",
             "How far above the local baseline of change a cut must rise.", 0.0, 1.0, 0.01),
    _setting("window", "Baseline window (frames)",
             "Recent within-shot frames whose change forms the adaptive baseline.", 1, 1000, 1,
             unit="frames"),
    _setting("lookahead", "Look-ahead (frames)",
             "Frames after a candidate whose change also forms the baseline (a camera that "
             "starts moving fast is not a cut).", 0, 30, 1, unit="frames"),
    _setting("flash_frames", "Flash length (frames)",
             "Longest flash or glitch whose content comes back and is not a cut.", 0, 10, 1,
             unit="frames"),
    _setting("flash_rise", "Flash brightness jump",
             "Rise of mean brightness (0-255) that, reverting within the flash length, is a "
             "flash.", 1.0, 255.0, 1.0),
    _setting("min_shot_frames", "Shortest shot (frames)", "No two cuts closer than this.",
             1, 10_000, 1, unit="frames"),
    _setting("flat_std", "Plain-frame contrast",
             "Luma standard deviation below which a frame counts as plain (black, white, flat).",
             0.0, 128.0, 0.5),
    _setting("black_level", "Black level",
             "Plain frames darker than this (0-255) are black; keep it below the white level.",
             0.0, 254.0, 1.0),
    _setting("white_level", "White level",
             "Plain frames brighter than this (0-255) are white; keep it above the black level.",
             1.0, 255.0, 1.0),
    _setting("fade_frames", "Longest fade ramp (frames)",
             "How far back and forward a fade's ramp is followed.", 0, 1000, 1, unit="frames"),
    _setting("weight_colour", "Weight: colour",
             "Weight of the hue-histogram difference in the frame distance (weights are "
             "normalised to sum 1).", 0.0, 1.0, 0.05),
    _setting("weight_edges", "Weight: edges",
             "Weight of the edge-structure difference in the frame distance.", 0.0, 1.0, 0.05),
    _setting("weight_luma", "Weight: luma",
             "Weight of the luma-structure difference in the frame distance.", 0.0, 1.0, 0.05),
    _setting("analysis_side", "Analysis size (pixels)",
             "Longer side of the downscaled frames the detectors see.", 32, 1024, 32, unit="px"),
    _setting("k", "Keyframes across the video",
             "0: one keyframe per shot. N: N keyframes across the whole video by clustering.",
             0, 1000, 1, advanced=False),
    _setting("sharpness_weight", "Sharpness vs typicality",
             "0 picks the most typical frame, 1 the sharpest.", 0.0, 1.0, 0.05),
    _setting("features", "Clustering features",
             "auto: CLIP embeddings when the CLIP checkpoint is on disk, else colour and texture.",
             choices=FEATURES),
    _setting("dedupe_bits", "Near-duplicate distance (bits)",
             "Clustered keyframes whose 64-bit perceptual hashes differ in this many bits or "
             "fewer are duplicates (0 turns this off).", 0, 32, 1, unit="bits"),
    _setting("min_gap", "Minimum gap (seconds)",
             "Clustered keyframes are at least this far apart.", 0.0, 3600.0, 0.1, unit="s"),
    _setting("edge_frames", "Transition margin (frames)",
             "Frames this close to a cut, fade or flash are not chosen.", 0, 100, 1,
             unit="frames"),
    _setting("embed_every", "CLIP sampling (seconds)",
             "Seconds between the frames embedded when clustering on CLIP embeddings.",
             0.01, 60.0, 0.01, unit="s"),
    _setting("seed", "Clustering seed", "Seed of the k-means initialisation.", 0, 2**31 - 1, 1),
    _setting("image_format", "Image format", "Format of the keyframe images and ZIP.",
             choices=IMAGE_FORMATS),
    _setting("transnet_threshold", "Transition threshold (TransNetV2)",
             "A frame whose single-frame transition probability exceeds this ends a shot "
             "(0.5 is TransNetV2's own default; lower finds subtler transitions).",
             0.01, 0.99, 0.01, backends=("transnetv2",)),
))  # fmt: skip

# The older names: a knob is a setting; KNOBS are the schema's settings in order.
Knob = Setting
KNOBS: tuple[Setting, ...] = tuple(SETTINGS)


def _check(params: Any, group: str) -> None:
    """Check every field of ``params`` (one of the dataclasses above) against its setting."""
    for name in (n for _, _, names in SECTIONS for n in names if GROUP_OF[n] == group):
        SETTINGS[name].check(getattr(params, field_of(name)))


@dataclass(frozen=True)
class Settings:
    detector: DetectorParams = field(default_factory=DetectorParams)
    select: SelectParams = field(default_factory=SelectParams)
    run: RunOptions = field(default_factory=RunOptions)

    def as_dict(self) -> dict[str, Any]:
        """Every setting's value by name, in schema order (the manifest's parameters)."""
        return {name: getattr(self._part(GROUP_OF[name]), field_of(name))
                for name in SETTINGS.names}

    def _part(self, group: str) -> Any:
        return self.detector.weights if group == "weights" else getattr(self, group)


def settings_of(values: Mapping[str, Any]) -> Settings:
    """Settings from values the schema has checked (every setting present), cross-checked."""
    parts: dict[str, dict[str, Any]] = {"detector": {}, "weights": {}, "select": {}, "run": {}}
    for name in SETTINGS.names:
        parts[GROUP_OF[name]][field_of(name)] = values[name]
    weights = Weights(**parts["weights"])
    detector = DetectorParams(weights=weights, **parts["detector"])
    return Settings(detector.validate(), SelectParams(**parts["select"]).validate(),
                    RunOptions(**parts["run"]))


def settings_from(values: Mapping[str, Any]) -> Settings:
    """Settings from values by name (missing or None ones keep their defaults), validated."""
    unknown = set(values) - set(SETTINGS.names)
    if unknown:
        raise InputError(f"Unknown keyframe setting(s): {', '.join(sorted(unknown))}. "
                         f"Settings: {', '.join(SETTINGS.names)}.")
    return settings_of(SETTINGS.validate(values))
