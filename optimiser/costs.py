"""Cost assumptions file: what a hub, a spoke and an outreach worker cost, written down.

The demo's figures live in ``scenarios/oxfordshire/costs.yaml``, every number with its
assumption beside it, so a council can replace them with its own budget lines. This module reads
that file (checking every key, as for scenarios) and applies it:

- site costs and capacities by tier to an instance's ``sites.csv`` (:func:`apply_site_costs`):
  ``annual_cost``, ``setup_cost`` (candidates), ``closure_cost`` (existing sites) and
  ``capacity`` (children a year). Sites a council supplied
  itself (``source`` = ``council``) keep their own figures; generated sites take the file's;
- the outreach worker's cost and caseload to a scenario's ``outreach.cost_per_worker`` and
  ``outreach.caseload``
  (:func:`optimiser.demo.scenario_copy`, which keeps the file's comments);
- the community grants pot, split by need with :mod:`optimiser.allocation`.

File layout (all amounts £; see the shipped file for the assumptions)::

    sites:
      hub:   {annual_cost: 650000, setup_cost: 250000, closure_cost: 75000, capacity: 1400}
      spoke: {annual_cost: 220000, setup_cost: 60000, closure_cost: 75000, capacity: 560}
    outreach_worker:
      salary: 31000
      employer_ni: 3022
      employer_pension: 5270
      travel_and_equipment: 2708
      annual_cost: 42000          # must equal the sum of the lines above
      caseload: 84                # children a year (the scenarios' outreach.caseload)
    community_grants:             # optional
      budget: 1000000
      level: locality             # or district
      floor: 25000
      cap: 250000                 # optional
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from optimiser.yaml_input import read_yaml_mapping, validation_error


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class TierCosts(_Strict):
    """One tier's costs, £, and what its staff can do: ``capacity`` in children a year (blank:
    the instance's own figure is kept)."""

    annual_cost: float = Field(ge=0)
    setup_cost: float = Field(default=0.0, ge=0)
    closure_cost: float = Field(default=0.0, ge=0)
    capacity: float | None = Field(default=None, gt=0)


class SiteCosts(_Strict):
    hub: TierCosts
    spoke: TierCosts


class OutreachWorkerCost(_Strict):
    """A worker's annual cost, built up from salary and on-costs."""

    salary: float = Field(ge=0)
    employer_ni: float = Field(default=0.0, ge=0)
    employer_pension: float = Field(default=0.0, ge=0)
    travel_and_equipment: float = Field(default=0.0, ge=0)
    annual_cost: float = Field(gt=0)
    #: Children a worker serves in a year (the scenarios' outreach.caseload).
    caseload: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _adds_up(self) -> OutreachWorkerCost:
        parts = self.salary + self.employer_ni + self.employer_pension + self.travel_and_equipment
        if abs(parts - self.annual_cost) > 1.0:
            raise ValueError(
                f"annual_cost {self.annual_cost:,.0f} is not the sum of salary, employer_ni, "
                f"employer_pension and travel_and_equipment ({parts:,.0f})")
        return self


class GrantsPot(_Strict):
    """Money outside the optimiser split across localities or districts by need."""

    budget: float = Field(ge=0)
    level: Literal["locality", "district"] = "locality"
    floor: float = Field(default=0.0, ge=0)
    cap: float | None = Field(default=None, ge=0)

    @property
    def cap_limit(self) -> float:
        """The cap as :func:`optimiser.allocation.allocate` takes it (no cap = infinity)."""
        return float("inf") if self.cap is None else self.cap


class CostAssumptions(_Strict):
    """The whole costs file."""

    sites: SiteCosts
    outreach_worker: OutreachWorkerCost
    community_grants: GrantsPot | None = None


def load_costs(path: str | Path) -> CostAssumptions:
    """Read and check a costs file.

    Raises
    ------
    ScenarioError
        Naming the file and the dotted key of the first problem.
    """
    path = Path(path)
    data = read_yaml_mapping(path, what="costs file",
                             example="see scenarios/oxfordshire/costs.yaml for the layout")
    try:
        return CostAssumptions.model_validate(data)
    except ValidationError as exc:
        raise validation_error(
            exc, CostAssumptions, path, hints={},
            missing_hint="see scenarios/oxfordshire/costs.yaml",
            default_hint="amounts are plain numbers of pounds (no £ sign or commas)") from None


def apply_site_costs(sites: pd.DataFrame, costs: CostAssumptions) -> pd.DataFrame:
    """Set generated sites' costs from the file's tiers (a council's own sites keep theirs).

    Without a ``source`` column every site takes the file's figures. ``setup_cost`` applies to
    candidates and ``closure_cost`` to existing sites; the other is 0.
    """
    sites = sites.copy()
    if "capacity" not in sites.columns:
        sites["capacity"] = float("nan")  # blank: no limit unless the file gives one
    generated = (sites["source"].astype(str) != "council") if "source" in sites.columns else (
        pd.Series(True, index=sites.index))
    for tier in ("hub", "spoke"):
        tc: TierCosts = getattr(costs.sites, tier)
        rows = generated & (sites["tier"].astype(str) == tier)
        candidate = sites["status"].astype(str) == "candidate"
        sites.loc[rows, "annual_cost"] = tc.annual_cost
        sites.loc[rows, "setup_cost"] = tc.setup_cost * candidate[rows]
        sites.loc[rows, "closure_cost"] = tc.closure_cost * (~candidate[rows])
        if tc.capacity is not None:
            sites.loc[rows, "capacity"] = tc.capacity
    for col in ("annual_cost", "setup_cost", "closure_cost", "capacity"):
        sites[col] = sites[col].astype(float)
    return sites

