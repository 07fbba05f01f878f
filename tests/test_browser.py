"""The map and index.html in headless Chromium (Debian's ``chromium``, installed by .ci/run).

Checks: no console errors or page errors, no alert dialog from hostile names (which show as
text), the expected number of area polygons and site markers, the layer control, and the same
with every non-local request blocked (the self-contained mode). Screenshots are kept in
tests/artefacts/ (not committed).

In CI (``CI=true``) a missing chromium fails these tests; elsewhere they are skipped with the
reason.
"""

from __future__ import annotations

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from report_fixtures import HOSTILE_AREA, HOSTILE_LOCALITY, HOSTILE_SITE, make_solved

from optimiser.report import build_pack

pytestmark = pytest.mark.browser

ARTEFACTS = Path(__file__).resolve().parent / "artefacts"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic",
                 "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
N_AREAS = 12
N_SITES = 4  # kept hub, kept spoke, closed spoke, new hub (the candidate not opened is hidden)
N_LOCALITIES = 3


def _chromium() -> str:
    path = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if Path("/usr/bin/chromium").exists() else None)
    if path is None:
        reason = "Debian's chromium is not installed (apt-get install chromium; .ci/run does)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    return path


@pytest.fixture(scope="module")
def browser():
    exe = _chromium()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="module")
def pack(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser")
    solved = make_solved(root, hostile=True, allocation=True, sweep=True)
    build_pack(solved, root / "pack", self_contained=True)
    return root / "pack"


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args) -> None:  # keep the test output clean
        pass


@pytest.fixture(scope="module")
def server(pack: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(pack))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class Watch:
    """Console errors, page errors, dialogs and blocked requests of one page."""

    def __init__(self, page, offline: bool = False) -> None:
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.blocked: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))

        def dialog(d) -> None:
            self.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        if offline:
            def route(r) -> None:
                url = r.request.url
                if url.startswith(("file://", "data:", "http://127.0.0.1")):
                    r.continue_()
                else:
                    self.blocked.append(url)
                    r.abort()

            page.context.route("**/*", route)


def _new_page(browser, offline: bool = False):
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    return page, Watch(page, offline)


def _wait_for_map(frame, n_areas: int = N_AREAS) -> None:
    frame.wait_for_function(
        f"document.querySelectorAll('path.area-need').length >= {n_areas}", timeout=15000)


def test_map_opens_with_polygons_markers_and_no_errors(browser, pack):
    ARTEFACTS.mkdir(exist_ok=True)
    page, watch = _new_page(browser)
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    assert page.locator("path.area-need").count() == N_AREAS
    assert page.locator(".site-marker").count() == N_SITES
    assert page.locator(".site-marker.site-close").count() == 1
    assert page.locator(".site-marker.site-open_new.site-hub").count() == 1
    assert page.locator(".locality-label").count() == N_LOCALITIES
    assert page.locator("path.locality-boundary").count() == N_LOCALITIES
    # hostile names are visible as text, and nothing ran
    labels = page.locator(".locality-label").all_inner_texts()
    assert any(HOSTILE_LOCALITY in t for t in labels)
    page.locator(".site-marker.site-open_new").hover()
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for(timeout=5000)
    assert HOSTILE_SITE in tip.inner_text()
    page.screenshot(path=str(ARTEFACTS / "map.png"))
    # the hostile area's tooltip (the first area) shows its name as text
    page.mouse.move(5, 5)
    page.locator("path.area-need").first.dispatch_event("mouseover")
    page.wait_for_function(
        "[...document.querySelectorAll('.leaflet-tooltip')].some("
        "t => t.innerText.includes('Locality children in need'))", timeout=5000)
    texts = page.locator(".leaflet-tooltip").all_inner_texts()
    assert any(HOSTILE_AREA in t for t in texts)
    assert watch.dialogs == []
    assert watch.errors == []
    page.context.close()


def test_layer_control_switches_area_layers_and_legend(browser, pack):
    page, watch = _new_page(browser)
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    assert page.locator(".map-legend").inner_text().count("areas)") == 6  # need classes shown
    page.get_by_text("Areas: reached by a centre or outreach").click()
    page.wait_for_function("document.querySelectorAll('path.area-reach').length > 0")
    assert page.locator("path.area-reach").count() == N_AREAS
    assert page.locator("path.area-need").count() == 0
    legend = page.locator(".map-legend").inner_text()
    assert "Reached by outreach" in legend and "areas)" not in legend
    page.get_by_text("Areas: change against today's network").click()
    page.wait_for_function("document.querySelectorAll('path.area-change').length > 0")
    assert page.locator("path.area-change").count() == N_AREAS
    page.get_by_text("Candidate sites not opened").click()
    page.wait_for_function("document.querySelectorAll('.site-marker').length > 4")
    assert page.locator(".site-marker.site-not_opened").count() == 1
    page.screenshot(path=str(ARTEFACTS / "map_change_layer.png"))
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()


def test_index_opens_with_the_map_and_tables(browser, pack, server):
    ARTEFACTS.mkdir(exist_ok=True)
    page, watch = _new_page(browser)
    page.goto(f"{server}/index.html")
    frame = page.frame_locator("iframe.map")
    frame.locator("path.area-need").first.wait_for(timeout=15000)
    assert frame.locator("path.area-need").count() == N_AREAS
    assert frame.locator(".site-marker").count() == N_SITES
    headings = page.locator("h3.locality-heading").all_inner_texts()
    assert HOSTILE_LOCALITY in headings
    table = page.locator("table.localities").inner_text()
    assert HOSTILE_LOCALITY in table and "County total" in table
    # charts load (img elements with a real size)
    for img in page.locator("figure.chart img").all():
        assert img.evaluate("el => el.complete && el.naturalWidth > 100")
    page.screenshot(path=str(ARTEFACTS / "index.png"), full_page=True)
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()


def test_offline_self_contained_pack(browser, pack, server):
    """Every non-local request blocked: the map and the pack still render, without errors."""
    page, watch = _new_page(browser, offline=True)
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    assert page.locator("path.area-need").count() == N_AREAS
    assert page.locator(".site-marker").count() == N_SITES
    page.screenshot(path=str(ARTEFACTS / "map_offline.png"))
    page.goto(f"{server}/index.html")
    frame = page.frame_locator("iframe.map")
    frame.locator("path.area-need").first.wait_for(timeout=15000)
    assert frame.locator("path.area-need").count() == N_AREAS
    page.screenshot(path=str(ARTEFACTS / "index_offline.png"))
    assert watch.blocked == []  # nothing even tried to reach the network
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()
