"""Official layouts -> canonical tables (pure functions: a file in, a DataFrame out).

Each function reads one official file as published (IoD 2019 File 7 CSV, the ONS SAPE22DT2
workbook, ONS Open Geography lookups, the DfE Get Information About Schools extract) and returns
the canonical table of the data mirror (layouts documented in the mirror's SOURCES.md and in
``data/sources.toml``). Nothing is recomputed except where said (population age bands are sums of
single years; centroids are projected from British National Grid to latitude/longitude).

A column missing from an official file is an :class:`~optimiser.errors.InputError` naming the file
and the official column, with the hint that the publisher's layout may have changed.

Examples
--------
>>> imd = imd_from_file7("official/iod2019_file7.csv")  # doctest: +SKIP
>>> list(imd.columns[:4])  # doctest: +SKIP
['lsoa11cd', 'lsoa11nm', 'lad19cd', 'lad19nm']
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import InputError

_LAYOUT_HINT = ("the publisher's layout may have changed: check the file, download it again with "
                "'optimiser data fetch --force', or use --mirror with a folder of canonical tables")

# --------------------------------------------------------------------------------------------
# IoD 2019 File 7
# --------------------------------------------------------------------------------------------

_RANK = " Rank (where 1 is most deprived)"
_DECILE = " Decile (where 1 is most deprived 10% of LSOAs)"
_DOMAINS = {
    "imd": "Index of Multiple Deprivation (IMD)",
    "income": "Income",
    "employment": "Employment",
    "education": "Education, Skills and Training",
    "health": "Health Deprivation and Disability",
    "crime": "Crime",
    "barriers": "Barriers to Housing and Services",
    "living_env": "Living Environment",
    "idaci": "Income Deprivation Affecting Children Index (IDACI)",
    "idaopi": "Income Deprivation Affecting Older People (IDAOPI)",
}

#: Canonical column -> IoD 2019 File 7 header, in the order of ``imd2019_lsoa_compact.csv``.
FILE7_COLUMNS: dict[str, str] = {
    "lsoa11cd": "LSOA code (2011)",
    "lsoa11nm": "LSOA name (2011)",
    "lad19cd": "Local Authority District code (2019)",
    "lad19nm": "Local Authority District name (2019)",
    **{f"{k}_{kind}": _DOMAINS[k] + suffix
       for k in ("imd", "income", "employment", "education", "health", "crime", "barriers",
                 "living_env")
       for kind, suffix in (("rank", _RANK), ("decile", _DECILE))},
    "imd_score": "Index of Multiple Deprivation (IMD) Score",
    "employment_score": "Employment Score (rate)",
    "idaci_rank": _DOMAINS["idaci"] + _RANK,
    "idaci_decile": _DOMAINS["idaci"] + _DECILE,
    "idaopi_rank": _DOMAINS["idaopi"] + _RANK,
    "idaopi_decile": _DOMAINS["idaopi"] + _DECILE,
    "income_score": "Income Score (rate)",
    "idaci_score": _DOMAINS["idaci"] + " Score (rate)",
    "idaopi_score": _DOMAINS["idaopi"] + " Score (rate)",
    "pop_total_mid2015": "Total population: mid 2015 (excluding prisoners)",
    "pop_0_15_mid2015": "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
    "pop_16_59_mid2015": "Population aged 16-59: mid 2015 (excluding prisoners)",
    "pop_60plus_mid2015": "Older population aged 60 and over: mid 2015 (excluding prisoners)",
    "pop_working_age_mid2015": "Working age population 18-59/64: for use with Employment "
    "Deprivation Domain (excluding prisoners)",
}
_SCORE_COLUMNS = ("imd_score", "employment_score", "income_score", "idaci_score", "idaopi_score")

#: How many decimals the published scores carry (the canonical tables write them so).
SCORE_DECIMALS = 3


def _norm(name: str) -> str:
    return re.sub(r"\s+", " ", str(name)).strip().lower()


def _read_csv_text(path: Path, **kwargs) -> pd.DataFrame:
    """Read an official CSV as text; UTF-8 (with or without BOM), else Windows-1252 (GIAS)."""
    raw = Path(path).read_bytes()
    for enc in ("utf-8-sig", "cp1252"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    if not text.strip():
        raise InputError("the official file is empty", file=path, hint=_LAYOUT_HINT)
    if text.lstrip()[:15].lower().startswith(("<!doctype", "<html")):
        raise InputError(
            "the download is a web page, not a CSV file", file=path,
            hint="the official address may have moved: open the landing page in data/sources.toml, "
            "download the file by hand into the cache's official/ folder, or use --mirror",
        )
    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, **kwargs)


def _pick(df: pd.DataFrame, columns: Mapping[str, Sequence[str] | str], file: Path | str
          ) -> pd.DataFrame:
    """Select official columns (matched ignoring case and repeated spaces) under canonical names."""
    lookup = {_norm(c): c for c in df.columns}
    out = {}
    for canon, official in columns.items():
        options = [official] if isinstance(official, str) else list(official)
        found = next((lookup[_norm(o)] for o in options if _norm(o) in lookup), None)
        if found is None:
            later = [c for c in df.columns if re.search(r"2021|2025", str(c))]
            problem = f"the official column '{options[0]}' is missing"
            hint = _LAYOUT_HINT
            if later:
                problem += (f"; the file has later-vintage column(s) such as '{later[0]}'"
                            " (LSOA 2021 / IoD 2025), but this tool uses IMD 2019 on LSOA 2011")
                hint = ("download the English Indices of Deprivation 2019 files (LSOA 2011), not "
                        "IoD 2025")
            raise InputError(problem, file=file, column=options[0], hint=hint)
        out[canon] = df[found].str.strip()
    return pd.DataFrame(out)


def _numbers(df: pd.DataFrame, cols: Sequence[str], file: Path | str, *, integer: bool
             ) -> pd.DataFrame:
    for col in cols:
        text = df[col].str.replace(",", "", regex=False).str.strip()
        values = pd.to_numeric(text, errors="coerce")
        bad = values.isna()
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise InputError(f"'{df[col].iloc[i]}' is not a number", file=file, row=i + 2,
                             column=col, hint=_LAYOUT_HINT)
        df[col] = values.round().astype("int64") if integer else values.astype("float64")
    return df


def english(df: pd.DataFrame, col: str = "lsoa11cd") -> pd.DataFrame:
    """Rows whose LSOA code is English (E01...)."""
    return df[df[col].str.startswith("E01")].reset_index(drop=True)


def imd_from_file7(path: str | Path) -> pd.DataFrame:
    """IoD 2019 File 7 (all scores, ranks, deciles and denominators) -> ``imd2019_lsoa_compact``.

    Parameters
    ----------
    path
        The official CSV, ``File_7_-_All_IoD2019_Scores__Ranks__Deciles_and_Population_
        Denominators_3.csv``, with its published column headers.

    Returns
    -------
    pandas.DataFrame
        The 34 canonical columns (see :data:`FILE7_COLUMNS`), English LSOAs sorted by code;
        ranks, deciles and denominators as integers, scores as floats.
    """
    df = _pick(_read_csv_text(Path(path)), FILE7_COLUMNS, path)
    ints = [c for c in FILE7_COLUMNS if c.endswith(("_rank", "_decile")) or c.startswith("pop_")]
    df = _numbers(df, ints, path, integer=True)
    df = _numbers(df, _SCORE_COLUMNS, path, integer=False)
    return english(df).sort_values("lsoa11cd", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# ONS SAPE22DT2 mid-2019 LSOA single-year estimates
# --------------------------------------------------------------------------------------------

SAPE_SHEET = "Mid-2019 Persons"
AGE_BANDS = {"age_0_4": range(0, 5), "age_5_19": range(5, 20), "age_0_17": range(0, 18),
             "age_0_19": range(0, 20)}


def _open_workbook(path: Path) -> io.BytesIO | Path:
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            if "[Content_Types].xml" in zf.namelist():  # the workbook itself (xlsx is a zip)
                return path
            books = [n for n in zf.namelist() if n.lower().endswith((".xlsx", ".xlsm"))]
            if not books:
                raise InputError("the zip file holds no Excel workbook", file=path,
                                 hint=_LAYOUT_HINT)
            return io.BytesIO(zf.read(books[0]))
    return path


def population_from_sape(path: str | Path, sheet: str = SAPE_SHEET) -> pd.DataFrame:
    """ONS SAPE22DT2 (mid-2019 LSOA single year of age, persons) -> canonical population table.

    Parameters
    ----------
    path
        The official workbook, or the official ``.zip`` holding it.
    sheet
        The sheet of persons (``"Mid-2019 Persons"``). Its header row (with ``LSOA Code``) is
        found wherever it is below the title rows.

    Returns
    -------
    pandas.DataFrame
        ``lsoa11cd, lsoa11nm, total, age_0 … age_19, age_0_4, age_5_19, age_0_17, age_0_19``
        for English LSOAs, sorted by code. Ages 20 and over are kept only inside ``total``.
    """
    path = Path(path)
    source = _open_workbook(path)
    try:
        raw = pd.read_excel(source, sheet_name=sheet, header=None, dtype=object,
                            engine="openpyxl")
    except ValueError as exc:
        if "Worksheet" in str(exc) or "sheet" in str(exc).lower():
            raise InputError(f"the workbook has no sheet '{sheet}'", file=path,
                             hint=_LAYOUT_HINT) from None
        raise
    first = raw.iloc[:, :6].astype(str).apply(lambda s: s.str.strip().str.lower())
    header_rows = np.flatnonzero((first == "lsoa code").any(axis=1).to_numpy())
    if len(header_rows) == 0:
        raise InputError(f"no header row with 'LSOA Code' in sheet '{sheet}'", file=path,
                         column="LSOA Code", hint=_LAYOUT_HINT)
    h = int(header_rows[0])
    header = [str(v).strip() if pd.notna(v) else "" for v in raw.iloc[h]]
    # Excel headers of single years are numbers (0, 1, ...) or text ("0"); normalise to text.
    header = [h_[:-2] if re.fullmatch(r"\d+\.0", h_) else h_ for h_ in header]
    body = raw.iloc[h + 1:].copy()
    body.columns = header
    body = body[body[header[0]].notna() | body.iloc[:, 1].notna()]
    body = body.astype(str).apply(lambda s: s.str.strip())
    body = body.replace({"nan": "", "None": ""})
    body = body[(body != "").any(axis=1)]  # drop blank rows (notes below the table)
    cols = {"lsoa11cd": "LSOA Code", "lsoa11nm": "LSOA Name", "total": "All Ages",
            **{f"age_{a}": str(a) for a in range(20)}}
    df = _pick(body.reset_index(drop=True), cols, f"{path} [{sheet}]")
    # Workbooks may carry footnotes below the table: data rows are those with an LSOA code.
    df = df[df["lsoa11cd"].str.fullmatch(r"[EW]01\d{6}")].reset_index(drop=True)
    df = _numbers(df, ["total", *[f"age_{a}" for a in range(20)]], f"{path} [{sheet}]",
                  integer=True)
    for band, ages in AGE_BANDS.items():
        df[band] = df[[f"age_{a}" for a in ages]].sum(axis=1)
    return english(df).sort_values("lsoa11cd", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# DfE children in need tables (already in the canonical layout)
# --------------------------------------------------------------------------------------------

DFE_REQUIRED = ("time_period", "geographic_level", "old_la_code", "new_la_code", "la_name")


def dfe_table(path: str | Path, value: str) -> pd.DataFrame:
    """A DfE Explore Education Statistics table (B1 or D5), checked and returned as published.

    The canonical tables are the published CSVs unchanged, so this only checks the columns the
    loaders need (``time_period, geographic_level, old_la_code, new_la_code, la_name`` and
    ``value``, e.g. ``At31_episodes`` or ``CPP_At31``) and returns every column as text.
    """
    df = _read_csv_text(Path(path))
    _pick(df, {c: c for c in (*DFE_REQUIRED, value)}, path)
    return df


# --------------------------------------------------------------------------------------------
# ONS lookups
# --------------------------------------------------------------------------------------------

UTLA_COLUMNS = {"LSOA11CD": "LSOA11CD", "LSOA11NM": "LSOA11NM", "UTLA19CD": "UTLA19CD",
                "UTLA19NM": "UTLA19NM"}
WARD_COLUMNS = {c: c for c in ("LSOA11CD", "LSOA11NM", "WD19CD", "WD19NM", "LAD19CD",
                               "LAD19NM")}
RUC_COLUMNS = {"LSOA11CD": "LSOA11CD", "LSOA11NM": "LSOA11NM", "RUC11CD": "RUC11CD",
               "RUC11": "RUC11"}
LSOA21_COLUMNS = {c: c for c in ("LSOA11CD", "LSOA11NM", "LSOA21CD", "LSOA21NM", "LAD22CD",
                                 "LAD22NM", "LAD22NMW")}
# The current ONS service names the 2011 code F_LSOA11CD ("from"); the Version 2 file LSOA11CD.
LSOA21_COLUMNS["LSOA11CD"] = ("LSOA11CD", "F_LSOA11CD")


def ons_lookup(path: str | Path, columns: Mapping[str, str]) -> pd.DataFrame:
    """An ONS Open Geography lookup CSV -> the canonical columns (ONS FID/ObjectId dropped).

    Column names are matched ignoring case (the portal's exports vary), rows are sorted by the
    LSOA 2011 code, and blanks stay blank (e.g. ``LAD22NMW`` for English districts).
    """
    df = _pick(_read_csv_text(Path(path)), columns, path)
    key = next(iter(columns))
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def lsoa21_lookup(path: str | Path) -> pd.DataFrame:
    """ONS LSOA (2011) to LSOA (2021) to LAD (2022) lookup -> one row per LSOA 2011.

    Reads either the Version 2 file (``LSOA11CD``) or the current service (``F_LSOA11CD``, one
    row per 2011-2021 pair). A 2011 LSOA split in 2021 keeps its first 2021 code (by code), as
    the Version 2 file did: the table only tells the two vintages' codes apart. ``LAD22NMW``
    (Welsh names) stays blank where the file has none.
    """
    df = _read_csv_text(Path(path))
    if not any(_norm(c) == "lad22nmw" for c in df.columns):
        df["LAD22NMW"] = ""
    df = _pick(df, LSOA21_COLUMNS, path)
    df = df.sort_values(["LSOA11CD", "LSOA21CD"], kind="stable")
    return df.drop_duplicates("LSOA11CD", keep="first").reset_index(drop=True)


def centroids_from_pwc(path: str | Path) -> pd.DataFrame:
    """ONS LSOA (December 2011) population-weighted centroids -> ``lsoa11cd, latitude, longitude``.

    The official file gives British National Grid metres (``X``, ``Y``, EPSG:27700); they are
    projected to WGS84 latitude/longitude with pyproj. A file that already has ``LAT``/``LONG``
    columns is taken as it is.
    """
    df = _read_csv_text(Path(path))
    names = {_norm(c) for c in df.columns}
    if {"lat", "long"} <= names:
        out = _pick(df, {"lsoa11cd": "LSOA11CD", "latitude": "LAT", "longitude": "LONG"}, path)
        out = _numbers(out, ["latitude", "longitude"], path, integer=False)
        return out.sort_values("lsoa11cd", kind="stable").reset_index(drop=True)
    out = _pick(df, {"lsoa11cd": "LSOA11CD", "x": ("X", "Easting"), "y": ("Y", "Northing")},
                path)
    out = _numbers(out, ["x", "y"], path, integer=False)
    lat, lon = bng_to_latlong(out["x"].to_numpy(), out["y"].to_numpy())
    out = pd.DataFrame({"lsoa11cd": out["lsoa11cd"], "latitude": lat, "longitude": lon})
    return out.sort_values("lsoa11cd", kind="stable").reset_index(drop=True)


def bng_to_latlong(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """British National Grid metres (EPSG:27700) -> WGS84 latitude, longitude (degrees)."""
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = t.transform(np.asarray(x, dtype=float), np.asarray(y, dtype=float))
    return np.asarray(lat), np.asarray(lon)


def latlong_to_bng(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 latitude, longitude -> British National Grid easting, northing (metres)."""
    from pyproj import Transformer

    t = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = t.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


# --------------------------------------------------------------------------------------------
# DfE Get Information About Schools: children's centres
# --------------------------------------------------------------------------------------------

GIAS_COLUMNS = {
    "urn": "URN", "name": "EstablishmentName", "type": "TypeOfEstablishment (name)",
    "status": "EstablishmentStatus (name)", "postcode": "Postcode", "easting": "Easting",
    "northing": "Northing", "la_code": "LA (code)", "la_name": "LA (name)",
}
CHILDRENS_CENTRE_TYPES = ("Children's centre", "Children's centre linked site")


def childrens_centres_from_gias(path: str | Path) -> pd.DataFrame:
    """GIAS establishment extract -> children's centres and linked sites (canonical layout).

    Keeps establishment types "Children's centre" and "Children's centre linked site". Status
    becomes ``open`` for "Open" and "Open, but proposed to close", ``closed`` otherwise
    ("Closed", "Proposed to open": not operating). Easting/northing are BNG metres, blank when
    GIAS has none. Sorted by URN.
    """
    df = _pick(_read_csv_text(Path(path)), GIAS_COLUMNS, path)
    typ = df["type"].str.replace("\u2019", "'", regex=False)
    df = df[typ.str.lower().isin([t.lower() for t in CHILDRENS_CENTRE_TYPES])].copy()
    df["type"] = [next(t for t in CHILDRENS_CENTRE_TYPES if t.lower() == v.lower())
                  for v in typ[df.index]]
    df["status"] = np.where(df["status"].str.lower().str.startswith("open"), "open", "closed")
    for col in ("easting", "northing"):
        df[col] = pd.to_numeric(df[col].replace("", np.nan), errors="coerce")
        # GIAS writes 0 for "no grid reference"; 0,0 is in the sea off Cornwall.
        df.loc[df[col] == 0, col] = np.nan
    df["urn_sort"] = pd.to_numeric(df["urn"], errors="coerce")
    df = df.sort_values(["urn_sort", "urn"], kind="stable").drop(columns="urn_sort")
    return df[["urn", "name", "postcode", "easting", "northing", "la_code", "la_name", "type",
               "status"]].reset_index(drop=True)
