"""The national map and chart of ``optimiser national`` (one point or shape per authority).

- :func:`authority_shapes`: each upper-tier authority's outline. The 2019 vintage's (April 2019
  counties and unitaries) are shipped (``data/places/councils.geojson``); the 2025 vintage's
  (April 2023) are dissolved from the data mirror's LSOA 2021 boundaries by the vintage's
  LSOA-to-authority lookup, simplified to about :data:`SIMPLIFY_M` metres.
- :func:`national_map`: ``map.html``, a choropleth of the authorities with two layers to choose
  from: the **served share** (children served by the plan ÷ need-weighted children) and the
  **need**: the share of the authority's children aged 0-4 living in areas in IMD deciles 1-2
  (England's most deprived fifth; a national measure, unlike the need index, which each
  authority's instance scales to a mean of 1). Self-contained like the county map (scripts
  and styles inlined, no tiles), names HTML-escaped, the same bytes for the same table.
- :func:`national_chart`: ``national.png`` / ``.svg``, served share against that need.
"""

from __future__ import annotations

import functools
from pathlib import Path

import numpy as np
import pandas as pd

#: Outline simplification of the dissolved authorities (metres): a national map needs no more.
SIMPLIFY_M = 250.0
#: Served share classes (upper bounds, %) and colours (light to dark blue).
SERVED_BREAKS = (20, 40, 60, 80, 100)
SERVED_COLOURS = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
#: Need classes: % of children 0-4 in IMD deciles 1-2 (upper bounds) and colours (reds).
NEED_BREAKS = (10, 20, 35, 50, 100)
NEED_COLOURS = ("#fee5d9", "#fcae91", "#fb6a4a", "#de2d26", "#a50f15")
NO_PLAN = "#bdbdbd"


def authority_shapes(vintage: str, root: Path):
    """``code, geometry`` (WGS84) of every English upper-tier authority of the vintage."""
    return _authority_shapes(vintage, str(Path(root).resolve())).copy()


@functools.lru_cache(maxsize=2)  # dissolving 35,000 LSOAs takes seconds: once per process
def _authority_shapes(vintage: str, root: str):
    import geopandas as gpd

    if vintage == "2019":
        from optimiser.paths import shipped_data_dir

        shapes = gpd.read_file(shipped_data_dir() / "places" / "councils.geojson")
        return shapes.rename(columns={"utla_code": "code"})[["code", "geometry"]]
    from optimiser import loaders2025
    from optimiser.vintage import get_vintage

    lookup = get_vintage(vintage).load_utla_lookup(root)
    lsoas = gpd.read_file(loaders2025.boundaries_file(root), columns=["lsoa21cd"])
    lsoas = lsoas.merge(lookup[["lsoa21cd", "utla_code"]], on="lsoa21cd", how="inner")
    lsoas = lsoas[lsoas["utla_code"].str.startswith("E")]
    shapes = lsoas[["utla_code", "geometry"]].dissolve("utla_code").reset_index()
    shapes["geometry"] = shapes.geometry.simplify(SIMPLIFY_M)
    return shapes.rename(columns={"utla_code": "code"}).to_crs("EPSG:4326")


def _class(value: float, breaks: tuple[float, ...]) -> int | None:
    if value is None or not np.isfinite(value):
        return None
    return next((k for k, b in enumerate(breaks) if value <= b), len(breaks) - 1)


def _pct(value: object) -> str:
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return "n/a"
    return "n/a" if not np.isfinite(v) else f"{100 * v:.1f}%"


def _tooltip(row: pd.Series) -> str:
    from optimiser.report.map import esc

    head = f"<b>{esc(row['name'])}</b> ({esc(row['code'])})"
    if row["status"] == "failed":
        return f"{head}<br>no plan: {esc(row['reason'])}"
    money = row["cost_per_child_served"]
    cost = f"£{float(money):,.0f}" if pd.notna(money) else "n/a"
    return (f"{head}<br>served: {_pct(row['served_share'])} of need-weighted children "
            f"({_pct(row['served_share_deciles_1_2'])} in IMD deciles 1-2)<br>"
            f"children 0-4 in IMD deciles 1-2: {_pct(row['children_deciles_1_2_share'])}<br>"
            f"{int(row['sites']) if pd.notna(row['sites']) else 0} sites; "
            f"cost per child served {cost}; status {esc(row['status'])}")


def _legend(title: str, breaks: tuple[float, ...], colours: tuple[str, ...]) -> str:
    lows = (0, *breaks[:-1])
    items = "".join(
        f'<div><span style="display:inline-block;width:14px;height:10px;background:{c};'
        f'border:1px solid #777;margin-right:4px"></span>{lo}-{hi}%</div>'
        for lo, hi, c in zip(lows, breaks, colours, strict=True))
    return f"<div style='margin-bottom:6px'><b>{title}</b>{items}</div>"


def national_map(table: pd.DataFrame, vintage: str, root: Path, path: Path) -> Path:
    """Write ``map.html``: the authorities coloured by served share or by need (one layer
    each, chosen in the layer control); hover for an authority's figures."""
    import folium
    from branca.element import Element

    from optimiser.files import write_text
    from optimiser.report.map import _deterministic_ids
    from optimiser.report.offline import inline_assets

    shapes = authority_shapes(vintage, root).merge(table, on="code", how="inner")
    shapes["tip"] = [_tooltip(r) for _, r in shapes.iterrows()]
    served = [_class(float(v) * 100, SERVED_BREAKS) if pd.notna(v) else None
              for v in shapes["served_share"]]
    need = [_class(float(v) * 100, NEED_BREAKS) if pd.notna(v) else None
            for v in shapes["children_deciles_1_2_share"]]
    shapes["served_colour"] = [SERVED_COLOURS[k] if k is not None else NO_PLAN for k in served]
    shapes["need_colour"] = [NEED_COLOURS[k] if k is not None else NO_PLAN for k in need]
    minx, miny, maxx, maxy = shapes.total_bounds if len(shapes) else (-6, 50, 2, 56)
    m = folium.Map(location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=6, tiles=None,
                   control_scale=True)
    geo = shapes[["code", "tip", "served_colour", "need_colour", "geometry"]]
    for name, colour, show in (("Served share", "served_colour", True),
                               ("Need: children in IMD deciles 1-2", "need_colour", False)):
        layer = folium.FeatureGroup(name=name, overlay=False, show=show)
        folium.GeoJson(
            geo.to_json(drop_id=True),
            style_function=lambda f, c=colour: {"fillColor": f["properties"][c],
                                                "color": "#555", "weight": 0.6,
                                                "fillOpacity": 0.85},
            tooltip=folium.GeoJsonTooltip(fields=["tip"], labels=False),
        ).add_to(layer)
        layer.add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    legend = ("<div style='position:fixed;bottom:20px;left:10px;z-index:1000;background:white;"
              "padding:8px;border:1px solid #999;font:12px sans-serif'>"
              + _legend("Served share", SERVED_BREAKS, SERVED_COLOURS)
              + _legend("Children 0-4 in IMD deciles 1-2", NEED_BREAKS, NEED_COLOURS)
              + f"<div><span style='display:inline-block;width:14px;height:10px;"
              f"background:{NO_PLAN};border:1px solid #777;margin-right:4px'></span>no plan"
              "</div><div style='margin-top:4px;color:#555'>Boundaries: ONS, contains OS data "
              "&copy; Crown copyright and database right</div></div>")
    m.get_root().html.add_child(Element(legend))
    page = _deterministic_ids(inline_assets(m.get_root().render()))
    write_text(path, page)
    return path


def national_chart(table: pd.DataFrame, out_dir: Path) -> list[Path]:
    """``national.png`` and ``.svg``: each authority's served share against the share of its
    children in IMD deciles 1-2 (point area ∝ children), the five lowest named."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from optimiser.sweep import save_png_svg

    ok = table[table["served_share"].notna()]
    failed = int((table["status"] == "failed").sum())
    with plt.rc_context({"svg.hashsalt": "optimiser-national", "font.size": 10}):
        fig, ax = plt.subplots(figsize=(7.5, 5))
        x = 100 * ok["children_deciles_1_2_share"].astype(float)
        y = 100 * ok["served_share"].astype(float)
        size = 8 + 60 * ok["children"].astype(float) / max(float(ok["children"].max()), 1.0) \
            if len(ok) else []
        ax.scatter(x, y, s=size, color="#1b6ca8", alpha=0.7, edgecolor="white", linewidth=0.5)
        for _, row in ok.nsmallest(5, "served_share").iterrows():
            ax.annotate(str(row["name"]).replace("$", r"\$"),
                        (100 * row["children_deciles_1_2_share"], 100 * row["served_share"]),
                        xytext=(4, -3), textcoords="offset points", fontsize=8)
        ax.set_xlabel("children aged 0-4 living in IMD deciles 1-2 (most deprived fifth), %")
        ax.set_ylabel("need-weighted children served, %")
        ax.set_title(f"What each authority's budget serves ({len(ok)} authorities"
                     + (f"; {failed} without a plan, see national.csv" if failed else "") + ")")
        ax.grid(True, alpha=0.3)
        fig.tight_layout()
        return save_png_svg(fig, Path(out_dir), "national")
