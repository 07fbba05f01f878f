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
