"""The bad-input corpus through the public API: every case ends in a correct result or a clear
sentence, the server keeps serving, and nothing is written outside the outputs folder.

One in-process server (the whole studio on the catalog's registry, classical backends) answers
every case through gradio_client. While the corpus runs, the process works in an empty folder
with a private temporary folder, and an audit hook records every file the process opens for
writing, creates or renames into.
"""

from __future__ import annotations

import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from tests.conftest import ROOT, served_studio
from tests.robustness_corpus import CASES, Case, Corpus, Ok, Refused

ARTIFACTS = ROOT / "test-artifacts"
# Every outcome, by case id: ("result" | "refused", what came back or the message).
OUTCOMES: dict[str, tuple[str, str]] = {}
# A sentence that says what to change starts with or contains one of these.
ACTION = re.compile(r"\b(upload|use|re-export|raise|pick|crop|set|try|choose)\b", re.IGNORECASE)
# Python's exception class names (OSError, DecompressionBombError, ...) must not reach users.
EXCEPTION_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception|Warning)\b")
GENERIC = ("Traceback", "Something went wrong inside the studio", "raised an exception",
           "show_error")  # fmt: skip


# --------------------------------------------------------------------------------------------
# Where the process writes


class WriteAudit:
    """Paths the process opens for writing, creates, renames onto or copies to, while recording.

    Python's audit events see writes made from Python (open, os.open, mkstemp, os.replace,
    shutil); FFmpeg writes where the Python code tells it to, so the run folders' contents are
    checked separately.
    """

    EVENTS = frozenset({"open", "os.rename", "os.mkdir", "shutil.copyfile", "shutil.move",
                        "os.symlink", "os.link"})  # fmt: skip
    WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND

    def __init__(self) -> None:
        self.paths: list[str] | None = None
        sys.addaudithook(self._hook)  # hooks cannot be removed; this one idles when not recording

    def _hook(self, event: str, args: tuple[Any, ...]) -> None:
        if self.paths is None or event not in self.EVENTS:
            return
        if event == "open":
            path, mode, flags = args
            writing = (any(c in mode for c in "wax+") if isinstance(mode, str)
                       else bool(flags and flags & self.WRITE_FLAGS))
            if not writing or isinstance(path, int) or path == os.devnull:  # discarded output
                return
        elif event == "os.mkdir":
            path = args[0]
        else:
            path = args[1]  # the destination
        if path is not None and not isinstance(path, int):
            self.paths.append(os.path.abspath(os.fsdecode(path)))

    def outside(self, *allowed: Path) -> list[str]:
        roots = [str(root.resolve()) for root in allowed]
        return sorted({p for p in self.paths or () if not any(
            os.path.realpath(p) == r or os.path.realpath(p).startswith(r + os.sep) for r in roots)})


_AUDIT = WriteAudit()


def _top_level(folder: Path) -> set[str]:
    """The names in ``folder``."""
    return {p.name for p in folder.iterdir()}


def _run_folders(outputs: Path) -> set[Path]:
    return {p for p in outputs.glob("*/*") if p.is_dir()}


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> Iterator[dict[str, Any]]:
    """An empty working folder and a private temporary folder while the corpus runs, and the
    write audit; everything the final test needs to compare."""
    from pipelines.manifest import outputs_dir

    base = tmp_path_factory.mktemp("sandbox")
    cwd, tmp = base / "cwd", base / "tmp"
    cwd.mkdir()
    tmp.mkdir()
    outputs = outputs_dir()
    outputs.mkdir(parents=True, exist_ok=True)
    state = {"cwd": cwd, "tmp": tmp, "outputs": outputs, "runs_before": _run_folders(outputs),
             "repo_before": _top_level(ROOT) | {"test-artifacts"}}
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(cwd)
        patch.setattr(tempfile, "tempdir", str(tmp))
        patch.delenv("GRADIO_TEMP_DIR", raising=False)  # Gradio's cache goes under tmp/gradio
        _AUDIT.paths = []
        try:
            yield state
        finally:
            _AUDIT.paths = None


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Corpus:
    return Corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def downloads(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("downloads")


@pytest.fixture(scope="module")
def client(sandbox, downloads):
    from pipelines.catalog import build_registry

    with served_studio(build_registry(), downloads) as client:
        yield client


# --------------------------------------------------------------------------------------------
# The corpus


def check_message(message: str, case: Case) -> None:
    """A refusal is our sentence: no traceback or class name, says what to change."""
    for text in GENERIC:
        assert text not in message, f"{case.id}: not a studio sentence: {message}"
    assert not EXCEPTION_NAME.search(message), f"{case.id}: exception name in: {message}"
    assert ACTION.search(message), f"{case.id}: does not say what to change: {message}"
    for phrase in case.expect.phrases:
        assert phrase.lower() in message.lower(), f"{case.id}: {phrase!r} not in: {message}"


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_case_ends_in_a_result_or_a_clear_message(case: Case, client, corpus):
    from gradio_client.exceptions import AppError

    try:
        outputs = client.predict(*case.inputs(corpus), api_name=f"/{case.api}")
    except AppError as err:
        message = str(err)
        OUTCOMES[case.id] = ("refused", message)
        assert isinstance(case.expect, Refused), f"{case.id} should succeed; got: {message}"
        check_message(message, case)
        return
    OUTCOMES[case.id] = ("result", "the result failed its check")
    assert isinstance(case.expect, Ok), f"{case.id} should be refused; got {outputs!r}"
    OUTCOMES[case.id] = ("result", case.expect.check(outputs))


def test_the_corpus_covers_every_task_and_the_issue_cases():
    assert len(CASES) >= 30
    assert {case.api.removesuffix("_video") for case in CASES} == {
        "portrait", "talking_head", "style", "super_res", "keyframes"}  # fmt: skip
    covered = " ".join(case.what for case in CASES).lower()
    for named in ("zero-byte", "text renamed to .mp4", "text renamed to .png", "cut in half",
                  "audio-only", "1x1", "20000x20000", "cmyk", "16-bit", "palette gif", "rgba",
                  "rotation tag", "variable frame rate", "limit 600 s", "silent", "clipped",
                  "without a face", "six faces"):  # fmt: skip
        assert named in covered, named
    assert len({case.id for case in CASES}) == len(CASES)


def test_afterwards_the_server_serves_and_nothing_was_written_outside(client, sandbox, corpus,
                                                                      downloads, tmp_path):
    from gradio.route_utils import DEFAULT_TEMP_DIR
    from gradio.utils import get_upload_folder as gradio_cache
    from gradio_client import handle_file

    # The server still answers, correctly.
    Image.fromarray(np.full((10, 12, 3), (10, 200, 30), np.uint8)).save(tmp_path / "ok.png")
    _slider, result, _ = client.predict(handle_file(str(tmp_path / "ok.png")), None, "classical",
                                        2, 0, "png", False, api_name="/super_res")  # fmt: skip
    with Image.open(result) as image:
        assert image.size == (24, 20)
        assert np.abs(np.asarray(image.convert("RGB"), int) - (10, 200, 30)).max() <= 2
    table, _message, _summary = client.predict(api_name="/models_status")
    assert table["data"]

    # Writes went to the outputs folder, the temporary folder (where only Gradio's cache may
    # stay), Gradio's own temporary folder (fixed when gradio is imported: each launch makes a
    # folder there), the client's downloads and the corpus; none to the working folder or the
    # checkout.
    outside = _AUDIT.outside(sandbox["outputs"], sandbox["tmp"], Path(DEFAULT_TEMP_DIR),
                             downloads, corpus.folder, tmp_path)  # fmt: skip
    assert not outside, f"written outside the outputs and temp folders: {outside}"
    assert not any(sandbox["cwd"].iterdir()), list(sandbox["cwd"].iterdir())
    cache = Path(gradio_cache())
    assert cache.parent == sandbox["tmp"]
    # (gradio_client leaves an empty folder behind per download; files would be a leak)
    left = [p for p in sandbox["tmp"].rglob("*") if p.is_file() and cache not in p.parents]
    assert not left, f"temporary files left behind: {left}"
    assert _top_level(ROOT) <= sandbox["repo_before"], _top_level(ROOT) - sandbox["repo_before"]
    # (Gradio writes a .pyi stub beside the module of any Gradio component subclass, at import)
    assert not [p for folder in ("tabs", "pipelines") for p in (ROOT / folder).rglob("*.pyi")]
    # Failed jobs left no run folder; finished ones are complete, with no half-written file.
    runs = _run_folders(sandbox["outputs"]) - sandbox["runs_before"]
    results = sum(kind == "result" for kind, _ in OUTCOMES.values())
    assert len(runs) == results + 1  # and the super-resolution above
    for run in runs:
        assert (run / "manifest.json").is_file(), run
        assert not [p for p in run.rglob(".*") if ".part" in p.name], run

    ARTIFACTS.mkdir(exist_ok=True)
    table = [{"case": c.id, "endpoint": c.api, "input": c.what, "outcome": OUTCOMES[c.id][0],
              "detail": OUTCOMES[c.id][1]} for c in CASES if c.id in OUTCOMES]  # fmt: skip
    (ARTIFACTS / "robustness.json").write_text(json.dumps(table, indent=2) + "\n")
