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
    DefaultCosts,
    all_area_candidates,
    centres_as_sites,
    combine_sites,
    generate_candidates,
    neighbourhoods,
    read_council_sites,
)
from optimiser.towns import english_places, town_centres


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
    assert info["defaults_filled"] == {"annual_cost": 0, "setup_cost": 1, "closure_cost": 2,
                                       "capacity": 3}


def test_blank_cells_take_the_defaults_in_every_column(tmp_path, areas, bounds):
    path = tmp_path / "sites.csv"
    path.write_text("name,x,y,status,tier,annual_cost,setup_cost,closure_cost,capacity\n"
                    "A,455022,203206,existing,hub,,,,\n"
                    "B,455022,203206,candidate,spoke,,,,\n"
                    "C,455022,203206,candidate,hub,1,2,3,4\n")
    sites, info = read_council_sites(path, areas, lambda: bounds)
    d = DEFAULT_COSTS
    assert sites["annual_cost"].tolist() == [d.hub_annual, d.spoke_annual, 1]
    assert sites["setup_cost"].tolist() == [0, d.spoke_setup, 2]
    assert sites["closure_cost"].tolist() == [d.closure, 0, 3]
    assert sites["capacity"].tolist() == [1000, 400, 4]
    assert info["defaults_filled"] == {"annual_cost": 2, "setup_cost": 1, "closure_cost": 1,
                                       "capacity": 2}
    # no cost columns at all: every cell takes its default
    path.write_text("name,x,y,status,tier\nA,455022,203206,candidate,hub\n")
    sites, info = read_council_sites(path, areas, lambda: bounds,
                                     DefaultCosts(age_group="0-19"))
    assert sites.loc[0, ["annual_cost", "setup_cost", "capacity"]].tolist() == [
        d.hub_annual, d.hub_setup, 1400]
    assert info["defaults_filled"] == {"annual_cost": 1, "setup_cost": 1, "closure_cost": 0,
                                       "capacity": 1}


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


@pytest.fixture(scope="module")
def oxon_sites(prepared):
    folder = prepared("Oxfordshire", "0-4")
    return (pd.read_csv(folder / "sites.csv", dtype={"site_id": str}),
            pd.read_csv(folder / "areas.csv", dtype={"area_id": str}))


def _area_of(sites: pd.DataFrame, areas: pd.DataFrame) -> pd.DataFrame:
    """Each site's nearest area (its LSOA name, ward and IMD decile)."""
    ax, ay = areas["x"].to_numpy(float), areas["y"].to_numpy(float)
    near = [int(np.argmin(np.hypot(ax - x, ay - y))) for x, y in
            zip(sites["x"], sites["y"], strict=True)]
    return areas.iloc[near][["name", "ward_name", "imd_decile", "locality"]].reset_index(
        drop=True)


def test_generated_candidates_oxfordshire(oxon_sites):
    sites, areas = oxon_sites
    localities = sorted(areas["locality"].unique())
    hubs, spokes = sites[sites["tier"] == "hub"], sites[sites["tier"] == "spoke"]
    assert len(localities) == 17 and (len(hubs), len(spokes)) == (19, 14)
    assert set(hubs["locality"]) == set(localities)           # a hub in every locality
    assert hubs["site_id"].tolist() == [f"H{i:02d}" for i in range(1, 20)]
    assert spokes["site_id"].tolist() == [f"S{i:02d}" for i in range(1, 15)]
    assert (sites["status"] == "candidate").all() and (sites["source"] == "generated").all()
    assert (hubs["annual_cost"] == DEFAULT_COSTS.hub_annual).all()
    assert (spokes["setup_cost"] == DEFAULT_COSTS.spoke_setup).all()
    assert (hubs["capacity"] == 1000).all() and (spokes["capacity"] == 400).all()
    # town centres: the hub stands in the town's central LSOA (Carfax, the Cross)
    at = _area_of(sites, areas).set_index(sites["name"])
    assert at.loc["Oxford centre hub (candidate)", "ward_name"] == "Carfax"
    assert at.loc["Banbury centre hub (candidate)", "ward_name"] == "Banbury Cross and Neithrop"
    assert at.loc["Witney centre hub (candidate)", "locality"] == "Witney"
    assert sites["name"].str.endswith("centre hub (candidate)").sum() == 15
    # the neediest neighbourhoods (IMD deciles 1-2), not the new estates with most children
    for name in ("Blackbird Leys hub (candidate)", "Banbury Ruscote hub (candidate)",
                 "Barton and Sandhills hub (candidate)"):
        assert at.loc[name, "imd_decile"] <= 2, name
    # every candidate keeps its distance from every other
    xy = sites[["x", "y"]].to_numpy(float)
    d = np.hypot(*(xy[:, None, :] - xy[None, :, :]).transpose(2, 0, 1))
    np.fill_diagonal(d, np.inf)
    assert d.min() >= SPOKE_SPACING_M


def test_deprived_neighbourhoods_are_clusters(areas):
    hoods = neighbourhoods(areas)
    oxford = hoods[hoods["locality"] == "Oxford"]
    # Oxford's deprived areas (IMD deciles 1-2), every one in exactly one neighbourhood
    deprived = areas.index[(areas["locality"] == "Oxford") & (areas["imd_decile"] <= 2)]
    members = [i for m in oxford["members"] for i in m]
    assert sorted(members) == sorted(deprived) and oxford["deprived"].all()
    assert hoods["score"].is_monotonic_decreasing
    top = areas.loc[list(oxford["members"].iloc[0])]
    assert top["need"].iloc[0] == top["need"].max()     # neediest member first


def test_locality_without_a_town_gets_its_hub_in_its_neediest_neighbourhood():
    a = pd.DataFrame({"area_id": ["A", "B", "C", "D"], "name": ["a", "b", "c", "d"],
                      "ward_name": ["Wa", "Wb", "Wc", "Wd"], "locality": ["L", "L", "M", "M"],
                      "x": [0.0, 3000.0, 9000.0, 12000.0], "y": [0.0] * 4,
                      "population": [10, 20, 30, 40], "need": [1.0, 2.0, 1.5, 0.5],
                      "imd_decile": [5, 6, 1, 9]})
    towns = pd.DataFrame({"place": ["Alpha"], "x": [100.0], "y": [0.0], "locality": ["L"]})
    sites = generate_candidates(a, towns=towns)
    assert sites[["site_id", "name", "tier", "locality"]].values.tolist() == [
        ["H01", "Alpha centre hub (candidate)", "hub", "L"],
        ["H02", "Wc hub (candidate)", "hub", "M"],
        ["S01", "Wb spoke (candidate)", "spoke", "L"]]
    # a council hub near the town centre: no generated hub there; spokes keep away too
    given = pd.DataFrame({"x": [0.0, 3500.0], "y": [0.0, 0.0], "tier": ["hub", "spoke"]})
    again = generate_candidates(a, towns=towns, existing=given)
    assert again["name"].tolist() == ["Wc hub (candidate)"]


def test_all_area_candidates(areas):
    sites = all_area_candidates(areas)
    assert len(sites) == 407 and sites["site_id"].is_unique and sites["name"].is_unique
    assert sites["site_id"].iloc[0] == "H-E01028422"
    assert sites["name"].iloc[0] == ("Adderbury, Bloxham and Bodicote hub (candidate, "
                                     "Cherwell 008A)")
    assert (sites["tier"] == "hub").all() and (sites["capacity"] == 1000).all()
    assert sites[["x", "y"]].values.tolist() == areas[["x", "y"]].values.tolist()
    assert all_area_candidates(areas).equals(sites)


def test_town_centres_stay_inside_the_council(mirror):
    from optimiser import loaders
    from optimiser.geography import resolve_la

    la = resolve_la("Luton", loaders.load_utla_lookup(mirror))
    a = build_areas(mirror, la).assign(locality="Luton")
    towns = town_centres(a, loaders.load_centroids(mirror))
    assert towns["place"].tolist() == ["Luton"]        # not Dunstable or Houghton Regis
    assert a.set_index("area_id").loc[towns["area_id"].iloc[0], "name"] == "Luton 018F"
    # GeoNames' "High Peak" is a district, at a point on Kinder Scout: not a town centre
    assert "High Peak" in set(english_places()["place"])
    derbys = build_areas(mirror, resolve_la("Derbyshire", loaders.load_utla_lookup(mirror)))
    places = set(town_centres(derbys.assign(locality="D"), loaders.load_centroids(mirror))["place"])
    assert {"Chesterfield", "Glossop", "Buxton", "Matlock"} <= places
    assert "High Peak" not in places


def test_combine_sites_keeps_the_council_ids():
    given = pd.DataFrame({"site_id": ["H01", "X"]})
    gen = pd.DataFrame({"site_id": ["H01", "S01"]})
    sites, prefixed = combine_sites(given, gen)
    assert prefixed and sites["site_id"].tolist() == ["H01", "X", "G-H01", "G-S01"]
    sites, prefixed = combine_sites(pd.DataFrame({"site_id": ["A"]}), gen)
    assert not prefixed and sites["site_id"].tolist() == ["A", "H01", "S01"]
    with pytest.raises(InputError, match=r"site id\(s\) G-S01 are also the ids of generated "
                       "candidates"):
        combine_sites(pd.DataFrame({"site_id": ["S01", "G-S01"]}), gen)


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
