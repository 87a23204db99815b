"""The files a real download takes are the files the loaders open.

Every diffusers spec of the catalog gets its tiny pipeline saved the way the Hub repos store
theirs (large components in shards with their index, every precision variant the repo holds),
placed in a Hugging Face cache by huggingface_hub's own ``allow_patterns`` filter fed with the
spec's patterns (model_index.json first, as a fetch reads it), and then run through the CLI on the
CPU. A spec whose patterns miss a file its loader needs fails here. The other Hub specs are
placed and loaded the same way.
"""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from skimage import data

import cli
from pipelines import hub, layouts, media
from pipelines.catalog import build_registry
from pipelines.portrait.specs import PRESETS
from pipelines.registry import cached_weights
from tests import i2v_fixtures as fx

DIFFUSERS = sorted(s.id for s in build_registry() if s.layout == "diffusers")
(LORA,) = PRESETS["portrait.wan2.1-i2v-14b-480p-lightx2v"].loras
LORA_REPO, LORA_FILE, LORA_REVISION = LORA.source, LORA.weight_name, LORA.revision

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# -- names and patterns ------------------------------------------------------------------------


def test_weights_names_stand_for_their_shards_and_index():
    name = "transformer/diffusion_pytorch_model.safetensors"
    assert layouts.index_name(name) == "transformer/diffusion_pytorch_model.safetensors.index.json"
    assert layouts.shard_pattern(name) == "transformer/diffusion_pytorch_model-?????-of-?????" \
                                          ".safetensors"
    fp16 = "unet/diffusion_pytorch_model.fp16.safetensors"
    assert layouts.index_name(fp16) == "unet/diffusion_pytorch_model.safetensors.index.fp16.json"
    assert layouts.shard_pattern(fp16) == "unet/diffusion_pytorch_model.fp16-?????-of-?????" \
                                          ".safetensors"
    patterns = layouts.allow_patterns(["model_index.json", "text_encoder/model.safetensors",
                                       "tokenizer/*", "model.pth"])
    assert patterns == ("model_index.json", "text_encoder/model.safetensors",
                        "text_encoder/model.safetensors.index.json",
                        "text_encoder/model-?????-of-?????.safetensors", "tokenizer/*",
                        "model.pth")


def test_a_folder_is_complete_only_with_every_shard_its_index_lists(tmp_path):
    files = ("model_index.json", "text_encoder/model.safetensors", "tokenizer/*")
    (tmp_path / "tokenizer").mkdir()
    (tmp_path / "tokenizer" / "spiece.model").write_bytes(b"x")
    (tmp_path / "model_index.json").write_text("{}")
    assert layouts.missing(tmp_path, files) == ["text_encoder/model.safetensors"]
    shards = [f"model-0000{i}-of-00002.safetensors" for i in (1, 2)]
    (tmp_path / "text_encoder").mkdir()
    (tmp_path / "text_encoder" / "model.safetensors.index.json").write_text(json.dumps(
        {"metadata": {}, "weight_map": {"a": shards[0], "b": shards[1], "c": shards[1]}}))
    (tmp_path / "text_encoder" / shards[0]).write_bytes(b"x")
    assert layouts.missing(tmp_path, files) == ["text_encoder/model.safetensors"]  # one shard
    (tmp_path / "text_encoder" / shards[1]).write_bytes(b"x")
    assert layouts.missing(tmp_path, files) == []
    (tmp_path / "text_encoder" / "model.safetensors.index.json").write_text("not json")
    assert layouts.missing(tmp_path, files) == ["text_encoder/model.safetensors"]


def test_diffusers_files_come_from_the_model_index():
    index = {"_class_name": "WanImageToVideoPipeline", "_diffusers_version": "0.35.0",
             "boundary_ratio": 0.875, "expand_timesteps": False,
             "image_encoder": [None, None], "image_processor": [None, None],
             "scheduler": ["diffusers", "FlowMatchEulerDiscreteScheduler"],
             "text_encoder": ["transformers", "UMT5EncoderModel"],
             "tokenizer": ["transformers", "T5TokenizerFast"],
             "transformer": ["diffusers", "WanTransformer3DModel"],
             "transformer_2": ["diffusers", "WanTransformer3DModel"],
             "vae": ["diffusers", "AutoencoderKLWan"],
             "guider": ["diffusers", "ClassifierFreeGuidance"],
             "feature_extractor": ["transformers", "SiglipImageProcessor"]}
    assert layouts.diffusers_files(index) == (
        "model_index.json", "scheduler/scheduler_config.json", "text_encoder/config.json",
        "text_encoder/model.safetensors", "tokenizer/*", "transformer/config.json",
        "transformer/diffusion_pytorch_model.safetensors", "transformer_2/config.json",
        "transformer_2/diffusion_pytorch_model.safetensors", "vae/config.json",
        "vae/diffusion_pytorch_model.safetensors", "guider/*", "feature_extractor/*")
    fp16 = layouts.diffusers_files({"unet": ["diffusers", "UNetSpatioTemporalConditionModel"]},
                                   "fp16")
    assert fp16 == ("model_index.json", "unet/config.json",
                    "unet/diffusion_pytorch_model.fp16.safetensors")


# -- every diffusers spec, sharded, placed by its own patterns, run through the CLI ----------


def test_every_diffusers_spec_has_a_tiny_repo():
    assert set(DIFFUSERS) == set(fx.builders())
    assert len(DIFFUSERS) == 14


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A Hugging Face cache filled by the specs' own patterns (read by repo id, offline)."""
    import huggingface_hub.constants

    root = tmp_path_factory.mktemp("hub")
    registry = build_registry()
    placed = {spec_id: fx.cached_repo(root, registry.get(spec_id)) for spec_id in DIFFUSERS}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(root))
        patch.setenv("HF_HUB_CACHE", str(root))
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield root, placed


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    image = data.astronaut()[::4, ::4]  # 128x128, a face
    path = tmp_path_factory.mktemp("pictures") / "face.png"
    media.save_image(path, np.ascontiguousarray(image))
    return path


def _weights(folder, component):
    return sorted(p.name for p in (folder / component).glob("*.safetensors"))


@pytest.mark.parametrize("spec_id", DIFFUSERS)
def test_the_specs_patterns_fetch_a_sharded_repo_that_runs_through_the_cli(
        cache, picture, spec_id, tmp_path, monkeypatch, capsys):
    root, placed = cache
    repo, snapshot = placed[spec_id]
    registry = build_registry()
    spec = registry.get(spec_id)
    index = json.loads((repo / "model_index.json").read_text())
    large = [c for c in index if c.startswith(("text_encoder", "transformer", "unet"))
             and index[c][0] is not None]
    for component in large:  # saved as the real repos: in shards with their index
        shards = [n for n in _weights(repo, component) if "-of-" in n]
        assert len(shards) >= 2, (component, _weights(repo, component))
        assert list((snapshot / component).glob("*.safetensors.index*.json"))
    for component in index:  # one precision only: the spec's variant
        if not (snapshot / component / "config.json").is_file():
            continue  # not a model component
        got = _weights(snapshot, component)
        stems = [n.removesuffix(".safetensors").split("-")[0] for n in got]
        if spec.variant:
            assert all(s.endswith(f".{spec.variant}") for s in stems), got
            assert len(_weights(repo, component)) > len(got)  # the repo's fp32 files stay out
        else:
            assert all("." not in s for s in stems), got
    assert not layouts.missing(snapshot, layouts.spec_files(spec, snapshot))
    if spec_id.endswith("lightx2v"):  # its preset LoRA, a companion from another repo
        assert cached_weights(spec) is None
        _place_tiny_lora(root, snapshot)
    assert cached_weights(spec) == snapshot

    if spec.task != "portrait":  # other tasks' CLIs run their tiny repos in their own tests
        runner = registry.load(spec_id, device="cpu", dtype="float32")
        assert runner.modules()
        return
    monkeypatch.setenv("STUDIO_OUTPUTS", str(tmp_path / "runs"))
    out = tmp_path / "out.mp4"
    svd = spec.builder.endswith("svd:build")
    options = (["--steps", "2", "--side", "64", "--decode-chunk", "2", "--frames", "3"] if svd
               else ["--steps", "2", "--side", "64", "--frames", "5", "--prompt", "a smile",
                     "--negative-prompt", ""])
    if "last-frame" in spec.tags and "flf2v" in spec_id:
        options += ["--last", str(picture)]
    code = cli.main(["animate", str(picture), "--backend", spec_id, "--device", "cpu",
                     *options, "-o", str(out), "--quiet"], registry=registry)
    assert code == 0, capsys.readouterr().err
    assert media.probe_video(out).frame_count == (3 if svd else 5)


def _place_tiny_lora(root, wan_snapshot):
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel

    transformer = WanTransformer3DModel.from_pretrained(wan_snapshot / "transformer")
    made = fx.tiny_lora(WanImageToVideoPipeline, transformer, root.parent / "lora")
    target = fx.hub_snapshot(root, LORA_REPO, LORA_REVISION) / LORA_FILE
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(made, target)


def test_patterns_that_miss_the_shard_index_leave_the_repo_incomplete(cache, tmp_path):
    """The patterns of the last round ({folder}/*.safetensors) left the indexes out: the loader
    would fail, and the studio now sees it before loading."""
    _, placed = cache
    repo, _ = placed["portrait.wan2.1-i2v-14b-480p"]
    spec = build_registry().get("portrait.wan2.1-i2v-14b-480p")
    old = ["model_index.json", "scheduler/scheduler_config.json", "tokenizer/*",
           "image_processor/*"] + [f"{c}/{n}" for c in ("transformer", "text_encoder",
                                                          "image_encoder", "vae")
                                   for n in ("config.json", "*.safetensors")]
    snapshot = tmp_path / "snapshot"
    fx.download_like_hub(repo, snapshot, old)
    assert "text_encoder/model.safetensors" in hub.missing_files(spec, snapshot)
    assert "transformer/diffusion_pytorch_model.safetensors" in hub.missing_files(spec, snapshot)
    fx.download_like_hub(repo, snapshot, hub.spec_patterns(spec, snapshot))
    assert hub.missing_files(spec, snapshot) == []
    next(snapshot.glob("transformer/*-00002-of-*.safetensors")).unlink()
    assert hub.missing_files(spec, snapshot) == ["transformer/diffusion_pytorch_model.safetensors"]


# -- the other Hub specs: what their patterns fetch is what their loaders open ----------------


def _other_repos():
    from tests.checkpoints import tiny_clip_checkpoint
    from tests.interpolate_fixtures import save_rife_checkpoint
    from tests.super_res_fixtures import tiny_swin2sr

    def clip(folder):
        tiny_clip_checkpoint(folder)
        (folder / "tf_model.h5").write_bytes(b"not for torch")  # the real repo has these too
        (folder / "flax_model.msgpack").write_bytes(b"not for torch")

    def swin_x2(folder):
        tiny_swin2sr(folder)
        (folder / "README.md").write_text("a model card")

    return {
        "super_res.swin2sr-x2": swin_x2,
        "super_res.swin2sr-realworld-x4": lambda f: tiny_swin2sr(
            f, upscale=4, upsampler="nearest+conv", weights="pytorch_model.bin"),
        "metrics.clip-vit-b32": clip,
        "interpolate.rife": lambda f: save_rife_checkpoint(f, as_zip="RIFE_v4.6.zip"),
    }


@pytest.mark.parametrize("spec_id", sorted(_other_repos()))
def test_other_hub_specs_load_from_what_their_patterns_fetch(spec_id, tmp_path, monkeypatch):
    import huggingface_hub.constants

    registry = build_registry()
    spec = registry.get(spec_id)
    repo = tmp_path / "repo"
    repo.mkdir()
    _other_repos()[spec_id](repo)
    root = tmp_path / "hub"
    snapshot = fx.hub_snapshot(root, spec.repo_id)
    if spec.revision:  # the pinned commit names the snapshot
        snapshot = snapshot.parent / spec.revision
        (root / f"models--{spec.repo_id.replace('/', '--')}" / "refs" / "main").write_text(
            spec.revision)
    taken = fx.download_like_hub(repo, snapshot, hub.spec_patterns(spec))
    assert "tf_model.h5" not in taken and "README.md" not in taken
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(root))
    assert cached_weights(spec) == snapshot
    runner = registry.load(spec_id, device="cpu", dtype="float32")
    assert runner.modules()


def test_an_offline_dry_run_lists_the_patterns_from_the_cached_model_index(cache, capsys):
    registry = build_registry()
    assert cli.main(["fetch", "--dry-run", "portrait.svd", "super_res.swin2sr-x2"],
                    registry=registry) == 0
    out = capsys.readouterr().out
    assert "sizes unknown (HF_HUB_OFFLINE=1 is set)" in out
    assert "  unet/diffusion_pytorch_model.fp16-?????-of-?????.safetensors" in out
    assert "  unet/diffusion_pytorch_model.safetensors.index.fp16.json" in out
    assert "unet/diffusion_pytorch_model.safetensors\n" not in out  # fp32 is never fetched
    assert "  feature_extractor/*" in out and "  model-?????-of-?????.safetensors" in out
