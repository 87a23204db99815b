"""A real browser: Debian's chromium, driven headless by Playwright, against ``python app.py``.

At 1280x800 the test opens every tab, runs the classical backend of each of the five task tabs
on an example (an upload for the portrait, a gr.Examples row elsewhere), checks that the outputs
appear, then runs the Benchmark tab's default comparison. At 1280x1000 each task tab shows, for
its default backend and for one backend of every other group picked in the dropdown, exactly
the settings the task's schema gives that group (and the Portrait tab's classical default fits
the first screen, Animate in view). At phone width (390x844, where Gradio folds the tab bar into
a "More tabs" menu) it reaches every tab through that menu and runs one task. Screenshots of every
tab at each size go to ``test-artifacts/browser/``. Skipped, with the reason, when chromium or
Playwright is absent.
"""

from __future__ import annotations

import importlib
import re
import shutil
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import ROOT, StudioProcess, studio_process

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = ROOT / "test-artifacts" / "browser"
DESKTOP = {"width": 1280, "height": 800}
FIRST_SCREEN = {"width": 1280, "height": 1000}
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
    Task("One-image summary", "Run", 0, "img[src]", r"Keyframe mosaic, \d+x\d+"),
    Task("Depth & masks", "Run", 0, "video[src]", r"Depth maps of \d+ frames, \d+x\d+"),
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
        screenshot(page, f"failed-{slug(task.title)}")  # what the page showed instead
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


# --------------------------------------------------------------------------------------------
# Each tab shows the settings of the backend it has selected


def shown_settings(page, task) -> set[str]:
    """The names of ``task``'s settings whose widgets are on screen, with every accordion of the
    tab opened and every inner tab (Image/Video, Audio/Text, ...) visited: Gradio renders a
    closed accordion's or a hidden tab's content only once it is shown."""
    view = panel(page)
    shown: set[str] = set()
    inner = view.get_by_role("tab")
    for index in range(max(inner.count(), 1)):
        if inner.count():
            inner.nth(index).click()
        for _ in range(3):  # a nested accordion appears once its parent opens
            closed = view.locator(".label-wrap:not(.open):visible")
            if not closed.count():
                break
            for _ in range(closed.count()):
                closed.first.click()
        shown |= set(page.evaluate(
            """prefix => [...document.querySelectorAll(`[id^="${prefix}"]`)]
                .filter(e => e.checkVisibility()).map(e => e.id.slice(prefix.length))""",
            f"{task.id}-"))
    return shown & set(task.settings.names)


def expected_settings(task, spec) -> set[str]:
    """From the schema: the settings that apply to ``spec``'s backend group, less those the tab
    keeps off the page whatever the backend (its module's HIDDEN)."""
    hidden = set(getattr(importlib.import_module(task.tab), "HIDDEN", ())) if task.tab else set()
    group = task.group_of(spec)
    return {s.name for s in task.settings if s.applies_to(group)} - hidden


def pick_backend(page, task, label: str) -> None:
    from tabs.common import backend_dropdown_id

    page.locator(f"#{backend_dropdown_id(task.id)} input").click()
    page.get_by_role("option", name=label, exact=True).click()


def settle(page, task, expected: set[str], timeout: float = 30.0) -> set[str]:
    """The shown settings once they equal ``expected`` (a backend change is a server round
    trip), or as they are after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        shown = shown_settings(page, task)
        if shown == expected or time.monotonic() > deadline:
            return shown
        page.wait_for_timeout(250)


def difference(task, spec, shown: set[str], expected: set[str]) -> str:
    return (f"{task.id} with {spec.id}: shown though the schema's group {task.group_of(spec)!r} "
            f"lacks them: {sorted(shown - expected)}; missing: {sorted(expected - shown)}")


def test_each_tab_shows_the_settings_of_its_selected_backend(server, browser):
    from pipelines.catalog import build_registry
    from pipelines.tasks import TASKS as STUDIO_TASKS
    from tabs.common import backend_choices

    registry = build_registry()
    page = open_page(browser, server, FIRST_SCREEN)
    # The first screen a newcomer sees: the portrait's classical settings, Animate in view.
    button = panel(page).get_by_role("button", name="Animate", exact=True)
    box = button.bounding_box()
    assert box and box["y"] + box["height"] <= FIRST_SCREEN["height"], box
    page.screenshot(path=str(SHOTS / "first-screen-portrait-animation.png"))
    for task in STUDIO_TASKS:
        open_tab(page, task.title)
        labels = dict((spec_id, label) for label, spec_id in backend_choices(registry, task.id))
        default = registry.default(task.id)
        # Nothing has happened yet: the page as built must show the default's settings.
        shown, expected = shown_settings(page, task), expected_settings(task, default)
        assert shown == expected, difference(task, default, shown, expected)
        picks, groups = [], {task.group_of(default)}
        for spec in registry.by_task(task.id):
            if task.group_of(spec) not in groups:
                groups.add(task.group_of(spec))
                picks.append(spec)
        for spec in (*picks, default):  # then back to the default
            pick_backend(page, task, labels[spec.id])
            expected = expected_settings(task, spec)
            shown = settle(page, task, expected)
            assert shown == expected, difference(task, spec, shown, expected)
            if spec is not default:
                screenshot(page, f"settings-{slug(task.title)}-{task.group_of(spec)}")
    assert not page.errors, page.errors
