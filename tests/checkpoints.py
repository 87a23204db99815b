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
