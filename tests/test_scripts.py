"""The planners' scripts in scripts/: each runs with --help and with a small real run."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = ["oxfordshire_options.py", "budget_sweep.py", "luton_hub_and_spoke.py",
           "calibrate_travel.py"]


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
    assert table["extra_funding"].tolist() == [0, 0, 1_000_000]
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
