"""Validated readers for the 2025 vintage: IoD 2025 on LSOA 2021 geography.

The tables live under ``vintage2025/`` of the data root (the layout of the reference mirror's
``vintage2025/``; its ``SOURCES.md`` documents each one). Every reader returns a DataFrame keyed
by ``lsoa21cd`` with the same short column names as the 2019 readers of
:mod:`optimiser.loaders` (``imd_score``, ``income_rank``, ``ward_code``, ``rural``, ...), so the
later steps of ``prepare`` read both vintages alike. Problems are one
:class:`~optimiser.errors.InputError` naming the file, row and column.

What differs from 2019, and why:

- **IDACI score**: the mirror holds IoD 2025's IDACI rank and decile (File 3) but not its score
  (a rate, published only in Files 5 and 7). When the IMD table carries ``IDACI_score`` (a table
  converted from File 7 by ``optimiser data fetch``) it is used; otherwise ``idaci_score`` is
  empty and the modelled CIN/CPP apportioning uses the **Income domain score** (the share of
  people in income-deprived households, the rate IDACI is a subset of) as its stand-in; see
  :data:`optimiser.vintage.CASES_RATE_STANDIN`.
- **Population**: the official ONS LSOA 2021 estimates (mid-2022 or later), when the data root
  holds them (:data:`POPULATION_ONS_FILE`, made by
  :func:`optimiser.convert2025.population_from_sape21`); otherwise the mirror's mid-2019
  LSOA 2011 estimates re-cut to LSOA 2021 (derived, fractional where a 2011 LSOA was split).
- **Centroids**: derived population-weighted centroids in British National Grid metres.
- **Rural**: the 2021 rural-urban classes RLN1, RLF1, RSN1 and RSF1.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import DataSourceError, InputError
from optimiser.files import read_table
from optimiser.loaders import (
    _FIRST_DATA_ROW,
    _check_gss,
    _check_range,
    _file,
    _first,
    _memoised,
)

PREFIX = "vintage2025"
IMD_FILE = f"{PREFIX}/iod2025/imd2025_england_lsoa21.csv"
SUBDOMAINS_FILE = f"{PREFIX}/iod2025/imd2025_england_lsoa21_subdomains.csv"
FILE1 = f"{PREFIX}/iod2025/iod2025_file1_imd_ranks_deciles.csv"
FILE3 = f"{PREFIX}/iod2025/iod2025_file3_idaci_idaopi_ranks_deciles.csv"
WARD_FILE = f"{PREFIX}/lsoa2021/lookup_lsoa21_ward24_ltla24.csv"
UTLA_FILE = f"{PREFIX}/lsoa2021/lookup_ltla23_utla23.csv"
REGION_FILE = f"{PREFIX}/lsoa2021/lookup_ltla24_region24.csv"
LSOA11_21_FILE = f"{PREFIX}/lsoa2021/lookup_lsoa11_lsoa21_ltla22.csv"
WEIGHTS_FILE = f"{PREFIX}/lsoa2021/lsoa11_lsoa21_apportion_weights.csv"
RUC_FILE = f"{PREFIX}/lsoa2021/ruc21_lsoa21.csv"
BOUNDARIES_FILE = f"{PREFIX}/lsoa2021/boundaries_lsoa21_bsc_27700.gpkg"
CENTROIDS_FILE = f"{PREFIX}/lsoa2021/lsoa21_centroids_derived.csv"
POPULATION_RECUT_FILE = f"{PREFIX}/lsoa2021/lsoa21_population_mid2019_apportioned.csv"
#: The official ONS LSOA 2021 estimates as converted by ``optimiser data fetch`` (optional).
POPULATION_ONS_FILE = f"{PREFIX}/population/lsoa21_population_ons_sape.csv"
#: The ``method`` of ONS's own LSOA 2021 population-weighted centroids in
#: :data:`CENTROIDS_FILE` (the table ``optimiser data fetch`` builds; the mirror's are derived).
ONS_PWC_METHOD = "ons_pwc_2021"

#: English LSOAs 2021 (IoD 2025 covers each exactly once).
ENGLISH_LSOAS = 33_755
#: The 2021 rural-urban classes; the four "R" classes are rural (larger/smaller rural,
#: nearer to/further from a major town or city).
RUC21_CODES = ("UN1", "UF1", "RLN1", "RLF1", "RSN1", "RSF1")
RUC21_RURAL = ("RLN1", "RLF1", "RSN1", "RSF1")
LSOA21_PATTERN = r"^[EW]01\d{6}$"

#: IoD 2025 column stems (humaniverse/IMD names of File 7's columns) -> the short names of the
#: 2019 tables.
DOMAINS = {"IMD": "imd", "Income": "income", "Employment": "employment",
           "Education": "education", "Health": "health", "Crime": "crime",
           "Housing_and_Services": "barriers", "Environment": "living_env"}
SUBDOMAINS = ("children_and_young_people", "adult_skills", "geographical_barriers",
              "wider_barriers", "indoors", "outdoors")
_FILE_CODE = "LSOA code (2021)"
_FILE_NAME = "LSOA name (2021)"
_FILE_LAD = "Local Authority District code (2024)"
_FILE_LADNM = "Local Authority District name (2024)"
_IDACI = "Income Deprivation Affecting Children Index (IDACI)"
_IDAOPI = "Income Deprivation Affecting Older People (IDAOPI)"
_RANK = " Rank (where 1 is most deprived)"
_DECILE = " Decile (where 1 is most deprived 10% of LSOAs)"


def _check_lsoa21(df: pd.DataFrame, col: str, path: Path) -> None:
    ok = df[col].astype("string").str.fullmatch(LSOA21_PATTERN).fillna(False)
    if not ok.all():
        i = _first(~ok)
        raise InputError(f"'{df[col].iloc[i]}' is not an LSOA code", file=path,
                         row=int(df.index[i]) + _FIRST_DATA_ROW, column=col,
                         hint="LSOA 2021 codes are E01 or W01 followed by six digits")


def _ranks_deciles(df: pd.DataFrame, path: Path, ranks: list[str], deciles: list[str]) -> None:
    for col in deciles:
        _check_range(df, col, path, 1, 10, "deciles run from 1 (most deprived 10% of LSOAs) to 10")
    for col in ranks:
        _check_range(df, col, path, 1, ENGLISH_LSOAS,
                     "ranks run from 1 (most deprived) to 33,755 (English LSOAs 2021)")


# --------------------------------------------------------------------------------------------
# IoD 2025
# --------------------------------------------------------------------------------------------


@_memoised
def _read_imd(root: Path, path: Path) -> pd.DataFrame:
    ranks = [f"{d}_rank" for d in DOMAINS]
    deciles = [f"{d}_decile" for d in DOMAINS]
    scores = [f"{d}_score" for d in DOMAINS]
    df = read_table(path, required=["lsoa21_code", *ranks, *deciles, *scores],
                    numeric=scores, integer=[*ranks, *deciles], unique=["lsoa21_code"],
                    text=["lsoa21_code"], what="IoD 2025 table")
    _check_lsoa21(df, "lsoa21_code", path)
    _ranks_deciles(df, path, ranks, deciles)
    out = pd.DataFrame({"lsoa21cd": df["lsoa21_code"].str.strip()})
    for stem, short in DOMAINS.items():
        for kind in ("score", "rank", "decile"):
            out[f"{short}_{kind}"] = df[f"{stem}_{kind}"].to_numpy()
    # A table converted from File 7 carries the IDACI/IDAOPI scores; the mirror's does not.
    for stem in ("IDACI", "IDAOPI"):
        if f"{stem}_score" in df.columns:
            out[f"{stem.lower()}_score"] = pd.to_numeric(df[f"{stem}_score"], errors="coerce")
    return out


@_memoised
def _read_file3(root: Path, path: Path) -> pd.DataFrame:
    cols = {"idaci_rank": _IDACI + _RANK, "idaci_decile": _IDACI + _DECILE,
            "idaopi_rank": _IDAOPI + _RANK, "idaopi_decile": _IDAOPI + _DECILE}
    df = read_table(path, required=[_FILE_CODE, _FILE_NAME, _FILE_LAD, _FILE_LADNM,
                                    *cols.values()],
                    integer=list(cols.values()), unique=[_FILE_CODE],
                    text=[_FILE_CODE, _FILE_NAME, _FILE_LAD, _FILE_LADNM],
                    what="IoD 2025 File 3 (IDACI and IDAOPI)")
    _check_lsoa21(df, _FILE_CODE, path)
    _check_gss(df, _FILE_LAD, path, "local authority district")
    out = df.rename(columns={_FILE_CODE: "lsoa21cd", _FILE_NAME: "lsoa21nm",
                             **{v: k for k, v in cols.items()}})
    _ranks_deciles(out, path, ["idaci_rank", "idaopi_rank"], ["idaci_decile", "idaopi_decile"])
    return out[["lsoa21cd", "lsoa21nm", *cols]]


def load_imd(root: Path) -> pd.DataFrame:
    """IoD 2025 per LSOA 2021 in the short names of the 2019 table.

    Columns: ``lsoa21cd, lsoa21nm``; ``<domain>_score``, ``_rank``, ``_decile`` for imd, income,
    employment, education, health, crime, barriers (Barriers to Housing and Services),
    living_env; ``idaci_rank, idaci_decile, idaopi_rank, idaopi_decile`` (File 3);
    ``idaci_score`` and ``idaopi_score`` (empty unless the table holds File 7's scores).
    Rank 1 and decile 1 are the most deprived.
    """
    imd = _read_imd(root, _file(root, IMD_FILE))
    f3 = _read_file3(root, _file(root, FILE3))
    missing = sorted(set(imd["lsoa21cd"]) ^ set(f3["lsoa21cd"]))
    if missing:
        raise InputError(
            f"{len(missing)} LSOA codes are in only one of the IoD 2025 tables "
            f"(e.g. {', '.join(missing[:3])})", file=Path(root) / FILE3,
            hint="both must list the 33,755 English LSOAs 2021; rebuild them with "
            "'optimiser data fetch --vintage 2025 --force'")
    out = imd.merge(f3, on="lsoa21cd", how="left")
    for col in ("idaci_score", "idaopi_score"):
        if col not in out.columns:
            out[col] = np.nan
    return out


# --------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------

_POP_COLUMNS = ["total", "age_0_4", "age_0_17", "age_0_19"]


@_memoised
def _read_population(root: Path, path: Path) -> pd.DataFrame:
    code = "lsoa21cd"
    df = read_table(path, required=[code, *_POP_COLUMNS], nonnegative=_POP_COLUMNS,
                    unique=[code], text=[code, "lsoa21nm"], what="LSOA 2021 population table")
    _check_lsoa21(df, code, path)
    for band in ("age_0_4", "age_0_17", "age_0_19"):
        over = df[band] > df["total"] + 1e-6
        if over.any():
            i = _first(over)
            raise InputError(
                f"{df[band].iloc[i]:g} children in {band} but a total population of "
                f"{df['total'].iloc[i]:g}", file=path, row=i + _FIRST_DATA_ROW, column=band,
                hint="the age columns must be parts of 'total' (all ages, persons)")
    keep = [code, *_POP_COLUMNS] + [c for c in ("mid_year",) if c in df.columns]
    return df[keep]


def load_population(root: Path) -> tuple[pd.DataFrame, dict]:
    """Children and people per LSOA 2021, and which estimate they are.

    The official ONS LSOA 2021 estimates (:data:`POPULATION_ONS_FILE`) when the data root holds
    them; otherwise the mirror's mid-2019 estimates re-cut to LSOA 2021 (derived: every table
    that shows them says so).

    Returns
    -------
    (pandas.DataFrame, dict)
        ``lsoa21cd, total, age_0_4, age_0_17, age_0_19`` (floats: the re-cut figures are
        fractional where a 2011 LSOA was split), and ``{"file", "estimate", "derived",
        "note"}``.
    """
    official = Path(root) / POPULATION_ONS_FILE
    if official.exists():
        df = _read_population(root, official)
        years = sorted(set(df["mid_year"].astype(int))) if "mid_year" in df.columns else []
        year = f"mid-{years[-1]}" if years else "mid-year (as published)"
        return df, {"file": POPULATION_ONS_FILE, "estimate": f"ONS {year}, LSOA 2021",
                    "derived": False,
                    "note": f"population: ONS small area estimates, {year}, on LSOA 2021"}
    recut = Path(root) / POPULATION_RECUT_FILE
    if not recut.exists():
        raise DataSourceError(
            "the data folder holds no LSOA 2021 population: neither the ONS estimates "
            f"({POPULATION_ONS_FILE}) nor the mirror's re-cut mid-2019 figures "
            f"({POPULATION_RECUT_FILE})", file=recut,
            hint="run 'optimiser data fetch --vintage 2025' (it converts the ONS LSOA 2021 "
            "estimates; the download is listed by 'optimiser data list'), or point --mirror at "
            "a complete data mirror")
    df = _read_population(root, recut)
    return df, {"file": POPULATION_RECUT_FILE, "derived": True,
                "estimate": "ONS mid-2019 (LSOA 2011) re-cut to LSOA 2021 (derived)",
                "note": POPULATION_RECUT_NOTE}


#: Said in every table built on the re-cut population.
POPULATION_RECUT_NOTE = (
    "population: ONS mid-2019 estimates (LSOA 2011) re-cut to LSOA 2021 by the mirror's "
    "apportioning weights (derived, not an ONS estimate; about 5.5% of LSOAs 2021 carry "
    "apportioned values); official ONS LSOA 2021 estimates (mid-2022 or later) replace them "
    "when 'optimiser data fetch --vintage 2025' has converted them")


# --------------------------------------------------------------------------------------------
# Lookups
# --------------------------------------------------------------------------------------------


@_memoised
def _read_ward(root: Path, path: Path) -> pd.DataFrame:
    cols = ["lsoa21_code", "lsoa21_name", "ward24_code", "ward24_name", "ltla24_code",
            "ltla24_name"]
    df = read_table(path, required=cols, unique=["lsoa21_code"], text=cols,
                    what="LSOA 2021 to ward 2024 lookup")
    _check_lsoa21(df, "lsoa21_code", path)
    _check_gss(df, "ward24_code", path, "ward")
    _check_gss(df, "ltla24_code", path, "district")
    return df.rename(columns={"lsoa21_code": "lsoa21cd", "lsoa21_name": "lsoa21nm",
                              "ward24_code": "ward_code", "ward24_name": "ward_name",
                              "ltla24_code": "lad_code", "ltla24_name": "lad_name"})[
        ["lsoa21cd", "lsoa21nm", "ward_code", "ward_name", "lad_code", "lad_name"]]


def load_ward_lookup(root: Path) -> pd.DataFrame:
    """LSOA 2021 to ward 2024 and district 2024 (ONS best fit):
    ``lsoa21cd, lsoa21nm, ward_code, ward_name, lad_code, lad_name``."""
    return _read_ward(root, _file(root, WARD_FILE))


@_memoised
def _read_utla(root: Path, path: Path) -> pd.DataFrame:
    cols = ["ltla23_code", "ltla23_name", "utla23_code", "utla23_name"]
    df = read_table(path, required=cols, unique=["ltla23_code"], text=cols,
                    what="district 2023 to upper-tier LA 2023 lookup")
    _check_gss(df, "ltla23_code", path, "district")
    _check_gss(df, "utla23_code", path, "upper-tier LA")
    return df


def load_utla_lookup(root: Path) -> pd.DataFrame:
    """LSOA 2021 to upper-tier local authority 2023 (April 2023: Cumberland, Westmorland and
    Furness, North Yorkshire and Somerset are unitary): ``lsoa21cd, lsoa21nm, utla_code,
    utla_name``, through the ward lookup's district 2024 (every 2024 district code is a 2023
    one)."""
    path = _file(root, UTLA_FILE)
    utla = _read_utla(root, path)
    ward = load_ward_lookup(root)
    out = ward.merge(utla, left_on="lad_code", right_on="ltla23_code", how="left")
    gone = out["utla23_code"].isna()
    if gone.any():
        i = _first(gone)
        raise InputError(
            f"district {out['lad_code'].iloc[i]} ({out['lad_name'].iloc[i]}) of the ward lookup "
            "is not in the district to upper-tier LA lookup", file=path, column="ltla23_code",
            hint="the two lookups must be of the same release: rebuild them with "
            "'optimiser data fetch --vintage 2025 --force'")
    out = out.rename(columns={"utla23_code": "utla_code", "utla23_name": "utla_name"})
    return out[["lsoa21cd", "lsoa21nm", "utla_code", "utla_name"]]


@_memoised
def _read_ruc(root: Path, path: Path) -> pd.DataFrame:
    df = read_table(path, required=["lsoa21_code", "ruc21_code"], unique=["lsoa21_code"],
                    text=["lsoa21_code", "ruc21_code", "classification", "ruc"],
                    what="rural-urban classification 2021")
    _check_lsoa21(df, "lsoa21_code", path)
    bad = ~df["ruc21_code"].isin(RUC21_CODES)
    if bad.any():
        i = _first(bad)
        raise InputError(f"'{df['ruc21_code'].iloc[i]}' is not a 2021 rural-urban class",
                         file=path, row=i + _FIRST_DATA_ROW, column="ruc21_code",
                         hint=f"the classes are {', '.join(RUC21_CODES)} (the R classes are "
                         "rural)")
    out = df.rename(columns={"lsoa21_code": "lsoa21cd", "ruc21_code": "ruc_code"})
    out["ruc_name"] = df["classification"] if "classification" in df.columns else ""
    out["rural"] = out["ruc_code"].isin(RUC21_RURAL)
    return out[["lsoa21cd", "ruc_code", "ruc_name", "rural"]]


def load_rural_urban(root: Path) -> pd.DataFrame:
    """Rural-urban classification 2021: ``lsoa21cd, ruc_code, ruc_name, rural`` (RLN1, RLF1,
    RSN1, RSF1 are rural)."""
    return _read_ruc(root, _file(root, RUC_FILE))


@_memoised
def _read_centroids(root: Path, path: Path) -> pd.DataFrame:
    df = read_table(path, required=["lsoa21cd", "easting", "northing", "latitude", "longitude"],
                    numeric=["easting", "northing", "latitude", "longitude"],
                    unique=["lsoa21cd"],
                    text=["lsoa21cd", "method"], what="LSOA 2021 centroids")
    _check_lsoa21(df, "lsoa21cd", path)
    for col in ("easting", "northing"):
        _check_range(df, col, path, 0, 1_300_000, "British National Grid metres (EPSG:27700)")
    out = df.rename(columns={"easting": "x", "northing": "y"})
    if "method" not in out.columns:
        out["method"] = "as given"
    return out[["lsoa21cd", "x", "y", "latitude", "longitude", "method"]]


def load_centroids(root: Path) -> pd.DataFrame:
    """Population-weighted centroids of LSOAs 2021: ``lsoa21cd, x, y`` (BNG metres),
    ``latitude, longitude`` (WGS84), ``method`` (derived in the mirror: see its SOURCES.md)."""
    return _read_centroids(root, _file(root, CENTROIDS_FILE))


@_memoised
def _read_weights(root: Path, path: Path) -> pd.DataFrame:
    cols = ["lsoa11_code", "lsoa21_code", "change_code", "weight"]
    df = read_table(path, required=cols, numeric=["weight"], nonnegative=["weight"],
                    text=["lsoa11_code", "lsoa21_code", "change_code"],
                    what="LSOA 2011 to 2021 apportioning weights")
    for col in ("lsoa11_code", "lsoa21_code"):
        _check_lsoa21(df, col, path)
    _check_range(df, "weight", path, 0, 1, "each 2011 LSOA's weights share it out (0 to 1)")
    sums = df.groupby("lsoa11_code")["weight"].sum()
    off = sums[(sums - 1).abs() > 1e-5]  # weights are written to 6 decimals
    if len(off):
        raise InputError(f"the weights of LSOA 2011 {off.index[0]} add up to {off.iloc[0]:.6f}, "
                         "not 1", file=path, column="weight",
                         hint="every 2011 LSOA's weights over its 2021 LSOAs must sum to 1")
    return df.rename(columns={"lsoa11_code": "lsoa11cd", "lsoa21_code": "lsoa21cd"})[
        ["lsoa11cd", "lsoa21cd", "change_code", "weight"]]


def load_lsoa11_to_21_weights(root: Path) -> pd.DataFrame:
    """Every LSOA 2011 -> LSOA 2021 pair with its ONS change code (U unchanged, S split, M
    merged, X irregular) and the weight that shares the 2011 LSOA's counts among its 2021 LSOAs
    (1 except for splits and irregular changes; each 2011 LSOA's weights sum to 1):
    ``lsoa11cd, lsoa21cd, change_code, weight``."""
    return _read_weights(root, _file(root, WEIGHTS_FILE))


def weights_label(root: Path) -> str:
    """What the apportioning weights of a data root are, for the notes: the mirror's (a blend of
    postcode counts and equal shares; its table keeps the postcode-only ``w_proxy``) or a
    download's equal shares (the postcode-based weights cannot be rebuilt from a download)."""
    header = pd.read_csv(_file(root, WEIGHTS_FILE), nrows=0).columns
    if "w_proxy" in header:
        return "the data mirror's apportioning weights"
    return "equal shares among its 2021 LSOAs (downloaded data: no postcode-based weights)"


def boundaries_file(root: Path) -> Path:
    """The LSOA 2021 boundaries (ONS December 2021, super-generalised, EPSG:27700)."""
    return _file(root, BOUNDARIES_FILE)
