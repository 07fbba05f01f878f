"""The instance folder format: round trip and clear errors."""

from __future__ import annotations

import pandas as pd
import pytest

from optimiser.errors import InputError
from optimiser.instance import Instance, read_instance, write_instance


def tiny_instance() -> Instance:
    areas = pd.DataFrame({
        "area_id": ["A1", "A2", "A3"], "name": ["North", "South", "East"],
        "locality": ["L1", "L1", "L2"], "x": [0.0, 1000.0, 5000.0], "y": [0.0, 0.0, 0.0],
        "population": [100, 200, 50], "need": [1.2, 0.9, 1.0], "rural": [False, False, True],
    })
    sites = pd.DataFrame({
        "site_id": ["S1", "S2"], "name": ["Hub", "Spoke"], "x": [0.0, 5000.0], "y": [0.0, 0.0],
        "status": ["existing", "candidate"], "tier": ["hub", "spoke"],
        "annual_cost": [500000.0, 200000.0], "setup_cost": [0.0, 50000.0],
    })
    return Instance(areas=areas, sites=sites)


def test_round_trip(tmp_path):
    write_instance(tiny_instance(), tmp_path)
    back = read_instance(tmp_path)
    assert back.areas["area_id"].tolist() == ["A1", "A2", "A3"]
    assert back.areas["rural"].tolist() == [False, False, True]
    assert back.sites["closure_cost"].tolist() == [0.0, 0.0]
    assert back.existing_site_ids == ["S1"]
    assert back.localities == ["L1", "L2"]
    assert back.travel is None


def test_unknown_status_names_row_and_fix(tmp_path):
    inst = tiny_instance()
    inst.sites.loc[1, "status"] = "proposed"
    write_instance(inst, tmp_path)
    with pytest.raises(InputError) as info:
        read_instance(tmp_path)
    assert info.value.row == 3 and info.value.column == "status"
    assert "existing, candidate" in info.value.hint


def test_travel_with_unknown_site_is_an_error(tmp_path):
    inst = tiny_instance()
    inst.travel = pd.DataFrame({"area_id": ["A1"], "site_id": ["S9"], "minutes": [5.0]})
    write_instance(inst, tmp_path)
    with pytest.raises(InputError, match=r"'S9' is not in sites\.csv"):
        read_instance(tmp_path)


def test_missing_folder(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_instance(tmp_path / "nope")


@pytest.mark.parametrize("table, col, row, words", [
    ("areas", "locality", 1, "the area has no locality"),
    ("areas", "area_id", 2, "the area has no area_id"),
    ("sites", "site_id", 0, "the site has no site_id"),
    ("sites", "name", 1, "the site has no name"),
])
def test_blank_required_text_is_an_error_not_nan(tmp_path, table, col, row, words):
    # A planner blanks a cell in Excel: pandas 3 reads NaN, which must not become a 'nan' id.
    inst = tiny_instance()
    getattr(inst, table).loc[row, col] = None
    write_instance(inst, tmp_path)
    with pytest.raises(InputError) as info:
        read_instance(tmp_path)
    assert words in info.value.problem
    assert info.value.row == row + 2 and info.value.column == col
    assert info.value.file.endswith(f"{table}.csv")


def test_site_locality_must_be_an_area_locality(tmp_path):
    inst = tiny_instance()
    inst.sites["locality"] = ["L1", "L 2"]
    write_instance(inst, tmp_path)
    with pytest.raises(InputError) as info:
        read_instance(tmp_path)
    assert "'L 2' is not a locality of areas.csv" in info.value.problem
    assert info.value.row == 3 and "did you mean L2" in info.value.hint
    inst.sites["locality"] = ["L1", None]  # blank: allowed
    write_instance(inst, tmp_path)
    assert read_instance(tmp_path).sites["locality"].isna().tolist() == [False, True]
