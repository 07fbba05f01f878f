"""Locality tables: one row per locality and a county total row.

Columns (DESIGN.md, "Locality tables"), as ``COLUMNS`` lists them with their labels:

==========================  ===============================================================
``district``                the council district(s) the locality lies in (areas' ``lad_name``
                            or ``district``; two joined with "and" when a second holds at
                            least a fifth of its children)
``children_0_4``            children aged 0-4 (ONS small-area estimates), sum of the areas
``children_0_19``           children and young people aged 0-19, sum of the areas
``imd_mean``                mean IMD 2019 score of the locality's areas (higher = more deprived)
``share_decile_1``          share of the locality's areas in IMD decile 1 (England's most
                            deprived 10%)
``cin``, ``cpp``            children in need and children on protection plans (counts; modelled
                            estimates when the council's own figures were not given)
``need_index``              population-weighted mean need multiplier (county = 1)
``need_rank``               1 = the neediest locality
``sites``                   centres proposed (open in the plan)
``outreach_workers``        outreach workers proposed
``reach_share``             share of need-weighted children reached (by a centre or outreach)
``mean_travel_minutes``     population-weighted mean travel time to the nearest open centre
``funding``                 funding allocated (£ a year) from ``allocation.csv``; blank when the
                            solved folder has no allocation by locality
==========================  ===============================================================

:func:`locality_table` gives the analyst's internal table (exact, unsuppressed: not for
publication); :func:`publish_table` applies disclosure control for publication. Rows are in
need order (rank 1, the neediest, first), the county total last.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from optimiser.report.disclosure import DEFAULT_THRESHOLD, suppress_columns
from optimiser.report.solved import Solved

TOTAL = "Council total"

#: column -> (label, kind); kinds drive the number formats in HTML and XLSX.
COLUMNS: dict[str, tuple[str, str]] = {
    "locality": ("Locality", "text"),
    "district": ("District", "text"),
    "children_0_4": ("Children 0-4", "count"),
    "children_0_19": ("Children 0-19", "count"),
    "imd_mean": ("IMD mean score", "decimal1"),
    "share_decile_1": ("Areas in most deprived decile", "percent"),
    "cin": ("Children in need", "count"),
    "cpp": ("Child protection plans", "count"),
    "need_index": ("Need index", "decimal2"),
    "need_rank": ("Need rank", "int"),
    "sites": ("Centres proposed", "int"),
    "outreach_workers": ("Outreach workers", "int"),
    "reach_share": ("Share of need reached", "percent"),
    "mean_travel_minutes": ("Mean travel time (min)", "decimal1"),
    "funding": ("Funding allocated", "money"),
}
#: Counts of children that disclosure control applies to by default.
SUPPRESSED_COLUMNS = ("cin", "cpp")


def _col(areas: pd.DataFrame, *names: str) -> pd.Series | None:
    for n in names:
        if n in areas.columns:
            return pd.to_numeric(areas[n], errors="coerce")
    return None


def _wmean(values: pd.Series, weights: pd.Series) -> float:
    ok = values.notna() & weights.notna()
    w = weights[ok].sum()
    return float((values[ok] * weights[ok]).sum() / w) if w > 0 else float("nan")


#: A second district is named beside a locality's main one when it holds this share of the
#: locality's children (a locality straddling a boundary, e.g. a town and its suburbs).
SECOND_DISTRICT_SHARE = 0.2


def locality_districts(areas: pd.DataFrame) -> pd.Series:
    """Each locality's district(s), largest first, from the areas' ``lad_name`` (or
    ``district``) weighted by children; empty when the areas carry no district.

    >>> a = pd.DataFrame({"locality": ["X", "X", "X", "Y"], "population": [50, 30, 20, 10],
    ...                   "lad_name": ["Oxford", "Oxford", "Cherwell", "Cherwell"]})
    >>> locality_districts(a).to_dict()
    {'X': 'Oxford and Cherwell', 'Y': 'Cherwell'}
    """
    col = next((c for c in ("lad_name", "district") if c in areas.columns), None)
    if col is None:
        return pd.Series(dtype=object)
    pop = pd.to_numeric(areas["population"], errors="coerce").fillna(0)
    frame = pd.DataFrame({"locality": areas["locality"].astype(str),
                          "district": areas[col].fillna("").astype(str), "pop": pop})
    frame = frame[frame["district"] != ""]
    out = {}
    for loc, part in frame.groupby("locality", sort=False):
        by = part.groupby("district")["pop"].sum()
        by = by.iloc[np.lexsort((by.index.to_numpy(), -by.to_numpy()))]
        total = by.sum()
        keep = [by.index[0]] + [d for d, v in by.iloc[1:2].items()
                                if total > 0 and v / total >= SECOND_DISTRICT_SHARE]
        out[loc] = " and ".join(keep)
    return pd.Series(out, dtype=object)


def locality_table(solved: Solved) -> pd.DataFrame:
    """The internal locality table (exact figures), indexed by locality, with a total row.

    Returns
    -------
    pandas.DataFrame
        Index ``locality`` (the localities by need index, highest first, then ``TOTAL``);
        columns ``COLUMNS`` (less ``locality``) and ``cases_source`` (``modelled`` |
        ``council`` | blank).
    """
    areas = solved.areas
    locs = solved.localities.set_index("locality")
    order = list(locs.index) + [x for x in dict.fromkeys(areas["locality"]) if x not in locs.index]
    pop = pd.to_numeric(areas["population"], errors="coerce")
    need = pd.to_numeric(areas["need"], errors="coerce")
    extra = {
        "children_0_4": _col(areas, "pop_0_4", "under5"),
        "children_0_19": _col(areas, "pop_0_19"),
        "imd_score": _col(areas, "imd_score"),
        "imd_decile": _col(areas, "imd_decile"),
        "cin": _col(areas, "cin"),
        "cpp": _col(areas, "cpp"),
        "travel": _col(areas, "travel_minutes"),
    }
    modelled = (areas["cases_source"].astype(str) == "modelled"
                if "cases_source" in areas.columns else None)

    def summarise(mask: pd.Series) -> dict:
        row: dict = {}
        for key in ("children_0_4", "children_0_19", "cin", "cpp"):
            s = extra[key]
            row[key] = float(s[mask].sum(min_count=1)) if s is not None else np.nan
        s = extra["imd_score"]
        row["imd_mean"] = float(s[mask].mean()) if s is not None else np.nan
        s = extra["imd_decile"]
        row["share_decile_1"] = float((s[mask] == 1).mean()) if s is not None else np.nan
        row["need_index"] = _wmean(need[mask], pop[mask])
        s = extra["travel"]
        row["_travel_from_areas"] = _wmean(s[mask], pop[mask]) if s is not None else np.nan
        if modelled is not None and extra["cin"] is not None:
            row["cases_source"] = "modelled" if modelled[mask].any() else "council"
        else:
            row["cases_source"] = ""
        return row

    rows = {loc: summarise(areas["locality"] == loc) for loc in order}
    rows[TOTAL] = summarise(pd.Series(True, index=areas.index))
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "locality"

    def from_locs(col: str) -> pd.Series:
        if col in locs.columns:
            return pd.to_numeric(locs[col], errors="coerce").reindex(order)
        return pd.Series(np.nan, index=order)

    table.loc[order, "sites"] = from_locs("sites").to_numpy()
    table.loc[order, "outreach_workers"] = from_locs("outreach_workers").to_numpy()
    table.loc[order, "reach_share"] = from_locs("reach_share").to_numpy()
    travel = from_locs("mean_travel_minutes")
    table.loc[order, "mean_travel_minutes"] = travel.fillna(
        table.loc[order, "_travel_from_areas"]).to_numpy()
    table.loc[TOTAL, "sites"] = table.loc[order, "sites"].sum()
    table.loc[TOTAL, "outreach_workers"] = table.loc[order, "outreach_workers"].sum()
    need_total = from_locs("need_total")
    need_reached = from_locs("need_reached")
    table.loc[TOTAL, "reach_share"] = (need_reached.sum() / need_total.sum()
                                       if need_total.sum() > 0 else np.nan)
    table.loc[TOTAL, "mean_travel_minutes"] = table.loc[TOTAL, "_travel_from_areas"]
    if not np.isfinite(table.loc[TOTAL, "mean_travel_minutes"]):
        w = pd.Series(
            [float(pop[areas["locality"] == loc].sum()) for loc in order], index=order)
        table.loc[TOTAL, "mean_travel_minutes"] = _wmean(table.loc[order,
                                                                   "mean_travel_minutes"], w)

    ranks = table.loc[order, "need_index"].rank(ascending=False, method="min")
    table["need_rank"] = np.nan
    table.loc[order, "need_rank"] = ranks.to_numpy()

    table["funding"] = np.nan
    alloc = solved.allocation
    if alloc is not None:
        if "level" in alloc.columns:
            alloc = alloc[alloc["level"].astype(str) == "locality"]
        by_unit = alloc.set_index("unit")["allocation"]
        if len(by_unit) and set(by_unit.index) & set(order):
            table.loc[order, "funding"] = by_unit.reindex(order).to_numpy(float)
            table.loc[TOTAL, "funding"] = float(by_unit.reindex(order).sum())
    table["district"] = locality_districts(areas).reindex(table.index).fillna("").to_numpy()
    by_need = table.loc[order].assign(_name=order).sort_values(
        ["need_index", "_name"], ascending=[False, True], kind="mergesort", na_position="last")
    cols = [c for c in COLUMNS if c != "locality"] + ["cases_source"]
    return table.loc[[*by_need.index, TOTAL], cols]


def has_funding(table: pd.DataFrame) -> bool:
    return bool(table["funding"].notna().any())


def publish_table(table: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD,
                  suppress: Sequence[str] = SUPPRESSED_COLUMNS) -> tuple[pd.DataFrame,
                                                                        pd.DataFrame]:
    """The locality table for publication, with disclosure control on the counts of children.

    Parameters
    ----------
    table
        :func:`locality_table`.
    threshold
        Counts from 1 to this are shown as ``c``.
    suppress
        Columns of counts of children to protect (default CIN and CPP).

    Returns
    -------
    (published, mask)
        ``published``: the table with the protected columns as text (``c`` or a whole number);
        ``mask``: which cells of those columns are suppressed.
    """
    return suppress_columns(table, list(suppress), threshold, total_row=TOTAL)


def display_table(published: pd.DataFrame) -> pd.DataFrame:
    """Every cell as display text (thousands separators, %, £; ``n/a`` for missing).

    The index becomes the first column ``Locality``; columns get their labels.
    """
    out = pd.DataFrame(index=published.index)
    for col, (_label, kind) in COLUMNS.items():
        if col == "locality":
            continue
        out[col] = ([str(v) if pd.notna(v) else "" for v in published[col]] if kind == "text"
                    else [format_value(v, kind) for v in published[col]])
    out.insert(0, "locality", published.index.astype(str))
    return out.reset_index(drop=True)


def format_value(v: object, kind: str) -> str:
    """One value as display text for its kind (already-text values, such as ``c``, kept)."""
    if isinstance(v, str):
        if v == "":
            return "n/a"
        try:
            v = float(v)
        except ValueError:
            return v
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "n/a"
    if not np.isfinite(f):
        return "n/a"
    if kind == "count":
        return f"{f:,.0f}"
    if kind == "int":
        return f"{f:.0f}"
    if kind == "percent":
        return f"{100 * f:.1f}%"
    if kind == "decimal1":
        return f"{f:.1f}"
    if kind == "decimal2":
        return f"{f:.2f}"
    if kind == "money":
        return f"£{f:,.0f}"
    return str(v)


def csv_table(published: pd.DataFrame) -> pd.DataFrame:
    """The published table for CSV: machine-readable numbers, ``c`` for suppressed, blank n/a."""
    out = published.copy()
    digits = {"count": 0, "int": 0, "money": 0, "percent": 4, "decimal1": 1, "decimal2": 3}
    for col, (_label, kind) in COLUMNS.items():
        if col not in out.columns or kind not in digits:
            continue
        num = pd.to_numeric(out[col], errors="coerce")
        if out[col].dtype == object and num.isna().any() and out[col].notna().all():
            continue  # already published as text (suppressed counts)
        if digits[kind] == 0:
            out[col] = num.round().astype("Int64")
        else:
            out[col] = num.round(digits[kind])
    out.insert(0, "locality", out.index.astype(str))
    return out.reset_index(drop=True)
