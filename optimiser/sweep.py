"""Budget sweep: one solve per budget, the reach-against-budget frontier and its knee.

"What do we lose at £10m instead of £12m?" The sweep solves the same scenario at several
budgets and tabulates, for each, the share of need-weighted children reached (overall and in the
areas in IMD deciles 1-2), the sites opened, the outreach workers, the annual cost, the solver's
status and gap.

Reuse between solves: the budgets are solved in chunks of :data:`SWEEP_CHUNK` (one task each on
a Dask cluster, :mod:`optimiser._cluster`); in a chunk the model's data (areas, sites, reach
sets, costs) and the MILP itself are built once, and only the right-hand side of the budget
constraint changes between solves.

Monotone frontier: more budget never reaches less. At a proven optimum this holds by
construction (a plan affordable at a smaller budget is affordable at a larger one). When a solve
is not proven optimal (time limit, gap), the best plan found at a smaller budget may beat it; the
sweep then keeps that plan at the larger budget, says so in ``plan_from_budget`` and marks the
status ``feasible`` (the plan is feasible, not proven best there).

The knee of the curve is the budget after which each extra pound buys least: the point farthest
above the straight line from the first to the last point of the frontier, both axes scaled to
[0, 1] (the "Kneedle" idea, Satopää et al. 2011).

Examples
--------
>>> knee_index([4e6, 6e6, 8e6, 10e6], [0.2, 0.6, 0.7, 0.75])
1
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from optimiser import limits
from optimiser.errors import InputError, ScenarioError
from optimiser.files import atomic_output_dir, write_csv, write_json
from optimiser.model.words import plural

if TYPE_CHECKING:
    from optimiser.instance import Instance
    from optimiser.model import FamilyCentreModel, ModelResult
    from optimiser.scenario import Scenario

#: Columns of ``sweep.csv`` (read by the report; see docs/interfaces.md).
SWEEP_COLUMNS = [
    "budget", "reach_share", "reach_share_deciles_1_2", "need_reached", "need_total",
    "children_reached", "sites", "hubs", "spokes", "outreach_workers", "annual_cost", "status",
    "gap", "plan_from_budget", "knee", "reason",
]
#: Statuses with a plan; any other row (infeasible, no plan in the time limit) has a ``reason``.
PLANNED = ("optimal", "feasible", "time_limit")


#: Most budgets one sweep solves (each is a full solve; 100 already draws a smooth curve).
MAX_BUDGETS = 100


def _check_count(n: int, column: str) -> None:
    if n > MAX_BUDGETS:
        raise InputError(f"{n:,} budgets is more than a sweep needs (at most {MAX_BUDGETS}); "
                         "each is a full solve", column=column,
                         hint="e.g. 4m:16m:13 for every £1m from £4m to £16m")


def parse_budgets(text: str | Sequence[float], column: str = "--budgets") -> list[float]:
    """Budgets from the command line: ``6e6,8e6,10e6`` or ``6m,8m,10m`` or a range ``4m:16m:10``.

    A range ``START:STOP:N`` gives N budgets evenly spaced from START to STOP inclusive. The result
    is sorted and without repeats.

    Examples
    --------
    >>> parse_budgets("8e6,6e6,10m")
    [6000000.0, 8000000.0, 10000000.0]
    >>> parse_budgets("4m:16m:4")
    [4000000.0, 8000000.0, 12000000.0, 16000000.0]
    """
    return sorted({round(float(v), 2) for v in _budget_values(text, column)})


def _budget_values(text: str | Sequence[float], column: str = "--budgets") -> list[float]:
    """The budgets as given, checked, in order and with any repeats (see parse_budgets)."""
    if not isinstance(text, str):
        values = [float(v) for v in text]
    else:
        def one(tok: str) -> float:
            t = tok.strip().lower().replace("£", "").replace(",", "").replace("_", "")
            scale = 1.0
            if t.endswith("m"):
                t, scale = t[:-1], 1e6
            elif t.endswith("k"):
                t, scale = t[:-1], 1e3
            try:
                return float(t) * scale
            except ValueError:
                raise InputError(
                    f"'{tok}' is not " + ("a budget" if column == "--budgets" else
                                          "an amount of pounds"), column=column,
                    hint="write budgets in pounds separated by commas, e.g. 6e6,8e6,10e6 or "
                    "6m,8m,10m, or a range 4m:16m:10" if column == "--budgets" else
                    "write one amount in pounds, e.g. 20000, 20k or 1.5m",
                ) from None

        if ":" in text:
            parts = text.split(":")
            if len(parts) != 3:
                raise InputError(f"'{text}' is not a range START:STOP:N", column=column,
                                 hint="e.g. 4m:16m:10 for ten budgets from 4m to 16m")
            start, stop = one(parts[0]), one(parts[1])
            try:
                n = int(parts[2])
            except ValueError:
                raise InputError(f"'{parts[2]}' is not a number of budgets",
                                 column=column, hint="e.g. 4m:16m:10") from None
            if n < 1:
                raise InputError("a range needs at least one budget", column=column,
                                 hint="e.g. 4m:16m:10")
            _check_count(n, column)  # before building the list
            values = list(np.linspace(start, stop, n)) if n > 1 else [start]
        else:
            values = [one(t) for t in text.split(",") if t.strip()]
    if not values:
        raise InputError("no budgets given", column=column, hint="e.g. 6e6,8e6,10e6")
    _check_count(len(values), column)
    what = "budget " if column in ("--budgets", "--budget") else ""
    bad = [v for v in values if not np.isfinite(v) or v < 0]
    if bad:
        raise InputError(f"{what}{bad[0]:g} is not an amount of 0 or more",
                         column=column, hint="amounts are pounds a year")
    over = [v for v in values if v > limits.MAX_POUNDS]
    if over:
        raise InputError(f"{what}£{limits.shown(over[0])} is more than £10bn a year, more than "
                         "any council spends in all", column=column,
                         hint="amounts are pounds a year, e.g. 6m or 6000000; check for extra "
                         "zeros")
    return [round(float(v), 2) for v in values]


def repeated_budgets(text: str | Sequence[float]) -> str | None:
    """One line naming budgets given more than once (each is solved once), or None.

    Examples
    --------
    >>> repeated_budgets("1m,2m,1000000,2m")
    '£1m and £2m were each given twice: each budget is solved once'
    >>> repeated_budgets("1m,2m") is None
    True
    """
    from collections import Counter

    from optimiser.model.words import money

    given = Counter(_budget_values(text))
    repeats = {v: n for v, n in sorted(given.items()) if n > 1}
    if not repeats:
        return None
    names = [money(v) for v in repeats]
    counts = set(repeats.values())
    times = ("more than once" if len(counts) > 1
             else {2: "twice"}.get(max(counts), f"{max(counts)} times"))
    each = "was" if len(names) == 1 else "were each"
    listed = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{listed} {each} given {times}: each budget is solved once"


def knee_index(budgets: Sequence[float], reach: Sequence[float]) -> int | None:
    """Position of the knee: the point farthest above the chord, axes scaled to [0, 1].

    Returns ``None`` with fewer than three points or when no point lies above the chord (a
    straight or convex frontier has no knee).
    """
    x = np.asarray(budgets, dtype=float)
    y = np.asarray(reach, dtype=float)
    if len(x) < 3 or x[-1] <= x[0] or y[-1] <= y[0]:
        return None
    xs = (x - x[0]) / (x[-1] - x[0])
    ys = (y - y[0]) / (y[-1] - y[0])
    above = ys - xs  # distance above the chord y = x (up to the constant 1/sqrt(2))
    k = int(np.argmax(above))
    return k if above[k] > 1e-9 else None


def enforce_monotone(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Carry a better plan from a smaller budget forward (rows sorted by budget).

    A plan affordable at budget b is affordable at every larger budget, so when a solve at a
    larger budget returns less reach (not proven optimal), the earlier plan is the better known
    answer there. Its row is copied with that budget, ``plan_from_budget`` set and status
    ``feasible``.
    """
    out: list[dict[str, Any]] = []
    best: dict[str, Any] | None = None
    for row in rows:
        usable = row.get("status") in ("optimal", "feasible", "time_limit")
        # The model's tie-break (cheaper plans among equal reach) can move reach by far less
        # than a millionth of the total; that is not a worse plan.
        tol = 1e-7 * max(1.0, float(row.get("need_total") or 0.0))
        if usable and (best is None or row["need_reached"] >= best["need_reached"] - tol):
            best = row
            out.append(row)
        elif best is not None:
            carried = dict(best)
            carried["budget"] = row["budget"]
            carried["plan_from_budget"] = best["budget"]
            carried["status"] = "feasible"
            carried["gap"] = row.get("gap", np.nan)
            carried["solve_seconds"] = row.get("solve_seconds", 0.0)
            out.append(carried)
        else:
            out.append(row)
    return out


def frontier_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """The sweep table (one row per budget, :data:`SWEEP_COLUMNS`), knee marked."""
    rows = enforce_monotone(sorted(rows, key=lambda r: r["budget"]))
    table = pd.DataFrame(rows)
    for col in SWEEP_COLUMNS:
        if col not in table.columns:
            table[col] = np.nan
    table["plan_from_budget"] = table["plan_from_budget"].fillna(table["budget"])
    ok = table["status"].isin(PLANNED)
    table["reason"] = table["reason"].where(~ok, "").fillna("").astype(str)
    table["knee"] = False
    sub = table[ok]
    k = knee_index(sub["budget"].tolist(), sub["reach_share"].tolist())
    if k is not None:
        table.loc[sub.index[k], "knee"] = True
    return table[SWEEP_COLUMNS]


def plot_frontier(table: pd.DataFrame, out_dir: str | Path, *, title: str = "") -> list[Path]:
    """Reach against budget (overall and IMD deciles 1-2), knee marked: PNG and SVG.

    Deterministic bytes: no dates or software versions in the files.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out_dir = Path(out_dir)
    ok = table[table["status"].isin(PLANNED)]
    none = table[~table["status"].isin(PLANNED)]
    with plt.rc_context({"svg.hashsalt": "optimiser-sweep", "font.size": 10}):
        fig, ax = plt.subplots(figsize=(7.5, 4.5))
        if len(none):
            # Budgets with no plan stay on the chart, as crosses on the axis (reasons in the CSV)
            ax.plot(none["budget"] / 1e6, np.zeros(len(none)), linestyle="none", marker="x",
                    markersize=9, color="#b00020", clip_on=False,
                    label="no plan at this budget (reason in sweep.csv)")
        x = ok["budget"] / 1e6
        ax.plot(x, 100 * ok["reach_share"], marker="o", color="#1b6ca8",
                label="all areas")
        if ok["reach_share_deciles_1_2"].notna().any():
            ax.plot(x, 100 * ok["reach_share_deciles_1_2"], marker="s", linestyle="--",
                    color="#c0392b", label="areas in IMD deciles 1-2 (most deprived)")
        knee = ok[ok["knee"]]
        for _, row in knee.iterrows():
            ax.annotate(
                f"knee: £{row['budget'] / 1e6:.1f}m, {100 * row['reach_share']:.0f}% reached",
                xy=(row["budget"] / 1e6, 100 * row["reach_share"]),
                xytext=(15, -30), textcoords="offset points",
                arrowprops={"arrowstyle": "->", "color": "black"},
            )
            ax.plot([row["budget"] / 1e6], [100 * row["reach_share"]], marker="o",
                    markersize=12, markerfacecolor="none", markeredgecolor="black")
        from optimiser.report.charts import fitted_percent_axis, sweep_percents

        lo, hi = fitted_percent_axis(sweep_percents(ok))
        ax.set_xlabel("budget, £ million a year")
        ax.set_ylabel("need-weighted children reached, %"
                      + (f" (axis from {lo:.0f}%, not zero)" if lo > 0 else ""))
        ax.set_ylim(lo, hi)
        ax.grid(True, alpha=0.3)
        # "$" in a scenario name would start matplotlib's maths notation: draw it as text
        ax.set_title((title or "What each budget reaches").replace("$", r"\$"))
        ax.legend(loc="lower right")
        fig.tight_layout()
        return save_png_svg(fig, out_dir, "sweep")


def save_png_svg(fig, out_dir: Path, stem: str) -> list[Path]:
    """Save a chart as ``stem.png`` and ``stem.svg`` with no date or software version in them
    (so the same figures give the same bytes), then close it."""
    import matplotlib.pyplot as plt

    png, svg = out_dir / f"{stem}.png", out_dir / f"{stem}.svg"
    fig.savefig(png, dpi=120, metadata={"Software": None})
    fig.savefig(svg, metadata={"Date": None, "Creator": None})
    plt.close(fig)
    return [png, svg]


def deprived_mask(instance: Instance) -> np.ndarray:
    """Areas in IMD deciles 1-2 (all False when the instance has no ``imd_decile``)."""
    areas = instance.areas
    if "imd_decile" not in areas.columns:
        return np.zeros(len(areas), dtype=bool)
    return pd.to_numeric(areas["imd_decile"], errors="coerce").isin([1, 2]).to_numpy()


def result_row(model: FamilyCentreModel, result: ModelResult, budget: float,
               deprived: np.ndarray) -> dict[str, Any]:
    """One frontier row from a solve (the measures of :data:`SWEEP_COLUMNS`)."""
    d = model.data
    reached = result.reach_share
    dep_total = float(d.demand[deprived].sum())
    has_plan = result.has_plan
    return {
        "budget": float(budget),
        "reach_share": result.need_reached / result.need_total if has_plan else np.nan,
        "reach_share_deciles_1_2": (float(np.dot(d.demand[deprived], reached[deprived]))
                                    / dep_total if has_plan and dep_total > 0 else np.nan),
        "need_reached": result.need_reached if has_plan else np.nan,
        "need_total": result.need_total,
        # As solution.json's totals: children served, no effectiveness discount.
        "children_reached": (float(np.dot(d.population, result.children_served))
                             if has_plan else np.nan),
        "sites": int(result.open.sum()) if has_plan else 0,
        "hubs": int((result.open & ~d.spoke).sum()) if has_plan else 0,
        "spokes": int((result.open & d.spoke).sum()) if has_plan else 0,
        "outreach_workers": int(result.workers.sum()) if has_plan else 0,
        "annual_cost": result.annual_cost if has_plan else np.nan,
        "status": result.status,
        "gap": result.gap,
        "solve_seconds": result.solve_seconds,
        "plan_from_budget": float(budget),
        "open_sites": [d.site_ids[j] for j in np.flatnonzero(result.open)] if has_plan else [],
        "reason": "",
    }


def no_plan_reason(model: FamilyCentreModel, result: ModelResult) -> str:
    """Why a budget has no plan, in the words ``solve`` uses (infeasible: the binding
    requirements; otherwise the time limit)."""
    from optimiser.model.explain import explain_infeasible

    if result.status == "infeasible":
        return "; ".join(explain_infeasible(model))
    return (f"no plan was found within the time limit of {model.settings.time_limit_s:g} s; "
            "raise solver.time_limit_s or the gap")


def progress_bar(iterable, *, total: int, desc: str, enabled: bool = True):
    """A progress bar on stderr for anything a person waits on (tqdm; off when not a terminal
    or when ``enabled`` is False)."""
    from tqdm.auto import tqdm

    return tqdm(iterable, total=total, desc=desc, disable=not enabled or None, leave=False,
                unit="solve")


#: Budgets per task: a task builds the model once and re-solves it per budget. A fixed size,
#: so the chunks (and the answers) are the same whatever the number of workers.
SWEEP_CHUNK = 2


def sweep_scenario(
    scenario: Scenario,
    budgets: Sequence[float],
    *,
    instance: Instance | None = None,
    progress: bool = True,
    solved_dir: str | Path | None = None,
    workers: int | None = 1,
    scheduler: str | None = None,
) -> tuple[pd.DataFrame, list[list[str]]]:
    """Solve ``scenario`` once per budget, in chunks of :data:`SWEEP_CHUNK` budgets that
    each re-use one built model.

    With ``solved_dir``, each budget's plan is also written as a full solved folder
    ``solved_dir/budget_<pounds>/`` (what ``optimiser solve`` writes; ``optimiser report`` makes a
    pack of any of them). ``workers`` and ``scheduler``: where the chunks are solved
    (:mod:`optimiser._cluster`; by default here, in this process).

    Returns
    -------
    (table, plans)
        The frontier table (:data:`SWEEP_COLUMNS`, sorted by budget, knee marked) and, per row,
        the open site ids of the plan behind it.
    """
    from optimiser._cluster import chunks_of, one_thread, run_tasks
    from optimiser.instance import read_instance
    from optimiser.model.objectives import OBJECTIVES

    if not OBJECTIVES[scenario.objective].sweeps_budget:
        swept = [name for name, o in OBJECTIVES.items() if o.sweeps_budget]
        raise ScenarioError(
            f"a budget sweep needs a budget objective, not '{scenario.objective}'",
            file=scenario.source, key="objective",
            hint=f"use {' or '.join(swept)} ({scenario.objective} does not optimise within "
            "a budget)",
        )
    budgets = sorted(float(b) for b in budgets)
    instance = instance if instance is not None else read_instance(scenario.instance_dir)
    shared = (one_thread(scenario), instance, solved_dir is not None)
    done = run_tasks(_sweep_chunk, chunks_of(budgets, SWEEP_CHUNK), shared=shared,
                     workers=workers, scheduler=scheduler, progress=progress, desc="sweep")
    rows = []
    for row, solution in (pair for part in done for pair in part):
        if solution is not None:
            solution.write(Path(solved_dir) / f"budget_{row['budget']:.0f}")
        rows.append(row)
    table = frontier_table(rows)
    by_budget = {r["budget"]: r["open_sites"] for r in rows}
    plans = [by_budget[b] for b in table["plan_from_budget"]]
    return table, plans


def _sweep_chunk(budgets: list[float], shared: tuple) -> list[tuple[dict[str, Any], Any]]:
    """Build the model once and solve it at each budget (a task: see optimiser._cluster).

    Returns (row, solution) per budget; the solution (for a solved folder) only when asked."""
    from optimiser.model import FamilyCentreModel
    from optimiser.solve import solve_model

    scenario, instance, keep = shared
    model = FamilyCentreModel.from_instance(instance, scenario.with_changes(budget=budgets[0]))
    deprived = deprived_mask(instance)
    out = []
    for budget in budgets:
        model.set_budget(budget)
        solution = None
        if not keep:
            result = model.solve()
            reason = "" if result.has_plan else no_plan_reason(model, result)
        else:
            solution = solve_model(model, instance, scenario.with_changes(budget=budget))
            result = solution.result
            reason = "" if result.has_plan else "; ".join(solution.explanation)
            solution.model = solution.result = None  # the tables are what is written
        out.append((result_row(model, result, budget, deprived) | {"reason": reason},
                    solution))
    return out


def write_sweep(table: pd.DataFrame, plans: list[list[str]], out_dir: str | Path, *,
                scenario_name: str, seconds: float, instance: Path | None = None) -> None:
    """``sweep.csv``, ``sweep.png``, ``sweep.svg`` and ``sweep.json`` into ``out_dir``
    (``instance``: the instance folder, so a report can tell whose sweep it found)."""
    out_dir = Path(out_dir)
    write_csv(out_dir / "sweep.csv", _rounded(table))
    plot_frontier(table, out_dir, title=f"What each budget reaches: {scenario_name}")
    knee = table[table["knee"]]
    write_json(out_dir / "sweep.json", {
        "scenario": scenario_name,
        "instance": str(Path(instance).resolve()) if instance is not None else None,
        "budgets": table["budget"].tolist(),
        "knee_budget": float(knee["budget"].iloc[0]) if len(knee) else None,
        "open_sites": {f"{b:.0f}": p for b, p in zip(table["budget"], plans, strict=True)},
        "seconds": round(seconds, 1),  # timings only here: sweep.csv is the same bytes every run
        "columns": SWEEP_COLUMNS,
    })


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    out = table.copy()
    for col in ("reach_share", "reach_share_deciles_1_2"):
        out[col] = out[col].astype(float).round(6)
    for col in ("need_reached", "need_total", "children_reached"):
        out[col] = out[col].astype(float).round(1)
    out["annual_cost"] = out["annual_cost"].astype(float).round(0)
    out["gap"] = pd.to_numeric(out["gap"], errors="coerce").astype(float).round(6)
    return out


def run_sweep(scenario_path: str | Path, budgets: str | Sequence[float], out: str | Path,
              *, progress: bool = True, keep_solved: bool = False, workers: int | None = None,
              scheduler: str | None = None) -> str:
    """``optimiser sweep``: solve per budget, write the table and chart, return a summary.

    ``keep_solved`` also writes each budget's solved folder into ``out/budgets/``. ``workers``
    and ``scheduler``: the Dask cluster the budgets are solved on (default: a local one with a
    worker per core; :mod:`optimiser._cluster`).
    """
    from optimiser._cluster import check_workers
    from optimiser.scenario import load_scenario

    values = parse_budgets(budgets)
    check_workers(workers, scheduler)
    scenario = load_scenario(scenario_path)
    with atomic_output_dir(out, reads=scenario.inputs()) as tmp:
        start = time.perf_counter()
        table, plans = sweep_scenario(scenario, values, progress=progress,
                                      solved_dir=tmp / "budgets" if keep_solved else None,
                                      workers=workers, scheduler=scheduler)
        seconds = time.perf_counter() - start
        write_sweep(table, plans, tmp, scenario_name=scenario.name, seconds=seconds,
                    instance=scenario.instance_dir)
    summary, repeated = summarise(table, Path(out), seconds), repeated_budgets(budgets)
    return f"note: {repeated}\n{summary}" if repeated else summary


def summarise(table: pd.DataFrame, out: Path, seconds: float) -> str:
    """A few plain lines: the frontier and where it was written."""
    lines = [f"{len(table)} budgets solved in {seconds:.1f} s:"]
    for row in table.itertuples():
        reach = "no plan" if pd.isna(row.reach_share) else f"{100 * row.reach_share:5.1f}% reached"
        note = "  <- knee" if row.knee else ""
        carried = ("" if row.plan_from_budget == row.budget
                   else f" (plan of £{row.plan_from_budget / 1e6:.2f}m)")
        if row.status not in PLANNED:
            lines.append(f"  £{row.budget / 1e6:6.2f}m: no plan, {row.status}: {row.reason}")
            continue
        workers = plural(row.outreach_workers, "outreach worker")
        lines.append(f"  £{row.budget / 1e6:6.2f}m: {reach}, {plural(row.sites, 'site')}, "
                     f"{workers}, {row.status}{carried}{note}")
    lines.append(f"table and chart: {out / 'sweep.csv'}, {out / 'sweep.png'}")
    return "\n".join(lines)
