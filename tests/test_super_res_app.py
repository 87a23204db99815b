"""The super-resolution tab through its API: one in-process launch, called with gradio_client."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from pipelines.media import probe_video, write_video
from tests.conftest import served_studio
from tests.media_fixtures import moving_frames, sine
from tests.super_res_fixtures import compact_state_dict, save_checkpoint


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from pipelines.catalog import build_registry

    weights = save_checkpoint(tmp_path_factory.mktemp("anime"), "realesr-animevideov3.pth",
                              compact_state_dict(scale=4))
    registry = build_registry()
    registry.replace("super_res.realesr-animevideov3", repo_id=str(weights))
    with served_studio(registry, tmp_path_factory.mktemp("downloads")) as client:
        yield client


def test_api_names(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert "/super_res" in endpoints and "/super_res_video" in endpoints


def test_image_through_the_api_with_reference_metrics(client, tmp_path):
    from gradio_client import handle_file

    rng = np.random.default_rng(0)
    high = rng.integers(0, 256, (48, 64, 3), dtype=np.uint8)
    low = high[::2, ::2]
    Image.fromarray(low).save(tmp_path / "low.png")
    Image.fromarray(high).save(tmp_path / "high.png")
    slider, result, summary = client.predict(
        handle_file(str(tmp_path / "low.png")), handle_file(str(tmp_path / "high.png")),
        "super_res.realesr-animevideov3", 2, 0, "webp", False, api_name="/super_res",
    )  # fmt: skip
    assert Image.open(result).size == (64, 48) and Image.open(result).format == "WEBP"
    before, after = (Image.open(item["path"] if isinstance(item, dict) else item)
                     for item in slider)
    assert before.size == after.size == (64, 48)
    assert "32x24 → 64x48" in summary and "PSNR" in summary and "SSIM" in summary
    assert "resampled to x2" in summary  # the x4 model's result was brought to the asked scale


def test_video_through_the_api_keeps_audio(client, tmp_path):
    from gradio_client import handle_file

    source = tmp_path / "clip.mp4"
    write_video(source, moving_frames(6, 32, 24), 6, audio_samples=(sine(440, 1.0, 16000), 16000))
    video, summary = client.predict(handle_file(str(source)), "classical", 2, 0,
                                    api_name="/super_res_video")
    path = video["video"] if isinstance(video, dict) else video
    info = probe_video(path)
    assert (info.width, info.height, info.frame_count, info.has_audio) == (64, 48, 6, True)
    assert "audio kept" in summary


def test_bad_input_is_one_sentence_and_the_server_keeps_serving(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    Image.fromarray(np.zeros((1, 1, 3), np.uint8)).save(tmp_path / "dot.png")
    with pytest.raises(AppError) as info:
        client.predict(handle_file(str(tmp_path / "dot.png")), None, "classical", 2, 0, "png",
                       False, api_name="/super_res")
    assert "at least 4x4" in str(info.value) and "Traceback" not in str(info.value)
    Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(tmp_path / "ok.png")
    _, result, _ = client.predict(handle_file(str(tmp_path / "ok.png")), None, "classical", 3, 0,
                                  "png", True, api_name="/super_res")
    assert Image.open(result).size == (24, 24)
