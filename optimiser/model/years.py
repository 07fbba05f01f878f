r"""Plans over several years: which sites open and close in which year, within each year's budget.

One :class:`~optimiser.model.FamilyCentreModel` is built per year (its own children, the same
sites, service model, outreach and rules, but no budget row of its own) and the years are joined
in one MILP. With years t = 1..T, y_j0 = 1 for today's sites and 0 for candidates:

.. math::

    \max \; & \textstyle\sum_t δ_t \, (\text{need-weighted children served in } t
              − ε \cdot \text{tie penalty}_t), \qquad δ_t = (1 + r)^{-(\text{year}_t −
              \text{year}_1)} \\
    \text{s.t.} \; & y_{jt} − y_{j,t−1} = b_{jt} − k_{jt}, \quad b_{jt}, k_{jt} ∈ [0, 1]
              && \text{opens and closes} \\
    & \textstyle\sum_t b_{jt} ≤ 1 \;(j \text{ candidate}), \quad b_{jt} = 0 \;(j \text{ today's})
              && \text{no reopening (unless } \texttt{reopen}) \\
    & k_{jt} = 0 \text{ for year}_t < \text{earliest closure}_j && \text{notice} \\
    & k_{jt} = 0 \;(j \text{ candidate, unless } \texttt{close\_new\_sites})
              && \text{a new centre stays open} \\
    & \textstyle\sum_j \text{running}_j y_{jt} + c_{out} \sum_l u_{lt}
              + \text{one-off}_t(b, k) ≤ B_t && \text{each year's budget} \\
    & \text{each year's service, outreach and rules} && \text{(the one-year model)}

One-off costs (``multi_year.one_off_costs``): ``in_year`` spends setup_j · b_jt and
closure_j · k_jt in year t; ``annualised`` spreads each over the ``annualise_years`` calendar
years from year t, as a one-year solve counts them. b and k need not be declared integer: with
y integer, b − k is integer, and b, k ≥ 0 with non-negative costs and Σ b ≤ 1 gives b = max(0,
y_t − y_{t−1}) at an optimum (a phantom open-and-close only costs money and uses up the single
opening).

Examples
--------
>>> import numpy as np
>>> import pandas as pd
>>> from optimiser.instance import Instance
>>> from optimiser.scenario import parse_scenario
>>> areas = pd.DataFrame({"area_id": ["A", "B"], "name": ["A", "B"], "locality": ["L", "L"],
...     "x": [0.0, 9000.0], "y": [0.0, 0.0], "population": [100.0, 100.0],
...     "need": [2.0, 1.0], "rural": [False, False]})
>>> sites = pd.DataFrame({"site_id": ["S1", "S2"], "name": ["S1", "S2"], "x": [0.0, 9000.0],
...     "y": [0.0, 0.0], "status": ["existing", "existing"], "tier": ["hub", "hub"],
...     "annual_cost": [10.0, 10.0], "setup_cost": [0.0, 0.0], "closure_cost": [0.0, 0.0],
...     "capacity": [np.nan, np.nan]})
>>> scen = parse_scenario({"instance": ".", "years": [{"year": 2026, "budget": 20},
...     {"year": 2027, "budget": 10}]})
>>> plan = MultiYearModel.from_instance(Instance(areas, sites), scen).solve()
>>> plan.status, [r.open.tolist() for r in plan.results]
('optimal', [[True, True], [True, False]])
"""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

import numpy as np
import pulp

from optimiser.growth import area_factors
from optimiser.instance import Instance
from optimiser.model._gap import relative_gap
from optimiser.model.data import build_data, settings_from_scenario
from optimiser.model.formulation import (
    FamilyCentreModel,
    ModelResult,
    _HiGHSWithStart,
    _silence_highs_banner,
    highs_status,
)
from optimiser.scenario import MultiYearSettings, Scenario


@dataclass
class Year:
    """One year of the plan: its number, budget, children and one-year model."""

    year: int
    budget: float
    children: np.ndarray            # per area: children this year ÷ the instance's
    children_ratio: float           # all children this year ÷ the instance's
    instance: Instance
    model: FamilyCentreModel
    weight: float                   # δ_t, the discount factor


@dataclass
class MultiYearResult:
    """A solved multi-year plan: the status of the joint solve and each year's result."""

    status: str
    status_detail: str
    objective_value: float | None
    best_bound: float | None
    gap: float | None
    solve_seconds: float
    years: list[Year]
    results: list[ModelResult]
    spend: list[float | None]       # each year's spend, one-off costs included (£)

    @property
    def has_plan(self) -> bool:
        return self.objective_value is not None


class MultiYearModel:
    """Several years' plans joined by site openings, closures and each year's budget.

    Build with :meth:`from_instance`; :meth:`solve` returns a :class:`MultiYearResult`.
    """

    def __init__(self, years: list[Year], scenario: Scenario) -> None:
        self.years = years
        self.scenario = scenario
        self.options = scenario.multi_year or MultiYearSettings()
        start = time.perf_counter()
        self._build()
        self.build_seconds = time.perf_counter() - start

    @classmethod
    def from_instance(cls, instance: Instance, scenario: Scenario) -> MultiYearModel:
        """One model per year of ``scenario.years`` (children scaled by its growth factor)."""
        budgets = scenario.year_budgets()
        first = scenario.years[0].year
        rate = scenario.multi_year.discount_rate if scenario.multi_year else 0.0
        factors = area_factors(scenario, instance)
        years = []
        for entry, budget, factor in zip(scenario.years, budgets, factors, strict=True):
            inst = _scaled(instance, factor)
            pop = instance.areas["population"].to_numpy(float)
            ratio = float(pop @ factor / pop.sum()) if pop.sum() > 0 else 1.0
            years.append(Year(year=entry.year, budget=budget, children=factor,
                              children_ratio=ratio, instance=inst,
                              model=_year_model(inst, scenario),
                              weight=(1.0 + rate) ** -(entry.year - first)))
        return cls(years, scenario)

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self.problem = pulp.LpProblem("family_centres_years", pulp.LpMaximize)
        objective = []
        for t, yr in enumerate(self.years):
            _rename(yr.model.problem, f"t{t}_")
            for i, con in enumerate(list(yr.model.problem.constraints())):
                self.problem.addConstraint(con, name=f"t{t}_{con.name or f'c{i}'}")
            objective.append(yr.weight * yr.model.problem.objective)
        self._events()
        self._budgets()
        self.problem.setObjective(pulp.lpSum(objective))

    def _events(self) -> None:
        """b_jt opens, k_jt closes; no reopening; notice before closing."""
        d = self.years[0].model.data
        earliest = self._earliest_closure(d.site_ids)
        reopen = self.options.reopen
        keep_new = not self.options.close_new_sites
        self.opens: list[list[pulp.LpVariable]] = []
        self.closes: list[list[pulp.LpVariable]] = []
        add = self.problem.addConstraint
        for t, yr in enumerate(self.years):
            b = [self.problem.add_variable(
                f"open_{t}_{j}", lowBound=0, upBound=1 if (reopen or not d.existing[j]) else 0)
                for j in range(d.n_sites)]
            k = [self.problem.add_variable(
                f"close_{t}_{j}", lowBound=0,
                upBound=0 if yr.year < earliest[j] or (keep_new and not d.existing[j]) else 1)
                for j in range(d.n_sites)]
            self.opens.append(b)
            self.closes.append(k)
            for j in range(d.n_sites):
                y_now = yr.model.y[j]
                before = (self.years[t - 1].model.y[j] if t else float(d.existing[j]))
                add(pulp.LpConstraint(y_now - before - b[j] + k[j], pulp.LpConstraintEQ,
                                      name=f"event_{t}_{j}", rhs=0.0))
        if not reopen:
            for j in np.flatnonzero(~d.existing):
                add(pulp.lpSum(b[j] for b in self.opens) <= 1, f"open_once_{j}")

    def _earliest_closure(self, site_ids: list[str]) -> np.ndarray:
        rule = self.options.earliest_closure
        if rule is None:
            return np.full(len(site_ids), -np.inf)
        if isinstance(rule, int):
            return np.full(len(site_ids), float(rule))
        default = float(rule.get("default", -np.inf))
        return np.array([float(rule.get(s, default)) for s in site_ids])

    def one_off_share(self, event_t: int, spend_t: int) -> float:
        """The share of an event's one-off cost in year t falling in year s."""
        if self.options.one_off_costs == "in_year":
            return 1.0 if event_t == spend_t else 0.0
        span = self.scenario.annualise_years
        lag = self.years[spend_t].year - self.years[event_t].year
        return 1.0 / span if 0 <= lag < span else 0.0

    def _budgets(self) -> None:
        for s, yr in enumerate(self.years):
            self.problem.addConstraint(self._spend(s) <= yr.budget, f"budget_{s}")

    def _spend(self, s: int) -> pulp.LpAffineExpression:
        """Year s's spend: running costs, workers and the one-off costs falling in it."""
        m = self.years[s].model
        d, worker_cost = m.data, m.settings.worker_cost
        terms = [(m.y[j], float(d.annual_cost[j])) for j in range(d.n_sites)
                 if d.annual_cost[j]]
        terms += [(u, float(worker_cost)) for u in m.u if worker_cost]
        for t in range(s + 1):
            share = self.one_off_share(t, s)
            if not share:
                continue
            terms += [(self.opens[t][j], share * float(d.setup_cost[j]))
                      for j in range(d.n_sites) if d.setup_cost[j]]
            terms += [(self.closes[t][j], share * float(d.closure_cost[j]))
                      for j in range(d.n_sites) if d.closure_cost[j]]
        return pulp.LpAffineExpression(terms)

    def spend(self, state: np.ndarray, workers: np.ndarray) -> list[float]:
        """Each year's spend of a schedule (years × sites open) and workers (per year), from
        the plan itself: the solver's open/close values may carry a harmless phantom event
        when a budget has room."""
        d = self.years[0].model.data
        worker_cost = self.years[0].model.settings.worker_cost
        before = np.vstack([d.existing, state[:-1]])
        opened, closed = state & ~before, ~state & before
        one_off = opened @ d.setup_cost + closed @ d.closure_cost   # per event year
        out = []
        for s in range(len(self.years)):
            shared = sum(self.one_off_share(t, s) * one_off[t] for t in range(s + 1))
            out.append(float(state[s] @ d.annual_cost + worker_cost * workers[s] + shared))
        return out

    # ------------------------------------------------------------------ solving

    def solve(self) -> MultiYearResult:
        """Solve the joint model with the scenario's solver settings."""
        s = self.years[0].model.settings
        _silence_highs_banner()
        solver = _HiGHSWithStart(msg=s.msg, timeLimit=s.time_limit_s, gapRel=s.gap,
                                 gapAbs=1e-6, threads=s.threads, random_seed=s.seed)
        start = time.perf_counter()
        self.problem.solve(solver)
        seconds = time.perf_counter() - start
        status, detail, bound, no_plan = highs_status(self.problem)
        results = []
        for yr in self.years:
            yr.model.no_plan = no_plan
            results.append(yr.model.result(status, detail, None, seconds, prune=False))
        if not results[0].has_plan:
            return MultiYearResult(status, detail, None, None, None, seconds, self.years,
                                   results, [None] * len(self.years))
        value = float(sum(yr.weight * r.objective_value
                          for yr, r in zip(self.years, results, strict=True)))
        if status == "optimal":
            bound = value
        elif bound is not None:
            bound = max(bound + _tie_slack(self.years), value)
        gap = relative_gap(bound, value)
        spend = self.spend(np.array([r.open for r in results]),
                           np.array([r.workers.sum() for r in results]))
        return MultiYearResult(status, detail, value, bound, gap, seconds, self.years,
                               results, spend)


def _tie_slack(years: list[Year]) -> float:
    """The tie-break's largest total effect on the objective (added back to the bound)."""
    from optimiser.model.objectives import TIE_SHARE

    total = 0.0
    for yr in years:
        positive = yr.model.data.demand[yr.model.data.demand > 0]
        total += yr.weight * TIE_SHARE * (float(positive.min()) if len(positive) else 1.0)
    return total


def _scaled(instance: Instance, factor: np.ndarray) -> Instance:
    """The instance with each area's children multiplied by its ``factor``."""
    if np.all(factor == 1.0):
        return instance
    areas = instance.areas.assign(population=instance.areas["population"] * factor)
    return replace(instance, areas=areas)


def _year_model(instance: Instance, scenario: Scenario) -> FamilyCentreModel:
    """A one-year model with no budget row (the joint model writes each year's)."""
    data = build_data(instance, scenario)
    settings = replace(settings_from_scenario(scenario, data.site_ids), budget=None)
    return FamilyCentreModel.from_data(data, settings, instance=instance, scenario=scenario)


def _rename(problem: pulp.LpProblem, prefix: str) -> None:
    """Prefix every variable's name so the years' variables stay distinct in one problem."""
    for v in problem.variables():
        v.name = prefix + v.name
