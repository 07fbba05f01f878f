"""Where the budget constraint is: the annual cost of a plan and the cap on it.

The annual cost of a plan, in £ a year::

    Σ_j annual_cost_j · y_j                          running every open site (existing or new)
  + cost_per_worker · Σ_l u_l                        outreach workers
  + Σ_{j candidate} setup_cost_j / Y · y_j           opening new sites, spread over Y years
  + Σ_{j existing} closure_cost_j / Y · (1 − y_j)    closing today's sites, spread over Y years

with Y = ``annualise_years``. The closure term has a constant part (Σ closure_j / Y, paid if every
existing site closed) and a negative coefficient on y_j, so the budget cap is written as::

    Σ_j c_j · y_j + cost_per_worker · Σ_l u_l  ≤  B − Σ_{j existing} closure_cost_j / Y
    c_j = annual_cost_j + setup_cost_j / Y   (candidate)
    c_j = annual_cost_j − closure_cost_j / Y (existing)

Examples
--------
>>> import numpy as np
>>> c, k = cost_coefficients(np.array([100.0, 50.0]), np.array([10.0, 0.0]),
...                          np.array([0.0, 20.0]), np.array([False, True]), years=5)
>>> c.tolist(), k
([102.0, 46.0], 4.0)
"""

from __future__ import annotations

import numpy as np
import pulp


def cost_coefficients(
    annual: np.ndarray, setup: np.ndarray, closure: np.ndarray, existing: np.ndarray,
    years: float,
) -> tuple[np.ndarray, float]:
    """Per-site coefficients c_j on y_j and the constant (closure of every existing site)."""
    existing = np.asarray(existing, dtype=bool)
    coef = annual + np.where(existing, -closure / years, setup / years)
    constant = float((closure / years)[existing].sum())
    return coef.astype(float), constant


def annual_cost_expression(
    y: list[pulp.LpVariable], coef: np.ndarray, u: list[pulp.LpVariable], worker_cost: float,
) -> pulp.LpAffineExpression:
    """Σ c_j y_j + cost_per_worker Σ u_l (the variable part of the annual cost)."""
    terms = [(v, float(c)) for v, c in zip(y, coef, strict=True) if c != 0]
    terms += [(v, float(worker_cost)) for v in u if worker_cost != 0]
    return pulp.LpAffineExpression(terms)


def add_budget_cap(
    problem: pulp.LpProblem, cost: pulp.LpAffineExpression, constant: float, budget: float,
) -> pulp.LpConstraint:
    """The budget cap: annual cost ≤ B, i.e. the variable part ≤ B − the constant part."""
    con = pulp.LpConstraint(cost, pulp.LpConstraintLE, name="budget", rhs=budget - constant)
    problem.addConstraint(con)
    return con


def set_budget(con: pulp.LpConstraint, constant: float, budget: float) -> None:
    """Move the cap of an existing budget constraint (re-solving for another budget)."""
    con.constant = -(budget - constant)


def annual_cost_value(
    y: np.ndarray, coef: np.ndarray, constant: float, u: np.ndarray, worker_cost: float,
) -> float:
    """The annual cost of a plan (£ a year), constant included."""
    return float(np.dot(coef, y) + worker_cost * np.sum(u) + constant)
