"""Children per area in each year of a multi-year plan: a trend from official estimates, a
council's own figures, or a factor per year.

Method (``multi_year.growth: trend``):

- The ONS mid-year estimates of children aged 0-17 in the council (DfE's copy in the data mirror,
  ``children_in_need/ons_mid_year_population_0_17_by_la_2012_to_2024.csv``) give one county
  figure a year, 2012-2024.
- A plan year inside that range takes the published figure; a later year extends a straight line
  fitted by least squares to the latest :data:`TREND_YEARS` published years (2019-2024). A straight
  line is the simplest projection that follows the recent direction; it knows nothing of births,
  migration or new housing, and the further out the year, the less it is worth.
- Each year's factor is its figure ÷ the figure for the instance's population year (mid-2019 for
  the prepared instances), applied to every area alike: the trend says how many more or fewer
  children, not where.
- The 0-17 trend stands in for the plan's age group (0-4 or 0-19), which ONS does not publish by
  council on the same footing; under-fives follow births more closely and can move differently.

Where children will be is a council's own knowledge: a growth file (``multi_year.growth_file``,
a CSV file) with columns ``year``, one of ``area_id`` or ``locality``, and ``children`` (the
children there that year) or ``extra_children`` (on top of the trend, e.g. from planned housing
at Bicester) overrides the trend for the areas it names: a locality's figure is shared among its
areas in proportion to their children. Rows for one place and year are applied in turn, so
``extra_children`` rows add up; no place may go below 0 children. A year's own ``children:``
factor in ``years:`` overrides both for every area.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import InputError, ScenarioError
from optimiser.instance import Instance
from optimiser.scenario import Scenario

TREND_FILE = "children_in_need/ons_mid_year_population_0_17_by_la_2012_to_2024.csv"
#: Published years the straight line is fitted to (the latest six).
TREND_YEARS = 6
#: The population year of prepared instances (ONS mid-2019 small-area estimates).
DEFAULT_CHILDREN_YEAR = 2019


def area_factors(scenario: Scenario, instance: Instance) -> np.ndarray:
    """Per year (rows) and area (columns): children that year ÷ the instance's children."""
    years = [y.year for y in scenario.years]
    opts = scenario.multi_year
    n = len(instance.areas)
    factors = np.ones((len(years), n))
    if opts is not None and opts.growth == "trend":
        code, base = _instance_council(scenario, instance)
        series = council_children(code, scenario, _prepared_series(instance, code))
        factors *= np.array(trend_factors(series, base, years))[:, None]
    if opts is not None and opts.growth_file is not None:
        factors = _apply_growth_file(scenario, instance, years, factors)
    for t, entry in enumerate(scenario.years):
        if entry.children is not None:
            factors[t] = entry.children
    return factors


def trend_factors(series: pd.Series, base_year: int, years: list[int]) -> list[float]:
    """Each year's children ÷ the base year's (published figure, else the fitted line).

    >>> s = pd.Series([100.0, 102.0, 104.0, 106.0, 108.0, 110.0], index=range(2019, 2025))
    >>> [round(f, 3) for f in trend_factors(s, 2019, [2024, 2026])]
    [1.1, 1.14]
    """
    def level(year: int) -> float:
        if year in series.index:
            return float(series.loc[year])
        recent = series.sort_index().iloc[-TREND_YEARS:]
        slope, intercept = np.polyfit(recent.index.to_numpy(float), recent.to_numpy(float), 1)
        return float(max(slope * year + intercept, 0.0))

    base = level(base_year)
    return [level(y) / base if base > 0 else 1.0 for y in years]


def council_children(code: str, scenario: Scenario,
                     prepared: pd.Series | None = None) -> pd.Series:
    """The council's published children aged 0-17 by mid-year (ONS via DfE): the series
    ``prepare`` kept in ``prepare.json``, else read from the data folder."""
    if prepared is not None and len(prepared):
        return prepared
    from optimiser.sources import data_root

    root = data_root(fetch=False)
    path = root / TREND_FILE
    if not path.is_file():
        raise ScenarioError(
            f"multi_year.growth trend needs the ONS mid-year estimates {TREND_FILE}, which are "
            f"not in the data folder {root}", file=scenario.source, key="multi_year.growth",
            hint="set OPTIMISER_DATA_MIRROR to the data mirror, or give each year's children: "
                 "factor in years:, or growth: none")
    table = pd.read_csv(path, dtype={"new_la_code": str})
    rows = table[(table["geographic_level"] == "Local authority")
                 & (table["new_la_code"] == code)]
    if rows.empty:
        raise ScenarioError(
            f"the ONS mid-year estimates have no council with code {code}",
            file=scenario.source, key="multi_year.growth",
            hint="give multi_year.council (a code such as E10000025) or each year's children:")
    return rows.groupby("time_period")["population_estimate"].sum().astype(float)


def children_series(root: Path, code: str) -> dict[str, int]:
    """The council's children 0-17 by mid-year from the data folder, for ``prepare.json``
    (empty when the file or the council is not there)."""
    path = root / TREND_FILE
    if not path.is_file():
        return {}
    table = pd.read_csv(path, dtype={"new_la_code": str})
    rows = table[(table["geographic_level"] == "Local authority")
                 & (table["new_la_code"] == code)]
    by_year = rows.groupby("time_period")["population_estimate"].sum()
    return {str(int(y)): int(v) for y, v in by_year.sort_index().items()}


def _prepared_series(instance: Instance, code: str) -> pd.Series | None:
    meta = instance.metadata or {}
    kept = meta.get("children_0_17") or {}
    if not kept or (meta.get("la") or {}).get("code") != code:
        return None
    return pd.Series({int(y): float(v) for y, v in kept.items()}).sort_index()


def _instance_council(scenario: Scenario, instance: Instance) -> tuple[str, int]:
    """The council code and population year: the scenario's, else the instance's prepare.json."""
    opts = scenario.multi_year
    meta = {}
    if instance.folder is not None and (instance.folder / "prepare.json").is_file():
        meta = json.loads((instance.folder / "prepare.json").read_text(encoding="utf-8"))
    code = opts.council or (meta.get("la") or {}).get("code")
    if not code:
        raise ScenarioError(
            "multi_year.growth trend needs the council, and the instance has no prepare.json "
            "naming it", file=scenario.source, key="multi_year.council",
            hint="add multi_year: {council: E10000025} (the council's ONS code)")
    return str(code), opts.children_year or population_year(meta)


def population_year(meta: dict) -> int:
    """The mid-year the instance's children were counted, from ``prepare.json`` (its vintage
    names the estimate, e.g. "ONS mid-2022 ..."); 2019 for instances that do not say.

    >>> population_year({"vintage": {"population": "ONS LSOA 2021 estimates, mid-2022"}})
    2022
    >>> population_year({})
    2019
    """
    import re

    text = str((meta.get("vintage") or {}).get("population") or "")
    found = re.search(r"mid-(\d{4})", text)
    return int(found.group(1)) if found else DEFAULT_CHILDREN_YEAR


def _apply_growth_file(scenario: Scenario, instance: Instance, years: list[int],
                       factors: np.ndarray) -> np.ndarray:
    path = Path(scenario.multi_year.growth_file)
    if not path.is_absolute() and scenario.source is not None:
        path = scenario.source.parent / path
    table = read_growth_file(path)
    areas = instance.areas
    pop = areas["population"].to_numpy(float)
    by = "area_id" if "area_id" in table.columns else "locality"
    keys = areas[by].astype(str).to_numpy()
    out = factors.copy()
    for row, (key, year, value, extra) in enumerate(zip(
            table[by].astype(str), table["year"], table["value"], table["extra"],
            strict=True), start=2):
        members = keys == key
        if not members.any():
            raise InputError(f"{by} '{key}' is not in the instance's areas.csv", file=path,
                             row=row, column=by, hint=f"use {by} values from areas.csv")
        if year not in years:
            continue  # a year outside the plan
        t = years.index(year)
        base = float(pop[members].sum())
        # Rows add up: two extra_children rows for one place and year are both counted.
        now = float(np.dot(pop[members], out[t, members]))
        target = now + value if extra else value
        if base <= 0:
            raise InputError(f"{by} '{key}' has no children in the instance to scale",
                             file=path, row=row, column=by,
                             hint="name areas that have children, or a locality")
        if target < 0:
            raise InputError(f"{by} '{key}' would have {target:,.0f} children in {year}",
                             file=path, row=row, column="extra_children",
                             hint="a negative extra_children can take away at most the "
                             f"{now:,.0f} children the place has that year")
        out[t, members] = out[t, members] * (target / now if now > 0 else target / base)
    return out


def read_growth_file(path: Path) -> pd.DataFrame:
    """The growth file: year, area_id or locality, children or extra_children."""
    if not path.is_file():
        raise InputError("the growth file does not exist", file=path,
                         hint="give multi_year.growth_file relative to the scenario file")
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    table.columns = [c.strip().lower() for c in table.columns]
    place = [c for c in ("area_id", "locality") if c in table.columns]
    amount = [c for c in ("children", "extra_children") if c in table.columns]
    if "year" not in table.columns or len(place) != 1 or len(amount) != 1:
        raise InputError(
            "the growth file needs the columns year, one of area_id or locality, and one of "
            "children or extra_children", file=path,
            hint="e.g. a header 'locality,year,extra_children' and a row 'Bicester,2028,450'")
    out = pd.DataFrame({place[0]: table[place[0]].str.strip()})
    for column, target in (("year", "year"), (amount[0], "value")):
        values = pd.to_numeric(table[column].str.replace(",", ""), errors="coerce")
        bad = values.isna() | (values < 0 if target == "value" and amount[0] == "children"
                               else values.isna())
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0]) + 2
            raise InputError(f"'{table[column].iloc[row - 2]}' is not a number", file=path,
                             row=row, column=column,
                             hint="write whole years and numbers of children, e.g. 2028, 450")
        out[target] = values.astype(int) if target == "year" else values.astype(float)
    out["extra"] = amount[0] == "extra_children"
    return out
