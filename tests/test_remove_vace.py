"""Object removal with Wan VACE: a tiny WanVACEPipeline in the real repo's layout, placed in a
Hugging Face cache by the spec's own file patterns, loaded through the registry by the real repo
id and run through ``cli.py remove`` on the CPU for 2 steps, in two pieces."""

from __future__ import annotations

import numpy as np
import pytest

import cli
from pipelines.catalog import build_registry
from pipelines.errors import StudioError
from pipelines.media import probe_video, read_frames
from pipelines.remove.vace import model_size, piece_length
from tests import i2v_fixtures as fx
from tests.remove_fixtures import scene, write_scene

SPEC = "remove.wan-vace"
pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    import huggingface_hub.constants

    cache = tmp_path_factory.mktemp("hub")
    registry = build_registry()
    fx.cached_repo(cache, registry.get(SPEC))
    registry.replace(SPEC, needs_gpu=False, est_memory_gb=0.0)  # the tiny model runs on a CPU
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(cache))
        patch.setenv("HF_HUB_OFFLINE", "1")
        yield registry


def test_sizes_and_pieces():
    assert model_size((768, 576), 832, 16) == (832, 624)
    assert model_size((160, 120), 64, 16) == (64, 48)
    assert piece_length(81) == 81 and piece_length(12) == 9 and piece_length(9) == 9


def test_vace_removes_through_the_cli_in_pieces(registry, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("STUDIO_OUTPUTS", str(tmp_path / "runs"))
    made = scene(n=12, pan=(2.0, 1.0))
    files = write_scene(tmp_path / "in", made)
    out = tmp_path / "out"
    code = cli.main(["remove", str(files["video"]), "--mask", str(files["mask"]), "--backend",
                     "wan-vace", "--device", "cpu", "--steps", "2", "--model-side", "64",
                     "--chunk-frames", "9", "--prompt", "a calm face", "--quiet", "--out",
                     str(out)], registry=registry)
    printed = capsys.readouterr()
    assert code == 0, printed.err
    assert "in 2 piece(s) of up to 9 frames at 64x48" in printed.out
    cleaned = read_frames(out / "removed.mp4")
    holes = [f[..., 0] > 127 for f in read_frames(out / "mask.mp4")]
    source = read_frames(files["video"])
    assert len(cleaned) == len(holes) == probe_video(out / "removed.mp4").frame_count == 12
    for frame, hole, given, sprite in zip(cleaned, holes, source, made.masks, strict=True):
        assert hole[sprite].mean() > 0.97  # the carried hole covers the sprite
        inside = np.abs(frame[hole].astype(int) - given[hole]).mean()
        outside = np.abs(frame[~hole].astype(int) - given[~hole]).mean()
        assert inside > 10 and outside < 3  # regenerated inside, kept outside (up to H.264)
    assert (out / "clean_still.png").is_file()


def test_running_out_of_memory_names_the_next_mode(registry):
    from pipelines.remove.vace import VaceRemover

    runner = registry.load(SPEC, device="cpu", dtype="float32")
    assert isinstance(runner, VaceRemover)
    message = str(runner._oom("gpu"))
    assert "memory mode 'chunked'" in message
    assert isinstance(runner._oom("low"), StudioError) and "even in" in str(runner._oom("low"))
