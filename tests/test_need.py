"""The need index: hand-computed z and rank examples, real Oxfordshire data, sensitivity."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from optimiser import loaders
from optimiser.errors import InputError
from optimiser.need import (
    DEFAULT_WEIGHTS,
    INDICATORS,
    compute_need,
    locality_summary,
    parse_weights,
    weight_sensitivity,
)

OXFORDSHIRE = "E10000025"


def wmean(values, pop) -> float:
    values, pop = np.asarray(values, float), np.asarray(pop, float)
    return float((values * pop).sum() / pop.sum())


# --------------------------------------------------------------------------------------------
# Real data: Oxfordshire's 407 LSOAs with modelled CIN/CPP rates
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oxon(mirror: Path) -> pd.DataFrame:
    """Oxfordshire areas as prepare builds them: IMD, population, modelled CIN/CPP rates.

    CIN and CPP are modelled as DESIGN.md says: the LA's 2019 totals apportioned by children
    aged 0-17 × IDACI score.
    """
    utla = loaders.load_utla_lookup(mirror)
    codes = utla.loc[utla["utla_code"] == OXFORDSHIRE, "lsoa11cd"]
    imd = loaders.load_imd(mirror)
    pop = loaders.load_population(mirror)[["lsoa11cd", "total", "age_0_4", "age_0_17",
                                           "age_0_19"]]
    df = imd[imd["lsoa11cd"].isin(codes)].merge(pop, on="lsoa11cd", how="left")
    la = loaders.load_la_cin_cpp(mirror)
    la = la[(la["la_code"] == OXFORDSHIRE) & (la["year"] == 2019)].iloc[0]
    share = df["age_0_17"] * df["idaci_score"]
    share = share / share.sum()
    df["cin"] = la["cin"] * share
    df["cpp"] = la["cpp"] * share
    df["cin_rate"] = df["cin"] / df["age_0_17"] * 10_000
    df["cpp_rate"] = df["cpp"] / df["age_0_17"] * 10_000
    df["under5_share"] = df["age_0_4"] / df["total"]
    df["population"] = df["age_0_4"]
    df["pop_0_4"] = df["age_0_4"]
    df["pop_0_19"] = df["age_0_19"]
    df["locality"] = df["lad19nm"]
    df["cases_source"] = "modelled"
    return df.set_index("lsoa11cd")


def test_real_oxfordshire_has_407_areas_and_mean_one(oxon):
    assert len(oxon) == 407
    for method in ("z", "rank"):
        need = compute_need(oxon, method=method)
        assert need.index.equals(oxon.index)
        assert wmean(need, oxon["population"]) == pytest.approx(1.0, abs=1e-12)
        assert need.min() > 0
    # Other populations and IMD domains by name work too.
    need = compute_need(oxon, {"idaci_score": 1, "education_rank": 1, "under5_share": 1},
                        population="age_0_19")
    assert wmean(need, oxon["age_0_19"]) == pytest.approx(1.0, abs=1e-12)


def test_real_need_follows_deprivation(oxon):
    need = compute_need(oxon)
    # The most deprived decile of Oxfordshire's areas is far needier than the least deprived.
    top = need[oxon["imd_score"] >= oxon["imd_score"].quantile(0.9)].mean()
    bottom = need[oxon["imd_score"] <= oxon["imd_score"].quantile(0.1)].mean()
    assert top > 1.5 > 1.0 > 0.8 > bottom


@pytest.mark.parametrize("method", ["z", "rank"])
def test_raising_one_areas_imd_raises_its_need(oxon, method):
    base = compute_need(oxon, method=method)
    area = (oxon["imd_score"] - oxon["imd_score"].median()).abs().idxmin()
    raised = oxon.copy()
    raised.loc[area, "imd_score"] += 15
    after = compute_need(raised, method=method)
    assert after[area] > base[area]


def test_real_summary_and_sensitivity(oxon):
    areas = oxon.assign(need=compute_need(oxon))
    summary = locality_summary(areas)
    assert summary["locality"].tolist() == sorted(oxon["lad19nm"].unique())
    assert summary["areas"].sum() == 407
    assert summary["need_total"].sum() == pytest.approx(areas["population"].sum())
    sens = weight_sensitivity(oxon, draws=1000, top_k=2)
    assert len(sens) == 5
    ranks = summary.set_index("locality")["need_rank"]
    assert (sens.set_index("locality")["base_rank"] == ranks[sens["locality"]]).all()
    # Oxford city is the neediest district under any sharing of the four weights.
    assert sens.iloc[0]["locality"] == "Oxford"
    assert sens.iloc[0]["top_k_share"] == 1.0


# --------------------------------------------------------------------------------------------
# Hand-computed examples
# --------------------------------------------------------------------------------------------


def test_z_method_by_hand():
    # IMD scores 10, 20, 30, 40 with equal populations: mean 25, sd sqrt(125), so z = ±3/√5,
    # ±1/√5. under5_share is constant, so it adds nothing; the composite is z/2 and its sd 1/2.
    areas = pd.DataFrame({"imd_score": [10.0, 20.0, 30.0, 40.0],
                          "under5_share": [0.06] * 4, "population": [50] * 4})
    need = compute_need(areas, {"imd_score": 1, "under5_share": 1})
    expected = 1 + 0.5 * np.array([-3, -1, 1, 3]) / np.sqrt(5)
    np.testing.assert_allclose(need, expected, rtol=1e-12)


def test_z_method_population_weighted_and_floor():
    # Populations 3 and 1, IMD 0 and 10: weighted mean 2.5, weighted sd sqrt(75/4),
    # z = -2.5/sd and 7.5/sd.
    areas = pd.DataFrame({"imd_score": [0.0, 10.0], "population": [3, 1]})
    sd = np.sqrt(75 / 4)
    z = np.array([-2.5, 7.5]) / sd
    np.testing.assert_allclose(compute_need(areas, {"imd_score": 1}), 1 + 0.5 * z)
    # spread 2 would make the first area negative: floored at 0.2, then rescaled to mean 1.
    raw = np.maximum(1 + 2 * z, 0.2)
    expected = raw / wmean(raw, [3, 1])
    got = compute_need(areas, {"imd_score": 1}, spread=2)
    np.testing.assert_allclose(got, expected)
    assert raw[0] == 0.2
    assert got[0] < 0.2  # the floor comes before the rescaling (as the README says)
    assert wmean(got, [3, 1]) == pytest.approx(1.0, abs=1e-12)


def test_rank_method_by_hand_with_ties_and_direction():
    areas = pd.DataFrame({
        "imd_score": [10.0, 20.0, 20.0, 40.0, 5.0],          # ranks 2, 3.5, 3.5, 5, 1
        "education_rank": [100, 300, 200, 400, 500],         # lower rank = more deprived
        "population": [1, 2, 1, 1, 5],
    })
    p_imd = np.array([2, 3.5, 3.5, 5, 1]) / 5
    p_edu = np.array([5, 3, 4, 2, 1]) / 5
    composite = 0.75 * p_imd + 0.25 * p_edu                  # weights 3:1
    expected = composite / wmean(composite, areas["population"])
    need = compute_need(areas, {"imd_score": 3, "education_rank": 1}, method="rank")
    np.testing.assert_allclose(need, expected, rtol=1e-12)
    np.testing.assert_allclose(composite, [0.55, 0.675, 0.725, 0.85, 0.2])


def test_weights_scale_free_and_zero_weight_has_no_effect():
    rng = np.random.default_rng(1)
    areas = pd.DataFrame({
        "imd_score": rng.uniform(2, 60, 30), "cpp_rate": rng.uniform(0, 80, 30),
        "cin_rate": rng.uniform(50, 600, 30), "under5_share": rng.uniform(0.03, 0.09, 30),
        "idaci_score": rng.uniform(0, 0.5, 30), "population": rng.integers(20, 200, 30),
    })
    for method in ("z", "rank"):
        ones = compute_need(areas, dict.fromkeys(DEFAULT_WEIGHTS, 1.0), method)
        twos = compute_need(areas, dict.fromkeys(DEFAULT_WEIGHTS, 2.0), method)
        pd.testing.assert_series_equal(ones, twos)
        pd.testing.assert_series_equal(ones, compute_need(areas, None, method))
        with_zero = compute_need(areas, {**DEFAULT_WEIGHTS, "idaci_score": 0.0}, method)
        pd.testing.assert_series_equal(ones, with_zero)
        other = compute_need(areas, {**DEFAULT_WEIGHTS, "idaci_score": 1.0}, method)
        assert not np.allclose(ones, other)
    # A zero-weighted indicator need not even be a column.
    no_col = areas.drop(columns="idaci_score")
    pd.testing.assert_series_equal(compute_need(no_col, {"imd_score": 1, "idaci_score": 0}),
                                   compute_need(areas, {"imd_score": 1}))


def test_constant_indicators_give_need_one_without_division_by_zero():
    areas = pd.DataFrame({"imd_score": [12.5] * 4, "cin_rate": [300.0] * 4,
                          "population": [10, 20, 30, 40]})
    for method in ("z", "rank"):
        need = compute_need(areas, {"imd_score": 1, "cin_rate": 1}, method)
        np.testing.assert_allclose(need, 1.0)


def test_zero_population_area_gets_need_but_no_weight():
    areas = pd.DataFrame({"imd_score": [10.0, 30.0, 90.0], "population": [1, 1, 0]})
    need = compute_need(areas, {"imd_score": 1})
    assert wmean(need, areas["population"]) == pytest.approx(1.0)
    assert need.iloc[2] > need.iloc[1] > need.iloc[0]


# --------------------------------------------------------------------------------------------
# Errors and weights
# --------------------------------------------------------------------------------------------


def test_parse_weights():
    assert parse_weights(None) == DEFAULT_WEIGHTS
    assert parse_weights("  ") == DEFAULT_WEIGHTS
    assert parse_weights("imd_score=1, cpp_rate=2.5") == {"imd_score": 1.0, "cpp_rate": 2.5}
    assert parse_weights("education_rank=1,") == {"education_rank": 1.0}
    with pytest.raises(InputError) as err:
        parse_weights("imd_scor=1")
    assert "unknown need indicator 'imd_scor'" in str(err.value)
    assert "did you mean 'imd_score'" in str(err.value)
    assert "cin_rate" in str(err.value) and "idaci_score" in str(err.value)
    with pytest.raises(InputError, match="weights must be zero or more"):
        parse_weights("imd_score=-1")
    with pytest.raises(InputError, match="every need weight is zero"):
        parse_weights("imd_score=0,cin_rate=0")
    with pytest.raises(InputError, match="not a number"):
        parse_weights("imd_score=high")
    with pytest.raises(InputError, match="not a name=number pair"):
        parse_weights("imd_score")
    with pytest.raises(InputError, match="given twice"):
        parse_weights("imd_score=1,imd_score=2")


def test_registry_directions():
    assert INDICATORS["imd_score"].direction == 1
    assert INDICATORS["education_rank"].direction == -1
    assert INDICATORS["imd_decile"].direction == -1
    assert set(DEFAULT_WEIGHTS) <= set(INDICATORS)


def test_compute_need_errors():
    areas = pd.DataFrame({"imd_score": [1.0, 2.0], "population": [1, 1]})
    with pytest.raises(InputError) as err:
        compute_need(areas, method="zscore")
    assert "unknown need method 'zscore'" in str(err.value) and "z, rank" in str(err.value)
    with pytest.raises(InputError) as err:
        compute_need(areas)  # cpp_rate etc. missing
    assert "'cpp_rate'" in str(err.value) and "available here: imd_score" in str(err.value)
    with pytest.raises(InputError, match="unknown need indicator"):
        compute_need(areas, {"deprivation": 1})
    with pytest.raises(InputError, match="no 'population' column"):
        compute_need(areas.drop(columns="population"), {"imd_score": 1})
    with pytest.raises(InputError, match="no value"):
        compute_need(areas.assign(imd_score=[1.0, np.nan]), {"imd_score": 1})
    with pytest.raises(InputError, match="adds up to zero"):
        compute_need(areas.assign(population=0), {"imd_score": 1})


# --------------------------------------------------------------------------------------------
# Localities: summary and sensitivity
# --------------------------------------------------------------------------------------------


def _toy_localities() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 40
    return pd.DataFrame({
        "locality": np.repeat(list("ABCDEFGH"), 5),
        "imd_score": rng.uniform(3, 60, n), "cin_rate": rng.uniform(50, 600, n),
        "cpp_rate": rng.uniform(0, 90, n), "under5_share": rng.uniform(0.03, 0.09, n),
        "population": rng.integers(30, 150, n), "pop_0_4": rng.integers(30, 150, n),
        "imd_decile": rng.integers(1, 11, n), "cin": rng.integers(0, 40, n),
        "cpp": rng.integers(0, 9, n),
        "cases_source": ["modelled"] * 35 + ["council"] * 5,
    })


def test_locality_summary_sums_equal_area_sums():
    areas = _toy_localities()
    areas["need"] = compute_need(areas)
    s = locality_summary(areas)
    assert s.columns.tolist() == ["locality", "areas", "population", "pop_0_4", "need_total",
                                  "need_index", "need_rank", "imd_mean", "share_decile_1",
                                  "share_deciles_1_2", "cin", "cpp", "cases_source"]
    for col in ("population", "pop_0_4", "cin", "cpp"):
        assert s[col].sum() == areas[col].sum()
    assert s["need_total"].sum() == pytest.approx((areas["population"] * areas["need"]).sum())
    a = areas[areas["locality"] == "A"]
    row = s.set_index("locality").loc["A"]
    assert row["need_index"] == pytest.approx(wmean(a["need"], a["population"]))
    assert row["imd_mean"] == pytest.approx(a["imd_score"].mean())
    assert row["share_deciles_1_2"] == pytest.approx((a["imd_decile"] <= 2).mean())
    assert sorted(s["need_rank"]) == list(range(1, 9))
    assert s.loc[s["need_rank"] == 1, "need_index"].item() == s["need_index"].max()
    assert s.set_index("locality").loc["H", "cases_source"] == "council"
    assert s.set_index("locality").loc["G", "cases_source"] == "modelled"


def test_locality_rank_ties_broken_by_name():
    areas = pd.DataFrame({"locality": ["Zeta", "Alpha", "Mid"], "population": [10, 10, 10],
                          "need": [1.2, 1.2, 0.6]})
    s = locality_summary(areas).set_index("locality")
    assert s["need_rank"].to_dict() == {"Alpha": 1, "Mid": 3, "Zeta": 2}


def test_sensitivity_deterministic_by_seed():
    areas = _toy_localities()
    a = weight_sensitivity(areas, draws=300, top_k=3, seed=5)
    b = weight_sensitivity(areas, draws=300, top_k=3, seed=5)
    pd.testing.assert_frame_equal(a, b)
    c = weight_sensitivity(areas, draws=300, top_k=3, seed=6)
    assert not a["top_k_share"].equals(c["top_k_share"])
    assert a["base_rank"].tolist() == list(range(1, 9))
    assert a["top_k_share"].sum() == pytest.approx(3.0)    # 3 localities in the top 3, always
    assert ((a["best_rank"] <= a["median_rank"]) & (a["median_rank"] <= a["worst_rank"])).all()
    summary = locality_summary(areas.assign(need=compute_need(areas)))
    merged = a.merge(summary, on="locality")
    assert (merged["base_rank"] == merged["need_rank"]).all()
    np.testing.assert_allclose(merged["base_need_index"], merged["need_index"])


@pytest.mark.parametrize("method", ["z", "rank"])
def test_sensitivity_with_one_indicator_never_moves(method):
    areas = _toy_localities()
    s = weight_sensitivity(areas, {"imd_score": 1}, method, draws=50, top_k=3)
    assert set(s["top_k_share"]) == {0.0, 1.0}
    assert (s["top_k_share"] == (s["base_rank"] <= 3)).all()
    assert (s["best_rank"] == s["base_rank"]).all() and (s["worst_rank"] == s["base_rank"]).all()


def test_sensitivity_two_opposite_indicators():
    # A leads on IMD, C on CIN; B sits in the middle of both and is never first.
    areas = pd.DataFrame({"locality": ["A", "B", "C"], "imd_score": [30.0, 20.0, 10.0],
                          "cin_rate": [10.0, 20.0, 30.0], "population": [1, 1, 1]})
    s = weight_sensitivity(areas, {"imd_score": 1, "cin_rate": 1}, draws=2000, top_k=1)
    share = s.set_index("locality")["top_k_share"]
    assert share["B"] == 0.0
    assert share["A"] + share["C"] == 1.0
    assert 0.45 < share["A"] < 0.55          # uniform weights: A wins when w_imd > w_cin


def test_a_bad_population_cell_is_quoted_as_written_not_as_a_python_repr():
    from optimiser.need import _population

    for cell, shown in ((np.nan, "blank"), ("x", "'x'"), (-2.0, "'-2.0'")):
        areas = pd.DataFrame({"children": [3.0, cell]}, index=["E01000001", "E01000002"])
        with pytest.raises(InputError) as err:
            _population(areas, "children")
        assert str(err.value) == (f"column 'children': area E01000002 has population {shown}\n"
                                  "  hint: populations must be numbers, zero or more")
