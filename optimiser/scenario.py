"""The scenario file: what to optimise, under which budget and rules (YAML, validated).

A scenario names an instance folder (paths are relative to the scenario file), an objective and
its settings. Every key is checked before anything is solved: an unknown key, a wrong type, an
out-of-range value or a missing instance file is one :class:`~optimiser.errors.ScenarioError`
naming the dotted key (``constraints.min_sites``), the bad value and the fix.

Keys and defaults (see DESIGN.md "Interfaces")::

    name: oxfordshire-10m          # default: the file name without .yaml
    title: "Option A: eight centres"  # the option's title in the pack (default: from name)
    instance: instance/            # folder with areas.csv, sites.csv, optional travel.csv
    objective: max_reach           # max_reach | min_cost | max_min_locality | evaluate
    budget: 10000000               # £ a year; needed by max_reach and max_min_locality
    grants: {community grants: 1000000}      # £ a year of the option's envelope given as
                                             # grants, outside the optimiser (default none)
    set_aside: {universal services: 1500000} # £ a year set aside for other things, outside
                                             # the optimiser (default none); the option's
                                             # envelope is budget + grants + set_aside
    annualise_years: 5             # one-off setup/closure costs count 1/5 a year (default 5)
    target_reach: 0.9              # min_cost: share of need-weighted children to reach
    network: [site ids]            # evaluate: the sites open (default: all existing sites)
    reach:
      model: service               # service (default) | coverage
      threshold_minutes: {urban: 20, rural: 30}   # coverage: reached within it
      max_minutes: {urban: 30, rural: 45}         # service: nobody served from further away
      decay: {curve: exponential, full_minutes: {urban: 10, rural: 15},
              half_minutes: {urban: 10, rural: 15}}  # service: take-up against travel time
      speed_kmh: {urban: 15, rural: 50}           # straight-line estimate (no travel.csv)
      circuity: {urban: 1.3, rural: 1.3}          # road distance / straight-line distance
    outreach:                      # leave out to switch outreach off
      cost_per_worker: 42000       # £ a year
      caseload: 60                 # service: children one worker serves in a year
      reach_per_worker: 150        # coverage: need-weighted children one worker reaches
      effectiveness: 0.6           # outreach counts 0.6 of a centre visit
      max_workers_per_locality: 20 # optional cap
    tiers:
      hub: {effectiveness: 1.0}
      spoke: {effectiveness: 0.8, hub_within_km: 15}
    constraints: {locality_min_reach, site_per_locality, min_sites, max_sites,
                  min_separation_km, must_open, must_close, deprived_max_minutes}
    solver: {name: highs, time_limit_s: 600, gap: 0, threads: 1, seed: 0}   # the defaults
    years:                         # a plan over several years (instead of budget)
      - {year: 2026, budget: 16000000}      # or saving / saving_share against base_budget
      - {year: 2027, budget: 14000000, children: 1.01}   # optional growth factor
    multi_year: {base_budget, discount_rate: 0, reopen: false, earliest_closure,
                 one_off_costs: in_year}

Examples
--------
>>> s = Scenario.model_validate({"instance": ".", "objective": "max_reach", "budget": 1e6})
>>> s.annualise_years, s.solver.gap
(5.0, 0.0)
"""

from __future__ import annotations

import contextlib
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from optimiser import limits
from optimiser.errors import ScenarioError
from optimiser.files import suggest
from optimiser.yaml_input import KeyedValueError, read_yaml_mapping, validation_error

OBJECTIVES = ("max_reach", "min_cost", "max_min_locality", "evaluate")


class _Strict(BaseModel):
    # No NaN or infinity (YAML's .nan / .inf): they would reach the solver as a bound.
    model_config = ConfigDict(extra="forbid", validate_default=True, allow_inf_nan=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_true_false_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        # pydantic reads true as 1 for a number: 'budget: yes' must not mean £1.
        if isinstance(value, bool) and info.field_name is not None:
            ann = cls.model_fields[info.field_name].annotation
            members = get_args(ann) or (ann,)
            if bool not in members and (float in members or int in members):
                raise ValueError(f"{str(value).lower()} is not a number")
        return value


def _plausible_pounds(cls: type, value: Any) -> Any:
    """An amount of money (or a mapping of label -> amount) no larger than any council spends
    (:data:`optimiser.limits.MAX_POUNDS`): 1e30 breaks the solver's arithmetic."""
    amounts = value.values() if isinstance(value, dict) else [value]
    for amount in amounts:
        if amount is not None and amount > limits.MAX_POUNDS:
            raise ValueError(f"£{limits.shown(amount)} is more than £10bn a year, more than "
                             "any council spends in all (a typing error?)")
    return value


class UrbanRural(_Strict):
    """A setting with separate values for urban and rural areas."""

    urban: float = Field(gt=0)
    rural: float = Field(gt=0)


class DecaySettings(_Strict):
    """How take-up falls with travel time in the service model (see :func:`take_up`).

    ``exponential`` (default): everyone within ``full_minutes`` who needs the service can use
    it; beyond, the share who do halves every ``half_minutes``; nobody beyond the reach's
    ``max_minutes``. ``step``: everyone within ``max_minutes``, nobody beyond (the coverage
    model's idea of reach, with capacities). Defaults and their sources: README "The service
    model".
    """

    curve: Literal["exponential", "step"] = "exponential"
    full_minutes: UrbanRural | float = Field(
        default_factory=lambda: UrbanRural(urban=10, rural=15))
    half_minutes: UrbanRural | float = Field(
        default_factory=lambda: UrbanRural(urban=10, rural=15))

    @model_validator(mode="after")
    def _positive(self) -> DecaySettings:
        # One number for every area: 0 full minutes is allowed (take-up falls from the door),
        # a half-life must be positive. ({urban, rural} are each > 0 by UrbanRural.)
        for key in ("full_minutes", "half_minutes"):
            v = getattr(self, key)
            if isinstance(v, float | int) and (v < 0 or (key == "half_minutes" and v <= 0)):
                raise KeyedValueError(f"reach.decay.{key}", v,
                                      f"{key} must be " + ("greater than 0" if key ==
                                                           "half_minutes" else "0 or more"),
                                      "give minutes, e.g. 10, or {urban: 10, rural: 15}")
        return self

    def full(self) -> UrbanRural:
        return _urban_rural(self.full_minutes)

    def half(self) -> UrbanRural:
        return _urban_rural(self.half_minutes)


class ReachSettings(_Strict):
    """Who a site serves: the service model (default) or the coverage model.

    ``service``: children are assigned to open sites within ``max_minutes`` (default 30 urban,
    45 rural), take-up falls with travel time (``decay``), and each site serves at most its
    capacity. ``coverage``: an area counts as reached when any open site is within
    ``threshold_minutes`` (default 20 urban, 30 rural), with no capacity unless sites.csv gives
    one. Without travel.csv the minutes are estimated as
    straight-line km × circuity ÷ speed: urban 1.3 at 15 km/h (families walking or by bus),
    rural 1.3 at 50 km/h (driving, calibrated against road times).
    """

    model: Literal["service", "coverage"] = "service"
    threshold_minutes: UrbanRural | float = Field(
        default_factory=lambda: UrbanRural(urban=20, rural=30))
    max_minutes: UrbanRural | float = Field(
        default_factory=lambda: UrbanRural(urban=30, rural=45))
    decay: DecaySettings = Field(default_factory=DecaySettings)
    # Rural 50 km/h: driving, fitted to road times (docs/benchmarks/travel_calibration.md);
    # urban 15 km/h: walking (4.8 km/h) or a bus (about 15 km/h in service) door to door.
    speed_kmh: UrbanRural = Field(default_factory=lambda: UrbanRural(urban=15, rural=50))
    circuity: UrbanRural = Field(default_factory=lambda: UrbanRural(urban=1.3, rural=1.3))

    @field_validator("speed_kmh", "circuity", mode="before")
    @classmethod
    def _one_for_both(cls, value: Any) -> Any:
        # One number means the same for urban and rural areas, as for the minutes above.
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"urban": value, "rural": value}
        return value

    @model_validator(mode="after")
    def _positive(self) -> ReachSettings:
        for key in ("threshold_minutes", "max_minutes"):
            value = getattr(self, key)
            if isinstance(value, float | int) and value <= 0:
                raise KeyedValueError(f"reach.{key}", value, f"{key} must be greater than 0",
                                      "give minutes, e.g. 20, or {urban: 20, rural: 30}")
        if self.circuity.urban < 1 or self.circuity.rural < 1:
            raise KeyedValueError("reach.circuity", None, "circuity must be at least 1",
                                   "roads are never shorter than the straight line; 1.3 is usual")
        return self

    def thresholds(self) -> UrbanRural:
        return _urban_rural(self.threshold_minutes)

    def limits(self) -> UrbanRural:
        """The longest trip a site serves from: ``max_minutes`` (service) or the threshold."""
        return _urban_rural(self.max_minutes if self.model == "service"
                            else self.threshold_minutes)


def _urban_rural(value: UrbanRural | float) -> UrbanRural:
    # One number was checked by its own rule (0 full minutes is allowed): no second check.
    return (value if isinstance(value, UrbanRural)
            else UrbanRural.model_construct(urban=float(value), rural=float(value)))


class OutreachSettings(_Strict):
    """Outreach workers per locality (switched off when the section is absent).

    ``caseload`` (service model): children a worker works with in a year, in the instance's
    children (default 60 for 0-4: about 48 families a year, 15-20 at a time over 3-6 month
    pieces of work, × 1.25 children under 5 per family; see README). ``reach_per_worker``
    (coverage model): need-weighted children one worker reaches.
    """

    cost_per_worker: float = Field(ge=0)
    _cost_ok = field_validator("cost_per_worker")(_plausible_pounds)
    reach_per_worker: float = Field(default=150.0, gt=0)
    caseload: float = Field(default=60.0, gt=0)
    effectiveness: float = Field(default=0.6, gt=0, le=1)
    max_workers_per_locality: int | None = Field(default=None, ge=0)


class HubTier(_Strict):
    effectiveness: float = Field(default=1.0, gt=0, le=1)


class SpokeTier(_Strict):
    effectiveness: float = Field(default=0.8, gt=0, le=1)
    hub_within_km: float | None = Field(default=None, gt=0)


class TierSettings(_Strict):
    """Effectiveness of each tier (hub default 1.0, spoke 0.8) and the spoke-needs-a-hub rule."""

    hub: HubTier = Field(default_factory=HubTier)
    spoke: SpokeTier = Field(default_factory=SpokeTier)


class Constraints(_Strict):
    """Policy constraints; each is off unless given."""

    locality_min_reach: float | None = Field(default=None, ge=0, le=1)
    site_per_locality: bool = False
    min_sites: int | None = Field(default=None, ge=0)
    max_sites: int | None = Field(default=None, ge=0)
    min_separation_km: float | None = Field(default=None, gt=0)
    must_open: list[str] = Field(default_factory=list)
    must_close: list[str] = Field(default_factory=list)
    deprived_max_minutes: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _consistent(self) -> Constraints:
        if (self.min_sites is not None and self.max_sites is not None
                and self.min_sites > self.max_sites):
            raise KeyedValueError("constraints.min_sites", self.min_sites,
                                   f"min_sites ({self.min_sites}) is larger than max_sites "
                                   f"({self.max_sites})", "lower min_sites or raise max_sites")
        both = sorted(set(self.must_open) & set(self.must_close))
        if both:
            raise KeyedValueError("constraints.must_close", both[0],
                                   f"site {both[0]} is in both must_open and must_close",
                                   "remove it from one of the two lists")
        return self


class SolverSettings(_Strict):
    """Solver choice and honesty settings. ``gap`` 0 means: stop only at a proven optimum."""

    #: ``search``: plan and bound for large instances with a binding budget, coverage or
    #: service model (model/search.py, model/search_service.py).
    name: Literal["highs", "cbc", "search"] = "highs"
    # A default limit so a hard instance never runs unattended for hours; hitting it is
    # reported honestly as time_limit with the best bound and gap.
    time_limit_s: float | None = Field(default=600.0, gt=0)
    gap: float = Field(default=0.0, ge=0, le=1)
    threads: int = Field(default=1, ge=1)
    seed: int = Field(default=0, ge=0)
    msg: bool = False


class YearBudget(_Strict):
    """One year of a multi-year plan: its budget, given directly or as a saving against
    ``multi_year.base_budget``, and optionally a growth factor on every area's children."""

    year: int = Field(ge=1990, le=2100)
    budget: float | None = Field(default=None, ge=0)
    #: £ saved this year on top of the earlier years' savings (Lincolnshire's phasing).
    saving: float | None = Field(default=None, ge=0)
    #: This year's saving as a share of the base budget (on top of earlier years').
    saving_share: float | None = Field(default=None, ge=0, le=1)
    _amounts_ok = field_validator("budget", "saving")(_plausible_pounds)
    #: Children in every area this year ÷ the instance's (1.02 = 2% more); overrides growth.
    children: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_amount(self) -> YearBudget:
        given = [k for k in ("budget", "saving", "saving_share") if getattr(self, k) is not None]
        if len(given) != 1:
            raise KeyedValueError(
                "years", self.year,
                f"year {self.year} gives {' and '.join(given) or 'no budget'}",
                "give exactly one of budget (£ a year), saving (£ saved this year on top of "
                "earlier years) or saving_share (this year's saving as a share of "
                "multi_year.base_budget)")
        return self


class MultiYearSettings(_Strict):
    """How a multi-year plan is costed and what it may do between years."""

    #: The budget savings are taken from (needed when a year gives saving or saving_share).
    base_budget: float | None = Field(default=None, ge=0)
    _base_ok = field_validator("base_budget")(_plausible_pounds)
    #: Each later year's children served count 1/(1+r)^k (0: every year counts the same;
    #: HM Treasury's Green Book uses 0.035).
    discount_rate: float = Field(default=0.0, ge=0, lt=1)
    #: A site closed in one year may open again in a later year.
    reopen: bool = False
    #: A site opened during the plan may close again before its end. Off by default: a council
    #: does not open a centre (and pay to set it up) to close it two years later.
    close_new_sites: bool = False
    #: Closures take notice: no site closes before this year (one year for every site, or a
    #: mapping of site ids to years, with ``default`` for the rest).
    earliest_closure: int | dict[str, int] | None = None
    #: in_year: set-up and closure costs are spent in the year they fall (cash, as a council's
    #: budget is); annualised: spread over ``annualise_years`` from that year, as a one-year
    #: solve counts them.
    one_off_costs: Literal["in_year", "annualised"] = "in_year"
    #: Children per year: none (as in the instance), or trend (the council's ONS mid-year
    #: estimates, projected; optimiser/growth.py gives the method and its limits).
    growth: Literal["none", "trend"] = "none"
    #: A council's own figures by area or locality and year (overrides the trend there).
    growth_file: str | None = None
    #: The council's ONS code for the trend (default: the instance's prepare.json).
    council: str | None = None
    #: The year the instance's children were counted (default 2019: ONS mid-2019 estimates).
    children_year: int | None = Field(default=None, ge=1990, le=2100)


class Scenario(_Strict):
    """A validated scenario. ``instance_dir`` and ``source`` are filled by :func:`load_scenario`."""

    name: str = "scenario"
    title: str | None = Field(default=None, min_length=1)
    instance: str
    objective: Literal["max_reach", "min_cost", "max_min_locality", "evaluate"] = "max_reach"
    budget: float | None = Field(default=None, ge=0)
    annualise_years: float = Field(default=5.0, gt=0)
    target_reach: float | None = Field(default=None, ge=0, le=1)
    # Money in the option's envelope the optimiser does not spend: label -> £ a year.
    grants: dict[str, float] = Field(default_factory=dict)
    set_aside: dict[str, float] = Field(default_factory=dict)
    _amounts_ok = field_validator("budget", "grants", "set_aside")(_plausible_pounds)
    network: list[str] | None = None
    reach: ReachSettings = Field(default_factory=ReachSettings)
    outreach: OutreachSettings | None = None
    tiers: TierSettings = Field(default_factory=TierSettings)
    constraints: Constraints = Field(default_factory=Constraints)
    solver: SolverSettings = Field(default_factory=SolverSettings)
    years: list[YearBudget] | None = None
    multi_year: MultiYearSettings | None = None

    # Not scenario keys: where the file and its instance are (set by load_scenario).
    _source: Path | None = None
    _instance_dir: Path | None = None

    @model_validator(mode="after")
    def _objective_needs(self) -> Scenario:
        if self.years is not None:
            return self._years_consistent()
        if self.multi_year is not None:
            raise KeyedValueError("multi_year", None, "multi_year is used only with years",
                                   "add a years: list, or remove multi_year")
        if self.objective in ("max_reach", "max_min_locality") and self.budget is None:
            raise KeyedValueError("budget", None,
                                   f"objective {self.objective} needs a budget (£ a year)",
                                   "add e.g. 'budget: 10000000'")
        if self.objective == "min_cost" and self.target_reach is None:
            raise KeyedValueError("target_reach", None,
                                   "objective min_cost needs target_reach",
                                   "add e.g. 'target_reach: 0.9' (90% of need-weighted children)")
        return self

    def _years_consistent(self) -> Scenario:
        years = self.years or []
        if not years:
            raise KeyedValueError("years", None, "years is empty",
                                   "list at least one year, e.g. - {year: 2026, budget: 1.6e7}")
        if self.solver.name == "search":
            # The years are one joint LP linking every year's plan; the search plans one year.
            raise KeyedValueError("solver.name", "search",
                                   "search plans one year: a multi-year plan (years) needs HiGHS",
                                   "use solver.name: highs, or remove years")
        if self.budget is not None:
            raise KeyedValueError("budget", self.budget,
                                   "budget and years are both given",
                                   "a multi-year plan takes each year's budget from years: "
                                   "remove budget")
        if self.objective != "max_reach":
            raise KeyedValueError("objective", self.objective,
                                   f"years works with objective max_reach, not {self.objective}",
                                   "use objective: max_reach (children served over the years)")
        numbers = [y.year for y in years]
        if any(b <= a for a, b in pairwise(numbers)):
            raise KeyedValueError("years", numbers,
                                   "the years are not in increasing order without repeats",
                                   "list each year once, earliest first")
        saving = any(y.budget is None for y in years)
        base = self.multi_year.base_budget if self.multi_year else None
        if saving and base is None:
            raise KeyedValueError("multi_year.base_budget", None,
                                   "years give savings but no base budget to take them from",
                                   "add multi_year: {base_budget: 16000000}")
        if any(b < 0 for b in self.year_budgets()):
            raise KeyedValueError("years", numbers,
                                   "the savings add up to more than the base budget",
                                   "lower the savings or raise multi_year.base_budget")
        return self

    def year_budgets(self) -> list[float]:
        """Each year's budget (£): given, or the base less the savings so far.

        >>> s = Scenario.model_validate({"instance": ".", "multi_year": {"base_budget": 100},
        ...     "years": [{"year": 2026, "saving": 10}, {"year": 2027, "saving_share": 0.05},
        ...               {"year": 2028, "budget": 70}]})
        >>> s.year_budgets()
        [90.0, 85.0, 70.0]
        """
        base = self.multi_year.base_budget if self.multi_year else None
        out, saved = [], 0.0
        for y in self.years or []:
            if y.budget is not None:
                out.append(float(y.budget))
                continue
            saved += y.saving if y.saving is not None else float(y.saving_share) * base
            out.append(float(base) - saved)
        return out

    @field_validator("grants", "set_aside")
    @classmethod
    def _amounts(cls, value: dict[str, float], info: ValidationInfo) -> dict[str, float]:
        for label, amount in value.items():
            if not str(label).strip():
                raise ValueError("every amount needs a label, e.g. 'community grants: 1000000'")
            if amount < 0:
                raise ValueError(f"'{label}': {amount:,.0f} is negative; give pounds a year, 0 "
                                 "or more")
        return value

    @property
    def envelope(self) -> float | None:
        """The option's whole annual envelope: budget + grants + set-asides (None without a
        budget).

        >>> s = Scenario.model_validate({"instance": ".", "budget": 8.5e6,
        ...                              "set_aside": {"universal services": 1.5e6}})
        >>> s.envelope
        10000000.0
        """
        if self.budget is None:
            return None
        return self.budget + sum(self.grants.values()) + sum(self.set_aside.values())

    def unused_keys(self) -> list[str]:
        """Sentences for keys the file gives that this objective does not use (DESIGN.md's own
        example gives ``network`` and ``target_reach`` with ``max_reach``, so they are accepted,
        and the solution says they were not used).

        >>> s = Scenario.model_validate({"instance": ".", "budget": 1, "network": ["H01"]})
        >>> s.unused_keys()[0][:60]
        'network is used only by objective evaluate: not used by max_'
        """
        notes = []
        if self.network is not None and self.objective != "evaluate":
            notes.append(f"network is used only by objective evaluate: not used by "
                         f"{self.objective}, which chooses the sites (to keep sites open "
                         f"while optimising use constraints.must_open)")
        given = self.outreach.model_fields_set if self.outreach is not None else set()
        if self.reach.model == "service" and "reach_per_worker" in given:
            notes.append("outreach.reach_per_worker is used only by the coverage model: the "
                         "service model counts a worker's outreach.caseload (children a year)")
        if self.reach.model == "coverage":
            unused = [f"reach.{k}" for k in ("max_minutes", "decay")
                      if k in self.reach.model_fields_set]
            unused += ["outreach.caseload"] if "caseload" in given else []
            if unused:
                notes.append(f"{', '.join(unused)} {'is' if len(unused) == 1 else 'are'} used "
                             "only by the service model, not by reach.model coverage")
        if self.target_reach is not None and self.objective != "min_cost":
            notes.append(f"target_reach is used only by objective min_cost: not used by "
                         f"{self.objective} (for a floor per locality use "
                         f"constraints.locality_min_reach)")
        return notes

    @property
    def instance_dir(self) -> Path:
        if self._instance_dir is not None:
            return self._instance_dir
        base = self._source.parent if self._source is not None else Path.cwd()
        return (base / self.instance).resolve()

    @property
    def source(self) -> Path | None:
        return self._source

    def inputs(self) -> list[Path]:
        """The scenario file and its instance folder: what a command run on it reads (so its
        ``--out`` must not replace them)."""
        return [p for p in (self._source, self.instance_dir) if p is not None]

    def settings_dict(self) -> dict[str, Any]:
        """The scenario as validated, defaults filled (for solution.json ``settings``)."""
        return self.model_dump(mode="json")

    def with_changes(self, **changes: Any) -> Scenario:
        """A copy with top-level keys replaced (validated again), keeping the file location.

        >>> s = Scenario.model_validate({"instance": ".", "budget": 1e6})
        >>> s.with_changes(budget=2e6).budget
        2000000.0
        """
        # Only the keys the file gave (and the changes): a full dump would mark every default
        # as given, and unused_keys() would then note keys nobody wrote.
        data = self.model_dump(exclude_unset=True)
        data.update(changes)
        new = Scenario.model_validate(data)
        new._source = self._source
        new._instance_dir = self._instance_dir
        return new


# ---------------------------------------------------------------------------------------------
# Turning pydantic's errors into one clear ScenarioError
# ---------------------------------------------------------------------------------------------

_FIELD_HINTS = {
    "instance": "the folder 'optimiser prepare' wrote, relative to this file, e.g. "
                "'instance: instance/'",
    "objective": "use one of: " + ", ".join(OBJECTIVES),
    "solver.name": "use highs, cbc or search",
    "solver.gap": "a relative gap between 0 (proven optimal) and 1, e.g. 0.005 for 0.5%",
    "budget": "a number of pounds a year, e.g. 10000000 (no £ sign or commas)",
    "target_reach": "a share between 0 and 1, e.g. 0.9 for 90%",
    "constraints.locality_min_reach": "a share between 0 and 1, e.g. 0.5 for 50%",
    "reach.threshold_minutes": "one number of minutes, or {urban: 20, rural: 30}",
    "reach.speed_kmh": "one number of km/h, or {urban: 15, rural: 50}",
    "reach.circuity": "one number (road length ÷ straight line, e.g. 1.3), or "
                      "{urban: 1.3, rural: 1.3}",
    "reach.max_minutes": "one number of minutes, or {urban: 30, rural: 45}",
    "reach.decay.full_minutes": "one number of minutes, or {urban: 10, rural: 15}",
    "reach.decay.half_minutes": "one number of minutes, or {urban: 10, rural: 15}",
    "reach.decay.curve": "use exponential or step",
    "reach.model": "use service (capacities and take-up) or coverage",
    "grants": "a label and pounds a year, e.g. {community grants: 1000000}",
    "set_aside": "a label and pounds a year, e.g. {universal services: 1500000}",
    "title": "a title for the option, e.g. \"Option A: eight centres\"",
}
_SITE_LIST_HINT = ("a list of site_id values from sites.csv, e.g. [H01, H02]; put ids that look "
                   "like numbers in quotes, e.g. ['100234']")
_FIELD_HINTS.update({key: _SITE_LIST_HINT for key in (
    "constraints.must_open", "constraints.must_close", "network")})


def parse_scenario(data: Any, *, file: Path | None = None) -> Scenario:
    """Validate a scenario mapping (already read from YAML).

    Raises
    ------
    ScenarioError
        Naming the dotted key, the bad value and the fix.
    """
    if not isinstance(data, dict):
        raise ScenarioError("the scenario must be a YAML mapping of keys to values",
                            file=file, hint="start with lines like 'instance: instance/'")
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        raise validation_error(exc, Scenario, file, hints=_FIELD_HINTS,
                               missing_hint="add it to the scenario file",
                               default_hint="see the scenario keys in the README") from None
    if file is not None:
        scenario._source = Path(file).resolve()
        if "name" not in data:
            scenario.name = Path(file).stem
    return scenario


def load_scenario(path: str | Path, *, check_instance: bool = True) -> Scenario:
    """Read and validate a scenario file; the instance folder is resolved against the file.

    Raises
    ------
    ScenarioError
        For an unreadable file, bad YAML, an unknown key, a wrong type or out-of-range value, or a
        missing instance folder / ``areas.csv`` / ``sites.csv``.
    """
    path = Path(path)
    data = read_yaml_mapping(path, what="scenario file",
                             example="scenario files are YAML; start with lines like "
                             "'instance: instance/' (see the README)")
    scenario = parse_scenario(data, file=path)
    if check_instance:
        check_instance_files(scenario)
    return scenario


def check_instance_files(scenario: Scenario) -> None:
    """The instance folder and its required files exist."""
    folder = scenario.instance_dir
    if folder.is_file():
        raise ScenarioError(
            f"{folder} is a file, not the instance folder", file=scenario.source, key="instance",
            hint=f"give the folder that holds areas.csv and sites.csv, e.g. 'instance: "
            f"{Path(scenario.instance).parent.as_posix() or '.'}'")
    if not folder.is_dir():
        raise ScenarioError(
            f"the instance folder {folder} does not exist", file=scenario.source, key="instance",
            hint="give the folder 'optimiser prepare' wrote, relative to the scenario file",
        )
    if (folder / "solution.json").is_file():
        raise ScenarioError(
            f"the instance folder {folder} is a solved folder (it holds solution.json), not an "
            "instance", file=scenario.source, key="instance",
            hint=_solved_instance_hint(folder, scenario.source))
    for name in ("areas.csv", "sites.csv"):
        if not (folder / name).is_file():
            raise ScenarioError(
                f"the instance folder {folder} has no {name}", file=scenario.source,
                key="instance", hint="an instance needs areas.csv and sites.csv (see the README)",
            )


def _solved_instance_hint(folder: Path, source: Path | None) -> str:
    """Where a solved folder's own instance is (solution.json names it), as a scenario line."""
    import json
    import os

    try:
        named = json.loads((folder / "solution.json").read_text(encoding="utf-8"))["instance"]
    except (OSError, ValueError, KeyError, TypeError):
        named = None
    if not isinstance(named, str) or not named:
        return "give the instance folder 'optimiser prepare' wrote (the one that was solved)"
    where = Path(named)
    if source is not None:
        with contextlib.suppress(ValueError):
            where = Path(os.path.relpath(where, Path(source).parent))
    return (f"its instance is {named}: write 'instance: {where.as_posix()}' (a scenario names "
            "the instance 'optimiser prepare' wrote; a solved folder is a result)")


def check_site_ids(scenario: Scenario, site_ids: list[str]) -> None:
    """Site ids named in the scenario exist in the instance's sites.csv."""
    known = set(site_ids)
    for key, ids in (("constraints.must_open", scenario.constraints.must_open),
                     ("constraints.must_close", scenario.constraints.must_close),
                     ("network", scenario.network or [])):
        for sid in ids:
            if sid not in known:
                close = suggest(str(sid), site_ids)
                hint = f"did you mean '{close[0]}'? " if close else ""
                raise ScenarioError(
                    f"site '{sid}' is not in the instance's sites.csv", file=scenario.source,
                    key=key, hint=hint + "use site_id values from sites.csv",
                )
