"""The tie-break made exact: close open sites and drop outreach workers that reach no one extra.

The reach objectives subtract a tiny ε · (site weights + workers) so that, among plans with equal
reach, the cheaper one wins (:mod:`optimiser.model.objectives`). ε is far below HiGHS's absolute
optimality tolerance (10⁻⁶), so the solver may stop at an equal-reach plan that keeps a centre
reaching no one else (seen with a budget that does not bind: an existing spoke kept at £208k a
year). This pass removes such sites and workers from the solver's plan, one at a time, most
expensive first, only when every rule still holds:

- every area the site counts for (z > 0 on its tier) has another open site of the same tier in
  reach, so every share, locality total and floor is unchanged;
- not must_open; min_sites, a site in every locality, a hub for every open spoke within
  ``hub_within_km`` and the deprived areas' access still hold;
- the site costs money to keep (annual coefficient > 0), so the annual cost falls.

Closing sites never breaks max_sites, separation or the budget. A worker is dropped while the
locality's outreach still fits in the remaining workers' capacity. With capacities (shares split
between sites) nothing is pruned. The primary objective, its bound and the status are unchanged.

Examples
--------
>>> import numpy as np
>>> from optimiser.model import FamilyCentreModel
>>> m = FamilyCentreModel.from_cost_matrix(np.array([[5.0, 5.0]]), demand=[10], threshold=10,
...                                        annual_cost=[1.0, 2.0], budget=3)
>>> m.solve().open.tolist()       # site 1 reaches no one that site 0 does not
[True, False]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from optimiser.model.data import hub_pairs

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel

TOL = 1e-9


def prune_plan(model: FamilyCentreModel, open_: np.ndarray,
               workers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open sites and workers with the redundant ones removed (see the module docstring)."""
    s, d = model.settings, model.data
    if s.objective not in ("max_reach", "max_min_locality") or model.capacity_mode:
        return open_, workers
    open_ = open_.copy()
    workers = workers.copy()
    tier_of = np.zeros(d.n_sites, dtype=np.int64) if (
        s.hub_effectiveness == s.spoke_effectiveness) else d.spoke.astype(np.int64)
    # Groups each site counts for: z of its tier > 0.
    counts_for: list[list[int]] = [[] for _ in range(d.n_sites)]
    for (g, t), z in model.z.items():
        if z.varValue is not None and z.varValue > TOL:
            for j in model.group_sites[g]:
                if tier_of[j] == t:
                    counts_for[int(j)].append(g)
    spokes_of_hub: dict[int, list[int]] = {}
    hubs_of_spoke: dict[int, list[int]] = {}
    if s.hub_within_km:
        for sp, hub in hub_pairs(d, s.hub_within_km):
            spokes_of_hub.setdefault(int(hub), []).append(int(sp))
            hubs_of_spoke.setdefault(int(sp), []).append(int(hub))
    deprived_sets: list[np.ndarray] = []
    if s.deprived_max_minutes is not None and d.deprived is not None:
        dep = d.deprived
        deprived_sets = [dep.site[dep.area == i] for i in d.deprived_areas]
    must = set(s.must_open)

    def may_close(j: int) -> bool:
        if j in must or model.cost_coef[j] <= 0:
            return False
        if s.min_sites is not None and open_.sum() - 1 < s.min_sites:
            return False
        others = open_.copy()
        others[j] = False
        for g in counts_for[j]:
            sites = model.group_sites[g]
            if not (others[sites] & (tier_of[sites] == tier_of[j])).any():
                return False
        loc = d.site_locality[j]
        if s.site_per_locality and loc >= 0 and not (others & (d.site_locality == loc)).any():
            return False
        for sp in spokes_of_hub.get(j, []):
            if others[sp] and not others[hubs_of_spoke[sp]].any():
                return False
        return all(others[sites].any() for sites in deprived_sets if open_[sites].any()
                   and j in sites)

    for j in sorted(np.flatnonzero(open_), key=lambda k: (-model.cost_coef[k], k)):
        if may_close(int(j)):
            open_[j] = False

    if model.u and len(workers):
        used = np.zeros(len(d.localities))
        for g, o in model.o.items():
            if o.varValue is not None:
                used[model.group_locality[g]] += model.group_demand[g] * max(o.varValue, 0.0)
        k = s.reach_per_worker
        for loc in range(len(workers)):
            while workers[loc] > 0 and used[loc] <= k * (workers[loc] - 1) + 1e-7:
                workers[loc] -= 1
    return open_, workers
