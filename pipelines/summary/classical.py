"""The weight-free summary backend: one picture from a video, by mode.

- ``panorama``: frames sampled along the pan, stitched (:mod:`pipelines.summary.panorama`);
- ``action``: the subject every few frames over the median background
  (:mod:`pipelines.summary.action`);
- ``mosaic``: a grid of evenly spaced or per-shot frames with timecodes
  (:mod:`pipelines.summary.mosaic`).

Only the sampled frames are decoded and held (the per-shot mosaic streams every frame past the
shot detector and keeps a bounded pool), so the length of the video does not matter.
"""

from __future__ import annotations

from itertools import pairwise
from typing import Any

import numpy as np

from pipelines.errors import InputError
from pipelines.progress import Progress, no_progress
from pipelines.registry import LoadContext
from pipelines.summary import action, mosaic, panorama
from pipelines.summary.frames import Span, open_span, read, sample
from pipelines.summary.types import SummaryRequest, SummaryResult, UsedFrame

BACKGROUND_FRAMES = 25  # frames the action shot's median background is taken from
STILL_CAMERA = 1.1  # a panorama less than this many frame widths (or heights) barely moved
OVERLAP = 0.5  # consecutive subject copies overlapping more than this get a note

_WHAT = {"mosaic": "a mosaic of {n} tiles", "action": "an action shot of {n} copies",
         "panorama": "a panorama of {n} frames"}


def check_length(count: int, request: SummaryRequest, where: str = "") -> None:
    """Refuse a span too short for the request, saying what to change."""
    what = _WHAT[request.mode].format(n=request.frames)
    if request.step:
        if count < request.step + 1:
            raise InputError(f"The video has {count} frame(s){where}; frames {request.step} "
                             f"apart need at least {request.step + 1}: lower 'step', or use "
                             f"a longer clip.")
    elif count < request.frames:
        raise InputError(f"The video has {count} frame(s){where}; {what} needs at least "
                         f"{request.frames}: lower 'frames' to {max(2, count)} or less, or "
                         f"use a longer clip.")
    if count < 2:
        raise InputError(f"The video has {count} frame(s){where}; a summary needs at least 2: "
                         f"use a longer clip.")


def _where(request: SummaryRequest) -> str:
    return " between 'start' and 'end'" if request.start or request.end else ""


class SummaryRunner:
    """One picture from a video (no weights; CPU)."""

    device, dtype = "cpu", "float32"

    def modules(self) -> dict[str, Any]:
        return {}

    def __call__(self, request: SummaryRequest, progress: Progress | None = None
                 ) -> SummaryResult:
        report = progress or no_progress
        report(0.0, "reading the video's timestamps")
        span = open_span(request.video, request.start, request.end)
        check_length(span.count, request, _where(request))
        run = {"panorama": self._panorama, "action": self._action, "mosaic": self._mosaic}
        if request.mode not in run:
            raise InputError(f"Unknown summary mode '{request.mode}'; use one of "
                             f"{', '.join(run)}.")
        result = run[request.mode](request, span, report)
        report(1.0, "done")
        return result

    # -- panorama ------------------------------------------------------------------------------
    def _panorama(self, request: SummaryRequest, span: Span, report: Progress) -> SummaryResult:
        indices = sample(span, request.frames, request.step)
        report(0.05, f"reading {len(indices)} frames")
        frames = read(span, indices, request.max_side)
        report(0.3, f"stitching {len(frames)} frames")
        picture, joined, mask = panorama.stitch([f for _, f in frames], request.stitch,
                                                coverage=request.crop)
        stitched = picture.shape[:2]
        if mask is not None:
            report(0.9, "cropping the empty border")
            picture = panorama.crop_covered(picture, mask)
        notes = []
        if request.step and len(frames) < request.frames:
            notes.append(f"{len(frames)} frames fit {request.step} frames apart, not "
                         f"{request.frames}.")
        if len(joined) < len(frames):
            notes.append(f"{len(joined)} of the {len(frames)} sampled frames joined the "
                         f"panorama; the others did not overlap it (a cut, or too fast a "
                         f"pan: limit 'start' and 'end' or take frames closer together).")
        height, width = frames[0][1].shape[:2]
        if stitched[0] < STILL_CAMERA * height and stitched[1] < STILL_CAMERA * width:
            notes.append("The panorama is hardly larger than one frame: the camera barely "
                         "moved (an action shot or a mosaic may suit this clip better).")
        used = [UsedFrame(frames[i][0], span.time(frames[i][0]), "stitched") for i in joined]
        info = {"sampled": [i for i, _ in frames], "joined": [u.index for u in used],
                "stitched_size": [stitched[1], stitched[0]], "stitch": request.stitch,
                "cropped": request.crop}
        return SummaryResult([picture], "panorama", used, span.info.fps, notes, info)

    # -- action shot ---------------------------------------------------------------------------
    def _action(self, request: SummaryRequest, span: Span, report: Progress) -> SummaryResult:
        back_indices = sample(span, BACKGROUND_FRAMES)
        subject_indices = sample(span, request.frames, request.step)
        report(0.05, f"reading {len(back_indices)} background frames")
        background = read(span, back_indices, request.max_side)
        report(0.45, f"reading {len(subject_indices)} subject frames")
        subjects = read(span, subject_indices, request.max_side)
        if len(background) < 2 or len(subjects) < 2:
            raise InputError(f"Only {min(len(background), len(subjects))} frame(s) could be "
                             f"read{_where(request)}; an action shot needs at least 2: use a "
                             f"longer clip.")
        report(0.8, "cutting out the subject")
        picture, masks = action.action_shot([f for _, f in background],
                                            [f for _, f in subjects], request.threshold)
        shares = [float(m.mean()) for m in masks]
        notes = self._action_notes(request, subjects, masks)
        used = ([UsedFrame(i, span.time(i), "background") for i, _ in background]
                + [UsedFrame(i, span.time(i), "subject") for i, _ in subjects])
        info = {"subjects": [i for i, _ in subjects],
                "subject_share": [round(s, 5) for s in shares],
                "background_frames": len(background), "threshold": request.threshold}
        return SummaryResult([picture], "action", used, span.info.fps, notes, info)

    @staticmethod
    def _action_notes(request: SummaryRequest, subjects: list, masks: list[np.ndarray]
                      ) -> list[str]:
        notes = []
        if request.step and len(subjects) < request.frames:
            notes.append(f"{len(subjects)} copies fit {request.step} frames apart, not "
                         f"{request.frames}.")
        empty = [i for (i, _), m in zip(subjects, masks, strict=True) if not m.any()]
        if empty:
            notes.append(f"No moving subject was found in {len(empty)} of the "
                         f"{len(subjects)} frames (frame {', '.join(map(str, empty[:5]))}"
                         f"{', ...' if len(empty) > 5 else ''}); lower 'threshold' if the "
                         f"subject is there.")
        overlaps = [float((a & b).sum() / max(1, (a | b).sum()))
                    for a, b in pairwise(masks)]
        if overlaps and float(np.median(overlaps)) > OVERLAP:
            notes.append("Consecutive copies of the subject overlap by more than half: a "
                         "larger 'step' or fewer 'frames' spreads them out.")
        return notes

    # -- mosaic --------------------------------------------------------------------------------
    def _mosaic(self, request: SummaryRequest, span: Span, report: Progress) -> SummaryResult:
        info = span.info
        grid = mosaic.plan_grid(request.frames, (info.width, info.height), request.max_side,
                                request.columns, request.labels)
        tile_side = max(grid.tile)
        notes = []
        if request.selection == "scenes":
            found = mosaic.scene_pass(span, tile_side, lambda f, d: report(0.05 + 0.85 * f, d))
            picked = mosaic.pick_per_shot(found, span, request.frames)
            frames = [(i, found.pool[i]) for i in picked]
            if not found.cuts:
                notes.append("No scene change was found; the tiles are evenly spaced.")
            extra = {"cuts": found.cuts, "shots": len(found.cuts) + 1}
        else:
            indices = sample(span, request.frames, request.step, ends=False)
            report(0.05, f"reading {len(indices)} frames")
            frames = read(span, indices, tile_side)
            extra = {}
        if not frames:
            raise InputError(f"No frame could be read{_where(request)}: use a longer clip.")
        if len(frames) < request.frames:
            why = ("the shots held no more distinct frames" if request.selection == "scenes"
                   else f"no more fit {request.step} frames apart" if request.step
                   else "the video had no more frames")
            notes.append(f"{len(frames)} tiles, not {request.frames}: {why}.")
            grid = mosaic.plan_grid(len(frames), (info.width, info.height), request.max_side,
                                    request.columns, request.labels)
        report(0.92, "drawing the grid")
        picture = mosaic.render(grid, [(i, span.time(i), f) for i, f in frames])
        used = [UsedFrame(i, span.time(i), "tile") for i, _ in frames]
        return SummaryResult([picture], "mosaic", used, info.fps, notes,
                             {"grid": grid.as_dict(), "selection": request.selection, **extra})


def build(ctx: LoadContext) -> SummaryRunner:
    """Builder of ``summary.classical`` (weight-free)."""
    return SummaryRunner()
