"""Official layouts of the 2025 vintage -> its canonical tables (a file in, DataFrames out).

The canonical tables are those of the reference mirror's ``vintage2025/`` (its ``SOURCES.md``
documents them; :mod:`optimiser.loaders2025` reads them):

- :func:`iod2025_from_file7`: IoD 2025 File 7 (all scores, ranks, deciles; CSV) -> the IMD and
  domains table (File 7's column stems, as the humaniverse/IMD package names them, plus the IDACI
  and IDAOPI scores that File 7 holds) and the File 3 table (IDACI and IDAOPI ranks and deciles);
- :func:`population_from_sape21`: ONS LSOA 2021 single-year-of-age estimates (mid-2022 or later;
  workbook ``sapelsoasyoa20222024.xlsx``, sheets ``Mid-YYYY LSOA 2021``, header on row 4:
  ``LAD 2023 Code, LAD 2023 Name, LSOA 2021 Code, LSOA 2021 Name, Total, F0 … F90, M0 … M90``)
  -> persons per LSOA 2021 aged 0-19, their bands and the total, for the latest mid-year;
- :func:`ons_lookup21`: ONS Open Geography lookups (LSOA 2021 -> ward 2024 -> LAD 2024; LAD 2023
  -> UTLA 2023; rural-urban classification 2021; LSOA 2011 -> LSOA 2021 with change codes);
- :func:`weights_from_changes`: the apportioning weights from the change-coded lookup (an equal
  share for each part of a split 2011 LSOA: the data mirror's postcode-based blend needs postcode
  polygons that are not downloaded);
- :func:`centroids_from_pwc21`: ONS LSOA (December 2021) population-weighted centroids;
- :func:`boundaries_from_ons21`: ONS LSOA (December 2021) boundaries -> GeoPackage in EPSG:27700.

Every missing column is one :class:`~optimiser.errors.InputError` naming the file and column.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.convert import _numbers, _open_workbook, _read_csv_text
from optimiser.errors import InputError
from optimiser.loaders2025 import ONS_PWC_METHOD

_HINT = ("the publisher's layout may have changed: check the file, download it again with "
         "'optimiser data fetch --vintage 2025 --force', or use --mirror with a folder of "
         "canonical tables")
_LSOA = r"[EW]01\d{6}"


def _norm(name: object) -> str:
    return re.sub(r"\s+", " ", str(name)).strip().lower()


def _pick(df: pd.DataFrame, columns: Mapping[str, str | Sequence[str]], file: Path | str,
          *, prefix: bool = False) -> pd.DataFrame:
    """Official columns under canonical names (matched ignoring case and spaces; with
    ``prefix`` a header may be cut short, as one of File 7's is)."""
    lookup = {_norm(c): c for c in df.columns}
    out = {}
    for canon, official in columns.items():
        options = [official] if isinstance(official, str) else list(official)
        found = next((lookup[_norm(o)] for o in options if _norm(o) in lookup), None)
        if found is None and prefix:
            found = next((c for n, c in lookup.items() for o in options
                          if len(n) >= 40 and _norm(o).startswith(n)), None)
        if found is None:
            raise InputError(f"the official column '{options[0]}' is missing", file=file,
                             column=options[0], hint=_HINT)
        out[canon] = df[found].astype(str).str.strip()
    return pd.DataFrame(out)


# --------------------------------------------------------------------------------------------
# IoD 2025 File 7
# --------------------------------------------------------------------------------------------

_RANK = " Rank (where 1 is most deprived)"
_DECILE = " Decile (where 1 is most deprived 10% of LSOAs)"
#: File 7 domain names -> the canonical column stems.
FILE7_DOMAINS = {
    "IMD": ("Index of Multiple Deprivation (IMD)", " Score"),
    "Income": ("Income", " Score (rate)"),
    "Employment": ("Employment", " Score (rate)"),
    "Education": ("Education, Skills and Training", " Score"),
    "Health": ("Health Deprivation and Disability", " Score"),
    "Crime": ("Crime", " Score"),
    "Housing_and_Services": ("Barriers to Housing and Services", " Score"),
    "Environment": ("Living Environment", " Score"),
    "IDACI": ("Income Deprivation Affecting Children Index (IDACI)", " Score (rate)"),
    "IDAOPI": ("Income Deprivation Affecting Older People (IDAOPI)", " Score (rate)"),
}
_ID_COLUMNS = {"LSOA code (2021)": "LSOA code (2021)", "LSOA name (2021)": "LSOA name (2021)",
               "Local Authority District code (2024)": "Local Authority District code (2024)",
               "Local Authority District name (2024)": "Local Authority District name (2024)"}


def iod2025_from_file7(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """IoD 2025 File 7 -> (the IMD and domains table, the File 3 table).

    The first has ``lsoa21_code`` and ``<stem>_decile, _rank, _score`` for IMD and the seven
    domains, then ``IDACI_score`` and ``IDAOPI_score`` (File 7 holds them; the mirror's table,
    from File 7 by the humaniverse/IMD package, does not). The second has File 3's published
    headers. English LSOAs only, sorted by code; ranks and deciles integers.
    """
    path = Path(path)
    raw = _read_csv_text(path)
    cols: dict[str, str] = {"lsoa21_code": "LSOA code (2021)"}
    for stem, (name, score) in FILE7_DOMAINS.items():
        cols[f"{stem}_decile"] = name + _DECILE
        cols[f"{stem}_rank"] = name + _RANK
        cols[f"{stem}_score"] = name + score
    df = _pick(raw, cols, path, prefix=True)
    ints = [c for c in cols if c.endswith(("_rank", "_decile"))]
    df = _numbers(df, ints, path, integer=True)
    df = _numbers(df, [c for c in cols if c.endswith("_score")], path, integer=False)
    keep = df["lsoa21_code"].str.startswith("E01").to_numpy()
    df = df[keep].sort_values("lsoa21_code", kind="stable").reset_index(drop=True)
    main = df[["lsoa21_code", *[f"{s}_{k}" for k in ("decile", "rank", "score")
                               for s in list(FILE7_DOMAINS)[:8]], "IDACI_score",
               "IDAOPI_score"]]
    ids = _pick(raw, _ID_COLUMNS, path)[keep].sort_values("LSOA code (2021)", kind="stable")
    file3 = ids.reset_index(drop=True)
    for stem in ("IMD", "IDACI", "IDAOPI"):
        name = FILE7_DOMAINS[stem][0]
        file3[name + _RANK] = df[f"{stem}_rank"].to_numpy()
        file3[name + _DECILE] = df[f"{stem}_decile"].to_numpy()
    return main, file3


# --------------------------------------------------------------------------------------------
# ONS LSOA 2021 small area population estimates
# --------------------------------------------------------------------------------------------

SAPE21_SHEET = re.compile(r"^Mid-(\d{4}) LSOA 2021$", re.IGNORECASE)
AGE_BANDS = {"age_0_4": range(0, 5), "age_5_19": range(5, 20), "age_0_17": range(0, 18),
             "age_0_19": range(0, 20)}


def sape21_sheet(sheets: Sequence[str], path: Path | str) -> tuple[str, int]:
    """The latest ``Mid-YYYY LSOA 2021`` sheet and its year (mid-2022 or later)."""
    found = sorted((int(m.group(1)), s) for s in sheets if (m := SAPE21_SHEET.match(s.strip())))
    if not found:
        raise InputError("the workbook has no sheet 'Mid-YYYY LSOA 2021'", file=path,
                         hint="use the ONS 'Lower layer Super Output Area population estimates' "
                         "on LSOA 2021 (mid-2022 or later; " + _HINT + ")")
    year, sheet = found[-1]
    if year < 2022:
        raise InputError(f"the latest sheet is '{sheet}': estimates before mid-2022 are not "
                         "used", file=path,
                         hint="download the release with mid-2022 or later estimates")
    return sheet, year


def population_from_sape21(path: str | Path, sheet: str | None = None) -> pd.DataFrame:
    """ONS LSOA 2021 single-year-of-age estimates (by sex) -> persons per English LSOA 2021.

    Parameters
    ----------
    path
        The official workbook (or a zip holding it).
    sheet
        ``Mid-YYYY LSOA 2021``; None = the latest such sheet.

    Returns
    -------
    pandas.DataFrame
        ``lsoa21cd, lsoa21nm, mid_year, total, age_0 … age_19, age_0_4, age_5_19, age_0_17,
        age_0_19``; each single year is ``F<a> + M<a>``. Raises when ``Total`` is not the sum
        of the F and M columns of a row (a damaged or misread file).
    """
    import openpyxl

    path = Path(path)
    source = _open_workbook(path)
    book = openpyxl.load_workbook(source, read_only=True, data_only=True)
    try:
        name, year = (sheet, int(SAPE21_SHEET.match(sheet).group(1))) if sheet and \
            SAPE21_SHEET.match(sheet) else sape21_sheet(book.sheetnames, path)
        if name not in book.sheetnames:
            raise InputError(f"the workbook has no sheet '{name}'", file=path, hint=_HINT)
        rows = list(book[name].iter_rows(values_only=True))
    finally:
        book.close()
    where = f"{path} [{name}]"
    head = next((i for i, r in enumerate(rows[:20])
                 if any(_norm(c) == "lsoa 2021 code" for c in r if c is not None)), None)
    if head is None:
        raise InputError(f"no header row with 'LSOA 2021 Code' in sheet '{name}'", file=path,
                         column="LSOA 2021 Code", hint=_HINT)
    header = [str(c).strip() if c is not None else "" for c in rows[head]]
    body = pd.DataFrame([list(r) for r in rows[head + 1:]], columns=header, dtype=object)
    body = body.astype(str).apply(lambda s: s.str.strip())
    sexes = [f"{s}{a}" for s in ("F", "M") for a in range(91)]
    cols = {"lsoa21cd": "LSOA 2021 Code", "lsoa21nm": "LSOA 2021 Name", "total": "Total",
            **{c: c for c in sexes}}
    df = _pick(body, cols, where)
    df = df[df["lsoa21cd"].str.fullmatch(_LSOA)].reset_index(drop=True)
    df = _numbers(df, ["total", *sexes], where, integer=True)
    off = df[sexes].sum(axis=1) != df["total"]
    if off.any():
        i = int(np.flatnonzero(off.to_numpy())[0])
        raise InputError(f"Total is {df['total'].iloc[i]} but F0-F90 and M0-M90 add up to "
                         f"{int(df[sexes].iloc[i].sum())} for {df['lsoa21cd'].iloc[i]}",
                         file=path, row=head + i + 2, column="Total", hint=_HINT)
    out = df[["lsoa21cd", "lsoa21nm"]].copy()
    out["mid_year"] = year
    out["total"] = df["total"]
    for a in range(20):
        out[f"age_{a}"] = df[f"F{a}"] + df[f"M{a}"]
    for band, ages in AGE_BANDS.items():
        out[band] = out[[f"age_{a}" for a in ages]].sum(axis=1)
    out = out[out["lsoa21cd"].str.startswith("E01")]
    return out.sort_values("lsoa21cd", kind="stable").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# ONS lookups, centroids, boundaries
# --------------------------------------------------------------------------------------------

#: Canonical column -> ONS Open Geography header, per lookup.
WARD24_COLUMNS = {"lsoa21_name": "LSOA21NM", "lsoa21_code": "LSOA21CD", "ward24_name": "WD24NM",
                  "ward24_code": "WD24CD", "ltla24_name": "LAD24NM", "ltla24_code": "LAD24CD"}
UTLA23_COLUMNS = {"ltla23_code": ("LTLA23CD", "LAD23CD"), "ltla23_name": ("LTLA23NM", "LAD23NM"),
                  "utla23_code": ("UTLA23CD", "CTYUA23CD"),
                  "utla23_name": ("UTLA23NM", "CTYUA23NM")}
# The service's field is Urban_rural_flag (geographr's data-raw/ruc21_lsoa21.R); a shapefile
# cuts it to Urban_rura.
RUC21_COLUMNS = {"lsoa21_code": "LSOA21CD", "ruc21_code": "RUC21CD",
                 "classification": ("RUC21NM", "RUC21"),
                 "ruc": ("Urban_rural_flag", "Urban_rura", "URBAN_RURAL")}
# The ONS service names the 2011 code F_LSOA11CD ("from"; geographr's
# data-raw/lookup_lsoa11_lsoa21_ltla22.R selects it so); a portal CSV may say LSOA11CD.
CHANGES_COLUMNS = {"lsoa11_name": "LSOA11NM", "lsoa11_code": ("F_LSOA11CD", "LSOA11CD"),
                   "change_code": "CHGIND", "lsoa21_name": "LSOA21NM", "lsoa21_code": "LSOA21CD",
                   "ltla22_name": "LAD22NM", "ltla22_code": "LAD22CD"}


def ons_lookup21(path: str | Path, columns: Mapping[str, str | Sequence[str]]) -> pd.DataFrame:
    """An ONS Open Geography lookup CSV -> the mirror's column names (FID/ObjectId dropped),
    sorted by its first code column."""
    df = _pick(_read_csv_text(Path(path)), columns, path)
    key = next(c for c in df.columns if c.endswith("_code"))
    return df.sort_values(key, kind="stable").reset_index(drop=True)


def weights_from_changes(changes: pd.DataFrame) -> pd.DataFrame:
    """Apportioning weights from the change-coded LSOA 2011 -> 2021 lookup: 1 for an
    unchanged or merged 2011 LSOA, ``1/k`` for each of the ``k`` parts of a split or irregular
    one (the mirror's ``w_equal``)."""
    k = changes.groupby("lsoa11_code")["lsoa21_code"].transform("size")
    out = changes[["lsoa11_code", "lsoa21_code", "change_code"]].copy()
    out["w_rule"] = np.where(k > 1, "equal", "whole")
    out["w_equal"] = (1.0 / k).round(6)
    out["weight"] = out["w_equal"]
    return out.sort_values(["lsoa11_code", "lsoa21_code"], kind="stable").reset_index(drop=True)


def centroids_from_pwc21(path: str | Path) -> pd.DataFrame:
    """ONS LSOA (December 2021) population-weighted centroids (``LSOA21CD``, ``x``/``y`` in BNG
    metres) -> ``lsoa21cd, method, easting, northing, latitude, longitude``."""
    from pyproj import Transformer

    df = _pick(_read_csv_text(Path(path)), {"lsoa21cd": "LSOA21CD", "easting": ("x", "X"),
                                            "northing": ("y", "Y")}, path)
    df = _numbers(df, ["easting", "northing"], path, integer=False)
    tr = Transformer.from_crs("EPSG:27700", "EPSG:4326", always_xy=True)
    lon, lat = tr.transform(df["easting"].to_numpy(), df["northing"].to_numpy())
    df.insert(1, "method", ONS_PWC_METHOD)
    df["latitude"], df["longitude"] = np.round(lat, 7), np.round(lon, 7)
    return df.sort_values("lsoa21cd", kind="stable").reset_index(drop=True)


def boundaries_from_ons21(path: str | Path) -> bytes:
    """ONS LSOA (December 2021) boundaries (any GDAL vector format) -> the bytes of a GeoPackage
    in EPSG:27700 with ``lsoa21cd, lsoa21nm, geometry`` (layer ``boundaries_lsoa21``)."""
    import tempfile

    import pyogrio

    gdf = pyogrio.read_dataframe(Path(path))
    lower = {c.lower(): c for c in gdf.columns}
    if "lsoa21cd" not in lower:
        raise InputError("the official column 'LSOA21CD' is missing", file=path,
                         column="LSOA21CD", hint=_HINT)
    gdf = gdf.rename(columns={lower["lsoa21cd"]: "lsoa21cd",
                              lower.get("lsoa21nm", "lsoa21nm"): "lsoa21nm"})
    if gdf.crs is None:
        raise InputError("the boundaries have no coordinate reference system", file=path,
                         hint=_HINT)
    gdf = gdf[[c for c in ("lsoa21cd", "lsoa21nm") if c in gdf.columns] + ["geometry"]]
    gdf = gdf.to_crs("EPSG:27700").sort_values("lsoa21cd", kind="stable")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "boundaries.gpkg"
        pyogrio.write_dataframe(gdf, out, layer="boundaries_lsoa21", driver="GPKG")
        return out.read_bytes()
