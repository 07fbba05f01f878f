"""The plan's rules: the budget cap and the policy constraints, one object each.

Every rule owns, in one place:

- ``active(settings)``: whether the scenario switches it on (``constraints:``, ``tiers:``,
  ``budget``);
- ``add(model)``: its rows (named, so the solver's answer can be traced back to them);
- ``holds(model, plan)``: whether a plan keeps it, checked after the solve (the tie-break's
  pruning closes a site only while every rule still holds, and tests check every plan);
- ``relax``: the settings change that removes it, and ``words`` for the sentence that names it
  when a scenario is infeasible (:mod:`optimiser.model.explain`);
- ``direct(model)``: reasons it cannot hold that are visible without solving.

The objective ``evaluate`` uses none of the policy rules (the network is given).

Adding a rule: a class here, its key in the scenario schema, an entry in :data:`RULES`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pulp

from optimiser.model.budget import add_budget_cap
from optimiser.model.data import ModelSettings, hub_pairs
from optimiser.model.words import money, pct, site_names, threshold_words
from optimiser.travel import site_pairs_within

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel

TOL = 1e-6


@dataclass
class Plan:
    """A plan to check: open sites and workers, and (when known) reach per locality."""

    open: np.ndarray
    workers: np.ndarray
    locality_reach: np.ndarray | None = None


def _add(model: FamilyCentreModel, terms, sense: int, rhs: float, name: str) -> None:
    model.problem.addConstraint(
        pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name=name, rhs=rhs))


def may_open(model: FamilyCentreModel) -> np.ndarray:
    """Sites that may open under the fixed rules (not must_close; spokes with a hub near)."""
    d, s = model.data, model.settings
    ok = np.ones(d.n_sites, dtype=bool)
    ok[s.must_close] = False
    if s.hub_within_km:
        pairs = hub_pairs(d, s.hub_within_km)
        for j in np.flatnonzero(d.spoke):
            if not ok[pairs[pairs[:, 0] == j, 1]].any():
                ok[j] = False
    return ok


class Rule:
    """One rule; see the module docstring."""

    key: ClassVar[str]
    words: ClassVar[str]
    #: The setting that switches the rule on, and its value when off.
    setting: ClassVar[str]
    off: ClassVar[Any] = None

    @property
    def relax(self) -> dict[str, Any]:
        """Settings changes that remove the rule."""
        return {self.setting: list(self.off) if isinstance(self.off, tuple) else self.off}

    def active(self, s: ModelSettings) -> bool:
        return getattr(s, self.setting) not in (None, False, [], 0)

    def add(self, model: FamilyCentreModel) -> None:
        """Add the rule's rows (bounds) to the model."""

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        return True

    def direct(self, model: FamilyCentreModel) -> list[str]:
        return []


class BudgetCap(Rule):
    """Annual cost (running, workers, annualised one-off costs) ≤ budget (model/budget.py)."""

    key, words = "budget", "the budget cap"
    setting, off = "budget", None

    def active(self, s: ModelSettings) -> bool:
        return s.budget is not None

    def add(self, model: FamilyCentreModel) -> None:
        model.budget_con = add_budget_cap(model.problem, model.cost_expr, model.cost_constant,
                                          model.settings.budget)

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        return model.annual_cost(plan.open, plan.workers) <= model.settings.budget + TOL

    def direct(self, model: FamilyCentreModel) -> list[str]:
        d, s = model.data, model.settings
        years = s.annualise_years
        must = np.array(s.must_open, dtype=np.int64)
        closure = d.closure_cost / years
        existing = np.flatnonzero(d.existing)
        floor_all = float(np.minimum(d.annual_cost[existing], closure[existing]).sum())
        if len(must):
            others = np.setdiff1d(existing, must)
            floor_others = float(np.minimum(d.annual_cost[others], closure[others]).sum())
            run_must = float((d.annual_cost[must] + np.where(
                d.existing[must], 0.0, d.setup_cost[must] / years)).sum())
            if run_must > s.budget:
                return [f"the budget {money(s.budget)} is below the {money(run_must)} a year "
                        f"that the must_open sites cost"]
            if run_must + floor_others > s.budget:
                return [f"the budget {money(s.budget)} is below the "
                        f"{money(run_must + floor_others)} a year that the must_open sites "
                        f"({money(run_must)}) plus the cheaper of keeping or closing each of "
                        f"today's other sites ({money(floor_others)}) cost at the least"]
        if floor_all > s.budget:
            return [f"the budget {money(s.budget)} is below the {money(floor_all)} a year that "
                    f"keeping or closing today's sites costs at the least"]
        if s.min_sites:
            cheapest = (np.sort(model.cost_coef[may_open(model)])[: s.min_sites].sum()
                        + model.cost_constant)
            if cheapest > s.budget:
                return [f"the budget {money(s.budget)} is below the {money(cheapest)} a year "
                        f"the cheapest {s.min_sites} sites (min_sites) cost"]
        return []


class LocalityFloor(Rule):
    """Σ_{i∈l} reach_i ≥ φ · need_l for every locality l with need."""

    key, words = "constraints.locality_min_reach", "the locality floor"
    setting, off = "locality_min_reach", None

    def add(self, model: FamilyCentreModel) -> None:
        phi = model.settings.locality_min_reach
        need = model.data.locality_need()
        for loc, expr in enumerate(model.locality_reach):
            if need[loc] > 0:
                model.problem.addConstraint(pulp.LpConstraint(
                    expr, pulp.LpConstraintGE, name=f"floor_{loc}", rhs=phi * need[loc]))

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        if plan.locality_reach is None:
            return True
        need = model.data.locality_need()
        return bool(np.all(plan.locality_reach >= model.settings.locality_min_reach * need
                           - TOL * np.maximum(need, 1.0)))

    def direct(self, model: FamilyCentreModel) -> list[str]:
        d, s = model.data, model.settings
        best = model.best_possible_shares()
        need = d.locality_need()
        reach_l = np.bincount(d.area_locality, weights=d.demand * best, minlength=len(need))
        phi, out = s.locality_min_reach, []
        alpha = s.outreach_effectiveness if s.outreach else 0.0
        for loc, name in enumerate(d.localities):
            if need[loc] > 0 and reach_l[loc] < phi * need[loc] - 1e-9:
                if reach_l[loc] <= 0:
                    why = f"no site within {threshold_words(model)}"
                else:
                    why = (f"with every site open it reaches at most "
                           f"{pct(reach_l[loc] / need[loc])} (sites within "
                           f"{threshold_words(model)})")
                why += (" and outreach is off" if not s.outreach
                        else f" and outreach counts {pct(alpha)}")
                out.append(f"locality {name} cannot reach {pct(phi)}: {why}")
        return out


class SitePerLocality(Rule):
    """At least one open site in every locality (site locality from sites.csv or nearest)."""

    key, words = "constraints.site_per_locality", "a site in every locality"
    setting, off = "site_per_locality", False

    def add(self, model: FamilyCentreModel) -> None:
        for loc in range(len(model.data.localities)):
            members = np.flatnonzero(model.data.site_locality == loc)
            _add(model, [(model.y[j], 1.0) for j in members], pulp.LpConstraintGE, 1.0,
                 f"site_in_locality_{loc}")

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        d = model.data
        return all((plan.open & (d.site_locality == loc)).any()
                   for loc in range(len(d.localities)))

    def direct(self, model: FamilyCentreModel) -> list[str]:
        d, s = model.data, model.settings
        out = []
        if s.max_sites is not None and len(d.localities) > s.max_sites:
            out.append(f"max_sites is {s.max_sites} but every one of the {len(d.localities)} "
                       f"localities needs a site")
        avail = may_open(model)
        for loc, name in enumerate(d.localities):
            if not (avail & (d.site_locality == loc)).any():
                out.append(f"locality {name} has no site that may open, but every locality "
                           f"needs one (site_per_locality)")
        return out


class MinSites(Rule):
    """Σ_j y_j ≥ min_sites."""

    key, words = "constraints.min_sites", "min_sites"
    setting, off = "min_sites", None

    def add(self, model: FamilyCentreModel) -> None:
        _add(model, [(v, 1.0) for v in model.y], pulp.LpConstraintGE,
             model.settings.min_sites, "min_sites")

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        return int(plan.open.sum()) >= model.settings.min_sites

    def direct(self, model: FamilyCentreModel) -> list[str]:
        n = int(may_open(model).sum())
        k = model.settings.min_sites
        return [f"min_sites is {k} but only {n} sites may open"] if k > n else []


class MaxSites(Rule):
    """Σ_j y_j ≤ max_sites."""

    key, words = "constraints.max_sites", "max_sites"
    setting, off = "max_sites", None

    def active(self, s: ModelSettings) -> bool:
        return s.max_sites is not None

    def add(self, model: FamilyCentreModel) -> None:
        _add(model, [(v, 1.0) for v in model.y], pulp.LpConstraintLE,
             model.settings.max_sites, "max_sites")

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        return int(plan.open.sum()) <= model.settings.max_sites

    def direct(self, model: FamilyCentreModel) -> list[str]:
        s = model.settings
        if len(s.must_open) > s.max_sites:
            return [f"max_sites is {s.max_sites} but {len(s.must_open)} sites are must_open"]
        return []


class Separation(Rule):
    """y_j + y_k ≤ 1 for every pair of sites closer than d km (straight line)."""

    key, words = "constraints.min_separation_km", "the minimum separation"
    setting, off = "min_separation_km", None

    def _pairs(self, model: FamilyCentreModel) -> np.ndarray:
        return site_pairs_within(model.data.site_xy, model.settings.min_separation_km,
                                 strict=True)

    def add(self, model: FamilyCentreModel) -> None:
        for j, k in self._pairs(model):
            _add(model, [(model.y[j], 1.0), (model.y[k], 1.0)], pulp.LpConstraintLE, 1.0,
                 f"separation_{j}_{k}")

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        p = self._pairs(model)
        return not (plan.open[p[:, 0]] & plan.open[p[:, 1]]).any()

    def direct(self, model: FamilyCentreModel) -> list[str]:
        s = model.settings
        must = np.array(s.must_open, dtype=np.int64)
        if len(must) < 2:
            return []
        pairs = site_pairs_within(model.data.site_xy[must], s.min_separation_km, strict=True)
        return [f"must_open sites {site_names(model, [must[a], must[b]])} are closer than the "
                f"minimum separation of {s.min_separation_km:g} km" for a, b in pairs[:3]]


class HubWithin(Rule):
    """y_spoke ≤ Σ_{hubs h within D km} y_h; a spoke with no hub that near stays closed."""

    key, words = "tiers.spoke.hub_within_km", "the spoke-needs-a-hub rule"
    setting, off = "hub_within_km", None

    def _hubs(self, model: FamilyCentreModel) -> dict[int, np.ndarray]:
        pairs = hub_pairs(model.data, model.settings.hub_within_km)
        return {int(j): pairs[pairs[:, 0] == j, 1] for j in np.flatnonzero(model.data.spoke)}

    def add(self, model: FamilyCentreModel) -> None:
        for j, hubs in self._hubs(model).items():
            _add(model, [(model.y[j], 1.0)] + [(model.y[h], -1.0) for h in hubs],
                 pulp.LpConstraintLE, 0.0, f"hub_for_{j}")

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        return all(not plan.open[j] or plan.open[h].any() for j, h in self._hubs(model).items())

    def direct(self, model: FamilyCentreModel) -> list[str]:
        avail = may_open(model)
        bad = [j for j in model.settings.must_open if not avail[j] and model.data.spoke[j]]
        if not bad:
            return []
        return [f"must_open spoke {site_names(model, bad[:3])} has no hub within "
                f"{model.settings.hub_within_km:g} km that may open"]


class DeprivedAccess(Rule):
    """Σ_{j: t_ij ≤ T} y_j ≥ 1 for every area in IMD deciles 1-2 (identical rows once)."""

    key, words = "constraints.deprived_max_minutes", "deprived-area access"
    setting, off = "deprived_max_minutes", None

    def _site_sets(self, model: FamilyCentreModel) -> dict[int, np.ndarray]:
        dep = model.data.deprived
        if dep is None:
            return {}
        return {int(i): dep.site[dep.area == i] for i in model.data.deprived_areas}

    def add(self, model: FamilyCentreModel) -> None:
        seen: set[tuple[int, ...]] = set()
        for i, sites in self._site_sets(model).items():
            key = tuple(sorted(sites.tolist()))
            if key not in seen:
                seen.add(key)
                _add(model, [(model.y[j], 1.0) for j in key], pulp.LpConstraintGE, 1.0,
                     f"deprived_{i}")

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        return all(plan.open[sites].any() for sites in self._site_sets(model).values())

    def direct(self, model: FamilyCentreModel) -> list[str]:
        avail = may_open(model)
        d = model.data
        lonely = [i for i, sites in self._site_sets(model).items() if not avail[sites].any()]
        if not lonely:
            return []
        ids = ", ".join(d.area_ids[i] for i in lonely[:5])
        more = f" and {len(lonely) - 5} more" if len(lonely) > 5 else ""
        return [f"{len(lonely)} deprived area(s) ({ids}{more}) have no site that may open "
                f"within {model.settings.deprived_max_minutes:g} minutes "
                f"(deprived_max_minutes)"]


class MustOpen(Rule):
    """The listed sites stay open (y fixed to 1)."""

    key, words = "constraints.must_open", "the must_open list"
    setting, off = "must_open", ()

    def add(self, model: FamilyCentreModel) -> None:
        for j in model.settings.must_open:
            model.y[j].lowBound = 1

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        return bool(plan.open[model.settings.must_open].all())


class MustClose(Rule):
    """The listed sites close (y fixed to 0)."""

    key, words = "constraints.must_close", "the must_close list"
    setting, off = "must_close", ()

    def add(self, model: FamilyCentreModel) -> None:
        for j in model.settings.must_close:
            model.y[j].upBound = 0

    def holds(self, model: FamilyCentreModel, plan: Plan) -> bool:
        return not plan.open[model.settings.must_close].any()


#: Every rule, in the order an infeasible scenario's relaxations are tried.
RULES: tuple[Rule, ...] = (BudgetCap(), LocalityFloor(), SitePerLocality(), MinSites(),
                           MaxSites(), Separation(), HubWithin(), DeprivedAccess(), MustOpen(),
                           MustClose())
