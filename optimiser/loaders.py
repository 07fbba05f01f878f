"""Validated readers for the canonical official tables (one function per table).

Each takes the data root (see :func:`optimiser.sources.data_root`) and returns a DataFrame with
short, stable column names. Every problem is one :class:`~optimiser.errors.InputError` naming the
file, the row or column and the fix: missing columns, text in number columns, negative counts,
duplicate LSOAs, values that are not LSOA codes, out-of-range deciles, and the wrong geography
vintage (LSOA 2021 codes, or IoD 2025 tables, where IMD 2019 on LSOA 2011 is expected).

Tables are read once per process: a loader's result is kept in memory keyed by the file's path,
modification time and size, and each call returns a copy (cheap under pandas copy-on-write).

Examples
--------
>>> from optimiser.loaders import load_imd  # doctest: +SKIP
>>> imd = load_imd(root)                     # doctest: +SKIP
>>> imd.loc[imd.lsoa11cd == "E01028568", "imd_decile"].item()  # doctest: +SKIP
1
"""

from __future__ import annotations

import csv
import functools
import os
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import DataSourceError, InputError
from optimiser.files import read_table

IMD_FILE = "imd2019/imd2019_lsoa_compact.csv"
POPULATION_FILE = "population/lsoa11_population_mid2019_england.csv"
CIN_FILE = "children_in_need/dfe_b1_children_in_need_2013_to_2024.csv"
CPP_FILE = "children_in_need/dfe_d5_cpps_at31march_by_duration_2013_to_2024.csv"
UTLA_FILE = "lookups/lsoa11_utla19_ew.csv"
WARD_FILE = "lookups/lsoa11_ward19_lad19_ew.csv"
RUC_FILE = "lookups/lsoa11_rural_urban_classification_2011_ew.csv"
CENTROIDS_FILE = "lookups/lsoa11_population_weighted_centroids_latlong_ew.csv"
LSOA21_FILE = "lookups/lsoa11_lsoa21_lad22_ew.csv"
CHILDRENS_CENTRES_FILE = "childrens_centres/childrens_centres.csv"

#: Every canonical table a complete data root holds (children's centres are optional).
CANONICAL_FILES = (IMD_FILE, POPULATION_FILE, CIN_FILE, CPP_FILE, UTLA_FILE, WARD_FILE, RUC_FILE,
                   CENTROIDS_FILE, LSOA21_FILE)

#: An ONS GSS area code (e.g. E10000025, E07000178, E05009288).
GSS_PATTERN = r"^[EWSNK]\d{8}$"
#: DfE suppression and not-applicable symbols in Explore Education Statistics tables.
DFE_SUPPRESSED = frozenset({"x", "c", "z", "u", "low", ":", ".", "..", ""})

_FIRST_DATA_ROW = 2
IMD_DOMAINS = ("imd", "income", "employment", "education", "health", "crime", "barriers",
               "living_env", "idaci", "idaopi")
# Headers that betray a later vintage: LSOA 2021 codes, IoD 2025, LAD 2021+ columns.
_LATER_VINTAGE = re.compile(r"(2021|2025|lsoa21|lsoa_21|\blad2[1-5]|iod25)", re.IGNORECASE)


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------


def _file(root: Path, rel: str) -> Path:
    path = Path(root) / rel
    if not path.exists():
        raise DataSourceError(
            f"the official table {rel} is not in the data folder", file=path,
            hint="run 'optimiser data fetch', or point --mirror at a complete data mirror",
        )
    return path


_MEMO: dict[tuple[str, str, int, int], pd.DataFrame] = {}
_MEMO_LIMIT = 32


def _memoised(fn: Callable[[Path, Path], pd.DataFrame]) -> Callable[[Path, Path], pd.DataFrame]:
    """Keep a reader's result per (file, modification time, size); return copies."""

    @functools.wraps(fn)
    def wrapper(root: Path, path: Path) -> pd.DataFrame:
        st = os.stat(path)
        key = (fn.__name__, str(Path(path).resolve()), st.st_mtime_ns, st.st_size)
        if key not in _MEMO:
            if len(_MEMO) >= _MEMO_LIMIT:  # many small roots (tests): drop the oldest
                _MEMO.pop(next(iter(_MEMO)))
            _MEMO[key] = fn(root, path)
        return _MEMO[key].copy()

    return wrapper


def clear_cache() -> None:
    """Forget every table read so far (tests that rewrite a file within one clock tick)."""
    _MEMO.clear()
    from optimiser.checks import _code_sets_cached

    _code_sets_cached.cache_clear()


def _first(mask: pd.Series | np.ndarray) -> int:
    return int(np.flatnonzero(np.asarray(mask, dtype=bool))[0])


def _header(path: Path) -> list[str]:
    """The column names of a CSV's first line ([] for an empty file)."""
    with open(path, encoding="utf-8-sig", errors="replace", newline="") as fh:
        first = next(csv.reader(fh), [])
    return [c.strip() for c in first]


def _check_header_vintage(path: Path, what: str) -> None:
    """Refuse a table whose headers name LSOA 2021 / IoD 2025 where 2011 / 2019 is expected."""
    cols = _header(path)
    later = [c for c in cols if _LATER_VINTAGE.search(c)]
    if later:
        raise InputError(
            f"the {what} has column(s) {', '.join(repr(c) for c in later[:3])} that belong to "
            "a later geography vintage (LSOA 2021 / IoD 2025), but this tool uses IMD 2019 on "
            "LSOA 2011 boundaries",
            file=path, column=later[0],
            hint="use the English Indices of Deprivation 2019 tables (LSOA 2011); IoD 2025 "
            "data on LSOA 2021 codes cannot be joined to 2011 boundaries without the ONS "
            "LSOA (2011) to LSOA (2021) lookup",
        )


def _check_codes(df: pd.DataFrame, col: str, root: Path, path: Path) -> None:
    """LSOA 2011 pattern always; vintage against the ONS 2011->2021 lookup when it is present."""
    from optimiser.checks import bad_pattern, check_lsoa11_codes

    if (Path(root) / LSOA21_FILE).exists():
        check_lsoa11_codes(df[col], root, file=path, column=col)
        return
    pos = bad_pattern(df[col])
    if pos is not None:
        check_lsoa11_codes(df[col].iloc[: pos + 1], root, file=path, column=col)


def _check_gss(df: pd.DataFrame, col: str, path: Path, what: str) -> None:
    ok = df[col].astype("string").str.fullmatch(GSS_PATTERN).fillna(False)
    if not ok.all():
        i = _first(~ok)
        # The index holds the position in the file, also after rows were filtered out.
        raise InputError(
            f"'{df[col].iloc[i]}' is not an ONS {what} code", file=path,
            row=int(df.index[i]) + _FIRST_DATA_ROW, column=col,
            hint="ONS area codes are a letter and 8 digits, e.g. E10000025",
        )


def _check_range(df: pd.DataFrame, col: str, path: Path, lo: float, hi: float | None,
                 why: str) -> None:
    values = df[col]
    bad = (values < lo) | (values > hi if hi is not None else False)
    if bad.any():
        i = _first(bad)
        rng = f"from {lo:g} to {hi:g}" if hi is not None else f"at least {lo:g}"
        raise InputError(
            f"value {values.iloc[i]:g} is out of range ({col} must be {rng})", file=path,
            row=i + _FIRST_DATA_ROW, column=col, hint=why,
        )


# --------------------------------------------------------------------------------------------
# IMD 2019
# --------------------------------------------------------------------------------------------


@_memoised
def _read_imd(root: Path, path: Path) -> pd.DataFrame:
    _check_header_vintage(path, "IMD table")
    ranks = [f"{d}_rank" for d in IMD_DOMAINS]
    deciles = [f"{d}_decile" for d in IMD_DOMAINS]
    scores = ["imd_score", "income_score", "employment_score", "idaci_score", "idaopi_score"]
    pops = ["pop_total_mid2015", "pop_0_15_mid2015", "pop_16_59_mid2015", "pop_60plus_mid2015",
            "pop_working_age_mid2015"]
    required = ["lsoa11cd", "lsoa11nm", "lad19cd", "lad19nm", "imd_score", "imd_rank",
                "imd_decile", "idaci_score", "idaci_decile"]
    present = set(_header(path))
    df = read_table(
        path, required=required,
        numeric=[c for c in scores if c in present],
        nonnegative=[c for c in [*scores, *pops] if c in present],
        integer=[c for c in [*ranks, *deciles, *pops] if c in present],
        unique=["lsoa11cd"], text=["lsoa11cd", "lsoa11nm", "lad19cd", "lad19nm"],
        what="IMD 2019 table",
    )
    _check_codes(df, "lsoa11cd", root, path)
    _check_gss(df, "lad19cd", path, "local authority district")
    for col in deciles:
        if col in df.columns:
            _check_range(df, col, path, 1, 10,
                         "deciles run from 1 (most deprived 10% of LSOAs) to 10")
    for col in ranks:
        if col in df.columns:
            _check_range(df, col, path, 1, 32_844,
                         "ranks run from 1 (most deprived) to 32,844 (English LSOAs)")
    return df


def load_imd(root: Path) -> pd.DataFrame:
    """IMD 2019 per LSOA 2011: scores, ranks and deciles of the IMD and its domains, IDACI.

    Columns (see SOURCES.md): ``lsoa11cd, lsoa11nm, lad19cd, lad19nm``, ``<domain>_rank`` and
    ``<domain>_decile`` for imd, income, employment, education, health, crime, barriers,
    living_env, idaci, idaopi; scores ``imd_score`` (points) and ``income_score,
    employment_score, idaci_score, idaopi_score`` (rates); mid-2015 denominators
    ``pop_*_mid2015``. Rank 1 and decile 1 are the most deprived.
    """
    return _read_imd(root, _file(root, IMD_FILE))


# --------------------------------------------------------------------------------------------
# Population
# --------------------------------------------------------------------------------------------

POPULATION_BANDS = {"age_0_4": range(0, 5), "age_5_19": range(5, 20), "age_0_17": range(0, 18),
                    "age_0_19": range(0, 20)}


@_memoised
def _read_population(root: Path, path: Path) -> pd.DataFrame:
    _check_header_vintage(path, "population table")
    single = [f"age_{a}" for a in range(20)]
    head = set(_header(path))
    counts = ["total", *[c for c in single if c in head], *POPULATION_BANDS]
    df = read_table(
        path, required=["lsoa11cd", "total", "age_0_4", "age_0_17", "age_0_19"],
        nonnegative=[c for c in counts if c in head or c in POPULATION_BANDS],
        integer=[c for c in counts if c in head],
        unique=["lsoa11cd"], text=["lsoa11cd", "lsoa11nm"], what="population table",
    )
    _check_codes(df, "lsoa11cd", root, path)
    for band in ("age_0_4", "age_0_17", "age_0_19"):
        over = df[band] > df["total"]
        if over.any():
            i = _first(over)
            raise InputError(
                f"{df[band].iloc[i]} children in {band} but a total population of "
                f"{df['total'].iloc[i]}", file=path, row=i + _FIRST_DATA_ROW, column=band,
                hint="the age columns must be parts of 'total' (all ages, persons)",
            )
    if all(c in df.columns for c in single):
        for band, ages in POPULATION_BANDS.items():
            if band not in df.columns:
                continue
            total = df[[f"age_{a}" for a in ages]].sum(axis=1)
            off = total != df[band]
            if off.any():
                i = _first(off)
                raise InputError(
                    f"{band} is {df[band].iloc[i]} but the single years add up to "
                    f"{total.iloc[i]}", file=path, row=i + _FIRST_DATA_ROW, column=band,
                    hint="rebuild the file with 'optimiser data fetch --force'",
                )
    return df


def load_population(root: Path) -> pd.DataFrame:
    """ONS mid-2019 population per LSOA 2011: total, single years 0-19 and age bands.

    Columns: ``lsoa11cd, lsoa11nm, total, age_0 … age_19, age_0_4, age_5_19, age_0_17,
    age_0_19`` (whole numbers of persons at 30 June 2019).
    """
    return _read_population(root, _file(root, POPULATION_FILE))


# --------------------------------------------------------------------------------------------
# DfE children in need / child protection plans
# --------------------------------------------------------------------------------------------


def _dfe_counts(df: pd.DataFrame, col: str, path: Path) -> pd.Series:
    """DfE count column: suppression symbols become NaN; anything else must be a count >= 0."""
    text = df[col].astype("string").str.strip().str.replace(",", "", regex=False)
    suppressed = text.isna() | text.str.lower().isin(DFE_SUPPRESSED)
    values = pd.to_numeric(text.where(~suppressed), errors="coerce").astype("Float64")
    values = pd.Series(values.to_numpy(dtype="float64", na_value=np.nan), index=df.index)
    bad = values.isna() & ~suppressed.to_numpy(dtype=bool)
    if bad.any():
        i = _first(bad)
        raise InputError(
            f"'{df[col].iloc[i]}' is not a count", file=path, row=i + _FIRST_DATA_ROW,
            column=col, hint="counts are whole numbers; DfE marks suppressed cells x, c or z",
        )
    neg = values < 0
    if neg.any():
        i = _first(neg)
        raise InputError(
            f"value {values.iloc[i]:g} is negative", file=path, row=i + _FIRST_DATA_ROW,
            column=col, hint="counts of children cannot be negative",
        )
    return values


def _read_dfe(root: Path, path: Path, value: str, what: str) -> pd.DataFrame:
    keep = ["time_period", "geographic_level", "old_la_code", "new_la_code", "la_name"]
    df = read_table(path, required=[*keep, value], text=[*keep, value], what=what)
    years = pd.to_numeric(df["time_period"], errors="coerce")
    if years.isna().any() or not years.between(2000, 2100).all():
        i = _first(years.isna() | ~years.between(2000, 2100))
        raise InputError(
            f"'{df['time_period'].iloc[i]}' is not a reporting year", file=path,
            row=i + _FIRST_DATA_ROW, column="time_period",
            hint="time_period is the year of 31 March, e.g. 2019",
        )
    df["time_period"] = years.astype(int)
    la_rows = df["geographic_level"] == "Local authority"
    if not la_rows.any():
        raise InputError(
            f"the {what} has no 'Local authority' rows", file=path, column="geographic_level",
            hint="use the DfE table at local-authority level (geographic_level column)",
        )
    df[value] = _dfe_counts(df, value, path)
    df = df[la_rows]
    _check_gss(df, "new_la_code", path, "local authority")
    dup = df.duplicated(["time_period", "new_la_code"])
    if dup.any():
        i = _first(dup.to_numpy())
        row = int(df.index[i]) + _FIRST_DATA_ROW
        raise InputError(
            f"{df['la_name'].iloc[i]} ({df['new_la_code'].iloc[i]}) appears twice for "
            f"{df['time_period'].iloc[i]}", file=path, row=row, column="new_la_code",
            hint="keep one row per local authority and year (the 'Total' category)",
        )
    return df[[*keep, value]]


@_memoised
def _read_cin(root: Path, path: Path) -> pd.DataFrame:
    return _read_dfe(root, path, "At31_episodes", "DfE children in need table (B1)")


@_memoised
def _read_cpp(root: Path, path: Path) -> pd.DataFrame:
    return _read_dfe(root, path, "CPP_At31", "DfE child protection plans table (D5)")


def load_la_cin_cpp(root: Path) -> pd.DataFrame:
    """DfE children in need and on protection plans at 31 March, per local authority and year.

    Columns: ``year``, ``la_code`` (new code, e.g. E10000025), ``la_name``, ``cin``, ``cpp``,
    ``old_la_code`` (DfE 3-digit code, e.g. 931). Suppressed values (x, c, z) are NaN.
    """
    cin = _read_cin(root, _file(root, CIN_FILE))
    cpp = _read_cpp(root, _file(root, CPP_FILE)).drop(columns=["geographic_level"])
    cin = cin.drop(columns=["geographic_level"])
    keys = ["time_period", "new_la_code"]
    out = cin.merge(cpp.drop(columns=["la_name", "old_la_code"]), on=keys, how="outer")
    missing_name = out["la_name"].isna()
    if missing_name.any():  # an LA only in D5: take its name and old code from there
        names = cpp.set_index(keys)
        idx = pd.MultiIndex.from_frame(out.loc[missing_name, keys])
        out.loc[missing_name, "la_name"] = names.loc[idx, "la_name"].to_numpy()
        out.loc[missing_name, "old_la_code"] = names.loc[idx, "old_la_code"].to_numpy()
    out = out.rename(columns={"time_period": "year", "new_la_code": "la_code",
                              "At31_episodes": "cin", "CPP_At31": "cpp"})
    out = out.sort_values(["year", "la_code"], kind="stable").reset_index(drop=True)
    return out[["year", "la_code", "la_name", "cin", "cpp", "old_la_code"]]


# --------------------------------------------------------------------------------------------
# ONS lookups
# --------------------------------------------------------------------------------------------


def _lookup(root: Path, path: Path, *, required: list[str], text: list[str], what: str,
            gss: dict[str, str]) -> pd.DataFrame:
    _check_header_vintage(path, what)
    df = read_table(path, required=required, unique=["LSOA11CD"], text=text, what=what)
    _check_codes(df, "LSOA11CD", root, path)
    for col, kind in gss.items():
        _check_gss(df, col, path, kind)
    return df


@_memoised
def _read_utla(root: Path, path: Path) -> pd.DataFrame:
    df = _lookup(root, path, required=["LSOA11CD", "UTLA19CD", "UTLA19NM"],
                 text=["LSOA11CD", "LSOA11NM", "UTLA19CD", "UTLA19NM"],
                 what="LSOA to upper-tier LA lookup", gss={"UTLA19CD": "upper-tier LA"})
    return df.rename(columns={"LSOA11CD": "lsoa11cd", "LSOA11NM": "lsoa11nm",
                              "UTLA19CD": "utla_code", "UTLA19NM": "utla_name"})


def load_utla_lookup(root: Path) -> pd.DataFrame:
    """LSOA 2011 to upper-tier local authority 2019: ``lsoa11cd, lsoa11nm, utla_code,
    utla_name``."""
    return _read_utla(root, _file(root, UTLA_FILE))


@_memoised
def _read_ward(root: Path, path: Path) -> pd.DataFrame:
    df = _lookup(root, path, required=["LSOA11CD", "WD19CD", "WD19NM", "LAD19CD", "LAD19NM"],
                 text=["LSOA11CD", "LSOA11NM", "WD19CD", "WD19NM", "LAD19CD", "LAD19NM"],
                 what="LSOA to ward lookup", gss={"WD19CD": "ward", "LAD19CD": "district"})
    return df.rename(columns={"LSOA11CD": "lsoa11cd", "LSOA11NM": "lsoa11nm",
                              "WD19CD": "ward_code", "WD19NM": "ward_name",
                              "LAD19CD": "lad_code", "LAD19NM": "lad_name"})


def load_ward_lookup(root: Path) -> pd.DataFrame:
    """LSOA 2011 to ward 2019 and district.

    Columns: ``lsoa11cd, lsoa11nm, ward_code, ward_name, lad_code, lad_name``.
    """
    return _read_ward(root, _file(root, WARD_FILE))


RUC_CODES = ("A1", "B1", "C1", "C2", "D1", "D2", "E1", "E2")


@_memoised
def _read_ruc(root: Path, path: Path) -> pd.DataFrame:
    df = _lookup(root, path, required=["LSOA11CD", "RUC11CD", "RUC11"],
                 text=["LSOA11CD", "LSOA11NM", "RUC11CD", "RUC11"],
                 what="rural-urban classification", gss={})
    bad = ~df["RUC11CD"].isin(RUC_CODES)
    if bad.any():
        i = _first(bad)
        raise InputError(
            f"'{df['RUC11CD'].iloc[i]}' is not a 2011 rural-urban class",
            file=path, row=i + _FIRST_DATA_ROW, column="RUC11CD",
            hint=f"the classes are {', '.join(RUC_CODES)} (D and E are rural)",
        )
    df = df.rename(columns={"LSOA11CD": "lsoa11cd", "RUC11CD": "ruc_code", "RUC11": "ruc_name"})
    df["rural"] = df["ruc_code"].str[0].isin(["D", "E"])
    return df[["lsoa11cd", "ruc_code", "ruc_name", "rural"]]


def load_rural_urban(root: Path) -> pd.DataFrame:
    """Rural-urban classification 2011: ``lsoa11cd, ruc_code, ruc_name, rural`` (D/E codes)."""
    return _read_ruc(root, _file(root, RUC_FILE))


@_memoised
def _read_centroids(root: Path, path: Path) -> pd.DataFrame:
    what = "population-weighted centroids"
    _check_header_vintage(path, what)
    df = read_table(path, required=["lsoa11cd", "latitude", "longitude"],
                    numeric=["latitude", "longitude"], unique=["lsoa11cd"], text=["lsoa11cd"],
                    what=what)
    _check_codes(df, "lsoa11cd", root, path)
    # England and Wales lie within these bounds; swapped or projected columns fall outside.
    _check_range(df, "latitude", path, 49.8, 55.9,
                 "latitude in degrees (WGS84); check latitude and longitude are not swapped")
    _check_range(df, "longitude", path, -6.5, 1.8,
                 "longitude in degrees (WGS84); check latitude and longitude are not swapped")
    return df[["lsoa11cd", "latitude", "longitude"]]


def load_centroids(root: Path) -> pd.DataFrame:
    """Population-weighted centroids of LSOAs 2011: ``lsoa11cd, latitude, longitude``."""
    return _read_centroids(root, _file(root, CENTROIDS_FILE))


@_memoised
def _read_lsoa21(root: Path, path: Path) -> pd.DataFrame:
    from optimiser.checks import bad_pattern

    what = "LSOA 2011 to 2021 lookup"
    df = read_table(path, required=["LSOA11CD", "LSOA21CD"], unique=["LSOA11CD"],
                    text=["LSOA11CD", "LSOA11NM", "LSOA21CD", "LSOA21NM", "LAD22CD", "LAD22NM",
                          "LAD22NMW"], what=what)
    for col in ("LSOA11CD", "LSOA21CD"):
        pos = bad_pattern(df[col])
        if pos is not None:
            raise InputError(
                f"'{df[col].iloc[pos]}' is not an LSOA code", file=path,
                row=pos + _FIRST_DATA_ROW, column=col,
                hint="LSOA codes are E01 or W01 followed by six digits",
            )
    return df.rename(columns={"LSOA11CD": "lsoa11cd", "LSOA21CD": "lsoa21cd"})[
        ["lsoa11cd", "lsoa21cd"]]


def load_lsoa11_to_21(root: Path) -> pd.DataFrame:
    """LSOA 2011 to LSOA 2021 (for telling the vintages apart): ``lsoa11cd, lsoa21cd``."""
    return _read_lsoa21(root, _file(root, LSOA21_FILE))


# --------------------------------------------------------------------------------------------
# Children's centres (DfE Get Information About Schools)
# --------------------------------------------------------------------------------------------

CHILDRENS_CENTRE_TYPES = ("Children's centre", "Children's centre linked site")
CHILDRENS_CENTRE_COLUMNS = ["urn", "name", "postcode", "easting", "northing", "la_code",
                            "la_name", "type", "status"]


@_memoised
def _read_childrens_centres(root: Path, path: Path) -> pd.DataFrame:
    # Easting/northing are required columns but may be blank (GIAS has no grid reference for
    # some linked sites), so they are not passed as ``required`` (which would demand values).
    coords = ["easting", "northing"]
    df = read_table(
        path, required=[c for c in CHILDRENS_CENTRE_COLUMNS if c not in coords]
        + [c for c in coords if c not in _header(path)], numeric=coords,
        unique=["urn"], text=["urn", "name", "postcode", "la_code", "la_name", "type", "status"],
        what="children's centres table",
    )
    bad = ~df["type"].isin(CHILDRENS_CENTRE_TYPES)
    if bad.any():
        i = _first(bad)
        raise InputError(
            f"'{df['type'].iloc[i]}' is not a children's centre establishment type", file=path,
            row=i + _FIRST_DATA_ROW, column="type",
            hint=f"the types are {' and '.join(repr(t) for t in CHILDRENS_CENTRE_TYPES)}",
        )
    bad = ~df["status"].isin(["open", "closed"])
    if bad.any():
        i = _first(bad)
        raise InputError(
            f"'{df['status'].iloc[i]}' is not open or closed", file=path,
            row=i + _FIRST_DATA_ROW, column="status", hint="write open or closed",
        )
    for col in ("easting", "northing"):
        _check_range(df, col, path, 0, 1_300_000,
                     "British National Grid metres (EPSG:27700); blank when GIAS has none")
    return df[CHILDRENS_CENTRE_COLUMNS]


def load_childrens_centres(root: Path) -> pd.DataFrame | None:
    """Children's centres and linked sites from DfE Get Information About Schools, or None.

    Columns: ``urn, name, postcode, easting, northing`` (BNG metres, blank when unknown),
    ``la_code`` (DfE 3-digit code, e.g. 931 for Oxfordshire), ``la_name``, ``type``
    ("Children's centre" or "Children's centre linked site"), ``status`` (open/closed).
    Returns None when the data root has no ``childrens_centres/childrens_centres.csv`` (the
    shared mirror has none; see its SOURCES.md).
    """
    path = Path(root) / CHILDRENS_CENTRES_FILE
    if not path.exists():
        return None
    return _read_childrens_centres(root, path)
