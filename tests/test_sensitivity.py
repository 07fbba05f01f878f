"""Weight sensitivity: re-solve under random need weights; sites' chosen shares, rank moves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from synthetic import write_instance, write_scenario

from optimiser.errors import InputError
from optimiser.scenario import load_scenario
from optimiser.sensitivity import draw_weights, run_sensitivity, weight_sensitivity_solve


@pytest.fixture(scope="module")
def scenario(tmp_path_factory):
    folder = tmp_path_factory.mktemp("sens")
    write_instance(folder / "instance", seed=3, n_areas=40, n_sites=8, localities=4)
    return load_scenario(write_scenario(folder / "s.yaml", folder / "instance",
                                        budget=1_200_000))


def test_draws_are_seeded_and_sum_to_one():
    a = draw_weights(["imd_score", "cpp_rate", "cin_rate", "under5_share"], 20, seed=7)
    b = draw_weights(["imd_score", "cpp_rate", "cin_rate", "under5_share"], 20, seed=7)
    assert np.array_equal(a, b)
    assert np.allclose(a.sum(axis=1), 1)
    assert not np.array_equal(a, draw_weights(["a", "b", "c", "d"], 20, seed=8))
    with pytest.raises(InputError, match="at least 1"):
        draw_weights(["a"], 0)


def test_deterministic_by_seed_and_shares_in_unit_interval(scenario, dask_scheduler):
    # Two workers of a Dask cluster, and one (in this process): the same tables.
    one = weight_sensitivity_solve(scenario, 8, seed=1, scheduler=dask_scheduler,
                                   progress=False)
    two = weight_sensitivity_solve(scenario, 8, seed=1, workers=1, progress=False)
    pd.testing.assert_frame_equal(one.sites, two.sites)
    pd.testing.assert_frame_equal(one.localities, two.localities)
    pd.testing.assert_frame_equal(one.draws, two.draws)
    assert one.sites["chosen_share"].between(0, 1).all()
    assert (one.sites["draws"] == 8).all()
    assert len(one.draws) == 8
    assert sorted(one.localities["base_rank"]) == [1, 2, 3, 4]
    assert (one.localities["best_rank"] <= one.localities["worst_rank"]).all()
    # The weights really vary: need ranks or plans differ between draws.
    assert one.draws[["w_imd_score", "w_cin_rate"]].std().min() > 0


def test_identical_weights_every_draw_give_shares_of_zero_or_one(scenario, dask_scheduler):
    same = np.tile([[0.1, 0.6, 0.2, 0.1]], (5, 1))
    result = weight_sensitivity_solve(scenario, weights=same, scheduler=dask_scheduler,
                                      progress=False)
    assert set(result.sites["chosen_share"]) <= {0.0, 1.0}
    # Every draw has the same weights, so every locality keeps one rank across the draws.
    assert (result.localities["best_rank"] == result.localities["worst_rank"]).all()
    assert result.draws["reach_share"].nunique() == 1


def test_cli_function_writes_tables(scenario, tmp_path):
    summary = run_sensitivity(scenario.source, 4, tmp_path / "out", seed=2, progress=False,
                              workers=1)
    for name in ("sensitivity_sites.csv", "sensitivity_localities.csv",
                 "sensitivity_draws.csv", "sensitivity.json"):
        assert (tmp_path / "out" / name).is_file()
    assert "4 weightings solved" in summary


def test_an_indicator_the_need_was_built_from_must_be_in_the_areas(tmp_path):
    import json

    from optimiser.sensitivity import base_weights

    areas = pd.DataFrame({"imd_score": [10.0, 20.0], "cin_rate": [1.0, 2.0]})
    # No prepare.json: the defaults are a guess, and the indicators present are used.
    used, method = base_weights(tmp_path, areas)
    assert used == {"imd_score": 1.0, "cin_rate": 1.0} and method == "z"
    # prepare.json says the need used cpp_rate too: varying only the others would answer
    # another question, so it is an error naming the column.
    (tmp_path / "prepare.json").write_text(json.dumps(
        {"need": {"method": "rank", "weights": {"imd_score": 1, "cpp_rate": 2}}}))
    with pytest.raises(InputError, match="built from cpp_rate") as info:
        base_weights(tmp_path, areas)
    assert info.value.column == "cpp_rate"


def test_cli_sensitivity_one_and_two_workers_write_the_same_tables(scenario, tmp_path):
    """The command line: --workers 1 and --workers 2 (a local cluster started for the run)
    give byte-identical tables; a bad --workers or --scheduler is one error, exit 2."""
    from typer.testing import CliRunner

    from optimiser.cli import app

    runner = CliRunner()
    for n in (1, 2):
        res = runner.invoke(app, ["sensitivity", str(scenario.source), "--out",
                                  str(tmp_path / f"w{n}"), "--weight-draws", "6",
                                  "--workers", str(n)])
        assert res.exit_code == 0, res.output
    for name in ("sensitivity_sites.csv", "sensitivity_localities.csv",
                 "sensitivity_draws.csv"):
        assert (tmp_path / "w1" / name).read_bytes() == (tmp_path / "w2" / name).read_bytes()
    bad = runner.invoke(app, ["sensitivity", str(scenario.source), "--out",
                              str(tmp_path / "bad"), "--workers", "0"])
    assert bad.exit_code == 2
    assert "--workers 0 is not a number of workers from 1 to 512" in bad.output
    bad = runner.invoke(app, ["sensitivity", str(scenario.source), "--out",
                              str(tmp_path / "bad"), "--scheduler", "nowhere"])
    assert bad.exit_code == 2 and "is not a Dask scheduler address" in bad.output
    assert not (tmp_path / "bad").exists()
