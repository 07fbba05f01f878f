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


@pytest.fixture(scope="module")
def demo_out(mirror, tmp_path_factory):
    from optimiser.demo import run_demo

    out = tmp_path_factory.mktemp("demo") / "demo"
    summary = run_demo(out, mirror=mirror, progress=False)
    return out, summary


@pytest.mark.slow
def test_demo_leaves_a_pack_with_map_workbook_sweep_and_comparison(demo_out):
    out, summary = demo_out
    pack = out / "pack"
    for name in ("index.html", "map.html", "consultation_tables.xlsx",
                 "decision_support/sweep.csv", "decision_support/sweep.svg",
                 "decision_support/compare.csv", "decision_support/compare.svg",
                 "decision_support/allocation.csv", "decision_support/sensitivity_sites.csv"):
        assert (pack / name).is_file(), name
    assert f"Consultation pack: {pack / 'index.html'}" in summary
    assert ".partial-" not in summary  # names the final folder, not the build folder



@pytest.mark.slow
def test_demo_runs_on_the_2025_vintage_and_the_pack_names_it(demo_out):
    import json

    import openpyxl

    out, summary = demo_out
    assert "Data: IoD 2025 on LSOA 2021" in " ".join(summary.split())
    meta = json.loads((out / "instance" / "prepare.json").read_text())
    assert meta["vintage"]["key"] == "2025" and meta["counts"]["areas"] == 429
    assert meta["counts"]["population"] == 164_082  # 0-19, mid-2019 re-cut to LSOA 2021
    index = " ".join((out / "pack" / "index.html").read_text().split())
    assert ("This plan uses the English Indices of Deprivation 2025 (IoD 2025 on LSOA 2021)"
            in index)
    notes = openpyxl.load_workbook(out / "pack" / "consultation_tables.xlsx")["Notes"]
    heads = [r[0] for r in notes.iter_rows(values_only=True)]
    assert "Data vintage" in heads and "Caveat" in heads


def test_demo_says_plainly_that_todays_network_is_unknown(demo_out):
    out, summary = demo_out
    sites = pd.read_csv(out / "instance" / "sites.csv")
    if (sites["status"] == "existing").any():
        assert "Today's network:" in summary
    else:
        assert "Today's network is NOT known" in summary
        assert "lose it" not in summary


def test_demo_costs_come_from_the_costs_file(demo_out):
    out, _ = demo_out
    costs = load_costs(COSTS)
    sites = pd.read_csv(out / "instance" / "sites.csv")
    generated = sites[sites["source"] == "generated"]
    for tier in ("hub", "spoke"):
        assert (generated.loc[generated["tier"] == tier, "annual_cost"]
                == getattr(costs.sites, tier).annual_cost).all()
    from optimiser.scenario import load_scenario

    for name in ("base.yaml", "option_a_eight_centres.yaml",
                 "option_b_eight_centres_universal.yaml", "option_c_six_centres_grants.yaml"):
        scenario = load_scenario(out / "scenarios" / name)
        assert scenario.outreach.cost_per_worker == costs.outreach_worker.annual_cost
        assert scenario.instance_dir == (out / "instance").resolve()


def test_demo_sweep_comparison_and_allocation_are_consistent(demo_out):
    out, _ = demo_out
    sweep = pd.read_csv(out / "sweep" / "sweep.csv")
    assert len(sweep) == 10
    assert (sweep["reach_share"].diff().dropna() >= -1e-6).all()
    assert sweep["knee"].sum() == 1
    compare = pd.read_csv(out / "options" / "compare.csv")
    assert compare["sites"].tolist() == [8, 8, 6]
    assert compare["budget"].tolist() == [10_000_000, 8_500_000, 9_000_000]
    assert compare["extra_funding"].tolist() == [0, 1_500_000, 1_000_000]
    assert compare["envelope"].tolist() == [10_000_000] * 3
    # Fewer centres and less money never serve more than option A's eight within £10m (each
    # plan is proven within the scenarios' 0.5% gap of its best).
    assert compare["reach_share"].iloc[0] >= compare["reach_share"].iloc[1:].max() * 0.995
    alloc = pd.read_csv(out / "options" / "options" / "option-c-six-centres-grants"
                        / "allocation.csv")
    grants = load_costs(COSTS).community_grants
    assert alloc["allocation"].sum() == grants.budget
    assert (alloc["allocation"] >= grants.floor).all()
    assert (alloc["allocation"] <= grants.cap).all()
    localities = pd.read_csv(out / "instance" / "localities.csv")
    assert sorted(alloc["unit"]) == sorted(localities["locality"].astype(str))


def test_demo_pack_is_a_document_about_the_three_options(demo_out):
    """Issue 9: a page per option with its title, each option's whole £10m shown the same way,
    no base plan 'which is not one of them', option C's grants only on option C's page."""
    import pypdf

    out, _ = demo_out
    pack = out / "pack"
    index = " ".join((pack / "index.html").read_text().split())
    titles = ["Option A: eight centres with outreach",
              "Option B: eight centres that keep some universal services",
              "Option C: six centres and £1m of community grants"]
    for title in titles:
        assert f"<h2>{title}</h2>" in index
    assert "which is not one of them" not in index
    assert "option-a-eight-centres" not in index  # titles, never file names
    assert "(candidate)" not in pd.read_csv(pack / "sites.csv").query(
        "decision == 'New'")["name"].str.cat()
    options = pd.read_csv(pack / "options_compared.csv")
    assert options["envelope"].tolist() == [10_000_000] * 3
    assert options["set_aside"].tolist() == [0, 1_500_000, 0]
    # funding: only option C's locality table has its grants
    a_loc = pd.read_csv(pack / "localities.csv")
    c_loc = pd.read_csv(pack / "options" / "option-c-six-centres-grants" / "localities.csv")
    assert a_loc["funding"].isna().all()
    assert c_loc["funding"].iloc[-1] == 1_000_000
    assert "universal services (stay and play, drop-in sessions)" in index
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(pack / "pack.pdf").pages)
    text = " ".join(text.split())
    for title in titles:
        assert title in text
    assert "Words used in this document" in text and "Need-weighted children" in text


def test_demo_sweep_is_not_flat_and_buys_service(demo_out):
    # Issue 8: with capacities and take-up, £4m serves at most 60% of what £16m serves.
    out, _ = demo_out
    sweep = pd.read_csv(out / "sweep" / "sweep.csv").set_index("budget")
    assert sweep.loc[4e6, "reach_share"] <= 0.6 * sweep.loc[16e6, "reach_share"]
    assert sweep["sites"].iloc[-1] > sweep["sites"].iloc[0]
    index = (out / "pack" / "index.html").read_text()
    assert "The curve rises because" in index
    assert "children a year get a place at a centre or with an outreach worker" in index


def test_demo_never_shows_a_site_above_capacity_or_outreach_above_caseload(demo_out):
    import re

    out, _ = demo_out
    folders = [p.parent for p in sorted(out.glob("**/solution.json"))]
    assert len(folders) >= 4  # the base plan and the three options
    for folder in folders:
        sites = pd.read_csv(folder / "sites.csv")
        assert (sites["children_served"] <= sites["capacity"]).all(), folder
        assert sites.loc[sites["open"], "children_served"].sum() > 0
        locs = pd.read_csv(folder / "localities.csv")
        assert (locs["outreach_served"] <= locs["outreach_capacity"]).all(), folder
        assert (locs["outreach_capacity"] == locs["outreach_workers"] * 84).all()
    pack_sites = pd.read_csv(out / "pack" / "sites.csv")
    pairs = pack_sites["served_of_capacity"].str.replace(",", "").str.split(" / ")
    assert all(int(s) <= int(c) for s, c in pairs)
    shown = re.findall(r'"served_capacity": "([0-9,]+) / ([0-9,]+)"',
                       (out / "pack" / "map.html").read_text())
    assert len(shown) == len(pack_sites) > 0
    assert all(int(s.replace(",", "")) <= int(c.replace(",", "")) for s, c in shown)


@pytest.mark.parametrize("path", sorted((REPO / "scenarios").glob("*/*.yaml")),
                         ids=lambda p: f"{p.parent.name}/{p.name}")
def test_shipped_scenario_files_are_valid(path):
    from optimiser.scenario import load_scenario

    if path.name == "costs.yaml":
        load_costs(path)
        return
    scenario = load_scenario(path, check_instance=False)
    assert scenario.name != path.stem  # each names itself for the tables
    assert scenario.outreach is None or scenario.outreach.cost_per_worker == (
        load_costs(COSTS).outreach_worker.annual_cost)
    text = path.read_text()
    assert text.startswith("#")  # says what it is


def test_option_notes_are_the_first_sentence_of_each_file():
    from optimiser.demo import OPTIONS, _option_notes, scenarios_dir

    notes = _option_notes([scenarios_dir() / "oxfordshire" / o for o in OPTIONS])
    assert notes[1] == ("Consultation option B: eight centres that also keep some universal "
                        "services (stay and play, drop-in sessions open to every family).")
    assert all(n.startswith("Consultation option ") and n.endswith(".") for n in notes)
