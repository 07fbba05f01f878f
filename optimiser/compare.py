"""Compare options side by side: cost, reach, reach in deprived areas, losers, travel.

"How do the three consultation options compare?" Each option is a scenario file; each is solved
(into ``OUT/options/<name>/``, a normal solved folder the report can read) and summarised in one
row of ``compare.csv``:

``option``, ``title`` (the scenario's ``title``, else its name in words), ``scenario_file``,
``status``, ``gap``, ``budget``, ``annual_cost``,
``reach_share``, ``reach_share_deciles_1_2`` (areas in IMD deciles 1-2), ``need_reached``,
``children_reached``, ``sites``, ``hubs``, ``spokes``, ``outreach_workers``, ``floor``,
``localities_below_floor`` (count) and ``localities_below_floor_names``,
``areas_losing_access`` (against today's network; blank when today's network is unknown),
``areas_losing_vs_first`` (areas the first option reaches and this one does not),
``mean_travel_minutes`` (population-weighted, to the nearest open site) and
``max_travel_minutes``, ``extra_funding`` (money outside the optimiser: the scenario's
``grants`` and ``set_aside``, e.g. community grants), the option's whole envelope
(:func:`envelope`: ``envelope`` = ``centres_cost`` + ``outreach_cost`` + ``grants`` +
``set_aside`` + ``unspent``, £ a year) and ``notes``.

The floor for "localities below their floor" is the scenario's ``constraints.locality_min_reach``
when it has one, otherwise the comparison's ``floor`` (default 0.5: half of a locality's
need-weighted children reached).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimiser.errors import InputError
from optimiser.model.words import plural

if TYPE_CHECKING:
    from optimiser.scenario import Scenario

DEFAULT_FLOOR = 0.5

COMPARE_COLUMNS = [
    "option", "title", "scenario_file", "status", "gap", "budget", "annual_cost", "reach_share",
    "reach_share_deciles_1_2", "need_reached", "children_reached", "sites", "hubs", "spokes",
    "outreach_workers", "floor", "localities_below_floor", "localities_below_floor_names",
    "areas_losing_access", "areas_losing_vs_first", "mean_travel_minutes", "max_travel_minutes",
    "extra_funding", "envelope", "centres_cost", "outreach_cost", "grants", "set_aside",
    "unspent", "notes",
]
#: The parts of an option's envelope, in the order every table and chart shows them.
ENVELOPE_PARTS = [("centres_cost", "Centres"), ("outreach_cost", "Outreach workers"),
                  ("grants", "Grants"), ("set_aside", "Set aside"), ("unspent", "Not spent")]


def option_title(settings: dict[str, Any], name: str) -> str:
    """The option's title for people: the scenario's ``title``, else its name in words.

    >>> option_title({}, "option-a-eight-centres")
    'Option A eight centres'
    >>> option_title({"title": "Option A: eight centres"}, "a")
    'Option A: eight centres'
    """
    title = str(settings.get("title") or "").strip()
    if title:
        return title
    words = " ".join(str(name).replace("_", " ").replace("-", " ").split())
    # "option a ..." names the option by its letter: write it as a capital
    words = re.sub(r"^(option) ([a-z])\b", lambda m: f"option {m.group(2).upper()}", words,
                   flags=re.IGNORECASE)
    return words[:1].upper() + words[1:] if words else str(name)


def envelope(solution: dict[str, Any], extra_funding: float = 0.0) -> dict[str, float | None]:
    """An option's whole annual envelope and its parts (£ a year), from ``solution.json``.

    Centres (running costs and annualised one-off costs) and outreach workers are what the plan
    spends; ``grants`` and ``set_aside`` are the scenario's money outside the optimiser (with
    ``extra_funding`` from the caller added to ``set_aside``); ``unspent`` is the budget the
    plan leaves. They add up to ``envelope`` = budget + grants + set-asides. Without a plan the
    spending parts are None.

    >>> sol = {"settings": {"budget": 8.5e6, "set_aside": {"universal services": 1.5e6}},
    ...        "totals": {"annual_cost": 8.48e6, "outreach_cost": 0.84e6}}
    >>> e = envelope(sol)
    >>> e["envelope"], e["centres_cost"], e["set_aside"], round(e["unspent"])
    (10000000.0, 7640000.0, 1500000.0, 20000)
    """
    settings = solution.get("settings") or {}
    totals = solution.get("totals") or {}
    budget = settings.get("budget")
    if budget is None:  # a multi-year plan: its totals carry the final year's budget
        budget = totals.get("budget")
    grants = float(sum((settings.get("grants") or {}).values()))
    set_aside = float(sum((settings.get("set_aside") or {}).values())) + float(extra_funding)
    cost = totals.get("annual_cost")
    outreach = totals.get("outreach_cost")
    if outreach is None and cost is not None:
        workers = sum((solution.get("outreach") or {}).values())
        outreach = workers * float((settings.get("outreach") or {}).get("cost_per_worker", 0))
    parts: dict[str, float | None] = {
        "centres_cost": float(cost) - float(outreach) if cost is not None else None,
        "outreach_cost": float(outreach) if cost is not None else None,
        "grants": grants, "set_aside": set_aside,
        "unspent": (max(float(budget) - float(cost), 0.0)
                    if cost is not None and budget is not None else None),
    }
    spent = float(budget) if budget is not None else (float(cost) if cost is not None else None)
    parts["envelope"] = spent + grants + set_aside if spent is not None else None
    return parts


def _read_solved(folder: Path) -> tuple[dict[str, Any], pd.DataFrame, pd.DataFrame,
                                        pd.DataFrame]:
    sol_file = folder / "solution.json"
    if not sol_file.is_file():
        raise InputError("the solved folder has no solution.json", file=folder,
                         hint="run 'optimiser solve SCENARIO --out FOLDER' first")
    solution = json.loads(sol_file.read_text(encoding="utf-8"))
    areas = pd.read_csv(folder / "areas.csv", dtype={"area_id": str, "locality": str})
    localities = pd.read_csv(folder / "localities.csv", dtype={"locality": str})
    sites = pd.read_csv(folder / "sites.csv", dtype={"site_id": str})
    return solution, areas, localities, sites


def _as_bool(series: pd.Series) -> pd.Series:
    if pd.api.types.is_bool_dtype(series):
        return series
    return series.astype(str).str.strip().str.lower().isin(["true", "1", "yes"])


def deprived_reach_share(areas: pd.DataFrame) -> float:
    """Share of need-weighted children reached in areas in IMD deciles 1-2 (NaN if none)."""
    if "imd_decile" not in areas.columns:
        return float("nan")
    dep = areas["imd_decile"].isin([1, 2])
    total = float(areas.loc[dep, "demand"].sum())
    if total <= 0:
        return float("nan")
    return float((areas.loc[dep, "demand"] * areas.loc[dep, "reach_share"]).sum() / total)


def summarise_solved(
    folder: str | Path,
    *,
    floor: float = DEFAULT_FLOOR,
    first_reached: set[str] | None = None,
    extra_funding: float = 0.0,
    notes: str = "",
) -> dict[str, Any]:
    """One comparison row from a solved folder (files as in docs/interfaces.md)."""
    folder = Path(folder)
    sol_file = folder / "solution.json"
    if sol_file.is_file() and not (folder / "areas.csv").is_file():
        # No plan (infeasible, or a time limit with nothing found): solve writes solution.json
        # alone; the row says so, with blank figures, instead of failing the whole comparison.
        solution = json.loads(sol_file.read_text(encoding="utf-8"))
        return _no_plan_row(solution, folder, floor=floor, extra_funding=extra_funding,
                            notes=notes)
    solution, areas, localities, sites = _read_solved(folder)
    totals = solution.get("totals", {})
    settings = solution.get("settings", {})
    scenario_floor = (settings.get("constraints") or {}).get("locality_min_reach")
    use_floor = float(scenario_floor) if scenario_floor is not None else float(floor)
    below = localities[localities["reach_share"] < use_floor - 1e-9]
    open_mask = _as_bool(sites["open"]) if "open" in sites.columns else sites["site_id"].isin(
        solution.get("open_sites", []))
    tiers = sites.loc[open_mask, "tier"].astype(str).value_counts()
    change = solution.get("change") or {}
    baseline_known = bool(change.get("baseline_sites"))
    reached = set(areas.loc[_as_bool(areas["reached"]), "area_id"]) if "reached" in areas else set()
    pop = areas["population"].astype(float)
    travel = areas["travel_minutes"].astype(float) if "travel_minutes" in areas else None
    has_travel = travel is not None and travel.notna().any() and pop.sum() > 0
    finite = travel.notna() if travel is not None else None
    name = solution.get("scenario", folder.name)
    money = envelope(solution, extra_funding)
    return {
        "option": name,
        "title": option_title(settings, name),
        "scenario_file": Path(solution.get("scenario_file", "")).name,
        "status": solution.get("status"),
        "gap": solution.get("gap"),
        "budget": settings.get("budget"),
        "annual_cost": totals.get("annual_cost"),
        "reach_share": totals.get("reach_share"),
        "reach_share_deciles_1_2": deprived_reach_share(areas),
        "need_reached": totals.get("need_reached"),
        "children_reached": totals.get("children_reached"),
        "sites": int(open_mask.sum()),
        "hubs": int(tiers.get("hub", 0)),
        "spokes": int(tiers.get("spoke", 0)),
        "outreach_workers": int(sum((solution.get("outreach") or {}).values())),
        "floor": use_floor,
        "localities_below_floor": len(below),
        "localities_below_floor_names": "; ".join(below["locality"].astype(str)),
        "areas_losing_access": len(change.get("areas_losing", [])) if baseline_known else None,
        "areas_losing_vs_first": (len(first_reached - reached)
                                  if first_reached is not None else 0),
        "mean_travel_minutes": (float(np.average(travel[finite], weights=pop[finite]))
                                if has_travel and pop[finite].sum() > 0 else None),
        "max_travel_minutes": float(travel.max()) if has_travel else None,
        "extra_funding": float(money["grants"] or 0) + float(money["set_aside"] or 0),
        **money,
        "notes": notes,
        "_reached": reached,
    }


def _no_plan_row(solution: dict[str, Any], folder: Path, *, floor: float,
                 extra_funding: float, notes: str) -> dict[str, Any]:
    """A comparison row for an option without a plan: its name, status and budget, else blank."""
    settings = solution.get("settings") or {}
    scenario_floor = (settings.get("constraints") or {}).get("locality_min_reach")
    row: dict[str, Any] = {c: None for c in COMPARE_COLUMNS}
    name = solution.get("scenario", folder.name)
    money = envelope(solution, extra_funding)
    row.update({
        "option": name, "title": option_title(settings, name), **money,
        "scenario_file": Path(solution.get("scenario_file", "")).name,
        "status": solution.get("status"), "gap": solution.get("gap"),
        "budget": settings.get("budget"),
        "floor": float(scenario_floor) if scenario_floor is not None else float(floor),
        "extra_funding": float(money["grants"] or 0) + float(money["set_aside"] or 0),
        "notes": notes, "_reached": set(),
    })
    return row


def comparison_table(
    folders: Sequence[str | Path],
    *,
    floor: float = DEFAULT_FLOOR,
    extra_funding: Sequence[float] | None = None,
    notes: Sequence[str] | None = None,
) -> pd.DataFrame:
    """The comparison table (:data:`COMPARE_COLUMNS`) of solved folders, first one the reference
    for ``areas_losing_vs_first``."""
    rows: list[dict[str, Any]] = []
    first: set[str] | None = None
    for i, folder in enumerate(folders):
        row = summarise_solved(
            folder, floor=floor, first_reached=first,
            extra_funding=extra_funding[i] if extra_funding else 0.0,
            notes=notes[i] if notes else "",
        )
        if first is None:
            first = row["_reached"]
        rows.append(row)
    table = pd.DataFrame(rows).drop(columns="_reached")
    # Counts stay whole numbers when a row is blank (an option without a plan).
    for col in ("sites", "hubs", "spokes", "outreach_workers", "localities_below_floor",
                "areas_losing_access", "areas_losing_vs_first"):
        table[col] = pd.to_numeric(table[col]).astype("Int64")
    return table[COMPARE_COLUMNS]


def plot_comparison(table: pd.DataFrame, out_dir: str | Path) -> list[Path]:
    """``compare.png`` and ``compare.svg``: reach per option (overall and IMD deciles 1-2) and
    each option's whole envelope (:func:`optimiser.report.charts.options_figure`)."""
    import matplotlib.pyplot as plt

    from optimiser.report.charts import _RC, options_figure
    from optimiser.sweep import save_png_svg

    with plt.rc_context(_RC):
        return save_png_svg(options_figure(table), Path(out_dir), "compare")


def _slug(name: str) -> str:
    keep = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.strip().lower())
    return "-".join(p for p in keep.split("-") if p) or "option"


def load_options(scenario_paths: Sequence[str | Path | Scenario]) -> list[Scenario]:
    """The scenarios to compare, read and checked (files are loaded, scenarios kept)."""
    from optimiser.scenario import Scenario, load_scenario

    if len(scenario_paths) < 1:
        raise InputError("no scenario files to compare",
                         hint="give two or more scenario files, e.g. A.yaml B.yaml")
    return [p if isinstance(p, Scenario) else load_scenario(p) for p in scenario_paths]


def solve_options(
    scenario_paths: Sequence[str | Path | Scenario], out_dir: str | Path, *,
    progress: bool = True, workers: int | None = 1, scheduler: str | None = None,
) -> list[Path]:
    """Solve each scenario (a file, or one already loaded) into ``out_dir/<option name>/`` (a
    normal solved folder each).

    One task per option on the Dask cluster of ``workers`` / ``scheduler``
    (:mod:`optimiser._cluster`; by default here, in this process); each instance is read once.
    """
    from optimiser._cluster import one_thread, run_tasks
    from optimiser.instance import read_instance

    scenarios = load_options(scenario_paths)
    names = [_slug(s.name) for s in scenarios]
    seen: dict[str, int] = {}
    for i, n in enumerate(names):
        if n in seen:
            raise InputError(
                f"two options have the same name '{scenarios[i].name}'",
                file=scenarios[i].source, hint="give each scenario its own 'name:'",
            )
        seen[n] = i
    out_dir = Path(out_dir)
    instances = {}
    for scenario in scenarios:
        if scenario.instance_dir not in instances:
            instances[scenario.instance_dir] = read_instance(scenario.instance_dir)
    solutions = run_tasks(_solve_option, [one_thread(s) for s in scenarios], shared=instances,
                          workers=workers, scheduler=scheduler, progress=progress,
                          desc="options")
    folders = []
    for solution, name in zip(solutions, names, strict=True):
        solution.write(out_dir / name)
        folders.append(out_dir / name)
    return folders


def _solve_option(scenario: Scenario, instances: dict[Path, Any]) -> Any:
    """Solve one option (a task: see optimiser._cluster); the solution without its model."""
    from optimiser.solve import solve_scenario

    solution = solve_scenario(scenario, instances[scenario.instance_dir])
    solution.model = solution.result = None  # the tables are what is written
    return solution


def write_comparison(table: pd.DataFrame, out_dir: str | Path) -> None:
    """``compare.csv`` and the chart (``compare.png``, ``compare.svg``) into ``out_dir``."""
    from optimiser.files import write_csv

    out_dir = Path(out_dir)
    rounded = table.copy()
    for col in ("reach_share", "reach_share_deciles_1_2", "gap"):
        rounded[col] = pd.to_numeric(rounded[col], errors="coerce").astype(float).round(6)
    for col in ("need_reached", "children_reached", "mean_travel_minutes", "max_travel_minutes"):
        rounded[col] = pd.to_numeric(rounded[col], errors="coerce").astype(float).round(1)
    for col in ("annual_cost", "extra_funding", "envelope", *(c for c, _ in ENVELOPE_PARTS)):
        rounded[col] = pd.to_numeric(rounded[col], errors="coerce").round(0)
    write_csv(out_dir / "compare.csv", rounded)
    plot_comparison(table, out_dir)


def run_compare(
    scenario_paths: Sequence[str | Path],
    out: str | Path,
    *,
    floor: float = DEFAULT_FLOOR,
    extra_funding: dict[str, float] | None = None,
    progress: bool = True,
    workers: int | None = None,
    scheduler: str | None = None,
) -> str:
    """``optimiser compare``: solve every option, write the table, chart and solved folders.

    ``OUT/compare.csv``, ``OUT/compare.png``, ``OUT/compare.svg`` and ``OUT/options/<name>/``.
    ``extra_funding`` maps an option's name to money it spends outside the optimiser (e.g.
    community grants), shown beside its cost. ``workers`` and ``scheduler``: the Dask cluster
    the options are solved on (default: a local one with a worker per core).
    """
    from optimiser._cluster import check_workers
    from optimiser.files import atomic_output_dir

    if not 0 <= floor <= 1:
        raise InputError(f"the floor {floor} is not a share between 0 and 1", column="--floor",
                         hint="e.g. --floor 0.5 for half of a locality's need reached")
    check_workers(workers, scheduler)
    scenarios = load_options(scenario_paths)
    reads = [p for s in scenarios for p in s.inputs()]
    with atomic_output_dir(out, reads=reads) as tmp:
        folders = solve_options(scenarios, tmp / "options", progress=progress, workers=workers,
                                scheduler=scheduler)
        names = [json.loads((f / "solution.json").read_text())["scenario"] for f in folders]
        extra = [float((extra_funding or {}).get(n, 0.0)) for n in names]
        table = comparison_table(folders, floor=floor, extra_funding=extra)
        write_comparison(table, tmp)
    return summarise_comparison(table, Path(out))


def summarise_comparison(table: pd.DataFrame, out: Path) -> str:
    """Plain lines, one per option."""
    lines = [f"{len(table)} options compared:"]
    for row in table.itertuples():
        if row.reach_share is None or pd.isna(row.reach_share):
            lines.append(f"  {row.option}: {row.status}, no plan")
            continue
        dep = ("" if pd.isna(row.reach_share_deciles_1_2)
               else f", {100 * row.reach_share_deciles_1_2:.1f}% in IMD deciles 1-2")
        outside = (f" + £{row.extra_funding / 1e6:.2f}m outside the optimiser"
                   if row.extra_funding else "")
        lines.append(
            f"  {row.option}: £{row.envelope / 1e6:.2f}m a year (plan "
            f"£{row.annual_cost / 1e6:.2f}m{outside}), "
            f"{100 * row.reach_share:.1f}% reached{dep}; {row.sites} sites, "
            f"{plural(row.outreach_workers, 'outreach worker')}; {row.localities_below_floor} "
            f"localities below {100 * row.floor:.0f}%")
    lines.append(f"table and chart: {out / 'compare.csv'}, {out / 'compare.png'}")
    return "\n".join(lines)
