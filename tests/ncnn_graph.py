"""ncnn graphs for the converter's tests: a writer of RRDBNet ``.param``/``.bin`` pairs in ncnn's
format, and a reference executor that runs a ``.param`` graph layer by layer with torch ops (the
layer types RRDBNet's graph uses), so a converted network can be compared with the graph it came
from, not only with the converter's own idea of it."""

from __future__ import annotations

import numpy as np

from pipelines.super_res import ncnn

LEAKY = "9=2 -23310=1,2.000000e-01"


def _conv_line(name: str, src: str, dst: str, weight: np.ndarray, leaky: bool) -> str:
    out, inp, kh, kw = weight.shape
    line = (f"Convolution {name} 1 1 {src} {dst} 0={out} 1={kw} 11={kh} 4=1 5=1 "
            f"6={out * inp * kh * kw}")
    return f"{line} {LEAKY}" if leaky else line


def write_rrdbnet(state: dict[str, np.ndarray], num_block: int,
                  float32_keys: frozenset[str] = frozenset()) -> tuple[str, bytes]:
    """``(param text, bin bytes)`` of an RRDBNet x4 with the given BasicSR-named weights: the
    kernels in float16 (tag 0x01306B47), those in ``float32_keys`` in float32 (tag 0), biases raw
    float32, in the order the network runs them."""
    lines: list[str] = ["Input input 0 1 data"]
    chunks: list[bytes] = []

    def conv(key: str, src: str, dst: str, leaky: bool) -> str:
        weight = state[f"{key}.weight"]
        lines.append(_conv_line(key, src, dst, weight, leaky))
        if key in float32_keys:
            chunks.append(np.uint32(ncnn.TAG_FLOAT32).tobytes()
                          + weight.astype("<f4").tobytes())
        else:
            data = weight.astype("<f2").tobytes()
            chunks.append(np.uint32(ncnn.TAG_FLOAT16).tobytes() + data
                          + b"\0" * (-len(data) % 4))
        chunks.append(state[f"{key}.bias"].astype("<f4").tobytes())
        return dst

    def eltwise(name: str, residual: str, base: str) -> str:
        lines.append(f"Eltwise {name} 2 1 {residual} {base} {name}_out 0=1 "
                     "-23301=2,2.000000e-01,1.000000e+00")
        return f"{name}_out"

    first = conv("conv_first", "data", "feat", False)
    x = first
    for b in range(num_block):
        block_in = x
        for r in (1, 2, 3):
            prefix = f"body.{b}.rdb{r}"
            feats = [x]
            for c in range(1, 6):
                src = feats[0]
                if len(feats) > 1:
                    src = f"{prefix}.cat{c}"
                    lines.append(f"Concat {prefix}.concat{c} {len(feats)} 1 {' '.join(feats)} "
                                 f"{src} 0=0")
                feats.append(conv(f"{prefix}.conv{c}", src, f"{prefix}.y{c}", c < 5))
            x = eltwise(f"{prefix}.add", feats[-1], x)
        x = eltwise(f"body.{b}.add", x, block_in)
    body = conv("conv_body", x, "body", False)
    lines.append(f"BinaryOp trunk 2 1 {first} {body} trunk 0=0")
    lines.append("Interp up1 1 1 trunk up1 0=1 1=2.000000e+00 2=2.000000e+00")
    x = conv("conv_up1", "up1", "f_up1", True)
    lines.append(f"Interp up2 1 1 {x} up2 0=1 1=2.000000e+00 2=2.000000e+00")
    x = conv("conv_up2", "up2", "f_up2", True)
    x = conv("conv_hr", x, "f_hr", True)
    conv("conv_last", x, "output", False)
    blobs = len({w for line in lines for w in line.split()[4:] if "=" not in w})
    text = "\n".join([ncnn.MAGIC, f"{len(lines)} {blobs}", *lines]) + "\n"
    return text, b"".join(chunks)


def random_rrdbnet(num_block: int, num_feat: int, num_grow: int,
                   seed: int = 0) -> dict[str, np.ndarray]:
    """BasicSR-named RRDBNet weights, random, small enough to stay stable through the net."""
    rng = np.random.default_rng(seed)
    state = {}
    for key, ((out, inp), _) in ncnn.rrdbnet_shapes(num_block, num_feat, num_grow).items():
        scale = 1.0 / np.sqrt(inp * 9)
        state[f"{key}.weight"] = (rng.standard_normal((out, inp, 3, 3)) * scale).astype("f4")
        state[f"{key}.bias"] = (rng.standard_normal(out) * 0.05).astype("f4")
    return state


def run(param_text: str, bin_bytes: bytes, x):
    """Execute the graph on ``x`` (``(1, 3, H, W)`` float32 torch tensor): the reference."""
    import torch
    import torch.nn.functional as F

    layers = ncnn.read_param(param_text)
    convs = iter(ncnn.read_convolutions(layers, bin_bytes))
    blobs = {}
    for layer in layers:
        ins = [blobs[name] for name in layer.inputs]
        if layer.type == "Input":
            out = [x]
        elif layer.type == "Convolution":
            c = next(convs)
            y = F.conv2d(ins[0], torch.from_numpy(c.weight.astype(np.float32)),
                         torch.from_numpy(c.bias.copy()), stride=c.stride, padding=c.padding,
                         dilation=c.dilation)
            out = [F.leaky_relu(y, c.slope) if c.activation == 2 else y]
        elif layer.type == "Split":
            out = [ins[0]] * len(layer.outputs)
        elif layer.type == "Concat":
            out = [torch.cat(ins, 1)]
        elif layer.type == "Eltwise" and layer.number(0) == 1:  # weighted sum
            coeffs = [float(v) for v in layer.params.get(-23301, "0").split(",")[1:]]
            coeffs = coeffs or [1.0] * len(ins)
            out = [sum(k * t for k, t in zip(coeffs, ins, strict=True))]
        elif layer.type == "BinaryOp" and layer.number(0) == 0:  # add
            out = [ins[0] + ins[1]]
        elif layer.type == "Interp" and layer.number(0) == 1:  # nearest
            out = [F.interpolate(ins[0], scale_factor=float(layer.params[1]), mode="nearest")]
        else:
            raise ValueError(f"the reference executor has no {layer.type} ({layer.params})")
        blobs.update(zip(layer.outputs, out, strict=True))
    return blobs[layers[-1].outputs[0]]
