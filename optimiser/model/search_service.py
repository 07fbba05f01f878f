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
- **Plan**: first greedy by price (open the site worth most per £ at the current plan's duals,
  one at a time); the subgradient's averaged site choice (an estimate of the LP's y), rounded
  into a plan within the budget, replaces it when better; then a swap local search improves
  it: the assignment of children to a plan's open sites is the exact LP above with y fixed
  (HiGHS dual simplex, re-solved from the previous basis after each move), and its duals
  price the moves: a closed site j is worth
  v_j(π) at the plan's group duals π; an open site k costs what it adds, Σ_{i ∈ k} (r_i − π_g) x_i.
  The best-priced closed sites are tried in place of the cheapest-to-lose open sites near
  them; a move is kept when the exact assignment serves more.

**Outreach** (workers u_l per locality l, each serving K children a year at £c_u; a group's
children served by outreach o_g count α a_g): the rows Σ_j w_i x_i + o_g ≤ 1 ("nobody twice")
get multipliers ν_g too, so a pair's reduced profit is r_i − π_g − w_i ν_g, and each locality's
outreach is a fractional knapsack of its children by (α a_g − ν_g) per child. Its value is
concave in the number of workers, so the t-th worker of a locality adds a known, falling amount;
the outer knapsack then buys sites and workers together (for every count of sites per cost
class, the money left buys the best workers, which is exact). A plan's workers come from the
assignment LP with them continuous (the budget's workers row), each part of a worker rounded up
while the money lasts, and the plan's value is the exact LP with those workers fixed. A swap
may also close a site to buy workers with its money.

The number of subgradient steps and of assignments tried, not seconds, decide the plan, so the
same inputs give the same plan however busy the machine (unless the time limit stops the search
first, which the status says).

Scope: the service model, ``max_reach`` with a ``budget``, outreach or not, and no rules other
than ``must_open`` and ``must_close`` (tiers and capacities as in the scenario). Anything else is
one clear error pointing back to ``solver.name: highs``.

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
#: Assignments the first plan's greedy may take (a round opens sites that share no area).
GREEDY_ROUNDS = 20
#: Closed sites tried per pass, best priced first.
CANDIDATES = 30
#: Open sites near a candidate tried in its place (the cheapest to lose).
PARTNERS = 3
TOL = 1e-9


@dataclass(frozen=True)
class ServiceFound:
    """What the service search found: the plan, its assignment (x per pair) and the bound; with
    outreach, the workers per locality and the share of each group they serve (o)."""

    open: np.ndarray
    x: np.ndarray
    value: float
    bound: float
    steps: int
    evaluations: int
    stopped: str  # "gap", "rounds" (the assignments ran out), "local optimum" or "time_limit"
    workers: np.ndarray | None = None
    o: np.ndarray | None = None


@dataclass(frozen=True)
class Outreach:
    """Outreach in the service search (module docstring).

    Attributes
    ----------
    locality, children, value
        Per area group: its locality, its children ``p_g`` and the need-weighted children
        outreach serving all of them counts, ``α a_g``.
    caseload, cost, most
        A worker's children a year (K), £ a year (c_u), and the most workers per locality
        (None: no limit).
    n_loc
        Localities.
    """

    locality: np.ndarray
    children: np.ndarray
    value: np.ndarray
    caseload: float
    cost: float
    most: int | None
    n_loc: int

    def affordable(self, money, available: float = np.inf):
        """Whole workers ``money`` (£, a number or an array) buys, at most ``available``."""
        if self.cost <= 0:
            return np.full(np.shape(money), available) if np.ndim(money) else available
        return np.minimum(np.floor(np.maximum(money, 0.0) / self.cost + 1e-9), available)


@dataclass(frozen=True)
class _Workers:
    """At given ν: every worker's added value, best first (``gain``, its ``locality``), and the
    outreach knapsacks' items to read o back (:meth:`o`)."""

    out: Outreach
    gain: np.ndarray
    locality: np.ndarray
    items: np.ndarray      # groups with children and a positive reduced value, by locality
    before: np.ndarray     # children of the same locality before each item
    free: np.ndarray       # groups with need and no children: outreach serves them at no cost

    @property
    def prefix(self) -> np.ndarray:
        return np.concatenate([[0.0], np.cumsum(self.gain)])

    def o(self, taken: float) -> np.ndarray:
        """Per group: the share outreach serves with the best ``taken`` workers (the last one
        possibly in part)."""
        out, whole = self.out, int(np.floor(taken + 1e-12))
        workers = np.bincount(self.locality[:whole], minlength=out.n_loc).astype(float)
        if whole < len(self.gain):
            workers[self.locality[whole]] += taken - whole
        o = np.zeros(len(out.children))
        p = out.children[self.items]
        o[self.items] = np.clip((out.caseload * workers[out.locality[self.items]]
                                 - self.before) / p, 0.0, 1.0)
        o[self.free] = 1.0
        return o


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
        Per site: its cost against the budget (£ a year); the budget left for the sites (and
        the outreach workers).
    take_up
        Per pair: the share of the group's children who use the site (``w_i``); needed with
        ``outreach``.
    outreach
        Outreach workers (:class:`Outreach`), or None.
    must_open, must_close
        Sites fixed open or closed.
    """

    def __init__(self, group, site, profit, use, capacity, cost, budget: float, *,
                 n_groups: int, take_up=None, outreach: Outreach | None = None,
                 must_open=(), must_close=(), seed: int = 0, steps: int = STEPS,
                 evaluations: int = EVALUATIONS) -> None:
        order = np.lexsort((np.asarray(group), np.asarray(site)))  # by site, then group
        self.g = np.asarray(group, dtype=np.int64)[order]
        self.j = np.asarray(site, dtype=np.int64)[order]
        self.r = np.asarray(profit, dtype=float)[order]
        self.q = np.asarray(use, dtype=float)[order]
        self.w = (np.asarray(take_up, dtype=float)[order] if take_up is not None
                  else np.ones(len(self.r)))
        self.order = order
        self.cap = np.asarray(capacity, dtype=float)
        self.c = np.asarray(cost, dtype=float)
        self.n, self.m = n_groups, len(self.c)
        self.out = outreach
        #: Multipliers: π_g per group, and ν_g per group with outreach.
        self.n_pi = self.n * (2 if outreach is not None else 1)
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
        outreach = None
        if model.u:
            # In children (service) or need-weighted children (coverage with capacities).
            outreach = Outreach(groups.locality, reach.outreach_unit(),
                                s.outreach_effectiveness * groups.demand, reach.worker_capacity(),
                                s.worker_cost, s.max_workers, len(model.data.localities))
        return cls(g, j, groups.demand[g] * eff[j] * w, groups.population[g] * w,
                   np.where(np.isfinite(model.data.capacity), model.data.capacity, np.inf),
                   model.cost_coef, float(s.budget) - model.cost_constant,
                   n_groups=len(groups.sites), take_up=w, outreach=outreach,
                   must_open=s.must_open, must_close=s.must_close, seed=s.seed, **options)

    def pair_values(self, x_sorted: np.ndarray) -> np.ndarray:
        """x in the caller's pair order (the search keeps pairs sorted by site)."""
        out = np.empty_like(x_sorted)
        out[self.order] = x_sorted
        return out

    # ------------------------------------------------------------------ the bound

    def reduced(self, pi: np.ndarray) -> np.ndarray:
        """Per pair: its profit less its group's multipliers, r_i − π_g (− w_i ν_g)."""
        red = self.r - pi[:self.n][self.g]
        if self.out is not None:
            red -= self.w * pi[self.n:][self.g]
        return red

    def site_values(self, pi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """v_j(π) for every site and the fractional knapsacks' x (per pair)."""
        red = self.reduced(pi)
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

    def worker_values(self, nu: np.ndarray) -> _Workers:
        """Each locality's outreach knapsack at ν (children by α a_g − ν_g per child): what its
        t-th worker adds, for t up to the workers its children need (or the most allowed)."""
        out = self.out
        assert out is not None
        red = out.value - nu
        free = np.flatnonzero((red > TOL) & (out.children <= 0))
        items = np.flatnonzero((red > TOL) & (out.children > 0))
        ratio = red[items] / out.children[items]
        items = items[np.lexsort((items, -ratio, out.locality[items]))]
        loc = out.locality[items]
        cum_p = np.concatenate([[0.0], np.cumsum(out.children[items])])
        cum_v = np.concatenate([[0.0], np.cumsum(red[items])])
        start = np.searchsorted(loc, np.arange(out.n_loc))
        end = np.searchsorted(loc, np.arange(out.n_loc), side="right")
        total = cum_p[end] - cum_p[start]
        count = np.ceil(total / out.caseload - 1e-9).astype(np.int64)
        if out.most is not None:
            count = np.minimum(count, out.most)
        locs = np.repeat(np.arange(out.n_loc), count)
        t = np.arange(len(locs)) - np.repeat(np.cumsum(count) - count, count)
        base, size = cum_p[start][locs], total[locs]
        gain = (np.interp(base + np.minimum(out.caseload * (t + 1), size), cum_p, cum_v)
                - np.interp(base + np.minimum(out.caseload * t, size), cum_p, cum_v))
        best = np.lexsort((t, locs, -gain))
        before = cum_p[:-1] - cum_p[start][loc] if len(items) else np.zeros(0)
        return _Workers(out, gain[best], locs[best], items, before, free)

    def choose_sites(self, v: np.ndarray,
                     workers: _Workers | None = None) -> tuple[float, np.ndarray, float]:
        """The outer knapsack: max Σ v_j y_j (+ the workers bought) within the budget; return
        its value, y and the number of workers taken.

        Exact when the free sites come in a few cost classes (every count per class tried, at
        most ``CLASS_COMBINATIONS``; within a class the best sites first; the money left buys
        the best workers), else its LP (Dantzig's bound: sites and workers by value per £, the
        last one in part)."""
        y = self.fixed.astype(float)
        room = self.room - float(self.c[self.fixed].sum())
        free = np.flatnonzero(~self.fixed & ~self.banned & (v > TOL))
        classes = self._classes(free, v, room, workers)
        if classes is not None:
            takes, taken = classes
            for take in takes:
                y[take] = 1.0
            value = float(v @ y)
            if workers is not None:
                value += float(workers.prefix[int(taken)])
            return value, y, taken
        return self._dantzig(free, v, room, y, workers)

    def _dantzig(self, free: np.ndarray, v: np.ndarray, room: float, y: np.ndarray,
                 workers: _Workers | None) -> tuple[float, np.ndarray, float]:
        """The outer knapsack's LP: sites (and workers) by value per £, the last one in part."""
        n_w = len(workers.gain) if workers is not None else 0
        w_cost = max(self.out.cost, 0.0) if workers is not None else 0.0
        value = np.concatenate([v[free], workers.gain if workers is not None else []])
        cost = np.concatenate([self.c[free], np.full(n_w, w_cost)])
        ratio = np.divide(value, cost, out=np.full(len(value), np.inf), where=cost > 0)
        # Workers are in their own best-first order already: keep it on ties (stable).
        order = np.argsort(-ratio, kind="stable")
        spent = np.cumsum(cost[order])
        k = int(np.searchsorted(spent, room + TOL, side="right"))
        part = np.zeros(len(value))
        part[order[:k]] = 1.0
        if k < len(order):
            part[order[k]] = max(room - (spent[k - 1] if k else 0.0), 0.0) / cost[order[k]]
        y[free] = part[:len(free)]
        taken = float(part[len(free):].sum())
        return float(v @ y + value[len(free):] @ part[len(free):]), y, taken

    def _classes(self, free: np.ndarray, v: np.ndarray, room: float,
                 workers: _Workers | None) -> tuple[list, float] | None:
        """The exact knapsack over cost classes: per class the sites to open and the workers
        the money left buys; None when there are too many combinations of counts to try."""
        costs, cls = np.unique(self.c[free], return_inverse=True)
        members = [free[cls == c] for c in range(len(costs))]
        members = [m[np.argsort(-v[m], kind="stable")] for m in members]
        most = [min(len(m), int(np.floor(max(room, 0.0) / c + 1e-9)))
                for m, c in zip(members, costs, strict=True)]
        n_w = len(workers.gain) if workers is not None else 0
        if not members:
            return [], (float(self.out.affordable(room, n_w)) if workers is not None else 0.0)
        # Without workers, as many of the last class as the money left buys is best; with
        # them, every count of every class is tried (the money left buys workers).
        grid = most if workers is not None else most[:-1]
        if np.prod([k + 1.0 for k in grid]) > CLASS_COMBINATIONS:
            return None
        prefix = [np.concatenate([[0.0], np.cumsum(v[m])]) for m in members]
        grids = np.meshgrid(*[np.arange(k + 1) for k in grid], indexing="ij")
        counts = [g.ravel() for g in grids] if grids else []
        n = len(counts[0]) if counts else 1
        spent = sum((k * c for k, c in zip(counts, costs, strict=False)), np.zeros(n))
        if workers is None:
            last = np.clip(np.floor((room - spent) / costs[-1] + 1e-9), 0, most[-1])
            counts.append(last.astype(int))
            spent = spent + counts[-1] * costs[-1]
        value = sum((p[k] for p, k in zip(prefix, counts, strict=True)), np.zeros(n))
        taken = np.zeros(n, dtype=np.int64)
        if workers is not None:
            taken = self.out.affordable(room - spent, n_w).astype(np.int64)
            value = value + workers.prefix[taken]
        value = np.where(spent <= room + TOL, value, -np.inf)
        best = int(np.argmax(value))
        return [m[:int(k[best])] for m, k in zip(members, counts, strict=True)], \
            float(taken[best])

    def lagrangian(self, pi: np.ndarray):
        """L(π) (a valid upper bound for any π ≥ 0), v, the knapsacks' x, the chosen y and,
        with outreach, the outreach shares o (else None)."""
        v, x = self.site_values(pi)
        workers = self.worker_values(pi[self.n:]) if self.out is not None else None
        value, y, taken = self.choose_sites(v, workers)
        if workers is None:
            return float(pi.sum()) + value, v, x, y, None
        free = float((self.out.value - pi[self.n:])[workers.free].sum())
        return float(pi.sum()) + value + free, v, x, y, workers.o(taken)

    def subgradient(self, x: np.ndarray, y: np.ndarray, o: np.ndarray | None) -> np.ndarray:
        """The slack of the relaxed rows at the Lagrangian's solution: 1 − Σ x (each group
        once) and, with outreach, 1 − Σ w x − o (nobody twice)."""
        xy = x * y[self.j]
        sub = 1.0 - np.bincount(self.g, weights=xy, minlength=self.n)
        if o is None:
            return sub
        return np.concatenate([sub, 1.0 - np.bincount(self.g, weights=self.w * xy,
                                                      minlength=self.n) - o])

    # ------------------------------------------------------------------ solving

    def solve(self, time_limit: float | None = None, gap: float = 0.0) -> ServiceFound | None:
        """The best plan found and the Lagrangian bound; None when no plan fits the budget."""
        start = time.perf_counter()
        deadline = start + (time_limit if time_limit is not None else np.inf)
        if no_plan(self.c, self.fixed, self.conflict, self.room):
            return None
        assign = _Assignment(self)
        plan, value = self._first_plan(assign, deadline)
        bound, pi, plan, value, steps, chosen = self._bound(assign, plan, value, deadline,
                                                            self.steps, np.zeros(self.n_pi))
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
                            evaluations, stopped, assign.workers(), assign.o())

    def rounded_plan(self) -> np.ndarray | None:
        """The better of the first plan (greedy by price) and the roundings of the bound's
        steps, no swaps: a quick start for HiGHS; None when no plan fits the budget."""
        if no_plan(self.c, self.fixed, self.conflict, self.room):
            return None
        assign = _Assignment(self)
        plan, value = self._first_plan(assign)
        return self._bound(assign, plan, value, np.inf, self.steps, np.zeros(self.n_pi))[2]

    def _trim(self, assign: _Assignment, plan: np.ndarray, value: float,
              deadline: float) -> np.ndarray:
        """Close the open sites the plan serves as many without (the dearest first), as the
        LP's tie-break does: among plans that serve the same, the cheaper one. Only sites that
        add nothing at the assignment's duals are tried."""
        pi, x = assign.duals(), assign.x()
        adds = np.bincount(self.j, weights=self.reduced(pi) * x, minlength=self.m)
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

    def _first_plan(self, assign: _Assignment,
                    deadline: float = np.inf) -> tuple[np.ndarray, float]:
        """Greedy by price: open the sites worth most per £ at the current plan's duals (what a
        site adds, v_j(π), is what its fractional knapsack serves beyond them) while one fits
        and is worth more per £ than the workers its money would buy. In at most GREEDY_ROUNDS
        assignments: a round opens sites that share no area group (their prices do not
        interact) up to its share of the money left, so one at a time when the budget buys
        few sites, many at once on all England."""
        plan = self.fixed.copy()
        value = assign.value(plan)
        near = _neighbours(self)
        for left in range(GREEDY_ROUNDS, 0, -1):
            if time.perf_counter() > deadline:
                break
            v, _ = self.site_values(assign.duals())
            rate = v / np.maximum(self.c, TOL)
            room = self.room - float(self.c[plan].sum())
            ok = np.flatnonzero(~plan & ~self.banned & (v > TOL) & (self.c <= room + TOL)
                                & (rate > assign.worker_rate() + TOL))
            if not len(ok):
                break
            trial, spent, taken = plan.copy(), 0.0, np.zeros(self.m, dtype=bool)
            for j in ok[np.lexsort((ok, -rate[ok]))]:
                if spent > 0 and (spent + self.c[j] > room / left + TOL
                                  or taken[near.indices[near.indptr[j]:near.indptr[j + 1]]]
                                  .any()):
                    continue
                if spent + self.c[j] <= room + TOL:
                    trial[j], taken[j] = True, True
                    spent += self.c[j]
            plan, value = trial, assign.value(trial)
        return plan, value

    def _round(self, score: np.ndarray, assign: _Assignment,
               spend: float | None = None) -> tuple[np.ndarray, float]:
        """Open sites by score (then cost, then number) while they fit; evaluate exactly. With
        outreach, ``spend`` is what the bound's knapsack spent on sites (on average): a site
        opens when at least half its cost is within it, and the rest buys workers."""
        plan = self.fixed.copy()
        spent = float(self.c[plan].sum())
        within = self.room if spend is None or self.out is None else spend
        for j in np.lexsort((np.arange(self.m), self.c, -score)):
            if plan[j] or self.banned[j] or spent + self.c[j] > self.room + TOL:
                continue
            if spent + self.c[j] / 2 <= within + TOL:
                plan[j] = True
                spent += self.c[j]
        return plan, assign.value(plan)

    def _bound(self, assign: _Assignment, plan: np.ndarray, value: float, deadline: float,
               steps: int, pi: np.ndarray, theta: float = THETA):
        """Subgradient steps on π from ``pi``; every ROUND_EVERY steps the averaged y becomes a
        plan. Returns the best bound, its π, the best plan, its value, the steps taken and the
        sites any step chose."""
        best, best_pi, stall = np.inf, pi, 0
        y_sum, spend, done = np.zeros(self.m), 0.0, 0
        chosen = np.zeros(self.m, dtype=bool)
        for done in range(1, steps + 1):
            bound, v, x, y, o = self.lagrangian(pi)
            y_sum += y
            spend += float(self.c @ y)
            chosen |= y > 0
            if bound < best - TOL:
                best, best_pi, stall = bound, pi, 0
            else:
                stall += 1
                if stall >= PATIENCE:
                    theta, stall = theta * DECAY, 0
            if done % ROUND_EVERY == 0:
                trial, v_trial = self._round(y_sum + TOL * v, assign, spend / ROUND_EVERY)
                y_sum[:], spend = 0.0, 0.0
                if v_trial > value + TOL:
                    plan, value = trial, v_trial
            if time.perf_counter() > deadline or meets(best, value):
                break
            sub = self.subgradient(x, y, o)
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
            loss = np.bincount(self.j, weights=self.reduced(pi) * x, minlength=self.m)
            moved, more = False, False
            for move in self._moves(plan, v, loss, near, width):
                if time.perf_counter() > deadline:
                    return plan, value, tried, "time_limit"
                if move is None:
                    more = True  # closed sites beyond the window are left to try
                    break
                j, k = move
                trial = plan.copy()
                if j >= 0:
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
        """(site to open or -1, site to close or -1) in the order to try them: with outreach
        first (in the first window) closing the PARTNERS open sites cheapest to lose, their money
        buying workers; then the best-priced closed sites from the ``width // 2``-th to the
        ``width``-th (the first half was tried with the same prices); then None if more are
        left."""
        spent = float(self.c[plan].sum())
        movable = plan & ~self.fixed
        if self.out is not None and width == CANDIDATES:
            cheap = np.flatnonzero(movable & (self.c > 0))
            for k in cheap[np.lexsort((cheap, loss[cheap]))][:PARTNERS]:
                yield -1, int(k)
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
            yield None


def _neighbours(search: ServiceSearch) -> sp.csr_matrix:
    """Sites × sites: 1 where two sites share an area group."""
    by_site = sp.csr_matrix((np.ones(len(search.g)), (search.j, search.g)),
                            shape=(search.m, search.n))
    return (by_site @ by_site.T).tocsr()


class _Assignment:
    """The assignment LP for a plan: a column per pair of the ``pool``'s sites (default all),
    closed sites' columns fixed at 0, re-solved from the last basis (HiGHS dual simplex, one
    thread, fixed seed). With outreach also o per group and u per locality: rows "nobody
    twice" (Σ w x + o ≤ 1), each locality's caseload (Σ p o ≤ K u) and the workers the plan's
    money left buys (Σ u ≤ W)."""

    def __init__(self, search: ServiceSearch, pool: np.ndarray | None = None) -> None:
        import highspy

        from optimiser.model.formulation import _silence_highs_banner

        _silence_highs_banner()
        s, inf = search, highspy.kHighsInf
        self.pool = np.ones(s.m, dtype=bool) if pool is None else pool.copy()
        self.cols = np.flatnonzero(self.pool[s.j])  # pairs sorted by site: so are these
        self.start = np.searchsorted(s.j[self.cols], np.arange(s.m + 1)).astype(np.int32)
        g, j, k = s.g[self.cols], s.j[self.cols], len(self.cols)
        n_loc = s.out.n_loc if s.out is not None else 0
        rows = [g, s.n + j]
        cols = [np.arange(k), np.arange(k)]
        vals = [np.ones(k), s.q[self.cols]]
        cost, lower, upper = [s.r[self.cols]], [np.zeros(k)], [np.zeros(k)]
        row_upper = [np.ones(s.n), np.where(np.isfinite(s.cap), s.cap, inf)]
        if s.out is not None:
            out, twice, case, total = s.out, s.n + s.m, 2 * s.n + s.m, 2 * s.n + s.m + n_loc
            o, u = k + np.arange(s.n), k + s.n + np.arange(n_loc)
            rows += [twice + g, twice + np.arange(s.n), case + out.locality,
                     case + np.arange(n_loc), np.full(n_loc, total)]
            cols += [np.arange(k), o, o, u, u]
            vals += [s.w[self.cols], np.ones(s.n), out.children, np.full(n_loc, -out.caseload),
                     np.ones(n_loc)]
            cost += [out.value, np.zeros(n_loc)]
            lower += [np.zeros(s.n), np.zeros(n_loc)]
            self.most = float(out.most) if out.most is not None else inf
            upper += [np.ones(s.n), np.full(n_loc, self.most)]
            row_upper += [np.ones(s.n), np.zeros(n_loc), [0.0]]
        n_rows, n_cols = sum(len(r) for r in row_upper), k + (s.n + n_loc if s.out else 0)
        a = sp.csc_matrix((np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))),
                          shape=(n_rows, n_cols))
        lp = highspy.HighsLp()
        lp.num_col_, lp.num_row_ = n_cols, n_rows
        lp.col_cost_ = np.concatenate(cost)
        lp.col_lower_, lp.col_upper_ = np.concatenate(lower), np.concatenate(upper)
        lp.row_lower_ = np.full(n_rows, -inf)
        lp.row_upper_ = np.concatenate(row_upper)
        lp.sense_ = highspy.ObjSense.kMaximize
        lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
        lp.a_matrix_.start_, lp.a_matrix_.index_, lp.a_matrix_.value_ = a.indptr, a.indices, \
            a.data
        h = highspy.Highs()
        for key, value in (("output_flag", False), ("threads", 1), ("random_seed", s.seed),
                           ("presolve", "off"), ("solver", "simplex")):
            h.setOptionValue(key, value)
        h.passModel(lp)
        self.h, self.s, self.k, self.n_loc = h, s, k, n_loc
        self.open = np.zeros(s.m, dtype=bool)
        self.u = np.zeros(n_loc)
        self.rate = 0.0

    def value(self, plan: np.ndarray) -> float:
        """Need-weighted children the plan's best assignment serves (its LP optimum; with
        outreach, with the whole workers its money left buys, rounded from the LP's); the
        plan's sites are in the pool."""
        for j in np.flatnonzero(plan != self.open):
            cols = np.arange(self.start[j], self.start[j + 1], dtype=np.int32)
            upper = 1.0 if plan[j] else 0.0
            self.h.changeColsBounds(len(cols), cols, np.zeros(len(cols)),
                                    np.full(len(cols), upper))
        self.open = plan.copy()
        if self.s.out is not None:
            return self._with_workers(plan)
        self.h.run()
        return float(self.h.getInfo().objective_function_value)

    def _with_workers(self, plan: np.ndarray) -> float:
        """The LP with workers continuous up to what the plan's money left buys, then again
        with them whole: each locality's part of a worker rounded up while the money lasts (the
        largest parts first; a worker more never serves fewer, and money left over buys
        nothing)."""
        s, out = self.s, self.s.out
        cols = (self.k + s.n + np.arange(self.n_loc)).astype(np.int32)
        most = np.full(self.n_loc, self.most)
        workers = out.affordable(s.room - float(s.c[plan].sum()), float(np.sum(most)))
        self.h.changeRowBounds(self.h.getNumRow() - 1, -np.inf, workers)
        self.h.changeColsBounds(self.n_loc, cols, np.zeros(self.n_loc), most)
        self.h.run()
        u = np.clip(np.asarray(self.h.getSolution().col_value)[cols], 0.0, most)
        self.rate = float(abs(self.h.getSolution().row_dual[-1])) / max(out.cost, TOL)
        whole = np.floor(u + 1e-9)
        frac = u - whole
        up = np.flatnonzero(frac > 1e-9)
        left = workers - whole.sum()  # inf when workers cost nothing
        up = up[np.lexsort((up, -frac[up]))][:len(up) if np.isinf(left) else max(int(left), 0)]
        whole[up] += 1.0
        self.h.changeColsBounds(self.n_loc, cols, whole, whole)
        self.h.run()
        return self._shift_workers(cols, whole, most)

    def _shift_workers(self, cols: np.ndarray, whole: np.ndarray, most: np.ndarray) -> float:
        """Move one worker at a time from the locality where one serves least to the one where
        one would serve most (the caseload rows' duals), while the exact value rises (the
        rounding alone can leave a worker in the wrong locality)."""
        s = self.s
        value = float(self.h.getInfo().objective_function_value)
        first = 2 * s.n + s.m
        for _ in range(self.n_loc):
            worth = np.abs(np.asarray(self.h.getSolution().row_dual)[first:first + self.n_loc])
            give = np.flatnonzero(whole < most)
            take = np.flatnonzero(whole > 0)
            if not len(give) or not len(take):
                break
            to = int(give[np.lexsort((give, -worth[give]))][0])
            take = take[take != to]
            if not len(take):
                break
            frm = int(take[np.lexsort((take, worth[take]))][0])
            if worth[to] <= worth[frm] * (1 + 1e-9) + TOL:
                break
            trial = whole.copy()
            trial[to], trial[frm] = trial[to] + 1, trial[frm] - 1
            self.h.changeColsBounds(self.n_loc, cols, trial, trial)
            self.h.run()
            moved = float(self.h.getInfo().objective_function_value)
            if moved <= value + TOL * max(1.0, abs(value)):
                self.h.changeColsBounds(self.n_loc, cols, whole, whole)
                self.h.run()
                break
            whole, value = trial, moved
        self.u = whole
        return value

    def duals(self) -> np.ndarray:
        """The groups' duals (≥ 0) at the last solve: "each group once" and, with outreach,
        "nobody twice"."""
        # HiGHS's sign convention for a maximisation's ≤ rows differs between versions.
        row = np.abs(np.asarray(self.h.getSolution().row_dual))
        n, m = self.s.n, self.s.m
        return np.concatenate([row[:n], row[n + m:2 * n + m]]) if self.s.out else row[:n]

    def worker_rate(self) -> float:
        """What a £ more for workers would serve at the last solve (the workers row's dual per
        worker's cost; 0 without outreach or when workers cost nothing)."""
        if self.s.out is None or self.s.out.cost <= 0:
            return 0.0
        # The continuous solve's duals: read before the whole workers were fixed.
        return self.rate

    def x(self) -> np.ndarray:
        """x per pair (sorted by site) at the last solve."""
        out = np.zeros(len(self.s.r))
        out[self.cols] = np.clip(np.asarray(self.h.getSolution().col_value)[:self.k], 0.0, 1.0)
        return out

    def o(self) -> np.ndarray | None:
        """Per group: the share outreach serves at the last solve (None without outreach)."""
        if self.s.out is None:
            return None
        col = np.asarray(self.h.getSolution().col_value)
        return np.clip(col[self.k:self.k + self.s.n], 0.0, 1.0)

    def workers(self) -> np.ndarray | None:
        """Whole workers per locality at the last solve (None without outreach)."""
        return self.u.astype(np.int64) if self.s.out is not None else None
