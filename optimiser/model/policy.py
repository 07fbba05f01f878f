"""Policy constraints, each switchable from the scenario's ``constraints:`` and ``tiers:``.

- locality floors: every locality reaches at least φ of its need-weighted children;
- at least one open site per locality;
- min / max number of open sites;
- no two open sites within d km (straight line);
- must-open / must-close lists (fixed variable bounds, set in the formulation);
- a spoke needs an open hub within D km (straight line);
- capacity: the children assigned to a site at most its capacity (see the formulation);
- the most deprived areas (IMD deciles 1-2) within T minutes of an open site.

Each function adds its rows to ``model.problem`` and names them, so an infeasible scenario can
be explained by which family of rows binds (:mod:`optimiser.model.explain`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pulp

from optimiser.model.data import hub_pairs
from optimiser.travel import site_pairs_within

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel


def _add(model: FamilyCentreModel, terms, sense: int, rhs: float, name: str) -> None:
    model.problem.addConstraint(
        pulp.LpConstraint(pulp.LpAffineExpression(terms), sense, name=name, rhs=rhs))


def add_locality_floors(model: FamilyCentreModel) -> None:
    """Σ_{i∈l} a_i · reach_i ≥ φ · Σ_{i∈l} a_i for every locality l with need."""
    phi = model.settings.locality_min_reach
    if not phi:
        return
    need = model.data.locality_need()
    for loc, expr in enumerate(model.locality_reach):
        if need[loc] > 0:
            model.problem.addConstraint(pulp.LpConstraint(
                expr, pulp.LpConstraintGE, name=f"floor_{loc}", rhs=phi * need[loc]))


def add_site_per_locality(model: FamilyCentreModel) -> None:
    """At least one open site in every locality (site locality from sites.csv or nearest area)."""
    if not model.settings.site_per_locality:
        return
    for loc in range(len(model.data.localities)):
        members = np.flatnonzero(model.data.site_locality == loc)
        _add(model, [(model.y[j], 1.0) for j in members], pulp.LpConstraintGE, 1.0,
             f"site_in_locality_{loc}")


def add_site_counts(model: FamilyCentreModel) -> None:
    """min_sites ≤ Σ_j y_j ≤ max_sites."""
    s = model.settings
    if s.min_sites is not None:
        _add(model, [(v, 1.0) for v in model.y], pulp.LpConstraintGE, s.min_sites, "min_sites")
    if s.max_sites is not None:
        _add(model, [(v, 1.0) for v in model.y], pulp.LpConstraintLE, s.max_sites, "max_sites")


def add_separation(model: FamilyCentreModel) -> None:
    """y_j + y_k ≤ 1 for every pair of sites closer than d km."""
    d = model.settings.min_separation_km
    if not d:
        return
    for j, k in site_pairs_within(model.data.site_xy, d, strict=True):
        _add(model, [(model.y[j], 1.0), (model.y[k], 1.0)], pulp.LpConstraintLE, 1.0,
             f"separation_{j}_{k}")


def add_hub_within(model: FamilyCentreModel) -> None:
    """y_spoke ≤ Σ_{hubs h within D km} y_h; a spoke with no hub that near stays closed."""
    d = model.settings.hub_within_km
    if not d:
        return
    pairs = hub_pairs(model.data, d)
    for s in np.flatnonzero(model.data.spoke):
        hubs = pairs[pairs[:, 0] == s, 1]
        _add(model, [(model.y[s], 1.0)] + [(model.y[h], -1.0) for h in hubs],
             pulp.LpConstraintLE, 0.0, f"hub_for_{s}")


def add_deprived_access(model: FamilyCentreModel) -> None:
    """Σ_{j: t_ij ≤ T} y_j ≥ 1 for every area in IMD deciles 1-2 (identical rows once)."""
    dep = model.data.deprived
    if model.settings.deprived_max_minutes is None or dep is None:
        return
    seen: set[tuple[int, ...]] = set()
    for i in model.data.deprived_areas:
        sites = tuple(sorted(dep.site[dep.area == i].tolist()))
        if sites in seen:
            continue
        seen.add(sites)
        _add(model, [(model.y[j], 1.0) for j in sites], pulp.LpConstraintGE, 1.0,
             f"deprived_{i}")


def add_capacity(model: FamilyCentreModel) -> None:
    """Σ_g population_g x_gj ≤ capacity_j y_j for sites with a capacity (assignment form)."""
    if not model.capacity_mode:
        return
    cap = model.data.capacity
    by_site: dict[int, list] = {}
    for (g, j), x in model.x.items():
        if np.isfinite(cap[j]):
            by_site.setdefault(j, []).append((x, float(model.group_population[g])))
    for j in sorted(by_site):
        _add(model, [*by_site[j], (model.y[j], -float(cap[j]))], pulp.LpConstraintLE, 0.0,
             f"capacity_{j}")


def add_all(model: FamilyCentreModel) -> None:
    """Every policy constraint the settings switch on (evaluate uses none of them)."""
    add_capacity(model)
    if model.settings.objective == "evaluate":
        return
    add_locality_floors(model)
    add_site_per_locality(model)
    add_site_counts(model)
    add_separation(model)
    add_hub_within(model)
    add_deprived_access(model)
