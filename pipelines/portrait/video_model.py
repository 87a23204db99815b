"""What the diffusers image-to-video runners share: loading, fitting, memory modes, step caches,
LoRAs, progress, out-of-memory handling and restoring the picture's shape.

A subclass names its settings (``request.svd`` or ``request.dit``), its denoiser component(s),
the size multiple its model needs, and implements :meth:`VideoModelRunner.generate`. torch and
diffusers are imported only inside functions, so importing this module stays light.
"""

from __future__ import annotations

import importlib.util
import re
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from pipelines import device as dev
from pipelines.errors import InputError, StudioError
from pipelines.faces import detect_faces
from pipelines.portrait import memory as mem
from pipelines.portrait.geometry import FitPlan, plan_fit, restore, to_model
from pipelines.portrait.lora import LoraSet
from pipelines.portrait.step_cache import reset_cache_state, set_cache
from pipelines.portrait.types import AnimateRequest, AnimateResult, check_request
from pipelines.progress import Progress
from pipelines.registry import LoadContext

# Python packages a checkpoint's loading can need beyond the requirements every backend shares,
# with the words a library's error uses for each (module name -> pip name, words).
LOADER_PACKAGES: dict[str, tuple[str, tuple[str, ...]]] = {
    "sentencepiece": ("sentencepiece", ("sentencepiece", "spiece", "tiktoken is required")),
    "google.protobuf": ("protobuf", ("protobuf",)),
    "ftfy": ("ftfy", ("ftfy",)),
    "peft": ("peft", ("peft",)),
    "torchao": ("torchao", ("torchao",)),
    "accelerate": ("accelerate", ("accelerate",)),
}


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Float frames in [0, 1] (any leading shape) as uint8."""
    return np.clip(np.rint(np.asarray(frames, np.float32) * 255.0), 0, 255).astype(np.uint8)


def _importable(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def loader_error(model: str, err: BaseException, needs: tuple[str, ...] = ()) -> StudioError:
    """A sentence naming the missing package behind a failed load, whatever the exception type.

    ``needs`` lists the modules this checkpoint's loading uses; any that are not installed are
    named, as is any package the library's message mentions that is not installed.
    """
    text = f"{type(err).__name__}: {err}".lower()
    missing: list[str] = []
    name = getattr(err, "name", None)
    if isinstance(err, ImportError) and name:
        top = name.split(".")[0]
        missing.append(LOADER_PACKAGES.get(name, (top, ()))[0])
    for module, (package, words) in LOADER_PACKAGES.items():
        mentioned = any(word in text for word in words)
        if (mentioned or module in needs) and not _importable(module) and package not in missing:
            missing.append(package)
    if "tiktoken is required" in text and "sentencepiece" not in missing:
        missing.append("sentencepiece")  # transformers falls back to tiktoken only without it
    if missing:
        packages = " ".join(missing)
        return StudioError(
            f"{model} could not be loaded because the Python package(s) {', '.join(missing)} "
            f"are missing ({type(err).__name__}). Install them with `pip install {packages}` "
            "(they are in requirements.txt) and try again."
        )
    return StudioError(f"{model} could not be loaded from its files ({type(err).__name__}: "
                       f"{str(err)[:300]}). Fetch its weights again with `python cli.py fetch`.")


def load_pipeline(pipeline_class: Any, ctx: LoadContext, *, needs: tuple[str, ...] = (),
                  **kwargs: Any) -> Any:
    """``pipeline_class.from_pretrained`` on the spec's folder, errors turned into sentences."""
    try:
        return pipeline_class.from_pretrained(ctx.weights, dtype=ctx.torch_dtype,
                                              use_safetensors=True, variant=ctx.spec.variant,
                                              **kwargs)
    except (ImportError, ValueError, OSError, AttributeError, TypeError, RuntimeError,
            KeyError, NameError) as err:
        raise loader_error(ctx.spec.label, err, needs) from err


class VideoModelRunner:
    """Base of the diffusers runners: one loaded pipeline, switched between memory modes."""

    denoiser = "unet"  # the component that forward chunking and torch.compile apply to
    multiple = 64  # model sides must be multiples of this
    caches: tuple[str, ...] = ()  # step caches this model takes (see specs.CACHES)
    tensor_format = "BCFHW"  # layout of the latents (FasterCache filters them)
    needs: tuple[str, ...] = ()  # modules its loading and running use (named when missing)

    def __init__(self, pipe: Any, device: str, dtype: str, ctx: LoadContext | None = None):
        self.pipe, self.device, self.dtype, self.ctx = pipe, device, dtype, ctx
        self.memory = "gpu"
        self.cache = "none"
        self.denoisers = tuple(name for name in (self.denoiser, f"{self.denoiser}_2")
                               if getattr(pipe, name, None) is not None)
        self._eager = {name: getattr(pipe, name) for name in self.denoisers}
        self._classes = {name: type(module) for name, module in self._eager.items()}
        self.loras = LoraSet(pipe, self.label)
        pipe.set_progress_bar_config(disable=True)

    @property
    def label(self) -> str:
        return self.ctx.spec.label if self.ctx is not None else type(self).__name__

    def modules(self) -> dict[str, Any]:
        import torch

        return {name: module for name, module in self.pipe.components.items()
                if isinstance(module, torch.nn.Module)}

    def settings(self, request: AnimateRequest) -> Any:
        raise NotImplementedError

    def working_bytes(self, request: AnimateRequest) -> int:
        """Estimated memory one job needs beyond the weights held (the job skeleton evicts idle
        models until it fits); 0 when the model or the mode has no estimate (``auto`` decides
        for itself)."""
        mode = getattr(self.settings(request), "memory", "gpu")
        if self.ctx is None or mode == "auto" or mem.footprint_for(self.ctx.spec) is None:
            return 0
        plan = self.plan(request)
        width, height = plan.model_size
        peak = mem.estimate_peak_bytes(self.ctx.spec, mode, request.frames, height, width)
        return max(0, peak - dev.module_bytes(list(self.modules().values())))

    # -- memory modes -------------------------------------------------------------------------
    def _chunking(self, on: bool) -> None:
        """Forward chunking of the denoiser's feed-forward layers (DiT runners: VAE tiling)."""
        denoiser = self._eager[self.denoiser]
        if on:
            denoiser.enable_forward_chunking()
            return
        for module in denoiser.modules():
            if hasattr(module, "set_chunk_feed_forward"):
                module.set_chunk_feed_forward(chunk_size=None, dim=0)

    def _reload_denoisers(self, quant: str | None) -> None:
        """Fresh denoisers from disk (after fp8 storage or quantization changed the weights)."""
        if self.ctx is None or self.ctx.weights is None:
            raise StudioError(f"{self.label} cannot switch memory modes that change its weights "
                              "without its weights folder; load it through the registry.")
        kwargs: dict[str, Any] = {}
        if quant == "int8":
            try:
                from diffusers import TorchAoConfig
                from torchao.quantization import Int8WeightOnlyConfig
            except ImportError as err:
                raise loader_error(self.label, err, ("torchao",)) from err
            kwargs["quantization_config"] = TorchAoConfig(Int8WeightOnlyConfig())
        for name in self.denoisers:
            old = self._eager[name]
            setattr(self.pipe, name, None)
            self._eager[name] = None
            del old
            mem.free_accelerator_memory()
            fresh = self._classes[name].from_pretrained(
                self.ctx.weights, subfolder=name, dtype=self.ctx.torch_dtype,
                variant=self.ctx.spec.variant, **kwargs)
            self.pipe.register_modules(**{name: fresh})
            self._eager[name] = fresh
        self.loras.forget()
        self.cache = "none"

    def set_memory(self, mode: str) -> list[str]:
        """Switch to one of :data:`memory.PLANS`; returns notes for the user."""
        import torch

        if mode == self.memory:
            return []
        notes: list[str] = []
        plan, old = mem.PLANS[mode], mem.PLANS[self.memory]
        on_gpu = dev.device_type(self.device) != "cpu"
        if not on_gpu and (plan.placement == "model" or plan.compile):
            notes.append(f"Memory mode '{mode}' needs a GPU; on the CPU every module already "
                         "sits in main memory, so the model runs as loaded"
                         + (" with chunking." if plan.tiling else "."))
        if not on_gpu and plan.placement.startswith("group"):
            notes.append(f"Memory mode '{mode}' saves GPU memory; on the CPU it only adds "
                         "bookkeeping.")
        pipe = self.pipe
        for name in self.denoisers:
            setattr(pipe, name, self._eager[name])
        pipe.remove_all_hooks()
        if old.placement.startswith("group"):
            mem.remove_group_offload(pipe, self.device)
        if old.changes_weights or plan.quant:
            self._reload_denoisers(plan.quant)
        self._chunking(plan.tiling)
        if plan.fp8:
            compute = self.ctx.torch_dtype if self.ctx is not None else dev.torch_dtype(self.dtype)
            for name in self.denoisers:
                mem.enable_fp8(self._eager[name], compute)
        if plan.placement == "model" and on_gpu:
            pipe.enable_model_cpu_offload(device=self.device)  # parks every module in RAM
        elif plan.placement.startswith("group"):
            pipe.to(self.device)
            level = "block" if plan.placement == "group_block" else "leaf"
            mem.apply_group_offload(pipe, self.device, level, self.denoisers)
        else:
            pipe.to(self.device)
        if plan.compile and on_gpu:
            for name in self.denoisers:
                setattr(pipe, name, torch.compile(self._eager[name]))
        self.memory = mode
        return notes

    def resolve_mode(self, mode: str, request: AnimateRequest, plan: FitPlan
                     ) -> tuple[str, str | None]:
        """A concrete mode for ``auto``: the fastest whose estimated peak fits free memory."""
        if mode != "auto":
            return mode, None
        if dev.device_type(self.device) != "cuda" or self.ctx is None:
            return "gpu", "Memory mode auto runs everything in main memory on the CPU."
        import torch

        free, _total = torch.cuda.mem_get_info(self.device)
        held = sum(p.numel() * p.element_size() for m in self.modules().values()
                   for p in m.parameters() if p.device.type == "cuda")
        width, height = plan.model_size
        return mem.pick_auto(self.ctx.spec, request.frames, height, width, free + held)

    # -- step caches and LoRAs ----------------------------------------------------------------
    def set_step_cache(self, name: str) -> None:
        if name == self.cache:
            return
        from pipelines.portrait.specs import CACHES

        supported = CACHES.get(self.ctx.spec.id, self.caches) if self.ctx else self.caches
        set_cache([self._eager[n] for n in self.denoisers], name, supported=supported,
                  model=self.label, timestep=lambda: getattr(self.pipe, "current_timestep", None),
                  tensor_format=self.tensor_format,
                  dtype=self.ctx.torch_dtype if self.ctx is not None else None)
        self.cache = name

    # -- one job ------------------------------------------------------------------------------
    def plan(self, request: AnimateRequest) -> FitPlan:
        opts = self.settings(request)
        faces = detect_faces(request.image)
        focus = faces[0].box.center if faces else None
        height, width = request.image.shape[:2]
        return plan_fit(width, height, area=opts.side * opts.side, multiple=self.multiple,
                        fit=opts.fit, focus=focus)

    def check(self, request: AnimateRequest) -> None:
        """Refuse what this model cannot do (end picture, keyframes, prompt) in one sentence."""
        if request.last_image is not None:
            raise InputError(f"{self.label} animates from one picture and takes no end picture; "
                             "remove it or pick a first-and-last-frame backend.")
        if request.keyframes:
            raise InputError(f"{self.label} takes no keyframes; remove them or pick an LTX "
                             "backend with conditions.")

    def generate(self, request: AnimateRequest, plan: FitPlan, image: np.ndarray,
                 step: Callable[[int, int], None]) -> tuple[np.ndarray, list[str]]:
        """(frames float (T, H, W, 3) in [0, 1], notes) for one request."""
        raise NotImplementedError

    def __call__(self, request: AnimateRequest, progress: Progress | None = None
                 ) -> AnimateResult:
        import torch

        check_request(request)
        self.check(request)
        opts = self.settings(request)
        report = progress or (lambda fraction, desc: None)
        timings: dict[str, float] = {}
        start = time.perf_counter()
        plan = self.plan(request)
        mode, auto_note = self.resolve_mode(opts.memory, request, plan)
        notes = [auto_note] if auto_note else []
        cuda = dev.device_type(self.device) == "cuda"
        try:
            notes += self.set_memory(mode)
            self.set_step_cache(getattr(opts, "cache", "none"))
            loras = self.loras.apply(tuple(getattr(opts, "loras", ())) + self.preset_loras())
            if plan.note:
                notes.append(plan.note)
            model_image = to_model(request.image, plan)
            timings["prepare"] = time.perf_counter() - start

            def step(done: int, total: int) -> None:
                report(0.05 + 0.9 * done / max(1, total), f"denoising, step {done}/{total}")

            if cuda:
                torch.cuda.reset_peak_memory_stats(self.device)
            start = time.perf_counter()
            report(0.02, "starting the model")
            reset_cache_state([self._eager[n] for n in self.denoisers])
            with torch.inference_mode():
                frames, more = self.generate(request, plan, model_image, step)
        except Exception as err:
            if not mem.is_oom(err):
                raise
            failed = self.memory
            del err
            mem.free_accelerator_memory()
            estimates = None
            if self.ctx is not None and mem.footprint_for(self.ctx.spec) is not None:
                width, height = plan.model_size
                estimates = mem.estimate_table(self.ctx.spec, request.frames, height, width)
            raise mem.oom_error(failed, estimates) from None
        timings["generate"] = time.perf_counter() - start
        notes += more
        start = time.perf_counter()
        report(0.97, "restoring the picture's shape")
        restored = [restore(self.model_sized(frame, plan), plan) for frame in to_uint8(frames)]
        timings["restore"] = time.perf_counter() - start
        width, height = plan.model_size
        info: dict[str, object] = {
            "model_size": list(plan.model_size), "fit": plan.fit, "region": list(plan.region),
            "memory_mode": self.memory, "memory_plan": mem.describe(mem.PLANS[self.memory]),
            "step_cache": self.cache, "loras": loras,
        }
        if self.ctx is not None and mem.footprint_for(self.ctx.spec) is not None:
            info["estimated_peak_gpu_bytes"] = mem.estimate_peak_bytes(
                self.ctx.spec, self.memory, request.frames, height, width)
        if cuda:
            info["peak_gpu_bytes"] = int(torch.cuda.max_memory_allocated(self.device))
        return AnimateResult(restored, request.fps, notes, timings, info)

    def preset_loras(self) -> tuple:
        """LoRAs a preset spec always runs with (a step-distillation LoRA, say)."""
        return ()

    @staticmethod
    def model_sized(frame: np.ndarray, plan: FitPlan) -> np.ndarray:
        """A frame at the plan's model size (models that snap to their own size buckets)."""
        width, height = plan.model_size
        if frame.shape[:2] == (height, width):
            return frame
        import cv2

        return cv2.resize(frame, (width, height), interpolation=cv2.INTER_AREA)

    def step_callback(self, step: Callable[[int, int], None], total: int) -> Callable:
        """diffusers' ``callback_on_step_end`` reporting each finished step."""

        def on_step_end(pipe: Any, index: int, timestep: Any, kwargs: dict) -> dict:
            step(index + 1, total)
            return kwargs

        return on_step_end

    def generator(self, seed: int) -> Any:
        """A CPU generator: the same seed gives the same noise on every device."""
        import torch

        return torch.Generator("cpu").manual_seed(seed)


def frames_for(requested: int, temporal: int) -> int:
    """The smallest ``k * temporal + 1`` frame count at or above ``requested``."""
    return -(-(requested - 1) // temporal) * temporal + 1


def frame_note(requested: int, made: int, temporal: int) -> str | None:
    if made == requested:
        return None
    return (f"This model makes {temporal}k+1 frames; it generated {made} and kept the "
            f"{requested} asked for.")


_SPACES = re.compile(r"\s+")


def need_prompt(prompt: str, model: str) -> str:
    """The prompt, or a sentence asking for one (prompt-driven models)."""
    text = _SPACES.sub(" ", prompt or "").strip()
    if not text:
        raise InputError(f"{model} is steered by a prompt; describe the motion you want (for "
                         "example 'she smiles and turns her head').")
    return text


class DitRunner(VideoModelRunner):
    """A prompt-steered diffusion transformer (Wan, LTX, CogVideoX, HunyuanVideo)."""

    denoiser = "transformer"
    temporal = 4  # frames per latent frame: the model makes temporal * k + 1 frames
    takes_last_image = False

    def settings(self, request: AnimateRequest) -> Any:
        return request.dit

    def _chunking(self, on: bool) -> None:
        """The DiT's low-memory analogue of chunking: VAE tiling and slicing."""
        mem.set_vae_tiling(self.pipe, on)

    def check(self, request: AnimateRequest) -> None:
        need_prompt(request.dit.prompt, self.label)
        if request.last_image is not None and not self.takes_last_image:
            raise InputError(f"{self.label} takes no end picture; remove it or pick a backend "
                             "with first and last frame (Wan 2.1 FLF2V, Wan 2.2 A14B, LTX 0.9.7).")
        if request.keyframes and not getattr(self, "takes_keyframes", False):
            raise InputError(f"{self.label} takes no keyframes; remove them or pick an LTX "
                             "backend with conditions.")

    def preset_loras(self) -> tuple:
        from pipelines.portrait.specs import PRESETS

        preset = PRESETS.get(self.ctx.spec.id) if self.ctx is not None else None
        return preset.loras if preset is not None else ()

    def pil(self, image: np.ndarray) -> Any:
        from PIL import Image

        return Image.fromarray(image)
