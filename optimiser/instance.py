"""The instance: the folder of CSV files that ``prepare`` writes and ``solve`` reads.

A planner can also write or edit one by hand (add a candidate site to ``sites.csv``, say), so
reading it checks everything ``solve`` relies on and names the file, row and column of any problem.

Files (coordinates are British National Grid, EPSG:27700, metres):

``areas.csv``
    Required: ``area_id`` (unique), ``locality``, ``x``, ``y``, ``population`` (the children the
    service is for), ``need`` (multiplier, population-weighted mean 1), ``rural`` (true/false).
    Optional: ``name`` and the raw indicators (``imd_score``, ``imd_decile``, ``cin``, ``cpp``,
    ``under5``, ``total_population``, ...), carried through to the outputs.
``sites.csv``
    Required: ``site_id`` (unique), ``name``, ``x``, ``y``, ``status`` (existing | candidate),
    ``tier`` (hub | spoke), ``annual_cost`` (£ a year). Optional: ``setup_cost`` (one-off, for
    candidates; default 0), ``closure_cost`` (one-off, for existing sites; default 0),
    ``capacity`` (children; blank = unlimited), ``locality``.
``travel.csv`` (optional)
    ``area_id``, ``site_id``, ``minutes``. When present it replaces the straight-line estimate for
    the pairs it lists; pairs it does not list are treated as out of reach.

Examples
--------
>>> inst = read_instance("tests/fixtures/tiny_instance")  # doctest: +SKIP
>>> inst.areas.columns[:3].tolist()  # doctest: +SKIP
['area_id', 'name', 'locality']
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser import limits
from optimiser.errors import InputError
from optimiser.files import parse_bool_column, read_table, suggest, write_csv
from optimiser.geography import looks_like_degrees

AREA_REQUIRED = ["area_id", "locality", "x", "y", "population", "need", "rural"]
SITE_REQUIRED = ["site_id", "name", "x", "y", "status", "tier", "annual_cost"]
TRAVEL_REQUIRED = ["area_id", "site_id", "minutes"]
SITE_STATUSES = ("existing", "candidate")
SITE_TIERS = ("hub", "spoke")


@dataclass
class Instance:
    """Areas, sites and (optionally) travel times, as validated DataFrames.

    Attributes
    ----------
    areas
        One row per area, ``area_id`` as a string column (not the index), in file order.
    sites
        One row per site, ``site_id`` as a string column, with ``setup_cost`` and
        ``closure_cost`` filled (0 when absent) and ``capacity`` NaN when unlimited.
    travel
        Long table ``area_id, site_id, minutes``, or ``None`` when the instance has no travel.csv.
    folder
        Where it was read from (``None`` for an instance built in memory).
    metadata
        ``prepare.json`` (the council, sources, whether CIN/CPP are modelled, ...), so the
        title and flags travel with an instance built or read in memory; empty when unknown.
    """

    areas: pd.DataFrame
    sites: pd.DataFrame
    travel: pd.DataFrame | None = None
    folder: Path | None = None
    metadata: dict = field(default_factory=dict)

    @property
    def localities(self) -> list[str]:
        """Locality names in first-appearance order (deterministic)."""
        return list(dict.fromkeys(self.areas["locality"]))

    @property
    def existing_site_ids(self) -> list[str]:
        return self.sites.loc[self.sites["status"] == "existing", "site_id"].tolist()


#: The largest plausible values (optimiser.limits), with what each column holds.
AREA_LIMITS = {
    "population": (limits.MAX_AREA_CHILDREN, "the number of children in the area"),
    "need": (limits.MAX_NEED, "a multiplier averaging 1 over the county's children"),
}
SITE_LIMITS = {
    "capacity": (limits.MAX_SITE_CAPACITY, "children a year (blank for no limit)"),
    **{col: (limits.MAX_POUNDS, "pounds") for col in ("annual_cost", "setup_cost",
                                                      "closure_cost")},
}


def _check_choice(df: pd.DataFrame, col: str, allowed: tuple[str, ...], file: Path) -> None:
    values = df[col].astype(str).str.strip().str.lower()
    bad = ~values.isin(allowed)
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        empty = _blank(df[col].iloc[[i]])[0]
        raise InputError(
            "the cell is empty" if empty else f"'{df[col].iloc[i]}' is not one of "
            f"{', '.join(allowed)}",
            file=file, row=i + 2, column=col,
            hint=f"write one of: {', '.join(allowed)}",
        )
    df[col] = values


def _blank(values: pd.Series) -> np.ndarray:
    """Empty cells, however they were read (pandas 3 keeps NaN through ``astype(str)``)."""
    text = values.astype("string").str.strip()
    return (values.isna() | text.isna() | text.isin(["", "nan", "None", "<NA>"])).to_numpy(
        dtype=bool)


def _require_text(df: pd.DataFrame, col: str, file: Path, problem: str, hint: str) -> None:
    blank = _blank(df[col])
    if blank.any():
        i = int(np.flatnonzero(blank)[0])
        raise InputError(problem, file=file, row=i + 2, column=col, hint=hint)
    df[col] = df[col].astype(str).str.strip().astype(object)


def validate_areas(areas: pd.DataFrame, file: Path) -> pd.DataFrame:
    """Check an areas table (already read) and normalise its types."""
    areas = areas.copy()
    _require_text(areas, "area_id", file, "the area has no area_id",
                  "every area needs its code (e.g. its LSOA code)")
    _require_text(areas, "locality", file, "the area has no locality",
                  "every area must belong to a locality (see data/localities/)")
    areas["rural"] = parse_bool_column(areas, "rural", file=file)
    if "name" not in areas.columns:
        areas["name"] = areas["area_id"]
    areas["name"] = areas["name"].fillna(areas["area_id"]).astype(str)
    if float(areas["population"].sum()) <= 0:
        raise InputError("the total population is zero", file=file, column="population",
                         hint="areas.csv needs the number of children in each area")
    if float((areas["population"] * areas["need"]).sum()) <= 0:
        raise InputError(
            "every area's need is 0, so there is no need for the plan to reach (every plan "
            "would reach '100% of 0')", file=file, column="need",
            hint="need is a multiplier averaging 1 over the county's children (as 'optimiser "
            "prepare' writes it); give the areas their need")
    _check_area_coordinates(areas, file)
    return areas


def _check_area_coordinates(areas: pd.DataFrame, file: Path) -> None:
    """Areas in degrees (longitude/latitude) rather than British National Grid metres, and an
    area (or a few) far from all the others: a mistyped or pasted coordinate."""
    for i, (x, y) in enumerate(zip(areas["x"], areas["y"], strict=True)):
        if looks_like_degrees(x, y):
            raise InputError(
                f"x {x:g}, y {y:g} look like longitude and latitude in degrees", file=file,
                row=i + 2, column="x",
                hint="x and y are British National Grid metres (EPSG:27700), e.g. x 451000, "
                "y 206000 for Oxford; convert the degrees, or let 'optimiser prepare' write them")
    _check_isolated_areas(areas, file)


#: Areas further than this from every other area (metres) are a mistake: neighbouring LSOA
#: centroids are a few km apart even in the most rural county, and an island council is its
#: own authority (Isles of Scilly, Isle of Wight). The same distance as SITE_MARGIN_M.
AREA_GAP_M = 50_000


def _groups(xy: np.ndarray, gap: float) -> tuple[int, np.ndarray]:
    """Groups of points linked by steps of at most ``gap`` (single linkage): the number of
    groups and each point's group. The links that matter are edges of the Delaunay
    triangulation (it holds the minimum spanning tree), so this is fast for any county."""
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import Delaunay, QhullError, cKDTree

    try:
        tri = Delaunay(xy).simplices
        pairs = np.vstack([tri[:, [0, 1]], tri[:, [1, 2]], tri[:, [0, 2]]])
    except (QhullError, ValueError):  # fewer than 3 distinct points, or all on one line
        pairs = cKDTree(xy).query_pairs(gap, output_type="ndarray")
    length = np.hypot(*(xy[pairs[:, 0]] - xy[pairs[:, 1]]).T)
    keep = pairs[length <= gap]
    graph = coo_matrix((np.ones(len(keep)), (keep[:, 0], keep[:, 1])), shape=(len(xy),) * 2)
    return connected_components(graph, directed=False)


def _check_isolated_areas(areas: pd.DataFrame, file: Path) -> None:
    """Areas form one group with no gap wider than :data:`AREA_GAP_M`; the smaller group of a
    split (an area moved 500 km by a typing error) is named by its first row."""
    xy = areas[["x", "y"]].to_numpy(dtype=float)
    if len(xy) < 2:
        return
    n, label = _groups(xy, AREA_GAP_M)
    if n == 1:
        return
    sizes = np.bincount(label)
    main = int(np.argmax(sizes))
    i = int(np.flatnonzero(label != main)[0])
    others = xy[label == main]
    gaps = np.hypot(others[:, 0] - xy[i, 0], others[:, 1] - xy[i, 1])
    near = others[int(np.argmin(gaps))]
    away = float(gaps.min())
    column = "x" if abs(near[0] - xy[i, 0]) >= abs(near[1] - xy[i, 1]) else "y"
    stray = int((label != main).sum())
    more = f" ({stray} areas are)" if stray > 1 else ""
    raise InputError(
        f"area '{areas['area_id'].iloc[i]}' at x {xy[i, 0]:g}, y {xy[i, 1]:g} is "
        f"{away / 1000:,.0f} km from the other areas{more}", file=file, row=i + 2,
        column=column,
        hint="check the coordinates: x is the easting and y the northing in British National "
        "Grid metres (EPSG:27700), e.g. x 451000, y 206000 for Oxford; a mistyped digit moves "
        "an area hundreds of km")


#: A site further than this from every area's bounding box is taken to be a mistake (metres),
#: or further than a quarter of the box's diagonal when that is more (a large county). A site
#: just over the border (a centre a neighbouring council runs) is well inside it.
SITE_MARGIN_M = 50_000


def check_site_coordinates(sites: pd.DataFrame, areas: pd.DataFrame, file: Path) -> None:
    """Every site lies in or near the areas (a site in degrees, say, would be 400 km away).

    Raises
    ------
    InputError
        Naming the row and how far away the site is, and saying degrees when it looks like
        longitude/latitude.
    """
    x0, x1 = float(areas["x"].min()), float(areas["x"].max())
    y0, y1 = float(areas["y"].min()), float(areas["y"].max())
    margin = max(SITE_MARGIN_M, 0.25 * float(np.hypot(x1 - x0, y1 - y0)))
    dx = np.maximum(np.maximum(x0 - sites["x"], sites["x"] - x1), 0)
    dy = np.maximum(np.maximum(y0 - sites["y"], sites["y"] - y1), 0)
    away = np.hypot(dx, dy).to_numpy(dtype=float)
    degrees = np.array([looks_like_degrees(x, y) for x, y in zip(sites["x"], sites["y"],
                                                                 strict=True)])
    bad = (away > margin) | (degrees & (away > 1_000))
    if not bad.any():
        return
    if not degrees[bad].any():
        _check_swapped_axes(sites, areas, bad, margin, file)
    i = int(np.flatnonzero(bad)[0])
    x, y = float(sites["x"].iloc[i]), float(sites["y"].iloc[i])
    more = f" ({int(bad.sum())} sites are)" if bad.sum() > 1 else ""
    if degrees[i]:
        raise InputError(
            f"site '{sites['site_id'].iloc[i]}' at x {x:g}, y {y:g}: these look like "
            f"longitude and latitude in degrees, which puts the site {away[i] / 1000:,.0f} km "
            f"from the areas{more}", file=file, row=i + 2, column="x",
            hint="x and y are British National Grid metres (EPSG:27700), e.g. x 451000, "
            "y 206000 for Oxford; convert the degrees (or give a sites file with latitude and "
            "longitude columns to 'optimiser prepare --sites')")
    raise InputError(
        f"site '{sites['site_id'].iloc[i]}' at x {x:g}, y {y:g} is {away[i] / 1000:,.0f} km "
        f"from the nearest area{more}, too far to serve them", file=file, row=i + 2,
        column="x",
        hint="check the coordinates: x is the easting and y the northing in British National "
        "Grid metres (EPSG:27700), as in areas.csv")


def _box_distance(x: np.ndarray, y: np.ndarray, areas: pd.DataFrame) -> np.ndarray:
    x0, x1 = float(areas["x"].min()), float(areas["x"].max())
    y0, y1 = float(areas["y"].min()), float(areas["y"].max())
    return np.hypot(np.maximum(np.maximum(x0 - x, x - x1), 0),
                    np.maximum(np.maximum(y0 - y, y - y1), 0))


def _y_first(df: pd.DataFrame) -> bool:
    cols = list(df.columns)
    return cols.index("y") < cols.index("x")


def _check_swapped_axes(sites: pd.DataFrame, areas: pd.DataFrame, bad: np.ndarray,
                        margin: float, file: Path) -> None:
    """Sites far from the areas that would lie among them with x and y swapped: one of the two
    files has its columns swapped. The file is named when its header gives it away (y before
    x, as after swapping the header names), or when only some sites are off (their rows);
    otherwise both files are."""
    from optimiser.model.words import plural

    x, y = sites["x"].to_numpy(dtype=float), sites["y"].to_numpy(dtype=float)
    if not (_box_distance(y[bad], x[bad], areas) <= margin).all():
        return
    areas_file = file.parent / "areas.csv"
    i = int(np.flatnonzero(bad)[0])
    hint = ("x is the easting and y the northing, in British National Grid metres (EPSG:27700), "
            "e.g. x 451000, y 206000 for Oxford: swap the two columns' values back")
    if not bad.all() or (_y_first(sites) and not _y_first(areas)):
        raise InputError(
            f"site '{sites['site_id'].iloc[i]}' at x {x[i]:g}, y {y[i]:g} is far from the "
            "areas, but with x and y swapped it would lie among them: this file's x and y are "
            f"swapped{'' if bad.all() else ' on ' + plural(int(bad.sum()), 'row')}",
            file=file, row=i + 2, column="x", hint=hint)
    if _y_first(areas) and not _y_first(sites):
        raise InputError(
            "the areas' x and y are swapped (the header names y before x): every site is "
            "far from the areas, and with the areas' x and y swapped the sites lie among them",
            file=areas_file, row=1, column="x", hint=hint)
    raise InputError(
        "every site is far from the areas, but with x and y swapped in one of the two files "
        f"they would lie among them: either {areas_file.name} or {file.name} has its x and y "
        "columns swapped", file=file.parent, hint=hint + " in the file that has them the wrong "
        "way round")


def validate_sites(sites: pd.DataFrame, file: Path) -> pd.DataFrame:
    """Check a sites table (already read) and fill optional columns."""
    sites = sites.copy()
    _require_text(sites, "site_id", file, "the site has no site_id",
                  "give every site a short unique id (scenarios name sites by it)")
    _require_text(sites, "name", file, "the site has no name",
                  "give every site a name people will recognise")
    _check_choice(sites, "status", SITE_STATUSES, file)
    _check_choice(sites, "tier", SITE_TIERS, file)
    for col in ("setup_cost", "closure_cost"):
        if col not in sites.columns:
            sites[col] = 0.0
        sites[col] = sites[col].fillna(0.0).astype(float)
    if "capacity" not in sites.columns:
        sites["capacity"] = np.nan
    sites["capacity"] = sites["capacity"].astype(float)
    negative = sites["capacity"] < 0
    if negative.any():
        i = int(np.flatnonzero(negative.to_numpy())[0])
        raise InputError(f"value {sites['capacity'].iloc[i]:g} is negative", file=file,
                         row=i + 2, column="capacity",
                         hint="capacity counts children: leave it blank for unlimited")
    if "locality" in sites.columns:
        sites["locality"] = sites["locality"].astype("string").str.strip().astype(object)
    return sites


def check_site_localities(
    values: pd.Series, known: pd.Series, *, file: Path, where: str, blank: str
) -> None:
    """Every site locality that is filled in must be one of the areas' localities.

    A misspelt locality would silently leave the site out of its locality's rules (a site per
    locality, floors), so it is an error naming the row, with a close match when there is one.
    ``blank`` says what a blank cell means, before the list of localities in the hint.
    """
    names = sorted(set(known))
    for i, value in enumerate(values):
        if pd.notna(value) and value != "" and value not in names:
            close = suggest(str(value), names)
            raise InputError(
                f"'{value}' is not a locality of {where}", file=file, row=i + 2,
                column="locality",
                hint=(f"did you mean {close[0]}? " if close else "") + blank + ", ".join(names))


def read_instance(folder: str | Path) -> Instance:
    """Read and check an instance folder.

    Raises
    ------
    InputError
        Naming the file, row and column of the first problem found.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            "the instance folder does not exist", file=folder,
            hint="run 'optimiser prepare --la NAME --out FOLDER' first, or fix the path",
        )
    areas_file = folder / "areas.csv"
    sites_file = folder / "sites.csv"
    for f in (areas_file, sites_file):
        if not f.exists():
            raise InputError(
                f"the instance has no {f.name}", file=f,
                hint="an instance folder needs areas.csv and sites.csv (see the README)",
            )
    areas = read_table(
        areas_file, required=AREA_REQUIRED, numeric=["x", "y"],
        nonnegative=["population", "need"], unique=["area_id"],
        text=["area_id", "locality", "name"], what="areas file", at_most=AREA_LIMITS,
    )
    areas = validate_areas(areas, areas_file)
    sites = read_table(
        sites_file, required=SITE_REQUIRED, numeric=["x", "y", "capacity"],
        # capacity may be blank (= unlimited), so it is checked for negatives in validate_sites
        nonnegative=[c for c in ("annual_cost", "setup_cost", "closure_cost")],
        unique=["site_id"], text=["site_id", "name", "locality"], what="sites file",
        at_most=SITE_LIMITS,
    )
    sites = validate_sites(sites, sites_file)
    check_site_coordinates(sites, areas, sites_file)
    if "locality" in sites.columns:
        check_site_localities(sites["locality"], areas["locality"], file=sites_file,
                              where="areas.csv", blank="leave it blank, or use one of: ")

    travel = None
    travel_file = folder / "travel.csv"
    if travel_file.exists():
        travel = read_table(
            travel_file, required=TRAVEL_REQUIRED, nonnegative=["minutes"],
            text=["area_id", "site_id"], what="travel file",
            at_most={"minutes": (limits.MAX_MINUTES, "minutes of one trip; leave a pair that "
                                 "cannot be travelled out of travel.csv (unlisted pairs are "
                                 "out of reach)")},
        )
        travel = validate_travel(travel, areas, sites, travel_file)

    return Instance(areas=areas, sites=sites, travel=travel, folder=folder,
                    metadata=_prepare_json(folder / "prepare.json"))


def _prepare_json(path: Path) -> dict:
    """``prepare.json`` when it is there and readable (it is optional: a hand-made instance
    has none, and the report names a damaged one when it reads it)."""
    import json

    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def validate_travel(
    travel: pd.DataFrame, areas: pd.DataFrame, sites: pd.DataFrame, file: Path
) -> pd.DataFrame:
    """Check that travel times refer to known areas and sites, once per pair."""
    travel = travel[TRAVEL_REQUIRED].copy()
    for col, known, kind in (
        ("area_id", set(areas["area_id"]), "areas.csv"),
        ("site_id", set(sites["site_id"]), "sites.csv"),
    ):
        unknown = ~travel[col].isin(known)
        if unknown.any():
            i = int(np.flatnonzero(unknown.to_numpy())[0])
            raise InputError(
                f"'{travel[col].iloc[i]}' is not in {kind} "
                f"({int(unknown.sum())} rows refer to unknown ids)",
                file=file, row=i + 2, column=col,
                hint=f"travel.csv may only name ids that appear in {kind}",
            )
    dup = travel.duplicated(["area_id", "site_id"])
    if dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise InputError(
            f"the pair ({travel['area_id'].iloc[i]}, {travel['site_id'].iloc[i]}) appears twice",
            file=file, row=i + 2, hint="give each area-site pair one travel time",
        )
    return travel


def write_instance(instance: Instance, folder: str | Path) -> None:
    """Write ``areas.csv``, ``sites.csv`` and, if any, ``travel.csv`` into an existing folder."""
    folder = Path(folder)
    write_csv(folder / "areas.csv", instance.areas)
    write_csv(folder / "sites.csv", instance.sites)
    if instance.travel is not None:
        write_csv(folder / "travel.csv", instance.travel)
