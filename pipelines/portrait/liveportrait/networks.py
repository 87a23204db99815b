"""LivePortrait's five networks, written from the published architecture (Guo et al., 2024).

==============================  ===========================================================
``AppearanceFeatureExtractor``  F: 256x256 image -> 3D feature volume (32 x 16 x 64 x 64)
``MotionExtractor``             M: image -> 21 canonical keypoints, pose bins, t, scale, exp
``WarpingNetwork``              W: dense 3D motion from two keypoint sets, warps F's volume
``SPADEDecoder``                G: warped features -> 512 x 512 image
``StitchingRetargetingNetwork`` S / R: small MLPs on keypoints (stitching, lip, eye)
==============================  ===========================================================

Parameter names equal those of the checkpoints in the Hub repo ``KwaiVGI/LivePortrait``
(``liveportrait/base_models/*.pth``, ``liveportrait/retargeting_models/*.pth``).
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pipelines.portrait.liveportrait.blocks import (
    ConvNeXtV2,
    DownBlock2d,
    Hourglass,
    ResBlock3d,
    SameBlock2d,
    SPADEResnetBlock,
    coordinate_grid,
    keypoint_gaussians,
)

KP_VARIANCE = 0.01  # width of the keypoint heat maps on the [-1, 1] grid


class AppearanceFeatureExtractor(nn.Module):
    def __init__(
        self,
        image_channel: int,
        block_expansion: int,
        num_down_blocks: int,
        max_features: int,
        reshape_channel: int,
        reshape_depth: int,
        num_resblocks: int,
    ):
        super().__init__()
        self.reshape_channel = reshape_channel
        self.reshape_depth = reshape_depth
        self.first = SameBlock2d(image_channel, block_expansion)
        widths = [min(max_features, block_expansion * 2**i) for i in range(num_down_blocks + 1)]
        self.down_blocks = nn.ModuleList(
            DownBlock2d(widths[i], widths[i + 1]) for i in range(num_down_blocks)
        )
        self.second = nn.Conv2d(widths[-1], max_features, kernel_size=1)
        self.resblocks_3d = nn.Sequential()
        for i in range(num_resblocks):
            self.resblocks_3d.add_module(f"3dr{i}", ResBlock3d(reshape_channel))

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        x = self.first(image)
        for block in self.down_blocks:
            x = block(x)
        x = self.second(x)
        b, _, h, w = x.shape
        return self.resblocks_3d(x.view(b, self.reshape_channel, self.reshape_depth, h, w))


class MotionExtractor(nn.Module):
    def __init__(self, num_kp: int, num_bins: int, depths, dims, backbone="convnextv2_tiny"):
        super().__init__()
        self.detector = ConvNeXtV2(depths, dims, num_kp=num_kp, num_bins=num_bins)

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        return self.detector(image)


class DenseMotionNetwork(nn.Module):
    """Sparse per-keypoint motions + heat maps -> hourglass -> soft masks -> dense flow."""

    def __init__(
        self,
        block_expansion: int,
        num_blocks: int,
        max_features: int,
        num_kp: int,
        feature_channel: int,
        reshape_depth: int,
        compress: int,
        estimate_occlusion_map: bool = True,
    ):
        super().__init__()
        self.num_kp = num_kp
        self.hourglass = Hourglass(
            block_expansion, (num_kp + 1) * (compress + 1), num_blocks, max_features
        )
        out = self.hourglass.out_filters
        self.mask = nn.Conv3d(out, num_kp + 1, kernel_size=7, padding=3)
        self.compress = nn.Conv3d(feature_channel, compress, kernel_size=1)
        self.norm = nn.BatchNorm3d(compress, affine=True)
        self.occlusion = (
            nn.Conv2d(out * reshape_depth, 1, kernel_size=7, padding=3)
            if estimate_occlusion_map
            else None
        )

    def forward(
        self, feature: torch.Tensor, kp_driving: torch.Tensor, kp_source: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        b = feature.shape[0]
        k = self.num_kp
        feature = F.relu(self.norm(self.compress(feature)))
        c, d, h, w = feature.shape[1:]

        # 1. One motion per keypoint (a translation taking the driving keypoint to the source
        #    one) plus the identity for the background: (B, K+1, d, h, w, 3).
        identity = coordinate_grid(d, h, w, kp_source)[None, None]
        shift = (kp_source - kp_driving).view(b, k, 1, 1, 1, 3)
        motions = torch.cat([identity.expand(b, 1, d, h, w, 3), identity + shift], dim=1)

        # 2. The compressed feature warped by each motion: (B, K+1, c, d, h, w).
        repeated = feature.unsqueeze(1).expand(b, k + 1, c, d, h, w).reshape(-1, c, d, h, w)
        warped = F.grid_sample(repeated, motions.reshape(-1, d, h, w, 3), align_corners=False)
        warped = warped.view(b, k + 1, c, d, h, w)

        # 3. Heat maps of driving minus source keypoints, zero for the background.
        heat = keypoint_gaussians(kp_driving, d, h, w, KP_VARIANCE) - keypoint_gaussians(
            kp_source, d, h, w, KP_VARIANCE
        )
        heat = torch.cat([heat.new_zeros(b, 1, d, h, w), heat], dim=1).unsqueeze(2)

        x = torch.cat([heat, warped], dim=2).view(b, -1, d, h, w)
        prediction = self.hourglass(x)
        mask = F.softmax(self.mask(prediction), dim=1)  # (B, K+1, d, h, w)
        deformation = (motions * mask.unsqueeze(-1)).sum(dim=1)  # (B, d, h, w, 3)
        out = {"mask": mask, "deformation": deformation}
        if self.occlusion is not None:
            flat = prediction.reshape(b, -1, h, w)
            out["occlusion_map"] = torch.sigmoid(self.occlusion(flat))
        return out


class WarpingNetwork(nn.Module):
    def __init__(
        self,
        num_kp: int,
        block_expansion: int,
        max_features: int,
        num_down_blocks: int,
        reshape_channel: int,
        estimate_occlusion_map: bool = True,
        dense_motion_params: dict[str, Any] | None = None,
        use_occlusion_map: bool = True,
    ):
        super().__init__()
        self.dense_motion_network = DenseMotionNetwork(
            num_kp=num_kp,
            feature_channel=reshape_channel,
            estimate_occlusion_map=estimate_occlusion_map,
            **(dense_motion_params or {}),
        )
        width = block_expansion * 2**num_down_blocks
        self.third = SameBlock2d(max_features, width, lrelu=True)
        self.fourth = nn.Conv2d(width, width, kernel_size=1)
        self.use_occlusion_map = use_occlusion_map

    def forward(
        self, feature_3d: torch.Tensor, kp_driving: torch.Tensor, kp_source: torch.Tensor
    ) -> dict[str, torch.Tensor]:
        motion = self.dense_motion_network(feature_3d, kp_driving, kp_source)
        warped = F.grid_sample(feature_3d, motion["deformation"], align_corners=False)
        b, c, d, h, w = warped.shape
        out = self.fourth(self.third(warped.view(b, c * d, h, w)))
        occlusion = motion.get("occlusion_map")
        if self.use_occlusion_map and occlusion is not None:
            out = out * occlusion
        return {"out": out, "occlusion_map": occlusion, "deformation": motion["deformation"]}


class SPADEDecoder(nn.Module):
    def __init__(
        self,
        upscale: int = 2,
        max_features: int = 512,
        block_expansion: int = 64,
        out_channels: int = 64,
        num_down_blocks: int = 2,
        spade_hidden: int = 128,
    ):
        super().__init__()
        cin = min(max_features, block_expansion * 2**num_down_blocks)
        wide = 2 * cin

        def block(fin: int, fout: int) -> SPADEResnetBlock:
            return SPADEResnetBlock(fin, fout, label_channels=cin, hidden=spade_hidden)

        self.fc = nn.Conv2d(cin, wide, kernel_size=3, padding=1)
        for i in range(6):
            setattr(self, f"G_middle_{i}", block(wide, wide))
        self.up_0 = block(wide, cin)
        self.up_1 = block(cin, out_channels)
        self.up = nn.Upsample(scale_factor=2)
        if upscale is None or upscale <= 1:
            self.conv_img = nn.Conv2d(out_channels, 3, kernel_size=3, padding=1)
        else:
            self.conv_img = nn.Sequential(
                nn.Conv2d(out_channels, 3 * upscale**2, kernel_size=3, padding=1),
                nn.PixelShuffle(upscale_factor=upscale),
            )

    def forward(self, feature: torch.Tensor) -> torch.Tensor:
        x = self.fc(feature)
        for i in range(6):
            x = getattr(self, f"G_middle_{i}")(x, feature)
        x = self.up_0(self.up(x), feature)
        x = self.up_1(self.up(x), feature)
        return torch.sigmoid(self.conv_img(F.leaky_relu(x, 0.2)))


class StitchingRetargetingNetwork(nn.Module):
    """Linear / ReLU stack; one each for stitching, lip and eye retargeting."""

    def __init__(self, input_size: int, hidden_sizes, output_size: int):
        super().__init__()
        layers: list[nn.Module] = []
        width = input_size
        for hidden in hidden_sizes:
            layers += [nn.Linear(width, hidden), nn.ReLU(inplace=True)]
            width = hidden
        layers.append(nn.Linear(width, output_size))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mlp(x)


# --------------------------------------------------------------------------------------------

NETWORK_FILES = {
    "appearance_feature_extractor": "liveportrait/base_models/appearance_feature_extractor.pth",
    "motion_extractor": "liveportrait/base_models/motion_extractor.pth",
    "warping_module": "liveportrait/base_models/warping_module.pth",
    "spade_generator": "liveportrait/base_models/spade_generator.pth",
    "stitching_retargeting_module": (
        "liveportrait/retargeting_models/stitching_retargeting_module.pth"
    ),
}


def build_networks(config: dict[str, dict[str, Any]]) -> dict[str, nn.Module]:
    """Every network at the sizes of ``config`` (see :mod:`.config`), randomly initialised.

    Keys: the four base networks by file stem, plus ``stitching``, ``lip`` and ``eye``.
    """
    retarget = config["stitching_retargeting_module"]
    return {
        "appearance_feature_extractor": AppearanceFeatureExtractor(
            **config["appearance_feature_extractor"]
        ),
        "motion_extractor": MotionExtractor(**config["motion_extractor"]),
        "warping_module": WarpingNetwork(**config["warping_module"]),
        "spade_generator": SPADEDecoder(**config["spade_generator"]),
        "stitching": StitchingRetargetingNetwork(**retarget["stitching"]),
        "lip": StitchingRetargetingNetwork(**retarget["lip"]),
        "eye": StitchingRetargetingNetwork(**retarget["eye"]),
    }
