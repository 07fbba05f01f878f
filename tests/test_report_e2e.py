"""End to end on real data: prepare Oxfordshire -> solve max_reach at £10m -> report.

Checks the whole pack against the stages before it (areas, sites, localities, children), that
no published CIN/CPP cell is from 1 to the threshold, and the map in headless Chromium. The
report's time is printed (run with -s), not asserted; scripts/benchmark_report.py records it.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
import yaml
from test_browser import (
    _BOXES,
    ARTEFACTS,
    _clashes,
    _inside,
    _new_page,
    _overlap,
    _settle,
    _then_settle,
)
from test_browser import browser as browser  # the module-scoped Chromium fixture

from optimiser.report import build_pack

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def oxfordshire_pack(prepared, tmp_path_factory) -> tuple[Path, Path, Path]:
    from optimiser.solve import run_solve

    instance = prepared("Oxfordshire")
    root = tmp_path_factory.mktemp("oxon_pack")
    scenario = yaml.safe_load((REPO / "scenarios" / "oxfordshire" / "base.yaml").read_text())
    scenario["instance"] = str(instance)
    assert scenario["budget"] == 10_000_000 and scenario["objective"] == "max_reach"
    (root / "base.yaml").write_text(yaml.safe_dump(scenario))
    run_solve(root / "base.yaml", root / "solved")
    t0 = time.perf_counter()
    summary = build_pack(root / "solved", root / "pack")
    print(f"\noptimiser report on the Oxfordshire £10m solution: "
          f"{time.perf_counter() - t0:.2f} s\n{summary}")
    return instance, root / "solved", root / "pack"


@pytest.mark.slow
def test_oxfordshire_pack_matches_the_solution(oxfordshire_pack):
    instance, solved, pack = oxfordshire_pack
    meta = json.loads((pack / "pack.json").read_text())
    for f in meta["files"]:
        assert (pack / f).is_file(), f
    areas = pd.read_csv(instance / "areas.csv")
    sites = pd.read_csv(solved / "sites.csv")
    assert meta["area_polygons"] == len(areas) == 407
    assert meta["areas_drawn_as_circles"] is False
    assert meta["site_markers"] == int(sites["decision"].isin(["keep", "close", "open_new"]).sum())
    assert meta["modelled_cases"] is True

    loc = pd.read_csv(pack / "localities.csv", dtype={"cin": str, "cpp": str})
    solved_locs = pd.read_csv(solved / "localities.csv")
    assert sorted(loc["locality"].iloc[:-1]) == sorted(solved_locs["locality"])
    assert loc["locality"].iloc[-1] == "Council total"
    # neediest first, each with the district(s) its areas lie in (Oxfordshire's five)
    assert loc["need_rank"].iloc[:-1].tolist() == sorted(loc["need_rank"].iloc[:-1])
    districts = {"Cherwell", "Oxford", "South Oxfordshire", "Vale of White Horse",
                 "West Oxfordshire"}
    for named in loc["district"].iloc[:-1]:
        assert set(named.split(" and ")) <= districts, named
    total = loc.iloc[-1]
    # the pack's children add up to the instance's, and its reach is the solution's
    assert total["children_0_4"] == round(areas["pop_0_4"].sum())
    assert total["children_0_19"] == round(areas["pop_0_19"].sum())
    solution = json.loads((solved / "solution.json").read_text())
    assert total["reach_share"] == pytest.approx(solution["totals"]["reach_share"], abs=1e-4)
    assert total["sites"] == len(solution["open_sites"])
    assert total["outreach_workers"] == sum(solution["outreach"].values())
    for col in ("cin", "cpp"):
        for v in loc[col]:
            assert v == "c" or not (1 <= float(v) <= 5)
    wb = openpyxl.load_workbook(pack / "consultation_tables.xlsx")
    assert wb.sheetnames == ["Localities", "Areas changing", "Sites", "Notes"]
    assert wb["Localities"].max_row == len(loc) + 1
    changing = pd.read_csv(pack / "areas_changing.csv")
    solved_areas = pd.read_csv(solved / "areas.csv")
    index = " ".join((pack / "index.html").read_text().split())
    if (sites["status"] == "existing").any():
        assert len(changing) == int(solved_areas["change"].isin(["gains", "loses"]).sum())
    else:  # the mirror has no list of today's centres: the pack says so, lists no "gains"
        assert len(changing) == 0
        assert "Today&#39;s network is not known" in index
    codes = [r[1].value for r in wb["Areas changing"].iter_rows(min_row=2) if r[1].value]
    assert codes == changing["area_id"].tolist()
    size = (pack / "map.html").stat().st_size
    assert size < 5_000_000, f"map.html is {size / 1e6:.1f} MB"
    assert "(modelled)" in index and "Oxfordshire" in index


@pytest.mark.slow
@pytest.mark.browser
def test_oxfordshire_map_in_chromium(oxfordshire_pack, browser):
    _instance, _solved, pack = oxfordshire_pack
    meta = json.loads((pack / "pack.json").read_text())
    page, watch = _new_page(browser, offline=True)
    page.goto((pack / "map.html").as_uri())
    page.wait_for_function("document.querySelectorAll('path.area-need').length >= 407",
                           timeout=30000)
    assert page.locator("path.area-need").count() == meta["area_polygons"]
    assert page.locator(".site-marker").count() == meta["site_markers"]
    assert page.locator(".locality-label").count() == meta["localities"]
    _settle(page)
    # A real county: many towns and villages, and no two visible labels overlap; the county
    # is in view, clear of the legend; its neighbours are named.
    boxes = page.evaluate(_BOXES)
    assert len(boxes["labels"]) > meta["localities"] + 20, len(boxes["labels"])
    assert _clashes(boxes) == []
    assert _inside(boxes["county"], boxes["map"])
    assert not _overlap(boxes["county"], boxes["legend"], slack=0)
    names = " ".join(t for t, _ in boxes["labels"])
    assert "Banbury" in names and "Swindon" in names          # a town, and a neighbour's
    ARTEFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTEFACTS / "oxfordshire_map.png"))
    # In print: the whole county on an A4 landscape page, no zoom buttons.
    _then_settle(page, lambda: page.set_viewport_size({"width": 1062, "height": 733}))
    _then_settle(page, lambda: page.emulate_media(media="print"))
    boxes = page.evaluate(_BOXES)
    assert _inside(boxes["county"], boxes["map"]) and not boxes["zoom"]
    assert _clashes(boxes) == []
    page.screenshot(path=str(ARTEFACTS / "oxfordshire_map_print.png"))
    assert watch.errors == [] and watch.dialogs == [] and watch.blocked == []
    page.context.close()

    page, watch = _new_page(browser, offline=True, width=390, height=844)
    page.goto((pack / "map.html").as_uri())
    page.wait_for_function("document.querySelectorAll('path.area-need').length >= 407",
                           timeout=30000)
    _settle(page)
    boxes = page.evaluate(_BOXES)
    assert not boxes["legendBody"] and not boxes["layerList"]
    assert _inside(boxes["county"], boxes["map"]) and _clashes(boxes) == []
    page.screenshot(path=str(ARTEFACTS / "oxfordshire_map_phone.png"))
    assert watch.errors == [] and watch.dialogs == []
    page.context.close()
