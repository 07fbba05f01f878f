"""``optimiser solve`` end to end: outputs, bad scenarios, infeasibility in words, honesty."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimiser.cli import app
from optimiser.instance import Instance, read_instance, write_instance
from optimiser.model import FamilyCentreModel
from optimiser.model.synthetic import synthetic_instance
from optimiser.scenario import load_scenario
from optimiser.solve import solve_model, solve_scenario
from optimiser.travel import nearest_open_site

runner = CliRunner()

DESIGN_KEYS = {"scenario", "objective", "status", "objective_value", "best_bound", "gap",
               "solve_seconds", "open_sites", "outreach", "totals", "localities", "change"}
TOTALS_KEYS = {"annual_cost", "need_total", "need_reached", "reach_share", "children_reached"}
LOCALITY_KEYS = {"locality", "need_total", "need_reached", "reach_share", "sites",
                 "outreach_workers"}
AREA_COLUMNS = ["area_id", "name", "locality", "population", "need", "demand", "rural",
                "imd_decile", "site_share", "outreach_share", "reach_share", "reached",
                "reached_by", "site_id", "travel_minutes", "reached_before", "change"]
SITE_COLUMNS = ["open", "decision", "areas_served", "children_served", "demand_served",
                "utilisation"]
LOC_COLUMNS = ["locality", "population", "need_total", "need_reached", "reach_share", "sites",
               "site_ids", "outreach_workers", "mean_travel_minutes", "floor", "meets_floor",
               "children_served", "outreach_served", "outreach_capacity"]


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    """A synthetic 400-area county instance folder."""
    folder = tmp_path_factory.mktemp("county") / "instance"
    folder.mkdir()
    write_instance(synthetic_instance(400, seed=11), folder)
    return folder


def scenario_file(folder: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = folder / name
    path.write_text(text)
    return path


def base_yaml(instance: Path, extra: str = "", model: str = "coverage") -> str:
    """The plumbing tests' scenario: the coverage model proves the synthetic county optimal in
    a second; the service model's own tables are tested below (test_service_tables_...)."""
    reach = "" if "reach:" in extra else f"reach: {{model: {model}}}\n"
    return (f"instance: {instance}\nobjective: max_reach\nbudget: 5000000\n"
            "outreach: {cost_per_worker: 42000, reach_per_worker: 150, effectiveness: 0.6}\n"
            "tiers: {spoke: {effectiveness: 0.8, hub_within_km: 15}}\n" + reach + extra)


def solve_cli(scen: Path, out: Path):
    return runner.invoke(app, ["solve", str(scen), "--out", str(out)])


# ----------------------------------------------------------------------------- outputs


def test_solve_writes_every_key_and_consistent_tables(county, tmp_path):
    scen = scenario_file(tmp_path, base_yaml(county, "constraints: {locality_min_reach: 0.5, "
                                                     "deprived_max_minutes: 25}\n"))
    res = solve_cli(scen, tmp_path / "out")
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    sol = json.loads((out / "solution.json").read_text())
    assert set(sol) >= DESIGN_KEYS
    assert {"scenario_file", "instance", "settings", "explanation", "status_detail"} <= set(sol)
    assert set(sol["totals"]) >= TOTALS_KEYS
    assert all(set(loc) >= LOCALITY_KEYS for loc in sol["localities"])
    assert sol["status"] == "optimal" and sol["gap"] == 0.0
    assert sol["best_bound"] == pytest.approx(sol["objective_value"])
    assert sol["totals"]["annual_cost"] <= 5_000_000 + 1e-6

    areas = pd.read_csv(out / "areas.csv")
    sites = pd.read_csv(out / "sites.csv")
    locs = pd.read_csv(out / "localities.csv")
    assert list(areas.columns[: len(AREA_COLUMNS)]) == AREA_COLUMNS
    assert set(SITE_COLUMNS) <= set(sites.columns)
    assert list(locs.columns) == LOC_COLUMNS
    assert len(areas) == 400
    # The totals are the sums of the tables.
    assert (areas["demand"] * areas["reach_share"]).sum() == pytest.approx(
        sol["totals"]["need_reached"], rel=1e-6)
    assert locs["need_reached"].sum() == pytest.approx(sol["totals"]["need_reached"], rel=1e-6)
    assert sorted(sites.loc[sites["open"], "site_id"]) == sorted(sol["open_sites"])
    assert locs["outreach_workers"].sum() == sum(sol["outreach"].values())
    assert locs["meets_floor"].all()
    assert (locs["reach_share"] >= 0.5 - 1e-6).all()
    # Decisions follow status and open.
    kept = sites[(sites["status"] == "existing") & sites["open"]]
    assert (kept["decision"] == "keep").all()
    assert set(sites.loc[(sites["status"] == "candidate") & ~sites["open"], "decision"]) <= {
        "not_opened"}
    # Reached areas name an open site or outreach; site_id is an open site.
    by_site = areas[areas["reached_by"] == "site"]
    assert by_site["site_id"].isin(sol["open_sites"]).all()
    assert (areas.loc[areas["reached_by"] == "none", "reached"] == False).all()  # noqa: E712
    # Change against today: gaining / losing areas agree with the before/after columns.
    gains = areas.loc[areas["reached"] & ~areas["reached_before"], "area_id"].tolist()
    losses = areas.loc[~areas["reached"] & areas["reached_before"], "area_id"].tolist()
    assert sol["change"]["areas_gaining"] == gains
    assert sol["change"]["areas_losing"] == losses
    deciles = sol["change"]["by_imd_decile"]
    assert [d["imd_decile"] for d in deciles] == list(range(1, 11))
    assert sum(d["need_reached_after"] for d in deciles) == pytest.approx(
        sol["totals"]["need_reached"], rel=1e-6)
    # The scenario is copied as given.
    assert (out / "scenario.yaml").read_text() == scen.read_text()


def test_deprived_areas_are_within_the_limit(county, tmp_path):
    scen = scenario_file(tmp_path, base_yaml(county, "constraints: {deprived_max_minutes: 12}\n"))
    sol = solve_scenario(load_scenario(scen))
    # One deprived rural area has no site at all within 12 minutes: said in words.
    assert sol.status == "infeasible"
    assert sol.explanation == ["1 deprived area(s) (A00262) have no site that may open within "
                               "12 minutes (deprived_max_minutes)"]
    scen = scenario_file(tmp_path, base_yaml(county, "constraints: {deprived_max_minutes: 25}\n"))
    sol = solve_scenario(load_scenario(scen))
    assert sol.status == "optimal"
    inst = read_instance(county)
    open_ = inst.sites["site_id"].isin(sol.open_sites).to_numpy()
    nearest, minutes = nearest_open_site(inst, load_scenario(scen).reach, open_)
    # areas.csv names the nearest open site its travel_minutes are measured to
    areas = sol.areas_table
    assert areas["nearest_site_id"].tolist() == inst.sites["site_id"].to_numpy()[nearest].tolist()
    assert sol.sites_table.set_index("site_id").loc[areas["nearest_site_id"], "open"].all()
    assert areas["travel_minutes"].to_numpy() == pytest.approx(minutes, abs=0.01)
    deprived = inst.areas["imd_decile"].isin([1, 2]).to_numpy()
    assert deprived.sum() > 0
    assert (minutes[deprived] <= 25 + 1e-9).all()


def test_evaluate_today_matches_the_baseline(county, tmp_path):
    scen = scenario_file(tmp_path, f"instance: {county}\nobjective: evaluate\n")
    sol = solve_scenario(load_scenario(scen))
    inst = read_instance(county)
    assert sorted(sol.open_sites) == sorted(inst.existing_site_ids)
    assert sol.change["areas_gaining"] == [] and sol.change["areas_losing"] == []
    assert sol.totals["need_reached"] == pytest.approx(sol.change["need_reached_before"])
    assert sol.totals["outreach_workers"] == 0


def test_evaluate_a_named_network_with_outreach_budget(county, tmp_path):
    inst = read_instance(county)
    net = inst.sites["site_id"].tolist()[:3]
    scen = scenario_file(tmp_path, base_yaml(county).replace("max_reach", "evaluate")
                         + f"network: [{', '.join(net)}]\n")
    sol = solve_scenario(load_scenario(scen))
    assert sol.open_sites == net
    assert sol.totals["outreach_workers"] > 0
    assert sol.totals["annual_cost"] <= 5_000_000


def test_cbc_gives_the_same_reach_as_highs(county, tmp_path):
    values = {}
    for name in ("highs", "cbc"):
        scen = scenario_file(tmp_path, base_yaml(county, f"solver: {{name: {name}}}\n"),
                             f"{name}.yaml")
        sol = solve_scenario(load_scenario(scen))
        assert sol.status == "optimal"
        values[name] = sol.objective_value
    assert values["cbc"] == pytest.approx(values["highs"], rel=1e-9)


def test_determinism_same_inputs_same_bytes(county, tmp_path):
    scen = scenario_file(tmp_path, base_yaml(county, "constraints: {site_per_locality: true}\n"))
    for out in ("a", "b"):
        assert solve_cli(scen, tmp_path / out).exit_code == 0
    for name in ("areas.csv", "sites.csv", "localities.csv"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    a, b = (json.loads((tmp_path / o / "solution.json").read_text()) for o in ("a", "b"))
    for timing in ("solve_seconds", "build_seconds"):
        a.pop(timing), b.pop(timing)
    assert a == b


def test_budget_sweep_reuses_the_built_model(county, tmp_path):
    scen = load_scenario(scenario_file(tmp_path, base_yaml(county)))
    inst = read_instance(county)
    model = FamilyCentreModel.from_instance(inst, scen)
    reach = []
    for b in (2e6, 4e6, 6e6):
        model.set_budget(b)
        sol = solve_model(model, inst, scen)
        assert sol.status == "optimal" and sol.totals["annual_cost"] <= b
        reach.append(sol.totals["need_reached"])
    assert reach == sorted(reach) and reach[0] < reach[-1]
    # The same budget from scratch gives the same answer.
    fresh = solve_scenario(scen.with_changes(budget=4e6), inst)
    assert fresh.objective_value == pytest.approx(reach[1], rel=1e-9)


def test_cbc_time_limit_is_reported_honestly(tmp_path):
    inst = synthetic_instance(3000, seed=3, n_existing=150, n_candidates=400)
    folder = tmp_path / "big"
    folder.mkdir()
    write_instance(inst, folder)
    # The coverage model: the status plumbing is the same, and it builds 3,000 areas quickly.
    scen = scenario_file(tmp_path, base_yaml(folder, "solver: {name: cbc, time_limit_s: 1}\n"))
    sol = solve_scenario(load_scenario(scen))
    assert sol.status in ("time_limit", "optimal")
    assert sol.status != "optimal" or sol.gap == 0.0
    if sol.status == "time_limit":
        assert sol.best_bound is None and sol.gap is None  # CBC's bound is not read: unknown


def test_time_limit_is_reported_honestly(tmp_path):
    inst = synthetic_instance(3000, seed=3, n_existing=150, n_candidates=400)
    folder = tmp_path / "big"
    folder.mkdir()
    write_instance(inst, folder)
    scen = scenario_file(tmp_path, base_yaml(folder, "solver: {time_limit_s: 0.05}\n")
                         .replace("5000000", "9000000"))
    sol = solve_scenario(load_scenario(scen))
    assert sol.status in ("time_limit", "optimal")
    if sol.status == "optimal":
        assert sol.gap == 0.0
    elif sol.objective_value is not None:
        assert sol.best_bound is None or sol.best_bound >= sol.objective_value - 1e-6
        assert sol.gap is None or sol.gap >= 0
        assert "time limit" in sol.explanation[0]
    # A requested gap is never reported as proven optimal unless it is.
    scen = scenario_file(tmp_path, base_yaml(folder, "solver: {gap: 0.2, time_limit_s: 2}\n"),
                         "gap.yaml")
    sol = solve_scenario(load_scenario(scen))
    assert sol.status in ("feasible", "optimal", "time_limit")
    assert sol.status != "optimal" or sol.gap == 0.0
    if sol.status == "feasible":
        assert 0 < sol.gap <= 0.2 + 1e-9 and "not proven optimal" in sol.explanation[0]


def test_capacity_limits_reach():
    minutes = np.array([[1.0], [1.0]])
    model = FamilyCentreModel.from_cost_matrix(
        minutes, demand=[30, 10], population=[30, 10], threshold=5, budget=1, capacity=[20],
            reach_model="coverage")
    r = model.solve()
    assert r.status == "optimal"
    assert r.objective_value == pytest.approx(20.0)
    assert r.site_cover.tolist() == pytest.approx([r.site_cover[0], r.site_cover[1]])
    assert (r.site_cover * [30, 10]).sum() == pytest.approx(20.0)


# ----------------------------------------------------------------------------- bad scenarios

BAD = [
    ("budjet: 5\n", "budjet", "did you mean 'budget'"),
    ("budget: lots\n", "budget", "'lots'"),
    ("budget: -10\n", "budget", "greater than or equal to 0"),
    ("budget: 10\nsolver: {gap: 1.5}\n", "solver.gap", "less than or equal to 1"),
    ("budget: 10\nconstraints: {must_open: [NOPE]}\n", "constraints.must_open", "'NOPE'"),
]


@pytest.mark.parametrize(("extra", "key", "words"), BAD)
def test_bad_scenario_exit_2_names_key_and_writes_nothing(county, tmp_path, extra, key, words):
    scen = scenario_file(tmp_path, f"instance: {county}\n" + extra)
    res = solve_cli(scen, tmp_path / "out")
    assert res.exit_code == 2
    text = " ".join(res.output.split())
    assert f"key '{key}'" in text and words in text
    assert "Traceback" not in text
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["scenario.yaml"]


def test_missing_instance_folder_exit_2(tmp_path):
    scen = scenario_file(tmp_path, "instance: no/such/folder\nbudget: 10\n")
    res = solve_cli(scen, tmp_path / "out")
    assert res.exit_code == 2
    assert "key 'instance'" in res.output and "does not exist" in res.output
    assert not (tmp_path / "out").exists()


# ----------------------------------------------------------------------------- infeasible


def test_budget_below_must_open_cost_is_explained(county, tmp_path):
    inst = read_instance(county)
    hubs = inst.sites.loc[inst.sites["tier"] == "hub", "site_id"].tolist()[:4]
    scen = scenario_file(tmp_path, f"instance: {county}\nbudget: 2100000\n"
                         f"constraints: {{must_open: [{', '.join(hubs)}]}}\n")
    res = solve_cli(scen, tmp_path / "out")
    assert res.exit_code == 1
    sol = json.loads((tmp_path / "out" / "solution.json").read_text())
    assert sol["status"] == "infeasible" and sol["open_sites"] == []
    assert any("budget £2.1m is below" in s and "must_open sites" in s
               for s in sol["explanation"]), sol["explanation"]
    assert "must_open" in " ".join(res.output.split())


def _far_locality_instance(tmp_path: Path) -> Path:
    inst = synthetic_instance(120, seed=8)
    areas = inst.areas.copy()
    henley = areas.index[:5]
    areas.loc[henley, "locality"] = "Henley"
    areas.loc[henley, "x"] += 45_000  # beyond every site's reach, within 50 km of the others
    folder = tmp_path / "henley"
    folder.mkdir()
    write_instance(Instance(areas=areas, sites=inst.sites), folder)
    return folder


def test_unreachable_locality_floor_is_explained(tmp_path):
    folder = _far_locality_instance(tmp_path)
    scen = scenario_file(tmp_path, f"instance: {folder}\nbudget: 50000000\n"
                         "constraints: {locality_min_reach: 0.5}\n")
    sol = solve_scenario(load_scenario(scen))
    assert sol.status == "infeasible"
    assert any(s.startswith("locality Henley cannot reach 50%: no site within")
               and "outreach is off" in s for s in sol.explanation), sol.explanation
    # With outreach on, the same floor is met.
    scen = scenario_file(tmp_path, f"instance: {folder}\nbudget: 50000000\n"
                         "constraints: {locality_min_reach: 0.5}\n"
                         "outreach: {cost_per_worker: 40000, reach_per_worker: 200, "
                         "effectiveness: 0.6}\n", "with_outreach.yaml")
    sol = solve_scenario(load_scenario(scen))
    assert sol.status == "optimal"
    henley = next(loc for loc in sol.localities if loc["locality"] == "Henley")
    assert henley["reach_share"] >= 0.5 - 1e-6 and henley["outreach_workers"] > 0


def test_min_sites_above_available_is_explained(county, tmp_path):
    n = len(read_instance(county).sites)
    scen = scenario_file(tmp_path, f"instance: {county}\nbudget: 1e9\n"
                         f"constraints: {{min_sites: {n + 1}}}\n")
    sol = solve_scenario(load_scenario(scen))
    assert sol.status == "infeasible"
    assert sol.explanation[0] == f"min_sites is {n + 1} but only {n} sites may open"


# ----------------------------------------------------------------------------- Oxfordshire


def test_oxfordshire_max_reach_10m_is_proven_optimal(prepared, tmp_path):
    folder = prepared("Oxfordshire")
    scen = scenario_file(tmp_path, f"instance: {folder}\nobjective: max_reach\n"
                         "budget: 10000000\n"
                         "outreach: {cost_per_worker: 42000, reach_per_worker: 150, "
                         "effectiveness: 0.6}\n")
    res = solve_cli(scen, tmp_path / "out")
    assert res.exit_code == 0, res.output
    sol = json.loads((tmp_path / "out" / "solution.json").read_text())
    assert sol["status"] == "optimal" and sol["gap"] == 0.0
    assert sol["totals"]["annual_cost"] <= 10_000_000
    assert 0 < sol["totals"]["reach_share"] <= 1
    areas = pd.read_csv(tmp_path / "out" / "areas.csv")
    assert len(areas) == len(pd.read_csv(folder / "areas.csv"))


# ----------------------------------------------------------------------------- --out safety


@pytest.mark.parametrize("where", ["instance", "parent", "other_files", "a_file",
                                   "copied_solution"])
def test_out_never_replaces_inputs_or_unrelated_folders(tmp_path, where):
    # solve replaces its --out folder whole: '--out instance' used to delete the instance.
    folder = tmp_path / "instance"
    folder.mkdir()
    write_instance(synthetic_instance(60, seed=2), folder)
    scen = scenario_file(tmp_path, "instance: instance\nbudget: 2000000\n")
    out = {"instance": folder, "parent": tmp_path, "other_files": tmp_path / "notes",
           "a_file": tmp_path / "minutes.docx", "copied_solution": tmp_path / "archive"}[where]
    if where == "other_files":
        out.mkdir()
        (out / "minutes.docx").write_text("council notes")
    if where == "copied_solution":  # a solution.json copied by hand: not a folder solve wrote
        out.mkdir()
        (out / "solution.json").write_text("{}")
        (out / "minutes.docx").write_text("council notes")
    if where == "a_file":
        out.write_text("council notes")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    res = solve_cli(scen, out)
    assert res.exit_code == 2, res.output
    text = " ".join(res.output.split())
    assert f"--out {out}" in text and "hint: give a new" in text and "Traceback" not in text
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_out_may_replace_an_earlier_solved_folder(county, tmp_path):
    scen = scenario_file(tmp_path, base_yaml(county))
    assert solve_cli(scen, tmp_path / "out").exit_code == 0
    (tmp_path / "out" / "stale.csv").write_text("x\n")
    assert solve_cli(scen, tmp_path / "out").exit_code == 0
    assert not (tmp_path / "out" / "stale.csv").exists()
    assert (tmp_path / "out" / "solution.json").is_file()


def test_capacity_tables_follow_the_assignment(tmp_path):
    # With capacities an area may be served by a farther site than its nearest one; the tables
    # must say which site serves it and never show a site serving more than its capacity.
    inst = synthetic_instance(150, seed=11)
    areas = inst.areas.assign(need=1.0)  # demand = children, the unit of capacity
    sites = inst.sites.assign(capacity=np.where(inst.sites["tier"] == "hub", 300.0, 120.0))
    folder = tmp_path / "capacity"
    folder.mkdir()
    write_instance(Instance(areas=areas, sites=sites), folder)
    scen = scenario_file(tmp_path, f"instance: {folder}\nbudget: 2000000\n"
                         "tiers: {spoke: {effectiveness: 1.0}}\n")
    sol = solve_scenario(load_scenario(scen))
    assert sol.status == "optimal"
    a, s = sol.areas_table, sol.sites_table
    assert (s["demand_served"] <= s["capacity"] + 1e-6).all()
    assert s.loc[~s["open"], "demand_served"].eq(0).all()
    assert s["demand_served"].sum() == pytest.approx((a["demand"] * a["site_share"]).sum())
    # Every area a site serves names an open site within its reach; the others name none.
    served = a["site_share"] > 1e-9
    assert a.loc[served, "site_id"].isin(sol.open_sites).all()
    assert (a.loc[~served, "site_id"] == "").all()
    assert s.set_index("site_id")["areas_served"].sum() == served.sum()
    assert s.loc[s["open"], "demand_served"].gt(0).any()


# DESIGN.md's scenario example, verbatim but for the instance folder and real site ids in
# place of the '[site ids]' placeholders.
DESIGN_EXAMPLE = """\
name: oxfordshire-10m
instance: {instance}              # folder with areas.csv, sites.csv, optional travel.csv
objective: max_reach             # max_reach | min_cost | max_min_locality | evaluate
budget: 10000000                 # £ a year; max_reach and max_min_locality
annualise_years: 5               # one-off setup and closure costs count 1/5 a year against budget
target_reach: 0.9                # min_cost: share of need-weighted children to reach
network: [H01, H02]              # evaluate: the sites open (default: all existing sites)
reach:
  threshold_minutes: {{urban: 20, rural: 30}}   # or a single number for every area
outreach:                        # leave out to switch outreach off
  cost_per_worker: 42000
  reach_per_worker: 150          # need-weighted children one worker reaches
  effectiveness: 0.6
tiers:
  hub: {{effectiveness: 1.0}}
  spoke: {{effectiveness: 0.8, hub_within_km: 15}}
constraints:                     # each optional
  locality_min_reach: 0.5
  site_per_locality: true
  min_sites: 4
  max_sites: 12
  min_separation_km: 2
  must_open: [H01]
  must_close: [H03]
  deprived_max_minutes: 30       # areas in IMD deciles 1-2
solver: {{name: highs, time_limit_s: 60, gap: 0}}   # highs | cbc
"""


def test_design_example_scenario_is_accepted_as_written(prepared, tmp_path):
    folder = prepared("Oxfordshire")
    scen = scenario_file(tmp_path, DESIGN_EXAMPLE.format(instance=folder))
    res = solve_cli(scen, tmp_path / "out")
    # Every key is accepted; on Oxfordshire's 17 localities max_sites 12 cannot give every
    # locality a site, and the solution says so (exit 1: no plan).
    assert res.exit_code == 1, res.output
    sol = json.loads((tmp_path / "out" / "solution.json").read_text())
    assert sol["status"] == "infeasible"
    assert sol["explanation"][0] == ("max_sites is 12 but every one of the 17 localities "
                                     "needs a site")
    # With no plan, no note about gains against today's network (there are none to read).
    assert not any("gaining access" in s for s in sol["explanation"])
    assert any(s.startswith("network is used only by objective evaluate")
               for s in sol["explanation"])
    st = sol["settings"]
    assert st["constraints"] == {
        "locality_min_reach": 0.5, "site_per_locality": True, "min_sites": 4, "max_sites": 12,
        "min_separation_km": 2.0, "must_open": ["H01"], "must_close": ["H03"],
        "deprived_max_minutes": 30.0}
    assert st["tiers"] == {"hub": {"effectiveness": 1.0},
                           "spoke": {"effectiveness": 0.8, "hub_within_km": 15.0}}
    assert (st["budget"], st["annualise_years"], st["target_reach"], st["network"]) == (
        1e7, 5.0, 0.9, ["H01", "H02"])
    # With room for a site per locality, the service model (the default) cannot serve half of
    # every locality's need at £10m, and says the floor binds ...
    scen.write_text(DESIGN_EXAMPLE.format(instance=folder).replace("max_sites: 12",
                                                                   "max_sites: 20"))
    res = solve_cli(scen, tmp_path / "out")
    assert res.exit_code == 1, res.output
    sol = json.loads((tmp_path / "out" / "solution.json").read_text())
    assert any("the locality floor" in s for s in sol["explanation"]), sol["explanation"]
    # ... and DESIGN.md's coverage model solves the same file to proven optimality.
    scen.write_text(DESIGN_EXAMPLE.format(instance=folder).replace("max_sites: 12",
                                                                   "max_sites: 20").replace(
        "reach:\n", "reach:\n  model: coverage\n"))
    res = solve_cli(scen, tmp_path / "out")
    assert res.exit_code == 0, res.output
    sol = json.loads((tmp_path / "out" / "solution.json").read_text())
    assert sol["status"] == "optimal" and "H01" in sol["open_sites"]
    assert "H03" not in sol["open_sites"]
    assert all(loc["reach_share"] >= 0.5 - 1e-6 for loc in sol["localities"])
    assert sol["totals"]["annual_cost"] <= 1e7 + 1e-6
    # solution.json types as DESIGN.md lists them.
    names = [loc["locality"] for loc in sol["localities"]]
    assert len(names) == 17 and list(sol["outreach"]) == names
    assert all(isinstance(w, int) and w >= 0 for w in sol["outreach"].values())
    assert all(isinstance(loc["sites"], int) and isinstance(loc["outreach_workers"], int)
               and isinstance(loc["reach_share"], float) for loc in sol["localities"])
    assert all(isinstance(sol["totals"][k], float) for k in TOTALS_KEYS)
    assert isinstance(sol["change"]["areas_gaining"], list)
    assert isinstance(sol["open_sites"], list) and isinstance(sol["solve_seconds"], float)


def test_service_tables_never_exceed_capacity_or_caseload(county, tmp_path):
    # The service model (the default) on the synthetic county with capacities: every table
    # agrees with solution.json, no site serves more than its capacity, no locality's outreach
    # more than its workers' caseload, and the served children add up.
    inst = tmp_path / "inst"
    shutil.copytree(county, inst)
    sites = pd.read_csv(inst / "sites.csv")
    sites["capacity"] = np.where(sites["tier"] == "hub", 900.0, 300.0)
    sites.to_csv(inst / "sites.csv", index=False)
    scen = scenario_file(tmp_path, f"instance: {inst}\nobjective: max_reach\nbudget: 5000000\n"
                         "outreach: {cost_per_worker: 42000, caseload: 60, effectiveness: 0.6}\n"
                         "solver: {gap: 0.005}\n")
    res = solve_cli(scen, tmp_path / "out")
    assert res.exit_code == 0, res.output
    out = tmp_path / "out"
    sol = json.loads((out / "solution.json").read_text())
    assert sol["reach_model"] == "service" and sol["status"] in ("optimal", "feasible")
    assert sol["gap"] <= 0.005 + 1e-12
    areas, s, locs = (pd.read_csv(out / f"{n}.csv") for n in ("areas", "sites", "localities"))
    assert (s["children_served"] <= s["capacity"]).all()
    assert (s["utilisation"] <= 1).all() and s.loc[~s["open"], "children_served"].eq(0).all()
    assert (locs["outreach_served"] <= locs["outreach_capacity"]).all()
    assert (locs["outreach_capacity"] == locs["outreach_workers"] * 60).all()
    assert locs["outreach_workers"].sum() > 0  # outreach is bought, and used
    # Capacity binds somewhere: a centre full of children is what the service model is about.
    assert (s.loc[s["open"], "utilisation"] > 0.99).any()
    assert areas["children_served"].sum() == pytest.approx(sol["totals"]["children_reached"],
                                                           abs=0.5)
    assert (areas["demand"] * areas["reach_share"]).sum() == pytest.approx(
        sol["totals"]["need_reached"], rel=1e-6)
    assert (areas["children_served"] <= areas["population"] + 1e-6).all()


def test_summary_of_a_plan_worth_nothing_gives_no_gap(county, tmp_path):
    """A plan worth 0 beside a positive bound has no relative gap (it once read as 0.000%, and
    in a benchmark as 8e15): the summary says so, and solution.json's gap is null."""
    import dataclasses

    from optimiser.model._gap import relative_gap
    from optimiser.solve import summary_text

    sol = solve_scenario(load_scenario(scenario_file(tmp_path, base_yaml(county))))
    assert sol.status == "optimal" and sol.gap == 0.0
    summary = {**sol.summary, "status": "time_limit", "objective_value": 0.0,
               "best_bound": 250_000.0, "gap": relative_gap(250_000.0, 0.0)}
    stopped = dataclasses.replace(sol, summary=summary)
    assert stopped.gap is None
    assert "best bound 2.5e+05, no relative gap: the plan is worth 0" in summary_text(stopped)
    worse = dataclasses.replace(sol, summary={**summary, "gap": 0.02})
    assert "best bound 2.5e+05, gap 2.000%" in summary_text(worse)


@pytest.fixture(scope="module")
def new_county(tmp_path_factory) -> Path:
    """A small synthetic county with no sites open today (every site a candidate)."""
    inst = synthetic_instance(60, seed=3)
    folder = tmp_path_factory.mktemp("new_county") / "instance"
    folder.mkdir()
    write_instance(Instance(areas=inst.areas, sites=inst.sites.assign(status="candidate")),
                   folder)
    return folder


@pytest.mark.parametrize("model", ["service", "coverage"])
def test_a_budget_that_buys_nothing_says_so(new_county, tmp_path, model):
    """Below the cheapest site and worker the best plan is empty: 'optimal', but the solution
    says why and what would buy something (a council's £30k once read '0 centres, 0.0%')."""
    text = base_yaml(new_county, model=model).replace("5000000", "30000")
    sol = solve_scenario(load_scenario(scenario_file(tmp_path, text)))
    assert sol.status == "optimal" and sol.totals["sites_open"] == 0
    assert sol.explanation[-1] == (
        "the budget £30,000 buys nothing: the cheapest site costs £220k a year (with its set-up "
        "spread over annualise_years) and an outreach worker £42,000; raise the budget")


def test_every_site_open_says_more_money_buys_only_outreach(new_county, tmp_path):
    folder = tmp_path / "two_sites"
    folder.mkdir()
    inst = read_instance(new_county)
    write_instance(Instance(areas=inst.areas, sites=inst.sites.iloc[:2].reset_index(drop=True)),
                   folder)
    text = base_yaml(folder, model="service").replace("5000000", "900000000")
    sol = solve_scenario(load_scenario(scenario_file(tmp_path, text)))
    assert sol.totals["sites_open"] == 2
    assert sol.explanation[-1] == (
        "every site the instance offers is open (2 sites): more money buys only outreach; to "
        "compare more places, add candidate sites (optimiser prepare --candidates all-areas, or "
        "your own --sites file)")
    # One site short of all: no such note.
    fewer = base_yaml(new_county, model="service").replace("5000000", "900000000")
    sol = solve_scenario(load_scenario(scenario_file(tmp_path, fewer, "fewer.yaml")))
    assert not any(line.startswith("every site") for line in sol.explanation)
