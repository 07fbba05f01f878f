"""A solved scenario: ``solution.json``, the three tables, and the change against today.

What the numbers mean (the same words are in the README and the pack):

- **need-weighted children** of an area: population × need (its demand a_i).
- **site share** of an area: the share of it reached by an open site within its travel-time
  threshold, counted at the site tier's effectiveness (a hub counts 1, a spoke e.g. 0.8).
- **outreach share**: the share reached by outreach workers instead (counted at the outreach
  effectiveness α, e.g. 0.6, in ``reach_share``).
- **reach share** of an area = site share + α × outreach share; of a locality or the county =
  need-weighted children reached ÷ need-weighted children (``need_reached / need_total``).
- **reached** (true/false): more than half of the area is covered by a site or outreach.
- **children reached**: children (not need-weighted) in reached shares, counted once whether
  reached by a site or outreach, with no effectiveness discount.
- **change against today**: today's network is every ``existing`` site open, no outreach (and no
  capacities). An area *gains* when it is reached now and was not under today's network, *loses*
  the other way round.

Examples
--------
>>> sol = solve_scenario(load_scenario("scenario.yaml"))   # doctest: +SKIP
>>> sol.status, sol.totals["reach_share"]                  # doctest: +SKIP
('optimal', 0.83)
>>> sol.write("out/solved")                                # doctest: +SKIP

The solved folder holds ``solution.json``, ``areas.csv``, ``sites.csv``, ``localities.csv``,
``scenario.yaml`` and ``plan.gpkg`` (the plan for QGIS, :mod:`optimiser.report.gpkg`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimiser.files import atomic_output_dir, write_csv, write_json
from optimiser.instance import Instance
from optimiser.model.formulation import FamilyCentreModel, ModelResult
from optimiser.travel import nearest_open_site

BASELINE = "existing sites"


@dataclass
class Solution:
    """Everything ``solve`` reports; :meth:`write` makes the solved folder.

    ``summary`` holds the ``solution.json`` keys, also readable as attributes (``sol.status``,
    ``sol.totals``, ``sol.localities``, ...); ``areas_table``, ``sites_table`` and
    ``localities_table`` are the CSV tables (``None`` when there is no plan, e.g. infeasible).
    """

    summary: dict[str, Any]
    areas_table: pd.DataFrame | None = None
    sites_table: pd.DataFrame | None = None
    localities_table: pd.DataFrame | None = None
    scenario_file: Path | None = None
    #: More tables for the folder, by file name (a multi-year plan's years.csv, schedule.csv).
    extra_tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    model: FamilyCentreModel | None = field(default=None, repr=False)
    result: ModelResult | None = field(default=None, repr=False)

    def __getattr__(self, name: str) -> Any:
        # Solution.status, .open_sites, .totals, ... read the solution.json keys.
        summary = self.__dict__.get("summary", {})
        if name in summary:
            return summary[name]
        raise AttributeError(name)

    def write(self, out: str | Path, *, gpkg: bool = True,
              reads: Iterable[str | Path | None] = ()) -> Path:
        """Write the solved folder atomically (nothing is left behind if anything fails).

        ``gpkg=False`` leaves out ``plan.gpkg`` (for a folder only the report reads); ``reads``
        are the inputs of the run, which ``out`` must not replace."""
        with atomic_output_dir(out, reads=reads) as tmp:
            write_json(tmp / "solution.json", self.summary)
            if self.areas_table is not None:
                write_csv(tmp / "areas.csv", self.areas_table)
                write_csv(tmp / "sites.csv", self.sites_table)
                write_csv(tmp / "localities.csv", self.localities_table)
            for name, table in self.extra_tables.items():
                write_csv(tmp / name, table)
            if self.scenario_file is not None and Path(self.scenario_file).is_file():
                shutil.copyfile(self.scenario_file, tmp / "scenario.yaml")
            if gpkg and self.areas_table is not None:
                _write_plan_gpkg(tmp)
        return Path(out)


def _write_plan_gpkg(folder: Path) -> None:
    """``plan.gpkg`` for QGIS, from the tables just written (:mod:`optimiser.report.gpkg`)."""
    from optimiser.report.gpkg import write_plan
    from optimiser.report.solved import read_solved

    write_plan(read_solved(folder), folder)


def _floor(x):
    """Whole children, rounded down (solver noise never shows a site above its capacity)."""
    return np.floor(np.asarray(x, dtype=float) + 1e-6)


def _r(x: float | None, nd: int = 6) -> float | None:
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return None
    return float(round(float(x), nd))


def baseline_shares(model: FamilyCentreModel) -> tuple[np.ndarray, np.ndarray]:
    """Per area under today's network (every existing site open, no outreach): (reached or
    served, reach share). Coverage model: reached by an existing site in reach, at its tier's
    effectiveness, no capacities. Service model: today's sites serving what their capacities
    and the decay allow (the network evaluated)."""
    d = model.data
    if model.settings.reach_model == "service":
        if not d.existing.any():
            return np.zeros(d.n_areas, dtype=bool), np.zeros(d.n_areas)
        today = model.relaxed(objective="evaluate", network=None, outreach=False,
                              budget=None).solve()
        return today.reached, today.reach_share
    eff = model.site_effectiveness()
    share = np.zeros(d.n_areas)
    r = d.reach
    ok = d.existing[r.site]
    np.maximum.at(share, r.area[ok], eff[r.site[ok]])
    return model.reach.access(d.existing), share


def area_reached_by(result: ModelResult) -> np.ndarray:
    """Per area, what reaches it: ``"site"``, ``"outreach"`` (the larger share) or ``"none"``
    (not reached: half or less of it covered)."""
    return np.where(~result.reached, "none",
                    np.where(result.site_cover >= result.outreach_share, "site", "outreach"))


def area_change(reached: np.ndarray, reached_before: np.ndarray) -> np.ndarray:
    """Per area, the change against today's network: ``"gains"`` (reached now, not under
    today's network), ``"loses"`` (the other way round) or ``"same"``.

    >>> area_change(np.array([True, False, True]), np.array([False, True, True])).tolist()
    ['gains', 'loses', 'same']
    """
    return np.where(reached & ~reached_before, "gains",
                    np.where(~reached & reached_before, "loses", "same"))


def build_solution(
    model: FamilyCentreModel,
    result: ModelResult,
    instance: Instance,
    *,
    scenario_name: str,
    scenario_file: Path | None,
    settings: dict[str, Any],
    explanation: list[str],
) -> Solution:
    """Tables and solution.json keys from a solved model."""
    d, s = model.data, model.settings
    summary: dict[str, Any] = {
        "scenario": scenario_name,
        "scenario_file": str(scenario_file) if scenario_file else None,
        "instance": str(instance.folder.resolve()) if instance.folder else None,
        "objective": s.objective,
        "objective_unit": model.objective.unit,
        "reach_model": s.reach_model,
        "status": result.status,
        "status_detail": result.status_detail,
        "objective_value": _r(result.objective_value),
        "best_bound": _r(result.best_bound),
        "gap": _r(result.gap, 9),
        "solve_seconds": _r(result.solve_seconds, 3),
        "build_seconds": _r(result.build_seconds, 3),
        "solver": s.solver,
    }
    covered_before, share_before = baseline_shares(model)
    if result.objective_value is None:
        summary.update({
            "open_sites": [], "outreach": {}, "totals": None, "localities": [],
            "change": None, "explanation": explanation, "settings": settings,
        })
        return Solution(summary=summary, scenario_file=scenario_file, model=model,
                        result=result)

    open_ = result.open
    reach_share = result.reach_share
    reached = result.reached
    reached_by = area_reached_by(result)
    serving = result.shares.serving
    nearest, minutes = nearest_open_site(instance, model.scenario.reach, open_)
    site_ids = np.array(d.site_ids, dtype=object)

    areas = instance.areas
    tab = pd.DataFrame({
        "area_id": areas["area_id"].to_numpy(),
        "name": areas["name"].to_numpy(),
        "locality": areas["locality"].to_numpy(),
        "population": areas["population"].to_numpy(),
        "need": areas["need"].to_numpy(),
        "demand": np.round(d.demand, 6),
        "rural": areas["rural"].to_numpy(dtype=bool),
    })
    if "imd_decile" in areas.columns:
        tab["imd_decile"] = areas["imd_decile"].to_numpy()
    tab["site_share"] = np.round(result.site_share, 6)
    tab["outreach_share"] = np.round(result.outreach_share, 6)
    tab["reach_share"] = np.round(reach_share, 6)
    tab["reached"] = reached
    tab["reached_by"] = reached_by
    tab["site_id"] = np.where(serving >= 0, site_ids[np.maximum(serving, 0)], "")
    tab["travel_minutes"] = np.round(minutes, 2)
    tab["reached_before"] = covered_before
    tab["change"] = area_change(reached, covered_before)
    tab["children_served"] = np.round(d.population * result.children_served, 2)
    # The open site travel_minutes is measured to (any distance), so a table of areas that lose
    # access can say where their families' nearest centre now is.
    tab["nearest_site_id"] = np.where(nearest >= 0, site_ids[np.maximum(nearest, 0)], "")
    extra = [c for c in areas.columns if c not in tab.columns and c not in ("x", "y")]
    for c in extra:
        tab[c] = areas[c].to_numpy()

    # Sites table.
    sites = instance.sites.copy()
    sites["open"] = open_
    sites["decision"] = np.where(
        d.existing, np.where(open_, "keep", "close"), np.where(open_, "open_new", "not_opened"))
    sites["areas_served"] = np.bincount(serving[serving >= 0], minlength=d.n_sites)
    # Rounded down to whole children so no table shows a site above its capacity.
    sites["children_served"] = _floor(result.shares.site_children)
    sites["demand_served"] = np.round(result.shares.site_demand, 6)
    with np.errstate(invalid="ignore", divide="ignore"):
        sites["utilisation"] = np.round(sites["children_served"] / sites["capacity"], 4)

    # Localities table.
    need_l = d.locality_need()
    reached_l = result.locality_reached(model)
    served_l = np.bincount(d.area_locality, weights=d.population * result.children_served,
                           minlength=len(d.localities))
    pop_l = np.bincount(d.area_locality, weights=d.population, minlength=len(d.localities))
    with np.errstate(invalid="ignore", divide="ignore"):
        share_l = np.where(need_l > 0, reached_l / need_l, 1.0)
    mins = np.nan_to_num(minutes, nan=0.0)
    has_min = np.isfinite(minutes)
    w = d.population * has_min
    mean_min = np.bincount(d.area_locality, weights=w * mins, minlength=len(d.localities))
    wsum = np.bincount(d.area_locality, weights=w, minlength=len(d.localities))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_min = np.where(wsum > 0, mean_min / wsum, np.nan)
    floor = s.locality_min_reach
    loc_rows = []
    for loc, name in enumerate(d.localities):
        members = [d.site_ids[j] for j in np.flatnonzero(open_ & (d.site_locality == loc))]
        loc_rows.append({
            "locality": name,
            "population": _r(pop_l[loc]),
            "need_total": _r(need_l[loc]),
            "need_reached": _r(reached_l[loc]),
            "reach_share": _r(share_l[loc]),
            "sites": len(members),
            "site_ids": ";".join(members),
            "outreach_workers": int(result.workers[loc]) if len(result.workers) else 0,
            "mean_travel_minutes": _r(mean_min[loc], 2),
            "floor": floor,
            "meets_floor": (None if floor is None
                            else bool(share_l[loc] >= floor - 1e-6)),
            "children_served": float(_floor(served_l[loc])),
            "outreach_served": float(_floor(result.outreach_served[loc])),
            "outreach_capacity": float(result.workers[loc] * model.reach.worker_capacity()
                                       if len(result.workers) else 0.0),
        })
    loc_tab = pd.DataFrame(loc_rows)

    # Totals and the change against today's network.
    years = s.annualise_years
    running = float(d.annual_cost[open_].sum())
    setup = float((d.setup_cost / years)[open_ & ~d.existing].sum())
    closure = float((d.closure_cost / years)[~open_ & d.existing].sum())
    outreach_cost = float(s.worker_cost * result.workers.sum())
    totals = {
        "annual_cost": _r(result.annual_cost, 2),
        "running_cost": _r(running, 2),
        "setup_cost_annualised": _r(setup, 2),
        "closure_cost_annualised": _r(closure, 2),
        "outreach_cost": _r(outreach_cost, 2),
        "budget": s.budget,
        "need_total": _r(result.need_total),
        "need_reached": _r(result.need_reached),
        "reach_share": _r(result.need_reached / result.need_total if result.need_total else 1.0),
        "children_total": _r(float(d.population.sum())),
        "children_reached": _r(float(np.dot(d.population, result.children_served))),
        "sites_open": int(open_.sum()),
        "outreach_workers": int(result.workers.sum()),
    }
    change = _change(tab, d.demand, share_before, reach_share, d.site_ids, d.existing)
    summary.update({
        "open_sites": [d.site_ids[j] for j in np.flatnonzero(open_)],
        "outreach": {name: int(result.workers[loc]) if len(result.workers) else 0
                     for loc, name in enumerate(d.localities)},
        "totals": totals,
        "localities": [{k: row[k] for k in ("locality", "need_total", "need_reached",
                                            "reach_share", "sites", "outreach_workers")}
                       for row in loc_rows],
        "change": change,
        "explanation": explanation,
        "settings": settings,
    })
    return Solution(summary=summary, areas_table=tab, sites_table=sites,
                    localities_table=loc_tab,
                    scenario_file=scenario_file, model=model, result=result)


def _change(tab: pd.DataFrame, demand: np.ndarray, share_before: np.ndarray,
            share_after: np.ndarray, site_ids: list[str], existing: np.ndarray) -> dict:
    gaining = tab.loc[tab["change"] == "gains", "area_id"].tolist()
    losing = tab.loc[tab["change"] == "loses", "area_id"].tolist()
    by_decile = []
    if "imd_decile" in tab.columns:
        dec = pd.to_numeric(tab["imd_decile"], errors="coerce").to_numpy()
        for k in sorted({int(v) for v in dec if np.isfinite(v)}):
            m = dec == k
            nt = float(demand[m].sum())
            before = float(np.dot(demand[m], share_before[m]))
            after = float(np.dot(demand[m], share_after[m]))
            by_decile.append({
                "imd_decile": k, "need_total": _r(nt),
                "need_reached_before": _r(before), "need_reached_after": _r(after),
                "share_before": _r(before / nt if nt else 1.0),
                "share_after": _r(after / nt if nt else 1.0),
            })
    return {
        "baseline": BASELINE,
        "baseline_sites": [site_ids[j] for j in np.flatnonzero(existing)],
        "areas_gaining": gaining,
        "areas_losing": losing,
        "need_gaining": _r(float(demand[(tab["change"] == "gains").to_numpy()].sum())),
        "need_losing": _r(float(demand[(tab["change"] == "loses").to_numpy()].sum())),
        "need_reached_before": _r(float(np.dot(demand, share_before))),
        "need_reached_after": _r(float(np.dot(demand, share_after))),
        "by_imd_decile": by_decile,
    }
