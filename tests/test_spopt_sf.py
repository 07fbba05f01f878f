"""Known answers: spopt's San Francisco instance (205 tracts, 16 candidate stores).

With unit costs and budget p, ``max_reach`` is the maximal covering location problem; with
``min_cost`` and target 1.0 it is the location set covering problem. Network distance is the
travel impedance and 5,000 the service radius (as in spopt's notebooks). Values from spopt's
documentation: MCLP p=4 covers 875,247 people; LSCP needs 8 facilities.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimiser.model import FamilyCentreModel

SF = "benchmarks/spopt_sf"


@pytest.fixture(scope="module")
def sf(mirror):
    folder = mirror / SF
    demand = pd.read_csv(folder / "SF_demand_205_centroid_uniform_weight.csv",
                         dtype={"NAME": str})
    stores = pd.read_csv(folder / "SF_store_site_16_longlat.csv")
    dist = pd.read_csv(folder / "SF_network_distance_candidateStore_16_censusTract_205_new.csv",
                       dtype={"DestinationName": str})
    matrix = dist.pivot(index="DestinationName", columns="name", values="distance")
    matrix = matrix.loc[demand["NAME"], stores["NAME"]]
    return matrix.to_numpy(float), demand["POP2000"].to_numpy(float)


def test_sf_tables_are_complete(sf):
    minutes, pop = sf
    assert minutes.shape == (205, 16)
    assert np.isfinite(minutes).all()
    assert pop.sum() > 0


@pytest.mark.parametrize("solver", ["highs", "cbc"])
def test_mclp_budget_4_reaches_875247(sf, solver):
    minutes, pop = sf
    model = FamilyCentreModel.from_cost_matrix(
        minutes, demand=pop, threshold=5000, annual_cost=1.0, budget=4,
        scenario={"solver": {"name": solver}}, reach_model="coverage")
    result = model.solve()
    assert result.status == "optimal"
    assert result.open.sum() == 4
    assert result.objective_value == pytest.approx(875_247, abs=1e-6)
    assert result.gap == 0.0


def test_mclp_budget_4_by_plan_and_bound_finds_875247(sf):
    """``solver.name: search`` (model/search.py) finds spopt's optimum and bounds it honestly."""
    minutes, pop = sf
    model = FamilyCentreModel.from_cost_matrix(
        minutes, demand=pop, threshold=5000, annual_cost=1.0, budget=4,
        scenario={"solver": {"name": "search"}}, reach_model="coverage")
    result = model.solve()
    assert result.objective_value == pytest.approx(875_247, abs=1e-6)
    assert result.open.sum() == 4
    assert result.best_bound >= 875_247 - 1e-6
    assert result.status in ("optimal", "feasible")
    assert result.status == "optimal" or result.gap > 0


def test_lscp_min_cost_full_cover_costs_8(sf):
    minutes, pop = sf
    model = FamilyCentreModel.from_cost_matrix(
        minutes, demand=pop, threshold=5000, annual_cost=1.0, objective="min_cost",
        scenario={"target_reach": 1.0}, reach_model="coverage")
    result = model.solve()
    assert result.status == "optimal"
    assert result.objective_value == pytest.approx(8.0, abs=1e-9)
    assert result.need_reached == pytest.approx(pop.sum())


def test_budget_resolve_reuses_the_model(sf):
    """A sweep moves the budget on one built model; reach never falls as the budget rises."""
    minutes, pop = sf
    model = FamilyCentreModel.from_cost_matrix(minutes, demand=pop, threshold=5000, budget=1,
                                               reach_model="coverage")
    reached = []
    for b in (1, 2, 4, 8):
        model.set_budget(b)
        r = model.solve()
        assert r.status == "optimal" and r.open.sum() <= b
        reached.append(r.objective_value)
    assert reached == sorted(reached)
    assert reached[2] == pytest.approx(875_247, abs=1e-6)
    assert reached[3] == pytest.approx(pop.sum(), abs=1e-6)
