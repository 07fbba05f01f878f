"""The council's own files across vintages: LSOA 2011 codes used with IoD 2025 (LSOA 2021).

A council's cases extract or locality lookup is often keyed by LSOA 2011 codes (the geography of
IMD 2019). With the 2025 vintage the areas are LSOAs 2021. Most codes are the same in both, so a
plain join would silently drop the changed areas. Here a file's codes are classified first:

- every code an LSOA 2021 code: used as it is;
- every code an LSOA 2011 code, some not LSOA 2021 codes: **carried across** with the ONS LSOA
  2011 -> 2021 lookup and its change codes (U unchanged, S split, M merged, X irregular) and the
  data mirror's apportioning weights (``vintage2025/lsoa2021/lsoa11_lsoa21_apportion_weights.csv``;
  in a downloaded data root, equal shares, and the notes say which):
  an unchanged or merged 2011 LSOA's count goes whole to its 2021 LSOA; a split one's count is
  shared among its 2021 LSOAs by the weights, as whole numbers (largest remainder: the parts add
  up to the 2011 count exactly). A locality follows its 2011 LSOA to each 2021 LSOA; a 2021 LSOA
  merged from 2011 LSOAs of different localities takes the locality of most of its parts (ties:
  the first locality by name), and the notes say how many did;
- anything else (codes of both vintages mixed, codes in neither): one clear error naming both
  vintages and how many codes do not match. Never a silent partial join.

Examples
--------
>>> share_whole(pd.Series([0.6, 0.25, 0.15]), 3).tolist()
[2, 1, 0]
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import InputError

_FIRST_DATA_ROW = 2
_HINT_2025 = (
    "IoD 2025 uses LSOA 2021 codes: give the file on LSOA 2021 codes, or on LSOA 2011 codes "
    "throughout (they are then carried across by the ONS LSOA 2011 to 2021 lookup); or prepare "
    "with --vintage 2019 for IMD 2019 on LSOA 2011")


def _examples(values: list[str], n: int = 5) -> str:
    return ", ".join(values[:n]) + (f" and {len(values) - n} more" if len(values) > n else "")


def share_whole(weights: pd.Series, total: int) -> pd.Series:
    """``total`` shared by ``weights`` as whole numbers adding up to it (largest remainder)."""
    from optimiser.cases import largest_remainder

    return largest_remainder(weights, int(total))


@functools.lru_cache(maxsize=4)
def _code_sets(root: str, mtime_ns: int) -> tuple[frozenset[str], frozenset[str]]:
    from optimiser.loaders2025 import load_lsoa11_to_21_weights

    w = load_lsoa11_to_21_weights(Path(root))
    return frozenset(w["lsoa11cd"]), frozenset(w["lsoa21cd"])


def code_sets(root: Path | str) -> tuple[frozenset[str], frozenset[str]]:
    """Every LSOA 2011 code and every LSOA 2021 code of England and Wales (from the ONS
    change-coded lookup in the data root)."""
    from optimiser.loaders import _file
    from optimiser.loaders2025 import WEIGHTS_FILE

    path = _file(Path(root), WEIGHTS_FILE)
    return _code_sets(str(Path(root).resolve()), os.stat(path).st_mtime_ns)


def classify_codes(codes: pd.Series, root: Path, *, file: Path | str, column: str,
                   what: str = "LSOA") -> str:
    """``"2021"`` when every code is an LSOA 2021 code, ``"2011"`` when every code is an LSOA
    2011 code (and some are not 2021 codes).

    Raises
    ------
    InputError
        A value that is not an LSOA code (its row), codes of both vintages mixed, or codes in
        neither; naming both vintages and how many codes do not match.
    """
    from optimiser.checks import code_text

    text = code_text(codes, file=file, column=column, what=what)
    lsoa11, lsoa21 = code_sets(root)
    values = list(dict.fromkeys(text.to_numpy(dtype=object)))
    if all(v in lsoa21 for v in values):
        return "2021"
    if all(v in lsoa11 for v in values):
        return "2011"
    only11 = [v for v in values if v in lsoa11 and v not in lsoa21]
    only21 = [v for v in values if v in lsoa21 and v not in lsoa11]
    neither = [v for v in values if v not in lsoa11 and v not in lsoa21]
    first = next(iter(neither or only21 or only11))
    row = int(np.flatnonzero(text.to_numpy(dtype=object) == first)[0]) + _FIRST_DATA_ROW
    if neither:
        raise InputError(
            f"{len(neither)} of {len(values)} {what} codes are neither LSOA 2021 codes (IoD "
            f"2025) nor LSOA 2011 codes (IMD 2019): {_examples(neither)}", file=file, row=row,
            column=column, hint="check for typing errors; " + _HINT_2025)
    raise InputError(
        f"the file mixes the two LSOA vintages: {len(only11)} of {len(values)} {what} codes are "
        f"LSOA 2011 codes that are not LSOA 2021 codes (e.g. {_examples(only11, 3)}) and "
        f"{len(only21)} are LSOA 2021 codes that are not LSOA 2011 codes (e.g. "
        f"{_examples(only21, 3)})", file=file, row=row, column=column, hint=_HINT_2025)


def check_in_la(codes: pd.Series, expected: set[str], *, file: Path | str, column: str,
                what: str = "LSOA") -> None:
    """Every code one of the local authority's LSOAs 2021, or one clear error listing them."""
    values = pd.Series(codes).reset_index(drop=True).astype(str).str.strip()
    out = ~values.isin(expected).to_numpy()
    if out.any():
        outside = list(dict.fromkeys(values[out]))
        raise InputError(
            f"{len(outside)} {what} code(s) are not in the chosen local authority: "
            f"{_examples(outside)}", file=file, row=int(np.flatnonzero(out)[0]) + _FIRST_DATA_ROW,
            column=column, hint="remove the rows for areas outside the local authority, or "
            "check that --la names the council the file belongs to")


def _pairs(codes: pd.Series, root: Path) -> pd.DataFrame:
    from optimiser.loaders2025 import load_lsoa11_to_21_weights

    w = load_lsoa11_to_21_weights(root)
    return w[w["lsoa11cd"].isin(set(codes))]


def carry_counts(df: pd.DataFrame, code: str, columns: list[str], root: Path
                 ) -> tuple[pd.DataFrame, dict]:
    """Counts per LSOA 2011 carried to LSOA 2021 (whole numbers; split areas by the weights).

    Returns
    -------
    (pandas.DataFrame, dict)
        ``lsoa21cd`` and ``columns`` (integers, summed over the 2011 LSOAs each 2021 LSOA comes
        from), and facts for ``prepare.json``: how many 2011 codes, how many were split.
    """
    from optimiser.loaders2025 import weights_label

    src = df[[code, *columns]].rename(columns={code: "lsoa11cd"})
    src["lsoa11cd"] = src["lsoa11cd"].astype(str).str.strip()
    pairs = _pairs(src["lsoa11cd"], root).merge(src, on="lsoa11cd", how="left")
    pairs = pairs.sort_values(["lsoa11cd", "lsoa21cd"], kind="stable").reset_index(drop=True)
    shared = pairs["lsoa11cd"].duplicated(keep=False).to_numpy()
    for col in columns:
        values = pairs[col].to_numpy(dtype="int64").copy()
        for _parent, idx in pairs[shared].groupby("lsoa11cd").groups.items():
            rows = pairs.loc[idx]
            values[idx] = share_whole(rows["weight"], int(rows[col].iloc[0])).to_numpy()
        pairs[col] = values
    out = pairs.groupby("lsoa21cd", sort=True)[columns].sum().reset_index()
    split = int(pairs.loc[shared, "lsoa11cd"].nunique())
    info = {"from": "LSOA 2011", "to": "LSOA 2021", "lsoa11_codes": len(src),
            "lsoa11_split": split,
            "method": "ONS LSOA 2011 to 2021 lookup with change codes; split LSOAs' counts "
                      f"shared by {weights_label(root)} (largest remainder)"}
    return out, info


def carry_localities(table: pd.DataFrame, root: Path) -> tuple[pd.DataFrame, dict]:
    """An LSOA 2011 locality lookup (``key, locality``) carried to LSOA 2021.

    Returns ``lsoa21cd, locality`` and facts (2021 LSOAs whose 2011 parts lay in different
    localities, and which locality each took).
    """
    src = table[["key", "locality"]].rename(columns={"key": "lsoa11cd"})
    pairs = _pairs(src["lsoa11cd"], root).merge(src, on="lsoa11cd", how="left")
    votes = (pairs.groupby(["lsoa21cd", "locality"], sort=True).size().rename("n")
             .reset_index().sort_values(["lsoa21cd", "n", "locality"],
                                        ascending=[True, False, True], kind="stable"))
    split_between = votes.groupby("lsoa21cd")["locality"].nunique()
    split_between = sorted(split_between[split_between > 1].index)
    out = votes.drop_duplicates("lsoa21cd")[["lsoa21cd", "locality"]].reset_index(drop=True)
    info = {"from": "LSOA 2011", "to": "LSOA 2021", "lsoa11_codes": len(src),
            "lsoa21_codes": len(out),
            "merged_across_localities": split_between,
            "method": "each LSOA 2021 takes the locality of its LSOA 2011 (ONS change-coded "
                      "lookup); merged from several localities: the locality of most parts"}
    return out, info
