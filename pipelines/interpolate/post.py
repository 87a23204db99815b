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


def interpolate_output(ctx: JobContext, label: str, *, fps: float | None = None,
                       factor: int | None = None, backend: str = BACKEND,
                       span: float = 0.0) -> Path:
    """Interpolate the job's output video ``label`` (to ``fps``, or by ``factor``) inside the
    same run: the new file becomes ``label`` and the original stays as ``label_source``. Sound is
    carried over in sync; cuts are never blended."""
    from fractions import Fraction

    from pipelines.interpolate.types import InterpolateRequest

    if ctx.registry is None:
        raise RuntimeError("interpolating an output needs the job's registry")
    source = ctx.run.path / ctx.run.outputs[label]
    request = InterpolateRequest(source, factor=None if fps else factor, fps=fps or None)
    spec = ctx.registry.resolve("interpolate", backend)
    with ctx.stage("interpolate", span) as report, ctx.registry.pinned(spec.id) as runner:
        result = runner(request, report)
        audio = source if result.info.get("has_audio") else None
        ctx.run.outputs[f"{label}_source"] = ctx.run.outputs.pop(label)
        path, written = ctx.write_video(
            label, f"{source.stem}_{result.fps:g}fps.mp4", result.frames,
            Fraction(result.info.get("out_fps_fraction") or Fraction(result.fps)), audio=audio,
            count=result.count, progress=report)
    ctx.run.extra["interpolation"] = {"backend": spec.id, **result.info}
    ctx.note(*result.notes)
    ctx.note(f"Interpolated from {result.info.get('source_fps', 0):g} to {result.fps:g} fps "
             f"with {spec.label} ({result.info.get('interpolated', 0)} frames made).")
    ctx.data.update(fps=result.fps, frames=written)
    return path


def smooth(ctx: JobContext, label: str, fps: float, span: float = 0.0) -> Path | None:
    """Interpolate output ``label`` up to ``fps``; returns the new file, or None when the video
    is already at or above that rate (noted)."""
    from pipelines.media import probe_video

    rate = probe_video(ctx.run.path / ctx.run.outputs[label]).fps
    if fps <= rate + 1e-3:
        ctx.note(f"The clip is already {rate:g} fps, so smoothing to {fps:g} fps was skipped.")
        return None
    return interpolate_output(ctx, label, fps=fps, span=span)
