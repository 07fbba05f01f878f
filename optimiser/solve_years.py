"""``optimiser solve`` for a scenario with ``years:``: a plan over several years.

The solved folder is the final year's plan (``areas.csv``, ``sites.csv``, ``localities.csv``
and ``solution.json`` as for one year, so ``report`` and ``compare`` read it as usual), plus:

- ``years.csv``: one row per year: budget, spend (one-off costs included), sites open, what opens
  and closes, outreach workers, children served, need-weighted share served overall and in the
  most deprived areas (IMD deciles 1-2);
- ``schedule.csv``: one row per site: open or closed in each year, and the year it opens or
  closes;
- ``localities_years.csv``: one row per locality and year: open sites, outreach workers,
  children served and the need-weighted share served (what changes in each area, and when);
- ``areas_years.csv``: one row per area and year: that year's children and need-weighted
  children, the shares reached by a site and by outreach, the reach share, children served, what
  reaches the area, whether today's network reaches it, and its change against today's network
  (gains, loses, same: the rule of ``areas.csv``, :func:`optimiser.solution.area_change`, with
  today's network serving that year's children). No counts of children in need or on
  protection plans (``areas.csv`` copies the instance's columns; this file does not). The final
  year's rows are ``areas.csv``'s figures;
- ``solution.json`` ``years``: one object per year with ``year``, ``budget``, ``annual_cost``
  (that year's spend, one-off costs included), ``open_sites`` and ``reach_share``, and the
  rest of the ``years.csv`` row. ``objective_value`` is the (discounted) sum over the years.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.instance import Instance
from optimiser.model.explain import money
from optimiser.model.years import MultiYearModel, MultiYearResult
from optimiser.scenario import Scenario
from optimiser.solution import (
    Solution,
    area_change,
    area_reached_by,
    baseline_shares,
    build_solution,
)

UNIT = "need-weighted children served, summed over the years"


def solve_years(scenario: Scenario, instance: Instance) -> Solution:
    """Build and solve the multi-year model; the final year's solution with the years added."""
    model = MultiYearModel.from_instance(instance, scenario)
    plan = model.solve()
    explanation = _explanation(model, plan) + scenario.unused_keys()
    last = plan.years[-1]
    sol = build_solution(
        last.model, plan.results[-1], last.instance, scenario_name=scenario.name,
        scenario_file=scenario.source, settings=scenario.settings_dict(),
        explanation=explanation)
    discounted = bool(scenario.multi_year and scenario.multi_year.discount_rate)
    sol.summary.update({
        "objective_unit": UNIT + (", discounted" if discounted else ""),
        "status": plan.status, "status_detail": plan.status_detail,
        "objective_value": _round(plan.objective_value), "best_bound": _round(plan.best_bound),
        "gap": _round(plan.gap, 9), "solve_seconds": round(plan.solve_seconds, 3),
        "build_seconds": round(model.build_seconds, 3),
    })
    if not plan.has_plan:
        sol.summary["years"] = []
        return sol
    _final_year_totals(sol, plan)
    table = years_table(plan)
    sol.summary["years"] = table.replace({np.nan: None}).to_dict(orient="records")
    sol.extra_tables = {"years.csv": table, "schedule.csv": schedule_table(plan, instance),
                        "localities_years.csv": localities_years_table(plan),
                        "areas_years.csv": areas_years_table(plan)}
    return sol


def _final_year_totals(sol: Solution, plan: MultiYearResult) -> None:
    """The final year's totals as that year spends: its one-off costs as they fall."""
    t = sol.summary["totals"]
    spend = plan.spend[-1]
    one_off = spend - t["running_cost"] - t["outreach_cost"]
    t.update({"annual_cost": round(spend, 2), "budget": plan.years[-1].budget,
              "setup_cost_annualised": None, "closure_cost_annualised": None,
              "one_off_cost": round(one_off, 2)})


def years_table(plan: MultiYearResult) -> pd.DataFrame:
    """One row per year (see the module docstring)."""
    rows = []
    before = plan.years[0].model.data.existing
    ids = np.array(plan.years[0].model.data.site_ids, dtype=object)
    for yr, r, spend in zip(plan.years, plan.results, plan.spend, strict=True):
        d = yr.model.data
        deprived = _deprived(yr.instance)
        served = d.demand * r.reach_share
        rows.append({
            "year": yr.year, "budget": yr.budget, "annual_cost": round(spend, 2),
            "open_sites": ids[r.open].tolist(), "sites_open": int(r.open.sum()),
            "opened": ";".join(ids[r.open & ~before]), "closed": ";".join(ids[~r.open & before]),
            "outreach_workers": int(r.workers.sum()),
            "children_factor": round(yr.children_ratio, 6),
            "children_served": round(float(np.dot(d.population, r.children_served)), 2),
            "need_reached": round(r.need_reached, 6),
            "reach_share": round(r.need_reached / r.need_total if r.need_total else 1.0, 6),
            "reach_share_deprived": (round(float(served[deprived].sum()
                                                 / d.demand[deprived].sum()), 6)
                                     if d.demand[deprived].sum() > 0 else None),
        })
        before = r.open
    return pd.DataFrame(rows)


def localities_years_table(plan: MultiYearResult) -> pd.DataFrame:
    """One row per locality and year: open sites, outreach workers, children served, share."""
    rows = []
    for yr, r in zip(plan.years, plan.results, strict=True):
        d = yr.model.data
        n_loc = len(d.localities)
        sites = np.bincount(d.site_locality[r.open], minlength=n_loc)
        served = np.bincount(d.area_locality, weights=d.population * r.children_served,
                             minlength=n_loc)
        need = d.locality_need()
        reached = r.locality_reached(yr.model)
        for loc, name in enumerate(d.localities):
            rows.append({
                "year": yr.year, "locality": name, "sites": int(sites[loc]),
                "outreach_workers": int(r.workers[loc]) if len(r.workers) else 0,
                "children_served": float(np.floor(served[loc] + 1e-9)),
                "reach_share": round(float(reached[loc] / need[loc]), 6) if need[loc] > 0
                else None})
    return pd.DataFrame(rows)


def areas_years_table(plan: MultiYearResult) -> pd.DataFrame:
    """One row per area and year (see the module docstring), the years in order."""
    parts, today = [], None
    for yr, r in zip(plan.years, plan.results, strict=True):
        d = yr.model.data
        if today is None or not np.array_equal(today[0], d.population):
            # Today's network serving this year's children (one evaluation per population).
            today = (d.population, baseline_shares(yr.model)[0])
        parts.append(pd.DataFrame({
            "area_id": yr.instance.areas["area_id"].to_numpy(), "year": yr.year,
            "population": d.population, "demand": np.round(d.demand, 6),
            "site_share": np.round(r.site_share, 6),
            "outreach_share": np.round(r.outreach_share, 6),
            "reach_share": np.round(r.reach_share, 6),
            "children_served": np.round(d.population * r.children_served, 2),
            "reached": r.reached, "reached_by": area_reached_by(r),
            "reached_before": today[1], "change": area_change(r.reached, today[1])}))
    return pd.concat(parts, ignore_index=True)


def schedule_table(plan: MultiYearResult, instance: Instance) -> pd.DataFrame:
    """One row per site: open (True) or not in each year, and when it opens or closes."""
    sites = instance.sites
    d = plan.years[0].model.data
    tab = sites[["site_id", "name", "status", "tier"]].copy()
    tab["locality"] = [d.localities[k] for k in d.site_locality]
    existing = sites["status"].eq("existing").to_numpy()
    state = np.array([r.open for r in plan.results]).T  # sites × years
    years = [yr.year for yr in plan.years]
    for t, year in enumerate(years):
        tab[f"open_{year}"] = state[:, t]
    start = np.c_[existing, state[:, :-1]]
    # Whole years, blank when none (a column of ints and None would be written as floats).
    tab["opens"] = pd.array([_first(years, state[j] & ~start[j]) for j in range(len(tab))],
                            dtype="Int64")
    tab["closes"] = pd.array([_first(years, ~state[j] & start[j]) for j in range(len(tab))],
                             dtype="Int64")
    return tab


def _first(years: list[int], events: np.ndarray) -> int | None:
    hits = np.flatnonzero(events)
    return int(years[hits[0]]) if len(hits) else None


def _deprived(instance: Instance) -> np.ndarray:
    areas = instance.areas
    if "imd_decile" not in areas.columns:
        return np.zeros(len(areas), dtype=bool)
    return pd.to_numeric(areas["imd_decile"], errors="coerce").le(2).to_numpy()


def _explanation(model: MultiYearModel, plan: MultiYearResult) -> list[str]:
    s = model.years[0].model.settings
    if plan.status == "infeasible":
        return ["no schedule keeps every year within its budget and the rules: "
                + "; ".join(f"{yr.year} {money(yr.budget)}" for yr in model.years)
                + " (check that the first year's budget covers today's sites or their "
                  "closure costs, and the closure notice)"]
    if not plan.has_plan:
        return [f"no plan was found within the time limit of {s.time_limit_s:g} s; raise "
                "solver.time_limit_s or the gap"]
    notes = [f"a plan over {len(model.years)} years ({model.years[0].year}-"
             f"{model.years[-1].year}); the tables show the final year, years.csv and "
             "schedule.csv every year"]
    if plan.status == "time_limit" and plan.gap is not None:
        notes.append(f"stopped at the time limit of {s.time_limit_s:g} s: the plan is within "
                     f"{100 * plan.gap:.2f}% of the best possible")
    return notes


def _round(x: float | None, nd: int = 6) -> float | None:
    return None if x is None else round(float(x), nd)
