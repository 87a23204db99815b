"""The style tab through its API (one in-process launch, gradio_client) and ``cli.py style``."""

from __future__ import annotations

import json

import numpy as np
import pytest
from skimage import data

from pipelines.manifest import list_runs
from pipelines.media import load_image, probe_video, save_image, write_video
from tests.conftest import served_studio
from tests.style_fixtures import panning_frames, style_image


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from pipelines.catalog import build_registry

    with served_studio(build_registry(), tmp_path_factory.mktemp("downloads")) as client:
        yield client


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("style-inputs")
    rate = 16000
    tone = 0.2 * np.sin(2 * np.pi * 330 * np.arange(rate) / rate).astype(np.float32)
    video = write_video(folder / "pan.mp4", panning_frames(12), 12.0, audio_samples=(tone, rate))
    content = save_image(folder / "cat.png", data.chelsea()[::4, ::4].copy())
    return {"video": video, "image": content, "style": style_image(folder / "style.png")}


def test_api_names(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert "/style" in endpoints and "/style_video" in endpoints


def test_image_through_the_api(client, inputs):
    from gradio_client import handle_file

    preview, result, summary = client.predict(
        handle_file(str(inputs["image"])), handle_file(str(inputs["style"])), "style.classical",
        "cartoon", 0.9, None, 0.5, False, 0.7, 1024, "jpg", api_name="/style",
    )  # fmt: skip
    assert load_image(result).rgb.shape == (75, 113, 3) and str(result).endswith(".jpg")
    assert "113x75" in summary and preview


def test_video_through_the_api_reports_metrics_and_keeps_audio(client, inputs):
    from gradio_client import handle_file

    video, table, summary = client.predict(
        handle_file(str(inputs["video"])), handle_file(str(inputs["style"])),
        "classical", "cartoon", 0.8, True, None, 0.5, False, 0.7, 1024, api_name="/style_video",
    )  # fmt: skip
    path = video["video"] if isinstance(video, dict) else video
    info = probe_video(path)
    assert (info.width, info.height, info.frame_count, info.has_audio) == (160, 96, 12, True)
    rows = table["data"] if isinstance(table, dict) else table
    before, after = rows[0][1], rows[1][1]
    assert 0 < after < before
    assert "Scene cuts" in summary


def test_bad_input_is_one_sentence_and_the_server_keeps_serving(client, inputs, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="style image first"):
        client.predict(handle_file(str(inputs["image"])), None, "classical", "reinhard", 0.8,
                       None, 0.5, False, 0.7, 1024, "png", api_name="/style")
    with pytest.raises(AppError, match="cli.py fetch style.adain"):
        client.predict(handle_file(str(inputs["video"])),
                       handle_file(str(inputs["style"])), "style.adain", "reinhard", 0.8, True,
                       None, 0.5, False, 0.7, 1024, api_name="/style_video")
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    assert "/style" in endpoints


def test_cli_style_image_and_video(inputs, tmp_path, capsys):
    import cli

    out = tmp_path / "out.png"
    assert cli.main(["style", str(inputs["image"]), str(inputs["style"]), "--strength", "1",
                     "-o", str(out)]) == 0
    assert load_image(out).rgb.shape == (75, 113, 3)
    video_out = tmp_path / "out.mp4"
    assert cli.main(["style", str(inputs["video"]), str(inputs["style"]), "--backend",
                     "classical", "--method", "painting", "--consistent", "-o",
                     str(video_out)]) == 0
    assert probe_video(video_out).has_audio
    printed = capsys.readouterr().out
    assert "warping error" in printed
    manifest = json.loads((list_runs("style")[0] / "manifest.json").read_text())
    assert manifest["spec_id"] == "style.classical" and manifest["parameters"]["consistent"]
    assert manifest["temporal_after"]["warping_error"] <= manifest["temporal_before"][
        "warping_error"]
    assert cli.main(["style", str(inputs["video"]), str(inputs["style"]), "-o",
                     str(tmp_path / "x.png")]) == 2
    assert "mp4" in capsys.readouterr().err
