"""Plan and bound for the budgeted coverage problem (``solver.name: search``, model/search.py).

The brute force shares no code with the search: it enumerates every set of sites within the
budget and counts the need of the areas any of them reaches; the LP bound is checked against
``scipy.optimize.linprog``.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linprog

from optimiser.errors import ScenarioError
from optimiser.model import FamilyCentreModel
from optimiser.model.search import CoverageSearch


def random_instance(seed: int, n_areas: int = 30, n_sites: int = 9):
    rng = np.random.default_rng(seed)
    reach = rng.random((n_areas, n_sites)) < 0.25
    demand = rng.integers(1, 50, n_areas).astype(float)
    cost = rng.integers(1, 5, n_sites).astype(float)
    budget = float(rng.integers(3, 10))
    must_open = [0] if seed % 3 == 0 else []
    must_close = [1] if seed % 4 == 0 else []
    return reach, demand, cost, budget, must_open, must_close


def brute_force(reach, demand, cost, budget, must_open, must_close) -> float:
    best = -1.0
    for bits in itertools.product([False, True], repeat=reach.shape[1]):
        y = np.array(bits)
        if cost[y].sum() > budget or not y[must_open].all() or y[must_close].any():
            continue
        best = max(best, float(demand[reach[:, y].any(axis=1)].sum()))
    return best


def lp_bound(reach, demand, cost, budget, must_open, must_close) -> float:
    """max Σ a z, z ≤ Σ_{reach} y, Σ c y ≤ B, 0 ≤ y, z ≤ 1 (fixings as bounds), by linprog."""
    n, m = reach.shape
    c = np.concatenate([np.zeros(m), -demand])
    a_ub = np.vstack([np.hstack([-reach.astype(float), np.eye(n)]),
                      np.concatenate([cost, np.zeros(n)])])
    b_ub = np.concatenate([np.zeros(n), [budget]])
    bounds = [(1 if j in must_open else 0, 0 if j in must_close else 1) for j in range(m)]
    bounds += [(0, 1)] * n
    return -linprog(c, A_ub=a_ub, b_ub=b_ub, bounds=bounds, method="highs").fun


def search_for(reach, demand, cost, budget, must_open, must_close, **kw) -> CoverageSearch:
    return CoverageSearch(sp.csr_matrix(reach.astype(float)), demand, cost, budget,
                          must_open=must_open, must_close=must_close, **kw)


@pytest.mark.parametrize("seed", range(12))
def test_search_finds_the_brute_force_optimum_and_bounds_it_honestly(seed):
    inst = random_instance(seed)
    _, _, cost, budget, must_open, must_close = inst
    found = search_for(*inst, rounds=100).solve()
    best = brute_force(*inst)
    assert found.value == pytest.approx(best)
    assert cost[found.open].sum() <= budget
    assert found.open[must_open].all() and not found.open[must_close].any()
    # The bound is the LP bound (the Lagrangian at the LP's duals), never below the optimum.
    assert found.bound >= best - 1e-6
    assert found.bound == pytest.approx(lp_bound(*inst), abs=1e-5)
    assert found.gap == pytest.approx((found.bound - found.value) / found.value)


def test_lagrangian_bound_holds_for_any_multipliers():
    inst = random_instance(5)
    search = search_for(*inst)
    best = brute_force(*inst)
    rng = np.random.default_rng(0)
    for _ in range(20):
        assert search.lagrangian_bound(rng.random(len(inst[1])) * 60) >= best - 1e-9


def test_search_stops_at_the_requested_gap_and_is_deterministic():
    inst = random_instance(2)  # LP bound 532.5, optimum 475: a 12% gap
    first = search_for(*inst, rounds=100).solve(gap=0.2)
    assert first.stopped == "gap" and first.gap <= 0.2
    again = search_for(*inst, rounds=100).solve(gap=0.2)
    assert again.open.tolist() == first.open.tolist() and again.rounds == first.rounds


def test_must_open_sites_over_the_budget_have_no_plan():
    reach, demand, cost, _, _, _ = random_instance(1)
    assert search_for(reach, demand, cost, 1.0, [0, 2], []).solve() is None


def test_the_model_reports_the_search_plan_with_its_gap():
    minutes = np.array([[5.0, 50.0, 8.0], [50.0, 5.0, 8.0], [8.0, 50.0, 50.0]])
    kw = dict(demand=[10, 20, 5], threshold=10, budget=1, annual_cost=1,
              reach_model="coverage")
    highs = FamilyCentreModel.from_cost_matrix(minutes, **kw).solve()
    model = FamilyCentreModel.from_cost_matrix(minutes, **kw,
                                               scenario={"solver": {"name": "search"}})
    found = model.solve()
    assert (found.status, found.objective_value) == ("optimal", highs.objective_value)
    assert found.open.tolist() == highs.open.tolist()
    assert found.reached.tolist() == highs.reached.tolist()
    assert found.status_detail.startswith("search: ")


def test_an_integrality_gap_is_reported_as_feasible_with_the_bound():
    # Three areas, each reached by two of three sites; one site affordable: the LP opens
    # half of each and reaches everyone (bound 30), a plan reaches two areas (20).
    minutes = np.array([[5.0, 5.0, 50.0], [50.0, 5.0, 5.0], [5.0, 50.0, 5.0]])
    found = FamilyCentreModel.from_cost_matrix(
        minutes, demand=[10, 10, 10], threshold=10, budget=1.5, annual_cost=1,
        reach_model="coverage", scenario={"solver": {"name": "search", "gap": 0.0}}).solve()
    assert found.objective_value == 20.0
    assert found.status == "feasible"
    assert found.best_bound >= 30.0 - 1e-6 and found.gap == pytest.approx(0.5, abs=1e-3)


def test_capacities_in_the_coverage_model_are_refused_with_one_clear_error():
    minutes = np.array([[5.0, 50.0], [50.0, 5.0]])
    model = FamilyCentreModel.from_cost_matrix(
        minutes, demand=[10, 20], threshold=10, budget=1, annual_cost=1, capacity=[30, 12],
        reach_model="coverage", scenario={"solver": {"name": "search"}})
    with pytest.raises(ScenarioError) as err:
        model.solve()
    assert str(err.value) == (
        "key 'solver.name': search does not handle capacities in the coverage model (it "
        "solves the service model or the coverage model without capacities)\n"
        "  hint: use solver.name: highs, or max_reach with a budget and only must_open / "
        "must_close rules")
