"""Funding allocation: split a budget across localities or districts in proportion to need.

"Location of services *and funding* should be determined based on need": once the network is
chosen, a council still has pots to share out (outreach, family support, community grants). This
module splits such a pot across units (localities or districts) in proportion to their
need-weighted children, with a floor (every unit gets at least this) and a cap (no unit gets more),
and sets it beside the flat split a council would otherwise use (Lancashire gave each of its 12
districts £80,000 from a £1m pot).

Method (exact, no iteration tolerance)
--------------------------------------
Unit *i* has need :math:`w_i \\ge 0`, floor :math:`f_i` and cap :math:`c_i`. The allocation is

.. math::  x_i = \\min(c_i, \\max(f_i, \\lambda w_i)),  \\qquad \\sum_i x_i = B

for the one level :math:`\\lambda` (pounds per need-weighted child) that spends the budget
:math:`B` exactly: units whose proportional share falls below their floor are lifted to it, units
above their cap are held at it, and the rest share what is left in proportion to need. This is the
"water-filling" that an iterative fix-and-redistribute reaches; here :math:`\\lambda` is found
directly, because :math:`g(\\lambda) = \\sum_i x_i(\\lambda)` is piecewise linear and
non-decreasing, with breakpoints at :math:`f_i / w_i` and :math:`c_i / w_i`.

Amounts are whole pounds: floors are rounded up and caps down to the pound, the budget to the
nearest pound, and the shares are rounded by the largest-remainder method (ties go to the unit
listed first), so the allocation sums exactly to the budget, never leaves a floor or cap, and is
the same every run. With equal need everywhere (and the same floor and cap for every unit) the
result is exactly the flat split. A unit with no need gets its floor. If there is no need anywhere,
the split is flat.

Examples
--------
>>> need = pd.Series({"Banbury": 300.0, "Oxford": 500.0, "Witney": 200.0})
>>> allocate(need, 1_000_000)[["unit", "allocation", "flat_allocation"]]
      unit  allocation  flat_allocation
0  Banbury      300000           333334
1   Oxford      500000           333333
2   Witney      200000           333333
>>> allocate(need, 1_000_000, floor=250_000)["allocation"].tolist()
[281250, 468750, 250000]
"""

from __future__ import annotations

import math
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser import limits
from optimiser.errors import InputError
from optimiser.files import (
    check_not_inside,
    official_data_folders,
    read_table,
    write_csv,
    write_json,
)

LEVELS = {"locality": "locality", "district": "lad_name"}
BASES = ("need", "unreached")
ALLOCATION_COLUMNS = [
    "level", "unit", "need", "need_share", "allocation", "flat_allocation", "difference", "limit",
]


def _as_unit_series(value: float | pd.Series, index: pd.Index, what: str) -> pd.Series:
    """A floor or cap given as one number or per unit, aligned to the units."""
    if isinstance(value, pd.Series):
        missing = [u for u in index if u not in value.index]
        if missing:
            raise InputError(
                f"the {what} is not given for {len(missing)} unit(s), e.g. '{missing[0]}'",
                hint=f"give a {what} for every unit, or one number for all",
            )
        series = pd.to_numeric(value.reindex(index), errors="coerce").astype(float)
    else:
        series = pd.Series(float(value), index=index)
    if series.isna().any():
        bad = series.index[series.isna()][0]
        raise InputError(f"the {what} for '{bad}' is not a number",
                         hint=f"give the {what} in pounds")
    if (series < 0).any():
        bad = series.index[series < 0][0]
        raise InputError(f"the {what} for '{bad}' is negative ({series[bad]:g})",
                         hint=f"a {what} is an amount in pounds, 0 or more")
    return series


def _check_need(need: pd.Series) -> pd.Series:
    if not isinstance(need, pd.Series) or need.empty:
        raise InputError("there are no units to allocate to",
                         hint="pass need as a Series indexed by locality or district")
    if need.index.has_duplicates:
        dup = need.index[need.index.duplicated()][0]
        raise InputError(f"the unit '{dup}' appears more than once",
                         hint="sum the need of each unit first (one row per unit)")
    values = pd.to_numeric(need, errors="coerce").astype(float)
    bad = values.isna() | ~np.isfinite(values) | (values < 0)
    if bad.any():
        unit = values.index[bad][0]
        raise InputError(f"the need of '{unit}' is {need[unit]!r}, not a number of 0 or more",
                         hint="need is the need-weighted children of the unit (population x need)")
    return values


def _solve_level(
    w: np.ndarray, f: np.ndarray, c: np.ndarray, budget: float
) -> tuple[np.ndarray, float]:
    """Exact x_i = clip(lambda * w_i, f_i, c_i) with sum x = budget (w > 0 somewhere).

    Returns the shares and lambda (pounds per unit of need for units inside their bounds).
    """
    pos = w > 0
    points = np.concatenate([[0.0], f[pos] / w[pos], c[pos] / w[pos]])
    points = np.unique(points[np.isfinite(points)])

    def spent(lam: float) -> float:
        return float(np.clip(lam * w, f, c).sum())

    totals = np.array([spent(p) for p in points])
    k = int(np.searchsorted(totals, budget, side="left"))
    if k >= len(points):
        # Past the last breakpoint only units with need and no cap can take more.
        slope = float(w[pos & ~np.isfinite(c)].sum())
        if slope > 0:
            lam = points[-1] + (budget - totals[-1]) / slope
            return np.clip(lam * w, f, c), float(lam)
        raise InputError(
            f"the caps of the units with need add up to £{totals[-1]:,.0f}, less than the "
            f"budget of £{budget:,.0f} (units with no need only get their floor)",
            hint="raise the caps, or lower the budget",
        )
    if totals[k] == budget or k == 0:
        lam = points[k]
    else:
        lo, hi = points[k - 1], points[k]
        # On (lo, hi) g is linear: the slope is the need of the units strictly between bounds.
        mid = 0.5 * (lo + hi)
        free = pos & (mid * w > f) & (mid * w < c)
        slope = float(w[free].sum())
        lam = lo + (budget - totals[k - 1]) / slope if slope > 0 else hi
    return np.clip(lam * w, f, c), float(lam)


def _round_largest_remainder(
    x: np.ndarray, budget: int, f: np.ndarray, c: np.ndarray
) -> np.ndarray:
    """Whole pounds summing to ``budget``, each within [f, c]; ties go to the earlier unit."""
    base = np.floor(x + 1e-6)
    base = np.clip(base, f, c)
    rem = x - base
    order_pos = np.arange(len(x))
    short = round(budget - base.sum())
    if short > 0:
        eligible = np.flatnonzero(base + 1 <= c)
        ranked = sorted(eligible, key=lambda i: (-rem[i], order_pos[i]))
        if short > len(ranked):
            raise InputError("the budget cannot be split in whole pounds within the caps",
                             hint="raise the caps or lower the budget")
        base[ranked[:short]] += 1
    elif short < 0:
        eligible = np.flatnonzero(base - 1 >= f)
        ranked = sorted(eligible, key=lambda i: (rem[i], -order_pos[i]))
        base[ranked[: -short]] -= 1
    return base.astype(np.int64)


def flat_split(units: pd.Index, budget: float) -> pd.Series:
    """The same amount for every unit, in whole pounds summing to the budget.

    Examples
    --------
    >>> flat_split(pd.Index(["a", "b", "c"]), 100).tolist()
    [34, 33, 33]
    """
    n = len(units)
    total = round(budget)
    x = np.full(n, total / n)
    out = _round_largest_remainder(x, total, np.zeros(n), np.full(n, np.inf))
    return pd.Series(out, index=units, name="flat_allocation")


def allocate(
    need: pd.Series,
    budget: float,
    *,
    floor: float | pd.Series = 0.0,
    cap: float | pd.Series = math.inf,
    level: str = "unit",
) -> pd.DataFrame:
    """Split ``budget`` across units in proportion to need, within floors and caps.

    Parameters
    ----------
    need
        Need of each unit (need-weighted children, Σ population × need), indexed by unit name.
        The order of the index is the order of the output and breaks rounding ties.
    budget
        Pounds to share out (rounded to the nearest pound).
    floor, cap
        Least and most any unit gets, in pounds: one number for all, or a Series per unit.
        Floors are rounded up and caps down to the pound.
    level
        What the units are (``locality``, ``district``); written in the ``level`` column.

    Returns
    -------
    pandas.DataFrame
        One row per unit: ``level``, ``unit``, ``need``, ``need_share`` (of the total need),
        ``allocation`` (whole pounds, sums to the budget), ``flat_allocation`` (the budget split
        equally, whole pounds), ``difference`` (allocation − flat), ``limit`` (``floor`` or
        ``cap`` when that bound holds the unit, else blank).

    Raises
    ------
    InputError
        Negative or missing need, floors adding up to more than the budget, caps adding up to
        less, or a floor above a cap.
    """
    w_series = _check_need(need)
    units = w_series.index
    if not np.isfinite(budget) or budget < 0:
        raise InputError(f"the budget £{budget} is not an amount of 0 or more",
                         hint="give the budget in pounds, e.g. 1000000")
    total = round(budget)
    f = np.ceil(_as_unit_series(floor, units, "floor").to_numpy() - 1e-9)
    c = np.floor(_as_unit_series(cap, units, "cap").to_numpy() + 1e-9)
    over = f > c
    if over.any():
        unit = units[np.flatnonzero(over)[0]]
        raise InputError(f"the floor of '{unit}' (£{f[over][0]:,.0f}) is above its cap "
                         f"(£{c[over][0]:,.0f})", hint="make every floor at most the cap")
    if f.sum() > total:
        raise InputError(
            f"the floors add up to £{f.sum():,.0f}, more than the budget of £{total:,}",
            hint=f"lower the floor (at most £{total / len(units):,.0f} each for "
            f"{len(units)} units) or raise the budget",
        )
    if c.sum() < total:
        raise InputError(
            f"the caps add up to £{c.sum():,.0f}, less than the budget of £{total:,}",
            hint=f"raise the cap (at least £{total / len(units):,.0f} each for "
            f"{len(units)} units) or lower the budget",
        )
    w = w_series.to_numpy()
    if w.sum() <= 0:
        w = np.ones_like(w)  # no need anywhere: nothing to be proportional to, so split flat
    x, lam = _solve_level(w, f, c, float(total))
    alloc = _round_largest_remainder(x, total, f, c)
    flat = flat_split(units, total).to_numpy()
    proportional = lam * w
    limit = np.where(proportional < f - 1e-9, "floor", np.where(proportional > c + 1e-9, "cap", ""))
    need_total = float(w_series.sum())
    return pd.DataFrame({
        "level": level,
        "unit": [str(u) for u in units],
        "need": w_series.to_numpy(),
        "need_share": w_series.to_numpy() / need_total if need_total > 0 else 1 / len(units),
        "allocation": alloc,
        "flat_allocation": flat,
        "difference": alloc - flat,
        "limit": limit,
    })


def unit_need(
    areas: pd.DataFrame, level: str = "locality", basis: str = "need", *, file: str | Path = ""
) -> pd.Series:
    """Need per locality or district from an areas table (instance or solved folder).

    Parameters
    ----------
    areas
        ``areas.csv`` of an instance (``population``, ``need``) or of a solved folder
        (``demand``, ``reach_share``). Districts come from ``lad_name``.
    level
        ``locality`` or ``district``.
    basis
        ``need``: all need-weighted children; ``unreached``: those the plan does not reach,
        ``demand × (1 − reach_share)`` (needs a solved folder), e.g. to direct outreach money
        where the centres do not reach.

    Returns
    -------
    pandas.Series
        Need per unit, in order of first appearance in the file (deterministic).
    """
    if level not in LEVELS:
        raise InputError(f"unknown level '{level}'", hint="use locality or district")
    if basis not in BASES:
        raise InputError(f"unknown basis '{basis}'", hint="use need or unreached")
    column = LEVELS[level]
    if column not in areas.columns:
        raise InputError(
            f"the areas table has no '{column}' column, so it cannot be split by {level}",
            file=file or None, column=column,
            hint="districts come from 'lad_name', which 'optimiser prepare' writes",
        )
    if "demand" in areas.columns:
        demand = areas["demand"].astype(float)
    else:
        demand = areas["population"].astype(float) * areas["need"].astype(float)
    if basis == "unreached":
        if "reach_share" not in areas.columns:
            raise InputError(
                "basis 'unreached' needs a solved folder (areas.csv with 'reach_share')",
                file=file or None, column="reach_share",
                hint="run 'optimiser solve' first, or use basis 'need'",
            )
        demand = demand * (1 - areas["reach_share"].astype(float).clip(0, 1))
    keys = areas[column].astype(str)
    order = list(dict.fromkeys(keys))
    return demand.groupby(keys, sort=False).sum().reindex(order).rename("need")


def allocate_from_folder(
    folder: str | Path,
    budget: float,
    *,
    level: str = "locality",
    basis: str = "need",
    floor: float | pd.Series = 0.0,
    cap: float | pd.Series = math.inf,
) -> pd.DataFrame:
    """:func:`allocate` with need per locality or district read from a folder's ``areas.csv``."""
    file = Path(folder) / "areas.csv"
    areas = read_table(file, required=["area_id"], text=["area_id", "locality", "lad_name"],
                       what="areas file")
    for col in ("demand",) if "demand" in areas.columns else ("population", "need"):
        if col not in areas.columns:
            raise InputError(f"required column '{col}' is missing", file=file, column=col,
                             hint="use an instance or solved folder written by optimiser")
    return allocate(unit_need(areas, level, basis, file=file), budget, floor=floor, cap=cap,
                    level=level)


def write_allocation(table: pd.DataFrame, out_dir: str | Path, *, purpose: str, budget: float,
                     basis: str = "need", floor: float = 0.0, cap: float = math.inf) -> Path:
    """Write ``allocation.csv`` and ``allocation.json`` (what, how much, the rules) into a folder.

    The report reads these when present (see docs/interfaces.md). Both are written beside the
    folder's other files first and moved in together, so a failed write (a full disk) leaves the
    folder as it was, and removes a folder this call created.
    """
    out_dir = Path(out_dir)
    check_not_inside(out_dir, official_data_folders())
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        with tempfile.TemporaryDirectory(dir=out_dir, prefix=".allocation.partial-") as tmp:
            _write_allocation_files(table, Path(tmp), purpose=purpose, budget=budget,
                                    basis=basis, floor=floor, cap=cap)
            for name in ("allocation.csv", "allocation.json"):
                os.replace(Path(tmp) / name, out_dir / name)
    except BaseException:
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    return out_dir / "allocation.csv"


def _write_allocation_files(table: pd.DataFrame, out_dir: Path, *, purpose: str, budget: float,
                            basis: str, floor: float, cap: float) -> None:
    table = table.copy()
    table["need"] = table["need"].round(1)
    table["need_share"] = table["need_share"].round(4)
    write_csv(out_dir / "allocation.csv", table[ALLOCATION_COLUMNS])
    write_json(out_dir / "allocation.json", {
        "purpose": purpose,
        "budget": round(budget),
        "level": str(table["level"].iloc[0]) if len(table) else "",
        "basis": basis,
        "floor": floor,
        "cap": None if not math.isfinite(cap) else cap,
        "units": len(table),
        "method": "proportional to need with floors and caps (water-filling), whole pounds by "
        "largest remainder; flat_allocation is the budget split equally",
    })


def run_allocate(
    folder: str | Path,
    budget: float,
    out: str | Path,
    *,
    level: str = "locality",
    basis: str = "need",
    floor: float = 0.0,
    cap: float = math.inf,
    purpose: str = "funding",
) -> str:
    """``optimiser allocate``: split a budget by need, write ``allocation.csv``/``.json`` into
    ``out`` (an existing folder is kept: give a solved folder to put the split in its pack)."""
    for option, amount in (("--budget", budget), ("--floor", floor), ("--cap", cap)):
        if math.isfinite(amount) and amount > limits.MAX_POUNDS:
            raise InputError(f"£{limits.shown(amount)} is more than £10bn, more than any "
                             "council spends in all", column=option,
                             hint="give whole pounds, e.g. 960000; leave out --cap for no "
                             "cap")
    table = allocate_from_folder(folder, budget, level=level, basis=basis, floor=floor, cap=cap)
    path = write_allocation(table, out, purpose=purpose, budget=budget, basis=basis,
                            floor=floor, cap=cap)
    if len(table) == 1:
        # A unitary council is one district: there is nothing to split (say so, once).
        lines = [f"£{round(budget):,} of {purpose}: the council is one {level}, so it all goes "
                 f"to {table['unit'].iloc[0]}; use --level locality to split it by need"]
    else:
        lines = [f"£{round(budget):,} of {purpose} split by "
                 f"{'need not reached by the plan' if basis == 'unreached' else 'need'} across "
                 f"{len(table)} {level} units (a flat split would give each about "
                 f"£{budget / len(table):,.0f}):"]
    for row in table.itertuples():
        bound = f"  (at its {row.limit})" if row.limit else ""
        lines.append(f"  {row.unit}: £{row.allocation:,} ({row.difference:+,} against flat)"
                     f"{bound}")
    lines.append(f"written to {path}")
    return "\n".join(lines)
