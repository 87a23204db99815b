"""Where things move: smooth displacement fields built once per picture from the face.

Each field says, per output pixel, how far (in pixels, per unit of its motion) to look back into
the picture. A frame's map is a weighted sum of these fields, so rendering is a few multiply-adds
and one ``cv2.remap``. Masks fall off with ``smootherstep`` over a third of the face size or
more, so warped and still regions meet without a seam, and the local fields fade to zero at the
picture's border, so they never pull in pixels from outside it.

The pseudo-depth puts the person in front of a background that recedes towards the top of the
picture. The person is a head-and-torso prior placed from the face, refined to the real outline
with GrabCut; depth falls off outside that outline. Without a face, depth follows the usual
photo layout (near at the bottom and in the middle, far at the top).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from pipelines.face_motion import find_iris as iris_near
from pipelines.face_motion import smootherstep
from pipelines.faces import Box, Face


@dataclass(frozen=True)
class Window:
    """A local field that is zero outside ``[y0:y1, x0:x1]``."""

    y0: int
    y1: int
    x0: int
    x1: int
    field: np.ndarray  # (y1-y0, x1-x0, 2) float32


@dataclass
class Fields:
    """All fields of one picture, each ``(H, W, 2)`` float32 unless noted."""

    width: int
    height: int
    rotation: np.ndarray  # per radian of head roll about the neck
    head: np.ndarray  # (H, W) weight of the rigid head shift
    inner: np.ndarray  # (H, W) weight of the inner-face shift (turn)
    breath: np.ndarray  # per unit of chest scale
    blinks: tuple[Window, ...]  # per unit of eyelid closure, one per eye
    parallax: np.ndarray  # (H, W) depth minus the subject's depth (<= 0 behind the subject)
    depth: np.ndarray  # (H, W) pseudo-depth in [0, 1], 1 nearest
    border_parallax: float  # largest |parallax| on the picture's border
    pivot: tuple[float, float]  # where the camera zooms: the face, or the picture's centre
    face_width: float


def _grid(width: int, height: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    return xs, ys


def ellipse_weight(xs: np.ndarray, ys: np.ndarray, cx: float, cy: float, ax: float, ay: float,
                   inner: float = 0.85, outer: float = 1.35) -> np.ndarray:
    """1 inside the ellipse's ``inner`` radius, 0 beyond ``outer``, smooth in between."""
    r = np.sqrt(((xs - cx) / ax) ** 2 + ((ys - cy) / ay) ** 2)
    return (1.0 - smootherstep((r - inner) / (outer - inner))).astype(np.float32)


def border_taper(width: int, height: int, margin: float) -> np.ndarray:
    """1 inside, falling smoothly to 0 at the picture's edge over ``margin`` pixels."""
    margin = max(margin, 1.0)
    tx = smootherstep(np.minimum(np.arange(width), np.arange(width)[::-1]) / margin)
    ty = smootherstep(np.minimum(np.arange(height), np.arange(height)[::-1]) / margin)
    return (ty[:, None] * tx[None, :]).astype(np.float32)


def _ease_ramp(x: np.ndarray, ease: float = 0.3) -> np.ndarray:
    """0 -> 1: starts with zero slope, then straight; its steepest slope is only 1/(1-ease/2)."""
    x = np.clip(x, 0.0, 1.0)
    return np.where(x < ease, x * x / (2 * ease), x - ease / 2) / (1 - ease / 2)


def _blink_window(box: Box, taper: np.ndarray) -> Window | None:
    """Eyelid closure as a vertical warp: the upper lid slides down onto the lower lid.

    Output pixels between the brow and the lower lid look up by up to the eye's opening, so
    the upper lid and its skin stretch down over the eye; just below the lower lid the field
    returns to zero, squeezing the eye into a lash line. The brows stay put, and the field's
    downward slope stays under 1, so the map never folds over.
    """
    height, width = taper.shape
    # Sizes follow the box's width: Haar eye boxes are about square and hold the eye just above
    # their middle, lids at about 1/3 and 2/3; boxes placed from the face's shape are flatter.
    size = float(box.w)
    ex, ey = box.x + box.w / 2, box.y + box.h / 2 - 0.01 * size
    upper, lower = ey - 0.16 * size, ey + 0.15 * size
    top, bottom = ey - 0.35 * size, lower + 0.15 * size  # top: under the brow
    travel = 1.1 * (lower - upper)  # a touch past the lower lid, so the lids really meet
    half = 0.68 * size
    x0, x1 = max(0, int(ex - half)), min(width, int(np.ceil(ex + half)) + 1)
    y0, y1 = max(0, int(top)), min(height, int(np.ceil(bottom)) + 1)
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    xs, ys = _grid(x1 - x0, y1 - y0)
    xs += x0
    ys += y0
    # Flat across the iris, closing less towards the corners, like an almond-shaped eye.
    across = 1.0 - smootherstep((np.abs(xs - ex) / half - 0.35) / 0.65)
    down = np.where(ys <= lower, _ease_ramp((ys - top) / (lower - top)),
                    1.0 - smootherstep((ys - lower) / (bottom - lower)))
    field = np.zeros((y1 - y0, x1 - x0, 2), np.float32)
    field[..., 1] = -travel * across * down * taper[y0:y1, x0:x1]
    return Window(y0, y1, x0, x1, field)


def find_iris(gray: np.ndarray, box: Box, size: int) -> Box:
    """A square eye box centred on the darkest blob (the iris) near a box placed by geometry.

    Eye boxes placed from the face's proportions can sit a few pixels off; the iris is the
    darkest spot of the blurred neighbourhood, so the blink lands on the real eye. ``size``
    is the side of the returned box (Haar eye boxes are about a quarter of the face wide).
    """
    cx, cy = iris_near(gray, *box.center, size)
    return Box(round(cx - size / 2), round(cy - size / 2), size, size)


def person_mask(xs: np.ndarray, ys: np.ndarray, box: Box) -> np.ndarray:
    """Soft silhouette of a portrait's sitter: the head and hair, the neck and a torso below."""
    cx, w, h = box.x + box.w / 2, box.w, box.h
    head = ellipse_weight(xs, ys, cx, box.y + 0.28 * h, 0.80 * w, 0.82 * h, 0.8, 1.3)
    neck = ellipse_weight(xs, ys, cx, box.y + 1.25 * h, 0.45 * w, 0.45 * h, 0.8, 1.3)
    # A rounded box for the shoulders and chest: squarer than an ellipse (power 4 norm).
    tx, ty, ax, ay = cx, box.y + 3.0 * h, 1.85 * w, 1.85 * h
    r = (np.abs((xs - tx) / ax) ** 4 + np.abs((ys - ty) / ay) ** 4) ** 0.25
    torso = 1.0 - smootherstep((r - 0.8) / 0.45)
    return np.maximum.reduce([head, neck, torso.astype(np.float32)])


def refine_person(image: np.ndarray, prior: np.ndarray, face: Box) -> np.ndarray | None:
    """The sitter's silhouette from GrabCut seeded with ``prior``, or None if it looks wrong.

    Runs on a copy whose longer side is at most 200 pixels (about 0.1 s); pixels the prior rules
    out stay background, the face's core stays foreground.
    """
    height, width = prior.shape
    scale = min(1.0, 200 / max(height, width))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    seed = cv2.resize(prior, size, interpolation=cv2.INTER_AREA)
    mask = np.full(seed.shape, cv2.GC_PR_BGD, np.uint8)
    mask[seed > 0.5] = cv2.GC_PR_FGD
    mask[seed < 0.02] = cv2.GC_BGD
    fx, fy = (face.x + 0.3 * face.w) * scale, (face.y + 0.3 * face.h) * scale
    mask[int(fy):int(fy + 0.5 * face.h * scale) + 1, int(fx):int(fx + 0.4 * face.w * scale) + 1] \
        = cv2.GC_FGD
    if not (mask == cv2.GC_BGD).any() or min(size) < 16:
        return None  # nothing is surely background: a close-up, where the prior is enough
    models = np.zeros((1, 65), np.float64), np.zeros((1, 65), np.float64)
    cv2.setRNGSeed(0)  # GrabCut seeds its colour models with k-means: keep it repeatable
    cv2.grabCut(cv2.cvtColor(small, cv2.COLOR_RGB2BGR), mask, None, *models, 4,
                cv2.GC_INIT_WITH_MASK)
    found = np.isin(mask, (cv2.GC_FGD, cv2.GC_PR_FGD)).astype(np.uint8)
    # Keep what is connected to the face; fill holes (a dark collar is still the person).
    _, labels = cv2.connectedComponents(found)
    face_label = labels[int(fy), int(fx)]
    if face_label == 0:
        return None
    found = (labels == face_label).astype(np.uint8)
    reached = np.pad(found, 1)  # a background ring, so the fill reaches all of the outside
    cv2.floodFill(reached, None, (0, 0), 1)
    found = (found | (reached[1:-1, 1:-1] == 0)).astype(np.uint8)
    area, expected = found.sum(), (seed > 0.5).sum()
    if not 0.3 * expected <= area <= 1.5 * expected:
        return None
    return found


def _silhouette_depth(silhouette: np.ndarray, band: float, width: int, height: int
                      ) -> np.ndarray:
    """1 on the silhouette, falling to 0 over ``band`` pixels *outside* it.

    Parallax then stretches only background next to the person, never the hair or shoulders.
    """
    scale = silhouette.shape[1] / width
    outside = cv2.distanceTransform((1 - silhouette).astype(np.uint8), cv2.DIST_L2, 5)
    band_small = max(1.0, band * scale)
    near = 1.0 - smootherstep(outside / band_small)
    # Round off the staircase of the low-resolution outline.
    near = cv2.GaussianBlur(near.astype(np.float32), (0, 0), 0.15 * band_small)
    return cv2.resize(near.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR)


def build_fields(image: np.ndarray, face: Face | None) -> Fields:
    """Every field for an RGB picture with (or without) a face."""
    height, width = image.shape[:2]
    xs, ys = _grid(width, height)
    short = min(width, height)
    taper = border_taper(width, height, 0.08 * short)
    zeros = np.zeros((height, width), np.float32)
    recede = (ys / max(1, height - 1)).astype(np.float32)  # 0 at the top, 1 at the bottom
    if face is None:
        centre = ellipse_weight(xs, ys, width / 2, height * 0.55, 0.35 * width, 0.4 * height,
                                0.3, 1.4)
        depth = np.clip(0.15 + 0.45 * recede ** 1.3 + 0.35 * centre, 0, 1).astype(np.float32)
        pivot = (width / 2, height / 2)
        parallax = depth - depth[int(pivot[1]), int(pivot[0])]
        still = np.zeros((height, width, 2), np.float32)
        return Fields(width, height, still, zeros, zeros, still, (), parallax, depth,
                      float(_border_max(parallax)), pivot, float(short) / 3)

    box = face.box
    cx, w, h = box.x + box.w / 2, float(box.w), float(box.h)
    head = ellipse_weight(xs, ys, cx, box.y + 0.28 * h, 0.78 * w, 0.80 * h) * taper
    inner = ellipse_weight(xs, ys, cx, box.y + 0.5 * h, 0.36 * w, 0.45 * h, 0.7, 1.3) * taper
    neck_x, neck_y = cx, box.y + 1.25 * h
    rotation = np.stack([(ys - neck_y) * head, -(xs - neck_x) * head], axis=-1)

    person = person_mask(xs, ys, box)
    silhouette = refine_person(image, person, box)
    if silhouette is not None:
        person = _silhouette_depth(silhouette, 0.45 * w, width, height)
    anchor_x, anchor_y = cx, min(height - 1.0, box.y + 3.0 * h)
    chest = (0.2 + 0.8 * person) * taper
    breath = np.stack([-(xs - anchor_x) * chest, -(ys - anchor_y) * chest], axis=-1)

    depth = np.clip(0.12 + 0.18 * recede + 0.75 * person, 0, 1).astype(np.float32)
    face_depth = float(depth[min(height - 1, int(box.y + 0.5 * h)), min(width - 1, int(cx))])
    # The camera circles a point a little in front of the background, between it and the face:
    # the face moves a little, the background more, and the border needs less overscan.
    far = _border_mean(depth)
    parallax = (depth - (far + 0.65 * (face_depth - far))).astype(np.float32)
    eyes = face.eyes
    if not face.eyes_detected:
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        eyes = tuple(find_iris(gray, eye, round(0.24 * w)) for eye in eyes)
    blinks = tuple(b for b in (_blink_window(eye, taper) for eye in eyes) if b is not None)
    return Fields(width, height, rotation.astype(np.float32), head.astype(np.float32),
                  inner.astype(np.float32), breath.astype(np.float32), blinks, parallax, depth,
                  float(_border_max(parallax)), (cx, box.y + 0.5 * h), w)


def stretch_map(field: np.ndarray, block: int = 4) -> np.ndarray:
    """Per ``block`` x ``block`` tile, the largest Frobenius norm of the field's Jacobian.

    A map ``p + sum(c_k F_k(p))`` cannot fold over where ``sum(|c_k| stretch_k) < 1``, so these
    small maps let the renderer bound the worst stretch of any mix of fields cheaply.
    """
    channels = field[..., None] if field.ndim == 2 else field
    norm = np.zeros(channels.shape[:2], np.float32)
    for c in range(channels.shape[2]):
        gy, gx = np.gradient(channels[..., c])
        norm += gx * gx + gy * gy
    norm = np.sqrt(norm)
    height, width = norm.shape
    pad = np.zeros((-(-height // block) * block, -(-width // block) * block), np.float32)
    pad[:height, :width] = norm
    return pad.reshape(pad.shape[0] // block, block, pad.shape[1] // block, block).max(axis=(1, 3))


def _border_mean(values: np.ndarray) -> float:
    edges = (values[0], values[-1], values[:, 0], values[:, -1])
    return float(np.mean(np.concatenate(edges)))


def _border_max(values: np.ndarray) -> float:
    edges = (values[0], values[-1], values[:, 0], values[:, -1])
    return max(float(np.abs(e).max()) for e in edges)
