"""The council's files as Excel workbooks (.xlsx): sites, cases and locality lookups.

A workbook goes through the same checks as a CSV file, from its first sheet or the one named
with ``--sheet``; messages give the sheet's own row numbers. A prepare run on workbooks gives
byte for byte the instance of the same run on CSV files.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook
from test_prepare import LSOA_A, LSOA_B, _assert_clean_failure, run_cli

from optimiser import loaders
from optimiser.errors import InputError
from optimiser.files import read_table
from optimiser.sites import DEFAULT_COSTS


def write_xlsx(path: Path, sheets: dict[str, list[list[object]]]) -> Path:
    """A workbook with the given sheets, in order (cells as given: numbers stay numbers)."""
    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path


def test_first_sheet_or_the_named_one(tmp_path: Path) -> None:
    path = write_xlsx(tmp_path / "t.xlsx", {
        "Counts": [["code", "n"], ["001", 3], ["002", 4.0]],
        "Other": [["code", "n"], ["X", 1]],
    })
    df = read_table(path, required=["code", "n"], numeric=["n"], text=["code"])
    assert df.to_dict("list") == {"code": ["001", "002"], "n": [3, 4]}
    assert read_table(path, sheet="other", text=["code"])["code"].tolist() == ["X"]
    with pytest.raises(InputError, match="the workbook has no sheet 'Sites'") as exc:
        read_table(path, sheet="Sites")
    assert exc.value.hint == "its sheets are: 'Counts', 'Other'"
    assert exc.value.file == str(path)


def test_messages_give_the_sheets_row_numbers(tmp_path: Path) -> None:
    rows: list[list[object]] = [["code", "n"], ["A", 1], ["B", 2], ["C", "three"]]
    path = write_xlsx(tmp_path / "t.xlsx", {"S": rows})
    with pytest.raises(InputError) as exc:
        read_table(path, numeric=["n"])
    assert (exc.value.row, exc.value.column) == (4, "n")
    assert "'three' is not a number" in exc.value.problem
    # An empty row inside the table keeps the rows below at their sheet numbers.
    path = write_xlsx(tmp_path / "gap.xlsx", {"S": [["code", "n"], ["A", 1], [None, None],
                                                    ["B", "two"]]})
    with pytest.raises(InputError) as exc:
        read_table(path, numeric=["n"])
    assert (exc.value.row, exc.value.problem) == (4, "'two' is not a number")
    path = write_xlsx(tmp_path / "gap2.xlsx", {"S": [["code", "n"], ["A", 1], [None, None],
                                                     ["B", 2]]})
    with pytest.raises(InputError) as exc:  # where a value is required, the empty row is named
        read_table(path, nonnegative=["n"])
    assert (exc.value.row, exc.value.problem) == (3, "the row is empty")
    # Formatted but empty cells after the table are not rows.
    wb = Workbook()
    ws = wb.active
    ws.append(["code", "n"])
    ws.append(["A", 1])
    ws["D40"].number_format = "0.00"
    ws["A40"] = None
    wb.save(tmp_path / "tail.xlsx")
    assert len(read_table(tmp_path / "tail.xlsx", required=["n"], nonnegative=["n"])) == 1


def test_not_a_workbook_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "cases.xlsx"
    path.write_text("lsoa11cd,cin,cpp\n")
    with pytest.raises(InputError, match="could not be opened as an Excel workbook") as exc:
        read_table(path, what="cases file")
    assert "save it again as .xlsx, or as CSV UTF-8" in exc.value.hint


@pytest.fixture(scope="module")
def council_files(mirror: Path, ox_postcodes, tmp_path_factory) -> dict[str, tuple[Path, Path]]:
    """The same sites, cases and locality lookup as CSV and as workbooks."""
    folder = tmp_path_factory.mktemp("council")
    pcs = ox_postcodes["pcd"].iloc[[500, 15000, 30000]].tolist()
    sites = [["site_id", "name", "postcode", "status", "tier", "annual_cost", "setup_cost",
              "capacity"],
             ["A1", "Alpha", pcs[0], "existing", "hub", None, None, None],
             ["B2", "Beta", pcs[1], "candidate", "spoke", 150000, None, 300],
             ["C3", "Gamma", pcs[2], "candidate", "hub", 600000, 250000, None]]
    cases = [["lsoa11cd", "cin", "cpp"], [LSOA_A, 7, 2], [LSOA_B, 1, 0]]
    utla = loaders.load_utla_lookup(mirror)
    ox = sorted(utla.loc[utla["utla_code"] == "E10000025", "lsoa11cd"])
    wards = pd.read_csv(mirror / loaders.WARD_FILE, dtype=str).set_index("LSOA11CD")
    lookup = [["LSOA11CD", "Locality"], *[[c, wards.loc[c, "LAD19NM"]] for c in ox]]
    out: dict[str, tuple[Path, Path]] = {}
    for kind, rows, sheets in (("sites", sites, {"Read me": [["notes"]], "Sites": None}),
                               ("cases", cases, {"Cases": None}),
                               ("localities", lookup, {"Lookup": None})):
        csv = folder / f"{kind}.csv"
        pd.DataFrame(rows[1:], columns=rows[0]).to_csv(csv, index=False)
        book = write_xlsx(folder / f"{kind}.xlsx",
                          {k: (v if v is not None else rows) for k, v in sheets.items()})
        out[kind] = (csv, book)
    return out


def test_prepare_on_workbooks_equals_prepare_on_csv(tmp_path: Path, mirror: Path,
                                                   council_files) -> None:
    outs = []
    for i, label in enumerate(("csv", "xlsx")):
        out = tmp_path / label
        args = ["--la", "Oxfordshire", "--out", out, "--mirror", mirror]
        for kind, files in council_files.items():
            args += [f"--{kind}", files[i]]
        if label == "xlsx":  # the sites are on the workbook's second sheet
            args += ["--sheet", "sites=Sites"]
        code, output = run_cli(*args)
        assert code == 0, output
        outs.append(out)
    for f in ("areas.csv", "sites.csv", "localities.csv"):
        assert (outs[0] / f).read_bytes() == (outs[1] / f).read_bytes(), f
    areas = pd.read_csv(outs[1] / "areas.csv").set_index("area_id")
    assert areas.loc[LSOA_A, ["cin", "cpp"]].tolist() == [7, 2]
    assert sorted(areas["locality"].unique()) == [
        "Cherwell", "Oxford", "South Oxfordshire", "Vale of White Horse", "West Oxfordshire"]
    # Blank cost cells take the documented defaults (README: DefaultCosts).
    sites = pd.read_csv(outs[1] / "sites.csv", dtype={"site_id": str}).set_index("site_id")
    assert sites.loc["A1", "annual_cost"] == DEFAULT_COSTS.hub_annual
    assert sites.loc["A1", "capacity"] == DEFAULT_COSTS.capacity("hub")
    assert sites.loc["B2", "setup_cost"] == DEFAULT_COSTS.spoke_setup
    assert sites.loc["C3", ["annual_cost", "setup_cost"]].tolist() == [600000, 250000]


def test_bad_workbooks_through_prepare(tmp_path: Path, mirror: Path, council_files) -> None:
    path = write_xlsx(tmp_path / "cases.xlsx", {"Cases": [["lsoa11cd", "cin", "cpp"],
                                                          [LSOA_A, 3, 1], [LSOA_B, "three", 1]]})
    out = tmp_path / "out"
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--cases", path)
    _assert_clean_failure(tmp_path, out, code, output,
                          ["cases.xlsx", "row 3", "column 'cin'", "'three' is not a number"])
    # The sites are on the second sheet: the first holds only a note.
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--sites", council_files["sites"][1])
    _assert_clean_failure(tmp_path, out, code, output, [
        "sites.xlsx", "header but no data rows",
        "read from the sheet 'Read me'; the workbook also has 'Sites': choose one with --sheet"])
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--sites", council_files["sites"][1], "--sheet", "Places")
    _assert_clean_failure(tmp_path, out, code, output,
                          ["the workbook has no sheet 'Places'", "'Read me', 'Sites'"])
    code, output = run_cli("--la", "Oxfordshire", "--out", out, "--mirror", mirror,
                           "--sheet", "site=Sites")
    _assert_clean_failure(tmp_path, out, code, output, ["--sheet 'site=Sites' names no input"])
