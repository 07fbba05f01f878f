"""Multi-year plans against a brute force over every schedule, sharing no code with the model.

For each small random instance (2-3 years, up to 6 sites) every schedule of every site (open or
closed each year, today's sites starting open, candidates closed, no reopening, closures not
before their notice year) × every outreach allocation (0..2 workers per locality, each year) is
costed here, year by year (running costs, workers, one-off costs in the year they fall or spread
over ``annualise_years``), and kept when every year's spend is within that year's budget. Each
year's children served is the best assignment LP of ``test_service_enumeration`` (capacity,
take-up, tiers, outreach caseloads, floors) with that year's children. The plan value is the
discounted sum over the years.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from test_service_enumeration import best_assignment, make_case, model_for

from optimiser.model import FamilyCentreModel
from optimiser.model.years import MultiYearModel
from optimiser.scenario import parse_scenario

N_CASES = 20


def make_years_case(seed: int) -> dict:
    case = make_case(seed, "max_reach")
    rng = np.random.default_rng(5000 + seed)
    n_years = int(rng.choice([2, 3]))
    max_sites = 6 if n_years == 2 else 4
    keep = min(len(case["annual"]), max_sites)
    for key in ("status", "tier", "capacity", "annual", "setup", "closure"):
        case[key] = case[key][:keep]
    case["minutes"] = case["minutes"][:, :keep]
    c = case["scenario"]["constraints"]
    for key in ("must_open", "must_close"):
        c[key] = [s for s in c.get(key, []) if int(s[1:]) < keep]
        if not c[key]:
            c.pop(key)
    if "outreach" in case["scenario"]:
        case["scenario"]["outreach"]["max_workers_per_locality"] = 2
    start = float(rng.integers(8, 26))
    budgets = [max(start - float(rng.integers(0, 6)) * t, 1.0) for t in range(n_years)]
    case["years"] = [{"year": 2026 + t, "budget": b} for t, b in enumerate(budgets)]
    case["children"] = [1.0] + [float(rng.choice([0.9, 1.0, 1.2])) for _ in range(n_years - 1)]
    for entry, factor in zip(case["years"], case["children"], strict=True):
        if factor != 1.0:
            entry["children"] = factor
    case["multi_year"] = {
        "discount_rate": float(rng.choice([0.0, 0.035, 0.1])),
        "reopen": bool(rng.random() < 0.25),
        "close_new_sites": bool(rng.random() < 0.5),
        "one_off_costs": str(rng.choice(["in_year", "annualised"])),
    }
    if rng.random() < 0.4:
        case["multi_year"]["earliest_closure"] = {"default": 2027} if rng.random() < 0.5 \
            else {"s0": 2026 + n_years - 1}
    case["scenario"]["annualise_years"] = float(rng.choice([1, 2, 5]))
    return case


def multi_year_model(case: dict) -> MultiYearModel:
    one = model_for({**case, "budget": 1e9})
    keys = {k: v for k, v in case["scenario"].items()}
    keys.update({"instance": ".", "objective": "max_reach", "years": case["years"],
                 "multi_year": case["multi_year"],
                 "reach": {"max_minutes": case["limit"], "decay": case["decay"]}})
    return MultiYearModel.from_instance(one.instance, parse_scenario(keys))


# --------------------------------------------------------------------------- brute force


def site_schedules(case: dict, j: int) -> list[tuple[int, ...]]:
    """Every open (1) / closed (0) sequence over the years site j may follow."""
    years = [y["year"] for y in case["years"]]
    my = case["multi_year"]
    earliest = my.get("earliest_closure", {})
    notice = earliest.get(f"s{j}", earliest.get("default", 0))
    existing = case["status"][j] == "existing"
    out = []
    for seq in itertools.product([0, 1], repeat=len(years)):
        before, opens, ok = int(existing), 0, True
        for year, now in zip(years, seq, strict=True):
            if now > before:
                opens += 1
                ok &= my["reopen"] or not existing
            if now < before:
                ok &= year >= notice and (existing or my.get("close_new_sites", False))
            before = now
        if ok and (my["reopen"] or opens <= 1):
            out.append(seq)
    return out


def year_spend(case: dict, schedule: np.ndarray, t: int) -> float:
    """Year t's spend on sites (running + one-off costs falling in year t), workers apart."""
    years = [y["year"] for y in case["years"]]
    span = case["scenario"]["annualise_years"]
    start = (case["status"] == "existing").astype(int)
    spend = float(case["annual"][schedule[:, t] == 1].sum())
    for e in range(t + 1):
        before = start if e == 0 else schedule[:, e - 1]
        opened = (schedule[:, e] == 1) & (before == 0)
        closed = (schedule[:, e] == 0) & (before == 1)
        if case["multi_year"]["one_off_costs"] == "in_year":
            share = 1.0 if e == t else 0.0
        else:
            share = 1.0 / span if 0 <= years[t] - years[e] < span else 0.0
        spend += share * float(case["setup"][opened].sum() + case["closure"][closed].sum())
    return spend


def brute_force(case: dict) -> float | None:
    m = len(case["annual"])
    n_years = len(case["years"])
    out = case["scenario"].get("outreach")
    worker_sets = list(itertools.product(range(3), repeat=2)) if out else [(0, 0)]
    c = case["scenario"]["constraints"]
    must = [int(s[1:]) for s in c.get("must_open", [])]
    never = [int(s[1:]) for s in c.get("must_close", [])]
    rate = case["multi_year"]["discount_rate"]
    memo: dict = {}

    def value(t: int, open_: tuple, workers: tuple) -> float | None:
        key = (t, open_, workers)
        if key not in memo:
            year_case = {**case, "pop": case["pop"] * case["children"][t]}
            got = best_assignment(year_case, np.array(open_, dtype=bool), workers)
            memo[key] = None if got is None else got[0]
        return memo[key]

    best = None
    options = [site_schedules(case, j) for j in range(m)]
    for combo in itertools.product(*options):
        schedule = np.array(combo).reshape(m, n_years)
        if any(not schedule[j].all() for j in must) or any(schedule[j].any() for j in never):
            continue
        total = 0.0
        for t in range(n_years):
            room = case["years"][t]["budget"] - year_spend(case, schedule, t)
            open_ = tuple(bool(v) for v in schedule[:, t])
            vals = [value(t, open_, w) for w in worker_sets
                    if room - sum(w) * (out["cost_per_worker"] if out else 0) >= -1e-9]
            vals = [v for v in vals if v is not None]
            if not vals:
                total = None
                break
            total += max(vals) / (1 + rate) ** t
        if total is not None and (best is None or total > best):
            best = total
    return best


# --------------------------------------------------------------------------- tests


def test_multi_year_model_matches_brute_force_over_every_schedule():
    compared = infeasible = 0
    for seed in range(80):
        case = make_years_case(seed)
        expected = brute_force(case)
        plan = multi_year_model(case).solve()
        if expected is None:
            assert plan.status == "infeasible", seed
            infeasible += 1
            continue
        assert plan.status == "optimal", (seed, plan.status)
        assert plan.objective_value == pytest.approx(expected, rel=1e-6, abs=1e-6), seed
        check_schedule(case, plan)
        compared += 1
        if compared == N_CASES:
            break
    assert compared == N_CASES


def check_schedule(case: dict, plan) -> None:
    """Every year's spend (costed here) within its budget; no reopening; notice kept."""
    schedule = np.array([r.open for r in plan.results]).T.astype(int)
    for t, entry in enumerate(case["years"]):
        workers = int(plan.results[t].workers.sum())
        out = case["scenario"].get("outreach")
        spend = year_spend(case, schedule, t) + (workers * out["cost_per_worker"] if out else 0)
        assert spend <= entry["budget"] + 1e-6
        assert plan.spend[t] == pytest.approx(spend, abs=1e-6)
    for j in range(len(case["annual"])):
        assert tuple(schedule[j]) in site_schedules(case, j)


@pytest.mark.parametrize("seed", range(8))
def test_one_year_plan_is_the_single_year_answer(seed):
    """One year, one-off costs annualised: the single-year model's plan and value exactly.
    In-year one-off costs are the single-year model with annualise_years 1."""
    case = make_case(seed, "max_reach")
    if "outreach" in case["scenario"]:
        case["scenario"]["outreach"]["max_workers_per_locality"] = 2
    for one_off, years in (("annualised", case["scenario"]["annualise_years"]), ("in_year", 1)):
        single_case = {**case, "scenario": {**case["scenario"], "annualise_years": years}}
        single = model_for(single_case).solve()
        multi_case = {**single_case, "years": [{"year": 2026, "budget": case["budget"]}],
                      "multi_year": {"one_off_costs": one_off}}
        multi = multi_year_model(multi_case).solve()
        if not single.has_plan:
            assert not multi.has_plan
            continue
        assert multi.status == single.status == "optimal"
        assert multi.objective_value == pytest.approx(single.objective_value, rel=1e-9)
        assert multi.spend[0] == pytest.approx(single.annual_cost, abs=1e-6)


def test_closures_wait_for_their_notice_and_sites_do_not_reopen():
    """Two existing hubs, the budget for one from the first year: closing waits a year."""
    minutes = np.array([[5.0, 50.0], [50.0, 5.0]])
    one = FamilyCentreModel.from_cost_matrix(
        minutes, demand=[20.0, 10.0], budget=1e9, annual_cost=[4.0, 4.0],
        status=["existing", "existing"], capacity=[100.0, 100.0])
    keys = {"instance": ".", "years": [{"year": 2026, "budget": 8}, {"year": 2027, "budget": 4},
                                       {"year": 2028, "budget": 8}]}
    plan = MultiYearModel.from_instance(one.instance, parse_scenario(keys)).solve()
    assert [r.open.tolist() for r in plan.results] == [[True, True], [True, False],
                                                       [True, False]]
    keys["years"][0]["budget"] = 4
    keys["multi_year"] = {"earliest_closure": 2027}
    plan = MultiYearModel.from_instance(one.instance, parse_scenario(keys)).solve()
    assert plan.status == "infeasible"
    keys["multi_year"]["reopen"] = True
    keys["years"][0]["budget"] = 8
    plan = MultiYearModel.from_instance(one.instance, parse_scenario(keys)).solve()
    assert [r.open.tolist() for r in plan.results] == [[True, True], [True, False],
                                                       [True, True]]


# --------------------------------------------------------------------------- scenario keys


def _scenario_error(keys: dict) -> str:
    from optimiser.errors import ScenarioError

    with pytest.raises(ScenarioError) as err:
        parse_scenario({"instance": ".", **keys})
    return str(err.value)


@pytest.mark.parametrize("keys, words", [
    ({"budget": 5, "years": [{"year": 2026, "budget": 5}]},
     "budget and years are both given"),
    ({"objective": "min_cost", "target_reach": 0.5, "years": [{"year": 2026, "budget": 5}]},
     "years works with objective max_reach, not min_cost"),
    ({"years": [{"year": 2027, "budget": 5}, {"year": 2026, "budget": 4}]},
     "the years are not in increasing order without repeats"),
    ({"years": [{"year": 2026, "budget": 5, "saving": 1}]},
     "year 2026 gives budget and saving"),
    ({"years": [{"year": 2026}]}, "year 2026 gives no budget"),
    ({"years": [{"year": 2026, "saving": 1}]},
     "years give savings but no base budget to take them from"),
    ({"years": [{"year": 2026, "saving_share": 0.6}, {"year": 2027, "saving_share": 0.6}],
      "multi_year": {"base_budget": 10}},
     "the savings add up to more than the base budget"),
    ({"budget": 5, "multi_year": {"reopen": True}}, "multi_year is used only with years"),
    ({"years": []}, "years is empty"),
    ({"years": [{"year": 2026, "budget": 5}], "multi_year": {"growth": "fast"}},
     "multi_year.growth"),
])
def test_bad_multi_year_scenarios_are_one_clear_error(keys, words):
    assert words in _scenario_error(keys)


def test_savings_profile_budgets():
    s = parse_scenario({"instance": ".", "multi_year": {"base_budget": 15_950_000},
                        "years": [{"year": 2026, "saving_share": 0.11353},
                                  {"year": 2027, "saving_share": 0.09542},
                                  {"year": 2028, "saving": 100_000}]})
    b = s.year_budgets()
    assert b[0] == pytest.approx(15_950_000 * (1 - 0.11353))
    assert b[1] == pytest.approx(15_950_000 * (1 - 0.11353 - 0.09542))
    assert b[2] == pytest.approx(b[1] - 100_000)


# --------------------------------------------------------------------------- growth


def test_trend_uses_published_years_then_a_straight_line(mirror):
    import pandas as pd

    from optimiser.growth import TREND_FILE, trend_factors

    table = pd.read_csv(mirror / TREND_FILE, dtype={"new_la_code": str})
    ox = table[(table["geographic_level"] == "Local authority")
               & (table["new_la_code"] == "E10000025")].set_index("time_period")
    series = ox["population_estimate"].astype(float).sort_index()
    assert len(series) == 13  # mid-2012 to mid-2024
    f = trend_factors(series, 2019, [2019, 2024, 2026])
    assert f[0] == 1.0
    assert f[1] == pytest.approx(156_647 / 144_429)
    recent = series.loc[2019:2024]
    slope, icpt = np.polyfit(recent.index.to_numpy(float), recent.to_numpy(float), 1)
    assert f[2] == pytest.approx((slope * 2026 + icpt) / 144_429)
    assert f[2] > f[1]  # Oxfordshire's children have grown every year since 2015


def test_growth_file_overrides_the_trend_for_a_locality(tmp_path):
    from optimiser.growth import area_factors
    from optimiser.instance import Instance

    one = FamilyCentreModel.from_cost_matrix(
        np.array([[5.0], [5.0], [5.0]]), demand=[10.0, 30.0, 20.0],
        locality=["Bicester", "Bicester", "Banbury"], budget=1)
    (tmp_path / "growth.csv").write_text(
        "locality,year,extra_children\nBicester,2028,20\nBicester,2031,99\n")
    scen = parse_scenario({
        "instance": ".", "years": [{"year": 2027, "budget": 1},
                                   {"year": 2028, "budget": 1, "children": 1.1}],
        "multi_year": {"growth_file": str(tmp_path / "growth.csv")}})
    inst = Instance(areas=one.instance.areas, sites=one.instance.sites)
    f = area_factors(scen, inst)
    # The year's own children: factor is applied to every area after the file.
    assert f[1].tolist() == [1.1, 1.1, 1.1]
    scen.years[1].children = None
    f = area_factors(scen, inst)
    pop = np.array([10.0, 30.0, 20.0])
    assert f[0].tolist() == [1.0, 1.0, 1.0]
    assert (pop * f[1]).tolist() == pytest.approx([15.0, 45.0, 20.0])  # 40 + 20, shared 1:3


@pytest.mark.parametrize("text, words", [
    ("place,year,children\nX,2028,5\n", "needs the columns year, one of area_id or locality"),
    ("locality,year,children\nBicester,twenty,5\n", "'twenty' is not a number"),
    ("locality,year,children\nBicester,2028,-5\n", "'-5' is not a number"),
    ("locality,year,children\nNowhere,2028,5\n", "locality 'Nowhere' is not in the instance"),
    ("locality,year,extra_children\nBicester,2028,-4\nBicester,2028,-7\n",
     "locality 'Bicester' would have -1 children in 2028"),
])
def test_bad_growth_files_are_one_clear_error(tmp_path, text, words):
    from optimiser.errors import InputError
    from optimiser.growth import area_factors
    from optimiser.instance import Instance

    one = FamilyCentreModel.from_cost_matrix(np.array([[5.0]]), demand=[10.0],
                                             locality=["Bicester"], budget=1)
    (tmp_path / "g.csv").write_text(text)
    scen = parse_scenario({"instance": ".", "years": [{"year": 2028, "budget": 1}],
                           "multi_year": {"growth_file": str(tmp_path / "g.csv")}})
    with pytest.raises(InputError) as err:
        area_factors(scen, Instance(areas=one.instance.areas, sites=one.instance.sites))
    assert words in str(err.value)


# --------------------------------------------------------------------------- the pack


@pytest.mark.slow
def test_pack_shows_a_multi_year_plan_year_by_year(prepared, tmp_path):
    """The Oxfordshire four-year plan's pack: the year-by-year table (every year, spend within
    budget), its chart, and what changes in each locality and when, on the page and in the PDF."""
    import pypdf

    from optimiser.demo import costed_instance, scenario_copy, scenarios_dir
    from optimiser.report import build_pack
    from optimiser.scenario import load_scenario
    from optimiser.solve import solve_scenario

    instance = costed_instance(prepared("Oxfordshire", "0-19"), tmp_path / "instance")
    scen = load_scenario(scenario_copy(scenarios_dir() / "oxfordshire" / "four_years.yaml",
                                       instance, tmp_path / "scenarios"))
    scen = scen.with_changes(solver={"gap": 0.05, "time_limit_s": 120})
    solve_scenario(scen).write(tmp_path / "solved")
    build_pack(tmp_path / "solved", tmp_path / "pack")
    html = (tmp_path / "pack" / "index.html").read_text()
    assert "Year by year" in html and "What changes in my area, and when" in html
    years = pd.read_csv(tmp_path / "solved" / "years.csv")
    for row in years.itertuples():
        assert f"<td class=\"num\">{row.year}</td>" in html
        assert row.annual_cost <= row.budget + 1e-6
    assert (tmp_path / "pack" / "charts" / "years.svg").is_file()
    # The money table is the final year's, adding up to that year's budget.
    last = years.iloc[-1]
    assert f"Centres in {last.year}: running costs" in html
    assert f"£{last.budget:,.0f}</td>" in html.split("Whole budget", 1)[1][:200]
    by_loc = pd.read_csv(tmp_path / "solved" / "localities_years.csv")
    for loc in by_loc["locality"].unique():
        assert f"<b>{loc}</b>:" in html
    text = "".join(page.extract_text() for page in pypdf.PdfReader(
        tmp_path / "pack" / "pack.pdf").pages)
    assert "Year by year" in text and "What changes in my area, and when" in text
