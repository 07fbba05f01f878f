r"""Plan and bound for large service-model instances with a binding budget (``solver.name:
search``).

The service model without outreach, over pairs i = (area group g, site j) within reach, is

.. math::

    \max \textstyle\sum_i r_i x_i \quad \text{s.t.} \quad \sum_{i ∈ g} x_i ≤ 1 \;(\text{each
    group once}), \quad \sum_{i ∈ j} q_i x_i ≤ C_j y_j, \quad x_i ≤ y_{j(i)}, \quad
    \sum_j c_j y_j ≤ B, \quad y ∈ \{0, 1\}

with profit r_i = a_g e_j w_i (need-weighted children at the tier's effectiveness and the
take-up w_i) and use q_i = p_g w_i (children). HiGHS builds this with one row per pair and on
5,000 South East areas spends two minutes on the root LP. This method splits the work:

- **Bound** (Lagrangian relaxation of the "each group once" rows, multipliers π_g ≥ 0):

  .. math::

      L(π) = \textstyle\sum_g π_g + \max\{\sum_j v_j(π) y_j : \sum_j c_j y_j ≤ B\}, \quad
      v_j(π) = \max\{\sum_{i ∈ j} (r_i − π_{g(i)}) x_i : \sum_{i ∈ j} q_i x_i ≤ C_j,
      0 ≤ x ≤ 1\}

  Each v_j is a fractional knapsack (items by profit per child), and the outer problem a 0-1
  knapsack over sites: solved exactly when the free sites come in a few cost classes (new and
  existing centres, hubs and spokes: every count per class, the best sites of each), else by
  its LP (Dantzig's bound). L(π) is an upper bound for *every* π ≥ 0, so the reported gap is
  honest wherever the multipliers stop. They are improved by subgradient steps (Polyak's step
  towards the best plan's value). With an exact outer knapsack the bound can beat the LP
  relaxation, which may open a fraction of one more site than the budget allows.
- **Plan**: the subgradient's averaged site choice (an estimate of the LP's y) is rounded into a
  plan within the budget, and a swap local search improves it: the assignment of children to
  a plan's open sites is the exact LP above with y fixed (HiGHS dual simplex, re-solved from
  the previous basis after each move), and its duals price the moves: a closed site j is worth
  v_j(π) at the plan's group duals π; an open site k costs what it adds, Σ_{i ∈ k} (r_i − π_g) x_i.
  The best-priced closed sites are tried in place of the cheapest-to-lose open sites near
  them; a move is kept when the exact assignment serves more.

The number of subgradient steps and of assignments tried, not seconds, decide the plan, so the
same inputs give the same plan however busy the machine (unless the time limit stops the search
first, which the status says).

Scope: the service model, ``max_reach`` with a ``budget``, no outreach, and no rules other than
``must_open`` and ``must_close`` (tiers and capacities as in the scenario). Anything else is one
clear error pointing back to ``solver.name: highs``.

Examples
--------
>>> import numpy as np
>>> from optimiser.model import FamilyCentreModel
>>> minutes = np.array([[5.0, 50.0, 8.0], [50.0, 5.0, 8.0], [8.0, 50.0, 50.0]])
>>> m = FamilyCentreModel.from_cost_matrix(
...     minutes, demand=[10, 20, 5], budget=1, annual_cost=1, capacity=[30, 30, 25],
...     scenario={"solver": {"name": "search"}})
>>> r = m.solve()           # site 2 is 8 minutes from areas 0 and 1: 25 of their 30 children
>>> r.status, r.open.tolist(), round(r.objective_value, 3)
('optimal', [False, False, True], 25.0)
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import scipy.sparse as sp

from optimiser.model.search import fixings, meets, no_plan

if TYPE_CHECKING:
    from optimiser.model.formulation import FamilyCentreModel

#: Subgradient steps for the bound (each a pass over the pairs: ~35 ms at 170,000 pairs).
STEPS = 300
#: Steps between roundings of the averaged site choice into a plan (the steps' target).
ROUND_EVERY = 50
#: Shrink the step after this many steps without a better bound...
PATIENCE = 5
#: ... by this factor (0.8 beat 0.5 and 0.7 at 5,000 areas).
DECAY = 0.8
#: The first step's multiple of Polyak's step (2 beat 1 at 5,000 areas).
THETA = 2.0
#: Exact assignments the swap search may try (each ~0.1 s at 5,000 areas, ~2.5 s on all England).
EVALUATIONS = 400
#: Combinations of counts per cost class the exact budget knapsack may try (else its LP).
CLASS_COMBINATIONS = 100_000
#: Closed sites tried per pass, best priced first.
CANDIDATES = 30
#: Open sites near a candidate tried in its place (the cheapest to lose).
PARTNERS = 3
TOL = 1e-9


@dataclass(frozen=True)
class ServiceFound:
    """What the service search found: the plan, its assignment (x per pair) and the bound."""

    open: np.ndarray
    x: np.ndarray
    value: float
    bound: float
    steps: int
    evaluations: int
    stopped: str  # "gap", "rounds" (the assignments ran out), "local optimum" or "time_limit"


class ServiceSearch:
    """The service model with a budget, solved by plan and bound (module docstring).

    Parameters
    ----------
    group, site
        Per pair: its area group and its site (any order).
    profit, use
        Per pair: need-weighted children served per unit of x (``r_i``) and children (``q_i``).
    capacity
        Per site: children a year (inf = unlimited).
    cost, budget
        Per site: its cost against the budget (£ a year); the budget left for the sites.
    must_open, must_close
        Sites fixed open or closed.
    """

    def __init__(self, group, site, profit, use, capacity, cost, budget: float, *,
                 n_groups: int, must_open=(), must_close=(), seed: int = 0,
                 steps: int = STEPS, evaluations: int = EVALUATIONS) -> None:
        order = np.lexsort((np.asarray(group), np.asarray(site)))  # by site, then group
        self.g = np.asarray(group, dtype=np.int64)[order]
        self.j = np.asarray(site, dtype=np.int64)[order]
        self.r = np.asarray(profit, dtype=float)[order]
        self.q = np.asarray(use, dtype=float)[order]
        self.order = order
        self.cap = np.asarray(capacity, dtype=float)
        self.c = np.asarray(cost, dtype=float)
        self.n, self.m = n_groups, len(self.c)
        self.room = float(budget)
        self.fixed, self.banned, self.conflict = fixings(self.c, must_open, must_close)
        self.seed, self.steps, self.evaluations = seed, steps, evaluations

    # ------------------------------------------------------------------ constructors

    @classmethod
    def from_model(cls, model: FamilyCentreModel, **options) -> ServiceSearch:
        """The search for a built service model (``search.check_supported`` checked the scope)."""
        reach = model.reach
        eff = model.site_effectiveness()
        g, j, w = reach.pair_group, reach.pair_site, reach.pair_take_up
        groups = reach.groups
        s = model.settings
        return cls(g, j, groups.demand[g] * eff[j] * w, groups.population[g] * w,
                   np.where(np.isfinite(model.data.capacity), model.data.capacity, np.inf),
                   model.cost_coef, float(s.budget) - model.cost_constant,
                   n_groups=len(groups.sites), must_open=s.must_open, must_close=s.must_close,
                   seed=s.seed, **options)

    def pair_values(self, x_sorted: np.ndarray) -> np.ndarray:
        """x in the caller's pair order (the search keeps pairs sorted by site)."""
        out = np.empty_like(x_sorted)
        out[self.order] = x_sorted
        return out

    # ------------------------------------------------------------------ the bound

    def site_values(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """v_j(π) for every site and the fractional knapsacks' x (per pair)."""
        red = self.r - pi[self.g]
        idx = np.flatnonzero(red > TOL)
        # Within each site, items by reduced profit per child, best first: one sort of
        # site + (1 − ratio / (max ratio + 1)) ∈ (site, site + 1], quicker than a lexsort.
        # (An item that takes no place, q = 0, comes first: key = site.)
        use = self.q[idx]
        ratio = np.divide(red[idx], use, out=np.zeros(len(idx)), where=use > 0)
        top = float(ratio.max(initial=0.0)) + 1.0
        key = self.j[idx] + np.where(use > 0, 1.0 - ratio / top, 0.0)
        idx = idx[np.argsort(key, kind="stable")]
        sites, use = self.j[idx], self.q[idx]
        total = np.cumsum(use)
        first = np.searchsorted(sites, np.arange(self.m))
        before = total - use - np.concatenate([[0.0], total])[first][sites]
        x = np.zeros(len(self.r))
        with np.errstate(invalid="ignore", divide="ignore"):  # inf capacity, q = 0
            room = self.cap[sites] - before
            x[idx] = np.clip(np.divide(room, use, out=np.ones(len(idx)), where=use > 0), 0.0, 1.0)
        return np.bincount(self.j, weights=red * x, minlength=self.m), x

    def choose_sites(self, v: np.ndarray) -> tuple[float, np.ndarray]:
        """The outer knapsack: max Σ v_j y_j within the budget; return its value and y.

        Exact when the free sites come in a few cost classes (every count per class tried, at
        most ``CLASS_COMBINATIONS``; within a class the best sites first), else its LP
        (Dantzig's bound: by value per £, the last one in part)."""
        y = self.fixed.astype(float)
        room = self.room - float(self.c[self.fixed].sum())
        free = np.flatnonzero(~self.fixed & ~self.banned & (v > TOL))
        classes = self._classes(free, v, room)
        if classes is not None:
            for take in classes:
                y[take] = 1.0
            return float(v @ y), y
        free = free[np.argsort(-v[free] / self.c[free], kind="stable")]
        spent = np.cumsum(self.c[free])
        k = int(np.searchsorted(spent, room + TOL, side="right"))
        y[free[:k]] = 1.0
        if k < len(free):
            y[free[k]] = max(room - (spent[k - 1] if k else 0.0), 0.0) / self.c[free[k]]
        return float(v @ y), y

    def _classes(self, free: np.ndarray, v: np.ndarray, room: float) -> list | None:
        """The exact knapsack over cost classes: per class the sites to open; None when there
        are too many combinations of counts to try."""
        costs, cls = np.unique(self.c[free], return_inverse=True)
        members = [free[cls == c] for c in range(len(costs))]
        members = [m[np.argsort(-v[m], kind="stable")] for m in members]
        most = [min(len(m), int(np.floor(max(room, 0.0) / c + 1e-9)))
                for m, c in zip(members, costs, strict=True)]
        if not members:
            return []
        if np.prod([k + 1.0 for k in most[:-1]]) > CLASS_COMBINATIONS:
            return None
        prefix = [np.concatenate([[0.0], np.cumsum(v[m])]) for m in members]
        grids = np.meshgrid(*[np.arange(k + 1) for k in most[:-1]], indexing="ij")
        counts = [g.ravel() for g in grids] if grids else []
        n = len(counts[0]) if counts else 1
        spent = sum((k * c for k, c in zip(counts, costs[:-1], strict=True)), np.zeros(n))
        last = np.clip(np.floor((room - spent) / costs[-1] + 1e-9), 0, most[-1]).astype(int)
        value = sum((p[k] for p, k in zip(prefix[:-1], counts, strict=True)), np.zeros(n))
        value = np.where(spent <= room + TOL, value + prefix[-1][last], -np.inf)
        best = int(np.argmax(value))
        ks = [int(k[best]) for k in counts] + [int(last[best])]
        return [m[:k] for m, k in zip(members, ks, strict=True)]

    def lagrangian(self, pi: np.ndarray) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
        """L(π) (a valid upper bound for any π ≥ 0), v, the knapsacks' x and the chosen y."""
        v, x = self.site_values(pi)
        value, y = self.choose_sites(v)
        return float(pi.sum()) + value, v, x, y

    # ------------------------------------------------------------------ solving

    def solve(self, time_limit: float | None = None, gap: float = 0.0) -> ServiceFound | None:
        """The best plan found and the Lagrangian bound; None when no plan fits the budget."""
        start = time.perf_counter()
        deadline = start + (time_limit if time_limit is not None else np.inf)
        if no_plan(self.c, self.fixed, self.conflict, self.room):
            return None
        assign = _Assignment(self)
        plan, value = self._first_plan(assign)
        bound, pi, plan, value, steps, chosen = self._bound(assign, plan, value, deadline,
                                                            self.steps, np.zeros(self.n))
        # The swaps try the sites the bound's steps ever chose: a smaller LP, quicker re-solves.
        pool = chosen | plan | self.fixed
        plan, value, evaluations, stopped = self._swaps(_Assignment(self, pool), plan, value,
                                                        bound, gap, deadline)
        if stopped != "time_limit" and not meets(bound, value, gap):
            # A better plan is a better target for the steps: a tighter bound.
            more = self._bound(assign, plan, value, deadline, self.steps // 2, pi, THETA / 2)
            bound, steps = min(bound, more[0]), steps + more[4]
            if more[3] > value + TOL * max(1.0, abs(value)):
                plan, value = more[2], more[3]
        if stopped != "time_limit" and meets(bound, value, gap):
            stopped = "gap"
        plan = self._trim(assign, plan, assign.value(plan), deadline)
        value = assign.value(plan)
        return ServiceFound(plan, self.pair_values(assign.x()), value, max(bound, value), steps,
                            evaluations, stopped)

    def rounded_plan(self) -> np.ndarray | None:
        """The plan of the bound's steps alone (no swaps): a quick start for HiGHS; None when
        no plan fits the budget."""
        if no_plan(self.c, self.fixed, self.conflict, self.room):
            return None
        assign = _Assignment(self)
        plan, value = self._first_plan(assign)
        return self._bound(assign, plan, value, np.inf, self.steps, np.zeros(self.n))[2]

    def _trim(self, assign: _Assignment, plan: np.ndarray, value: float,
              deadline: float) -> np.ndarray:
        """Close the open sites the plan serves as many without (the dearest first), as the
        LP's tie-break does: among plans that serve the same, the cheaper one. Only sites that
        add nothing at the assignment's duals are tried."""
        pi, x = assign.duals(), assign.x()
        adds = np.bincount(self.j, weights=(self.r - pi[self.g]) * x, minlength=self.m)
        slack = TOL * max(1.0, abs(value))
        idle = np.flatnonzero(plan & ~self.fixed & (adds <= slack) & (self.c > 0))
        for k in idle[np.lexsort((idle, -self.c[idle]))]:
            if time.perf_counter() > deadline:
                break
            trial = plan.copy()
            trial[k] = False
            if assign.value(trial) >= value - slack:
                plan = trial
        return plan

    def _first_plan(self, assign: _Assignment) -> tuple[np.ndarray, float]:
        """The sites worth most on their own (π = 0), as many as the budget allows."""
        v, _ = self.site_values(np.zeros(self.n))
        return self._round(v, assign)

    def _round(self, score: np.ndarray, assign: _Assignment) -> tuple[np.ndarray, float]:
        """Open sites by score (then cost, then number) while they fit; evaluate exactly."""
        plan = self.fixed.copy()
        spent = float(self.c[plan].sum())
        for j in np.lexsort((np.arange(self.m), self.c, -score)):
            if not plan[j] and not self.banned[j] and spent + self.c[j] <= self.room + TOL:
                plan[j] = True
                spent += self.c[j]
        return plan, assign.value(plan)

    def _bound(self, assign: _Assignment, plan: np.ndarray, value: float, deadline: float,
               steps: int, pi: np.ndarray, theta: float = THETA):
        """Subgradient steps on π from ``pi``; every ROUND_EVERY steps the averaged y becomes a
        plan. Returns the best bound, its π, the best plan, its value, the steps taken and the
        sites any step chose."""
        best, best_pi, stall = np.inf, pi, 0
        y_sum, done = np.zeros(self.m), 0
        chosen = np.zeros(self.m, dtype=bool)
        for done in range(1, steps + 1):
            bound, v, x, y = self.lagrangian(pi)
            y_sum += y
            chosen |= y > 0
            if bound < best - TOL:
                best, best_pi, stall = bound, pi, 0
            else:
                stall += 1
                if stall >= PATIENCE:
                    theta, stall = theta * DECAY, 0
            if done % ROUND_EVERY == 0:
                trial, v_trial = self._round(y_sum + TOL * v, assign)
                y_sum[:] = 0.0
                if v_trial > value + TOL:
                    plan, value = trial, v_trial
            if time.perf_counter() > deadline or meets(best, value):
                break
            sub = 1.0 - np.bincount(self.g, weights=x * y[self.j], minlength=self.n)
            sub[(pi <= 0) & (sub > 0)] = 0.0
            norm = float(sub @ sub)
            if norm <= TOL:
                break
            pi = np.maximum(pi - theta * max(bound - value, TOL) / norm * sub, 0.0)
        return best, best_pi, plan, value, done, chosen

    def _swaps(self, assign: _Assignment, plan: np.ndarray, value: float, bound: float,
               gap: float, deadline: float) -> tuple[np.ndarray, float, int, str]:
        """Swap local search on the exact assignment, priced by its duals (module docstring):
        the best-priced CANDIDATES closed sites first, more when none of them serves more."""
        near = _neighbours(self)
        tried, width = 0, CANDIDATES
        while tried < self.evaluations:
            if meets(bound, value, gap):
                return plan, value, tried, "gap"
            assign.value(plan)
            pi, x = assign.duals(), assign.x()
            v, _ = self.site_values(pi)
            v[~assign.pool] = 0.0
            loss = np.bincount(self.j, weights=(self.r - pi[self.g]) * x, minlength=self.m)
            moved, more = False, False
            for j, k in self._moves(plan, v, loss, near, width):
                if time.perf_counter() > deadline:
                    return plan, value, tried, "time_limit"
                if j < 0:
                    more = True  # closed sites beyond the window are left to try
                    break
                trial = plan.copy()
                trial[j] = True
                if k >= 0:
                    trial[k] = False
                tried += 1
                if (v_trial := assign.value(trial)) > value + TOL * max(1.0, abs(value)):
                    plan, value, moved = trial, v_trial, True
                    break
                if tried >= self.evaluations:
                    break
            if moved:
                width = CANDIDATES
            elif tried >= self.evaluations:
                break
            elif more:
                width *= 2
            else:
                return plan, value, tried, "local optimum"
        return plan, value, tried, "rounds"

    def _moves(self, plan: np.ndarray, v: np.ndarray, loss: np.ndarray, near: sp.csr_matrix,
               width: int):
        """(site to open, site to close or -1) in the order to try them: the best-priced
        closed sites from the ``width // 2``-th to the ``width``-th (the first
        half was tried with the same prices), then (-1, -1) if more are left."""
        spent = float(self.c[plan].sum())
        movable = plan & ~self.fixed
        closed = np.flatnonzero(~plan & ~self.banned & (v > TOL))
        ranked = closed[np.lexsort((closed, -v[closed] / np.maximum(self.c[closed], TOL)))]
        for j in ranked[(width // 2 if width > CANDIDATES else 0):width]:
            if spent + self.c[j] <= self.room + TOL:
                yield int(j), -1  # room left: open it as well
                continue
            nb = near.indices[near.indptr[j]:near.indptr[j + 1]]
            nb = nb[movable[nb]]
            fits = movable & (spent - self.c + self.c[j] <= self.room + TOL)
            nb = nb[fits[nb]]
            partners = list(nb[np.lexsort((nb, loss[nb]))][:PARTNERS])
            anywhere = np.flatnonzero(fits)
            if len(anywhere):
                partners.append(anywhere[np.lexsort((anywhere, loss[anywhere]))][0])
            for k in dict.fromkeys(int(p) for p in partners):
                yield int(j), k
        if len(ranked) > width:
            yield -1, -1


def _neighbours(search: ServiceSearch) -> sp.csr_matrix:
    """Sites × sites: 1 where two sites share an area group."""
    by_site = sp.csr_matrix((np.ones(len(search.g)), (search.j, search.g)),
                            shape=(search.m, search.n))
    return (by_site @ by_site.T).tocsr()


class _Assignment:
    """The assignment LP for a plan: a column per pair of the ``pool``'s sites (default all),
    closed sites' columns fixed at 0, re-solved from the last basis (HiGHS dual simplex, one
    thread, fixed seed)."""

    def __init__(self, search: ServiceSearch, pool: np.ndarray | None = None) -> None:
        import highspy

        from optimiser.model.formulation import _silence_highs_banner

        _silence_highs_banner()
        s = search
        self.pool = np.ones(s.m, dtype=bool) if pool is None else pool.copy()
        self.cols = np.flatnonzero(self.pool[s.j])  # pairs sorted by site: so are these
        self.start = np.searchsorted(s.j[self.cols], np.arange(s.m + 1)).astype(np.int32)
        g, j, k = s.g[self.cols], s.j[self.cols], len(self.cols)
        a = sp.csc_matrix((np.concatenate([np.ones(k), s.q[self.cols]]),
                           (np.concatenate([g, s.n + j]), np.tile(np.arange(k), 2))),
                          shape=(s.n + s.m, k))
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = k, s.n + s.m
        lp.col_cost_ = s.r[self.cols]
        lp.col_lower_, lp.col_upper_ = np.zeros(k), np.zeros(k)
        lp.row_lower_ = np.full(s.n + s.m, -highspy.kHighsInf)
        lp.row_upper_ = np.concatenate([np.ones(s.n),
                                        np.where(np.isfinite(s.cap), s.cap, highspy.kHighsInf)])
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, \
            a.data
        h = highspy.Highs()
        for key, value in (("output_flag", False), ("threads", 1), ("random_seed", s.seed),
                           ("presolve", "off"), ("solver", "simplex")):
            h.setOptionValue(key, value)
        h.passModel(lp)
        self.h, self.s = h, s
        self.open = np.zeros(s.m, dtype=bool)

    def value(self, plan: np.ndarray) -> float:
        """Need-weighted children the plan's best assignment serves (its LP optimum); the
        plan's sites are in the pool."""
        for j in np.flatnonzero(plan != self.open):
            cols = np.arange(self.start[j], self.start[j + 1], dtype=np.int32)
            upper = 1.0 if plan[j] else 0.0
            self.h.changeColsBounds(len(cols), cols, np.zeros(len(cols)),
                                    np.full(len(cols), upper))
        self.open = plan.copy()
        self.h.run()
        return float(self.h.getInfo().objective_function_value)

    def duals(self) -> np.ndarray:
        """The groups' duals (≥ 0) at the last solve."""
        # HiGHS's sign convention for a maximisation's ≤ rows differs between versions.
        return np.abs(np.asarray(self.h.getSolution().row_dual[:self.s.n]))

    def x(self) -> np.ndarray:
        """x per pair (sorted by site) at the last solve."""
        out = np.zeros(len(self.s.r))
        out[self.cols] = np.clip(np.asarray(self.h.getSolution().col_value), 0.0, 1.0)
        return out
