"""The map of a multi-year plan: the data it draws for each year against the solved folder.

A three-year plan is solved on the report fixture's twelve Oxford areas (a few seconds): today's
S1, S5 and S2; S2 closes in the first year, the new hub (with a hostile name) opens in the
second and S5 closes then; the outreach workers change every year. What the map shows for each
year (sites by state, outreach workers by locality, shares served, the title's summary) is
checked against ``solution.json`` ``years``, ``years.csv``, ``schedule.csv`` and
``localities_years.csv``. The browser test (tests/test_browser.py) switches years in Chromium.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from report_fixtures import HOSTILE_SITE, make_solved, make_solved_years

from optimiser.errors import InputError
from optimiser.report import build_pack
from optimiser.report._map_years import area_year_props, open_ids, year_summary
from optimiser.report.map import build_map, esc, map_counts
from optimiser.report.solved import read_solved
from optimiser.report.years import plan_years, site_year_states


def expected_states(schedule: pd.DataFrame, years: list[int]) -> dict[int, dict[str, str]]:
    """Per year, each site shown and its words, from schedule.csv (written out here: today's
    sites start open; a change against the year before is "Opens/Closes in Y"; otherwise the
    last change names the year; a candidate not opened yet is not shown)."""
    out: dict[int, dict[str, str]] = {y: {} for y in years}
    for _, row in schedule.iterrows():
        before = row["status"] == "existing"
        changed = None
        for y in years:
            now = str(row[f"open_{y}"]).lower() == "true"
            if now and not before:
                words, changed = f"Opens in {y}", y
            elif before and not now:
                words, changed = f"Closes in {y}", y
            elif now:
                words = f"Open (opened in {changed})" if changed else "Open (open today)"
            elif changed:
                words = f"Closed (closed in {changed})"
            else:
                words = None
            if words:
                out[y][str(row["site_id"])] = words
            before = now
    return out


@pytest.fixture(scope="module")
def years_solved(tmp_path_factory) -> Path:
    return make_solved_years(tmp_path_factory.mktemp("map_years"))


@pytest.fixture(scope="module")
def years_pack(years_solved: Path) -> Path:
    out = years_solved.parent / "years_pack"
    build_pack(years_solved, out, self_contained=False)
    return out


def test_the_fixture_plan_changes_every_year(years_solved):
    """The plan the map tests rely on opens and closes sites in different years."""
    years = pd.read_csv(years_solved / "years.csv")
    assert years["year"].tolist() == [2026, 2027, 2028]
    assert (years["annual_cost"] <= years["budget"]).all()
    opened = years["opened"].fillna("").tolist()
    closed = years["closed"].fillna("").tolist()
    assert any(opened) and any(closed)
    assert sum(bool(o or c) for o, c in zip(opened, closed, strict=True)) >= 2
    assert years["outreach_workers"].nunique() > 1


def test_map_data_per_year_matches_the_solution(years_solved):
    solved = read_solved(years_solved)
    plan = plan_years(years_solved, solved.sites["site_id"].astype(str).tolist())
    solution = json.loads((years_solved / "solution.json").read_text())
    table = pd.read_csv(years_solved / "years.csv", keep_default_na=False)
    schedule = pd.read_csv(years_solved / "schedule.csv")
    by_loc = pd.read_csv(years_solved / "localities_years.csv")
    assert plan.years == [y["year"] for y in solution["years"]]
    expected = expected_states(schedule, plan.years)
    for entry, (_, row) in zip(solution["years"], table.iterrows(), strict=True):
        y = entry["year"]
        mine = plan.sites[plan.sites["year"] == y]
        assert dict(zip(mine["site_id"], mine["words"], strict=True)) == expected[y]
        assert sorted(open_ids(plan, y)) == sorted(entry["open_sites"])
        assert sorted(mine.loc[mine["state"] == "opens", "site_id"]) == sorted(
            filter(None, str(row["opened"]).split(";")))
        assert sorted(mine.loc[mine["state"] == "closes", "site_id"]) == sorted(
            filter(None, str(row["closed"]).split(";")))
        workers = plan.localities.loc[plan.localities["year"] == y, "outreach_workers"]
        assert int(workers.sum()) == entry["outreach_workers"]
        # the title's line for the year: its figures as years.csv has them
        words = year_summary(plan, y)
        assert words.startswith(f"{y}: {entry['sites_open']} centre")
        assert f"serves {100 * entry['reach_share']:.1f}% of need" in words
        assert (f"{entry['outreach_workers']} outreach worker" in words)
    pd.testing.assert_frame_equal(plan.localities.reset_index(drop=True), by_loc)
    last = plan.years[-1]
    assert map_counts(solved)["sites"] == len(expected[last])


#: areas_years.csv's columns (docs/interfaces.md): no counts of children in need or on plans.
AREAS_YEARS_COLUMNS = ["area_id", "year", "population", "demand", "site_share",
                       "outreach_share", "reach_share", "children_served", "reached",
                       "reached_by", "reached_before", "change"]


def expected_change_classes(rows: pd.DataFrame) -> list[str]:
    """The change layer's class of each row, written out here: gains or loses as solve says;
    an area reached today, now reached by outreach and not gaining or losing: its centre is
    replaced by outreach; otherwise no change."""
    out = []
    for change, by, before in zip(rows["change"], rows["reached_by"], rows["reached_before"],
                                  strict=True):
        if change in ("gains", "loses"):
            out.append(change)
        elif bool(before) and by == "outreach":
            out.append("to_outreach")
        else:
            out.append("same")
    return out


def test_areas_years_add_up_to_each_year_and_end_in_areas_csv(years_solved):
    """areas_years.csv: every area every year; a year's children served and need reached add
    up to years.csv's; the final year's rows are areas.csv's; no CIN/CPP columns."""
    rows = pd.read_csv(years_solved / "areas_years.csv", dtype={"area_id": str})
    areas = pd.read_csv(years_solved / "areas.csv", dtype={"area_id": str})
    table = pd.read_csv(years_solved / "years.csv")
    assert rows.columns.tolist() == AREAS_YEARS_COLUMNS
    assert len(rows) == len(areas) * len(table) == 36
    for year, mine in rows.groupby("year"):
        row = table[table["year"] == year].iloc[0]
        assert mine["area_id"].tolist() == areas["area_id"].tolist()
        assert mine["children_served"].sum() == pytest.approx(row["children_served"], abs=0.05)
        assert (mine["demand"] * mine["reach_share"]).sum() == pytest.approx(
            row["need_reached"], abs=1e-3)
    last = rows[rows["year"] == table["year"].max()].reset_index(drop=True)
    same = [c for c in AREAS_YEARS_COLUMNS if c not in ("year",)]
    pd.testing.assert_frame_equal(last[same], areas[same], check_dtype=False)
    # The fixture's plan: S2 closes in 2026 and outreach covers the south, S3 opens in 2027.
    by_year = {y: Counter(expected_change_classes(m)) for y, m in rows.groupby("year")}
    assert by_year == {2026: {"same": 8, "to_outreach": 4}, 2027: {"same": 10, "to_outreach": 2},
                       2028: {"same": 12}}


def test_areas_years_known_answer_loses_then_regains():
    """Two areas, each by its own hub; the 2027 budget keeps one hub: the other area loses
    access in 2027 and, the hub reopening in 2028 (allowed), has it again; growth in 2028."""
    from optimiser.model import FamilyCentreModel
    from optimiser.scenario import parse_scenario
    from optimiser.solve_years import solve_years

    one = FamilyCentreModel.from_cost_matrix(
        np.array([[5.0, 50.0], [50.0, 5.0]]), demand=[20.0, 10.0], budget=1e9,
        annual_cost=[4.0, 4.0], status=["existing", "existing"], capacity=[100.0, 100.0])
    keys = {"instance": ".", "multi_year": {"reopen": True},
            "years": [{"year": 2026, "budget": 8}, {"year": 2027, "budget": 4},
                      {"year": 2028, "budget": 8, "children": 1.5}]}
    sol = solve_years(parse_scenario(keys), one.instance)
    rows = sol.extra_tables["areas_years.csv"]
    assert rows["change"].tolist() == ["same", "same", "same", "loses", "same", "same"]
    assert rows["reached_by"].tolist() == ["site", "site", "site", "none", "site", "site"]
    assert rows["reached_before"].all()
    assert rows["population"].tolist() == [20, 10, 20, 10, 30, 15]
    assert rows["children_served"].tolist() == [20, 10, 20, 0, 30, 15]
    schedule = sol.extra_tables["schedule.csv"]
    assert schedule["opens"].tolist()[1] == 2028 and schedule["closes"].tolist()[1] == 2027


def test_area_layers_follow_the_year(years_solved):
    """The reach and change layers' class and words per year, from areas_years.csv; the last
    year's are the single-year map's (areas.csv)."""
    solved = read_solved(years_solved)
    ids = solved.areas["area_id"].astype(str).tolist()
    plan = plan_years(years_solved, solved.sites["site_id"].astype(str).tolist(), ids)
    got = area_year_props(plan, ids)
    rows = pd.read_csv(years_solved / "areas_years.csv", dtype={"area_id": str})
    words = {"same": "No change", "to_outreach": "Centre replaced by outreach",
             "gains": "Gains access", "loses": "Loses access"}
    for y in plan.years:
        mine = rows[rows["year"] == y].set_index("area_id").loc[ids]
        classes = expected_change_classes(mine)
        assert [d[str(y)] for d in got["_change_y"]] == classes
        assert [d[str(y)] for d in got["_change_t"]] == [f"{words[c]} in {y}" for c in classes]
        assert [d[str(y)] for d in got["_reach_y"]] == mine["reached_by"].tolist()
        assert all(d[str(y)].endswith(f" in {y}") for d in got["_reach_t"])
    final = solved.areas.assign(reached_before=solved.areas["reached_before"].astype(bool))
    assert [d["2028"] for d in got["_change_y"]] == expected_change_classes(final)
    # the page: the change layer's legend follows the year, the words are in the features
    page = build_map(solved, pd.DataFrame({"locality": []}), self_contained=False)
    legend = 'Against today in <span data-year="2026">2026</span><span data-year="2027">'
    assert json.dumps(legend)[1:-1].replace("<", "\\u003c").replace(">", "\\u003e") in page
    assert "Centre replaced by outreach in 2026" in page
    assert "(the plan" not in page


def test_a_folder_without_areas_years_keeps_the_last_years_area_layers(years_solved,
                                                                        tmp_path):
    folder = tmp_path / "solved"
    shutil.copytree(years_solved, folder)
    (folder / "areas_years.csv").unlink()
    page = build_map(read_solved(folder), pd.DataFrame({"locality": []}),
                     self_contained=False)
    assert "Against today in 2028 (the plan" in page  # the legend (escaped in the page)
    assert '"_change_y"' not in page and "plan-year" in page


def test_the_page_holds_every_year_and_escapes_names(years_solved, years_pack):
    page = (years_pack / "map.html").read_text()
    plan = plan_years(years_solved, read_solved(years_solved).sites["site_id"].tolist())
    for y in plan.years:
        assert f'<input type="radio" name="plan-year" value="{y}"' in page
        assert f'data-year="{y}"' in page
        assert esc(year_summary(plan, y)) in page
        assert f'"year": "{y}"' in page  # the year's site layer (its tooltips say the year)
    assert 'value="2028" checked' in page                   # the last year at first
    assert "Sites in the year chosen" in page and "Sites: kept, closed and new" not in page
    assert "Localities: share of need served in the year chosen" in page
    assert HOSTILE_SITE not in page and "<script>alert" not in page
    assert "\\u0026#96;\\u0026#36;{alert(3)}" in page       # the hostile site, as text
    index = (years_pack / "index.html").read_text()
    assert "choose a year in the map's title box" in index
    assert "what changes against today's network, are the year chosen's too" in " ".join(
        index.split())
    assert "green kept, blue new" not in index
    pack = json.loads((years_pack / "pack.json").read_text())
    assert pack["site_markers"] == map_counts(read_solved(years_solved))["sites"]


def test_the_pack_says_whether_a_closed_centre_may_reopen(years_solved, years_pack,
                                                          tmp_path):
    index = (years_pack / "index.html").read_text()
    assert "A closed centre does not reopen." in index and "may reopen" not in index
    folder = tmp_path / "solved"
    shutil.copytree(years_solved, folder)
    solution = json.loads((folder / "solution.json").read_text())
    solution["settings"]["multi_year"]["reopen"] = True
    (folder / "solution.json").write_text(json.dumps(solution))
    build_pack(folder, tmp_path / "pack", self_contained=False)
    index = " ".join((tmp_path / "pack" / "index.html").read_text().split())
    assert "A centre closed in one year may reopen in a later year (this option allows it)." \
        in index
    assert "does not reopen" not in index


def test_one_year_maps_have_no_year_control(tmp_path):
    solved = make_solved(tmp_path, hostile=True)
    build_pack(solved, tmp_path / "pack", self_contained=False)
    page = (tmp_path / "pack" / "map.html").read_text()
    assert "plan-year" not in page and "Sites in the year chosen" not in page
    assert "Sites: kept, closed and new" in page
    assert "choose a year" not in (tmp_path / "pack" / "index.html").read_text()


def test_states_when_a_site_reopens():
    got = site_year_states(["A", "B"], np.array([True, False]),
                           np.array([[False, False, True, True], [False, False, False, True]]),
                           [2026, 2027, 2028, 2029])
    assert got["words"].tolist() == [
        "Closes in 2026", "Closed (closed in 2026)", "Opens in 2028", "Open (opened in 2028)",
        "Opens in 2029"]
    assert [None if pd.isna(v) else int(v) for v in got["since"]] == [
        None, 2026, None, 2028, None]


@pytest.mark.parametrize("change, file, column, words", [
    (lambda f: _drop_column(f / "schedule.csv", "open_2027"), "schedule.csv", "open_2027",
     "the table has no column 'open_2027'"),
    (lambda f: _edit(f / "schedule.csv", "S3,", "S9,"), "schedule.csv", "site_id",
     "site 'S9' is not in sites.csv"),
    (lambda f: _edit(f / "schedule.csv", ",true,", ",maybe,"), "schedule.csv", None,
     "'maybe' is not true or false"),
    (lambda f: _edit(f / "localities_years.csv", "2027,", "2031,"), "localities_years.csv",
     "year", "year 2031 is not in years.csv"),
    (lambda f: _edit(f / "areas_years.csv", ",2027,", ",2031,"), "areas_years.csv",
     "year", "year 2031 is not in years.csv"),
    (lambda f: _edit(f / "areas_years.csv", "E01028513,", "E01099999,"), "areas_years.csv",
     "area_id", "area E01099999 is not in areas.csv"),
    (lambda f: _drop_column(f / "areas_years.csv", "change"), "areas_years.csv", "change",
     "the table has no column 'change'"),
])
def test_inconsistent_year_files_are_one_clear_error(years_solved, tmp_path, change, file,
                                                     column, words):
    folder = tmp_path / "solved"
    shutil.copytree(years_solved, folder)
    change(folder)
    solved = read_solved(folder)
    with pytest.raises(InputError) as err:
        build_map(solved, pd.DataFrame({"locality": []}), self_contained=False)
    assert err.value.problem == words
    assert Path(err.value.file) == folder / file
    if column:
        assert err.value.column == column
    assert "optimiser solve" in str(err.value) or "true or false" in str(err.value)


def _drop_column(path: Path, column: str) -> None:
    pd.read_csv(path, dtype=str, keep_default_na=False).drop(columns=[column]).to_csv(
        path, index=False)


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new, 1))
