"""The notebook API (``import optimiser as opt``), tested by running the README's example as it
is written there, then against the command line on the same inputs."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

import optimiser as opt
from optimiser.cli import app
from optimiser.errors import InputError, OptimiserError

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_example() -> str:
    text = README.read_text(encoding="utf-8")
    section = text.split("## In a notebook", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.fixture(scope="module")
def notebook(mirror: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """The README example run in an empty folder; its namespace and the folder."""
    folder = tmp_path_factory.mktemp("notebook")
    here = Path.cwd()
    mp = pytest.MonkeyPatch()
    mp.setenv("OPTIMISER_DATA_MIRROR", str(mirror))
    try:
        os.chdir(folder)
        namespace: dict = {}
        exec(compile(readme_example(), "README.md (In a notebook)", "exec"), namespace)
    finally:
        os.chdir(here)
        mp.undo()
    return namespace, folder


def test_readme_example_runs_with_frames_in_and_out(notebook) -> None:
    ns, folder = notebook
    inst, plan, gdf = ns["inst"], ns["plan"], ns["gdf"]
    assert isinstance(inst.areas, pd.DataFrame) and len(inst.areas) == 429  # LSOA 2021
    assert inst.folder is None and inst.metadata["la"]["name"] == "Oxfordshire"
    assert plan.status == "optimal"
    assert isinstance(plan.areas, pd.DataFrame) and len(plan.areas) == 429
    assert isinstance(plan.sites, pd.DataFrame) and plan.sites["open"].any()
    assert plan.title == "Oxfordshire: Option A" and plan.modelled_cases is True
    assert "vintage2025/iod2025/imd2025_england_lsoa21.csv" in {s["file"] for s in plan.sources}
    assert gdf.crs.to_epsg() == 27700 and len(gdf) == 429
    assert set(gdf["area_id"]) == set(plan.areas["area_id"])
    # No folders unless asked: only the pack (and its internal tables beside it).
    assert sorted(p.name for p in folder.iterdir()) == ["pack", "pack-internal"]
    index = (folder / "pack" / "index.html").read_text(encoding="utf-8")
    assert "<title>Oxfordshire: family centres consultation" in index
    assert "the county" not in index.split("</title>")[0]
    assert "(modelled)" in index  # the modelled-data flag travelled with the instance
    assert (folder / "pack" / "plan.gpkg").is_file()


def test_the_notebook_and_the_command_line_agree(notebook, prepared, tmp_path: Path) -> None:
    ns, _folder = notebook
    plan = ns["plan"]
    # The same instance as 'optimiser prepare' writes ...
    inst_dir = prepared(la="Oxfordshire", age_group="0-19", vintage="2025")
    for table in ("areas", "sites"):
        cli = pd.read_csv(inst_dir / f"{table}.csv", dtype={"area_id": str, "site_id": str})
        nb = getattr(ns["inst"], table)
        assert cli.shape == nb.shape
        pd.testing.assert_frame_equal(cli.reset_index(drop=True), nb.reset_index(drop=True),
                                      check_dtype=False)
    # ... and the same solution as 'optimiser solve'.
    scen = tmp_path / "option-a.yaml"
    scen.write_text(f"name: Option A\ninstance: {inst_dir}\nbudget: 9000000\n")
    res = CliRunner().invoke(app, ["solve", str(scen), "--out", str(tmp_path / "cli")])
    assert res.exit_code == 0, res.output
    written = plan.write(tmp_path / "nb")
    for name in ("areas.csv", "sites.csv", "localities.csv"):
        assert (written / name).read_bytes() == (tmp_path / "cli" / name).read_bytes(), name
    a, b = (json.loads((tmp_path / d / "solution.json").read_text()) for d in ("cli", "nb"))
    assert a["totals"] == b["totals"] and a["open_sites"] == b["open_sites"]
    assert (written / "plan.gpkg").is_file()
    # The instance built in memory is written beside the solved folder it was solved on.
    assert b["instance"] == str((tmp_path / "nb-instance").resolve())
    prep = json.loads((tmp_path / "nb-instance" / "prepare.json").read_text())
    assert prep["la"]["name"] == "Oxfordshire"


def test_frames_in_give_the_files_messages(mirror: Path) -> None:
    sites = pd.DataFrame({"name": ["Alpha", "Beta"], "x": [451000, 452000],
                          "y": [206000, 207000], "status": ["existing", "existing"],
                          "tier": ["hub", "hbu"]})
    with pytest.raises(InputError) as exc:
        opt.prepare("Oxfordshire", mirror=mirror, sites=sites)
    assert (exc.value.row, exc.value.column) == (3, "tier")
    assert exc.value.file == "the sites DataFrame you passed"  # not a temporary file's name
    with pytest.raises(OptimiserError, match="sites must be a file path or a pandas DataFrame"):
        opt.prepare("Oxfordshire", mirror=mirror, sites=[1, 2])


def test_solve_errors_and_plans_without_a_solution(notebook) -> None:
    ns, _folder = notebook
    inst = ns["inst"]
    with pytest.raises(OptimiserError, match="budget"):
        opt.solve(inst, {"budget": "lots"})
    plan = opt.solve(inst, {"budget": 1000, "constraints": {"site_per_locality": True}})
    assert plan.status == "infeasible"
    with pytest.raises(OptimiserError, match="the scenario has no plan"):
        _ = plan.areas
    with pytest.raises(OptimiserError, match="there is no layer 'roads'"):
        ns["plan"].to_geodataframe("roads")
