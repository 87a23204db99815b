"""Speed of the metric networks and formulas on this machine.

Full-size I3D and LPIPS networks with random weights (speed does not depend on weight values),
so nothing is downloaded. Run from the repository root: ``python bench/metrics_speed.py``.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable

import numpy as np
import torch

from metrics import fvd as fvd_metrics
from metrics.image import lpips
from pipelines.networks.i3d import I3DConfig, I3DFeatures, VideoFeatureRequest, build_network
from pipelines.networks.lpips_alex import build_lpips


def best(work: Callable[[], object], repeat: int = 3) -> float:
    """The fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    from torchvision.models import alexnet

    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    video = rng.integers(0, 256, (48, 360, 640, 3), dtype=np.uint8)
    seconds = best(lambda: fvd_metrics.clip_for_i3d(video))
    print(f"clip_for_i3d, 48 frames of 640x360 -> 16x224x224: {seconds * 1e3:.0f} ms")
    runner = I3DFeatures(build_network(I3DConfig()).eval(), "cpu", torch.float32)
    clips = [fvd_metrics.clip_for_i3d(video)] * 4
    runner(VideoFeatureRequest(clips[:1]))  # warm-up
    for count in (1, 4):
        seconds = best(lambda n=count: runner(VideoFeatureRequest(clips[:n], batch_size=n)), 2)
        print(f"I3D features, {count} clip(s): {seconds:.2f} s ({seconds / count:.2f} s per clip)")
    backbone = {k[len("features."):]: v for k, v in alexnet().state_dict().items()
                if k.startswith("features.")}  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        net = build_lpips(backbone)
    for side in (256, 512, 1024):
        a = rng.integers(0, 256, (side, side, 3), dtype=np.uint8)
        b = np.ascontiguousarray(a[::-1])
        lpips(a, b, net)  # warm-up
        seconds = best(lambda a=a, b=b: lpips(a, b, net))
        print(f"LPIPS, one {side}x{side} pair: {seconds * 1e3:.0f} ms")
    for count in (16, 256):
        fa, fb = rng.normal(size=(count, 1024)), rng.normal(size=(count, 1024))
        seconds = best(lambda fa=fa, fb=fb: fvd_metrics.fvd(fa, fb))
        print(f"fvd() of two sets of {count} x 1024 features: {seconds * 1e3:.0f} ms")


if __name__ == "__main__":
    main()
