"""The consultation pack from a hand-made solved folder: files, tables, XLSX, disclosure,
escaping, determinism, and the fallbacks (no boundaries, no allocation, no sweep)."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from report_fixtures import HOSTILE, HOSTILE_AREA, HOSTILE_LOCALITY, HOSTILE_SITE, make_solved
from typer.testing import CliRunner

from optimiser.cli import app
from optimiser.errors import InputError
from optimiser.report import build_pack
from optimiser.report.offline import external_references
from optimiser.report.xlsx import SHEETS

PUBLISHED_TEXT = ["index.html", "map.html", "localities.html", "localities.csv",
                  "areas_changing.csv", "sites.csv", "equality_by_imd_decile.csv"]


@pytest.fixture(scope="module")
def hostile_pack(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("hostile")
    solved = make_solved(root, hostile=True, allocation=True, sweep=True)
    build_pack(solved, root / "pack")
    return root / "pack"


@pytest.fixture(scope="module")
def plain_pack(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("plain")
    solved = make_solved(root)
    build_pack(solved, root / "pack", threshold=10, self_contained=False)
    return root / "pack"


def _cin_cpp_cells(pack: Path) -> list[str]:
    cells = []
    loc = pd.read_csv(pack / "localities.csv", dtype=str, keep_default_na=False)
    cells += loc["cin"].tolist() + loc["cpp"].tolist()
    return cells


def test_pack_has_every_file(hostile_pack):
    meta = json.loads((hostile_pack / "pack.json").read_text())
    for f in meta["files"]:
        assert (hostile_pack / f).is_file(), f
    assert {"index.html", "map.html", "consultation_tables.xlsx", "localities.csv",
            "charts/reach_by_imd_decile.svg", "charts/reach_by_budget.svg"} <= set(meta["files"])
    assert meta["area_polygons"] == 12 and meta["site_markers"] == 4
    assert meta["areas_drawn_as_circles"] is False
    internal = hostile_pack.parent / "pack-internal"
    assert "NOT FOR PUBLICATION" in (internal / "README.txt").read_text()


def test_locality_table_figures(hostile_pack):
    loc = pd.read_csv(hostile_pack / "localities.csv", dtype={"cin": str, "cpp": str})
    # neediest first (need index South 1.55, North 1.11, West 1.00), the total last
    assert loc["locality"].tolist() == ["South", "North", HOSTILE_LOCALITY, "Council total"]
    assert loc["need_rank"].tolist()[:3] == [1, 2, 3]
    assert loc["district"].tolist()[:3] == ["Oxford", "Oxford", "Vale of White Horse"]
    south = loc.iloc[0]
    # from the fixture: South has 4 areas with 0-4s 120+118+105+150, CIN 8+12+3+11, CPP 4+5+0+6
    assert south["children_0_4"] == 493 and south["children_0_19"] == 1950
    assert south["cin"] == "34" and south["cpp"] == "15"
    assert south["share_decile_1"] == pytest.approx(0.75)
    assert south["need_rank"] == 1 and south["sites"] == 1
    total = loc.iloc[3]
    assert total["children_0_4"] == 1336 and total["cin"] == "68" and total["cpp"] == "25"
    assert total["sites"] == 3 and total["outreach_workers"] == 2
    # funding from allocation.csv sums to the pot
    assert total["funding"] == 300_000
    assert loc["funding"].iloc[:3].sum() == 300_000
    assert set(loc["cases_source"]) == {"modelled"}


def test_no_published_cin_or_cpp_from_1_to_threshold(hostile_pack, plain_pack):
    for pack, threshold in ((hostile_pack, 5), (plain_pack, 10)):
        cells = _cin_cpp_cells(pack)
        assert "c" in cells
        for v in cells:
            if v != "c":
                assert not (1 <= float(v) <= threshold), (pack, v)
        wb = openpyxl.load_workbook(pack / "consultation_tables.xlsx")
        ws = wb["Localities"]
        header = [c.value for c in ws[1]]
        for col in (i for i, h in enumerate(header) if "Children in need" in h
                    or "protection plans" in h):
            for row in ws.iter_rows(min_row=2):
                v = row[col].value
                assert v == "c" or not (1 <= float(v) <= threshold)
        # the map's tooltips carry the same published figures
        html = (pack / "map.html").read_text()
        for m in re.finditer(r'"loc_c(?:in|pp)": "([^"]*)"', html):
            v = m.group(1)
            assert v == "c" or not (1 <= float(v.replace(",", "")) <= threshold)


def test_secondary_suppression_in_the_pack(hostile_pack):
    loc = pd.read_csv(hostile_pack / "localities.csv", dtype=str)
    # West (hostile name) has CIN 4 -> c; North's 30 is the smallest other non-zero -> c too,
    # so 68 - 34 leaves two unknowns.
    assert loc["cin"].tolist() == ["34", "c", "c", "68"]
    assert loc["cpp"].tolist() == ["15", "c", "c", "25"]
    internal = pd.read_csv(hostile_pack.parent / "pack-internal"
                           / "localities_NOT_FOR_PUBLICATION.csv")
    assert internal["cin"].tolist() == [34, 30, 4, 68]


def test_threshold_ten_suppresses_more(plain_pack):
    loc = pd.read_csv(plain_pack / "localities.csv", dtype=str)
    # CPP: South 15, North 9, West 1 -> 9 and 1 are 1..10
    assert loc["cpp"].tolist() == ["15", "c", "c", "25"]


def test_xlsx_reads_back_with_the_readme_sheets(hostile_pack):
    wb = openpyxl.load_workbook(hostile_pack / "consultation_tables.xlsx")
    assert wb.sheetnames == list(SHEETS) == ["Localities", "Areas changing", "Sites", "Notes"]
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    for name in SHEETS:
        assert f'"{name}"' in readme or f"`{name}`" in readme, name
    ws = wb["Localities"]
    assert ws.freeze_panes == "B2"
    assert ws["A1"].font.bold and ws["A1"].fill.fgColor.rgb.endswith("1F4E79")
    header = [c.value for c in ws[1]]
    assert header[0] == "Locality"
    assert "Children in need (modelled)" in header
    fmt = {h: ws.cell(row=3, column=i + 1).number_format for i, h in enumerate(header)}
    assert fmt["Children 0-19"] == "#,##0"
    assert fmt["Share of need reached"] == "0.0%"
    assert fmt["Funding allocated"].startswith("£")
    assert ws.column_dimensions["A"].width >= 10
    assert ws.cell(row=5, column=1).value == "Council total" and ws.cell(row=5, column=1).font.b
    notes = " ".join(str(c.value) for row in wb["Notes"].iter_rows() for c in row)
    assert ("Contains public sector information licensed under the Open Government Licence "
            "v3.0") in notes
    assert "Contains OS data © Crown copyright and database right" in notes
    assert "MODELLED" in notes and "imd2019/imd2019_lsoa_compact.csv" in notes
    changing = wb["Areas changing"]
    assert changing.max_row - 1 == 5  # 2 gain, 3 lose in the fixture
    sites = wb["Sites"]
    assert sites.max_row - 1 == 5


def test_hostile_names_are_escaped_everywhere(hostile_pack):
    for name in PUBLISHED_TEXT[:3]:
        text = (hostile_pack / name).read_text()
        for raw in HOSTILE:
            assert raw not in text, (name, raw)
        assert "<script>alert" not in text
        assert "<img src=x" not in text
    index = (hostile_pack / "index.html").read_text()
    assert "&#34;; alert(2); //" in index  # the locality heading, as text
    map_html = (hostile_pack / "map.html").read_text()
    # inside the map's scripts names are HTML-escaped and then JSON-escaped
    assert "\\u0026lt;script\\u0026gt;alert(1)" in map_html
    assert "\\u0026#96;\\u0026#36;{alert(3)}" in map_html
    # XLSX keeps the names exactly, as text (never as formulas)
    wb = openpyxl.load_workbook(hostile_pack / "consultation_tables.xlsx")
    values = [c for ws in wb for row in ws.iter_rows() for c in row]
    texts = {c.value for c in values}
    assert HOSTILE_LOCALITY in texts and HOSTILE_SITE in texts
    assert all(c.data_type != "f" for c in values)


def test_area_names_escaped_in_changing_table_and_formula_injection(tmp_path):
    solved = make_solved(tmp_path, hostile=True)
    areas = pd.read_csv(solved / "areas.csv")
    areas.loc[areas["area_id"] == "E01028516", "name"] = HOSTILE_AREA  # an area that gains
    sites = pd.read_csv(solved / "sites.csv")
    sites.loc[sites["site_id"] == "S1", "name"] = '=HYPERLINK("http://example.invalid","x")'
    areas.to_csv(solved / "areas.csv", index=False)
    sites.to_csv(solved / "sites.csv", index=False)
    build_pack(solved, tmp_path / "pack")
    index = (tmp_path / "pack" / "index.html").read_text()
    assert HOSTILE_AREA not in index
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in index
    wb = openpyxl.load_workbook(tmp_path / "pack" / "consultation_tables.xlsx")
    cells = [c for row in wb["Sites"].iter_rows() for c in row]
    hyper = [c for c in cells if str(c.value).startswith("=HYPERLINK")]
    assert hyper and all(c.data_type == "s" for c in hyper)
    csv = (tmp_path / "pack" / "sites.csv").read_text()
    assert "'=HYPERLINK" in csv  # a spreadsheet opening the CSV shows it as text


def test_index_html_content(hostile_pack):
    index = " ".join((hostile_pack / "index.html").read_text().split())
    for heading in ("The option in plain English", "How this was worked out",
                    "What changes in my area", "Equality impact by deprivation", "Localities"):
        assert heading in index
    assert 'src="map.html"' in index
    assert "charts/reach_by_imd_decile.svg" in index and "charts/reach_by_budget.svg" in index
    assert "modelled estimates" in index and "(modelled)" in index
    # the option in plain words, with numbers from the solution
    assert ("keeps 2 of today&#39;s 3 centres, closes 1 and opens 1 new centre, 3 open in all "
            "(2 hubs and 1 spoke), with 2 outreach workers across 3 localities") in index
    # every area gaining or losing is listed, grouped by locality
    for area in ("E01028523", "E01028516", "E01028517", "E01028522", "E01028521"):
        assert area in index
    # localities neediest first (South, North, West), as in the locality table
    assert index.index("E01028517") < index.index("E01028523") < index.index("E01028522")
    assert external_references(index) == []


def test_plain_pack_cdn_mode_and_no_funding(plain_pack):
    map_html = (plain_pack / "map.html").read_text()
    refs = external_references(map_html)
    assert any("leaflet" in r for r in refs)  # --cdn links the CDN copies
    loc = pd.read_csv(plain_pack / "localities.csv")
    assert loc["funding"].isna().all()
    index = " ".join((plain_pack / "index.html").read_text().split())
    assert "Funding allocated is n/a" in index
    assert "No budget sweep was run" in index
    wb = openpyxl.load_workbook(plain_pack / "consultation_tables.xlsx")
    ws = wb["Localities"]
    header = [c.value for c in ws[1]]
    col = header.index("Funding allocated") + 1
    assert {ws.cell(row=r, column=col).value for r in range(2, 6)} == {"n/a"}


def test_self_contained_map_has_no_external_references(hostile_pack):
    html = (hostile_pack / "map.html").read_text()
    assert external_references(html) == []
    assert "<script src" not in html and 'rel="stylesheet"' not in html
    assert len(html) < 5_000_000


def test_pack_is_deterministic(tmp_path):
    solved = make_solved(tmp_path, allocation=True, sweep=True)
    build_pack(solved, tmp_path / "a")
    build_pack(solved, tmp_path / "b")
    files = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")
                   if p.is_file())
    assert len(files) >= 10
    for f in files:
        if f.name == "pack.json":
            continue
        assert (tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes(), f


def test_areas_without_boundaries_are_drawn_as_circles(tmp_path):
    solved = make_solved(tmp_path, lsoa=False)
    summary = build_pack(solved, tmp_path / "pack")
    assert "12 areas" in summary
    meta = json.loads((tmp_path / "pack" / "pack.json").read_text())
    assert meta["areas_drawn_as_circles"] is True
    html = (tmp_path / "pack" / "map.html").read_text()
    assert "drawn as circles" in html
    assert html.count('"area-polygon area-need"') >= 1


def test_council_counts_are_not_flagged_modelled(tmp_path):
    solved = make_solved(tmp_path, modelled=False)
    build_pack(solved, tmp_path / "pack")
    index = " ".join((tmp_path / "pack" / "index.html").read_text().split())
    assert "(modelled)" not in index
    assert "council&#39;s own counts" in index


def test_bad_inputs_are_clear_errors(tmp_path):
    with pytest.raises(InputError, match="solved folder does not exist"):
        build_pack(tmp_path / "nowhere", tmp_path / "pack")
    solved = make_solved(tmp_path)
    areas = pd.read_csv(solved / "areas.csv").drop(columns=["reached_by"])
    areas.to_csv(solved / "areas.csv", index=False)
    with pytest.raises(InputError, match="reached_by") as err:
        build_pack(solved, tmp_path / "pack")
    assert "areas.csv" in str(err.value)
    assert not (tmp_path / "pack").exists()  # no partial output
    with pytest.raises(InputError, match="threshold"):
        build_pack(solved, tmp_path / "pack", threshold=-1)
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match=r"neither solution.json \(written by 'optimiser "
                                         r"solve'\) nor compare.csv"):
        build_pack(tmp_path / "empty", tmp_path / "pack")


def test_cli_report(tmp_path):
    solved = make_solved(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(solved), "--out", str(tmp_path / "pack"),
                              "--threshold", "10"])
    assert res.exit_code == 0, res.output
    assert "pack written" in res.output
    assert json.loads((tmp_path / "pack" / "pack.json").read_text())["threshold"] == 10
    shutil.rmtree(solved)
    res = runner.invoke(app, ["report", str(solved), "--out", str(tmp_path / "pack2")])
    assert res.exit_code == 2
    assert "solved folder does not exist" in res.output


def test_cli_suppress_names_more_counts_of_children(tmp_path):
    solved = make_solved(tmp_path)
    runner = CliRunner()
    res = runner.invoke(app, ["report", str(solved), "--out", str(tmp_path / "pack"),
                              "--threshold", "100", "--suppress", "cin,cpp,children_0_4"])
    assert res.exit_code == 0, res.output
    loc = pd.read_csv(tmp_path / "pack" / "localities.csv", dtype=str)
    # West has 88 children aged 0-4 (1..100): hidden, with a partner so 1,336 gives nothing away
    assert loc["children_0_4"].tolist() == ["c", "755", "c", "1336"]
    assert loc["children_0_19"].tolist() == ["1950", "3040", "350", "5340"]
    res = runner.invoke(app, ["report", str(solved), "--out", str(tmp_path / "pack2"),
                              "--suppress", "cin,postcodes"])
    assert res.exit_code == 2
    assert "cannot suppress unknown column 'postcodes'" in res.output
    with pytest.raises(InputError, match="counts of children: children_0_4, children_0_19, cin"):
        build_pack(solved, tmp_path / "pack3", suppress=("need_index",))


def test_unknown_network_says_so_instead_of_listing_gains(tmp_path):
    solved = make_solved(tmp_path)
    sites = pd.read_csv(solved / "sites.csv")
    sites["status"] = "candidate"
    sites["decision"] = sites["decision"].replace({"keep": "open_new", "close": "not_opened"})
    sites.to_csv(solved / "sites.csv", index=False)
    build_pack(solved, tmp_path / "pack")
    index = " ".join((tmp_path / "pack" / "index.html").read_text().split())
    assert "Today&#39;s network is not known" in index
    assert "gain access" not in index and "Loses access" not in index
    assert "every centre is new: this option opens 3 centres (2 hubs and 1 spoke)" in index
    assert len(pd.read_csv(tmp_path / "pack" / "areas_changing.csv")) == 0
    wb = openpyxl.load_workbook(tmp_path / "pack" / "consultation_tables.xlsx")
    assert wb["Areas changing"]["A2"].value.startswith("Today's network is not known")
    eq = pd.read_csv(tmp_path / "pack" / "equality_by_imd_decile.csv")
    assert eq["share_before"].isna().all() and eq["share_after"].notna().all()
    html = (tmp_path / "pack" / "map.html").read_text()
    assert "area-change" not in html


def test_a_sweep_or_comparison_of_another_instance_beside_the_folder_is_refused(tmp_path):
    """Another council's sweep (or comparison) left in the parent folder was quoted as this
    plan's: now one clear error names it; the same instance's sweep is used."""
    solved = make_solved(tmp_path)
    (tmp_path / "sweep").mkdir()
    pd.DataFrame({"budget": [1e6, 2e6], "reach_share": [0.5, 0.9]}).to_csv(
        tmp_path / "sweep" / "sweep.csv", index=False)
    other = tmp_path / "birmingham" / "instance"
    meta = {"scenario": "birmingham", "instance": str(other)}
    (tmp_path / "sweep" / "sweep.json").write_text(json.dumps(meta))
    with pytest.raises(InputError) as err:
        build_pack(solved, tmp_path / "pack")
    assert str(err.value) == (
        f"{tmp_path / 'sweep' / 'sweep.csv'}: sweep.csv beside the solved folder was made for "
        f"another instance ({other}), not this plan's ({(tmp_path / 'instance').resolve()})\n"
        f"  hint: move it away from {tmp_path}, or run 'optimiser sweep' again for this "
        "instance")
    assert not (tmp_path / "pack").exists()
    meta["instance"] = str(tmp_path / "instance")
    (tmp_path / "sweep" / "sweep.json").write_text(json.dumps(meta))
    (tmp_path / "options" / "a").mkdir(parents=True)
    pd.DataFrame({"option": ["a"], "reach_share": [0.9], "sites": [3]}).to_csv(
        tmp_path / "options" / "compare.csv", index=False)
    (tmp_path / "options" / "a" / "solution.json").write_text(json.dumps(meta | {
        "instance": str(other)}))
    with pytest.raises(InputError, match=r"compare\.csv beside the solved folder was made for "
                                         "another instance"):
        build_pack(solved, tmp_path / "pack")
    shutil.rmtree(tmp_path / "options")
    build_pack(solved, tmp_path / "pack")
    assert (tmp_path / "pack" / "charts" / "reach_by_budget.svg").is_file()


def test_options_compared_and_sweep_found_beside_the_solved_folder(tmp_path):
    solved = make_solved(tmp_path)
    (tmp_path / "sweep").mkdir()
    pd.DataFrame({"budget": [1e6, 1.5e6, 2e6], "reach_share": [0.5, 0.9, 0.95],
                  "reach_share_deciles_1_2": [0.6, 0.95, 1.0], "sites": [2, 3, 4],
                  "outreach_workers": [1, 2, 2], "gap": [0, 0, 0], "status": "optimal",
                  "knee": [False, True, False]}).to_csv(tmp_path / "sweep" / "sweep.csv",
                                                        index=False)
    (tmp_path / "options").mkdir()
    pd.DataFrame({"option": ["A: eight centres", HOSTILE_LOCALITY], "budget": [1.5e6, 1.2e6],
                  "annual_cost": [1.49e6, 1.19e6], "reach_share": [0.93, 0.81],
                  "reach_share_deciles_1_2": [0.97, 0.88], "sites": [3, 2],
                  "outreach_workers": [2, 1], "areas_losing_access": [3, 5],
                  "mean_travel_minutes": [10.2, 14.9], "extra_funding": [0, 300_000],
                  "notes": ["", "with community grants"]}).to_csv(
        tmp_path / "options" / "compare.csv", index=False)
    build_pack(solved, tmp_path / "pack")
    pack = tmp_path / "pack"
    index = " ".join((pack / "index.html").read_text().split())
    assert "Options compared" in index and "A: eight centres" in index
    assert HOSTILE_LOCALITY not in index and "&#34;; alert(2); //" in index
    assert "81.0%" in index and "£300,000" in index
    assert (pack / "charts" / "reach_by_budget.svg").is_file()
    assert "knee" in (pack / "charts" / "reach_by_budget.svg").read_text()
    assert pd.read_csv(pack / "options_compared.csv")["option"].tolist()[0] == "A: eight centres"


def test_funding_column_says_which_pot_it_splits(tmp_path):
    solved = make_solved(tmp_path, allocation=True)
    purpose = "community grants <b>option C</b>, split by need"
    (solved / "allocation.json").write_text(json.dumps({"purpose": purpose}))
    build_pack(solved, tmp_path / "pack")
    index = " ".join((tmp_path / "pack" / "index.html").read_text().split())
    assert ("Funding allocated: community grants &lt;b&gt;option C&lt;/b&gt;, split by need."
            in index)
    assert "<b>option C</b>" not in index
    wb = openpyxl.load_workbook(tmp_path / "pack" / "consultation_tables.xlsx")
    notes = {row[0].value: row[1].value for row in wb["Notes"].iter_rows() if len(row) > 1}
    assert notes["Funding allocated"] == purpose


def test_areas_whose_centre_is_replaced_by_outreach_are_listed(tmp_path):
    # solve counts an area reached by outreach as still reached ("same"), so when centres close
    # and outreach takes over, no area "loses access"; the pack must still list those areas.
    solved = make_solved(tmp_path)
    areas = pd.read_csv(solved / "areas.csv", dtype={"site_id": str})
    moved = ((areas["reached_by"] == "outreach")
             & (areas["reached_before"].astype(str).str.lower() == "true"))
    assert sorted(areas.loc[moved, "name"]) == ["Oxford 008B", "Oxford 010A"]
    areas.loc[moved, "change"] = "same"  # as solve writes it
    areas.to_csv(solved / "areas.csv", index=False)
    build_pack(solved, tmp_path / "pack")
    pack = tmp_path / "pack"
    changing = pd.read_csv(pack / "areas_changing.csv")
    replaced = changing[changing["change"] == "Centre replaced by outreach"]
    assert sorted(replaced["name"]) == ["Oxford 008B", "Oxford 010A"]
    assert set(replaced["before"]) == {"Reached"}
    assert set(replaced["after"]) == {"Reached by outreach"}
    # grouped by locality: within North, losers first, then replaced, then gainers
    north = changing[changing["locality"] == "North"]["change"].tolist()
    assert north == sorted(north, key=["Loses access", "Centre replaced by outreach",
                                       "Gains access"].index)
    index = " ".join((pack / "index.html").read_text().split())
    # 008B is in IMD decile 2, 010A in decile 6
    assert ("2 areas with a centre within reach today lose it and are reached by outreach "
            "instead; 1 of them are in IMD deciles 1-2.") in index
    assert "2 areas lose the centre within reach today and are reached only by outreach" in index
    eq = pd.read_csv(pack / "equality_by_imd_decile.csv").set_index("imd_decile")
    assert eq["areas_to_outreach"].to_dict() == {1: 0, 2: 1, 3: 0, 4: 0, 6: 1, 7: 0, 8: 0}
    wb = openpyxl.load_workbook(pack / "consultation_tables.xlsx")
    values = [c.value for row in wb["Areas changing"].iter_rows() for c in row]
    assert values.count("Centre replaced by outreach") == 2
    page = (pack / "map.html").read_text()
    # two areas, each drawn in the three area layers (need, reach, change)
    assert page.count('"change": "Centre replaced by outreach"') == 2 * 3
    assert page.count('"_change": "to_outreach"') == 2 * 3


def test_options_compared_table_and_chart_show_localities_below_floor(tmp_path):
    solved = make_solved(tmp_path)
    (tmp_path / "options").mkdir()
    pd.DataFrame({"option": ["A", "B <b>grants</b>"], "budget": [1.5e6, 1.2e6],
                  "annual_cost": [1.49e6, 1.19e6], "reach_share": [0.93, 0.81],
                  "reach_share_deciles_1_2": [0.97, 0.88], "sites": [3, 2],
                  "outreach_workers": [2, 1], "localities_below_floor": [0, 7],
                  "areas_losing_access": [3, 5], "mean_travel_minutes": [10.2, 14.9],
                  "extra_funding": [0, 300_000], "notes": ["", ""]}).to_csv(
        tmp_path / "options" / "compare.csv", index=False)
    build_pack(solved, tmp_path / "pack")
    pack = tmp_path / "pack"
    index = " ".join((pack / "index.html").read_text().split())
    assert "<th>Localities below their floor</th>" in index
    row_b = re.search(r"<tr><td class=\"text\">B &lt;b&gt;grants&lt;/b&gt;</td>(.*?)</tr>",
                      index).group(1)
    assert "<td class=\"num\">7</td>" in row_b
    assert pd.read_csv(pack / "options_compared.csv")["localities_below_floor"].tolist() == [0, 7]
    svg = (pack / "charts" / "options_compared.svg").read_text()
    assert svg.startswith("<?xml") and "<b>" not in svg
    assert 'src="charts/options_compared.svg"' in index
    assert "charts/options_compared.svg" in json.loads((pack / "pack.json").read_text())["files"]
    # the pack's own option is not one of those compared: said so, with its reach
    assert "The rest of this pack describes <b>Oxford test</b>, which is not one of them" in index
    assert "without going over the annual budget (£1,500,000)." in index


def test_sweep_with_a_budget_that_has_no_plan_still_makes_the_budget_chart(tmp_path):
    # optimiser sweep writes a budget with no plan (infeasible) as a row with blank figures
    solved = make_solved(tmp_path)
    pd.DataFrame({"budget": [5e5, 1e6, 1.5e6, 2e6], "reach_share": [None, 0.7, 0.9, 0.95],
                  "reach_share_deciles_1_2": [None, 0.8, 0.95, 1.0], "sites": [0, 2, 3, 4],
                  "outreach_workers": [0, 1, 2, 2], "gap": [None, 0, 0, 0],
                  "status": ["infeasible", "optimal", "optimal", "optimal"],
                  "knee": [False, False, True, False]}).to_csv(solved / "sweep.csv", index=False)
    build_pack(solved, tmp_path / "pack")
    assert (tmp_path / "pack" / "charts" / "reach_by_budget.svg").read_text().startswith("<?xml")
    meta = json.loads((tmp_path / "pack" / "pack.json").read_text())
    assert "charts/reach_by_budget.svg" in meta["files"]
    (solved / "sweep.csv").write_text("budget,sites\n1000000,3\n")
    with pytest.raises(InputError, match="no column 'reach_share'"):
        build_pack(solved, tmp_path / "pack2")


def test_report_of_a_scenario_without_a_plan_says_so(tmp_path):
    solved = make_solved(tmp_path)
    sol = json.loads((solved / "solution.json").read_text())
    sol.update(status="infeasible", open_sites=[], totals=None, localities=[], change=None,
               explanation=["the budget £1m is below the £2m the must_open sites cost"])
    (solved / "solution.json").write_text(json.dumps(sol))
    for name in ("areas.csv", "sites.csv", "localities.csv"):
        (solved / name).unlink()  # solve writes solution.json alone when there is no plan
    with pytest.raises(InputError, match=r"no plan \(solver status 'infeasible'\), so there is "
                                         r"nothing to report: the budget £1m is below"):
        build_pack(solved, tmp_path / "pack")
    assert not (tmp_path / "pack").exists()


def test_area_need_is_published_as_a_band_when_built_from_the_councils_counts(tmp_path):
    # With the council's own CIN/CPP per area, an area's exact need index (beside its public
    # IMD score and population) could give those small counts away; modelled counts cannot.
    council = make_solved(tmp_path / "council", modelled=False)
    build_pack(council, tmp_path / "council" / "pack")
    pack = tmp_path / "council" / "pack"
    changing = pd.read_csv(pack / "areas_changing.csv", dtype=str)
    assert set(changing["need"]) <= {"under 0.8", "0.8 to 1.0", "1.0 to 1.2", "1.2 to 1.5",
                                     "1.5 to 2.0", "2.0 and over"}
    # Oxford 017A (need 1.55) gains access
    assert changing.set_index("name").at["Oxford 017A", "need"] == "1.5 to 2.0"
    page = (pack / "map.html").read_text()
    assert '"need": "1.5 to 2.0"' in page and '"need": "1.55' not in page
    assert "shown only as its band" in (pack / "index.html").read_text()
    served = pd.read_csv(pack / "sites.csv")["demand_served"].dropna()
    assert len(served) and (served % 50 == 0).all()
    eq = pd.read_csv(pack / "equality_by_imd_decile.csv")
    assert (eq["need_total"] % 50 == 0).all()
    assert eq.set_index("imd_decile").at[7, "areas"] == 1  # a decile of one area
    modelled = make_solved(tmp_path / "modelled")
    build_pack(modelled, tmp_path / "modelled" / "pack")
    changing = pd.read_csv(tmp_path / "modelled" / "pack" / "areas_changing.csv")
    assert changing.set_index("name").at["Oxford 017A", "need"] == 1.55
    page = (tmp_path / "modelled" / "pack" / "map.html").read_text()
    assert '"need": "1.55 (1.5 to 2.0)"' in page


def test_notes_name_the_councils_own_files(tmp_path):
    solved = make_solved(tmp_path, modelled=False)
    prep = json.loads((tmp_path / "instance" / "prepare.json").read_text())
    prep["inputs"] = {"cases": {"file": "/home/analyst/private/cin_extract.csv", "sha256": "ab12"}}
    (tmp_path / "instance" / "prepare.json").write_text(json.dumps(prep))
    build_pack(solved, tmp_path / "pack")
    wb = openpyxl.load_workbook(tmp_path / "pack" / "consultation_tables.xlsx")
    notes = [(r[0].value, r[1].value) for r in wb["Notes"].iter_rows() if len(r) > 1]
    assert ("Council's file", "children in need / protection plan extract: cin_extract.csv, "
            "sha256: ab12") in notes
    assert "/home/analyst" not in (tmp_path / "pack" / "index.html").read_text()


def test_budget_chart_caption_says_what_the_sweep_shows(tmp_path):
    solved = make_solved(tmp_path)
    pd.DataFrame({"budget": [1e6, 1.5e6, 2e6, 3e6], "reach_share": [0.5, 0.9, 0.95, 0.97],
                  "sites": [2, 3, 4, 5], "status": "optimal",
                  "knee": [False, True, False, False]}).to_csv(solved / "sweep.csv", index=False)
    build_pack(solved, tmp_path / "pack")
    index = " ".join((tmp_path / "pack" / "index.html").read_text().split())
    # (0.9 - 0.5) / 0.5m = 80 points per £1m up to the knee; (0.97 - 0.9) / 1.5m = 4.7 above
    assert ("At £1,000,000 a year the best plan reaches 50.0% of need; at £3,000,000, 97.0%. "
            "Up to £1,500,000 (the knee of the curve) each extra £1m reaches 80.0 more points "
            "of need on average; above it, 4.7 points.") in index


def test_equality_sentences_agree_in_number():
    from optimiser.report.pack import equality_sentences

    eq = pd.DataFrame({"imd_decile": [1, 5], "need_total": [100.0, 100.0],
                       "share_before": [1.0, 1.0], "share_after": [0.5, 1.0],
                       "areas_loses": [1, 0], "areas_to_outreach": [0, 1]})
    words = " ".join(equality_sentences(eq))
    assert "1 area loses access to a centre; it is in deciles 1-2." in words
    assert ("1 area loses the centre within reach today and is reached only by outreach; "
            "it is not in deciles 1-2. It is listed there too.") in words


def test_published_pack_json_names_no_local_path(hostile_pack):
    # The pack is published whole: an analyst's folder path (user name, drive) stays out of it.
    meta = json.loads((hostile_pack / "pack.json").read_text())
    assert "/" not in meta["solved_folder"] and "\\" not in meta["solved_folder"]
    assert str(hostile_pack.parent) not in (hostile_pack / "pack.json").read_text()


def _pdf_text(path: Path) -> str:
    import pypdf

    return " ".join(" ".join(p.extract_text() for p in pypdf.PdfReader(path).pages).split())


def test_pack_pdf_has_the_title_locality_table_and_glossary(hostile_pack):
    text = _pdf_text(hostile_pack / "pack.pdf")
    assert "Oxfordshire: family centres consultation" in text
    assert "The option: Oxford test" not in text and "Oxford test" in text  # the title
    assert "Words used in this document" in text
    for term in ("Need index", "Need-weighted children", "Served (reached)", "Capacity",
                 "Outreach"):
        assert term in text
    # the locality table, neediest first, with its district, after disclosure control:
    # South CIN 34 CPP 15 shown; North's 30 and 9 hidden (secondary suppression)
    assert re.search(r"South Oxford 493 1,950 36\.0 75\.0% 34 15 1\.55 1 ", text)
    assert re.search(r"North Oxford 755 3,040 24\.8 0\.0% c c 1\.11 2 ", text)
    assert "Council total" in text and "£300,000" in text
    assert "Vale of White Horse" in text
    # every area that changes names its nearest open centre and the minutes to it
    assert "Nearest open centre" in text
    for raw in ("30 9 1.11", " 4 1 1.00"):  # exact small counts never reach the PDF
        assert raw not in text
    meta = json.loads((hostile_pack / "pack.json").read_text())
    assert "pack.pdf" in meta["files"]
    # names from input files are text in the PDF too (escaped in its HTML, nothing fetched)
    assert HOSTILE_LOCALITY in text
    assert "`${alert(3)}` <img src=x onerror=alert(4)>" in text


def test_areas_changing_name_the_nearest_open_centre(hostile_pack):
    changing = pd.read_csv(hostile_pack / "areas_changing.csv").set_index("area_id")
    # every area that changes has its nearest open centre and travel time (the fixture's
    # solved folder predates nearest_site_id: the nearest open site in a straight line)
    assert changing["nearest_site"].notna().all() and changing["travel_minutes"].notna().all()
    # West's areas lose Botley (closed): nearest open is Cowley Road, 33-35 minutes away
    assert changing.at["E01028521", "nearest_site"] == "Cowley Road Children's Centre"
    assert changing.at["E01028521", "travel_minutes"] == 35.0
    # Blackbird Leys Hub opened: its "(candidate)" never shows (the hostile fixture renames it)


def test_opened_candidates_lose_candidate_in_their_names(tmp_path):
    solved = make_solved(tmp_path)
    sites = pd.read_csv(solved / "sites.csv")
    sites.loc[sites["site_id"] == "S3", "name"] = "Blackbird Leys hub (candidate)"
    sites.to_csv(solved / "sites.csv", index=False)
    areas = pd.read_csv(solved / "areas.csv")
    areas["nearest_site_id"] = "S3"  # as solve writes it now
    areas.to_csv(solved / "areas.csv", index=False)
    build_pack(solved, tmp_path / "pack")
    pack = tmp_path / "pack"
    out = pd.read_csv(pack / "sites.csv").set_index("site_id")
    assert out.at["S3", "name"] == "Blackbird Leys hub"
    assert out.at["S4", "name"] == "Littlemore Library (candidate)"  # not opened: still one
    changing = pd.read_csv(pack / "areas_changing.csv")
    assert set(changing["nearest_site"]) == {"Blackbird Leys hub"}
    assert "hub (candidate)" not in (pack / "map.html").read_text()


def test_sweep_chart_axis_fits_the_data_and_says_so(hostile_pack):
    from optimiser.report.charts import axis_note, fitted_percent_axis

    assert fitted_percent_axis([55.0, 70.0, 95.4, 100.0]) == (50.0, 100.0)
    assert fitted_percent_axis([]) == (0.0, 100.0)
    index = " ".join((hostile_pack / "index.html").read_text().split())
    # the fixture's sweep runs from 55% to 100%
    assert axis_note(50, 100) in index


def test_pack_from_a_comparison_has_a_page_per_option(tmp_path):
    from synthetic import write_instance, write_scenario

    from optimiser.compare import run_compare

    write_instance(tmp_path / "instance", seed=4, n_areas=30, n_sites=6, localities=3)
    sites = pd.read_csv(tmp_path / "instance" / "sites.csv")
    sites.loc[:1, "status"] = "existing"
    sites.to_csv(tmp_path / "instance" / "sites.csv", index=False)
    a = write_scenario(tmp_path / "a.yaml", tmp_path / "instance", name="option-a-three",
                       budget=900_000)
    b = write_scenario(tmp_path / "b.yaml", tmp_path / "instance", name="option-b",
                       title="Option B: <two> & grants", budget=600_000,
                       grants={"community grants": 300_000})
    run_compare([a, b], tmp_path / "cmp", progress=False, workers=1)
    summary = build_pack(tmp_path / "cmp", tmp_path / "pack")
    assert "2 options" in summary
    pack = tmp_path / "pack"
    index = " ".join((pack / "index.html").read_text().split())
    assert "<h2>Option A three</h2>" in index  # the name in words, never the file's name
    assert "<h2>Option B: &lt;two&gt; &amp; grants</h2>" in index
    assert "Option B: <two>" not in index
    assert "which is not one of them" not in index
    # each option's money adds up to its whole budget, the same way for both
    assert index.count("<td class=\"text\">Whole budget</td><td class=\"num\">£900,000</td>") == 2
    assert "Grants: community grants</td><td class=\"num\">£300,000" in index
    for f in ("localities.csv", "areas_changing.csv", "sites.csv", "map.html",
              "consultation_tables.xlsx"):
        assert (pack / f).is_file() and (pack / "options" / "option-b" / f).is_file(), f
    meta = json.loads((pack / "pack.json").read_text())
    assert [o["title"] for o in meta["options"]] == ["Option A three", "Option B: <two> & grants"]
    assert all((pack / f).is_file() for f in meta["files"])
    text = _pdf_text(pack / "pack.pdf")
    assert "Option A three" in text and "Option B: <two> & grants" in text
    assert text.count("Whole budget £900,000") == 2
    assert "Options compared" in text and "Words used in this document" in text
    import pypdf

    # a static map per option (and the charts) are pictures in the PDF
    pictures = {img.data for page in pypdf.PdfReader(pack / "pack.pdf").pages
                for img in page.images}
    assert len(pictures) == 2 + 2 + 1  # two maps, two decile charts, the options chart
    internal = pack.parent / "pack-internal"
    assert (internal / "options" / "option-b" / "localities_NOT_FOR_PUBLICATION.csv").is_file()
    with pytest.raises(InputError, match="option 'option-b' has no solved folder"):
        shutil.rmtree(tmp_path / "cmp" / "options" / "option-b")
        build_pack(tmp_path / "cmp", tmp_path / "pack2")


def test_a_plan_not_proven_best_says_its_gap_to_two_significant_figures(tmp_path):
    # A search's 0.029% gap read "gap 0.0%" beside "not proven the best".
    from optimiser.report.pack import equality_table, summary_facts
    from optimiser.report.solved import read_solved

    solved_dir = make_solved(tmp_path)
    path = solved_dir / "solution.json"
    for gap, shown in ((0.00029, "0.029%"), (0.0277, "2.8%")):
        sol = json.loads(path.read_text())
        sol.update(status="feasible", gap=gap)
        path.write_text(json.dumps(sol))
        solved = read_solved(solved_dir)
        words = summary_facts(solved, equality_table(solved))["sentences"]
        assert (f"Note: the solver's status is 'feasible' (gap {shown}): the plan is the best "
                "found, not proven the best.") in words


def test_the_map_title_box_gives_the_scenario_title_for_people(tmp_path):
    """The map's title box once showed the scenario's file-style name ('cornwall-7m')."""
    solved = make_solved(tmp_path)
    solution = json.loads((solved / "solution.json").read_text())
    solution["settings"]["title"] = "Cornwall: the best plan within £7.5m a year"
    (solved / "solution.json").write_text(json.dumps(solution))
    build_pack(solved, tmp_path / "pack")
    html = (tmp_path / "pack" / "map.html").read_text()
    assert '<div class="map-title">Cornwall: the best plan within £7.5m a year<small>' in html
    assert '<div class="map-title">oxford-test' not in html
