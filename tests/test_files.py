"""Reading CSVs with clear errors, and writing outputs atomically."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimiser.errors import InputError
from optimiser.files import OUTPUT_MARKER, atomic_output_dir, read_table, write_csv


def _write(tmp_path, text, name="t.csv", encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


def test_reads_numbers_and_text(tmp_path):
    p = _write(tmp_path, "id,n\n007,1\n008,2.5\n")
    df = read_table(p, required=["id", "n"], numeric=["n"], text=["id"])
    assert df["id"].tolist() == ["007", "008"]
    assert df["n"].sum() == 3.5


def test_bom_is_accepted_and_reads_the_same(tmp_path):
    plain = read_table(_write(tmp_path, "id,n\nA,1\n", "a.csv"), required=["id", "n"])
    bom = read_table(_write(tmp_path, "\ufeffid,n\nA,1\n", "b.csv"), required=["id", "n"])
    assert list(bom.columns) == list(plain.columns) == ["id", "n"]
    assert bom.equals(plain)


@pytest.mark.parametrize(
    ("text", "fragment", "row", "column"),
    [
        ("", "is empty", None, None),
        ("id,n\n", "no data rows", None, None),
        ("id;n\nA;1\n", "separated by semicolons", 1, None),
        ("id,m\nA,1\n", "required column 'n' is missing", None, "n"),
        ("id,n\nA,1\nB,lots\n", "'lots' is not a number", 3, "n"),
        ("id,n\nA,1\nB,-2\n", "value -2 is negative", 3, "n"),
        ("id,n\nA,1\nB,1.5\n", "not a whole number", 3, "n"),
        ("id,n\nA,1\nA,2\n", "'A' appears more than once (first at row 2)", 3, "id"),
    ],
)
def test_bad_csv_gives_one_clear_error(tmp_path, text, fragment, row, column):
    p = _write(tmp_path, text)
    with pytest.raises(InputError) as info:
        read_table(p, required=["id", "n"], numeric=["n"], nonnegative=["n"], integer=["n"],
                   unique=["id"])
    err = info.value
    assert fragment in err.problem
    assert err.file == str(p)
    assert err.row == row
    assert err.column == column
    assert "hint" in str(err) or fragment in ("is empty",)


def test_missing_column_suggests_close_match(tmp_path):
    p = _write(tmp_path, "area,populaton\nA,1\n")
    with pytest.raises(InputError) as info:
        read_table(p, required=["area", "population"])
    assert "did you mean 'populaton'" in info.value.hint


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    dest = tmp_path / "out"
    with pytest.raises(RuntimeError), atomic_output_dir(dest) as tmp:
        (tmp / "half.csv").write_text("x")
        raise RuntimeError("boom")
    assert not dest.exists()
    assert list(tmp_path.iterdir()) == []


def test_atomic_dir_replaces_old_output_only_on_success(tmp_path):
    dest = tmp_path / "out"
    with atomic_output_dir(dest) as tmp:
        (tmp / "old.txt").write_text("old")
    with pytest.raises(ValueError), atomic_output_dir(dest) as tmp:
        (tmp / "new.txt").write_text("new")
        raise ValueError
    assert (dest / "old.txt").read_text() == "old"
    with atomic_output_dir(dest) as tmp:
        (tmp / "new.txt").write_text("new")
    assert sorted(p.name for p in dest.iterdir()) == [OUTPUT_MARKER, "new.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_dir_replaces_an_empty_folder(tmp_path):
    dest = tmp_path / "out"
    dest.mkdir()
    with atomic_output_dir(dest) as tmp:
        (tmp / "new.txt").write_text("new")
    assert (dest / "new.txt").read_text() == "new"


def test_atomic_dir_never_deletes_files_it_did_not_write(tmp_path, monkeypatch):
    # A mistyped --out (a folder of documents, the current folder, a file) must not be wiped.
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "budget.xlsx").write_text("precious")
    report = tmp_path / "report.csv"
    report.write_text("precious")
    monkeypatch.chdir(docs)
    for dest, words in ((docs, "the current folder"), (Path("."), "the current folder"),
                        (tmp_path, "the current folder"), (report, "not a folder")):
        with pytest.raises(InputError) as info, atomic_output_dir(dest) as tmp:
            (tmp / "new.txt").write_text("new")
        assert words in info.value.problem and "--out" in info.value.hint
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as info, atomic_output_dir(docs) as tmp:
        (tmp / "new.txt").write_text("new")
    assert "did not write" in info.value.problem
    assert (docs / "budget.xlsx").read_text() == "precious"
    assert report.read_text() == "precious"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["docs", "report.csv"]


def test_write_csv_is_deterministic_and_writes_booleans(tmp_path):
    import pandas as pd

    df = pd.DataFrame({"a": ["x", "y"], "b": [True, False], "c": [0.1, 2.0]})
    write_csv(tmp_path / "1.csv", df)
    write_csv(tmp_path / "2.csv", df)
    assert (tmp_path / "1.csv").read_bytes() == (tmp_path / "2.csv").read_bytes()
    assert (tmp_path / "1.csv").read_text().splitlines()[1] == "x,true,0.1"
