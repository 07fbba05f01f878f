"""Converters of the 2025 vintage on small files in the official layouts, and fetch by vintage.

The layouts: ONS ``sapelsoasyoa20222024.xlsx`` (sheets ``Mid-YYYY LSOA 2021``, three title rows,
header on row 4: ``LAD 2023 Code, LAD 2023 Name, LSOA 2021 Code, LSOA 2021 Name, Total,
F0 … F90, M0 … M90``); IoD 2025 File 7 (published headers); ONS Open Geography lookups.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from optimiser import convert2025, loaders2025
from optimiser.errors import InputError

SEXES = [f"{s}{a}" for s in ("F", "M") for a in range(91)]
HEADER = ["LAD 2023 Code", "LAD 2023 Name", "LSOA 2021 Code", "LSOA 2021 Name", "Total", *SEXES]


def _sape_row(lad: str, code: str, name: str, seed: int) -> list:
    rng = np.random.default_rng(seed)
    cells = rng.integers(0, 15, size=len(SEXES)).tolist()
    return [lad, "Somewhere", code, name, int(sum(cells)), *cells]


def write_sape(path: Path, years=(2022, 2023), rows=None, total_off: bool = False) -> dict:
    """A workbook in the ONS layout; returns the rows of the latest year's sheet."""
    wb = openpyxl.Workbook()
    wb.active.title = "Cover_sheet"
    wb.active["A1"] = "Lower layer Super Output Area population estimates"
    latest = {}
    for y in years:
        ws = wb.create_sheet(f"Mid-{y} LSOA 2021")
        ws.append([f"Mid-{y} population estimates for Lower layer Super Output Areas"])
        ws.append(["This worksheet contains one table."])
        ws.append(["Source: Office for National Statistics"])
        ws.append(HEADER)
        data = rows or [_sape_row("E06000017", "E01013434", "Rutland 001A", y),
                        _sape_row("E06000017", "E01013433", "Rutland 001B", y + 1),
                        _sape_row("W06000001", "W01000001", "Isle of Anglesey 001A", y + 2)]
        for r in data:
            ws.append(list(r))
        latest = {r[2]: r for r in data}
    if total_off:
        ws.cell(row=5, column=5).value = ws.cell(row=5, column=5).value + 1
    wb.save(path)
    return latest


def test_population_from_sape21_latest_sheet_persons_england(tmp_path):
    path = tmp_path / "sapelsoasyoa20222024.xlsx"
    rows = write_sape(path)
    df = convert2025.population_from_sape21(path)
    assert df["lsoa21cd"].tolist() == ["E01013433", "E01013434"]  # English, sorted
    assert set(df["mid_year"]) == {2023}
    r = rows["E01013434"]
    got = df.set_index("lsoa21cd").loc["E01013434"]
    f = dict(zip(HEADER, r, strict=True))
    assert got["total"] == f["Total"]
    for a in (0, 4, 19):
        assert got[f"age_{a}"] == f[f"F{a}"] + f[f"M{a}"]
    assert got["age_0_4"] == sum(f[f"F{a}"] + f[f"M{a}"] for a in range(5))
    assert got["age_0_17"] == sum(f[f"F{a}"] + f[f"M{a}"] for a in range(18))
    assert list(df.columns[:4]) == ["lsoa21cd", "lsoa21nm", "mid_year", "total"]


def test_population_from_sape21_round_trip_through_the_loader(tmp_path):
    write_sape(tmp_path / "s.xlsx")
    root = tmp_path / "root"
    out = root / loaders2025.POPULATION_ONS_FILE
    out.parent.mkdir(parents=True)
    convert2025.population_from_sape21(tmp_path / "s.xlsx").to_csv(out, index=False)
    table, info = loaders2025.load_population(root)
    assert len(table) == 2 and info["derived"] is False
    assert info["estimate"] == "ONS mid-2023, LSOA 2021"


def test_population_from_sape21_errors(tmp_path):
    path = tmp_path / "bad.xlsx"
    write_sape(path, total_off=True)
    with pytest.raises(InputError, match=r"Total is \d+ but F0-F90 and M0-M90 add up to \d+ "
                                         r"for E01013434"):
        convert2025.population_from_sape21(path)
    old = tmp_path / "old.xlsx"
    write_sape(old, years=(2020, 2021))
    with pytest.raises(InputError, match="the latest sheet is 'Mid-2021 LSOA 2021': estimates "
                                         "before mid-2022 are not used"):
        convert2025.population_from_sape21(old)
    none = tmp_path / "none.xlsx"
    openpyxl.Workbook().save(none)
    with pytest.raises(InputError, match="the workbook has no sheet 'Mid-YYYY LSOA 2021'"):
        convert2025.population_from_sape21(none)
    short = tmp_path / "short.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "Mid-2024 LSOA 2021"
    ws.append(["title"])
    ws.append(HEADER[:-1])  # M90 missing
    wb.save(short)
    with pytest.raises(InputError, match="the official column 'M90' is missing"):
        convert2025.population_from_sape21(short)


def _file7(path: Path, codes: list[str]) -> None:
    cols = ["LSOA code (2021)", "LSOA name (2021)", "Local Authority District code (2024)",
            "Local Authority District name (2024)"]
    for _stem, (name, score) in convert2025.FILE7_DOMAINS.items():
        cols += [name + score, name + convert2025._RANK, name + convert2025._DECILE]
    rows = []
    for i, code in enumerate(codes):
        row = [code, f"Area {i}", "E06000017", "Rutland"]
        for j in range(len(convert2025.FILE7_DOMAINS)):
            row += [f"{0.1 * (i + j):.3f}", str(i + 1), str(1 + (i + j) % 10)]
        rows.append(row)
    pd.DataFrame(rows, columns=cols).to_csv(path, index=False)


def test_iod2025_from_file7_round_trip(tmp_path):
    path = tmp_path / "File_7.csv"
    _file7(path, ["E01013434", "E01000001", "W01000001"])
    main, file3 = convert2025.iod2025_from_file7(path)
    assert main["lsoa21_code"].tolist() == ["E01000001", "E01013434"]
    assert main.loc[0, "IMD_rank"] == 2 and main.loc[0, "IDACI_score"] == pytest.approx(0.9)
    root = tmp_path / "root"
    for rel, df in ((loaders2025.IMD_FILE, main), (loaders2025.FILE3, file3)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        df.to_csv(root / rel, index=False)
    imd = loaders2025.load_imd(root).set_index("lsoa21cd")
    assert imd.loc["E01013434", "idaci_score"] == pytest.approx(0.8)
    assert imd.loc["E01013434", "idaci_rank"] == 1
    assert imd.loc["E01000001", "barriers_score"] == pytest.approx(0.7)


def test_ons_lookups_and_weights(tmp_path):
    ward = tmp_path / "LSOA21_WD24_LAD24_EW_LU.csv"
    pd.DataFrame({"LSOA21CD": ["E01013434"], "LSOA21NM": ["Rutland 001A"],
                  "WD24CD": ["E05010000"], "WD24NM": ["Oakham North"], "LAD24CD": ["E06000017"],
                  "LAD24NM": ["Rutland"], "ObjectId": [1]}).to_csv(ward, index=False)
    df = convert2025.ons_lookup21(ward, convert2025.WARD24_COLUMNS)
    assert df.columns.tolist() == ["lsoa21_name", "lsoa21_code", "ward24_name", "ward24_code",
                                   "ltla24_name", "ltla24_code"]
    changes = pd.DataFrame({"lsoa11_code": ["E1", "E2", "E2", "E3", "E4"],
                            "lsoa21_code": ["A", "B", "C", "D", "D"],
                            "change_code": ["U", "S", "S", "M", "M"]})
    w = convert2025.weights_from_changes(changes)
    assert w["weight"].tolist() == [1.0, 0.5, 0.5, 1.0, 1.0]
    with pytest.raises(InputError, match="the official column 'WD23CD' is missing"):
        convert2025.ons_lookup21(ward, {"lsoa21_code": "LSOA21CD", "ward23_code": "WD23CD"})


def test_fetch_by_vintage_keeps_the_other_vintages_tables(tmp_path):
    """A 2025 fetch from files saved by hand in the cache writes the 2025 tables and keeps the
    2019 tables already cached, with their provenance."""
    from optimiser.sources import Source, fetch_all

    cache = tmp_path / "cache"
    official = cache / "official"
    official.mkdir(parents=True)
    pd.DataFrame({"LSOA11CD": ["E01013434"], "LSOA11NM": ["Rutland 001A"], "RUC11CD": ["D1"],
                  "RUC11": ["Rural town and fringe"]}).to_csv(official / "ruc11.csv", index=False)
    write_sape(official / "sape.xlsx")
    src = Source(id="ons_sape_lsoa21", title="t", publisher="ONS", landing_page="l", url="",
                 filename="sape.xlsx", format="f", vintage="v", converter="ons_sape_lsoa21",
                 canonical=(loaders2025.POPULATION_ONS_FILE,), vintages=("2025",))
    old = Source(id="ons_ruc11", title="t", publisher="ONS", landing_page="l", url="",
                 filename="ruc11.csv", format="f", vintage="v", converter="ons_ruc11",
                 canonical=("lookups/lsoa11_rural_urban_classification_2011_ew.csv",))
    first = fetch_all(manifest=[src, old], cache=cache, progress=False, vintage="2019")
    ruc = (first / old.canonical[0]).read_bytes()
    assert not (first / src.canonical[0]).exists()
    root = fetch_all(manifest=[src, old], cache=cache, progress=False, vintage="2025")
    assert (root / src.canonical[0]).is_file()
    assert (root / old.canonical[0]).read_bytes() == ruc  # the 2019 table is kept
    ids = [s["id"] for s in json.loads((root / "FETCHED.json").read_text())["sources"]]
    assert ids == ["ons_ruc11", "ons_sape_lsoa21"]


def test_manifest_2025_entries_are_complete_and_honest(mirror):
    import re

    from optimiser.sources import load_manifest, required_tables, verify_mirror
    from optimiser.sources2025 import for_vintage

    sources = [s for s in load_manifest() if "2025" in s.vintages]
    assert [s.id for s in sources] == [
        "iod2025_file7", "ons_sape_lsoa21", "ons_lsoa21_ward24", "ons_ltla23_utla23",
        "ons_ruc21", "ons_lsoa11_lsoa21_v2025", "ons_lsoa21_pwc", "ons_lsoa21_boundaries"]
    produced = {rel for s in sources for rel in s.canonical}
    assert produced == {loaders2025.IMD_FILE, loaders2025.FILE3, loaders2025.POPULATION_ONS_FILE,
                        loaders2025.WARD_FILE, loaders2025.UTLA_FILE, loaders2025.RUC_FILE,
                        loaders2025.LSOA11_21_FILE, loaders2025.WEIGHTS_FILE,
                        loaders2025.CENTROIDS_FILE, loaders2025.BOUNDARIES_FILE}
    sources_md = (mirror / "vintage2025" / "SOURCES.md").read_text()
    for s in sources:
        assert s.licence == "Open Government Licence v3.0"
        assert s.landing_page.startswith("https://")
        assert s.url.startswith("https://")  # every 2025 source has a direct address
        for rel, digest in s.sha256_canonical.items():
            assert rel in s.canonical and re.fullmatch(r"[0-9a-f]{64}", digest)
            assert digest in sources_md  # copied from the mirror's SOURCES.md, never made up
    shared = {s.id for s in for_vintage(load_manifest(), "2025")} - {s.id for s in sources}
    assert shared == {"dfe_cin_b1", "dfe_cpp_d5", "dfe_ons_population_0_17"}
    checks = verify_mirror(mirror, vintage="2025")
    # The mirror holds no ONS LSOA 2021 estimates: its re-cut mid-2019 table stands in for them.
    assert {c.status for c in checks} == {
        "checksum ok", "present (no checksum recorded)",
        f"absent (derived {loaders2025.POPULATION_RECUT_FILE} stands in)"}
    # A download has no such stand-in: it needs the ONS estimates.
    assert loaders2025.POPULATION_ONS_FILE in required_tables(sources)


def test_a_mirror_without_the_population_or_its_stand_in_is_refused(mirror, tmp_path):
    import shutil

    from optimiser.errors import DataSourceError
    from optimiser.sources import verify_mirror

    copy = tmp_path / "mirror"
    shutil.copytree(mirror / "vintage2025", copy / "vintage2025")
    shutil.copytree(mirror / "children_in_need", copy / "children_in_need")
    (copy / loaders2025.POPULATION_RECUT_FILE).unlink()
    with pytest.raises(DataSourceError, match="1 canonical table\\(s\\) are missing from the "
                                              "mirror: vintage2025/population/"):
        verify_mirror(copy, vintage="2025")


def test_no_lsoa_2021_population_names_both_files(tmp_path):
    from optimiser.errors import DataSourceError

    with pytest.raises(DataSourceError, match="the data folder holds no LSOA 2021 population: "
                                              "neither the ONS estimates"):
        loaders2025.load_population(tmp_path)


# --------------------------------------------------------------------------------------------
# The layouts the ONS services and portals give (data/sources.toml says where each was
# confirmed): a converter reads the FeatureServer's fields and the portal CSV's alike.
# --------------------------------------------------------------------------------------------


def test_change_coded_lookup_from_the_service_and_the_portal_csv(tmp_path):
    service = ("F_LSOA11CD,LSOA11NM,CHGIND,LSOA21CD,LSOA21NM,LAD22CD,LAD22NM,ObjectId\n"
               "E01028424,Oxford 001A,S,E01035737,Oxford 001F,E07000178,Oxford,2\n"
               "E01028424,Oxford 001A,S,E01028424,Oxford 001A,E07000178,Oxford,1\n"
               "E01028425,Oxford 001B,U,E01028425,Oxford 001B,E07000178,Oxford,3\n")
    portal = service.replace("F_LSOA11CD", "LSOA11CD")
    (tmp_path / "s.csv").write_text(service)
    (tmp_path / "p.csv").write_text("\ufeff" + portal)  # the portal's CSV starts with a BOM
    a = convert2025.ons_lookup21(tmp_path / "s.csv", convert2025.CHANGES_COLUMNS)
    b = convert2025.ons_lookup21(tmp_path / "p.csv", convert2025.CHANGES_COLUMNS)
    assert a.to_dict("records") == b.to_dict("records")
    assert a.columns.tolist() == ["lsoa11_name", "lsoa11_code", "change_code", "lsoa21_name",
                                  "lsoa21_code", "ltla22_name", "ltla22_code"]
    w = convert2025.weights_from_changes(a)
    assert w.set_index("lsoa21_code")["weight"].to_dict() == {
        "E01028424": 0.5, "E01035737": 0.5, "E01028425": 1.0}


def test_ruc21_from_the_service_fields(tmp_path):
    path = tmp_path / "LSOA21_RUC21_EW_LU.csv"
    path.write_text("LSOA21CD,RUC21CD,RUC21NM,Urban_rural_flag,ObjectId\n"
                    "E01028424,UN1,Urban: Nearer to a major town or city,Urban,1\n"
                    "E01028600,RSF1,Smaller rural: Further from a major town or city,Rural,2\n")
    df = convert2025.ons_lookup21(path, convert2025.RUC21_COLUMNS)
    root = tmp_path / "root"
    (root / loaders2025.RUC_FILE).parent.mkdir(parents=True)
    df.to_csv(root / loaders2025.RUC_FILE, index=False)
    ruc = loaders2025.load_rural_urban(root).set_index("lsoa21cd")
    assert ruc["rural"].to_dict() == {"E01028424": False, "E01028600": True}


def test_centroids_from_the_service_points_and_the_portal_csv(tmp_path):
    # E01000001's point as the mirror's centroid table gives it in both systems (SOURCES.md).
    (tmp_path / "service.csv").write_text("LSOA21CD,GlobalID,X,Y\n"
                                          "E01000001,{A},532180.9,181797.9\n")
    (tmp_path / "portal.csv").write_text("FID,LSOA21CD,GlobalID,x,y\n"
                                         "1,E01000001,{A},532180.9,181797.9\n")
    a = convert2025.centroids_from_pwc21(tmp_path / "service.csv")
    b = convert2025.centroids_from_pwc21(tmp_path / "portal.csv")
    assert a.to_dict("records") == b.to_dict("records")
    row = a.iloc[0]
    assert (row["method"], row["easting"], row["northing"]) == ("ons_pwc_2021", 532180.9,
                                                                181797.9)
    assert row["latitude"] == pytest.approx(51.5196426, abs=1e-6)
    assert row["longitude"] == pytest.approx(-0.096276, abs=1e-6)


def test_boundaries_from_the_services_geojson_pages(tmp_path):
    """The FeatureCollection a fetch saves from the service's GeoJSON pages (WGS84) becomes the
    canonical GeoPackage in British National Grid."""
    import geopandas as gpd
    from shapely.geometry import box

    square = gpd.GeoSeries([box(451000, 206000, 452000, 207000)], crs="EPSG:27700")
    geom = json.loads(square.to_crs("EPSG:4326").to_json())["features"][0]["geometry"]
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": 1, "geometry": geom,
         "properties": {"LSOA21CD": "E01028424", "LSOA21NM": "Oxford 001A", "LSOA21NMW": ""}}]}
    src = tmp_path / "bsc.geojson"
    src.write_text(json.dumps(doc))
    out = tmp_path / "b.gpkg"
    out.write_bytes(convert2025.boundaries_from_ons21(src))
    got = gpd.read_file(out)
    assert got.crs.to_epsg() == 27700 and got.columns.tolist() == ["lsoa21cd", "lsoa21nm",
                                                                   "geometry"]
    assert got.area.iloc[0] == pytest.approx(1e6, rel=1e-4)
    (tmp_path / "nocode.geojson").write_text(json.dumps(
        {**doc, "features": [{**doc["features"][0], "properties": {"NAME": "x"}}]}))
    with pytest.raises(InputError, match="the official column 'LSOA21CD' is missing"):
        convert2025.boundaries_from_ons21(tmp_path / "nocode.geojson")


def test_file7_2025_in_its_56_column_layout(tmp_path):
    """The published File 7: 4 identifiers, 16 indices x (score, rank, decile), one decile
    header cut short, 4 mid-2022 denominators."""
    subs = ["Children and Young People", "Adult Skills", "Geographical Barriers",
            "Wider Barriers", "Indoors", "Outdoors"]
    indices = [*convert2025.FILE7_DOMAINS.values(), *((f"{n} Sub-domain", " Score")
                                                      for n in subs)]
    cols = ["LSOA code (2021)", "LSOA name (2021)", "Local Authority District code (2024)",
            "Local Authority District name (2024)"]
    for name, score in indices:
        cols += [name + score, name + convert2025._RANK, name + convert2025._DECILE]
    cut = "Children and Young People Sub-domain Decile (where 1 is most deprived 10% of LSO"
    cols = [cut if c.startswith(cut) else c for c in cols]
    cols += ["Total population: mid 2022", "Dependent Children aged 0-15: mid 2022",
             "Older population aged 60 and over: mid 2022",
             "Working age population 18-66 (for use with Employment Deprivation Domain): "
             "mid 2022"]
    assert len(cols) == 56
    row = ["E01000001", "City of London 001A", "E09000001", "City of London"]
    for k in range(16):
        row += [f"{0.01 * (k + 1):.3f}", str(100 + k), str(1 + k % 10)]
    row += ["1615", "200", "300", "1000"]
    path = tmp_path / "File_7_IoD2025_All_Ranks_Scores_Deciles_Population_Denominators.csv"
    pd.DataFrame([row], columns=cols).to_csv(path, index=False)
    main, file3 = convert2025.iod2025_from_file7(path)
    got = main.iloc[0]
    assert (got["IMD_score"], got["IMD_rank"], got["IMD_decile"]) == (0.01, 100, 1)
    assert (got["IDACI_score"], got["IDAOPI_score"]) == (0.09, 0.1)
    assert file3.iloc[0]["Income Deprivation Affecting Children Index (IDACI)"
                         + convert2025._RANK] == 108
    with pytest.raises(InputError, match="the official column 'Crime Score' is missing"):
        pd.DataFrame([row], columns=[c.replace("Crime Score", "Crime Sc0re")
                                     for c in cols]).to_csv(path, index=False)
        convert2025.iod2025_from_file7(path)


def test_ons_children_0_17_series_converter(tmp_path):
    from optimiser.sources import CONVERTERS

    path = tmp_path / "ons_mid-year_population_estimates_2012_to_2024.csv"
    header = ("time_period,time_identifier,geographic_level,country_code,country_name,"
              "region_code,region_name,old_la_code,new_la_code,la_name,age_group,"
              "population_estimate\n")
    body = ("2024,Reporting year,Local authority,E92000001,England,E12000008,South East,931,"
            "E10000025,Oxfordshire,Children aged 0 to 17 years,150000\n")
    path.write_text(header + body)
    out = CONVERTERS["dfe_ons_population_0_17"](path)
    assert list(out.values()) == [(header + body).encode()]  # the published table unchanged
    path.write_text(header.replace("population_estimate", "estimate") + body)
    with pytest.raises(InputError, match="the official column 'population_estimate'"):
        CONVERTERS["dfe_ons_population_0_17"](path)
