"""Official layouts -> canonical tables.

Each test writes a file in the publisher's layout (built from the mirror's canonical values, so
the expected answer is known), converts it, and checks the result against the canonical table:
byte for byte where the conversion is exact, and through the loaders.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from openpyxl import Workbook

from optimiser import convert as C
from optimiser import loaders as L
from optimiser.errors import InputError
from optimiser.sources import CONVERTERS, canonical_csv, load_manifest

OXON = "E10000025"


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# --------------------------------------------------------------------------------------------
# Writers of official layouts (used by test_sources.py too)
# --------------------------------------------------------------------------------------------


def official_file7(compact: pd.DataFrame) -> pd.DataFrame:
    """IoD 2019 File 7 layout (published headers, in published order) from canonical rows."""
    out = {}
    for key, label in C._DOMAINS.items():
        score = {"imd": "Index of Multiple Deprivation (IMD) Score",
                 "income": "Income Score (rate)", "employment": "Employment Score (rate)",
                 "idaci": label + " Score (rate)", "idaopi": label + " Score (rate)"}.get(
                     key, label + " Score")
        canon_score = f"{key}_score"
        # Domain scores the canonical table does not keep: a made-up value, dropped on convert.
        out[score] = compact.get(canon_score, 1.234)
        out[label + C._RANK] = compact[f"{key}_rank"]
        out[label + C._DECILE] = compact[f"{key}_decile"]
    out["Children and Young People Sub-domain Score"] = 0.5
    first = {C.FILE7_COLUMNS[c]: compact[c] for c in ("lsoa11cd", "lsoa11nm", "lad19cd",
                                                       "lad19nm")}
    pops = {C.FILE7_COLUMNS[c]: compact[c] for c in C.FILE7_COLUMNS if c.startswith("pop_")}
    return pd.DataFrame({**first, **out, **pops})


def write_sape_workbook(path: Path, pop: pd.DataFrame, welsh: pd.DataFrame | None = None) -> None:
    """ONS SAPE22DT2 layout: title rows, then 'LSOA Code', 'LSOA Name', LA columns, 'All Ages',
    0 ... 89 (numbers), '90+'. Ages 20+ hold the rest of the total (at 40) so rows add up."""
    wb = Workbook()
    wb.active.title = "Contents"
    for sheet in ("Mid-2019 Males", "Mid-2019 Persons"):
        ws = wb.create_sheet(sheet)
        ws.append(["Mid-2019 Population Estimates for Lower Layer Super Output Areas in "
                   "England and Wales by Single Year of Age and Sex"])
        ws.append(["National Statistics"])
        ws.append([])
        ws.append([sheet.split()[-1]])
        ws.append(["LSOA Code", "LSOA Name", "LA Code (2019 boundaries)",
                   "LA name (2019 boundaries)", "LA Code (2020 boundaries)",
                   "LA name (2020 boundaries)", "All Ages", *range(90), "90+"])
        rows = pop if welsh is None else pd.concat([pop, welsh], ignore_index=True)
        factor = 1 if sheet.endswith("Persons") else 0  # males sheet: all zeros
        for r in rows.itertuples(index=False):
            d = r._asdict()
            young = [int(d[f"age_{a}"]) * factor for a in range(20)]
            rest = [0] * 71
            rest[20] = int(d["total"]) * factor - sum(young)
            ws.append([d["lsoa11cd"], d["lsoa11nm"], "E07000178", "Oxford", "E07000178",
                       "Oxford", int(d["total"]) * factor, *young, *rest])
        ws.append([])
        ws.append(["Source: Office for National Statistics"])  # a footnote, not data
    buf = io.BytesIO()
    wb.save(buf)
    if path.suffix == ".zip":
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("SAPE22DT2-mid-2019-lsoa-syoa-estimates-unformatted.xlsx",
                        buf.getvalue())
    else:
        path.write_bytes(buf.getvalue())


def official_lookup(canonical: pd.DataFrame, lower: bool = False) -> pd.DataFrame:
    """ONS portal export: an FID column, rows in another order, maybe lower-case names."""
    df = canonical.iloc[::-1].reset_index(drop=True)
    df.insert(0, "FID", range(1, len(df) + 1))
    if lower:
        df.columns = [c.lower() for c in df.columns]
    return df


def official_pwc(centroids: pd.DataFrame) -> pd.DataFrame:
    x, y = C.latlong_to_bng(centroids["latitude"], centroids["longitude"])
    return pd.DataFrame({"OBJECTID": range(1, len(centroids) + 1),
                         "LSOA11CD": centroids["lsoa11cd"], "LSOA11NM": "name",
                         "X": np.round(x, 3), "Y": np.round(y, 3)})


GIAS_HEADER = ("URN,LA (code),LA (name),EstablishmentNumber,EstablishmentName,"
               "TypeOfEstablishment (name),EstablishmentStatus (name),Postcode,Easting,Northing")
GIAS_ROWS = [
    "123456,931,Oxfordshire,2001,Cherwell Primary School,Community school,Open,OX16 1AA,"
    "445000,240000",
    "20010,931,Oxfordshire,,Blackbird Leys Children\u2019s Centre,Children\u2019s centre,Open,"
    "OX4 6HW,455100,202300",
    "20002,931,Oxfordshire,,Rose Hill Linked Site,Children's centre linked site,"
    "\"Open, but proposed to close\",OX4 4HF,0,0",
    "20003,931,Oxfordshire,,Old Centre,Children's centre,Closed,OX1 1AA,451000,206000",
    "20004,931,Oxfordshire,,New Centre,Children's centre,Proposed to open,OX2 2BB,,",
]


def gias_bytes() -> bytes:
    return ("\r\n".join([GIAS_HEADER, *GIAS_ROWS]) + "\r\n").encode("cp1252")


# --------------------------------------------------------------------------------------------
# Fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def compact(mirror: Path) -> pd.DataFrame:
    return pd.read_csv(mirror / L.IMD_FILE, dtype={"lsoa11cd": str})


@pytest.fixture(scope="module")
def oxon_codes(mirror: Path) -> set[str]:
    utla = pd.read_csv(mirror / L.UTLA_FILE, dtype=str)
    return set(utla.loc[utla["UTLA19CD"] == OXON, "LSOA11CD"])


def root_with(tmp_path: Path, mirror: Path, tables: dict[str, bytes]) -> Path:
    root = tmp_path / "root"
    for rel, data in tables.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)
    if L.LSOA21_FILE not in tables:
        (root / "lookups").mkdir(parents=True, exist_ok=True)
        (root / L.LSOA21_FILE).symlink_to(mirror / L.LSOA21_FILE)
    return root


# --------------------------------------------------------------------------------------------
# IoD 2019 File 7
# --------------------------------------------------------------------------------------------


def test_file7_full_conversion_reproduces_the_mirror_bytes(
    tmp_path: Path, mirror: Path, compact: pd.DataFrame
) -> None:
    path = tmp_path / "File_7.csv"
    official_file7(compact.sample(frac=1, random_state=1)).to_csv(path, index=False)
    data = CONVERTERS["imd_from_file7"](path)["imd2019/imd2019_lsoa_compact.csv"]
    expected = next(s for s in load_manifest() if s.id == "iod2019_file7").sha256_canonical
    assert sha(data) == expected["imd2019/imd2019_lsoa_compact.csv"]
    assert data == (mirror / L.IMD_FILE).read_bytes()


def test_file7_oxfordshire_convert_then_load(
    tmp_path: Path, mirror: Path, compact: pd.DataFrame, oxon_codes: set[str]
) -> None:
    ox = compact[compact["lsoa11cd"].isin(oxon_codes)]
    path = tmp_path / "File_7.csv"
    official_file7(ox).to_csv(path, index=False, encoding="utf-8-sig")  # with a BOM
    imd = C.imd_from_file7(path)
    assert len(imd) == 407 and list(imd.columns) == list(C.FILE7_COLUMNS)
    root = root_with(tmp_path, mirror, {L.IMD_FILE: canonical_csv(imd, "%.3f")})
    loaded = L.load_imd(root)
    want = L.load_imd(mirror).query("lsoa11cd in @oxon_codes").reset_index(drop=True)
    pd.testing.assert_frame_equal(loaded, want)
    assert loaded.set_index("lsoa11cd").loc["E01028568", "imd_rank"] == 3168


def test_file7_iod2025_headers_name_the_vintage(tmp_path: Path, compact: pd.DataFrame) -> None:
    df = official_file7(compact.head(3)).rename(columns={
        "LSOA code (2011)": "LSOA code (2021)", "LSOA name (2011)": "LSOA name (2021)"})
    path = tmp_path / "File_7_IoD2025.csv"
    df.to_csv(path, index=False)
    with pytest.raises(InputError) as exc:
        C.imd_from_file7(path)
    err = exc.value
    assert err.file == str(path) and err.column == "LSOA code (2011)"
    assert "'LSOA code (2021)'" in err.problem and "LSOA 2011" in err.problem
    assert "IoD 2025" in err.problem and "2019" in err.hint


def test_file7_text_in_a_rank(tmp_path: Path, compact: pd.DataFrame) -> None:
    df = official_file7(compact.head(5)).astype(str)
    df.iloc[3, df.columns.get_loc("Crime" + C._RANK)] = "n/a"
    path = tmp_path / "f7.csv"
    df.to_csv(path, index=False)
    with pytest.raises(InputError, match="'n/a' is not a number") as exc:
        C.imd_from_file7(path)
    assert (exc.value.row, exc.value.column) == (5, "crime_rank")


def test_web_page_instead_of_csv(tmp_path: Path) -> None:
    path = tmp_path / "f7.csv"
    path.write_text("<!DOCTYPE html><html><body>Moved</body></html>")
    with pytest.raises(InputError, match="web page, not a CSV") as exc:
        C.imd_from_file7(path)
    assert "landing page" in exc.value.hint


# --------------------------------------------------------------------------------------------
# ONS SAPE22DT2 workbook
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".xlsx", ".zip"])
def test_sape_workbook_to_population(tmp_path: Path, mirror: Path, oxon_codes: set[str],
                                     suffix: str) -> None:
    pop = pd.read_csv(mirror / L.POPULATION_FILE, dtype={"lsoa11cd": str})
    ox = pop[pop["lsoa11cd"].isin(oxon_codes)].reset_index(drop=True)
    welsh = ox.head(2).assign(lsoa11cd=["W01000001", "W01000002"], lsoa11nm="Isle of Anglesey")
    path = tmp_path / f"sape22dt2{suffix}"
    write_sape_workbook(path, ox.iloc[::-1], welsh)
    data = CONVERTERS["population_from_sape"](path)[L.POPULATION_FILE]
    # Byte-identical to the mirror's rows for these LSOAs (header + 407 rows, Welsh dropped).
    expected = canonical_csv(ox)
    assert data == expected
    root = root_with(tmp_path, mirror, {L.POPULATION_FILE: data})
    loaded = L.load_population(root)
    assert len(loaded) == 407
    assert (loaded["total"].sum(), loaded["age_0_4"].sum(), loaded["age_0_19"].sum()) == (
        691_667, 39_432, 163_679)


def test_sape_missing_sheet(tmp_path: Path, mirror: Path) -> None:
    pop = pd.read_csv(mirror / L.POPULATION_FILE, dtype={"lsoa11cd": str}, nrows=3)
    path = tmp_path / "sape.xlsx"
    write_sape_workbook(path, pop)
    with pytest.raises(InputError, match="no sheet 'Mid-2020 Persons'") as exc:
        C.population_from_sape(path, sheet="Mid-2020 Persons")
    assert exc.value.file == str(path) and "--force" in exc.value.hint


# --------------------------------------------------------------------------------------------
# DfE tables and ONS lookups
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("converter, rel", [("dfe_cin_b1", L.CIN_FILE),
                                            ("dfe_cpp_d5", L.CPP_FILE)])
def test_dfe_tables_pass_through(tmp_path: Path, mirror: Path, converter: str, rel: str) -> None:
    path = tmp_path / "dfe.csv"
    path.write_bytes((mirror / rel).read_bytes())
    assert CONVERTERS[converter](path)[rel] == (mirror / rel).read_bytes()


def test_dfe_missing_value_column(tmp_path: Path, mirror: Path) -> None:
    df = pd.read_csv(mirror / L.CPP_FILE, dtype=str, nrows=5).drop(columns=["CPP_At31"])
    path = tmp_path / "d5.csv"
    df.to_csv(path, index=False)
    with pytest.raises(InputError, match="official column 'CPP_At31' is missing") as exc:
        C.dfe_table(path, "CPP_At31")
    assert exc.value.column == "CPP_At31"


@pytest.mark.parametrize("converter, rel, lower", [
    ("ons_utla19", L.UTLA_FILE, False),
    ("ons_ward19", L.WARD_FILE, True),
    ("ons_ruc11", L.RUC_FILE, False),
    ("ons_lsoa21", L.LSOA21_FILE, True),
])
def test_ons_lookups_reproduce_the_mirror_bytes(tmp_path: Path, mirror: Path, converter: str,
                                                rel: str, lower: bool) -> None:
    canonical = pd.read_csv(mirror / rel, dtype=str, keep_default_na=False)
    path = tmp_path / "lookup.csv"
    official_lookup(canonical, lower).to_csv(path, index=False)
    data = CONVERTERS[converter](path)[rel]
    assert data == (mirror / rel).read_bytes()
    assert len(data.splitlines()) == 34_753 + 1


def test_pwc_centroids_projected(tmp_path: Path, mirror: Path) -> None:
    cen = pd.read_csv(mirror / L.CENTROIDS_FILE, dtype={"lsoa11cd": str})
    path = tmp_path / "pwc.csv"
    official_pwc(cen.iloc[::-1]).to_csv(path, index=False)
    data = CONVERTERS["ons_pwc"](path)[L.CENTROIDS_FILE]
    root = root_with(tmp_path, mirror, {L.CENTROIDS_FILE: data})
    got = L.load_centroids(root)
    assert len(got) == 34_753 and list(got["lsoa11cd"]) == list(cen["lsoa11cd"])
    # BNG rounded to 1 mm and back: within about 1e-7 degrees of the mirror.
    assert np.abs(got["latitude"] - cen["latitude"]).max() < 1e-6
    assert np.abs(got["longitude"] - cen["longitude"]).max() < 1e-6


# --------------------------------------------------------------------------------------------
# GIAS children's centres
# --------------------------------------------------------------------------------------------


def test_gias_to_childrens_centres(tmp_path: Path, mirror: Path) -> None:
    path = tmp_path / "edubasealldata20250101.csv"
    path.write_bytes(gias_bytes())
    cc = C.childrens_centres_from_gias(path)
    assert list(cc["urn"]) == ["20002", "20003", "20004", "20010"]  # the school is dropped
    assert list(cc["status"]) == ["open", "closed", "closed", "open"]
    assert list(cc["type"]) == ["Children's centre linked site", "Children's centre",
                                "Children's centre", "Children's centre"]
    assert cc["name"].iloc[3] == "Blackbird Leys Children\u2019s Centre"  # cp1252 decoded
    assert pd.isna(cc.loc[0, "easting"])  # GIAS 0,0 = no grid reference
    root = root_with(tmp_path, mirror, {L.CHILDRENS_CENTRES_FILE: canonical_csv(cc)})
    loaded = L.load_childrens_centres(root)
    assert list(loaded.columns) == L.CHILDRENS_CENTRE_COLUMNS
    assert loaded.set_index("urn").loc["20010", "northing"] == 202_300
    assert set(loaded["la_code"]) == {"931"}
