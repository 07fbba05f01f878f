"""Disclosure control: primary suppression of 1..threshold and secondary suppression by lines."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from optimiser.report.disclosure import (
    is_recoverable,
    primary_mask,
    publish,
    secondary_mask,
    suppress_columns,
    suppression_mask,
)


def _with_totals(interior: np.ndarray, rows=None, cols=None) -> pd.DataFrame:
    rows = rows or [f"r{i}" for i in range(interior.shape[0])]
    cols = cols or [f"c{j}" for j in range(interior.shape[1])]
    t = pd.DataFrame(interior, index=rows, columns=cols)
    t["Total"] = t.sum(axis=1)
    t.loc["Total"] = t.sum(axis=0)
    return t


def test_primary_suppresses_one_to_threshold_but_not_zero():
    v = pd.DataFrame({"n": [0, 1, 2, 5, 6, 10, 11, 0.4, np.nan]})
    assert primary_mask(v, 5)["n"].tolist() == [False, True, True, True, False, False, False,
                                                True, False]
    assert primary_mask(v, 10)["n"].tolist() == [False, True, True, True, True, True, False,
                                                 True, False]


def test_one_suppressed_cell_and_a_total_gets_a_partner():
    # 3 is primary; without a partner it would be 68 - 40 - 25.
    t = pd.DataFrame({"cin": [3, 40, 25, 68]}, index=["A", "B", "C", "Total"])
    primary = primary_mask(t, 5)
    assert primary["cin"].sum() == 1
    assert is_recoverable(t, primary, total_row="Total")
    mask = secondary_mask(t, primary, total_row="Total")
    # the partner is the smallest non-zero other cell (25), not the larger 40, not the total
    assert mask["cin"].tolist() == [True, False, True, False]
    assert not is_recoverable(t, mask, total_row="Total")
    assert publish(t, mask)["cin"].tolist() == ["c", "40", "c", "68"]


def test_zero_is_never_chosen_as_the_partner():
    t = pd.DataFrame({"cpp": [0, 2, 0, 30, 32]}, index=["A", "B", "C", "D", "Total"])
    mask = suppression_mask(t, 5, total_row="Total")
    assert mask["cpp"].tolist() == [False, True, False, True, False]


def test_total_is_suppressed_when_only_zeros_remain():
    t = pd.DataFrame({"cin": [0, 4, 0, 4]}, index=["A", "B", "C", "Total"])
    mask = suppression_mask(t, 5, total_row="Total")
    # the total is itself 1..5, so it is suppressed too: B and the total both hidden
    assert mask["cin"].tolist() == [False, True, False, True]
    t2 = pd.DataFrame({"cin": [0, 7, 0, 7]}, index=["A", "B", "C", "Total"])
    assert suppression_mask(t2, 5, total_row="Total")["cin"].sum() == 0


def test_lines_without_a_total_need_no_secondary_suppression():
    t = pd.DataFrame({"cin": [3, 40, 25]}, index=["A", "B", "C"])
    assert suppression_mask(t, 5)["cin"].tolist() == [True, False, False]


def test_two_way_table_reaches_a_fixed_point():
    # r0 c0 = 2 is primary. Its column partner (r1 c0) then leaves row r1 with one suppressed
    # cell, which needs another partner, and so on: only iteration finds them all.
    interior = np.array([[2, 20, 30], [8, 9, 40], [50, 60, 70]])
    t = _with_totals(interior)
    mask = suppression_mask(t, 5, total_row="Total", total_col="Total")
    assert not is_recoverable(t, mask, total_row="Total", total_col="Total")
    assert mask.loc["r0", "c0"]
    # every line with a total has zero or at least two suppressed cells
    for r in t.index:
        assert mask.loc[r].sum() != 1
    for c in t.columns:
        assert mask[c].sum() != 1


def test_a_suppressed_total_cannot_be_summed_back():
    t = pd.DataFrame({"a": [1, 2, 3]}, index=["x", "y", "T"])
    mask = suppression_mask(t, 5, total_row="T")
    assert mask["a"].all()


@pytest.mark.parametrize("threshold", [5, 10])
def test_random_tables_are_safe(threshold):
    rng = np.random.default_rng(20261124 + threshold)
    for _ in range(200):
        shape = tuple(rng.integers(2, 6, size=2))
        interior = rng.choice([0, 0, 1, 2, 3, 4, 6, 8, 11, 15, 40, 90], size=shape)
        t = _with_totals(interior)
        mask = suppression_mask(t, threshold, total_row="Total", total_col="Total")
        values = t.to_numpy(float)
        m = mask.to_numpy(bool)
        # no published cell is from 1 to the threshold
        assert not ((values > 0) & (values <= threshold) & ~m).any()
        # nothing can be recovered by subtraction along a row or a column
        assert not is_recoverable(t, mask, total_row="Total", total_col="Total")
        # zeros are never suppressed
        assert not (m & (values == 0)).any()


def test_exhaustive_small_columns_secondary_is_minimal():
    # For every column of three cells 0..7 with a total, the rule adds at most one partner, and
    # only when exactly one cell was suppressed.
    for a, b, c in itertools.product(range(8), repeat=3):
        t = pd.DataFrame({"n": [a, b, c, a + b + c]}, index=["A", "B", "C", "T"])
        primary = primary_mask(t, 5)
        mask = secondary_mask(t, primary, total_row="T")
        added = int(mask["n"].sum() - primary["n"].sum())
        assert added in (0, 1)
        assert not is_recoverable(t, mask, total_row="T")


def test_suppress_columns_keeps_other_columns_and_publishes_text():
    t = pd.DataFrame({"children": [120, 340, 460], "cin": [3, 17, 20], "cpp": [0, 9, 9]},
                     index=["North", "South", "Total"])
    pub, mask = suppress_columns(t, ["cin", "cpp"], 5, total_row="Total")
    assert pub["children"].tolist() == [120, 340, 460]
    assert pub["cin"].tolist() == ["c", "c", "20"]
    assert pub["cpp"].tolist() == ["0", "9", "9"]
    assert mask["cin"].sum() == 2


# ----------------------------------------------------------------------------- independent audit
# Written here, not with the module's helpers: a check that calls the code's own line builder
# cannot catch a line the code forgets (the total row, say).


def _hidden_per_line(mask: pd.DataFrame) -> list[int]:
    """Hidden cells in every row (the total row included) and every column (the total column
    included)."""
    m = mask.to_numpy(bool)
    return [int(n) for n in (*m.sum(axis=1), *m.sum(axis=0))]


def _feasible_ranges(t: pd.DataFrame, mask: pd.DataFrame) -> dict[tuple[int, int], tuple]:
    """Least and most each hidden cell can be, given every shown cell, every row adding up to
    its last column and every column to its last row, counts non-negative (scipy linprog)."""
    from scipy.optimize import linprog

    v, m = t.to_numpy(float), mask.to_numpy(bool)
    n_rows, n_cols = v.shape
    hidden = list(zip(*np.nonzero(m), strict=True))
    k = {cell: i for i, cell in enumerate(hidden)}
    lines = ([[(i, j) for j in range(n_cols - 1)] + [(i, n_cols - 1)] for i in range(n_rows)]
             + [[(i, j) for i in range(n_rows - 1)] + [(n_rows - 1, j)] for j in range(n_cols)])
    a_eq, b_eq = [], []
    for line in lines:
        coef, rhs = np.zeros(len(hidden)), 0.0
        for pos, cell in enumerate(line):
            sign = -1.0 if pos == len(line) - 1 else 1.0  # the last cell is the line's total
            if cell in k:
                coef[k[cell]] += sign
            else:
                rhs -= sign * v[cell]
        a_eq.append(coef)
        b_eq.append(rhs)
    out = {}
    for cell, i in k.items():
        c = np.zeros(len(hidden))
        c[i] = 1.0
        lo = linprog(c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None)).fun
        hi = -linprog(-c, A_eq=a_eq, b_eq=b_eq, bounds=(0, None)).fun
        out[(int(cell[0]), int(cell[1]))] = (lo, hi)
    return out


def _assert_protected(t: pd.DataFrame, mask: pd.DataFrame, threshold: int) -> None:
    v, m = t.to_numpy(float), mask.to_numpy(bool)
    assert not ((v > 0) & (v <= threshold) & ~m).any(), "a small count is shown"
    assert all(n == 0 or n >= 2 for n in _hidden_per_line(mask)), mask.astype(int)
    for cell, (lo, hi) in _feasible_ranges(t, mask).items():
        assert lo <= v[cell] <= hi
        assert hi - lo >= 1, f"hidden cell {cell} = {v[cell]:g} is pinned to [{lo:g}, {hi:g}]"


def test_issue_10_table_with_both_totals_hides_nothing_recoverable():
    # Built without the total row's line, only the first column's total was hidden and the
    # suppressed 2 was 231 - 89 - 140.
    t = _with_totals(np.array([[2, 20, 30], [0, 9, 40], [0, 60, 70]]))
    assert t.loc["Total", "Total"] == 231
    mask = suppression_mask(t, 5, total_row="Total", total_col="Total")
    assert mask.at["r0", "c0"]
    _assert_protected(t, mask, 5)
    lo, hi = _feasible_ranges(t, mask)[(0, 0)]
    assert (lo, hi) != (2, 2) and hi - lo >= 2


@pytest.mark.parametrize("seed", range(4))
def test_random_two_way_tables_pass_the_independent_audit(seed):
    rng = np.random.default_rng(1000 + seed)
    for _ in range(15):
        shape = tuple(rng.integers(2, 6, size=2))
        interior = rng.choice([0, 0, 1, 2, 3, 4, 6, 9, 15, 30, 90], size=shape)
        t = _with_totals(interior)
        _assert_protected(t, suppression_mask(t, 5, total_row="Total", total_col="Total"), 5)


@pytest.mark.parametrize("interior", [
    [[3, 0, 0], [30, 0, 0], [30, 30, 2]],          # a suppressed cell bridging two cycles
    [[0, 2, 3], [3, 15, 30], [3, 1, 30], [0, 6, 4]],  # rows each with two, pinned together
    [[1, 0, 2], [15, 0, 15], [1, 30, 0]],
])
def test_cells_pinned_by_several_lines_are_widened(interior):
    # Each row and column had 0 or 2+ hidden cells, yet the rows and columns together fixed a
    # hidden value exactly; the linear-programming audit adds suppressions until none is.
    t = _with_totals(np.array(interior))
    _assert_protected(t, suppression_mask(t, 5, total_row="Total", total_col="Total"), 5)


def test_hidden_ranges_agree_with_the_independent_audit():
    from optimiser.report.disclosure import hidden_ranges

    t = _with_totals(np.array([[2, 20, 30], [0, 9, 40], [0, 60, 70]]))
    mask = suppression_mask(t, 5, total_row="Total", total_col="Total")
    theirs = hidden_ranges(t, mask, total_row="Total", total_col="Total")
    labels = list(t.index), list(t.columns)
    ours = {(labels[0][i], labels[1][j]): r for (i, j), r in _feasible_ranges(t, mask).items()}
    assert theirs.keys() == ours.keys()
    for cell, (lo, hi) in ours.items():
        assert theirs[cell] == pytest.approx((lo, hi), abs=1e-6)
