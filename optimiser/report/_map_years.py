"""The map of a multi-year plan: a year chosen in the title box shows that year's plan.

For the year chosen (the plan's last year at first) the map shows:

- **sites** (one layer, "Sites in the year chosen"): open today and still open, opening that
  year, opened in an earlier year of the plan, closing that year, closed in an earlier year
  (:data:`optimiser.report.years.SITE_YEAR_WORDS`); the tooltip says the year and the state
  ("Opens in 2027"); a candidate not open by then is not drawn;
- **outreach workers** per locality that year (circles, and the locality names' second line);
- **localities shaded by the share of their need served that year** (an area layer of its own,
  from ``localities_years.csv``);
- the area layers **reached by a centre or outreach** and **change against today's network**
  in that year (from ``areas_years.csv``, classed by the single-year map's rules:
  :func:`optimiser.report.map.replaced_by_outreach` on the year's rows); the area's tooltip and
  popup say the year. A solved folder written before ``areas_years.csv`` keeps the last year's
  area layers, and their legend says so;
- in the title box, the year's centres, workers, spend against budget and share served, and in
  the legend the year's sites by state.

Every year's layers are in the page; the year control swaps them (no request, works offline).
What belongs to one year carries ``data-year``; a rule per year hides the other years' text, so
text drawn later (a label placed again) follows the year too. Nothing here is a count of
children in need or on protection plans: sites, workers, money and shares served, which the
published locality table shows as well. Names are escaped (:func:`esc`) as on the rest of the
map.
"""

from __future__ import annotations

import itertools

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
from branca.element import Element, MacroElement
from folium.template import Template

from optimiser.model.words import money, plural
from optimiser.report.map import (
    CHANGE_LABELS,
    REACH_LABELS,
    TO_OUTREACH,
    _feature_collection,
    _fmt,
    _points,
    esc,
    replaced_by_outreach,
    svg_shape,
)
from optimiser.report.solved import served_of_capacity
from optimiser.report.years import OPEN_STATES, PlanYears

LAYER_SITES = "Sites in the year chosen"
LAYER_OUTREACH = "Outreach workers per locality"
LAYER_LOCALITIES = "Localities: share of need served in the year chosen"

#: A site's symbol in a year, by its state: (outline, fill, crossed out).
STATE_STYLE = {
    "open": ("#1b7837", "#1b7837", False),
    "opens": ("#2166ac", "#2166ac", False),
    "opened": ("#2166ac", "#92c5de", False),
    "closes": ("#b2182b", "#ffffff", True),
    "closed": ("#8c8c8c", "#ffffff", True),
}
#: The legend's words for the states (the tooltip gives the years).
STATE_LEGEND = {"open": "Open today, still open", "opens": "Opens this year",
                "opened": "Opened in an earlier year", "closes": "Closes this year",
                "closed": "Closed in an earlier year"}
#: Share of a locality's need served: class upper bounds (fixed, so years compare).
SHARE_BREAKS = (0.2, 0.4, 0.6, 0.8)
SHARE_COLOURS = ("#ffffd4", "#fed98e", "#fe9929", "#d95f0e", "#993404")
SHARE_NONE = "#d9d9d9"
#: The change layer's words by class (the single-year map's, and its outreach class).
CHANGE_WORDS = {**CHANGE_LABELS, "to_outreach": TO_OUTREACH}


def share_class(share: object) -> int | None:
    """Index of the class of a share served, as printed (1 decimal of a percent); None if none.

    >>> share_class(0.19996), share_class(0.5), share_class(1.0), share_class(None)
    (1, 2, 4, None)
    """
    try:
        f = float(share)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    if not np.isfinite(f):
        return None
    return int(np.searchsorted(SHARE_BREAKS, round(f, 3), side="right"))


def share_labels() -> list[str]:
    labels = [f"under {SHARE_BREAKS[0]:.0%}"]
    labels += [f"{a:.0%} to {b:.0%}" for a, b in itertools.pairwise(SHARE_BREAKS)]
    return [*labels, f"{SHARE_BREAKS[-1]:.0%} and over"]


def _share_text(share: object) -> str:
    return "n/a" if share_class(share) is None else f"{100 * float(share):.1f}%"  # type: ignore


def _year_span(year: int, html: str, tag: str = "span") -> str:
    return f'<{tag} data-year="{int(year)}">{html}</{tag}>'


# ------------------------------------------------------------------------------------------
# Words
# ------------------------------------------------------------------------------------------


def year_summary(plan: PlanYears, year: int) -> str:
    """One line about the year: centres open (opening, closing), workers, spend, served."""
    row = plan.table[plan.table["year"] == year].iloc[0]
    states = plan.sites.loc[plan.sites["year"] == year, "state"]
    changes = [plural(int((states == s).sum()), word, words) for s, word, words in
               (("opens", "opens", "open"), ("closes", "closes", "close"))
               if (states == s).any()]
    centres = plural(int(row["sites_open"]), "centre") + " open"
    if changes:
        centres += f" ({', '.join(changes)})"
    return (f"{year}: {centres}; {plural(int(row['outreach_workers']), 'outreach worker')}; "
            f"spends {money(row['annual_cost'])} of {money(row['budget'])}; serves "
            f"{_share_text(row['reach_share'])} of need")


def year_words(plan: PlanYears) -> str:
    """The year chosen, in words that follow the year control ("2027")."""
    return "".join(_year_span(y, str(y)) for y in plan.years)


def title_html(name: str, la: str, n_areas: int, plan: PlanYears) -> str:
    """The title box: the plan, the year control (radio buttons), the year's summary."""
    first, last = plan.years[0], plan.years[-1]
    radios = "".join(
        f'<label><input type="radio" name="plan-year" value="{y}"'
        f'{" checked" if y == last else ""}> {y}</label>' for y in plan.years)
    summaries = "".join(_year_span(y, esc(year_summary(plan, y)), "small")
                        for y in plan.years)
    return (f'<div class="map-title">{esc(name)}<small>{esc(la)}: {n_areas} areas; a plan over '
            f"{first}-{last}</small>"
            f'<fieldset class="map-years"><legend>Show the plan in</legend>{radios}</fieldset>'
            f"{summaries}</div>")


def locality_worker_lines(plan: PlanYears, localities: list[str]) -> list[str]:
    """Each locality's second label line, one per year (outreach workers that year)."""
    by = plan.localities.assign(locality=plan.localities["locality"].astype(str))
    workers = by.set_index(["locality", "year"])["outreach_workers"]
    out = []
    for loc in localities:
        parts = []
        for y in plan.years:
            w = int(workers.get((str(loc), y), 0) or 0)
            if w > 0:
                parts.append(_year_span(y, f"<br><small>{plural(w, 'outreach worker')}</small>"))
        out.append("".join(parts))
    return out


def legend_sections(plan: PlanYears, tiers: dict[str, str]) -> str:
    """The legend's part for the year chosen: sites by state (with counts), and the locality
    shading's classes (shown with that layer)."""
    parts = []
    for y in plan.years:
        mine = plan.sites[plan.sites["year"] == y]
        rows = [f'<div class="lg-title">Sites in {y}</div>']
        for state, words in STATE_LEGEND.items():
            for tier in ("hub", "spoke"):
                n = int(((mine["state"] == state)
                         & (mine["site_id"].map(tiers) == tier)).sum())
                if n:
                    colour, fill, cross = STATE_STYLE[state]
                    rows.append(f'<div class="lg-row"><span class="lg-sym">'
                                f"{svg_shape(tier, colour, fill, cross=cross)}</span>{words}, "
                                f"{tier} <span class='lg-n'>({n})</span></div>")
        if len(rows) == 1:
            rows.append('<div class="lg-row">no centre open</div>')
        parts.append(_year_span(y, "".join(rows), "div"))
    share = year_words(plan)
    parts.append(f'<div data-layer="{esc(LAYER_LOCALITIES)}"><div class="lg-title">Share of '
                 f"need served in {share}, by locality</div>")
    parts += [f'<div class="lg-row"><span class="lg-swatch" style="background:{c}"></span>'
              f"{label}</div>" for c, label in zip(SHARE_COLOURS, share_labels(), strict=True)]
    parts.append("</div>")
    return "".join(parts)


# ------------------------------------------------------------------------------------------
# Layers
# ------------------------------------------------------------------------------------------


def area_year_props(plan: PlanYears, area_ids: list[str]) -> pd.DataFrame | None:
    """Per area (in ``area_ids``' order), the area layers' classes and words in each year, as
    dicts keyed by the year as text: ``_change_y`` (a key of
    :data:`~optimiser.report.map.CHANGE_COLOURS`), ``_change_t`` ("Loses access in 2027"),
    ``_reach_y`` (a key of :data:`~optimiser.report.map.REACH_COLOURS`), ``_reach_t``. An area
    without a row in a year has no class ("") and "n/a". None without ``areas_years.csv``."""
    if plan.areas is None:
        return None
    rows = plan.areas.assign(area_id=plan.areas["area_id"].astype(str))
    change = rows["change"].astype(str).where(~replaced_by_outreach(rows), "to_outreach")
    rows = rows.assign(_change=change, _reach=rows["reached_by"].astype(str))
    out = {k: [{} for _ in area_ids] for k in ("_change_y", "_change_t", "_reach_y", "_reach_t")}
    where = {a: k for k, a in enumerate(area_ids)}
    for area, year, cls, reach in rows[["area_id", "year", "_change", "_reach"]].itertuples(
            index=False):
        k, y = where[area], str(int(year))
        out["_change_y"][k][y] = cls
        out["_change_t"][k][y] = f"{CHANGE_WORDS.get(cls, esc(cls))} in {y}"
        out["_reach_y"][k][y] = reach
        out["_reach_t"][k][y] = f"{REACH_LABELS.get(reach, esc(reach))} in {y}"
    for k in range(len(area_ids)):
        for y in map(str, plan.years):
            out["_change_y"][k].setdefault(y, "")
            out["_change_t"][k].setdefault(y, "n/a")
            out["_reach_y"][k].setdefault(y, "")
            out["_reach_t"][k].setdefault(y, "n/a")
    return pd.DataFrame(out)


def site_layers(m, plan: PlanYears, sites: pd.DataFrame,
                site_pts: gpd.GeoSeries) -> tuple[folium.FeatureGroup, dict[int, object]]:
    """One layer of site markers per year, in a group the year control fills."""
    group = folium.FeatureGroup(name=LAYER_SITES, show=True).add_to(m)
    where = {str(s): k for k, s in enumerate(sites["site_id"].astype(str))}
    layers = {}
    for y in plan.years:
        mine = plan.sites[plan.sites["year"] == y]
        if mine.empty:
            continue
        idx = mine["site_id"].map(where).to_numpy(int)
        part = sites.iloc[idx]
        props = pd.DataFrame({
            "name": part["name"].map(esc).to_numpy(), "year": str(y),
            "state": mine["words"].map(esc).to_numpy(),
            "tier": part["tier"].map(esc).to_numpy(),
            "locality": (part["locality"].fillna("n/a").map(esc).to_numpy()
                         if "locality" in part.columns else "n/a"),
            "cost": (part["annual_cost"].map(lambda v: "£" + _fmt(v)).to_numpy()
                     if "annual_cost" in part.columns else "n/a"),
            "_state": mine["state"].to_numpy(), "_tier": part["tier"].astype(str).to_numpy()})
        fields = ["name", "year", "state", "tier", "locality", "cost"]
        aliases = ["Site", "Year", "In the plan", "Tier", "Locality", "Annual cost"]
        if y == plan.years[-1]:  # sites.csv holds the final year's figures only
            props["served_capacity"] = served_of_capacity(part).map(esc).to_numpy()
            fields.append("served_capacity")
            aliases.append(f"Children served / capacity a year, {y}")
        pts = site_pts.iloc[idx]
        layer = folium.GeoJson(
            _points(pts.x.to_numpy(), pts.y.to_numpy(), props, f"y{y}s"),
            name=f"Sites in {y}", show=False, control=False,
            marker=folium.Marker(icon=folium.DivIcon(html="", class_name="site-marker")),
            style_function=_site_style,
            tooltip=folium.GeoJsonTooltip(fields=fields, aliases=aliases),
        )
        layer.add_to(group)
        layers[y] = layer
    return group, layers


def _site_style(feature: dict) -> dict:
    state, tier = feature["properties"]["_state"], feature["properties"]["_tier"]
    colour, fill, cross = STATE_STYLE[state]
    s = 20 if tier == "hub" else 15
    return {"html": svg_shape(tier, colour, fill, cross=cross), "iconSize": [s, s],
            "iconAnchor": [s / 2, s / 2],
            "className": f"site-marker year-site site-year-{state} site-{tier}"}


def outreach_layers(m, plan: PlanYears, localities: list[str], lon: np.ndarray,
                    lat: np.ndarray) -> tuple[folium.FeatureGroup | None, dict[int, object]]:
    """One layer of outreach circles per year (localities with workers that year)."""
    by = plan.localities.assign(locality=plan.localities["locality"].astype(str))
    if not (pd.to_numeric(by["outreach_workers"], errors="coerce").fillna(0) > 0).any():
        return None, {}
    group = folium.FeatureGroup(name=LAYER_OUTREACH, show=True).add_to(m)
    layers = {}
    for y in plan.years:
        mine = by[by["year"] == y].set_index("locality").reindex(
            [str(loc) for loc in localities])
        workers = pd.to_numeric(mine["outreach_workers"], errors="coerce").fillna(0).to_numpy()
        has = workers > 0
        if not has.any():
            continue
        props = pd.DataFrame({
            "locality": [esc(loc) for loc in localities], "year": str(y),
            "workers": [f"{w:.0f}" for w in workers],
            "reach": [_share_text(v) for v in mine["reach_share"]],
            "_radius": [float(6 + 5 * np.sqrt(w)) for w in workers]})[has]
        layer = folium.GeoJson(
            _points(lon[has], lat[has], props, f"y{y}o"), name=f"Outreach in {y}", show=False,
            control=False,
            marker=folium.CircleMarker(radius=8, fill=True, fill_color="#7b3294",
                                       fill_opacity=0.35, color="#7b3294", weight=1.5),
            style_function=lambda f: {"radius": f["properties"]["_radius"],
                                      "className": "outreach-marker"},
            tooltip=folium.GeoJsonTooltip(
                fields=["locality", "year", "workers", "reach"],
                aliases=["Locality", "Year", "Outreach workers", "Share of need served"]),
        )
        layer.add_to(group)
        layers[y] = layer
    return group, layers


def locality_layer(m, plan: PlanYears, loc_geo: gpd.GeoDataFrame,
                   names: list[str]) -> folium.GeoJson:
    """The localities shaded by the share of their need served, one colour and tooltip per year
    in each feature (the year control restyles them: the shapes are in the page once)."""
    by = plan.localities.assign(locality=plan.localities["locality"].astype(str))
    table = by.set_index(["locality", "year"])
    fills, tips = [], []
    for loc in names:
        fill, tip = {}, {}
        for y in plan.years:
            row = table.loc[(str(loc), y)] if (str(loc), y) in table.index else None
            share = None if row is None else row["reach_share"]
            k = share_class(share)
            fill[str(y)] = SHARE_NONE if k is None else SHARE_COLOURS[k]
            n_sites = "n/a" if row is None else _fmt(row["sites"], ".0f")
            n_workers = "n/a" if row is None else _fmt(row["outreach_workers"], ".0f")
            tip[str(y)] = (f"<b>{esc(loc)}</b> in {y}<br>"
                           f"Share of need served: {_share_text(share)}<br>"
                           f"Centres open: {n_sites}<br>Outreach workers: {n_workers}")
        fills.append(fill)
        tips.append(tip)
    props = pd.DataFrame({"locality": [esc(loc) for loc in names], "_fill": fills,
                          "_tip": tips})
    last = str(plan.years[-1])
    return folium.GeoJson(
        _feature_collection(loc_geo, props, [f"ly{k}" for k in range(len(names))]),
        name=LAYER_LOCALITIES, overlay=False, show=False,
        style_function=lambda f: {"fillColor": f["properties"]["_fill"][last],
                                  "fillOpacity": 0.8, "color": "#444444", "weight": 1,
                                  "className": "locality-year"},
    ).add_to(m)


class YearControl(MacroElement):
    """The year control: choosing a year fills the site and outreach groups with that year's
    layers, restyles the localities, and marks the page with the year (``data-plan-year`` on
    the body: the CSS rules of :func:`year_css` then show that year's words only)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function() {
            var map = {{ this._parent.get_name() }};
            var groups = [
            {%- for group, layers in this.groups %}
                [{{ group.get_name() }}, {
                {%- for year, layer in layers.items() %}
                    {{ year|string|tojson }}: {{ layer.get_name() }},
                {%- endfor %}
                }],
            {%- endfor %}
            ];
            var localities = {{ this.localities.get_name() if this.localities else 'null' }};
            if (localities) {
                localities.eachLayer(function(l) {
                    l.bindTooltip('', {sticky: true, className: 'locality-tooltip'});
                });
            }
            // The area layers: each feature's words follow the year (the popups and tooltips
            // read them when opened); the reach and change layers' colours too.
            var areaLayers = [
            {%- for layer in this.area_layers %} {{ layer.get_name() }},{% endfor %} ];
            var restyled = [
            {%- for layer, key, colours in this.restyled %}
                [{{ layer.get_name() }}, {{ key|tojson }}, {{ colours|tojson }}],
            {%- endfor %}
            ];
            function chooseAreas(year) {
                areaLayers.forEach(function(g) {
                    g.eachLayer(function(l) {
                        var p = l.feature.properties;
                        if (!p._change_y) { return; }
                        p._change = p._change_y[year]; p.change = p._change_t[year];
                        p._reached_by = p._reach_y[year]; p.reached = p._reach_t[year];
                    });
                });
                restyled.forEach(function(r) {
                    var g = r[0], key = r[1], colours = r[2];
                    var base = g._yearBase = g._yearBase || g.options.style;
                    // the layer's own style (outline, class) with the year's fill; a full
                    // style, as the highlight's mouseout resets to it
                    var style = function(f) {
                        var s = Object.assign({}, base(f));
                        s.fillColor = colours[f.properties[key]] || '#ffffff';
                        return s;
                    };
                    g.options.style = style;
                    g.setStyle(style);
                });
            }
            var state = window.optimiserYears = {year: null};
            function choose(year) {
                year = String(year);
                chooseAreas(year);
                groups.forEach(function(g) {
                    g[0].clearLayers();
                    if (g[1][year]) { g[0].addLayer(g[1][year]); }
                });
                if (localities) {
                    var style = function(f) { return {fillColor: f.properties._fill[year]}; };
                    localities.options.style = style;
                    localities.setStyle(style);
                    localities.eachLayer(function(l) {
                        l.setTooltipContent(l.feature.properties._tip[year]);
                    });
                }
                document.body.setAttribute('data-plan-year', year);
                document.querySelectorAll('input[name="plan-year"]').forEach(function(r) {
                    r.checked = (r.value === year);
                });
                state.year = year;
                map.fire('yearchange', {year: year});
            }
            document.querySelectorAll('input[name="plan-year"]').forEach(function(r) {
                L.DomEvent.disableClickPropagation(r.parentNode);
                r.addEventListener('change', function() { if (r.checked) { choose(r.value); } });
            });
            state.choose = choose;
            choose({{ this.first|string|tojson }});
        })();
        {% endmacro %}
        """
    )

    def __init__(self, groups: list[tuple[object, dict]], localities, first: int, *,
                 area_layers: list | None = None,
                 restyled: list[tuple[object, str, dict[str, str]]] | None = None) -> None:
        """``area_layers``: the area layers whose features carry the words per year
        (:func:`area_year_props`); ``restyled``: (layer, class property, colours by class) of
        those whose fill follows the year."""
        super().__init__()
        self._name = "YearControl"
        self.groups = [(g, layers) for g, layers in groups if g is not None]
        self.localities = localities
        self.first = first
        self.area_layers = area_layers or []
        self.restyled = restyled or []


def year_css(years: list[int]) -> str:
    """The year control's style, and a rule per year hiding the other years' words."""
    rules = "".join(f'body[data-plan-year="{int(y)}"] [data-year]:not([data-year="{int(y)}"])'
                    " { display: none; }\n" for y in years)
    return ("<style>\n" + rules +
            ".map-years { border: 0; margin: 4px 0 2px; padding: 0; font-weight: normal; "
            "display: flex; flex-wrap: wrap; gap: 2px 8px; max-width: 320px; }\n"
            ".map-years legend { padding: 0; font-size: 12px; float: left; margin-right: 4px; "
            "}\n"
            ".map-years label { font-size: 13px; cursor: pointer; white-space: nowrap; }\n"
            ".map-title small[data-year] { max-width: 320px; }\n"
            ".leaflet-tooltip.locality-tooltip { font-size: 12px; }\n"
            # A phone: the title box (taller with the years) keeps clear of the layer button.
            "@media (max-width: 600px) { .map-title { max-width: calc(100vw - 175px); } }\n"
            "</style>")


def add_year_page(m, plan: PlanYears) -> None:
    """The year control's style in the page head."""
    m.get_root().header.add_child(Element(year_css(plan.years)), name="optimiser_years_css")


def open_ids(plan: PlanYears, year: int) -> list[str]:
    """The sites the map shows open in a year (for tests and the summary)."""
    mine = plan.sites[(plan.sites["year"] == year) & plan.sites["state"].isin(OPEN_STATES)]
    return mine["site_id"].tolist()
