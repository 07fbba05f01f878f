"""File I/O at the edges: validated CSV reading and atomic writing.

Reading: :func:`read_table` turns every common way a CSV goes wrong (empty, semicolon-delimited,
missing columns, text in a number column, negative counts, duplicate keys) into one
:class:`~optimiser.errors.InputError` naming the file, the row or column, and the fix. A UTF-8 byte
order mark, as Excel's "CSV UTF-8" writes, is accepted silently. A cell holding only ``nan``,
``NULL``, ``NA``, ``N/A`` or ``None`` (:data:`BLANK_WORDS`) is a blank cell; an Excel error value
such as ``#N/A`` (:data:`EXCEL_ERRORS`) is an error naming the cell. An Excel workbook (``.xlsx``,
``.xlsm``) is read from its first sheet, or the sheet named, with its header on the sheet's
first row; it goes through the same checks, and row numbers are the sheet's own.

Writing: :func:`atomic_output_dir` builds an output folder beside its destination and moves it into
place only when everything inside was written, so a failed run never leaves a partial folder that
looks complete. It replaces an existing folder only when an earlier run wrote it (marker file
:data:`OUTPUT_MARKER`) or the folder is empty, so a mistyped ``--out`` never deletes other
files. :func:`write_csv`, :func:`write_json` and :func:`write_text` write single files
atomically (temporary file, then rename).
"""

from __future__ import annotations

import contextlib
import csv
import difflib
import errno
import glob
import io
import itertools
import json
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimiser import limits
from optimiser.errors import InputError

# Row numbers in messages are as a spreadsheet shows them: header is row 1, first data row is 2.
_FIRST_DATA_ROW = 2


#: How the message for a table whose header is not on its first row begins.
HEADER_NOT_FIRST = "row 1 is not the header"


def _header_row(content: str, required: Sequence[str],
                aliases: Mapping[str, Sequence[str]] | None, look: int = 30
                ) -> tuple[int, list[str]] | None:
    """The row (2 to ``look``) that holds the required columns (all, or all but one, which may
    be an alternative such as a postcode for x and y) when row 1 does not: a title or notes
    above the table, as spreadsheets often have."""
    try:
        rows = list(itertools.islice(csv.reader(io.StringIO(content)), look))
    except csv.Error:
        return None

    def found(row: list[str]) -> list[str]:
        cells = [c.strip() for c in row]
        renamed = header_renames(cells, aliases or {})
        named = {renamed.get(c, c) for c in cells}
        return [c for c in required if c in named]

    enough = max(1, len(required) - 1)
    first = len(found(rows[0])) if rows else 0
    for number, row in enumerate(rows[1:], start=2):
        if len(found(row)) >= enough and len(found(row)) > first:
            return number, found(row)
    return None


def _check_csv_shape(content: str, path: Path) -> None:
    """A stray double quote, and a row with more values than the header, are errors naming the
    line: pandas would read the first as one cell running over several rows (two sites merged
    into one, silently) and fail on the second with a tokenizer message."""
    reader = csv.reader(io.StringIO(content), skipinitialspace=True)
    width, end = None, 0
    quote_hint = ("a value holding a comma or a quote goes in double quotes, with any quote "
                  "inside doubled: \"Banbury, North\" or \"the \"\"Hub\"\"\"; remove the stray "
                  "quote or close it")
    try:
        for record in reader:
            start, end = end + 1, reader.line_num
            if end > start:
                raise InputError(
                    f"a double quote (\") opened on line {start} is not closed on that line, so "
                    f"lines {start} to {end} are read as one cell", file=path, row=start,
                    hint=quote_hint)
            if width is None:
                width = len(record)
            elif len(record) > width and any(c.strip() for c in record[width:]):
                raise InputError(
                    f"line {start} has {len(record)} comma-separated values but the header has "
                    f"{width}", file=path, row=start,
                    hint="a value with a comma inside must be in double quotes (\"Banbury, "
                    "North\"), or remove the extra comma; a number is written without "
                    "thousands commas or in quotes (\"1,400\")")
    except csv.Error as exc:
        raise InputError(f"line {reader.line_num} is not valid CSV ({exc})", file=path,
                         row=reader.line_num, hint=quote_hint) from None


def _sniff_delimiter_problem(path: Path, first_line: str) -> None:
    if "," not in first_line and (";" in first_line or "\t" in first_line):
        sep = "semicolons" if ";" in first_line else "tabs"
        raise InputError(
            f"the columns are separated by {sep}, not commas",
            file=path,
            row=1,
            hint="save the file as 'CSV (Comma delimited)' (in Excel: File > Save As > CSV UTF-8), "
            "with a full stop as the decimal mark",
        )


#: Cell texts read as a blank cell, as databases and pandas write a missing value (an empty
#: cell is blank too). A blank number cell is an error, or takes its documented default where
#: the column has one (a council's cost and capacity cells), the same for every spelling here.
BLANK_WORDS = ["", "nan", "NaN", "NAN", "-nan", "-NaN", "NULL", "null", "Null", "NA", "N/A", "n/a",
               "<NA>", "None"]
#: Excel's error values (a formula that failed): never read as blank, since a failed lookup of
#: capacities would otherwise quietly take the defaults.
EXCEL_ERRORS = {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NAME?", "#NUM!", "#NULL!",
                "#SPILL!", "#CALC!", "#GETTING_DATA"}

#: Workbooks read as tables (the older binary .xls is not: save it as .xlsx or CSV).
EXCEL_SUFFIXES = (".xlsx", ".xlsm")


#: Spreadsheets read only once saved as .xlsx or CSV.
OTHER_SPREADSHEETS = {".xls": "an old Excel workbook (.xls)", ".xlsb": "a binary Excel "
                      "workbook (.xlsb)", ".ods": "an OpenDocument spreadsheet (.ods)",
                      ".numbers": "an Apple Numbers spreadsheet"}


def is_workbook(path: str | Path) -> bool:
    """Whether ``path`` names an Excel workbook that :func:`read_table` reads."""
    return Path(path).suffix.lower() in EXCEL_SUFFIXES


def _cell_text(value: Any) -> str:
    """A cell as a CSV field: whole numbers without '.0', dates as ISO, blanks empty."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def sheet_as_csv(path: Path, sheet: str | None = None, what: str = "table") -> str:
    """One sheet of a workbook as CSV text: the first sheet, or ``sheet`` (case-insensitive).

    See :func:`read_sheet`, which also says which sheet was read.
    """
    return read_sheet(path, sheet, what)[0]


def read_sheet(path: Path, sheet: str | None = None, what: str = "table"
               ) -> tuple[str, str, list[str]]:
    """One sheet of a workbook as CSV text, with the sheet's name and the workbook's others.

    Cached formula results are read (as Excel shows them). Empty rows and columns after the
    table (formatted but empty cells) are dropped; an empty row inside the table is kept, so row
    numbers in messages stay the sheet's own.
    """
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged or mislabelled file
        raise InputError(
            f"the {what} could not be opened as an Excel workbook ({type(exc).__name__})",
            file=path, hint="open it in Excel and save it again as .xlsx, or as CSV UTF-8",
        ) from None
    try:
        names = wb.sheetnames
        if sheet is None:
            ws = wb.worksheets[0]
        else:
            match = [n for n in names if n.strip().lower() == str(sheet).strip().lower()]
            if not match:
                raise InputError(f"the workbook has no sheet '{sheet}'", file=path,
                                 hint="its sheets are: " + ", ".join(f"'{n}'" for n in names))
            ws = wb[match[0]]
        rows = [[_cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
        others = [n for n in names if n != ws.title]
        title = ws.title
    finally:
        wb.close()
    while rows and not any(c.strip() for c in rows[-1]):
        rows.pop()
    width = max((i + 1 for row in rows for i, c in enumerate(row) if c.strip()), default=0)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    for row in rows:
        if any(c.strip() for c in row):
            writer.writerow(row[:width])
        else:  # pandas skips a line of bare commas; a quoted empty cell keeps the row
            out.write('""' + "," * (width - 1) + "\n")
    return out.getvalue(), title, others


def _header_key(name: str) -> str:
    return " ".join(str(name).replace("_", " ").split()).lower()


def header_renames(columns: Iterable[str], aliases: Mapping[str, Sequence[str]]
                   ) -> dict[str, str]:
    """Columns to read under their canonical name: ``Easting`` as ``x``, ``Lat`` as
    ``latitude``, ``Name`` as ``name``. Matching ignores case, spaces and underscores; a
    canonical name already in the file wins, and nothing is renamed onto a name twice.

    Examples
    --------
    >>> header_renames(["Name", "Easting", "Northing"], {"x": ["easting"], "y": ["northing"],
    ...                                                   "name": []})
    {'Name': 'name', 'Easting': 'x', 'Northing': 'y'}
    """
    columns = [str(c).strip() for c in columns]
    present = set(columns)
    wanted = {_header_key(alias): canon for canon, more in aliases.items()
              for alias in (canon, *more)}
    renames: dict[str, str] = {}
    for col in columns:
        canon = wanted.get(_header_key(col))
        if canon is None or col == canon or canon in present or canon in renames.values():
            continue
        renames[col] = canon
    return renames


def suggest(name: str, choices: Iterable[str], n: int = 3) -> list[str]:
    """Close matches of ``name`` among ``choices`` (case-insensitive), best first."""
    choices = list(choices)
    lowered = {c.lower(): c for c in choices}
    hits = difflib.get_close_matches(name.lower(), list(lowered), n=n, cutoff=0.6)
    return [lowered[h] for h in hits]


def read_table(
    path: str | Path,
    *,
    required: Sequence[str] = (),
    numeric: Sequence[str] = (),
    nonnegative: Sequence[str] = (),
    integer: Sequence[str] = (),
    unique: Sequence[str] = (),
    text: Sequence[str] = (),
    what: str = "table",
    sheet: str | None = None,
    at_most: Mapping[str, tuple[float, str]] | None = None,
    aliases: Mapping[str, Sequence[str]] | None = None,
) -> pd.DataFrame:
    """Read a CSV file (or an Excel sheet) and check it, raising one clear :class:`InputError`
    on the first problem.

    Parameters
    ----------
    path
        The CSV file, or an Excel workbook (``.xlsx``/``.xlsm``, see :func:`sheet_as_csv`).
    required
        Columns that must be present.
    numeric
        Columns that must hold numbers (blank cells are allowed only if not in ``required``
        *and* not in ``nonnegative``/``integer``; required numeric columns must be filled).
    nonnegative
        Numeric columns whose values must be >= 0 (counts, costs, populations).
    integer
        Numeric columns whose values must be whole numbers.
    unique
        Columns whose values identify a row and must not repeat.
    text
        Columns read as text even when they look like numbers (codes with leading zeros).
    what
        What the file is, for the empty-file message (e.g. ``"sites file"``).
    sheet
        The sheet of a workbook (default: its first sheet); ignored for a CSV file.
    at_most
        Numeric columns with the largest plausible value and what the column holds, for the
        hint (see :mod:`optimiser.limits`): a larger value is a typing error, and breaks the
        solver.
    aliases
        Other headers read as a column (see :func:`header_renames`), e.g.
        ``{"x": ["easting"]}``.

    Returns
    -------
    pandas.DataFrame
        The table with column names stripped of surrounding spaces. Numeric columns are floats
        or ints; ``text`` columns are strings.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "a.csv"
    >>> _ = p.write_text("id,n\\nA,1\\nB,2\\n")
    >>> read_table(p, required=["id", "n"], numeric=["n"], unique=["id"])["n"].sum()
    np.int64(3)
    """
    path = Path(path)
    if not path.exists():
        raise InputError(f"the {what} does not exist", file=path,
                         hint="check the path and spelling")
    if path.is_dir():
        raise InputError(f"expected a CSV file for the {what}, found a folder", file=path)
    if path.suffix.lower() in OTHER_SPREADSHEETS:
        raise InputError(
            f"the {what} is {OTHER_SPREADSHEETS[path.suffix.lower()]}, which optimiser does not "
            "read", file=path, hint="open it and save it as an Excel Workbook (.xlsx) or as "
            "CSV UTF-8")
    workbook = is_workbook(path)
    sheet_note = ""  # which sheet was read, when the wrong one may have been
    if workbook:
        content, title, others = read_sheet(path, sheet, what)
        if others:
            sheet_note = (f" (read from the sheet '{title}'; the workbook also has "
                          + ", ".join(f"'{n}'" for n in others) + ": choose one with --sheet)")
    else:
        content = _decode(path, what)
    if not content.strip():
        raise InputError(f"the {what} is empty", file=path,
                         hint="it needs a header row and data rows" + sheet_note)
    if not workbook:
        _sniff_delimiter_problem(path, content.splitlines()[0])
        _check_csv_shape(content, path)

    dtype = dict.fromkeys(text, str)
    try:
        if aliases:  # a text column under another header is read as text too
            head = pd.read_csv(io.StringIO(content), nrows=0).columns
            dtype.update({col: str for col, canon in header_renames(head, aliases).items()
                          if canon in text})
        # index_col=False: trailing commas on every row must not shift the columns one place
        df = pd.read_csv(
            io.StringIO(content), dtype=dtype, keep_default_na=False, na_values=BLANK_WORDS,
            skipinitialspace=True, index_col=False
        )
    except pd.errors.ParserError as exc:
        raise InputError(
            f"the {what} could not be read as CSV ({exc})",
            file=path,
            hint="every row must have the same number of comma-separated fields as the header",
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    if aliases:
        df = df.rename(columns=header_renames(df.columns, aliases))
    if df.empty:
        raise InputError(
            f"the {what} has a header but no data rows", file=path,
            hint="add at least one row" + sheet_note,
        )

    missing = [c for c in required if c not in df.columns]
    if missing:
        col = missing[0]
        header = _header_row(content, required, aliases)
        if header is not None:
            row, named = header
            columns = (f"the column {named[0]} is" if len(named) == 1
                       else f"the columns {', '.join(named)} are")
            raise InputError(
                f"{HEADER_NOT_FIRST}: {columns} on row {row}",
                file=path, row=1,
                hint=f"delete the {row - 1} row(s) above the header (titles, notes, blank "
                "rows), so the header is the first row" + sheet_note)
        close = suggest(col, df.columns)
        hint = f"did you mean '{close[0]}'? " if close else ""
        hint += f"the file has columns: {', '.join(map(str, df.columns))}" + sheet_note
        raise InputError(
            f"required column '{col}' is missing"
            + (f" (also missing: {', '.join(missing[1:])})" if len(missing) > 1 else ""),
            file=path,
            column=col,
            hint=hint,
        )

    for col in dict.fromkeys([*numeric, *nonnegative, *integer]):
        if col not in df.columns:
            continue
        values = df[col]
        if not pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
            stripped = values.astype("string").str.strip().str.replace(",", "", regex=False)
            converted = pd.to_numeric(stripped, errors="coerce")
            bad = converted.isna() & values.notna() & (stripped != "")
            if bad.any():
                i = int(np.flatnonzero(bad.to_numpy())[0])
                if str(values.iloc[i]).strip().upper() in EXCEL_ERRORS:
                    raise InputError(
                        f"'{values.iloc[i]}' is an Excel error value (a formula that failed), "
                        "not a number", file=path, row=i + _FIRST_DATA_ROW, column=col,
                        hint="fix the formula in Excel (or type the number), then save again; "
                        "leave a cell blank for the default")
                raise InputError(
                    f"'{values.iloc[i]}' is not a number",
                    file=path,
                    row=i + _FIRST_DATA_ROW,
                    column=col,
                    hint="use plain numbers with a full stop as the decimal mark "
                    "(no currency signs, units or words)",
                )
            df[col] = converted
        if col in required or col in nonnegative or col in integer:
            blank = df[col].isna()
            if blank.any():
                i = int(np.flatnonzero(blank.to_numpy())[0])
                raise _empty_cell(df, i, col, path)
    for col in dict.fromkeys([*numeric, *nonnegative, *integer]):
        if col in df.columns and pd.api.types.is_float_dtype(df[col]):
            infinite = np.isinf(df[col].to_numpy(dtype=float))
            if infinite.any():
                i = int(np.flatnonzero(infinite)[0])
                raise InputError(
                    f"'{df[col].iloc[i]:g}' is not a finite number", file=path,
                    row=i + _FIRST_DATA_ROW, column=col,
                    hint="give an ordinary number (inf and -inf are not allowed; leave an "
                    "optional cell blank instead)")
    for col, (limit, meaning) in (at_most or {}).items():
        if col in df.columns:
            over = (df[col] > limit).to_numpy(dtype=bool)
            if over.any():
                i = int(np.flatnonzero(over)[0])
                raise InputError(
                    f"value {limits.shown(df[col].iloc[i])} is more than {limits.shown(limit)}, "
                    "too large to be real", file=path, row=i + _FIRST_DATA_ROW, column=col,
                    hint=f"'{col}' is {meaning}; check for a typing error (extra zeros, a total "
                    "in the wrong row)")
    for col in nonnegative:
        if col in df.columns:
            neg = df[col] < 0
            if neg.any():
                i = int(np.flatnonzero(neg.to_numpy())[0])
                raise InputError(
                    f"value {df[col].iloc[i]:g} is negative",
                    file=path, row=i + _FIRST_DATA_ROW, column=col,
                    hint=f"'{col}' cannot be negative",
                )
    for col in integer:
        if col in df.columns:
            frac = df[col] != np.round(df[col])
            if frac.any():
                i = int(np.flatnonzero(frac.to_numpy())[0])
                raise InputError(
                    f"value {df[col].iloc[i]:g} is not a whole number",
                    file=path, row=i + _FIRST_DATA_ROW, column=col,
                    hint=f"'{col}' counts children, so it must be a whole number",
                )
            df[col] = df[col].astype("int64")
    for col in unique:
        if col in df.columns:
            keys = df[col].astype(str).str.strip()
            dup = keys.duplicated(keep="first")
            if dup.any():
                i = int(np.flatnonzero(dup.to_numpy())[0])
                first = int(np.flatnonzero((keys == keys.iloc[i]).to_numpy())[0])
                raise InputError(
                    f"'{keys.iloc[i]}' appears more than once (first at row "
                    f"{first + _FIRST_DATA_ROW})",
                    file=path, row=i + _FIRST_DATA_ROW, column=col,
                    hint=f"each '{col}' must appear once: remove or merge the repeated rows",
                )
    for col in text:
        if col in df.columns:
            df[col] = df[col].astype("string").str.strip().astype(object)
    return df


def _decode(path: Path, what: str) -> str:
    raw = path.read_bytes()
    kind = binary_kind(raw)
    if kind is not None:
        raise InputError(f"the {what} is {kind}, not CSV text", file=path,
                         hint=_SAVE_AS[kind] if kind in _SAVE_AS else _SAVE_AS["text"])
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        raise InputError(
            f"the {what} is not UTF-8 text (byte {exc.start}, on line {line}, cannot be read)",
            file=path,
            hint="save it as 'CSV UTF-8' (in Excel: File > Save As > CSV UTF-8); it looks like "
            "Windows-1252 or Latin-1, as older programs write accents and the £ sign",
        ) from None


_UTF16 = "UTF-16 text (Excel's 'Unicode Text', or PowerShell's default)"
_SAVE_AS = {
    _UTF16: "save it as 'CSV UTF-8' (in Excel: File > Save As > CSV UTF-8 (Comma delimited))",
    "UTF-32 text": "save it as 'CSV UTF-8' (in Excel: File > Save As > CSV UTF-8)",
    "an old Excel workbook (.xls)": "open it in Excel and save it as an Excel Workbook (.xlsx) "
    "or as CSV UTF-8",
    "an Excel workbook (.xlsx) under another name": "save it from Excel as CSV UTF-8 (File > "
    "Save As); where a workbook is accepted (a council's sites, cases or localities), name it "
    ".xlsx instead",
    "text": "save it as 'CSV UTF-8'",
}


def binary_kind(raw: bytes) -> str | None:
    """What a file that is not UTF-8 text is, from its first bytes (None for text).

    Examples
    --------
    >>> binary_kind("a,b".encode("utf-16"))
    "UTF-16 text (Excel's 'Unicode Text', or PowerShell's default)"
    >>> binary_kind(b"a,b,c") is None
    True
    """
    head = raw[:4096]
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")):
        return "UTF-32 text"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return _UTF16
    if head.startswith(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"):
        return "an old Excel workbook (.xls)"
    if head.startswith(b"PK\x03\x04"):
        return "an Excel workbook (.xlsx) under another name"
    if len(head) >= 8 and max(head[0::2].count(0), head[1::2].count(0)) > 0.2 * len(head):
        return _UTF16  # without a byte order mark: a NUL after (or before) every letter
    return None


def parse_bool_column(df: pd.DataFrame, col: str, *, file: str | Path) -> pd.Series:
    """Parse a true/false column written by hand or by pandas (true/false, yes/no, 1/0)."""
    truthy = {"true", "t", "yes", "y", "1", "1.0"}
    falsy = {"false", "f", "no", "n", "0", "0.0"}
    text = df[col].astype(str).str.strip().str.lower()
    bad = ~text.isin(truthy | falsy)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(
            f"'{df[col].iloc[i]}' is not true or false",
            file=file, row=i + _FIRST_DATA_ROW, column=col,
            hint="write true or false (yes/no and 1/0 are accepted too)",
        )
    return text.isin(truthy)


# --------------------------------------------------------------------------------------------
# Atomic writing
# --------------------------------------------------------------------------------------------


#: Written into every output folder. A later run replaces an existing folder only when it holds
#: this file (or is empty), so a mistyped ``--out`` (``.``, a home folder, a file) is an error
#: instead of deleting work that this tool did not write.
OUTPUT_MARKER = ".optimiser-output"
_MARKER_TEXT = ("Written by optimiser (family-centre optimiser). Running a command again with "
                "this folder as --out replaces the whole folder.\n")


def replaceable_output(out: Path) -> bool:
    """True when an existing folder ``out`` may be replaced whole: it is empty, or optimiser
    wrote it (it holds :data:`OUTPUT_MARKER`)."""
    return (out / OUTPUT_MARKER).is_file() or not any(out.iterdir())


#: Columns that count people or cases: a blank there is most likely "none".
COUNT_COLUMNS = frozenset({"population", "children", "cin", "cpp", "extra_children"})


def _empty_cell(df: pd.DataFrame, i: int, col: str, path) -> InputError:
    """The message for an empty required cell: an empty row (Excel leaves rows of commas at
    the end of a sheet) is to be deleted; a count may be 0; anything else needs its value."""
    row = df.iloc[i]
    if all(pd.isna(v) or str(v).strip() == "" for v in row.tolist()):
        return InputError("the row is empty", file=path, row=i + _FIRST_DATA_ROW,
                          hint="delete the empty rows (Excel leaves rows of commas where "
                          "cells were cleared), then save again")
    hint = ("fill in a number (0 if there are none)" if col in COUNT_COLUMNS
            else f"fill in the {col} value; a blank is not taken as 0 here")
    return InputError("the cell is empty", file=path, row=i + _FIRST_DATA_ROW, column=col,
                      hint=hint)


def check_not_input(out: str | Path, reads: Iterable[str | Path | None]) -> None:
    """Raise :class:`InputError` when ``out`` is, or holds, a file or folder the command reads.

    Writing an output replaces its folder whole, so ``--out`` pointing at an input (the instance,
    a solved folder, the scenario's folder) or at a folder holding one would delete what the
    command is reading. This is the one place that rule lives; every command passes what it reads.

    Examples
    --------
    >>> check_not_input("/tmp/out", ["/tmp/instance"])
    >>> try:
    ...     check_not_input("/tmp", ["/tmp/instance/areas.csv"])
    ... except InputError as err:
    ...     print(err.problem)
    --out would replace /tmp/instance/areas.csv, which this command reads
    """
    target = Path(out).resolve()
    for read in reads:
        if read is None:
            continue
        src = Path(read).resolve()
        if src == target or target in src.parents:
            raise InputError(
                f"--out would replace {src}, which this command reads", file=out,
                hint="give --out a new folder that is not an input and does not hold one, "
                "e.g. an 'out/...' folder beside them; nothing was written")


def check_not_inside(out: str | Path, folders: Iterable[tuple[str | Path | None, str]]) -> None:
    """Raise :class:`InputError` when ``out`` is inside one of ``folders`` (each with what it
    is, e.g. "the data mirror"): folders of official data that optimiser only ever reads.

    Examples
    --------
    >>> try:
    ...     check_not_inside("/data/mirror/inst", [("/data/mirror", "the data mirror")])
    ... except InputError as err:
    ...     print(err.problem)
    --out is inside the data mirror /data/mirror, which holds official data optimiser only reads
    """
    target = Path(out).resolve()
    for folder, what in folders:
        if folder is None:
            continue
        src = Path(folder).resolve()
        if target == src or src in target.parents:
            raise InputError(
                f"--out is {'' if target == src else 'inside '}{what} {src}, which holds "
                "official data optimiser only reads",
                file=out, hint="give --out a folder outside it, e.g. out/instance; nothing was "
                "written")


#: A folder ``prepare`` wrote holds this file: only ``prepare`` may replace it. An instance is
#: what every other command reads, and hand edits may have gone into it.
INSTANCE_FILE = "prepare.json"


def check_output_dir(out: Path, reads: Iterable[str | Path | None] = (), *,
                     instance: bool = False, official: bool = False) -> None:
    """Raise :class:`InputError` unless ``out`` is absent, empty, or an earlier output, and
    neither is nor holds anything in ``reads`` (see :func:`check_not_input`). A prepared
    instance (it holds :data:`INSTANCE_FILE`) is replaced only by an instance (``instance``).
    Only official data (``official``: ``data fetch``'s tables) may go in the data mirror or
    the download cache."""
    check_not_input(out, reads)
    _check_not_system_folder(out)
    if not official:
        check_not_inside(out, official_data_folders())
    if not out.exists() and not out.is_symlink():
        return
    if not out.is_dir() or out.is_symlink():
        raise InputError("the output path exists and is not a folder", file=out,
                         hint="give --out a new folder name; nothing was written")
    if not instance and (out / INSTANCE_FILE).is_file():
        raise InputError(
            f"the output folder holds a prepared instance ({INSTANCE_FILE}); only 'optimiser "
            "prepare' replaces an instance", file=out,
            hint="give --out a new folder name; nothing was written")
    if replaceable_output(out):
        return
    if Path.cwd().resolve().is_relative_to(out):
        problem = "the output folder is the current folder (or holds it)"
    else:
        problem = "the output folder already holds files that optimiser did not write"
    raise InputError(
        problem, file=out,
        hint="give --out a new folder name (optimiser replaces a folder as a whole, and only "
        "one it wrote itself), or move those files away; nothing was written")


def official_data_folders() -> list[tuple[Path | None, str]]:
    """The data mirror named by the environment and the download cache: every command's output
    stays out of them (prepare also checks its own ``--mirror``)."""
    from optimiser.paths import MIRROR_ENV, cache_dir, mirror_from_env

    return [(mirror_from_env(), f"the data mirror (${MIRROR_ENV})"),
            (cache_dir(), "the download cache")]


#: Folders of the operating system's device and process files (Linux): not places for output.
#: Writing there fails oddly (no such file, invalid argument) or, as root, writes to a device.
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")


def _check_not_system_folder(out: Path) -> None:
    target = Path(out).resolve()
    for system in SYSTEM_FOLDERS:
        if target == Path(system) or Path(system) in target.parents:
            raise InputError(
                f"--out is inside {system}, a folder of the operating system's "
                f"{'device' if system == '/dev' else 'process and kernel'} files, not a place "
                "for output", file=out,
                hint="give --out a folder in your own files, e.g. out/solved; nothing was "
                "written")


@contextlib.contextmanager
def atomic_output_dir(out: str | Path, *, reads: Iterable[str | Path | None] = (),
                      instance: bool = False, official: bool = False) -> Iterator[Path]:
    """Write an output folder all at once.

    Yields a temporary folder beside ``out``. When the ``with`` block finishes without an error,
    the temporary folder replaces ``out`` (an existing ``out`` is removed only then). When it
    raises, the temporary folder is deleted and ``out`` is left as it was: no partial output.

    An existing ``out`` must be empty or an earlier output (it holds :data:`OUTPUT_MARKER`,
    which every output gets), and must not be or hold any of ``reads`` (the command's inputs);
    anything else (a file, the current folder, a folder of other files, an input) is an
    :class:`InputError` raised before anything is written. A disk that is full or read-only is
    one :class:`InputError` too, with nothing left behind. Temporary folders that a killed run
    left beside ``out`` are removed (see :func:`remove_stale_partials`).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> dest = pathlib.Path(tempfile.mkdtemp()) / "result"
    >>> with atomic_output_dir(dest) as tmp:
    ...     _ = (tmp / "a.txt").write_text("done")
    >>> (dest / "a.txt").read_text()
    'done'
    """
    reads = list(reads)
    shown = Path(out)
    out = Path(out).resolve()
    check_output_dir(out, reads, instance=instance, official=official)
    with _write_errors(shown):
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_stale_partials(out)
        tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}{_PARTIAL}", dir=out.parent))
    try:
        with _write_errors(shown):
            (tmp / _PARTIAL_MARKER).write_text(_partial_stamp(), encoding="utf-8")
            yield tmp
            (tmp / _PARTIAL_MARKER).unlink()
            (tmp / OUTPUT_MARKER).write_text(_MARKER_TEXT, encoding="utf-8")
        # It may have been created meanwhile.
        check_output_dir(out, reads, instance=instance, official=official)
        with _write_errors(shown):
            _swap_in(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    # mkdtemp makes 0700 folders; outputs are meant to be shared with colleagues.
    os.chmod(out, 0o755)


def _swap_in(tmp: Path, out: Path, attempts: int = 3) -> None:
    """Move ``tmp`` to ``out``; an existing ``out`` is put back if the move fails.

    Another run finishing the same ``out`` at the same moment can move it in between; the
    move is then tried again (the later run's folder wins, whole), and after ``attempts`` it is
    one :class:`InputError` rather than a half-replaced folder.
    """
    for _ in range(attempts):
        try:
            if not out.exists():
                tmp.rename(out)
                return
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            old.rmdir()
            out.rename(old)
        except OSError as exc:
            if exc.errno not in (errno.ENOENT, errno.EEXIST, errno.ENOTEMPTY):
                raise
            continue  # another run moved 'out' meanwhile: look again
        try:
            tmp.rename(out)
        except BaseException:
            old.rename(out)
            raise
        shutil.rmtree(old, ignore_errors=True)
        return
    raise InputError("another run was writing the same output folder at the same time",
                     file=out, hint="run one command per --out folder at a time, then run "
                     "this one again; nothing of this run was written")


# A temporary output folder is named ".<out>.partial-XXXX" and holds _PARTIAL_MARKER (host, process
# and start time) until it is complete, so a later run can tell a killed run's leftovers from
# a folder another run is still writing, and from anything optimiser did not make.
_PARTIAL = ".partial-"
_PARTIAL_MARKER = ".optimiser-partial"
#: A leftover from another machine (shared drive) is removed only when older than this.
STALE_AFTER_S = 24 * 3600


def _partial_stamp() -> str:
    return json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "started": time.time()})


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists, owned by someone else (or unknowable): keep its folder
    return True


def remove_stale_partials(out: Path) -> list[Path]:
    """Delete temporary folders a killed run left beside ``out``; return what was removed.

    Only folders named ``.<out name>.partial-*`` holding optimiser's partial marker are
    touched, and only when the run that made them is gone: its process no longer exists on this
    machine, or (made on another machine) it started more than a day ago.
    """
    removed = []
    for cand in out.parent.glob(f".{glob.escape(out.name)}{_PARTIAL}*"):
        stamp = cand / _PARTIAL_MARKER
        if cand.is_symlink() or not cand.is_dir() or not stamp.is_file():
            continue
        try:
            info = json.loads(stamp.read_text(encoding="utf-8"))
            host, pid, started = str(info["host"]), int(info["pid"]), float(info["started"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
        mine = host == socket.gethostname()
        if (mine and not _process_alive(pid)) or (not mine
                                                   and time.time() - started > STALE_AFTER_S):
            shutil.rmtree(cand, ignore_errors=True)
            removed.append(cand)
    return removed


#: Operating-system errors that mean "this place cannot be written", not a bug.
_WRITE_ERRNOS = {errno.ENOSPC: "the disk is full", errno.EDQUOT: "the disk quota is used up",
                 errno.EROFS: "the disk is read-only", errno.EACCES: "permission denied",
                 errno.EPERM: "permission denied", errno.EFBIG: "the file is too large",
                 errno.ENOTDIR: "part of the path is a file, not a folder",
                 errno.EEXIST: "a file is in the way of the folder",
                 errno.EISDIR: "a folder is in the way of the file",
                 errno.ENAMETOOLONG: "a file or folder name is too long",
                 errno.ELOOP: "a symbolic link in the path points back to itself"}


@contextlib.contextmanager
def _write_errors(out: Path) -> Iterator[None]:
    """Turn a full or read-only disk while writing ``out`` into one :class:`InputError`."""
    try:
        yield
    except OSError as exc:
        if exc.errno not in _WRITE_ERRNOS:
            raise
        raise write_error(out, exc) from None


def write_error(out: str | Path, exc: OSError) -> InputError:
    """The one message for an output that cannot be written (full disk, no permission)."""
    reason = _WRITE_ERRNOS.get(exc.errno or 0, exc.strerror or str(exc))
    where = f" ({exc.filename})" if exc.filename else ""
    return InputError(
        f"could not write the output: {reason}{where}", file=out,
        hint="free some space or choose a folder you can write to with --out; nothing was "
        "written (any partly written files were removed)")


def _atomic_replace(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def write_text(path: str | Path, text: str) -> None:
    """Write a UTF-8 text file atomically."""
    _atomic_replace(Path(path), text.encode("utf-8"))


def write_bytes(path: str | Path, data: bytes) -> None:
    """Write a binary file atomically."""
    _atomic_replace(Path(path), data)


def write_json(path: str | Path, obj: Any) -> None:
    """Write JSON atomically, with sorted-free stable indentation and a trailing newline."""
    write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def write_csv(path: str | Path, df: pd.DataFrame, *, float_format: str | None = None) -> None:
    """Write a DataFrame as CSV atomically (no index; ``\\n`` line endings; booleans as true/false).

    Deterministic: the same frame always gives the same bytes.
    """
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "true", False: "false"})
    text = out.to_csv(index=False, lineterminator="\n", float_format=float_format,
                      quoting=csv.QUOTE_MINIMAL)
    write_text(path, text)


def os_error(exc: OSError) -> InputError | None:
    """One clear :class:`InputError` for an operating-system error a user can fix (a full or
    read-only disk, no permission, a file where a folder should be), else ``None`` (a bug)."""
    if exc.errno not in _WRITE_ERRNOS:
        return None
    reason = _WRITE_ERRNOS[exc.errno]
    return InputError(
        f"{reason}: could not read or write this file or folder", file=exc.filename or None,
        hint="free some space, or check the path and that you may read and write there; "
        "outputs are written whole or not at all, so nothing was half-written")
