"""A multi-year plan in the pack: the year-by-year table, its chart, and what changes in each
locality, and when (from a solved folder's ``years.csv``, ``schedule.csv`` and
``localities_years.csv``; see :mod:`optimiser.solve_years`).

Nothing here is a count of children in need or on protection plans: the figures are budgets,
spend, sites, workers and shares served, which the published tables already show.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

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


def years_context(folder: Path, site_names: dict[str, str]) -> dict | None:
    """The pack's year-by-year section: table rows, chart (SVG and PNG) and changes by place."""
    got = read_years(folder)
    if got is None:
        return None
    years, schedule, by_loc = got
    return {"columns": [label for _c, label in YEAR_COLUMNS],
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
