"""Why is a scenario infeasible? Sentences that name the binding requirement.

First the obvious requirements are checked directly (cheap and exact):

- the must-open sites alone cost more than the budget;
- must-open sites closer together than the minimum separation, or a must-open spoke with no
  hub within reach;
- min_sites larger than the sites that may open; max_sites smaller than must_open, or than the
  number of localities when every locality needs a site;
- a locality with no site that may open, when every locality needs one;
- a locality that cannot reach its floor even with every site open (and outreach, if on);
- the overall target (min_cost) out of reach even with every site open;
- a deprived area with no site within the deprived-access limit.

When none of these fires, constraint families are relaxed one at a time and the first relaxation
that makes the scenario feasible is named; for the budget, the cheapest plan that meets every
other requirement is priced ("the cheapest plan meeting the other requirements costs £X").

Examples
--------
>>> money(2_400_000), money(950_000), money(12_500)
('£2.4m', '£950k', '£12,500')
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from optimiser.model.data import hub_pairs
from optimiser.travel import site_pairs_within

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel


def money(x: float) -> str:
    """Pounds the way a council report writes them."""
    if abs(x) >= 1e6:
        return f"£{x / 1e6:.3g}m" if abs(x) < 1e8 else f"£{x / 1e6:,.0f}m"
    if abs(x) >= 1e5:
        return f"£{x / 1e3:.0f}k"
    if abs(x) < 1000 and abs(x - round(x)) > 1e-9:
        return f"£{x:,.2f}"
    return f"£{x:,.0f}"


def _pct(x: float) -> str:
    return f"{100 * x:.0f}%" if abs(100 * x - round(100 * x)) < 1e-9 else f"{100 * x:.1f}%"


def _available(model: FamilyCentreModel) -> np.ndarray:
    """Sites that may open under the fixed rules (not must_close, spokes with a hub near)."""
    d, s = model.data, model.settings
    ok = np.ones(d.n_sites, dtype=bool)
    ok[s.must_close] = False
    if s.hub_within_km:
        pairs = hub_pairs(d, s.hub_within_km)
        for j in np.flatnonzero(d.spoke):
            hubs = pairs[pairs[:, 0] == j, 1]
            if not ok[hubs].any():
                ok[j] = False
    return ok


def _site_names(model: FamilyCentreModel, idx) -> str:
    names = []
    inst = model.instance
    for j in idx:
        sid = model.data.site_ids[j]
        if inst is not None and "name" in inst.sites.columns:
            name = str(inst.sites["name"].iloc[j])
            names.append(f"{name} ({sid})" if name != sid else sid)
        else:
            names.append(sid)
    return ", ".join(names)


def direct_checks(model: FamilyCentreModel) -> list[str]:
    """Binding requirements that can be seen without solving (may be empty)."""
    d, s = model.data, model.settings
    out: list[str] = []
    must = np.array(s.must_open, dtype=np.int64)
    avail = _available(model)
    threshold_words = _threshold_words(model)

    if s.budget is not None and s.objective != "evaluate":
        if len(must):
            # Running the must-open sites (setup of new ones annualised), plus the cheaper of
            # keeping or closing each other existing site.
            others = np.setdiff1d(np.flatnonzero(d.existing), must)
            closure = d.closure_cost / s.annualise_years
            floor_others = float(np.minimum(d.annual_cost[others], closure[others]).sum())
            run_must = float((d.annual_cost[must] + np.where(
                d.existing[must], 0.0, d.setup_cost[must] / s.annualise_years)).sum())
            if run_must > s.budget:
                out.append(f"the budget {money(s.budget)} is below the {money(run_must)} a year "
                           f"that the must_open sites cost")
            elif run_must + floor_others > s.budget:
                out.append(f"the budget {money(s.budget)} is below the "
                           f"{money(run_must + floor_others)} a year that the must_open sites "
                           f"({money(run_must)}) plus the cheaper of keeping or closing each of "
                           f"today's other sites ({money(floor_others)}) cost at the least")
        existing = np.flatnonzero(d.existing)
        closure = d.closure_cost / s.annualise_years
        floor_all = float(np.minimum(d.annual_cost[existing], closure[existing]).sum())
        if not out and floor_all > s.budget:
            out.append(f"the budget {money(s.budget)} is below the {money(floor_all)} a year that "
                       f"keeping or closing today's sites costs at the least")

    if s.min_separation_km and len(must) > 1:
        pairs = site_pairs_within(d.site_xy[must], s.min_separation_km, strict=True)
        for a, b in pairs[:3]:
            out.append(f"must_open sites {_site_names(model, [must[a], must[b]])} are closer "
                       f"than the minimum separation of {s.min_separation_km:g} km")
    bad_spokes = [j for j in must if not avail[j] and d.spoke[j]]
    if bad_spokes:
        out.append(f"must_open spoke {_site_names(model, bad_spokes[:3])} has no hub within "
                   f"{s.hub_within_km:g} km that may open")
    n_avail = int(avail.sum())
    if s.min_sites is not None and s.min_sites > n_avail:
        out.append(f"min_sites is {s.min_sites} but only {n_avail} sites may open")
    if s.max_sites is not None and len(must) > s.max_sites:
        out.append(f"max_sites is {s.max_sites} but {len(must)} sites are must_open")
    if s.site_per_locality:
        if s.max_sites is not None and len(d.localities) > s.max_sites:
            out.append(f"max_sites is {s.max_sites} but every one of the {len(d.localities)} "
                       f"localities needs a site")
        for loc, name in enumerate(d.localities):
            if not (avail & (d.site_locality == loc)).any():
                out.append(f"locality {name} has no site that may open, but every locality "
                           f"needs one (site_per_locality)")
    if s.budget is not None and s.min_sites:
        cheapest = np.sort(model.cost_coef[avail])[: s.min_sites].sum() + model.cost_constant
        if cheapest > s.budget and not out:
            out.append(f"the budget {money(s.budget)} is below the {money(cheapest)} a year the "
                       f"cheapest {s.min_sites} sites (min_sites) cost")

    # Reach that is possible at all, with every site that may open open.
    eff = np.where(d.spoke, s.spoke_effectiveness, s.hub_effectiveness)
    best_site = np.zeros(d.n_areas)
    r = d.reach
    if len(r):
        ok = avail[r.site]
        np.maximum.at(best_site, r.area[ok], eff[r.site[ok]])
    alpha = s.outreach_effectiveness if s.outreach else 0.0
    best = np.maximum(best_site, alpha)
    need = d.locality_need()
    reach_l = np.bincount(d.area_locality, weights=d.demand * best, minlength=len(need))
    phi = s.locality_min_reach
    if phi and s.objective != "evaluate":
        for loc, name in enumerate(d.localities):
            if need[loc] > 0 and reach_l[loc] < phi * need[loc] - 1e-9:
                share = reach_l[loc] / need[loc]
                if reach_l[loc] <= 0:
                    why = f"no site within {threshold_words}"
                else:
                    why = (f"with every site open it reaches at most {_pct(share)} (sites within "
                           f"{threshold_words})")
                why += " and outreach is off" if not s.outreach else \
                    f" and outreach counts {_pct(alpha)}"
                out.append(f"locality {name} cannot reach {_pct(phi)}: {why}")
    if s.objective == "min_cost" and s.target_reach:
        total = float(np.dot(d.demand, best)) / max(float(d.demand.sum()), 1e-12)
        if total < s.target_reach - 1e-9:
            out.append(f"target_reach {_pct(s.target_reach)} is out of reach: with every site "
                       f"open the model reaches at most {_pct(total)}")
    if s.deprived_max_minutes is not None and d.deprived is not None:
        dep = d.deprived
        lonely = [int(i) for i in d.deprived_areas
                  if not avail[dep.site[dep.area == i]].any()]
        if lonely:
            ids = ", ".join(d.area_ids[i] for i in lonely[:5])
            more = f" and {len(lonely) - 5} more" if len(lonely) > 5 else ""
            out.append(f"{len(lonely)} deprived area(s) ({ids}{more}) have no site that may open "
                       f"within {s.deprived_max_minutes:g} minutes (deprived_max_minutes)")
    return out


def _threshold_words(model: FamilyCentreModel) -> str:
    t = np.unique(model.data.thresholds)
    if len(t) == 1:
        return f"{t[0]:g} minutes"
    return " / ".join(f"{v:g}" for v in t) + " minutes"


RELAXATIONS = [
    ("budget", {"budget": None}, "the budget cap"),
    ("locality_min_reach", {"locality_min_reach": None}, "the locality floor"),
    ("site_per_locality", {"site_per_locality": False}, "a site in every locality"),
    ("min_sites", {"min_sites": None}, "min_sites"),
    ("max_sites", {"max_sites": None}, "max_sites"),
    ("min_separation_km", {"min_separation_km": None}, "the minimum separation"),
    ("hub_within_km", {"hub_within_km": None}, "the spoke-needs-a-hub rule"),
    ("deprived_max_minutes", {"deprived_max_minutes": None}, "deprived-area access"),
    ("must_open", {"must_open": []}, "the must_open list"),
    ("must_close", {"must_close": []}, "the must_close list"),
]


def relaxation_checks(model: FamilyCentreModel) -> list[str]:
    """Relax one constraint family at a time; name those whose removal makes it feasible."""
    s = model.settings
    out: list[str] = []
    for attr, change, words in RELAXATIONS:
        if getattr(s, attr) in (None, False, []):
            continue
        trial = model.relaxed(**change, time_limit_s=min(s.time_limit_s or 30.0, 30.0))
        result = trial.solve()
        if not result.has_plan:  # still infeasible, or undecided within the time limit
            continue
        if attr == "budget":
            # Price the cheapest plan that meets everything else.
            cheap = model.relaxed(budget=None, objective="min_cost",
                                  target_reach=s.target_reach or 0.0,
                                  time_limit_s=min(s.time_limit_s or 30.0, 30.0))
            res = cheap.solve()
            if res.has_plan and res.annual_cost is not None:
                if res.status == "optimal":
                    out.append(f"the budget {money(s.budget or 0)} is below the "
                               f"{money(res.annual_cost)} a year that the cheapest plan meeting "
                               f"the other requirements costs")
                else:
                    out.append(f"without the budget cap the scenario is feasible: the cheapest "
                               f"plan found meeting the other requirements costs "
                               f"{money(res.annual_cost)} a year (not proven cheapest), above "
                               f"the budget {money(s.budget or 0)}")
                continue
        out.append(f"without {words} the scenario is feasible, so {words} is binding together "
                   f"with the other requirements")
    return out


def explain_infeasible(model: FamilyCentreModel) -> list[str]:
    """Sentences naming why no plan meets the scenario (direct checks, then relaxations)."""
    direct = direct_checks(model)
    if direct:
        return direct
    relaxed = relaxation_checks(model)
    if relaxed:
        return relaxed
    return ["no single requirement explains it: the requirements conflict in combination; "
            "try relaxing the locality floor, min_sites or the budget one at a time"]
