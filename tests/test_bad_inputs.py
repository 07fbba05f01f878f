"""A corpus of bad inputs and unlucky runs, as a careless analyst would meet them (issue 10).

Every case runs the real command line and asserts: exit status 2, one clear message (exact words
for the key ones), no traceback, nothing written and every input byte for byte as it was. The
inputs are a small synthetic county that optimiser itself wrote (instance, scenario, solved
folder, all inside an earlier output folder), so "--out is one of optimiser's own folders" is
the dangerous case it is in real use.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from optimiser import files
from optimiser.cli import app
from optimiser.errors import OptimiserError
from optimiser.files import OUTPUT_MARKER
from optimiser.instance import write_instance
from optimiser.model.synthetic import synthetic_instance

runner = CliRunner()
SCENARIO = ("instance: instance\nobjective: max_reach\nbudget: 2000000\n"
            "reach: {model: coverage, threshold_minutes: 20}\n")


@pytest.fixture(scope="module")
def template(tmp_path_factory) -> Path:
    """world/ (an earlier output folder) holding instance/, scenario.yaml and solved/."""
    root = tmp_path_factory.mktemp("template") / "world"
    (root / "instance").mkdir(parents=True)
    write_instance(synthetic_instance(60, seed=3), root / "instance")
    for folder in (root, root / "instance"):  # as prepare and the demo leave them
        (folder / OUTPUT_MARKER).write_text("written by optimiser\n")
    (root / "scenario.yaml").write_text(SCENARIO)
    res = runner.invoke(app, ["solve", str(root / "scenario.yaml"), "--out",
                              str(root / "solved")])
    assert res.exit_code == 0, res.output
    return root


@pytest.fixture
def world(template: Path, tmp_path: Path) -> Path:
    root = tmp_path / "world"
    shutil.copytree(template, root)
    # solution.json names its instance by absolute path: point the copy at the copy
    path = root / "solved" / "solution.json"
    solution = json.loads(path.read_text())
    solution["instance"] = str((root / "instance").resolve())
    path.write_text(json.dumps(solution))
    (root / "option-b.yaml").write_text(SCENARIO.replace("2000000", "1500000")
                                        + "name: option b\n")
    return root


def snapshot(root: Path) -> dict[str, bytes | None]:
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


def refused(args: list[str], root: Path, *expected: str) -> str:
    """Run the CLI; assert a clean refusal that changed nothing under ``root``."""
    before = snapshot(root.parent)
    res = runner.invoke(app, [str(a) for a in args])
    text = " ".join(res.output.split())
    assert res.exit_code == 2, res.output
    assert isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output and text.count("error:") == 1, res.output
    for words in expected:
        assert words in text, f"{words!r} not in {text!r}"
    assert snapshot(root.parent) == before, "files were written, changed or removed"
    return text


def edit_csv(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell (``row`` as a spreadsheet numbers it: the first data row is 2)."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    df.loc[row - 2, column] = value
    df.to_csv(path, index=False)


# ----------------------------------------------------------------------------- --out hazards

READS = "which this command reads"


@pytest.mark.parametrize("command", ["solve", "sweep", "sensitivity", "compare"])
@pytest.mark.parametrize("target", ["instance", "."])
def test_out_never_replaces_an_input_or_a_folder_holding_one(world, command, target):
    # world/ and world/instance/ are optimiser's own folders, so only the inputs rule stops a
    # command replacing them (sweep and report used to delete the instance they read).
    scen = world / "scenario.yaml"
    args = {"solve": ["solve", scen], "sweep": ["sweep", scen, "--budgets", "1m,2m"],
            "sensitivity": ["sensitivity", scen, "--weight-draws", "2"],
            "compare": ["compare", scen, world / "option-b.yaml"]}[command]
    text = refused([*args, "--out", (world / target).resolve()], world)
    assert READS in text or "an input of this solve" in text


@pytest.mark.parametrize("target", ["solved", "instance", "."])
def test_report_out_never_replaces_what_it_reads(world, target):
    refused(["report", world / "solved", "--out", (world / target).resolve()], world,
            READS if target != "solved" else "the pack folder is the solved folder")


def test_report_internal_tables_never_replace_an_input(world):
    # The unsuppressed tables go to <out>-internal: '--out inst' would put them in 'inst-internal'
    shutil.move(world / "instance", world / "inst-internal")
    solution = json.loads((world / "solved" / "solution.json").read_text())
    solution["instance"] = str(world / "inst-internal")
    (world / "solved" / "solution.json").write_text(json.dumps(solution))
    refused(["report", world / "solved", "--out", world / "inst"], world, READS)


def test_demo_and_prepare_never_replace_the_data_mirror(world):
    mirror = world / "mirror"
    mirror.mkdir()
    (mirror / OUTPUT_MARKER).write_text("written by optimiser data fetch\n")
    (mirror / "imd2019").mkdir()
    refused(["demo", "--mirror", mirror, "--out", mirror], world,
            "--out is the data mirror (--mirror)")
    refused(["demo", "--mirror", mirror, "--out", world], world, READS)
    refused(["prepare", "--la", "Oxfordshire", "--mirror", mirror, "--out", world], world,
            READS)


def test_no_command_writes_inside_the_data_mirror_of_the_environment(world, monkeypatch):
    mirror = world.parent / "mirror"
    mirror.mkdir()
    monkeypatch.setenv("OPTIMISER_DATA_MIRROR", str(mirror))
    inside = "--out is inside the data mirror ($OPTIMISER_DATA_MIRROR)"
    refused(["solve", world / "scenario.yaml", "--out", mirror / "x"], world, inside)
    refused(["report", world / "solved", "--out", mirror / "pack"], world, inside)
    refused(["allocate", world / "solved", "--budget", "1m", "--out", mirror / "split"], world,
            inside)
    assert sorted(p.name for p in mirror.iterdir()) == []


def test_a_reach_speed_may_be_one_number_for_urban_and_rural():
    from optimiser.scenario import parse_scenario

    reach = parse_scenario({"instance": ".", "budget": 1, "reach": {"speed_kmh": 12,
                                                                      "circuity": 1.4}}).reach
    assert (reach.speed_kmh.urban, reach.speed_kmh.rural) == (12, 12)
    assert (reach.circuity.urban, reach.circuity.rural) == (1.4, 1.4)


def test_prepare_never_replaces_the_folder_of_its_sites_file(world):
    refused(["prepare", "--la", "Oxfordshire", "--sites", world / "instance" / "sites.csv",
             "--out", world / "instance"], world, READS)


# ----------------------------------------------------------------------------- scenario files

BOMB = ("instance: instance\nbudget: 1000000\nobjective: evaluate\n"
        "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
            f"{n}: &{n} [{', '.join([f'*{p}'] * 9)}]\n" for p, n in zip("abcdefg", "bcdefgh",
                                                                       strict=True))
        + "network: [*h, *h, *h, *h, *h, *h, *h, *h, *h]\n")

SCENARIOS: list[tuple[str, bytes, tuple[str, ...]]] = [
    ("alias bomb", BOMB.encode(), ("expands to more than 100,000 values through its aliases",)),
    ("alias inside its own anchor", b"instance: instance\nbudget: 1\n"
     b"reach: &r {model: coverage, nested: *r}\n",
     ("has an alias (*name) inside the block its anchor (&name) names",)),
    ("huge", (SCENARIO + "# padding\n" * 120_000).encode(),
     ("scenario file is 1.2 MB, too large for a settings file (at most 1 MB)",)),
    ("python tag", b"instance: instance\nbudget: !!python/object/apply:os.system [echo]\n",
     ("the file uses a YAML tag (a word after '!') at line 2, which a scenario cannot hold",)),
    ("speed as text", (SCENARIO.replace("threshold_minutes: 20}", "threshold_minutes: 20, "
                                        "speed_kmh: 15 km/h}")).encode(),
     ("key 'reach.speed_kmh': '15 km/h' is not allowed: Input should be a valid dictionary",
      "hint: one number of km/h, or {urban: 15, rural: 50}")),
    ("duplicate key", (SCENARIO + "budget: 9000000\n").encode(),
     ("'budget' is given twice (lines 3 and 5); YAML would silently keep the last",)),
    ("duplicate nested key", b"instance: instance\nbudget: 1\nreach:\n  model: coverage\n"
     b"  threshold_minutes: 20\n  threshold_minutes: 25\n",
     ("'threshold_minutes' is given twice (lines 5 and 6)",)),
    ("latin-1", SCENARIO.encode() + "name: Banbury caf\xe9 option\n".encode("latin-1"),
     ("not UTF-8 text (byte", "on line 5", "Windows-1252 or Latin-1")),
    ("deep nesting", b"instance: instance\nnetwork: " + b"[" * 50_000 + b"]" * 50_000,
     ("nested too deeply",)),
    ("tabs", b"instance: instance\nreach:\n\tmodel: coverage\n", ("not valid YAML at line",)),
    ("empty", b"", ("must be a YAML mapping",)),
    ("a list", b"- instance\n- budget\n", ("must be a YAML mapping",)),
    ("infinite budget", SCENARIO.replace("2000000", ".inf").encode(), ("key 'budget'",)),
    ("pounds text", SCENARIO.replace("2000000", "£2m").encode(), ("key 'budget'",)),
    ("misspelt key", (SCENARIO + "budjet: 5\n").encode(), ("unknown key 'budjet'",)),
    ("markup in a value", SCENARIO.replace("max_reach", "'[/b]max'").encode(),
     ("'[/b]max' is not allowed",)),
    ("long value", (SCENARIO + f"name: {list(range(5000))}\n").encode(),
     ("key 'name': a list of 5000 values is not allowed",)),
    ("missing instance", SCENARIO.replace("instance: instance", "instance: nowhere").encode(),
     ("the instance folder", "does not exist")),
    ("a date as budget", SCENARIO.replace("2000000", "2026-01-01").encode(),
     ("key 'budget': the date 2026-01-01 is not allowed: Input should be a valid number",)),
    ("budget 1e30", SCENARIO.replace("2000000", "1.0e+30").encode(),
     ("key 'budget': £1e+30 is more than £10bn a year, more than any council spends in all",)),
    ("set_aside 1e20", (SCENARIO + "set_aside: {x: 1.0e+20}\n").encode(),
     ("key 'set_aside': £1e+20 is more than £10bn a year",)),
    ("no value for instance", SCENARIO.replace("instance: instance", "instance:").encode(),
     ("key 'instance': an empty value (nothing after the colon) is not allowed",
      "e.g. 'instance: instance/'")),
    ("a file as instance", SCENARIO.replace("instance: instance",
                                            "instance: instance/areas.csv").encode(),
     ("areas.csv is a file, not the instance folder", "e.g. 'instance: instance'")),
    ("a solved folder as instance", SCENARIO.replace("instance: instance",
                                                     "instance: solved").encode(),
     ("key 'instance': the instance folder", "is a solved folder (it holds solution.json), not "
      "an instance", "write 'instance: instance'")),
]


@pytest.mark.parametrize(("content", "expected"), [(c, e) for _n, c, e in SCENARIOS],
                         ids=[n for n, _c, _e in SCENARIOS])
def test_bad_scenario_files_are_refused_quickly_and_clearly(world, content, expected):
    scen = world / "bad.yaml"
    scen.write_bytes(content)
    text = refused(["solve", scen, "--out", world.parent / "out"], world, *expected)
    assert len(text) < 600, "the message must not print the expanded value"


def test_scenario_anchors_and_merge_keys_for_shared_settings_still_work(world, tmp_path):
    # A merged key overridden in place is not a duplicate; a small anchor is not a bomb.
    (world / "merge.yaml").write_text(
        "instance: instance\nbudget: 2000000\nreach: {model: coverage}\n"
        "tiers:\n  hub: &tier {effectiveness: 0.9}\n  spoke:\n    <<: *tier\n"
        "    effectiveness: 0.7\n")
    res = runner.invoke(app, ["solve", str(world / "merge.yaml"), "--out", str(tmp_path / "o")])
    assert res.exit_code == 0, res.output
    settings = json.loads((tmp_path / "o" / "solution.json").read_text())["settings"]
    assert settings["tiers"]["hub"]["effectiveness"] == 0.9
    assert settings["tiers"]["spoke"]["effectiveness"] == 0.7


# ----------------------------------------------------------------------------- instance files

Edit = Callable[[Path], None]


def _degrees_site(root: Path) -> None:
    edit_csv(root / "sites.csv", 3, "x", "-1.26")
    edit_csv(root / "sites.csv", 3, "y", "51.75")


def _far_site(root: Path) -> None:
    edit_csv(root / "sites.csv", 2, "x", "900000")


def _degrees_areas(root: Path) -> None:
    areas = pd.read_csv(root / "areas.csv")
    areas["x"], areas["y"] = -1.2 - areas["x"] / 1e6, 51.7 + areas["y"] / 1e6
    areas.to_csv(root / "areas.csv", index=False)


def _zero_need(root: Path) -> None:
    areas = pd.read_csv(root / "areas.csv")
    areas["need"] = 0.0
    areas.to_csv(root / "areas.csv", index=False)


def _cell(file: str, row: int, column: str, value: str) -> Edit:
    return lambda root: edit_csv(root / file, row, column, value)


def _latin1_sites(root: Path) -> None:
    text = (root / "sites.csv").read_text().replace("Site", "Caf\xe9", 1)
    (root / "sites.csv").write_bytes(text.encode("latin-1"))


def _semicolons(root: Path) -> None:
    text = (root / "areas.csv").read_text().replace(",", ";")
    (root / "areas.csv").write_text(text)


def _swapped_area_header(root: Path) -> None:
    """Real-looking grid references (around Oxford), then the areas' x and y headers swapped."""
    for name in ("areas.csv", "sites.csv"):
        table = pd.read_csv(root / name)
        table["x"], table["y"] = table["x"] + 450_000, table["y"] + 200_000
        if name == "areas.csv":
            table = table.rename(columns={"x": "y", "y": "x"})
        table.to_csv(root / name, index=False)


def _swapped_site_values(root: Path, rows: slice) -> None:
    for name in ("areas.csv", "sites.csv"):
        table = pd.read_csv(root / name)
        table["x"], table["y"] = table["x"] + 450_000, table["y"] + 200_000
        if name == "sites.csv":
            table.loc[rows, ["x", "y"]] = table.loc[rows, ["y", "x"]].to_numpy()
        table.to_csv(root / name, index=False)


def _travel(minutes: str) -> Edit:
    """A travel.csv of straight-line minutes, with one trip's minutes as given."""
    def edit(root: Path) -> None:
        areas, sites = pd.read_csv(root / "areas.csv"), pd.read_csv(root / "sites.csv")
        rows = [(a.area_id, s.site_id, round(float(np.hypot(a.x - s.x, a.y - s.y)) / 500, 1))
                for a in areas.itertuples() for s in sites.itertuples()]
        table = pd.DataFrame(rows, columns=["area_id", "site_id", "minutes"]).astype(
            {"minutes": object})
        table.loc[5, "minutes"] = minutes
        table.to_csv(root / "travel.csv", index=False)
    return edit


def _empty_rows(root: Path) -> None:
    """Rows of commas at the end, as Excel leaves where cells were cleared."""
    with (root / "areas.csv").open("a") as fh:
        fh.write(",,,,,,,\n,,,,,,,\n")


INSTANCE_CASES: list[tuple[str, Edit, tuple[str, ...]]] = [
    ("empty rows at the end", _empty_rows,
     ("areas.csv, row 62: the row is empty", "hint: delete the empty rows")),
    ("blank x", _cell("areas.csv", 4, "x", ""),
     ("areas.csv, row 4, column 'x': the cell is empty",
      "hint: fill in the x value; a blank is not taken as 0 here")),
    ("need inf", _cell("areas.csv", 4, "need", "inf"),
     ("areas.csv, row 4, column 'need': 'inf' is not a finite number",)),
    ("need -inf", _cell("areas.csv", 2, "need", "-inf"), ("'-inf' is not a finite number",)),
    ("need nan", _cell("areas.csv", 5, "need", "nan"),
     ("areas.csv, row 5, column 'need': the cell is empty",)),
    ("population blank", _cell("areas.csv", 5, "population", ""),
     ("areas.csv, row 5, column 'population': the cell is empty",
      "hint: fill in a number (0 if there are none)")),
    ("need negative", _cell("areas.csv", 3, "need", "-0.5"),
     ("row 3, column 'need': value -0.5 is negative",)),
    ("need text", _cell("areas.csv", 3, "need", "high"), ("'high' is not a number",)),
    ("all need zero", _zero_need,
     ("column 'need': every area's need is 0, so there is no need for the plan to reach",)),
    ("population inf", _cell("areas.csv", 2, "population", "inf"),
     ("column 'population': 'inf' is not a finite number",)),
    ("area x inf", _cell("areas.csv", 2, "x", "inf"), ("column 'x': 'inf' is not a finite",)),
    ("areas in degrees", _degrees_areas,
     ("areas.csv, row 2, column 'x'", "look like longitude and latitude in degrees")),
    ("site in degrees", _degrees_site,
     ("sites.csv, row 3, column 'x'", "these look like longitude and latitude in degrees",
      "British National Grid metres (EPSG:27700)")),
    ("site 900 km east", _far_site, ("sites.csv, row 2, column 'x'", "km from the nearest area",
                                     "too far to serve them")),
    ("site cost inf", _cell("sites.csv", 2, "annual_cost", "inf"),
     ("column 'annual_cost': 'inf' is not a finite number",)),
    ("capacity negative", _cell("sites.csv", 2, "capacity", "-5"), ("is negative",)),
    ("site status", _cell("sites.csv", 2, "status", "closed"),
     ("'closed' is not one of existing, candidate",)),
    ("duplicate site", lambda r: edit_csv(r / "sites.csv", 3, "site_id", pd.read_csv(
        r / "sites.csv")["site_id"].iloc[0]), ("sites.csv, row 3, column 'site_id'",
                                               "appears more than once (first at row 2)")),
    ("blank locality", _cell("areas.csv", 2, "locality", ""), ("the area has no locality",)),
    ("latin-1 sites", _latin1_sites, ("not UTF-8", "CSV UTF-8")),
    ("semicolons", _semicolons, ("separated by semicolons",)),
    ("capacity 1e15", _cell("sites.csv", 2, "capacity", "1e15"),
     ("sites.csv, row 2, column 'capacity': value 1e+15 is more than 1,000,000, too large to "
      "be real", "'capacity' is children a year (blank for no limit)")),
    ("population 1e15", _cell("areas.csv", 3, "population", "1e15"),
     ("areas.csv, row 3, column 'population': value 1e+15 is more than 1,000,000",)),
    ("need 1e300", _cell("areas.csv", 2, "need", "1e300"),
     ("areas.csv, row 2, column 'need': value 1e+300 is more than 1,000, too large to be real",
      "a multiplier averaging 1 over the county's children")),
    ("annual cost 1e15", _cell("sites.csv", 3, "annual_cost", "1e15"),
     ("row 3, column 'annual_cost': value 1e+15 is more than 10,000,000,000",)),
    ("travel minutes 1e300", _travel("1e300"),
     ("travel.csv, row 7, column 'minutes': value 1e+300 is more than 10,080",
      "leave a pair that cannot be travelled out of travel.csv")),
    ("blank site status", _cell("sites.csv", 3, "status", ""),
     ("sites.csv, row 3, column 'status': the cell is empty",)),
    ("areas saved as a workbook", lambda r: pd.read_csv(r / "areas.csv").to_excel(
        r / "areas.csv", index=False, engine="openpyxl"),
     ("areas.csv: the areas file is an Excel workbook (.xlsx) under another name",)),
    ("area 500 km away", _cell("areas.csv", 3, "x", "560000"),
     ("areas.csv, row 3, column 'x': area 'A00001' at x 560000, y 5162.8 is 544 km from the "
      "other areas", "a mistyped digit moves an area hundreds of km")),
    ("area far north", _cell("areas.csv", 5, "y", "1000000"),
     ("areas.csv, row 5, column 'y': area 'A00003'", "km from the other areas")),
    ("areas x/y headers swapped", _swapped_area_header,
     ("areas.csv, row 1, column 'x': the areas' x and y are swapped (the header names y before "
      "x): every site is far from the areas",)),
    ("some sites' x/y swapped", lambda r: _swapped_site_values(r, slice(0, 1)),
     ("sites.csv, row 2, column 'x': site 'S0000'", "with x and y swapped it would lie among "
      "them: this file's x and y are swapped on 2 rows")),
    ("every site's x/y swapped", lambda r: _swapped_site_values(r, slice(None)),
     ("either areas.csv or sites.csv has its x and y columns swapped",)),
    ("no sites rows", lambda r: (r / "sites.csv").write_text(
        (r / "sites.csv").read_text().splitlines()[0] + "\n"), ("header but no data rows",)),
]


@pytest.mark.parametrize(("edit", "expected"), [(e, x) for _n, e, x in INSTANCE_CASES],
                         ids=[n for n, _e, _x in INSTANCE_CASES])
def test_hand_edited_instances_are_refused_with_the_row_and_column(world, edit, expected):
    edit(world / "instance")
    refused(["solve", world / "scenario.yaml", "--out", world.parent / "out"], world,
            *expected)


def test_site_just_over_the_border_is_accepted(world, tmp_path):
    # 20 km beyond the areas: a centre a neighbouring council runs, not a mistake
    areas = pd.read_csv(world / "instance" / "areas.csv")
    edit_csv(world / "instance" / "sites.csv", 2, "x", str(areas["x"].max() + 20_000))
    res = runner.invoke(app, ["solve", str(world / "scenario.yaml"), "--out",
                              str(tmp_path / "o")])
    assert res.exit_code == 0, res.output


# ----------------------------------------------------------------------------- report options


def test_report_threshold_zero_needs_an_explicit_switch(world):
    refused(["report", world / "solved", "--out", world.parent / "pack", "--threshold", "0"],
            world, "a threshold of 0 turns disclosure control off",
            "pass --no-disclosure-control to publish exact counts knowingly")
    refused(["report", world / "solved", "--out", world.parent / "pack", "--threshold", "3",
             "--no-disclosure-control"], world, "contradict each other")


def test_no_disclosure_control_is_said_on_the_front_page(world):
    pack = world.parent / "pack"
    res = runner.invoke(app, ["report", str(world / "solved"), "--out", str(pack),
                              "--no-disclosure-control"])
    assert res.exit_code == 0, res.output
    index = (pack / "index.html").read_text()
    header = index[index.index("<header>"):index.index("</header>")]
    assert 'id="no-disclosure-control"' in header and "Not for" in header
    assert "Disclosure control is off" in index
    assert json.loads((pack / "pack.json").read_text())["disclosure_control"] is False


# ----------------------------------------------------------------------------- disks and kills


def full_disk(monkeypatch: pytest.MonkeyPatch, after: int = 1) -> None:
    """From the ``after+1``-th file optimiser writes, the disk is full: half the bytes land,
    then the write fails with ENOSPC (as the operating system reports it)."""
    real = os.fdopen
    calls = {"n": 0}

    class HalfFile:
        def __init__(self, fh):
            self.fh = fh

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.fh.close()

        def write(self, data: bytes) -> int:
            self.fh.write(data[: len(data) // 2])
            self.fh.flush()
            raise OSError(errno.ENOSPC, "No space left on device")

    def fdopen(fd, *args, **kwargs):
        calls["n"] += 1
        fh = real(fd, *args, **kwargs)
        return HalfFile(fh) if calls["n"] > after else fh

    monkeypatch.setattr(files.os, "fdopen", fdopen)


@pytest.mark.parametrize("command", ["solve", "sweep", "report"])
def test_full_disk_is_one_message_and_leaves_nothing(world, monkeypatch, command):
    full_disk(monkeypatch)
    out = world.parent / "out"
    args = {"solve": ["solve", world / "scenario.yaml"],
            "sweep": ["sweep", world / "scenario.yaml", "--budgets", "1m,2m"],
            "report": ["report", world / "solved"]}[command]
    refused([*args, "--out", out], world, "the disk is full", "nothing was written")
    assert not [p for p in world.parent.iterdir() if p.name not in ("world",)]


def test_read_only_output_folder_is_one_message(world, monkeypatch):
    real = files.tempfile.mkdtemp

    def mkdtemp(*args, **kwargs):
        if str(kwargs.get("dir", "")).startswith(str(world.parent)):
            raise PermissionError(errno.EROFS, "Read-only file system", kwargs["dir"])
        return real(*args, **kwargs)

    monkeypatch.setattr(files.tempfile, "mkdtemp", mkdtemp)
    refused(["solve", world / "scenario.yaml", "--out", world.parent / "out"], world,
            "could not write the output: the disk is read-only")


@pytest.mark.parametrize("after", [0, 1])
def test_allocate_on_a_full_disk_is_one_message(world, monkeypatch, after):
    # Into a new folder (removed again) and into the solved folder (left as it was).
    full_disk(monkeypatch, after=after)
    refused(["allocate", world / "instance", "--budget", "1m", "--out", world.parent / "grants"],
            world, "the disk is full")
    refused(["allocate", world / "instance", "--budget", "1m", "--out", world / "solved"],
            world, "the disk is full")


def test_allocate_out_that_is_a_file_is_one_message(world):
    refused(["allocate", world / "instance", "--budget", "1m", "--out",
             world / "scenario.yaml"], world, "a file is in the way of the folder")


def test_stale_partial_folders_of_killed_runs_are_removed(world, tmp_path):
    out = tmp_path / "out"
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)
    leftovers = {}
    for name, pid in (("killed", int(dead.stdout)), ("running", os.getpid())):
        folder = tmp_path / f".out.partial-{name}"
        folder.mkdir()
        (folder / ".optimiser-partial").write_text(json.dumps(
            {"host": socket.gethostname(), "pid": pid, "started": 0}))
        leftovers[name] = folder
    unmarked = tmp_path / ".out.partial-mine"  # not made by optimiser: never touched
    unmarked.mkdir()
    res = runner.invoke(app, ["solve", str(world / "scenario.yaml"), "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert not leftovers["killed"].exists()
    assert leftovers["running"].exists() and unmarked.exists()
    assert not (out / ".optimiser-partial").exists() and (out / OUTPUT_MARKER).is_file()


def test_a_killed_solve_leaves_no_output_and_the_next_run_cleans_up(world, tmp_path):
    # A run killed while writing: its .partial folder stays until the next run removes it.
    script = (
        "import os, signal, sys\n"
        "from optimiser import files\n"
        "real = files.write_csv\n"
        "def die(*a, **k):\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "files.write_csv = die\n"
        "import optimiser.solution as s\n"
        "s.write_csv = die\n"
        "from optimiser.cli import main\n"
        f"sys.argv = ['optimiser', 'solve', {str(world / 'scenario.yaml')!r}, '--out', "
        f"{str(tmp_path / 'out')!r}]\n"
        "main()\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True)
    assert proc.returncode == -9, proc.stderr[-500:]
    assert not (tmp_path / "out").exists()
    assert len(list(tmp_path.glob(".out.partial-*"))) == 1
    res = runner.invoke(app, ["solve", str(world / "scenario.yaml"), "--out",
                              str(tmp_path / "out")])
    assert res.exit_code == 0, res.output
    assert list(tmp_path.glob(".out.partial-*")) == []


# ----------------------------------------------------------------------------- council files


def test_cases_file_mixing_layouts_names_both(tmp_path):
    from optimiser.cases import read_council_cases

    path = tmp_path / "cases.csv"
    path.write_text("lsoa11cd,cin,cpp,postcode\nE01028513,4,1,\n,true,false,OX4 6AY\n")
    with pytest.raises(files.InputError) as err:
        read_council_cases(path, ["E01028513"], tmp_path, boundaries_loader=lambda: None)
    assert str(err.value).startswith(
        f"{path}, row 1: the cases file has both a postcode column ('postcode') and an LSOA "
        "column ('lsoa11cd'), so it mixes the two layouts: counts per LSOA, and one row per "
        "child")


def test_per_child_file_with_counts_names_the_layout(tmp_path):
    from optimiser.cases import read_council_cases

    path = tmp_path / "cases.csv"
    path.write_text("postcode,cin,cpp\nOX4 6AY,true,false\nOX4 6AZ,12,3\n")
    with pytest.raises(files.InputError) as err:
        read_council_cases(path, ["E01028513"], tmp_path, boundaries_loader=lambda: None)
    assert "row 3, column 'cin': '12' is a count" in str(err.value)
    assert "layout: one row per child" in str(err.value)


def test_locality_rows_for_another_council_are_counted_and_named(mirror, tmp_path):
    from optimiser import loaders
    from optimiser.localities import assign_localities

    utla = loaders.load_utla_lookup(mirror)
    ox = utla[utla["utla_name"] == "Oxfordshire"]["lsoa11cd"].head(3).tolist()
    bucks = utla[utla["utla_name"] == "Buckinghamshire"]["lsoa11cd"].head(2).tolist()
    areas = pd.DataFrame({"area_id": ox})
    path = tmp_path / "lookup.csv"
    path.write_text("lsoa11cd,locality\n" + "".join(f"{c},North\n" for c in ox + bucks))
    notes: list[str] = []
    got = assign_localities(areas, la_code="E10000025", la_name="Oxfordshire", lookup=path,
                            root=mirror, notes=notes)
    assert got.tolist() == ["North"] * 3
    assert notes == ["2 of the 5 rows of the locality lookup lookup.csv are not areas of "
                     "Oxfordshire (they are for Buckinghamshire (2 rows)) and were ignored"]
    path.write_text("lsoa11cd,locality\n" + "".join(f"{c},North\n" for c in bucks))
    with pytest.raises(files.InputError) as err:
        assign_localities(areas, la_code="E10000025", la_name="Oxfordshire", lookup=path,
                          root=mirror)
    assert ("none of the 2 rows of the locality lookup is for Oxfordshire (they are for "
            "Buckinghamshire (2 rows))") in str(err.value)


# ----------------------------------------------------------------------------- infeasibility


def _two_rule_county(tmp_path: Path) -> Path:
    """Three localities, each with its own sites; budgets below what both rules cost."""
    folder = tmp_path / "instance"
    folder.mkdir()
    inst = synthetic_instance(60, seed=5, n_localities=3)
    sites = inst.sites.copy()
    sites["locality"] = [inst.localities[j % 3] for j in range(len(sites))]
    sites["status"] = "candidate"  # no network to keep: the two rules alone set the cost
    inst.sites = sites
    write_instance(inst, folder)
    return folder


def test_budget_below_two_rules_together_names_both(tmp_path):
    from optimiser.scenario import load_scenario
    from optimiser.solve import solve_scenario

    _two_rule_county(tmp_path)
    scen = tmp_path / "s.yaml"
    scen.write_text("instance: instance\nbudget: 1\nreach: {model: coverage}\n"
                    "constraints: {site_per_locality: true, locality_min_reach: 0.3}\n")
    sol = solve_scenario(load_scenario(scen))
    assert sol.status == "infeasible"
    why = " ".join(sol.explanation)
    assert "the budget £1 is below the" in why
    assert "these requirements bind together: the locality floor " \
           "(constraints.locality_min_reach) alone would cost" in why
    assert "a site in every locality (constraints.site_per_locality) alone would cost" in why


def test_sweep_keeps_a_budget_with_no_plan_and_says_why(tmp_path):
    _two_rule_county(tmp_path)
    scen = tmp_path / "s.yaml"
    scen.write_text("instance: instance\nbudget: 1\nreach: {model: coverage}\n"
                    "constraints: {site_per_locality: true}\n")
    res = runner.invoke(app, ["sweep", str(scen), "--budgets", "1,5m", "--out",
                              str(tmp_path / "sweep")])
    assert res.exit_code == 0, res.output
    text = " ".join(res.output.split())
    assert "£ 0.00m: no plan, infeasible: the budget £1 is below the" in text
    table = pd.read_csv(tmp_path / "sweep" / "sweep.csv")
    assert table["budget"].tolist() == [1.0, 5e6]
    assert table["reason"].iloc[0].startswith("the budget £1 is below the")
    assert pd.isna(table["reason"].iloc[1]) and table["status"].iloc[1] == "optimal"
    assert "no plan at this budget" in (tmp_path / "sweep" / "sweep.svg").read_text()
    assert np.isnan(table["reach_share"].iloc[0])


def _cli_script(args: list[str], before: str = "") -> list[str]:
    """A python command running the CLI in a fresh process, after some set-up code."""
    return [sys.executable, "-c", before + "import sys\nfrom optimiser.cli import main\n"
            f"sys.argv = ['optimiser', *{[str(a) for a in args]!r}]\nmain()\n"]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}


def test_sigterm_while_writing_leaves_nothing(world, tmp_path):
    # 'kill' (SIGTERM) ends the run like Ctrl-C: the temporary folder goes with it.
    before = ("import os, signal\nimport optimiser.solution as s\n"
              "s.write_csv = lambda *a, **k: os.kill(os.getpid(), signal.SIGTERM)\n")
    proc = subprocess.run(_cli_script(["solve", world / "scenario.yaml", "--out",
                                       tmp_path / "out"], before), env=_env(),
                          capture_output=True, text=True)
    assert proc.returncode == 128 + 15, proc.stderr[-500:]
    assert "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["world"]


def test_two_runs_into_one_folder_leave_one_whole_output(world, tmp_path):
    out = tmp_path / "out"
    procs = [subprocess.Popen(_cli_script(["solve", world / name, "--out", out]), env=_env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name in ("scenario.yaml", "option-b.yaml")]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    for code, err in results:
        assert code in (0, 2) and "Traceback" not in err, err[-500:]
        if code == 2:
            assert "at the same time" in err or "optimiser did not write" in err, err
    assert any(code == 0 for code, _ in results)
    solution = json.loads((out / "solution.json").read_text())
    assert solution["scenario"] in ("scenario", "option b")
    assert {"areas.csv", "sites.csv", "localities.csv", OUTPUT_MARKER} <= {
        p.name for p in out.iterdir()}
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_council_sites_in_degrees_say_so(mirror, tmp_path):
    (tmp_path / "in").mkdir()
    sites = tmp_path / "in" / "sites.csv"
    sites.write_text("name,x,y,status,tier\nCentre A,-1.26,51.75,existing,hub\n"
                     "Centre B,451000,206000,existing,hub\n")
    text = refused(["prepare", "--la", "Oxfordshire", "--mirror", mirror, "--sites", sites,
                    "--out", tmp_path / "out"], tmp_path / "in",
                   "row 2: 1 site(s) are outside the local authority: row 2: Centre A "
                   "(-1.26, 51.75)", "look like longitude and latitude in degrees")
    assert "columns named longitude and latitude" in text


@pytest.mark.parametrize(("args", "expected"), [
    (["sweep", "{s}", "--budgets", "1m:2m:1000000000000"],
     "1,000,000,000,000 budgets is more than a sweep needs (at most 100)"),
    (["sweep", "{s}", "--budgets", "1m,abc"], "'abc' is not a budget"),
    (["allocate", "{i}", "--budget", "1m,2m"], "--budget '1m,2m' gives 2 amounts"),
    (["solve", "{w}"], "expected a scenario file, found a folder"),
    (["sensitivity", "{s}", "--weight-draws", "0"],
     "--weight-draws 0 is not a number of draws from 1 to 1,000"),
    (["compare", "{s}", "{s}", "--floor", "1.5"], "is not a share between 0 and 1"),
    (["report", "{s}"], "the solved folder"),
    (["report", "{i}"], "solution.json"),
])
def test_bad_command_line_values_are_refused(world, args, expected):
    paths = {"{s}": str(world / "scenario.yaml"), "{i}": str(world / "instance"),
             "{w}": str(world)}
    refused([paths.get(a, a) for a in args] + ["--out", str(world.parent / "out")], world,
            expected)


def test_two_separate_conflicts_are_named_together():
    # West's floor needs both its sites, 1 km apart under a 3 km separation; East's deprived
    # area needs s3 (£5) under a £4 budget. No one requirement removed makes a plan.
    from optimiser.model import FamilyCentreModel
    from optimiser.model.explain import explain_infeasible

    minutes = np.where(np.eye(4, dtype=bool), 5.0, np.inf)
    model = FamilyCentreModel.from_cost_matrix(
        minutes, demand=[1, 1, 1, 1], threshold=10, budget=4, annual_cost=[1, 1, 1, 5],
        imd_decile=[5, 5, 5, 1], reach_model="coverage",
        site_xy=[(0, 0), (1000, 0), (20000, 0), (21000, 0)], locality=["W", "W", "E", "E"],
        site_locality=["W", "W", "E", "E"], scenario={"constraints": {
            "locality_min_reach": 0.9, "min_separation_km": 3, "deprived_max_minutes": 25}})
    assert model.solve().status == "infeasible"
    assert explain_infeasible(model) == [
        "the budget cap (budget) and the locality floor (constraints.locality_min_reach) each "
        "block a plan: without either one alone the scenario is still infeasible, without both "
        "it is feasible; relax both, or the requirements each conflicts with"]


@pytest.mark.parametrize("draws, seed, words", [
    (100_000, 0, "--weight-draws 100000 is not a number of draws from 1 to 1,000"),
    (2, -5, "--seed -5 is negative"),
])
def test_sensitivity_refuses_draws_and_seeds_it_cannot_use(draws, seed, words):
    from optimiser.errors import InputError
    from optimiser.sensitivity import run_sensitivity

    with pytest.raises(InputError) as err:
        run_sensitivity("no-such-scenario.yaml", draws, "never-written", seed=seed)
    assert words in str(err.value)


def test_excel_cells_hold_names_with_control_characters():
    """A name pasted from Word (vertical tab) or with a NUL goes into the workbook as text."""
    from openpyxl import Workbook

    from optimiser.report.xlsx import _put

    ws = Workbook().active
    _put(ws, 1, 1, "Banbury\x0bCC")
    _put(ws, 2, 1, "Option \x00x", kind="count")
    assert [ws.cell(1, 1).value, ws.cell(2, 1).value] == ["Banbury CC", "Option  x"]


@pytest.mark.parametrize("command", ["solve", "sweep"])
def test_no_command_but_prepare_replaces_a_prepared_instance(world, command):
    """An instance 'prepare' wrote (marked as its output, with prepare.json) is not any other
    command's --out, even one that does not read it: hand edits may have gone into it."""
    from optimiser.files import OUTPUT_MARKER, check_output_dir

    other = world.parent / "prepared-elsewhere"
    other.mkdir()
    for name in (OUTPUT_MARKER, "prepare.json", "areas.csv"):
        (other / name).write_text("x\n")
    args = {"solve": ["solve", world / "scenario.yaml"],
            "sweep": ["sweep", world / "scenario.yaml", "--budgets", "1m,2m"]}[command]
    refused([*args, "--out", other], world,
            "holds a prepared instance (prepare.json); only 'optimiser prepare' replaces")
    with pytest.raises(Exception, match="only 'optimiser prepare' replaces an instance"):
        check_output_dir(other.resolve())
    check_output_dir(other.resolve(), instance=True)  # prepare may write it again


# ----------------------------------------------------------------------------- review round 2


def test_a_mistyped_option_is_one_line_not_a_box(world):
    text = refused(["report", world / "solved", "--out", world.parent / "pack", "--threshold",
                    "five"], world, "error: invalid value for '--threshold'",
                   "hint: see 'optimiser report --help' for what it takes")
    assert "╭" not in text and "Usage:" not in text


def test_options_are_named_as_options_not_columns(world):
    text = refused(["sweep", world / "scenario.yaml", "--budgets", "1m,lots", "--out",
                    world.parent / "out"], world, "error: option --budgets: 'lots' is not a budget")
    assert "column" not in text


@pytest.mark.parametrize(("args", "expected"), [
    (["--cap", "1e30"], "option --cap: £1e+30 is more than £10bn a year, more than any council"),
    (["--floor", "1m", "--cap", "lots"], "option --cap: 'lots' is not an amount of pounds"),
    (["--floor", "2e10"], "option --floor: £20,000,000,000 is more than £10bn"),
])
def test_allocate_refuses_amounts_beyond_any_council(world, args, expected):
    refused(["allocate", world / "instance", "--budget", "1m", *args, "--out",
             world.parent / "grants"], world, expected)
    refused(["allocate", world / "instance", "--budget", "1e30", "--out",
             world.parent / "grants"], world, "option --budget: budget £1e+30 is more than £10bn")


def test_sweep_says_when_a_budget_is_given_twice(world, tmp_path):
    res = runner.invoke(app, ["sweep", str(world / "scenario.yaml"), "--budgets", "1m,2m,1000000",
                              "--out", str(tmp_path / "sweep")])
    assert res.exit_code == 0, res.output
    assert "note: £1m was given twice: each budget is solved once" in res.output
    assert pd.read_csv(tmp_path / "sweep" / "sweep.csv")["budget"].tolist() == [1e6, 2e6]


@pytest.mark.parametrize("out", ["/proc/optimiser-out", "/sys/x", "/dev/optimiser-out"])
def test_out_in_a_system_folder_is_one_message(world, out):
    refused(["solve", world / "scenario.yaml", "--out", out], world,
            f"--out is inside /{out.split('/')[1]}, a folder of the operating system's")
    assert not Path(out).exists()


def test_prepare_and_demo_never_write_inside_the_data_mirror(world, monkeypatch):
    mirror = world / "mirror"
    (mirror / "imd2019").mkdir(parents=True)
    refused(["prepare", "--la", "Oxfordshire", "--mirror", mirror, "--out", mirror / "inst"],
            world, "--out is inside the data mirror (--mirror)",
            "which holds official data optimiser only reads")
    monkeypatch.setenv("OPTIMISER_DATA_MIRROR", str(mirror))
    refused(["prepare", "--la", "Oxfordshire", "--out", mirror / "imd2019" / "inst"], world,
            "--out is inside the data mirror ($OPTIMISER_DATA_MIRROR)")
    refused(["demo", "--out", mirror / "demo"], world, "--out is inside the data mirror")


# ------------------------------------------------------------------- council files, round 2


def _cases(tmp_path: Path, text: str) -> str:
    from optimiser.cases import read_council_cases

    path = tmp_path / "cases.csv"
    path.write_text(text)
    with pytest.raises(files.InputError) as err:
        read_council_cases(path, ["E01028513"], tmp_path, boundaries_loader=lambda: None)
    return str(err.value)


def test_cases_with_more_children_on_plans_than_in_need_are_refused(tmp_path):
    text = _cases(tmp_path, "lsoa11cd,cin,cpp\nE01028513,4,3\nE01028514,2,9\n")
    assert text.startswith(f"{tmp_path / 'cases.csv'}, row 3, column 'cpp': 9 children on "
                           "protection plans but 2 children in need")
    assert "check whether the two columns are swapped" in text
    # CIN and CPP in capitals are the same columns
    text = _cases(tmp_path, "lsoa11cd,CIN,CPP\nE01028513,4,9\n")
    assert "row 2, column 'cpp': 9 children on protection plans but 4 children in need" in text


def test_cases_with_a_county_sized_count_in_one_lsoa_are_refused(tmp_path):
    text = _cases(tmp_path, "lsoa11cd,cin,cpp\nE01028513,1000000000000,3\n")
    assert "row 2, column 'cin': value 1e+12 is more than 10,000, too large to be real" in text


@pytest.fixture(scope="module")
def oxon_areas(mirror, oxon):
    from optimiser.geography import load_boundaries
    from optimiser.prepare import build_areas

    areas = build_areas(mirror, oxon)
    areas["locality"] = areas["lad_name"]
    return areas, load_boundaries(oxon.lsoas)


def _sites(tmp_path: Path, oxon_areas, text: str):
    from optimiser.sites import read_council_sites

    path = tmp_path / "sites.csv"
    path.write_text(text)
    areas, bounds = oxon_areas
    return read_council_sites(path, areas, lambda: bounds)


def test_swapped_latitude_and_longitude_are_named(tmp_path, oxon_areas):
    with pytest.raises(files.InputError) as err:
        _sites(tmp_path, oxon_areas, "name,status,tier,latitude,longitude\n"
               "A,candidate,hub,51.75,-1.26\nB,candidate,hub,-1.25,51.76\n"
               "C,candidate,hub,-1.27,51.74\n")
    assert str(err.value) == (
        f"{tmp_path / 'sites.csv'}, row 3, column 'latitude': latitude -1.25 and longitude 51.76 "
        "look swapped (2 row(s) like this)\n  hint: in England latitude is about 50-56 and "
        "longitude about -6 to 2: swap the two columns' headers, then save again")


def test_council_sites_read_nan_and_null_as_blank_but_not_excel_errors(tmp_path, oxon_areas):
    from optimiser.sites import DEFAULT_COSTS

    head = "name,x,y,status,tier,capacity,annual_cost\n"
    sites, info = _sites(tmp_path, oxon_areas, head + "A,455022,203206,existing,hub,nan,NULL\n"
                         "B,455022,203206,existing,hub,N/A,\n")
    assert sites["annual_cost"].tolist() == [DEFAULT_COSTS.hub_annual] * 2
    assert info["defaults_filled"]["capacity"] == 2
    with pytest.raises(files.InputError) as err:
        _sites(tmp_path, oxon_areas, head + "A,455022,203206,existing,hub,#N/A,\n")
    assert str(err.value).startswith(
        f"{tmp_path / 'sites.csv'}, row 2, column 'capacity': '#N/A' is an Excel error value (a "
        "formula that failed), not a number")


def test_council_sites_given_twice_are_refused(tmp_path, oxon_areas):
    with pytest.raises(files.InputError) as err:
        _sites(tmp_path, oxon_areas, "name,x,y,status,tier\nA,455022,203206,existing,hub\n"
               "B,451000,206000,existing,hub\n a ,455022,203206,existing,hub\n")
    assert "row 4, column 'name': site 'a' is in the file twice (row 2 has the same name and " \
        "location)" in str(err.value)


@pytest.mark.parametrize(("header", "row", "read_as"), [
    ("Name,Easting,Northing,Status,Tier", "A,455022,203206,existing,hub",
     {"Easting": "x", "Northing": "y"}),
    ("name,lat,long,status,tier", "A,51.75,-1.26,existing,hub",
     {"lat": "latitude", "long": "longitude"}),
    ("Site Name,Latitude,Lng,status,tier", "A,51.75,-1.26,existing,hub",
     {"Site Name": "name", "Lng": "longitude"}),
])
def test_council_sites_headers_easting_northing_and_lat_long(tmp_path, oxon_areas, header, row,
                                                             read_as):
    sites, info = _sites(tmp_path, oxon_areas, f"{header}\n{row}\n")
    assert info["columns_read_as"] == read_as
    assert 450_000 < sites["x"].iloc[0] < 456_000 and 203_000 < sites["y"].iloc[0] < 207_000


def _read_error(path: Path, content: bytes | str, **kw) -> str:
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_bytes(content)
    with pytest.raises(files.InputError) as err:
        files.read_table(path, required=["name", "status", "tier"], what="sites file", **kw)
    return str(err.value)


@pytest.mark.parametrize(("name", "content", "expected"), [
    ("u16.csv", "name,status,tier\nA,existing,hub\n".encode("utf-16"),
     "the sites file is UTF-16 text (Excel's 'Unicode Text', or PowerShell's default), not CSV "
     "text\n  hint: save it as 'CSV UTF-8'"),
    ("u16be.csv", "name,status,tier\nA,existing,hub\n".encode("utf-16-be"), "UTF-16 text"),
    ("old.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
     "the sites file is an old Excel workbook (.xls), which optimiser does not read\n  hint: "
     "open it and save it as an Excel Workbook (.xlsx) or as CSV UTF-8"),
    ("renamed.csv", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512),
     "the sites file is an old Excel workbook (.xls), not CSV text"),
    ("book.csv", b"PK\x03\x04" + bytes(100),
     "an Excel workbook (.xlsx) under another name, not CSV text\n  hint: save it from Excel "
     "as CSV UTF-8"),
    ("latin.csv", "name,status,tier\nCaf\xe9,existing,hub\n".encode("latin-1"),
     "not UTF-8 text (byte 20, on line 2, cannot be read)"),
    ("quote.csv", 'name,status,tier\n"Banbury, North,existing,hub\nB,existing,hub\n',
     'row 2: a double quote (") opened on line 2 is not closed on that line, so lines 2 to 3 '
     'are read as one cell'),
    ("merged.csv", 'name,status,tier\n"A, centre,existing,hub\n"B",existing,hub\n',
     "lines 2 to 3 are read as one cell"),
    ("comma.csv", "name,status,tier\nBanbury, North,existing,hub\n",
     "row 2: line 2 has 4 comma-separated values but the header has 3"),
    ("title.csv", "Family centres 2025,,\n,,\nname,status,tier\nA,existing,hub\n",
     "row 1: row 1 is not the header: the columns name, status, tier are on row 3\n  hint: "
     "delete the 2 row(s) above the header"),
])
def test_files_that_are_not_plain_csv_say_what_they_are(tmp_path, name, content, expected):
    text = _read_error(tmp_path / name, content)
    assert expected in text, text


def test_a_workbook_with_a_title_above_its_header_names_the_header_row(tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    for row in (["Oxfordshire family centres"], [], ["Name", "Status", "Tier"],
                ["A", "existing", "hub"]):
        book.active.append(row)
    book.save(tmp_path / "sites.xlsx")
    with pytest.raises(files.InputError) as err:
        files.read_table(tmp_path / "sites.xlsx", required=["name", "status", "tier"],
                         aliases={"name": [], "status": [], "tier": []})
    assert str(err.value).startswith(f"{tmp_path / 'sites.xlsx'}, row 1: row 1 is not the "
                                     "header: the columns name, status, tier are on row 3")


def test_trailing_commas_on_every_row_do_not_shift_the_columns(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("name,n\nA,1,\nB,2,\n")
    table = files.read_table(path, required=["name", "n"], numeric=["n"])
    assert table["name"].tolist() == ["A", "B"] and table["n"].tolist() == [1, 2]


def test_a_scenario_in_utf16_says_so(world):
    scen = world / "u16.yaml"
    scen.write_bytes(SCENARIO.encode("utf-16"))
    refused(["solve", scen, "--out", world.parent / "out"], world,
            "the scenario file is UTF-16 text", "save it as UTF-8")


@pytest.fixture(scope="module")
def vintage_codes(mirror):
    """LSOA codes of Oxfordshire in both vintages, only 2011, and only 2021."""
    from optimiser import loaders

    lookup = loaders.load_lsoa11_to_21(mirror)
    ox = set(loaders.load_utla_lookup(mirror).query("utla_name == 'Oxfordshire'")["lsoa11cd"])
    rows = lookup[lookup["lsoa11cd"].isin(ox)]
    both = sorted(set(rows["lsoa11cd"]) & set(rows["lsoa21cd"]))
    only21 = sorted(set(rows["lsoa21cd"]) - set(lookup["lsoa11cd"]))
    return both, only21


@pytest.mark.parametrize("header", ["lsoa21cd", "LSOA21CD"])
def test_cases_on_lsoa21_codes_with_the_2019_vintage_name_the_vintage(tmp_path, mirror,
                                                                      vintage_codes, header):
    from optimiser.cases import read_council_cases

    both, only21 = vintage_codes
    path = tmp_path / "cases.csv"
    path.write_text(f"{header},cin,cpp\n" + "".join(f"{c},3,1\n" for c in both[:2] + only21[:1]))
    with pytest.raises(files.InputError) as err:
        read_council_cases(path, both, mirror, boundaries_loader=lambda: None, vintage="2019")
    text = str(err.value)
    assert f"row 4, column '{header}': 1 of 3 LSOA codes are LSOA 2021 codes" in text
    assert "hint: this run uses --vintage 2019 (IMD 2019 and the ONS mid-2019 population " \
        "estimates, on LSOA 2011 codes); prepare with --vintage 2025 (the default" in text
    # the same header with codes of both vintages is read: the codes decide, not the header
    path.write_text(f"{header},cin,cpp\n" + "".join(f"{c},3,1\n" for c in both[:2]))
    got = read_council_cases(path, both, mirror, boundaries_loader=lambda: None,
                             vintage="2019")
    assert got.counts.set_index("area_id").loc[both[:2], "cin"].tolist() == [3, 3]


def test_cases_on_the_2025_vintage_read_an_lsoa21cd_column(tmp_path, mirror, vintage_codes):
    from optimiser.cases import read_council_cases

    both, only21 = vintage_codes
    path = tmp_path / "cases.csv"
    path.write_text("lsoa21cd,cin,cpp\n" + "".join(f"{c},3,1\n" for c in only21[:2]))
    got = read_council_cases(path, both + only21, mirror, boundaries_loader=lambda: None,
                             vintage="2025")
    assert got.counts.set_index("area_id").loc[only21[:2], "cpp"].tolist() == [1, 1]


# ----------------------------------------------------------------------------- notebook API


def test_notebook_solve_takes_an_instance_folder_and_refuses_anything_else(world):
    import optimiser as opt

    plan = opt.solve(world / "instance", {"budget": 2_000_000})
    assert plan.status == "optimal" and len(plan.areas) == 60
    plan_str = opt.solve(str(world / "instance"), {"budget": 2_000_000})
    assert plan_str.areas["reach_share"].tolist() == plan.areas["reach_share"].tolist()
    with pytest.raises(OptimiserError) as err:
        opt.solve(world / "solved", {"budget": 2_000_000})
    assert str(err.value).startswith(f"{world / 'solved'}: this folder is a solved folder")
    with pytest.raises(OptimiserError, match="the instance must be an Instance "
                       r"\(from opt.prepare\) or an instance folder, not int"):
        opt.solve(42, {"budget": 2_000_000})
    with pytest.raises(OptimiserError, match="report takes a Plan"):
        opt.report("solved", world.parent / "pack")


def test_notebook_names_an_edited_table_not_a_temporary_file(world):
    import optimiser as opt

    inst = opt.solve(world / "instance", {"budget": 2_000_000}).instance
    inst.areas.loc[3, "need"] = 1e300
    with pytest.raises(files.InputError) as err:
        opt.solve(inst, {"budget": 2_000_000})
    assert str(err.value).startswith("the instance's areas table, row 5, column 'need': value "
                                     "1e+300 is more than 1,000")
    assert "row 5 is the DataFrame's .iloc[3]" in str(err.value)
    assert "optimiser-instance-" not in str(err.value)


def test_notebook_names_a_sites_dataframe_not_a_temporary_file(mirror):
    import optimiser as opt

    sites = pd.DataFrame({"name": ["A", "B"], "x": [455022, "lots"], "y": [203206, 206000],
                          "status": ["existing"] * 2, "tier": ["hub"] * 2})
    with pytest.raises(files.InputError) as err:
        opt.prepare("Oxfordshire", sites=sites, mirror=mirror)
    assert str(err.value).startswith("the sites DataFrame you passed, row 3, column 'x': 'lots' "
                                     "is not a number")
    assert "optimiser-prepare-" not in str(err.value)


def test_out_with_a_name_too_long_is_one_message(world):
    refused(["solve", world / "scenario.yaml", "--out", world.parent / ("x" * 300)], world,
            "a file or folder name is too long")


def test_out_through_a_symlink_loop_is_one_message(world):
    loop = world.parent / "loop"
    loop.symlink_to(loop)
    refused(["solve", world / "scenario.yaml", "--out", loop / "out"], world,
            "a symbolic link in the path points back to itself")


def test_a_locality_lookup_with_a_title_above_its_header_names_the_header_row(tmp_path):
    from optimiser.localities import read_locality_lookup

    path = tmp_path / "lookup.csv"
    path.write_text("Oxfordshire localities,\n,\nlsoa11cd,locality\nE01028513,Banbury\n")
    with pytest.raises(files.InputError) as err:
        read_locality_lookup(path)
    assert str(err.value).startswith(f"{path}, row 1: row 1 is not the header: the column "
                                     "locality is on row 3")
