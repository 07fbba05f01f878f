"""Objectives: max_reach, min_cost, max_min_locality (two stages) and evaluate.

Ties are broken on purpose so the same inputs always give the same plan:

- reach objectives subtract ε · (Σ_j w_j y_j + Σ_l u_l), with w_j = (annual_cost_j + 1) /
  (max annual cost + 1) ∈ (0, 1]: among plans with equal reach, the cheaper one with fewer
  outreach workers wins;
- min_cost subtracts ε' · reach: among equally cheap plans, the one reaching more wins.

Why ε cannot change the primary optimum: at an optimum no plan has more outreach workers than
Σ_l ⌈need_l / K⌉ (more would reach no one and cost more), so the whole secondary term is at most
ε · (n_sites + Σ_l ⌈need_l / K⌉ + 1) = 10⁻⁶ × the smallest positive area demand. Two plans whose
primary values differ by less than that are, for a council, the same plan. The same bound, in
pounds (10⁻³ £ a year in total), holds for ε'.

The flip side: ε is below HiGHS's absolute optimality tolerance (10⁻⁶), so the solver need not
enforce it; :mod:`optimiser.model.prune` then drops open sites and workers that reach no one
extra.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pulp

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel

TIE_SHARE = 1e-6


def tie_epsilon(model: FamilyCentreModel) -> float:
    """ε for reach objectives (see the module docstring)."""
    d = model.data
    positive = d.demand[d.demand > 0]
    smallest = float(positive.min()) if len(positive) else 1.0
    workers = 0.0
    if model.settings.outreach:
        workers = float(np.ceil(d.locality_need() / model.settings.reach_per_worker).sum())
    return TIE_SHARE * smallest / (d.n_sites + workers + 1.0)


def tie_penalty(model: FamilyCentreModel) -> pulp.LpAffineExpression:
    """Σ_j w_j y_j + Σ_l u_l (prefer cheaper sites and fewer workers among equal-reach plans)."""
    annual = model.data.annual_cost
    w = (annual + 1.0) / (float(annual.max(initial=0.0)) + 1.0)
    terms = [(v, float(wj)) for v, wj in zip(model.y, w, strict=True)]
    terms += [(u, 1.0) for u in model.u]
    return pulp.LpAffineExpression(terms)


def set_max_reach(model: FamilyCentreModel) -> None:
    """maximise Σ_i a_i (e·z_i + α o_i) − ε · tie penalty."""
    model.problem.sense = pulp.LpMaximize
    model.problem.setObjective(model.total_reach - tie_epsilon(model) * tie_penalty(model))


def set_min_cost(model: FamilyCentreModel) -> None:
    """minimise the annual cost − ε' · reach, subject to reach ≥ target (added here)."""
    s = model.settings
    need_total = float(model.data.demand.sum())
    target = float(s.target_reach or 0.0)
    model.problem.addConstraint(pulp.LpConstraint(
        model.total_reach, pulp.LpConstraintGE, name="target_reach", rhs=target * need_total))
    eps = 1e-3 / max(need_total, 1.0)
    model.problem.sense = pulp.LpMinimize
    model.problem.setObjective(model.cost_expr - eps * model.total_reach)


def set_max_min_stage1(model: FamilyCentreModel) -> pulp.LpVariable:
    """Stage 1: maximise t with reach_l ≥ t · need_l for every locality with need."""
    t = model.problem.add_variable("worst_locality_share", lowBound=0, upBound=1)
    need = model.data.locality_need()
    for loc, expr in enumerate(model.locality_reach):
        if need[loc] > 0:
            model.problem.addConstraint(pulp.LpConstraint(
                expr - float(need[loc]) * t, pulp.LpConstraintGE, name=f"worst_{loc}", rhs=0.0))
    model.problem.sense = pulp.LpMaximize
    model.problem.setObjective(pulp.LpAffineExpression([(t, 1.0)]))
    return t


def set_max_min_stage2(model: FamilyCentreModel, t: pulp.LpVariable, t_star: float) -> None:
    """Stage 2: keep the worst locality at t* (less 1e-9) and maximise the total reach."""
    t.lowBound = max(0.0, t_star - 1e-9)
    set_max_reach(model)


def set_evaluate(model: FamilyCentreModel) -> None:
    """The network is fixed; outreach (if any) is placed to reach the most."""
    set_max_reach(model)
