"""The planners' scripts in scripts/: each runs with --help and with a small real run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ["oxfordshire_options.py", "budget_sweep.py", "luton_hub_and_spoke.py",
           "calibrate_travel.py", "oxfordshire_four_years.py", "lincolnshire_savings_profile.py"]


def _run(args: list[str], mirror: Path, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "OPTIMISER_DATA_MIRROR": str(mirror), "PYTHONWARNINGS": "ignore"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_has_how_to_run_and_help(script, mirror, tmp_path):
    text = (REPO / "scripts" / script).read_text()
    assert "How to run" in text
    assert f"scripts/{script}" in text  # the documented command names the script
    done = _run([str(REPO / "scripts" / script), "--help"], mirror, tmp_path)
    assert done.returncode == 0, done.stderr
    assert "--out" in done.stdout


@pytest.fixture(scope="module")
def oxford_instance(prepared, tmp_path_factory):
    from optimiser.demo import costed_instance

    return costed_instance(prepared("Oxfordshire", "0-19"),
                           tmp_path_factory.mktemp("scripts") / "instance")


@pytest.mark.slow
def test_oxfordshire_options_script(oxford_instance, mirror, tmp_path):
    done = _run([str(REPO / "scripts" / "oxfordshire_options.py"), "--instance",
                 str(oxford_instance), "--out", "opts"], mirror, tmp_path)
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "opts" / "comparison" / "compare.csv")
    assert table["option"].tolist() == ["option-a-eight-centres",
                                        "option-b-eight-centres-universal",
                                        "option-c-six-centres-grants"]
    assert table["extra_funding"].tolist() == [0, 1_500_000, 1_000_000]
    assert table["envelope"].tolist() == [10_000_000] * 3
    grants = pd.read_csv(tmp_path / "opts" / "grants_allocation.csv")
    assert grants["allocation"].sum() == 1_000_000
    assert "3 options compared" in done.stdout


@pytest.mark.slow
def test_budget_sweep_script(oxford_instance, mirror, tmp_path):
    done = _run([str(REPO / "scripts" / "budget_sweep.py"), "--instance", str(oxford_instance),
                 "--budgets", "6m,8m,10m,12m", "--out", "sw"], mirror, tmp_path)
    assert done.returncode == 0, done.stderr
    sweep = pd.read_csv(tmp_path / "sw" / "sweep" / "sweep.csv")
    losses = pd.read_csv(tmp_path / "sw" / "sweep" / "losses.csv")
    assert sweep["budget"].tolist() == [6e6, 8e6, 10e6, 12e6]
    assert losses["from_budget"].tolist() == [12e6, 10e6, 8e6]
    assert (losses["need_reached_lost"] >= -0.1).all()
    assert losses["need_reached_lost"].sum() == pytest.approx(
        sweep["need_reached"].iloc[-1] - sweep["need_reached"].iloc[0], abs=0.5)
    assert "£12.0m -> £10.0m saves £2.0m" in done.stdout


@pytest.mark.slow
def test_luton_hub_and_spoke_script(mirror, tmp_path):
    done = _run([str(REPO / "scripts" / "luton_hub_and_spoke.py"), "--out", "luton"], mirror,
                tmp_path)
    assert done.returncode == 0, done.stderr
    sites = pd.read_csv(tmp_path / "luton" / "solved" / "sites.csv")
    open_ = sites[sites["open"]]
    assert open_["annual_cost"].sum() <= 3_450_000
    hubs = open_[open_["tier"] == "hub"]
    spokes = open_[open_["tier"] == "spoke"]
    assert len(hubs) >= 1
    # The hub-and-spoke rule: every open spoke has an open hub within 3 km.
    for spoke in spokes.itertuples():
        dist = ((hubs["x"] - spoke.x) ** 2 + (hubs["y"] - spoke.y) ** 2) ** 0.5
        assert dist.min() <= 3000 + 1e-6
    assert "hub " in done.stdout


def test_script_reports_a_bad_scenario_as_one_error(mirror, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("instance: nowhere/\nbudgett: 5\n")
    done = _run([str(REPO / "scripts" / "budget_sweep.py"), "--scenario", str(bad),
                 "--out", "x"], mirror, tmp_path)
    assert done.returncode == 2
    assert "error:" in done.stderr and "budgett" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.slow
@pytest.mark.parametrize("script, budgets", [
    ("oxfordshire_four_years.py", [16e6, 14e6, 12e6, 10e6]),
    ("lincolnshire_savings_profile.py",
     [15_950_000 * (1 - s) for s in np.cumsum([0.11353, 0.09542, 0.01517, 0.00588])]),
])
def test_multi_year_scripts(script, budgets, mirror, tmp_path):
    """Each year's spend (running, workers, one-off costs falling that year, costed here from
    schedule.csv and the sites' costs) is within that year's budget."""
    done = _run([str(REPO / "scripts" / script), "--out", "yrs", "--gap", "0.05"], mirror,
                tmp_path)
    assert done.returncode == 0, done.stderr
    solved = tmp_path / "yrs" / "solved"
    years = pd.read_csv(solved / "years.csv")
    schedule = pd.read_csv(solved / "schedule.csv")
    sites = pd.read_csv(solved / "sites.csv").set_index("site_id").loc[schedule["site_id"]]
    assert years["year"].tolist() == [2026, 2027, 2028, 2029]
    assert years["budget"].to_numpy() == pytest.approx(budgets)
    state = schedule[[f"open_{y}" for y in years["year"]]].to_numpy(bool)
    before = schedule["status"].eq("existing").to_numpy()
    scenario = yaml.safe_load((tmp_path / "yrs" / "scenarios" / script.replace(
        ".py", ".yaml").replace("oxfordshire_", "").replace("lincolnshire_", "")).read_text())
    worker_cost = scenario["outreach"]["cost_per_worker"]
    for t, row in years.iterrows():
        opened, closed = state[:, t] & ~before, ~state[:, t] & before
        spend = (sites["annual_cost"].to_numpy() @ state[:, t]
                 + sites["setup_cost"].to_numpy() @ opened
                 + sites["closure_cost"].to_numpy() @ closed
                 + worker_cost * row["outreach_workers"])
        assert spend == pytest.approx(row["annual_cost"], abs=0.5)
        assert spend <= row["budget"] + 1e-6
        before = state[:, t]
    # Growth: more children each year (the ONS trend for both counties rises).
    assert years["children_factor"].is_monotonic_increasing
    # A centre opened in the plan stays open; today's centres never reopen.
    new = schedule["status"].eq("candidate").to_numpy()
    assert (np.diff(state[new].astype(int), axis=1) >= 0).all()
    assert (np.diff(state[~new].astype(int), axis=1) <= 0).all()
    assert "2029:" in done.stdout
    by_loc = pd.read_csv(solved / "localities_years.csv")
    for row in years.itertuples():
        year = by_loc[by_loc["year"] == row.year]
        assert year["outreach_workers"].sum() == row.outreach_workers
        assert year["sites"].sum() == row.sites_open
        assert year["children_served"].sum() <= row.children_served + 1e-6
    # Per area and year: every area each year, adding up to the year; the last year's change
    # against today is areas.csv's.
    by_area = pd.read_csv(solved / "areas_years.csv", dtype={"area_id": str})
    areas = pd.read_csv(solved / "areas.csv", dtype={"area_id": str})
    for row in years.itertuples():
        year = by_area[by_area["year"] == row.year]
        assert year["area_id"].tolist() == areas["area_id"].tolist()
        assert year["children_served"].sum() == pytest.approx(
            row.children_served, abs=0.005 * len(year) + 0.01)
    assert year["change"].tolist() == areas["change"].tolist()
    summary = json.loads((solved / "solution.json").read_text())
    assert [y["year"] for y in summary["years"]] == [2026, 2027, 2028, 2029]
    for entry, row in zip(summary["years"], years.itertuples(), strict=True):
        assert {"year", "budget", "annual_cost", "open_sites", "reach_share"} <= set(entry)
        assert entry["annual_cost"] == row.annual_cost
        assert len(entry["open_sites"]) == row.sites_open
