"""The 2025-2026 image-to-video backends, tiny, loaded through the registry from their layouts.

Every backend runs 2 steps on the CPU from a checkpoint folder laid out as its Hub repo; memory
modes, step caches, LoRAs, an injected out-of-memory error and the input checks are exercised on
the tiny Wan 2.1 model (the others share the runner code).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from skimage import data

from pipelines.catalog import build_registry
from pipelines.errors import InputError, StudioError
from pipelines.portrait import memory as mem
from pipelines.portrait.specs import CACHES
from pipelines.portrait.types import AnimateRequest, DitSettings, Keyframe, LoraChoice
from tests import i2v_fixtures as fx

BACKENDS = {spec_id: build for spec_id, build in fx.builders().items() if spec_id in (
    "portrait.wan2.1-i2v-14b-480p", "portrait.wan2.2-i2v-a14b", "portrait.wan2.2-ti2v-5b",
    "portrait.ltx-video", "portrait.ltx-0.9.7", "portrait.cogvideox-5b-i2v",
    "portrait.hunyuanvideo-1.5-i2v", "portrait.wan2.1-flf2v-14b-720p")}
WAN = "portrait.wan2.1-i2v-14b-480p"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="session")
def hub_cache(tmp_path_factory):
    """A Hugging Face cache holding every tiny checkpoint under its real repo id, sharded and
    placed by the spec's own file patterns (tests/test_layouts.py covers every spec)."""
    cache = tmp_path_factory.mktemp("hub")
    specs = build_registry()
    for spec_id, build in BACKENDS.items():
        fx.cached_repo(cache, specs.get(spec_id), build)
    return cache


@pytest.fixture(scope="session")
def tiny_repos(hub_cache) -> dict:
    specs = build_registry()
    return {spec_id: next((hub_cache / f"models--{specs.get(spec_id).repo_id.replace('/', '--')}"
                           / "snapshots").iterdir()) for spec_id in BACKENDS}


@pytest.fixture(scope="module")
def registry(hub_cache):
    import huggingface_hub.constants

    registry = build_registry()
    for spec_id in (*BACKENDS, "portrait.wan2.1-i2v-14b-480p-lightx2v"):
        # The real spec: repo id, file patterns; tiny models run on a CPU.
        registry.replace(spec_id, needs_gpu=False, est_memory_gb=0.0)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(hub_cache))
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield registry


@pytest.fixture(scope="module")
def picture() -> np.ndarray:
    image = data.astronaut()[::4, ::4]  # 128x128, a face
    return np.ascontiguousarray(np.concatenate([image[:, :64], image], axis=1))  # 128x192


def _request(picture, **dit) -> AnimateRequest:
    options = dict(prompt="a smile", negative_prompt="", steps=2, side=64, fit="pad")
    options.update(dit)
    return AnimateRequest(picture, frames=6, fps=16, seed=0, dit=DitSettings(**options))


def _frames(result) -> np.ndarray:
    return np.stack(result.frames).astype(int)


@pytest.mark.parametrize("spec_id", sorted(BACKENDS))
def test_every_backend_gives_the_requested_frames_and_size(registry, picture, spec_id):
    end = {"last_image": picture[::-1].copy()} if "flf2v" in spec_id else {}
    from pipelines.registry import cached_weights

    folder = cached_weights(registry.get(spec_id))  # found in the cache by repo id, offline
    assert folder is not None and folder.parent.name == "snapshots"
    with registry.pinned(spec_id, dtype="float32") as runner:
        result = runner(dataclasses.replace(_request(picture), **end))
    assert len(result.frames) == 6
    height, width = result.frames[0].shape[:2]
    assert abs(width / height - 1.5) < 0.1  # the 3:2 picture's shape is restored (pad)
    assert all(f.shape == result.frames[0].shape and f.dtype == np.uint8 for f in result.frames)
    assert any("k+1 frames" in n for n in result.notes)  # 6 is not k*r+1: adjusted
    assert result.info["memory_mode"] == "gpu" and result.info["step_cache"] == "none"
    assert result.info["estimated_peak_gpu_bytes"] > 0


def test_ltx_tokenizer_folder_is_sentencepiece_only_and_loads(tiny_repos, registry, picture):
    for spec_id in ("portrait.ltx-video", "portrait.cogvideox-5b-i2v"):
        names = {p.name for p in (tiny_repos[spec_id] / "tokenizer").iterdir()}
        assert "spiece.model" in names and "tokenizer.json" not in names
    with registry.pinned("portrait.ltx-video", dtype="float32") as runner:
        assert runner.decode_conditioned  # 0.9.1+: the decode timestep applies, no note
        result = runner(_request(picture))
    assert not any("timestep conditioning" in n for n in result.notes)


def test_loader_error_names_the_missing_package(monkeypatch):
    from pipelines.portrait import video_model

    monkeypatch.setattr(video_model, "_importable", lambda module: module != "sentencepiece")
    err = video_model.loader_error("LTX-Video", ValueError(
        "tiktoken is required to read a tiktoken file. Install it with `pip install tiktoken`."))
    assert "sentencepiece" in str(err) and "pip install sentencepiece" in str(err)
    # An exception naming nothing still names what this checkpoint needs and is not installed.
    err = video_model.loader_error("LTX-Video", TypeError("NoneType"), ("sentencepiece",))
    assert "sentencepiece" in str(err)
    gone = ModuleNotFoundError("No module named 'ftfy'", name="ftfy")
    assert "pip install ftfy" in str(video_model.loader_error("Wan", gone))


def test_first_and_last_frame_and_keyframes(registry, picture):
    end = np.ascontiguousarray(picture[:, ::-1])
    dark = picture // 3
    for spec_id in ("portrait.wan2.2-i2v-a14b", "portrait.wan2.1-flf2v-14b-720p"):
        with registry.pinned(spec_id, dtype="float32") as runner:
            ended = runner(dataclasses.replace(_request(picture), last_image=end))
            other = runner(dataclasses.replace(_request(picture), last_image=dark))
        assert len(ended.frames) == 6
        assert np.abs(_frames(ended) - _frames(other)).max() > 0  # the end picture steers it
    with registry.pinned("portrait.wan2.1-flf2v-14b-720p", dtype="float32") as runner, \
            pytest.raises(InputError, match="add an end picture"):
        runner(_request(picture))
    with registry.pinned("portrait.ltx-0.9.7", dtype="float32") as runner:
        keyed = runner(dataclasses.replace(
            _request(picture), last_image=end, keyframes=(Keyframe(end, 3, 0.8),)))
    assert len(keyed.frames) == 6
    assert any("end picture" in n for n in keyed.notes)  # kept the end frame of the 9 made
    for spec_id in ("portrait.wan2.2-ti2v-5b", WAN):  # no end-frame path / one CLIP picture
        with registry.pinned(spec_id, dtype="float32") as runner, \
                pytest.raises(InputError, match="end picture"):
            runner(dataclasses.replace(_request(picture), last_image=end))
    with registry.pinned(WAN, dtype="float32") as runner:
        with pytest.raises(InputError, match="keyframes"):
            runner(dataclasses.replace(_request(picture), keyframes=(Keyframe(end, 2),)))
        with pytest.raises(InputError, match="same size"):
            runner(dataclasses.replace(_request(picture), last_image=end[:100]))
        with pytest.raises(InputError, match="prompt"):
            runner(_request(picture, prompt="  "))


def test_memory_modes_on_the_cpu_and_back(registry, picture):
    with registry.pinned(WAN, dtype="float32") as runner:
        plain = runner(_request(picture))
        for mode in ("chunked", "fp8", "group", "group_leaf", "quant_int8", "offload", "auto"):
            result = runner(_request(picture, memory=mode))
            assert len(result.frames) == 6, mode
            expected = "gpu" if mode == "auto" else mode
            assert result.info["memory_mode"] == expected
            if mode in ("chunked", "group", "offload", "auto"):  # same weights, same numbers
                assert np.abs(_frames(result) - _frames(plain)).max() <= 2, mode
        assert runner.pipe.vae.use_tiling is False  # auto on the CPU: everything plain
        # Leaving fp8 storage and the int8 transformer reloaded the weights: identical again.
        again = runner(_request(picture))
        np.testing.assert_array_equal(_frames(again), _frames(plain))


def test_step_caches_per_backend(registry, picture):
    for spec_id in ("portrait.wan2.2-i2v-a14b", "portrait.ltx-video",
                    "portrait.cogvideox-5b-i2v", "portrait.hunyuanvideo-1.5-i2v"):
        with registry.pinned(spec_id, dtype="float32") as runner:
            for cache in CACHES[spec_id]:
                result = runner(_request(picture, cache=cache, steps=3))
                assert result.info["step_cache"] == cache and len(result.frames) == 6
            assert all(runner.pipe.transformer.is_cache_enabled for _ in [0])
            runner(_request(picture, cache="none"))
            assert not runner.pipe.transformer.is_cache_enabled
    with registry.pinned("portrait.ltx-video", dtype="float32") as runner, \
            pytest.raises(InputError, match="faster"):
            runner(_request(picture, cache="faster"))


def test_lora_changes_the_output_and_unloading_restores_it(registry, tiny_repos, picture,
                                                           tmp_path):
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel

    transformer = WanTransformer3DModel.from_pretrained(tiny_repos[WAN], subfolder="transformer")
    lora = fx.tiny_lora(WanImageToVideoPipeline, transformer, tmp_path / "lora")
    with registry.pinned(WAN, dtype="float32") as runner:
        plain = runner(_request(picture))
        with_lora = runner(_request(picture, loras=(LoraChoice(str(lora), strength=1.0),)))
        assert np.abs(_frames(with_lora) - _frames(plain)).max() > 0
        assert with_lora.info["loras"][0]["strength"] == 1.0
        half = runner(_request(picture, loras=(LoraChoice(str(lora), strength=0.5),)))
        assert len(runner.loras.adapters) == 1  # reweighted, not loaded twice
        assert np.abs(_frames(half) - _frames(with_lora)).max() > 0
        back = runner(_request(picture))
        assert runner.loras.adapters == {}
        np.testing.assert_array_equal(_frames(back), _frames(plain))
        with pytest.raises(InputError, match="does not exist"):
            runner(_request(picture, loras=(LoraChoice(str(tmp_path / "no.safetensors")),)))


def test_lora_into_one_expert_of_wan22(registry, tiny_repos, picture, tmp_path):
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel

    spec_id = "portrait.wan2.2-i2v-a14b"
    transformer = WanTransformer3DModel.from_pretrained(tiny_repos[spec_id],
                                                        subfolder="transformer")
    lora = fx.tiny_lora(WanImageToVideoPipeline, transformer, tmp_path / "lora")
    with registry.pinned(spec_id, dtype="float32") as runner:
        plain = _frames(runner(_request(picture)))
        outputs = {}
        for expert in ("high", "low", "both"):
            outputs[expert] = _frames(runner(_request(picture, loras=(
                LoraChoice(str(lora), expert=expert),))))
            peft = {name for name in ("transformer", "transformer_2")
                    if getattr(getattr(runner.pipe, name), "peft_config", None)}
            assert peft == {"high": {"transformer"}, "low": {"transformer_2"},
                            "both": {"transformer", "transformer_2"}}[expert]
        assert len({out.tobytes() for out in (plain, *outputs.values())}) == 4
        np.testing.assert_array_equal(_frames(runner(_request(picture))), plain)


def test_preset_lora_not_on_disk_says_how_to_fetch_it(registry, picture, monkeypatch):
    """The preset's LoRA is a companion of the spec: missing, the spec is not on disk, and
    loading says which command fetches both."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    spec_id = "portrait.wan2.1-i2v-14b-480p-lightx2v"
    assert registry.status(spec_id).on_disk is False
    assert registry.status(WAN).on_disk  # the same repo, without the companion
    with pytest.raises(StudioError, match=f"python cli.py fetch {spec_id}"):
        registry.load(spec_id, dtype="float32")


def test_out_of_memory_names_the_next_lower_mode_and_the_runner_recovers(registry, picture,
                                                                         monkeypatch):
    import torch

    with registry.pinned(WAN, dtype="float32") as runner:
        def fail(*args, **kwargs):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

        monkeypatch.setattr(runner, "generate", fail)
        with pytest.raises(StudioError, match="'fp8'") as caught:
            runner(_request(picture, memory="chunked"))
        assert "ran out of memory" in str(caught.value)
        monkeypatch.undo()
        assert len(runner(_request(picture)).frames) == 6


def test_estimates_ladder_and_auto(registry):
    wan = registry.get(WAN)
    table = mem.estimate_table(wan, 81, 480, 832)
    assert table["gpu"] > table["offload"] > table["group"]
    assert table["group_leaf"] < 16 * mem.GIB  # the lowest mode fits a 16 GB card (estimate)
    assert table["gpu"] > 40 * mem.GIB
    # What the tab shows before a run: a 1920x1080 picture at the 480P side is 832x480-ish.
    shown = mem.estimate_for_picture(wan, 81, 1920, 1080, 632)
    assert abs(shown["gpu"] - table["gpu"]) < 0.05 * table["gpu"]
    assert mem.pick_auto(wan, 81, 480, 832, 200 * mem.GIB)[0] == "gpu"
    mode, note = mem.pick_auto(wan, 81, 480, 832, 24 * mem.GIB)
    assert mem.LADDER.index(mode) > mem.LADDER.index("fp8") and "estimated" in note
    assert mem.pick_auto(wan, 81, 480, 832, 1 * mem.GIB)[0] == "group_leaf"
    chain, mode = [], "gpu"
    while mode is not None:
        chain.append(mode)
        mode = mem.next_lower_mode(mode)
    assert tuple(chain) == mem.LADDER and mem.next_lower_mode("compile") == "chunked"
    # With this job's estimates, a rung that would not lower the peak is skipped.
    lower = mem.next_lower_mode("chunked", table)
    assert table[lower] < table["chunked"]
    assert all(table[mode] < table[lower] for mode in mem.LADDER[-2:])
    assert "group_leaf" not in str(mem.oom_error("group_leaf")).split("'")[2:]
