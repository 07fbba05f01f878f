"""Plan and bound for the service model (``solver.name: search``, model/search_service.py).

Checked against the brute force of tests/test_service_enumeration.py, which shares no code with
the model: every set of sites within the budget, each with its best assignment by
``scipy.optimize.linprog``. The search must never claim more than its plan serves, its bound
must never be below the optimum, and on these small instances it finds the optimum.
"""

from __future__ import annotations

import numpy as np
import pytest
from test_service_enumeration import best_assignment, brute_force, make_case, model_for

from optimiser.errors import ScenarioError
from optimiser.model import FamilyCentreModel
from optimiser.model.rules import Plan
from optimiser.model.search_service import ServiceSearch

N_CASES = 20


def search_case(seed: int) -> dict:
    """A brute-force case without outreach (outreach_case has it): max_reach, a budget, no
    rules other than must_open / must_close."""
    case = make_case(seed, "max_reach")
    case["scenario"].pop("outreach", None)
    for key in ("locality_min_reach", "deprived_max_minutes"):
        case["scenario"]["constraints"].pop(key, None)
    case["scenario"]["solver"] = {"name": "search"}
    return case


def test_the_search_finds_the_brute_force_optimum_and_bounds_it_honestly():
    optimal = 0
    for seed in range(N_CASES):
        case = search_case(seed)
        expected = brute_force(case)
        result = model_for(case).solve()
        if expected is None:
            assert not result.has_plan, seed
            continue
        # The plan's value is what its best assignment serves (the independent LP).
        own = best_assignment(case, result.open, (0, 0))[0]
        assert result.objective_value == pytest.approx(own, rel=1e-6, abs=1e-6), seed
        assert result.best_bound >= expected - 1e-6, seed
        assert result.objective_value == pytest.approx(expected, rel=1e-6, abs=1e-6), seed
        optimal += result.status == "optimal"
        site = result.shares.site_children
        cap = np.nan_to_num(case["capacity"], nan=np.inf)
        assert (site <= cap + 1e-6).all(), seed
    # The bound proves most of them: only an integrality gap leaves "feasible".
    assert optimal >= N_CASES // 2


@pytest.mark.parametrize("outreach", [False, True])
def test_the_bound_holds_for_any_multipliers(outreach):
    """L(π) ≥ the optimum for every π ≥ 0 (with outreach: π and ν, one per group each)."""
    case = (next(c for c in map(outreach_case, range(20)) if c is not None) if outreach
            else search_case(3))
    search = ServiceSearch.from_model(model_for(case))
    assert search.n_pi == (2 if outreach else 1) * search.n
    best = brute_force(case)
    rng = np.random.default_rng(int(outreach))
    for _ in range(50):
        pi = rng.exponential(rng.choice([0.1, 5.0, 50.0]), search.n_pi)
        assert search.lagrangian(pi)[0] >= best - 1e-6


def test_an_integrality_gap_is_reported_as_feasible_with_the_bound():
    # Three areas of 10 children, each 5 minutes from two of three sites of capacity 10; the
    # budget buys 1.5 sites. A plan serves 10; one site's LP takes half of two areas, and the
    # Lagrangian with the best single site is 10 too: the exact outer knapsack closes the gap.
    minutes = np.array([[5.0, 5.0, 50.0], [50.0, 5.0, 5.0], [5.0, 50.0, 5.0]])
    found = FamilyCentreModel.from_cost_matrix(
        minutes, demand=[10, 10, 10], budget=1.5, annual_cost=1, capacity=[10, 10, 10],
        max_minutes=20, scenario={"solver": {"name": "search"}}).solve()
    assert (found.status, found.objective_value) == ("optimal", 10.0)


def test_the_search_is_deterministic_and_keeps_the_fixings():
    case = search_case(5)
    case["scenario"]["constraints"].update(must_open=["s0"], must_close=["s1"])
    first, second = model_for(case).solve(), model_for(case).solve()
    assert first.open.tolist() == second.open.tolist()
    assert first.objective_value == second.objective_value
    assert first.open[0] and not first.open[1]


def test_must_open_sites_over_the_budget_have_no_plan():
    minutes = np.array([[5.0, 8.0]])
    found = FamilyCentreModel.from_cost_matrix(
        minutes, demand=[10], budget=1, annual_cost=[1, 1], capacity=[5, 5],
        scenario={"solver": {"name": "search"},
                  "constraints": {"must_open": ["s0", "s1"]}}).solve()
    assert found.status == "infeasible" and not found.has_plan


def outreach_case(seed: int) -> dict | None:
    """A brute-force case with outreach (0..2 workers per locality, as the enumeration tries),
    or None when the seed's case has none."""
    case = make_case(seed, "max_reach")
    if "outreach" not in case["scenario"]:
        return None
    case["scenario"]["outreach"]["max_workers_per_locality"] = 2
    for key in ("locality_min_reach", "deprived_max_minutes"):
        case["scenario"]["constraints"].pop(key, None)
    case["scenario"]["solver"] = {"name": "search"}
    return case


def whole_workers(model: FamilyCentreModel, workers: np.ndarray) -> tuple[int, int]:
    """The plan's workers in the enumeration's locality order (East, West)."""
    by_name = dict(zip(model.data.localities, workers.tolist(), strict=True))
    return by_name.get("East", 0), by_name.get("West", 0)


def test_with_outreach_the_search_is_honest_and_finds_the_optimum_mostly():
    """Sites and whole workers: the plan's value is what its sites and workers serve (the
    independent LP), within its budget, never above the brute force's optimum, and the bound
    never below it; capacities and caseloads hold."""
    compared = optimal = 0
    for seed in range(80):
        case = outreach_case(seed)
        if case is None:
            continue
        expected = brute_force(case)
        model = model_for(case)
        result = model.solve()
        if expected is None:
            assert not result.has_plan, seed
            continue
        workers = whole_workers(model, result.workers)
        own = best_assignment(case, result.open, workers)[0]
        assert result.objective_value == pytest.approx(own, rel=1e-6, abs=1e-6), seed
        assert result.annual_cost <= case["budget"] + 1e-6, seed
        assert max(workers) <= 2, seed
        assert result.objective_value <= expected + 1e-6, seed
        assert result.best_bound >= expected - 1e-6, seed
        out = case["scenario"]["outreach"]
        assert np.all(result.outreach_served <= result.workers * out["caseload"] + 1e-6), seed
        cap = np.nan_to_num(case["capacity"], nan=np.inf)
        assert (result.shares.site_children <= cap + 1e-6).all(), seed
        assert np.all(result.shares.cover + result.shares.outreach <= 1 + 1e-9), seed
        optimal += result.objective_value >= expected - 1e-6 * max(1.0, expected)
        compared += 1
        if compared == N_CASES:
            break
    assert compared == N_CASES
    # A heuristic plan: on these small cases it is the optimum nearly always.
    assert optimal >= N_CASES - 2, optimal


def test_the_coverage_search_refuses_outreach_with_one_clear_error():
    model = FamilyCentreModel.from_cost_matrix(
        np.array([[5.0, 50.0], [50.0, 5.0]]), demand=[10, 20], budget=3, annual_cost=1,
        threshold=10, reach_model="coverage",
        scenario={"solver": {"name": "search"},
                  "outreach": {"cost_per_worker": 1, "reach_per_worker": 10}})
    with pytest.raises(ScenarioError) as err:
        model.solve()
    assert str(err.value) == (
        "key 'solver.name': search does not handle outreach in the coverage model (the service "
        "model's search handles it)\n"
        "  hint: use solver.name: highs, or max_reach with a budget and only must_open / "
        "must_close rules")


def test_a_plan_keeps_no_site_that_serves_no_one_more():
    # Site 1 duplicates site 0 (same area, same minutes): the budget buys both, the plan
    # serves as many with one, so the dearer copy is closed (HiGHS's tie-break does the same).
    found = FamilyCentreModel.from_cost_matrix(
        np.array([[5.0, 5.0]]), demand=[10], budget=5, annual_cost=[1, 2], capacity=[50, 50],
        scenario={"solver": {"name": "search"}}).solve()
    assert found.open.tolist() == [True, False]
    assert (found.objective_value, found.annual_cost) == (10.0, 1.0)


def test_a_site_that_must_open_and_close_has_no_plan():
    # The scenario refuses it first; the class says "no plan" when called directly.
    search = ServiceSearch([0], [0], [10.0], [10.0], [5.0], [1.0], 5.0, n_groups=1,
                           must_open=[0], must_close=[0])
    assert search.solve() is None


def test_existing_sites_are_compared_with_today_by_highs():
    """Today's network (solution.py) and the explanations re-solve with other objectives:
    those checks run on HiGHS, so a plan found by the search with existing sites is written."""
    from optimiser.solution import baseline_shares

    case = search_case(2)
    case["status"][:] = "existing"
    model = model_for(case)
    assert model.solve().has_plan
    _, share = baseline_shares(model)  # was: "search does not handle objective evaluate"
    today = model.relaxed(objective="evaluate", network=None, outreach=False, budget=None)
    assert today.settings.solver == "highs"
    assert share.tolist() == today.solve().reach_share.tolist() and share.sum() > 0


def test_highs_gets_the_search_rounded_plan_as_its_start():
    """The service model's start for HiGHS (model/start.py): the search's rounded plan, within
    the budget and the fixings; the answer HiGHS proves is unchanged by it."""
    from optimiser.model.start import greedy_sites

    for seed in range(6):
        case = search_case(seed)
        case["scenario"]["solver"] = {"name": "highs"}
        model = model_for(case)
        start = greedy_sites(model)
        if start is None:  # the fixed sites cost more than the budget
            continue
        open_ = start.astype(bool)
        assert model.annual_cost(open_, np.zeros(len(model.u))) <= case["budget"] + 1e-9
        assert not model.check_plan(Plan(open_, np.zeros(0, dtype=np.int64))), seed
        assert model.solve().objective_value == pytest.approx(brute_force(case), abs=1e-6)


def test_the_budget_knapsack_is_exact_over_cost_classes(monkeypatch):
    import itertools

    import optimiser.model.search_service as ss

    rng = np.random.default_rng(7)
    for trial in range(40):
        m = int(rng.integers(1, 9))
        cost = rng.choice([2.0, 3.0, 5.0][: int(rng.integers(1, 4))], m)
        if trial % 4 == 0:
            cost = rng.uniform(1, 6, m)  # every site its own class
        budget = float(rng.uniform(0, cost.sum()))
        search = ServiceSearch(np.zeros(0), np.zeros(0), [], [], np.ones(m), cost, budget,
                               n_groups=0)
        v = rng.uniform(-1, 10, m)
        best = max(float(v[list(s)].sum()) for k in range(m + 1)
                   for s in itertools.combinations(range(m), k)
                   if cost[list(s)].sum() <= budget and (v[list(s)] > 0).all())
        value, y, _ = search.choose_sites(v)
        assert value == pytest.approx(best), trial
        assert set(np.flatnonzero(y)) <= set(np.flatnonzero(v > 0))
        assert cost @ y <= budget + 1e-9
        monkeypatch.setattr(ss, "CLASS_COMBINATIONS", 0)  # the LP bound instead: never below
        assert search.choose_sites(v)[0] >= best - 1e-9
        monkeypatch.undo()


def test_the_budget_knapsack_buys_the_best_workers_with_the_money_sites_leave(monkeypatch):
    """Sites and workers together: against every set of sites, each with as many of the best
    workers (falling gains) as the money left buys."""
    import itertools

    import optimiser.model.search_service as ss

    rng = np.random.default_rng(8)
    for trial in range(40):
        m = int(rng.integers(1, 7))
        cost = rng.choice([2.0, 3.0, 5.0][: int(rng.integers(1, 4))], m)
        worker = float(rng.choice([0.5, 1.0, 2.0]))
        budget = float(rng.uniform(0, cost.sum() + 3 * worker))
        out = ss.Outreach(np.zeros(0, np.int64), np.zeros(0), np.zeros(0), 10.0, worker, None, 1)
        search = ServiceSearch(np.zeros(0), np.zeros(0), [], [], np.ones(m), cost, budget,
                               n_groups=0, outreach=out)
        gain = np.sort(rng.uniform(0, 4, int(rng.integers(0, 6))))[::-1]
        workers = ss._Workers(out, gain, np.zeros(len(gain), np.int64), np.zeros(0, np.int64),
                              np.zeros(0), np.zeros(0, np.int64))
        prefix = np.concatenate([[0.0], np.cumsum(gain)])
        v = rng.uniform(-1, 10, m)
        best = max(float(v[list(s)].sum()) + prefix[min(int((budget - cost[list(s)].sum())
                                                            // worker), len(gain))]
                   for k in range(m + 1) for s in itertools.combinations(range(m), k)
                   if cost[list(s)].sum() <= budget and (v[list(s)] > 0).all())
        value, y, taken = search.choose_sites(v, workers)
        assert value == pytest.approx(best), trial
        assert cost @ y + worker * taken <= budget + 1e-9, trial
        monkeypatch.setattr(ss, "CLASS_COMBINATIONS", 0)  # the LP bound instead: never below
        value, y, taken = search.choose_sites(v, workers)
        assert value >= best - 1e-9, trial
        assert cost @ y + worker * taken <= budget + 1e-9, trial
        monkeypatch.undo()


def test_a_multi_year_plan_by_the_search_is_refused_with_one_clear_error():
    # The years are one joint LP; the search would have planned nothing (an empty plan).
    from optimiser.scenario import parse_scenario

    with pytest.raises(ScenarioError) as err:
        parse_scenario({"instance": ".", "objective": "max_reach",
                        "years": [{"year": 2026, "budget": 1e7}],
                        "solver": {"name": "search"}})
    assert str(err.value) == (
        "key 'solver.name': search plans one year: a multi-year plan (years) needs HiGHS\n"
        "  hint: use solver.name: highs, or remove years")


def test_workers_move_to_the_locality_where_one_serves_most():
    """Rounding the LP's workers left one in East, where it serves 2 children, not North,
    where it serves 12 (found by an independent review's brute force): the search moves whole
    workers between localities while the exact value rises, and now proves HiGHS's optimum."""
    nan = np.nan
    minutes = np.array([[nan, 42.0], [4.7, 30.0], [nan, 31.1], [44.9, nan], [nan, 13.6],
                        [27.0, 28.3]])
    pop = np.array([43.0, 0, 30, 24, 53, 2])
    need = np.array([2.0, 2, 0.5, 0.5, 2, 1.3])
    found = {}
    for solver in ("search", "highs"):
        model = FamilyCentreModel.from_cost_matrix(
            minutes, demand=pop * need, population=pop, max_minutes=30, decay={"curve": "step"},
            annual_cost=[0.0, 2.0], setup_cost=[0.0, 5.0], capacity=[60.0, 30.0], budget=4.8,
            locality=["West", "East", "West", "East", "North", "East"],
            scenario={"outreach": {"cost_per_worker": 0.5, "caseload": 12, "effectiveness": 1.0},
                      "solver": {"name": solver}})
        r = model.solve()
        found[solver] = (r.status, round(r.objective_value, 6), r.open.tolist(),
                         dict(zip(model.data.localities, r.workers.tolist(), strict=True)))
    assert found["search"] == found["highs"]
    assert found["search"][3] == {"West": 4, "East": 0, "North": 5}
    assert found["search"][0] == "optimal"


def test_shares_from_the_search_are_never_minus_zero():
    """A share of -1e-12 from the assignment LP once reached areas.csv as '-0.0'."""
    minutes = np.array([[5.0, 50.0, 8.0], [50.0, 5.0, 8.0], [8.0, 50.0, 50.0]])
    r = FamilyCentreModel.from_cost_matrix(
        minutes, demand=[10, 20, 5], budget=1, annual_cost=1, capacity=[30, 30, 25],
        scenario={"solver": {"name": "search"}, "outreach": {"cost_per_worker": 1}}).solve()
    for values in (r.shares.outreach, r.shares.cover, r.shares.share):
        assert not np.signbit(values).any()
