"""A multi-year plan in the pack: the year-by-year table, its chart, and what changes in each
locality, and when (from a solved folder's ``years.csv``, ``schedule.csv`` and
``localities_years.csv``; see :mod:`optimiser.solve_years`).

Nothing here is a count of children in need or on protection plans: the figures are budgets,
spend, sites, workers and shares served, which the published tables already show.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import InputError
from optimiser.files import parse_bool_column
from optimiser.model.words import money, plural
from optimiser.report import charts

#: The year-by-year table's columns: (years.csv column, heading).
YEAR_COLUMNS = [("year", "Year"), ("budget", "Budget"), ("annual_cost", "Spend"),
                ("sites_open", "Centres open"), ("opened", "Opens"), ("closed", "Closes"),
                ("outreach_workers", "Outreach workers"), ("reach_share", "Need served"),
                ("reach_share_deprived", "Need served, IMD deciles 1-2")]


def read_years(folder: Path) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame] | None:
    """``years.csv``, ``schedule.csv`` and ``localities_years.csv``, or None (one year)."""
    names = ("years.csv", "schedule.csv", "localities_years.csv")
    if not all((folder / n).is_file() for n in names):
        return None
    years, schedule, by_loc = (pd.read_csv(folder / n, keep_default_na=False,
                                           na_values=[""]) for n in names)
    return years, schedule, by_loc


def years_context(folder: Path, site_names: dict[str, str],
                  settings: dict | None = None) -> dict | None:
    """The pack's year-by-year section: table rows, chart (SVG and PNG), changes by place, and
    whether a closed centre may reopen (``settings``: ``solution.json``'s, whose
    ``multi_year.reopen`` says)."""
    got = read_years(folder)
    if got is None:
        return None
    years, schedule, by_loc = got
    reopen = bool(((settings or {}).get("multi_year") or {}).get("reopen"))
    return {"reopen": reopen, "areas_by_year": (folder / "areas_years.csv").is_file(),
            "columns": [label for _c, label in YEAR_COLUMNS],
            "rows": year_rows(years, site_names),
            "svg": charts.years_chart(years), "png": charts.years_chart(years, fmt="png"),
            "changes": changes_by_locality(years, schedule, by_loc, site_names)}


def year_rows(years: pd.DataFrame, site_names: dict[str, str]) -> list[list[str]]:
    """The table's rows as text (site ids named, money in £m, shares in %)."""
    def names(ids) -> str:
        if not isinstance(ids, str) or not ids:
            return "-"
        return ", ".join(site_names.get(i, i) for i in ids.split(";"))

    def share(v) -> str:
        return "-" if pd.isna(v) else f"{100 * float(v):.1f}%"

    return [[str(int(r["year"])), money(r["budget"]), money(r["annual_cost"]),
             str(int(r["sites_open"])), names(r["opened"]), names(r["closed"]),
             str(int(r["outreach_workers"])), share(r["reach_share"]),
             share(r.get("reach_share_deprived"))] for _, r in years.iterrows()]


def changes_by_locality(years: pd.DataFrame, schedule: pd.DataFrame, by_loc: pd.DataFrame,
                        site_names: dict[str, str]) -> list[tuple[str, list[str]]]:
    """Per locality, in the plan's order: sentences such as "2027: Bicester centre hub opens;
    outreach workers 2 -> 4" (the first year counts today's network as the start)."""
    out = []
    first, last = int(years["year"].min()), int(years["year"].max())
    for loc in dict.fromkeys(by_loc["locality"]):
        mine = schedule[schedule["locality"] == loc]
        rows = by_loc[by_loc["locality"] == loc].sort_values("year")
        events: dict[int, list[str]] = {}
        for _, site in mine.iterrows():
            name = site_names.get(str(site["site_id"]), str(site["name"]))
            for key, verb in (("opens", "opens"), ("closes", "closes")):
                if pd.notna(site[key]):
                    events.setdefault(int(site[key]), []).append(f"{name} {verb}")
        previous = None
        for year, now in zip(rows["year"].astype(int), rows["outreach_workers"].astype(int),
                             strict=True):
            if previous is None and now:
                events.setdefault(year, []).append(plural(now, "outreach worker"))
            elif previous is not None and now != previous:
                events.setdefault(year, []).append(f"outreach workers {previous} -> {now}")
            previous = now
        sentences = [f"{y}: {'; '.join(e)}" for y, e in sorted(events.items())]
        out.append((str(loc), sentences or [f"no change in {first}-{last}"]))
    return out


# ------------------------------------------------------------------------------------------
# The map's year by year layers
# ------------------------------------------------------------------------------------------

#: A site's state in a year of the plan, against the year before (today's network before the
#: first year), and its words; ``{year}`` is the year shown, ``{since}`` the year of the last
#: change. A candidate never open by the year shown is not among them.
SITE_YEAR_WORDS = {
    "open": "Open (open today)",
    "opens": "Opens in {year}",
    "opened": "Open (opened in {since})",
    "closes": "Closes in {year}",
    "closed": "Closed (closed in {since})",
}
#: The states in which a site is open that year.
OPEN_STATES = ("open", "opens", "opened")


@dataclass
class PlanYears:
    """A multi-year plan as the map draws it, year by year.

    Attributes
    ----------
    years
        The plan's years, in order.
    table
        ``years.csv``: one row per year (budget, spend, sites, workers, share served, ...).
    sites
        One row per site and year in which the map shows it: ``year, site_id, state`` (a key of
        :data:`SITE_YEAR_WORDS`), ``since`` (the year of its last change before, else None) and
        ``words`` (``"Opens in 2027"``).
    localities
        ``localities_years.csv``: ``year, locality, sites, outreach_workers, reach_share``.
    areas
        ``areas_years.csv``: ``year, area_id, reached_by, reached_before, change, ...``; None in
        a folder written before it (the map's area layers are then the last year's).
    """

    years: list[int]
    table: pd.DataFrame
    sites: pd.DataFrame
    localities: pd.DataFrame
    areas: pd.DataFrame | None = None


def site_year_states(site_ids: list[str], existing: np.ndarray, open_by_year: np.ndarray,
                     years: list[int]) -> pd.DataFrame:
    """Each site's state in each year (see :data:`SITE_YEAR_WORDS`).

    ``open_by_year`` is sites × years (open or not); a site is open before the first year when
    it is ``existing``.

    Examples
    --------
    >>> t = site_year_states(["A", "B"], np.array([True, False]),
    ...                      np.array([[True, False, False], [False, True, True]]),
    ...                      [2026, 2027, 2028])
    >>> t["words"].tolist()
    ['Open (open today)', 'Closes in 2027', 'Closed (closed in 2027)', 'Opens in 2027', \
'Open (opened in 2027)']
    """
    rows = []
    for j, site in enumerate(site_ids):
        before, last = bool(existing[j]), None
        for t, year in enumerate(years):
            now = bool(open_by_year[j, t])
            if now != before:
                state, since, last = ("opens" if now else "closes"), None, year
            elif last is not None:
                state, since = ("opened" if now else "closed"), last
            elif now:
                state, since = "open", None
            else:  # a candidate not opened yet
                before = now
                continue
            rows.append({"year": year, "site_id": site, "state": state, "since": since,
                         "words": SITE_YEAR_WORDS[state].format(year=year, since=since)})
            before = now
    return pd.DataFrame(rows, columns=["year", "site_id", "state", "since", "words"]).astype(
        {"since": "Int64"})


def plan_years(folder: Path, site_ids: list[str],
               area_ids: list[str] | None = None) -> PlanYears | None:
    """The plan year by year from a solved folder's ``years.csv``, ``schedule.csv`` and
    ``localities_years.csv`` (and ``areas_years.csv`` when there); None for a one-year plan.

    Raises
    ------
    InputError
        The files disagree with each other, with ``sites.csv`` or with ``area_ids`` (those of
        ``areas.csv``): the file and column named.
    """
    got = read_years(folder)
    if got is None:
        return None
    table, schedule, by_loc = got
    _need_columns(table, ["year", "budget", "annual_cost", "sites_open", "outreach_workers",
                          "reach_share"], folder / "years.csv")
    years = [int(y) for y in table["year"]]
    path = folder / "schedule.csv"
    _need_columns(schedule, ["site_id", "status"] + [f"open_{y}" for y in years], path)
    ids = schedule["site_id"].astype(str)
    unknown = ~ids.isin(set(site_ids))
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(f"site '{ids.iloc[i]}' is not in sites.csv", file=path, row=i + 2,
                         column="site_id", hint="write the folder again with 'optimiser solve'")
    state = np.column_stack([parse_bool_column(schedule, f"open_{y}", file=path).to_numpy()
                             for y in years])
    existing = schedule["status"].astype(str).eq("existing").to_numpy()
    loc_path = folder / "localities_years.csv"
    _need_columns(by_loc, ["year", "locality", "sites", "outreach_workers", "reach_share"],
                  loc_path)
    _need_known(by_loc, "year", years, "years.csv", loc_path)
    return PlanYears(years, table, site_year_states(ids.tolist(), existing, state, years),
                     by_loc, _areas_years(folder, years, area_ids))


def _areas_years(folder: Path, years: list[int], area_ids: list[str] | None
                 ) -> pd.DataFrame | None:
    """``areas_years.csv`` checked against the years and ``areas.csv``; None if absent."""
    path = folder / "areas_years.csv"
    if not path.is_file():
        return None
    table = pd.read_csv(path, keep_default_na=False, na_values=[""],
                        dtype={"area_id": str})
    _need_columns(table, ["area_id", "year", "reached_by", "reached_before", "change"], path)
    _need_known(table, "year", years, "years.csv", path)
    if area_ids is not None:
        _need_known(table, "area_id", area_ids, "areas.csv", path)
    return table


def _need_known(table: pd.DataFrame, column: str, known: list, where: str, path: Path) -> None:
    """Every value of ``column`` is among ``known`` (those of ``where``)."""
    stray = ~table[column].isin(known)
    if stray.any():
        i = int(np.flatnonzero(stray.to_numpy())[0])
        what = "year" if column == "year" else "area"
        raise InputError(f"{what} {table[column].iloc[i]} is not in {where}", file=path,
                         row=i + 2, column=column,
                         hint="write the folder again with 'optimiser solve'")


def _need_columns(table: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"the table has no column '{missing[0]}'", file=path,
                         column=missing[0], hint="write the folder again with 'optimiser solve'")
