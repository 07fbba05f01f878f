"""Localities: which locality each area belongs to.

Centres follow a county's existing localities, so every area needs exactly one. Three sources,
in this order (:func:`assign_localities`):

1. **The council's own lookup**, named by the user: a CSV keyed by LSOA 2011 code (column
   ``lsoa11cd``, ``LSOA11CD`` or ``area_id``) or by ward (``ward_code``/``WD19CD`` or
   ``ward_name``/``WD19NM``), with a ``locality`` column; or locality polygons (GeoPackage,
   shapefile, GeoJSON) with a ``locality`` (or ``name``) column, in which each area's
   population-weighted centroid is placed.
2. **A lookup shipped with the project**: ``data/localities/<la_code>.csv`` or
   ``data/localities/<la name>.csv`` (e.g. ``oxfordshire.csv``; see its README).
3. **Built from ward names** (:func:`build_localities`), for councils with neither.

How the builder works (deterministic; a council can explain and override it)
---------------------------------------------------------------------------
1. *Towns*: within each district, urban areas (ONS rural-urban classification) whose
   population-weighted centroids lie within 2 km of each other form a town; towns of fewer
   than 3 areas are not towns. A town is named after the town name most of its wards carry
   (wards "Banbury Ruscote" and "Banbury Hardwick" carry "Banbury"); failing that, after the
   district when it holds at least a quarter of the district's areas (Oxford, Luton,
   Burnley); failing that, after its largest ward (Thame, Henley-on-Thames). Groups of at
   least two wards of a district sharing a town name ("Kirkham North", "Kirkham South") are
   towns too, even where ONS counts them as rural.
2. *Whole wards named after a town* belong to it ("Bicester South and Ambrosden" -> Bicester).
3. *Every other area* goes to the town whose population-weighted centre is nearest in a
   straight line.
4. *Count*: while there are more localities than the target's upper end, or the smallest
   has under a quarter of the average locality's children (and the count is above the lower
   end), the one with the fewest children joins its neighbour (the locality that most of its
   areas have as their nearest outside area: roughly, the longest shared border); while
   there are fewer than its lower end, the one with the most children is cut in two across
   its longest axis at the population midpoint, keeping wards whole where it has several.
   The target shrinks for small councils (at most one locality per 8 areas, at least one
   per 10, i.e. roughly a children's centre's reach of 1,000-1,500 under-fives): Luton's 121
   areas get 12-15, Rutland's 23 get 2.
5. *No enclaves*: an area placed by nearness that is cut off from its locality (none of its
   6 nearest areas is in it, or the nearest that is lies over 3 km away and more than twice
   as far as its nearest area) joins the locality most of its 6 nearest areas are in.
6. Parts of a cut town are named by compass point from the town's centre ("Luton North").

Examples
--------
>>> import pandas as pd
>>> areas = pd.DataFrame({
...     "area_id": [f"E0100000{i}" for i in range(6)],
...     "ward_name": ["Banbury North", "Banbury South", "Banbury South", "Deddington",
...                   "Bicester East", "Bicester West"],
...     "lad_name": ["Cherwell"] * 6, "x": [445e3, 445e3, 445.5e3, 446e3, 458e3, 457.5e3],
...     "y": [241e3, 240e3, 240e3, 233e3, 222e3, 222e3], "population": [100] * 6,
...     "rural": [False, False, False, True, False, False]})
>>> build_localities(areas, target=(2, 2), scale_to_size=False).tolist()
['Banbury', 'Banbury', 'Banbury', 'Banbury', 'Bicester', 'Bicester']
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import InputError
from optimiser.files import EXCEL_SUFFIXES, read_table
from optimiser.paths import shipped_data_dir

#: How close (metres) urban area centroids must be to belong to one town.
TOWN_LINK_M = 2000.0
#: The fewest urban areas that make a town.
MIN_TOWN_AREAS = 3
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

# Words that do not make a town name on their own ("St Ives", "North Hykeham").
_PREFIX_WORDS = {"st", "st.", "saint", "north", "south", "east", "west", "great", "little",
                 "upper", "lower", "new", "old", "market", "long", "high", "kings", "king's",
                 "the", "nether", "far", "near", "central", "castle", "church", "chipping"}
# Words that qualify a town's ward rather than name the town ("Preston Rural East").
_QUALIFIERS = {"north", "south", "east", "west", "central", "rural", "town", "and", "&", "with",
               "north-east", "north-west", "south-east", "south-west", "centre", "city"}
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
            hint="key it by LSOA 2011 code (column lsoa11cd) or by ward (ward_code, WD19CD or "
            "ward_name); the file has columns: " + ", ".join(map(str, head.columns)))
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
                "lsoa": "add a row (LSOA 2011 code, locality) for each missing area: every area "
                        "needs exactly one locality. Codes must be LSOA 2011 codes, as IMD 2019 "
                        "uses",
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
# Building localities from ward names
# --------------------------------------------------------------------------------------------


def _norm_ward(name: str) -> str:
    text = str(name).lower().replace("&", " and ")
    return re.sub(r"\s+", " ", re.sub(r"[^\w\s'-]", " ", text)).strip()


def _tokens(name: str) -> list[str]:
    return [t.strip(",.;:()") for t in str(name).replace("&", " & ").split() if t.strip(",.;:()")]


def town_key(ward_name: str) -> str | None:
    """The town a ward name carries: its first word, or two when the first is 'St', 'North'...

    >>> town_key("Banbury Ruscote"), town_key("St Neots Eatons"), town_key("Thame")
    ('banbury', 'st neots', 'thame')
    """
    tokens = [t.lower() for t in _tokens(ward_name)]
    if not tokens:
        return None
    n = 2 if tokens[0] in _PREFIX_WORDS and len(tokens) > 1 else 1
    key = " ".join(tokens[:n])
    return None if key in _QUALIFIERS or key in _PREFIX_WORDS else key


def _town_name(ward_names: list[str]) -> str:
    """Longest common leading words of the wards' names, without trailing qualifiers."""
    split = [_tokens(w) for w in sorted(ward_names)]
    common: list[str] = []
    for words in zip(*split, strict=False):
        if len({w.lower() for w in words}) != 1:
            break
        common.append(words[0])
    while len(common) > 1 and common[-1].lower() in _QUALIFIERS:
        common.pop()
    return " ".join(common)


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


def _components(d: np.ndarray, link: float) -> np.ndarray:
    """Connected components of points closer than ``link`` (single linkage); labels 0..k-1."""
    m = len(d)
    labels = np.arange(m)
    adj = d <= link
    while True:
        new = np.where(adj, labels[None, :], m).min(axis=1)
        if np.array_equal(new, labels):
            break
        labels = new
    return np.unique(labels, return_inverse=True)[1]


def _centroid(xy: np.ndarray, w: np.ndarray) -> np.ndarray:
    return (xy * w[:, None]).sum(axis=0) / w.sum()


def _column(areas: pd.DataFrame, names: tuple[str, ...], default) -> np.ndarray:
    for name in names:
        if name in areas.columns:
            return areas[name].fillna("").astype(str).str.strip().to_numpy(dtype=object)
    return np.array([default(i) for i in range(len(areas))], dtype=object)


def _rural(areas: pd.DataFrame) -> np.ndarray:
    if "rural" not in areas.columns:
        return np.zeros(len(areas), dtype=bool)
    col = areas["rural"]
    if pd.api.types.is_bool_dtype(col):
        return col.fillna(False).to_numpy(dtype=bool)
    return col.astype(str).str.strip().str.lower().isin(["true", "1", "yes", "y", "t"]).to_numpy()


def build_localities(
    areas: pd.DataFrame, *, target: tuple[int, int] = (12, 20), scale_to_size: bool = True
) -> pd.Series:
    """Town-based localities built from ward names, urban areas and nearest towns.

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
    frame = areas.iloc[canon]
    xy = frame[["x", "y"]].to_numpy(dtype=float)
    pop = (pd.to_numeric(frame["population"], errors="coerce").fillna(0).to_numpy(dtype=float)
           if "population" in frame.columns else np.ones(n))
    weight = pop + 1e-6                                       # zero-population areas still count
    ward = _column(frame, ("ward_name", "ward_code"), lambda i: str(ids[canon][i]))
    lad = _column(frame, ("lad_name", "lad_code"), lambda i: "")
    rural = _rural(frame)
    lo, hi = _effective_target(n, target, scale_to_size)
    d = np.hypot(xy[:, None, 0] - xy[None, :, 0], xy[:, None, 1] - xy[None, :, 1])

    label = np.full(n, -1)
    names: list[str] = []
    base: list[str] = []                                     # the town a part was cut from
    keys = np.array([town_key(w) for w in ward], dtype=object)

    def add(name: str, members: np.ndarray) -> None:
        label[members] = len(names)
        names.append(name)
        base.append(name)

    # 1a. Ward-name towns: at least two wards of a district sharing a town name.
    ward_towns: dict[tuple[str, str], str] = {}
    groups = pd.DataFrame({"lad": lad, "key": keys, "ward": ward}).dropna(subset=["key"])
    for (district, key), g in groups.groupby(["lad", "key"], sort=True):
        wards = sorted(set(g["ward"]))
        if len(wards) >= 2:
            ward_towns[(district, key)] = _town_name(wards) or key.title()

    # 1b. Urban towns: clusters of urban areas within each district.
    lad_size = pd.Series(lad).value_counts()
    same_town: dict[tuple[str, str], int] = {}
    for district in sorted(set(lad)):
        idx = np.flatnonzero((lad == district) & ~rural)
        if len(idx) < MIN_TOWN_AREAS:
            continue
        comp = _components(d[np.ix_(idx, idx)], TOWN_LINK_M)
        for c in range(comp.max() + 1):
            members = idx[comp == c]
            if len(members) < MIN_TOWN_AREAS:
                continue
            name = _name_cluster(members, keys, ward, pop, district, lad_size[district],
                                 ward_towns)
            if (district, name) in same_town:                # one town in several pieces
                label[members] = same_town[(district, name)]
            else:
                same_town[(district, name)] = len(names)
                add(name, members)

    # 1c. Ward-name towns not already a town above (small towns ONS counts as rural).
    town_of_name = {}
    for t, name in enumerate(names):
        town_of_name.setdefault(name, t)
    for (district, key), name in sorted(ward_towns.items()):
        members = np.flatnonzero((lad == district) & (keys == key))
        if name in town_of_name or (label[members] >= 0).mean() > 0.5:
            continue
        free = members[label[members] < 0]
        if len(free):
            add(name, free)
            town_of_name[name] = len(names) - 1

    # 2. Whole wards named after a town of their district belong to it.
    for (district, key), name in ward_towns.items():
        if name in town_of_name:
            members = np.flatnonzero((lad == district) & (keys == key))
            label[members] = town_of_name[name]

    if not names:                                            # no towns at all: one locality
        add(lad[0] or "All areas", np.arange(n))
    # 3. Everything else: the town whose population-weighted centre is nearest.
    free = np.flatnonzero(label < 0)
    if len(free):
        towns = np.array(sorted(set(label[label >= 0].tolist())))
        centres = np.array([_centroid(xy[label == t], weight[label == t]) for t in towns])
        dist = np.hypot(xy[free, None, 0] - centres[None, :, 0],
                        xy[free, None, 1] - centres[None, :, 1])
        label[free] = towns[dist.argmin(axis=1)]

    # 4. Bring the count within the target.
    label, names, base = _merge_and_split(label, names, base, d, xy, weight, ward, lo, hi)
    label = _no_enclaves(label, free, d)

    # 5. Names for the parts of cut towns, by compass point.
    final = _part_names(label, names, base, xy, weight, ward)
    out = np.empty(n, dtype=object)
    out[canon] = [final[t] for t in label]
    return pd.Series(out, index=areas.index, name="locality")


def _name_cluster(members, keys, ward, pop, district, district_size, ward_towns) -> str:
    key_counts = pd.Series(keys[members]).dropna().value_counts()
    key_counts = key_counts[[(district, k) in ward_towns for k in key_counts.index]]
    if len(key_counts):
        top = sorted(key_counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        if top[1] * 2 >= len(members):
            return ward_towns[(district, top[0])]
    if district and len(members) * 4 >= district_size:
        return district
    if len(key_counts):
        top = sorted(key_counts.items(), key=lambda kv: (-kv[1], kv[0]))[0]
        return ward_towns[(district, top[0])]
    wards = pd.DataFrame({"ward": ward[members], "pop": pop[members]})
    sizes = wards.groupby("ward").agg(n=("pop", "size"), pop=("pop", "sum"))
    return str(sorted(sizes.itertuples(), key=lambda r: (-r.n, -r.pop, r.Index))[0].Index)


def _merge_and_split(label, names, base, d, xy, weight, ward, lo, hi):
    label = label.copy()
    alive = sorted(set(label.tolist()))

    def population(t):
        return weight[label == t].sum()

    total = weight.sum()
    while len(alive) > lo:
        # The locality with the fewest children joins its neighbour, while there are too
        # many, or it has under a quarter of the average locality's children.
        small = min(alive, key=lambda t: (population(t), names[t]))
        if len(alive) <= hi and population(small) * len(alive) >= SMALL_SHARE * total:
            break
        label[label == small] = _neighbour(label, small, d)
        alive.remove(small)
    while len(alive) < lo:
        big = max(alive, key=lambda t: (population(t), [-ord(c) for c in names[t]]))
        members = np.flatnonzero(label == big)
        if len(members) < 2:
            break
        part = _halve(members, xy, weight, ward)
        new = len(names)
        names.append(names[big])
        base.append(base[big])
        label[members[part]] = new
        alive.append(new)
    keep = sorted(set(label.tolist()))
    remap = {t: i for i, t in enumerate(keep)}
    label = np.array([remap[t] for t in label])
    return label, [names[t] for t in keep], [base[t] for t in keep]


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


def _part_names(label, names, base, xy, weight, ward) -> list[str]:
    final = list(names)
    by_base: dict[str, list[int]] = {}
    for t, b in enumerate(base):
        by_base.setdefault(b, []).append(t)
    taken = set(names)
    for b, parts in by_base.items():
        if len(parts) < 2:
            continue
        inside = np.isin(label, parts)
        centre = _centroid(xy[inside], weight[inside])
        offsets = {t: _centroid(xy[label == t], weight[label == t]) - centre for t in parts}
        radius = {t: float(np.hypot(*offsets[t])) for t in parts}
        labels: dict[int, str] = {}
        if len(parts) == 2:
            dx, dy = offsets[parts[0]]
            vertical = abs(dy) >= abs(dx)
            for t in parts:
                ox, oy = offsets[t]
                labels[t] = ("North" if oy > 0 else "South") if vertical else (
                    "East" if ox > 0 else "West")
        else:
            inner = min(parts, key=lambda t: (radius[t], t))
            others = sorted(radius[t] for t in parts if t != inner)
            if radius[inner] < 0.5 * others[len(others) // 2]:
                labels[inner] = "Central"
            for t in parts:
                if t not in labels:
                    angle = np.degrees(np.arctan2(offsets[t][1], offsets[t][0])) % 360
                    labels[t] = _COMPASS[int(((angle + 22.5) % 360) // 45)]
        counts = pd.Series(labels).value_counts()
        for t in parts:
            name = f"{b} {labels[t]}"
            if counts[labels[t]] > 1 or name in taken:
                wards = pd.Series(weight[label == t], index=ward[label == t]).groupby(
                    level=0).sum()
                top = sorted(wards.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
                name = f"{name} ({top})"
            final[t] = name
            taken.add(name)
    # Two towns of the same name in different districts: tell them apart by number.
    seen: dict[str, int] = {}
    for t, name in enumerate(final):
        if name in seen:
            seen[name] += 1
            final[t] = f"{name} {seen[name]}"
        else:
            seen[name] = 1
    return final
