"""``optimiser national``: every English upper-tier authority prepared and solved at a budget rule.

"For each upper-tier authority, what does a family-hub network reach at its budget, and where
are the gaps?" The command prepares every authority of the data vintage (153 on the 2025
default, the April 2023 counties and unitaries; 151 with ``--vintage 2019``) as ``prepare``
does, solves each at its budget, and writes into ``DIR``:

- ``national.csv``: one row per authority (:data:`NATIONAL_COLUMNS`), in code order;
- ``map.html``: a self-contained choropleth of the authorities (served share; the share of
  children living in the most deprived fifth of England's areas), names HTML-escaped;
- ``national.png`` / ``national.svg``: served share against that need, one point per authority;
- ``national.json``: the settings, the vintage, counts and the time taken;
- ``authorities/<code>/``: each authority's solved folder (what ``optimiser solve`` writes;
  ``optimiser report DIR/authorities/<code> --out PACK`` makes its consultation pack), solved
  from ``instances/<code>/`` (what ``optimiser prepare`` writes) and ``scenarios/<code>.yaml``.

**Budget rules** (one of):

- ``--budget-per-child £`` (default :data:`DEFAULT_BUDGET_PER_CHILD`): £ a year per child aged
  0-4 living in the authority;
- ``--budgets FILE``: a CSV of the councils' own figures, columns ``code`` (or ``name``) and
  ``budget`` (£ a year); an authority not in the file gets a row saying so;
- ``--share-of-spend S`` with ``--budgets FILE`` holding a ``spend`` column (today's £ a year):
  the budget is S × spend. The official data this tool reads holds **no** figure of each
  council's spend on family centres today, so the spend must come from the user (e.g. the DfE
  section 251 outturn, "Sure Start children's centres and other spend on under 5s").

**Each authority's solve** (small and fast, so ~150 finish in minutes): generated candidate sites
(town centres and the neediest neighbourhoods, as ``prepare`` makes without a sites file), the
default service model (capacities, take-up decaying with travel time), no outreach, HiGHS with
one thread, seed 0, stopping within :data:`DEFAULT_GAP` of the best possible or at
:data:`DEFAULT_TIME_LIMIT_S`. The tasks run on a Dask cluster (:mod:`optimiser._cluster`): one
task per authority; each worker reads the national tables once (they are kept in memory per
process) and slices out each authority.

An authority whose DfE children-in-need figures for the vintage's year are suppressed or missing
(Hampshire and the City of London at 31 March 2024) is modelled from the latest of the
:data:`YEARS_BACK` years before with both figures; its row's ``note`` says so.

**Resume**: an authority whose solved folder in ``DIR`` was solved at the same settings and
budget is not solved again (its row is read back from the folder); a failed one is tried
again. **Failures**: an authority that cannot be prepared or solved gets its row with the
reason (``status`` ``failed``) and the run carries on.

Outputs are written atomically: every authority's folder all at once when it is done, the
tables, map and chart each replaced whole at the end; ``DIR`` must be new, empty or an earlier
``national`` output.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from optimiser.errors import InputError, OptimiserError

#: £ a year per child aged 0-4. England spent about £0.6 billion a year on Sure Start
#: children's centres after a two-thirds fall from £1.8 billion in 2009-10 (2018-19 prices;
#: Institute for Fiscal Studies, Cattan et al. 2019, "The health effects of Sure Start"), for
#: about 3.3 million children aged 0-4 (ONS mid-2019): about £180 each. A round national
#: figure, to be replaced by a council's own (``--budgets``).
DEFAULT_BUDGET_PER_CHILD = 180.0
#: Each authority's solve stops within this relative gap of the best possible (0.5%) ...
DEFAULT_GAP = 0.005
#: ... or after this many seconds (reported honestly as time_limit with its gap).
DEFAULT_TIME_LIMIT_S = 60.0
#: The age group the budget per child counts (children's centres serve under-fives).
AGE_GROUP = "0-4"

NATIONAL_COLUMNS = [
    "code", "name", "areas", "children", "need", "children_deciles_1_2_share", "budget",
    "served_share", "served_share_deciles_1_2", "children_served", "sites", "annual_cost",
    "cost_per_child_served", "gap", "status", "reason", "note",
]
#: DfE suppresses or lacks some authorities' children-in-need figures for a year (Hampshire and
#: the City of London at 31 March 2024). Their cases are then modelled from the latest earlier
#: year with both figures, at most this many years back, and the row's ``note`` says so.
YEARS_BACK = 3
#: A row's status when the authority could not be prepared or solved (``reason`` says why).
FAILED = "failed"
NATIONAL_MARKER = "national.json"


@dataclass
class NationalSettings:
    """What ``national`` is asked to do (the CLI options)."""

    out: Path
    mirror: Path | None = None
    vintage: str | None = None
    la: tuple[str, ...] = ()
    budget_per_child: float | None = None
    share_of_spend: float | None = None
    budgets: Path | None = None
    time_limit_s: float = DEFAULT_TIME_LIMIT_S
    gap: float = DEFAULT_GAP
    #: Filled by :func:`check`: code -> £ budget from ``budgets`` (None: per child).
    fixed: dict[str, float] | None = field(default=None, repr=False)

    def rule(self) -> str:
        """The budget rule in words (for national.json and the summary)."""
        if self.budgets is not None and self.share_of_spend is not None:
            return f"{self.share_of_spend:g} of today's spend in {self.budgets.name}"
        if self.budgets is not None:
            return f"the councils' own budgets in {self.budgets.name}"
        return f"£{self.per_child:,.0f} a year per child aged {AGE_GROUP}"

    @property
    def per_child(self) -> float:
        return (self.budget_per_child if self.budget_per_child is not None
                else DEFAULT_BUDGET_PER_CHILD)


# --------------------------------------------------------------------------------------------
# Checking the options and the budgets file
# --------------------------------------------------------------------------------------------


def check_settings(s: NationalSettings) -> None:
    """Refuse contradictory or out-of-range options (one :class:`InputError`)."""
    if s.budget_per_child is not None and s.budgets is not None:
        raise InputError("--budget-per-child and --budgets are two budget rules",
                         hint="give one: a £ figure per child, or the councils' budgets file")
    if s.budget_per_child is not None and not (np.isfinite(s.budget_per_child)
                                               and s.budget_per_child >= 0):
        raise InputError(f"--budget-per-child {s.budget_per_child:g} is not an amount of 0 or "
                         "more", hint="£ a year per child aged 0-4, e.g. --budget-per-child 180")
    if s.share_of_spend is not None:
        if not (np.isfinite(s.share_of_spend) and 0 <= s.share_of_spend <= 10):
            raise InputError(f"--share-of-spend {s.share_of_spend:g} is not a share from 0 to "
                             "10", hint="e.g. 0.9 for 90% of today's spend")
        if s.budgets is None:
            raise InputError(
                "--share-of-spend needs each council's spend today, and the official data "
                "this tool reads holds no such figure",
                hint="give --budgets FILE with columns code (or name) and spend (£ a year "
                "today, e.g. from the DfE section 251 outturn), or use --budget-per-child")
    if not (s.time_limit_s > 0 and np.isfinite(s.time_limit_s)):
        raise InputError(f"--time-limit {s.time_limit_s:g} is not a number of seconds above 0",
                         hint=f"e.g. --time-limit {DEFAULT_TIME_LIMIT_S:g}")
    if not 0 <= s.gap <= 1:
        raise InputError(f"--gap {s.gap:g} is not a share from 0 to 1",
                         hint=f"e.g. --gap {DEFAULT_GAP:g} for {100 * DEFAULT_GAP:g}%")
    if s.budgets is not None and not Path(s.budgets).is_file():
        raise InputError("the budgets file does not exist", file=s.budgets,
                         hint="check the path and spelling")


def read_budgets(path: Path, everyone: Authorities, share: float | None) -> dict[str, float]:
    """Code -> £ a year from the councils' budgets file (``code`` or ``name``; ``budget``, or
    ``spend`` × ``share``). Unknown or repeated authorities, and bad amounts, are one error
    naming the row."""
    from optimiser.files import read_table

    column = "spend" if share is not None else "budget"
    table = read_table(path, what="budgets file")
    key = "code" if "code" in table.columns else "name"
    missing = [c for c in (key, column) if c not in table.columns]
    if missing:
        raise InputError(f"the budgets file has no column '{missing[0]}'", file=path,
                         hint=f"columns: code (or name) and {column} (£ a year)"
                         + ("; --share-of-spend reads the spend column" if share else ""))
    out: dict[str, float] = {}
    for i, (who, amount) in enumerate(zip(table[key], table[column], strict=True)):
        row = i + 2  # as a spreadsheet shows it: the header is row 1
        try:
            code = everyone.resolve(str(who))
        except InputError as exc:
            raise InputError(exc.problem, file=path, row=row, column=key, hint=exc.hint) from None
        value = pd.to_numeric(pd.Series([amount]), errors="coerce").iloc[0]
        if pd.isna(value) or not np.isfinite(value) or value < 0:
            raise InputError(f"'{amount}' is not an amount of 0 or more", file=path, row=row,
                             column=column, hint="£ a year, a plain number such as 8500000")
        if code in out:
            raise InputError(f"{who} has two rows", file=path, row=row, column=key,
                             hint="give each authority one row")
        out[code] = round(float(value) * (share if share is not None else 1.0), 2)
    return out


@dataclass
class Authorities:
    """The vintage's English upper-tier authorities and the lookups that resolve a name."""

    table: pd.DataFrame      # code, name; in code order
    lookup: pd.DataFrame     # LSOA -> utla_code, utla_name (England)
    districts: pd.DataFrame  # LSOA -> lad_code, lad_name (a district points to its county)

    def resolve(self, text: str) -> str:
        """The code of an authority named or coded ``text`` (one clear error if none)."""
        from optimiser.geography import resolve_la

        return resolve_la(text, self.lookup, districts=self.districts).code


def authorities(root: Path, vintage: str) -> Authorities:
    """Every English upper-tier authority of the vintage."""
    from optimiser.vintage import get_vintage

    v = get_vintage(vintage)
    utla = v.load_utla_lookup(root)
    utla = utla[utla["utla_code"].astype(str).str.startswith("E")]
    table = (utla.drop_duplicates("utla_code")[["utla_code", "utla_name"]]
             .rename(columns={"utla_code": "code", "utla_name": "name"})
             .sort_values("code").reset_index(drop=True))
    return Authorities(table, utla, v.load_ward_lookup(root))


def choose(everyone: Authorities, wanted: tuple[str, ...]) -> pd.DataFrame:
    """The authorities ``--la`` names (names or codes, comma-separated or repeated)."""
    names = [w.strip() for item in wanted for w in item.split(",") if w.strip()]
    if not names:
        if wanted:  # --la given, but blank: not a request for all of England
            raise InputError("it names no authority", column="--la",
                             hint="give names or codes, e.g. --la Rutland,E06000017, or leave "
                             "--la out to run every upper-tier authority")
        return everyone.table
    codes = set()
    for name in names:
        try:
            codes.add(everyone.resolve(name))
        except InputError as exc:
            raise InputError(exc.problem, column="--la", hint=exc.hint) from None
    table = everyone.table
    return table[table["code"].isin(codes)].reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# One authority (a task on a Dask worker)
# --------------------------------------------------------------------------------------------


def scenario_data(code: str, name: str, budget: float, s: dict) -> dict[str, Any]:
    """The scenario an authority is solved with (also written as scenarios/<code>.yaml)."""
    return {"name": f"{code}-national", "title": f"{name}: the best plan within the budget",
            "instance": f"../instances/{code}", "objective": "max_reach", "budget": budget,
            "solver": {"name": "highs", "time_limit_s": s["time_limit_s"], "gap": s["gap"],
                       "threads": 1, "seed": 0}}


def _budget(code: str, children: int, s: dict) -> float | None:
    if s["fixed"] is not None:
        return s["fixed"].get(code)
    return round(s["per_child"] * children, 0)


def solve_authority(item: tuple[str, str], s: dict) -> dict[str, Any]:
    """Prepare and solve one authority into ``DIR``; its row (failed, with the reason, when
    anything goes wrong: the run carries on)."""
    code, name = item
    start, cpu = time.perf_counter(), time.process_time()
    try:
        row = _solve_authority(code, name, s)
    except OptimiserError as exc:
        row = failed_row(code, name, exc.problem)
    except Exception as exc:  # a bug: still this authority's row, not the whole run's end
        row = failed_row(code, name, f"unexpected error ({type(exc).__name__}: {exc})")
    # the task's times go to national.json only (national.csv is the same bytes every run)
    return row | {"_seconds": round(time.perf_counter() - start, 2),
                  "_cpu_seconds": round(time.process_time() - cpu, 2)}


def _solve_authority(code: str, name: str, s: dict) -> dict[str, Any]:
    from optimiser.prepare import write_prepared

    out = Path(s["out"])
    if s["fixed"] is not None and code not in s["fixed"]:
        return failed_row(code, name, f"not in the budgets file {Path(s['budgets']).name}")
    built = _prepare(code, s)
    instance_dir = out / "instances" / code
    write_prepared(built, instance_dir, reads=s["reads"])
    budget = _budget(code, int(built.areas["population"].sum()), s)
    return _solve_prepared(code, name, float(budget), s)


def _prepare(code: str, s: dict):
    """The authority's instance in memory, from the vintage's DfE year or (figures suppressed
    or missing) the latest of the :data:`YEARS_BACK` years before it that has them."""
    from optimiser.errors import DataSourceError
    from optimiser.prepare import PrepareSettings, build_instance
    from optimiser.vintage import get_vintage

    year = get_vintage(s["vintage"]).default_year
    for back in range(YEARS_BACK + 1):
        try:
            return build_instance(PrepareSettings(
                la=code, mirror=s["mirror"], vintage=s["vintage"], age_group=AGE_GROUP,
                candidates="generated", year=year - back))
        except DataSourceError as exc:
            if back == YEARS_BACK or not exc.problem.endswith("is suppressed or missing"):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _year_note(instance_dir: Path) -> str:
    """The row's note when the instance's DfE year is not the vintage's."""
    from optimiser.vintage import get_vintage

    meta = json.loads((instance_dir / "prepare.json").read_text(encoding="utf-8"))
    year = (meta.get("settings") or {}).get("year")
    default = get_vintage((meta.get("vintage") or {}).get("key")).default_year
    if year is None or year == default:
        return ""
    return (f"children in need and on protection plans modelled from DfE's 31 March {year} "
            f"figures: those of {default} are suppressed or missing")


def _solve_prepared(code: str, name: str, budget: float, s: dict) -> dict[str, Any]:
    import yaml

    from optimiser.files import write_text
    from optimiser.scenario import load_scenario
    from optimiser.solve import solve_scenario

    out = Path(s["out"])
    scen_file = out / "scenarios" / f"{code}.yaml"
    write_text(scen_file, f"# {name} ({code}): written by 'optimiser national'\n"
               + yaml.safe_dump(scenario_data(code, name, budget, s), sort_keys=False))
    scenario = load_scenario(scen_file)
    solution = solve_scenario(scenario)
    folder = out / "authorities" / code
    # Relative, so DIR can be moved or shared and the report still finds the instance.
    solution.summary["instance"] = os.path.relpath(out / "instances" / code, folder)
    solution.write(folder, reads=s["reads"])
    return authority_row(folder, code, name)


def failed_row(code: str, name: str, reason: str) -> dict[str, Any]:
    row: dict[str, Any] = {c: None for c in NATIONAL_COLUMNS}
    row.update(code=code, name=name, status=FAILED, reason=" ".join(reason.split()))
    return row


def authority_row(folder: Path, code: str, name: str) -> dict[str, Any]:
    """One row of national.csv from an authority's solved folder (fresh or resumed alike)."""
    from optimiser.compare import deprived_reach_share

    solution = json.loads((folder / "solution.json").read_text(encoding="utf-8"))
    totals = solution.get("totals") or {}
    row = failed_row(code, name, "")
    instance_dir = folder.parent.parent / "instances" / code
    row.update(status=solution.get("status"), gap=solution.get("gap"),
               budget=(solution.get("settings") or {}).get("budget"),
               reason="; ".join(solution.get("explanation") or []) if not totals else "",
               note=_year_note(instance_dir) if (instance_dir / "prepare.json").is_file()
               else "")
    areas_file = folder / "areas.csv"
    if not totals or not areas_file.is_file():
        return row
    areas = pd.read_csv(areas_file, dtype={"area_id": str})
    children = float(areas["population"].sum())
    deprived = areas["imd_decile"].isin([1, 2]) if "imd_decile" in areas else None
    served = totals.get("children_reached")
    row.update(
        areas=len(areas), children=round(children),
        need=totals.get("need_total"),
        children_deciles_1_2_share=(float(areas.loc[deprived, "population"].sum()) / children
                                    if deprived is not None and children > 0 else None),
        served_share=totals.get("reach_share"),
        served_share_deciles_1_2=deprived_reach_share(areas),
        children_served=served, sites=totals.get("sites_open"),
        annual_cost=totals.get("annual_cost"),
        cost_per_child_served=(totals["annual_cost"] / served if served else None),
    )
    return row


# --------------------------------------------------------------------------------------------
# Resume
# --------------------------------------------------------------------------------------------


def already_solved(code: str, name: str, s: dict) -> dict[str, Any] | None:
    """The row of an authority solved in ``DIR`` at these settings and budget, else None."""
    from optimiser.scenario import Scenario

    out = Path(s["out"])
    folder, prep = out / "authorities" / code, out / "instances" / code / "prepare.json"
    sol_file = folder / "solution.json"
    if not (sol_file.is_file() and prep.is_file()):
        return None
    try:
        meta = json.loads(prep.read_text(encoding="utf-8"))
        solution = json.loads(sol_file.read_text(encoding="utf-8"))
        if (meta.get("vintage") or {}).get("key") != s["vintage"]:
            return None
        budget = _budget(code, int(meta["counts"]["population"]), s)
        if budget is None:
            return None
        wanted = Scenario.model_validate(scenario_data(code, name, budget, s)).settings_dict()
        if solution.get("settings") != wanted:
            return None
        return authority_row(folder, code, name)
    except (OSError, ValueError, KeyError, TypeError):
        return None  # unreadable: solve it again


# --------------------------------------------------------------------------------------------
# The whole run
# --------------------------------------------------------------------------------------------


def check_out(out: Path, reads: list[Path]) -> None:
    """``DIR`` must be new, empty or an earlier national run, and hold none of the inputs."""
    from optimiser.files import (
        INSTANCE_FILE,
        OUTPUT_MARKER,
        check_not_input,
        check_not_inside,
        official_data_folders,
    )

    check_not_input(out, reads)
    check_not_inside(out, [*official_data_folders(),
                           *((p, "the data folder") for p in reads if p.is_dir())])
    if not out.exists():
        return
    for held, what in ((INSTANCE_FILE, "a prepared instance"), ("solution.json", "a solved plan")):
        if (out / held).is_file():
            raise InputError(
                f"the output folder holds {what} ({held}), not an earlier national run",
                file=out, hint="give --out a new folder, or the folder of an earlier national "
                "run to resume it; nothing was written")
    if not out.is_dir():
        raise InputError("the output path exists and is not a folder", file=out,
                         hint="give --out a new folder name; nothing was written")
    if any(out.iterdir()) and not ((out / NATIONAL_MARKER).is_file()
                                   or (out / OUTPUT_MARKER).is_file()):
        raise InputError(
            "the output folder already holds files that 'optimiser national' did not write",
            file=out, hint="give --out a new folder, or the folder of an earlier national run "
            "to resume it; nothing was written")


def national_table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """national.csv: the rows in code order, rounded."""
    table = pd.DataFrame(rows, columns=NATIONAL_COLUMNS).sort_values("code", kind="stable")
    for col in ("children_deciles_1_2_share", "served_share", "served_share_deciles_1_2",
                "gap"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float).round(6)
    for col in ("need", "children_served", "cost_per_child_served"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float).round(1)
    for col in ("budget", "annual_cost"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype(float).round(0)
    for col in ("areas", "children", "sites"):
        table[col] = pd.to_numeric(table[col], errors="coerce").astype("Int64")
    table["reason"] = table["reason"].fillna("")
    table["note"] = table["note"].fillna("")
    return table.reset_index(drop=True)


def run_national(settings: NationalSettings, *, workers: int | None = None,
                 scheduler: str | None = None, progress: bool = True) -> str:
    """``optimiser national``: every authority into ``settings.out``; a plain summary."""
    from optimiser._cluster import check_workers, run_tasks
    from optimiser.files import OUTPUT_MARKER, write_text
    from optimiser.paths import mirror_from_env
    from optimiser.sources import data_root
    from optimiser.vintage import get_vintage

    check_settings(settings)
    check_workers(workers, scheduler)
    start = time.perf_counter()
    v = get_vintage(settings.vintage)
    root = data_root(settings.mirror, vintage=v.key)
    out = Path(settings.out).resolve()
    mirror = settings.mirror if settings.mirror is not None else mirror_from_env()
    reads = [Path(p).resolve() for p in (mirror, root, settings.budgets) if p is not None]
    check_out(out, reads)
    everyone = authorities(root, v.key)
    chosen = choose(everyone, settings.la)
    if settings.budgets is not None:
        settings.fixed = read_budgets(Path(settings.budgets), everyone, settings.share_of_spend)
    shared = {"out": str(out), "mirror": str(settings.mirror) if settings.mirror else None,
              "vintage": v.key, "per_child": settings.per_child, "fixed": settings.fixed,
              "budgets": str(settings.budgets) if settings.budgets else None,
              "time_limit_s": float(settings.time_limit_s), "gap": float(settings.gap),
              "reads": [str(p) for p in reads]}
    out.mkdir(parents=True, exist_ok=True)
    write_text(out / OUTPUT_MARKER, "Written by optimiser national. Running it again with this "
               "folder as --out solves only the authorities not solved yet.\n")
    pairs = list(zip(chosen["code"], chosen["name"], strict=True))
    rows: dict[str, dict[str, Any]] = {}
    for code, name in pairs:
        done = already_solved(code, name, shared)
        if done is not None:
            rows[code] = done
    todo = [p for p in pairs if p[0] not in rows]
    solved = run_tasks(solve_authority, todo, shared=shared, workers=workers,
                       scheduler=scheduler, progress=progress, desc="authorities")
    rows.update({r["code"]: r for r in solved})
    table = national_table([rows[c] for c, _ in pairs])
    seconds = time.perf_counter() - start
    tasks = {r["code"]: [r["_seconds"], r["_cpu_seconds"]] for r in solved}
    write_outputs(table, out, v.key, root, settings, seconds, resumed=len(pairs) - len(todo),
                  task_seconds=tasks)
    return summarise(table, out, seconds, len(pairs) - len(todo), settings.rule())


def write_outputs(table: pd.DataFrame, out: Path, vintage: str, root: Path,
                  settings: NationalSettings, seconds: float, resumed: int,
                  task_seconds: dict[str, list[float]]) -> None:
    """national.csv, the map, the chart and national.json (each replaced whole)."""
    from optimiser.files import write_csv, write_json
    from optimiser.report.national import national_chart, national_map

    write_csv(out / "national.csv", table)
    national_chart(table, out)
    national_map(table, vintage, root, out / "map.html")
    write_json(out / NATIONAL_MARKER, {
        "vintage": vintage, "authorities": len(table),
        "failed": int((table["status"] == FAILED).sum()), "resumed": resumed,
        "budget_rule": settings.rule(), "age_group": AGE_GROUP,
        "solver": {"time_limit_s": settings.time_limit_s, "gap": settings.gap, "threads": 1,
                   "seed": 0},
        "seconds": round(seconds, 1), "columns": NATIONAL_COLUMNS,
        # each authority solved in this run: prepare and solve on its worker, [wall-clock,
        # CPU] seconds (CPU time does not grow when other jobs share the cores)
        "task_seconds": task_seconds,
    })


def summarise(table: pd.DataFrame, out: Path, seconds: float, resumed: int, rule: str) -> str:
    """A few plain lines for the terminal."""
    ok = table[table["status"] != FAILED]
    failed = table[table["status"] == FAILED]
    lines = [f"{len(table)} authorities at {rule} in {seconds:.0f} s "
             f"({resumed} already solved in {out.name}, {len(failed)} failed)."]
    if len(ok) and ok["served_share"].notna().any():
        share = ok["served_share"].astype(float)
        lines.append(f"Served share: median {100 * share.median():.1f}%, lowest "
                     f"{100 * share.min():.1f}% ({ok.loc[share.idxmin(), 'name']}), highest "
                     f"{100 * share.max():.1f}% ({ok.loc[share.idxmax(), 'name']}).")
    for row in failed.head(5).itertuples():
        lines.append(f"  {row.name} ({row.code}): {row.reason}")
    if len(failed) > 5:
        lines.append(f"  ... and {len(failed) - 5} more (reasons in national.csv)")
    lines.append(f"Table, map and chart: {out / 'national.csv'}, {out / 'map.html'}, "
                 f"{out / 'national.png'}; each authority's solved folder in "
                 f"{out / 'authorities'} ('optimiser report' makes its pack).")
    return "\n".join(lines)
