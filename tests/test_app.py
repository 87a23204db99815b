"""The app shell: light import, lazy models, a served API, and clear errors through it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, studio_env, studio_process

HEAVY = ("torch", "diffusers", "transformers")


def test_import_app_leaves_torch_out():
    code = (
        "import sys, app, tabs, cli; "
        f"import json; print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=studio_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_building_the_app_loads_nothing_and_imports_no_torch():
    code = (
        "import sys, app; demo = app.build_app(); "
        f"import json; print(json.dumps({{'heavy': [m for m in {HEAVY!r} if m in sys.modules], "
        "'loaded': len(demo.registry.cache.loaded()), 'specs': len(demo.registry)}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=studio_env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report == {"heavy": [], "loaded": 0, "specs": report["specs"]}
    assert report["specs"] >= 1


def test_user_errors_become_clear_messages():
    import gradio as gr

    from pipelines.errors import InputError
    from tabs.common import user_errors

    @user_errors
    def bad_input():
        raise InputError("The image is empty. Upload a PNG.")

    @user_errors
    def bug():
        raise ZeroDivisionError("division by zero")

    with pytest.raises(gr.Error, match="The image is empty. Upload a PNG."):
        bad_input()
    with pytest.raises(gr.Error) as info:
        bug()
    assert "ZeroDivisionError" in str(info.value) and "server log" in str(info.value)
    assert "Traceback" not in str(info.value)


def test_auth_parsing():
    from app import parse_auth
    from pipelines.errors import StudioError

    assert parse_auth(None) is None
    assert parse_auth("ann:pw1, bob:p:w") == [("ann", "pw1"), ("bob", "p:w")]
    with pytest.raises(StudioError, match="user:password"):
        parse_auth("nopassword")


@pytest.fixture(scope="module")
def served_app(tmp_path_factory):
    """``python app.py`` in a subprocess on a free loopback port."""
    with studio_process(tmp_path_factory.mktemp("app")) as served:
        yield served.url


@pytest.fixture(scope="module")
def client(served_app, tmp_path_factory):
    from gradio_client import Client

    return Client(
        served_app,
        verbose=False,
        download_files=str(tmp_path_factory.mktemp("downloads")),
        analytics_enabled=False,
    )


def test_api_lists_the_models_endpoints(client):
    endpoints = client.view_api(return_format="dict", print_info=False)["named_endpoints"]
    names = ("models_status", "models_fetch", "models_load", "models_unload", "models_free_all")
    for name in names:
        assert f"/{name}" in endpoints


def test_models_tab_lists_every_spec(client):
    from pipelines.catalog import build_registry

    table, _message, summary = client.predict(api_name="/models_status")
    ids = [row[0] for row in table["data"]]
    assert ids == [spec.id for spec in build_registry()]
    assert table["headers"][:3] == ["id", "task", "kind"]
    on_disk = {row[0]: row[7] for row in table["data"]}
    assert on_disk["metrics.clip-vit-b32"] == "no"  # nothing is downloaded in tests
    assert "nothing is loaded" in summary


def test_missing_weights_reach_the_api_as_a_clear_error(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError) as info:
        client.predict("metrics.clip-vit-b32", api_name="/models_load")
    message = str(info.value)
    assert "python cli.py fetch metrics.clip-vit-b32" in message
    assert "Traceback" not in message
    # The server keeps serving after the error.
    table, message, _ = client.predict(api_name="/models_free_all")
    assert "Freed 0" in message and table["data"]


def test_share_without_auth_warns():
    from app import parse_args, share_warning

    assert "--auth" in share_warning(parse_args(["--share"]), auth=None)
    assert share_warning(parse_args(["--share"]), auth=[("a", "b")]) is None
    assert share_warning(parse_args([]), auth=None) is None
