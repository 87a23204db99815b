"""Step caches of the diffusers video transformers (``enable_cache``), by the studio's names.

Each name maps to one of diffusers' cache configurations; :func:`set_cache` switches a runner's
denoisers from one cache to another (or none) without reloading anything. Which backend takes
which cache was checked against the installed diffusers by tests/test_i2v_models.py and is
declared in ``specs.CACHES``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pipelines.errors import InputError
from pipelines.portrait.types import STEP_CACHE_LABELS


def cache_config(name: str, timestep: Callable[[], Any], tensor_format: str,
                 dtype: Any) -> Any:
    """The diffusers configuration behind cache ``name`` (not ``none``)."""
    from diffusers import (
        FasterCacheConfig,
        FirstBlockCacheConfig,
        PyramidAttentionBroadcastConfig,
        TaylorSeerCacheConfig,
    )

    if name == "first_block":
        # ParaAttention's default: recompute when the first block's residual moves > 5 %.
        return FirstBlockCacheConfig(threshold=0.05)
    if name == "pab":
        return PyramidAttentionBroadcastConfig(
            spatial_attention_block_skip_range=2,
            spatial_attention_timestep_skip_range=(100, 800),
            current_timestep_callback=timestep,
        )
    if name == "faster":
        return FasterCacheConfig(
            spatial_attention_block_skip_range=2,
            spatial_attention_timestep_skip_range=(-1, 681),
            low_frequency_weight_update_timestep_range=(99, 641),
            high_frequency_weight_update_timestep_range=(-1, 301),
            unconditional_batch_skip_range=5,
            unconditional_batch_timestep_skip_range=(-1, 781),
            attention_weight_callback=lambda _: 0.5,
            current_timestep_callback=timestep,
            tensor_format=tensor_format,
        )
    if name == "taylorseer":
        return TaylorSeerCacheConfig(cache_interval=4, disable_cache_before_step=4,
                                     max_order=1, taylor_factors_dtype=dtype)
    raise InputError(f"Unknown step cache '{name}'; use one of {', '.join(STEP_CACHE_LABELS)}.")


def set_cache(modules: list[Any], name: str, *, supported: tuple[str, ...], model: str,
              timestep: Callable[[], Any], tensor_format: str, dtype: Any) -> None:
    """Turn every denoiser's cache off, then on with ``name`` (unless ``none``)."""
    if name != "none" and name not in supported:
        choices = ", ".join(("none", *supported))
        raise InputError(f"{model} does not take the '{name}' step cache in this version of "
                         f"diffusers; use one of {choices}.")
    for module in modules:
        if getattr(module, "is_cache_enabled", False):
            module.disable_cache()
    if name == "none":
        return
    for module in modules:
        module.enable_cache(cache_config(name, timestep, tensor_format, dtype))


def reset_cache_state(modules: list[Any]) -> None:
    """Forget what a cache remembered from the previous video before the next one starts."""
    for module in modules:
        registry = getattr(module, "_diffusers_hook", None)
        if registry is not None:
            registry.reset_stateful_hooks(recurse=True)
