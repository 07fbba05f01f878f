"""A greedy first plan handed to HiGHS as a starting solution (max_reach only).

Coverage model: the cost-benefit greedy below. Service model: the service search's first plan
(:func:`service_sites`).

Large budget-limited covering problems (all England with a budget for a few hundred sites) have
a tight LP bound but HiGHS's own heuristics can take minutes to find a good plan. The classic
cost-benefit greedy (open the site with the most newly reached need-weighted children per £,
until the budget runs out; lazy evaluation, since gains only fall as sites open) finds one within
a few per cent in a second. HiGHS checks the start against every constraint and ignores it if it
breaks one (a locality floor, min_sites, ...), so it can change the speed, never the answer.

The site decisions and outreach workers (spending what the sites leave, where most children are
out of reach of a site) are given; HiGHS completes the shares reached.
"""

from __future__ import annotations

import heapq
from typing import TYPE_CHECKING

import numpy as np

from optimiser.model.reach import CoverageReach

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel


def greedy_sites(model: FamilyCentreModel) -> np.ndarray | None:
    """Open/closed per site from the cost-benefit greedy, or None when it does not apply."""
    d, s = model.data, model.settings
    if not model.objective.greedy_start or s.budget is None:
        return None
    if not isinstance(model.reach, CoverageReach):
        return service_sites(model)
    groups = model.reach.groups
    n_groups = len(groups.sites)
    if n_groups == 0:
        return None
    # Site -> groups it reaches (CSR).
    g_idx = np.repeat(np.arange(n_groups), [len(x) for x in groups.sites])
    s_idx = np.concatenate(groups.sites) if len(g_idx) else np.zeros(0, dtype=np.int64)
    order = np.argsort(s_idx, kind="stable")
    site_groups = np.split(g_idx[order], np.searchsorted(s_idx[order], np.arange(1, d.n_sites)))
    eff = np.where(d.spoke, s.spoke_effectiveness, s.hub_effectiveness)
    demand = groups.demand
    share = np.zeros(n_groups)
    coef = model.cost_coef

    allowed = np.ones(d.n_sites, dtype=bool)
    allowed[s.must_close] = False
    if s.hub_within_km:
        allowed &= ~d.spoke  # a spoke's hub rule is left to the solver
    open_ = np.zeros(d.n_sites, dtype=bool)
    # Must-open sites, and existing sites that cost nothing or save money by staying open.
    free = np.flatnonzero(allowed & (coef <= 0))
    for j in [*s.must_open, *free]:
        open_[j] = True
        gs = site_groups[j]
        share[gs] = np.maximum(share[gs], eff[j])
    left = s.budget - model.cost_constant - float(coef[open_].sum())
    if left < 0:
        return None
    max_sites = s.max_sites if s.max_sites is not None else d.n_sites

    def gain(j: int) -> float:
        gs = site_groups[j]
        return float(np.dot(demand[gs], np.maximum(eff[j] - share[gs], 0.0)))

    heap = [(-gain(j) / max(coef[j], 1e-9), j) for j in np.flatnonzero(allowed & ~open_)]
    heapq.heapify(heap)
    while heap and open_.sum() < max_sites:
        _, j = heapq.heappop(heap)
        if coef[j] > left + 1e-9:
            continue
        ratio = gain(j) / max(coef[j], 1e-9)
        if ratio <= 0:
            continue
        if heap and ratio < -heap[0][0] - 1e-12:
            heapq.heappush(heap, (-ratio, j))  # stale: look again later
            continue
        open_[j] = True
        left -= coef[j]
        gs = site_groups[j]
        share[gs] = np.maximum(share[gs], eff[j])
    return open_


def service_sites(model: FamilyCentreModel) -> np.ndarray | None:
    """The service model's first plan: the service search's best first plan (model/
    search_service.py: its greedy by dual price, or the rounding of a few of its bound's steps),
    without its swaps. Without it HiGHS can reach a time limit on a large service instance still
    in its root LP, holding only the empty plan."""
    from optimiser.model.search_service import ROUND_EVERY, ServiceSearch

    return ServiceSearch.from_model(model, steps=ROUND_EVERY).rounded_plan()


def greedy_workers(model: FamilyCentreModel, open_: np.ndarray) -> np.ndarray | None:
    """Outreach workers for the budget the greedy sites leave: one at a time, each to the
    locality where a worker reaches the most need-weighted children not reached by a site."""
    d, s = model.data, model.settings
    if not model.u or s.budget is None or not isinstance(model.reach, CoverageReach):
        return None
    groups = model.reach.groups
    workers = np.zeros(len(d.localities), dtype=np.int64)
    if s.worker_cost <= 0:
        return workers
    left = s.budget - model.cost_constant - float(model.cost_coef[open_].sum())
    eff = np.where(d.spoke, s.spoke_effectiveness, s.hub_effectiveness)
    covered = np.zeros(len(groups.sites))
    for g, sites in enumerate(groups.sites):
        on = sites[open_[sites]]
        covered[g] = eff[on].max() if len(on) else 0.0
    # Outreach reaches only what no site does (z + o ≤ 1): unreached need per locality.
    unreached = np.bincount(groups.locality, weights=groups.demand * (covered == 0),
                            minlength=len(d.localities))
    k = s.reach_per_worker
    cap = s.max_workers if s.max_workers is not None else np.iinfo(np.int64).max
    while left >= s.worker_cost:
        room = np.minimum(unreached - workers * k, k)
        room[workers >= cap] = 0
        best = int(np.argmax(room))
        if room[best] <= 0:
            break
        workers[best] += 1
        left -= s.worker_cost
    return workers
