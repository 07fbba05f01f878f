"""The numbers the model is built from: arrays per area, per site and per reach pair.

:class:`ModelData` is built once from an instance and a scenario (travel and reach sets
included) and then turned into MILPs any number of times (e.g. one per budget in a sweep).
:class:`ModelSettings` holds the scenario's switches in the form the formulation uses.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from optimiser.errors import ScenarioError
from optimiser.instance import Instance
from optimiser.scenario import Scenario, check_site_ids
from optimiser.travel import (
    TravelPairs,
    area_limits,
    area_thresholds,
    site_pairs_within,
    take_up,
    travel_pairs,
)

DEPRIVED_DECILES = (1, 2)


@dataclass
class ModelSettings:
    """The scenario's switches, resolved against the instance (site positions, not ids)."""

    objective: str = "max_reach"
    reach_model: str = "service"
    budget: float | None = None
    annualise_years: float = 5.0
    target_reach: float | None = None
    outreach: bool = False
    worker_cost: float = 0.0
    reach_per_worker: float = 1.0  # coverage: need-weighted children a worker reaches
    caseload: float = 1.0  # service: children a worker serves in a year
    outreach_effectiveness: float = 0.6
    max_workers: int | None = None
    hub_effectiveness: float = 1.0
    spoke_effectiveness: float = 0.8
    hub_within_km: float | None = None
    locality_min_reach: float | None = None
    site_per_locality: bool = False
    min_sites: int | None = None
    max_sites: int | None = None
    min_separation_km: float | None = None
    must_open: list[int] = field(default_factory=list)
    must_close: list[int] = field(default_factory=list)
    deprived_max_minutes: float | None = None
    network: list[int] | None = None  # evaluate: the open sites
    solver: str = "highs"
    time_limit_s: float | None = None
    gap: float = 0.0
    threads: int = 1
    seed: int = 0
    msg: bool = False


@dataclass
class ModelData:
    """Arrays the MILP is built from (positions follow the instance's file order).

    Attributes
    ----------
    demand
        a_i = population_i × need_i, need-weighted children per area.
    reach
        Pairs (area, site, minutes) with minutes ≤ the area's threshold: the reach sets N_i of
        the coverage model.
    served, take_up
        Pairs a site may serve (minutes ≤ the area's limit: ``max_minutes`` in the service
        model, the threshold in the coverage model) and the share of children who use the site
        at that travel time (the decay curve; 1 in the coverage model).
    deprived
        Pairs (area, site) within ``deprived_max_minutes`` for areas in IMD deciles 1-2
        (empty when that constraint is off); ``deprived_areas`` lists those areas.
    """

    area_ids: list[str]
    localities: list[str]
    area_locality: np.ndarray
    population: np.ndarray
    demand: np.ndarray
    site_ids: list[str]
    existing: np.ndarray
    spoke: np.ndarray
    annual_cost: np.ndarray
    setup_cost: np.ndarray
    closure_cost: np.ndarray
    capacity: np.ndarray
    site_locality: np.ndarray
    site_xy: np.ndarray
    reach: TravelPairs
    thresholds: np.ndarray
    served: TravelPairs
    take_up: np.ndarray
    limits: np.ndarray
    deprived_areas: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    deprived: TravelPairs | None = None

    @property
    def n_areas(self) -> int:
        return len(self.area_ids)

    @property
    def n_sites(self) -> int:
        return len(self.site_ids)

    def locality_need(self) -> np.ndarray:
        return np.bincount(self.area_locality, weights=self.demand,
                           minlength=len(self.localities))


def settings_from_scenario(scenario: Scenario, site_ids: list[str]) -> ModelSettings:
    """Resolve a scenario's keys into model switches (site ids to positions)."""
    check_site_ids(scenario, site_ids)
    pos = {s: i for i, s in enumerate(site_ids)}
    c = scenario.constraints
    o = scenario.outreach
    return ModelSettings(
        objective=scenario.objective,
        reach_model=scenario.reach.model,
        budget=scenario.budget,
        annualise_years=scenario.annualise_years,
        target_reach=scenario.target_reach,
        outreach=o is not None,
        worker_cost=o.cost_per_worker if o else 0.0,
        reach_per_worker=o.reach_per_worker if o else 1.0,
        caseload=o.caseload if o else 1.0,
        outreach_effectiveness=o.effectiveness if o else 0.0,
        max_workers=o.max_workers_per_locality if o else None,
        hub_effectiveness=scenario.tiers.hub.effectiveness,
        spoke_effectiveness=scenario.tiers.spoke.effectiveness,
        hub_within_km=scenario.tiers.spoke.hub_within_km,
        locality_min_reach=c.locality_min_reach,
        site_per_locality=c.site_per_locality,
        min_sites=c.min_sites,
        max_sites=c.max_sites,
        min_separation_km=c.min_separation_km,
        must_open=sorted(pos[s] for s in c.must_open),
        must_close=sorted(pos[s] for s in c.must_close),
        deprived_max_minutes=c.deprived_max_minutes,
        network=(sorted(pos[s] for s in scenario.network) if scenario.network is not None
                 else None),
        solver=scenario.solver.name,
        time_limit_s=scenario.solver.time_limit_s,
        gap=scenario.solver.gap,
        threads=scenario.solver.threads,
        seed=scenario.solver.seed,
        msg=scenario.solver.msg,
    )


def _site_localities(instance: Instance, localities: list[str]) -> np.ndarray:
    """Each site's locality: its own ``locality`` cell, else the locality of the nearest area."""
    sites, areas = instance.sites, instance.areas
    code = {name: i for i, name in enumerate(localities)}
    tree = cKDTree(areas[["x", "y"]].to_numpy(float))
    _, nearest = tree.query(sites[["x", "y"]].to_numpy(float), k=1)
    inferred = areas["locality"].to_numpy()[nearest]
    given = (sites["locality"] if "locality" in sites.columns
             else pd.Series([None] * len(sites), index=sites.index))
    out = np.empty(len(sites), dtype=np.int64)
    for j, (g, inf) in enumerate(zip(given, inferred, strict=True)):
        name = g if isinstance(g, str) and g.strip() and g not in ("nan", "<NA>") else inf
        out[j] = code.get(name, -1)
    return out


def build_data(instance: Instance, scenario: Scenario) -> ModelData:
    """Arrays and sparse reach sets for an instance under a scenario's reach settings."""
    areas, sites = instance.areas, instance.sites
    localities = instance.localities
    loc_code = {name: i for i, name in enumerate(localities)}
    rural = areas["rural"].to_numpy(dtype=bool)
    thresholds = area_thresholds(rural, scenario.reach)
    limits = area_limits(rural, scenario.reach)
    limit = np.maximum(thresholds, limits)
    deprived_areas = np.zeros(0, dtype=np.int64)
    t_dep = scenario.constraints.deprived_max_minutes
    if t_dep is not None:
        if "imd_decile" not in areas.columns:
            raise ScenarioError(
                "areas.csv has no imd_decile column, so the most deprived areas are unknown",
                file=scenario.source, key="constraints.deprived_max_minutes",
                hint="add imd_decile to areas.csv (prepare writes it) or remove this constraint",
            )
        decile = pd.to_numeric(areas["imd_decile"], errors="coerce").to_numpy()
        deprived_areas = np.flatnonzero(np.isin(decile, DEPRIVED_DECILES))
        limit[deprived_areas] = np.maximum(limit[deprived_areas], t_dep)
    pairs = travel_pairs(instance, scenario.reach, limit)
    reach = pairs.within(thresholds)
    served = pairs.within(limits)
    deprived = None
    if t_dep is not None:
        dep_limit = np.full(len(areas), -1.0)
        dep_limit[deprived_areas] = t_dep
        deprived = pairs.within(dep_limit)
    population = areas["population"].to_numpy(float)
    return ModelData(
        area_ids=areas["area_id"].tolist(),
        localities=localities,
        area_locality=areas["locality"].map(loc_code).to_numpy(np.int64),
        population=population,
        demand=population * areas["need"].to_numpy(float),
        site_ids=sites["site_id"].tolist(),
        existing=(sites["status"] == "existing").to_numpy(bool),
        spoke=(sites["tier"] == "spoke").to_numpy(bool),
        annual_cost=sites["annual_cost"].to_numpy(float),
        setup_cost=sites["setup_cost"].to_numpy(float),
        closure_cost=sites["closure_cost"].to_numpy(float),
        capacity=sites["capacity"].to_numpy(float),
        site_locality=_site_localities(instance, localities),
        site_xy=sites[["x", "y"]].to_numpy(float),
        reach=reach,
        thresholds=thresholds,
        served=served,
        take_up=take_up(served.minutes, rural[served.area], scenario.reach),
        limits=limits,
        deprived_areas=deprived_areas,
        deprived=deprived,
    )


def hub_pairs(data: ModelData, km: float) -> np.ndarray:
    """(spoke, hub) pairs at most ``km`` apart."""
    pairs = site_pairs_within(data.site_xy, km)
    out = []
    for j, k in pairs:
        if data.spoke[j] and not data.spoke[k]:
            out.append((j, k))
        elif data.spoke[k] and not data.spoke[j]:
            out.append((k, j))
    return np.array(sorted(out), dtype=np.int64).reshape(-1, 2)
