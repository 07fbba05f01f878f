"""Children in need / protection plans per area: modelled apportioning and council extracts."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
import shapely

from optimiser import loaders
from optimiser.cases import (
    la_totals,
    largest_remainder,
    modelled_cases,
    normalise_postcode,
    read_council_cases,
)
from optimiser.errors import DataSourceError, InputError
from optimiser.geography import load_boundaries
from optimiser.prepare import build_areas


@pytest.fixture(scope="module")
def oxon_areas(mirror, oxon):
    return build_areas(mirror, oxon)


@pytest.fixture(scope="module")
def oxon_bounds(oxon):
    return load_boundaries(oxon.lsoas)




# ------------------------------------------------------------------------------------------
# Largest remainder
# ------------------------------------------------------------------------------------------


def test_largest_remainder_sums_exactly_and_is_within_one_of_the_exact_share():
    rng = np.random.default_rng(1)
    for total in (0, 1, 7, 592, 4511):
        w = pd.Series(rng.random(407))
        got = largest_remainder(w, total)
        exact = w / w.sum() * total
        assert got.sum() == total
        assert ((got - exact).abs() < 1).all()
        assert (got >= 0).all()


def test_largest_remainder_matches_brute_force_on_small_cases():
    # Largest remainder (Hamilton's method) gives the floor/ceil rounding with sum T that
    # minimises the total deviation sum |n_i - q_i|, ties to earlier rows; check against
    # enumeration of every floor/ceil choice.
    rng = np.random.default_rng(7)
    cases = [([3, 2, 2], 5), ([1, 1, 1], 4), ([5, 0, 1, 1], 3), ([0.2, 0.7, 0.1], 9)]
    cases += [(rng.integers(0, 20, size=8).tolist(), int(rng.integers(0, 50))) for _ in range(30)]
    for w, total in cases:
        if sum(w) == 0:
            continue
        w = np.array(w, dtype=float)
        q = w / w.sum() * total
        best = None
        for ups in itertools.product([0, 1], repeat=len(w)):
            n = np.floor(q) + np.array(ups)
            if n.sum() != total:
                continue
            key = (round(float(np.abs(n - q).sum()), 9), [-u for u in ups])
            if best is None or key < best[0]:
                best = (key, n)
        assert largest_remainder(pd.Series(w), total).tolist() == best[1].astype(int).tolist()


def test_largest_remainder_ties_go_to_earlier_rows():
    assert largest_remainder(pd.Series([1.0, 1.0, 1.0, 1.0]), 2).tolist() == [1, 1, 0, 0]
    assert largest_remainder(pd.Series([0.0, 0.0]), 3).tolist() == [2, 1]


# ------------------------------------------------------------------------------------------
# Modelled
# ------------------------------------------------------------------------------------------


def test_modelled_oxfordshire_2019_sums_to_dfe(mirror, oxon, oxon_areas):
    cin, cpp = la_totals(loaders.load_la_cin_cpp(mirror), oxon.code, oxon.name, 2019)
    assert (cin, cpp) == (4511, 592)  # SOURCES.md: DfE at 31 March 2019
    cases = modelled_cases(oxon_areas, cin, cpp, year=2019, la_code=oxon.code)
    assert cases.source == "modelled"
    assert cases.counts["cin"].sum() == 4511 and cases.counts["cpp"].sum() == 592
    # proportional to children 0-17 x IDACI: the area with the largest weight gets the most
    weight = oxon_areas["pop_0_17"] * oxon_areas["idaci_score"]
    exact = weight / weight.sum() * 4511
    assert (cases.counts["cin"] - exact).abs().max() < 1
    assert cases.counts["cin"].iloc[int(weight.idxmax())] == cases.counts["cin"].max()


def test_modelled_other_year(mirror, oxon, oxon_areas):
    cin, cpp = la_totals(loaders.load_la_cin_cpp(mirror), oxon.code, oxon.name, 2020)
    assert (cin, cpp) == (4750, 543)  # SOURCES.md: 2020
    assert modelled_cases(oxon_areas, cin, cpp, year=2020, la_code=oxon.code).counts[
        "cpp"].sum() == 543


def test_la_without_dfe_row_says_so_and_suggests_cases(mirror):
    table = loaders.load_la_cin_cpp(mirror)
    # Dorset (E06000059) was created in April 2019: DfE has no row under that code for 2019.
    with pytest.raises(DataSourceError) as err:
        la_totals(table, "E06000059", "Dorset", 2019)
    assert "no row for Dorset (E06000059) at 31 March 2019" in err.value.problem
    assert "--cases" in err.value.hint and "--year" in err.value.hint


# ------------------------------------------------------------------------------------------
# Council extract: counts per LSOA
# ------------------------------------------------------------------------------------------


def test_counts_per_lsoa(tmp_path, mirror, oxon):
    path = tmp_path / "cases.csv"
    path.write_text("LSOA11CD,cin,cpp\nE01028568,12,3\nE01028422,0,0\nE01028570,5,1\n")
    cases = read_council_cases(path, list(oxon.lsoas), mirror, boundaries_loader=None)
    assert cases.source == "council"
    c = cases.counts.set_index("area_id")
    assert len(c) == 407
    assert c.loc["E01028568"].tolist() == [12, 3]
    assert c.loc["E01028570"].tolist() == [5, 1]
    assert c["cin"].sum() == 17 and c["cpp"].sum() == 4
    assert cases.info["areas_not_listed"] == 404


def test_counts_outside_la_is_an_error(tmp_path, mirror, oxon):
    path = tmp_path / "cases.csv"
    path.write_text("lsoa11cd,cin,cpp\nE01028568,1,1\nE01015693,2,0\n")  # the 2nd is Luton
    with pytest.raises(InputError, match="not in the chosen local authority") as err:
        read_council_cases(path, list(oxon.lsoas), mirror, boundaries_loader=None)
    assert err.value.row == 3 and err.value.column == "lsoa11cd"


# ------------------------------------------------------------------------------------------
# Council extract: one row per child with a postcode
# ------------------------------------------------------------------------------------------


def _brute_force_lsoa(bounds, x, y):
    hits = [a for a, g in zip(bounds["area_id"], bounds.geometry, strict=True)
            if g.covers(shapely.Point(x, y))]
    return min(hits) if hits else None


def test_per_child_postcodes_aggregate_by_point_in_polygon(tmp_path, mirror, oxon, oxon_bounds,
                                                           ox_postcodes):
    sample = ox_postcodes.iloc[:: len(ox_postcodes) // 40].head(40).reset_index(drop=True)
    cats = ["cin", "cpp", "cin", "cin"] * 10
    # written as people type them: lower case, no space or extra spaces
    written = [p.lower().replace(" ", "") if i % 3 == 0 else f" {p} " for i, p in
               enumerate(sample["pcd"])]
    path = tmp_path / "children.csv"
    pd.DataFrame({"child_ref": range(40), "postcode": written, "category": cats}).to_csv(
        path, index=False)
    cases = read_council_cases(path, list(oxon.lsoas), mirror,
                               boundaries_loader=lambda: oxon_bounds)
    expected = {}
    for (x, y), cat in zip(sample[["oseast1m", "osnrth1m"]].to_numpy(), cats, strict=True):
        area = _brute_force_lsoa(oxon_bounds, x, y)
        assert area is not None  # these postcodes are inside the generalised polygons
        cin, cpp = expected.get(area, (0, 0))
        expected[area] = (cin + 1, cpp + (cat == "cpp"))
    got = cases.counts.set_index("area_id")
    assert got["cin"].sum() == 40 and got["cpp"].sum() == cats.count("cpp")
    for area, (cin, cpp) in expected.items():
        assert got.loc[area].tolist() == [cin, cpp]
    assert (got.drop(index=list(expected))[["cin", "cpp"]] == 0).all().all()
    assert set(cases.counts.columns) == {"area_id", "cin", "cpp"}
    assert cases.info["placed_inside_boundary"] == 40


def test_per_child_flag_columns(tmp_path, mirror, oxon, oxon_bounds, ox_postcodes):
    pcs = ox_postcodes["pcd"].iloc[[100, 200, 300]].tolist()
    path = tmp_path / "children.csv"
    path.write_text("postcode,cin,cpp\n"
                    f"{pcs[0]},yes,no\n{pcs[1]},true,true\n{pcs[2]},1,0\n{pcs[0]},no,yes\n")
    cases = read_council_cases(path, list(oxon.lsoas), mirror,
                               boundaries_loader=lambda: oxon_bounds)
    # a child on a plan is a child in need too (as DfE counts them)
    assert cases.counts["cin"].sum() == 4 and cases.counts["cpp"].sum() == 2
    path.write_text(f"postcode,cin,cpp\n{pcs[0]},yes,no\n{pcs[1]},no,no\n")
    with pytest.raises(InputError, match="neither in need nor on a plan") as err:
        read_council_cases(path, list(oxon.lsoas), mirror, boundaries_loader=lambda: oxon_bounds)
    assert err.value.row == 3


def test_per_child_headers_as_a_spreadsheet_writes_them(tmp_path, mirror, oxon, oxon_bounds,
                                                        ox_postcodes):
    pcs = ox_postcodes["pcd"].iloc[[100, 200, 300]].tolist()
    rows = f"{pcs[0]},CIN\r\n{pcs[1]},CPP\r\n{pcs[2]}, cin \r\n"
    path = tmp_path / "children.csv"
    path.write_bytes(("\ufeffPostcode,Category\r\n" + rows).encode())
    cases = read_council_cases(path, list(oxon.lsoas), mirror,
                               boundaries_loader=lambda: oxon_bounds)
    assert cases.counts["cin"].sum() == 3 and cases.counts["cpp"].sum() == 1
    path.write_text(f"Postcode,CIN,CPP\n{pcs[0]},yes,no\n{pcs[1]},no,yes\n")
    cases = read_council_cases(path, list(oxon.lsoas), mirror,
                               boundaries_loader=lambda: oxon_bounds)
    assert cases.counts["cin"].sum() == 2 and cases.counts["cpp"].sum() == 1


def test_unknown_postcodes_listed_with_rows(tmp_path, mirror, oxon, oxon_bounds, ox_postcodes):
    known = set(ox_postcodes["pcd_abbr"])
    candidates = ["OX4 9ZZ", "OX1 0QQ", "OX3 9ZX", "OX2 9QZ", "OX5 9XQ", "OX7 9ZQ"]
    unknown = [u for u in candidates if normalise_postcode(pd.Series([u])).iloc[0]
               not in known][:2]
    assert len(unknown) == 2
    good = ox_postcodes["pcd"].iloc[10]
    path = tmp_path / "children.csv"
    path.write_text(f"postcode,category\n{good},cin\n{unknown[0]},cin\n{good},cpp\n"
                    f"{unknown[1]},cpp\n")
    with pytest.raises(InputError) as err:
        read_council_cases(path, list(oxon.lsoas), mirror, boundaries_loader=lambda: oxon_bounds)
    msg = err.value.message
    assert "2 postcode(s) are not in the ONS Postcode Directory" in msg
    assert f"row 3: {unknown[0]}" in msg and f"row 5: {unknown[1]}" in msg
    assert err.value.file == str(path) and err.value.column == "postcode"


def test_postcode_outside_la_is_an_error(tmp_path, mirror, oxon, oxon_bounds, ox_postcodes):
    path = tmp_path / "children.csv"
    path.write_text(f"postcode,category\n{ox_postcodes['pcd'].iloc[5]},cin\nLU1 1AA,cin\n")
    with pytest.raises(InputError, match=r"1 postcode\(s\) are outside the local authority: "
                       r"row 3: LU1 1AA"):
        read_council_cases(path, list(oxon.lsoas), mirror, boundaries_loader=lambda: oxon_bounds)


def test_bad_category(tmp_path, mirror, oxon, ox_postcodes):
    path = tmp_path / "children.csv"
    path.write_text(f"postcode,category\n{ox_postcodes['pcd'].iloc[5]},looked after\n")
    with pytest.raises(InputError, match="'looked after' is not cin or cpp") as err:
        read_council_cases(path, list(oxon.lsoas), mirror, boundaries_loader=None)
    assert (err.value.row, err.value.column) == (2, "category")


def test_suppressed_dfe_figure_names_its_table(mirror):
    # City of London's protection-plan count at 31 March 2019 is suppressed by DfE.
    with pytest.raises(DataSourceError) as err:
        la_totals(loaders.load_la_cin_cpp(mirror), "E09000001", "City of London", 2019)
    assert "child protection plans figure" in err.value.problem
    assert err.value.file == loaders.CPP_FILE and "--cases" in err.value.hint
