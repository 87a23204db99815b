"""LoRAs on a loaded diffusers pipeline: load, reweight and unload without reloading the model.

A LoRA is a local ``.safetensors`` file or a Hub repo id plus ``weight_name``. Each distinct file
becomes one PEFT adapter on the pipeline; a new request reuses adapters it already has, changes
strengths with ``set_adapters`` and deletes adapters it no longer wants, which restores the base
weights exactly (PEFT keeps them untouched beside the low-rank layers).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pipelines.errors import InputError, StudioError
from pipelines.portrait.types import LoraChoice


def resolve_lora(choice: LoraChoice) -> Path:
    """The local file of a LoRA; downloads only where the studio may fetch by itself."""
    source = Path(choice.source).expanduser()
    if source.is_file() or (source.is_dir() and choice.weight_name):
        path = source / choice.weight_name if source.is_dir() else source
        if not path.is_file():
            raise InputError(f"The LoRA file {path} does not exist; check the file name.")
    elif source.suffix == ".safetensors" or choice.source.startswith(("/", ".", "~")):
        raise InputError(f"The LoRA file {choice.source} does not exist; check the path.")
    else:
        if not choice.weight_name:
            raise InputError(f"Name the file of LoRA '{choice.source}' inside its Hub repo "
                             "(for example repo_id:file.safetensors).")
        path = _hub_file(choice.source, choice.weight_name, choice.revision)
    if path.suffix != ".safetensors":
        raise InputError(f"LoRA {path.name} is not a .safetensors file; only safetensors LoRAs "
                         "load (other formats can run code).")
    return path


def _hub_file(repo_id: str, name: str, revision: str | None = None) -> Path:
    from huggingface_hub import hf_hub_download
    from huggingface_hub.errors import LocalEntryNotFoundError

    from pipelines.registry import auto_fetch_enabled

    try:
        return Path(hf_hub_download(repo_id, name, revision=revision,
                                    local_files_only=not auto_fetch_enabled()))
    except (LocalEntryNotFoundError, FileNotFoundError, OSError, ValueError) as err:
        raise StudioError(
            f"The LoRA {repo_id}/{name} is not on this machine and cannot be downloaded now "
            f"({type(err).__name__}). Run `hf download {repo_id} {name}"
            + (f" --revision {revision}" if revision else "") + "` on a machine with "
            "network access, or set STUDIO_AUTO_FETCH=1."
        ) from err


class LoraSet:
    """The adapters loaded on one pipeline, keyed by their file."""

    def __init__(self, pipe: Any, model: str):
        self.pipe, self.model = pipe, model
        self.adapters: dict[tuple[Path, str], str] = {}  # (file, expert) -> adapter
        self._count = 0

    @property
    def supported(self) -> bool:
        return hasattr(self.pipe, "load_lora_weights")

    def apply(self, choices: tuple[LoraChoice, ...]) -> list[dict[str, object]]:
        """Make exactly ``choices`` active with their strengths; returns them for the manifest.

        On a model with two experts (``transformer_2``), a LoRA goes into the high-noise expert,
        the low-noise one or both (``LoraChoice.expert``); on others ``expert`` is ignored.
        """
        if not choices and not self.adapters:
            return []
        if choices and not self.supported:
            raise InputError(f"{self.model} takes no LoRAs; remove them or pick a DiT backend.")
        two = getattr(self.pipe, "transformer_2", None) is not None
        wanted: dict[tuple[Path, str], float] = {}
        for choice in choices:
            key = (resolve_lora(choice), choice.expert if two else "high")
            wanted[key] = wanted.get(key, 0.0) + float(choice.strength)
        stale = [key for key in self.adapters if key not in wanted]
        if stale:
            self.pipe.delete_adapters([self.adapters.pop(key) for key in stale])
        for key in wanted:
            if key not in self.adapters:
                self._count += 1
                self._load(key, f"lora{self._count}")
                self.adapters[key] = f"lora{self._count}"
        if wanted:
            self.pipe.set_adapters([self.adapters[k] for k in wanted], list(wanted.values()))
        return [{"source": c.source, "weight_name": c.weight_name, "strength": c.strength,
                 "expert": c.expert if two else None, "file": str(resolve_lora(c))}
                for c in choices]

    def _load(self, key: tuple[Path, str], name: str) -> None:
        path, expert = key
        targets = {"high": (False,), "low": (True,), "both": (False, True)}[expert]
        try:
            for into_second in targets:
                extra = {"load_into_transformer_2": True} if into_second else {}
                self.pipe.load_lora_weights(str(path.parent), weight_name=path.name,
                                            adapter_name=name, **extra)
        except (ValueError, KeyError, RuntimeError) as err:
            raise InputError(f"LoRA {path.name} does not fit {self.model} ({err}); use a LoRA "
                             "trained for this model.") from err

    def clear(self) -> None:
        """Unload every adapter: the base weights are back, nothing is reloaded."""
        if self.adapters:
            self.pipe.delete_adapters(list(self.adapters.values()))
            self.adapters.clear()

    def forget(self) -> None:
        """The denoiser was reloaded from disk: its adapters are gone with the old module."""
        self.adapters.clear()
