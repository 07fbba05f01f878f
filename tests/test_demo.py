"""The demo's cost assumptions file and the demo end to end."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from optimiser.costs import apply_site_costs, load_costs
from optimiser.errors import ScenarioError

REPO = Path(__file__).resolve().parents[1]
COSTS = REPO / "scenarios" / "oxfordshire" / "costs.yaml"


def test_shipped_costs_file_reads_and_adds_up():
    costs = load_costs(COSTS)
    assert costs.sites.hub.annual_cost == 650_000
    assert costs.sites.spoke.annual_cost == 220_000
    w = costs.outreach_worker
    assert w.annual_cost == 42_000 == w.salary + w.employer_ni + w.employer_pension + (
        w.travel_and_equipment)
    assert costs.community_grants is not None and costs.community_grants.budget == 1_000_000


def test_every_cost_in_the_shipped_file_has_its_assumption_beside_it():
    for line in COSTS.read_text().splitlines():
        value = line.split("#")[0]
        if ":" in value and value.split(":", 1)[1].strip():  # a key with a value
            assert "#" in line, f"no assumption written next to: {line.strip()}"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "costs.yaml"
    path.write_text(text)
    return path


BASE = """sites:
  hub: {annual_cost: 650000, setup_cost: 250000, closure_cost: 75000}
  spoke: {annual_cost: 220000, setup_cost: 60000, closure_cost: 75000}
outreach_worker: {salary: 40000, employer_ni: 2000, annual_cost: 42000}
"""


def test_costs_errors_name_the_key(tmp_path):
    with pytest.raises(ScenarioError, match=r"key 'outreach_worker': annual_cost 43,000 is not "
                                            r"the sum"):
        load_costs(_write(tmp_path, BASE.replace("annual_cost: 42000", "annual_cost: 43000")))
    with pytest.raises(ScenarioError, match=r"key 'sites.hub.anual_cost': unknown key (?s:.)*"
                                            r"did you mean 'annual_cost'"):
        load_costs(_write(tmp_path, BASE.replace("hub: {annual_cost", "hub: {anual_cost")))
    with pytest.raises(ScenarioError, match=r"key 'sites.spoke.annual_cost'"):
        load_costs(_write(tmp_path, BASE.replace("220000", "-1")))
    with pytest.raises(ScenarioError, match="does not exist"):
        load_costs(tmp_path / "nope.yaml")


def test_apply_site_costs_sets_generated_sites_by_tier_and_keeps_council_figures(tmp_path):
    costs = load_costs(_write(tmp_path, BASE))
    sites = pd.DataFrame({
        "site_id": ["A", "B", "C", "D"],
        "status": ["candidate", "candidate", "existing", "existing"],
        "tier": ["hub", "spoke", "spoke", "hub"],
        "annual_cost": [1.0, 2.0, 3.0, 123_456.0],
        "setup_cost": [0.0, 0.0, 0.0, 0.0],
        "closure_cost": [0.0, 0.0, 0.0, 9.0],
        "source": ["generated", "generated", "generated", "council"],
    })
    out = apply_site_costs(sites, costs)
    assert out["annual_cost"].tolist() == [650_000, 220_000, 220_000, 123_456]
    assert out["setup_cost"].tolist() == [250_000, 60_000, 0, 0]
    assert out["closure_cost"].tolist() == [0, 0, 75_000, 9]
    assert sites["annual_cost"].tolist() == [1.0, 2.0, 3.0, 123_456.0]  # input untouched
