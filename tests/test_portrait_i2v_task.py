"""The image-to-video model options as the portrait TASK serves them: settings, the CLI on the
CPU, LoRAs as text, step caches, end pictures and keyframes, per-spec defaults, the estimated
peak the tab shows, and an injected out-of-memory error through the job skeleton.

A tiny Wan 2.1 I2V checkpoint (tests/i2v_fixtures.py) sits in a Hugging Face cache under the
real repo id; the specs are the catalog's own (``needs_gpu`` stays True: ``--device cpu`` runs
them anyway).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage import data

import cli
from pipelines import media
from pipelines.catalog import build_registry
from pipelines.errors import InputError, StudioError
from pipelines.portrait import TASK, settings
from pipelines.portrait import memory as mem
from pipelines.portrait import types as request
from pipelines.portrait.job import parse_keyframes, parse_loras, prepare
from pipelines.portrait.specs import CACHES, DEFAULTS
from pipelines.task import run_job
from tests import i2v_fixtures as fx

WAN = "portrait.wan2.1-i2v-14b-480p"
FLF = "portrait.wan2.1-flf2v-14b-720p"
TINY = ["--steps", "2", "--side", "64", "--fit", "pad", "--prompt", "a smile",
        "--negative-prompt", ""]


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    """The catalog's registry (real specs) reading tiny Wan checkpoints from a Hub cache."""
    import huggingface_hub.constants

    cache = tmp_path_factory.mktemp("hub")
    reg = build_registry()
    for spec_id in (WAN, FLF):  # sharded, placed by the spec's own patterns
        fx.cached_repo(cache, reg.get(spec_id))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield reg


@pytest.fixture(scope="module")
def picture(tmp_path_factory):
    image = data.astronaut()[::4, ::4]  # 128x128, a face
    rgb = np.ascontiguousarray(np.concatenate([image[:, :64], image], axis=1))  # 192x128
    path = tmp_path_factory.mktemp("pictures") / "wide.png"
    media.save_image(path, rgb)
    return path


def _values(spec_id: str, **given):
    spec = build_registry().get(spec_id)
    return TASK.settings.validate(given, spec.id, TASK.group_of(spec)), spec


def test_wan_runs_through_the_cli_on_the_cpu(registry, picture, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_OUTPUTS", str(tmp_path / "runs"))
    monkeypatch.delenv("STUDIO_DEVICE", raising=False)
    assert registry.get(WAN).needs_gpu  # the real spec: --device cpu runs it anyway
    out = tmp_path / "wan.mp4"
    code = cli.main(["animate", str(picture), "--backend", WAN, "--device", "cpu", "--frames",
                     "5", *TINY, "--cache", "first_block", "-o", str(out), "--quiet"],
                    registry=registry)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    info = media.probe_video(out)
    assert info.frame_count == 5
    assert abs(info.width / info.height - 1.5) < 0.1  # the 3:2 picture's shape (pad)
    assert f"5 frames, {info.width}x{info.height}" in printed.out
    run = next((tmp_path / "runs" / "portrait").iterdir())
    record = json.loads((run / "manifest.json").read_text())
    assert record["backend_info"]["step_cache"] == "first_block"
    assert record["backend_info"]["estimated_peak_gpu_bytes"] > 0
    assert "memory" in record and record["parameters"]["loras"] == []
    assert record["parameters"]["cache"] == "first_block" and record["device"] == "cpu"


def test_end_picture_through_the_cli_and_where_it_is_refused(registry, picture, tmp_path,
                                                              monkeypatch, capsys):
    monkeypatch.setenv("STUDIO_OUTPUTS", str(tmp_path / "runs"))
    out = tmp_path / "flf.mp4"
    code = cli.main(["animate", str(picture), "--backend", FLF, "--device", "cpu", "--frames",
                     "5", *TINY, "--last", str(picture), "-o", str(out), "--quiet"],
                    registry=registry)
    assert code == 0, capsys.readouterr().err
    assert media.probe_video(out).frame_count == 5
    code = cli.main(["animate", str(picture), "--last", str(picture), "-o", str(out)],
                    registry=registry)
    err = capsys.readouterr().err
    assert code == 2 and "An end picture steers the prompted video models only" in err
    code = cli.main(["animate", str(picture), "--keyframe", f"{picture}@2", "--keyframe",
                     f"{picture}@4:0.5", "-o", str(out)], registry=registry)
    assert code == 2 and "Keyframes steer the prompted video models" in capsys.readouterr().err
    small = tmp_path / "small.png"
    media.save_image(small, media.load_image(picture).rgb[:64, :96])
    code = cli.main(["animate", str(picture), "--backend", FLF, "--device", "cpu", *TINY,
                     "--last", str(small), "-o", str(out)], registry=registry)
    assert code == 2 and "same size" in capsys.readouterr().err
    assert len(list((tmp_path / "runs" / "portrait").iterdir())) == 1


def test_keyframes_are_parsed_and_checked(picture):
    values, spec = _values("portrait.ltx-0.9.7")
    req = prepare({"image": str(picture), "keyframes": (f"{picture}@8:0.5", f"{picture}@20")},
                  values, 0, spec)
    assert [(k.frame, k.strength) for k in req.keyframes] == [(8, 0.5), (20, 1.0)]
    assert req.keyframes[0].image.shape == (128, 192, 3)
    with pytest.raises(InputError, match="needs a frame"):
        parse_keyframes([str(picture)])
    with pytest.raises(InputError, match="whole number"):
        parse_keyframes([f"{picture}@x"])
    with pytest.raises(InputError, match="between 0 and 96"):
        prepare({"image": str(picture), "keyframes": (f"{picture}@400",)}, values, 0, spec)
    values, spec = _values("portrait.classical")
    with pytest.raises(InputError, match="Keyframes steer the prompted video models only"):
        prepare({"image": str(picture), "keyframes": (f"{picture}@2",)}, values, 0, spec)


def test_lora_text_syntax(tmp_path, picture):
    local = tmp_path / "mine.safetensors"
    local.write_bytes(b"")
    loras = parse_loras(f"org/repo:style.safetensors@0.5#high;\n {local}@-1 ; org/other")
    assert [(c.source, c.weight_name, c.strength, c.expert) for c in loras] == [
        ("org/repo", "style.safetensors", 0.5, "high"), (str(local), None, -1.0, "both"),
        ("org/other", None, 1.0, "both")]
    assert parse_loras("") == () and parse_loras(" ; \n") == ()
    with pytest.raises(InputError, match="strength 'lots'"):
        parse_loras("org/repo@lots")
    with pytest.raises(InputError, match="does not exist"):
        parse_loras(str(tmp_path / "missing.safetensors"))
    with pytest.raises(InputError, match=r"after ':' give the \.safetensors file"):
        parse_loras("org/repo:weights.bin")
    values, spec = _values(WAN, loras="a/b@3")
    with pytest.raises(InputError, match="LoRA strength goes from -2 to 2"):
        prepare({"image": str(picture)}, values, 0, spec)
    values, spec = _values(WAN, loras="a/b#middle")
    with pytest.raises(InputError, match="expert is one of both, high, low"):
        prepare({"image": str(picture)}, values, 0, spec)
    values, spec = _values(WAN, loras=";".join(f"a/b{i}" for i in range(5)))
    with pytest.raises(InputError, match="at most 4 LoRAs"):
        prepare({"image": str(picture)}, values, 0, spec)


def test_lora_from_the_settings_reaches_the_model_and_the_manifest(registry, picture,
                                                                    tmp_path):
    from diffusers import WanImageToVideoPipeline, WanTransformer3DModel

    from pipelines.registry import cached_weights

    folder = cached_weights(registry.get(WAN))
    transformer = WanTransformer3DModel.from_pretrained(folder, subfolder="transformer")
    lora = fx.tiny_lora(WanImageToVideoPipeline, transformer, tmp_path / "lora")
    common = dict(frames=5, steps=2, side=64, fit="pad", prompt="a smile", negative_prompt="")
    plain = run_job(registry, TASK, WAN, {"image": str(picture)}, common, root=tmp_path)
    tuned = run_job(registry, TASK, WAN, {"image": str(picture)},
                    {**common, "loras": f"{lora}@0.8"}, root=tmp_path)
    record = json.loads(tuned.manifest.read_text())
    assert record["parameters"]["loras"] == [
        {"source": str(lora), "weight_name": None, "strength": 0.8, "expert": "both",
         "revision": None}]
    assert record["backend_info"]["loras"][0]["strength"] == 0.8
    a = media.read_frames(plain.outputs["video"])
    b = media.read_frames(tuned.outputs["video"])
    assert np.abs(np.stack(a).astype(int) - np.stack(b)).max() > 0


def test_step_cache_combinations(picture):
    values, spec = _values("portrait.hunyuanvideo-1.5-i2v", cache="first_block")
    with pytest.raises(InputError, match="does not take the step cache 'first_block'; use one "
                                         "of: pab, taylorseer"):
        prepare({"image": str(picture)}, values, 0, spec)
    for spec_id, caches in CACHES.items():
        for cache in caches:
            values, spec = _values(spec_id, cache=cache)
            assert prepare({"image": str(picture)}, values, 0, spec).dit.cache == cache


def test_choices_and_defaults_are_declared_once():
    assert settings.MEMORY_MODES is request.MEMORY_MODES
    assert TASK.settings["memory"].choices == request.MEMORY_MODES
    assert TASK.settings["cache"].choices == request.STEP_CACHES
    assert TASK.settings["frames"].maximum == request.MAX_FRAMES
    specs = {s.id: s for s in TASK.spec_list()}
    for spec_id, table in DEFAULTS.items():
        values = TASK.settings.defaults(spec_id, TASK.group_of(specs[spec_id]))
        for key, value in table.items():
            assert values[key] == value, (spec_id, key)
    assert {"last", "driving"} == {i.name for i in TASK.inputs if i.optional}


def test_the_tab_shows_each_modes_estimated_peak(registry, picture):
    from tabs.portrait import memory_text

    text = memory_text(registry, WAN, 81, 632, str(picture), "fp8")
    wan = registry.get(WAN)
    table = mem.estimate_for_picture(wan, 81, 192, 128, 632)
    for mode, peak in table.items():
        assert f"{peak / mem.GIB:.1f} GB" in text and f"`{mode}`" in text
    assert "`fp8` (chosen)" in text
    assert memory_text(registry, WAN, 81, 632, str(picture)) != \
        memory_text(registry, WAN, 17, 632, str(picture))  # follows the frame count
    assert memory_text(registry, "portrait.classical", 48, 640) == ""


def test_out_of_memory_mid_job_names_the_next_mode_and_the_next_job_runs(registry, picture,
                                                                          tmp_path,
                                                                          monkeypatch):
    import torch

    common = dict(frames=5, steps=2, side=64, fit="pad", prompt="a smile", negative_prompt="",
                  memory="chunked")
    freed = []
    free = mem.free_accelerator_memory
    monkeypatch.setattr(mem, "free_accelerator_memory", lambda: (freed.append(1), free()))
    with registry.pinned(WAN) as runner:
        def fail(*args, **kwargs):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

        monkeypatch.setattr(runner, "generate", fail)
        with pytest.raises(StudioError, match="ran out of memory in memory mode 'chunked'. "
                                              "Pick memory mode 'fp8'"):
            run_job(registry, TASK, WAN, {"image": str(picture)}, common, root=tmp_path)
        assert freed  # the runner gave the GPU memory back
        assert not list((tmp_path / "portrait").iterdir())  # no half-written run folder
        monkeypatch.setattr(runner, "generate", type(runner).generate.__get__(runner))
        out = run_job(registry, TASK, WAN, {"image": str(picture)}, common, root=tmp_path)
    assert out.data["frames"] == 5 and len(list((tmp_path / "portrait").iterdir())) == 1


def test_a_job_makes_room_for_its_working_memory_before_running(registry, picture, tmp_path):
    """The skeleton asks a model runner for the job's working memory (its activations, from the
    memory estimates) and evicts idle models until that fits the budget."""
    from pipelines.registry import ModelCache

    given = {"frames": 5, "steps": 2, "side": 64, "fit": "pad", "prompt": "a smile"}
    values, spec = _values(WAN, **given)
    runner = registry.load(WAN, device="cpu")
    need = runner.working_bytes(prepare({"image": picture}, values, 0, spec))
    assert need > 0
    auto, _ = _values(WAN, **given, memory="auto")
    assert runner.working_bytes(prepare({"image": picture}, auto, 0, spec)) == 0  # sizes itself
    # A budget that holds the model and an idle classical runner, but not the job's working
    # memory too: the job evicts the idle runner first.
    held = registry.cache.used_bytes("cpu")
    small = registry.copy(ModelCache(budget_bytes=held + need + 1))
    small.load("interpolate.classical")
    small.cache._entries[("interpolate.classical", "cpu", "float32")].bytes = 2
    out = run_job(small, TASK, WAN, {"image": picture}, given, root=tmp_path)
    assert ("interpolate.classical", "cpu", "float32") in small.cache.evictions
    assert json.loads(out.manifest.read_text())["working_bytes_estimate"] == need
