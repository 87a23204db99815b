"""Inception-I3D video features (Carreira & Zisserman, 2017) for the Fréchet Video Distance.

The network is the Inception-v1 I3D of "Quo Vadis, Action Recognition?", with the module names
of the widely used PyTorch port (``Conv3d_1a_7x7`` ... ``Mixed_5c``, ``logits``; every unit a
``conv3d`` + ``bn`` pair), so the converted Kinetics-400 RGB state dicts load as they are.
Convolutions and max-pools pad like TensorFlow's "SAME" (more padding after than before when
the total is odd), as the converted weights expect. Channel widths come from
:class:`I3DConfig`, so tests build a tiny network with the same layout.

The runner takes uint8 clips as :func:`metrics.fvd.clip_for_i3d` makes them (16 x 224 x 224 x 3),
scales them to [-0.5, 0.5] (``x / 255 - 0.5``, exactly what VideoGPT's ``preprocess`` feeds its
I3D) and returns, per clip, the Mixed_5c activations averaged over time and space (1024 values
for the full network) or, with ``output="logits"``, the 400 Kinetics logits computed from them
(what the reference FVD compares). Batch norm uses VideoGPT's epsilon, 1e-5. Sources of each
constant: docs/metrics.md.
"""

from __future__ import annotations

import dataclasses
import json
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.errors import InputError, StudioError
from pipelines.progress import Progress
from pipelines.registry import LoadContext

if TYPE_CHECKING:
    import torch

CONFIG_FILE = "i3d_config.json"  # optional, next to the weights: a non-default (tiny) network
MIXED_BLOCKS = ("Mixed_3b", "Mixed_3c", "Mixed_4b", "Mixed_4c", "Mixed_4d", "Mixed_4e",
                "Mixed_4f", "Mixed_5b", "Mixed_5c")  # fmt: skip
OUTPUTS = ("features", "logits")
INPUT_OFFSET = 0.5  # VideoGPT's preprocess: pixels / 255 - 0.5 (its fvd.py does not rescale)


@dataclass(frozen=True)
class I3DConfig:
    """Widths of the network. ``mixed`` holds, per Inception block, the output channels of its
    branches: 1x1 | 1x1 -> 3x3x3 | 1x1 -> 3x3x3 | max-pool -> 1x1."""

    in_channels: int = 3
    stem: tuple[int, int, int] = (64, 64, 192)  # Conv3d_1a_7x7, Conv3d_2b_1x1, Conv3d_2c_3x3
    mixed: tuple[tuple[int, int, int, int, int, int], ...] = (
        (64, 96, 128, 16, 32, 32),
        (128, 128, 192, 32, 96, 64),
        (192, 96, 208, 16, 48, 64),
        (160, 112, 224, 24, 64, 64),
        (128, 128, 256, 24, 64, 64),
        (112, 144, 288, 32, 64, 64),
        (256, 160, 320, 32, 128, 128),
        (256, 160, 320, 32, 128, 128),
        (384, 192, 384, 48, 128, 128),
    )
    num_classes: int = 400
    bn_eps: float = 1e-5  # VideoGPT's pytorch_i3d.py Unit3D (the reference FVD network)

    def __post_init__(self) -> None:
        if len(self.stem) != 3 or len(self.mixed) != len(MIXED_BLOCKS):
            raise ValueError(f"I3DConfig needs 3 stem widths and {len(MIXED_BLOCKS)} blocks")
        if any(len(widths) != 6 for widths in self.mixed):
            raise ValueError("each Inception block needs 6 branch widths")

    @property
    def feature_dim(self) -> int:
        """Channels out of Mixed_5c: the length of a feature vector."""
        return block_out(self.mixed[-1])

    def scaled(self, divisor: int) -> I3DConfig:
        """The same layout with every width divided by ``divisor`` (at least 1 channel)."""
        def shrink(width: int) -> int:
            return max(1, math.ceil(width / divisor))

        return dataclasses.replace(
            self,
            stem=tuple(shrink(w) for w in self.stem),
            mixed=tuple(tuple(shrink(w) for w in block) for block in self.mixed),
        )

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> I3DConfig:
        data = json.loads(text)
        data["stem"] = tuple(data["stem"])
        data["mixed"] = tuple(tuple(block) for block in data["mixed"])
        return cls(**data)


def block_out(widths: Sequence[int]) -> int:
    """Output channels of an Inception block: its four branches concatenated."""
    return widths[0] + widths[2] + widths[4] + widths[5]


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow "SAME" padding of one axis: (before, after)."""
    total = max(kernel - (stride if size % stride == 0 else size % stride), 0)
    return total // 2, total - total // 2


def build_network(config: I3DConfig):
    """The I3D ``torch.nn.Module`` for ``config`` (random weights)."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    def pad_same(x: torch.Tensor, kernel: tuple[int, ...], stride: tuple[int, ...]):
        pads: list[int] = []
        for size, k, s in reversed(list(zip(x.shape[2:], kernel, stride, strict=True))):
            pads.extend(_same_padding(size, k, s))
        return F.pad(x, pads)

    class Unit3D(nn.Module):
        """Conv3d (SAME padding) -> batch norm -> ReLU; the logits unit has a bias instead."""

        def __init__(self, cin: int, cout: int, kernel=(1, 1, 1), stride=(1, 1, 1), *,
                     norm: bool = True, relu: bool = True):
            super().__init__()
            self.kernel, self.stride, self.relu = tuple(kernel), tuple(stride), relu
            self.conv3d = nn.Conv3d(cin, cout, self.kernel, self.stride, bias=not norm)
            self.bn = nn.BatchNorm3d(cout, eps=config.bn_eps) if norm else None

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = self.conv3d(pad_same(x, self.kernel, self.stride))
            if self.bn is not None:
                x = self.bn(x)
            return F.relu(x) if self.relu else x

    class MaxPoolSame(nn.Module):
        def __init__(self, kernel: tuple[int, int, int], stride: tuple[int, int, int]):
            super().__init__()
            self.kernel, self.stride = kernel, stride

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            # Zero padding, as the port does: its inputs are ReLU outputs, never below 0.
            return F.max_pool3d(pad_same(x, self.kernel, self.stride), self.kernel, self.stride)

    class Inception(nn.Module):
        def __init__(self, cin: int, widths: Sequence[int]):
            super().__init__()
            self.b0 = Unit3D(cin, widths[0])
            self.b1a = Unit3D(cin, widths[1])
            self.b1b = Unit3D(widths[1], widths[2], (3, 3, 3))
            self.b2a = Unit3D(cin, widths[3])
            self.b2b = Unit3D(widths[3], widths[4], (3, 3, 3))
            self.b3a = MaxPoolSame((3, 3, 3), (1, 1, 1))
            self.b3b = Unit3D(cin, widths[5])

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)),
                              self.b3b(self.b3a(x))], dim=1)  # fmt: skip

    class InceptionI3D(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            c1, c2, c3 = config.stem
            layers: list[tuple[str, nn.Module]] = [
                ("Conv3d_1a_7x7", Unit3D(config.in_channels, c1, (7, 7, 7), (2, 2, 2))),
                ("MaxPool3d_2a_3x3", MaxPoolSame((1, 3, 3), (1, 2, 2))),
                ("Conv3d_2b_1x1", Unit3D(c1, c2)),
                ("Conv3d_2c_3x3", Unit3D(c2, c3, (3, 3, 3))),
                ("MaxPool3d_3a_3x3", MaxPoolSame((1, 3, 3), (1, 2, 2))),
            ]
            pools = {"Mixed_4b": ("MaxPool3d_4a_3x3", (3, 3, 3), (2, 2, 2)),
                     "Mixed_5b": ("MaxPool3d_5a_2x2", (2, 2, 2), (2, 2, 2))}  # fmt: skip
            channels = c3
            for name, widths in zip(MIXED_BLOCKS, config.mixed, strict=True):
                if name in pools:
                    pool_name, kernel, stride = pools[name]
                    layers.append((pool_name, MaxPoolSame(kernel, stride)))
                layers.append((name, Inception(channels, widths)))
                channels = block_out(widths)
            self.order = [name for name, _ in layers]
            for name, layer in layers:
                self.add_module(name, layer)
            self.logits = Unit3D(channels, config.num_classes, norm=False, relu=False)

        def features(self, x: torch.Tensor) -> torch.Tensor:
            """(N, 3, T, H, W) in [-0.5, 0.5] -> (N, feature_dim): Mixed_5c averaged over
            T, H, W."""
            for name in self.order:
                x = self._modules[name](x)
            return x.mean(dim=(2, 3, 4))

        def classify(self, features: torch.Tensor) -> torch.Tensor:
            """Kinetics logits from pooled features. The port averages Mixed_5c over a 2x7x7
            window before its 1x1x1 logits layer; for a 16 x 224 x 224 clip that window is the
            whole map, so this equals it there."""
            return self.logits(features[:, :, None, None, None]).flatten(1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.classify(self.features(x))

    return InceptionI3D()


def load_state(network, state: dict[str, Any], source: str) -> None:
    """Load a converted state dict; BatchNorm step counters (absent from old exports) may be
    missing, anything else missing or unexpected is an error naming ``source``."""
    result = network.load_state_dict(state, strict=False)
    missing = [k for k in result.missing_keys if not k.endswith("num_batches_tracked")]
    if missing or result.unexpected_keys:
        raise StudioError(
            f"{source} is not an Inception-I3D checkpoint of this layout (missing "
            f"{missing[:4]}, unexpected {list(result.unexpected_keys)[:4]}). Fetch it again with "
            "`python cli.py fetch metrics.i3d`."
        )


@dataclass(frozen=True)
class VideoFeatureRequest:
    clips: Sequence[np.ndarray]  # uint8 (T, H, W, 3), all the same shape (see clip_for_i3d)
    batch_size: int = 8
    output: str = "features"  # "features" (pooled Mixed_5c) or "logits" (Kinetics-400)


@dataclass
class VideoFeatureResult:
    features: np.ndarray  # (len(clips), D) float32
    timings: dict[str, float] = field(default_factory=dict)


class I3DFeatures:
    """Runner: clips in, one feature vector per clip out."""

    def __init__(self, network, device: str, dtype):
        self.network, self.device, self.dtype = network, device, dtype

    def modules(self) -> dict[str, object]:
        return {"i3d": self.network}

    def _check(self, request: VideoFeatureRequest) -> tuple[int, ...]:
        if request.output not in OUTPUTS:
            raise InputError(f"I3D output must be one of {OUTPUTS}; got '{request.output}'.")
        if not request.clips:
            raise InputError("No clips were given to the I3D feature extractor.")
        shape = np.shape(request.clips[0])
        for clip in request.clips:
            clip = np.asarray(clip)
            if clip.dtype != np.uint8 or clip.ndim != 4 or clip.shape[-1] != 3:
                raise InputError("I3D clips must be uint8 (T, H, W, 3) arrays; prepare each "
                                 "video with metrics.fvd.clip_for_i3d.")
            if clip.shape != shape:
                raise InputError(f"I3D clips must all have the same shape; got {shape} and "
                                 f"{clip.shape}. Prepare each video with clip_for_i3d.")
        return shape

    def __call__(self, request: VideoFeatureRequest,
                 progress: Progress | None = None) -> VideoFeatureResult:
        import torch

        self._check(request)
        step, total = max(1, request.batch_size), len(request.clips)
        chunks: list[np.ndarray] = []
        start = time.perf_counter()
        with torch.inference_mode():
            for first in range(0, total, step):
                batch = np.stack([np.asarray(c) for c in request.clips[first:first + step]])
                x = torch.from_numpy(batch).to(self.device).permute(0, 4, 1, 2, 3)
                x = x.to(self.dtype) / 255.0 - INPUT_OFFSET
                out = self.network.features(x)
                if request.output == "logits":
                    out = self.network.classify(out)
                chunks.append(out.float().cpu().numpy())
                if progress:
                    progress(min(first + step, total) / total, "I3D features")
        return VideoFeatureResult(np.concatenate(chunks).astype(np.float32),
                                  {"features": time.perf_counter() - start})


def _read_state(path: Path) -> dict[str, Any]:
    import torch

    if path.suffix == ".safetensors":
        from safetensors.torch import load_file

        return load_file(str(path))
    return torch.load(path, map_location="cpu", weights_only=True)


def build(ctx: LoadContext) -> I3DFeatures:
    """The I3D runner from the spec's checkpoint (and ``i3d_config.json`` when present)."""
    path = ctx.file(ctx.spec.files[0])
    config_path = next((p for p in (path.parent / CONFIG_FILE, ctx.weights / CONFIG_FILE)
                        if p.is_file()), None)
    config = I3DConfig.from_json(config_path.read_text()) if config_path else I3DConfig()
    network = build_network(config)
    load_state(network, _read_state(path), path.name)
    network = network.eval().to(ctx.device, ctx.torch_dtype)
    return I3DFeatures(network, ctx.device, ctx.torch_dtype)
