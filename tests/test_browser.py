"""A real browser: Debian's chromium, driven headless by Playwright, against ``python app.py``.

At 1280x800 the test opens every tab, runs the classical backend of each of the five task tabs
on an example (an upload for the portrait, a gr.Examples row elsewhere), checks that the outputs
appear, then runs the Benchmark tab's default comparison. The Object removal tab is driven once: a
clip uploaded, a box-shaped stroke painted on its first frame, the cleaned video shown. At
1280x1000 each task tab shows, for
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
    console: list[str] = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.on("console", lambda m: console.append(m.text) if m.type == "error" else None)
    page.goto(server.url)
    page.get_by_role("tab", name=TASKS[0].title).wait_for()
    page.errors, page.console_errors, page.server_log = errors, console, server.log
    return page


def diagnosis(page) -> str:
    """What a failed run left behind: the toasts, the browser's console errors and the end of
    the server's log."""
    toasts = page.locator(".toast-body").all_inner_texts()
    log = page.server_log.read_text(errors="replace").splitlines()[-15:]
    return (f"messages shown: {toasts}; console errors: {page.console_errors[-5:]}; "
            "server log:\n" + "\n".join(log))


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
        screenshot(page, f"failed-{slug(task.title)}")  # what the page showed instead
        raise AssertionError(f"{task.title}: no result; {diagnosis(page)}") from err
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


def picture_box(locator) -> tuple[float, float, float, float] | None:
    """Where a picture is drawn inside an element, in page pixels (x0, y0, x1, y1): the rows and
    columns that mostly differ from the element's corner colour; None while it is empty."""
    import io

    import numpy as np
    from PIL import Image

    shot = np.asarray(Image.open(io.BytesIO(locator.screenshot())).convert("RGB"), np.float32)
    differs = np.abs(shot - shot[0, 0]).max(axis=-1) > 24
    rows = np.nonzero(differs.mean(axis=1) > 0.5)[0]
    cols = np.nonzero(differs.mean(axis=0) > 0.5)[0]
    if len(rows) < 8 or len(cols) < 8:
        return None
    box = locator.bounding_box()
    sx, sy = box["width"] / shot.shape[1], box["height"] / shot.shape[0]
    return (box["x"] + cols[0] * sx, box["y"] + rows[0] * sy, box["x"] + (cols[-1] + 1) * sx,
            box["y"] + (rows[-1] + 1) * sy)


def test_object_removal_paints_a_mask_on_the_first_frame_and_runs(server, browser, tmp_path):
    """Upload a generated clip (a textured disc crossing a textured background), wait for its
    first frame in the image editor, paint a box-shaped stroke over the disc with the brush
    (a mouse drag), run, and see the cleaned video play."""
    from pipelines.media import write_video
    from tabs.remove import EDITOR_ID
    from tests.remove_fixtures import scene

    made = scene(n=8, width=160, height=120)
    clip = write_video(tmp_path / "disc.mp4", made.frames, 12.0)
    page = open_page(browser, server, FIRST_SCREEN)
    open_tab(page, "Object removal")
    view = panel(page)
    view.locator("input[type=file]").first.set_input_files(str(clip))
    canvas = page.locator(f"#{EDITOR_ID} canvas").first
    sync_api.expect(canvas).to_be_visible(timeout=RUN_TIMEOUT_MS)
    deadline = time.monotonic() + 60
    while (shown := picture_box(canvas)) is None:  # the frame arrives by a server round trip
        assert time.monotonic() < deadline, "the first frame never appeared in the editor"
        page.wait_for_timeout(250)
    # The disc's box on the 160x120 frame is made.boxes[0]: paint over its inner part row by
    # row, as a person fills a rectangle with the brush (the stroke's width does the edges).
    left, top = shown[0], shown[1]
    scale = (shown[2] - shown[0]) / 160
    x0, y0, x1, y1 = (v + d for v, d in zip(made.boxes[0], (6, 6, -6, -6), strict=True))
    page.mouse.move(left + x0 * scale, top + y0 * scale)
    page.mouse.down()
    for row in range(y0, y1 + 1, 4):
        page.mouse.move(left + x1 * scale, top + row * scale, steps=6)
        page.mouse.move(left + x0 * scale, top + min(row + 2, y1) * scale, steps=6)
    page.mouse.up()
    screenshot(page, "desktop-object-removal-painted")
    view.get_by_role("button", name="Remove", exact=True).click()
    try:
        sync_api.expect(view.get_by_text(re.compile(r"Removed the object from 8 frames")).first
                        ).to_be_visible(timeout=RUN_TIMEOUT_MS)
    except AssertionError as err:
        toasts = page.locator(".toast-body").all_inner_texts()
        screenshot(page, "failed-object-removal")
        raise AssertionError(f"Object removal: no result; messages shown: {toasts}") from err
    video = view.locator("video[src]:visible").last
    sync_api.expect(video).to_be_visible()
    assert video.get_attribute("src")
    duration = page.wait_for_function(
        "v => v.readyState >= 1 && v.duration > 0 ? v.duration : null", arg=video.element_handle(),
        timeout=RUN_TIMEOUT_MS).json_value()
    assert duration > 0
    screenshot(page, "desktop-object-removal")
    assert not page.locator(".toast-body.error:visible").count(), "an error toast appeared"
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
