"""What the benchmark knows about each task: inputs, examples, requests, metrics.

An :class:`Adapter` turns one :class:`~pipelines.benchmark.results.BenchInput` (plus the seed and
the task's small fixed settings) into the request its backends take, calls a runner, reports how
much work the call did (frames or megapixels), saves the output for the gallery and scores it.
Backends are registry specs; a task whose only classical backend has settings worth comparing
also offers *variants*, named ``<spec id>:<variant>`` (for example ``style.classical:painting``).

Task modules are imported inside the methods, so importing this module stays light.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from pipelines.benchmark.quality import (
    VIDEO_METRICS,
    Networks,
    Quality,
    clip_similarity,
    evenly,
    lpips_distance,
    luma_ssim,
    safely,
    shrink,
    video_quality,
)
from pipelines.benchmark.results import BenchInput
from pipelines.errors import InputError
from pipelines.media import media_kind
from pipelines.registry import PipelineSpec, Registry
from pipelines.task import Task, load_object

ASSETS = Path(__file__).resolve().parents[2] / "assets"
FRAMES, MEGAPIXELS = "frames/s", "MP/s"

Settings = dict[str, Any]  # setting -> value
Variants = dict[str, dict[str, dict[str, Any]]]  # spec id -> variant -> setting overrides
Metrics = dict[str, tuple[str, ...]]  # input kind -> quality metric columns


def _typed(setting: Any, text: str) -> Any:
    """A command-line word as the setting's type (choices keep the type of their values)."""
    if setting.kind == "choice":
        return type(setting.choices[0])(text)
    return text


kind_of = media_kind  # the benchmark's name for it


def unique_names(names: Sequence[str]) -> list[str]:
    """``names`` with repeats numbered (``a``, ``a-2``, ...)."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}-{seen[name]}")
    return out


@dataclass(frozen=True)
class Choice:
    """One backend column of the benchmark: a spec, optionally with a named settings variant."""

    name: str
    spec: PipelineSpec
    variant: str = ""
    overrides: dict[str, Any] = field(default_factory=dict, hash=False)


@dataclass
class Prepared:
    """A request ready for the runner, plus what scoring its output needs."""

    request: Any
    data: dict[str, Any] = field(default_factory=dict)


class Adapter(ABC):
    """How the benchmark drives one task."""

    task: str
    kinds: tuple[str, ...]  # input kinds a benchmark input can be (its main file)
    settings: ClassVar[Settings]  # the small fixed settings every row of this task uses
    variants: ClassVar[Variants] = {}  # spec -> variant -> overrides
    metrics: ClassVar[Metrics]  # input kind -> quality metric columns
    series: tuple[str, ...] = ()  # per-frame series names (line plots)
    fvd_reference: str = ""  # what FVD compares against ("" when the task has none)
    accepts = "images"  # for messages: what uploads this task takes

    # -- backends ------------------------------------------------------------------------------
    def choices(self, registry: Registry) -> list[tuple[str, str]]:
        """(label, name) of every backend and variant, the classical default first."""
        items = []
        for spec in registry.by_task(self.task):
            items.append((f"{spec.label} ({spec.kind})", spec.id))
            for variant in self.variants.get(spec.id, {}):
                items.append((f"{spec.label}: {variant} ({spec.kind})", f"{spec.id}:{variant}"))
        return items

    def resolve(self, registry: Registry, name: str) -> Choice:
        """A backend as named: ``classical``, ``style.adain``, ``classical:painting``, ..."""
        base, _, variant = name.strip().partition(":")
        spec = registry.resolve(self.task, base)
        if not variant:
            return Choice(spec.id, spec)
        known = self.variants.get(spec.id, {})
        if variant in known:
            return Choice(f"{spec.id}:{variant}", spec, variant, dict(known[variant]))
        if "=" in variant and getattr(self, "declared", None) is not None:
            return Choice(f"{spec.id}:{variant}", spec, variant, self.overrides(spec, variant))
        offered = ", ".join(f"{spec.id}:{v}" for v in known) or "none"
        raise InputError(f"'{spec.id}' has no benchmark variant '{variant}'. Variants: "
                         f"{offered}; or give settings as {spec.id}:name=value[,name=value].")

    def overrides(self, spec: PipelineSpec, text: str) -> dict[str, Any]:
        """``name=value[,name=value]`` checked against the task's settings schema."""
        schema = self.declared.settings
        pairs = dict(part.split("=", 1) for part in text.split(",") if "=" in part)
        unknown = sorted(set(pairs) - set(schema.names))
        if unknown:
            raise InputError(f"Unknown {self.task} setting(s) {', '.join(unknown)} in "
                             f"'{text}'. Settings: {', '.join(schema.names)}.")
        return {k: schema[k].check(_typed(schema[k], v)) for k, v in pairs.items()}

    # -- inputs --------------------------------------------------------------------------------
    @abstractmethod
    def examples(self) -> list[BenchInput]:
        """The task's example inputs (from assets/)."""

    def inputs_from(self, paths: Sequence[str | Path]) -> list[BenchInput]:
        """Benchmark inputs from uploaded or named files."""
        items = []
        for path in map(Path, paths):
            kind = kind_of(path)
            if kind not in self.kinds:
                raise InputError(f"'{path.name}' cannot be a {self.task} benchmark input; this "
                                 f"task takes {self.accepts}.")
            items.append((path, kind))
        names = unique_names([p.stem for p, _ in items])
        return [BenchInput(n, k, p, self.extras()) for n, (p, k) in zip(names, items, strict=True)]

    def select_inputs(self, example_names: Sequence[str] = (),
                      paths: Sequence[str | Path] = ()) -> list[BenchInput]:
        """The ticked examples plus inputs from ``paths``, every name unique."""
        examples = self.examples()
        unknown = set(example_names) - {e.name for e in examples}
        if unknown:
            raise InputError(f"Unknown {self.task} example(s): {', '.join(sorted(unknown))}. "
                             f"Examples: {', '.join(e.name for e in examples)}.")
        items = [e for e in examples if e.name in example_names]
        items += self.inputs_from(paths) if paths else []
        if not items:
            raise InputError(f"Pick an example or upload {self.accepts} to benchmark.")
        names = unique_names([i.name for i in items])
        return [replace(i, name=n) for i, n in zip(items, names, strict=True)]

    def extras(self) -> dict[str, Path]:
        """Extra files every uploaded input is paired with (a style image, an audio file)."""
        return {}

    def metric_columns(self, kinds: Sequence[str]) -> list[str]:
        columns: list[str] = []
        for kind in kinds:
            columns += [m for m in self.metrics.get(kind, ()) if m not in columns]
        return columns

    # -- one row -------------------------------------------------------------------------------
    @abstractmethod
    def prepare(self, choice: Choice, item: BenchInput, seed: int, folder: Path) -> Prepared:
        """The request for one row (input checks happen here, before any timing)."""

    def call(self, runner: Any, request: Any) -> Any:
        """The timed part: the runner call, and reading out any frames it renders lazily."""
        return runner(request)

    @abstractmethod
    def amount(self, output: Any, prepared: Prepared) -> tuple[float, str]:
        """How much work the call did, and its rate unit (frames/s or MP/s)."""

    @abstractmethod
    def save(self, output: Any, prepared: Prepared, folder: Path) -> dict[str, Path]:
        """Write the output for the gallery; returns label -> file."""

    @abstractmethod
    def quality(self, output: Any, prepared: Prepared, item: BenchInput,
                nets: Networks) -> Quality:
        """Score the output."""


def _video_frames(path: Path, end: int | None = None) -> Iterator[np.ndarray]:
    from pipelines.media import iter_frames

    return (frame for _, frame in iter_frames(path, end=end))


def _resized(frames: Iterator[np.ndarray], size: tuple[int, int]) -> Iterator[np.ndarray]:
    import cv2

    for frame in frames:
        if frame.shape[1::-1] != size:
            frame = cv2.resize(frame, size, interpolation=cv2.INTER_AREA)
        yield frame


# --------------------------------------------------------------------------------------------
# Super-resolution


class SuperResAdapter(Adapter):
    """Self-check: each input is downscaled by the scale, upscaled back by the backend and
    compared with the original (PSNR, SSIM, LPIPS); videos also get temporal metrics and FVD
    against the original frames."""

    task = "super_res"
    kinds = ("image", "video")
    accepts = "images or videos"
    settings: ClassVar[Settings] = {"scale": 2.0, "tile": 0, "video_frames": 24}
    metrics: ClassVar[Metrics] = {"image": ("psnr", "ssim", "lpips"),
                                  "video": ("psnr", "ssim", "lpips", *VIDEO_METRICS, "fvd")}
    series = ("psnr", "ssim", *VIDEO_METRICS)
    fvd_reference = "the original (not downscaled) frames"

    def examples(self) -> list[BenchInput]:
        folder = ASSETS / "super_res"
        return [BenchInput("astronaut_256", "image", folder / "astronaut_256.png"),
                BenchInput("coffee_160", "image", folder / "coffee_160.jpg"),
                BenchInput("pan_160x120", "video", folder / "pan_160x120.mp4")]

    def values(self, choice: Choice) -> Settings:
        """The task's settings for this row: the fixed ones, then the variant's overrides, all
        checked against the task's schema (``super_res.classical:scale=4`` works)."""
        from pipelines.super_res import TASK

        fixed = {k: v for k, v in self.settings.items() if k in TASK.settings}
        return TASK.settings.validate({**fixed, **choice.overrides}, choice.spec.id,
                                      TASK.group_of(choice.spec))

    def prepare(self, choice: Choice, item: BenchInput, seed: int, folder: Path) -> Prepared:
        from pipelines.media import load_image, probe_video, read_frames
        from pipelines.super_res.types import MIN_SIDE, UpscaleRequest, check_request, resample

        values = self.values(choice)
        scale, fps = float(values["scale"]), None
        if item.kind == "video":
            fps = probe_video(item.source).fps
            originals = read_frames(item.source, end=int(self.settings["video_frames"]))
        else:
            originals = [load_image(item.source).rgb]
        height, width = originals[0].shape[:2]
        small = (max(MIN_SIDE, round(width / scale)), max(MIN_SIDE, round(height / scale)))
        lows = [resample(frame, small) for frame in originals]
        request = UpscaleRequest(lows, scale, int(values["tile"]))
        check_request(request)  # the runner's own checks, before any timing
        return Prepared(request, {"originals": originals, "fps": fps})

    def amount(self, output: Any, prepared: Prepared) -> tuple[float, str]:
        if prepared.data["fps"] is not None:
            return float(len(output.frames)), FRAMES
        return sum(f.shape[0] * f.shape[1] for f in output.frames) / 1e6, MEGAPIXELS

    def save(self, output: Any, prepared: Prepared, folder: Path) -> dict[str, Path]:
        from pipelines.media import save_image, write_video

        if prepared.data["fps"] is not None:
            return {"video": write_video(folder / "upscaled.mp4", output.frames,
                                         prepared.data["fps"])}
        return {"image": save_image(folder / "upscaled.png", output.frames[0])}

    def quality(self, output: Any, prepared: Prepared, item: BenchInput,
                nets: Networks) -> Quality:
        from metrics.image import psnr, ssim

        pairs = []
        for result, original in zip(output.frames, prepared.data["originals"], strict=True):
            height = min(result.shape[0], original.shape[0])
            width = min(result.shape[1], original.shape[1])
            pairs.append((result[:height, :width], original[:height, :width]))
        psnrs = [psnr(a, b) for a, b in pairs]
        ssims = [ssim(a, b) for a, b in pairs]
        quality = Quality({"psnr": float(np.mean(psnrs)), "ssim": float(np.mean(ssims))})
        quality.merge(safely("lpips", lambda: lpips_distance(
            [pairs[i] for i in evenly(len(pairs), 8)], nets)))
        if item.kind == "video":
            quality.series.update(psnr=psnrs, ssim=ssims)
            quality.merge(safely("video metrics", lambda: video_quality(output.frames, nets)))
            quality.reference = np.stack([shrink(f) for _, f in pairs])
        return quality


# --------------------------------------------------------------------------------------------
# Keyframes


class KeyframesAdapter(Adapter):
    """Shots and keyframes found; boundary F1 (±2 frames) where the cuts are known."""

    task = "keyframes"
    kinds = ("video",)
    accepts = "videos"
    settings: ClassVar[Settings] = {"analysis_side": 256, "features": "colour",
                                    "tolerance_frames": 2}
    variants: ClassVar[Variants] = {"keyframes.classical": {"content": {"detector": "content"},
                                                            "fade": {"detector": "fade"}}}
    metrics: ClassVar[Metrics] = {"video": ("shots", "keyframes", "f1", "precision", "recall")}
    truth_file = ASSETS / "benchmark" / "keyframes_example_truth.json"

    def examples(self) -> list[BenchInput]:
        import json

        truth = json.loads(self.truth_file.read_text(encoding="utf-8"))
        bounds = tuple(tuple(b) for b in truth["boundaries"])
        return [BenchInput("example", "video", ASSETS / truth["video"], truth=bounds)]

    def prepare(self, choice: Choice, item: BenchInput, seed: int, folder: Path) -> Prepared:
        """The task's own ``prepare`` (video probe, settings validation) with the benchmark's
        fixed settings, the row's seed and the variant's overrides."""
        from pipelines.keyframes import TASK

        spec = choice.spec
        fixed = {k: v for k, v in self.settings.items() if k in TASK.settings}
        values = TASK.settings.validate({**fixed, "seed": seed, **choice.overrides}, spec.id,
                                        TASK.group_of(spec))
        plan = TASK.prepare_fn()({"video": item.source}, values, seed, spec)
        return Prepared(plan.request)

    def amount(self, output: Any, prepared: Prepared) -> tuple[float, str]:
        return float(output.frame_count), FRAMES

    def save(self, output: Any, prepared: Prepared, folder: Path) -> dict[str, Path]:
        from pipelines.keyframes.outputs import write_outputs

        written = write_outputs(folder, output, {"detector": prepared.request.detector.detector})
        saved = {"contact_sheet": written.contact_sheet, "shots_json": written.shots_json}
        return {label: path for label, path in saved.items() if path is not None}

    def quality(self, output: Any, prepared: Prepared, item: BenchInput,
                nets: Networks) -> Quality:
        from pipelines.keyframes.evaluate import score_boundaries

        quality = Quality({"shots": float(len(output.shots)),
                           "keyframes": float(len(output.keyframes)),
                           "f1": None, "precision": None, "recall": None})
        if item.truth is not None:
            score = score_boundaries([c.frame for c in output.cuts], item.truth,
                                     int(self.settings["tolerance_frames"]))
            quality.metrics.update(f1=score.f1, precision=score.precision, recall=score.recall)
        return quality


# --------------------------------------------------------------------------------------------
# Portrait animation


class PortraitAdapter(Adapter):
    """A picture animated into a short clip; temporal metrics and CLIP consistency (there is no
    reference video for image-to-video, so no FVD)."""

    task = "portrait"
    kinds = ("image",)
    settings: ClassVar[Settings] = {"frames": 24, "fps": 12.0, "max_side": 256,
                                    "model_frames_max": 25, "model_side": 512}
    variants: ClassVar[Variants] = {"portrait.classical": {"pan": {"camera": "pan"},
                                                           "still": {"camera": "none"}}}
    metrics: ClassVar[Metrics] = {"image": VIDEO_METRICS}
    series = VIDEO_METRICS

    def examples(self) -> list[BenchInput]:
        folder = ASSETS / "portrait"
        return [BenchInput(n, "image", folder / f"{n}.jpg") for n in ("astronaut", "coffee")]

    def choices(self, registry: Registry) -> list[tuple[str, str]]:
        """Backends that animate a picture (those that need a driving video are left out)."""
        driven = {s.id for s in registry.by_task(self.task)
                  if self.declared.group_of(s) == "driven"}
        return [item for item in super().choices(registry) if item[1] not in driven]

    def prepare(self, choice: Choice, item: BenchInput, seed: int, folder: Path) -> Prepared:
        """The task's own prepare, with the benchmark's small sizes (models: their default frame
        count and rate, at most ``model_frames_max`` frames)."""
        task, spec = self.declared, choice.spec
        group = task.group_of(spec)
        values: dict[str, Any] = {"max_side": self.settings["max_side"],
                                  "side": self.settings["model_side"]}
        if spec.kind == "classical":
            values.update(frames=self.settings["frames"], fps=self.settings["fps"])
        else:
            frames = task.settings["frames"].default_for(spec.id, group)
            values["frames"] = min(int(frames), int(self.settings["model_frames_max"]))
        values.update(choice.overrides)
        checked = task.settings.validate(values, spec.id, group)
        return Prepared(task.prepare_fn()({"image": item.source}, checked, seed, spec))

    def call(self, runner: Any, request: Any) -> Any:
        result = runner(request)
        return list(result.frames), result.fps  # the classical backend renders as frames are read

    def amount(self, output: Any, prepared: Prepared) -> tuple[float, str]:
        return float(len(output[0])), FRAMES

    def save(self, output: Any, prepared: Prepared, folder: Path) -> dict[str, Path]:
        from pipelines.media import write_video

        return {"video": write_video(folder / "portrait.mp4", output[0], output[1])}

    def quality(self, output: Any, prepared: Prepared, item: BenchInput,
                nets: Networks) -> Quality:
        return safely("video metrics", lambda: video_quality(output[0], nets))


# --------------------------------------------------------------------------------------------
# Talking heads


class TalkingHeadAdapter(Adapter):
    """A face speaks the first seconds of an audio file; temporal metrics and CLIP consistency,
    and FVD against the face video when the face is a video."""

    task = "talking_head"
    kinds = ("image", "video")
    accepts = "face images or videos, and audio files to speak"
    settings: ClassVar[Settings] = {"audio_seconds": 3.0, "max_side": 256, "batch_size": 16}
    variants: ClassVar[Variants] = {
        "talking_head.classical": {"still": {"head_motion": 0.0, "blinks": False}}}
    metrics: ClassVar[Metrics] = {"image": VIDEO_METRICS, "video": (*VIDEO_METRICS, "fvd")}
    series = VIDEO_METRICS
    fvd_reference = "the face video itself"
    speech = ASSETS / "talking_head" / "speech.wav"

    def examples(self) -> list[BenchInput]:
        face = ASSETS / "talking_head" / "astronaut.jpg"
        return [BenchInput("astronaut", "image", face, {"audio": self.speech})]

    def inputs_from(self, paths: Sequence[str | Path]) -> list[BenchInput]:
        """Every face with every uploaded audio file (the example speech when there is none)."""
        audio = [Path(p) for p in paths if kind_of(Path(p)) == "audio"]
        faces = [Path(p) for p in paths if kind_of(Path(p)) != "audio"]
        if not faces and audio:
            raise InputError("Upload a face image or video to go with the audio.")
        pairs = [(face, kind, voice) for face, kind in
                 ((b.source, b.kind) for b in super().inputs_from(faces))
                 for voice in (audio or [self.speech])]  # fmt: skip
        names = unique_names([f.stem if not audio else f"{f.stem}+{v.stem}" for f, _, v in pairs])
        return [BenchInput(n, k, f, {"audio": v})
                for n, (f, k, v) in zip(names, pairs, strict=True)]

    def prepare(self, choice: Choice, item: BenchInput, seed: int, folder: Path) -> Prepared:
        """The first seconds of the audio, then the task's own ``prepare`` (its input checks
        and settings validation); the video is written in the row's folder."""
        from pipelines.media import read_audio, write_wav
        from pipelines.talking_head import TASK
        from pipelines.talking_head.job import VIDEO_NAME

        rate = 16000
        samples = read_audio(item.extra["audio"], rate)
        audio = write_wav(folder / "audio.wav",
                          samples[:int(float(self.settings["audio_seconds"]) * rate)], rate)
        spec = choice.spec
        given = {"max_side": self.settings["max_side"],
                 "batch_size": self.settings["batch_size"], **choice.overrides}
        values = TASK.settings.validate(given, spec.id, TASK.group_of(spec))
        plan = TASK.prepare_fn()({"face": item.source, "audio": audio}, values, seed, spec)
        return Prepared(replace(plan.request, output=folder / VIDEO_NAME))

    def amount(self, output: Any, prepared: Prepared) -> tuple[float, str]:
        return float(output.frames), FRAMES

    def save(self, output: Any, prepared: Prepared, folder: Path) -> dict[str, Path]:
        return {"video": output.video}

    def quality(self, output: Any, prepared: Prepared, item: BenchInput,
                nets: Networks) -> Quality:
        def measure() -> Quality:
            quality = video_quality(_video_frames(output.video), nets, count=output.frames)
            if item.kind == "video":
                from pipelines.benchmark.quality import Keeper

                keeper = Keeper(_video_frames(item.source, end=output.frames), output.frames)
                for _ in keeper:
                    pass
                quality.reference = keeper.clip()
            return quality

        return safely("video metrics", measure)


# --------------------------------------------------------------------------------------------
# Style transfer


class StyleAdapter(Adapter):
    """Each content image or video in the example style: content SSIM (structure kept) and CLIP
    similarity to the style image; videos also get temporal metrics (flow from the content
    video) and FVD against the content video."""

    task = "style"
    kinds = ("image", "video")
    accepts = "content images or videos (styled with the example style image)"
    settings: ClassVar[Settings] = {"style": "style/style_rocket.jpg", "max_side": 256,
                                    "strength": 0.8, "consistent": True, "blend": 0.7}
    variants: ClassVar[Variants] = {"style.classical": {
        m: {"method": m} for m in ("histogram", "painting", "cartoon", "pencil")}}
    metrics: ClassVar[Metrics] = {"image": ("content_ssim", "clip_style"),
                                  "video": ("content_ssim", "clip_style", *VIDEO_METRICS, "fvd")}
    series = VIDEO_METRICS
    fvd_reference = "the content video"

    def extras(self) -> dict[str, Path]:
        return {"style": ASSETS / str(self.settings["style"])}

    def examples(self) -> list[BenchInput]:
        folder = ASSETS / "style"
        return [BenchInput("content_cat", "image", folder / "content_cat.jpg", self.extras()),
                BenchInput("pan_cut", "video", folder / "pan_cut.mp4", self.extras())]

    def prepare(self, choice: Choice, item: BenchInput, seed: int, folder: Path) -> Prepared:
        """The task's own ``prepare`` (input checks, settings validation) with the benchmark's
        fixed settings and the variant's overrides; the result is written in the row's folder."""
        from pipelines.style import TASK
        from pipelines.style.job import output_name

        spec = choice.spec
        given = {name: self.settings[name]
                 for name in ("strength", "consistent", "blend", "max_side")}
        values = TASK.settings.validate({**given, "measure": False, **choice.overrides},
                                        spec.id, TASK.group_of(spec))
        inputs = {"content": item.source, "style": item.extra["style"]}
        request, fmt = TASK.prepare_fn()(inputs, values, seed, spec)
        return Prepared(replace(request, output=folder / output_name(request, fmt)))

    def amount(self, output: Any, prepared: Prepared) -> tuple[float, str]:
        if output.is_video:
            return float(output.frames), FRAMES
        return output.width * output.height / 1e6, MEGAPIXELS

    def save(self, output: Any, prepared: Prepared, folder: Path) -> dict[str, Path]:
        return {"video" if output.is_video else "image": Path(output.output)}

    def quality(self, output: Any, prepared: Prepared, item: BenchInput,
                nets: Networks) -> Quality:
        from pipelines.media import load_image

        style = load_image(item.extra["style"]).rgb
        if not output.is_video:
            result = load_image(output.output).rgb
            quality = Quality({"content_ssim": luma_ssim(result, load_image(item.source).rgb)})
            return quality.merge(safely("clip_style", lambda: clip_similarity(
                [result], style, nets, "clip_style")))

        def measure() -> Quality:
            size = (output.width, output.height)
            guides = _resized(_video_frames(item.source), size)
            return video_quality(_video_frames(Path(output.output)), nets, guides=guides,
                                 count=output.frames, cuts=output.cuts)

        quality = safely("video metrics", measure)
        if quality.clip is not None and quality.reference is not None:
            pairs = zip(quality.clip, quality.reference, strict=False)
            quality.metrics["content_ssim"] = float(np.mean([luma_ssim(a, b) for a, b in pairs]))
            picks = [quality.clip[i] for i in evenly(len(quality.clip), 16)]
            quality.merge(safely("clip_style", lambda: clip_similarity(
                picks, style, nets, "clip_style")))
        return quality


# --------------------------------------------------------------------------------------------
# Any task without an adapter of its own


class TaskAdapter(Adapter):
    """A task that declares no adapter is benchmarked from its declaration: its examples, its
    ``prepare`` and its runners; speed and memory only (no quality metrics)."""

    settings: ClassVar[Settings] = {}
    metrics: ClassVar[Metrics] = {}

    def __init__(self, task: Task):
        self.declared = task
        self.task = task.id
        main = next((i for i in task.inputs if not i.optional), None)
        kinds = {"media": ("image", "video")}.get(main.kind, (main.kind,)) if main else ()
        self.kinds = kinds
        self.main = main.name if main else ""
        self.accepts = " or ".join(f"{k}s" for k in kinds) or "files"

    def examples(self) -> list[BenchInput]:
        paths = [ASSETS / p for p in self.declared.examples]
        return [BenchInput(p.stem, kind_of(p) or "", p) for p in paths if p.is_file()]

    def prepare(self, choice: Choice, item: BenchInput, seed: int, folder: Path) -> Prepared:
        task, spec = self.declared, choice.spec
        values = task.settings.validate(choice.overrides, spec.id, task.group_of(spec))
        return Prepared(task.prepare_fn()({self.main: item.source}, values, seed, spec))

    def call(self, runner: Any, request: Any) -> Any:
        result = runner(request)
        frames = getattr(result, "frames", None)
        if frames is not None:
            result.frames = list(frames)  # frames rendered lazily are rendered inside the timing
        return result

    def amount(self, output: Any, prepared: Prepared) -> tuple[float, str]:
        frames = getattr(output, "frames", None)
        return (float(len(frames)), FRAMES) if frames is not None else (1.0, "jobs/s")

    def save(self, output: Any, prepared: Prepared, folder: Path) -> dict[str, Path]:
        from pipelines.media import save_image, write_video

        frames = getattr(output, "frames", None)
        if not frames:
            return {}
        if len(frames) == 1:
            return {"image": save_image(folder / "output.png", frames[0])}
        return {"video": write_video(folder / "output.mp4", frames, float(output.fps))}

    def quality(self, output: Any, prepared: Prepared, item: BenchInput,
                nets: Networks) -> Quality:
        return Quality({})


def make_adapter(task: Task) -> Adapter:
    """The task's own adapter (``Task.adapter``) or a :class:`TaskAdapter`."""
    if not task.adapter:
        return TaskAdapter(task)
    made = load_object(task.adapter)() if isinstance(task.adapter, str) else task.adapter()
    made.declared = task
    return made


def adapters(tasks: Sequence[Task] | None = None) -> dict[str, Adapter]:
    """Task id -> adapter, for every task of ``tasks`` (default: the studio's task list)."""
    from pipelines.tasks import TASKS

    return {task.id: make_adapter(task) for task in (TASKS if tasks is None else tasks)}


ADAPTERS: dict[str, Adapter] = adapters()


def adapter_for(task: str | Task) -> Adapter:
    """The adapter of a task given by id (a task of the studio's list) or as a declaration."""
    if isinstance(task, Task):
        known = ADAPTERS.get(task.id)
        return known if getattr(known, "declared", None) is task else make_adapter(task)
    try:
        return ADAPTERS[task]
    except KeyError:
        raise InputError(f"The benchmark has no task '{task}'; pick one of "
                         f"{', '.join(ADAPTERS)}.") from None
