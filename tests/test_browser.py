"""The pages in a real headless Chromium, opened from file:// as a user would.

Uses the Debian ``chromium`` package through Playwright's Python API (never ``playwright
install``, which downloads a browser). CI installs it in ``.ci/run``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from callscan.report import ReportOptions, write_report
from callscan.store import Store
from test_report import _gone_call, _mono_call, _stereo_call, _transcript_call

CHROMIUM = Path("/usr/bin/chromium")
METADATA = "a => new Promise(r => a.readyState > 0 ? r() : a.addEventListener('loadedmetadata', r, {once: true}))"
AREAS = "els => els.map(e => e.getBoundingClientRect().width * e.getBoundingClientRect().height)"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if not CHROMIUM.exists():
        pytest.skip(f"BROWSER TESTS SKIPPED: {CHROMIUM} not found — install Debian chromium "
                    "(apt-get install chromium) to run them")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright (python) is not installed")
    profile = tmp_path_factory.mktemp("chromium-profile")
    with sync_api.sync_playwright() as p:
        # Playwright refuses --user-data-dir in args; a persistent context is how it takes one.
        context = p.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), headless=True,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"],
            viewport={"width": 1280, "height": 900},
        )
        yield context
        context.close()


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser-report")
    with Store(root / "store.db") as db:
        for call in (_stereo_call(), _mono_call(), _transcript_call(), _gone_call(root)):
            db.save_call(call, "test")
        write_report(db, ReportOptions(out_dir=root / "out"))
    return root / "out"


def open_page(browser, path: Path):
    page = browser.new_page()
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("request", lambda r: problems.append(f"network: {r.url}") if not r.url.startswith("file:") else None)
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, problems


def _shot(page, tmp_path: Path, name: str) -> None:
    page.screenshot(path=str(tmp_path / f"{name}.png"), full_page=True)


def test_briefing_renders_without_errors_with_sized_charts(browser, out, tmp_path):
    page, problems = open_page(browser, out / "index.html")
    try:
        boxes = page.eval_on_selector_all("svg[role=img]", AREAS)
        assert boxes and all(area > 0 for area in boxes)
        assert page.locator("article.card").count() == 3
        clip = page.locator("article.card audio").first
        clip.evaluate(METADATA)
        assert clip.evaluate("a => a.duration") > 1.0
        _shot(page, tmp_path, "briefing")
        assert problems == []
    finally:
        page.close()


def test_call_page_plays_from_the_clicked_line(browser, out, tmp_path):
    page, problems = open_page(browser, out / "calls" / f"{_stereo_call().id}.html")
    try:
        player = page.locator("audio#player")
        player.evaluate(METADATA)
        assert player.evaluate("a => a.readyState") > 0 and player.evaluate("a => a.duration") > 5
        page.locator(".transcript .line").nth(1).locator(".text").click()
        page.wait_for_function("() => document.getElementById('player').currentTime >= 3.8")
        page.locator(".transcript .line").nth(0).locator("button.seek").focus()
        page.keyboard.press("Enter")
        page.wait_for_function("() => document.getElementById('player').currentTime < 3.0")
        _shot(page, tmp_path, "call")
        assert problems == []
    finally:
        page.close()


def test_link_from_the_briefing_cues_the_line(browser, out):
    page, problems = open_page(browser, out / "calls" / f"{_stereo_call().id}.html")
    try:
        page.goto((out / "calls" / f"{_stereo_call().id}.html").as_uri() + "#seg-1")
        page.wait_for_function("() => Math.abs(document.getElementById('player').currentTime - 3.9) < 0.2")
        assert problems == []
    finally:
        page.close()


def test_hostile_transcript_stays_text_and_other_pages_are_clean(browser, out, tmp_path):
    for name, path in [("mono", out / "calls" / f"{_mono_call().id}.html"), ("reps", out / "reps.html"),
                       ("zoom", out / "calls" / f"{_transcript_call().id}.html")]:
        page, problems = open_page(browser, path)
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        try:
            page.wait_for_timeout(200)
            assert page.locator("img").count() == 0 and dialogs == []
            _shot(page, tmp_path, name)
            assert problems == [], name
        finally:
            page.close()


def test_narrow_screen_is_one_column(browser, out):
    page = browser.new_page()
    page.set_viewport_size({"width": 390, "height": 800})
    try:
        page.goto((out / "calls" / f"{_stereo_call().id}.html").as_uri())
        main, side = page.locator(".call-main"), page.locator(".call-side")
        assert side.bounding_box()["y"] > main.bounding_box()["y"] + main.bounding_box()["height"] - 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.goto((out / "index.html").as_uri())
        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # wide tables scroll inside
    finally:
        page.close()


def test_print_hides_players(browser, out):
    page = browser.new_page()
    try:
        page.goto((out / "index.html").as_uri())
        page.emulate_media(media="print")
        assert page.locator("article.card audio").first.is_hidden()
        assert page.locator("article.card").first.is_visible()
    finally:
        page.close()
