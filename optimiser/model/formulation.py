"""The family-centre location model: one class, its formulation, its solve.

See :class:`FamilyCentreModel`.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
import pulp

from optimiser.instance import Instance, validate_sites, validate_travel
from optimiser.model._gap import relative_gap
from optimiser.model.budget import (
    annual_cost_expression,
    annual_cost_value,
    cost_coefficients,
    set_budget,
)
from optimiser.model.data import ModelData, ModelSettings, build_data, settings_from_scenario
from optimiser.model.objectives import OBJECTIVES, Objective
from optimiser.model.prune import prune_plan
from optimiser.model.reach import Shares, reach_for
from optimiser.model.rules import RULES, Plan, Rule
from optimiser.model.start import greedy_sites, greedy_workers
from optimiser.scenario import Scenario, parse_scenario

STATUSES = ("optimal", "feasible", "infeasible", "time_limit")


@dataclass
class ModelResult:
    """What a solve found.

    Attributes
    ----------
    status
        ``optimal`` (proven: gap 0 within the solver's 1e-6 absolute tolerance), ``feasible``
        (a plan within the requested gap, not proven optimal), ``time_limit`` (stopped by the
        time limit; ``best_bound`` and ``gap`` say how far from optimal it may be) or
        ``infeasible`` (no plan meets the constraints).
    objective_value
        The primary objective of the plan found: need-weighted children served (max_reach,
        evaluate), £ a year (min_cost), the worst locality's reach share (max_min_locality).
    best_bound, gap
        The best bound proven on the primary objective and the relative gap
        ``|bound − value| / |value|`` (:func:`~optimiser.model._gap.relative_gap`); ``None``
        when unknown, or when the plan is worth 0 against a positive bound.
    open
        Bool per site (instance order). ``workers``: outreach workers per locality.
    shares
        Per area and per site: who is served by which site and by outreach
        (:class:`~optimiser.model.reach.Shares`); ``site_cover``, ``site_share`` and
        ``outreach_share`` are its per-area arrays.
    reached
        Per area: has access (an open site within its threshold, or outreach for most of it;
        the coverage model: more than half of it reached).
    outreach_served
        Per locality: what its outreach workers serve, in their capacity's unit (children a
        year in the service model), never more than workers × caseload.
    """

    status: str
    status_detail: str
    objective: str
    objective_value: float | None
    best_bound: float | None
    gap: float | None
    solve_seconds: float
    build_seconds: float
    open: np.ndarray
    workers: np.ndarray
    shares: Shares
    reached: np.ndarray
    outreach_served: np.ndarray
    outreach_effectiveness: float
    annual_cost: float | None
    need_reached: float
    need_total: float
    explanation: list[str] = field(default_factory=list)

    @property
    def has_plan(self) -> bool:
        """False when infeasible or when no plan was found within the time limit."""
        return self.objective_value is not None

    @property
    def site_cover(self) -> np.ndarray:
        return self.shares.cover

    @property
    def site_share(self) -> np.ndarray:
        return self.shares.share

    @property
    def outreach_share(self) -> np.ndarray:
        return self.shares.outreach

    @property
    def reach_share(self) -> np.ndarray:
        """Per area: share of need-weighted children served (sites at tier effectiveness,
        outreach at α): the one definition every table uses."""
        return self.shares.share + self.outreach_effectiveness * self.shares.outreach

    @property
    def children_served(self) -> np.ndarray:
        """Per area: children served by a site or outreach, counted once, no discount."""
        return np.minimum(self.shares.cover + self.shares.outreach, 1.0)

    def locality_reached(self, model: FamilyCentreModel) -> np.ndarray:
        d = model.data
        return np.bincount(d.area_locality, weights=d.demand * self.reach_share,
                           minlength=len(d.localities))

    def locality_shares(self, model: FamilyCentreModel) -> np.ndarray:
        """Reach share of each locality with need (the worst is max_min_locality's value)."""
        need = model.data.locality_need()
        return self.locality_reached(model)[need > 0] / need[need > 0]


class FamilyCentreModel:
    r"""Needs-based family-centre location: service (or coverage) with budget, tiers, outreach.

    Sets: areas i (merged into groups g), sites j, localities l. Data: children p_i, demand
    a_i = p_i × need_i; travel minutes t_ij (sparse pairs within the area's limit); take-up
    w_ij = f(t_ij) (the decay curve); tier effectiveness e_j; capacities C_j (children a year);
    outreach effectiveness α, caseload K (children a year) and cost c_out; budget B (£ a year).

    Variables: y_j ∈ {0,1} site j open; x_gj ∈ [0,1] share of group g's children assigned to
    site j; o_g ∈ [0,1] share served by outreach; u_l ∈ ℤ≥0 outreach workers.

    .. math::

        \max \; & \textstyle\sum_{g,j} a_g e_j w_{gj} x_{gj} + α \sum_g a_g o_g
                  − ε \cdot \text{tie penalty} \\
        \text{s.t.} \; & x_{gj} ≤ y_j, \quad \textstyle\sum_j x_{gj} ≤ 1,
                  \quad \sum_j w_{gj} x_{gj} + o_g ≤ 1 && \text{assignment; nobody twice} \\
        & \textstyle\sum_g p_g w_{gj} x_{gj} ≤ C_j y_j && \text{capacity (model/reach.py)} \\
        & \textstyle\sum_{g ∈ l} p_g o_g ≤ K u_l && \text{outreach caseload per locality} \\
        & \text{annual cost}(y, u) ≤ B && \text{the budget cap (model/budget.py)} \\
        & \text{policy rules} && \text{(model/rules.py, each switchable)}

    ``reach: {model: coverage}`` is the earlier maximal-covering model: z_g^t ≤ Σ_{j ∈ N_g, t}
    y_j with reach sets N_g = {j : t_gj ≤ threshold}, no capacities (model/reach.py).

    Objectives (model/objectives.py): ``max_reach`` (above), ``min_cost`` (minimise the annual
    cost subject to reach ≥ target × total need, plus floors), ``max_min_locality`` (first
    maximise the worst locality's reach share t, then fix t and maximise the total) and
    ``evaluate`` (y fixed to a network; outreach placed only when the scenario has an outreach
    section and a budget, with the budget left after the network's cost).

    Examples
    --------
    >>> import numpy as np
    >>> minutes = np.array([[5.0, 50.0], [50.0, 5.0], [8.0, 9.0]])
    >>> m = FamilyCentreModel.from_cost_matrix(
    ...     minutes, demand=[10, 20, 5], threshold=10, budget=1, annual_cost=1,
    ...     reach_model="coverage")
    >>> r = m.solve()
    >>> r.status, r.objective_value, r.open.tolist()
    ('optimal', 25.0, [False, True])
    >>> m = FamilyCentreModel.from_cost_matrix(
    ...     minutes, demand=[10, 20, 5], budget=1, annual_cost=1, capacity=[30, 12])
    >>> r = m.solve()           # site 1 serves 12 of area 1's 20 children; site 0 serves 15
    >>> r.open.tolist(), r.objective_value
    ([True, False], 15.0)
    """

    def __init__(self, data: ModelData, settings: ModelSettings) -> None:
        self.data = data
        self.settings = settings
        self.instance: Instance | None = None
        self.scenario: Scenario | None = None
        self.build_seconds = 0.0
        self._build()

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_instance(cls, instance: Instance, scenario: Scenario) -> FamilyCentreModel:
        """Build from an instance (areas, sites, optional travel) and a validated scenario."""
        start = time.perf_counter()
        data = build_data(instance, scenario)
        settings = settings_from_scenario(scenario, data.site_ids)
        model = cls.__new__(cls)
        model.data, model.settings = data, settings
        model.instance, model.scenario = instance, scenario
        model._build()
        model.build_seconds = time.perf_counter() - start
        return model

    @classmethod
    def from_data(cls, data: ModelData, settings: ModelSettings, *,
                  instance: Instance | None = None,
                  scenario: Scenario | None = None) -> FamilyCentreModel:
        """Build from resolved arrays and settings (the multi-year model builds each year so)."""
        model = cls.__new__(cls)
        model.data, model.settings = data, settings
        model.instance, model.scenario = instance, scenario
        model._build()
        return model

    @classmethod
    def from_cost_matrix(
        cls,
        minutes: np.ndarray | pd.DataFrame,
        demand,
        *,
        threshold: float | None = None,
        max_minutes: float | None = None,
        reach_model: str = "service",
        decay: dict | None = None,
        annual_cost=1.0,
        budget: float | None = None,
        objective: str = "max_reach",
        locality=None,
        status=None,
        tier=None,
        setup_cost=0.0,
        closure_cost=0.0,
        capacity=None,
        site_xy=None,
        site_locality=None,
        area_xy=None,
        population=None,
        imd_decile=None,
        scenario: dict | None = None,
    ) -> FamilyCentreModel:
        """Build from a dense areas × sites matrix of travel times (NaN/inf = no route).

        Like spopt's ``from_cost_matrix``. Every area is urban; ``reach_model`` ``service``
        (default: take-up by ``decay``, default the exponential curve, within ``max_minutes``,
        default 30) or ``coverage`` (reached within ``threshold``). Sites are candidates and
        hubs unless ``status``/``tier`` say otherwise; ``capacity`` in children (None or NaN =
        unlimited); ``site_xy`` (metres) is needed only for separation and hub-within rules;
        ``site_locality`` names each site's locality (default: the nearest area's, by
        ``area_xy``). ``imd_decile`` (1 = most deprived) is needed only for
        ``constraints.deprived_max_minutes``. ``scenario`` adds any other keys (``outreach``,
        ``tiers``, ``constraints``, ``solver``, ``target_reach``, ``annualise_years``,
        ``network``).
        """
        minutes = np.asarray(minutes, dtype=float)
        n, m = minutes.shape
        demand = np.asarray(demand, dtype=float)
        area_ids = [f"a{i}" for i in range(n)]
        site_ids = [f"s{j}" for j in range(m)]
        pop = demand if population is None else np.asarray(population, float)
        need = np.divide(demand, pop, out=np.ones(n), where=pop > 0)
        areas = pd.DataFrame({
            "area_id": area_ids, "name": area_ids,
            "locality": (["all"] * n if locality is None else [str(v) for v in locality]),
            "x": 0.0, "y": 0.0, "population": pop, "need": need, "rural": False,
        })
        if area_xy is not None:
            areas["x"], areas["y"] = np.asarray(area_xy, float).T
        if imd_decile is not None:
            areas["imd_decile"] = np.asarray(imd_decile, dtype=np.int64)
        xy = np.zeros((m, 2)) if site_xy is None else np.asarray(site_xy, float)
        sites = pd.DataFrame({
            "site_id": site_ids, "name": site_ids, "x": xy[:, 0], "y": xy[:, 1],
            "status": (["candidate"] * m if status is None else list(status)),
            "tier": (["hub"] * m if tier is None else list(tier)),
            "annual_cost": np.broadcast_to(np.asarray(annual_cost, float), (m,)).copy(),
            "setup_cost": np.broadcast_to(np.asarray(setup_cost, float), (m,)).copy(),
            "closure_cost": np.broadcast_to(np.asarray(closure_cost, float), (m,)).copy(),
            "capacity": (np.full(m, np.nan) if capacity is None
                         else np.asarray(capacity, float)),
        })
        if site_locality is not None:
            sites["locality"] = [str(v) for v in site_locality]
        sites = validate_sites(sites, file=None)  # type: ignore[arg-type]
        ai, sj = np.nonzero(np.isfinite(minutes))
        travel = pd.DataFrame({"area_id": np.array(area_ids, dtype=object)[ai],
                               "site_id": np.array(site_ids, dtype=object)[sj],
                               "minutes": minutes[ai, sj]})
        travel = validate_travel(travel, areas, sites, file=None)  # type: ignore[arg-type]
        instance = Instance(areas=areas, sites=sites, travel=travel)
        reach: dict = {"model": reach_model}
        if threshold is not None:
            reach["threshold_minutes"] = threshold
        if max_minutes is not None:
            reach["max_minutes"] = max_minutes
        if decay is not None:
            reach["decay"] = decay
        keys = {"instance": ".", "objective": objective, "budget": budget, "reach": reach,
                **(scenario or {})}
        return cls.from_instance(instance, parse_scenario(keys))

    # ------------------------------------------------------------------ building

    @property
    def objective(self) -> Objective:
        return OBJECTIVES[self.settings.objective]

    def site_effectiveness(self) -> np.ndarray:
        s = self.settings
        return np.where(self.data.spoke, s.spoke_effectiveness, s.hub_effectiveness)

    def _build(self) -> None:
        start = time.perf_counter()
        d, s = self.data, self.settings
        objective = self.objective
        self.problem = pulp.LpProblem("family_centres", pulp.LpMaximize)
        lower, upper = objective.site_bounds(self)
        # Integer in [0, 1], not LpBinary: PuLP resets a binary's bounds to 0..1, which would
        # drop the must_open / must_close fixings.
        self.y = [self.problem.add_variable(f"y_{j}", lowBound=int(lower[j]),
                                            upBound=int(upper[j]), cat=pulp.LpInteger)
                  for j in range(d.n_sites)]
        self.u: list[pulp.LpVariable] = []
        if objective.outreach_on(self):
            self.u = [self.problem.add_variable(f"u_{loc}", lowBound=0, upBound=s.max_workers,
                                                cat=pulp.LpInteger)
                      for loc in range(len(d.localities))]
        self.reach = reach_for(self)
        self.reach.build()
        self.cost_coef, self.cost_constant = cost_coefficients(
            d.annual_cost, d.setup_cost, d.closure_cost, d.existing, s.annualise_years)
        self.cost_expr = annual_cost_expression(self.y, self.cost_coef, self.u, s.worker_cost)
        self.budget_con = None
        self.rules: list[Rule] = ([r for r in RULES if r.active(s)] if objective.uses_rules
                                  else [])
        for rule in self.rules:
            rule.add(self)
        objective.set(self)
        self.no_plan = False
        self.build_seconds = time.perf_counter() - start

    # ------------------------------------------------------------------ re-solving

    def set_budget(self, budget: float) -> None:
        """Change the budget cap in place (a sweep re-solves the built model per budget)."""
        if self.budget_con is None:
            raise ValueError("this model has no budget constraint to change")
        self.settings.budget = budget
        set_budget(self.budget_con, self.cost_constant, budget)

    def relaxed(self, **changes) -> FamilyCentreModel:
        """A new model on the same data with some settings changed (explanations, today's
        network). Its checks are small re-solves with other objectives and rules: HiGHS solves
        them even when the plan came from the search (which solves max_reach only)."""
        if self.settings.solver == "search":
            changes.setdefault("solver", "highs")
        model = FamilyCentreModel(self.data, replace(self.settings, **changes))
        model.instance, model.scenario = self.instance, self.scenario
        return model

    # ------------------------------------------------------------------ plans

    def annual_cost(self, open_: np.ndarray, workers: np.ndarray) -> float:
        """The annual cost of a plan (£ a year; model/budget.py)."""
        return annual_cost_value(np.asarray(open_, float), self.cost_coef, self.cost_constant,
                                 workers, self.settings.worker_cost)

    def best_possible_shares(self) -> np.ndarray:
        """Per area, the most of it any plan could reach (every site open, no capacity):
        an upper bound the explanations compare floors and targets with."""
        d, s = self.data, self.settings
        ok = np.ones(d.n_sites, dtype=bool)
        ok[s.must_close] = False
        eff = self.site_effectiveness()
        best = np.zeros(d.n_areas)
        p, w = d.served, d.take_up
        keep = ok[p.site]
        np.maximum.at(best, p.area[keep], eff[p.site[keep]] * w[keep])
        alpha = s.outreach_effectiveness if s.outreach else 0.0
        return np.maximum(best, alpha) if s.reach_model == "coverage" else best + alpha * (
            1.0 - np.minimum(best, 1.0))

    def check_plan(self, plan: Plan) -> list[str]:
        """The rules a plan breaks (their scenario keys); empty when it keeps them all."""
        return [rule.key for rule in self.rules if not rule.holds(self, plan)]

    # ------------------------------------------------------------------ solving

    def _solver(self, time_limit: float | None):
        s = self.settings
        _silence_highs_banner()
        if s.solver == "cbc":
            # PULP_CBC_CMD runs the CBC binary bundled with PuLP (COIN_CMD needs a system CBC).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                return pulp.PULP_CBC_CMD(msg=s.msg, timeLimit=time_limit, gapRel=s.gap,
                                         threads=s.threads,
                                         options=[f"randomCbcSeed {s.seed + 1}"])
        # HiGHS defaults to a 1e-4 relative gap: set it explicitly (0 = prove optimality).
        solver = _HiGHSWithStart(msg=s.msg, timeLimit=time_limit, gapRel=s.gap, gapAbs=1e-6,
                                 threads=s.threads, random_seed=s.seed)
        t0 = time.perf_counter()
        start = greedy_sites(self) if self.objective.greedy_start else None
        if start is not None:
            solver.start = [(self.y[j], float(v)) for j, v in enumerate(start)]
            workers = greedy_workers(self, start)
            if workers is not None:
                solver.start += [(u, float(w)) for u, w in zip(self.u, workers, strict=True)]
        if time_limit is not None:
            # The start's time counts in the solve's, so HiGHS gets what is left (a second at
            # least: a time limit of 0 would stop it before it reads the start).
            solver.timeLimit = max(time_limit - (time.perf_counter() - t0), 1.0)
        return solver

    def run(self, time_limit: float | None) -> tuple[str, str, float | None, float]:
        """Solve the current problem; return (status, detail, solver bound, seconds)."""
        if self.settings.solver == "search":
            from optimiser.model.search import run_search

            return run_search(self, time_limit)
        start = time.perf_counter()  # the starting plan's time counts as the solve's
        solver = self._solver(time_limit)
        self.no_plan = False
        self.problem.solve(solver)
        seconds = time.perf_counter() - start
        if self.settings.solver == "cbc":
            return (*self._cbc_status(time_limit, seconds), seconds)
        return (*self._highs_status(), seconds)

    def _cbc_status(self, time_limit, seconds):
        p = self.problem
        # CBC's solution file can begin "Infeasible" (or "Integer infeasible") when the clock
        # stopped it before it found a plan. Only a verdict reached well inside the time limit
        # proves infeasibility; at the limit, the honest answer is "no plan found in time".
        stopped_by_clock = time_limit is not None and seconds >= 0.9 * time_limit
        if p.status == pulp.LpStatusInfeasible and not stopped_by_clock:
            return "infeasible", "CBC: infeasible", None
        if p.sol_status == pulp.LpSolutionOptimal and self.settings.gap == 0:
            return "optimal", "CBC: optimal", pulp.value(p.objective)
        if p.sol_status in (pulp.LpSolutionIntegerFeasible, pulp.LpSolutionOptimal):
            kind = "time_limit" if time_limit is not None and p.sol_status != \
                pulp.LpSolutionOptimal else "feasible"
            return kind, f"CBC: {pulp.LpSolution[p.sol_status]}", None
        if p.status == pulp.LpStatusNotSolved or stopped_by_clock:
            self.no_plan = True
            return "time_limit", "CBC: no plan found within the time limit", None
        return "infeasible", f"CBC: {pulp.LpStatus[p.status]}", None

    def _highs_status(self):
        status, detail, bound, self.no_plan = highs_status(self.problem)
        return status, detail, bound

    def solve(self) -> ModelResult:
        """Solve with the scenario's solver settings; see :class:`ModelResult` for the status."""
        return self.objective.solve(self)

    # ------------------------------------------------------------------ results

    def _values(self) -> tuple[np.ndarray, np.ndarray]:
        y = np.array([v.varValue if v.varValue is not None else np.nan for v in self.y])
        u = np.array([v.varValue if v.varValue is not None else 0.0 for v in self.u])
        return y, u

    def result(self, status: str, detail: str, bound: float | None,
               seconds: float, *, prune: bool = True) -> ModelResult:
        """The result of the last run (no plan: empty arrays and ``objective_value`` None).
        ``prune=False`` keeps the plan as solved (a year of a multi-year plan: dropping a site in
        one year could break the schedule's no-reopening rule)."""
        d, s = self.data, self.settings
        y, u = self._values()
        n_loc = len(d.localities)
        common = dict(status=status, status_detail=detail, objective=s.objective,
                      solve_seconds=seconds, build_seconds=self.build_seconds,
                      outreach_effectiveness=s.outreach_effectiveness,
                      need_total=float(d.demand.sum()))
        if status == "infeasible" or self.no_plan or np.isnan(y).any():
            z, zs = np.zeros(d.n_areas), np.zeros(d.n_sites)
            empty = Shares(z, z, z, zs, zs, np.full(d.n_areas, -1, dtype=np.int64))
            return ModelResult(**common, objective_value=None, best_bound=None, gap=None,
                               open=np.zeros(d.n_sites, dtype=bool),
                               workers=np.zeros(n_loc, dtype=np.int64), shares=empty,
                               reached=np.zeros(d.n_areas, dtype=bool),
                               outreach_served=np.zeros(n_loc), annual_cost=None,
                               need_reached=0.0)
        open_ = y > 0.5
        workers = np.rint(u).astype(np.int64) if len(u) else np.zeros(n_loc, dtype=np.int64)
        # The tie-break is below the solver's tolerance: drop what serves no one extra.
        if prune and self.objective.prunes:
            open_, workers = prune_plan(self, open_, workers)
        shares = self.reach.shares(open_)
        need_reached = float(np.dot(d.demand, shares.share
                                    + s.outreach_effectiveness * shares.outreach))
        cost = self.annual_cost(open_, workers)
        value, best = self.objective.value(self, need_reached, cost, bound)
        if status == "optimal":
            best, gap = value, 0.0
        else:
            gap = relative_gap(best, value)
        return ModelResult(**common, objective_value=value, best_bound=best, gap=gap,
                           open=open_, workers=workers, shares=shares,
                           reached=self.reach.reached(open_, shares),
                           outreach_served=self.reach.outreach_children(shares),
                           annual_cost=cost, need_reached=need_reached)


class _HiGHSWithStart(pulp.HiGHS):
    """PuLP's HiGHS (highspy) solver, handing HiGHS a starting plan (see model/start.py).

    HiGHS completes a partial start (the integer values given) and ignores it if infeasible.
    """

    start: list[tuple[pulp.LpVariable, float]] | None = None

    def buildSolverModel(self, lp):
        super().buildSolverModel(lp)
        if self.start:
            idx = np.array([v.index for v, _ in self.start], dtype=np.int32)
            val = np.array([x for _, x in self.start], dtype=np.float64)
            lp.solverModel.setSolution(len(idx), idx, val)


_BANNER_DONE = False


def _silence_highs_banner() -> None:
    """HiGHS prints a banner to stdout when its first instance is made; swallow it once."""
    global _BANNER_DONE
    if _BANNER_DONE:
        return
    import os
    import sys

    import highspy

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _BANNER_DONE = True


def highs_status(problem: pulp.LpProblem) -> tuple[str, str, float | None, bool]:
    """HiGHS's verdict on a solved PuLP problem: (status, detail, bound, no plan found)."""
    import highspy

    h = problem.solverModel
    ms = h.getModelStatus()
    info = h.getInfo()
    detail = "HiGHS: " + h.modelStatusToString(ms)
    sign = -1.0 if problem.sense == pulp.LpMaximize else 1.0
    has_int = any(v.cat == pulp.LpInteger for v in problem.variables())
    primal_ok = info.primal_solution_status == 2  # kSolutionStatusFeasible
    bound = None
    if has_int and np.isfinite(info.mip_dual_bound) and abs(info.mip_dual_bound) < 1e30:
        bound = sign * info.mip_dual_bound
    MS = highspy.HighsModelStatus
    if ms in (MS.kInfeasible, MS.kUnboundedOrInfeasible):
        return "infeasible", detail, None, False
    if ms == MS.kOptimal:
        obj = pulp.value(problem.objective) or 0.0
        if not has_int:
            return "optimal", detail, obj, False
        abs_gap = abs(bound - obj) if bound is not None else np.inf
        if abs_gap <= 1e-6 + 1e-9 * abs(obj):
            return "optimal", detail, bound, False
        return ("feasible", detail + f" (stopped at relative gap {info.mip_gap:.2g})", bound,
                False)
    if ms == MS.kTimeLimit:
        if not primal_ok:
            return "time_limit", detail + ": no plan found", bound, True
        return "time_limit", detail, bound, False
    if primal_ok:
        return "feasible", detail, bound, False
    return "infeasible", detail, None, False
