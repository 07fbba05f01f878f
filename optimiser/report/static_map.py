"""A static map of one option for the printable pack (matplotlib and geopandas, PNG).

Areas coloured by need band, locality boundaries and names, and the sites by what the option
does with them (kept, new, closed). It shows nothing the published tables do not: need bands
(never an area's exact need) and names. Deterministic bytes: no date or software in the PNG.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from optimiser.report.map import (
    DECISION_COLOURS,
    NEED_COLOURS,
    AreaShapes,
    locality_shapes,
    need_class,
    need_class_labels,
)
from optimiser.report.solved import Solved

#: How each site decision is drawn: marker, label.
_SITE_STYLE = {"keep": ("s", "Kept centre"), "open_new": ("D", "New centre"),
               "close": ("X", "Closed centre")}
_RC = {"font.family": "DejaVu Sans", "font.size": 8}


def static_map_png(solved: Solved, shapes: AreaShapes, *, width_in: float = 7.2,
                   dpi: int = 150) -> bytes:
    """The option's map as PNG bytes (A4 portrait width at ``width_in`` inches).

    Parameters
    ----------
    solved
        The solved folder (areas with ``need`` and ``locality``; sites with ``x``, ``y``,
        ``decision``).
    shapes
        The area polygons (:func:`optimiser.report.map.area_shapes`), in British National Grid.
    """
    areas = solved.areas
    geo = shapes.shapes.merge(areas[["area_id", "need", "locality"]], on="area_id", how="inner")
    colours = [NEED_COLOURS[need_class(v)] if np.isfinite(v) else "#eeeeee"
               for v in geo["need"].astype(float)]
    minx, miny, maxx, maxy = geo.total_bounds
    aspect = (maxy - miny) / max(maxx - minx, 1.0)
    height_in = float(np.clip(width_in * aspect, 4.0, 9.0))
    with plt.rc_context(_RC):
        fig, ax = plt.subplots(figsize=(width_in, height_in))
        geo.plot(ax=ax, color=colours, edgecolor="#ffffff", linewidth=0.15)
        locs = locality_shapes(shapes.shapes, areas)
        locs.boundary.plot(ax=ax, color="#333333", linewidth=0.8)
        for _, row in locs.iterrows():
            p = row.geometry.representative_point()
            ax.annotate(str(row["locality"]), (p.x, p.y), ha="center", va="center",
                        fontsize=6.5, color="#1b1b1b", annotation_clip=True,
                        bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none",
                              "alpha": 0.7})
        handles = _draw_sites(ax, solved)
        labels = need_class_labels()
        handles += [Patch(facecolor=c, edgecolor="#999999", label=f"Need {labels[k]}")
                    for k, c in enumerate(NEED_COLOURS)]
        ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.01),
                  ncols=3, frameon=False, fontsize=7)
        ax.set_axis_off()
        ax.set_aspect("equal")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None},
                    bbox_inches="tight")
        plt.close(fig)
    return buf.getvalue()


def _draw_sites(ax: plt.Axes, solved: Solved) -> list[Line2D]:
    """Kept, new and closed sites as markers; candidates not opened are left out."""
    sites = solved.sites
    handles = []
    for decision, (marker, label) in _SITE_STYLE.items():
        part = sites[sites["decision"].astype(str) == decision]
        if part.empty:
            continue
        hub = part["tier"].astype(str) == "hub"
        sizes = np.where(hub, 46, 22)
        ax.scatter(part["x"].astype(float), part["y"].astype(float), s=sizes, marker=marker,
                   c=DECISION_COLOURS[decision], edgecolors="white", linewidths=0.6, zorder=5)
        handles.append(Line2D([], [], marker=marker, linestyle="none", markersize=6,
                              markerfacecolor=DECISION_COLOURS[decision],
                              markeredgecolor="white", label=f"{label} (larger: hub)"))
    return handles
