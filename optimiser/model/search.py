r"""Plan and bound for large instances with a binding budget (``solver.name: search``).

The coverage model with a budget is the budgeted maximal covering problem

.. math::

    \max \textstyle\sum_g a_g z_g \quad \text{s.t.} \quad z_g ≤ \sum_{j ∈ N_g} y_j, \quad
    \sum_j c_j y_j ≤ B, \quad z ∈ [0, 1], \quad y ∈ \{0, 1\}

over area groups g (areas with the same reach set N_g), sites j and costs c_j. On all England
(32,844 areas, 6,791 candidates) HiGHS spends two minutes on the root LP and returns its greedy
start. This method splits the work between a plan and a bound, one core each:

- **Plan**: greedy by added need per £, then swap local search (close one site, open the best
  other one the budget allows, until no swap gains) and iterated perturbation: close a few open
  sites that share areas, refill greedily, search again, keep the result if it is no worse. The
  rounds run first from the greedy plan and then, once the LP below is known, from the LP's
  rounded plan (its sites at ≥ 0.5, then greedy), which is the better start.
- **Bound**: the LP relaxation by interior point (HiGHS IPM, no crossover) in a second process.
  Its duals λ_g on the coverage rows give the Lagrangian bound
  :math:`L(λ) = \sum_g \max(0, a_g − λ_g) + \max\{\sum_j (\sum_{g: j ∈ N_g} λ_g) y_j :
  \sum_j c_j y_j ≤ B, 0 ≤ y ≤ 1\}`, computed exactly here (a fractional knapsack). It is a
  valid upper bound for *any* λ ≥ 0, so the reported gap is honest even if the IPM stopped short;
  at the LP's optimal duals it equals the LP bound.

The search stops when the gap reaches ``solver.gap``, after a fixed number of rounds, or at the
time limit. Rounds, not seconds, decide the plan, so the same inputs give the same plan however
busy the machine (unless the time limit stops it first, which the status says).

Scope: the coverage model (``reach: {model: coverage}``, no capacities), ``max_reach`` with a
``budget``, one tier effectiveness, no outreach, and no rules other than ``must_open`` and
``must_close``. The service model has its own plan and bound (model/search_service.py), chosen
by :func:`run_search`. Anything else is one clear error pointing back to ``solver.name: highs``.

Examples
--------
>>> import numpy as np
>>> from optimiser.model import FamilyCentreModel
>>> minutes = np.array([[5.0, 50.0, 8.0], [50.0, 5.0, 8.0], [8.0, 50.0, 50.0]])
>>> m = FamilyCentreModel.from_cost_matrix(
...     minutes, demand=[10, 20, 5], threshold=10, budget=1, annual_cost=1,
...     reach_model="coverage", scenario={"solver": {"name": "search"}})
>>> r = m.solve()
>>> r.status, r.objective_value, r.open.tolist()
('optimal', 30.0, [False, False, True])
"""

from __future__ import annotations

import heapq
import multiprocessing
import os
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from optimiser.errors import ScenarioError
from optimiser.model._gap import relative_gap

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel

#: Perturbation rounds from the greedy plan while the LP is solved on the other core.
ROUNDS_BEFORE_LP = 100
#: Rounds from the LP's rounded plan (each a fraction of a second on all England).
ROUNDS_AFTER_LP = 1500
#: Open sites closed per perturbation (measured on all England: 6 beat 3 and 4).
DROP = 6
#: Reach pairs from which the LP runs in a second process (below, inline is quicker).
SECOND_PROCESS_PAIRS = 50_000
#: Rules the search keeps (by their scenario keys).
SUPPORTED_RULES = frozenset({"budget", "constraints.must_open", "constraints.must_close"})
TOL = 1e-9
#: The detail when no plan keeps must_open, must_close and the budget.
NO_PLAN = ("search: no plan keeps the budget and the sites that must open or close (they cost "
           "more than the budget, or a site is in both lists)")


@dataclass(frozen=True)
class SearchResult:
    """What the search found: the plan, its value, the bound and how it stopped."""

    open: np.ndarray
    value: float
    bound: float | None
    rounds: int
    lp_seconds: float | None
    seconds_to_gap: float | None
    stopped: str  # "gap", "rounds" or "time_limit"

    @property
    def gap(self) -> float | None:
        return relative_gap(self.bound, self.value)


class CoverageSearch:
    """The budgeted maximal covering problem, solved by plan and bound (module docstring).

    Parameters
    ----------
    reach
        Groups × sites 0/1 matrix (CSR): group g reaches site j.
    demand
        Need-weighted children per group, ``a_g``.
    cost
        Each site's cost against the budget, ``c_j`` (£ a year).
    capacity
        The budget left for the sites, ``B``.
    must_open, must_close
        Sites fixed open or closed.
    seed
        Seed of the perturbations.
    rounds
        Perturbation rounds after the LP (the search stops sooner at the requested gap).
    """

    def __init__(self, reach: sp.csr_matrix, demand: np.ndarray, cost: np.ndarray,
                 capacity: float, *, must_open=(), must_close=(), seed: int = 0,
                 rounds: int = ROUNDS_AFTER_LP) -> None:
        self.A = sp.csr_matrix(reach, dtype=float)
        self.AT = self.A.T.tocsr()
        self.a = np.asarray(demand, dtype=float)
        self.c = np.asarray(cost, dtype=float)
        self.fixed, self.banned, self.conflict = fixings(self.c, must_open, must_close)
        self.capacity = float(capacity)
        self.seed = seed
        self.rounds = rounds
        self._near: dict[int, np.ndarray] = {}

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_model(cls, model: FamilyCentreModel) -> CoverageSearch:
        """The search for a built model, or a ScenarioError saying why it does not apply."""
        check_supported(model)
        groups = model.reach.groups.sites
        rows = np.repeat(np.arange(len(groups)), [len(s) for s in groups])
        cols = np.concatenate(groups) if groups else np.zeros(0, dtype=np.int64)
        reach = sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                              shape=(len(groups), model.data.n_sites))
        s = model.settings
        return cls(reach, model.reach.groups.demand, model.cost_coef,
                   float(s.budget) - model.cost_constant, must_open=s.must_open,
                   must_close=s.must_close, seed=s.seed)

    # ------------------------------------------------------------------ solving

    def solve(self, time_limit: float | None = None, gap: float = 0.0) -> SearchResult | None:
        """The best plan found and the Lagrangian bound; None when no plan fits the budget."""
        start = time.perf_counter()
        deadline = start + (time_limit if time_limit is not None else np.inf)
        if no_plan(self.c, self.fixed, self.conflict, self.capacity):
            return None
        lp = _LP(self)  # the bound, on the other core
        rng = np.random.default_rng(self.seed)
        plan = self._improve(self._greedy_plan(np.zeros_like(self.fixed)), rng,
                             ROUNDS_BEFORE_LP, deadline)
        rounds = ROUNDS_BEFORE_LP
        lp_out = lp.result(deadline)
        bound = lp_seconds = None
        if lp_out is not None:
            duals, y_lp, lp_seconds = lp_out
            bound = self.lagrangian_bound(duals)
            rounded = self._greedy_plan(y_lp >= 0.5)
            if rounded.value() >= plan.value():
                plan = rounded
        # Without the LP (the time ran out, or its process died) there is no bound: the rounds
        # still improve the plan while there is time.
        stopped, reached_at = "rounds", None
        for _ in range(self.rounds + 1):
            if meets(bound, plan.value(), gap):
                stopped, reached_at = "gap", time.perf_counter() - start
                break
            if time.perf_counter() > deadline:
                stopped = "time_limit"
                break
            if rounds >= ROUNDS_BEFORE_LP + self.rounds:
                break
            plan = self._improve(plan, rng, 1, deadline)
            rounds += 1
        return SearchResult(plan.y.copy(), plan.value(), bound, rounds, lp_seconds,
                            reached_at, stopped)

    def lagrangian_bound(self, duals: np.ndarray) -> float:
        """L(λ) for λ = the coverage rows' duals clipped to [0, a]: a valid upper bound."""
        lam = np.clip(duals, 0.0, self.a)
        v = self.AT @ lam
        free = ~self.fixed & ~self.banned & (v > 0)
        room = self.capacity - self.c[self.fixed].sum()
        order = np.flatnonzero(free)
        order = order[np.argsort(-v[order] / self.c[order], kind="stable")]
        taken = np.cumsum(self.c[order])
        k = int(np.searchsorted(taken, room, side="right"))
        value = float(v[self.fixed].sum() + v[order[:k]].sum())
        if k < len(order):
            used = taken[k - 1] if k else 0.0
            value += (room - used) / self.c[order[k]] * v[order[k]]
        return float(np.maximum(self.a - lam, 0.0).sum()) + value

    # ------------------------------------------------------------------ the plan side

    def _greedy_plan(self, start: np.ndarray) -> _Cover:
        cover = _Cover(self, (start | self.fixed) & ~self.banned)
        while cover.spent > self.capacity + TOL:  # a rounded LP plan may not fit: drop the worst
            opened = np.flatnonzero(cover.y & ~self.fixed)
            cover.close(opened[np.argmin([cover.loss(k) / self.c[k] for k in opened])])
        cover.fill()
        cover.search(np.flatnonzero(cover.y))
        return cover

    def _improve(self, plan: _Cover, rng: np.random.Generator, rounds: int,
                 deadline: float) -> _Cover:
        """Iterated local search: perturb, refill, search; keep a plan that is no worse."""
        best, value = plan, plan.value()
        for _ in range(rounds):
            if time.perf_counter() > deadline:
                break
            trial = best.copy()
            dropped, touched = trial.perturb(rng)
            trial.fill(exclude=dropped)  # refill elsewhere first, or the same sites come back
            trial.search(touched)
            if (v := trial.value()) >= value - TOL:
                best, value = trial, v
        return best


def fixings(cost: np.ndarray, must_open, must_close) -> tuple[np.ndarray, np.ndarray, bool]:
    """Per site held open, per site held closed, and whether a site is in both lists. Held open:
    must_open, and a site that costs nothing or saves money (it is open in some best plan: an
    extra open site never reaches or serves fewer)."""
    fixed = np.zeros(len(cost), dtype=bool)
    fixed[list(must_open)] = True
    fixed |= cost <= 0
    banned = np.zeros(len(cost), dtype=bool)
    banned[list(must_close)] = True
    return fixed & ~banned, banned, bool(set(must_open) & set(must_close))


def no_plan(cost: np.ndarray, fixed: np.ndarray, conflict: bool, room: float) -> bool:
    """No plan keeps the fixings: a site both held open and closed, or the sites held open
    cost more than the budget left for sites."""
    return conflict or float(cost[fixed].sum()) > room + TOL


def meets(bound: float | None, value: float, gap: float = 0.0) -> bool:
    """The plan is within ``gap`` of the bound (solver noise of 1e-6 absolute allowed)."""
    if bound is None:
        return False
    # 1e-7 relative: the bound's floating-point sums drift about that much.
    return bound - value <= gap * abs(value) + 1e-6 + 1e-7 * abs(value)


def _unsupported(model: FamilyCentreModel) -> str | None:
    """Why the search cannot solve this model, in words; None when it can."""
    s = model.settings
    service = model.reach.name == "service"
    if service and not model.reach.counted_in_children:
        return "capacities in the coverage model (it solves the service model or the coverage " \
               "model without capacities)"
    if s.objective != "max_reach":
        return f"objective {s.objective} (only max_reach)"
    if s.budget is None:
        return "a scenario without a budget"
    if model.u and not service:
        return "outreach in the coverage model (the service model's search handles it)"
    if not service and s.hub_effectiveness != s.spoke_effectiveness \
            and model.data.spoke.any() and not model.data.spoke.all():
        return "two tiers with different effectiveness in the coverage model"
    other = sorted(r.key for r in model.rules if r.key not in SUPPORTED_RULES)
    if other:
        return "the rule" + ("s " if len(other) > 1 else " ") + ", ".join(other)
    return None


def check_supported(model: FamilyCentreModel) -> None:
    """One clear error when the search does not apply to a built model."""
    reason = _unsupported(model)
    if reason:
        source = model.scenario.source if model.scenario is not None else None
        raise ScenarioError(
            f"search does not handle {reason}", key="solver.name", file=source,
            hint="use solver.name: highs, or max_reach with a budget and only must_open / "
                 "must_close rules")


def _rows(matrix: sp.csr_matrix, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The column indices of some rows of a CSR matrix, and each row's count (no copy of the
    matrix, unlike ``matrix[rows]``)."""
    starts = matrix.indptr[rows]
    counts = matrix.indptr[rows + 1] - starts
    offsets = np.repeat(starts - (np.cumsum(counts) - counts), counts)
    return matrix.indices[np.arange(int(counts.sum())) + offsets], counts


class _Cover:
    """A plan with its cover counts and each closed site's gain, kept up to date by moves."""

    def __init__(self, search: CoverageSearch, y: np.ndarray) -> None:
        self.s = search
        self.y = y.copy()
        self.cnt = (search.A @ self.y.astype(float)).round().astype(np.int64)
        self.gain = search.AT @ (search.a * (self.cnt == 0))
        self.spent = float(search.c[self.y].sum())

    def copy(self) -> _Cover:
        new = _Cover.__new__(_Cover)
        new.s, new.y, new.cnt = self.s, self.y.copy(), self.cnt.copy()
        new.gain, new.spent = self.gain.copy(), self.spent
        return new

    def value(self) -> float:
        return float(self.s.a[self.cnt > 0].sum())

    def _groups(self, j: int) -> np.ndarray:
        at = self.s.AT
        return at.indices[at.indptr[j]:at.indptr[j + 1]]

    def _shift_gain(self, groups: np.ndarray, sign: float) -> None:
        if len(groups):
            sites, counts = _rows(self.s.A, groups)
            np.add.at(self.gain, sites, sign * np.repeat(self.s.a[groups], counts))

    def open(self, j: int) -> None:
        g = self._groups(j)
        self._shift_gain(g[self.cnt[g] == 0], -1.0)
        self.cnt[g] += 1
        self.y[j] = True
        self.spent += self.s.c[j]

    def close(self, k: int) -> None:
        g = self._groups(k)
        self.cnt[g] -= 1
        self._shift_gain(g[self.cnt[g] == 0], 1.0)
        self.y[k] = False
        self.spent -= self.s.c[k]

    def loss(self, k: int) -> float:
        g = self._groups(k)
        return float(self.s.a[g[self.cnt[g] == 1]].sum())

    def neighbours(self, j: int) -> np.ndarray:
        """Sites sharing a group with site j (j included)."""
        near = self.s._near.get(j)
        if near is None:
            near = self.s._near[j] = np.unique(_rows(self.s.A, self._groups(j))[0])
        return near

    def fill(self, exclude=()) -> None:
        """Open sites greedily by added need per £ while the budget allows (lazy greedy)."""
        s = self.s
        ok = ~self.y & ~s.banned & (s.c > 0) & (self.gain > TOL)
        ok[list(exclude)] = False
        heap = [(-self.gain[j] / s.c[j], int(j)) for j in np.flatnonzero(ok)]
        heapq.heapify(heap)
        while heap:
            _, j = heapq.heappop(heap)
            if self.y[j] or s.c[j] > s.capacity - self.spent + TOL or self.gain[j] <= TOL:
                continue
            ratio = self.gain[j] / s.c[j]
            if heap and ratio < -heap[0][0] - 1e-12:
                heapq.heappush(heap, (-ratio, j))
                continue
            self.open(j)

    def best_swap(self, k: int) -> tuple[int, float]:
        """The best site to open in place of open site k, and what the swap gains."""
        s = self.s
        g = self._groups(k)
        only = g[self.cnt[g] == 1]
        gain = self.gain.copy()
        if len(only):
            sites, counts = _rows(s.A, only)
            np.add.at(gain, sites, np.repeat(s.a[only], counts))
        gain[self.y | s.banned | (s.c > s.capacity - self.spent + s.c[k] + TOL)] = -np.inf
        j = int(np.argmax(gain))
        return j, float(gain[j] - s.a[only].sum())

    def search(self, sites) -> None:
        """Swap while a swap gains, re-examining the open sites near each change; then fill."""
        todo = sorted({int(k) for k in sites if self.y[k] and not self.s.fixed[k]})
        while todo:
            k = todo.pop()
            if not self.y[k]:
                continue
            j, delta = self.best_swap(k)
            if delta > TOL * max(1.0, self.s.a.max(initial=1.0)):
                self.close(k)
                self.open(j)
                near = np.union1d(self.neighbours(k), self.neighbours(j))
                todo = sorted(set(todo) | {int(q) for q in near
                                           if self.y[q] and not self.s.fixed[q]})
        self.fill()

    def perturb(self, rng: np.random.Generator) -> tuple[list[int], list[int]]:
        """Close up to DROP open sites sharing areas with a random one; return them and the
        sites near them (to search again)."""
        movable = np.flatnonzero(self.y & ~self.s.fixed)
        if len(movable) == 0:
            return [], []
        k = int(rng.choice(movable))
        near = [int(q) for q in self.neighbours(k) if self.y[q] and not self.s.fixed[q]]
        rng.shuffle(near)
        touched: set[int] = set()
        # A random number of them: one or two make room for a dearer or a cheaper site,
        # more shake a crowded patch.
        drop = near[:int(rng.integers(1, DROP + 1))]
        for q in drop:
            self.close(q)
            touched.update(self.neighbours(q).tolist())
        return drop, sorted(touched)


# ---------------------------------------------------------------------------------------------
# The bound: the LP relaxation by interior point, in a second process when there is a core
# ---------------------------------------------------------------------------------------------


def lp_relaxation(reach: sp.csr_matrix, demand: np.ndarray, cost: np.ndarray, capacity: float,
                  lower: np.ndarray, upper: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Solve the LP relaxation with HiGHS IPM; return (coverage-row duals λ, y, seconds)."""
    import highspy

    start = time.perf_counter()
    n, m = reach.shape
    coo = reach.tocoo()
    rows = np.concatenate([coo.row, np.arange(n), np.full(m, n)])
    cols = np.concatenate([coo.col, m + np.arange(n), np.arange(m)])
    vals = np.concatenate([-np.ones(coo.nnz), np.ones(n), cost])
    a = sp.csc_matrix((vals, (rows, cols)), shape=(n + 1, m + n))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = m + n, n + 1
    lp.col_cost_ = np.concatenate([np.zeros(m), -np.asarray(demand, float)])
    lp.col_lower_ = np.concatenate([lower, np.zeros(n)]).astype(float)
    lp.col_upper_ = np.concatenate([upper, np.ones(n)]).astype(float)
    lp.row_lower_ = np.full(n + 1, -np.inf)
    lp.row_upper_ = np.concatenate([np.zeros(n), [capacity]])
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, a.data
    h = highspy.Highs()
    h.setOptionValue("output_flag", False)
    for key, value in (("threads", 1), ("solver", "ipm"), ("run_crossover", "off"),
                       ("random_seed", 0)):
        h.setOptionValue(key, value)
    h.passModel(lp)
    h.run()
    sol = h.getSolution()
    # Rows are z_g − Σ y ≤ 0 in a minimisation: their duals are ≤ 0; λ = −dual.
    duals = -np.asarray(sol.row_dual[:n], dtype=float)
    y = np.asarray(sol.col_value[:m], dtype=float)
    return duals, y, time.perf_counter() - start


def _lp_child(conn, args) -> None:  # pragma: no cover - runs in the second process
    conn.send(lp_relaxation(*args))
    conn.close()


class _LP:
    """The LP relaxation, solved in a second process while the plan is searched, or inline."""

    def __init__(self, search: CoverageSearch) -> None:
        lower = search.fixed.astype(float)
        upper = (~search.banned).astype(float)
        self.args = (search.A, search.a, search.c, search.capacity, lower, upper)
        self.process = None
        # A second process pays for itself only on large instances (starting one takes ~1 s).
        worth_it = (os.cpu_count() or 1) > 1 and search.A.nnz >= SECOND_PROCESS_PAIRS
        if worth_it and not multiprocessing.current_process().daemon:
            ctx = multiprocessing.get_context("spawn")
            self.conn, child = ctx.Pipe(duplex=False)
            self.process = ctx.Process(target=_lp_child, args=(child, self.args), daemon=True)
            self.process.start()
            child.close()

    def result(self, deadline: float):
        if self.process is None:
            return lp_relaxation(*self.args) if time.perf_counter() < deadline else None
        try:
            wait = None if np.isinf(deadline) else max(deadline - time.perf_counter(), 0.0)
            if self.conn.poll(wait):
                return self.conn.recv()
            return None
        except EOFError:  # the second process died (out of memory): no bound
            return None
        finally:
            self.process.terminate()
            self.process.join()


def run_search(model: FamilyCentreModel,
               time_limit: float | None) -> tuple[str, str, float | None, float]:
    """Solve a built model by plan and bound; set its variables as a solver would.

    Returns (status, detail, bound, seconds) like ``FamilyCentreModel.run``.
    """
    if model.reach.name == "service":
        check_supported(model)
        return _run_service(model, time_limit)
    search = CoverageSearch.from_model(model)
    start = time.perf_counter()
    found = search.solve(time_limit, model.settings.gap)
    seconds = time.perf_counter() - start
    if not _set_sites(model, found):
        return "infeasible", NO_PLAN, None, seconds
    covered = (search.A @ found.open.astype(float)) > 0
    for (g, _), z in model.reach.z.items():
        z.varValue = float(covered[g])
    # One effectiveness for every site (checked in from_model): the plan's value scales by it.
    eff = float(model.site_effectiveness()[0]) if model.data.n_sites else 1.0
    value = found.value * eff
    bound = found.bound * eff if found.bound is not None else None
    detail = (f"search: {found.rounds} rounds of swap local search"
              + (f"; Lagrangian bound at the interior-point LP's duals ({found.lp_seconds:.0f} s)"
                 if found.lp_seconds is not None else "; no bound: the LP did not finish"))
    return (*_verdict(value, bound, found.stopped, detail, "the rounds ran out"), bound, seconds)



def _set_sites(model: FamilyCentreModel, found) -> bool:
    """Give the model the plan's sites as a solver would; False when there is no plan."""
    model.no_plan = found is None
    if found is None:
        return False
    for var, is_open in zip(model.y, found.open, strict=True):
        var.varValue = float(is_open)
    return True


def _verdict(value: float, bound: float | None, stopped: str, detail: str,
             ran_out: str) -> tuple[str, str]:
    """The status and its detail for a plan, its bound and why the search stopped."""
    if meets(bound, value):
        return "optimal", detail + " (the plan meets the bound)"
    if stopped == "time_limit":
        return "time_limit", detail + ", stopped by the time limit"
    why = {"gap": "reached the requested gap", "local optimum": "no swap serves more",
           "rounds": ran_out}[stopped]
    return "feasible", f"{detail}, stopped: {why}"


def _run_service(model: FamilyCentreModel,
                 time_limit: float | None) -> tuple[str, str, float | None, float]:
    """The service model's search (model/search_service.py), read back like a solver's."""
    from optimiser.model.search_service import ServiceSearch

    start = time.perf_counter()
    found = ServiceSearch.from_model(model).solve(time_limit, model.settings.gap)
    seconds = time.perf_counter() - start
    if not _set_sites(model, found):
        return "infeasible", NO_PLAN, None, seconds
    model.reach.solved_x, model.reach.solved_o = found.x, found.o
    if found.workers is not None:
        for var, workers in zip(model.u, found.workers, strict=True):
            var.varValue = float(workers)
    detail = (f"search: {found.evaluations} exact assignments tried in swap local search; "
              f"Lagrangian bound after {found.steps} subgradient steps")
    return (*_verdict(found.value, found.bound, found.stopped, detail,
                      "the assignments ran out"), found.bound, seconds)
