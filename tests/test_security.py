"""Security: public links, upload size, file routes, checkpoint loading, run clean-up, secrets.

Most checks run against one ``python app.py`` subprocess started with a small upload limit, a
Hugging Face token in its environment and an outputs folder that already holds an old run.
Requests go through ``http.client``, which sends paths exactly as written (``../`` included).
"""

from __future__ import annotations

import ast
import http.client
import inspect
import json
import os
import time
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, StudioProcess, pick_free_port, studio_process

UPLOAD_LIMIT = 200_000
TOKEN = "hf_secretTOKENnotForLogs1234567890"
RUN_AGE_HOURS = 24


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("security")
    outputs = folder / "outputs"
    old, fresh = outputs / "style" / "20200101-000000-000000-old", outputs / "style" / "fresh"
    for run in (old, fresh):
        run.mkdir(parents=True)
        (run / "manifest.json").write_text("{}")
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(old, (week_ago, week_ago))
    (folder / "secret.txt").write_text("not for the web")
    with studio_process(folder, STUDIO_MAX_UPLOAD_BYTES=str(UPLOAD_LIMIT),
                        STUDIO_OUTPUTS=str(outputs), STUDIO_RUN_MAX_AGE_HOURS=str(RUN_AGE_HOURS),
                        HF_TOKEN=TOKEN, HUGGING_FACE_HUB_TOKEN=TOKEN) as served:  # fmt: skip
        served.outputs, served.folder = outputs, folder
        yield served


def get(server: StudioProcess, path: str) -> tuple[int, bytes]:
    """GET ``path`` as written (no normalisation of ``..`` or percent escapes)."""
    host, port = server.url.removeprefix("http://").rstrip("/").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        return response.status, response.read()
    finally:
        connection.close()


def upload(server: StudioProcess, name: str, data: bytes) -> tuple[int, bytes]:
    """POST one file to Gradio's upload route (multipart/form-data)."""
    import httpx

    response = httpx.post(f"{server.url}gradio_api/upload", files={"files": (name, data)},
                          timeout=30)  # fmt: skip
    return response.status_code, response.content


# --------------------------------------------------------------------------------------------
# --share and --auth


class FakeDemo:
    """Stands in for the Blocks so ``app.main`` can run without serving or going public."""

    def __init__(self) -> None:
        self.launched: dict | None = None

    def launch(self, **kwargs) -> None:
        self.launched = kwargs


@pytest.fixture
def fake_main(monkeypatch, tmp_path):
    import app

    demo = FakeDemo()
    monkeypatch.setattr(app, "build_app", lambda: demo)
    monkeypatch.setenv("STUDIO_OUTPUTS", str(tmp_path / "outputs"))
    monkeypatch.delenv(app.AUTH_ENV, raising=False)
    return app, demo


def test_share_without_credentials_prints_a_warning(fake_main, capsys):
    app, demo = fake_main
    app.main(["--share"])
    err = capsys.readouterr().err
    assert "WARNING" in err and "--auth" in err and app.AUTH_ENV in err
    assert demo.launched["share"] is True and demo.launched["auth"] is None


def test_auth_from_the_flag_or_the_environment(fake_main, capsys, monkeypatch):
    app, demo = fake_main
    app.main(["--share", "--auth", "ann:pw1"])
    assert demo.launched["auth"] == [("ann", "pw1")]
    monkeypatch.setenv(app.AUTH_ENV, "bob:pw2,cy:pw3")
    app.main(["--share"])
    assert demo.launched["auth"] == [("bob", "pw2"), ("cy", "pw3")]
    assert "WARNING" not in capsys.readouterr().err
    monkeypatch.setenv(app.AUTH_ENV, "no-password")
    with pytest.raises(SystemExit, match="user:password"):
        app.main([])


def test_auth_protects_the_api(tmp_path):
    """A served studio with credentials refuses the API without them and serves it with them."""
    from gradio_client import Client
    from gradio_client.exceptions import AuthenticationError

    import app
    from pipelines.catalog import build_registry

    demo = app.build_app(build_registry())
    port = pick_free_port()
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=port, quiet=True,
                auth=app.parse_auth("ann:pw1"))  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        with pytest.raises(AuthenticationError, match="credentials were not provided"):
            Client(url, verbose=False, analytics_enabled=False)
        with pytest.raises(ValueError, match="Could not login"):
            Client(url, auth=("ann", "wrong"), verbose=False, analytics_enabled=False)
        client = Client(url, auth=("ann", "pw1"), verbose=False, analytics_enabled=False,
                        download_files=str(tmp_path))  # fmt: skip
        table, _message, _summary = client.predict(api_name="/models_status")
        assert table["data"]
    finally:
        demo.close()


# --------------------------------------------------------------------------------------------
# Uploads and file routes


def test_uploads_over_the_limit_are_refused(server):
    status, body = upload(server, "big.png", b"\0" * (UPLOAD_LIMIT + 1))
    assert status == 413 and b"maximum allowed size" in body
    status, body = upload(server, "small.png", b"\0" * 1000)
    assert status == 200 and json.loads(body)[0].endswith("small.png")


def test_outputs_are_served_and_nothing_outside_them(server):
    run = server.outputs / "style" / "fresh"
    (run / "result.txt").write_text("a result")
    status, body = get(server, f"/gradio_api/file={run / 'result.txt'}")
    assert (status, body) == (200, b"a result")
    # Uploaded files (Gradio's temporary folder) are served too.
    status, body = upload(server, "note.txt", b"uploaded")
    cached = json.loads(body)[0]
    assert get(server, f"/gradio_api/file={cached}") == (200, b"uploaded")

    secret = server.folder / "secret.txt"
    os.symlink(secret, run / "link.txt")
    climbs = "../" * 12
    attempts = [
        "/etc/passwd", f"{secret}", f"{ROOT / 'app.py'}", "app.py", f"{climbs}etc/passwd",
        f"{run}/../../../secret.txt", f"{Path(cached).parent}/../../../../etc/passwd",
        quote(f"{climbs}etc/passwd", safe=""), quote("/etc/passwd", safe=""),
        f"{run}/" + quote("../../../secret.txt", safe=""),
        quote(quote(f"{climbs}etc/passwd", safe=""), safe=""), "%2e%2e/" * 12 + "etc/passwd",
        "..%5c" * 12 + "etc%5cpasswd", "/etc/passwd%00.png", "//etc/passwd", f"{run}/link.txt",
    ]  # fmt: skip
    for attempt in attempts:
        status, body = get(server, f"/gradio_api/file={attempt}")
        assert status in (403, 404), (attempt, status)
        assert b"root:" not in body and b"not for the web" not in body, attempt
        assert get(server, f"/file={attempt}")[0] in (403, 404), attempt


# --------------------------------------------------------------------------------------------
# Checkpoints

# ``from_pretrained`` calls that may read a pickled ``.bin`` because their Hub repo offers
# nothing else, by (file, class). transformers loads such files with ``torch.load(...,
# weights_only=True)`` unless told otherwise (checked below), so no code can run from them.
BIN_ONLY = {
    ("pipelines/super_res/models.py", "Swin2SRForImageSuperResolution"):
        "caidas/swin2SR-realworld-sr-x4-64-bsrgan-psnr ships pytorch_model.bin only",
    ("pipelines/networks/clip.py", "CLIPModel"):
        "the spec fetches openai/clip-vit-base-patch32's pytorch_model.bin",
}  # fmt: skip
# Classes whose from_pretrained reads JSON and text (configs, tokenizers, processors), no weights.
NO_WEIGHTS = ("Processor", "Tokenizer", "TokenizerFast", "Config", "FeatureExtractor")


def _calls(path: Path) -> list[ast.Call]:
    return [node for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
            if isinstance(node, ast.Call)]  # fmt: skip


def _keyword(call: ast.Call, name: str) -> object:
    for keyword in call.keywords:
        if keyword.arg == name:
            return keyword.value.value if isinstance(keyword.value, ast.Constant) else "dynamic"
    return None


def test_checkpoints_load_only_as_safetensors_or_weights_only():
    sources = sorted((ROOT / "pipelines").rglob("*.py"))
    seen_load = seen_pretrained = 0
    for path in sources:
        where = path.relative_to(ROOT).as_posix()
        for call in _calls(path):
            func = call.func
            if not isinstance(func, ast.Attribute):
                continue
            owner = func.value.id if isinstance(func.value, ast.Name) else None
            if func.attr == "load" and owner == "torch":
                seen_load += 1
                assert _keyword(call, "weights_only") is True, f"{where}:{call.lineno}"
            elif func.attr == "from_pretrained":
                seen_pretrained += 1
                assert _keyword(call, "weights_only") in (None, True), f"{where}:{call.lineno}"
                assert _keyword(call, "use_safetensors") in (None, True), f"{where}:{call.lineno}"
                if owner is None or owner.endswith(NO_WEIGHTS):
                    continue
                if (where, owner) in BIN_ONLY:
                    continue
                assert _keyword(call, "use_safetensors") is True, (
                    f"{where}:{call.lineno}: {owner}.from_pretrained needs use_safetensors=True "
                    "(or an entry in BIN_ONLY saying why the repo has no safetensors)"
                )
    assert seen_load and seen_pretrained  # the scan found the loaders it is about


def test_libraries_load_pickled_checkpoints_weights_only():
    """The fallback BIN_ONLY relies on: transformers' and diffusers' .bin loaders."""
    from diffusers.models import model_loading_utils
    from transformers import modeling_utils

    assert inspect.signature(modeling_utils.load_state_dict).parameters[
        "weights_only"].default is True  # fmt: skip
    assert '"weights_only": True' in inspect.getsource(model_loading_utils.load_state_dict)


# --------------------------------------------------------------------------------------------
# Run folders and secrets


def test_old_run_folders_are_removed_at_start(server):
    style = server.outputs / "style"
    assert not (style / "20200101-000000-000000-old").exists()
    assert (style / "fresh").is_dir()
    assert f"older than {float(RUN_AGE_HOURS)} h" in server.output()


def test_the_token_is_never_logged_or_recorded(server, tmp_path):
    from gradio_client import Client, handle_file
    from gradio_client.exceptions import AppError

    client = Client(server.url, verbose=False, analytics_enabled=False,
                    download_files=str(tmp_path))  # fmt: skip
    client.predict(api_name="/models_status")
    for api in ("/models_fetch", "/models_load"):  # both fail: offline, nothing on disk
        with pytest.raises(AppError):
            client.predict("super_res.swin2sr-x2", api_name=api)
    Image.fromarray(np.full((12, 12, 3), 99, np.uint8)).save(tmp_path / "in.png")
    client.predict(handle_file(str(tmp_path / "in.png")), None, "classical", 2, 0, "png", False,
                   api_name="/super_res")  # fmt: skip
    with pytest.raises(AppError):
        client.predict(handle_file(str(tmp_path / "in.png")), None, "super_res.nope", 2, 0,
                       "png", False, api_name="/super_res")  # fmt: skip

    manifests = list(server.outputs.rglob("manifest.json"))
    assert any(json.loads(m.read_text()).get("task") == "super_res" for m in manifests)
    log = server.output()
    assert "super_res" in log or "HTTP Request" in log  # the log is being written
    for text in [log, *(m.read_text() for m in manifests)]:
        assert TOKEN not in text and TOKEN[:12] not in text
