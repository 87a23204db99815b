"""The weight-free removal backend: flow-guided propagation, then Telea where nothing sees.

For each frame ``t`` the hole (the object's mask, grown by ``dilate``) is filled from the frames
around it, as ProPainter's first stage (image and flow propagation) does without its networks:

1. Flow between consecutive frames (DIS, both ways, at ``flow_side``) is *completed* inside each
   frame's hole: the object's own motion is replaced by the background's, filled in from the
   hole's surroundings by a push-pull pyramid (coarse averages of the valid flow fill the gaps).
2. Moving camera: for ``k = 1, 2, ... neighbours`` frames ahead and behind, nearest first, the
   completed flows are chained (``F[t->t+k] = F[t->t+k-1] + f[t+k-1->t+k]`` sampled where the
   chain has got to) and so is the chain back; a hole pixel takes the colour that frame shows at
   the chain's end, if that spot is outside that frame's hole, inside the picture, and the chain
   there and back returns within tolerance (forward-backward check). The nearest frame that
   passes wins.
3. Still camera (median flow outside the hole below ``still_motion`` px over the window): no
   warping; a hole pixel takes the temporal median of every frame in the window that shows it,
   and, when none does, the last colour seen there in an earlier frame.
4. Pixels no frame shows are inpainted with OpenCV's Telea method.

Memory: frames stream through a sliding window of ``2 * neighbours + 1`` frames (each with its
hole, the completed flows and, for still cameras, one background memory image), so a long video
is never held whole. Pixels outside the hole are the input's, untouched.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field

import cv2
import numpy as np

from metrics.video import warp
from pipelines.registry import LoadContext
from pipelines.remove import masks as M
from pipelines.remove.types import RemoveRequest, RemoveResult
from pipelines.task import Progress

TELEA_RADIUS = 5
PLATE_SAMPLES = 25  # cleaned frames kept (evenly spaced) for a still camera's median plate
FB_TOLERANCE = 0.7  # px at the flow size, for one step; chained steps add FB_PER_STEP each
FB_PER_STEP = 0.5


def fill_flow(flow: np.ndarray, hole: np.ndarray) -> np.ndarray:
    """``flow`` with the pixels under ``hole`` replaced by a smooth fill from the rest (a
    push-pull pyramid: averages of the valid vectors at coarser scales fill the gaps)."""
    if not hole.any():
        return flow
    valid = (~hole).astype(np.float32)
    if not valid.any():
        return np.zeros_like(flow)
    levels = []
    total, weight = flow * valid[..., None], valid
    while True:
        levels.append((total, weight))
        height, width = weight.shape
        if weight.min() > 0 or max(height, width) <= 2:
            break
        size = (max(1, (width + 1) // 2), max(1, (height + 1) // 2))
        total = cv2.resize(total, size, interpolation=cv2.INTER_AREA)
        weight = cv2.resize(weight, size, interpolation=cv2.INTER_AREA)
    total, weight = levels[-1]
    estimate = total / np.maximum(weight, 1e-6)[..., None]
    if weight.min() <= 0:  # even the coarsest level has gaps: the mean valid vector there
        estimate[weight <= 0] = flow[~hole].mean(axis=0)
    for total, weight in reversed(levels[:-1]):
        height, width = weight.shape
        up = cv2.resize(estimate, (width, height), interpolation=cv2.INTER_LINEAR)
        own = total / np.maximum(weight, 1e-6)[..., None]
        alpha = np.clip(weight, 0.0, 1.0)[..., None]
        estimate = own * alpha + up * (1.0 - alpha)
    return np.where(hole[..., None], estimate, flow).astype(np.float32)


def shown_median(values: np.ndarray, shown: np.ndarray) -> np.ndarray:
    """Per-column median of ``values`` (frames, n, channels) over the frames where ``shown``
    (frames, n) is set; every column has at least one (numpy's nanmedian, without its cost)."""
    ordered = np.sort(np.where(shown[..., None], values, np.inf), axis=0)
    count = shown.sum(axis=0)
    columns = np.arange(values.shape[1])
    low = ordered[(count - 1) // 2, columns]
    high = ordered[count // 2, columns]
    return (low + high) / 2


def sample(image: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> np.ndarray:
    """Bilinear samples of ``image`` (``HxW`` or ``HxWxC``) at float points, edges clamped."""
    height, width = image.shape[:2]
    xs = np.clip(xs, 0, width - 1)
    ys = np.clip(ys, 0, height - 1)
    x0 = np.minimum(xs.astype(np.int32), width - 2 if width > 1 else 0)
    y0 = np.minimum(ys.astype(np.int32), height - 2 if height > 1 else 0)
    x1, y1 = np.minimum(x0 + 1, width - 1), np.minimum(y0 + 1, height - 1)
    fx, fy = xs - x0, ys - y0
    if image.ndim == 3:
        fx, fy = fx[:, None], fy[:, None]
    data = image.astype(np.float32, copy=False)
    top = data[y0, x0] * (1 - fx) + data[y0, x1] * fx
    bottom = data[y1, x0] * (1 - fx) + data[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


@dataclass
class Entry:
    """A frame in the window: pixels, hole (full and flow size), completed flows to its
    neighbours (flow size) and how far the background moved since the frame before."""

    index: int
    rgb: np.ndarray
    hole: np.ndarray
    small_hole: np.ndarray
    raw_next: np.ndarray | None = None  # DIS flow to the next frame, as measured
    raw_prev: np.ndarray | None = None
    motion: float = 0.0
    _done: dict[str, np.ndarray] = field(default_factory=dict)

    def flow(self, step: int) -> np.ndarray:
        """The completed flow to the next (``step`` > 0) or previous frame, made on first use
        (a still camera never needs it)."""
        key = "next" if step > 0 else "prev"
        if key not in self._done:
            raw = self.raw_next if step > 0 else self.raw_prev
            self._done[key] = fill_flow(raw, self.small_hole)
        return self._done[key]


class Propagator:
    """Fills each frame's hole from its window (see the module doc)."""

    def __init__(self, request: RemoveRequest, small: tuple[int, int], scale: float):
        self.request = request
        self.small, self.scale = small, scale
        self.k = request.neighbours
        self.memory: np.ndarray | None = None  # still camera: last colour seen at each pixel
        self.known: np.ndarray | None = None
        self.counts = {"propagated": 0, "median": 0, "memory": 0, "telea": 0, "hole": 0}
        self.still_frames = 0

    # -- filling ---------------------------------------------------------------------------
    def fill(self, window: list[Entry], at: int) -> tuple[np.ndarray, bool]:
        """The frame ``window[at]`` with its hole filled, and whether the camera was still."""
        entry = window[at]
        out = entry.rgb.copy()
        ys, xs = np.nonzero(entry.hole)
        self.counts["hole"] += len(ys)
        motion = max((e.motion for e in window[1:]), default=0.0)
        still = motion < self.request.still_motion
        self.still_frames += still
        if not len(ys):
            return out, still
        if still:
            colours, done = self._still(window, at, ys, xs)
        else:
            colours, done = self._moving(window, at, ys, xs)
        out[ys[done], xs[done]] = np.clip(colours[done] + 0.5, 0, 255).astype(np.uint8)
        rest = ~done
        if rest.any():
            self.counts["telea"] += int(rest.sum())
            left = np.zeros(entry.hole.shape, np.uint8)
            left[ys[rest], xs[rest]] = 255
            out = telea(out, left)
        return out, still

    def _order(self, window: list[Entry], at: int) -> list[int]:
        """Window positions by distance from ``at``, ahead before behind."""
        order = []
        for k in range(1, self.k + 1):
            order += [p for p in (at + k, at - k) if 0 <= p < len(window)]
        return order

    def _still(self, window, at, ys, xs):
        stack, seen = [], []
        for pos in self._order(window, at):
            other = window[pos]
            stack.append(other.rgb[ys, xs].astype(np.float32))
            seen.append(~other.hole[ys, xs])
        colours = np.zeros((len(ys), 3), np.float32)
        done = np.zeros(len(ys), bool)
        if stack:
            shown = np.stack(seen)  # (frames, n)
            done = shown.any(axis=0)
            colours[done] = shown_median(np.stack(stack)[:, done], shown[:, done])
            self.counts["median"] += int(done.sum())
        if self.known is not None and (~done).any():
            old = ~done & self.known[ys, xs]
            colours[old] = self.memory[ys[old], xs[old]]
            done |= old
            self.counts["memory"] += int(old.sum())
        return colours, done

    def _moving(self, window, at, ys, xs):
        height, width = window[at].hole.shape
        sx, sy = xs * self.scale, ys * self.scale  # the hole's pixels at the flow size
        colours = np.zeros((len(ys), 3), np.float32)
        done = np.zeros(len(ys), bool)
        chains = {+1: self._chain(window, at, +1), -1: self._chain(window, at, -1)}
        for k in range(1, self.k + 1):
            if done.all():
                break
            for step in (+1, -1):
                pos = at + step * k
                if not 0 <= pos < len(window):
                    continue
                there, back = next(chains[step])
                todo = np.nonzero(~done)[0]
                fx = sample(there[..., 0], sx[todo], sy[todo])
                fy = sample(there[..., 1], sx[todo], sy[todo])
                bx = sample(back[..., 0], sx[todo] + fx, sy[todo] + fy)
                by = sample(back[..., 1], sx[todo] + fx, sy[todo] + fy)
                round_trip = (fx + bx) ** 2 + (fy + by) ** 2
                bound = 0.01 * (fx**2 + fy**2 + bx**2 + by**2) + \
                    (FB_TOLERANCE + FB_PER_STEP * k) ** 2
                tx, ty = xs[todo] + fx / self.scale, ys[todo] + fy / self.scale
                inside = (tx >= 0) & (tx <= width - 1) & (ty >= 0) & (ty <= height - 1)
                other = window[pos]
                free = ~other.hole[np.clip(np.rint(ty), 0, height - 1).astype(int),
                                   np.clip(np.rint(tx), 0, width - 1).astype(int)]
                ok = (round_trip <= bound) & inside & free
                hit = todo[ok]
                colours[hit] = sample(other.rgb, tx[ok], ty[ok])
                done[hit] = True
                self.counts["propagated"] += int(ok.sum())
        return colours, done

    def _chain(self, window: list[Entry], at: int, step: int
               ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """``(flow t -> t+step*k, flow t+step*k -> t)`` for k = 1, 2, ... (flow size)."""
        there = back = None
        pos = at
        while 0 <= pos + step < len(window):
            near, far = window[pos], window[pos + step]
            hop, hop_back = near.flow(step), far.flow(-step)
            if there is None:
                there, back = hop, hop_back
            else:
                there = there + warp(hop, there)
                back = hop_back + warp(back, hop_back)
            pos += step
            yield there, back

    # -- the background memory of a still camera --------------------------------------------
    def remember(self, entry: Entry, still: bool) -> None:
        if not still:
            self.memory = self.known = None
            return
        if self.memory is None:
            self.memory = np.zeros(entry.rgb.shape, np.float32)
            self.known = np.zeros(entry.hole.shape, bool)
        shown = ~entry.hole
        self.memory[shown] = entry.rgb[shown]
        self.known |= shown


def telea(rgb: np.ndarray, hole: np.ndarray, radius: int = TELEA_RADIUS) -> np.ndarray:
    """``rgb`` inpainted under ``hole`` (uint8, 255 = fill) with Telea's method, on a crop
    around the hole."""
    ys, xs = np.nonzero(hole)
    margin = 4 * radius
    y0, y1 = max(0, ys.min() - margin), min(hole.shape[0], ys.max() + margin + 1)
    x0, x1 = max(0, xs.min() - margin), min(hole.shape[1], xs.max() + margin + 1)
    out = rgb.copy()
    out[y0:y1, x0:x1] = cv2.inpaint(np.ascontiguousarray(rgb[y0:y1, x0:x1]), hole[y0:y1, x0:x1],
                                    radius, cv2.INPAINT_TELEA)
    return out


def sharpness(rgb: np.ndarray) -> float:
    return float(cv2.Laplacian(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var())


class Plate:
    """A clean still of the background: the temporal median of evenly spaced cleaned frames for
    a still camera, else the sharpest cleaned frame."""

    def __init__(self, count: int):
        self.every = max(1, -(-count // PLATE_SAMPLES))
        self.samples: list[np.ndarray] = []
        self.best: tuple[float, np.ndarray] | None = None
        self.still = self.frames = 0

    def add(self, index: int, rgb: np.ndarray, still: bool) -> None:
        self.frames += 1
        self.still += still
        if index % self.every == 0:
            self.samples.append(rgb)
        score = sharpness(rgb)
        if self.best is None or score > self.best[0]:
            self.best = (score, rgb)

    def image(self) -> tuple[np.ndarray | None, str]:
        if self.best is None:
            return None, ""
        if self.still * 2 > self.frames and len(self.samples) >= 3:
            stack = np.stack(self.samples)
            return np.median(stack, axis=0).round().astype(np.uint8), \
                f"temporal median of {len(self.samples)} cleaned frames (still camera)"
        return self.best[1], "the sharpest cleaned frame (the camera moves)"


def run_classical(request: RemoveRequest, progress: Progress | None = None) -> RemoveResult:
    """Stream the cleaned frames of ``request`` (see the module doc)."""
    report = progress or (lambda fraction, desc="": None)
    result = RemoveResult(iter(()), request.count, request.fps, request.size)
    stream = M.FlowStream(request.size, request.flow_side)
    small, scale = stream.small, stream.scale
    grow = max(1, round(2 * scale + 1))  # a margin at the flow size, so no object flow leaks

    def frames() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        source = M.request_frames(request)
        propagator = Propagator(request, small, scale)
        plate = Plate(request.count)
        window: deque[Entry] = deque()
        done = 0

        def entry_of(frame: M.Frame) -> Entry:
            hole = M.dilate(frame.mask, request.dilate)
            small_hole = M.dilate(M.resize_mask(hole, small), grow)
            entry = Entry(frame.index, frame.rgb, hole, small_hole)
            if frame.flows is not None:
                prev = window[-1]
                prev.raw_next, entry.raw_prev = frame.flows.forward, frame.flows.backward
                outside = ~small_hole
                if outside.any():
                    entry.motion = float(np.median(np.linalg.norm(
                        frame.flows.backward[outside], axis=-1))) / scale
            return entry

        def emit(at: int) -> tuple[np.ndarray, np.ndarray]:
            nonlocal done
            items = list(window)
            out, still = propagator.fill(items, at)
            plate.add(items[at].index, out, still)
            done += 1
            report(min(1.0, done / max(1, request.count)), f"frame {done}/{request.count}")
            return out, items[at].hole

        position = 0  # window position of the next frame to emit
        for frame in source:
            window.append(entry_of(frame))
            if len(window) - 1 - position >= request.neighbours:
                yield emit(position)
                position += 1
                if position > request.neighbours:
                    old = window.popleft()
                    propagator.remember(old, window[0].motion < request.still_motion)
                    position -= 1
        while position < len(window):
            yield emit(position)
            position += 1
        result.plate, how = plate.image()
        counts = propagator.counts
        hole = max(1, counts["hole"])
        result.info.update(
            frames=done, still_frames=propagator.still_frames, plate=how,
            filled={k: round(v / hole, 4) for k, v in counts.items() if k != "hole"},
            hole_pixels=counts["hole"])
        result.notes.append(
            f"Hole pixels filled from other frames: {(hole - counts['telea']) / hole:.1%} "
            f"(warped {counts['propagated'] / hole:.1%}, temporal median "
            f"{counts['median'] / hole:.1%}, remembered {counts['memory'] / hole:.1%}); "
            f"inpainted (Telea): {counts['telea'] / hole:.1%}. Still-camera frames: "
            f"{propagator.still_frames}/{done}. Clean still: {how}.")

    result.frames = frames()
    return result


class ClassicalRemover:
    """Runner of ``remove.classical``."""

    device, dtype = "cpu", "float32"

    def modules(self) -> dict[str, object]:
        return {}

    def __call__(self, request: RemoveRequest, progress: Progress | None = None
                 ) -> RemoveResult:
        return run_classical(request, progress)


def build(ctx: LoadContext) -> ClassicalRemover:
    return ClassicalRemover()
