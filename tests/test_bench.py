"""The benchmark harness: rows, metrics, statuses, determinism, saved runs, history and the CLI."""

from __future__ import annotations

import csv
import json
import math

import pytest

from pipelines.benchmark.adapters import ADAPTERS, adapter_for
from pipelines.benchmark.harness import measure_call, run_bench
from pipelines.benchmark.results import (
    BASE_COLUMNS,
    FAILED,
    OK,
    UNAVAILABLE,
    BenchResult,
    compare,
    history,
    open_run,
)
from pipelines.errors import InputError, StudioError
from tests.bench_fixtures import bench_registry, keyframes_truth, small_inputs

NUMERIC = ("seconds", "fps", "peak_rss_mb", "load_seconds")


@pytest.fixture(scope="module")
def registry(tmp_path_factory):
    return bench_registry(tmp_path_factory.mktemp("weights"))


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    return small_inputs(tmp_path_factory.mktemp("inputs"))


@pytest.fixture(scope="module")
def super_res_run(registry, files, tmp_path_factory):
    inputs = ADAPTERS["super_res"].inputs_from([files["image"], files["video"]])
    root = tmp_path_factory.mktemp("runs")
    result = run_bench(registry, "super_res", ["classical", "realesr-animevideov3"], inputs,
                       seed=5, root=root)
    return result, inputs, root


def _finite(value) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value) and value >= 0


def test_two_backends_fill_every_column(super_res_run, registry):
    result, _, _ = super_res_run
    assert registry.cache.loaded() == []  # backends and metric networks it loaded are unloaded
    assert [(r.backend, r.input, r.status) for r in result.rows] == [
        ("super_res.classical", "face", OK), ("super_res.classical", "pan", OK),
        ("super_res.realesr-animevideov3", "face", OK),
        ("super_res.realesr-animevideov3", "pan", OK),
    ]  # fmt: skip
    adapter = ADAPTERS["super_res"]
    assert result.metric_columns == adapter.metric_columns(["image", "video"])
    for row in result.rows:
        for key in NUMERIC:
            assert _finite(getattr(row, key)), (row.label, key, getattr(row, key))
        assert row.fps_unit == ("frames/s" if row.kind == "video" else "MP/s")
        assert row.device == "cpu" and row.peak_cuda_mb is None
        for name in adapter.metrics[row.kind]:
            assert _finite(row.metrics[name]), (row.label, name, row.metrics[name], row.notes)
        assert not [n for n in row.notes if "n/a" in n]
        assert (result.path / row.outputs["image" if row.kind == "image" else "video"]).is_file()
    video = result.rows[1]
    assert len(video.series["psnr"]) == 10 and len(video.series["warping_error"]) == 9
    assert 1 <= len(video.series["clip_consistency"]) <= 15
    # The table, the CSV and the JSON hold the same rows and columns.
    assert result.headers == [h for _, h in BASE_COLUMNS] + result.metric_columns + ["note"]
    with result.csv_path.open(encoding="utf-8") as handle:
        written = list(csv.reader(handle))
    assert written[0] == result.headers and len(written) == 1 + len(result.rows)
    saved = json.loads(result.json_path.read_text(encoding="utf-8"))
    assert saved["rows"][3]["metrics"] == pytest.approx(result.rows[3].metrics)
    assert (result.path / "manifest.json").is_file()
    assert result.gallery() and all(p.startswith(str(result.path)) for p, _ in result.gallery())


def test_same_seed_same_metrics(super_res_run, registry):
    first, inputs, root = super_res_run
    again = run_bench(registry, "super_res", ["classical", "realesr-animevideov3"], inputs,
                      seed=5, root=root)
    assert again.run_id != first.run_id
    for a, b in zip(first.rows, again.rows, strict=True):
        assert a.metrics == b.metrics and a.series == b.series


def test_history_lists_reopens_and_compares(super_res_run):
    result, _, root = super_res_run
    listed = dict((run_id, label) for label, run_id in history(root))
    assert result.run_id in listed and "super_res" in listed[result.run_id]
    reopened = open_run(result.run_id, root)
    assert isinstance(reopened, BenchResult) and reopened.table() == result.table()
    assert reopened.gallery() == result.gallery()
    headers, rows = compare([reopened, reopened])
    assert headers[:2] == ["run", "task"] and len(rows) == 2 * len(result.rows)
    assert set(result.metric_columns) <= set(headers)
    with pytest.raises(InputError, match="No benchmark run"):
        open_run("../../etc", root)


def test_missing_weights_give_an_unavailable_row_and_a_bug_a_failed_one(tmp_path, files):
    registry = bench_registry(tmp_path, networks=False)

    class Broken:
        def modules(self):
            return {}

        def __call__(self, request, progress=None):
            raise StudioError("This backend cannot upscale today.")

    registry.replace("super_res.realesrgan-x2plus", kind="classical", repo_id=None,
                     builder=lambda ctx: Broken())
    inputs = ADAPTERS["super_res"].inputs_from([files["image"]])
    backends = ["classical", "realesrgan-x4plus", "realesrgan-x2plus"]
    result = run_bench(registry, "super_res", backends, inputs, root=tmp_path)
    ok, missing, broken = result.rows
    assert ok.status == OK and _finite(ok.metrics["psnr"])
    assert missing.status == UNAVAILABLE and "cli.py fetch super_res.realesrgan-x4plus" in \
        missing.reason
    assert missing.seconds is None and all(v is None for v in missing.metrics.values())
    assert broken.status == FAILED and broken.reason == "This backend cannot upscale today."
    # Without the metric networks' weights, LPIPS is n/a with the registry's sentence.
    assert ok.metrics["lpips"] is None
    assert any("lpips n/a" in n and "cli.py fetch metrics.lpips-alex" in n for n in ok.notes)
    table = {row[2]: row for row in result.table()}
    assert table[UNAVAILABLE][3] == "n/a" and "fetch" in table[UNAVAILABLE][-1]


def test_keyframes_truth_and_variants(registry, tmp_path):
    adapter = ADAPTERS["keyframes"]
    assert json.loads(adapter.truth_file.read_text(encoding="utf-8")) == keyframes_truth()
    names = [name for _, name in adapter.choices(registry)]
    assert names[:3] == ["keyframes.classical", "keyframes.classical:content",
                         "keyframes.classical:fade"]
    result = run_bench(registry, "keyframes", ["classical", "classical:fade"], seed=1,
                       root=tmp_path)
    combined, fade = result.rows
    assert combined.status == fade.status == OK
    assert combined.metrics["f1"] >= 0.9 and combined.metrics["shots"] == 7
    assert fade.metrics["shots"] < combined.metrics["shots"]
    assert (result.path / combined.outputs["contact_sheet"]).is_file()
    with pytest.raises(InputError, match="no benchmark variant 'sepia'"):
        adapter.resolve(registry, "classical:sepia")
    with pytest.raises(InputError, match="not a keyframes one"):
        adapter.resolve(registry, "style.classical")


def test_inputs_and_measurement(files):
    style = adapter_for("style")
    picked = style.select_inputs(["content_cat"], [files["image"], files["image"]])
    assert [i.name for i in picked] == ["content_cat", "face", "face-2"]
    assert all(i.extra["style"].is_file() for i in picked)
    talk = adapter_for("talking_head").inputs_from([files["image"]])
    assert talk[0].extra["audio"].name == "speech.wav"
    with pytest.raises(InputError, match="cannot be a keyframes benchmark input"):
        adapter_for("keyframes").inputs_from([files["image"]])
    with pytest.raises(InputError, match="Pick an example or upload"):
        style.select_inputs([], [])
    with pytest.raises(InputError, match="no task 'painting'"):
        adapter_for("painting")
    measured = measure_call(lambda runner, request: runner(request), lambda n: bytearray(n),
                            50_000_000)
    assert len(measured.output) == 50_000_000 and measured.seconds > 0
    assert measured.peak_rss_bytes >= 50_000_000


def test_cli_writes_results_and_prints_the_table(registry, files, tmp_path, capsys):
    import cli

    out = tmp_path / "results.json"
    code = cli.main(["bench", "--task", "style", "--backends", "classical,classical:cartoon",
                     "--inputs", str(files["image"]), str(files["video"]), "--seed", "2",
                     "--out", str(out)], registry=registry)
    printed = capsys.readouterr().out
    assert code == 0
    saved = json.loads(out.read_text(encoding="utf-8"))
    assert [r["status"] for r in saved["rows"]] == [OK] * 4 and saved["seed"] == 2
    header = printed.splitlines()[0].split()
    assert header[:3] == ["backend", "input", "status"] and "content_ssim" in header
    assert "style.classical:cartoon" in printed and f"wrote {out}" in printed
    assert cli.main(["bench", "--list"], registry=registry) == 0
    assert saved["run_id"] in capsys.readouterr().out
    assert cli.main(["bench", "--task", "style", "--backends", "classical",
                     "--inputs", str(tmp_path / "none.png")], registry=registry) == 2
    assert "was not found" in capsys.readouterr().err


def test_pairs_across_a_cut_stay_out_of_the_means(registry):
    from contextlib import ExitStack

    from pipelines.benchmark.quality import Networks, video_quality
    from tests.style_fixtures import panning_frames

    frames = list(panning_frames(8, 64, 48, cut_at=4, noise=1.0))
    with ExitStack() as stack:
        nets = Networks(registry, stack)
        whole, cut = video_quality(frames, nets), video_quality(frames, nets, cuts=[4])
    errors = whole.series["warping_error"]
    assert cut.series == whole.series and len(errors) == 7 and errors[3] == max(errors)
    assert cut.metrics["warping_error"] == pytest.approx((sum(errors) - errors[3]) / 6)
    assert cut.metrics["warping_error"] < whole.metrics["warping_error"]
    assert _finite(cut.metrics["clip_consistency"]) and cut.clip.shape[0] == 8
    assert any("across scene cuts" in note for note in cut.notes)


def test_portrait_benchmark_builds_requests_with_the_task_and_skips_driven_backends(tmp_path):
    from pipelines.benchmark.harness import run_bench
    from pipelines.catalog import build_registry as catalog

    registry = catalog()
    names = [value for _, value in adapter_for("portrait").choices(registry)]
    assert "portrait.liveportrait" not in names  # it needs a driving video, not a picture
    result = run_bench(registry, "portrait", ["portrait.classical:pan",
                                              "portrait.classical:strength=0.5"],
                       seed=1, root=tmp_path)
    assert [r.status for r in result.rows] == ["ok"] * len(result.rows) and result.rows
    assert {r.fps_unit for r in result.rows} == {"frames/s"}
