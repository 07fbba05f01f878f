"""Compare options side by side: one row per scenario, from its solved folder."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from synthetic import best_cover_by_enumeration, write_instance, write_scenario

from optimiser.compare import COMPARE_COLUMNS, run_compare
from optimiser.errors import InputError


@pytest.fixture(scope="module")
def options(tmp_path_factory, dask_scheduler):
    folder = tmp_path_factory.mktemp("compare")
    facts = write_instance(folder / "instance", seed=5, n_areas=36, n_sites=7, localities=3)
    sites = pd.read_csv(folder / "instance" / "sites.csv")
    sites.loc[:1, "status"] = "existing"  # today's network: S0 and S1
    sites.to_csv(folder / "instance" / "sites.csv", index=False)
    paths = [
        write_scenario(folder / "generous.yaml", folder / "instance", name="generous",
                       budget=2_000_000),
        write_scenario(folder / "tight.yaml", folder / "instance", name="tight",
                       budget=600_000),
        write_scenario(folder / "tight_floor.yaml", folder / "instance", name="tight floor",
                       budget=900_000, constraints={"max_sites": 2}),
    ]
    out = folder / "out"
    summary = run_compare(paths, out, floor=0.6, extra_funding={"tight": 250_000},
                          progress=False, scheduler=dask_scheduler)
    return facts, out, summary


def test_table_has_one_row_per_option_and_all_columns(options):
    _, out, summary = options
    table = pd.read_csv(out / "compare.csv")
    assert table.columns.tolist() == COMPARE_COLUMNS
    assert table["option"].tolist() == ["generous", "tight", "tight floor"]
    assert (table["status"] == "optimal").all()
    assert (table["annual_cost"] <= table["budget"] + 1).all()
    assert table["extra_funding"].tolist() == [0, 250_000, 0]
    assert table.loc[2, "sites"] <= 2
    for name in ("compare.png", "compare.svg"):
        assert (out / name).is_file()
    assert "3 options compared" in summary


def test_reach_matches_exhaustive_enumeration(options):
    facts, out, _ = options
    table = pd.read_csv(out / "compare.csv")
    best = best_cover_by_enumeration(facts["demand"], facts["reach"], facts["cost"], 600_000)
    assert table.loc[1, "need_reached"] == pytest.approx(best, abs=0.1)
    assert table.loc[1, "reach_share"] == pytest.approx(best / facts["demand"].sum(), abs=1e-6)


def test_measures_agree_with_each_solved_folder(options):
    _, out, _ = options
    table = pd.read_csv(out / "compare.csv")
    reached_first = None
    for row in table.itertuples():
        folder = out / "options" / row.option.replace(" ", "-")
        solution = json.loads((folder / "solution.json").read_text())
        areas = pd.read_csv(folder / "areas.csv")
        localities = pd.read_csv(folder / "localities.csv")
        assert row.reach_share == pytest.approx(solution["totals"]["reach_share"], abs=1e-6)
        dep = areas["imd_decile"] <= 2
        expected = (areas.loc[dep, "demand"] * areas.loc[dep, "reach_share"]).sum() / (
            areas.loc[dep, "demand"].sum())
        assert row.reach_share_deciles_1_2 == pytest.approx(expected, abs=1e-6)
        assert row.localities_below_floor == int((localities["reach_share"] < 0.6).sum())
        # Today's network is known (two existing sites), so losses against it are counted.
        assert row.areas_losing_access == len(solution["change"]["areas_losing"])
        reached = set(areas.loc[areas["reached"], "area_id"])
        if reached_first is None:
            reached_first = reached
            assert row.areas_losing_vs_first == 0
        else:
            assert row.areas_losing_vs_first == len(reached_first - reached)
        travel = areas["travel_minutes"]
        assert row.mean_travel_minutes == pytest.approx(
            np.average(travel, weights=areas["population"]), abs=0.06)
        assert row.max_travel_minutes == pytest.approx(travel.max(), abs=0.06)
    # The tight option reaches less than the generous one and loses areas against it.
    assert table.loc[1, "reach_share"] < table.loc[0, "reach_share"]
    assert table.loc[1, "areas_losing_vs_first"] > 0


def test_duplicate_option_names_are_an_error(tmp_path):
    write_instance(tmp_path / "instance")
    a = write_scenario(tmp_path / "a.yaml", tmp_path / "instance", name="same")
    b = write_scenario(tmp_path / "b.yaml", tmp_path / "instance", name="same")
    with pytest.raises(InputError, match="same name 'same'"):
        run_compare([a, b], tmp_path / "out", progress=False, workers=1)
    assert not (tmp_path / "out").exists()  # no partial output


def test_floor_out_of_range_is_an_error(tmp_path):
    with pytest.raises(InputError, match="not a share between 0 and 1"):
        run_compare([tmp_path / "a.yaml"], tmp_path / "out", floor=50, progress=False)


def test_cli_compare_and_sensitivity(tmp_path, dask_scheduler):
    from typer.testing import CliRunner

    from optimiser.cli import app

    write_instance(tmp_path / "instance", seed=9)
    a = write_scenario(tmp_path / "a.yaml", tmp_path / "instance", name="a", budget=500_000)
    b = write_scenario(tmp_path / "b.yaml", tmp_path / "instance", name="b", budget=900_000)
    runner = CliRunner()
    done = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "cmp"),
                               "--floor", "0.4", "--scheduler", dask_scheduler])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert table["option"].tolist() == ["a", "b"]
    assert (table["floor"] == 0.4).all()
    sens = runner.invoke(app, ["sensitivity", str(a), "--weight-draws", "3", "--out",
                               str(tmp_path / "sens"), "--scheduler", dask_scheduler])
    assert sens.exit_code == 0, sens.output
    assert len(pd.read_csv(tmp_path / "sens" / "sensitivity_draws.csv")) == 3
    # One worker (in this process): the same comparison, byte for byte.
    again = runner.invoke(app, ["compare", str(a), str(b), "--out", str(tmp_path / "one"),
                                "--floor", "0.4", "--workers", "1"])
    assert again.exit_code == 0, again.output
    for name in ("compare.csv", "options/a/areas.csv", "options/b/sites.csv"):
        assert (tmp_path / "cmp" / name).read_bytes() == (tmp_path / "one" / name).read_bytes()


def test_an_option_without_a_plan_is_a_row_not_a_crash(tmp_path):
    # An infeasible option: solve writes solution.json alone (no areas.csv); the comparison
    # keeps the row (status, budget; figures blank) and the pack says why.
    from optimiser.report import build_pack

    write_instance(tmp_path / "instance", seed=9)
    a = write_scenario(tmp_path / "a.yaml", tmp_path / "instance", name="a", budget=900_000)
    b = write_scenario(tmp_path / "b.yaml", tmp_path / "instance", name="b", budget=10,
                       constraints={"min_sites": 3})
    summary = run_compare([a, b], tmp_path / "cmp", progress=False, workers=1)
    assert "b: infeasible, no plan" in summary
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv", dtype=str, keep_default_na=False)
    assert table["status"].tolist() == ["optimal", "infeasible"]
    assert table.loc[1, "budget"] == "10.0"
    for col in ("reach_share", "annual_cost", "sites", "outreach_workers",
                "localities_below_floor"):
        assert table.loc[1, col] == ""
    assert table.loc[0, "sites"].isdigit()  # counts stay whole numbers beside a blank row
    solved = tmp_path / "cmp" / "options" / "a"
    shutil.copyfile(tmp_path / "cmp" / "compare.csv", solved / "compare.csv")
    build_pack(solved, tmp_path / "pack")
    index = (tmp_path / "pack" / "index.html").read_text()
    assert "No plan: the solver found this option infeasible." in index
    assert (tmp_path / "pack" / "charts" / "options_compared.svg").is_file()


def test_dollar_signs_in_option_names_are_drawn_as_text(tmp_path):
    # matplotlib reads "$...$" as maths and fails on bad maths: a name is text, whatever it holds
    from optimiser.compare import plot_comparison
    from optimiser.report.charts import options_chart
    from optimiser.sweep import frontier_table, plot_frontier

    names = ["a $\\frac{$ b", "$x$"]
    table = pd.DataFrame({"option": names, "reach_share": [0.5, 0.6],
                          "reach_share_deciles_1_2": [0.5, 0.7], "annual_cost": [1e6, 2e6],
                          "extra_funding": [0, 0]})
    assert [p.name for p in plot_comparison(table, tmp_path)] == ["compare.png", "compare.svg"]
    assert options_chart(table).startswith("<?xml")
    rows = [{"budget": b, "reach_share": r, "need_reached": r * 100, "need_total": 100,
             "status": "optimal"} for b, r in ((1e6, 0.5), (2e6, 0.8), (3e6, 0.9))]
    plot_frontier(frontier_table(rows), tmp_path, title="sweep of $\\frac{$")
    assert (tmp_path / "sweep.png").is_file()


def test_envelope_parts_add_up_with_grants_and_set_asides(tmp_path):
    write_instance(tmp_path / "instance", seed=3)
    a = write_scenario(tmp_path / "a.yaml", tmp_path / "instance", name="a", budget=700_000,
                       grants={"community grants": 200_000}, title="Option A: <grants>")
    b = write_scenario(tmp_path / "b.yaml", tmp_path / "instance", name="option-b-two",
                       budget=600_000, set_aside={"universal services": 300_000})
    run_compare([a, b], tmp_path / "out", progress=False, workers=1)
    table = pd.read_csv(tmp_path / "out" / "compare.csv")
    assert table["title"].tolist() == ["Option A: <grants>", "Option B two"]
    assert table["envelope"].tolist() == [900_000, 900_000]
    assert table["grants"].tolist() == [200_000, 0]
    assert table["set_aside"].tolist() == [0, 300_000]
    parts = table[["centres_cost", "outreach_cost", "grants", "set_aside", "unspent"]]
    assert parts.sum(axis=1).tolist() == pytest.approx(table["envelope"].tolist(), abs=2)
    assert (table["centres_cost"] + table["outreach_cost"]).tolist() == pytest.approx(
        table["annual_cost"].tolist(), abs=2)
    assert table["extra_funding"].tolist() == [200_000, 300_000]


def test_compare_shipped_oxfordshire_options_shows_each_whole_envelope(prepared, tmp_path,
                                                                      dask_scheduler):
    """`optimiser compare scenarios/oxfordshire/option_*.yaml`: every option's £10m, in the
    CSV and in the chart (the shipped files, pointed at a prepared Oxfordshire)."""
    from typer.testing import CliRunner

    from optimiser.cli import app
    from optimiser.demo import OPTIONS, costed_instance, scenario_copy
    from optimiser.report.charts import options_figure

    instance = costed_instance(prepared("Oxfordshire", "0-19"), tmp_path / "instance")
    paths = [scenario_copy(o, instance, tmp_path / "scenarios") for o in OPTIONS]
    done = CliRunner().invoke(app, ["compare", *map(str, paths), "--out",
                                    str(tmp_path / "cmp"), "--scheduler", dask_scheduler])
    assert done.exit_code == 0, done.output
    table = pd.read_csv(tmp_path / "cmp" / "compare.csv")
    assert table["envelope"].tolist() == [10_000_000] * 3
    assert table["budget"].tolist() == [10_000_000, 8_500_000, 9_000_000]
    assert table["set_aside"].tolist() == [0, 1_500_000, 0]
    assert table["grants"].tolist() == [0, 0, 1_000_000]
    parts = table[["centres_cost", "outreach_cost", "grants", "set_aside", "unspent"]]
    assert parts.sum(axis=1).tolist() == pytest.approx([10_000_000] * 3, abs=3)
    assert table["title"].str.startswith("Option ").all()
    assert "£10.00m a year" in done.output
    # The chart's money panel stacks each option's parts to its whole £10m.
    fig = options_figure(table)
    money = fig.axes[1]
    ends = {}
    for bar in money.patches:
        y = round(bar.get_y() + bar.get_height() / 2, 3)
        ends[y] = max(ends.get(y, 0.0), bar.get_x() + bar.get_width())
    assert sorted(ends.values()) == pytest.approx([10.0] * 3, abs=1e-3)
    labels = [t.get_text() for t in money.texts]
    assert labels.count("£10.00m a year") == 3
    assert (tmp_path / "cmp" / "compare.png").stat().st_size > 10_000
