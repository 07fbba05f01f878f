"""The relative gap between a plan's value and the best bound: one definition for every solve."""

from __future__ import annotations

#: Below this a plan's value counts as zero: a gap relative to it is not a number.
ZERO = 1e-9


def relative_gap(bound: float | None, value: float) -> float | None:
    """``|bound − value| / |value|``; None when the bound is unknown, or when the plan is worth
    nothing against a bound that is not (relative to zero the gap is not a number: a plan serving
    nobody beside a bound of 250,000 read "gap 25,000,000,000,000%").

    >>> relative_gap(102.0, 100.0)
    0.02
    >>> relative_gap(0.0, 0.0), relative_gap(5.0, 0.0), relative_gap(None, 1.0)
    (0.0, None, None)
    """
    if bound is None:
        return None
    if abs(value) <= ZERO:
        return 0.0 if abs(bound - value) <= ZERO else None
    return abs(bound - value) / abs(value)
