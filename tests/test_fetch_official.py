"""`optimiser data fetch` end to end, unattended, against a local stand-in for the publishers.

A server on 127.0.0.1 (tests/official_server.py) holds an Oxfordshire subset of every official
file under its official address and name, in the publisher's layout: File 7 as GOV.UK's CSV, the
SAPE22DT2 zip, DfE's CSVs, the rural-urban CSV of the ONS ArcGIS item, the GIAS daily extract in
Windows-1252, and the four ONS lookups as ArcGIS FeatureServer layers answering paged JSON
(at most 150 records a page). ``--base-url`` points the fetch at it; the canonical tables must
come out with no manual step and hold Oxfordshire's real figures.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from official_server import Layer, Official, serve
from test_convert import OXON, gias_bytes, official_file7, official_pwc, write_sape_workbook
from typer.testing import CliRunner

from optimiser import _download
from optimiser import convert as C
from optimiser import loaders as L
from optimiser.cli import app
from optimiser.errors import DataSourceError
from optimiser.growth import TREND_FILE
from optimiser.sources import fetch_all, load_manifest

ARCGIS = "services1.arcgis.com/ESMARspQHYMw9BZ9/arcgis/rest/services"
FILE7 = ("assets.publishing.service.gov.uk/media/5dc407b440f0b6379a7acc8d/"
         "File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_Denominators_3.csv")
SAPE = ("www.ons.gov.uk/file?uri=%2fpeoplepopulationandcommunity%2fpopulationandmigration%2f"
        "populationestimates%2fdatasets%2flowersuperoutputareamidyearpopulationestimates%2f"
        "mid2019sape22dt2/sape22dt2mid2019lsoasyoaestimatesunformatted.zip")
DFE = ("raw.githubusercontent.com/dfe-analytical-services/CSC_outcomes_and_enablers/"
       "1329930840af1494de032849c2f07a5d58e08f61/data-raw/")
# DfE's copy of the ONS 0-17 series (the multi-year trend), shared by both vintages.
POP_0_17 = ("raw.githubusercontent.com/dfe-analytical-services/CSC_outcomes_and_enablers/"
            "c19350f74e8d3c1ad18beb2d6069f0c82f19a571/data-raw/"
            "ons_mid-year_population_estimates_2012_to_2024.csv")
RUC = "ons.maps.arcgis.com/sharing/rest/content/items/9855221596994bde8363a685cb3dd58a/data"
GIAS = re.compile(r"ea-edubase-api-prod\.azurewebsites\.net/edubase/downloads/public/"
                  r"edubasealldata\d{8}\.csv")
# A real-looking GIAS header: code and name columns, in the extract's order.
GIAS_FULL_HEADER = (
    "URN,LA (code),LA (name),EstablishmentNumber,EstablishmentName,TypeOfEstablishment (code),"
    "TypeOfEstablishment (name),EstablishmentTypeGroup (code),EstablishmentTypeGroup (name),"
    "EstablishmentStatus (code),EstablishmentStatus (name),Street,Town,Postcode,Easting,Northing")


def _records(df: pd.DataFrame) -> list[dict[str, object]]:
    df = df.reset_index(drop=True)
    df.insert(0, "FID", range(1, len(df) + 1))
    return json.loads(df.to_json(orient="records"))


def _gias() -> bytes:
    """The test_convert GIAS rows, widened to the extract's code/name columns."""
    rows = pd.read_csv(io.BytesIO(gias_bytes()), dtype=str, keep_default_na=False,
                       encoding="cp1252")
    codes = {"Children's centre": "35", "Children\u2019s centre": "35",
             "Children's centre linked site": "36", "Community school": "01"}
    out = pd.DataFrame({
        "URN": rows["URN"], "LA (code)": rows["LA (code)"], "LA (name)": rows["LA (name)"],
        "EstablishmentNumber": rows["EstablishmentNumber"],
        "EstablishmentName": rows["EstablishmentName"],
        "TypeOfEstablishment (code)": rows["TypeOfEstablishment (name)"].map(codes),
        "TypeOfEstablishment (name)": rows["TypeOfEstablishment (name)"],
        "EstablishmentTypeGroup (code)": "9", "EstablishmentTypeGroup (name)": "Other types",
        "EstablishmentStatus (code)": "1",
        "EstablishmentStatus (name)": rows["EstablishmentStatus (name)"],
        "Street": "High Street", "Town": "Oxford", "Postcode": rows["Postcode"],
        "Easting": rows["Easting"], "Northing": rows["Northing"]})
    assert ",".join(out.columns) == GIAS_FULL_HEADER
    return out.to_csv(index=False, lineterminator="\r\n").encode("cp1252")


@pytest.fixture(scope="module")
def official(mirror: Path) -> Official:
    """Oxfordshire's 407 LSOAs in every official file, under the official addresses."""
    utla = pd.read_csv(mirror / L.UTLA_FILE, dtype=str, keep_default_na=False)
    ox = set(utla.loc[utla["UTLA19CD"] == OXON, "LSOA11CD"])

    def subset(rel: str, col: str = "LSOA11CD") -> pd.DataFrame:
        df = pd.read_csv(mirror / rel, dtype=str, keep_default_na=False)
        return df[df[col].isin(ox)].reset_index(drop=True)

    files: dict[str, bytes] = {}
    imd = pd.read_csv(mirror / L.IMD_FILE, dtype={"lsoa11cd": str})
    files[FILE7] = official_file7(imd[imd["lsoa11cd"].isin(ox)]).to_csv(index=False).encode()
    pop = pd.read_csv(mirror / L.POPULATION_FILE, dtype={"lsoa11cd": str})
    files[SAPE] = _sape_zip(pop[pop["lsoa11cd"].isin(ox)])
    files[DFE + "b1_children_in_need_2013_to_2024.csv"] = (mirror / L.CIN_FILE).read_bytes()
    files[DFE + "d5_cpps_at31march_by_duration_2013_to_2024.csv"] = (
        mirror / L.CPP_FILE).read_bytes()
    files[POP_0_17] = (mirror / TREND_FILE).read_bytes()
    ruc = subset(L.RUC_FILE)
    ruc["FID"] = range(1, len(ruc) + 1)
    files[RUC] = ruc.to_csv(index=False, lineterminator="\r\n").encode("utf-8-sig")

    lsoa21 = subset(L.LSOA21_FILE).rename(columns={"LSOA11CD": "F_LSOA11CD"})
    lsoa21.insert(2, "CHGIND", "U")
    # A 2011 LSOA split in 2021 has two rows in the current service; the table keeps the first.
    split = lsoa21.iloc[[0]].assign(LSOA21CD="E01035999", LSOA21NM="Split 999Z", CHGIND="S")
    lsoa21 = pd.concat([split, lsoa21], ignore_index=True)
    cen = pd.read_csv(mirror / L.CENTROIDS_FILE, dtype={"lsoa11cd": str})
    cen = cen[cen["lsoa11cd"].isin(ox)].reset_index(drop=True)
    pwc = official_pwc(cen)
    layers = {
        "LSOA11_UTLA19_EW_LU": Layer(_records(subset(L.UTLA_FILE))),
        "LSOA11_WD19_LAD19_EW_LU": Layer(_records(subset(L.WARD_FILE))),
        "LSOA11_LSOA21_LAD22_EW_LU": Layer(_records(lsoa21)),
        "LSOA_Dec_2011_PWC_in_England_and_Wales_2022": Layer(
            _records(pwc[["LSOA11CD", "LSOA11NM"]].assign(GlobalID="{0}")),
            points=list(zip(pwc["X"], pwc["Y"], strict=True)),
            points_wgs84=list(zip(cen["longitude"], cen["latitude"], strict=True))),
    }
    return Official(files=files, patterns=[(GIAS, _gias())], layers=layers)


def _sape_zip(pop: pd.DataFrame) -> bytes:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "sape.zip"
        write_sape_workbook(path, pop)
        return path.read_bytes()


def _check_oxfordshire(root: Path) -> None:
    assert len(L.load_imd(root)) == 407
    pop = L.load_population(root)
    assert (len(pop), pop["total"].sum(), pop["age_0_4"].sum()) == (407, 691_667, 39_432)
    assert (L.load_utla_lookup(root)["utla_code"] == OXON).sum() == 407
    assert L.load_rural_urban(root)["rural"].sum() == 138
    la = L.load_la_cin_cpp(root)
    row = la[(la["la_code"] == OXON) & (la["year"] == 2019)].iloc[0]
    assert (row["cin"], row["cpp"]) == (4511, 592)
    lsoa21 = L.load_lsoa11_to_21(root)
    assert len(lsoa21) == 407 and "E01035999" not in set(lsoa21["lsoa21cd"])
    assert len(L.load_childrens_centres(root)) == 4
    trend = pd.read_csv(root / TREND_FILE, dtype=str)
    assert trend.loc[(trend["new_la_code"] == OXON) & (trend["time_period"] == "2019"),
                     "population_estimate"].tolist() == ["144429"]


def test_data_fetch_unattended_from_official_layouts(
    official: Official, mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OPTIMISER_DATA_MIRROR", raising=False)
    monkeypatch.setenv("OPTIMISER_CACHE_DIR", str(tmp_path / "cache"))
    official.requests.clear()
    with serve(official) as base:
        result = CliRunner().invoke(app, ["data", "fetch", "--vintage", "2019", "--base-url", base])
    assert result.exit_code == 0, result.output
    assert "official data ready in cache" in result.output
    root = tmp_path / "cache" / "canonical"
    _check_oxfordshire(root)
    # The converted tables equal the reference mirror's rows (same conversion as the mirror).
    cen = L.load_centroids(root).set_index("lsoa11cd")
    ref = L.load_centroids(mirror).set_index("lsoa11cd").loc[cen.index]
    assert (cen - ref).abs().to_numpy().max() < 1e-6
    ward = pd.read_csv(root / L.WARD_FILE, dtype=str, keep_default_na=False)
    assert list(ward.columns) == ["LSOA11CD", "LSOA11NM", "WD19CD", "WD19NM", "LAD19CD",
                                  "LAD19NM"]
    # Each ONS layer was read in pages of at most 150 records: 407 rows -> 3 pages.
    pages = [r for r in official.requests if "LSOA11_UTLA19_EW_LU/FeatureServer" in r]
    assert [re.search(r"resultOffset=(\d+)", p).group(1) for p in pages] == ["0", "150", "300"]
    # A second run needs nothing from the network.
    with serve(official) as base:
        official.requests.clear()
        again = CliRunner().invoke(app, ["data", "fetch", "--vintage", "2019", "--base-url", base])
    assert again.exit_code == 0 and official.requests == []


def test_base_url_from_the_environment_and_a_retried_request(
    official: Official, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_download, "RETRIES", 1)
    official.fail_first = {FILE7, next(k for k in official.files if k.startswith("www.ons"))}
    with serve(official) as base:
        monkeypatch.setenv(_download.BASE_URL_ENV, base)
        root = fetch_all(cache=tmp_path, progress=False, vintage="2019")
    assert official.fail_first == set()  # both failed once, then came on the second try
    _check_oxfordshire(root)
    prov = json.loads((root / "FETCHED.json").read_text())
    assert {s["id"]: s["url"] for s in prov["sources"]}["iod2019_file7"] == f"{base}/{FILE7}"


def test_every_unobtainable_file_is_named_in_one_message(
    official: Official, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_download, "RETRIES", 0)
    partial = Official(files={k: v for k, v in official.files.items() if k != FILE7},
                       patterns=[], layers={k: v for k, v in official.layers.items()
                                            if not k.startswith("LSOA_Dec")})
    with serve(partial) as base, pytest.raises(DataSourceError) as exc:
        fetch_all(cache=tmp_path, progress=False, base_url=base, vintage="2019")
    problem = exc.value.problem
    # File 7 (404) and the centroids layer (unknown service) are both named, with landing pages
    # and the names to save them under; GIAS is optional and only skipped.
    assert problem.startswith("2 official file(s) could not be obtained")
    manifest = {s.id: s for s in load_manifest()}
    for sid in ("iod2019_file7", "ons_lsoa11_pwc"):
        assert f"landing page: {manifest[sid].landing_page}" in problem
        assert f"save it as: {tmp_path / 'official' / manifest[sid].filename}" in problem
    assert "gias" not in problem
    assert not (tmp_path / "canonical").exists()
    # The other files were downloaded and kept: saving the two by hand completes the fetch.
    kept = {p.name for p in (tmp_path / "official").iterdir()}
    assert manifest["ons_lsoa11_utla19"].filename in kept
    (tmp_path / "official" / manifest["iod2019_file7"].filename).write_bytes(official.files[FILE7])
    cen = official.layers["LSOA_Dec_2011_PWC_in_England_and_Wales_2022"]
    pd.DataFrame([{**r, "X": x, "Y": y} for r, (x, y) in zip(cen.records, cen.points,
                                                               strict=True)]).to_csv(
        tmp_path / "official" / manifest["ons_lsoa11_pwc"].filename, index=False)
    with serve(partial) as base:
        root = fetch_all(cache=tmp_path, progress=False, base_url=base, vintage="2019")
    _check_oxfordshire_without_gias(root)


def _check_oxfordshire_without_gias(root: Path) -> None:
    assert len(L.load_imd(root)) == 407 and len(L.load_centroids(root)) == 407
    assert L.load_childrens_centres(root) is None


def test_arcgis_error_answer_is_one_clear_message(tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_download, "RETRIES", 0)
    layer = Official(layers={"X": Layer([{"A": 1}])})
    with serve(layer) as base:
        url = f"{base}/{ARCGIS}/X/FeatureServer/0/query"
        with pytest.raises(DataSourceError, match=r"the ArcGIS server refused .*code 400"):
            _download.download_arcgis(url, tmp_path / "x.csv", {"where": "0=1"}, progress=False)
        _download.download_arcgis(url, tmp_path / "x.csv", progress=False)
    assert (tmp_path / "x.csv").read_text() == "A\n1\n"
    # The same records in another order (a republished service) give the same file.
    rows = [{"FID": i, "CODE": f"E0{i % 7}"} for i in range(1, 400)]
    files = []
    for k, records in enumerate((rows, rows[::-1])):
        with serve(Official(layers={"L": Layer(records)})) as base:
            dest = tmp_path / f"l{k}.csv"
            _download.download_arcgis(f"{base}/{ARCGIS}/L/FeatureServer/0/query", dest,
                                      progress=False)
            files.append(dest.read_bytes())
    assert files[0] == files[1] and files[0].count(b"\n") == 400


def test_lsoa21_converter_reads_both_layouts(tmp_path: Path) -> None:
    v2 = ("LSOA11CD,LSOA11NM,LSOA21CD,LSOA21NM,LAD22CD,LAD22NM,LAD22NMW\n"
          "E01000002,B,E01000002,B,E09000001,City of London,\n"
          "E01000001,A,E01000001,A,E09000001,City of London,\n")
    current = ("FID,F_LSOA11CD,LSOA11NM,CHGIND,LSOA21CD,LSOA21NM,LAD22CD,LAD22NM\n"
               "1,E01000001,A,S,E01035001,A1,E09000001,City of London\n"
               "2,E01000001,A,S,E01000001,A,E09000001,City of London\n"
               "3,E01000002,B,U,E01000002,B,E09000001,City of London\n")
    (tmp_path / "v2.csv").write_text(v2)
    (tmp_path / "cur.csv").write_text(current)
    a, b = C.lsoa21_lookup(tmp_path / "v2.csv"), C.lsoa21_lookup(tmp_path / "cur.csv")
    assert a.to_dict("records") == b.to_dict("records")
    assert list(b["LSOA21CD"]) == ["E01000001", "E01000002"]
