"""The map and index.html in headless Chromium (Debian's ``chromium``, installed by .ci/run).

Checks: no console errors or page errors, no alert dialog from hostile names (which show as
text), the expected number of area polygons and site markers, the layer control, and the same
with the browser offline (the self-contained mode: no request leaves the machine). The map's
furniture is measured, not only looked at: no two visible labels overlap each other or a site
marker; the legend is clear of the county at the default size; at 390 px wide the legend and
layer control start collapsed; the whole county is in view at load and in print. Online, the
OpenStreetMap tiles are answered by a local blank tile, so every test runs offline.
Screenshots are kept in tests/artefacts/ (not committed).

In CI (``CI=true``) a missing chromium fails these tests; elsewhere they are skipped with the
reason.
"""

from __future__ import annotations

import base64
import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from report_fixtures import (
    HOSTILE_AREA,
    HOSTILE_LOCALITY,
    HOSTILE_SITE,
    make_solved,
    make_solved_years,
)

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


#: A 1 x 1 transparent PNG: what the stand-in tile server answers.
BLANK_PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII=")
TILES = "https://tile.openstreetmap.org/"


def _new_page(browser, offline: bool = False, width: int = 1280, height: int = 860,
              tiles_fail: bool = False):
    """A page at a viewport size. Online, OpenStreetMap tile requests are answered with a
    blank tile (counted in ``watch.tiles``), or fail (``tiles_fail``); offline, the page is
    told the browser is offline (``navigator.onLine``) and every non-local request is blocked
    (the local test server still answers)."""
    context = browser.new_context(viewport={"width": width, "height": height})
    if offline:
        context.add_init_script(
            "Object.defineProperty(Navigator.prototype, 'onLine', {get: () => false});")
    page = context.new_page()
    watch = Watch(page, offline)
    watch.tiles = []
    if not offline:
        def tile(r) -> None:
            watch.tiles.append(r.request.url)
            if tiles_fail:
                r.abort()
            else:
                r.fulfill(status=200, content_type="image/png", body=BLANK_PNG)

        context.route(f"{TILES}**", tile)
    return page, watch


def _wait_for_map(frame, n_areas: int = N_AREAS) -> None:
    frame.wait_for_function(
        f"document.querySelectorAll('path.area-need').length >= {n_areas}", timeout=15000)
    _settle(frame)


def _settle(frame, after: int = 0) -> None:
    """Wait until the page has placed its labels more than ``after`` times in all and has
    nothing left to do (no zoom under way, no placing pending)."""
    frame.wait_for_function(f"window.optimiserMap && window.optimiserMap.placed > {after} && "
                            "window.optimiserMap.settled()", timeout=15000)
    frame.wait_for_timeout(100)
    frame.wait_for_function("window.optimiserMap.settled()", timeout=15000)


def _then_settle(frame, action) -> None:
    """Do something that moves the map (zoom, resize, print media), then wait until the
    labels have been placed again for the new view."""
    before = frame.evaluate("window.optimiserMap.placed")
    action()
    _settle(frame, after=before)


#: Bounding boxes of the visible labels, the site markers, the county (every area polygon)
#: and the map, legend and layer control, in page pixels.
_BOXES = """() => {
  const box = e => { const r = e.getBoundingClientRect();
                     return [r.left, r.top, r.right, r.bottom]; };
  const shown = e => e.offsetParent !== null && getComputedStyle(e).visibility === 'visible';
  const labels = [...document.querySelectorAll('.map-label > div')].filter(shown)
      .map(e => [e.innerText, box(e)]);
  const sites = [...document.querySelectorAll('.site-marker, path.outreach-marker')].map(box);
  const areas = [...document.querySelectorAll('path.area-polygon')].map(box);
  const county = [Math.min(...areas.map(a => a[0])), Math.min(...areas.map(a => a[1])),
                  Math.max(...areas.map(a => a[2])), Math.max(...areas.map(a => a[3]))];
  const legend = document.querySelector('.map-legend');
  const layers = document.querySelector('.leaflet-control-layers');
  return {labels, sites, county, map: box(document.querySelector('.folium-map')),
          legend: box(legend), layers: box(layers),
          legendBody: shown(legend.querySelector('.lg-body')),
          layerList: shown(layers.querySelector('.leaflet-control-layers-list')),
          zoom: shown(document.querySelector('.leaflet-control-zoom'))};
}"""


def _overlap(a, b, slack: float = 0.5) -> bool:
    return (a[0] < b[2] - slack and b[0] < a[2] - slack and a[1] < b[3] - slack
            and b[1] < a[3] - slack)


def _inside(inner, outer, slack: float = 1.0) -> bool:
    return (inner[0] >= outer[0] - slack and inner[1] >= outer[1] - slack
            and inner[2] <= outer[2] + slack and inner[3] <= outer[3] + slack)


def _clashes(boxes: dict) -> list:
    labels = boxes["labels"]
    out = [(a[0], b[0]) for i, a in enumerate(labels) for b in labels[i + 1:]
           if _overlap(a[1], b[1])]
    out += [(a[0], "marker") for a in labels for s in boxes["sites"] if _overlap(a[1], s)]
    return out


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
    labels = page.locator(".locality-label").evaluate_all("els => els.map(e => e.textContent)")
    assert any(HOSTILE_LOCALITY in t for t in labels)
    page.locator(".site-marker.site-open_new").hover()
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for(timeout=5000)
    assert HOSTILE_SITE in tip.inner_text()
    page.screenshot(path=str(ARTEFACTS / "map.png"))
    # the hostile area's tooltip (the first area) shows its name as text
    page.mouse.move(5, 5)
    page.locator("path.area-need").first.dispatch_event("click")
    page.wait_for_function(
        "[...document.querySelectorAll('.leaflet-popup-content')].some("
        "t => t.innerText.includes('Locality children in need'))", timeout=5000)
    texts = page.locator(".leaflet-popup-content").all_inner_texts()
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
    # In the pack's frame (shorter than a window) the legend and layer list do not overlap.
    inner = page.frames[1]
    _settle(inner)
    boxes = inner.evaluate(_BOXES)
    assert not _overlap(boxes["legend"], boxes["layers"], slack=0)
    assert _inside(boxes["county"], boxes["map"]) and _clashes(boxes) == []
    headings = page.locator("h3.locality-heading").all_inner_texts()
    assert HOSTILE_LOCALITY in headings
    table = page.locator("table.localities").inner_text()
    assert HOSTILE_LOCALITY in table and "Council total" in table
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


@pytest.mark.parametrize("size", [(1280, 860), (390, 844)])
def test_labels_never_overlap(browser, pack, size):
    """Locality, town and council names never cover each other or a site marker, at load and
    zoomed in and out."""
    page, watch = _new_page(browser, width=size[0], height=size[1])
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    boxes = page.evaluate(_BOXES)
    assert len(boxes["labels"]) >= N_LOCALITIES and _clashes(boxes) == []
    assert page.locator(".place-label").count() >= 1   # towns from GeoNames, to orient by
    for step in (1, -2):
        _then_settle(page, lambda step=step: page.evaluate(
            f"window.optimiserMap.map.setZoom(window.optimiserMap.map.getZoom() + {step})"))
        boxes = page.evaluate(_BOXES)
        assert _clashes(boxes) == [], step
    assert boxes["labels"]                                  # zoomed out, in view again
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()


def test_county_in_view_and_clear_of_the_legend(browser, pack):
    page, watch = _new_page(browser)
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    boxes = page.evaluate(_BOXES)
    assert boxes["legendBody"] and boxes["layerList"]        # open at the default size
    assert _inside(boxes["county"], boxes["map"])
    assert not _overlap(boxes["county"], boxes["legend"], slack=0)
    # The county fills the view it has: not a speck in the middle.
    width = boxes["county"][2] - boxes["county"][0]
    height = boxes["county"][3] - boxes["county"][1]
    assert width > 0.4 * (boxes["map"][2] - boxes["map"][0]) or (
        height > 0.6 * (boxes["map"][3] - boxes["map"][1]))
    assert watch.errors == []
    page.context.close()


def test_small_screen_starts_collapsed(browser, pack):
    page, watch = _new_page(browser, width=390, height=844)
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    boxes = page.evaluate(_BOXES)
    assert not boxes["legendBody"] and not boxes["layerList"]
    assert page.locator(".map-legend.is-collapsed").count() == 1
    assert page.locator(".leaflet-control-layers.is-collapsed").count() == 1
    assert _inside(boxes["county"], boxes["map"])
    # Collapsed, the controls are small; a tap opens each, another closes it.
    assert boxes["legend"][2] - boxes["legend"][0] < 120
    page.locator(".map-legend .map-toggle").click()
    assert page.evaluate(_BOXES)["legendBody"]
    page.locator(".leaflet-control-layers .map-toggle").click()
    assert page.evaluate(_BOXES)["layerList"]
    page.locator(".map-legend .map-toggle").click()
    assert not page.evaluate(_BOXES)["legendBody"]
    page.screenshot(path=str(ARTEFACTS / "map_phone.png"))
    assert watch.errors == []
    page.context.close()


def test_print_fits_the_whole_county(browser, pack):
    ARTEFACTS.mkdir(exist_ok=True)
    page, watch = _new_page(browser, width=1280, height=860)
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    # An A4 landscape page at 96 dpi less 8 mm margins; then print media.
    _then_settle(page, lambda: page.set_viewport_size({"width": 1062, "height": 733}))
    _then_settle(page, lambda: page.emulate_media(media="print"))
    boxes = page.evaluate(_BOXES)
    assert _inside(boxes["county"], boxes["map"])
    assert not boxes["zoom"] and not boxes["layerList"]     # no buttons on paper
    assert boxes["legendBody"]                              # the key is printed
    assert _clashes(boxes) == []
    page.screenshot(path=str(ARTEFACTS / "map_print.png"))
    pdf = page.pdf(format="A4", landscape=True)
    assert pdf[:4] == b"%PDF"
    assert watch.errors == []
    page.context.close()


def test_background_map_online_and_offline(browser, pack):
    """Online: OpenStreetMap tiles, attributed; offline: none asked for, and the map still
    has its neighbours, towns and attribution of the shipped data."""
    page, watch = _new_page(browser)
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    page.wait_for_function("document.querySelectorAll('.osm-tiles img').length > 0",
                           timeout=10000)
    assert watch.tiles and all(u.startswith(TILES) for u in watch.tiles)
    credits = page.locator(".leaflet-control-attribution").inner_text()
    assert "OpenStreetMap" in credits and "GeoNames" in credits
    assert "Background map (OpenStreetMap, online)" in page.locator(
        ".leaflet-control-layers").inner_text()
    page.context.close()

    page, watch = _new_page(browser, offline=True)
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    assert page.locator(".osm-tiles").count() == 0
    assert "OpenStreetMap" not in page.locator(".leaflet-control-layers").inner_text()
    assert "GeoNames" in page.locator(".leaflet-control-attribution").inner_text()
    assert page.locator(".place-label").count() > 0
    assert watch.blocked == [] and watch.errors == []
    page.context.close()

    # Online but the tile server unreachable (a council firewall): the tiles go quietly.
    page, watch = _new_page(browser, tiles_fail=True)
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    page.wait_for_function("document.querySelectorAll('.osm-tiles').length === 0",
                           timeout=10000)
    assert watch.tiles
    assert "OpenStreetMap" not in page.locator(".leaflet-control-layers").inner_text()
    assert page.locator("path.area-need").count() == N_AREAS
    page.context.close()


def test_compact_tooltip_and_detail_popup(browser, pack):
    page, watch = _new_page(browser)
    page.goto((pack / "map.html").as_uri())
    _wait_for_map(page)
    area = page.locator("path.area-need").nth(6)
    area.dispatch_event("mouseover")
    tip = page.locator(".leaflet-tooltip")
    tip.wait_for(timeout=5000)
    rows = tip.locator("tr").all_inner_texts()
    assert [r.split("\t")[0].strip() for r in rows] == [
        "Area", "Need (1 = council average)", "Nearest open centre",
        "Its children served / capacity"]
    area.dispatch_event("click")
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for(timeout=5000)
    assert "Locality children in need" in popup.inner_text()
    assert watch.errors == []
    page.context.close()


# ------------------------------------------------------------------------------------------
# A multi-year plan: the year control
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def years_pack(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("browser_years")
    solved = make_solved_years(root)
    build_pack(solved, root / "pack", self_contained=True)
    return root / "pack"


#: Per visible site marker: its classes and its tooltip's rows (label -> text).
_SITE_TIPS = """async () => {
  const out = [];
  for (const el of document.querySelectorAll('.site-marker.year-site')) {
    el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
    const tips = document.querySelectorAll('.leaflet-tooltip');
    const rows = {};
    tips[tips.length - 1].querySelectorAll('tr').forEach(tr => {
      rows[tr.children[0].innerText.trim()] = tr.children[1].innerText.trim(); });
    el.dispatchEvent(new MouseEvent('mouseout', {bubbles: true}));
    out.push({cls: el.className, rows: rows});
  }
  return out;
}"""

#: The locality labels' year lines that are shown (data-year, text).
_WORKER_LINES = """() => [...document.querySelectorAll('.locality-label [data-year]')]
  .filter(e => getComputedStyle(e).display !== 'none')
  .map(e => [e.getAttribute('data-year'), e.closest('.locality-label').innerText])"""


#: The state a site's words name (its marker's class is ``site-year-<state>``).
_STATE_OF = {"Opens in": "opens", "Closes in": "closes", "Open (open today)": "open",
             "Open (opened in": "opened", "Closed (closed in": "closed"}


def _schedule_words(solved: Path) -> dict[int, dict[str, str]]:
    """Per year, each site drawn (by name) and its state in words, from schedule.csv."""
    from test_map_years import expected_states

    schedule = pd.read_csv(solved / "schedule.csv")
    years = pd.read_csv(solved / "years.csv")["year"].tolist()
    names = dict(zip(schedule["site_id"].astype(str), schedule["name"], strict=True))
    return {y: {names[s]: w for s, w in got.items()}
            for y, got in expected_states(schedule, years).items()}


def test_multi_year_map_switches_years(browser, years_pack):
    """Each year chosen shows that year's sites with their state (against schedule.csv), the
    year's outreach workers (against localities_years.csv), and says the year in the title,
    the legend and every tooltip."""
    ARTEFACTS.mkdir(exist_ok=True)
    solved = years_pack.parent / "years_solved"
    expected = _schedule_words(solved)
    by_loc = pd.read_csv(solved / "localities_years.csv")
    page, watch = _new_page(browser)
    page.goto((years_pack / "map.html").as_uri())
    _wait_for_map(page)
    years = sorted(expected)
    assert page.locator('input[name="plan-year"]:checked').get_attribute("value") == \
        str(years[-1])
    for year in reversed(years):
        radio = page.locator(f'input[name="plan-year"][value="{year}"]')
        if not radio.is_checked():
            _then_settle(page, radio.check)
        tips = page.evaluate(_SITE_TIPS)
        shown = {t["rows"]["Site"]: t["rows"]["In the plan"] for t in tips}
        assert shown == expected[year], year
        assert all(t["rows"]["Year"] == str(year) for t in tips)
        for t in tips:  # the symbol is the state's
            words = t["rows"]["In the plan"]
            state = next(s for w, s in _STATE_OF.items() if words.startswith(w))
            assert f"site-year-{state} " in t["cls"] + " ", (words, t["cls"])
        title = page.locator(".map-title").inner_text()
        assert f"{year}: " in title and all(f"{y}: " not in title for y in years if y != year)
        legend = page.locator(".map-legend").inner_text()
        assert f"Sites in {year}" in legend
        assert all(f"Sites in {y}" not in legend for y in years if y != year)
        # outreach workers that year: the circles and the locality names' second line
        mine = by_loc[(by_loc["year"] == year) & (by_loc["outreach_workers"] > 0)]
        assert page.locator("path.outreach-marker").count() == len(mine)
        lines = page.evaluate(_WORKER_LINES)
        assert sorted(line for _y, line in lines) == sorted(
            f"{loc}\n{n} outreach worker{'s' if n != 1 else ''}"
            for loc, n in zip(mine["locality"], mine["outreach_workers"], strict=True))
        assert {y for y, _line in lines} <= {str(year)}
        boxes = page.evaluate(_BOXES)
        assert _clashes(boxes) == [], year
        page.screenshot(path=str(ARTEFACTS / f"map_year_{year}.png"))
    # the localities shaded by their share served: the tooltip says the year and the share
    page.get_by_text("Localities: share of need served in the year chosen").click()
    page.wait_for_function("document.querySelectorAll('path.locality-year').length > 0")
    first = by_loc.iloc[0]
    page.locator("path.locality-year").first.dispatch_event("mouseover")
    tip = page.locator(".leaflet-tooltip.locality-tooltip")
    tip.wait_for(timeout=5000)
    assert f"{first['locality']} in {years[0]}" in tip.inner_text()
    assert f"Share of need served: {100 * first['reach_share']:.1f}%" in tip.inner_text()
    assert f"Share of need served in {years[0]}" in page.locator(".map-legend").inner_text()
    # the hostile locality's name (the third locality) shows as text
    page.locator("path.locality-year").first.dispatch_event("mouseout")
    page.locator("path.locality-year").nth(2).dispatch_event("mouseover")
    page.wait_for_function(
        "[...document.querySelectorAll('.locality-tooltip')].some("
        "t => t.innerText.includes('alert(2)'))", timeout=5000)
    texts = page.locator(".leaflet-tooltip.locality-tooltip").all_inner_texts()
    assert any(f"{HOSTILE_LOCALITY} in {years[0]}" in t for t in texts)
    page.locator("path.locality-year").nth(2).dispatch_event("mouseout")
    _change_layer_follows_the_year(page, solved, years)
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()


#: One area polygon of the change layer hovered: its tooltip's rows, then its fill after the
#: pointer leaves (the highlight resets to the year's style).
_AREA_TIP = """k => {
  const el = document.querySelectorAll('path.area-change')[k];
  el.dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
  const tips = document.querySelectorAll('.leaflet-tooltip.area-tooltip');
  const rows = {};
  tips[tips.length - 1].querySelectorAll('tr').forEach(tr => {
    rows[tr.children[0].innerText.trim()] = tr.children[1].innerText.trim(); });
  el.dispatchEvent(new MouseEvent('mouseout', {bubbles: true}));
  return {rows: rows, fill: el.getAttribute('fill')};
}"""

_CHANGE_WORDS = {"same": "No change", "to_outreach": "Centre replaced by outreach",
                 "gains": "Gains access", "loses": "Loses access"}


def _change_layer_follows_the_year(page, solved: Path, years: list[int]) -> None:
    """The change layer, year by year: each area's colour and tooltip from areas_years.csv
    (an area whose centre outreach replaces in 2026 has no change by 2028), the legend's
    year."""
    from test_map_years import expected_change_classes

    from optimiser.report.map import CHANGE_COLOURS

    rows = pd.read_csv(solved / "areas_years.csv", dtype={"area_id": str})
    order = pd.read_csv(solved / "areas.csv", dtype={"area_id": str})["area_id"].tolist()
    classes = {y: expected_change_classes(rows[rows["year"] == y].set_index("area_id")
                                          .loc[order]) for y in years}
    moving = next(k for k in range(len(order))
                  if len({classes[y][k] for y in years}) > 1)
    assert classes[years[0]][moving] == "to_outreach" and classes[years[-1]][moving] == "same"
    page.get_by_text("Areas: change against today's network").click()
    page.wait_for_function("document.querySelectorAll('path.area-change').length > 0")
    for year in years:
        radio = page.locator(f'input[name="plan-year"][value="{year}"]')
        if not radio.is_checked():
            _then_settle(page, radio.check)
        fills = page.evaluate("[...document.querySelectorAll('path.area-change')]"
                              ".map(p => p.getAttribute('fill'))")
        assert fills == [CHANGE_COLOURS[c] for c in classes[year]], year
        tip = page.evaluate(_AREA_TIP, moving)
        assert tip["rows"]["Against today"] == \
            f"{_CHANGE_WORDS[classes[year][moving]]} in {year}"
        assert tip["fill"] == CHANGE_COLOURS[classes[year][moving]]
        legend = page.locator(".map-legend").inner_text()
        assert f"Against today in {year}" in legend
        assert all(f"Against today in {y}" not in legend for y in years if y != year)
    # the reach layer too: each area's colour is what reaches it in the year chosen
    from optimiser.report.map import REACH_COLOURS

    page.get_by_text("Areas: reached by a centre or outreach").click()
    page.wait_for_function("document.querySelectorAll('path.area-reach').length > 0")
    for year in reversed(years):
        radio = page.locator(f'input[name="plan-year"][value="{year}"]')
        if not radio.is_checked():
            _then_settle(page, radio.check)
        by = rows[rows["year"] == year].set_index("area_id").loc[order, "reached_by"]
        fills = page.evaluate("[...document.querySelectorAll('path.area-reach')]"
                              ".map(p => p.getAttribute('fill'))")
        assert fills == [REACH_COLOURS[b] for b in by], year


def test_multi_year_map_on_a_phone(browser, years_pack):
    """At 390 px wide the title box, taller with the year control, keeps clear of the layer
    button, and a year can still be chosen."""
    page, watch = _new_page(browser, width=390, height=844)
    page.goto((years_pack / "map.html").as_uri())
    _wait_for_map(page)
    boxes = page.evaluate(_BOXES)
    title = page.locator(".map-title").bounding_box()
    title = [title["x"], title["y"], title["x"] + title["width"], title["y"] + title["height"]]
    assert not _overlap(title, boxes["layers"], slack=0)
    assert _inside(boxes["county"], boxes["map"])
    _then_settle(page, page.locator('input[name="plan-year"]').first.check)
    assert page.evaluate("window.optimiserYears.year") == \
        page.locator('input[name="plan-year"]').first.get_attribute("value")
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()
