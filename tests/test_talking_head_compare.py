"""Backends side by side: the comparison's rows, figures and files, as a function and in the tab."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from pipelines import media
from pipelines.errors import InputError, StudioError
from pipelines.talking_head.compare import (
    HEADERS,
    LABEL_BAND,
    available_backends,
    cells,
    compare,
    side_by_side,
)
from pipelines.talking_head.sync import sync_scores
from tests.media_real import face_model_folder, landmark_registry
from tests.talking_head_fixtures import SR, VOWELS, landscape, portrait, vowel, write_wav

CLASSICAL = "talking_head.classical"
NO_WEIGHTS = "talking_head.wav2lip-gan"  # a model backend: its files are not in the test cache


@pytest.fixture(scope="module")
def registry():
    return landmark_registry(face_model_folder())


@pytest.fixture(scope="module")
def speech_with_a_pause(tmp_path_factory):
    """1.2 s of a loudness-modulated /a/, 0.8 s of silence, 1.2 s more: 80 frames at 25 fps."""
    folder = tmp_path_factory.mktemp("speech")
    t = np.arange(int(1.2 * SR)) / SR
    voiced = 0.6 * vowel(VOWELS["a"], 1.2) * np.clip(np.sin(2 * np.pi * 2.0 * t), 0, 1) ** 0.5
    samples = np.concatenate([voiced, np.zeros(int(0.8 * SR), np.float32), voiced])
    return write_wav(folder / "speech.wav", samples.astype(np.float32))


def test_sync_scores_on_known_curves():
    loudness = np.array([0, 0, 0, 0, 0, 0.5, 1.0, 0.5, 0, 0, 0, 0, 0, 0.8, 0.2, 0, 0, 0, 0, 0.0])
    rest = 0.05
    opening = rest + 0.3 * np.roll(loudness, 1)  # the mouth lags the sound by one frame
    opening[2] = np.nan  # no face found in one frame
    figures = sync_scores(opening, loudness, rest)
    assert figures.best_lag == 1 and figures.r_best == pytest.approx(1.0)
    assert 0 < figures.r < figures.r_best
    assert figures.found == pytest.approx(19 / 20)
    # Settled pause frames (3+ frames into silence, face found): 3, 4, 11, 12, 18 and 19.
    assert figures.pause_frames == 6 and figures.at_rest == pytest.approx(1.0)
    wide = sync_scores(np.full(20, 0.5), loudness, rest)  # a mouth that never closes
    assert wide.at_rest == 0.0 and math.isnan(wide.r)


def test_compare_runs_each_backend_and_keeps_a_failure_in_its_row(registry, tmp_path,
                                                                  speech_with_a_pause):
    face = portrait(tmp_path / "astronaut.png")
    reports = []
    result = compare(registry, ["classical", NO_WEIGHTS], {"face": face,
                                                          "audio": speech_with_a_pause},
                     {"head_motion": 0.0, "blinks": False},
                     progress=lambda f, d="": reports.append(f), root=tmp_path / "out")
    ok, failed = result.rows
    assert (ok.backend, failed.backend) == (CLASSICAL, NO_WEIGHTS)
    # The classical row: a video as long as the speech, timed, with its measured figures.
    assert ok.ok and ok.frames == 80 and ok.seconds > 0
    info = media.probe_video(ok.video)
    assert info.frame_count == 80 and info.has_audio and ok.video.parent == ok.run_dir
    assert (ok.run_dir / "manifest.json").is_file()
    s = ok.sync
    assert s is not None and s.found > 0.9
    assert 0.5 < s.r <= 1 and -3 <= s.best_lag <= 3 and s.r <= s.r_best <= 1
    assert s.pause_frames >= 10 and 0.9 <= s.at_rest <= 1
    # The backend without weights: its one sentence, no video, the comparison went on.
    assert not failed.ok and failed.video is None and failed.sync is None
    assert "cli.py fetch" in failed.error and "Traceback" not in failed.error
    assert failed.error.rstrip().endswith(".")
    # The side-by-side video holds the videos that were made (one panel here), with the audio.
    both = media.probe_video(result.video)
    assert both.frame_count == 80 and both.has_audio and both.height == 512 + LABEL_BAND
    assert result.audio == speech_with_a_pause and result.notes == []
    table = json.loads(result.table.read_text())
    assert [r["backend"] for r in table["rows"]] == [CLASSICAL, NO_WEIGHTS]
    assert table["rows"][0]["sync"]["r"] == pytest.approx(s.r)
    assert table["rows"][1]["error"] == failed.error
    # The tab's table: one row per backend, None where the failed one has no figure.
    first, second = cells(ok), cells(failed)
    assert len(first) == len(second) == len(HEADERS)
    assert first[1] == "ok" and isinstance(first[4], float) and first[7] == s.pause_frames
    assert second[1] == failed.error and second[3:] == [None] * 7
    assert reports == sorted(reports) and reports[-1] == 1.0


def test_compare_without_the_face_mesh_reports_wall_times_and_says_why(tmp_path,
                                                                       speech_with_a_pause):
    from pipelines.catalog import build_registry

    bare = build_registry()  # the test cache holds no face landmark files
    copy = dataclasses.replace(bare.get(CLASSICAL), id="talking_head.classical-copy",
                               label="Classical (copy)")
    bare.add(copy)
    face = portrait(tmp_path / "astronaut.png")
    result = compare(bare, ["classical", copy.id], {"face": face, "audio": speech_with_a_pause},
                     {"head_motion": 0.0}, root=tmp_path / "out")
    assert all(r.ok and r.sync is None and r.seconds > 0 for r in result.rows)
    assert "face landmark model" in result.notes[0] and "cli.py fetch" in result.notes[0]
    # Two panels of the same size next to each other.
    both = media.probe_video(result.video)
    assert (both.width, both.height) == (2 * 512, 512 + LABEL_BAND)


def test_compare_asks_for_two_backends_and_names_a_shared_input_error(registry, tmp_path,
                                                                      speech_with_a_pause):
    face = portrait(tmp_path / "astronaut.png")
    with pytest.raises(InputError, match="at least two backends"):
        compare(registry, ["classical", CLASSICAL], {"face": face, "audio": speech_with_a_pause})
    copy = dataclasses.replace(registry.get(CLASSICAL), id="talking_head.classical-copy")
    own = registry.copy()
    own.add(copy)
    with pytest.raises(StudioError, match="No face was found"):
        compare(own, ["classical", copy.id],
                {"face": landscape(tmp_path / "sky.png"), "audio": speech_with_a_pause},
                root=tmp_path / "out")


def test_side_by_side_scales_pads_and_keeps_the_audio(tmp_path, speech_with_a_pause):
    red = media.write_video(tmp_path / "red.mp4",
                            (np.full((96, 192, 3), (200, 30, 30), np.uint8) for _ in range(20)), 25)
    blue = media.write_video(tmp_path / "blue.mp4",
                             (np.full((64, 64, 3), (30, 30, 200), np.uint8) for _ in range(12)), 25)
    out = side_by_side([("red", red), ("blue", blue)], tmp_path / "both.mp4", speech_with_a_pause)
    info = media.probe_video(out)
    # Both at the smaller height (64): 128 + 64 wide; the longer video sets the length.
    assert (info.width, info.height, info.frame_count) == (128 + 64, 64 + LABEL_BAND, 20)
    assert info.has_audio
    last = None
    for _, frame in media.iter_frames(out):
        last = frame
    body = last[LABEL_BAND + 4: -4]
    assert body[:, 4:124, 0].mean() > 150 and body[:, 4:124, 2].mean() < 80  # red on the left
    assert body[:, 132:188, 2].mean() > 150 and body[:, 132:188, 0].mean() < 80  # blue held
    assert last[: LABEL_BAND - 4].mean() < 80  # the label band is dark


def test_only_backends_whose_files_are_here_are_offered(registry):
    offered = [s.id for s in available_backends(registry)]
    assert offered[0] == CLASSICAL and NO_WEIGHTS not in offered


# --------------------------------------------------------------------------------------------
# The tab, through its API (a served studio called with gradio_client)


BROKEN = "talking_head.broken"
BROKEN_SENTENCE = ("This backend's files are damaged: fetch them again with "
                   "`python cli.py fetch talking_head.broken`.")


def _broken(ctx):
    raise StudioError(BROKEN_SENTENCE)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """The studio with the face mesh's files, and an offered backend that fails to load."""
    from tests.conftest import served_studio

    own = landmark_registry(face_model_folder())
    own.add(dataclasses.replace(own.get(CLASSICAL), id=BROKEN, label="Broken", builder=_broken))
    with served_studio(own, tmp_path_factory.mktemp("downloads")) as client:
        yield client


def test_tab_compares_backends_through_its_api(client, tmp_path, speech_with_a_pause):
    from gradio_client import handle_file

    face = portrait(tmp_path / "astronaut.png")
    video, table, details, files = client.predict(
        handle_file(str(face)), None, handle_file(str(speech_with_a_pause)), "", "en", 150,
        [CLASSICAL, BROKEN], False, 0.0, 1.0, 0, 1280, 16, 0.2, "",
        api_name="/talking_head_compare")
    path = video["video"] if isinstance(video, dict) else video
    info = media.probe_video(path)
    assert info.frame_count == 80 and info.has_audio
    assert table["headers"] == list(HEADERS)
    ok, failed = table["data"]
    assert ok[1] == "ok" and ok[3] == 80 and 0.5 < float(ok[4]) <= 1
    assert 0.9 <= float(ok[8]) <= 1  # the mouth rests in the pause
    assert failed[1] == BROKEN_SENTENCE and failed[3:] == [None] * 7
    assert "**1 of 2 backends**" in details and "failed" in details
    assert any(str(f).endswith("comparison.json") for f in files)


def test_tab_asks_for_a_second_backend(client, tmp_path, speech_with_a_pause):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="at least two backends"):
        client.predict(
            handle_file(str(portrait(tmp_path / "a.png"))), None,
            handle_file(str(speech_with_a_pause)), "", "en", 150, [CLASSICAL], False, 0.0,
            1.0, 0, 1280, 16, 0.2, "", api_name="/talking_head_compare")


def test_cli_compares_and_copies_the_side_by_side_video(tmp_path, capsys, speech_with_a_pause):
    import cli

    out = tmp_path / "both.mp4"
    code = cli.main(["talk", str(portrait(tmp_path / "a.png")), str(speech_with_a_pause),
                     "--compare", f"classical,{NO_WEIGHTS}", "--head-motion", "0", "--quiet",
                     "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 0 and media.probe_video(out).frame_count == 80
    assert f"{CLASSICAL}: wall time (s) " in printed and "frames 80" in printed
    assert f"{NO_WEIGHTS}: failed: " in printed and "cli.py fetch" in printed
    assert "note: Lip-sync figures need the face landmark model" in printed  # none in this cache
