"""The keyframe tab through the served API: one in-process launch for the module."""

from __future__ import annotations

import csv
import json
import zipfile
from pathlib import Path

import pytest

from tests import keyframes_fixtures as kf
from tests.conftest import served_studio


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    from pipelines.catalog import build_registry

    with served_studio(build_registry(), tmp_path_factory.mktemp("downloads")) as client:
        yield client


def test_api_runs_the_example_and_returns_every_output(client):
    from gradio_client import handle_file

    endpoint = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    names = [p["parameter_name"] for p in endpoint["/keyframes"]["parameters"]]
    assert names[:4] == ["video", "backend", "detector", "min_score"] and "k" in names
    gallery, sheet, plot, table, files, info = client.predict(
        handle_file(str(kf.EXAMPLE)), api_name="/keyframes"
    )
    timeline = kf.short_timeline()
    assert len(gallery) == len(timeline.boundaries) + 1  # one keyframe per shot
    assert gallery[0]["caption"].startswith("Shot 1 · 00:00:")
    assert Path(sheet).is_file() and Path(plot).is_file()
    assert [row[1] for row in table["data"]][1:] == timeline.cut_frames
    by_name = {Path(f).name: Path(f) for f in files}
    assert set(by_name) == {"keyframes.zip", "shots.csv", "shots.json", "contact_sheet.jpg",
                            "scores.png"}  # fmt: skip
    doc = json.loads(by_name["shots.json"].read_text())
    assert doc["frame_count"] == timeline.frame_count and len(doc["shots"]) == len(gallery)
    with zipfile.ZipFile(by_name["keyframes.zip"]) as archive:
        assert len(archive.namelist()) == len(gallery)
    with open(by_name["shots.csv"], newline="") as handle:
        assert len(list(csv.DictReader(handle))) == len(gallery)
    assert "7 shots" in info


def test_api_settings_by_name_and_clear_errors(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    gallery, *_ = client.predict(handle_file(str(kf.EXAMPLE)), k=3, min_gap=2.0,
                                 api_name="/keyframes")  # fmt: skip
    assert 1 <= len(gallery) <= 3
    bad = tmp_path / "broken.mp4"
    bad.write_bytes(b"\x00\x01 definitely not a video " * 50)
    with pytest.raises(AppError) as info:
        client.predict(handle_file(str(bad)), api_name="/keyframes")
    assert "not a readable video" in str(info.value) and "Traceback" not in str(info.value)
    with pytest.raises(AppError, match="greater than maximum"):  # Gradio's own slider bounds
        client.predict(handle_file(str(kf.EXAMPLE)), min_score=5, api_name="/keyframes")
    with pytest.raises(AppError, match="edges \\+ luma above 0"):  # ours, within the bounds
        client.predict(handle_file(str(kf.EXAMPLE)), weight_edges=0, weight_luma=0,
                       api_name="/keyframes")  # fmt: skip
    gallery, *_ = client.predict(handle_file(str(kf.EXAMPLE)), api_name="/keyframes")
    assert gallery  # the server keeps serving
