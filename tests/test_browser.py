"""The built book in a real browser: widgets render offline and pages log no console errors.

Runs after the book build (``make test`` does that); it opens the intro page and every page
that embeds a widget in headless Chromium, served from localhost, with no other network; and
every chapter, exercise and solution page in a 1280 px window: no code or output wider than the
column, each chapter links its exercise, hints and answers present and folded. The
screenshots land in ``_build/browser/``.
"""

from __future__ import annotations

import functools
import http.server
import pathlib
import shutil
import threading

import pytest

pytestmark = pytest.mark.browser

ROOT = pathlib.Path(__file__).resolve().parents[1]
HTML = ROOT / "_build" / "html"
SHOTS = ROOT / "_build" / "browser"
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"


def widget_pages() -> list[pathlib.Path]:
    """Built pages that embed at least one widget view."""
    return sorted(p for p in HTML.rglob("*.html") if WIDGET_MIME in p.read_text(errors="ignore"))


@pytest.fixture(scope="module")
def server():
    if not (HTML / "index.html").exists():
        pytest.skip("the HTML book is not built; run `make test` or `make book` first")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(HTML))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture(scope="module")
def browser():
    chromium, driver_path = shutil.which("chromium"), shutil.which("chromedriver")
    if not (chromium and driver_path):
        pytest.skip("headless Chromium is not installed (Debian packages chromium and "
                    "chromium-driver; .ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--window-size=1280,1600"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(driver_path), options=options)
    yield driver
    driver.quit()


def load(browser, url: str, shot: pathlib.Path, wait_for: str | None):
    """Open ``url``, wait for ``wait_for`` (a CSS selector) to appear, save a screenshot,
    and return the console messages at level SEVERE."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as ec
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get_log("browser")  # drop messages from earlier pages
    browser.get(url)
    if wait_for:
        found = WebDriverWait(browser, 60).until(
            ec.presence_of_element_located((By.CSS_SELECTOR, wait_for)))
        browser.execute_script("arguments[0].scrollIntoView({block: 'center'});", found)
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(shot))
    # The browser asks for /favicon.ico by itself; that is not the page's doing.
    return [entry for entry in browser.get_log("browser")
            if entry["level"] == "SEVERE" and "favicon.ico" not in entry["message"]]


def test_intro_page_has_no_console_errors(server, browser):
    errors = load(browser, f"{server}/book/intro.html", SHOTS / "intro.png", "h1")
    assert not errors, f"console errors on the intro page: {errors}"
    assert "factorization" in browser.title.lower()


def test_every_chapter_and_exercise_page_loads_cleanly(server, browser):
    # Movies, equations and figures must not reach for a CDN either.
    pages = sorted((HTML / "book").glob("*.html")) + sorted((HTML / "exercises").glob("*.html"))
    assert len(pages) > 10
    for page in pages:
        rel = page.relative_to(HTML).as_posix()
        errors = load(browser, f"{server}/{rel}", SHOTS / "page.png", "h1")
        assert not errors, f"console errors on {rel}: {errors}"


def test_widgets_render_without_network(server, browser):
    pages = widget_pages()
    assert pages, "no built page embeds a widget; the intro chapter should"
    for page in pages:
        rel = page.relative_to(HTML).as_posix()
        # The HTML manager replaces each embedded view with a rendered widget; a slider is in
        # every explorer that factorlab ships.
        errors = load(browser, f"{server}/{rel}", SHOTS / (page.stem + "-widget.png"),
                      ".jupyter-widgets .widget-slider")
        assert not errors, f"console errors on {rel}: {errors}"
        rendered = browser.find_elements("css selector", ".jupyter-widgets")
        assert rendered, f"no widget rendered on {rel}"


# exercise -> the chapter it practises (the warm-up belongs to chapter 1)
EXERCISE_OF_CHAPTER = {
    "01_pca": "01_pca_als", "02_nmf": "02_nmf_practical", "04_model_assessment":
    "03_rank_selection", "05_tensor_cp": "04_cp_trials", "06_robust_pca_bear": "05_rpca_ialm",
    "07_prox_unet": "06_prox_backward", "08_crsae": "07_fista_unroll",
    "09_sparse_var": "08_sparse_var", "04b_seqnmf": "09_sequences",
}

# Code and output blocks whose content is wider than their box (1 px for rounding).
_OVERFLOWING = """
return [...document.querySelectorAll('div.cell div.highlight pre, div.cell_output pre')]
  .filter(p => p.offsetParent !== null && p.scrollWidth > p.clientWidth + 1)
  .map(p => p.textContent.split('\\n').reduce((a, b) => a.length >= b.length ? a : b))
  .slice(0, 3);
"""


def _reading_pages():
    chapters = sorted((HTML / "book").glob("[0-9]*.html"))
    exercises = sorted((HTML / "exercises").glob("[0-9]*.html"))
    solutions = sorted((HTML / "exercises" / "solutions").glob("*.html"))
    return chapters, exercises, solutions


def test_code_and_output_fit_a_1280_px_window(server, browser):
    chapters, exercises, solutions = _reading_pages()
    n_exercises = len(list((ROOT / "exercises").glob("[0-9]*.ipynb")))
    assert len(chapters) >= 10 and len(exercises) == len(solutions) == n_exercises
    for page in chapters + exercises + solutions:
        rel = page.relative_to(HTML).as_posix()
        load(browser, f"{server}/{rel}", SHOTS / "page.png", "h1")
        assert browser.execute_script("return window.innerWidth") <= 1280
        wide = browser.execute_script(_OVERFLOWING)
        assert not wide, f"{rel}: code or output wider than the column, e.g. {wide}"


def test_each_chapter_links_its_exercise(server, browser):
    for chapter, exercise in EXERCISE_OF_CHAPTER.items():
        load(browser, f"{server}/book/{chapter}.html", SHOTS / "page.png", "h1")
        links = browser.execute_script(
            "return [...document.querySelectorAll('article a')].map(a => a.href)")
        assert any(f"exercises/{exercise}.html" in href for href in links), chapter


def test_hints_and_solutions_are_present_and_hidden(server, browser):
    _, exercises, solutions = _reading_pages()
    for page in exercises:
        rel = page.relative_to(HTML).as_posix()
        load(browser, f"{server}/{rel}", SHOTS / "page.png", "h1")
        hints = browser.execute_script(
            "return [...document.querySelectorAll('article details')].map(d => d.open)")
        assert hints and not any(hints), f"{rel}: hints missing or shown open ({hints})"
    for page in solutions:
        rel = page.relative_to(HTML).as_posix()
        load(browser, f"{server}/{rel}", SHOTS / "page.png", "h1")
        # answer cells are tagged hide-input: their code sits in a closed toggle
        shown = browser.execute_script("""
            const cells = [...document.querySelectorAll('div.cell.tag_hide-input')];
            return cells.map(c => { const d = c.querySelector('details');
                                    return d === null ? true : d.open; });""")
        assert shown and not any(shown), f"{rel}: answers missing or shown ({shown})"
