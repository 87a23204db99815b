"""Drawing maps: depth through the inferno colour map (near is bright) and as 16-bit grey,
flow on the colour wheel (hue: direction, saturation: speed up to a clip-wide maximum; white:
still), masks in white on black; each beside its frame."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import cv2
import numpy as np


def depth_range(depth: np.ndarray) -> tuple[float, float]:
    low, high = np.percentile(depth[::4, ::4], (1, 99))
    return float(low), float(high)


def normalise(depth: np.ndarray, low: float, high: float) -> np.ndarray:
    """Depth scaled so ``low`` is 0 and ``high`` is 1, clipped."""
    span = high - low if high > low else 1.0
    return np.clip((depth.astype(np.float32) - low) / span, 0.0, 1.0)


def depth_colour(unit: np.ndarray) -> np.ndarray:
    grey8 = np.round(unit * 255).astype(np.uint8)
    return cv2.cvtColor(cv2.applyColorMap(grey8, cv2.COLORMAP_INFERNO), cv2.COLOR_BGR2RGB)


def depth_png16(unit: np.ndarray) -> bytes:
    ok, data = cv2.imencode(".png", np.round(unit * 65535).astype(np.uint16))
    assert ok
    return data.tobytes()


def flow_speed(flow: np.ndarray) -> float:
    """The 99th percentile of the flow's speed (pixels per frame step)."""
    return float(np.percentile(np.hypot(flow[::4, ::4, 0], flow[::4, ::4, 1]), 99))


def flow_colour(flow: np.ndarray, speed: float) -> np.ndarray:
    """The colour wheel: hue from the direction, saturation from speed / ``speed`` (white: no
    motion; fully saturated at ``speed`` and above)."""
    magnitude, angle = cv2.cartToPolar(flow[..., 0], flow[..., 1], angleInDegrees=True)
    hsv = np.empty((*flow.shape[:2], 3), np.uint8)
    hsv[..., 0] = np.round(angle / 2).astype(np.uint8) % 180
    hsv[..., 1] = np.round(np.clip(magnitude / max(speed, 1e-6), 0, 1) * 255).astype(np.uint8)
    hsv[..., 2] = 255
    return cv2.cvtColor(hsv, cv2.COLOR_HSV2RGB)


def mask_colour(mask: np.ndarray) -> np.ndarray:
    return np.repeat((mask.astype(np.uint8) * 255)[..., None], 3, axis=2)


def side_by_side(rgb: np.ndarray, picture: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(np.hstack([rgb, picture]))


def picture_each(kind: str, item: Any) -> np.ndarray:
    """A :class:`~pipelines.maps.types.MapFrame`'s map drawn on its own scale (depth: its own
    range; flow: its own top speed)."""
    if kind == "depth":
        return depth_colour(normalise(item.map, *depth_range(item.map)))
    if kind == "flow":
        return flow_colour(item.map, flow_speed(item.map))
    return mask_colour(item.map)


def side_by_side_each(kind: str, maps: Iterable[Any]) -> Iterator[np.ndarray]:
    for item in maps:
        yield side_by_side(item.rgb, picture_each(kind, item))
