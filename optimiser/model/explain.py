"""Why is a scenario infeasible? Sentences that name the binding requirement.

First each active rule, and the objective, say what they can see without solving (cheap and
exact; :meth:`Rule.direct` in :mod:`optimiser.model.rules`): the must-open sites alone cost more
than the budget; must-open sites closer than the minimum separation; min_sites larger than the
sites that may open; a locality with no site that may open, or that cannot reach its floor even
with every site open; the overall target out of reach; a deprived area with no site in range.

When none of these fires, the rules are relaxed one at a time and the first relaxation that makes
the scenario feasible is named; for the budget, the cheapest plan that meets every other
requirement is priced ("the cheapest plan meeting the other requirements costs £X").
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from optimiser.model.rules import BudgetCap, Rule
from optimiser.model.words import money

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel

#: At most this long (seconds) is spent looking for two requirements that conflict together.
PAIR_SEARCH_S = 60.0

__all__ = ["direct_checks", "explain_infeasible", "money", "relaxation_checks"]


def direct_checks(model: FamilyCentreModel) -> list[str]:
    """Binding requirements that can be seen without solving (may be empty)."""
    out: list[str] = []
    for rule in model.rules:
        out += rule.direct(model)
    return out + model.objective.direct(model)


def _time_limit(model: FamilyCentreModel) -> float:
    return min(model.settings.time_limit_s or 30.0, 30.0)


def _price_budget(model: FamilyCentreModel) -> str | None:
    """The cheapest plan meeting every other requirement, against the budget (priced to within
    1%: a lower bound above the budget proves the point without the exact figure)."""
    s = model.settings
    # The target binds only min_cost; for other objectives an unused target_reach is ignored.
    target = (s.target_reach or 0.0) if s.objective == "min_cost" else 0.0
    cheap = model.relaxed(budget=None, objective="min_cost", target_reach=target, gap=0.01,
                          time_limit_s=_time_limit(model)).solve()
    if not cheap.has_plan or cheap.annual_cost is None:
        return None
    budget = money(s.budget or 0)
    if cheap.status == "optimal":
        return (f"the budget {budget} is below the {money(cheap.annual_cost)} a year that the "
                f"cheapest plan meeting the other requirements costs"
                + _cost_drivers(model, target))
    if cheap.best_bound is not None and cheap.best_bound > (s.budget or 0):
        return (f"the budget {budget} is below the {money(cheap.best_bound)} a year that any "
                f"plan meeting the other requirements costs at the least (the cheapest found "
                f"costs {money(cheap.annual_cost)})")
    return (f"without the budget cap the scenario is feasible: the cheapest plan found meeting "
            f"the other requirements costs {money(cheap.annual_cost)} a year (not proven "
            f"cheapest), above the budget {budget}")


def _cost_drivers(model: FamilyCentreModel, target: float) -> str:
    """When several requirements together set the cheapest plan's cost, name them, each with
    what it would cost alone (so a budget below their sum is explained by all of them)."""
    others = [r for r in model.rules if not isinstance(r, BudgetCap)]
    if len(others) < 2:
        return ""
    alone = []
    for rule in others:
        off: dict = {}
        for other in others:
            if other is not rule:
                off.update(other.relax)
        trial = model.relaxed(budget=None, objective="min_cost", target_reach=target, gap=0.01,
                              time_limit_s=_time_limit(model), **off).solve()
        if trial.has_plan and trial.annual_cost is not None and trial.annual_cost > 0.5:
            alone.append(f"{rule.words} ({rule.key}) alone would cost "
                         f"{money(trial.annual_cost)}")
    if len(alone) < 2:
        return ""
    return "; these requirements bind together: " + ", ".join(alone[:-1]) + " and " + alone[-1]


def _relaxation(model: FamilyCentreModel, rule: Rule) -> str | None:
    # Only feasibility matters here: any plan will do, so the solver stops at a loose gap.
    trial = model.relaxed(**rule.relax, time_limit_s=_time_limit(model), gap=1.0).solve()
    if not trial.has_plan:  # still infeasible, or undecided within the time limit
        return None
    if isinstance(rule, BudgetCap):
        priced = _price_budget(model)
        if priced is not None:
            return priced
    return (f"without {rule.words} the scenario is feasible, so {rule.words} is binding "
            f"together with the other requirements")


def _pair_relaxation(model: FamilyCentreModel) -> str | None:
    """The first two requirements that, removed together (but not one at a time), make the
    scenario feasible: two separate conflicts, one through each."""
    rules = model.rules
    deadline = time.monotonic() + PAIR_SEARCH_S
    for i, first in enumerate(rules):
        for second in rules[i + 1:]:
            left = deadline - time.monotonic()
            if left <= 1:
                return None
            trial = model.relaxed(**{**first.relax, **second.relax},
                                  time_limit_s=min(_time_limit(model), left), gap=1.0).solve()
            if trial.has_plan:
                return (f"{first.words} ({first.key}) and {second.words} ({second.key}) each "
                        "block a plan: without either one alone the scenario is still "
                        "infeasible, without both it is feasible; relax both, or the "
                        "requirements each conflicts with")
    return None


def relaxation_checks(model: FamilyCentreModel) -> list[str]:
    """Relax one rule at a time; name those whose removal makes it feasible."""
    return [sentence for rule in model.rules
            if (sentence := _relaxation(model, rule)) is not None]


def explain_infeasible(model: FamilyCentreModel) -> list[str]:
    """Sentences naming why no plan meets the scenario (direct checks, then relaxations)."""
    direct = direct_checks(model)
    if direct:
        return direct
    relaxed = relaxation_checks(model)
    if relaxed:
        return relaxed
    pair = _pair_relaxation(model)
    if pair:
        return [pair]
    return ["no single requirement explains it: the requirements conflict in combination; "
            "try relaxing the locality floor, min_sites or the budget one at a time"]
