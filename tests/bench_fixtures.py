"""Fixtures of the benchmark tests, and the keyframe example's ground truth.

``python -m tests.bench_fixtures`` (re)writes ``assets/benchmark/keyframes_example_truth.json``:
the shot boundaries of the timeline that ``tests.keyframes_fixtures.write_example`` renders into
``assets/keyframes/example.mp4``, so the benchmark can score boundary F1 on that example.
"""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.benchmark.adapters import KeyframesAdapter
from tests.keyframes_fixtures import EXAMPLE, short_timeline

ROOT = Path(__file__).resolve().parent.parent


def keyframes_truth() -> dict:
    """The example video's path (under assets/) and its boundaries as [frame, start, end]."""
    timeline = short_timeline()
    return {"video": EXAMPLE.relative_to(ROOT / "assets").as_posix(),
            "frames": timeline.frame_count,
            "boundaries": [[b.frame, b.start, b.end] for b in timeline.boundaries],
            "kinds": [b.kind for b in timeline.boundaries]}


def write_keyframes_truth(path: Path = KeyframesAdapter.truth_file) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(keyframes_truth(), indent=2) + "\n", encoding="utf-8")
    return path


def tiny_upscaler(folder: Path) -> Path:
    """A tiny Real-ESRGAN Compact x4 checkpoint (``realesr-animevideov3.pth`` layout)."""
    from tests.super_res_fixtures import compact_state_dict, save_checkpoint

    return save_checkpoint(folder, "realesr-animevideov3.pth", compact_state_dict(scale=4))


def bench_registry(folder: Path, *, networks: bool = True):
    """The shipped registry with a tiny Real-ESRGAN Compact checkpoint and, with ``networks``,
    tiny CLIP, I3D and LPIPS checkpoints for the metric specs (every file built from a seed)."""
    from pipelines.catalog import build_registry
    from tests.checkpoints import tiny_clip_checkpoint, tiny_i3d_checkpoint, tiny_lpips_checkpoint

    registry = build_registry()
    registry.replace("super_res.realesr-animevideov3",
                     repo_id=str(tiny_upscaler(folder / "upscaler")))
    if networks:
        for spec_id, make in (("metrics.clip-vit-b32", tiny_clip_checkpoint),
                              ("metrics.i3d", tiny_i3d_checkpoint),
                              ("metrics.lpips-alex", tiny_lpips_checkpoint)):
            make(folder / spec_id)
            registry.replace(spec_id, repo_id=str(folder / spec_id))
    return registry


def small_inputs(folder: Path) -> dict[str, Path]:
    """A 96x96 photo and a 10-frame 96x64 panning video: inputs that keep a bench run fast."""
    import cv2
    from skimage import data

    from pipelines.media import save_image
    from tests.style_fixtures import write_panning_video

    folder.mkdir(parents=True, exist_ok=True)
    photo = cv2.resize(data.astronaut(), (96, 96), interpolation=cv2.INTER_AREA)
    return {"image": save_image(folder / "face.png", photo),
            "video": write_panning_video(folder / "pan.mp4", frames=10, fps=10.0, width=96,
                                         height=64, noise=2.0)}


if __name__ == "__main__":
    print(write_keyframes_truth())
