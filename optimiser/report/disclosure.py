"""Statistical disclosure control for published tables: primary and secondary suppression.

Published tables (the consultation pack's CSV, HTML and XLSX, and the map's tooltips) must never
reveal a small count of children in need (CIN) or on child protection plans (CPP): a count from 1
to the *threshold* (default 5, as the DfE publishes; a council may ask for 10) could identify a
family. Zero is not disclosive and is shown.

Algorithm
---------
The input is a table of non-negative counts: *interior* rows (e.g. localities) and, optionally, a
*total row* (e.g. the county) holding the column sums, and a *total column* holding the row sums.
A *line* is one column (its interior cells plus its total-row cell, when there is a total row) or
one row (its interior cells plus its total-column cell, when there is a total column).

1. **Primary suppression.** Every cell, totals included, whose value *v* has ``0 < v <= threshold``
   is suppressed. (Non-integer counts, such as modelled estimates, are compared before rounding,
   so 0.4 of a child is suppressed too.)
2. **Secondary (complementary) suppression.** In a line that has a total, a single suppressed cell
   can be recovered by subtracting the others from the total. So, for each line with a total in
   which *exactly one* cell is suppressed, one more cell of that line is suppressed: the smallest
   non-zero unsuppressed interior cell (ties: the first in table order); when there is none, the
   line's total. Suppressing a zero would not help (a reader knows counts are non-negative, and a
   zero beside a suppressed cell still gives it away by difference), so zeros are never chosen.
3. Step 2 is repeated until no line changes (a fixed point): a cell suppressed in a column may
   leave a row with a single suppressed cell, and so on. Every pass only adds suppressions, so
   this ends after at most as many passes as there are cells.
4. **Audit.** In a table with both a total row and a total column, "no line with a single
   suppressed cell" is not enough: a suppressed cell can still be pinned by combining several
   rows and columns (e.g. the only suppressed cells of two rows lie in the same two columns,
   and one of those columns has no other). So each suppressed cell's feasible range (smallest
   and largest value consistent with every published cell and total, counts non-negative) is
   found by linear programming (:func:`hidden_ranges`); while a cell's range is a single value,
   one more cell of its row or column is suppressed (the smallest non-zero, as in step 2; a
   total of that row or column when no interior cell is left) and steps 2-4 run again.

This is the standard "no line with a single suppressed cell" rule used by statistical offices for
one- and two-dimensional tables with margins, with the linear-programming audit of interval
disclosure for the two-way case. Lines without a total need no secondary suppression (nothing
can be subtracted).

Functions here are pure: they take DataFrames and return new ones.

Examples
--------
>>> t = pd.DataFrame({"cin": [3, 40, 25, 68]}, index=["A", "B", "C", "Total"])
>>> mask = suppression_mask(t, threshold=5, total_row="Total")
>>> mask["cin"].tolist()
[True, False, True, False]
>>> publish(t, mask)["cin"].tolist()
['c', '40', 'c', '68']
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence

import numpy as np
import pandas as pd

#: Default threshold: counts from 1 to this are suppressed (the DfE's rule).
DEFAULT_THRESHOLD = 5
#: What a suppressed cell shows.
SUPPRESSED = "c"


def primary_mask(values: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Cells whose value is from 1 to ``threshold`` (strictly above 0, at most the threshold).

    Missing values are never suppressed (there is nothing to reveal).

    Examples
    --------
    >>> primary_mask(pd.DataFrame({"n": [0, 1, 5, 6, 0.4]}), 5)["n"].tolist()
    [False, True, True, False, True]
    """
    _check_threshold(threshold)
    v = values.apply(pd.to_numeric, errors="coerce").astype(float)
    return (v > 0) & (v <= threshold)


def _check_threshold(threshold: int) -> None:
    if threshold < 0:
        raise ValueError(f"the disclosure threshold must be 0 or more, not {threshold}")


def _lines(index: Sequence[Hashable], columns: Sequence[Hashable], total_row: Hashable | None,
           total_col: Hashable | None) -> list[tuple[list[tuple[Hashable, Hashable]],
                                                     tuple[Hashable, Hashable] | None]]:
    """Every line (interior cells, total cell or None) of the table."""
    rows = [r for r in index if r != total_row]
    cols = [c for c in columns if c != total_col]
    lines = []
    for c in columns:
        # A column has a total only if there is a total row.
        cells = [(r, c) for r in rows]
        lines.append((cells, (total_row, c) if total_row is not None else None))
    for r in index:
        cells = [(r, c) for c in cols]
        lines.append((cells, (r, total_col) if total_col is not None else None))
    return lines


def secondary_mask(values: pd.DataFrame, mask: pd.DataFrame, *,
                   total_row: Hashable | None = None,
                   total_col: Hashable | None = None) -> pd.DataFrame:
    """Extend a suppression mask so no suppressed cell can be recovered from a line total.

    Parameters
    ----------
    values
        Non-negative counts; the index holds row labels, the columns the column labels.
    mask
        Cells already suppressed (same shape and labels as ``values``), usually
        :func:`primary_mask`.
    total_row
        Label of the row holding the column totals, if the table has one.
    total_col
        Label of the column holding the row totals, if the table has one.

    Returns
    -------
    pandas.DataFrame
        The new mask (a copy); every line with a total has zero or at least two suppressed cells
        and, with both totals, no suppressed cell can be narrowed to one value (step 4).

    Examples
    --------
    >>> v = pd.DataFrame({"a": [3, 10, 20, 33]}, index=["x", "y", "z", "T"])
    >>> m = primary_mask(v, 5)
    >>> secondary_mask(v, m, total_row="T")["a"].tolist()
    [True, True, False, False]
    """
    if total_row is None and total_col is None:
        return mask.copy()
    if total_row is not None and total_row not in values.index:
        raise KeyError(f"total row {total_row!r} is not in the table")
    if total_col is not None and total_col not in values.columns:
        raise KeyError(f"total column {total_col!r} is not in the table")
    num = values.apply(pd.to_numeric, errors="coerce").astype(float)
    out = mask.copy().astype(bool)
    lines = _lines(list(values.index), list(values.columns), total_row, total_col)
    while True:
        _line_rule(num, out, lines)
        if total_row is None or total_col is None:
            return out  # one-way: two suppressed cells per line already leave a range
        pinned = _pinned(num, out, total_row, total_col)
        if not pinned or not _widen(num, out, pinned[0], total_row, total_col):
            return out


def _widen(num: pd.DataFrame, out: pd.DataFrame, cell: tuple[Hashable, Hashable],
           total_row: Hashable, total_col: Hashable) -> bool:
    """Suppress one more cell beside a pinned one: the smallest non-zero unsuppressed interior
    cell of its row or column, else a total of its row or column, else the smallest anywhere;
    False when nothing is left to suppress."""
    r0, c0 = cell
    near = [(r0, c) for c in num.columns] + [(r, c0) for r in num.index]
    every = [(r, c) for r in num.index for c in num.columns]

    def is_total(rc: tuple[Hashable, Hashable]) -> bool:
        return rc[0] == total_row or rc[1] == total_col

    pools = ([rc for rc in near if not is_total(rc)], [rc for rc in near if is_total(rc)],
             [rc for rc in every if not is_total(rc)], every)
    for pool in pools:
        candidates = [(num.at[r, c], i, (r, c)) for i, (r, c) in enumerate(pool)
                      if not out.at[r, c] and np.isfinite(num.at[r, c]) and num.at[r, c] > 0]
        if candidates:
            _, _, (r, c) = min(candidates, key=lambda t: (t[0], t[1]))
            out.at[r, c] = True
            return True
    return False


def hidden_ranges(values: pd.DataFrame, mask: pd.DataFrame, *,
                  total_row: Hashable | None = None, total_col: Hashable | None = None
                  ) -> dict[tuple[Hashable, Hashable], tuple[float, float]]:
    """Each suppressed cell's feasible range given the published cells: (least, most).

    The unknowns are the suppressed cells (non-negative); every line with a total says its
    interior cells add up to its total. A range that is a single value is a disclosure.

    Examples
    --------
    >>> v = pd.DataFrame({"a": [3, 10, 13]}, index=["x", "y", "T"])
    >>> m = pd.DataFrame({"a": [True, False, False]}, index=v.index)
    >>> hidden_ranges(v, m, total_row="T")[("x", "a")]
    (3.0, 3.0)
    """
    from scipy.optimize import linprog

    num = values.apply(pd.to_numeric, errors="coerce").astype(float)
    hidden, a_eq, b_eq = _equations(num, mask, total_row, total_col)
    ranges = {}
    for k, cell in enumerate(hidden):
        goal = np.zeros(len(hidden))
        goal[k] = 1.0
        ends = []
        for sign in (1.0, -1.0):
            res = linprog(sign * goal, A_eq=np.array(a_eq) if a_eq else None,
                          b_eq=np.array(b_eq) if b_eq else None, bounds=(0, None),
                          method="highs")
            ends.append(sign * res.fun if res.status == 0 else (np.inf if sign < 0 else 0.0))
        ranges[cell] = (float(ends[0]), float(ends[1]))
    return ranges


def _equations(num: pd.DataFrame, mask: pd.DataFrame, total_row: Hashable | None,
               total_col: Hashable | None) -> tuple[list[tuple[Hashable, Hashable]], list, list]:
    """The suppressed cells, and what the published cells say of them: one equation
    (coefficients over the suppressed cells, right-hand side) per line with a total."""
    hidden = [(r, c) for r in num.index for c in num.columns if mask.at[r, c]]
    where = {cell: k for k, cell in enumerate(hidden)}
    a_eq, b_eq = [], []
    for cells, total in _lines(list(num.index), list(num.columns), total_row, total_col):
        if total is None or not hidden:
            continue
        row, known = np.zeros(len(hidden)), 0.0
        for cell, sign in [*((c, 1.0) for c in cells), (total, -1.0)]:
            if cell in where:
                row[where[cell]] += sign
            else:
                known += sign * float(np.nan_to_num(num.at[cell]))
        if row.any():
            a_eq.append(row)
            b_eq.append(-known)
    return hidden, a_eq, b_eq


def _pinned(num: pd.DataFrame, mask: pd.DataFrame, total_row: Hashable,
            total_col: Hashable) -> list[tuple[Hashable, Hashable]]:
    """Suppressed cells whose value the published cells fix exactly.

    Every suppressed count is above zero, so the true table lies strictly inside the bounds and
    a cell can move exactly when some solution of the homogeneous equations moves it: it is
    pinned when it has no component in their null space (one SVD, not two LPs a cell). With a
    suppressed zero or blank the linear programs of :func:`hidden_ranges` decide instead.
    """
    from scipy.linalg import null_space

    hidden, a_eq, _ = _equations(num, mask, total_row, total_col)
    if not hidden or not a_eq:
        return []
    values = np.array([num.at[cell] for cell in hidden])
    if not (np.isfinite(values) & (values > 0)).all():
        return [cell for cell, (lo, hi) in hidden_ranges(num, mask, total_row=total_row,
                                                         total_col=total_col).items()
                if hi - lo < 0.5]
    free = null_space(np.array(a_eq))
    movable = np.abs(free).max(axis=1) > 1e-9 if free.size else np.zeros(len(hidden), bool)
    return [cell for cell, ok in zip(hidden, movable, strict=True) if not ok]


def _line_rule(num: pd.DataFrame, out: pd.DataFrame, lines) -> None:
    """Steps 2-3: until no line with a total has exactly one suppressed cell (in place)."""
    changed = True
    while changed:
        changed = False
        for cells, total in lines:
            if total is None:
                continue
            members = [*cells, total]
            n_suppressed = sum(bool(out.at[r, c]) for r, c in members)
            if n_suppressed != 1:
                continue
            candidates = [
                (num.at[r, c], i, (r, c)) for i, (r, c) in enumerate(cells)
                if not out.at[r, c] and np.isfinite(num.at[r, c]) and num.at[r, c] > 0
            ]
            if candidates:
                _, _, (r, c) = min(candidates, key=lambda t: (t[0], t[1]))
            else:
                r, c = total
                if out.at[r, c]:  # the total is the suppressed one and no partner exists
                    continue
            out.at[r, c] = True
            changed = True


def suppression_mask(values: pd.DataFrame, threshold: int = DEFAULT_THRESHOLD, *,
                     total_row: Hashable | None = None,
                     total_col: Hashable | None = None) -> pd.DataFrame:
    """Primary then secondary suppression: the cells to show as ``c``.

    See the module docstring for the algorithm.
    """
    primary = primary_mask(values, threshold)
    return secondary_mask(values, primary, total_row=total_row, total_col=total_col)


def publish(values: pd.DataFrame, mask: pd.DataFrame, *, decimals: int = 0) -> pd.DataFrame:
    """The table as published: suppressed cells shown as ``c``, others rounded, as text.

    Missing values become empty strings.

    Examples
    --------
    >>> v = pd.DataFrame({"n": [2.0, 17.4, None]})
    >>> publish(v, primary_mask(v, 5))["n"].tolist()
    ['c', '17', '']
    """
    out = pd.DataFrame(index=values.index, columns=values.columns, dtype=object)
    num = values.apply(pd.to_numeric, errors="coerce").astype(float)
    for col in values.columns:
        for idx in values.index:
            v = num.at[idx, col]
            if bool(mask.at[idx, col]):
                out.at[idx, col] = SUPPRESSED
            elif not np.isfinite(v):
                out.at[idx, col] = ""
            else:
                out.at[idx, col] = f"{round(v, decimals):.{decimals}f}"
    return out


def suppress_columns(table: pd.DataFrame, columns: Sequence[str],
                     threshold: int = DEFAULT_THRESHOLD, *,
                     total_row: Hashable | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Suppress some count columns of a wider table (the others are left as they are).

    Each named column is a separate line with the ``total_row`` as its total (CIN and CPP are
    different measures, so there is no row total across them).

    Returns
    -------
    (published, mask)
        ``published`` is a copy of ``table`` whose named columns are text (``c`` where
        suppressed, whole numbers otherwise); ``mask`` is the boolean mask of those columns.

    Examples
    --------
    >>> t = pd.DataFrame({"name": ["A", "B", "C", "All"], "cpp": [0, 2, 30, 32]}).set_index("name")
    >>> pub, mask = suppress_columns(t, ["cpp"], 5, total_row="All")
    >>> pub["cpp"].tolist()
    ['0', 'c', 'c', '32']
    """
    present = [c for c in columns if c in table.columns]
    values = table[present]
    mask = suppression_mask(values, threshold, total_row=total_row)
    published = table.copy()
    shown = publish(values, mask)
    for col in present:
        published[col] = shown[col].astype(object)
    return published, mask


def is_recoverable(values: pd.DataFrame, mask: pd.DataFrame, *,
                   total_row: Hashable | None = None,
                   total_col: Hashable | None = None) -> bool:
    """True when some line with a published total has exactly one suppressed cell.

    A check used by the tests and available to analysts auditing a hand-edited table.
    """
    for cells, total in _lines(list(values.index), list(values.columns), total_row, total_col):
        if total is None:
            continue
        # One suppressed cell: an interior one is the total minus the rest; a suppressed
        # total is the sum of the rest.
        if sum(bool(mask.at[r, c]) for r, c in [*cells, total]) == 1:
            return True
    return False
