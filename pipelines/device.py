"""Device policy: the only module with cuda / mps / cpu branches.

torch is imported lazily: asking which device to use imports it, but questions that only concern
memory already in use (``empty_cache``, ``device_memory`` on a machine where torch was never
imported) do not, so the app starts without torch.
"""

from __future__ import annotations

import gc
import os
import sys
from dataclasses import dataclass

import psutil

from pipelines.errors import StudioError

DTYPE_NAMES = ("float32", "float16", "bfloat16")


def _torch():
    import torch

    return torch


def available_devices() -> list[str]:
    """Devices this process can use, best first (always ends with "cpu")."""
    torch = _torch()
    found = []
    if torch.cuda.is_available():
        found += [f"cuda:{i}" if i else "cuda" for i in range(torch.cuda.device_count())]
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found.append("mps")
    return [*found, "cpu"]


def pick_device(prefer: str | None = None) -> str:
    """Choose the device: ``prefer``, else ``STUDIO_DEVICE``, else cuda, then mps, then cpu.

    An explicit choice that this machine cannot honour is an error rather than a silent fallback,
    so a benchmark never measures the wrong device.
    """
    wanted = (prefer or os.environ.get("STUDIO_DEVICE", "")).strip().lower()
    devices = available_devices()
    if not wanted or wanted == "auto":
        return devices[0]
    if wanted in devices or (wanted == "cuda:0" and "cuda" in devices):
        return "cuda" if wanted == "cuda:0" else wanted
    raise StudioError(
        f"Device '{wanted}' is not available here (available: {', '.join(devices)}). "
        "Set STUDIO_DEVICE to one of those, or to 'auto'."
    )


def cpu_requested(device: str | None = None) -> bool:
    """Whether the CPU was asked for by name (``device`` or ``STUDIO_DEVICE``), not fallen back
    to: model backends that need a GPU then run on it, slowly, instead of being refused."""
    wanted = device or os.environ.get("STUDIO_DEVICE", "")
    return wanted.strip().lower() == "cpu"


def device_type(device: str) -> str:
    """"cuda:1" -> "cuda"."""
    return device.split(":", 1)[0]


def onnx_providers(device: str, available: list[str]) -> list:
    """onnxruntime execution providers for ``device``, best first: CUDA (on the device's GPU)
    when ``device`` is a CUDA device and the installed onnxruntime has it (the onnxruntime-gpu
    build), always ending with the CPU."""
    providers: list = []
    if device_type(device) == "cuda" and "CUDAExecutionProvider" in available:
        index = int(device.split(":", 1)[1]) if ":" in device else 0
        providers.append(("CUDAExecutionProvider", {"device_id": index}))
    return [*providers, "CPUExecutionProvider"]


def supports_dtype(device: str, dtype: str) -> bool:
    kind = device_type(device)
    if dtype == "float32":
        return True
    if kind == "cpu":
        return False  # half precision on CPU is slower and less accurate than float32
    if kind == "mps":
        return dtype == "float16"
    torch = _torch()
    if dtype == "bfloat16":
        return bool(torch.cuda.is_bf16_supported())
    return dtype == "float16"


def pick_dtype(device: str, preferences: tuple[str, ...] = ("float32",)) -> str:
    """The first dtype of ``preferences`` that ``device`` runs well; float32 otherwise."""
    override = os.environ.get("STUDIO_DTYPE", "").strip().lower()
    if override:
        if override not in DTYPE_NAMES:
            raise StudioError(
                f"STUDIO_DTYPE='{override}' is not a dtype the studio knows; "
                f"use one of {', '.join(DTYPE_NAMES)}."
            )
        return override if supports_dtype(device, override) else "float32"
    for name in preferences:
        if supports_dtype(device, name):
            return name
    return "float32"


def torch_dtype(name: str):
    """"float16" -> torch.float16."""
    if name not in DTYPE_NAMES:
        raise StudioError(f"Unknown dtype '{name}'; use one of {', '.join(DTYPE_NAMES)}.")
    return getattr(_torch(), name)


@dataclass(frozen=True)
class DeviceMemory:
    device: str
    total_bytes: int
    free_bytes: int


def device_memory(device: str) -> DeviceMemory:
    """Total and free memory of ``device``; host RAM for cpu (and for mps, which shares it)."""
    if device_type(device) == "cuda":
        torch = _torch()
        free, total = torch.cuda.mem_get_info(torch.device(device))
        return DeviceMemory(device, int(total), int(free))
    vm = psutil.virtual_memory()
    return DeviceMemory(device, int(vm.total), int(vm.available))


def empty_cache(device: str) -> None:
    """Give memory of freed tensors back: garbage-collect, then empty the allocator's cache."""
    gc.collect()
    torch = sys.modules.get("torch")
    if torch is None:
        return
    kind = device_type(device)
    if kind == "cuda" and torch.cuda.is_available():
        torch.cuda.empty_cache()
    elif kind == "mps" and hasattr(torch, "mps"):
        torch.mps.empty_cache()


def module_bytes(modules) -> int:
    """Bytes held by the parameters and buffers of torch modules (each tensor counted once)."""
    seen: set[int] = set()
    total = 0
    for module in modules:
        tensors = [*module.parameters(), *module.buffers()] if hasattr(module, "parameters") else []
        for tensor in tensors:
            if id(tensor) in seen:
                continue
            seen.add(id(tensor))
            total += tensor.numel() * tensor.element_size()
    return total
