"""Memory modes of the diffusers video backends: what each does, estimates, `auto`, OOM advice.

A memory mode is a named plan of orthogonal switches (where the weights live while the model
runs, fp8 storage, a quantized transformer, VAE tiling, torch.compile). :data:`LADDER` orders the
modes from fastest (and hungriest) to lowest memory; :func:`next_lower_mode` walks it after an
out-of-memory error, :func:`pick_auto` picks the first mode whose *estimated* peak fits the free
GPU memory. Estimates come from published parameter counts and a coarse activation model
(:class:`Footprint`), so they are labelled estimates everywhere they are shown.

Importing this module imports no torch; :func:`apply_plan` and :func:`reset_plan` do.
"""

from __future__ import annotations

import dataclasses
import gc
from dataclasses import dataclass
from typing import Any

from pipelines.errors import StudioError

GIB = 1024**3


@dataclass(frozen=True)
class MemoryPlan:
    """The switches behind one memory mode."""

    placement: str = "gpu"  # gpu | model (model CPU offload) | group_block | group_leaf
    tiling: bool = False  # VAE tiling + slicing (DiT) / feed-forward chunking (UNet)
    fp8: bool = False  # denoiser weights stored in float8_e4m3fn, computed in the load dtype
    quant: str | None = None  # "int8": torchao int8 weight-only denoiser
    compile: bool = False

    @property
    def changes_weights(self) -> bool:
        """Whether leaving this mode needs the denoiser reloaded from disk."""
        return self.fp8 or self.quant is not None


PLANS: dict[str, MemoryPlan] = {
    "gpu": MemoryPlan(),
    "compile": MemoryPlan(compile=True),
    "chunked": MemoryPlan(tiling=True),
    "fp8": MemoryPlan(fp8=True, tiling=True),
    "offload": MemoryPlan(placement="model"),
    "low": MemoryPlan(placement="model", tiling=True),
    "quant_int8": MemoryPlan(placement="model", tiling=True, quant="int8"),
    "group": MemoryPlan(placement="group_block", tiling=True),
    "group_leaf": MemoryPlan(placement="group_leaf", tiling=True, fp8=True),
}
# Fastest first, lowest memory last (compile sits beside gpu and is never picked by auto: its
# first call compiles for minutes).
LADDER: tuple[str, ...] = ("gpu", "chunked", "fp8", "offload", "low", "quant_int8", "group",
                           "group_leaf")


def next_lower_mode(mode: str, estimates: dict[str, int] | None = None) -> str | None:
    """The next mode down :data:`LADDER` (uses less memory), or None at the bottom.

    With ``estimates`` (mode -> estimated peak bytes for this model and job, see
    :func:`estimate_table`) it is the next mode down whose estimate is below this mode's, so a
    rung that would not help this model (fp8 storage when offload is lower, say) is skipped.
    """
    if mode == "compile":
        mode = "gpu"
    if mode == "auto":
        mode = LADDER[0]
    if mode not in LADDER:
        raise ValueError(f"unknown memory mode {mode!r}")
    below = LADDER[LADDER.index(mode) + 1:]
    if estimates:
        below = tuple(m for m in below if estimates[m] < estimates[mode]) or below[-1:]
    return below[0] if below else None


# --------------------------------------------------------------------------------------------
# Estimates


@dataclass(frozen=True)
class Footprint:
    """Published sizes of one model family, enough for a coarse peak-memory estimate.

    Parameter counts are in billions; ``transformer`` lists every denoiser (Wan 2.2 A14B has two,
    only one runs at a time). Activation and VAE figures are per-token and per-pixel-frame bytes
    of a coarse model (activations of one transformer block pass; VAE decoder working set),
    calibrated against nothing measured here: they are estimates.
    """

    transformer: tuple[float, ...]
    text_encoder: float
    image_encoder: float
    vae: float
    blocks: int  # transformer blocks (group offload keeps about two resident)
    hidden: int
    spatial: int  # pixels per latent token side (VAE factor x patch size)
    temporal: int  # frames per latent frame
    cfg_batch: int = 1  # 2 when the pipeline batches the unconditional pass
    vae_bytes_per_pixel_frame: float = 120.0
    vae_frames_at_once: int | None = None  # causal VAEs (Wan) decode a few frames at a time
    weight_bytes: int = 2  # bf16 / fp16 storage
    largest_leaf: float = 0.3  # billions of parameters in the text encoder's largest layer


_WAN_T5 = 5.7  # umT5-XXL encoder
_T5_XXL = 4.76
FOOTPRINTS: dict[str, Footprint] = {
    "svd": Footprint((1.52,), 0.0, 0.63, 0.098, 20, 1280, 8, 1,
                     vae_bytes_per_pixel_frame=260.0, largest_leaf=0.03),
    "ltx-2b": Footprint((1.9,), _T5_XXL, 0.0, 0.42, 28, 2048, 32, 8, cfg_batch=2,
                        vae_bytes_per_pixel_frame=200.0, largest_leaf=0.13),
    "ltx-13b": Footprint((13.0,), _T5_XXL, 0.0, 0.42, 48, 4096, 32, 8, cfg_batch=2,
                         vae_bytes_per_pixel_frame=200.0, largest_leaf=0.13),
    "wan-14b": Footprint((14.3,), _WAN_T5, 0.63, 0.127, 40, 5120, 16, 4,
                         vae_bytes_per_pixel_frame=400.0, vae_frames_at_once=4, largest_leaf=1.05),
    "wan-a14b": Footprint((14.3, 14.3), _WAN_T5, 0.0, 0.127, 40, 5120, 16, 4,
                          vae_bytes_per_pixel_frame=400.0, vae_frames_at_once=4,
                          largest_leaf=1.05),
    "wan-5b": Footprint((5.0,), _WAN_T5, 0.0, 0.7, 30, 3072, 32, 4,
                        vae_bytes_per_pixel_frame=300.0, vae_frames_at_once=4, largest_leaf=1.05),
    "cogvideox-5b": Footprint((5.6,), _T5_XXL, 0.0, 0.22, 42, 3072, 16, 4, cfg_batch=2,
                              vae_bytes_per_pixel_frame=220.0, largest_leaf=0.13),
    "hunyuan15-8b": Footprint((8.3,), 7.6, 0.4, 0.5, 54, 2048, 32, 4, cfg_batch=2,
                              vae_bytes_per_pixel_frame=220.0, largest_leaf=0.55),
}
_ACTIVATION_FACTOR = 14  # bytes of live activations per token and hidden unit, over weight bytes
_TILE_PIXELS = 512 * 512 * 1.3  # a VAE tile with its overlap


def footprint_for(spec: Any) -> Footprint | None:
    """The spec's footprint (``footprint:<name>`` tag), or None for weight-free backends."""
    for tag in getattr(spec, "tags", ()):
        if tag.startswith("footprint:"):
            return FOOTPRINTS[tag.split(":", 1)[1]]
    return None


def estimate_peak_bytes(spec: Any, mode: str, frames: int, height: int, width: int) -> int:
    """Estimated peak GPU bytes of one job of ``spec`` in memory ``mode`` (an estimate, not a
    measurement: published parameter counts plus a coarse activation model)."""
    fp = footprint_for(spec)
    return 0 if fp is None else footprint_peak_bytes(fp, mode, frames, height, width)


def footprint_peak_bytes(fp: Footprint, mode: str, frames: int, height: int, width: int) -> int:
    """:func:`estimate_peak_bytes` of a footprint (the model family's published sizes)."""
    if mode == "auto":
        raise ValueError("estimate a concrete mode; 'auto' picks one of them")
    plan = PLANS[mode]
    wb = fp.weight_bytes
    latent_frames = (max(1, frames) - 1) // fp.temporal + 1
    tokens = latent_frames * max(1, height // fp.spatial) * max(1, width // fp.spatial)
    act = tokens * fp.hidden * wb * _ACTIVATION_FACTOR * fp.cfg_batch
    decoded = (fp.vae_frames_at_once or frames) * height * width
    if plan.tiling:
        decoded = (fp.vae_frames_at_once or frames) * min(height * width, _TILE_PIXELS)
    vae_act = decoded * fp.vae_bytes_per_pixel_frame
    denoiser_bytes = 1 if (plan.fp8 or plan.quant) else wb
    transformer = [p * 1e9 * denoiser_bytes for p in fp.transformer]
    text = fp.text_encoder * 1e9 * wb
    image = fp.image_encoder * 1e9 * wb
    vae = fp.vae * 1e9 * wb
    text_act = 0.2 * GIB
    if plan.placement == "gpu":
        peak = sum(transformer) + text + image + vae + max(act, vae_act, text_act)
    elif plan.placement == "model":
        peak = max(max(transformer) + act, text + text_act, image, vae + vae_act)
    else:  # group offload: about two groups resident at a time (one running, one prefetched)
        block = max(transformer) / fp.blocks
        # A block holds about six large layers (attention projections, feed-forward).
        resident = 2 * block if plan.placement == "group_block" else 2 * block / 6
        leaf = fp.largest_leaf * 1e9 * wb  # the text encoder's largest layer (its embedding)
        peak = max(resident + act, leaf + text_act, vae + vae_act)
    return int(peak)


# --------------------------------------------------------------------------------------------
# Weights on disk and in memory

COMPONENTS = ("transformer", "text_encoder", "image_encoder", "vae")


@dataclass(frozen=True)
class Storage:
    """How one family's Hub repo stores its weights, as public sources report it.

    ``bytes_per_param`` gives each component's storage precision (4: float32, 2: float16 or
    bfloat16); a component missing from it is unknown, and so is then the family's download.
    ``reported_gb`` holds file sizes a source gives (component -> GB of 10^9 bytes, as precise as
    reported): tests check the footprint's parameter counts against them.
    """

    bytes_per_param: dict[str, int]
    reported_gb: dict[str, float]
    source: str


STORAGE: dict[str, Storage] = {
    # The spec's variant: the fp16 files only (the repos also hold float32 ones).
    "svd": Storage({c: 2 for c in COMPONENTS}, {}, "variant='fp16' files (the spec's choice)"),
    "wan-5b": Storage(
        {"transformer": 4, "text_encoder": 2, "vae": 4}, {"transformer": 20.0},
        "Wan-AI/Wan2.2-TI2V-5B-Diffusers: transformer and VAE safetensors are float32, the umT5 "
        "encoder bfloat16 (model card of AbstractFramework/wan2.2-ti2v-5b-diffusers-8bit, one "
        "source); the transformer is about 20 GB on disk (docs/models.md)"),
    "ltx-13b": Storage(
        {"text_encoder": 4}, {"text_encoder": 17.74 * GIB / 1e9},
        "Lightricks/LTX-Video-0.9.7-distilled: text_encoder 17.74 GiB, float32 T5-XXL (one "
        "source, docs/models.md; the -dev repo is taken to hold the same encoder); transformer "
        "and VAE storage not found"),
}


def component_params(fp: Footprint) -> dict[str, float]:
    """Billions of parameters of each component (both Wan 2.2 A14B experts count)."""
    return {"transformer": sum(fp.transformer), "text_encoder": fp.text_encoder,
            "image_encoder": fp.image_encoder, "vae": fp.vae}


def resident_bytes(fp: Footprint) -> int:
    """Bytes of every component's weights in the load precision (:attr:`Footprint.weight_bytes`),
    as the ``gpu`` mode holds them."""
    return int(sum(component_params(fp).values()) * 1e9 * fp.weight_bytes)


def stored_bytes(name: str) -> tuple[int, tuple[str, ...]]:
    """Bytes of the family's weight files whose storage precision is known (parameter counts
    times bytes per parameter), and the components whose storage is not known."""
    storage = STORAGE.get(name, Storage({}, {}, ""))
    total, unknown = 0.0, []
    for component, params in component_params(FOOTPRINTS[name]).items():
        width = storage.bytes_per_param.get(component)
        if params and width is None:
            unknown.append(component)
        elif params:
            total += params * 1e9 * width
    return int(total), tuple(unknown)


def download_bytes(name: str) -> int | None:
    """Bytes of the family's weight files as its repo stores them, or None where a component's
    storage is not known."""
    total, unknown = stored_bytes(name)
    return None if unknown else total


def spec_memory_gb(name: str, frames: int, height: int, width: int) -> float:
    """A spec's ``est_memory_gb``: the estimated ``gpu``-mode peak (GiB, one decimal) of a job of
    its default size, from the footprint rather than typed by hand."""
    return round(footprint_peak_bytes(FOOTPRINTS[name], "gpu", frames, height, width) / GIB, 1)


def sizes_table(specs: Any) -> list[tuple[str, str, str, str]]:
    """(spec, weights in memory GiB, estimated download GB, ``est_memory_gb`` GiB) of every
    footprint-tagged spec, as text (``python -m pipelines.portrait.sizes`` prints it)."""
    rows = []
    for spec in specs:
        fp = footprint_for(spec)
        if fp is None:
            continue
        name = next(t.split(":", 1)[1] for t in spec.tags if t.startswith("footprint:"))
        known, unknown = stored_bytes(name)
        if not unknown:
            download = f"{known / 1e9:.1f}"
        elif known:
            download = f"over {known / 1e9:.1f} ({', '.join(unknown)} unknown)"
        else:
            download = "unknown"
        rows.append((spec.id, f"{resident_bytes(fp) / GIB:.1f}", download,
                     f"{spec.est_memory_gb:.1f}"))
    return rows


def estimate_table(spec: Any, frames: int, height: int, width: int) -> dict[str, int]:
    """Estimated peak bytes of every mode on :data:`LADDER` (what the tab shows)."""
    return {mode: estimate_peak_bytes(spec, mode, frames, height, width) for mode in LADDER}


def estimate_for_picture(spec: Any, frames: int, width: int, height: int, side: int
                         ) -> dict[str, int]:
    """:func:`estimate_table` for a picture of ``width`` x ``height`` run at about ``side`` x
    ``side`` pixels (what the tab knows before loading anything; sides rounded to 16)."""
    from pipelines.portrait.geometry import model_size_for

    model_w, model_h = model_size_for(width, height, side * side, 16)
    return estimate_table(spec, frames, model_h, model_w)


def pick_auto(spec: Any, frames: int, height: int, width: int, free_bytes: int,
              headroom: float = 0.9) -> tuple[str, str]:
    """(mode, note): the fastest mode on :data:`LADDER` whose estimate fits ``free_bytes``."""
    budget = free_bytes * headroom
    for mode in LADDER:
        need = estimate_peak_bytes(spec, mode, frames, height, width)
        if need <= budget:
            return mode, (f"Memory mode auto picked '{mode}' (estimated peak {need / GIB:.1f} GB "
                          f"of {free_bytes / GIB:.1f} GB free).")
    lowest = LADDER[-1]
    need = estimate_peak_bytes(spec, lowest, frames, height, width)
    return lowest, (f"Memory mode auto picked '{lowest}', the lowest, though its estimated peak "
                    f"({need / GIB:.1f} GB) exceeds the {free_bytes / GIB:.1f} GB free; use fewer "
                    "frames or a smaller resolution if it runs out of memory.")


# --------------------------------------------------------------------------------------------
# Out of memory


def is_oom(err: BaseException) -> bool:
    """Whether ``err`` is an accelerator out-of-memory error (whatever class the library used)."""
    try:
        import torch

        if isinstance(err, torch.OutOfMemoryError):
            return True
    except ImportError:  # pragma: no cover - torch is a requirement
        pass
    text = str(err).lower()
    return isinstance(err, RuntimeError) and "out of memory" in text


def free_accelerator_memory() -> None:
    """Collect garbage and give cached CUDA blocks back to the driver."""
    gc.collect()
    import torch

    if torch.cuda.is_available():
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()


def oom_error(mode: str, estimates: dict[str, int] | None = None) -> StudioError:
    """The sentence a user reads after running out of GPU memory in ``mode``."""
    lower = next_lower_mode(mode, estimates)
    if lower is None:
        return StudioError(
            f"The GPU ran out of memory even in the lowest memory mode ('{mode}'). Ask for fewer "
            "frames or a smaller model resolution, or use a GPU with more memory."
        )
    return StudioError(
        f"The GPU ran out of memory in memory mode '{mode}'. Pick memory mode '{lower}' "
        f"({PLAN_SUMMARY[lower]}), or ask for fewer frames or a smaller resolution, and run "
        "again."
    )


PLAN_SUMMARY = {
    "gpu": "everything on the GPU",
    "chunked": "VAE tiling and slicing",
    "fp8": "fp8 weight storage",
    "offload": "model CPU offload",
    "low": "model CPU offload with VAE tiling",
    "quant_int8": "an int8 transformer with model CPU offload",
    "group": "group offload one block at a time",
    "group_leaf": "leaf-level group offload with fp8 storage",
}


# --------------------------------------------------------------------------------------------
# Applying a plan to a diffusers pipeline

_GROUP_HOOKS = ("group_offloading", "layer_execution_tracker", "lazy_prefetch_group_offloading")
_CAST_HOOKS = ("layerwise_casting", "peft_autocast_disable")


def _torch_modules(pipe: Any) -> dict[str, Any]:
    import torch

    return {name: module for name, module in pipe.components.items()
            if isinstance(module, torch.nn.Module)}


def remove_group_offload(pipe: Any, device: str) -> None:
    """Undo group offloading on every component and put the weights on ``device``."""
    from diffusers.hooks import HookRegistry

    for module in _torch_modules(pipe).values():
        if hasattr(module, "_diffusers_hook"):
            registry = HookRegistry.check_if_exists_or_initialize(module)
            for name in _GROUP_HOOKS:
                registry.remove_hook(name, recurse=True)
        module.to(device)


def set_vae_tiling(pipe: Any, on: bool) -> None:
    vae = getattr(pipe, "vae", None)
    if vae is None:
        return
    for switch in ("tiling", "slicing"):
        method = getattr(vae, f"{'enable' if on else 'disable'}_{switch}", None)
        if method is not None:
            method()


def apply_group_offload(pipe: Any, device: str, level: str, denoisers: tuple[str, ...]) -> None:
    """Group offload: denoisers block by block (or leaf by leaf), the other models leaf by leaf,
    with CUDA streams (prefetching the next group while one runs) when ``device`` is CUDA."""
    import torch
    from diffusers.hooks import apply_group_offloading

    cuda = torch.device(device).type == "cuda"
    common = {"onload_device": torch.device(device), "offload_device": torch.device("cpu"),
              "use_stream": cuda, "non_blocking": cuda}
    for name, module in _torch_modules(pipe).items():
        block = level == "block" and name in denoisers
        kwargs = dict(common, offload_type="block_level" if block else "leaf_level")
        if block:
            kwargs["num_blocks_per_group"] = 1
        if hasattr(module, "enable_group_offload"):
            module.enable_group_offload(**kwargs)
        else:
            apply_group_offloading(module=module, **kwargs)


def enable_fp8(module: Any, compute_dtype: Any) -> None:
    """Store ``module``'s weights in float8_e4m3fn and upcast each layer as it runs."""
    import torch

    module.enable_layerwise_casting(storage_dtype=torch.float8_e4m3fn, compute_dtype=compute_dtype)


def describe(plan: MemoryPlan) -> dict[str, Any]:
    """The plan's switches for the manifest."""
    return dataclasses.asdict(plan)
