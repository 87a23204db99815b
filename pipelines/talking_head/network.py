"""The Wav2Lip generator (Prajwal et al., ACM MM 2020), written from the published architecture.

A face encoder reads a 96x96 face crop whose lower half is blanked, stacked with a reference
crop of the same face (6 channels); an audio encoder reads an 80x16 mel window; a decoder with
skip connections from every face-encoder level turns the audio embedding back into a 96x96 face
with a sigmoid output. Module and parameter names follow the public checkpoints
(``face_encoder_blocks.*``, ``audio_encoder.*``, ``face_decoder_blocks.*``, ``output_block.*``,
each layer a ``conv_block`` of convolution plus batch norm), so their state dicts load strictly.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

FACE_SIZE = 96
Stride = int | tuple[int, int]


class ConvBlock(nn.Module):
    """Convolution (or transposed convolution) + batch norm + ReLU, optionally residual."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: Stride = 1, padding: int = 0,
                 *, residual: bool = False, transpose: bool = False, output_padding: int = 0):
        super().__init__()
        if transpose:
            conv = nn.ConvTranspose2d(cin, cout, kernel, stride, padding, output_padding)
        else:
            conv = nn.Conv2d(cin, cout, kernel, stride, padding)
        self.conv_block = nn.Sequential(conv, nn.BatchNorm2d(cout))
        self.residual = residual

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv_block(x)
        return torch.relu(out + x if self.residual else out)


def _down(cin: int, cout: int, stride: Stride, residuals: int) -> list[nn.Module]:
    """A strided 3x3 block followed by ``residuals`` residual 3x3 blocks."""
    return [ConvBlock(cin, cout, 3, stride, 1),
            *(ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(residuals))]


def _up(cin: int, cout: int, stride: int, residuals: int) -> list[nn.Module]:
    """A transposed 3x3 block (x2 upsampling for stride 2) and ``residuals`` residual blocks."""
    padding, extra = (1, 1) if stride == 2 else (0, 0)
    return [ConvBlock(cin, cout, 3, stride, padding, transpose=True, output_padding=extra),
            *(ConvBlock(cout, cout, 3, 1, 1, residual=True) for _ in range(residuals))]


def _squeeze(channels: int) -> list[nn.Module]:
    """3x3 valid then 1x1: a 3x3 map becomes a 1x1 embedding."""
    return [ConvBlock(channels, 512, 3, 1, 0), ConvBlock(512, 512, 1, 1, 0)]


class Wav2Lip(nn.Module):
    """``forward(mel, faces)``: mel ``(B, 1, 80, 16)``, faces ``(B, 6, 96, 96)`` in [0, 1]
    (blanked crop, then reference crop; BGR like the training data) -> ``(B, 3, 96, 96)``."""

    def __init__(self) -> None:
        super().__init__()
        # Face encoder: 96 -> 48 -> 24 -> 12 -> 6 -> 3 -> 1, keeping every level for the skips.
        self.face_encoder_blocks = nn.ModuleList(nn.Sequential(*layers) for layers in (
            [ConvBlock(6, 16, 7, 1, 3)],
            _down(16, 32, 2, 2),
            _down(32, 64, 2, 3),
            _down(64, 128, 2, 2),
            _down(128, 256, 2, 2),
            _down(256, 512, 2, 1),
            _squeeze(512),
        ))
        # Audio encoder: 80x16 -> 27x16 -> 9x6 -> 3x3 -> 1x1.
        self.audio_encoder = nn.Sequential(
            *_down(1, 32, 1, 2), *_down(32, 64, (3, 1), 2), *_down(64, 128, 3, 2),
            *_down(128, 256, (3, 2), 1), *_squeeze(256),
        )
        # Decoder: each block's output is joined with the encoder level of the same size.
        self.face_decoder_blocks = nn.ModuleList(nn.Sequential(*layers) for layers in (
            [ConvBlock(512, 512, 1, 1, 0)],
            _up(1024, 512, 1, 1),
            _up(1024, 512, 2, 2),
            _up(768, 384, 2, 2),
            _up(512, 256, 2, 2),
            _up(320, 128, 2, 2),
            _up(160, 64, 2, 2),
        ))
        self.output_block = nn.Sequential(ConvBlock(80, 32, 3, 1, 1), nn.Conv2d(32, 3, 1),
                                          nn.Sigmoid())

    def forward(self, mel: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
        skips = []
        x = faces
        for block in self.face_encoder_blocks:
            x = block(x)
            skips.append(x)
        x = self.audio_encoder(mel)
        for block in self.face_decoder_blocks:
            x = torch.cat((block(x), skips.pop()), dim=1)
        return self.output_block(x)


def checkpoint_state(checkpoint: Any) -> dict[str, torch.Tensor]:
    """The generator's state dict from a loaded checkpoint file.

    Training saved ``{"state_dict": ..., "optimizer": ..., "global_step": ...}`` from a
    ``DataParallel`` model, so keys may carry a ``module.`` prefix; bare state dicts work too.
    """
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, Mapping) else None
    if not isinstance(state, Mapping):
        raise ValueError("the file holds no state dict")
    return {key.removeprefix("module."): value for key, value in state.items()}
