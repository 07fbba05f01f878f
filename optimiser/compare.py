"""Compare options side by side: cost, reach, reach in deprived areas, losers, travel.

"How do the three consultation options compare?" Each option is a scenario file; each is solved
(into ``OUT/options/<name>/``, a normal solved folder the report can read) and summarised in one
row of ``compare.csv``:

``option``, ``scenario_file``, ``status``, ``gap``, ``budget``, ``annual_cost``,
``reach_share``, ``reach_share_deciles_1_2`` (areas in IMD deciles 1-2), ``need_reached``,
``children_reached``, ``sites``, ``hubs``, ``spokes``, ``outreach_workers``, ``floor``,
``localities_below_floor`` (count) and ``localities_below_floor_names``,
``areas_losing_access`` (against today's network; blank when today's network is unknown),
``areas_losing_vs_first`` (areas the first option reaches and this one does not),
``mean_travel_minutes`` (population-weighted, to the nearest open site) and
``max_travel_minutes``, ``extra_funding`` (money outside the optimiser, e.g. community grants)
and ``notes``.

The floor for "localities below their floor" is the scenario's ``constraints.locality_min_reach``
when it has one, otherwise the comparison's ``floor`` (default 0.5: half of a locality's
need-weighted children reached).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimiser.errors import InputError

if TYPE_CHECKING:
    from optimiser.scenario import Scenario

DEFAULT_FLOOR = 0.5

COMPARE_COLUMNS = [
    "option", "scenario_file", "status", "gap", "budget", "annual_cost", "reach_share",
    "reach_share_deciles_1_2", "need_reached", "children_reached", "sites", "hubs", "spokes",
    "outreach_workers", "floor", "localities_below_floor", "localities_below_floor_names",
    "areas_losing_access", "areas_losing_vs_first", "mean_travel_minutes", "max_travel_minutes",
    "extra_funding", "notes",
]


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
    return {
        "option": solution.get("scenario", folder.name),
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
        "extra_funding": extra_funding,
        "notes": notes,
        "_reached": reached,
    }


def _no_plan_row(solution: dict[str, Any], folder: Path, *, floor: float,
                 extra_funding: float, notes: str) -> dict[str, Any]:
    """A comparison row for an option without a plan: its name, status and budget, else blank."""
    settings = solution.get("settings") or {}
    scenario_floor = (settings.get("constraints") or {}).get("locality_min_reach")
    row: dict[str, Any] = {c: None for c in COMPARE_COLUMNS}
    row.update({
        "option": solution.get("scenario", folder.name),
        "scenario_file": Path(solution.get("scenario_file", "")).name,
        "status": solution.get("status"), "gap": solution.get("gap"),
        "budget": settings.get("budget"),
        "floor": float(scenario_floor) if scenario_floor is not None else float(floor),
        "extra_funding": extra_funding, "notes": notes, "_reached": set(),
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
    """Grouped bars: reach overall and in IMD deciles 1-2 per option, annual cost labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from optimiser.sweep import save_png_svg

    out_dir = Path(out_dir)
    n = len(table)
    x = np.arange(n)
    with plt.rc_context({"svg.hashsalt": "optimiser-compare", "font.size": 10}):
        fig, ax = plt.subplots(figsize=(max(6.0, 2.2 * n + 2), 4.8))
        overall = 100 * table["reach_share"].astype(float).fillna(0)
        deprived = 100 * table["reach_share_deciles_1_2"].astype(float).fillna(0)
        ax.bar(x - 0.2, overall, width=0.4, color="#1b6ca8", label="all areas")
        ax.bar(x + 0.2, deprived, width=0.4, color="#c0392b",
               label="areas in IMD deciles 1-2")
        for i, row in enumerate(table.itertuples()):
            cost = row.annual_cost if row.annual_cost is not None else float("nan")
            text = f"£{cost / 1e6:.2f}m" if np.isfinite(cost) else "no plan"
            if row.extra_funding:
                text += f"\n+ £{row.extra_funding / 1e6:.2f}m grants"
            ax.text(i, max(overall.iloc[i], deprived.iloc[i]) + 2, text, ha="center",
                    va="bottom", fontsize=8)
        ax.set_xticks(x)
        # "$" would start matplotlib's maths notation (and can fail to parse): draw it as text
        ax.set_xticklabels([_wrap(str(o)).replace("$", r"\$") for o in table["option"]],
                           fontsize=8)
        ax.set_ylabel("need-weighted children reached, %")
        ax.set_ylim(0, 115)
        ax.grid(True, axis="y", alpha=0.3)
        ax.set_title("Options compared: reach and annual cost")
        ax.legend(loc="upper right", fontsize=8)
        fig.tight_layout()
        return save_png_svg(fig, out_dir, "compare")


def _wrap(text: str, width: int = 18) -> str:
    words, lines, line = text.replace("-", " ").split(), [], ""
    for w in words:
        if len(line) + len(w) + 1 > width and line:
            lines.append(line)
            line = w
        else:
            line = f"{line} {w}".strip()
    lines.append(line)
    return "\n".join(lines)


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
    progress: bool = True,
) -> list[Path]:
    """Solve each scenario (a file, or one already loaded) into ``out_dir/<option name>/`` (a
    normal solved folder each)."""
    from optimiser.solve import solve_scenario
    from optimiser.sweep import progress_bar

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
    folders = []
    for scenario, name in progress_bar(zip(scenarios, names, strict=True), total=len(names),
                                       desc="options", enabled=progress):
        folder = out_dir / name
        solve_scenario(scenario).write(folder)
        folders.append(folder)
    return folders


def write_comparison(table: pd.DataFrame, out_dir: str | Path) -> None:
    """``compare.csv`` and the chart (``compare.png``, ``compare.svg``) into ``out_dir``."""
    from optimiser.files import write_csv

    out_dir = Path(out_dir)
    rounded = table.copy()
    for col in ("reach_share", "reach_share_deciles_1_2", "gap"):
        rounded[col] = pd.to_numeric(rounded[col], errors="coerce").astype(float).round(6)
    for col in ("need_reached", "children_reached", "mean_travel_minutes", "max_travel_minutes"):
        rounded[col] = pd.to_numeric(rounded[col], errors="coerce").astype(float).round(1)
    rounded["annual_cost"] = pd.to_numeric(rounded["annual_cost"], errors="coerce").round(0)
    write_csv(out_dir / "compare.csv", rounded)
    plot_comparison(table, out_dir)


def run_compare(
    scenario_paths: Sequence[str | Path],
    out: str | Path,
    *,
    floor: float = DEFAULT_FLOOR,
    extra_funding: dict[str, float] | None = None,
    progress: bool = True,
) -> str:
    """``optimiser compare``: solve every option, write the table, chart and solved folders.

    ``OUT/compare.csv``, ``OUT/compare.png``, ``OUT/compare.svg`` and ``OUT/options/<name>/``.
    ``extra_funding`` maps an option's name to money it spends outside the optimiser (e.g.
    community grants), shown beside its cost.
    """
    from optimiser.files import atomic_output_dir

    if not 0 <= floor <= 1:
        raise InputError(f"the floor {floor} is not a share between 0 and 1", column="--floor",
                         hint="e.g. --floor 0.5 for half of a locality's need reached")
    scenarios = load_options(scenario_paths)
    reads = [p for s in scenarios for p in s.inputs()]
    with atomic_output_dir(out, reads=reads) as tmp:
        folders = solve_options(scenarios, tmp / "options", progress=progress)
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
        lines.append(
            f"  {row.option}: £{row.annual_cost / 1e6:.2f}m a year, "
            f"{100 * row.reach_share:.1f}% reached{dep}; {row.sites} sites, "
            f"{row.outreach_workers} outreach workers; {row.localities_below_floor} "
            f"localities below {100 * row.floor:.0f}%")
    lines.append(f"table and chart: {out / 'compare.csv'}, {out / 'compare.png'}")
    return "\n".join(lines)
