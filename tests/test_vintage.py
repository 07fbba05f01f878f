"""The 2025 data vintage (IoD 2025 on LSOA 2021) beside 2019, on the real mirror.

Known answers come from the mirror's ``vintage2025/SOURCES.md`` (33,755 English LSOAs 2021;
153 English upper-tier authorities; Oxfordshire 429 LSOAs 2021 with 39,523 children aged 0-4
in the re-cut mid-2019 population) and DfE's table B1/D5 (Oxfordshire at 31 March 2024: 3,862
children in need, 532 on protection plans).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimiser import crosswalk, loaders2025
from optimiser.cli import app
from optimiser.errors import InputError
from optimiser.geography import resolve_la
from optimiser.vintage import DEFAULT_VINTAGE, get_vintage

REPO = Path(__file__).resolve().parents[1]
OXON = "E10000025"
UNITARIES_2023 = {"Cumberland": "E06000063", "Westmorland and Furness": "E06000064",
                  "North Yorkshire": "E06000065", "Somerset": "E06000066"}


def _cli(*args) -> tuple[int, str]:
    result = CliRunner().invoke(app, [*map(str, args)])
    return result.exit_code, result.output


# --------------------------------------------------------------------------------------------
# Tables
# --------------------------------------------------------------------------------------------


def test_default_vintage_is_2025_and_unknown_vintage_is_one_clear_error():
    assert DEFAULT_VINTAGE == "2025" and get_vintage(None).geography == "LSOA 2021"
    with pytest.raises(InputError) as err:
        get_vintage("2021")
    assert err.value.message == ("--vintage '2021' is not a data vintage\n  hint: use 2025 (IoD "
                                 "2025 on LSOA 2021, the default) or 2019 (IMD 2019 on LSOA "
                                 "2011)")


def test_iod2025_tables_have_every_english_lsoa_2021(mirror):
    imd = loaders2025.load_imd(mirror)
    assert len(imd) == imd["lsoa21cd"].nunique() == 33_755
    assert imd["imd_rank"].min() == 1 and imd["imd_rank"].max() == 33_755
    first = imd.set_index("lsoa21cd").loc["E01000001"]
    assert (first["imd_score"], first["imd_rank"], first["idaci_rank"],
            first["idaci_decile"]) == (8.742, 26525, 33304, 10)
    assert imd["idaci_score"].isna().all()  # not in the mirror: File 3 has ranks only


def test_upper_tier_2023_lookup_has_153_english_authorities(mirror):
    utla = loaders2025.load_utla_lookup(mirror)
    english = utla[utla["lsoa21cd"].str.startswith("E")]
    assert len(english) == 33_755 and english["utla_code"].nunique() == 153
    assert set(UNITARIES_2023.values()) <= set(english["utla_code"])
    assert len(utla) == 35_672


def test_rural_2021_classes(mirror):
    ruc = loaders2025.load_rural_urban(mirror)
    england = ruc[ruc["lsoa21cd"].str.startswith("E")]
    assert england["ruc_code"].value_counts().to_dict() == {
        "UN1": 26_199, "RLN1": 2_038, "UF1": 2_002, "RSN1": 1_684, "RSF1": 983, "RLF1": 849}
    assert int(england["rural"].sum()) == 2_038 + 849 + 1_684 + 983


def test_weights_share_every_lsoa_2011(mirror):
    w = loaders2025.load_lsoa11_to_21_weights(mirror)
    assert len(w) == 35_795
    assert np.allclose(w.groupby("lsoa11cd")["weight"].sum(), 1, atol=1e-5)
    assert w["change_code"].value_counts().to_dict() == {"U": 33_647, "S": 1_900, "M": 239,
                                                         "X": 9}


# --------------------------------------------------------------------------------------------
# prepare on 2025 (acceptance) and 2019 unchanged
# --------------------------------------------------------------------------------------------


def test_oxfordshire_2025_acceptance(prepared):
    out = prepared("Oxfordshire", "0-4", vintage="2025")
    areas = pd.read_csv(out / "areas.csv")
    meta = json.loads((out / "prepare.json").read_text())
    assert len(areas) == 429 and int(areas["population"].sum()) == 39_523
    assert np.isclose(np.average(areas["need"], weights=areas["population"]), 1, atol=1e-6)
    assert (int(areas["cin"].sum()), int(areas["cpp"].sum())) == (3_862, 532)
    assert meta["cases"]["year"] == 2024 and meta["cases"]["rate"] == "income_score"
    assert "Income domain score (stand-in for the IDACI score)" in meta["cases"]["method"]
    assert meta["vintage"]["key"] == "2025" and meta["vintage"]["geography"] == "LSOA 2021"
    assert meta["vintage"]["population"] == ("ONS mid-2019 (LSOA 2011) re-cut to LSOA 2021 "
                                             "(derived)")
    assert meta["vintage"]["caveats"][0].startswith("population: ONS mid-2019 estimates")
    assert meta["notes"][0] == loaders2025.POPULATION_RECUT_NOTE
    assert set(areas["population_estimate"]) == {meta["vintage"]["population"]}
    localities = pd.read_csv(out / "localities.csv")
    assert set(localities["population_estimate"]) == {meta["vintage"]["population"]}
    assert meta["boundaries"]["vintage"] == "LSOA 2021"
    assert {s["file"] for s in meta["sources"]} >= {loaders2025.IMD_FILE,
                                                     loaders2025.POPULATION_RECUT_FILE}
    # E01027305 (West Northamptonshire in 2011, Cherwell in 2024) has a locality.
    row = areas.set_index("area_id").loc["E01027305"]
    assert (row["lad_name"], row["locality"]) == ("Cherwell", "Banbury")
    assert areas["locality"].nunique() == 17


def test_oxfordshire_2019_is_pinned_and_unchanged(prepared):
    out = prepared("Oxfordshire", "0-4", vintage="2019")
    areas = pd.read_csv(out / "areas.csv")
    meta = json.loads((out / "prepare.json").read_text())
    assert len(areas) == 407 and int(areas["population"].sum()) == 39_432
    assert meta["cases"]["year"] == 2019 and (meta["cases"]["dfe_cin"],
                                              meta["cases"]["dfe_cpp"]) == (4_511, 592)
    assert meta["vintage"]["key"] == "2019" and "population_estimate" not in areas.columns


@pytest.mark.parametrize("la", ["Cumberland", "Westmorland and Furness"])
def test_2023_unitaries_prepare_with_the_lookups_area_count(prepared, mirror, la):
    out = prepared(la, "0-4", vintage="2025")
    areas = pd.read_csv(out / "areas.csv")
    utla = loaders2025.load_utla_lookup(mirror)
    expected = int((utla["utla_code"] == UNITARIES_2023[la]).sum())
    assert len(areas) == expected > 100
    meta = json.loads((out / "prepare.json").read_text())
    assert meta["la"] == {"code": UNITARIES_2023[la], "name": la}
    assert meta["cases"]["year"] == 2024


def test_2023_unitaries_are_not_in_2019(mirror):
    with pytest.raises(InputError, match="--la 'E06000065' is not an upper-tier local "
                                         "authority"):
        resolve_la("E06000065", get_vintage("2019").load_utla_lookup(mirror))
    old = resolve_la("North Yorkshire", get_vintage("2019").load_utla_lookup(mirror))
    new = resolve_la("North Yorkshire", get_vintage("2025").load_utla_lookup(mirror))
    assert (old.code, new.code) == ("E10000023", "E06000065")
    assert len(new.lsoas) == int((get_vintage("2025").load_utla_lookup(mirror)["utla_code"]
                                  == "E06000065").sum()) > 300


def test_cli_vintage_2019_prints_todays_figures(mirror, tmp_path):
    code, out = _cli("prepare", "--la", "Rutland", "--vintage", "2019", "--out",
                     tmp_path / "r19", "--mirror", mirror)
    assert code == 0, out
    assert "Data: IMD 2019 on LSOA 2011" in out
    code, out = _cli("prepare", "--la", "Rutland", "--out", tmp_path / "r25", "--mirror", mirror)
    assert code == 0, out
    assert "Data: IoD 2025 on LSOA 2021" in out
    code, out = _cli("prepare", "--la", "Rutland", "--vintage", "2011", "--out",
                     tmp_path / "x", "--mirror", mirror)
    assert code == 2 and "--vintage '2011' is not a data vintage" in out
    assert not (tmp_path / "x").exists()


def test_2011_boundaries_on_2025_are_refused(mirror, tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    path = tmp_path / "b.gpkg"
    gpd.GeoDataFrame({"LSOA11CD": ["E01013434"]}, geometry=[box(0, 0, 1, 1)],
                     crs="EPSG:27700").to_file(path)
    code, out = _cli("prepare", "--la", "Rutland", "--boundaries", path, "--out",
                     tmp_path / "o", "--mirror", mirror)
    assert code == 2
    assert "the boundaries are LSOA 2011 (column 'LSOA11CD'), but IoD 2025 uses LSOA 2021" in out


# --------------------------------------------------------------------------------------------
# The council's files across vintages
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def oxon_split(mirror):
    """An Oxfordshire LSOA 2011 that was split, its 2021 parts and their weights."""
    w = loaders2025.load_lsoa11_to_21_weights(mirror)
    ox11 = pd.read_csv(REPO / "data" / "localities" / "oxfordshire.csv")["lsoa11cd"]
    split = w[(w["change_code"] == "S") & w["lsoa11cd"].isin(set(ox11))]
    parent = sorted(split["lsoa11cd"])[0]
    return parent, split[split["lsoa11cd"] == parent].sort_values("lsoa21cd"), list(ox11)


def test_cases_on_lsoa_2011_are_carried_to_2021(mirror, tmp_path, oxon_split):
    parent, parts, ox11 = oxon_split
    cases = pd.DataFrame({"lsoa11cd": ox11, "cin": 0, "cpp": 0})
    cases.loc[cases["lsoa11cd"] == parent, ["cin", "cpp"]] = [101, 7]
    cases.loc[cases["lsoa11cd"] == ox11[0], ["cin", "cpp"]] = [3, 1]
    path = tmp_path / "cases.csv"
    cases.to_csv(path, index=False)
    from optimiser.prepare import PrepareSettings, prepare_instance

    prepare_instance(PrepareSettings(la="Oxfordshire", mirror=mirror, cases=path,
                                     vintage="2025"), tmp_path / "out")
    areas = pd.read_csv(tmp_path / "out" / "areas.csv").set_index("area_id")
    meta = json.loads((tmp_path / "out" / "prepare.json").read_text())
    assert (int(areas["cin"].sum()), int(areas["cpp"].sum())) == (104, 8)
    got = areas.loc[parts["lsoa21cd"], "cin"].tolist()
    expected = crosswalk.share_whole(parts["weight"].reset_index(drop=True), 101).tolist()
    assert got == expected and sum(got) == 101 and len(got) >= 2
    carried = meta["cases"]["carried_across"]
    w = loaders2025.load_lsoa11_to_21_weights(mirror)
    n_split = w.loc[w["lsoa11cd"].isin(set(ox11)) & w["lsoa11cd"].duplicated(keep=False),
                    "lsoa11cd"].nunique()
    assert carried["from"] == "LSOA 2011" and carried["lsoa11_split"] == n_split == 19
    assert any(n.startswith("the cases file is on LSOA 2011 codes: it was carried to LSOA "
                            "2021") for n in meta["notes"])
    assert loaders2025.WEIGHTS_FILE in {s["file"] for s in meta["sources"]}


def test_mixed_vintages_in_a_cases_file_is_one_clear_error(mirror, tmp_path, oxon_split):
    parent, parts, ox11 = oxon_split
    child = parts["lsoa21cd"].iloc[0]
    cases = pd.DataFrame({"lsoa11cd": [ox11[0], parent, child], "cin": [1, 2, 3],
                          "cpp": [0, 0, 0]})
    path = tmp_path / "mixed.csv"
    cases.to_csv(path, index=False)
    code, out = _cli("prepare", "--la", "Oxfordshire", "--cases", path, "--out",
                     tmp_path / "o", "--mirror", mirror)
    assert code == 2
    flat = " ".join(out.split())
    assert (f"the file mixes the two LSOA vintages: 1 of 3 LSOA codes are LSOA 2011 codes that "
            f"are not LSOA 2021 codes (e.g. {parent}) and 1 are LSOA 2021 codes that are not "
            f"LSOA 2011 codes (e.g. {child})") in flat
    assert "row 4" in flat and not (tmp_path / "o").exists()


def test_codes_of_neither_vintage_and_outside_the_la(mirror, tmp_path):
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"lsoa11cd": ["E01028568", "E01999999"], "cin": [1, 1],
                  "cpp": [0, 0]}).to_csv(bad, index=False)
    with pytest.raises(InputError, match=r"1 of 2 LSOA codes are neither LSOA 2021 codes \(IoD "
                                         r"2025\) nor LSOA 2011 codes \(IMD 2019\): E01999999"):
        crosswalk.classify_codes(pd.read_csv(bad)["lsoa11cd"], mirror, file=bad,
                                 column="lsoa11cd")
    with pytest.raises(InputError, match=r"1 LSOA code\(s\) are not in the chosen local "
                                         r"authority: E01000001"):
        crosswalk.check_in_la(pd.Series(["E01028568", "E01000001"]), {"E01028568"}, file=bad,
                              column="lsoa11cd")


def test_a_2011_locality_lookup_missing_a_2021_area_names_it(mirror, tmp_path):
    code, out = _cli("prepare", "--la", "Oxfordshire", "--localities",
                     REPO / "data" / "localities" / "oxfordshire.csv", "--out", tmp_path / "o",
                     "--mirror", mirror)
    assert code == 2
    flat = " ".join(out.split())
    assert ("1 of 429 areas (LSOA 2021) of Oxfordshire have no locality after the lookup's "
            "LSOA 2011 codes were carried to LSOA 2021: E01027305") in flat


def test_carried_locality_lookup_round_trip(mirror):
    from optimiser.localities import read_locality_lookup

    table = read_locality_lookup(REPO / "data" / "localities" / "oxfordshire.csv")
    carried, info = crosswalk.carry_localities(table, mirror)
    assert len(carried) == info["lsoa21_codes"] == 428  # the 428 children of 407 LSOAs 2011
    shipped = pd.read_csv(REPO / "data" / "localities" / "oxfordshire_lsoa21.csv")
    assert len(shipped) == 429 and shipped["lsoa21cd"].is_unique
    merged = shipped.merge(carried, on="lsoa21cd", suffixes=("", "_carried"))
    assert len(merged) == 428 and (merged["locality"] == merged["locality_carried"]).all()
    assert shipped.loc[shipped["how"] == "nearest town", "lsoa21cd"].tolist() == ["E01027305"]


# --------------------------------------------------------------------------------------------
# The pack and the workbook name the vintage
# --------------------------------------------------------------------------------------------


def test_vintage_rows_for_the_notes(prepared):
    from optimiser.report.pack import vintage_rows

    meta = json.loads((prepared("Oxfordshire", "0-4", vintage="2025") / "prepare.json")
                      .read_text())
    rows = vintage_rows(meta)
    assert rows[0] == ("Data vintage", "IoD 2025 on LSOA 2021: English Indices of Deprivation "
                       "2025, LSOA 2021 areas, upper-tier authorities of 2023; population ONS "
                       "mid-2019 (LSOA 2011) re-cut to LSOA 2021 (derived).")
    assert [h for h, _t in rows[1:]] == ["Caveat"] * len(meta["vintage"]["caveats"])
    assert "Income domain score" in rows[2][1]


def test_idaci_score_weight_without_file7_is_one_clear_error(mirror, tmp_path):
    code, out = _cli("prepare", "--la", "Rutland", "--weights", "idaci_score=1,imd_score=1",
                     "--out", tmp_path / "o", "--mirror", mirror)
    assert code == 2
    flat = " ".join(out.split())
    assert ("need indicator 'idaci_score' is not in the IoD 2025 on LSOA 2021 tables of the data "
            "folder hint: IoD 2025 publishes the IDACI score only in File 7: use idaci_rank or "
            "idaci_decile (or income_score)") in flat
    code, out = _cli("prepare", "--la", "Rutland", "--weights", "idaci_rank=1,imd_score=1",
                     "--out", tmp_path / "ok", "--mirror", mirror)
    assert code == 0, out
    assert "idaci_rank" in pd.read_csv(tmp_path / "ok" / "areas.csv").columns


@pytest.mark.slow
def test_2023_unitary_prepare_solve_report(prepared, tmp_path):
    """Westmorland and Furness (a 2023 unitary) end to end on the 2025 vintage: the map draws
    every LSOA 2021 from the mirror's boundaries, and the pack names the vintage."""
    import yaml

    from optimiser.report import build_pack
    from optimiser.solve import run_solve

    instance = prepared("Westmorland and Furness", "0-4", vintage="2025")
    scenario = yaml.safe_load((REPO / "scenarios" / "oxfordshire" / "base.yaml").read_text())
    scenario.update(instance=str(instance), budget=3_000_000, name="wf-3m")
    scenario["solver"]["time_limit_s"] = 30
    (tmp_path / "wf.yaml").write_text(yaml.safe_dump(scenario))
    run_solve(tmp_path / "wf.yaml", tmp_path / "solved")
    build_pack(tmp_path / "solved", tmp_path / "pack")
    meta = json.loads((tmp_path / "pack" / "pack.json").read_text())
    areas = pd.read_csv(instance / "areas.csv")
    assert meta["area_polygons"] == len(areas) == 142
    assert meta["areas_drawn_as_circles"] is False
    index = " ".join((tmp_path / "pack" / "index.html").read_text().split())
    assert "This plan uses the English Indices of Deprivation 2025 (IoD 2025 on LSOA 2021)" in index
    assert "IMD 2025 decile" in (tmp_path / "pack" / "charts" / "reach_by_imd_decile.svg"
                                 ).read_text()


def test_welsh_authority_on_2025_is_refused(mirror, tmp_path):
    code, out = _cli("prepare", "--la", "Cardiff", "--out", tmp_path / "o", "--mirror", mirror)
    assert code == 2
    flat = " ".join(out.split())
    n = int((loaders2025.load_utla_lookup(mirror)["utla_code"] == "W06000015").sum())
    assert f"Cardiff (W06000015): {n} of its {n} LSOAs are not in IoD 2025" in flat
    assert "IoD 2025 covers England only" in flat


def test_per_child_postcodes_are_placed_in_lsoa_2021(mirror, tmp_path, ox_postcodes):
    """One row per child: postcodes go to the LSOA 2021 whose (mirror) boundary holds them."""
    import geopandas as gpd

    from optimiser.cases import read_council_cases
    from optimiser.geography import load_boundaries

    picked = ox_postcodes.iloc[[0, 500, 1000, 1500, 2000]]
    path = tmp_path / "children.csv"
    pd.DataFrame({"postcode": picked["pcd"].to_numpy(),
                  "category": ["cin", "cpp", "cin", "cin", "cpp"]}).to_csv(path, index=False)
    la = resolve_la("Oxfordshire", loaders2025.load_utla_lookup(mirror))
    bounds = load_boundaries(list(la.lsoas), loaders2025.boundaries_file(mirror),
                             geography="LSOA 2021")
    cases = read_council_cases(path, list(la.lsoas), mirror, boundaries_loader=lambda: bounds,
                               vintage="2025")
    counts = cases.counts.set_index("area_id")
    assert (int(counts["cin"].sum()), int(counts["cpp"].sum())) == (5, 2)
    pts = gpd.GeoSeries(gpd.points_from_xy(picked["oseast1m"], picked["osnrth1m"]),
                        crs="EPSG:27700")
    hit = gpd.sjoin(gpd.GeoDataFrame(geometry=pts), bounds, predicate="within")
    assert set(hit["area_id"]) <= set(counts.index[counts["cin"] > 0])
