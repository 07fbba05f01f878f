"""`optimiser data fetch --vintage 2025` end to end, unattended, against a local stand-in for the
publishers (tests/official_server.py), then `prepare` on what it built.

The server holds Oxfordshire's 429 LSOAs 2021 in every official file of the 2025 vintage, under
the manifest's addresses and names and in the publishers' layouts (data/sources.toml says where
each layout was confirmed):

- GOV.UK's File 7 of IoD 2025 (the corrected asset): 56 columns with the published headers, one
  of them cut short as in the real file;
- ONS ``sapelsoasyoa20222024.xlsx``: sheets ``Mid-2022/2023/2024 LSOA 2021``, three title rows,
  header on row 4 (``LAD 2023 Code … Total, F0 … F90, M0 … M90``), a Welsh row;
- DfE's B1 and D5 tables and its copy of the ONS 0-17 series (the mirror's bytes: the manifest's
  fixed checksums are checked);
- five ONS FeatureServer layers answering Esri JSON pages (LSOA21_WD24_LAD24_EW_LU,
  LTLA23_UTLA23_EW_LU, LSOA21_RUC21_EW_LU, LSOA11_LSOA21_LAD22_EW_LU with ``F_LSOA11CD`` and
  ``CHGIND``, LSOA_PopCentroids_EW_2021_V4 with points in British National Grid), and the BSC V4
  boundaries answering GeoJSON pages; every layer at most 150 records a page.

The tables the fetch builds must hold the reference mirror's values for those areas, with the
documented fallbacks where a download cannot rebuild a derived mirror table (ONS LSOA 2021
population instead of the re-cut mid-2019 one; equal split weights; ONS centroids).
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest
from official_server import Layer, Official, serve
from typer.testing import CliRunner

from optimiser import convert2025 as C
from optimiser import loaders2025 as L
from optimiser.cli import app
from optimiser.growth import TREND_FILE
from optimiser.loaders import CIN_FILE, CPP_FILE
from optimiser.sources import load_manifest

OXON = "E10000025"
V = "vintage2025"
_ADDR = {s.id: s.url.split("://", 1)[1] for s in load_manifest()}
SAPE_SHEETS = (2022, 2023, 2024)
SEXES = [f"{s}{a}" for s in ("F", "M") for a in range(91)]
#: File 7's 16 indices in published order: name and score suffix.
INDICES = [*C.FILE7_DOMAINS.values(),
           *((n, " Score") for n in ("Children and Young People Sub-domain",
                                      "Adult Skills Sub-domain",
                                      "Geographical Barriers Sub-domain",
                                      "Wider Barriers Sub-domain", "Indoors Sub-domain",
                                      "Outdoors Sub-domain"))]
SUBDOMAINS = ["children_and_young_people", "adult_skills", "geographical_barriers",
              "wider_barriers", "indoors", "outdoors"]
DENOMINATORS = ["Total population: mid 2022", "Dependent Children aged 0-15: mid 2022",
                "Older population aged 60 and over: mid 2022",
                "Working age population 18-66 (for use with Employment Deprivation Domain): "
                "mid 2022"]


def _csv(mirror: Path, rel: str) -> pd.DataFrame:
    return pd.read_csv(mirror / V / rel, dtype=str, keep_default_na=False)


def _records(df: pd.DataFrame) -> list[dict[str, object]]:
    df = df.reset_index(drop=True).copy()
    df["ObjectId"] = range(1, len(df) + 1)
    return json.loads(df.to_json(orient="records"))


def file7(mirror: Path, codes: set[str]) -> bytes:
    """File 7 of IoD 2025 in its published layout, from the mirror's tables (IDACI / IDAOPI
    scores, absent from the mirror, are made up: a rate below the Income score)."""
    imd = _csv(mirror, "iod2025/imd2025_england_lsoa21.csv").set_index("lsoa21_code")
    f3 = _csv(mirror, "iod2025/iod2025_file3_idaci_idaopi_ranks_deciles.csv")
    f3 = f3.set_index("LSOA code (2021)")
    sub = _csv(mirror, "iod2025/imd2025_england_lsoa21_subdomains.csv").set_index("lsoa21_code")
    keep = sorted(codes)
    out = f3.loc[keep].reset_index().iloc[:, :4]
    stems = list(C.FILE7_DOMAINS)
    for k, (name, score) in enumerate(INDICES):
        if k < 8:
            vals = imd.loc[keep, [f"{stems[k]}_{x}" for x in ("score", "rank", "decile")]]
        elif k < 10:
            income = imd.loc[keep, "Income_score"].astype(float)
            vals = pd.DataFrame({
                "s": (income * (1.3 if k == 8 else 0.9)).round(3).map("{:.3f}".format),
                "r": f3.loc[keep, name + C._RANK], "d": f3.loc[keep, name + C._DECILE]})
        else:
            s = SUBDOMAINS[k - 10]
            vals = sub.loc[keep, [f"{s}_{x}" for x in ("score", "rank", "decile")]]
        decile = name + C._DECILE
        if k == 10:  # the one header the publisher cut short
            decile = decile[:len("Children and Young People Sub-domain Decile (where 1 is most "
                                 "deprived 10% of LSO")]
        for col, v in zip((name + score, name + C._RANK, decile), vals.to_numpy().T,
                          strict=True):
            out[col] = v
    for i, col in enumerate(DENOMINATORS):
        out[col] = 1500 - 300 * i
    assert out.shape[1] == 56
    return out.to_csv(index=False, lineterminator="\r\n").encode("utf-8")


def sape21(mirror: Path, codes: set[str], lad: dict[str, str]) -> tuple[bytes, pd.DataFrame]:
    """The ONS workbook (three sheets, the latest different from the others) and the persons
    by single year of the latest sheet that the converter must find."""
    pop = pd.read_csv(mirror / L.POPULATION_RECUT_FILE, dtype={"lsoa21cd": str})
    pop = pop[pop["lsoa21cd"].isin(codes)].sort_values("lsoa21cd").reset_index(drop=True)
    ages = np.rint(pop[[f"age_{a}" for a in range(20)]].to_numpy()).astype(int)
    book = openpyxl.Workbook()
    book.active.title = "Cover_sheet"
    book.active["A1"] = "Lower layer Super Output Area population estimates"
    for year in SAPE_SHEETS:
        grown = ages + (year - 2022)  # each later year one more child of each age
        ws = book.create_sheet(f"Mid-{year} LSOA 2021")
        ws.append([f"Mid-{year} population estimates for Lower layer Super Output Areas"])
        ws.append(["This worksheet contains one table."])
        ws.append(["Source: Office for National Statistics"])
        ws.append(["LAD 2023 Code", "LAD 2023 Name", "LSOA 2021 Code", "LSOA 2021 Name",
                   "Total", *SEXES])
        for i, row in pop.iterrows():
            cells = dict.fromkeys(SEXES, 0)
            for a in range(20):
                cells[f"F{a}"] = int(grown[i, a] // 2)
                cells[f"M{a}"] = int(grown[i, a] - grown[i, a] // 2)
            cells["F40"] = cells["M40"] = 400
            ws.append([lad[row["lsoa21cd"]], "District", row["lsoa21cd"], row["lsoa21nm"],
                       sum(cells.values()), *cells.values()])
        ws.append(["W06000001", "Isle of Anglesey", "W01000001", "Isle of Anglesey 001A",
                   1, *([1] + [0] * 181)])
    buf = io.BytesIO()
    book.save(buf)
    expected = pd.DataFrame(ages + 2, columns=[f"age_{a}" for a in range(20)])
    expected.insert(0, "lsoa21cd", pop["lsoa21cd"])
    return buf.getvalue(), expected


@pytest.fixture(scope="module")
def official(mirror: Path) -> tuple[Official, pd.DataFrame]:
    utla = _csv(mirror, "lsoa2021/lookup_ltla23_utla23.csv")
    ward = _csv(mirror, "lsoa2021/lookup_lsoa21_ward24_ltla24.csv")
    oxon_lads = set(utla.loc[utla["utla23_code"] == OXON, "ltla23_code"])
    ward = ward[ward["ltla24_code"].isin(oxon_lads)]
    codes = set(ward["lsoa21_code"])
    assert len(codes) == 429
    lad = dict(zip(ward["lsoa21_code"], ward["ltla24_code"], strict=True))
    book, expected = sape21(mirror, codes, lad)
    files = {_ADDR["iod2025_file7"]: file7(mirror, codes), _ADDR["ons_sape_lsoa21"]: book}
    for sid, rel in (("dfe_cin_b1", CIN_FILE), ("dfe_cpp_d5", CPP_FILE),
                     ("dfe_ons_population_0_17", TREND_FILE)):
        files[_ADDR[sid]] = (mirror / rel).read_bytes()

    def ons(df: pd.DataFrame, columns: dict[str, str]) -> list[dict[str, object]]:
        return _records(df.rename(columns=columns)[list(columns.values())])

    ward_layer = ons(ward, {"lsoa21_code": "LSOA21CD", "lsoa21_name": "LSOA21NM",
                            "ward24_code": "WD24CD", "ward24_name": "WD24NM",
                            "ltla24_code": "LAD24CD", "ltla24_name": "LAD24NM"})
    utla_layer = ons(utla, {"ltla23_code": "LTLA23CD", "ltla23_name": "LTLA23NM",
                            "utla23_code": "UTLA23CD", "utla23_name": "UTLA23NM"})
    ruc = _csv(mirror, "lsoa2021/ruc21_lsoa21.csv")
    ruc_layer = ons(ruc[ruc["lsoa21_code"].isin(codes)],
                    {"lsoa21_code": "LSOA21CD", "ruc21_code": "RUC21CD",
                     "classification": "RUC21NM", "ruc": "Urban_rural_flag"})
    chg = _csv(mirror, "lsoa2021/lookup_lsoa11_lsoa21_ltla22.csv")
    chg_layer = ons(chg[chg["lsoa21_code"].isin(codes)],
                    {"lsoa11_code": "F_LSOA11CD", "lsoa11_name": "LSOA11NM",
                     "change_code": "CHGIND", "lsoa21_code": "LSOA21CD",
                     "lsoa21_name": "LSOA21NM", "ltla22_code": "LAD22CD",
                     "ltla22_name": "LAD22NM"})
    cen = pd.read_csv(mirror / L.CENTROIDS_FILE, dtype={"lsoa21cd": str})
    cen = cen[cen["lsoa21cd"].isin(codes)].reset_index(drop=True)
    pwc = Layer(_records(cen[["lsoa21cd"]].rename(columns={"lsoa21cd": "LSOA21CD"}).assign(
                    GlobalID="{00000000-0000-0000-0000-000000000000}")),
                points=list(zip(cen["easting"], cen["northing"], strict=True)),
                points_wgs84=list(zip(cen["longitude"], cen["latitude"], strict=True)))
    import geopandas as gpd

    shapes = gpd.read_file(mirror / L.BOUNDARIES_FILE)
    shapes = shapes[shapes["lsoa21cd"].isin(codes)].to_crs("EPSG:4326").reset_index(drop=True)
    geo = json.loads(shapes.to_json())
    bsc = Layer(_records(shapes[["lsoa21cd", "lsoa21nm"]].rename(
        columns={"lsoa21cd": "LSOA21CD", "lsoa21nm": "LSOA21NM"}).assign(LSOA21NMW="")),
        shapes=[f["geometry"] for f in geo["features"]])
    layers = {"LSOA21_WD24_LAD24_EW_LU": Layer(ward_layer),
              "LTLA23_UTLA23_EW_LU": Layer(utla_layer), "LSOA21_RUC21_EW_LU": Layer(ruc_layer),
              "LSOA11_LSOA21_LAD22_EW_LU": Layer(chg_layer),
              "LSOA_PopCentroids_EW_2021_V4": pwc,
              "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BSC_V4": bsc}
    return Official(files=files, layers=layers), expected


def test_manifest_addresses_are_the_ones_served() -> None:
    """Every 2025 source has a direct address: no manual step is left for this vintage."""
    from optimiser.sources2025 import for_vintage

    sources = for_vintage(load_manifest(), "2025")
    assert all(s.url.startswith("https://") for s in sources)
    arcgis = {s.id: s.url.split("/services/")[1].split("/")[0] for s in sources
              if s.access == "arcgis"}
    assert arcgis == {
        "ons_lsoa21_ward24": "LSOA21_WD24_LAD24_EW_LU",
        "ons_ltla23_utla23": "LTLA23_UTLA23_EW_LU", "ons_ruc21": "LSOA21_RUC21_EW_LU",
        "ons_lsoa11_lsoa21_v2025": "LSOA11_LSOA21_LAD22_EW_LU",
        "ons_lsoa21_pwc": "LSOA_PopCentroids_EW_2021_V4",
        "ons_lsoa21_boundaries":
            "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BSC_V4"}


def test_data_fetch_2025_unattended_then_prepare(
    official: tuple[Official, pd.DataFrame], mirror: Path, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, expected = official
    monkeypatch.delenv("OPTIMISER_DATA_MIRROR", raising=False)
    monkeypatch.setenv("OPTIMISER_CACHE_DIR", str(tmp_path / "cache"))
    server.requests.clear()
    with serve(server) as base:
        result = CliRunner().invoke(app, ["data", "fetch", "--vintage", "2025",
                                          "--base-url", base])
    assert result.exit_code == 0, result.output
    assert "official data ready in cache" in result.output
    root = tmp_path / "cache" / "canonical"
    codes = set(expected["lsoa21cd"])

    imd = L.load_imd(root).set_index("lsoa21cd")
    ref = L.load_imd(mirror).set_index("lsoa21cd").loc[sorted(codes)]
    assert len(imd) == 429
    assert (imd["imd_score"] - ref["imd_score"]).abs().max() == 0
    assert (imd["idaci_rank"] == ref["idaci_rank"]).all()
    assert imd["idaci_score"].notna().all()  # File 7's IDACI rate: no stand-in needed

    pop, info = L.load_population(root)
    assert info["file"] == L.POPULATION_ONS_FILE and info["derived"] is False
    assert info["estimate"] == "ONS mid-2024, LSOA 2021"  # the latest of the three sheets
    want = expected.set_index("lsoa21cd")
    got = pop.set_index("lsoa21cd").loc[want.index]
    assert (got["age_0_4"] == want[[f"age_{a}" for a in range(5)]].sum(axis=1)).all()
    assert len(pop) == 429 and "W01000001" not in set(pop["lsoa21cd"])

    utla = L.load_utla_lookup(root)
    assert (utla.loc[utla["lsoa21cd"].isin(codes), "utla_code"] == OXON).all()
    assert L.load_ward_lookup(root)["lsoa21cd"].isin(codes).sum() == 429
    rural = L.load_rural_urban(root).set_index("lsoa21cd")["rural"]
    ref_rural = L.load_rural_urban(mirror).set_index("lsoa21cd")["rural"].loc[sorted(codes)]
    assert rural.loc[sorted(codes)].tolist() == ref_rural.tolist() and rural.sum() > 100
    cen = L.load_centroids(root).set_index("lsoa21cd").loc[sorted(codes)]
    ref_cen = L.load_centroids(mirror).set_index("lsoa21cd").loc[sorted(codes)]
    assert np.abs(cen[["x", "y"]].to_numpy(float) - ref_cen[["x", "y"]].to_numpy(float)
                  ).max() < 1e-6
    assert set(cen["method"]) == {"ons_pwc_2021"}
    weights = L.load_lsoa11_to_21_weights(root)
    split = weights[weights["change_code"] == "S"]
    parts = split.groupby("lsoa11cd")["lsoa21cd"].transform("size")
    assert len(split) == 41 and (split["weight"] == (1 / parts).round(6)).all()  # equal shares
    # A council's LSOA 2011 counts carried across say which weights shared them.
    from optimiser.crosswalk import carry_counts

    parent = split["lsoa11cd"].iloc[0]
    moved, facts = carry_counts(pd.DataFrame({"lsoa11cd": [parent], "cin": [7]}), "lsoa11cd",
                                ["cin"], root)
    assert moved["cin"].sum() == 7 and len(moved) == (split["lsoa11cd"] == parent).sum()
    assert "shared by equal shares among its 2021 LSOAs (downloaded data" in facts["method"]
    assert L.weights_label(mirror) == "the data mirror's apportioning weights"

    import geopandas as gpd

    shapes = gpd.read_file(L.boundaries_file(root))
    ref_shapes = gpd.read_file(mirror / L.BOUNDARIES_FILE)
    ref_shapes = ref_shapes[ref_shapes["lsoa21cd"].isin(codes)]
    assert shapes.crs.to_epsg() == 27700 and set(shapes["lsoa21cd"]) == codes
    assert shapes.area.sum() == pytest.approx(ref_shapes.area.sum(), rel=1e-6)

    # DfE's files at fixed commits: the bytes (and so the manifest's checksums) are the mirror's.
    for rel in (CIN_FILE, CPP_FILE, TREND_FILE):
        assert (root / rel).read_bytes() == (mirror / rel).read_bytes()
    # Every ArcGIS layer was read in pages of at most 150 records: 429 rows -> 3 pages.
    pages = [r for r in server.requests if "BSC_V4/FeatureServer" in r]
    assert [re.search(r"resultOffset=(\d+)", p).group(1) for p in pages] == ["0", "150", "300"]
    assert all("f=geojson" in p for p in pages)
    prov = {s["id"]: s for s in json.loads((root / "FETCHED.json").read_text())["sources"]}
    assert prov["ons_lsoa21_ward24"]["url"].endswith(
        "LSOA21_WD24_LAD24_EW_LU/FeatureServer/0/query")

    # A second run needs nothing from the network.
    with serve(server) as base:
        server.requests.clear()
        again = CliRunner().invoke(app, ["data", "fetch", "--vintage", "2025",
                                         "--base-url", base])
    assert again.exit_code == 0 and server.requests == []

    # prepare on the fetched tables alone (no mirror): Oxfordshire's 429 areas, ONS mid-2024.
    from optimiser.prepare import PrepareSettings, prepare_instance

    out = tmp_path / "instance"
    prepare_instance(PrepareSettings(la="Oxfordshire", mirror=root, age_group="0-4",
                                     vintage="2025"), out)
    areas = pd.read_csv(out / "areas.csv")
    assert len(areas) == 429
    assert areas["population"].sum() == want[[f"age_{a}" for a in range(5)]].to_numpy().sum()
    meta = json.loads((out / "prepare.json").read_text())
    # Modelled CIN/CPP add up to DfE's 2024 figures, shared by File 7's IDACI rate (no stand-in).
    assert (int(areas["cin"].sum()), int(areas["cpp"].sum())) == (3_862, 532)
    assert meta["cases"]["year"] == 2024 and "rate" not in meta["cases"]  # no stand-in rate
    assert "x IDACI score," in meta["cases"]["method"]
    assert set(areas["population_estimate"]) == {"ONS mid-2024, LSOA 2021"}
    assert {s["file"] for s in meta["sources"]} >= {L.IMD_FILE, L.POPULATION_ONS_FILE}
    # ONS's own centroids: named as such, and no caveat about derived ones.
    title = {s["file"]: s["title"] for s in meta["sources"]}[L.CENTROIDS_FILE]
    assert title == "ONS LSOA (December 2021) population-weighted centroids"
    assert not any("postcode points" in c for c in meta["vintage"]["caveats"])
    assert not any(c.startswith("population:") for c in meta["vintage"]["caveats"])


def test_unobtainable_2025_files_are_named_in_one_message(
    official: tuple[Official, pd.DataFrame], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When the ONS moves a service (here: the centroids and boundaries are gone), one message
    names every file still needed with its landing page; the rest is downloaded and kept."""
    from optimiser import _download
    from optimiser.errors import DataSourceError
    from optimiser.sources import fetch_all

    monkeypatch.setattr(_download, "RETRIES", 0)
    server, _ = official
    gone = ("LSOA_PopCentroids_EW_2021_V4",
            "Lower_layer_Super_Output_Areas_December_2021_Boundaries_EW_BSC_V4")
    partial = Official(files=server.files,
                       layers={k: v for k, v in server.layers.items() if k not in gone})
    with serve(partial) as base, pytest.raises(DataSourceError) as exc:
        fetch_all(cache=tmp_path, progress=False, base_url=base, vintage="2025")
    problem = exc.value.problem
    assert problem.startswith("2 official file(s) could not be obtained")
    manifest = {s.id: s for s in load_manifest()}
    for sid in ("ons_lsoa21_pwc", "ons_lsoa21_boundaries"):
        assert f"landing page: {manifest[sid].landing_page}" in problem
        assert f"save it as: {tmp_path / 'official' / manifest[sid].filename}" in problem
    assert not (tmp_path / "canonical").exists()
    kept = {p.name for p in (tmp_path / "official").iterdir()}
    assert {manifest[s].filename for s in ("iod2025_file7", "ons_sape_lsoa21",
                                           "ons_lsoa21_ward24")} <= kept
