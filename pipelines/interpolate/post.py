""""Smooth to N fps": frame interpolation as a post-step of another task's job.

Portrait animation and talking heads make clips at the model's or the audio's rate (SVD makes
7 fps, the classical backends 24-25); a user who wants 50 or 60 fps ticks a setting, and the job
interpolates its finished video with the classical (weight-free, scene-cut aware) backend. The
smoothed file becomes the job's ``video`` output; the original stays beside it.
"""

from __future__ import annotations

from pathlib import Path

from pipelines.task import JobContext

BACKEND = "interpolate.classical"


def smooth(ctx: JobContext, label: str, fps: float, span: float = 0.0) -> Path | None:
    """Interpolate output ``label`` up to ``fps``; returns the new file, or None when the video
    is already at or above that rate (noted). Sound is carried over in sync."""
    from fractions import Fraction

    from pipelines.interpolate.types import InterpolateRequest
    from pipelines.media import probe_video

    source = ctx.run.path / ctx.run.outputs[label]
    rate = probe_video(source).fps
    if fps <= rate + 1e-3:
        ctx.note(f"The clip is already {rate:g} fps, so smoothing to {fps:g} fps was skipped.")
        return None
    if ctx.registry is None:
        raise RuntimeError("smoothing needs the job's registry")
    with ctx.stage("smooth", span) as report, ctx.registry.pinned(BACKEND) as interpolator:
        result = interpolator(InterpolateRequest(source, factor=None, fps=float(fps)), report)
        audio = source if result.info.get("has_audio") else None
        ctx.run.outputs[f"{label}_source"] = ctx.run.outputs.pop(label)
        path, written = ctx.write_video(
            label, f"{source.stem}_{fps:g}fps.mp4", result.frames,
            Fraction(result.info.get("out_fps_fraction") or Fraction(result.fps)), audio=audio,
            count=result.count, progress=report)
    ctx.note(f"Smoothed from {rate:g} to {result.fps:g} fps by frame interpolation "
             f"({result.info.get('interpolated', 0)} frames made).")
    ctx.data.update(fps=result.fps, frames=written)
    return path
