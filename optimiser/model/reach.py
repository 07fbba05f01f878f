"""Who an open site serves: the service model (the default) and the coverage model.

Each class builds its variables and rows on a :class:`~optimiser.model.FamilyCentreModel`,
leaving ``model.total_reach`` and ``model.locality_reach`` (need-weighted children, at tier and
outreach effectiveness), and reads a solved plan back as :class:`Shares`.

**Service** (:class:`ServiceReach`): x_gj ∈ [0, 1] is the share of area group g's children
assigned to open site j within the area's ``max_minutes``; w_gj ∈ (0, 1] is the share of them
who use a site that far away (the decay curve, :func:`optimiser.travel.take_up`)::

    served children at j      = Σ_g p_g w_gj x_gj ≤ capacity_j y_j      (blank capacity: no row)
    need-weighted served      = Σ_gj a_g e_j w_gj x_gj + α Σ_g a_g o_g
    x_gj ≤ y_j;  Σ_j x_gj ≤ 1;  Σ_j w_gj x_gj + o_g ≤ 1                  (nobody served twice)
    outreach: Σ_{g ∈ l} p_g o_g ≤ caseload · u_l                         (children a year)

A family that does not use a far-away centre can still be served by outreach (w x + o ≤ 1),
but is assigned to one centre at most (Σ x ≤ 1: two centres 25 minutes away do not double the
take-up). The coverage model with capacities is this model with the step curve at the
threshold (w = 1) and outreach counted in need-weighted children, as before.

**Coverage** (:class:`CoverageReach`, no capacities): z_g^t ∈ [0, 1] share of group g reached
by an open site of tier t within the threshold: z_g^t ≤ Σ_{j ∈ N_g, tier t} y_j,
Σ_t z_g^t + o_g ≤ 1, Σ_{g ∈ l} a_g o_g ≤ K u_l (need-weighted children a worker reaches).

Areas with the same locality and the same pairs (and, in the service model, the same take-up
and need) are merged into one group: an exact reduction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pulp

from optimiser.travel import TravelPairs

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel

TOL = 1e-9
LE = pulp.LpConstraintLE


@dataclass
class Shares:
    """A plan's service, per area and per site (instance order).

    Attributes
    ----------
    cover
        Per area: share of its children served by (service) or in reach of (coverage) a site.
    share
        The same at the tier's effectiveness (a spoke's children count e.g. 0.8).
    outreach
        Per area: share served by outreach (counted at α in the reach share).
    site_children, site_demand
        Per site: children it serves, and need-weighted children at its effectiveness.
    serving
        Per area: the site serving most of it (the nearest on ties; -1 when none).
    """

    cover: np.ndarray
    share: np.ndarray
    outreach: np.ndarray
    site_children: np.ndarray
    site_demand: np.ndarray
    serving: np.ndarray


@dataclass
class Groups:
    """Areas merged by identical (locality, pairs[, take-up, need]); see the module docstring."""

    area_group: np.ndarray          # per area, -1 when it has no demand
    sites: list[np.ndarray]         # per group: site positions (the pairs' order)
    weights: list[np.ndarray]       # per group: take-up per pair
    demand: np.ndarray
    population: np.ndarray
    locality: np.ndarray


def group_areas(model: FamilyCentreModel, pairs: TravelPairs, weights: np.ndarray,
                *, by_need: bool) -> Groups:
    """Merge areas into groups (exact: a merged group's variables average the areas')."""
    d = model.data
    starts = np.searchsorted(pairs.area, np.arange(d.n_areas))
    ends = np.searchsorted(pairs.area, np.arange(d.n_areas), side="right")
    need = np.divide(d.demand, d.population, out=np.zeros(d.n_areas), where=d.population > 0)
    keys: dict[tuple, int] = {}
    area_group = np.full(d.n_areas, -1, dtype=np.int64)
    sites: list[np.ndarray] = []
    wts: list[np.ndarray] = []
    for i in range(d.n_areas):
        if d.demand[i] <= 0:
            continue  # no children or no need: nothing to serve
        s, w = pairs.site[starts[i]:ends[i]], weights[starts[i]:ends[i]]
        key = (int(d.area_locality[i]), s.tobytes(), w.tobytes(),
               float(need[i]) if by_need else 0.0)
        g = keys.get(key)
        if g is None:
            g = keys[key] = len(sites)
            sites.append(s)
            wts.append(w)
        area_group[i] = g
    valid = area_group >= 0
    n = len(sites)
    locality = np.zeros(n, dtype=np.int64)
    locality[area_group[valid]] = d.area_locality[valid]
    return Groups(
        area_group=area_group, sites=sites, weights=wts,
        demand=np.bincount(area_group[valid], weights=d.demand[valid], minlength=n),
        population=np.bincount(area_group[valid], weights=d.population[valid], minlength=n),
        locality=locality)


def _value(v: pulp.LpVariable | None) -> float:
    """Solver values to [0, 1], rounding away solver noise below 1e-9."""
    if v is None or v.varValue is None:
        return 0.0
    return float(min(1.0, max(0.0, round(v.varValue, 9))))


class _Reach:
    """What both models share: outreach variables and rows, reading shares back per area."""

    name = ""
    groups: Groups
    #: Outreach capacity counted in children (service) or need-weighted children (coverage).
    counted_in_children = False

    def __init__(self, model: FamilyCentreModel) -> None:
        self.model = model
        self.o: dict[int, pulp.LpVariable] = {}

    # -- building
    def outreach_unit(self) -> np.ndarray:
        """What a worker's capacity counts per group: need-weighted children (coverage)."""
        return self.groups.demand

    def worker_capacity(self) -> float:
        return self.model.settings.reach_per_worker

    def _outreach_var(self, g: int) -> pulp.LpVariable:
        o = self.model.problem.add_variable(f"o_{g}", lowBound=0, upBound=1)
        self.o[g] = o
        return o

    def _outreach_rows(self) -> None:
        m = self.model
        unit = self.outreach_unit()
        by_loc: list[list] = [[] for _ in m.data.localities]
        for g, o in self.o.items():
            by_loc[int(self.groups.locality[g])].append((o, float(unit[g])))
        for loc, terms in enumerate(by_loc):
            m.problem.addConstraint(pulp.LpConstraint(
                pulp.LpAffineExpression([*terms, (m.u[loc], -self.worker_capacity())]),
                LE, name=f"outreach_{loc}", rhs=0.0))

    def _finish(self, terms: list, loc_terms: list[list]) -> None:
        """Outreach rows, and the reach expressions the objectives and rules read."""
        m = self.model
        if m.u:
            self._outreach_rows()
        m.total_reach = pulp.LpAffineExpression(terms)
        m.locality_reach = [pulp.LpAffineExpression(t) for t in loc_terms]

    # -- reading back
    def _per_area(self, per_group: np.ndarray) -> np.ndarray:
        out = np.zeros(self.model.data.n_areas)
        valid = self.groups.area_group >= 0
        out[valid] = per_group[self.groups.area_group[valid]]
        return out

    def outreach_group_shares(self) -> np.ndarray:
        """Per group: the share of its children outreach serves."""
        per_group = np.zeros(len(self.groups.sites))
        for g, o in self.o.items():
            per_group[g] = _value(o)
        return per_group

    def outreach_shares(self) -> np.ndarray:
        return self._per_area(self.outreach_group_shares())

    def outreach_children(self, shares: Shares) -> np.ndarray:
        """Per locality: children (service) or need-weighted children (coverage) outreach serves,
        in the unit of the workers' capacity."""
        d = self.model.data
        unit = d.population if self.counted_in_children else d.demand
        return np.bincount(d.area_locality, weights=unit * shares.outreach,
                           minlength=len(d.localities))

    def reached(self, open_: np.ndarray, shares: Shares) -> np.ndarray:
        """Coverage: more than half the area reached by a site or outreach."""
        return shares.cover + shares.outreach > 0.5

    def access(self, open_: np.ndarray) -> np.ndarray:
        """Per area: an open site within its threshold (what "access" means in the tables)."""
        r = self.model.data.reach
        out = np.zeros(self.model.data.n_areas, dtype=bool)
        out[r.area[open_[r.site]]] = True
        return out


class CoverageReach(_Reach):
    """Coverage: an area is reached when an open site of a tier is within its threshold."""

    name = "coverage"

    def build(self) -> None:
        m = self.model
        d, s = m.data, m.settings
        self.groups = group_areas(m, d.reach, np.ones(len(d.reach)), by_need=False)
        one_tier = s.hub_effectiveness == s.spoke_effectiveness
        self.tier_of = (np.zeros(d.n_sites, dtype=np.int64) if one_tier
                        else d.spoke.astype(np.int64))
        tier_eff = (s.hub_effectiveness, s.spoke_effectiveness)
        self.z: dict[tuple[int, int], pulp.LpVariable] = {}
        terms, loc_terms = [], [[] for _ in d.localities]
        for g, sites in enumerate(self.groups.sites):
            a, loc = float(self.groups.demand[g]), int(self.groups.locality[g])
            share_terms = []
            for t in (0, 1):
                members = sites[self.tier_of[sites] == t]
                if len(members) == 0:
                    continue
                z = m.problem.add_variable(f"z_{g}_{t}", lowBound=0, upBound=1)
                self.z[(g, t)] = z
                m.problem.addConstraint(pulp.LpConstraint(pulp.LpAffineExpression(
                    [(z, 1.0)] + [(m.y[j], -1.0) for j in members]), LE, rhs=0.0))
                share_terms.append((z, 1.0))
                terms.append((z, a * tier_eff[t]))
                loc_terms[loc].append((z, a * tier_eff[t]))
            if m.u:
                o = self._outreach_var(g)
                share_terms.append((o, 1.0))
                terms.append((o, a * s.outreach_effectiveness))
                loc_terms[loc].append((o, a * s.outreach_effectiveness))
            if len(share_terms) > 1:
                m.problem.addConstraint(pulp.LpConstraint(
                    pulp.LpAffineExpression(share_terms), LE, rhs=1.0))
        self._finish(terms, loc_terms)

    def shares(self, open_: np.ndarray) -> Shares:
        m = self.model
        d, s = m.data, m.settings
        n = len(self.groups.sites)
        cover, share = np.zeros(n), np.zeros(n)
        tier_eff = (s.hub_effectiveness, s.spoke_effectiveness)
        for (g, t), z in self.z.items():
            v = _value(z)
            cover[g] += v
            share[g] += tier_eff[t] * v
        cover, share = self._per_area(cover), self._per_area(share)
        # Areas with no demand have no variables: reached when an open site is near.
        eff = m.site_effectiveness()
        r = d.reach
        empty = (self.groups.area_group[r.area] < 0) & open_[r.site]
        np.maximum.at(share, r.area[empty], eff[r.site[empty]])
        cover[r.area[empty]] = 1.0
        serving = _nearest_open(r, open_, d.n_areas)
        has = serving >= 0
        site_demand = np.bincount(serving[has], weights=(d.demand * share)[has],
                                  minlength=d.n_sites)
        site_children = np.bincount(serving[has], weights=(d.population * cover)[has],
                                    minlength=d.n_sites)
        return Shares(cover, share, self.outreach_shares(), site_children, site_demand, serving)

    def redundancy_check(self) -> Callable[[int, np.ndarray], bool]:
        """For the last solve: f(j, others) is True when closing j (leaving ``others`` open)
        loses nobody: every group j counts for has another open site of its tier."""
        counts_for: dict[int, list[int]] = {}
        for (g, t), z in self.z.items():
            if z.varValue is not None and z.varValue > TOL:
                sites = self.groups.sites[g]
                for k in sites[self.tier_of[sites] == t].tolist():
                    counts_for.setdefault(k, []).append(g)

        def redundant(j: int, others: np.ndarray) -> bool:
            tier = self.tier_of[j]
            return all((others[self.groups.sites[g]]
                        & (self.tier_of[self.groups.sites[g]] == tier)).any()
                       for g in counts_for.get(j, []))
        return redundant

class ServiceReach(_Reach):
    """Service: assignment to open sites within reach, take-up falling with travel time,
    capacities (the coverage model with capacities is the step curve at the threshold)."""

    name = "service"

    def __init__(self, model: FamilyCentreModel, *, counted_in_children: bool = True) -> None:
        super().__init__(model)
        # The coverage model with capacities counts outreach in need-weighted children.
        self.counted_in_children = counted_in_children

    def outreach_unit(self) -> np.ndarray:
        return self.groups.population if self.counted_in_children else self.groups.demand

    def worker_capacity(self) -> float:
        s = self.model.settings
        return s.caseload if self.counted_in_children else s.reach_per_worker

    def build(self) -> None:
        m = self.model
        d, s = m.data, m.settings
        self.groups = group_areas(m, d.served, d.take_up, by_need=True)
        self._pairs()
        #: x per pair and o per group when a method other than the LP solved it (the search
        #: sets them).
        self.solved_x: np.ndarray | None = None
        self.solved_o: np.ndarray | None = None
        self.x_vars: list[pulp.LpVariable] = []
        if s.solver == "search":
            # The search assigns children itself (model/search_service.py): no LP rows, which
            # at a million pairs would not fit in memory.
            self._finish([], [[] for _ in d.localities])
            return
        self._rows()

    def _pairs(self) -> None:
        """The assignment pairs (group, site, take-up), group by group, nearest site first;
        without those nobody uses (take-up 0) or that never open (evaluate's network)."""
        m = self.model
        sites, weights = self.groups.sites, self.groups.weights
        counts = [len(v) for v in sites]
        g = np.repeat(np.arange(len(sites), dtype=np.int64), counts)
        j = np.concatenate(sites).astype(np.int64) if sites else np.zeros(0, np.int64)
        w = np.concatenate(weights) if weights else np.zeros(0)
        shut = np.array([v.upBound == 0 for v in m.y], dtype=bool)
        keep = (w > 0) & ~shut[j] if len(j) else np.zeros(0, dtype=bool)
        self.pair_group, self.pair_site, self.pair_take_up = g[keep], j[keep], w[keep]

    def _rows(self) -> None:
        """The LP: x per pair, x ≤ y, each group once, nobody twice, capacities, outreach."""
        m = self.model
        d, s = m.data, m.settings
        eff = m.site_effectiveness()
        cap = d.capacity
        terms, loc_terms = [], [[] for _ in d.localities]
        cap_terms: dict[int, list] = {}
        add = m.problem.addConstraint
        bounds = np.searchsorted(self.pair_group, np.arange(len(self.groups.sites) + 1))
        for g in range(len(self.groups.sites)):
            a, p = float(self.groups.demand[g]), float(self.groups.population[g])
            loc = int(self.groups.locality[g])
            assigned, served = [], []
            for i in range(bounds[g], bounds[g + 1]):
                j, w = int(self.pair_site[i]), float(self.pair_take_up[i])
                x = m.problem.add_variable(f"x_{g}_{j}", lowBound=0, upBound=1)
                self.x_vars.append(x)
                add(pulp.LpConstraint(pulp.LpAffineExpression([(x, 1.0), (m.y[j], -1.0)]),
                                      LE, rhs=0.0))
                assigned.append((x, 1.0))
                served.append((x, w))
                terms.append((x, a * eff[j] * w))
                loc_terms[loc].append((x, a * eff[j] * w))
                if np.isfinite(cap[j]):
                    cap_terms.setdefault(j, []).append((x, p * w))
            if len(assigned) > 1:
                add(pulp.LpConstraint(pulp.LpAffineExpression(assigned), LE, rhs=1.0))
            if m.u:
                o = self._outreach_var(g)
                terms.append((o, a * s.outreach_effectiveness))
                loc_terms[loc].append((o, a * s.outreach_effectiveness))
                if served:  # o ≤ 1 is its bound already
                    add(pulp.LpConstraint(pulp.LpAffineExpression([*served, (o, 1.0)]), LE,
                                          rhs=1.0))
        for j in sorted(cap_terms):
            add(pulp.LpConstraint(pulp.LpAffineExpression(
                [*cap_terms[j], (m.y[j], -float(cap[j]))]), LE, name=f"capacity_{j}", rhs=0.0))
        self._finish(terms, loc_terms)

    def outreach_group_shares(self) -> np.ndarray:
        if self.solved_o is not None:
            return np.clip(np.round(self.solved_o, 9), 0.0, 1.0) + 0.0  # + 0.0: never "-0.0"
        return super().outreach_group_shares()

    def pair_values(self) -> np.ndarray:
        """x per pair of the last solve, in [0, 1]."""
        if self.solved_x is not None:
            return np.clip(np.round(self.solved_x, 9), 0.0, 1.0) + 0.0  # + 0.0: never "-0.0"
        return np.array([_value(x) for x in self.x_vars]) if self.x_vars else np.zeros(
            len(self.pair_group))

    def shares(self, open_: np.ndarray) -> Shares:
        m = self.model
        d = m.data
        eff = m.site_effectiveness()
        n = len(self.groups.sites)
        g, j, w = self.pair_group, self.pair_site, self.pair_take_up
        v = self.pair_values() * open_[j]
        cover = np.bincount(g, weights=w * v, minlength=n)
        share = np.bincount(g, weights=eff[j] * w * v, minlength=n)
        site_children = np.bincount(j, weights=self.groups.population[g] * w * v,
                                    minlength=d.n_sites)
        site_demand = np.bincount(j, weights=self.groups.demand[g] * eff[j] * w * v,
                                  minlength=d.n_sites)
        # Per group the site serving most of it, the nearest (first pair) on ties.
        best = np.full(n, -1, dtype=np.int64)
        ok = np.flatnonzero(v > TOL)
        if len(ok):
            ok = ok[np.lexsort((ok, -v[ok], g[ok]))]
            first = ok[np.r_[True, g[ok][1:] != g[ok][:-1]]]
            best[g[first]] = j[first]
        serving = np.full(d.n_areas, -1, dtype=np.int64)
        valid = self.groups.area_group >= 0
        serving[valid] = best[self.groups.area_group[valid]]
        # Areas with no children have no x; like the coverage model, their nearest open site.
        empty = ~valid
        serving[empty] = _nearest_open(d.reach, open_, d.n_areas)[empty]
        return Shares(self._per_area(cover), self._per_area(share), self.outreach_shares(),
                      site_children, site_demand, serving)

    def redundancy_check(self) -> Callable[[int, np.ndarray], bool]:
        """For the last solve: f(j, others) is True when nobody is assigned to site j."""
        assigned = np.bincount(self.pair_site, weights=self.pair_values(),
                               minlength=self.model.data.n_sites)
        return lambda j, others: bool(assigned[j] <= TOL)

    def reached(self, open_: np.ndarray, shares: Shares) -> np.ndarray:
        """Served: some of the area's children have a place at a centre or with an outreach
        worker (a centre nearby with no place left does not count). The coverage model with
        capacities: more than half the area reached."""
        if self.counted_in_children:
            return shares.cover + shares.outreach > 1e-6
        return super().reached(open_, shares)


def _nearest_open(pairs: TravelPairs, open_: np.ndarray, n_areas: int) -> np.ndarray:
    """Per area the nearest open site among the pairs (sorted by area, minutes, site); -1."""
    out = np.full(n_areas, -1, dtype=np.int64)
    ok = open_[pairs.site]
    a, s = pairs.area[ok], pairs.site[ok]
    first = np.unique(a, return_index=True)[1]
    out[a[first]] = s[first]
    return out


def reach_for(model: FamilyCentreModel) -> CoverageReach | ServiceReach:
    """The reach part a model's settings ask for."""
    if model.settings.reach_model == "service":
        return ServiceReach(model)
    if np.isfinite(model.data.capacity).any():
        return ServiceReach(model, counted_in_children=False)
    return CoverageReach(model)
