"""Travel minutes and sparse reach sets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimiser.instance import Instance
from optimiser.model.synthetic import synthetic_instance
from optimiser.scenario import ReachSettings, UrbanRural
from optimiser.travel import (
    estimate_pairs,
    nearest_open_site,
    site_pairs_within,
    travel_pairs,
)


def test_default_estimate_is_documented_formula():
    # 1 km urban: 1.3 km by road at 15 km/h = 5.2 minutes; rural: 1.3 km at 50 km/h = 1.56.
    sites = np.array([[1000.0, 0.0]])
    areas = np.array([[0.0, 0.0], [0.0, 0.0]])
    pairs = estimate_pairs(areas, np.array([False, True]), sites, ReachSettings())
    assert pairs.minutes.tolist() == pytest.approx([5.2, 1.56])


def test_threshold_edges_urban_20_rural_30():
    reach = ReachSettings()
    # Urban 20 min at 15 km/h and 1.3 circuity: 5 km road = 3,846 m straight line.
    edge_urban = 20 / 60 * 15 / 1.3 * 1000
    edge_rural = 30 / 60 * 50 / 1.3 * 1000
    sites = np.array([[edge_urban - 1, 0], [edge_urban + 1, 0], [edge_rural - 1, 0],
                      [edge_rural + 1, 0]], dtype=float)
    pairs = estimate_pairs(np.zeros((2, 2)), np.array([False, True]), sites, reach)
    got = set(zip(pairs.area.tolist(), pairs.site.tolist(), strict=True))
    assert got == {(0, 0), (1, 0), (1, 1), (1, 2)}


def test_sparse_pairs_equal_dense_computation():
    rng = np.random.default_rng(4)
    areas = rng.uniform(0, 30_000, (300, 2))
    sites = rng.uniform(0, 30_000, (80, 2))
    rural = rng.random(300) < 0.4
    reach = ReachSettings(threshold_minutes=UrbanRural(urban=15, rural=25))
    pairs = estimate_pairs(areas, rural, sites, reach)
    dist = np.hypot(*(areas[:, None] - sites[None]).transpose(2, 0, 1))
    per_m = np.where(rural, 1.3 / 50_000 * 60, 1.3 / 15_000 * 60)
    minutes = dist * per_m[:, None]
    dense = np.argwhere(minutes <= np.where(rural, 25, 15)[:, None])
    assert len(pairs) == len(dense) > 0
    assert set(zip(pairs.area.tolist(), pairs.site.tolist(), strict=True)) == {
        (int(a), int(s)) for a, s in dense}
    assert pairs.minutes == pytest.approx(minutes[pairs.area, pairs.site])
    # Sorted by area then minutes: deterministic.
    order = np.lexsort((pairs.site, pairs.minutes, pairs.area))
    assert (order == np.arange(len(pairs))).all()


def test_speed_and_circuity_are_settable():
    reach = ReachSettings(speed_kmh=UrbanRural(urban=5, rural=40),
                          circuity=UrbanRural(urban=1.0, rural=1.3))
    pairs = estimate_pairs(np.zeros((1, 2)), np.array([False]), np.array([[1000.0, 0]]), reach)
    assert pairs.minutes.tolist() == pytest.approx([12.0])


def test_travel_csv_overrides_and_unlisted_pairs_are_out_of_reach():
    inst = synthetic_instance(30, seed=2)
    a, s = inst.areas["area_id"], inst.sites["site_id"]
    travel = pd.DataFrame({"area_id": [a[0], a[0], a[1]], "site_id": [s[0], s[1], s[2]],
                           "minutes": [5.0, 25.0, 19.0]})
    inst2 = Instance(areas=inst.areas, sites=inst.sites, travel=travel)
    inst2.areas.loc[:, "rural"] = False
    pairs = travel_pairs(inst2, ReachSettings())
    assert list(zip(pairs.area.tolist(), pairs.site.tolist(), strict=True)) == [(0, 0), (1, 2)]
    best, minutes = nearest_open_site(inst2, ReachSettings(), np.ones(len(s), dtype=bool))
    assert best[0] == 0 and minutes[0] == 5.0
    assert best[2] == -1 and np.isnan(minutes[2])


def test_nearest_open_site_by_estimate():
    inst = synthetic_instance(60, seed=5)
    open_ = np.zeros(len(inst.sites), dtype=bool)
    open_[[1, 3]] = True
    best, minutes = nearest_open_site(inst, ReachSettings(), open_)
    xy = inst.areas[["x", "y"]].to_numpy()
    sxy = inst.sites[["x", "y"]].to_numpy()[[1, 3]]
    d = np.hypot(*(xy[:, None] - sxy[None]).transpose(2, 0, 1))
    assert (best == np.array([1, 3])[d.argmin(axis=1)]).all()
    assert np.all(minutes > 0)


def test_site_pairs_within():
    xy = np.array([[0, 0], [1500, 0], [5000, 0], [5000, 1999]], dtype=float)
    assert site_pairs_within(xy, 2.0).tolist() == [[0, 1], [2, 3]]
    assert site_pairs_within(xy, 1.5).tolist() == [[0, 1]]
    assert site_pairs_within(xy, 1.5, strict=True).tolist() == []
