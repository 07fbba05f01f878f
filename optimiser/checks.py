"""Checks on LSOA codes: the pattern, the geography vintage and membership of a local authority.

IMD 2019, the mid-2019 population estimates and every lookup here use **LSOA 2011** codes. IoD
2025 and Census 2021 products use **LSOA 2021** codes. Most codes are the same in both, so a
careless join does not fail: it silently drops or mis-assigns the changed areas. These checks make
that a clear error instead, naming both vintages and how many codes do not match.

The code sets come from the ONS LSOA 2011 -> 2021 lookup
(``lookups/lsoa11_lsoa21_lad22_ew.csv``) and are kept in memory per data root, so repeated checks
are fast.

Examples
--------
>>> import pandas as pd
>>> bad_pattern(pd.Series(["E01000001", "E1000002"]))
1
>>> bad_pattern(pd.Series(["E01000001", "W01000002"])) is None
True
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import InputError

#: An English or Welsh LSOA code (both vintages share the pattern): E01 or W01 and six digits.
LSOA_PATTERN = r"^[EW]01\d{6}$"

# Spreadsheet row of a data row: the header is row 1.
_FIRST_DATA_ROW = 2
_EXAMPLES = 5

# These checks serve the 2019 vintage only (the 2025 vintage's are in optimiser.crosswalk), so
# the hint names it, and the default vintage that takes LSOA 2021 codes as they are.
_VINTAGE_HINT = (
    "this run uses --vintage 2019 (IMD 2019 and the ONS mid-2019 population estimates, on LSOA "
    "2011 codes); prepare with --vintage 2025 (the default: IoD 2025 on LSOA 2021 codes) to use "
    "LSOA 2021 codes as they are, or convert them back with the ONS 'LSOA (2011) to LSOA (2021) "
    "to Local Authority District (2022)' lookup (data root: lookups/lsoa11_lsoa21_lad22_ew.csv)"
)


def code_text(codes: pd.Series, *, file: Path | str | None, column: str,
              what: str = "LSOA") -> pd.Series:
    """The codes as stripped text (positional index), or one :class:`InputError` naming the row
    and column of the first value that is not an LSOA code at all."""
    codes = pd.Series(codes).reset_index(drop=True)
    text = codes.astype("string").str.strip()
    pos = bad_pattern(text)
    if pos is not None:
        value = codes.iloc[pos]
        shown = "an empty cell" if pd.isna(value) or not str(value).strip() else f"'{value}'"
        raise InputError(
            f"{shown} is not an {what} code",
            file=file, row=pos + _FIRST_DATA_ROW, column=column,
            hint="LSOA codes are E01 (England) or W01 (Wales) followed by six digits, "
            "e.g. E01028568; check the column holds LSOA codes, not names, wards or postcodes",
        )
    return text


def bad_pattern(codes: pd.Series) -> int | None:
    """Position of the first value that is not an LSOA code (E01/W01 + 6 digits), or None."""
    text = codes.astype("string").str.strip()
    ok = text.str.fullmatch(LSOA_PATTERN).fillna(False).to_numpy(dtype=bool)
    if ok.all():
        return None
    return int(np.flatnonzero(~ok)[0])


@functools.lru_cache(maxsize=8)
def _code_sets_cached(root: str, mtime_ns: int) -> tuple[frozenset[str], frozenset[str]]:
    from optimiser.loaders import load_lsoa11_to_21

    df = load_lsoa11_to_21(Path(root))
    return frozenset(df["lsoa11cd"]), frozenset(df["lsoa21cd"])


def lsoa_code_sets(root: Path | str) -> tuple[frozenset[str], frozenset[str]]:
    """All LSOA 2011 codes and the LSOA 2021 codes of the ONS lookup in ``root``.

    Kept in memory per data root (and lookup file modification time).
    """
    from optimiser.loaders import LSOA21_FILE, _file

    path = _file(Path(root), LSOA21_FILE)
    return _code_sets_cached(str(Path(root).resolve()), os.stat(path).st_mtime_ns)


def _examples(values: list[str], n: int = _EXAMPLES) -> str:
    shown = ", ".join(values[:n])
    return shown + (f" and {len(values) - n} more" if len(values) > n else "")


def detect_vintage(codes: pd.Series | list[str], root: Path | str) -> str:
    """Which LSOA vintage a set of codes belongs to.

    Returns ``"2011"`` when every code is an LSOA 2011 code, ``"2021"`` when every code is a
    2021 code and at least one is not a 2011 code, ``"mixed"`` when some codes are only 2011
    and others only 2021, and ``"unknown"`` when any code is neither (or there are no codes).
    """
    lsoa11, lsoa21 = lsoa_code_sets(root)
    values = {str(c).strip() for c in codes if pd.notna(c)}
    if not values:
        return "unknown"
    if values <= lsoa11:
        return "2011"
    if not values <= (lsoa11 | lsoa21):
        return "unknown"
    if values <= lsoa21:
        return "2021"
    return "mixed"


def check_lsoa11_codes(
    codes: pd.Series,
    root: Path,
    *,
    file: Path | str,
    column: str,
    expected: set[str] | None = None,
    what: str = "LSOA",
) -> None:
    """Check that ``codes`` are LSOA 2011 codes (and, optionally, all in one local authority).

    Raises one :class:`~optimiser.errors.InputError` on the first problem, in this order:

    1. a value that is not an LSOA code at all (pattern E01/W01 + 6 digits): names its row
       (spreadsheet row = position + 2) and column;
    2. LSOA 2021 codes that are not LSOA 2011 codes: names both vintages, how many codes do not
       match, an example, and how to convert;
    3. codes unknown in both vintages: lists a few and how many;
    4. when ``expected`` (e.g. the local authority's LSOA 2011 codes) is given, codes outside it.

    Parameters
    ----------
    codes
        The codes as read (any index; positions give row numbers).
    root
        The data root holding ``lookups/lsoa11_lsoa21_lad22_ew.csv``.
    file, column
        Where the codes came from, for the message.
    expected
        The codes allowed (e.g. the LA's LSOAs), or None for any LSOA 2011 code.
    what
        What the codes are, e.g. ``"LSOA"`` or ``"area_id"``, for the message.
    """
    text = code_text(codes, file=file, column=column, what=what)
    lsoa11, lsoa21 = lsoa_code_sets(root)
    values = text.to_numpy(dtype=object)
    not11 = np.array([v not in lsoa11 for v in values], dtype=bool)
    if not11.any():
        outside = list(dict.fromkeys(values[not11]))
        is21 = [c for c in outside if c in lsoa21]
        unknown = [c for c in outside if c not in lsoa21]
        if is21:
            first = int(np.flatnonzero(values == is21[0])[0])
            extra = (f"; {len(unknown)} more are in neither vintage ({_examples(unknown, 3)})"
                     if unknown else "")
            raise InputError(
                f"{len(is21)} of {len(set(values))} {what} codes are LSOA 2021 codes that are "
                f"not LSOA 2011 codes (e.g. {_examples(is21, 3)}), but IMD 2019 uses LSOA 2011 "
                f"geography: the file looks like LSOA 2021 data (Census 2021 or IoD 2025)"
                f"{extra}",
                file=file, row=first + _FIRST_DATA_ROW, column=column, hint=_VINTAGE_HINT,
            )
        first = int(np.flatnonzero(values == unknown[0])[0])
        raise InputError(
            f"{len(unknown)} {what} code(s) are not LSOA 2011 codes of England and Wales: "
            f"{_examples(unknown)}",
            file=file, row=first + _FIRST_DATA_ROW, column=column,
            hint="check for typing errors; codes created in 2021 by splitting an LSOA are also "
            "not LSOA 2011 codes (" + _VINTAGE_HINT + ")",
        )
    if expected is not None:
        allowed = set(expected)
        out = np.array([v not in allowed for v in values], dtype=bool)
        if out.any():
            outside = list(dict.fromkeys(values[out]))
            first = int(np.flatnonzero(out)[0])
            raise InputError(
                f"{len(outside)} {what} code(s) are not in the chosen local authority: "
                f"{_examples(outside)}",
                file=file, row=first + _FIRST_DATA_ROW, column=column,
                hint="remove the rows for areas outside the local authority, or check that "
                "--la names the council the file belongs to",
            )
