"""Read a solved folder (what ``optimiser solve`` writes) for the report.

The format is pinned in ``docs/interfaces.md`` ("Solved folder"). Reading checks what the report
relies on and names the file and column of any problem. Optional extras are picked up when present:

- the instance folder (``solution.json`` key ``instance``): area coordinates, ``prepare.json``
  (sources, boundaries, whether CIN/CPP are modelled) and ``localities.csv``;
- ``allocation.csv`` (funding per locality, written by :mod:`optimiser.allocation`);
- ``sweep.csv`` (reach against budget) and ``compare.csv`` (options side by side), in the
  solved folder, its parent, or the parent's ``sweep/`` and ``options/`` folders.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.errors import InputError
from optimiser.files import parse_bool_column, read_table

AREA_REQUIRED = ["area_id", "locality", "population", "need", "reached_by", "change"]
SITE_REQUIRED = ["site_id", "name", "x", "y", "status", "tier", "decision"]
LOCALITY_REQUIRED = ["locality", "need_total", "need_reached", "reach_share", "sites",
                     "outreach_workers"]
SWEEP_REQUIRED = ["budget", "reach_share"]


def _require_columns(table: pd.DataFrame, columns: list[str], path: Path) -> None:
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise InputError(f"the table has no column '{missing[0]}'", file=path,
                         column=missing[0],
                         hint=f"it needs the columns {', '.join(columns)} (as optimiser writes "
                         "them)")
COMPARE_REQUIRED = ["option", "reach_share", "sites"]
SOLUTION_REQUIRED = ["objective", "status", "open_sites", "totals"]


@dataclass
class Solved:
    """A solved folder, read and checked.

    Attributes
    ----------
    folder
        The solved folder.
    solution
        ``solution.json`` as a dict.
    areas, sites, localities
        The solved tables. ``areas`` has ``x``/``y`` (from the instance when the solved table
        lacks them) when they are known anywhere.
    instance_dir
        The instance folder, when it still exists.
    prepare
        The instance's ``prepare.json`` (empty when there is none).
    allocation
        ``allocation.csv`` (``unit``, ``allocation`` at least), or ``None``.
    allocation_purpose
        What the allocated money is for (``allocation.json``'s ``purpose``), so the pack never
        shows a funding column without saying which pot it splits; empty when unknown.
    sweep
        ``sweep.csv`` (``budget``, ``reach_share``, ...), or ``None``.
    compare
        ``compare.csv`` (``optimiser compare``: one row per option), or ``None``.
    scenario_text
        ``scenario.yaml`` as written (empty when missing).
    inputs
        Every folder and file read (so a pack's ``--out`` never replaces one).
    """

    folder: Path
    solution: dict
    areas: pd.DataFrame
    sites: pd.DataFrame
    localities: pd.DataFrame
    instance_dir: Path | None = None
    prepare: dict = field(default_factory=dict)
    allocation: pd.DataFrame | None = None
    allocation_purpose: str = ""
    sweep: pd.DataFrame | None = None
    compare: pd.DataFrame | None = None
    scenario_text: str = ""
    inputs: list[Path] = field(default_factory=list)

    @property
    def service_model(self) -> bool:
        """Solved with the service model (capacities and take-up); older folders: coverage."""
        return self.solution.get("reach_model") == "service"

    @property
    def modelled_cases(self) -> bool:
        """True when any CIN/CPP figure is a modelled estimate rather than the council's count."""
        if bool(self.prepare.get("modelled_cases", False)):
            return True
        if "cases_source" in self.areas.columns:
            return bool((self.areas["cases_source"].astype(str) == "modelled").any())
        return False

    @property
    def network_known(self) -> bool:
        """True when today's network is known (the instance has existing sites)."""
        return bool((self.sites["status"].astype(str) == "existing").any())

    @property
    def name(self) -> str:
        """The scenario's name (or the folder's)."""
        scen = self.solution.get("scenario")
        if isinstance(scen, dict):
            scen = scen.get("name")
        settings = self.solution.get("settings") or {}
        return str(scen or settings.get("name") or self.folder.name)

    @property
    def title(self) -> str:
        """The option's title for people: the scenario's ``title``, else its name in words."""
        from optimiser.compare import option_title

        return option_title(self.solution.get("settings") or {}, self.name)

    @property
    def la_name(self) -> str:
        la = self.prepare.get("la") or {}
        return str(la.get("name") or "the county")


def _read_json(path: Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError("the file is missing", file=path,
                         hint="give the folder written by 'optimiser solve'") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"not valid JSON (line {exc.lineno}: {exc.msg})", file=path,
                         hint="write it again with 'optimiser solve'") from None
    if not isinstance(data, dict):
        raise InputError("expected a JSON object", file=path)
    return data


def _find(folder: Path, name: str, subfolder: str) -> Path | None:
    """``name`` in the solved folder, its parent, or the parent's ``subfolder`` (as the demo and
    ``optimiser sweep --out DIR/sweep`` / ``optimiser compare --out DIR/options`` leave them)."""
    for cand in (folder / name, folder.parent / name, folder.parent / subfolder / name):
        if cand.is_file():
            return cand
    return None


def _made_for(path: Path) -> str | None:
    """The instance a sweep or comparison found beside a solved folder was made for: from the
    sweep's ``sweep.json`` or an option's ``solution.json``; None when it does not say."""
    if path.name == "sweep.csv":
        sources = [path.with_name("sweep.json")]
    else:
        sources = sorted(path.parent.glob("*/solution.json"))[:1]
    for meta in sources:
        if meta.is_file():
            try:
                made = json.loads(meta.read_text(encoding="utf-8")).get("instance")
            except (OSError, ValueError, AttributeError):
                return None
            return str(made) if made else None
    return None


def _check_same_instance(path: Path | None, solution: dict, folder: Path) -> None:
    """One clear error when the sweep or comparison found beside a solved folder was made for
    another instance (another council's sweep left in the parent folder would be quoted as this
    plan's)."""
    ours = solution.get("instance")
    made = _made_for(path) if path is not None else None
    if made is None or not ours or Path(made).resolve() == Path(ours).resolve():
        return
    raise InputError(
        f"{path.name} beside the solved folder was made for another instance ({made}), not this "
        f"plan's ({ours})", file=path,
        hint=f"move it away from {folder.parent}, or run 'optimiser "
        f"{'sweep' if path.name == 'sweep.csv' else 'compare'}' again for this instance")


def read_solved(folder: str | Path) -> Solved:
    """Read and check a solved folder.

    Raises
    ------
    InputError
        The folder or one of its files is missing or malformed (names the file and column).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("the solved folder does not exist", file=folder,
                         hint="run 'optimiser solve SCENARIO.yaml --out DIR' first and give DIR")
    solution = _read_json(folder / "solution.json")
    missing = [k for k in SOLUTION_REQUIRED if k not in solution]
    if missing:
        raise InputError(f"key '{missing[0]}' is missing", file=folder / "solution.json",
                         hint="write it again with 'optimiser solve'")
    if not (folder / "areas.csv").is_file() and not solution.get("open_sites") \
            and solution.get("status") in ("infeasible", "time_limit"):
        why = "; ".join(str(x).rstrip(".") for x in (solution.get("explanation") or [])[:1])
        raise InputError(
            f"the scenario has no plan (solver status '{solution.get('status')}'), so there is "
            "nothing to report" + (f": {why}" if why else ""), file=folder / "solution.json",
            hint="change the scenario (budget, constraints) and solve again")
    areas = read_table(folder / "areas.csv", required=AREA_REQUIRED,
                       numeric=["population", "need"], text=["area_id", "locality", "name"],
                       unique=["area_id"], what="solved areas file")
    sites = read_table(folder / "sites.csv", required=SITE_REQUIRED, numeric=["x", "y"],
                       text=["site_id", "name", "locality"], unique=["site_id"],
                       what="solved sites file")
    localities = read_table(folder / "localities.csv", required=LOCALITY_REQUIRED,
                            numeric=["need_total", "need_reached", "reach_share", "sites",
                                     "outreach_workers"],
                            text=["locality"], unique=["locality"],
                            what="solved localities file")
    if "name" not in areas.columns:
        areas["name"] = areas["area_id"]
    areas["name"] = areas["name"].fillna(areas["area_id"]).astype(str)
    for col in ("reached", "reached_before"):
        if col in areas.columns and not pd.api.types.is_bool_dtype(areas[col]):
            areas[col] = parse_bool_column(areas, col, file=folder / "areas.csv")
    if "open" in sites.columns and not pd.api.types.is_bool_dtype(sites["open"]):
        sites["open"] = parse_bool_column(sites, "open", file=folder / "sites.csv")
    sites["name"] = opened_names(sites)

    instance_dir = None
    prepare: dict = {}
    inst = solution.get("instance")
    if inst:
        p = Path(inst)
        if not p.is_absolute():
            p = (folder / p).resolve()
        if p.is_dir():
            instance_dir = p
    if instance_dir is not None:
        if (instance_dir / "prepare.json").is_file():
            prepare = _read_json(instance_dir / "prepare.json")
        if not {"x", "y"} <= set(areas.columns) and (instance_dir / "areas.csv").is_file():
            inst_areas = read_table(instance_dir / "areas.csv", required=["area_id", "x", "y"],
                                    numeric=["x", "y"], text=["area_id"],
                                    what="instance areas file")
            areas = areas.merge(inst_areas[["area_id", "x", "y"]], on="area_id", how="left")

    allocation = None
    allocation_purpose = ""
    alloc_path = folder / "allocation.csv"
    if alloc_path.is_file():
        allocation = read_table(alloc_path, required=["unit", "allocation"],
                                numeric=["allocation"], text=["unit", "level"],
                                what="allocation file")
        meta_path = folder / "allocation.json"
        if meta_path.is_file():
            allocation_purpose = str(_read_json(meta_path).get("purpose", "") or "")
    sweep_path = _find(folder, "sweep.csv", "sweep")
    _check_same_instance(sweep_path, solution, folder)
    sweep = _read_sweep(sweep_path) if sweep_path is not None else None
    compare_path = _find(folder, "compare.csv", "options")
    _check_same_instance(compare_path, solution, folder)
    compare = _read_compare(compare_path) if compare_path is not None else None
    scen = folder / "scenario.yaml"
    scenario_text = scen.read_text(encoding="utf-8") if scen.is_file() else ""
    return Solved(folder=folder, solution=solution, areas=areas, sites=sites,
                  localities=localities, instance_dir=instance_dir, prepare=prepare,
                  allocation=allocation, allocation_purpose=allocation_purpose,
                  sweep=sweep, compare=compare,
                  scenario_text=scenario_text,
                  inputs=[p for p in (folder, instance_dir, sweep_path, compare_path)
                          if p is not None])


CANDIDATE_MARK = re.compile(r"\s*\(candidate\)\s*$", re.IGNORECASE)


def opened_names(sites: pd.DataFrame) -> pd.Series:
    """Site names, without the "(candidate)" that generated sites carry once the plan opens
    them (a new centre is no longer a candidate).

    >>> s = pd.DataFrame({"name": ["Bicester centre hub (candidate)", "Wantage (candidate)"],
    ...                   "decision": ["open_new", "not_opened"]})
    >>> opened_names(s).tolist()
    ['Bicester centre hub', 'Wantage (candidate)']
    """
    names = sites["name"].astype(str)
    if "decision" not in sites.columns:
        return names
    opened = sites["decision"].astype(str).isin(["open_new", "keep"])
    return names.where(~opened, names.str.replace(CANDIDATE_MARK, "", regex=True))


def _read_sweep(path: Path) -> pd.DataFrame:
    # A budget with no plan (infeasible) has blank figures: required columns, blank cells.
    sweep = read_table(path, required=SWEEP_REQUIRED[:1],
                       numeric=["budget", "reach_share", "reach_share_deciles_1_2", "sites",
                                "outreach_workers", "gap"],
                       what="sweep table").sort_values("budget").reset_index(drop=True)
    _require_columns(sweep, SWEEP_REQUIRED, path)
    return sweep


COMPARE_MONEY = ["budget", "annual_cost", "extra_funding", "envelope", "centres_cost",
                 "outreach_cost", "grants", "set_aside", "unspent"]


def _read_compare(path: Path) -> pd.DataFrame:
    # An option with no plan (infeasible) has blank figures, as for the sweep.
    compare = read_table(path, required=COMPARE_REQUIRED[:1],
                         numeric=[*COMPARE_MONEY, "reach_share", "reach_share_deciles_1_2",
                                  "sites", "outreach_workers", "areas_losing_access",
                                  "mean_travel_minutes"],
                         text=["option", "title", "notes", "status"], what="options comparison")
    _require_columns(compare, COMPARE_REQUIRED, path)
    return compare


def read_options(folder: str | Path) -> tuple[pd.DataFrame, list[Solved], pd.DataFrame | None]:
    """Read the folder ``optimiser compare`` writes: ``compare.csv`` and, for every option with
    a plan, its solved folder ``options/<option-slug>/``; the sweep when one is found beside it.

    Raises
    ------
    InputError
        The table is malformed, or an option with a plan has no solved folder.
    """
    from optimiser.compare import _slug

    folder = Path(folder)
    compare = _read_compare(folder / "compare.csv")
    solved = []
    for name, share in zip(compare["option"].astype(str), compare["reach_share"], strict=True):
        if pd.isna(share):
            continue  # no plan: the comparison says why; there is no page to make
        where = folder / "options" / _slug(name)
        if not (where / "solution.json").is_file():
            raise InputError(f"option '{name}' has no solved folder", file=where,
                             hint="give the folder 'optimiser compare --out' wrote, whole")
        solved.append(read_solved(where))
    if not solved:
        raise InputError("no option in the comparison has a plan, so there is nothing to "
                         "report", file=folder / "compare.csv",
                         hint="change the scenarios (budget, constraints) and compare again")
    sweep_path = _find(folder, "sweep.csv", "sweep")
    _check_same_instance(sweep_path, solved[0].solution, folder)
    return compare, solved, _read_sweep(sweep_path) if sweep_path is not None else None


def served_of_capacity(sites: pd.DataFrame) -> pd.Series:
    """'812 / 1,000' per site (children served a year / capacity; 'no limit' without one).

    >>> served_of_capacity(pd.DataFrame({"children_served": [812.0, 0.0, 5.0],
    ...                                  "capacity": [1000.0, 400.0, None]})).tolist()
    ['812 / 1,000', '0 / 400', '5 / no limit']
    """
    if "children_served" not in sites.columns:  # solved before the service model
        return pd.Series("n/a", index=sites.index)
    served = pd.to_numeric(sites["children_served"], errors="coerce")
    cap = (pd.to_numeric(sites["capacity"], errors="coerce") if "capacity" in sites.columns
           else pd.Series(np.nan, index=sites.index))
    return pd.Series([f"{s:,.0f} / " + (f"{c:,.0f}" if pd.notna(c) else "no limit")
                      if pd.notna(s) else "n/a" for s, c in zip(served, cap, strict=True)],
                     index=sites.index)
