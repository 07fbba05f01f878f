"""Synthetic instances for tests and benchmarks (reproducible from a seed; no real data).

A square county with a few towns (urban areas clustered around them) and rural areas in between,
localities as a grid of districts, need skewed towards the towns, and today's network of hubs and
spokes plus candidate sites, costed like ``prepare``'s defaults (hub £650k, spoke £220k a year).

Examples
--------
>>> inst = synthetic_instance(50, seed=1)
>>> len(inst.areas), inst.sites["status"].value_counts().to_dict()
(50, {'candidate': 4, 'existing': 3})
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from optimiser.instance import Instance, validate_sites

HUB_COST = 650_000.0
SPOKE_COST = 220_000.0


def synthetic_instance(
    n_areas: int = 400,
    *,
    seed: int = 0,
    size_km: float | None = None,
    n_localities: int | None = None,
    n_existing: int | None = None,
    n_candidates: int | None = None,
) -> Instance:
    """A synthetic county instance (coordinates in metres, British-National-Grid-like)."""
    rng = np.random.default_rng(seed)
    size = (size_km or max(10.0, 2.2 * np.sqrt(n_areas))) * 1000.0
    n_towns = max(2, n_areas // 80)
    towns = rng.uniform(0.1 * size, 0.9 * size, size=(n_towns, 2))
    urban_n = int(0.6 * n_areas)
    which = rng.integers(0, n_towns, urban_n)
    urban_xy = towns[which] + rng.normal(0, 0.025 * size, size=(urban_n, 2))
    rural_xy = rng.uniform(0, size, size=(n_areas - urban_n, 2))
    xy = np.clip(np.vstack([urban_xy, rural_xy]), 0, size)
    rural = np.r_[np.zeros(urban_n, bool), np.ones(n_areas - urban_n, bool)]
    k = n_localities or max(2, min(12, n_areas // 40))
    cols = int(np.ceil(np.sqrt(k)))
    rows = int(np.ceil(k / cols))
    cx = np.minimum((xy[:, 0] / size * cols).astype(int), cols - 1)
    cy = np.minimum((xy[:, 1] / size * rows).astype(int), rows - 1)
    loc = np.minimum(cy * cols + cx, k - 1)
    population = rng.integers(20, 160, n_areas).astype(float)
    imd = np.where(rural, rng.gamma(2.0, 6.0, n_areas), rng.gamma(2.5, 9.0, n_areas))
    need = 0.5 + imd / imd.mean() * 0.5
    need = need / np.average(need, weights=population)
    decile = (pd.Series(imd).rank(ascending=False, method="first") - 1) * 10 // n_areas + 1
    areas = pd.DataFrame({
        "area_id": [f"A{i:05d}" for i in range(n_areas)],
        "name": [f"Area {i}" for i in range(n_areas)],
        "locality": [f"Locality {chr(65 + v)}" if v < 26 else f"Locality {v}" for v in loc],
        "x": np.round(xy[:, 0], 1), "y": np.round(xy[:, 1], 1),
        "population": population, "need": np.round(need, 6), "rural": rural,
        "imd_score": np.round(imd, 3), "imd_decile": decile.astype(int).to_numpy(),
    })
    n_ex = n_existing if n_existing is not None else max(2, n_areas // 15)
    n_ca = n_candidates if n_candidates is not None else max(2, n_areas // 12)
    ex_pick = rng.choice(n_areas, n_ex, replace=False)
    ex_xy = xy[ex_pick] + rng.normal(0, 200, size=(n_ex, 2))
    ca_xy = np.vstack([xy[rng.choice(n_areas, n_ca, replace=False)]
                       + rng.normal(0, 300, size=(n_ca, 2))])
    all_xy = np.vstack([ex_xy, ca_xy])
    m = n_ex + n_ca
    tier = np.where(rng.random(m) < 0.4, "hub", "spoke")
    status = np.r_[np.repeat("existing", n_ex), np.repeat("candidate", n_ca)]
    annual = np.where(tier == "hub", HUB_COST, SPOKE_COST)
    sites = pd.DataFrame({
        "site_id": [f"S{j:04d}" for j in range(m)],
        "name": [f"Site {j}" for j in range(m)],
        "x": np.round(all_xy[:, 0], 1), "y": np.round(all_xy[:, 1], 1),
        "status": status, "tier": tier, "annual_cost": annual,
        "setup_cost": np.where(status == "candidate", np.where(tier == "hub", 400e3, 120e3), 0.0),
        "closure_cost": np.where(status == "existing", 60e3, 0.0),
        "capacity": np.nan,
    })
    return Instance(areas=areas, sites=validate_sites(sites, file=None))  # type: ignore[arg-type]
