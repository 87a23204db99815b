"""Lip sync measured on a rendered talking head: does the mouth follow the speech?

The output video is read back and each frame's mouth opening measured with the MediaPipe face
mesh (:mod:`pipelines.landmarks`): the inner-lip gap over the inter-ocular distance
(:func:`pipelines.landmarks.mouth_opening`). It is compared with the speech's gated loudness at
the video's frame rate (:func:`pipelines.talking_head.analysis.analyse`):

* ``r``: the Pearson correlation of opening and loudness at lag 0, and the best lag within
  +-3 frames (a positive lag: the mouth moves after the sound) with its correlation;
* ``at_rest``: the fraction of pause frames (loudness 0, at least 3 frames into the pause) whose
  mouth is at rest, within :data:`REST_TOLERANCE` of the face input's own opening (the
  portrait's, or the first frame's of a face video);
* ``found``: the fraction of frames in which the mesh found a face.

The benchmark (``bench/talking_head.py --sync``) and the talking-heads tab's comparison use
these functions; nothing here imports torch.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pipelines import landmarks, media
from pipelines.errors import InputError
from pipelines.talking_head.analysis import SAMPLE_RATE, analyse

REST_TOLERANCE = 0.03  # mouth opening (inner-lip gap / inter-ocular distance) still "at rest"
MAX_LAG = 3  # frames either side searched for the best correlation
SETTLED = 3  # pause frames that must pass before the mouth is expected at rest


@dataclass(frozen=True)
class SyncFigures:
    """How well one video's mouth follows its speech (NaN where a figure has no data)."""

    r: float  # Pearson correlation of mouth opening and loudness at lag 0
    best_lag: int  # the lag (frames, -3..3) with the highest correlation
    r_best: float  # the correlation at that lag
    pause_frames: int  # settled pause frames with a face found
    at_rest: float  # of those, the fraction with the mouth at rest
    found: float  # fraction of frames with a face found


def mouth_curve(video: str | Path, mesh: Any) -> np.ndarray:
    """Per frame of ``video``: inner-lip gap / inter-ocular distance (NaN where no face)."""
    out = []
    for _, frame in media.iter_frames(video):
        faces = mesh(frame, max_faces=1)
        out.append(landmarks.mouth_opening(faces[0]) if faces else np.nan)
    return np.asarray(out, np.float64)


def first_frame(path: str | Path) -> np.ndarray:
    """The face input's picture: the image itself, or a video's first frame."""
    try:
        return media.load_image(path).rgb
    except InputError:
        for _, frame in media.iter_frames(path, end=1):
            return frame
    raise InputError(f"The face input '{Path(path).name}' has no frames to measure.")


def rest_opening(face: str | Path, mesh: Any) -> float:
    """The mouth opening of the face input's own picture (NaN when the mesh finds no face)."""
    faces = mesh(first_frame(face), max_faces=1)
    return landmarks.mouth_opening(faces[0]) if faces else float("nan")


def sync_scores(opening: np.ndarray, loudness: np.ndarray, rest: float) -> SyncFigures:
    """The figures from per-frame mouth openings (NaN: no face) and loudness (0: silence)."""
    n = min(len(opening), len(loudness))
    opening = np.asarray(opening, np.float64)[:n]
    loudness = np.asarray(loudness, np.float64)[:n]
    ok = ~np.isnan(opening)

    def corr(lag: int) -> float:  # lag > 0: the mouth moves after the sound
        a = opening[lag:] if lag >= 0 else opening[:lag]
        b = loudness[: n - lag] if lag >= 0 else loudness[-lag:]
        m = ok[lag:] if lag >= 0 else ok[:lag]
        if m.sum() <= 3 or np.ptp(a[m]) == 0 or np.ptp(b[m]) == 0:
            return float("nan")
        return float(np.corrcoef(a[m], b[m])[0, 1])

    lags = {lag: corr(lag) for lag in range(-MAX_LAG, MAX_LAG + 1)}
    best = max(lags, key=lambda k: -np.inf if np.isnan(lags[k]) else lags[k])
    silent = loudness <= 0
    run = np.convolve(silent, np.ones(SETTLED + 1), "full")[:n]  # silent frames ending here
    pause = silent & (run >= SETTLED + 1) & ok
    at_rest = (float((opening[pause] <= rest + REST_TOLERANCE).mean())
               if pause.any() and not np.isnan(rest) else float("nan"))
    return SyncFigures(r=lags[0], best_lag=best, r_best=lags[best], pause_frames=int(pause.sum()),
                       at_rest=at_rest, found=float(ok.mean()) if n else 0.0)


def speech_loudness(audio: str | Path, fps: float) -> np.ndarray:
    """The speech's gated loudness per video frame (the curve the backends are driven by)."""
    return analyse(media.read_audio(audio, SAMPLE_RATE), fps).loudness


def measure(video: str | Path, loudness: np.ndarray, rest: float, mesh: Any) -> SyncFigures:
    """The sync figures of one rendered ``video`` against its speech's ``loudness``."""
    return sync_scores(mouth_curve(video, mesh), loudness, rest)
