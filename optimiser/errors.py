"""Errors a user can act on.

Every problem caused by the user's input (a file, a scenario key, a local-authority name) is raised
as an :class:`OptimiserError`. The command line prints it as one clear message, with no traceback,
and exits with status 2. Anything else is a bug and keeps its traceback.

The message always says *where* (file, row, column or key), *what* is wrong, and *how to fix it*.

Examples
--------
>>> err = InputError("value -3 is negative", file="cases.csv", row=7, column="cin",
...                  hint="counts of children cannot be negative")
>>> print(err)
cases.csv, row 7, column 'cin': value -3 is negative
  hint: counts of children cannot be negative
"""

from __future__ import annotations

from pathlib import Path


class OptimiserError(Exception):
    """A problem the user can fix; the CLI prints it without a traceback.

    Parameters
    ----------
    problem
        What is wrong, in plain words.
    file
        The file the problem is in, if any.
    row
        The 1-based row number *as a spreadsheet shows it* (the header is row 1), if any.
    column
        The column name, if any; a command-line option (``--budgets``) is named as an option.
    key
        A scenario key (dotted, e.g. ``constraints.min_sites``), if any.
    hint
        How to fix it.
    """

    def __init__(
        self,
        problem: str,
        *,
        file: str | Path | None = None,
        row: int | None = None,
        column: str | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.problem = problem
        self.file = str(file) if file is not None else None
        self.row = row
        self.column = column
        self.key = key
        self.hint = hint
        super().__init__(self.message)

    @property
    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.column is not None and self.column.startswith("-"):
            parts.append(f"option {self.column}")  # a command-line option is not a column
        elif self.column is not None:
            parts.append(f"column '{self.column}'")
        if self.key is not None:
            parts.append(f"key '{self.key}'")
        return ", ".join(parts)

    @property
    def message(self) -> str:
        text = f"{self.where}: {self.problem}" if self.where else self.problem
        if self.hint:
            text += f"\n  hint: {self.hint}"
        return text

    def __str__(self) -> str:
        return self.message


class InputError(OptimiserError):
    """A user-supplied or official data file is missing, malformed or inconsistent."""


class ScenarioError(OptimiserError):
    """A scenario file has an unknown key, a wrong type, an out-of-range value or a missing file."""


class DataSourceError(OptimiserError):
    """Official data cannot be found in the mirror or cache, or cannot be downloaded."""
