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
from optimiser.model import objectives, policy
from optimiser.model.budget import (
    add_budget_cap,
    annual_cost_expression,
    annual_cost_value,
    cost_coefficients,
    set_budget,
)
from optimiser.model.data import ModelData, ModelSettings, build_data, settings_from_scenario
from optimiser.model.prune import prune_plan
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
        The primary objective of the plan found: need-weighted children reached (max_reach,
        evaluate), £ a year (min_cost), the worst locality's reach share (max_min_locality).
    best_bound, gap
        The best bound proven on the primary objective and the relative gap
        ``|bound − value| / max(|value|, 1e-9)``; ``None`` when unknown.
    open
        Bool per site (instance order). ``workers``: outreach workers per locality.
    site_cover, site_share, outreach_share
        Per area: share reached by an open site (z = Σ tiers), the same weighted by tier
        effectiveness (e·z), and the share reached by outreach (o).
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
    site_cover: np.ndarray
    site_share: np.ndarray
    outreach_share: np.ndarray
    annual_cost: float | None
    need_reached: float
    need_total: float
    explanation: list[str] = field(default_factory=list)

    @property
    def has_plan(self) -> bool:
        """False when infeasible or when no plan was found within the time limit."""
        return self.objective_value is not None


class FamilyCentreModel:
    r"""Needs-based family-centre location: maximal covering with budget, tiers and outreach.

    Sets: areas i, sites j, localities l. Data: demand a_i = population_i × need_i; reach sets
    N_i = {j : t_ij ≤ T_i} (sparse); tier effectiveness e_hub, e_spoke; outreach effectiveness
    α, workers' reach K (need-weighted children) and cost c_out; budget B (£ a year).

    Variables: y_j ∈ {0,1} site j open; z_i^t ∈ [0,1] share of area i reached by an open site of
    tier t ∈ {hub, spoke}; o_i ∈ [0,1] share reached by outreach; u_l ∈ ℤ≥0 outreach workers.

    .. math::

        \max \; & \textstyle\sum_i a_i (e_{hub} z_i^{hub} + e_{spoke} z_i^{spoke} + α o_i)
                  − ε \cdot \text{tie penalty} \\
        \text{s.t.} \; & z_i^t ≤ \textstyle\sum_{j ∈ N_i,\, tier(j)=t} y_j
                  && \text{reach needs an open site of that tier in range} \\
        & z_i^{hub} + z_i^{spoke} + o_i ≤ 1 && \text{nobody counted twice} \\
        & \textstyle\sum_{i ∈ l} a_i o_i ≤ K u_l && \text{outreach capacity per locality} \\
        & \text{annual cost}(y, u) ≤ B && \text{the budget cap (model/budget.py)} \\
        & \text{policy constraints} && \text{(model/policy.py, each switchable)}

    Areas with the same locality and the same reach set (and, with capacities, the same need) are
    merged into one z/o group: an exact reduction (any solution of the unmerged model averages to
    one of the merged model with the same objective). Areas with no site in range get no z.
    With site capacities the reach rows become an assignment: x_ij ≤ y_j, z_i^t = Σ_{j∈N_i∩t}
    x_ij and Σ_i population_i x_ij ≤ capacity_j y_j.

    Objectives: ``max_reach`` (above), ``min_cost`` (minimise the annual cost subject to
    reach ≥ target × total need, plus floors), ``max_min_locality`` (first maximise the worst
    locality's reach share t, then fix t and maximise the total) and ``evaluate`` (y fixed to a
    network; outreach placed only when the scenario has an outreach section and a budget, with
    the budget left after the network's cost).

    Examples
    --------
    >>> import numpy as np
    >>> minutes = np.array([[5.0, 50.0], [50.0, 5.0], [8.0, 9.0]])
    >>> m = FamilyCentreModel.from_cost_matrix(
    ...     minutes, demand=[10, 20, 5], threshold=10, budget=1, annual_cost=1)
    >>> r = m.solve()
    >>> r.status, r.objective_value, r.open.tolist()
    ('optimal', 25.0, [False, True])
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
    def from_cost_matrix(
        cls,
        minutes: np.ndarray | pd.DataFrame,
        demand,
        *,
        threshold: float,
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
        scenario: dict | None = None,
    ) -> FamilyCentreModel:
        """Build from a dense areas × sites matrix of travel times (NaN/inf = no route).

        Like spopt's ``from_cost_matrix``. Every area is urban with ``threshold``; sites are
        candidates and hubs unless ``status``/``tier`` say otherwise; ``site_xy`` (metres) is
        needed only for separation and hub-within rules; ``site_locality`` names each site's
        locality (default: the nearest area's, by ``area_xy``). ``scenario`` adds any other keys
        (``outreach``, ``tiers``, ``constraints``, ``solver``, ``target_reach``,
        ``annualise_years``, ``network``).
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
        keys = {"instance": ".", "objective": objective, "budget": budget,
                "reach": {"threshold_minutes": threshold}, **(scenario or {})}
        return cls.from_instance(instance, parse_scenario(keys))

    # ------------------------------------------------------------------ building

    def _groups(self) -> None:
        """Merge areas with identical (locality, reach set[, need]) into groups."""
        d = self.data
        r = d.reach
        order = np.lexsort((r.site, r.area))
        area_s, site_s = r.area[order], r.site[order]
        starts = np.searchsorted(area_s, np.arange(d.n_areas))
        ends = np.searchsorted(area_s, np.arange(d.n_areas), side="right")
        keys: dict[tuple, int] = {}
        area_group = np.full(d.n_areas, -1, dtype=np.int64)
        group_sites: list[np.ndarray] = []
        need = np.divide(d.demand, d.population, out=np.zeros(d.n_areas),
                         where=d.population > 0)
        for i in range(d.n_areas):
            if d.demand[i] <= 0:
                continue  # no children or no need: nothing to reach
            sites = site_s[starts[i]:ends[i]]
            key = (int(d.area_locality[i]), sites.tobytes(),
                   float(need[i]) if self.capacity_mode else 0.0)
            g = keys.get(key)
            if g is None:
                g = keys[key] = len(group_sites)
                group_sites.append(sites)
            area_group[i] = g
        ng = len(group_sites)
        valid = area_group >= 0
        self.area_group = area_group
        self.group_sites = group_sites
        self.group_demand = np.bincount(area_group[valid], weights=d.demand[valid], minlength=ng)
        self.group_population = np.bincount(area_group[valid], weights=d.population[valid],
                                            minlength=ng)
        self.group_locality = np.zeros(ng, dtype=np.int64)
        self.group_locality[area_group[valid]] = d.area_locality[valid]

    def _site_effectiveness(self) -> np.ndarray:
        s = self.settings
        return np.where(self.data.spoke, s.spoke_effectiveness, s.hub_effectiveness)

    def _build(self) -> None:
        start = time.perf_counter()
        d, s = self.data, self.settings
        self.capacity_mode = bool(np.isfinite(d.capacity).any())
        self._groups()
        self.problem = pulp.LpProblem("family_centres", pulp.LpMaximize)

        # y_j: fixed by must_open / must_close, and by the network when evaluating.
        lower = np.zeros(d.n_sites)
        upper = np.ones(d.n_sites)
        if s.objective == "evaluate":
            net = (s.network if s.network is not None
                   else np.flatnonzero(d.existing).tolist())
            upper[:] = 0
            upper[net] = 1
            lower[:] = upper
        else:
            lower[s.must_open] = 1
            upper[s.must_close] = 0
        # Integer in [0, 1], not LpBinary: PuLP resets a binary's bounds to 0..1, which would
        # drop the must_open / must_close fixings.
        self.y = [self.problem.add_variable(f"y_{j}", lowBound=int(lower[j]),
                                            upBound=int(upper[j]), cat=pulp.LpInteger)
                  for j in range(d.n_sites)]

        # u_l: outreach workers (evaluate places them only with a budget to pay for them).
        self.u: list[pulp.LpVariable] = []
        outreach = s.outreach and not (s.objective == "evaluate" and s.budget is None)
        if outreach:
            self.u = [self.problem.add_variable(f"u_{loc}", lowBound=0, upBound=s.max_workers,
                                      cat=pulp.LpInteger) for loc in range(len(d.localities))]

        eff = self._site_effectiveness()
        one_tier = s.hub_effectiveness == s.spoke_effectiveness
        tier_of = np.zeros(d.n_sites, dtype=np.int64) if one_tier else d.spoke.astype(np.int64)
        tier_eff = [s.hub_effectiveness, s.spoke_effectiveness]
        alpha = s.outreach_effectiveness

        reach_terms: list[tuple[pulp.LpVariable, float]] = []
        loc_terms: list[list] = [[] for _ in d.localities]
        self.z: dict[tuple[int, int], pulp.LpVariable] = {}
        self.x: dict[tuple[int, int], pulp.LpVariable] = {}
        self.o: dict[int, pulp.LpVariable] = {}
        add = self.problem.addConstraint
        LE = pulp.LpConstraintLE
        for g, sites in enumerate(self.group_sites):
            a = float(self.group_demand[g])
            loc = int(self.group_locality[g])
            share_terms = []
            if self.capacity_mode:
                for j in sites:
                    x = self.problem.add_variable(f"x_{g}_{j}", lowBound=0, upBound=1)
                    self.x[(g, int(j))] = x
                    add(pulp.LpConstraint(pulp.LpAffineExpression([(x, 1.0), (self.y[j], -1.0)]),
                                          LE, rhs=0.0))
                    share_terms.append((x, 1.0))
                    reach_terms.append((x, a * float(eff[j])))
                    loc_terms[loc].append((x, a * float(eff[j])))
            else:
                for t in (0, 1):
                    members = sites[tier_of[sites] == t]
                    if len(members) == 0:
                        continue
                    z = self.problem.add_variable(f"z_{g}_{t}", lowBound=0, upBound=1)
                    self.z[(g, t)] = z
                    add(pulp.LpConstraint(pulp.LpAffineExpression(
                        [(z, 1.0)] + [(self.y[j], -1.0) for j in members]), LE, rhs=0.0))
                    share_terms.append((z, 1.0))
                    reach_terms.append((z, a * tier_eff[t]))
                    loc_terms[loc].append((z, a * tier_eff[t]))
            if outreach:
                o = self.problem.add_variable(f"o_{g}", lowBound=0, upBound=1)
                self.o[g] = o
                share_terms.append((o, 1.0))
                reach_terms.append((o, a * alpha))
                loc_terms[loc].append((o, a * alpha))
            if len(share_terms) > 1:
                add(pulp.LpConstraint(pulp.LpAffineExpression(share_terms), LE, rhs=1.0))
        if outreach:
            by_loc: list[list] = [[] for _ in d.localities]
            for g, o in self.o.items():
                by_loc[int(self.group_locality[g])].append((o, float(self.group_demand[g])))
            for loc, terms in enumerate(by_loc):
                add(pulp.LpConstraint(
                    pulp.LpAffineExpression([*terms, (self.u[loc], -s.reach_per_worker)]),
                    LE, name=f"outreach_{loc}", rhs=0.0))

        self.total_reach = pulp.LpAffineExpression(reach_terms)
        self.locality_reach = [pulp.LpAffineExpression(t) for t in loc_terms]

        # Budget (model/budget.py). Evaluate: the budget pays only for outreach.
        self.cost_coef, self.cost_constant = cost_coefficients(
            d.annual_cost, d.setup_cost, d.closure_cost, d.existing, s.annualise_years)
        self.cost_expr = annual_cost_expression(self.y, self.cost_coef, self.u, s.worker_cost)
        self.budget_con = None
        if s.objective == "evaluate" and self.u and s.budget is not None:
            network_cost = float(self.cost_coef @ lower + self.cost_constant)
            if network_cost > s.budget:
                for v in self.u:  # nothing left over for outreach
                    v.upBound = 0
        if s.budget is not None and (s.objective != "evaluate" or self.u) and not (
                s.objective == "evaluate" and all(v.upBound == 0 for v in self.u)):
            self.budget_con = add_budget_cap(self.problem, self.cost_expr,
                                             self.cost_constant, s.budget)

        policy.add_all(self)
        self._t = None
        if s.objective == "min_cost":
            objectives.set_min_cost(self)
        elif s.objective == "max_min_locality":
            self._t = objectives.set_max_min_stage1(self)
        elif s.objective == "evaluate":
            objectives.set_evaluate(self)
        else:
            objectives.set_max_reach(self)
        self.build_seconds = time.perf_counter() - start

    # ------------------------------------------------------------------ re-solving

    def set_budget(self, budget: float) -> None:
        """Change the budget cap in place (a sweep re-solves the built model per budget)."""
        if self.budget_con is None:
            raise ValueError("this model has no budget constraint to change")
        self.settings.budget = budget
        set_budget(self.budget_con, self.cost_constant, budget)

    def relaxed(self, **changes) -> FamilyCentreModel:
        """A new model on the same data with some settings changed (used by explain)."""
        model = FamilyCentreModel(self.data, replace(self.settings, **changes))
        model.instance, model.scenario = self.instance, self.scenario
        return model

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
        start = greedy_sites(self) if s.objective == "max_reach" else None
        if start is not None:
            solver.start = [(self.y[j], float(v)) for j, v in enumerate(start)]
            workers = greedy_workers(self, start)
            if workers is not None:
                solver.start += [(u, float(w)) for u, w in zip(self.u, workers, strict=True)]
        return solver

    def _run(self, time_limit: float | None) -> tuple[str, str, float | None, float]:
        """Solve the current problem; return (status, detail, solver bound, seconds)."""
        solver = self._solver(time_limit)
        self._no_plan = False
        start = time.perf_counter()
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
            self._no_plan = True
            return "time_limit", "CBC: no plan found within the time limit", None
        return "infeasible", f"CBC: {pulp.LpStatus[p.status]}", None

    def _highs_status(self):
        import highspy

        h = self.problem.solverModel
        ms = h.getModelStatus()
        info = h.getInfo()
        detail = "HiGHS: " + h.modelStatusToString(ms)
        sign = -1.0 if self.problem.sense == pulp.LpMaximize else 1.0
        has_int = any(v.cat == pulp.LpInteger for v in self.problem.variables())
        primal_ok = info.primal_solution_status == 2  # kSolutionStatusFeasible
        bound = None
        if has_int and np.isfinite(info.mip_dual_bound) and abs(info.mip_dual_bound) < 1e30:
            bound = sign * info.mip_dual_bound
        MS = highspy.HighsModelStatus
        if ms in (MS.kInfeasible, MS.kUnboundedOrInfeasible):
            return "infeasible", detail, None
        if ms == MS.kOptimal:
            obj = pulp.value(self.problem.objective) or 0.0
            if not has_int:
                return "optimal", detail, obj
            abs_gap = abs(bound - obj) if bound is not None else np.inf
            if abs_gap <= 1e-6 + 1e-9 * abs(obj):
                return "optimal", detail, bound
            return "feasible", detail + f" (stopped at relative gap {info.mip_gap:.2g})", bound
        if ms == MS.kTimeLimit:
            if not primal_ok:
                self._no_plan = True
                return "time_limit", detail + ": no plan found", bound
            return "time_limit", detail, bound
        if primal_ok:
            return "feasible", detail, bound
        return "infeasible", detail, None

    def solve(self) -> ModelResult:
        """Solve with the scenario's solver settings; see :class:`ModelResult` for the status.

        max_min_locality solves twice (worst locality first, then the total); each stage gets
        the full time limit.
        """
        s = self.settings
        total_seconds = 0.0
        if s.objective == "max_min_locality":
            t = self._t
            t.lowBound = 0.0
            self.problem.sense = pulp.LpMaximize
            self.problem.setObjective(pulp.LpAffineExpression([(t, 1.0)]))
            status, detail, bound1, sec = self._run(s.time_limit_s)
            total_seconds += sec
            if status == "infeasible" or self._no_plan or t.varValue is None:
                return self._result(status, detail, None, total_seconds)
            t_star = float(t.varValue)
            stage1_status = status
            objectives.set_max_min_stage2(self, t, t_star)
            status, detail, _, sec = self._run(s.time_limit_s)
            total_seconds += sec
            if status == "infeasible" or self._no_plan:
                # Only solver tolerances can make stage 2 fail; retry with a looser hold on t.
                objectives.set_max_min_stage2(self, t, t_star - 1e-6)
                status, detail, _, sec = self._run(s.time_limit_s)
                total_seconds += sec
            if status == "infeasible" or self._no_plan:
                # Fall back to stage 1's plan (the worst locality is still proven).
                t.lowBound = 0.0
                self.problem.setObjective(pulp.LpAffineExpression([(t, 1.0)]))
                self.problem.sense = pulp.LpMaximize
                _, _, _, sec = self._run(s.time_limit_s)
                total_seconds += sec
                status, detail = "feasible", detail + " (total not maximised)"
            # The primary objective is stage 1's: the worst locality's share.
            if stage1_status != "optimal":
                status = stage1_status if status == "optimal" else status
            result = self._result(status, detail, None, total_seconds)
            if result.objective_value is not None:
                worst = self._worst_share(result)
                result.objective_value = worst
                if stage1_status == "optimal":
                    result.best_bound, result.gap = worst, 0.0
                elif bound1 is not None:
                    result.best_bound = float(bound1)
                    result.gap = _gap(worst, result.best_bound)
            return result
        status, detail, bound, sec = self._run(s.time_limit_s)
        return self._result(status, detail, bound, sec)

    # ------------------------------------------------------------------ results

    def _values(self) -> tuple[np.ndarray, np.ndarray]:
        y = np.array([v.varValue if v.varValue is not None else np.nan for v in self.y])
        u = np.array([v.varValue if v.varValue is not None else 0.0 for v in self.u])
        return y, u

    def _area_shares(self, open_: np.ndarray | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Per area: z (site cover), e·z (effective site share), o (outreach share)."""
        d = self.data
        ng = len(self.group_sites)
        cover = np.zeros(ng)
        share = np.zeros(ng)
        out = np.zeros(ng)
        eff = self._site_effectiveness()
        tier_eff = [self.settings.hub_effectiveness, self.settings.spoke_effectiveness]
        for (g, t), z in self.z.items():
            v = _clean(z.varValue)
            cover[g] += v
            share[g] += tier_eff[t] * v
        for (g, j), x in self.x.items():
            v = _clean(x.varValue)
            cover[g] += v
            share[g] += eff[j] * v
        for g, o in self.o.items():
            out[g] = _clean(o.varValue)
        n = d.n_areas
        valid = self.area_group >= 0
        a_cover, a_share, a_out = np.zeros(n), np.zeros(n), np.zeros(n)
        a_cover[valid] = cover[self.area_group[valid]]
        a_share[valid] = share[self.area_group[valid]]
        a_out[valid] = out[self.area_group[valid]]
        # Areas with no demand have no variables; they are reached when an open site is near.
        r = d.reach
        empty = ~valid[r.area] & (open_[r.site] if open_ is not None else False)
        if np.any(empty):
            np.maximum.at(a_share, r.area[empty], eff[r.site[empty]])
            a_cover[r.area[empty]] = 1.0
        return a_cover, a_share, a_out

    def _result(self, status: str, detail: str, bound: float | None,
                seconds: float) -> ModelResult:
        d, s = self.data, self.settings
        y, u = self._values()
        need_total = float(d.demand.sum())
        if status == "infeasible" or self._no_plan or np.isnan(y).any():
            empty = np.zeros(d.n_areas)
            return ModelResult(
                status=status, status_detail=detail, objective=s.objective,
                objective_value=None, best_bound=None, gap=None, solve_seconds=seconds,
                build_seconds=self.build_seconds, open=np.zeros(d.n_sites, dtype=bool),
                workers=np.zeros(len(d.localities), dtype=np.int64), site_cover=empty,
                site_share=empty, outreach_share=empty, annual_cost=None, need_reached=0.0,
                need_total=need_total)
        open_ = y > 0.5
        workers = np.rint(u).astype(np.int64) if len(u) else np.zeros(len(d.localities),
                                                                       dtype=np.int64)
        # The tie-break is below the solver's tolerance: drop what reaches no one extra.
        open_, workers = prune_plan(self, open_, workers)
        cover, share, out = self._area_shares(open_)
        need_reached = float(np.dot(d.demand, share + s.outreach_effectiveness * out))
        cost = annual_cost_value(open_.astype(float), self.cost_coef, self.cost_constant,
                                 workers, s.worker_cost)
        if s.objective == "min_cost":
            value = cost
            best = None if bound is None else float(bound) + self.cost_constant
        else:
            value = need_reached
            best = None if bound is None else float(bound)
        if status == "optimal":
            best, gap = value, 0.0
        else:
            if best is not None and s.objective != "min_cost":
                # The solver's bound is on reach − ε·penalty, and ε·penalty is at most
                # TIE_SHARE × the smallest demand (objectives.py): add it back to stay a bound.
                positive = d.demand[d.demand > 0]
                slack = objectives.TIE_SHARE * (float(positive.min()) if len(positive) else 1.0)
                best = max(best + slack, value)
            gap = _gap(value, best) if best is not None else None
        return ModelResult(
            status=status, status_detail=detail, objective=s.objective,
            objective_value=value, best_bound=best, gap=gap, solve_seconds=seconds,
            build_seconds=self.build_seconds, open=open_, workers=workers, site_cover=cover,
            site_share=share, outreach_share=out, annual_cost=cost, need_reached=need_reached,
            need_total=need_total)

    def _worst_share(self, result: ModelResult) -> float:
        d = self.data
        need = d.locality_need()
        reached = np.bincount(d.area_locality, minlength=len(d.localities), weights=d.demand * (
            result.site_share + self.settings.outreach_effectiveness * result.outreach_share))
        shares = reached[need > 0] / need[need > 0]
        return float(shares.min()) if len(shares) else 1.0


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


def _clean(v: float | None) -> float:
    """Solver values to [0, 1], rounding away solver noise below 1e-9."""
    if v is None:
        return 0.0
    return float(min(1.0, max(0.0, round(v, 9))))


def _gap(value: float, bound: float) -> float:
    return abs(bound - value) / max(abs(value), 1e-9)
