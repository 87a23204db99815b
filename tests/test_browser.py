"""A real browser: Debian's chromium, driven headless by Playwright, against ``python app.py``.

At 1280x800 the test opens every tab, runs the classical backend of each of the five task tabs
on an example (an upload for the portrait, a gr.Examples row elsewhere), checks that the outputs
appear, then runs the Benchmark tab's default comparison. At phone width (390x844, where Gradio
folds the tab bar into a "More tabs" menu) it reaches every tab through that menu and runs one
task. Screenshots of every tab at both sizes go to ``test-artifacts/browser/``. Skipped, with the
reason, when chromium or Playwright is absent.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, StudioProcess, studio_process

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
RUN_TIMEOUT_MS = 120_000

sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed "
                               "(pip install -r requirements-dev.txt)")  # fmt: skip
if not CHROMIUM.is_file():
    pytest.skip(f"{CHROMIUM} is not installed (apt-get install chromium); .ci/run installs it",
                allow_module_level=True)  # fmt: skip


@dataclass(frozen=True)
class Task:
    """How to run one task tab from the browser and what must appear."""

    title: str
    button: str
    example: int | None  # which gr.Examples table holds the example (None: upload a file)
    outputs: str  # a CSS selector for the output media that must appear with a source
    summary: str  # a pattern the result's summary matches (and the tab's prose does not)


TASKS = (
    Task("Portrait animation", "Animate", None, "video[src]", r"12 frames, \d+x\d+"),
    Task("Talking heads", "Make it talk", 0, "video[src]", r"\d+ frames at 25 fps"),
    Task("Style transfer", "Stylise image", 0, "img[src]", r"\d+x\d+ image in"),
    Task("Super-resolution", "Upscale image", 0, "img[src]", r"128x128 → 256x256"),
    Task("Frame interpolation", "Run", 0, "video[src]", r"\d+ frames at [\d.]+ fps"),
    Task("Keyframe extraction", "Find shots and keyframes", 0, "img[src]", r"\d+ shots \(\d+ cuts"),
)
OTHER_TABS = ("Benchmark", "Models")


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[StudioProcess]:
    folder = tmp_path_factory.mktemp("browser")
    with studio_process(folder, STUDIO_OUTPUTS=str(folder / "outputs")) as served:
        yield served


@pytest.fixture(scope="module")
def browser() -> Iterator:
    shutil.rmtree(SHOTS, ignore_errors=True)
    SHOTS.mkdir(parents=True)
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


def open_page(browser, server: StudioProcess, viewport: dict):
    page = browser.new_page(viewport=viewport)
    errors: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server.url)
    page.get_by_role("tab", name=TASKS[0].title).wait_for()
    page.errors = errors
    return page


def open_tab(page, title: str) -> None:
    """Select a top-level tab: from the tab bar, or from the "More tabs" menu on a phone."""
    tab = page.get_by_role("tab", name=title, exact=True)
    if not tab.count():
        page.get_by_role("button", name="More tabs").click()
        page.locator(".overflow-dropdown button", has_text=re.compile(f"^{title}$")).click()
    else:
        tab.click()
    selected = page.get_by_role("tab", name=title, exact=True)
    sync_api.expect(selected).to_have_attribute("aria-selected", "true")


def panel(page):
    """The visible top-level tab panel."""
    return page.locator(".tabitem:visible").first


def screenshot(page, name: str) -> Path:
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def slug(title: str) -> str:
    return re.sub(r"\W+", "-", title.lower()).strip("-")


def run_task(page, task: Task, picture: Path) -> None:
    """Fill the inputs (an upload or an example), press the button, wait for the outputs."""
    view = panel(page)
    if task.example is None:
        view.locator("input[type=file]").first.set_input_files(str(picture))
        sync_api.expect(view.locator("img[src]").first).to_be_visible()
    else:
        rows = view.locator("[data-testid='dataset-cell-0-0']:visible, .gallery-item:visible")
        # The example's files reach the inputs through a server round trip: on a busy machine
        # a click on the run button before it returns would run with empty inputs.
        with page.expect_response(lambda r: r.url.endswith("/gradio_api/run/predict"),
                                  timeout=RUN_TIMEOUT_MS):
            rows.nth(task.example).click()
    view.get_by_role("button", name=task.button, exact=True).click()
    try:
        sync_api.expect(view.get_by_text(re.compile(task.summary)).first).to_be_visible(
            timeout=RUN_TIMEOUT_MS)
    except AssertionError as err:
        toasts = page.locator(".toast-body").all_inner_texts()
        raise AssertionError(f"{task.title}: no result; messages shown: {toasts}") from err
    media = view.locator(f"{task.outputs}:visible")
    sync_api.expect(media.last).to_be_visible()
    assert media.last.get_attribute("src")
    assert not page.locator(".toast-body.error:visible").count(), "an error toast appeared"


def test_desktop_every_tab_runs_its_example(server, browser, tmp_path):
    from PIL import Image

    picture = tmp_path / "portrait.png"
    Image.open(ROOT / "assets" / "portrait" / "astronaut.jpg").resize((256, 256)).save(picture)
    page = open_page(browser, server, DESKTOP)
    for task in TASKS:
        open_tab(page, task.title)
        if task.title == "Portrait animation":  # short clip: 12 frames
            frames = panel(page).get_by_label("number input for Frames", exact=True)
            frames.fill("12")
            frames.press("Enter")
        run_task(page, task, picture)
        screenshot(page, f"desktop-{slug(task.title)}")
    run_benchmark(page)
    open_tab(page, "Models")
    screenshot(page, "desktop-models")
    sync_api.expect(panel(page).locator("table").first).to_be_visible()  # the Models table
    assert not page.errors, page.errors


def run_benchmark(page) -> None:
    """Benchmark's defaults: super-resolution, the classical backend and a model backend whose
    weights are not here, on one example. One ok row, one unavailable row, the output shown."""
    open_tab(page, "Benchmark")
    view = panel(page)
    view.get_by_role("button", name="Run benchmark", exact=True).click()
    sync_api.expect(view.get_by_text(re.compile(r"1 ok, 1 unavailable, 0 failed")).first
                    ).to_be_visible(timeout=RUN_TIMEOUT_MS)
    for cell in ("super_res.classical", "ok", "unavailable"):
        sync_api.expect(view.get_by_role("gridcell", name=cell, exact=True).first).to_be_visible()
    sync_api.expect(view.locator("img[src*='file=']").first
                    ).to_be_visible()
    screenshot(page, "desktop-benchmark")
    assert not page.locator(".toast-body.error:visible").count(), "an error toast appeared"


def test_phone_reaches_every_tab_through_the_menu(server, browser, tmp_path):
    page = open_page(browser, server, PHONE)
    assert page.get_by_role("button", name="More tabs").is_visible()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page scrolls sideways on a phone ({width} px)"
    for task in TASKS:
        open_tab(page, task.title)
        if task.title == "Super-resolution":
            run_task(page, task, tmp_path)
        screenshot(page, f"phone-{slug(task.title)}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= PHONE["width"], f"{task.title} scrolls sideways ({width} px)"
    for title in OTHER_TABS:
        open_tab(page, title)
        screenshot(page, f"phone-{slug(title)}")
    assert not page.errors, page.errors
