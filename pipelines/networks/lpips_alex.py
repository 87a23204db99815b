"""LPIPS v0.1 with the AlexNet backbone (Zhang et al., 2018), its weights through the registry.

The lpips package ships the learned linear layers (``weights/v0.1/alex.pth``) but asks
torchvision to download the ImageNet AlexNet it runs them on. Here the network is built with
``pnet_rand=True`` (torchvision builds AlexNet with random weights and downloads nothing) and
the backbone's convolution weights are then loaded from the spec's checkpoint: a torchvision
AlexNet state dict (``features.N.weight`` / ``features.N.bias``; the classifier is not read).
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from pipelines.errors import InputError, StudioError
from pipelines.progress import Progress
from pipelines.registry import LoadContext

FEATURES = "features."  # prefix of the AlexNet convolution weights in a torchvision state dict


@dataclass(frozen=True)
class LpipsRequest:
    pairs: Sequence[tuple[np.ndarray, np.ndarray]]  # (prediction, target), same shape each


@dataclass
class LpipsResult:
    distances: list[float]  # one per pair; 0 is identical, lower is better
    timings: dict[str, float] = field(default_factory=dict)


class LpipsAlex:
    """Runner: LPIPS distances of image pairs (``metrics.image.lpips`` on this network)."""

    def __init__(self, net, device: str):
        self.net, self.device = net, device

    def modules(self) -> dict[str, object]:
        return {"lpips": self.net}

    def distance(self, a: np.ndarray, b: np.ndarray) -> float:
        from metrics.image import lpips

        try:
            return lpips(a, b, self.net)
        except ValueError as err:
            raise InputError(f"LPIPS cannot compare these images: {err}.") from err

    def __call__(self, request: LpipsRequest,
                 progress: Progress | None = None) -> LpipsResult:
        start = time.perf_counter()
        distances = []
        for done, (a, b) in enumerate(request.pairs, 1):
            distances.append(self.distance(a, b))
            if progress:
                progress(done / len(request.pairs), "LPIPS")
        return LpipsResult(distances, {"lpips": time.perf_counter() - start})


def backbone_state(path: Path) -> dict[str, Any]:
    """The ``features.*`` tensors of a torchvision AlexNet checkpoint (safetensors or a
    ``torch.load(weights_only=True)`` state dict), keys without the ``features.`` prefix."""
    import torch

    if path.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(path), framework="pt") as handle:
            names = [k for k in handle.keys() if k.startswith(FEATURES)]  # noqa: SIM118
            return {k[len(FEATURES):]: handle.get_tensor(k) for k in names}
    state = torch.load(path, map_location="cpu", weights_only=True)
    return {k[len(FEATURES):]: v for k, v in state.items() if k.startswith(FEATURES)}


def load_backbone(net, state: dict[str, Any], source: str) -> None:
    """Copy AlexNet ``features`` weights into the slices of an ``lpips.LPIPS`` network."""
    import torch

    targets = {
        f"{index}.{kind}": getattr(layer, kind)
        for chunk in net.net.children()  # the slices hold AlexNet's layers under their indices
        for index, layer in chunk.named_children()
        for kind in ("weight", "bias")
        if getattr(layer, kind, None) is not None
    }
    missing = sorted(set(targets) - set(state))
    wrong = [k for k in targets if k in state and state[k].shape != targets[k].shape]
    if missing or wrong:
        raise StudioError(
            f"{source} is not a torchvision AlexNet checkpoint (missing features.{missing[:3]}, "
            f"wrong shapes {wrong[:3]}). Fetch it again with "
            "`python cli.py fetch metrics.lpips-alex`."
        )
    with torch.no_grad():
        for key, parameter in targets.items():
            parameter.copy_(state[key])


def build_lpips(backbone: dict[str, Any], source: str = "the AlexNet checkpoint"):
    """An ``lpips.LPIPS`` AlexNet v0.1 network, eval mode, with ``backbone`` weights."""
    import lpips

    with warnings.catch_warnings():  # lpips asks torchvision for AlexNet the deprecated way
        warnings.simplefilter("ignore", UserWarning)
        net = lpips.LPIPS(pretrained=True, net="alex", version="0.1", pnet_rand=True,
                          verbose=False)
    load_backbone(net, backbone, source)
    return net.eval()


def build(ctx: LoadContext) -> LpipsAlex:
    path = ctx.file(ctx.spec.files[0])
    net = build_lpips(backbone_state(path), path.name)
    return LpipsAlex(net.to(ctx.device, ctx.torch_dtype), ctx.device)
