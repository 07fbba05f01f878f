"""``plan.gpkg``: the plan for QGIS (or any GIS), in British National Grid (EPSG:27700).

Three layers, each with the disclosure rules of the published tables:

- ``areas``: area polygons (LSOA 2011 boundaries; circles at the areas' points when the ids are
  not LSOA codes) with children, the need band (the exact need index only where the published
  tables show it: not when it was built from the council's own CIN/CPP counts), the share of
  children served, how the area is reached, the nearest open centre and its travel time, and the
  change against today's network. No count of children in need or on a protection plan is
  written per area.
- ``sites``: site points with status (today), tier, what the option does with the site, costs,
  capacity and children served / capacity.
- ``localities``: locality polygons (the areas dissolved) with the published locality table.
  Counts of children in need and on protection plans (``cin``, ``cpp``) are whole numbers, so
  a GIS can style and add them; the cells the published CSV shows as ``c`` (counts from 1 to the
  threshold, and a second cell of any line with one suppressed cell, :mod:`.disclosure`) are
  null, with ``cin_suppressed`` / ``cpp_suppressed`` true, so a null is never read as zero or
  as missing data. Each layer's GeoPackage description says so.

Every solved folder gets one (written by :meth:`optimiser.solution.Solution.write`, default
threshold), and so does every pack (:func:`optimiser.report.pack.build_pack`, the pack's
threshold). The file's bytes depend only on the plan (GDAL's timestamp is fixed).

Examples
--------
>>> import geopandas as gpd                                     # doctest: +SKIP
>>> gpd.read_file("solved/plan.gpkg", layer="sites").crs        # doctest: +SKIP
<Projected CRS: EPSG:27700>
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from optimiser.errors import InputError
from optimiser.report.disclosure import DEFAULT_THRESHOLD, SUPPRESSED
from optimiser.report.locality_table import (
    SUPPRESSED_COLUMNS,
    TOTAL,
    csv_table,
    locality_table,
    publish_table,
)
from optimiser.report.map import (
    BNG,
    CHANGE_LABELS,
    DECISION_LABELS,
    REACH_LABELS,
    TO_OUTREACH,
    area_need_banded,
    area_shapes,
    locality_shapes,
    need_band,
    replaced_by_outreach,
)
from optimiser.report.solved import Solved, served_of_capacity

GPKG_NAME = "plan.gpkg"
LAYERS = ("areas", "sites", "localities")
#: Each layer's description (GeoPackage ``gpkg_contents``; QGIS shows it in the layer's
#: properties), so the file explains itself away from the pack.
DESCRIPTIONS = {
    "areas": "Areas (LSOAs) with children, need band, share served, nearest open centre, travel "
             "minutes and change against today. No counts of children in need or on protection "
             "plans per area. EPSG:27700.",
    "sites": "Sites with status today, tier, the option's decision, costs, capacity and children "
             "served. EPSG:27700.",
    "localities": "Localities with the published locality table. cin and cpp (children in need, "
                  "on protection plans) are numbers, null where the published tables show 'c' "
                  "(small counts suppressed by disclosure control), with cin_suppressed and "
                  "cpp_suppressed true there. EPSG:27700.",
}
#: GeoPackages record when each table last changed; a fixed date keeps the file reproducible.
_FIXED_DATE = "2000-01-01T00:00:00.000Z"


#: LSOA polygons read once per process and boundaries file: a sweep writes a solved folder per
#: budget, all with the same areas, and the national boundaries file takes seconds to scan.
_SHAPES: dict[tuple[str, tuple[str, ...]], gpd.GeoDataFrame] = {}


#: Radius of the stand-in circle of an area whose boundary cannot be read (metres).
FALLBACK_RADIUS_M = 250.0


def _area_polygons(solved: Solved) -> gpd.GeoDataFrame:
    ids = tuple(solved.areas["area_id"].astype(str))
    key = (str(solved.prepare.get("boundaries")), ids)
    if key not in _SHAPES:
        try:
            shapes = area_shapes(solved)
        except InputError:
            # The boundaries file prepare used has gone (moved, or another machine): a solve
            # must not fail for a map layer, so the areas are circles at their points.
            a = solved.areas
            if not {"x", "y"} <= set(a.columns) or a[["x", "y"]].isna().any().any():
                raise
            points = gpd.points_from_xy(a["x"], a["y"]).buffer(FALLBACK_RADIUS_M)
            return gpd.GeoDataFrame({"area_id": a["area_id"].astype(str)}, geometry=points,
                                    crs=BNG)
        if shapes.circles:  # drawn from the areas' points: cheap, and not to be reused
            return shapes.shapes
        _SHAPES.clear()  # one council at a time is plenty
        _SHAPES[key] = shapes.shapes
    return _SHAPES[key]


def areas_layer(solved: Solved, shapes: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """One polygon per area (EPSG:27700) with what the published tables show of it.

    ``shapes`` (``area_id``, ``geometry``) are the area polygons when the caller has them
    already (the pack); by default they are read as the map reads them.
    """
    a = solved.areas
    shapes = (shapes if shapes is not None else _area_polygons(solved)).set_index("area_id")
    site_name = dict(zip(solved.sites["site_id"].astype(str), solved.sites["name"].astype(str),
                         strict=True))
    population = pd.to_numeric(a["population"], errors="coerce")
    if "children_served" in a.columns:
        served = pd.to_numeric(a["children_served"], errors="coerce")
        with np.errstate(invalid="ignore", divide="ignore"):
            served_share = np.where(population > 0, served / population, np.nan)
    else:  # solved before the service model: the reach share is what is served
        served_share = pd.to_numeric(a.get("reach_share"), errors="coerce")
    change = a["change"].map(CHANGE_LABELS).fillna(a["change"].astype(str))
    change = change.where(~replaced_by_outreach(a), TO_OUTREACH)
    out = pd.DataFrame({
        "area_id": a["area_id"].astype(str),
        "name": a["name"].astype(str),
        "locality": a["locality"].astype(str),
        "children": population,
        "need_band": a["need"].map(need_band),
        "imd_decile": (pd.to_numeric(a["imd_decile"], errors="coerce")
                       if "imd_decile" in a.columns else np.nan),
        "served_share": np.round(np.asarray(served_share, dtype=float), 4),
        "reach_share": pd.to_numeric(a.get("reach_share"), errors="coerce").round(4),
        "reached_by": a["reached_by"].map(lambda v: REACH_LABELS.get(str(v), str(v))),
        "nearest_centre": (a["site_id"].map(lambda s: site_name.get(str(s), ""))
                           if "site_id" in a.columns else ""),
        "travel_minutes": (pd.to_numeric(a["travel_minutes"], errors="coerce").round(1)
                           if "travel_minutes" in a.columns else np.nan),
        "change": change if solved.network_known else "Today's network not known",
    })
    if not area_need_banded(solved):
        out.insert(5, "need", pd.to_numeric(a["need"], errors="coerce").round(3))
    geometry = shapes.loc[out["area_id"], "geometry"].to_numpy()
    return gpd.GeoDataFrame(out, geometry=geometry, crs=BNG)


def sites_layer(solved: Solved) -> gpd.GeoDataFrame:
    """One point per site (EPSG:27700): status, tier, the option's decision, costs, service."""
    s = solved.sites

    def num(col: str) -> pd.Series:
        return (pd.to_numeric(s[col], errors="coerce") if col in s.columns
                else pd.Series(np.nan, index=s.index))

    out = pd.DataFrame({
        "site_id": s["site_id"].astype(str),
        "name": s["name"].astype(str),
        "locality": s["locality"].astype(str) if "locality" in s.columns else "",
        "status": s["status"].astype(str),
        "tier": s["tier"].astype(str),
        "decision": s["decision"].map(lambda d: DECISION_LABELS.get(d, str(d))),
        "open": s["decision"].isin(["keep", "open_new"]),
        "annual_cost": num("annual_cost"),
        "setup_cost": num("setup_cost"),
        "closure_cost": num("closure_cost"),
        "capacity": num("capacity"),
        "children_served": num("children_served"),
        "served_of_capacity": served_of_capacity(s),
        "areas_served": num("areas_served"),
    })
    demand = num("demand_served")
    if area_need_banded(solved):
        # As in the pack: a site serving one area would give that area's exact need away.
        demand = (demand / 50).round() * 50
    out["need_weighted_served"] = demand.round(1)
    points = gpd.points_from_xy(num("x"), num("y"))
    return gpd.GeoDataFrame(out, geometry=points, crs=BNG)


def localities_layer(solved: Solved, areas: gpd.GeoDataFrame, threshold: int = DEFAULT_THRESHOLD,
                     suppress: Sequence[str] = SUPPRESSED_COLUMNS) -> gpd.GeoDataFrame:
    """Locality polygons with the published locality table. The protected counts stay numbers
    (a GIS can style and sum them); a suppressed cell (``c`` in the CSV) is null, and the
    ``<column>_suppressed`` flag says so, so a null is never taken for a missing count."""
    published, mask = publish_table(locality_table(solved), threshold, suppress)
    table = csv_table(published)
    keep = (table["locality"] != TOTAL).to_numpy()
    flags = mask.reset_index(drop=True)
    table = table[keep].reset_index(drop=True)
    for col in suppress:
        if col in table.columns:
            hidden = flags.loc[keep, col].to_numpy(dtype=bool) if col in flags.columns else (
                table[col].astype(str) == SUPPRESSED)
            table[col] = pd.to_numeric(table[col].where(~hidden), errors="coerce").astype(
                "Int64")
            table.insert(table.columns.get_loc(col) + 1, f"{col}_suppressed", hidden)
    shapes = locality_shapes(areas[["area_id", "geometry"]], solved.areas)
    merged = shapes.merge(table, on="locality", how="left")
    return gpd.GeoDataFrame(merged, geometry="geometry", crs=BNG)


def plan_layers(solved: Solved, threshold: int = DEFAULT_THRESHOLD,
                suppress: Sequence[str] = SUPPRESSED_COLUMNS, *,
                shapes: gpd.GeoDataFrame | None = None) -> dict[str, gpd.GeoDataFrame]:
    """The three layers of ``plan.gpkg`` (see the module docstring)."""
    areas = areas_layer(solved, shapes)
    return {"areas": areas, "sites": sites_layer(solved),
            "localities": localities_layer(solved, areas, threshold, suppress)}


@contextlib.contextmanager
def _fixed_gdal_date() -> Iterator[None]:
    import pyogrio

    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": _FIXED_DATE})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


def _disk_full(folder: Path, margin: int = 1 << 20) -> bool:
    """Less than ``margin`` bytes free where ``folder`` is."""
    try:
        return shutil.disk_usage(folder).free < margin
    except OSError:
        return False


def write_gpkg(path: str | Path, layers: dict[str, gpd.GeoDataFrame]) -> Path:
    """Write the layers to one GeoPackage atomically (a temporary file, then renamed)."""
    import pyogrio.errors

    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".gpkg", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # GDAL creates the file itself
    try:
        with _fixed_gdal_date():
            for name, layer in layers.items():
                try:
                    layer.to_file(tmp, layer=name, driver="GPKG", engine="pyogrio",
                                  layer_options={"DESCRIPTION": DESCRIPTIONS.get(name, "")})
                except (pyogrio.errors.DataLayerError, pyogrio.errors.DataSourceError) as exc:
                    # GDAL reports a disk that fills mid-write as a failed SQLite statement;
                    # the output folder's writer turns an OSError into one clear message.
                    if _disk_full(path.parent):
                        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), tmp) from exc
                    raise
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_plan(solved: Solved, out_dir: str | Path, threshold: int = DEFAULT_THRESHOLD,
               suppress: Sequence[str] = SUPPRESSED_COLUMNS, *,
               shapes: gpd.GeoDataFrame | None = None) -> Path:
    """Write ``out_dir/plan.gpkg`` for a solved folder; return its path."""
    layers = plan_layers(solved, threshold, suppress, shapes=shapes)
    return write_gpkg(Path(out_dir) / GPKG_NAME, layers)
