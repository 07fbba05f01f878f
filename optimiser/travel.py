"""Travel minutes from areas to sites, and the sparse reach sets the model is built on.

An area is *reached* by a site when the travel time is at most the area's threshold (default 20
minutes for urban areas, 30 for rural). Travel times come from the instance's ``travel.csv`` when
it has one (pairs it does not list are out of reach); otherwise they are estimated from the
straight-line distance between the area's (population-weighted) centroid and the site::

    minutes = straight-line km × circuity ÷ speed km/h × 60

with documented defaults: urban areas 1.3 circuity at 15 km/h (families walking or by bus),
rural areas 1.3 at 50 km/h (driving, fitted to road times: docs/benchmarks/travel_calibration.md).
All four numbers can be set under ``reach:`` in a scenario.

Reach sets are kept sparse: a k-d tree finds, for each area, only the sites within the radius its
threshold allows, so memory grows with the number of (area, site) pairs in reach, never with
areas × sites. All England (32,844 areas, ~6,800 candidate sites) stays in the low millions of
pairs.

Examples
--------
>>> import numpy as np
>>> from optimiser.scenario import ReachSettings, UrbanRural
>>> pairs = estimate_pairs(np.array([[0.0, 0.0]]), np.array([False]),
...                        np.array([[1000.0, 0.0], [9000.0, 0.0]]), ReachSettings())
>>> pairs.site.tolist(), pairs.minutes.round(1).tolist()
([0], [5.2])
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from optimiser.instance import Instance
from optimiser.scenario import ReachSettings, UrbanRural


@dataclass
class TravelPairs:
    """(area, site, minutes) triples within some per-area limit, as parallel arrays.

    ``area`` and ``site`` are row positions in the instance's areas and sites tables. Sorted by
    area, then minutes, then site (deterministic).
    """

    area: np.ndarray
    site: np.ndarray
    minutes: np.ndarray

    def __len__(self) -> int:
        return len(self.area)

    def within(self, limit: np.ndarray) -> TravelPairs:
        """The pairs whose minutes are at most ``limit[area]``."""
        keep = self.minutes <= limit[self.area] + 1e-9
        return TravelPairs(self.area[keep], self.site[keep], self.minutes[keep])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"area": self.area, "site": self.site, "minutes": self.minutes})


def _sorted(area: np.ndarray, site: np.ndarray, minutes: np.ndarray) -> TravelPairs:
    order = np.lexsort((site, minutes, area))
    return TravelPairs(area[order].astype(np.int64), site[order].astype(np.int64),
                       minutes[order].astype(float))


def by_class(rural: np.ndarray, value: UrbanRural) -> np.ndarray:
    """Each area's value of an urban/rural setting."""
    return np.where(rural, value.rural, value.urban).astype(float)


def area_thresholds(rural: np.ndarray, reach: ReachSettings) -> np.ndarray:
    """The reach threshold (minutes) of each area, by its urban/rural class."""
    return by_class(rural, reach.thresholds())


def area_limits(rural: np.ndarray, reach: ReachSettings) -> np.ndarray:
    """The longest trip (minutes) a site serves each area from (``ReachSettings.limits``)."""
    return by_class(rural, reach.limits())


def take_up(minutes: np.ndarray, rural: np.ndarray, reach: ReachSettings) -> np.ndarray:
    """Share of an area's children who use a site ``minutes`` away (the decay curve).

    ``exponential``: 1 up to ``full_minutes``, then halving every ``half_minutes``; 0 beyond
    the area's limit. ``step``: 1 up to the limit. The coverage model is the step curve.

    >>> from optimiser.scenario import ReachSettings
    >>> take_up(np.array([5.0, 20.0, 30.0, 31.0]), np.zeros(4, bool), ReachSettings()).tolist()
    [1.0, 0.5, 0.25, 0.0]
    """
    minutes = np.asarray(minutes, dtype=float)
    rural = np.asarray(rural, dtype=bool)
    inside = minutes <= area_limits(rural, reach) + 1e-9
    d = reach.decay
    if reach.model == "coverage" or d.curve == "step":
        return inside.astype(float)
    full, half = by_class(rural, d.full()), by_class(rural, d.half())
    w = np.power(0.5, np.maximum(minutes - full, 0.0) / half)
    return np.where(inside, w, 0.0)


def minutes_per_metre(rural: np.ndarray, reach: ReachSettings) -> np.ndarray:
    """Estimated travel minutes per straight-line metre, by urban/rural class."""
    return by_class(rural, reach.circuity) / (by_class(rural, reach.speed_kmh) * 1000.0) * 60.0


def estimate_pairs(
    area_xy: np.ndarray,
    rural: np.ndarray,
    site_xy: np.ndarray,
    reach: ReachSettings,
    limit: np.ndarray | None = None,
) -> TravelPairs:
    """Straight-line estimate of the pairs within each area's limit (default: its threshold).

    Parameters
    ----------
    area_xy, site_xy
        Coordinates in metres (British National Grid), shape (n, 2).
    rural
        True for rural areas.
    reach
        Thresholds, speeds and circuity.
    limit
        Minutes per area to search up to (e.g. a longer limit for deprived areas).
    """
    rural = np.asarray(rural, dtype=bool)
    if limit is None:
        limit = area_thresholds(rural, reach)
    if len(site_xy) == 0 or len(area_xy) == 0:
        empty = np.zeros(0, dtype=np.int64)
        return TravelPairs(empty, empty, np.zeros(0))
    per_m = minutes_per_metre(rural, reach)
    radius = limit / per_m
    tree = cKDTree(site_xy)
    areas_out, sites_out = [], []
    # One ball query per distinct radius (a handful: urban/rural × limit), vectorised inside.
    for r in np.unique(radius):
        idx = np.flatnonzero(radius == r)
        hits = tree.query_ball_point(area_xy[idx], r=float(r) * (1 + 1e-12))
        counts = np.fromiter((len(h) for h in hits), dtype=np.int64, count=len(hits))
        if counts.sum() == 0:
            continue
        areas_out.append(np.repeat(idx, counts))
        sites_out.append(np.concatenate([np.asarray(h, dtype=np.int64) for h in hits if h]))
    if not areas_out:
        empty = np.zeros(0, dtype=np.int64)
        return TravelPairs(empty, empty, np.zeros(0))
    a = np.concatenate(areas_out)
    s = np.concatenate(sites_out)
    dist = np.hypot(area_xy[a, 0] - site_xy[s, 0], area_xy[a, 1] - site_xy[s, 1])
    minutes = dist * per_m[a]
    keep = minutes <= limit[a] + 1e-9
    return _sorted(a[keep], s[keep], minutes[keep])


def travel_pairs(
    instance: Instance, reach: ReachSettings, limit: np.ndarray | None = None
) -> TravelPairs:
    """Pairs within each area's limit: from ``travel.csv`` when present, else estimated."""
    areas, sites = instance.areas, instance.sites
    rural = areas["rural"].to_numpy(dtype=bool)
    if limit is None:
        limit = area_thresholds(rural, reach)
    if instance.travel is None:
        return estimate_pairs(
            areas[["x", "y"]].to_numpy(float), rural, sites[["x", "y"]].to_numpy(float),
            reach, limit,
        )
    a_pos = pd.Index(areas["area_id"]).get_indexer(instance.travel["area_id"])
    s_pos = pd.Index(sites["site_id"]).get_indexer(instance.travel["site_id"])
    minutes = instance.travel["minutes"].to_numpy(float)
    keep = minutes <= limit[a_pos] + 1e-9
    return _sorted(a_pos[keep], s_pos[keep], minutes[keep])


def nearest_open_site(
    instance: Instance, reach: ReachSettings, open_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """For each area, the nearest open site (by travel minutes, any distance) and its minutes.

    Returns site positions (-1 when no open site, or with ``travel.csv``, none listed) and
    minutes (NaN then). Ties go to the site listed first.
    """
    areas, sites = instance.areas, instance.sites
    n = len(areas)
    best_site = np.full(n, -1, dtype=np.int64)
    best_min = np.full(n, np.nan)
    open_idx = np.flatnonzero(open_mask)
    if len(open_idx) == 0:
        return best_site, best_min
    if instance.travel is None:
        rural = areas["rural"].to_numpy(dtype=bool)
        tree = cKDTree(sites[["x", "y"]].to_numpy(float)[open_idx])
        dist, k = tree.query(areas[["x", "y"]].to_numpy(float), k=1)
        best_site = open_idx[k]
        best_min = dist * minutes_per_metre(rural, reach)
        return best_site, best_min
    t = instance.travel
    a_pos = pd.Index(areas["area_id"]).get_indexer(t["area_id"])
    s_pos = pd.Index(sites["site_id"]).get_indexer(t["site_id"])
    keep = open_mask[s_pos]
    frame = pd.DataFrame({"a": a_pos[keep], "s": s_pos[keep],
                          "m": t["minutes"].to_numpy(float)[keep]})
    frame = frame.sort_values(["a", "m", "s"], kind="stable").drop_duplicates("a")
    best_site[frame["a"].to_numpy()] = frame["s"].to_numpy()
    best_min[frame["a"].to_numpy()] = frame["m"].to_numpy()
    return best_site, best_min


def site_pairs_within(site_xy: np.ndarray, km: float, *, strict: bool = False) -> np.ndarray:
    """Pairs (j, k), j < k, of sites at most ``km`` apart (strictly less when ``strict``).

    Returns an int array of shape (m, 2), sorted.
    """
    if len(site_xy) < 2:
        return np.zeros((0, 2), dtype=np.int64)
    tree = cKDTree(site_xy)
    pairs = tree.query_pairs(r=km * 1000.0, output_type="ndarray")
    if len(pairs) == 0:
        return np.zeros((0, 2), dtype=np.int64)
    d = np.hypot(*(site_xy[pairs[:, 0]] - site_xy[pairs[:, 1]]).T)
    pairs = pairs[d < km * 1000.0 - 1e-9] if strict else pairs[d <= km * 1000.0 + 1e-9]
    pairs = np.sort(pairs, axis=1)
    return pairs[np.lexsort((pairs[:, 1], pairs[:, 0]))].astype(np.int64)
