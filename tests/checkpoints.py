"""Tiny real checkpoints shared by several test modules (built from configs, never downloaded)."""

from __future__ import annotations

from pathlib import Path


def tiny_clip_checkpoint(folder: Path):
    """A tiny CLIP checkpoint with the file layout of openai/clip-vit-base-patch32, built from a
    config with a fixed seed (the pattern of tests/test_roundtrip.py); returns the model."""
    import json

    import torch
    from transformers import (
        CLIPConfig,
        CLIPImageProcessor,
        CLIPModel,
        CLIPProcessor,
        CLIPTokenizer,
    )

    torch.manual_seed(0)
    config = CLIPConfig(
        text_config={"vocab_size": 40, "hidden_size": 16, "intermediate_size": 32,
                     "num_hidden_layers": 1, "num_attention_heads": 2,
                     "max_position_embeddings": 16},
        vision_config={"image_size": 32, "patch_size": 8, "hidden_size": 16,
                       "intermediate_size": 32, "num_hidden_layers": 1,
                       "num_attention_heads": 2},
        projection_dim=8,
    )  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    model = CLIPModel(config).eval()
    model.config.save_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")
    letters = "abcdefghijklmnopqrstuvwxyz"
    vocab = {"<|startoftext|>": 0, "<|endoftext|>": 1, "<unk>": 2}
    vocab.update({f"{c}</w>": i + 3 for i, c in enumerate(letters)})
    vocab.update({c: i + 3 + len(letters) for i, c in enumerate(letters[:8])})
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    tokenizer = CLIPTokenizer(str(folder / "vocab.json"), str(folder / "merges.txt"))
    CLIPProcessor(image_processor=CLIPImageProcessor(size={"shortest_edge": 32}, crop_size=32),
                  tokenizer=tokenizer).save_pretrained(folder)  # fmt: skip
    return model


TINY_I3D_DIVISOR = 16  # every I3D width divided by this: Mixed_5c gives 64 features


def tiny_i3d_checkpoint(folder: Path,
                        file_name: str = "opensora/eval/fvd/videogpt/i3d_pretrained_400.pt"):
    """A tiny Inception-I3D with the layout (and file name) of the ``metrics.i3d`` checkpoint:
    widths divided by :data:`TINY_I3D_DIVISOR`, written with ``i3d_config.json`` next to it.
    Batch-norm statistics are randomised so the features depend on them. Returns the network."""
    import torch

    from pipelines.networks.i3d import CONFIG_FILE, I3DConfig, build_network

    torch.manual_seed(0)
    config = I3DConfig(num_classes=10).scaled(TINY_I3D_DIVISOR)
    network = build_network(config).eval()
    with torch.no_grad():
        for module in network.modules():
            if isinstance(module, torch.nn.BatchNorm3d):
                module.running_mean.uniform_(-0.1, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / CONFIG_FILE).write_text(config.to_json())
    (folder / file_name).parent.mkdir(parents=True, exist_ok=True)
    torch.save(network.state_dict(), folder / file_name)
    return network


def tiny_lpips_checkpoint(folder: Path, file_name: str = "alexnet-owt-7be5be79.pth") -> dict:
    """An AlexNet backbone for ``metrics.lpips-alex``: torchvision's architecture with seeded
    random weights, only its ``features.*`` tensors (10 MB; LPIPS fixes the widths) saved as
    safetensors under the spec's file name. Returns the saved state dict."""
    import torch
    from safetensors.torch import save_file
    from torchvision.models import alexnet

    torch.manual_seed(0)
    state = {k: v.contiguous() for k, v in alexnet().state_dict().items()
             if k.startswith("features.")}  # fmt: skip
    folder.mkdir(parents=True, exist_ok=True)
    if file_name.endswith(".safetensors"):
        save_file(state, str(folder / file_name))
    else:  # torchvision's own format: a pickled state dict
        torch.save(state, folder / file_name)
    return state
