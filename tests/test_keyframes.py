"""Keyframe extraction: shot boundaries on procedural videos with known truth, keyframe choice,
every output of a job, the CLI, the CLIP clustering path and awkward inputs."""

from __future__ import annotations

import csv
import json
import threading
import zipfile
from itertools import pairwise
from pathlib import Path

import cv2
import numpy as np
import pytest

import cli
from pipelines.catalog import build_registry
from pipelines.errors import InputError, StudioError
from pipelines.keyframes.analysis import FrameAnalysis, hamming
from pipelines.keyframes.classical import KeyframeRequest, KeyframeRunner
from pipelines.keyframes.detectors import (
    CombinedDetector,
    ContentDetector,
    FadeDetector,
    ShotDetector,
    make_detector,
)
from pipelines.keyframes.evaluate import score_boundaries
from pipelines.keyframes.frames import frames_at, prefetch, scaled_frames
from pipelines.keyframes.job import run_keyframes
from pipelines.keyframes.outputs import sheet_layout
from pipelines.keyframes.select import CandidatePool
from pipelines.keyframes.settings import (
    KNOBS,
    SETTINGS,
    DetectorParams,
    SelectParams,
    Settings,
    settings_from,
)
from pipelines.keyframes.timecodes import timecode
from pipelines.manifest import outputs_dir
from pipelines.media import iter_frames, load_image, write_video
from tests import keyframes_fixtures as kf
from tests.checkpoints import tiny_clip_checkpoint
from tests.media_fixtures import write_rotated_video

WIDTH, HEIGHT = 192, 108


@pytest.fixture(scope="module")
def videos(tmp_path_factory) -> dict[str, tuple[Path, kf.Timeline]]:
    """The procedural test videos, written once for the module."""
    folder = tmp_path_factory.mktemp("keyframes-videos")
    timelines = {
        "short": kf.short_timeline(),
        "mixed": kf.mixed_timeline(14, seed=2),
        "flash": kf.flash_timeline(),
        "fade_black": kf.fade_timeline("black"),
        "fade_white": kf.fade_timeline("white"),
        "static": kf.static_timeline(),
    }
    return {name: (kf.write_timeline(t, folder / f"{name}.mp4", WIDTH, HEIGHT), t)
            for name, t in timelines.items()}  # fmt: skip


def detect(path: Path, **params) -> tuple[list, ShotDetector]:
    """Cuts of ``path`` fed frame by frame to a detector (decoding outside, as designed)."""
    detector = make_detector(DetectorParams(**params))
    cuts = []
    for index, frame in scaled_frames(path, 256, fast=True):  # as the runner decodes
        cuts += detector.process_frame(FrameAnalysis(index, frame))
    return cuts + detector.post_process(), detector


def points(timeline: kf.Timeline) -> list[tuple[int, int, int]]:
    return [(b.frame, b.frame, b.frame) for b in timeline.boundaries]


# --------------------------------------------------------------------------------------------
# Shot boundaries


def test_boundaries_f1_within_two_frames(videos):
    found, truth = [], []
    offset = 0
    for name in ("short", "mixed"):  # cuts, fades through black and white, flashes, motion
        path, timeline = videos[name]
        cuts, _ = detect(path)
        found += [c.frame + offset for c in cuts]
        truth += [(f + offset, s + offset, e + offset) for f, s, e in points(timeline)]
        offset += timeline.frame_count + 1000
    score = score_boundaries(found, truth, tolerance=2)
    assert len(truth) >= 19
    assert score.f1 >= 0.95, score


def test_flashes_are_not_cuts(videos):
    path, timeline = videos["flash"]
    cuts, detector = detect(path)
    assert cuts == []
    flagged = {f for start, end in detector.flashes for f in range(start, end)}
    assert set(timeline.flash_frames) <= flagged  # the one- and the two-frame flash
    short_cuts, _ = detect(videos["short"][0])  # flashes inside shots there too
    assert not {c.frame for c in short_cuts} & set(videos["short"][1].flash_frames)


@pytest.mark.parametrize("kind", ["black", "white"])
def test_a_fade_is_one_boundary(videos, kind):
    path, timeline = videos[f"fade_{kind}"]
    (truth,) = timeline.boundaries
    cuts, _ = detect(path)
    assert len(cuts) == 1
    assert cuts[0].kind == f"fade-{kind}"
    assert abs(cuts[0].frame - truth.frame) <= 2
    assert cuts[0].start <= truth.frame <= cuts[0].end
    for detector in ("content", "fade"):  # each detector alone also sees one boundary
        alone, _ = detect(path, detector=detector)
        assert len(alone) == 1 and truth.start <= alone[0].frame <= truth.end + 2


@pytest.mark.parametrize("name", ["mixed", "fade_black", "fade_white"])
def test_settled_never_passes_a_cut_still_to_come(videos, name):
    # Streaming users (style's cut gate) release frames below ``settled``: a cut returned later
    # must not start below what ``settled`` said before it was returned, merged cuts included.
    detector = make_detector(DetectorParams())
    promised, cuts = -1, []
    for index, frame in scaled_frames(videos[name][0], 256, fast=True):
        for cut in detector.process_frame(FrameAnalysis(index, frame)):
            assert cut.start >= promised, (cut, promised)
            cuts.append(cut)
        promised = max(promised, detector.settled)
    for cut in detector.post_process():
        assert cut.start >= promised, (cut, promised)
        cuts.append(cut)
    assert cuts


def test_static_shot_has_no_cut(videos):
    cuts, detector = detect(videos["static"][0])
    assert cuts == [] and detector.flashes == []


def test_detectors_share_a_real_abc_and_are_push_style(videos):
    with pytest.raises(TypeError):
        ShotDetector(DetectorParams())  # abstract

    class Incomplete(ShotDetector):
        def process_frame(self, frame):
            return []

    with pytest.raises(TypeError):
        Incomplete(DetectorParams())
    assert isinstance(make_detector(DetectorParams()), CombinedDetector)
    assert isinstance(make_detector(DetectorParams(detector="content")), ContentDetector)
    assert isinstance(make_detector(DetectorParams(detector="fade")), FadeDetector)

    path, timeline = videos["short"]
    detector = make_detector(DetectorParams())
    returned_at = {}
    for index, frame in scaled_frames(path, 256, fast=True):
        for cut in detector.process_frame(FrameAnalysis(index, frame)):
            returned_at[cut.frame] = index
        assert len(detector.detectors[1]._pending) <= 3  # bounded look-ahead
    tail = detector.post_process()
    assert returned_at, "cuts are pushed out while frames arrive, not only at the end"
    assert all(index - frame < 100 for frame, index in returned_at.items())
    assert len(returned_at) + len(tail) == len(timeline.boundaries)
    scores, thresholds = detector.trace()
    assert scores.shape == thresholds.shape == (timeline.frame_count,)


def test_detector_settings_are_validated():
    with pytest.raises(InputError, match="min_score"):
        DetectorParams(min_score=2).validate()
    with pytest.raises(InputError, match="detector"):
        make_detector(DetectorParams(detector="magic"))
    with pytest.raises(InputError, match="dedupe_bits"):
        SelectParams(dedupe_bits=99).validate()
    with pytest.raises(InputError, match="whole number"):
        settings_from({"window": 2.5})
    with pytest.raises(InputError, match="Unknown keyframe setting"):
        settings_from({"nonsense": 1})


def test_f1_matching():
    score = score_boundaries([10, 52, 90], [(10, 10, 10), (50, 50, 50), (100, 95, 105)])
    assert (score.true_positives, score.false_positives, score.false_negatives) == (2, 1, 1)
    assert score_boundaries([], []).f1 == 1.0


# --------------------------------------------------------------------------------------------
# Keyframes and streaming


def test_candidate_pool_stays_bounded():
    pool = CandidatePool(capacity=100)
    for index in range(10_000):
        if pool.wants(index):
            pool.add(index, 1.0, np.zeros(4), 0, True)
    assert len(pool) < 100 and pool.stride == 128
    assert all(f % pool.stride == 0 for f in pool.frames)
    assert pool.frames == sorted(pool.frames)


def test_prefetch_hands_over_items_errors_and_stops_early():
    def items():
        yield from range(3)
        raise InputError("broken at frame 3")

    seen: list[int] = []
    with pytest.raises(InputError, match="frame 3"):
        seen.extend(prefetch(items(), depth=2))  # keeps what came before the error
    assert seen == [0, 1, 2]
    closed = []

    def endless():
        try:
            yield from iter(int, 1)
        finally:
            closed.append(True)

    for item in prefetch(endless(), depth=2):
        if item == 0:
            break
    assert closed == [True]  # the producer was stopped and closed, not left running
    assert not [t for t in threading.enumerate() if t.name == "keyframes-decode"]


def test_pass_decoding_matches_the_media_module(videos):
    """The stopgap decoder gives media.iter_frames' frames: same indices, sizes and pixels."""
    path, timeline = videos["short"]
    small = dict(scaled_frames(path, 96))
    reference = dict(iter_frames(path, max_side=96, backend="pyav"))
    assert list(small) == list(reference) == list(range(timeline.frame_count))
    fast = dict(scaled_frames(path, 96, fast=True))  # no deblocking, bilinear sampling
    for index in (0, 100, 300):
        assert small[index].shape == reference[index].shape == (54, 96, 3)
        assert np.abs(small[index].astype(int) - reference[index]).mean() < 4
        assert np.abs(fast[index].astype(int) - reference[index]).mean() < 12
    full = dict(frames_at(path, [415, 5, 200]))
    assert list(full) == [5, 200, 415]
    for index, frame in iter_frames(path, backend="pyav"):
        if index in full:
            np.testing.assert_array_equal(full[index], frame)


def test_runner_per_shot_keyframes_lie_inside_their_shots(videos):
    path, timeline = videos["short"]
    result = KeyframeRunner()(KeyframeRequest(str(path)))
    assert result.frame_count == timeline.frame_count
    assert [s.start_frame for s in result.shots][1:] == [c.frame for c in result.cuts]
    assert len(result.keyframes) == len(result.shots)
    flash_frames = set(timeline.flash_frames)
    for key, shot in zip(result.keyframes, result.shots, strict=True):
        assert key.shot == shot.index
        assert shot.start_frame + 2 <= key.frame < shot.end_frame - 2  # away from transitions
        assert key.frame not in flash_frames
    assert result.features == ""
    assert np.isfinite(result.scores).sum() > 0.9 * result.frame_count


def test_clustered_keyframes_respect_k_gap_and_duplicates(videos):
    path, _ = videos["mixed"]
    select = SelectParams(k=6, min_gap=2.0, dedupe_bits=10)
    request = KeyframeRequest(str(path), select=select)
    result = KeyframeRunner()(request)
    again = KeyframeRunner()(request)
    frames = [k.frame for k in result.keyframes]
    assert 2 <= len(frames) <= 6 and frames == sorted(frames)
    assert frames == [k.frame for k in again.keyframes]  # seeded k-means: deterministic
    assert result.features == "colour"
    assert all(b - a >= 2.0 * result.fps for a, b in pairwise(frames))
    thumbs = {f: FrameAnalysis(f, img).phash() for f, img in scaled_frames(path, 256, fast=True)
              if f in set(frames)}  # fmt: skip
    for a in frames:
        for b in frames:
            if a < b:
                assert hamming(thumbs[a], thumbs[b]) > 10
    for key in result.keyframes:
        shot = result.shots[key.shot]
        assert shot.start_frame <= key.frame < shot.end_frame


def test_clip_embeddings_drive_clustering_when_on_disk(videos, tmp_path):
    """With the CLIP spec's weights on disk, clustering runs on its embeddings."""
    folder = tmp_path / "tiny-clip"
    tiny_clip_checkpoint(folder)
    registry = build_registry()
    registry.replace("metrics.clip-vit-b32", repo_id=str(folder))
    assert registry.status("metrics.clip-vit-b32").on_disk
    job = run_keyframes(registry, videos["short"][0], settings_from({"k": 4}))
    assert job.result.features == "clip"
    assert 1 <= len(job.result.keyframes) <= 4
    manifest = json.loads((job.run_dir / "manifest.json").read_text())
    assert manifest["embeddings"]["spec_id"] == "metrics.clip-vit-b32"
    assert manifest["summary"]["clustering_features"] == "clip"
    colour = run_keyframes(registry, videos["short"][0], settings_from({"k": 4,
                                                                        "features": "colour"}))
    assert colour.result.features == "colour"


def test_clip_requested_without_weights_is_a_clear_error(videos):
    with pytest.raises(StudioError, match="cli.py fetch metrics.clip-vit-b32"):
        run_keyframes(build_registry(), videos["short"][0],
                      settings_from({"k": 3, "features": "clip"}))  # fmt: skip


# --------------------------------------------------------------------------------------------
# Outputs, CLI


SHOT_KEYS = {"index", "start_frame", "end_frame", "start_time", "end_time", "keyframe_frame",
             "keyframe_path"}  # fmt: skip


def check_shots_json(folder: Path, video: Path, frame_count: int) -> dict:
    doc = json.loads((folder / "shots.json").read_text())
    assert doc["video"] == video.name
    assert doc["fps"] == pytest.approx(24.0) and doc["frame_count"] == frame_count
    shots = doc["shots"]
    assert shots[0]["start_frame"] == 0 and shots[-1]["end_frame"] == frame_count
    for number, shot in enumerate(shots):
        assert set(shot) >= SHOT_KEYS
        assert shot["index"] == number
        assert isinstance(shot["start_frame"], int) and isinstance(shot["end_frame"], int)
        assert shot["start_frame"] < shot["end_frame"]
        assert shot["start_time"] == pytest.approx(shot["start_frame"] / 24, abs=1e-3)
        assert shot["end_time"] == pytest.approx(shot["end_frame"] / 24, abs=1e-3)
        if number:
            assert shot["start_frame"] == shots[number - 1]["end_frame"]
        if shot["keyframe_frame"] is not None:
            assert shot["start_frame"] <= shot["keyframe_frame"] < shot["end_frame"]
            assert (folder / shot["keyframe_path"]).is_file()
    return doc


def test_job_writes_every_output(videos):
    path, timeline = videos["short"]
    job = run_keyframes(build_registry(), path)
    folder = job.run_dir
    doc = check_shots_json(folder, path, timeline.frame_count)
    shots = doc["shots"]
    assert len(shots) == len(timeline.boundaries) + 1
    keyframes = [s["keyframe_frame"] for s in shots]
    # Full-resolution images, one per shot, also in the ZIP.
    for shot in shots:
        image = load_image(folder / shot["keyframe_path"]).rgb
        assert image.shape == (HEIGHT, WIDTH, 3)
    with zipfile.ZipFile(folder / "keyframes.zip") as archive:
        assert sorted(archive.namelist()) == sorted(Path(s["keyframe_path"]).name for s in shots)
        for shot in shots:  # the same encoded images as the files
            path = folder / shot["keyframe_path"]
            assert archive.read(path.name) == path.read_bytes()
    with open(folder / "shots.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(r["keyframe_frame"]) for r in rows] == keyframes
    # The contact sheet: one tile per keyframe, each showing its keyframe.
    sheet = load_image(folder / "contact_sheet.jpg").rgb
    layout = sheet_layout(len(keyframes), WIDTH, HEIGHT)
    assert sheet.shape[1::-1] == layout.size(len(keyframes))
    for position, shot in enumerate(shots):
        x, y, w, h = layout.box(position)
        tile = sheet[y:y + h, x:x + w].astype(np.float32)
        image = cv2.resize(load_image(folder / shot["keyframe_path"]).rgb, (w, h))
        assert np.abs(tile - image).mean() < 12
    x, y, w, h = layout.box(len(keyframes))  # past the last tile: background only
    if y + h <= sheet.shape[0]:
        assert sheet[y:y + h, x:x + w].std() < 8
    plot = load_image(folder / "scores.png").rgb
    assert plot.shape == (320, 1200, 3)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["spec_id"] == "keyframes.classical" and manifest["status"] == "complete"
    assert set(manifest["outputs"]) >= {"shots_json", "shots_csv", "contact_sheet", "plot", "zip"}
    assert manifest["parameters"] == {  # the settings that apply to the classical backend
        k: v for k, v in Settings().as_dict().items() if SETTINGS[k].applies_to("classical")}
    assert [c for c in job.written.keyframes if "Shot 1 · 00:00:0" in c[1]]


def test_cli_writes_shots_json_and_images(videos, tmp_path, capsys):
    path, timeline = videos["mixed"]
    out = tmp_path / "out"
    code = cli.main(["keyframes", str(path), "--out", str(out), "--k", "5", "--min-gap", "1.5",
                     "--image-format", "png"])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    doc = check_shots_json(out, path, timeline.frame_count)
    assert 1 <= len(doc["keyframes"]) <= 5
    assert all(k["path"].endswith(".png") and (out / k["path"]).is_file() for k in doc["keyframes"])
    assert {p.name for p in out.iterdir()} >= {"shots.json", "shots.csv", "contact_sheet.jpg",
                                               "scores.png", "keyframes.zip", "manifest.json"}
    assert "shots" in capsys.readouterr().out


def test_cli_bad_input_is_one_sentence(tmp_path, capsys):
    bad = tmp_path / "notes.mp4"
    bad.write_bytes(b"this is not a video at all" * 100)
    assert cli.main(["keyframes", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and "not a readable video" in err and "Traceback" not in err
    assert cli.main(["keyframes", str(bad), "--out", str(tmp_path / "o"), "--margin", "7"]) == 2
    assert "margin" in capsys.readouterr().err


def test_every_knob_is_a_cli_flag():
    parser = cli.build_parser()
    sub = next(a for a in parser._actions if a.dest == "command").choices["keyframes"]
    flags = {option for action in sub._actions for option in action.option_strings}
    for knob in KNOBS:
        assert "--" + knob.name.replace("_", "-") in flags


# --------------------------------------------------------------------------------------------
# Awkward inputs


def test_one_frame_video(tmp_path):
    frame = next(kf.render(kf.static_timeline(), WIDTH, HEIGHT))
    path = write_video(tmp_path / "one.mp4", [frame], 24)
    result = KeyframeRunner()(KeyframeRequest(str(path), select=SelectParams(k=3)))
    assert result.frame_count == 1 and len(result.shots) == 1
    assert [k.frame for k in result.keyframes] == [0]


def test_variable_frame_rate_uses_true_times(tmp_path):
    path, times = kf.write_vfr_video(tmp_path / "vfr.mp4")
    result = KeyframeRunner()(KeyframeRequest(str(path)))
    assert [s.start_frame for s in result.shots] == [0, 30]
    assert result.shots[1].start_time == pytest.approx(times[30], abs=1e-3)
    for key in result.keyframes:
        assert key.time == pytest.approx(times[key.frame], abs=1e-3)


def test_rotated_phone_video(tmp_path):
    timeline = kf.Timeline([kf.Shot(0, 20, "pan"), kf.Shot(2, 20, "objects")],
                           [kf.Transition()], seed=1)  # fmt: skip
    frames = list(kf.render(timeline, WIDTH, HEIGHT))
    path = write_rotated_video(tmp_path / "phone.mp4", frames, 24, clockwise=90)
    job = run_keyframes(build_registry(), path, settings_from({"min_shot_frames": 5}))
    assert (job.result.width, job.result.height) == (HEIGHT, WIDTH)  # displayed upright
    assert [s.start_frame for s in job.result.shots] == [0, 20]
    first = job.written.document["shots"][0]["keyframe_path"]
    assert load_image(job.run_dir / first).rgb.shape == (WIDTH, HEIGHT, 3)


@pytest.mark.parametrize(
    ("maker", "message"),
    [
        (lambda p: p.write_bytes(b""), "empty"),
        (lambda p: p.write_bytes(np.random.default_rng(0).bytes(5000)), "not a readable video"),
        (kf.write_audio_only_mp4, "no video stream"),
        (kf.write_empty_video, "not a readable video"),
    ],
    ids=["zero-bytes", "corrupt", "audio-only", "no-frames"],
)
def test_bad_videos_get_clear_messages(tmp_path, maker, message):
    path = tmp_path / "input.mp4"
    maker(path)
    runs = outputs_dir() / "keyframes"
    before = set(runs.iterdir()) if runs.is_dir() else set()
    with pytest.raises(InputError, match=message):
        run_keyframes(build_registry(), path)
    assert (set(runs.iterdir()) if runs.is_dir() else set()) == before  # nothing half-written


def test_truncated_video(videos, tmp_path):
    data = videos["short"][0].read_bytes()
    path = tmp_path / "cut.mp4"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(InputError, match="truncated|damaged|not a readable"):
        run_keyframes(build_registry(), path)


def test_timecodes():
    assert timecode(0) == "00:00:00.000"
    assert timecode(3723.5) == "01:02:03.500"
    assert timecode(59.9996) == "00:01:00.000"
