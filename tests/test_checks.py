"""LSOA code checks: pattern, vintage (2011 vs 2021) and membership, on the real ONS lookup."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from optimiser.checks import bad_pattern, check_lsoa11_codes, detect_vintage, lsoa_code_sets
from optimiser.errors import InputError


@pytest.fixture(scope="module")
def lookup(mirror: Path) -> pd.DataFrame:
    return pd.read_csv(mirror / "lookups" / "lsoa11_lsoa21_lad22_ew.csv", dtype=str)


@pytest.fixture(scope="module")
def oxon(mirror: Path) -> pd.DataFrame:
    utla = pd.read_csv(mirror / "lookups" / "lsoa11_utla19_ew.csv", dtype=str)
    return utla[utla["UTLA19CD"] == "E10000025"]


@pytest.fixture(scope="module")
def oxon_changed(lookup: pd.DataFrame, oxon: pd.DataFrame) -> list[str]:
    """Oxfordshire's LSOA 2021 codes that are not LSOA 2011 codes, read from the ONS lookup."""
    rows = lookup[lookup["LSOA11CD"].isin(oxon["LSOA11CD"])]
    new = sorted(set(rows["LSOA21CD"]) - set(lookup["LSOA11CD"]))
    return new


def test_code_sets_are_the_lookup_and_cached(mirror: Path, lookup: pd.DataFrame) -> None:
    lsoa11, lsoa21 = lsoa_code_sets(mirror)
    assert len(lsoa11) == 34_753
    assert lsoa21 == frozenset(lookup["LSOA21CD"])
    assert lsoa_code_sets(mirror) is not None
    assert lsoa_code_sets(mirror)[0] is lsoa11  # same object: memoised


def test_oxfordshire_codes_pass(mirror: Path, oxon: pd.DataFrame) -> None:
    codes = oxon["LSOA11CD"]
    assert len(codes) == 407
    check_lsoa11_codes(codes, mirror, file="x.csv", column="lsoa", expected=set(codes))
    assert detect_vintage(codes, mirror) == "2011"


def test_bad_pattern_names_row_and_column(mirror: Path) -> None:
    codes = pd.Series(["E01028568", "E01028569", "Oxford 018B"])
    assert bad_pattern(codes) == 2
    with pytest.raises(InputError) as exc:
        check_lsoa11_codes(codes, mirror, file="cases.csv", column="lsoa")
    err = exc.value
    assert (err.file, err.row, err.column) == ("cases.csv", 4, "lsoa")
    assert "'Oxford 018B' is not an LSOA code" in str(err)
    assert "E01 (England) or W01 (Wales)" in err.hint


def test_empty_cell_is_not_a_code(mirror: Path) -> None:
    with pytest.raises(InputError, match="an empty cell is not an LSOA code") as exc:
        check_lsoa11_codes(pd.Series(["E01028568", None]), mirror, file="f.csv", column="c")
    assert exc.value.row == 3


def test_lsoa2021_codes_name_both_vintages(
    mirror: Path, oxon: pd.DataFrame, oxon_changed: list[str], lookup: pd.DataFrame
) -> None:
    # Oxfordshire as an LSOA 2021 file would have it: the lookup's 2021 codes for its areas.
    codes21 = lookup.loc[lookup["LSOA11CD"].isin(oxon["LSOA11CD"]), "LSOA21CD"].drop_duplicates()
    assert 0 < len(oxon_changed) < len(codes21)
    with pytest.raises(InputError) as exc:
        check_lsoa11_codes(codes21.reset_index(drop=True), mirror, file="iod2025.csv",
                           column="lsoa21cd")
    err = exc.value
    msg = str(err)
    assert "LSOA 2021" in msg and "LSOA 2011" in msg and "IMD 2019" in msg
    assert f"{len(oxon_changed)} of {codes21.nunique()} LSOA codes" in msg
    assert oxon_changed[0] in msg or any(c in msg for c in oxon_changed)
    assert err.file == "iod2025.csv" and err.column == "lsoa21cd"
    first = list(codes21).index(next(c for c in codes21 if c in oxon_changed))
    assert err.row == first + 2
    assert "lsoa11_lsoa21" in err.hint and "prepare with --vintage 2025 (the default" in err.hint
    assert detect_vintage(codes21, mirror) == "2021"
    assert detect_vintage([*oxon["LSOA11CD"], oxon_changed[0]], mirror) in {"2021", "mixed"}


def test_mixed_vintage(mirror: Path, oxon_changed: list[str], lookup: pd.DataFrame) -> None:
    only11 = sorted(set(lookup["LSOA11CD"]) - set(lookup["LSOA21CD"]))
    assert detect_vintage([only11[0], oxon_changed[0]], mirror) == "mixed"


def test_unknown_codes_listed(mirror: Path) -> None:
    codes = pd.Series(["E01028568", "E01999998", "E01999999"])
    with pytest.raises(InputError) as exc:
        check_lsoa11_codes(codes, mirror, file="f.csv", column="lsoa")
    msg = str(exc.value)
    assert "2 LSOA code(s) are not LSOA 2011 codes" in msg
    assert "E01999998, E01999999" in msg
    assert exc.value.row == 3
    assert detect_vintage(codes, mirror) == "unknown"


def test_codes_outside_the_la(mirror: Path, oxon: pd.DataFrame) -> None:
    codes = pd.Series([*oxon["LSOA11CD"][:3], "E01000001", "E01000002"])
    with pytest.raises(InputError) as exc:
        check_lsoa11_codes(codes, mirror, file="sites.csv", column="lsoa", what="area",
                           expected=set(oxon["LSOA11CD"]))
    msg = str(exc.value)
    assert "2 area code(s) are not in the chosen local authority: E01000001, E01000002" in msg
    assert exc.value.row == 5
    assert "--la" in exc.value.hint
