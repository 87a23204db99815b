"""The Benchmark tab through its API: run, history, reopen and compare on one served studio."""

from __future__ import annotations

import pytest

from tests.bench_fixtures import bench_registry
from tests.conftest import served_studio


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    registry = bench_registry(tmp_path_factory.mktemp("weights"), networks=False)
    with served_studio(registry, tmp_path_factory.mktemp("downloads")) as client:
        yield client


def test_api_names(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    for name in ("/benchmark", "/benchmark_history", "/benchmark_open", "/benchmark_compare"):
        assert name in endpoints


def test_benchmark_run_history_open_and_compare(client):
    from pathlib import Path

    from gradio_client.exceptions import AppError

    outputs = client.predict(
        "super_res", ["super_res.classical", "super_res.realesr-animevideov3"],
        ["astronaut_256", "pan_160x120"], None, 7, False, api_name="/benchmark",
    )  # fmt: skip
    (info, table, seconds, memory, metric, quality, series, lines, gallery, downloads, run_id,
     earlier, picks) = outputs
    assert picks["value"] == [] and run_id in [value for _, value in picks["choices"]]
    assert "4 ok, 0 unavailable, 0 failed" in info
    headers, rows = table["headers"], table["data"]
    assert headers[:3] == ["backend", "input", "status"] and "psnr" in headers
    assert [row[2] for row in rows] == ["ok"] * 4
    assert len(seconds["data"]) == 4 and len(memory["value"]["data"]) == 4
    assert metric["value"] == "psnr" and len(quality["data"]) == 4
    assert series["value"] in series["choices"][0] and lines["data"]
    assert len(gallery) == 4 and {"image", "video"} <= {k for item in gallery for k in item}
    assert sorted(Path(p).name for p in downloads) == ["results.csv", "results.json"]
    assert earlier["value"] == run_id

    listed = client.predict(api_name="/benchmark_history")[0]["choices"]
    assert run_id in [value for _, value in listed]
    reopened = client.predict(run_id, api_name="/benchmark_open")
    assert reopened[1]["data"] == rows and reopened[10] == run_id
    compared = client.predict([run_id, run_id], api_name="/benchmark_compare")
    assert compared["headers"][0] == "run" and len(compared["data"]) == 8

    with pytest.raises(AppError, match="two or more backends"):
        client.predict("super_res", ["super_res.classical"], ["astronaut_256"], None, 0, False,
                       api_name="/benchmark")
    with pytest.raises(AppError, match="not a super_res one"):
        client.predict("super_res", ["super_res.classical", "style.classical"], ["astronaut_256"],
                       None, 0, False, api_name="/benchmark")
