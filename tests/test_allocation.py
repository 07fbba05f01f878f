"""Funding allocation: proportional to need, within floors and caps, whole pounds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from optimiser.allocation import (
    allocate,
    allocate_from_folder,
    flat_split,
    unit_need,
    write_allocation,
)
from optimiser.errors import InputError


def _reference(need: np.ndarray, budget: float, f: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Water-filling by bisection on the level (independent of the module's breakpoint search)."""
    lo, hi = 0.0, 1.0
    while np.clip(hi * need, f, c).sum() < budget:
        hi *= 2
    for _ in range(200):
        mid = (lo + hi) / 2
        if np.clip(mid * need, f, c).sum() < budget:
            lo = mid
        else:
            hi = mid
    return np.clip(hi * need, f, c)


def test_simple_proportional_split_is_exact():
    need = pd.Series({"Banbury": 300.0, "Oxford": 500.0, "Witney": 200.0})
    table = allocate(need, 1_000_000)
    assert table["allocation"].tolist() == [300_000, 500_000, 200_000]
    assert table["need_share"].tolist() == pytest.approx([0.3, 0.5, 0.2])
    assert table["flat_allocation"].tolist() == [333_334, 333_333, 333_333]
    assert table["difference"].tolist() == [-33_334, 166_667, -133_333]
    assert table["limit"].tolist() == ["", "", ""]


def test_floor_lifts_small_unit_and_others_share_the_rest_in_proportion():
    need = pd.Series({"Banbury": 300.0, "Oxford": 500.0, "Witney": 200.0})
    table = allocate(need, 1_000_000, floor=250_000)
    # Witney held at its floor; the other 750,000 split 3:5.
    assert table["allocation"].tolist() == [281_250, 468_750, 250_000]
    assert table["limit"].tolist() == ["", "", "floor"]


def test_cap_holds_large_unit_and_the_excess_goes_to_the_others():
    need = pd.Series({"A": 800.0, "B": 100.0, "C": 100.0})
    table = allocate(need, 1000, cap=500)
    assert table["allocation"].tolist() == [500, 250, 250]
    assert table["limit"].tolist() == ["cap", "", ""]


def test_floor_and_cap_per_unit_as_series():
    need = pd.Series({"A": 10.0, "B": 1.0, "C": 1.0, "D": 0.0})
    floor = pd.Series({"A": 0, "B": 100, "C": 0, "D": 50})
    cap = pd.Series({"A": 600, "B": 1000, "C": 1000, "D": 1000})
    table = allocate(need, 1000, floor=floor, cap=cap).set_index("unit")
    assert table.loc["A", "allocation"] == 600
    assert table.loc["D", "allocation"] == 50  # no need: its floor
    assert table.loc["B", "allocation"] == 175  # 350 left, split 1:1 between B and C
    assert table.loc["C", "allocation"] == 175
    assert table["allocation"].sum() == 1000


@pytest.mark.parametrize("seed", range(40))
def test_random_instances_match_bisection_reference_and_respect_every_bound(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 30))
    need = rng.gamma(1.0, 100.0, n) * (rng.random(n) > 0.1)
    budget = float(rng.integers(10_000, 5_000_000))
    floor = np.floor(rng.random(n) * budget / n * 0.8)
    cap = np.where(rng.random(n) < 0.5, np.inf, np.ceil(budget / n * (1 + 2 * rng.random(n))))
    cap = np.maximum(cap, floor)
    if np.sum(cap[need > 0]) + np.sum(floor[need <= 0]) < budget:
        cap[np.argmax(need)] = np.inf
    series = pd.Series(need, index=[f"u{i}" for i in range(n)])
    table = allocate(series, budget, floor=pd.Series(floor, index=series.index),
                     cap=pd.Series(cap, index=series.index))
    alloc = table["allocation"].to_numpy()
    assert alloc.sum() == round(budget)
    assert (alloc >= floor).all()
    assert (alloc <= cap).all()
    assert np.abs(alloc - _reference(need, budget, floor, cap)).max() <= 1.0 + 1e-6
    # Deterministic: the same call gives the same table.
    again = allocate(series, budget, floor=pd.Series(floor, index=series.index),
                     cap=pd.Series(cap, index=series.index))
    pd.testing.assert_frame_equal(table, again)


@pytest.mark.parametrize("n,budget", [(12, 960_000), (7, 1_000_000), (5, 10_001), (3, 2)])
def test_equal_need_gives_exactly_the_flat_split(n, budget):
    need = pd.Series(42.5, index=[f"district {i}" for i in range(n)])
    table = allocate(need, budget, floor=budget // (2 * n), cap=budget)
    assert table["allocation"].tolist() == table["flat_allocation"].tolist()
    assert (table["difference"] == 0).all()
    assert table["allocation"].sum() == budget
    assert table["allocation"].max() - table["allocation"].min() <= 1


def test_flat_split_sums_and_breaks_ties_by_order():
    assert flat_split(pd.Index(list("abc")), 100).tolist() == [34, 33, 33]
    assert flat_split(pd.Index(list("abcd")), 2).tolist() == [1, 1, 0, 0]


def test_no_need_anywhere_splits_flat():
    table = allocate(pd.Series(0.0, index=list("abc")), 300)
    assert table["allocation"].tolist() == [100, 100, 100]


def test_lancashire_twelve_districts_against_80k_each(mirror):
    """Lancashire gave each of its 12 districts £80,000 (seed 004). Split the same £960,000 by
    need (children 0-15 weighted by IMD score, from the official files) and compare."""
    imd = pd.read_csv(mirror / "imd2019" / "imd2019_lsoa_compact.csv",
                      usecols=["lsoa11cd", "lad19nm", "imd_score", "pop_0_15_mid2015"])
    utla = pd.read_csv(mirror / "lookups" / "lsoa11_utla19_ew.csv")
    lancs = utla.loc[utla["UTLA19NM"] == "Lancashire", "LSOA11CD"]
    areas = imd[imd["lsoa11cd"].isin(lancs)].rename(columns={"lad19nm": "lad_name"})
    areas = areas.assign(locality=areas["lad_name"], population=areas["pop_0_15_mid2015"],
                         need=areas["imd_score"] / areas["imd_score"].mean())
    need = unit_need(areas, "district")
    assert len(need) == 12
    table = allocate(need, 960_000, floor=40_000, level="district").set_index("unit")
    assert (table["flat_allocation"] == 80_000).all()
    assert table["allocation"].sum() == 960_000
    assert (table["allocation"] >= 40_000).all()
    # Burnley (among England's most deprived districts) gets more than the flat £80k;
    # Ribble Valley (among the least) gets less.
    assert table.loc["Burnley", "difference"] > 0
    assert table.loc["Ribble Valley", "difference"] < 0
    assert table["difference"].sum() == 0


def test_floors_above_budget_is_a_clear_error():
    with pytest.raises(InputError, match=r"floors add up to £1,200,000, more than the budget"):
        allocate(pd.Series(1.0, index=list("abc")), 1_000_000, floor=400_000)


def test_caps_below_budget_is_a_clear_error():
    with pytest.raises(InputError, match=r"caps add up to £900,000, less than the budget"):
        allocate(pd.Series(1.0, index=list("abc")), 1_000_000, cap=300_000)


def test_caps_of_units_with_need_too_small_is_a_clear_error():
    with pytest.raises(InputError, match="caps of the units with need"):
        allocate(pd.Series([1.0, 0.0], index=["a", "b"]), 1000, cap=600)


def test_bad_need_and_bounds_are_clear_errors():
    with pytest.raises(InputError, match="need of 'b'"):
        allocate(pd.Series([1.0, -2.0], index=["a", "b"]), 100)
    with pytest.raises(InputError, match="appears more than once"):
        allocate(pd.Series([1.0, 2.0], index=["a", "a"]), 100)
    with pytest.raises(InputError, match="no units"):
        allocate(pd.Series([], dtype=float), 100)
    with pytest.raises(InputError, match=r"floor of 'a'.*above its cap"):
        allocate(pd.Series([1.0, 2.0], index=["a", "b"]), 100, floor=60, cap=50)
    with pytest.raises(InputError, match="floor is not given for 1 unit"):
        allocate(pd.Series([1.0, 2.0], index=["a", "b"]), 100, floor=pd.Series({"a": 1}))
    with pytest.raises(InputError, match="budget"):
        allocate(pd.Series([1.0], index=["a"]), -5)


def test_allocate_from_folder_by_locality_and_district(tmp_path):
    areas = pd.DataFrame({
        "area_id": ["E1", "E2", "E3", "E4"],
        "locality": ["North", "North", "South", "South"],
        "lad_name": ["Cherwell", "Oxford", "Oxford", "Oxford"],
        "population": [100, 100, 200, 0],
        "need": [1.0, 2.0, 0.5, 3.0],
    })
    areas.to_csv(tmp_path / "areas.csv", index=False)
    by_locality = allocate_from_folder(tmp_path, 4000)
    assert by_locality["unit"].tolist() == ["North", "South"]
    assert by_locality["need"].tolist() == [300.0, 100.0]
    assert by_locality["allocation"].tolist() == [3000, 1000]
    by_district = allocate_from_folder(tmp_path, 4000, level="district")
    assert by_district["unit"].tolist() == ["Cherwell", "Oxford"]
    assert by_district["allocation"].tolist() == [1000, 3000]
    with pytest.raises(InputError, match="needs a solved folder"):
        allocate_from_folder(tmp_path, 4000, basis="unreached")
    write_allocation(by_district, tmp_path / "out", purpose="community grants", budget=4000)
    written = pd.read_csv(tmp_path / "out" / "allocation.csv")
    assert written.columns.tolist() == ["level", "unit", "need", "need_share", "allocation",
                                        "flat_allocation", "difference", "limit"]
    assert written["allocation"].sum() == 4000


def test_unreached_basis_uses_what_the_plan_does_not_reach(tmp_path):
    areas = pd.DataFrame({
        "area_id": ["E1", "E2", "E3"], "locality": ["A", "A", "B"],
        "demand": [100.0, 100.0, 100.0], "reach_share": [1.0, 0.5, 0.0],
    })
    areas.to_csv(tmp_path / "areas.csv", index=False)
    table = allocate_from_folder(tmp_path, 300, basis="unreached")
    assert table["allocation"].tolist() == [100, 200]
    assert math.isclose(table["need_share"].sum(), 1.0)


def test_district_level_needs_lad_name(tmp_path):
    pd.DataFrame({"area_id": ["E1"], "locality": ["A"], "population": [1], "need": [1.0]}) \
        .to_csv(tmp_path / "areas.csv", index=False)
    with pytest.raises(InputError, match="no 'lad_name' column"):
        allocate_from_folder(tmp_path, 100, level="district")


def test_cli_allocate_writes_the_split_and_reports_errors(tmp_path):
    from typer.testing import CliRunner

    from optimiser.cli import app

    pd.DataFrame({
        "area_id": ["E1", "E2", "E3"], "locality": ["A", "B", "B"],
        "lad_name": ["North", "South", "South"],
        "population": [100, 100, 200], "need": [1.0, 1.0, 1.0],
    }).to_csv(tmp_path / "areas.csv", index=False)
    runner = CliRunner()
    done = runner.invoke(app, ["allocate", str(tmp_path), "--budget", "1.2k", "--level",
                               "district", "--floor", "500", "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(tmp_path / "out" / "allocation.csv")
    assert table["unit"].tolist() == ["North", "South"]
    assert table["allocation"].tolist() == [500, 700]  # North lifted from 400 to its floor
    assert table["limit"].fillna("").tolist() == ["floor", ""]
    bad = runner.invoke(app, ["allocate", str(tmp_path), "--budget", "1000", "--floor", "600",
                              "--out", str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert "floors add up to £1,200, more than the budget of £1,000" in bad.output


def test_cli_allocate_to_one_district_says_there_is_nothing_to_split(tmp_path):
    """A unitary council is one district: '1 district units' once read as if split."""
    from typer.testing import CliRunner

    from optimiser.cli import app

    pd.DataFrame({"area_id": ["E1", "E2"], "locality": ["A", "B"], "lad_name": ["Cornwall"] * 2,
                  "population": [100, 100], "need": [1.0, 2.0]}).to_csv(
        tmp_path / "areas.csv", index=False)
    done = CliRunner().invoke(app, ["allocate", str(tmp_path), "--budget", "1m", "--level",
                                    "district", "--out", str(tmp_path / "out")])
    assert done.exit_code == 0, done.output
    text = " ".join(done.output.split())
    assert text.startswith("£1,000,000 of funding: the council is one district, so it "
                           "all goes to Cornwall; use --level locality to split it by need")
    assert "units" not in text
