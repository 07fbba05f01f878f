"""Objectives, one class each: max_reach, min_cost, max_min_locality and evaluate.

An objective owns what differs between them: which sites may move (evaluate fixes the network),
whether the policy rules and outreach apply, the objective row(s), how it is solved (one run, or
two for max_min_locality), its value and bound, and the notes a solution carries.

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

Adding an objective: a class here, its name in the scenario schema, an entry in
:data:`OBJECTIVES`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
import pulp

from optimiser.model._gap import relative_gap
from optimiser.model.rules import BudgetCap
from optimiser.model.words import money, pct

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel, ModelResult

TIE_SHARE = 1e-6


def tie_epsilon(model: FamilyCentreModel) -> float:
    """ε for reach objectives (see the module docstring)."""
    d = model.data
    positive = d.demand[d.demand > 0]
    smallest = float(positive.min()) if len(positive) else 1.0
    workers = 0.0
    if model.u:  # no more workers than the locality's outreach could use
        r = model.reach
        by_loc = np.bincount(r.groups.locality, weights=r.outreach_unit(),
                             minlength=len(d.localities))
        workers = float(np.ceil(by_loc / r.worker_capacity()).sum())
    return TIE_SHARE * smallest / (d.n_sites + workers + 1.0)


def tie_penalty(model: FamilyCentreModel) -> pulp.LpAffineExpression:
    """Σ_j w_j y_j + Σ_l u_l (prefer cheaper sites and fewer workers among equal-reach plans)."""
    annual = model.data.annual_cost
    w = (annual + 1.0) / (float(annual.max(initial=0.0)) + 1.0)
    terms = [(v, float(wj)) for v, wj in zip(model.y, w, strict=True)]
    terms += [(u, 1.0) for u in model.u]
    return pulp.LpAffineExpression(terms)


class Objective:
    """What to optimise; the default methods are max_reach's."""

    name: ClassVar[str]
    #: What ``objective_value`` counts (solution.json ``objective_unit``).
    unit: ClassVar[str] = "need-weighted children served"
    #: The policy rules apply (evaluate takes its network as given).
    uses_rules: ClassVar[bool] = True
    #: A budget sweep varies this objective's budget.
    sweeps_budget: ClassVar[bool] = True
    #: Open sites and workers that serve no one extra are dropped after the solve.
    prunes: ClassVar[bool] = True
    #: A greedy first plan is handed to the solver.
    greedy_start: ClassVar[bool] = True

    def site_bounds(self, model: FamilyCentreModel) -> tuple[np.ndarray, np.ndarray]:
        """Lower and upper bounds of y (the rules' must_open / must_close come on top)."""
        n = model.data.n_sites
        return np.zeros(n), np.ones(n)

    def outreach_on(self, model: FamilyCentreModel) -> bool:
        return model.settings.outreach

    def set(self, model: FamilyCentreModel) -> None:
        """maximise Σ need-weighted children served − ε · tie penalty."""
        model.problem.sense = pulp.LpMaximize
        model.problem.setObjective(model.total_reach - tie_epsilon(model) * tie_penalty(model))

    def solve(self, model: FamilyCentreModel) -> ModelResult:
        status, detail, bound, seconds = model.run(model.settings.time_limit_s)
        return model.result(status, detail, bound, seconds)

    def value(self, model: FamilyCentreModel, reached: float, cost: float,
              bound: float | None) -> tuple[float, float | None]:
        """The primary objective of a plan and the solver's bound on it."""
        if bound is None:
            return reached, None
        # The solver's bound is on reach − ε·penalty, and ε·penalty is at most TIE_SHARE × the
        # smallest demand: add it back to stay a bound.
        positive = model.data.demand[model.data.demand > 0]
        slack = TIE_SHARE * (float(positive.min()) if len(positive) else 1.0)
        return reached, max(bound + slack, reached)

    def direct(self, model: FamilyCentreModel) -> list[str]:
        """Reasons the objective's own requirement cannot be met, seen without solving."""
        return []

    def notes(self, model: FamilyCentreModel, result: ModelResult) -> list[str]:
        return []


class MaxReach(Objective):
    """The most need-weighted children served within the budget."""

    name = "max_reach"


class MinCost(Objective):
    """The cheapest plan serving ``target_reach`` of need-weighted children (and the floors)."""

    name = "min_cost"
    unit = "£ a year"
    sweeps_budget = prunes = greedy_start = False

    def set(self, model: FamilyCentreModel) -> None:
        """minimise the annual cost − ε' · reach, subject to reach ≥ target."""
        s = model.settings
        need_total = float(model.data.demand.sum())
        model.problem.addConstraint(pulp.LpConstraint(
            model.total_reach, pulp.LpConstraintGE, name="target_reach",
            rhs=float(s.target_reach or 0.0) * need_total))
        eps = 1e-3 / max(need_total, 1.0)
        model.problem.sense = pulp.LpMinimize
        model.problem.setObjective(model.cost_expr - eps * model.total_reach)

    def value(self, model: FamilyCentreModel, reached: float, cost: float,
              bound: float | None) -> tuple[float, float | None]:
        return cost, None if bound is None else float(bound) + model.cost_constant

    def direct(self, model: FamilyCentreModel) -> list[str]:
        s, d = model.settings, model.data
        if not s.target_reach:
            return []
        total = float(np.dot(d.demand, model.best_possible_shares()))
        total /= max(float(d.demand.sum()), 1e-12)
        if total < s.target_reach - 1e-9:
            return [f"target_reach {pct(s.target_reach)} is out of reach: with every site "
                    f"open the model reaches at most {pct(total)}"]
        return []


class MaxMinLocality(Objective):
    """The best worst-off locality (its share of need served), then the most in total."""

    name = "max_min_locality"
    unit = "worst locality's reach share"
    greedy_start = False

    def set(self, model: FamilyCentreModel) -> None:
        """Stage 1: maximise t with reach_l ≥ t · need_l for every locality with need."""
        t = model.problem.add_variable("worst_locality_share", lowBound=0, upBound=1)
        need = model.data.locality_need()
        for loc, expr in enumerate(model.locality_reach):
            if need[loc] > 0:
                model.problem.addConstraint(pulp.LpConstraint(
                    expr - float(need[loc]) * t, pulp.LpConstraintGE, name=f"worst_{loc}",
                    rhs=0.0))
        self._stage1(model, t)
        model.worst = t

    @staticmethod
    def _stage1(model: FamilyCentreModel, t: pulp.LpVariable) -> None:
        t.lowBound = 0.0
        model.problem.sense = pulp.LpMaximize
        model.problem.setObjective(pulp.LpAffineExpression([(t, 1.0)]))

    def _stage2(self, model: FamilyCentreModel, t: pulp.LpVariable, t_star: float) -> None:
        """Keep the worst locality at t* (less 1e-9) and maximise the total."""
        t.lowBound = max(0.0, t_star - 1e-9)
        Objective.set(self, model)

    def solve(self, model: FamilyCentreModel) -> ModelResult:
        """Two solves (worst locality first, then the total), each with the full time limit."""
        limit = model.settings.time_limit_s
        t = model.worst
        self._stage1(model, t)
        status, detail, bound1, total = model.run(limit)
        if status == "infeasible" or model.no_plan or t.varValue is None:
            return model.result(status, detail, None, total)
        t_star, stage1_status = float(t.varValue), status
        for hold in (t_star, t_star - 1e-6):  # only solver tolerances make the first fail
            self._stage2(model, t, hold)
            status, detail, _, sec = model.run(limit)
            total += sec
            if status != "infeasible" and not model.no_plan:
                break
        else:  # fall back to stage 1's plan (the worst locality is still proven)
            self._stage1(model, t)
            _, _, _, sec = model.run(limit)
            total += sec
            status, detail = "feasible", detail + " (total not maximised)"
        if stage1_status != "optimal" and status == "optimal":
            status = stage1_status
        result = model.result(status, detail, None, total)
        if result.objective_value is not None:
            worst = float(result.locality_shares(model).min(initial=1.0))
            result.objective_value = worst
            if stage1_status == "optimal":
                result.best_bound, result.gap = worst, 0.0
            elif bound1 is not None:
                result.best_bound = float(bound1)
                result.gap = relative_gap(result.best_bound, worst)
        return result


class Evaluate(Objective):
    """A given network (default today's sites); outreach placed with what the budget leaves."""

    name = "evaluate"
    uses_rules = sweeps_budget = prunes = greedy_start = False

    def site_bounds(self, model: FamilyCentreModel) -> tuple[np.ndarray, np.ndarray]:
        d, s = model.data, model.settings
        net = s.network if s.network is not None else np.flatnonzero(d.existing).tolist()
        fixed = np.zeros(d.n_sites)
        fixed[net] = 1
        return fixed, fixed.copy()

    def outreach_on(self, model: FamilyCentreModel) -> bool:
        # Workers are paid from a budget: none without one.
        return model.settings.outreach and model.settings.budget is not None

    def set(self, model: FamilyCentreModel) -> None:
        """The network is fixed; outreach (if any) is placed to serve the most."""
        if model.u:
            lower, _ = self.site_bounds(model)
            if model.annual_cost(lower > 0.5, np.zeros(len(model.u))) > model.settings.budget:
                for v in model.u:  # nothing left over for outreach
                    v.upBound = 0
            else:
                BudgetCap().add(model)
        super().set(model)

    def notes(self, model: FamilyCentreModel, result: ModelResult) -> list[str]:
        s = model.settings
        out = []
        if s.outreach and s.budget is None:
            out.append("evaluate: outreach workers are placed only when the scenario gives a "
                       "budget; none were placed")
        if (result.annual_cost is not None and s.budget is not None
                and result.annual_cost > s.budget + 1e-6):
            out.append(f"the network costs {money(result.annual_cost)} a year, over the budget "
                       f"of {money(s.budget)}")
        return out


OBJECTIVES: dict[str, Objective] = {o.name: o for o in (MaxReach(), MinCost(), MaxMinLocality(),
                                                        Evaluate())}
