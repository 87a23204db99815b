"""LivePortrait: published parameter names and shapes, keypoint algebra, and a tiny round trip
through the registry (seeded tiny checkpoints saved as the Hub repo's five .pth files)."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from skimage import data

from pipelines.errors import InputError, StudioError
from pipelines.portrait.liveportrait import motion as mo
from pipelines.portrait.liveportrait.config import CONFIG_FILE, RETARGETING_KEYS, merged
from pipelines.portrait.liveportrait.crop import BoxTracker, Crop, PasteBack, feather_mask
from pipelines.portrait.liveportrait.networks import NETWORK_FILES, build_networks
from pipelines.portrait.liveportrait.specs import SPECS
from pipelines.registry import Registry

SPEC_ID = "portrait.liveportrait"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


# ---------------------------------------------------------------------------------------------
# Expected state dicts of the published checkpoints, derived from the reference architecture
# (src/modules/*.py and src/config/models.yaml of KwaiVGI/LivePortrait).


def _bn(prefix: str, n: int) -> dict[str, tuple]:
    """A BatchNorm's five state-dict entries."""
    return {f"{prefix}.weight": (n,), f"{prefix}.bias": (n,), f"{prefix}.running_mean": (n,),
            f"{prefix}.running_var": (n,), f"{prefix}.num_batches_tracked": ()}  # fmt: skip


def _conv(prefix: str, shape: tuple) -> dict[str, tuple]:
    return {f"{prefix}.weight": shape, f"{prefix}.bias": (shape[0],)}


def _appearance_expected() -> dict[str, tuple]:
    """Every entry of appearance_feature_extractor.pth (F), written out."""
    sd = {**_conv("first.conv", (64, 3, 3, 3)), **_bn("first.norm", 64)}
    sd |= {**_conv("down_blocks.0.conv", (128, 64, 3, 3)), **_bn("down_blocks.0.norm", 128)}
    sd |= {**_conv("down_blocks.1.conv", (256, 128, 3, 3)), **_bn("down_blocks.1.norm", 256)}
    sd |= _conv("second", (512, 256, 1, 1))
    for i in range(6):
        for j in (1, 2):
            sd |= _conv(f"resblocks_3d.3dr{i}.conv{j}", (32, 32, 3, 3, 3))
            sd |= _bn(f"resblocks_3d.3dr{i}.norm{j}", 32)
    return sd


def _mlp_expected(sizes: list[int]) -> dict[str, tuple]:
    """Linear layers at even indices of ``mlp`` (ReLUs in between)."""
    sd = {}
    for i, (cin, cout) in enumerate(itertools.pairwise(sizes)):
        sd |= {f"mlp.{2 * i}.weight": (cout, cin), f"mlp.{2 * i}.bias": (cout,)}
    return sd


RETARGETING_EXPECTED = {
    "retarget_shoulder": _mlp_expected([126, 128, 128, 64, 65]),
    "retarget_mouth": _mlp_expected([65, 128, 128, 64, 63]),
    "retarget_eye": _mlp_expected([66, 256, 256, 128, 128, 64, 63]),
}

# Entry counts: F 2x(conv 2 + BN 5) + second 2 + 6 resblocks x 14 = 107. M: stem 4 + 3
# downsamplers x 4 + 18 blocks x 10 + norm 2 + 7 heads x 2 = 212. W: hourglass 5 down + 5 up
# blocks x 7 + final conv/BN 7 + mask 2 + compress 2 + BN 5 + occlusion 2, third 7, fourth 2 = 97.
# G: fc 2 + 6 middle blocks x 20 + two up blocks with learned shortcuts x 29 + conv_img 2 = 182.
EXPECTED_COUNTS = {
    "appearance_feature_extractor": 107,
    "motion_extractor": 212,
    "warping_module": 97,
    "spade_generator": 182,
}

EXPECTED_SAMPLES = {
    "motion_extractor": {
        "detector.downsample_layers.0.0.weight": (96, 3, 4, 4),
        "detector.downsample_layers.0.1.weight": (96,),
        "detector.downsample_layers.1.0.bias": (96,),
        "detector.downsample_layers.3.1.weight": (768, 384, 2, 2),
        "detector.stages.0.0.dwconv.weight": (96, 1, 7, 7),
        "detector.stages.2.8.pwconv1.weight": (1536, 384),
        "detector.stages.3.2.grn.gamma": (1, 1, 1, 3072),
        "detector.stages.3.2.pwconv2.weight": (768, 3072),
        "detector.norm.weight": (768,),
        "detector.fc_kp.weight": (63, 768),
        "detector.fc_scale.weight": (1, 768),
        "detector.fc_pitch.weight": (66, 768),
        "detector.fc_yaw.bias": (66,),
        "detector.fc_roll.weight": (66, 768),
        "detector.fc_t.weight": (3, 768),
        "detector.fc_exp.weight": (63, 768),
    },
    "warping_module": {
        # hourglass input: (21 + 1) keypoint slots x (4 compressed channels + 1 heat map) = 110
        "dense_motion_network.hourglass.encoder.down_blocks.0.conv.weight": (64, 110, 3, 3, 3),
        "dense_motion_network.hourglass.encoder.down_blocks.4.conv.weight": (1024, 512, 3, 3, 3),
        "dense_motion_network.hourglass.encoder.down_blocks.4.norm.running_var": (1024,),
        "dense_motion_network.hourglass.decoder.up_blocks.0.conv.weight": (512, 1024, 3, 3, 3),
        "dense_motion_network.hourglass.decoder.up_blocks.1.conv.weight": (256, 1024, 3, 3, 3),
        "dense_motion_network.hourglass.decoder.up_blocks.4.conv.weight": (32, 128, 3, 3, 3),
        "dense_motion_network.hourglass.decoder.conv.weight": (142, 142, 3, 3, 3),
        "dense_motion_network.hourglass.decoder.norm.weight": (142,),
        "dense_motion_network.mask.weight": (22, 142, 7, 7, 7),
        "dense_motion_network.compress.weight": (4, 32, 1, 1, 1),
        "dense_motion_network.norm.num_batches_tracked": (),
        "dense_motion_network.occlusion.weight": (1, 2272, 7, 7),
        "third.conv.weight": (256, 512, 3, 3),
        "third.norm.running_mean": (256,),
        "fourth.weight": (256, 256, 1, 1),
    },
    "spade_generator": {
        "fc.weight": (512, 256, 3, 3),
        "G_middle_0.conv_0.weight_orig": (512, 512, 3, 3),
        "G_middle_0.conv_0.weight_u": (512,),
        "G_middle_0.conv_0.weight_v": (4608,),
        "G_middle_5.conv_1.bias": (512,),
        "G_middle_3.norm_0.mlp_shared.0.weight": (128, 256, 3, 3),
        "G_middle_3.norm_1.mlp_gamma.weight": (512, 128, 3, 3),
        "up_0.conv_0.weight_orig": (256, 512, 3, 3),
        "up_0.conv_s.weight_orig": (256, 512, 1, 1),
        "up_0.conv_s.weight_v": (512,),
        "up_0.norm_s.mlp_beta.weight": (512, 128, 3, 3),
        "up_1.conv_0.weight_orig": (64, 256, 3, 3),
        "up_1.conv_1.weight_orig": (64, 64, 3, 3),
        "up_1.norm_1.mlp_gamma.weight": (64, 128, 3, 3),
        "conv_img.0.weight": (12, 64, 3, 3),
        "conv_img.0.bias": (12,),
    },
}


def _shapes(module: torch.nn.Module) -> dict[str, tuple]:
    return {k: tuple(v.shape) for k, v in module.state_dict().items()}


@pytest.fixture(scope="module")
def full_size():
    torch.manual_seed(0)
    return build_networks(merged())


def test_appearance_extractor_matches_the_checkpoint_exactly(full_size):
    assert _shapes(full_size["appearance_feature_extractor"]) == _appearance_expected()


@pytest.mark.parametrize("name", ["stitching", "lip", "eye"])
def test_retargeting_mlps_match_the_checkpoint_exactly(full_size, name):
    assert _shapes(full_size[name]) == RETARGETING_EXPECTED[RETARGETING_KEYS[name]]


@pytest.mark.parametrize("name", sorted(EXPECTED_SAMPLES))
def test_base_networks_have_the_published_names_and_shapes(full_size, name):
    shapes = _shapes(full_size[name])
    assert len(shapes) == EXPECTED_COUNTS[name]
    for key, shape in EXPECTED_SAMPLES[name].items():
        assert shapes.get(key) == shape, key
    # No name outside the published vocabulary (e.g. a parametrizations.* spectral norm).
    assert not [k for k in shapes if "parametrizations" in k or k.endswith(".weight_g")]


def test_motion_extractor_trunk_is_convnext_v2_tiny(full_size):
    """ConvNeXt-V2-T is 28.6 M parameters with its 1000-class head (Woo et al., 2023, table)."""
    det = full_size["motion_extractor"].detector
    trunk = sum(p.numel() for n, p in det.named_parameters() if not n.startswith("fc_"))
    assert abs(trunk + 768 * 1000 + 1000 - 28.6e6) < 0.05e6


def test_spectral_norm_folding_keeps_the_output():
    from pipelines.portrait.liveportrait.blocks import SPADEResnetBlock, fold_spectral_norm

    torch.manual_seed(0)
    block = SPADEResnetBlock(16, 8, label_channels=4, hidden=8)
    for _ in range(3):  # a few power iterations so u, v are not the initial ones
        block(torch.randn(1, 16, 8, 8), torch.randn(1, 4, 4, 4))
    block.eval()
    x, label = torch.randn(2, 16, 8, 8), torch.randn(2, 4, 4, 4)
    before = block(x, label)
    assert fold_spectral_norm(block) == 3
    assert "conv_0.weight" in block.state_dict()
    torch.testing.assert_close(block(x, label), before, rtol=1e-5, atol=1e-5)


# ---------------------------------------------------------------------------------------------
# Keypoint algebra


def _info(seed: int) -> mo.KeypointInfo:
    g = torch.Generator().manual_seed(seed)
    raw = {"kp": torch.randn(1, 63, generator=g) * 0.3,
           "exp": torch.randn(1, 63, generator=g) * 0.02,
           "pitch": torch.randn(1, 66, generator=g), "yaw": torch.randn(1, 66, generator=g),
           "roll": torch.randn(1, 66, generator=g), "t": torch.randn(1, 3, generator=g) * 0.1,
           "scale": 1 + 0.1 * torch.rand(1, 1, generator=g)}  # fmt: skip
    return mo.KeypointInfo.from_raw(raw)


def test_pose_bins_and_rotation():
    flat = torch.zeros(1, 66)
    assert mo.bins_to_degrees(flat).item() == pytest.approx(0.0, abs=1e-4)  # bin 32.5 is 0 deg
    peaked = torch.full((1, 66), -1e4)
    peaked[0, 40] = 0
    assert mo.bins_to_degrees(peaked).item() == pytest.approx(40 * 3 - 97.5)
    rot = mo.rotation(torch.tensor([10.0]), torch.tensor([-25.0]), torch.tensor([5.0]))
    torch.testing.assert_close(rot @ rot.transpose(1, 2), torch.eye(3)[None], atol=1e-6, rtol=0)
    # Yaw alone turns x towards z and leaves y alone.
    yaw = mo.rotation(torch.tensor([0.0]), torch.tensor([90.0]), torch.tensor([0.0]))
    moved = torch.tensor([[[1.0, 0.0, 0.0]]]) @ yaw
    torch.testing.assert_close(moved.abs(), torch.tensor([[[0.0, 0.0, 1.0]]]), atol=1e-6, rtol=0)


def test_relative_motion_starts_at_the_source_and_absolute_copies_the_driver():
    source, first, later = _info(1), _info(2), _info(3)
    x_s = mo.source_keypoints(source)
    torch.testing.assert_close(mo.driven_keypoints(source, first, first, True), x_s)
    moved = mo.driven_keypoints(source, later, first, True)
    assert (moved - x_s).abs().max() > 1e-3
    absolute = mo.driven_keypoints(source, later, first, False)
    expected = mo.compose(source.kp, later.rotation, later.exp, source.scale, later.t)
    torch.testing.assert_close(absolute, expected)
    assert torch.all(absolute != moved)


def test_expression_edits_move_the_published_keypoints():
    exp = torch.zeros(1, 21, 3)
    smiled = mo.edit_expression(exp, smile=1.0)
    assert smiled[0, 14, 1].item() == pytest.approx(-0.02)  # lower lip up
    assert mo.edit_expression(exp, brow=0.5)[0, 1, 1].item() > 0
    gazed = mo.edit_expression(exp, gaze_x=1.0)
    assert gazed[0, 11, 0] > 0 and gazed[0, 15, 0] > gazed[0, 11, 0]
    assert torch.equal(mo.edit_expression(exp), exp) and exp.abs().sum() == 0  # copy, not in place


# ---------------------------------------------------------------------------------------------
# Crops and paste-back


def test_paste_back_blends_only_around_the_face():
    picture = np.full((120, 160, 3), 200, np.uint8)
    crop = Crop.around((60, 40, 30, 30))
    paste = PasteBack(picture, crop, 64)
    out = paste(np.zeros((64, 64, 3), np.uint8))
    assert out.shape == picture.shape
    assert np.array_equal(out[:, :10], picture[:, :10])  # far from the face: untouched
    cx, cy = 75, 55 - round(0.125 * 30)
    assert out[cy, cx].max() < 5  # the face's centre: the render
    mask = feather_mask(64)
    assert mask[32, 32] == pytest.approx(1.0, abs=1e-3) and mask[0, 0] < 1e-3


def test_box_tracker_holds_the_last_face():
    frame = np.zeros((100, 100, 3), np.uint8)
    boxes = [(10, 10, 40, 40), None, (20, 20, 40, 40)]
    tracker = BoxTracker(boxes)
    crops = [tracker.crop_for(i, frame) for i in range(3)]
    assert crops[1] == crops[0] and crops[2] != crops[0]
    assert tracker.lost == 1
    assert BoxTracker(None).crop_for(0, np.zeros((80, 120, 3), np.uint8)) == Crop(20, 0, 80)


# ---------------------------------------------------------------------------------------------
# Tiny round trip through the registry

# Small widths, and a 32x32 feature volume (three down blocks instead of two: the render is
# then 256x256 instead of 512x512), so a frame takes a fraction of a second on one CPU core.
TINY = {
    "appearance_feature_extractor": {"block_expansion": 4, "num_down_blocks": 3,
                                     "max_features": 32, "reshape_channel": 8,
                                     "reshape_depth": 4, "num_resblocks": 1},
    "motion_extractor": {"depths": [1, 1, 1, 1], "dims": [8, 16, 32, 64]},
    "warping_module": {"block_expansion": 4, "num_down_blocks": 3, "max_features": 32,
                       "reshape_channel": 8,
                       "dense_motion_params": {"block_expansion": 4, "max_features": 16,
                                               "num_blocks": 2, "reshape_depth": 4,
                                               "compress": 1}},
    "spade_generator": {"block_expansion": 4, "num_down_blocks": 3, "max_features": 32,
                        "out_channels": 8, "spade_hidden": 8},
    "stitching_retargeting_module": {"stitching": {"hidden_sizes": [16]},
                                     "lip": {"hidden_sizes": [16]},
                                     "eye": {"hidden_sizes": [16, 16]}},
}  # fmt: skip


def _save_tiny(folder, ddp_prefix: bool = False):
    """Seeded tiny networks saved as the Hub repo's five .pth files (+ the size override)."""
    torch.manual_seed(0)
    nets = build_networks(merged(TINY))
    for name in ("appearance_feature_extractor", "motion_extractor", "warping_module",
                 "spade_generator"):  # fmt: skip
        path = folder / NETWORK_FILES[name]
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(nets[name].state_dict(), path)
    prefix = "module." if ddp_prefix else ""
    bundle = {
        entry: {prefix + k: v for k, v in nets[key].state_dict().items()}
        for key, entry in RETARGETING_KEYS.items()
    }
    path = folder / NETWORK_FILES["stitching_retargeting_module"]
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(bundle, path)
    (folder / CONFIG_FILE).write_text(json.dumps(TINY))
    return folder


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    folder = _save_tiny(tmp_path_factory.mktemp("lp") / "LivePortrait", ddp_prefix=True)
    reg = Registry(SPECS)
    reg.replace(SPEC_ID, repo_id=str(folder))
    return reg


@pytest.fixture(scope="module")
def astronaut() -> np.ndarray:
    return np.ascontiguousarray(data.astronaut()[::2, ::2])  # 256x256, a face near the top


def test_spec_is_the_published_repo():
    (spec,) = SPECS
    assert (spec.id, spec.task, spec.kind, spec.repo_id) == (
        SPEC_ID, "portrait", "torch", "KlingTeam/LivePortrait")  # fmt: skip
    assert set(spec.files) == set(NETWORK_FILES.values()) and len(spec.files) == 5
    assert "MIT" in spec.license and "InsightFace" in spec.license
    assert spec.revision == "82a4fa6735ca58432b6ce39301b4b9ee066dea47"
    assert set(spec.sha256) == set(spec.files)  # each file's digest pinned, not only the commit


def test_animate_three_frames_through_the_registry(registry, astronaut):
    runner = registry.load(SPEC_ID)
    assert runner.device == "cpu" and runner.dtype == "float32"
    assert set(runner.modules()) == {"appearance_feature_extractor", "motion_extractor",
                                     "warping_module", "spade_generator", "stitching", "lip",
                                     "eye"}  # fmt: skip
    source = np.ascontiguousarray(np.concatenate([astronaut, astronaut[:, :64]], axis=1))
    driving = [np.roll(astronaut, 4 * i, axis=1)[16:240, 8:232] for i in range(3)]
    seen = []
    frames = list(runner.animate(source, driving, progress=lambda f, d: seen.append(f)))
    assert len(frames) == 3 and seen[-1] == pytest.approx(1.0)
    assert all(f.shape == source.shape and f.dtype == np.uint8 for f in frames)
    assert runner.notes["face_source"] == "Haar cascade" and runner.notes["frames"] == 3
    # Pixels far from the face are the source's; the face region is the (random) render.
    assert np.array_equal(frames[0][:, -8:], source[:, -8:])
    assert np.abs(frames[0][60:120, 100:160].astype(int) - source[60:120, 100:160]).mean() > 2
    # Relative mode: the first frame's keypoints are the source's, later ones move.
    assert not np.array_equal(frames[0], frames[2])


def test_animate_with_boxes_and_lost_faces(registry, astronaut):
    runner = registry.load(SPEC_ID)
    driving = [astronaut] * 3
    boxes = [(90, 30, 80, 90), None, (92, 30, 80, 90)]
    frames = list(runner.animate(astronaut, iter(driving), crop_box=(90, 30, 80, 90),
                                 driving_boxes=boxes, relative=False, stitching=False))  # fmt: skip
    assert len(frames) == 3 and runner.notes["lost_faces"] == 1
    assert runner.notes["face_source"] == "the given box"
    assert np.array_equal(frames[0], frames[1])  # the lost frame held the last box: same render


def test_edit_returns_the_source_size(registry, astronaut):
    runner = registry.load(SPEC_ID)
    picture = np.ascontiguousarray(astronaut[:, :200])
    plain = runner.edit(picture, crop_box=(90, 30, 80, 90))
    edited = runner.edit(picture, crop_box=lambda rgb: (90, 30, 80, 90), eyes=-0.5, lips=0.5,
                         smile=0.8, yaw=15, gaze=(0.3, 0))  # fmt: skip
    assert plain.shape == edited.shape == picture.shape and edited.dtype == np.uint8
    assert not np.array_equal(plain, edited)
    assert runner.notes["edit"]["smile"] == 0.8
    mesh = np.random.default_rng(0).uniform(0, 200, (468, 3))
    assert runner.edit(picture, crop_box=(90, 30, 80, 90), eyes=0.3, landmarks=mesh).shape == (
        picture.shape
    )


def test_expression_over_a_driven_video(registry, astronaut):
    runner = registry.load(SPEC_ID)
    driving = [astronaut, astronaut]
    box = (90, 30, 80, 90)
    plain = list(runner.animate(astronaut, driving, crop_box=box))
    smiling = list(runner.animate(astronaut, driving, crop_box=box,
                                  expression={"smile": 1.0, "eyes": 0.5}))  # fmt: skip
    assert len(smiling) == 2 and not np.array_equal(plain[1], smiling[1])


def test_edit_sliders():
    from pipelines.portrait.liveportrait.runner import Edits, openness_from_mesh

    class Expression:  # the classical backend's slider object, duck-typed
        eyes, lips, smile, brow, yaw, pitch, roll, gaze = 1.0, -1.0, 0.0, 0.0, 0.0, 0.0, 0.0, (0, 0)

    edits = Edits.of(Expression())
    assert edits.eye_target(0.3, 0.3) == pytest.approx(0.3 * 1.6)
    assert edits.lip_target(0.4) == 0.0  # -1 closes the mouth
    assert Edits(eyes=-1).eye_target(0.3, 0.2) == 0.0
    assert Edits(lips=1).lip_target(0.0) == pytest.approx(0.6)
    with pytest.raises(InputError, match="Unknown expression setting"):
        Edits.of({"grin": 1})
    with pytest.raises(InputError, match="gaze"):
        Edits(gaze=(2, 0))
    # A mesh with the eyes 10 px open over 40 px wide, the mouth 20 over 50.
    pts = np.zeros((468, 2))
    for upper, lower, outer, inner in ((159, 145, 33, 133), (386, 374, 263, 362)):
        pts[upper], pts[lower], pts[outer], pts[inner] = (0, 0), (0, 10), (-20, 5), (20, 5)
    pts[13], pts[14], pts[61], pts[291] = (0, 0), (0, 20), (-25, 10), (25, 10)
    assert openness_from_mesh(pts) == pytest.approx((0.25, 0.25, 0.4), rel=1e-4)


def test_bad_inputs_give_sentences(registry, astronaut):
    runner = registry.load(SPEC_ID)
    blank = np.full((128, 128, 3), 127, np.uint8)
    with pytest.raises(InputError, match="No face was found"):
        runner.animate(blank, [blank])
    with pytest.raises(InputError, match="use a value from -1 to 1"):
        runner.edit(blank, crop_box=(30, 30, 60, 60), smile=3)
    with pytest.raises(InputError, match="RGB picture"):
        runner.edit(np.zeros((4, 4, 3), np.uint8), crop_box=(0, 0, 2, 2))
    with pytest.raises(InputError, match="face box"):
        runner.edit(blank, crop_box=(0, 0, 0, 10))
    with pytest.raises(InputError, match="468"):
        runner.edit(blank, crop_box=(30, 30, 60, 60), eyes=0.2, landmarks=np.zeros((5, 2)))
    with pytest.raises(InputError, match="no frames"):
        list(runner.animate(blank, [], crop_box=(30, 30, 60, 60)))
    with pytest.raises(InputError, match="pick a face index"):
        runner.animate(astronaut, [astronaut], face_index=3)


def test_checkpoints_of_another_size_are_refused(tmp_path):
    folder = _save_tiny(tmp_path / "LivePortrait")
    (folder / CONFIG_FILE).write_text(json.dumps({**TINY, "motion_extractor": {
        "depths": [1, 1, 1, 1], "dims": [8, 16, 32, 48]}}))  # fmt: skip
    reg = Registry(SPECS)
    reg.replace(SPEC_ID, repo_id=str(folder))
    with pytest.raises(StudioError, match="motion_extractor.pth does not fit"):
        reg.load(SPEC_ID)
