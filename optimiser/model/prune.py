"""The tie-break made exact: close open sites and drop outreach workers that serve no one extra.

The reach objectives subtract a tiny ε · (site weights + workers) so that, among plans with equal
reach, the cheaper one wins (:mod:`optimiser.model.objectives`). ε is far below HiGHS's absolute
optimality tolerance (10⁻⁶), so the solver may stop at an equal-reach plan that keeps a centre
serving no one else (seen with a budget that does not bind: an existing spoke kept at £208k a
year). This pass removes such sites and workers from the solver's plan, one at a time, most
expensive first, only when nothing changes for anyone and every rule still holds:

- the site serves no one extra (``redundancy_check`` of the reach model: in the service
  model nobody is assigned to it; in the coverage model every area it counts for has another
  open site of its tier in reach), so every share, locality total and floor is unchanged;
- every active rule still holds for the plan without it (:mod:`optimiser.model.rules`);
- the site costs money to keep (annual coefficient > 0), so the annual cost falls.

A worker is dropped while the locality's outreach still fits in the remaining workers' capacity.
The primary objective, its bound and the status are unchanged.

Examples
--------
>>> import numpy as np
>>> from optimiser.model import FamilyCentreModel
>>> m = FamilyCentreModel.from_cost_matrix(np.array([[5.0, 5.0]]), demand=[10], threshold=10,
...                                        annual_cost=[1.0, 2.0], budget=3,
...                                        reach_model="coverage")
>>> m.solve().open.tolist()       # site 1 reaches no one that site 0 does not
[True, False]
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from optimiser.model.rules import Plan

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel


def prune_plan(model: FamilyCentreModel, open_: np.ndarray,
               workers: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Open sites and workers with the redundant ones removed (see the module docstring)."""
    open_ = open_.copy()
    redundant = model.reach.redundancy_check()
    for j in sorted(np.flatnonzero(open_), key=lambda k: (-model.cost_coef[k], k)):
        if model.cost_coef[j] <= 0:
            continue
        others = open_.copy()
        others[j] = False
        if redundant(int(j), others) and not model.check_plan(
                Plan(others, workers)):
            open_ = others
    return open_, _fewest_workers(model, workers)


def _fewest_workers(model: FamilyCentreModel, workers: np.ndarray) -> np.ndarray:
    """Workers per locality, less those whose caseload the locality's outreach does not use."""
    workers = workers.copy()
    if not model.u or not len(workers):
        return workers
    reach = model.reach
    used = np.bincount(reach.groups.locality,
                       weights=reach.outreach_unit() * reach.outreach_group_shares(),
                       minlength=len(workers))
    k = reach.worker_capacity()
    for loc in range(len(workers)):
        while workers[loc] > 0 and used[loc] <= k * (workers[loc] - 1) + 1e-7:
            workers[loc] -= 1
    return workers
