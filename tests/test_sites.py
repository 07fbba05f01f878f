"""Sites: the council's file geocoded offline, generated candidates, default costs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from optimiser.errors import InputError
from optimiser.geography import load_boundaries, to_bng
from optimiser.prepare import build_areas
from optimiser.sites import (
    DEFAULT_COSTS,
    SITE_COLUMNS,
    SPOKE_SPACING_M,
    centres_as_sites,
    generate_candidates,
    read_council_sites,
)


@pytest.fixture(scope="module")
def bounds(oxon):
    return load_boundaries(oxon.lsoas)


@pytest.fixture(scope="module")
def areas(mirror, oxon):
    a = build_areas(mirror, oxon)
    a["locality"] = a["lad_name"]  # districts stand in for localities in these unit tests
    a["population"] = a["pop_0_4"]
    a["need"] = (a["imd_score"] / np.average(a["imd_score"], weights=a["population"]))
    return a


@pytest.fixture(scope="module")
def postcodes(ox_postcodes):
    return ox_postcodes.set_index("pcd")


def test_council_sites_geocoded_offline(tmp_path, areas, bounds, postcodes):
    pcs = postcodes.index[[1000, 9000, 20000]].tolist()
    path = tmp_path / "sites.csv"
    path.write_text(
        "name,postcode,x,y,latitude,longitude,status,tier,annual_cost,setup_cost,capacity\n"
        f"Alpha centre,{pcs[0].lower().replace(' ', '')},,,,,existing,hub,600000,,\n"
        f"Beta spoke,{pcs[1]},,,,,candidate,Spoke,200000,,120\n"
        "Gamma hall,,455022,203206,,,candidate,hub,640000,300000,\n"
        "Delta church,,,,51.752,-1.2577,existing,spoke,180000,,\n")
    sites, info = read_council_sites(path, areas, lambda: bounds)
    assert sites.columns.tolist() == SITE_COLUMNS
    assert sites["site_id"].tolist() == ["S001", "S002", "S003", "S004"]
    # written back in the usual form: outward code, one space, inward code
    assert sites["postcode"].tolist()[:2] == [p[:-3].strip() + " " + p[-3:] for p in pcs[:2]]
    for i in (0, 1):
        assert sites.loc[i, ["x", "y"]].tolist() == postcodes.loc[pcs[i], ["oseast1m",
                                                                           "osnrth1m"]].tolist()
    assert sites.loc[2, ["x", "y"]].tolist() == [455022, 203206]
    lx, ly = to_bng(np.array([-1.2577]), np.array([51.752]))
    assert sites.loc[3, ["x", "y"]].tolist() == [round(lx[0]), round(ly[0])]
    assert sites["tier"].tolist() == ["hub", "spoke", "hub", "spoke"]
    # blanks get the documented defaults: setup for candidates, closure for existing sites
    assert sites["setup_cost"].tolist() == [0, DEFAULT_COSTS.spoke_setup, 300000, 0]
    assert sites["closure_cost"].tolist() == [DEFAULT_COSTS.closure, 0, 0, DEFAULT_COSTS.closure]
    # a blank capacity takes the default for its tier (children 0-4 a year)
    assert sites["capacity"].iloc[1] == 120
    assert sites["capacity"].iloc[0] == DEFAULT_COSTS.capacity("hub") == 1000
    assert (sites["source"] == "council").all()
    assert sites.loc[2, "locality"] == "Oxford" and sites.loc[3, "locality"] == "Oxford"
    assert info["located_by"] == {"latitude/longitude": 1, "postcode": 2, "x/y": 1}
    assert info["defaults_filled"] == {"setup_cost": 1, "closure_cost": 2, "capacity": 3}


def test_given_ids_and_localities_are_kept(tmp_path, areas, bounds):
    path = tmp_path / "sites.csv"
    path.write_text("site_id,name,x,y,status,tier,annual_cost,locality\n"
                    "OX-7,Gamma,455022,203206,existing,hub,1,Cherwell\n"
                    "OX-9,Delta,455022,203206,existing,hub,1,\n")
    sites, _ = read_council_sites(path, areas, lambda: bounds)
    assert sites["site_id"].tolist() == ["OX-7", "OX-9"]
    assert sites["locality"].tolist() == ["Cherwell", "Oxford"]


def test_unknown_locality_suggests(tmp_path, areas, bounds):
    path = tmp_path / "sites.csv"
    path.write_text("name,x,y,status,tier,annual_cost,locality\n"
                    "Gamma,455022,203206,existing,hub,1,Oxfrod\n")
    with pytest.raises(InputError, match="'Oxfrod' is not a locality") as err:
        read_council_sites(path, areas, lambda: bounds)
    assert "did you mean Oxford" in err.value.hint


def test_unknown_postcodes_are_one_error_listing_all(tmp_path, areas, bounds, postcodes):
    known = set(postcodes["pcd_abbr"])
    bad = [p for p in ("OX4 9ZZ", "OX1 0QQ", "OX3 9ZX", "OX2 9QZ", "OX5 9XQ")
           if p.replace(" ", "") not in known][:2]
    path = tmp_path / "sites.csv"
    good = postcodes.index[5]
    path.write_text("name,postcode,status,tier,annual_cost\n"
                    f"A,{bad[0]},existing,hub,1\nB,{good},existing,hub,1\n"
                    f"C,{bad[1]},candidate,spoke,1\n")
    with pytest.raises(InputError) as err:
        read_council_sites(path, areas, lambda: bounds)
    msg = err.value.message
    assert "2 postcode(s) are not in the ONS Postcode Directory" in msg
    assert f"row 2: {bad[0]}" in msg and f"row 4: {bad[1]}" in msg
    assert err.value.column == "postcode"


def test_unknown_and_outside_postcodes_are_listed_in_one_error(tmp_path, areas, bounds,
                                                               postcodes):
    known = set(postcodes["pcd_abbr"])
    bad = next(p for p in ("OX4 9ZZ", "OX1 0QQ", "OX3 9ZX") if p.replace(" ", "") not in known)
    path = tmp_path / "sites.csv"
    path.write_text("name,postcode,status,tier,annual_cost\n"
                    f"A,{postcodes.index[5]},existing,hub,1\n"
                    "Luton centre,LU1 1AA,existing,hub,1\n"
                    f"C,{bad},candidate,spoke,1\n")
    with pytest.raises(InputError) as err:
        read_council_sites(path, areas, lambda: bounds)
    msg = err.value.message
    assert f"1 postcode(s) are not in the ONS Postcode Directory: row 4: {bad}" in msg
    assert "1 site(s) are outside the local authority: row 3: Luton centre (LU1 1AA)" in msg
    assert err.value.row == 3 and msg.count("hint:") == 1


def test_site_outside_the_la(tmp_path, areas, bounds):
    path = tmp_path / "sites.csv"
    path.write_text("name,postcode,status,tier,annual_cost\n"
                    "Luton centre,LU1 1AA,existing,hub,1\n")
    with pytest.raises(InputError, match=r"1 site\(s\) are outside the local authority: "
                       r"row 2: Luton centre \(LU1 1AA\)"):
        read_council_sites(path, areas, lambda: bounds)


@pytest.mark.parametrize("content, problem", [
    ("name,status,tier,annual_cost\nA,existing,hub,1\n", "required column 'postcode'"),
    ("name,x,y,status,tier,annual_cost\nA,455022,203206,open,hub,1\n",
     "'open' is not one of existing, candidate"),
    ("name,x,y,status,tier,annual_cost\nA,455022,203206,existing,hub,-5\n", "negative"),
    ("site_id,name,x,y,status,tier,annual_cost\nA,a,455022,203206,existing,hub,1\n"
     "A,b,455022,203206,existing,hub,1\n", "'A' appears more than once"),
    ("name,x,y,status,tier,annual_cost\nA,,,existing,hub,1\n", "the site has no location"),
])
def test_bad_sites_files(tmp_path, areas, bounds, content, problem):
    path = tmp_path / "sites.csv"
    path.write_text(content)
    with pytest.raises(InputError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        read_council_sites(path, areas, lambda: bounds)


def test_generated_candidates(areas):
    sites = generate_candidates(areas)
    localities = sorted(areas["locality"].unique())
    hubs = sites[sites["tier"] == "hub"]
    spokes = sites[sites["tier"] == "spoke"]
    assert sorted(hubs["locality"]) == localities          # one hub per locality
    assert spokes.groupby("locality").size().max() <= 2
    assert (sites["status"] == "candidate").all() and (sites["source"] == "generated").all()
    assert hubs["site_id"].tolist() == [f"H{i:02d}" for i in range(1, len(hubs) + 1)]
    assert (hubs["annual_cost"] == DEFAULT_COSTS.hub_annual).all()
    assert (spokes["setup_cost"] == DEFAULT_COSTS.spoke_setup).all()
    # every site is at an area's population-weighted centroid, in its own locality
    at = areas.set_index(["x", "y"])
    for s in sites.itertuples():
        assert at.loc[(s.x, s.y), "locality"] == s.locality
    # spokes keep their distance from every other candidate
    xy = sites[["x", "y"]].to_numpy(float)
    for i in np.flatnonzero(sites["tier"].to_numpy() == "spoke"):
        d = np.hypot(*(xy - xy[i]).T)
        d[i] = np.inf
        assert d.min() >= SPOKE_SPACING_M
    # the neediest area (population x need) of the county hosts a candidate unless a hub
    # stands within the spacing
    demand = areas["population"] * areas["need"]
    top = areas.loc[demand.idxmax()]
    assert np.hypot(xy[:, 0] - top["x"], xy[:, 1] - top["y"]).min() < SPOKE_SPACING_M
    assert generate_candidates(areas).equals(sites)  # deterministic


def test_hub_is_the_most_populous_area_near_the_centre(areas):
    sites = generate_candidates(areas)
    oxford = areas[areas["locality"] == "Oxford"]
    w = oxford["population"]
    cx, cy = np.average(oxford["x"], weights=w), np.average(oxford["y"], weights=w)
    near = oxford[np.hypot(oxford["x"] - cx, oxford["y"] - cy) <= 3000]
    best = near.loc[near["population"].idxmax()]
    hub = sites[(sites["tier"] == "hub") & (sites["locality"] == "Oxford")].iloc[0]
    assert (hub["x"], hub["y"]) == (best["x"], best["y"])
    assert hub["name"] == "Oxford hub (candidate)"


def test_childrens_centres_become_existing_sites(areas, bounds, postcodes):
    centres = pd.DataFrame({
        "urn": ["1", "2", "3"], "name": ["Rose Hill CC", "Luton CC", "Banbury link"],
        "postcode": [postcodes.index[100], "LU1 1AA", postcodes.index[200]],
        "x": [np.nan, 508653.0, np.nan], "y": [np.nan, 221332.0, np.nan],
        "type": ["Children's centre", "Children's centre", "Children's centre linked site"],
    })
    sites = centres_as_sites(centres, areas, lambda: bounds)
    assert sites["name"].tolist() == ["Banbury link", "Rose Hill CC"]  # Luton's is outside
    assert sites["tier"].tolist() == ["spoke", "hub"]
    assert (sites["status"] == "existing").all() and (sites["source"] == "dfe_gias").all()
    assert sites["site_id"].tolist() == ["C01", "C02"]
