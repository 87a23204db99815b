"""Procedural test videos with known shot boundaries, for the keyframe tests and benchmark.

A :class:`Timeline` is a list of shots, each a view of a textured scene (scikit-image's bundled
photos, tinted and flipped for variety) with camera motion, moving objects, sensor noise and
optional one- or two-frame flashes, joined by hard cuts or fades through black or white.
:func:`write_timeline` renders it frame by frame straight into an H.264 MP4 (never the whole
video in memory) and the timeline knows its ground truth: every boundary (the first frame of the
new shot; for a fade, the middle of the transition) and every flash frame.

``python -m tests.keyframes_fixtures`` regenerates the tab's example video in assets/keyframes/.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from fractions import Fraction
from functools import cache
from pathlib import Path

import av
import cv2
import numpy as np

from pipelines.media import write_video

MOTIONS = ("pan", "zoom", "shake", "static", "objects", "fast")
VERSION = 2  # bump when rendering changes, so cached benchmark videos are made anew


@dataclass(frozen=True)
class Shot:
    """One continuous camera take."""

    scene: int  # which background (any int; photos repeat, framed differently)
    frames: int
    motion: str = "pan"
    flashes: tuple[tuple[int, int], ...] = ()  # (offset in the shot, 1 or 2 frames)
    drift: float = 0.0  # gradual exposure change over the shot (-0.3 darkens by 30 %)


@dataclass(frozen=True)
class Transition:
    """How a shot hands over to the next: a hard cut, or a fade through black or white."""

    kind: str = "cut"  # cut | black | white
    out: int = 0  # frames fading out (the end of the previous shot)
    hold: int = 0  # frames of plain black or white
    into: int = 0  # frames fading in (the start of the next shot)


@dataclass(frozen=True)
class Boundary:
    frame: int  # first frame of the new shot; for a fade, the middle of the hold
    kind: str  # cut | black | white
    start: int  # first frame of the transition (== frame for a cut)
    end: int  # last frame of the transition (== frame for a cut)


@dataclass
class Timeline:
    shots: list[Shot]
    transitions: list[Transition]  # len(shots) - 1
    seed: int = 0
    boundaries: list[Boundary] = field(init=False)
    flash_frames: list[int] = field(init=False)
    frame_count: int = field(init=False)

    def __post_init__(self) -> None:
        if len(self.transitions) != len(self.shots) - 1:
            raise ValueError("a timeline needs one transition between each pair of shots")
        self.boundaries, self.flash_frames = [], []
        position = 0
        for i, shot in enumerate(self.shots):
            self.flash_frames += [position + off + k for off, n in shot.flashes for k in range(n)]
            position += shot.frames
            if i < len(self.transitions):
                t = self.transitions[i]
                if t.kind == "cut":
                    self.boundaries.append(Boundary(position, "cut", position, position))
                else:
                    middle = position + t.hold // 2
                    self.boundaries.append(
                        Boundary(middle, t.kind, position - t.out, position + t.hold + t.into - 1)
                    )
                position += t.hold
        self.frame_count = position

    @property
    def cut_frames(self) -> list[int]:
        return [b.frame for b in self.boundaries]


# --------------------------------------------------------------------------------------------
# Scenes


def _photos() -> list[np.ndarray]:
    """scikit-image's bundled photos (no download), as RGB uint8, grey ones tinted."""
    from skimage import data

    colour = [data.astronaut(), data.coffee(), data.chelsea(), data.rocket(),
              data.hubble_deep_field(), data.immunohistochemistry(), data.retina(),
              data.colorwheel(), data.stereo_motorcycle()[0]]  # fmt: skip
    grey = [data.camera(), data.coins(), data.moon(), data.brick(), data.grass(),
            data.gravel(), data.cell(), data.clock()]  # fmt: skip
    maps = (cv2.COLORMAP_OCEAN, cv2.COLORMAP_AUTUMN, cv2.COLORMAP_PINK, cv2.COLORMAP_SUMMER,
            cv2.COLORMAP_BONE, cv2.COLORMAP_WINTER, cv2.COLORMAP_SPRING, cv2.COLORMAP_HOT)
    tinted = [cv2.cvtColor(cv2.applyColorMap(g, m), cv2.COLOR_BGR2RGB)
              for g, m in zip(grey, maps, strict=True)]  # fmt: skip
    return [np.ascontiguousarray(p[..., :3]) for p in colour + tinted]


@cache
def _background(scene: int, width: int, height: int) -> np.ndarray:
    """A scene's canvas, 1.6 times the frame size, flipped/hue-shifted by the scene number."""
    photos = _photos()
    photo = photos[scene % len(photos)]
    variant = scene // len(photos)
    if variant % 2:
        photo = photo[:, ::-1]
    if variant:
        hsv = cv2.cvtColor(photo, cv2.COLOR_RGB2HSV)
        hsv[..., 0] = (hsv[..., 0].astype(np.int32) + 37 * variant) % 180
        photo = cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)
    size = (round(width * 1.6), round(height * 1.6))
    return np.ascontiguousarray(cv2.resize(photo, size, interpolation=cv2.INTER_CUBIC))


class _ShotRenderer:
    """Frames of one shot: an affine view of the canvas, moving objects, noise, exposure."""

    def __init__(self, shot: Shot, width: int, height: int, rng: np.random.Generator):
        self.shot, self.width, self.height = shot, width, height
        self.canvas = _background(shot.scene, width, height)
        unit = width / 320  # motion is specified for a 320-pixel-wide frame
        speed = {"pan": 2.0, "fast": 14.0, "zoom": 0.0, "shake": 0.0, "static": 0.0,
                 "objects": 0.4}[shot.motion] * unit  # fmt: skip
        angle = rng.uniform(0, 2 * np.pi)
        self.velocity = speed * np.array([np.cos(angle), np.sin(angle)])
        self.origin = rng.uniform(0.1, 0.5, 2) * (width * 0.6, height * 0.6)
        self.shake = np.cumsum(rng.normal(0, 1.2 * unit, (shot.frames, 2)), axis=0)
        count = 0 if shot.motion == "static" else int(rng.integers(1, 4))
        self.objects = [
            (rng.uniform(0, 1, 2) * (width, height),  # start
             rng.normal(0, 2.5 * unit, 2),  # velocity
             int(rng.uniform(0.06, 0.14) * height),  # radius
             tuple(int(c) for c in rng.integers(0, 256, 3)))  # colour
            for _ in range(count)
        ]  # fmt: skip

    def frame(self, k: int) -> np.ndarray:
        shot, w, h = self.shot, self.width, self.height
        offset = self.origin + self.velocity * k
        scale = 1.0 + (0.25 * k / max(1, shot.frames) if shot.motion == "zoom" else 0.0)
        if shot.motion == "shake":
            offset = offset + self.shake[k]
        cw, ch = self.canvas.shape[1], self.canvas.shape[0]
        # Keep the view inside the canvas (bounce off its edges).
        span = np.array([cw - w / scale, ch - h / scale])
        offset = _bounce(offset, span) if span.min() > 0 else np.zeros(2)
        matrix = np.float32([[1 / scale, 0, offset[0]], [0, 1 / scale, offset[1]]])
        frame = cv2.warpAffine(self.canvas, matrix, (w, h),
                               flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)  # fmt: skip
        for start, velocity, radius, colour in self.objects:
            x, y = _bounce(start + velocity * k, np.array([w, h]))
            cv2.circle(frame, (int(x), int(y)), radius, colour, -1, cv2.LINE_AA)
            cv2.circle(frame, (int(x), int(y)), radius // 2, (255 - colour[0], 40, 90), -1)
        if shot.drift:
            frame = cv2.convertScaleAbs(frame, alpha=1.0 + shot.drift * k / shot.frames)
        return frame


def _bounce(position: np.ndarray, size: np.ndarray) -> np.ndarray:
    """``position`` folded into ``[0, size]``, as if bouncing off the edges."""
    return np.abs((position % (2 * size)) - size)


class _Noise:
    """Cheap sensor noise: a few precomputed signed noise fields, cycled."""

    def __init__(self, width: int, height: int, rng: np.random.Generator, sigma: float = 2.5):
        fields = [rng.normal(0, sigma, (height, width, 3)) for _ in range(5)]
        self.up = [np.clip(f, 0, 255).astype(np.uint8) for f in fields]
        self.down = [np.clip(-f, 0, 255).astype(np.uint8) for f in fields]
        self.k = 0

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        self.k = (self.k + 1) % len(self.up)
        return cv2.subtract(cv2.add(frame, self.up[self.k]), self.down[self.k])


def _towards(frame: np.ndarray, kind: str, amount: float) -> np.ndarray:
    """Blend ``frame`` towards black or white by ``amount`` (0: unchanged, 1: plain)."""
    if kind == "black":
        return cv2.convertScaleAbs(frame, alpha=1.0 - amount)
    return cv2.convertScaleAbs(frame, alpha=1.0 - amount, beta=255 * amount)


def render(timeline: Timeline, width: int, height: int) -> Iterator[np.ndarray]:
    """The timeline's frames, one at a time (RGB uint8, ``height`` x ``width``)."""
    rng = np.random.default_rng(timeline.seed)
    noise = _Noise(width, height, rng)
    shots, transitions = timeline.shots, timeline.transitions
    for i, shot in enumerate(shots):
        renderer = _ShotRenderer(shot, width, height, rng)
        before = transitions[i - 1] if i > 0 else Transition()
        after = transitions[i] if i < len(transitions) else Transition()
        flashes = {off + j for off, n in shot.flashes for j in range(n)}
        for k in range(shot.frames):
            frame = renderer.frame(k)
            if k in flashes:
                frame = _towards(frame, "white", 0.85)
            if before.kind != "cut" and k < before.into:
                frame = _towards(frame, before.kind, 1.0 - (k + 1) / (before.into + 1))
            left = shot.frames - k
            if after.kind != "cut" and left <= after.out:
                frame = _towards(frame, after.kind, 1.0 - left / (after.out + 1))
            yield noise(frame)
        if after.kind != "cut":
            plain = np.full((height, width, 3), 0 if after.kind == "black" else 255, np.uint8)
            for _ in range(after.hold):
                yield noise(plain)


def write_timeline(timeline: Timeline, path: Path, width: int, height: int, fps: float = 24,
                   preset: str = "veryfast", crf: int = 20) -> Path:
    """Render ``timeline`` into an H.264 MP4 at ``path`` (streamed, never held in memory)."""
    return write_video(path, render(timeline, width, height), fps, preset=preset, crf=crf)


# --------------------------------------------------------------------------------------------
# Ready-made timelines


def mixed_timeline(shot_count: int, seed: int = 0, fps: float = 24) -> Timeline:
    """Shots of every motion kind with hard cuts, fades through black and white, flashes.

    Shots last 2 to 5 seconds; about one transition in five is a fade; a third of the shots hold
    a one- or two-frame flash; one shot in eight is static, one in ten darkens gradually.
    """
    rng = np.random.default_rng(seed)
    shots, transitions = [], []
    for i in range(shot_count):
        frames = int(rng.uniform(2.0, 5.0) * fps)
        motion = MOTIONS[i % len(MOTIONS)] if i % 8 else "static"
        flashes: tuple[tuple[int, int], ...] = ()
        if i % 3 == 1:
            flashes = ((int(rng.integers(frames // 4, frames * 3 // 4)), 1 + i % 2),)
        drift = -0.3 if i % 10 == 7 else 0.0
        # Every seventh shot goes back to an earlier scene (A-B-A editing), framed anew.
        scene = i - 2 if i % 7 == 6 else i
        shots.append(Shot(scene, frames, motion, flashes, drift))
        if i < shot_count - 1:
            pick = rng.uniform()
            if pick < 0.12:
                transitions.append(Transition("black", int(fps // 3), int(rng.integers(0, 8)),
                                              int(fps // 3)))  # fmt: skip
            elif pick < 0.2:
                transitions.append(Transition("white", int(fps // 4), int(rng.integers(0, 4)),
                                              int(fps // 4)))  # fmt: skip
            else:
                transitions.append(Transition())
    return Timeline(shots, transitions, seed)


def fitted_timeline(frames: int, seed: int = 0, fps: float = 24) -> Timeline:
    """A :func:`mixed_timeline` cut or stretched to exactly ``frames`` frames (its last shot)."""
    count = 2
    while (timeline := mixed_timeline(count, seed, fps)).frame_count < frames:
        count += max(1, (frames - timeline.frame_count) // int(3.5 * fps))
    shots, transitions = list(timeline.shots), list(timeline.transitions)
    while True:
        excess = Timeline(shots, transitions, seed).frame_count - frames
        if shots[-1].frames - excess >= fps or len(shots) == 1:
            break
        shots.pop()
        transitions.pop()
    keep = shots[-1].frames - excess
    flashes = tuple(f for f in shots[-1].flashes if f[0] + f[1] < keep - 2)
    shots[-1] = replace(shots[-1], frames=keep, flashes=flashes)
    return Timeline(shots, transitions, seed)


def short_timeline() -> Timeline:
    """Seven shots, about 430 frames at 24 fps: every kind of boundary and event at least once."""
    shots = [
        Shot(0, 60, "pan", flashes=((25, 1),)),
        Shot(1, 54, "objects"),
        Shot(2, 62, "static", flashes=((30, 2),)),
        Shot(3, 58, "zoom"),
        Shot(4, 56, "shake", flashes=((20, 1),)),
        Shot(5, 60, "fast"),
        Shot(1, 60, "pan", drift=-0.3),
    ]
    transitions = [
        Transition(),
        Transition("black", 8, 4, 8),
        Transition(),
        Transition("white", 6, 2, 6),
        Transition(),
        Transition(),
    ]
    return Timeline(shots, transitions, seed=3)


def flash_timeline() -> Timeline:
    """One moving shot with a one-frame and a two-frame flash: no boundary at all."""
    return Timeline([Shot(3, 72, "pan", flashes=((20, 1), (45, 2)))], [], seed=5)


def fade_timeline(kind: str = "black") -> Timeline:
    """Two shots joined by one slow fade through black (or white): exactly one boundary."""
    return Timeline([Shot(0, 48, "pan"), Shot(2, 48, "objects")],
                    [Transition(kind, 12, 6, 12)], seed=7)  # fmt: skip


def static_timeline() -> Timeline:
    """A single static shot (only sensor noise changes): no boundary."""
    return Timeline([Shot(6, 60, "static")], [], seed=9)


# --------------------------------------------------------------------------------------------
# Awkward inputs


def write_vfr_video(path: Path, width: int = 192, height: int = 108) -> tuple[Path, list[float]]:
    """A variable-frame-rate MP4 (frames last 20 ms or 60 ms alternately, in runs of 10) with a
    hard cut at frame 30 of 60; returns the path and each frame's presentation time."""
    timeline = Timeline([Shot(0, 30, "pan"), Shot(2, 30, "objects")], [Transition()], seed=11)
    times, pts = [], 0
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=50)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        for index, rgb in enumerate(render(timeline, width, height)):
            frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            frame.pts, frame.time_base = pts, Fraction(1, 1000)
            times.append(pts / 1000)
            container.mux(stream.encode(frame))
            pts += 20 if (index // 10) % 2 == 0 else 60
        container.mux(stream.encode(None))
    return path, times


def write_audio_only_mp4(path: Path) -> Path:
    """An MP4 holding one second of AAC audio and no video stream."""
    rate = 16000
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("aac", rate=rate)
        stream.layout = "mono"
        samples = (0.3 * np.sin(np.linspace(0, 2 * np.pi * 440, rate))).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(samples[None, :], format="fltp", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


def write_empty_video(path: Path) -> Path:
    """An MP4 with a video stream that holds no frames."""
    with av.open(str(path), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        container.start_encoding()
    return path


EXAMPLE = Path(__file__).resolve().parent.parent / "assets" / "keyframes" / "example.mp4"


def write_example(path: Path = EXAMPLE) -> Path:
    """The tab's example input: the short timeline at 320x180 (a few hundred kilobytes)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return write_timeline(short_timeline(), path, 320, 180, fps=24, preset="slow", crf=28)


if __name__ == "__main__":
    print(write_example())
