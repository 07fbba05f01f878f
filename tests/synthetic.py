"""A small synthetic instance written to a folder (for sweep, compare and sensitivity tests)."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import yaml


def write_instance(folder: Path, *, seed: int = 0, n_areas: int = 30, n_sites: int = 8,
                   localities: int = 3) -> dict:
    """Areas on a 20 km square, sites with different costs, travel.csv from distance.

    Returns the arrays an exhaustive check needs: ``demand`` (population × need), ``reach``
    (bool areas × sites: minutes ≤ 20), ``cost`` (annual cost per site).
    """
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True, exist_ok=True)
    xy = rng.uniform(0, 20_000, (n_areas, 2))
    pop = rng.integers(50, 400, n_areas)
    imd = rng.uniform(5, 60, n_areas)
    cin = rng.uniform(100, 600, n_areas)
    need = 0.5 + imd / imd.mean() * 0.5
    need = need / np.average(need, weights=pop)
    areas = pd.DataFrame({
        "area_id": [f"E{i:03d}" for i in range(n_areas)],
        "name": [f"Area {i}" for i in range(n_areas)],
        "locality": [f"L{i % localities}" for i in range(n_areas)],
        "x": xy[:, 0].round(0), "y": xy[:, 1].round(0),
        "population": pop, "need": need.round(6), "rural": False,
        "lad_name": [f"District {i % 2}" for i in range(n_areas)],
        "imd_score": imd.round(2), "imd_decile": np.clip((10 - imd // 6).astype(int), 1, 10),
        "cpp_rate": rng.uniform(10, 80, n_areas).round(2), "cin_rate": cin.round(2),
        "under5_share": rng.uniform(0.04, 0.09, n_areas).round(4),
    })
    sxy = rng.uniform(0, 20_000, (n_sites, 2))
    cost = rng.choice([200_000, 300_000, 450_000, 650_000], n_sites).astype(float)
    sites = pd.DataFrame({
        "site_id": [f"S{j}" for j in range(n_sites)], "name": [f"Site {j}" for j in range(n_sites)],
        "x": sxy[:, 0].round(0), "y": sxy[:, 1].round(0), "status": "candidate", "tier": "hub",
        "annual_cost": cost, "setup_cost": 0.0, "closure_cost": 0.0,
    })
    minutes = np.hypot(xy[:, None, 0] - sxy[None, :, 0], xy[:, None, 1] - sxy[None, :, 1]) / 250
    ai, sj = np.meshgrid(range(n_areas), range(n_sites), indexing="ij")
    travel = pd.DataFrame({"area_id": areas["area_id"].to_numpy()[ai.ravel()],
                           "site_id": sites["site_id"].to_numpy()[sj.ravel()],
                           "minutes": minutes.ravel().round(3)})
    areas.to_csv(folder / "areas.csv", index=False)
    sites.to_csv(folder / "sites.csv", index=False)
    travel.to_csv(folder / "travel.csv", index=False)
    return {"demand": pop * areas["need"].to_numpy(), "reach": minutes.round(3) <= 20,
            "cost": cost, "areas": areas}


def write_scenario(path: Path, instance: Path, **changes) -> Path:
    data = {"name": path.stem, "instance": str(instance), "objective": "max_reach",
            "budget": 1_000_000, "reach": {"model": "coverage", "threshold_minutes": 20},
            "solver": {"name": "highs", "gap": 0}}
    data.update(changes)
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def best_cover_by_enumeration(demand: np.ndarray, reach: np.ndarray, cost: np.ndarray,
                              budget: float) -> float:
    """Maximal covering under a budget, by trying every subset of sites."""
    best = 0.0
    m = reach.shape[1]
    for k in range(m + 1):
        for subset in itertools.combinations(range(m), k):
            if cost[list(subset)].sum() <= budget + 1e-6:
                covered = reach[:, list(subset)].any(axis=1) if subset else np.zeros(
                    len(demand), dtype=bool)
                best = max(best, float(demand[covered].sum()))
    return best
