"""Budget sweep: one solve per budget, a monotone frontier, the knee, the files."""

from __future__ import annotations

import json
import time

import numpy as np
import pandas as pd
import pytest
from synthetic import best_cover_by_enumeration, write_instance, write_scenario

from optimiser.errors import InputError, ScenarioError
from optimiser.scenario import load_scenario
from optimiser.sweep import (
    enforce_monotone,
    knee_index,
    parse_budgets,
    run_sweep,
    sweep_scenario,
)


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sweep")
    facts = write_instance(folder / "instance")
    path = write_scenario(folder / "small.yaml", folder / "instance")
    return folder, facts, path


def test_parse_budgets_forms_and_errors():
    assert parse_budgets("6e6,8e6,10e6") == [6e6, 8e6, 10e6]
    assert parse_budgets("10m, 500k, £2,000,000".replace(", £2,000,000", "")) == [5e5, 1e7]
    assert parse_budgets("4m:16m:7") == [4e6, 6e6, 8e6, 10e6, 12e6, 14e6, 16e6]
    assert parse_budgets("8m,8m,6m") == [6e6, 8e6]
    with pytest.raises(InputError, match="'ten' is not a budget"):
        parse_budgets("ten")
    with pytest.raises(InputError, match="not an amount of 0 or more"):
        parse_budgets("-1")
    with pytest.raises(InputError, match="no budgets"):
        parse_budgets(" , ")


def test_knee_is_the_point_farthest_above_the_chord():
    assert knee_index([1, 2, 3, 4, 5], [0.1, 0.6, 0.7, 0.75, 0.8]) == 1
    assert knee_index([1, 2, 3], [0.1, 0.2, 0.3]) is None  # a straight line has no knee
    assert knee_index([1, 2], [0.1, 0.9]) is None
    assert knee_index([1, 2, 3, 4], [0.1, 0.15, 0.2, 0.9]) is None  # convex: no knee


def test_enforce_monotone_carries_the_better_smaller_budget_plan_forward():
    rows = [
        {"budget": 1.0, "need_reached": 10.0, "status": "optimal", "reach_share": 0.1},
        {"budget": 2.0, "need_reached": 8.0, "status": "time_limit", "reach_share": 0.08},
        {"budget": 3.0, "need_reached": 12.0, "status": "optimal", "reach_share": 0.12},
    ]
    out = enforce_monotone(rows)
    assert [r["need_reached"] for r in out] == [10.0, 10.0, 12.0]
    assert out[1]["budget"] == 2.0 and out[1]["plan_from_budget"] == 1.0
    assert out[1]["status"] == "feasible"


def test_sweep_matches_exhaustive_enumeration_at_every_budget(synthetic):
    _, facts, path = synthetic
    budgets = [0, 250_000, 500_000, 700_000, 900_000, 1_200_000, 1_600_000, 3_500_000]
    table, plans = sweep_scenario(load_scenario(path), budgets, progress=False)
    assert table["budget"].tolist() == budgets
    assert (table["status"] == "optimal").all()
    for row, plan in zip(table.itertuples(), plans, strict=True):
        best = best_cover_by_enumeration(facts["demand"], facts["reach"], facts["cost"],
                                         row.budget)
        assert row.need_reached == pytest.approx(best, rel=1e-6, abs=1e-6)
        assert row.annual_cost <= row.budget + 1e-6
        assert len(plan) == row.sites
    reach = table["need_reached"].to_numpy()
    assert (np.diff(reach) >= -1e-6 * table["need_total"].iloc[0]).all()
    assert table["knee"].sum() <= 1


def test_run_sweep_writes_table_chart_and_summary(synthetic, tmp_path, dask_scheduler):
    folder, _, path = synthetic
    summary = run_sweep(path, "0.3m,0.6m,0.9m,1.2m,2m", tmp_path / "out", progress=False,
                        scheduler=dask_scheduler)
    out = tmp_path / "out"
    for name in ("sweep.csv", "sweep.png", "sweep.svg", "sweep.json"):
        assert (out / name).is_file(), name
    table = pd.read_csv(out / "sweep.csv")
    assert table.columns.tolist()[:3] == ["budget", "reach_share", "reach_share_deciles_1_2"]
    assert len(table) == 5
    assert (np.diff(table["reach_share"]) >= -1e-6).all()
    assert "5 budgets solved" in summary
    # Whose sweep it is: a report refuses another instance's (test_report_pack).
    made = json.loads((out / "sweep.json").read_text())["instance"]
    assert made == str((folder / "instance").resolve())
    # Same inputs, same bytes: here on two Dask workers, again in this process (one worker).
    run_sweep(path, "0.3m,0.6m,0.9m,1.2m,2m", tmp_path / "again", progress=False, workers=1)
    for name in ("sweep.csv", "sweep.svg", "sweep.png"):
        assert (out / name).read_bytes() == (tmp_path / "again" / name).read_bytes(), name


def test_sweep_needs_a_budget_objective(synthetic, tmp_path):
    folder, _, _ = synthetic
    path = write_scenario(tmp_path / "mc.yaml", folder / "instance", objective="min_cost",
                          target_reach=0.5, budget=None)
    with pytest.raises(ScenarioError, match=r"key 'objective'.*budget objective"):
        sweep_scenario(load_scenario(path), [1e6], progress=False)


@pytest.mark.slow
def test_oxfordshire_ten_budget_sweep_is_monotone(prepared, tmp_path):
    """The acceptance sweep: 10 budgets on Oxfordshire (timing printed, not asserted)."""
    from optimiser.demo import costed_instance, scenario_copy

    instance_dir = costed_instance(prepared("Oxfordshire", "0-19"), tmp_path / "instance")
    scenario = load_scenario(scenario_copy("base.yaml", instance_dir, tmp_path / "scenarios"))
    budgets = parse_budgets("4m,5m,6m,7m,8m,9m,10m,12m,14m,16m")
    start = time.perf_counter()
    table, _ = sweep_scenario(scenario, budgets, progress=False)
    seconds = time.perf_counter() - start
    print(f"\nOxfordshire 10-budget sweep: {seconds:.1f} s")
    print(table[["budget", "reach_share", "sites", "outreach_workers", "status"]].to_string())
    assert len(table) == 10
    assert table["status"].isin(["optimal", "feasible"]).all()
    assert (np.diff(table["need_reached"]) >= -1e-6 * table["need_total"].iloc[0]).all()
    assert (table["annual_cost"] <= table["budget"] + 1).all()
    assert table["knee"].sum() == 1


def test_cli_sweep_runs_and_reports_bad_budgets_as_one_error(synthetic, tmp_path,
                                                            dask_scheduler):
    from typer.testing import CliRunner

    from optimiser.cli import app

    _, _, path = synthetic
    runner = CliRunner()
    ok = runner.invoke(app, ["sweep", str(path), "--budgets", "0.5m:1.5m:3", "--out",
                             str(tmp_path / "cli"), "--scheduler", dask_scheduler])
    assert ok.exit_code == 0, ok.output
    assert len(pd.read_csv(tmp_path / "cli" / "sweep.csv")) == 3
    kept = runner.invoke(app, ["sweep", str(path), "--budgets", "0.5m,1m,1.5m", "--keep-solved",
                               "--out", str(tmp_path / "kept"), "--scheduler", dask_scheduler])
    assert kept.exit_code == 0, kept.output
    sweep = pd.read_csv(tmp_path / "kept" / "sweep.csv")
    for row in sweep.itertuples():
        solution = json.loads((tmp_path / "kept" / "budgets" / f"budget_{row.budget:.0f}"
                               / "solution.json").read_text())
        assert solution["settings"]["budget"] == row.budget
        assert solution["totals"]["need_reached"] == pytest.approx(row.need_reached, abs=0.1)
        assert len(solution["open_sites"]) == row.sites
    bad = runner.invoke(app, ["sweep", str(path), "--budgets", "1m,lots", "--out",
                              str(tmp_path / "bad")])
    assert bad.exit_code == 2
    assert "'lots' is not a budget" in bad.output
    assert not (tmp_path / "bad").exists()


def test_sweep_is_the_same_on_one_and_two_workers_with_solved_folders(synthetic, tmp_path,
                                                                    dask_scheduler):
    """Budgets solved in chunks on two Dask workers, or here: the same table, plans and
    solved folders (written here, from what the workers send back)."""
    _, _, path = synthetic
    scenario = load_scenario(path)
    budgets = [0.3e6, 0.5e6, 0.7e6, 0.9e6, 1.2e6]
    here, plans_here = sweep_scenario(scenario, budgets, progress=False,
                                      solved_dir=tmp_path / "one")
    there, plans_there = sweep_scenario(scenario, budgets, progress=False,
                                        solved_dir=tmp_path / "two", scheduler=dask_scheduler)
    pd.testing.assert_frame_equal(here.drop(columns="solve_seconds", errors="ignore"),
                                  there.drop(columns="solve_seconds", errors="ignore"))
    assert plans_here == plans_there
    for b in budgets:
        one = json.loads((tmp_path / "one" / f"budget_{b:.0f}" / "solution.json").read_text())
        two = json.loads((tmp_path / "two" / f"budget_{b:.0f}" / "solution.json").read_text())
        assert one["open_sites"] == two["open_sites"] and one["totals"] == two["totals"]
        assert ((tmp_path / "one" / f"budget_{b:.0f}" / "areas.csv").read_bytes()
                == (tmp_path / "two" / f"budget_{b:.0f}" / "areas.csv").read_bytes())
