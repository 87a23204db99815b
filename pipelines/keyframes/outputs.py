"""What a keyframe job writes: full-resolution keyframes (files and a ZIP), a contact sheet, the
shot list as CSV and JSON, and a plot of the per-frame change score.

Keyframes come at full resolution from the analysis pass itself (frames it held, or a short seek
for any it did not: :meth:`KeyframeResult.keyframe_images`), so writing them never decodes the
video again; they are written one at a time and contact-sheet tiles are pasted into a canvas
sized up front, so no list of full frames is held.
"""

from __future__ import annotations

import csv
import math
from dataclasses import asdict, dataclass
from pathlib import Path

import cv2
import numpy as np

from pipelines.errors import InputError
from pipelines.keyframes.classical import KeyframeResult
from pipelines.keyframes.settings import IMAGE_FORMATS
from pipelines.keyframes.timecodes import timecode
from pipelines.manifest import write_json_atomic
from pipelines.media import files_to_zip, save_image

FONT = cv2.FONT_HERSHEY_SIMPLEX
BACKGROUND = (24, 24, 28)
TEXT = (235, 235, 235)
MUTED = (150, 150, 160)


# --------------------------------------------------------------------------------------------
# Contact sheet


@dataclass(frozen=True)
class SheetLayout:
    columns: int
    tile_width: int
    tile_height: int
    caption: int = 26
    gap: int = 8
    header: int = 40

    def size(self, count: int) -> tuple[int, int]:
        rows = max(1, math.ceil(count / self.columns))
        width = self.columns * (self.tile_width + self.gap) + self.gap
        height = self.header + rows * (self.tile_height + self.caption + self.gap) + self.gap
        return width, height

    def box(self, position: int) -> tuple[int, int, int, int]:
        """``(x, y, width, height)`` of tile ``position``'s image."""
        row, col = divmod(position, self.columns)
        x = self.gap + col * (self.tile_width + self.gap)
        y = self.header + row * (self.tile_height + self.caption + self.gap)
        return x, y, self.tile_width, self.tile_height


def sheet_layout(count: int, width: int, height: int, tile_width: int = 320,
                 columns: int | None = None) -> SheetLayout:  # fmt: skip
    """A grid about as wide as tall for ``count`` tiles of a ``width`` x ``height`` video."""
    if columns is None:
        columns = max(1, min(6, math.ceil(math.sqrt(max(1, count) * 9 / 16 * 1.6))))
    columns = max(1, min(columns, max(1, count)))
    tile_height = max(1, round(tile_width * height / width))
    return SheetLayout(columns, tile_width, tile_height)


class ContactSheet:
    """A grid of keyframe tiles captioned with shot number, timecode and frame index."""

    def __init__(self, title: str, count: int, width: int, height: int, tile_width: int = 320):
        self.layout = sheet_layout(count, width, height, tile_width)
        sheet_width, sheet_height = self.layout.size(count)
        self.image = np.full((sheet_height, sheet_width, 3), BACKGROUND, np.uint8)
        self.count = 0
        _text(self.image, title, (self.layout.gap, 26), 0.6, TEXT, 1)

    def add(self, frame: np.ndarray, shot: int, seconds: float, index: int) -> None:
        x, y, w, h = self.layout.box(self.count)
        self.image[y:y + h, x:x + w] = cv2.resize(frame, (w, h), interpolation=cv2.INTER_AREA)
        base = y + h + 18
        _text(self.image, f"#{shot + 1}", (x + 2, base), 0.5, TEXT, 1)
        _text(self.image, f"{timecode(seconds)}  f{index}", (x + 44, base), 0.45, MUTED, 1)
        self.count += 1


def _text(image: np.ndarray, text: str, origin: tuple[int, int], scale: float,
          colour: tuple[int, int, int], thickness: int) -> None:  # fmt: skip
    cv2.putText(image, text, origin, FONT, scale, colour, thickness, cv2.LINE_AA)


# --------------------------------------------------------------------------------------------
# Score plot


def score_plot(result: KeyframeResult, width: int = 1200, height: int = 320) -> np.ndarray:
    """The change score per frame with its threshold, cuts (red), fades (violet), flashes."""
    image = np.full((height, width, 3), 255, np.uint8)
    left, right, top, bottom = 48, 16, 34, 36
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(1, result.frame_count)

    def x_of(frame: float) -> int:
        return left + round(frame / max(1, n - 1) * (plot_w - 1))

    def y_of(value: float) -> int:
        return top + round((1.0 - min(1.0, max(0.0, value))) * (plot_h - 1))

    for value in (0.0, 0.25, 0.5, 0.75, 1.0):
        y = y_of(value)
        cv2.line(image, (left, y), (left + plot_w - 1, y), (225, 225, 225), 1)
        _text(image, f"{value:.2f}", (6, y + 4), 0.4, (90, 90, 90), 1)
    step = _nice_step(result.duration / 8)
    seconds = 0.0
    while seconds <= result.duration:
        x = x_of(seconds * result.fps)
        cv2.line(image, (x, top + plot_h), (x, top + plot_h + 4), (90, 90, 90), 1)
        label = timecode(seconds)[3:8] if step >= 1 else f"{seconds:.1f}s"
        _text(image, label, (x - 18, top + plot_h + 18), 0.4, (90, 90, 90), 1)
        seconds += step
    for start, end in result.flashes:
        x = x_of((start + end - 1) / 2)
        cv2.drawMarker(image, (x, top + 8), (0, 170, 230), cv2.MARKER_TRIANGLE_DOWN, 12, 2)
    for cut in result.cuts:
        colour = (220, 40, 40) if cut.kind == "cut" else (150, 60, 200)
        cv2.line(image, (x_of(cut.frame), top), (x_of(cut.frame), top + plot_h), colour, 1)
    for values, colour in ((result.thresholds, (240, 140, 20)), (result.scores, (40, 90, 200))):
        for segment in _segments(values, plot_w):
            points = np.array([(x_of(f), y_of(v)) for f, v in segment], np.int32)
            cv2.polylines(image, [points], False, colour, 1, cv2.LINE_AA)
    legend = (("change score", (40, 90, 200)), ("threshold", (240, 140, 20)),
              ("cut", (220, 40, 40)), ("fade", (150, 60, 200)), ("flash", (0, 170, 230)))
    x = left
    for label, colour in legend:
        cv2.line(image, (x, 16), (x + 18, 16), colour, 3)
        _text(image, label, (x + 24, 21), 0.45, (40, 40, 40), 1)
        x += 40 + 9 * len(label)
    return image


def _nice_step(raw: float) -> float:
    """1, 2 or 5 times a power of ten, at least ``raw``."""
    if raw <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(raw))
    return next(m * power for m in (1, 2, 5, 10) if m * power >= raw)


def _segments(values: np.ndarray, pixels: int) -> list[list[tuple[float, float]]]:
    """Runs of finite values as ``(frame, value)`` points, at most about two per pixel column
    (each bucket keeps its minimum and maximum, so spikes survive)."""
    n = len(values)
    bucket = max(1, n // max(1, pixels))
    segments: list[list[tuple[float, float]]] = []
    current: list[tuple[float, float]] = []
    for start in range(0, n, bucket):
        chunk = values[start:start + bucket]
        finite = np.flatnonzero(np.isfinite(chunk))
        if not finite.size:
            if len(current) > 1:
                segments.append(current)
            current = []
            continue
        low, high = finite[np.argmin(chunk[finite])], finite[np.argmax(chunk[finite])]
        for offset in sorted({int(low), int(high)}):
            current.append((start + offset, float(chunk[offset])))
    if len(current) > 1:
        segments.append(current)
    return segments


# --------------------------------------------------------------------------------------------
# Shot list


@dataclass(frozen=True)
class Written:
    """Paths of everything :func:`write_outputs` wrote (relative names in ``keyframes``)."""

    keyframes: list[tuple[Path, str]]  # (image, caption) in time order
    zip: Path | None
    contact_sheet: Path
    shots_json: Path
    shots_csv: Path
    plot: Path
    document: dict


def shot_document(result: KeyframeResult, names: dict[int, str],
                  settings: dict) -> dict:  # fmt: skip
    """The ``shots.json`` document; ``names`` maps keyframe frame -> relative image path."""
    first_in_shot: dict[int, int] = {}
    for key in result.keyframes:
        first_in_shot.setdefault(key.shot, key.frame)
    shots = []
    for shot in result.shots:
        frame = first_in_shot.get(shot.index)
        shots.append({
            "index": shot.index,
            "start_frame": shot.start_frame,
            "end_frame": shot.end_frame,
            "start_time": shot.start_time,
            "end_time": shot.end_time,
            "start_timecode": timecode(shot.start_time),
            "end_timecode": timecode(shot.end_time),
            "transition": shot.transition,
            "score": shot.score,
            "keyframe_frame": frame,
            "keyframe_path": names.get(frame) if frame is not None else None,
        })  # fmt: skip
    return {
        "video": Path(result.video).name,
        "fps": result.fps,
        "frame_count": result.frame_count,
        "width": result.width,
        "height": result.height,
        "duration": round(result.duration, 6),
        "shots": shots,
        "keyframes": [
            {**asdict(k), "timecode": timecode(k.time), "path": names.get(k.frame)}
            for k in result.keyframes
        ],
        "flashes": [{"start_frame": s, "end_frame": e} for s, e in result.flashes],
        "clustering_features": result.features or None,
        "settings": settings,
    }


CSV_COLUMNS = ("index", "start_frame", "end_frame", "start_time", "end_time", "start_timecode",
               "end_timecode", "transition", "score", "keyframe_frame", "keyframe_path")


def write_csv(path: Path, document: dict) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for shot in document["shots"]:
            writer.writerow({k: ("" if shot[k] is None else shot[k]) for k in CSV_COLUMNS})
    return path


def write_outputs(folder: Path, result: KeyframeResult, settings: dict,
                  image_format: str = "jpg", progress=None) -> Written:  # fmt: skip
    """Write every output into ``folder`` and return their paths."""
    if image_format not in IMAGE_FORMATS:
        raise InputError(f"Unknown image format {image_format!r}; use one of "
                         f"{', '.join(IMAGE_FORMATS)}.")  # fmt: skip
    report = progress or (lambda fraction, desc: None)
    folder.mkdir(parents=True, exist_ok=True)
    keys = {k.frame: k for k in result.keyframes}
    names = {f: f"keyframes/shot{k.shot + 1:04d}_f{f:06d}.{image_format}" for f, k in keys.items()}
    title = (f"{Path(result.video).name}  |  {len(result.shots)} shots  |  "
             f"{len(result.keyframes)} keyframes  |  {timecode(result.duration)}")  # fmt: skip
    sheet = ContactSheet(title, len(keys), result.width, result.height)
    gallery: list[tuple[Path, str]] = []

    for done, (index, frame) in enumerate(result.keyframe_images(keys), 1):
        key = keys[index]
        path = save_image(folder / names[index], frame)
        sheet.add(frame, key.shot, key.time, index)
        gallery.append((path, f"Shot {key.shot + 1} · {timecode(key.time)} · frame {index}"))
        report(done / max(1, len(keys)), "writing keyframes")
    zip_path = files_to_zip(folder / "keyframes.zip", [p for p, _ in gallery]) if keys else None
    contact = save_image(folder / "contact_sheet.jpg", sheet.image, quality=90)
    plot = save_image(folder / "scores.png", score_plot(result))
    document = shot_document(result, names, settings)
    shots_json = write_json_atomic(folder / "shots.json", document)
    shots_csv = write_csv(folder / "shots.csv", document)
    result.release()
    return Written(gallery, zip_path, contact, shots_json, shots_csv, plot, document)
