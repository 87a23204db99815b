"""Sizes of LivePortrait's five networks (data only: importing this imports no torch).

:data:`PUBLISHED` holds the values of ``src/config/models.yaml`` in KwaiVGI/LivePortrait plus the
constructor defaults that file leaves implicit (ConvNeXt-V2-Tiny depths and widths, 66 pose bins,
the SPADE blocks' 128 hidden channels and the decoder's 64 output channels). The published
checkpoints load only into networks of exactly these sizes.

A weights folder may carry ``liveportrait/config.json`` with a partial override of these values;
the tests use that to load tiny seeded checkpoints laid out like the Hub repo. The published repo
has no such file, so a real download always builds the published sizes.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from pipelines.errors import StudioError

CONFIG_FILE = "liveportrait/config.json"

PUBLISHED: dict[str, dict[str, Any]] = {
    # F: source image -> 3D appearance feature volume (32 x 16 x 64 x 64 for a 256 crop)
    "appearance_feature_extractor": {
        "image_channel": 3,
        "block_expansion": 64,
        "num_down_blocks": 2,
        "max_features": 512,
        "reshape_channel": 32,
        "reshape_depth": 16,
        "num_resblocks": 6,
    },
    # M: image -> canonical keypoints, head pose bins, translation, scale, expression
    "motion_extractor": {
        "num_kp": 21,
        "num_bins": 66,
        "depths": [3, 3, 9, 3],  # ConvNeXt-V2-Tiny
        "dims": [96, 192, 384, 768],
    },
    # W: keypoints -> dense 3D flow + occlusion, warps F's volume
    "warping_module": {
        "num_kp": 21,
        "block_expansion": 64,
        "max_features": 512,
        "num_down_blocks": 2,
        "reshape_channel": 32,
        "estimate_occlusion_map": True,
        "dense_motion_params": {
            "block_expansion": 32,
            "max_features": 1024,
            "num_blocks": 5,
            "reshape_depth": 16,
            "compress": 4,
        },
    },
    # G: warped features -> 512 x 512 image
    "spade_generator": {
        "upscale": 2,
        "block_expansion": 64,
        "max_features": 512,
        "num_down_blocks": 2,
        "out_channels": 64,
        "spade_hidden": 128,
    },
    # S and R: keypoint MLPs (input sizes follow from num_kp = 21)
    "stitching_retargeting_module": {
        "stitching": {"input_size": 126, "hidden_sizes": [128, 128, 64], "output_size": 65},
        "lip": {"input_size": 65, "hidden_sizes": [128, 128, 64], "output_size": 63},
        "eye": {"input_size": 66, "hidden_sizes": [256, 256, 128, 128, 64], "output_size": 63},
    },
}

# Keys of the retargeting checkpoint, one state dict per MLP.
RETARGETING_KEYS = {
    "stitching": "retarget_shoulder",
    "lip": "retarget_mouth",
    "eye": "retarget_eye",
}


def merged(overrides: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """The published config with ``overrides`` merged in (nested dicts merge key by key)."""

    def merge(base: dict[str, Any], extra: dict[str, Any], where: str) -> dict[str, Any]:
        out = copy.deepcopy(base)
        for key, value in extra.items():
            if key not in base:
                raise StudioError(
                    f"{CONFIG_FILE}: unknown setting '{where}{key}'; the known ones are "
                    f"{', '.join(sorted(base))}."
                )
            if isinstance(base[key], dict):
                if not isinstance(value, dict):
                    raise StudioError(f"{CONFIG_FILE}: '{where}{key}' must be a mapping.")
                out[key] = merge(base[key], value, f"{where}{key}.")
            else:
                out[key] = value
        return out

    config = merge(PUBLISHED, overrides or {}, "")
    app = config["appearance_feature_extractor"]
    if app["reshape_channel"] * app["reshape_depth"] != app["max_features"]:
        raise StudioError(
            f"{CONFIG_FILE}: reshape_channel x reshape_depth must equal max_features "
            "(the 2D features are reshaped into the 3D volume)."
        )
    return config


def load_config(weights: Path | None) -> dict[str, dict[str, Any]]:
    """The config for a weights folder: published sizes, or the folder's override file."""
    path = None if weights is None else weights / CONFIG_FILE
    if path is None or not path.is_file():
        return merged()
    try:
        overrides = json.loads(path.read_text())
    except (OSError, ValueError) as err:
        raise StudioError(f"{path} is not readable JSON ({err}); fix or delete it.") from err
    if not isinstance(overrides, dict):
        raise StudioError(f"{path} must hold a JSON object of settings.")
    return merged(overrides)
