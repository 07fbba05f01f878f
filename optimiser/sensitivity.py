"""Sensitivity to the need weights: would the answer change if child protection counted more?

The need index weights its indicators (IMD score, children on protection plans, children in
need, % under 5; equal by default). Nobody can defend one exact set of weights, so this module
re-solves the scenario under many random weightings and reports how robust the plan is:

- per **site**: the share of draws in which it is chosen (1.0 = chosen whatever the weights;
  a site chosen in the base plan with a low share depends on the weighting);
- per **locality**: how its need rank moves (base rank; median, 5th and 95th percentile rank over
  the draws; mean and largest absolute move) and the range of its reached share.

Draws: weights ~ Dirichlet(concentration, ..., concentration) over the indicators in use (those
with a positive weight in the instance's ``prepare.json``, else the four default indicators),
i.e. uniformly over every way of sharing the total weight when ``concentration`` is 1. Each
draw recomputes every area's need with :func:`optimiser.need.compute_need` (the instance's
method, z-scores or ranks) and solves the scenario again. Draws are seeded (``seed``), solved in
chunks on a Dask cluster (:mod:`optimiser._cluster`: by default a local one with a worker per
core; ``--workers``, ``--scheduler``) with single-threaded HiGHS, and gathered in draw order,
so the same seed gives the same tables whatever the number of workers.

Examples
--------
>>> w = draw_weights(["imd_score", "cin_rate"], 3, seed=1)
>>> w.shape, bool(np.allclose(w.sum(axis=1), 1))
((3, 2), True)
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimiser.errors import InputError, ScenarioError
from optimiser.files import atomic_output_dir, check_output_dir, write_csv, write_json

DEFAULT_DRAWS = 50


def draw_weights(indicators: list[str], draws: int, seed: int = 0,
                 concentration: float = 1.0) -> np.ndarray:
    """``draws`` × ``len(indicators)`` weights, each row summing to 1 (seeded Dirichlet)."""
    if draws < 1:
        raise InputError(f"--weight-draws must be at least 1, not {draws}",
                         column="--weight-draws", hint="e.g. --weight-draws 50")
    rng = np.random.default_rng(seed)
    return rng.dirichlet(np.full(len(indicators), float(concentration)), size=draws)


def base_weights(instance_dir: Path, areas: pd.DataFrame) -> tuple[dict[str, float], str]:
    """The weights and method the instance's need was built with (prepare.json), else the
    defaults; only indicators present in ``areas``."""
    from optimiser.need import DEFAULT_WEIGHTS

    weights: dict[str, float] = dict(DEFAULT_WEIGHTS)
    method = "z"
    meta = instance_dir / "prepare.json"
    if meta.is_file():
        need = json.loads(meta.read_text(encoding="utf-8")).get("need") or {}
        if isinstance(need.get("weights"), dict) and need["weights"]:
            weights = {k: float(v) for k, v in need["weights"].items()}
            # The need was built from these: varying fewer would answer another question.
            missing = [k for k, v in weights.items() if v > 0 and k not in areas.columns]
            if missing:
                raise InputError(
                    f"the need was built from {', '.join(missing)} (prepare.json), but "
                    "areas.csv has no such column",
                    file=instance_dir / "areas.csv", column=missing[0],
                    hint="run 'optimiser prepare' again, or restore the column in areas.csv",
                )
        method = need.get("method") or method
    used = {k: v for k, v in weights.items() if v > 0 and k in areas.columns}
    if not used:
        raise InputError(
            "the areas have none of the need indicators, so the weights cannot be varied",
            file=instance_dir / "areas.csv",
            hint="sensitivity needs indicator columns such as imd_score, cpp_rate, cin_rate, "
            "under5_share (as 'optimiser prepare' writes)",
        )
    return used, method


# --------------------------------------------------------------------------------------------
# One chunk of draws (a task on a worker: see optimiser._cluster)
# --------------------------------------------------------------------------------------------


def _solve_chunk(chunk: list[tuple[int, dict[str, float] | None]],
                 shared: tuple) -> list[dict[str, Any]]:
    """Solve a chunk of draws; ``shared`` is (scenario, instance, method), sent once."""
    scenario, instance, method = shared
    return [_solve_draw(index, weights, method, scenario, instance) for index, weights in chunk]


def _solve_draw(index: int, weights: dict[str, float] | None, method: str, scenario,
                instance) -> dict[str, Any]:
    """Recompute need with one weighting and solve; the plan and locality measures."""
    from optimiser.instance import Instance
    from optimiser.model import FamilyCentreModel
    from optimiser.need import compute_need, locality_summary

    areas = instance.areas.copy()
    if weights is not None:
        areas["need"] = compute_need(areas, weights, method).to_numpy()
    inst = Instance(areas=areas, sites=instance.sites, travel=instance.travel,
                    folder=instance.folder)
    model = FamilyCentreModel.from_instance(inst, scenario)
    result = model.solve()
    d = model.data
    loc_need = d.locality_need()
    loc_reached = result.locality_reached(model)
    summary = locality_summary(areas).set_index("locality")
    return {
        "draw": index,
        "status": result.status,
        "open": [d.site_ids[j] for j in np.flatnonzero(result.open)] if result.has_plan else [],
        "reach_share": result.need_reached / result.need_total if result.has_plan else np.nan,
        "locality_rank": {str(k): int(v) for k, v in summary["need_rank"].items()},
        "locality_reach": {loc: (float(r / n) if n > 0 else np.nan) for loc, r, n in
                           zip(d.localities, loc_reached, loc_need, strict=True)},
    }


# --------------------------------------------------------------------------------------------
# Driver
# --------------------------------------------------------------------------------------------


@dataclass
class SensitivityResult:
    """Tables of a weight-sensitivity run.

    Attributes
    ----------
    sites
        ``site_id``, ``name``, ``tier``, ``locality``, ``chosen_in_base``, ``chosen_share``
        (share of draws with a plan in which the site is open), ``draws``.
    localities
        ``locality``, ``base_rank``, ``median_rank``, ``best_rank`` / ``worst_rank`` (5th and
        95th percentiles), ``mean_abs_move``, ``max_abs_move`` (rank places), ``base_reach_share``,
        ``reach_share_low`` / ``reach_share_high`` (5th and 95th percentiles over the draws).
    draws
        One row per draw: ``draw``, the indicator weights, ``status``, ``reach_share``, ``sites``.
    """

    sites: pd.DataFrame
    localities: pd.DataFrame
    draws: pd.DataFrame
    seconds: float = 0.0


def run_draws(tasks: list[tuple[int, dict[str, float] | None]], shared: tuple, *,
              workers: int | None = None, scheduler: str | None = None,
              progress: bool = True) -> list[dict[str, Any]]:
    """Solve the draws on the cluster (:mod:`optimiser._cluster`) in chunks; in task order."""
    from optimiser._cluster import CHUNKS_PER_WORKER, chunks, open_client, run_tasks, worker_count

    with open_client(workers, scheduler, tasks=len(tasks)) as client:
        parts = chunks(tasks, CHUNKS_PER_WORKER * worker_count(client))
        done = run_tasks(_solve_chunk, parts, shared=shared, progress=progress,
                         desc="weights", client=client)
    return [res for part in done for res in part]


def weight_sensitivity_solve(
    scenario,
    draws: int = DEFAULT_DRAWS,
    *,
    seed: int = 0,
    weights: np.ndarray | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    progress: bool = True,
) -> SensitivityResult:
    """Re-solve ``scenario`` under ``draws`` random need weightings (see the module docstring).

    ``weights`` (draws × indicators, rows summing to 1) replaces the random draws, e.g. to test
    given weightings. ``workers`` and ``scheduler``: where the draws are solved
    (:mod:`optimiser._cluster`; default a local cluster of the machine's cores).
    """
    from optimiser._cluster import one_thread
    from optimiser.instance import read_instance

    start = time.perf_counter()
    instance_dir = scenario.instance_dir
    instance = read_instance(instance_dir)
    base, method = base_weights(instance_dir, instance.areas)
    names = list(base)
    matrix = draw_weights(names, draws, seed) if weights is None else np.asarray(weights, float)
    if matrix.ndim != 2 or matrix.shape[1] != len(names):
        raise InputError(f"weights must have one column per indicator ({', '.join(names)})")
    tasks: list[tuple[int, dict[str, float] | None]] = [(0, None)]
    tasks += [(i + 1, dict(zip(names, map(float, row), strict=True)))
              for i, row in enumerate(matrix)]
    out = run_draws(tasks, (one_thread(scenario), instance, method), workers=workers,
                    scheduler=scheduler, progress=progress)
    base_res, draw_res = out[0], out[1:]
    if base_res["status"] == "infeasible":
        raise ScenarioError("the scenario has no feasible plan, so there is nothing to vary",
                            file=scenario.source, hint="solve it first with 'optimiser solve'")
    return _tables(instance, names, matrix, base_res, draw_res, time.perf_counter() - start)


def _tables(instance, names, matrix, base_res, draw_res, seconds) -> SensitivityResult:
    sites = instance.sites
    with_plan = [r for r in draw_res if r["status"] != "infeasible"]
    n = max(len(with_plan), 1)
    counts = pd.Series(0, index=sites["site_id"].astype(str))
    for r in with_plan:
        counts[r["open"]] += 1
    site_table = pd.DataFrame({
        "site_id": sites["site_id"].astype(str).to_numpy(),
        "name": sites["name"].astype(str).to_numpy(),
        "tier": sites["tier"].astype(str).to_numpy(),
        "locality": (sites["locality"].astype(str).to_numpy() if "locality" in sites.columns
                     else ""),
        "chosen_in_base": sites["site_id"].astype(str).isin(base_res["open"]).to_numpy(),
        "chosen_share": (counts.to_numpy() / n).round(4),
        "draws": len(with_plan),
    }).sort_values(["chosen_share", "site_id"], ascending=[False, True], kind="stable")

    localities = sorted(base_res["locality_rank"])
    ranks = np.array([[r["locality_rank"][loc] for loc in localities] for r in draw_res])
    reach = np.array([[r["locality_reach"].get(loc, np.nan) for loc in localities]
                      for r in with_plan]) if with_plan else np.full((1, len(localities)),
                                                                     np.nan)
    base_rank = np.array([base_res["locality_rank"][loc] for loc in localities])
    moves = np.abs(ranks - base_rank)
    loc_table = pd.DataFrame({
        "locality": localities,
        "base_rank": base_rank,
        "median_rank": np.median(ranks, axis=0).round(2),
        "best_rank": np.percentile(ranks, 5, axis=0).round(2),
        "worst_rank": np.percentile(ranks, 95, axis=0).round(2),
        "mean_abs_move": moves.mean(axis=0).round(3),
        "max_abs_move": moves.max(axis=0),
        "base_reach_share": [round(base_res["locality_reach"].get(loc, np.nan), 6)
                             for loc in localities],
        "reach_share_low": np.nanpercentile(reach, 5, axis=0).round(6),
        "reach_share_high": np.nanpercentile(reach, 95, axis=0).round(6),
    }).sort_values(["base_rank", "locality"], kind="stable").reset_index(drop=True)

    draws = pd.DataFrame(matrix.round(6), columns=[f"w_{n}" for n in names])
    draws.insert(0, "draw", range(1, len(draw_res) + 1))
    draws["status"] = [r["status"] for r in draw_res]
    draws["reach_share"] = [round(r["reach_share"], 6) for r in draw_res]
    draws["sites"] = [len(r["open"]) for r in draw_res]
    return SensitivityResult(site_table.reset_index(drop=True), loc_table, draws, seconds)


def write_sensitivity(result: SensitivityResult, out_dir: str | Path) -> None:
    """``sensitivity_sites.csv``, ``sensitivity_localities.csv``, ``sensitivity_draws.csv``."""
    out_dir = Path(out_dir)
    write_csv(out_dir / "sensitivity_sites.csv", result.sites)
    write_csv(out_dir / "sensitivity_localities.csv", result.localities)
    write_csv(out_dir / "sensitivity_draws.csv", result.draws)


#: More draws than this say nothing a few hundred do not, and would run for hours.
MAX_DRAWS = 1000


def check_draws(draws: int, seed: int) -> None:
    """Refuse a number of draws or a seed the run cannot use, before anything is read.

    >>> check_draws(20, 0)
    >>> check_draws(0, 0)
    Traceback (most recent call last):
    ...
    optimiser.errors.InputError: --weight-draws 0 is not a number of draws from 1 to 1,000
      hint: 20 to 200 draws show which sites and localities are robust to the weights
    """
    if not 1 <= draws <= MAX_DRAWS:
        raise InputError(f"--weight-draws {draws} is not a number of draws from 1 to "
                         f"{MAX_DRAWS:,}",
                         hint="20 to 200 draws show which sites and localities are robust to "
                         "the weights")
    if seed < 0:
        raise InputError(f"--seed {seed} is negative", hint="use 0 or a positive whole number")


def run_sensitivity(scenario_path: str | Path, draws: int, out: str | Path, *, seed: int = 0,
                    progress: bool = True, workers: int | None = None,
                    scheduler: str | None = None) -> str:
    """``optimiser sensitivity``: the tables into ``out``; a plain summary."""
    from optimiser._cluster import check_workers
    from optimiser.scenario import load_scenario

    check_draws(draws, seed)
    check_workers(workers, scheduler)
    scenario = load_scenario(scenario_path)
    check_output_dir(Path(out).resolve(), scenario.inputs())  # before the draws are solved
    result = weight_sensitivity_solve(scenario, draws, seed=seed, progress=progress,
                                      workers=workers, scheduler=scheduler)
    with atomic_output_dir(out, reads=scenario.inputs()) as tmp:
        write_sensitivity(result, tmp)
        write_json(tmp / "sensitivity.json", {"scenario": scenario.name, "draws": draws,
                                              "seed": seed, "seconds": round(result.seconds, 1)})
    return summarise(result, Path(out))


def summarise(result: SensitivityResult, out: Path) -> str:
    s = result.sites
    robust = s[s["chosen_in_base"] & (s["chosen_share"] >= 0.9)]
    fragile = s[s["chosen_in_base"] & (s["chosen_share"] < 0.5)]
    loc = result.localities
    lines = [
        f"{len(result.draws)} weightings solved in {result.seconds:.1f} s.",
        f"Sites in the base plan chosen in at least 90% of draws: {len(robust)} of "
        f"{int(s['chosen_in_base'].sum())}; chosen in under half: {len(fragile)}"
        + (f" ({', '.join(fragile['name'].head(5))})" if len(fragile) else "") + ".",
        f"Locality need ranks: largest move {int(loc['max_abs_move'].max()) if len(loc) else 0}"
        " places.",
        f"Tables: {out}",
    ]
    return "\n".join(lines)
