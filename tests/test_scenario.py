"""Scenario validation: every mistake is one ScenarioError naming the key and the fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from optimiser.errors import ScenarioError
from optimiser.scenario import check_site_ids, load_scenario, parse_scenario

BASE = {"instance": ".", "objective": "max_reach", "budget": 1e6}


def err(data) -> ScenarioError:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(data)
    return info.value


def test_defaults_are_filled():
    s = parse_scenario(dict(BASE))
    assert s.annualise_years == 5
    assert s.reach.thresholds().urban == 20 and s.reach.thresholds().rural == 30
    assert s.reach.speed_kmh.urban == 15 and s.reach.speed_kmh.rural == 50
    assert s.reach.model == "service" and s.outreach is None
    assert s.tiers.hub.effectiveness == 1.0 and s.tiers.spoke.effectiveness == 0.8
    assert s.solver.name == "highs" and s.solver.gap == 0.0 and s.solver.time_limit_s == 600
    assert s.outreach is None


def test_unknown_top_level_key_suggests_the_right_one():
    e = err({**BASE, "budjet": 5})
    assert e.key == "budjet"
    assert "unknown key" in e.problem and "did you mean 'budget'" in e.hint


def test_unknown_nested_key_has_dotted_name_and_suggestion():
    e = err({**BASE, "constraints": {"min_site": 3}})
    assert e.key == "constraints.min_site" and "min_sites" in e.hint
    e = err({**BASE, "solver": {"time_limit": 3}})
    assert e.key == "solver.time_limit" and "time_limit_s" in e.hint


def test_wrong_type_names_key_and_value():
    e = err({**BASE, "budget": "ten million"})
    assert e.key == "budget" and "'ten million'" in e.problem and "no £ sign" in e.hint


def test_out_of_range_values():
    assert err({**BASE, "budget": -1}).key == "budget"
    e = err({**BASE, "solver": {"gap": 1.5}})
    assert e.key == "solver.gap" and "less than or equal to 1" in e.problem
    assert err({**BASE, "constraints": {"locality_min_reach": 2}}).key == \
        "constraints.locality_min_reach"
    assert err({**BASE, "outreach": {"cost_per_worker": 1, "reach_per_worker": 0}}).key == \
        "outreach.reach_per_worker"
    assert err({**BASE, "solver": {"name": "gurobi"}}).key == "solver.name"


def test_objective_requirements():
    assert err({"instance": ".", "objective": "max_reach"}).key == "budget"
    e = err({"instance": ".", "objective": "min_cost"})
    assert e.key == "target_reach" and "0.9" in e.hint
    assert parse_scenario({"instance": ".", "objective": "evaluate"}).budget is None
    # DESIGN.md's example gives network and target_reach with max_reach: accepted, and the
    # solution says they were not used.
    s = parse_scenario({**BASE, "network": ["S1"], "target_reach": 0.9})
    notes = s.unused_keys()
    assert len(notes) == 2
    assert notes[0].startswith("network is used only by objective evaluate") and \
        "must_open" in notes[0]
    assert notes[1].startswith("target_reach is used only by objective min_cost")
    assert parse_scenario({**BASE, "objective": "evaluate", "network": ["S1"]}).unused_keys() \
        == []


def test_contradictions():
    e = err({**BASE, "constraints": {"min_sites": 5, "max_sites": 2}})
    assert e.key == "constraints.min_sites" and "larger than max_sites" in e.problem
    e = err({**BASE, "constraints": {"must_open": ["A"], "must_close": ["A"]}})
    assert "both must_open and must_close" in e.problem


def test_threshold_single_number_or_pair():
    s = parse_scenario({**BASE, "reach": {"threshold_minutes": 25}})
    assert s.reach.thresholds().urban == s.reach.thresholds().rural == 25
    assert err({**BASE, "reach": {"threshold_minutes": -5}}).key == "reach.threshold_minutes"


def test_paths_are_relative_to_the_scenario_file(tmp_path: Path):
    inst = tmp_path / "data" / "inst"
    inst.mkdir(parents=True)
    (inst / "areas.csv").write_text("x\n")
    (inst / "sites.csv").write_text("x\n")
    (tmp_path / "scen").mkdir()
    f = tmp_path / "scen" / "option-a.yaml"
    f.write_text("instance: ../data/inst\nbudget: 1000000\n")
    s = load_scenario(f)
    assert s.instance_dir == inst.resolve()
    assert s.name == "option-a"


def test_missing_instance_folder_and_files(tmp_path: Path):
    f = tmp_path / "s.yaml"
    f.write_text("instance: nowhere\nbudget: 1\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(f)
    assert info.value.key == "instance" and "does not exist" in info.value.problem
    (tmp_path / "nowhere").mkdir()
    (tmp_path / "nowhere" / "areas.csv").write_text("x\n")
    with pytest.raises(ScenarioError, match=r"no sites\.csv"):
        load_scenario(f)


def test_bad_yaml_and_non_mapping(tmp_path: Path):
    f = tmp_path / "s.yaml"
    f.write_text("instance: [unclosed\n")
    with pytest.raises(ScenarioError, match="not valid YAML"):
        load_scenario(f)
    f.write_text("- just\n- a list\n")
    with pytest.raises(ScenarioError, match="YAML mapping"):
        load_scenario(f)


def test_unknown_site_ids_are_named():
    s = parse_scenario({**BASE, "constraints": {"must_open": ["S0001", "S9"]}})
    with pytest.raises(ScenarioError) as info:
        check_site_ids(s, ["S0001", "S0002"])
    assert info.value.key == "constraints.must_open" and "'S9'" in info.value.problem


@pytest.mark.parametrize(("data", "key"), [
    ({"budget": True}, "budget"),                            # 'budget: yes' is not £1
    ({"constraints": {"min_sites": False}}, "constraints.min_sites"),
    ({"reach": {"threshold_minutes": True}}, "reach.threshold_minutes"),
    ({"solver": {"gap": True}}, "solver.gap"),
])
def test_true_false_is_not_a_number(data, key):
    e = err({**BASE, **data})
    assert e.key == key and "is not a number" in e.problem


@pytest.mark.parametrize(("data", "key"), [
    ({"budget": float("inf")}, "budget"),                    # YAML .inf: a traceback before
    ({"reach": {"threshold_minutes": float("nan")}}, "reach.threshold_minutes"),
    ({"reach": {"threshold_minutes": {"urban": 20, "rural": float("nan")}}},
     "reach.threshold_minutes.rural"),
    ({"outreach": {"cost_per_worker": float("nan"), "reach_per_worker": 1}},
     "outreach.cost_per_worker"),
])
def test_nan_and_infinity_are_errors(data, key):
    assert err({**BASE, **data}).key == key


def test_true_false_still_fine_for_switches():
    s = parse_scenario({**BASE, "constraints": {"site_per_locality": True}})
    assert s.constraints.site_per_locality is True


def test_numeric_site_ids_get_a_quoting_hint():
    e = err({**BASE, "constraints": {"must_open": [100234]}})
    assert e.key == "constraints.must_open" and "in quotes" in e.hint
    e = err({**BASE, "constraints": {"must_close": "H01"}})
    assert e.key == "constraints.must_close" and "a list of site_id values" in e.hint


@pytest.mark.parametrize(("reach", "message"), [
    ({"decay": {"half_minutes": 0}},
     "key 'reach.decay.half_minutes': half_minutes must be greater than 0"),
    ({"decay": {"full_minutes": -1}},
     "key 'reach.decay.full_minutes': full_minutes must be 0 or more"),
    ({"decay": {"curve": "linear"}}, "key 'reach.decay.curve': 'linear' is not allowed"),
    ({"model": "services"}, "key 'reach.model': 'services' is not allowed"),
    ({"max_minutes": -3}, "key 'reach.max_minutes': max_minutes must be greater than 0"),
    ({"decay": {"half_minutes": "ten"}}, "hint: one number of minutes, or {urban: 10, rural: 15}"),
])
def test_service_model_keys_name_the_key_and_the_fix(reach, message):
    from optimiser.errors import ScenarioError

    with pytest.raises(ScenarioError) as exc:
        parse_scenario({"instance": ".", "budget": 1, "reach": reach})
    assert message in str(exc.value)


def test_outreach_caseload_must_be_positive():
    from optimiser.errors import ScenarioError

    with pytest.raises(ScenarioError, match=r"key 'outreach\.caseload'"):
        parse_scenario({"instance": ".", "budget": 1,
                        "outreach": {"cost_per_worker": 1, "caseload": -5}})


def test_zero_full_minutes_is_take_up_falling_from_the_door():
    """reach.decay.full_minutes: 0 is allowed (the rule says '0 or more'); it once crashed with
    a raw validation traceback when the model read it."""
    import numpy as np

    from optimiser.model import FamilyCentreModel
    from optimiser.scenario import ReachSettings
    from optimiser.travel import take_up

    minutes = np.array([[0.0, 50.0, 8.0], [50.0, 5.0, 8.0], [8.0, 50.0, 50.0]])
    r = FamilyCentreModel.from_cost_matrix(
        minutes, demand=[10, 20, 5], budget=1, annual_cost=1, capacity=[30, 30, 25],
        scenario={"reach": {"decay": {"full_minutes": 0, "half_minutes": 10}}}).solve()
    assert r.status == "optimal" and r.open.tolist() == [False, False, True]
    # Site 2 is 8 minutes from areas 0 and 1: 2^(-0.8) of their children use it.
    assert r.objective_value == pytest.approx(30 * 2 ** -0.8)
    reach = ReachSettings(decay={"full_minutes": 0, "half_minutes": 10})
    assert take_up(np.array([0.0, 10.0]), np.zeros(2, bool), reach).tolist() == [1.0, 0.5]
