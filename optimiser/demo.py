"""``optimiser demo``: Oxfordshire end to end from official data, in one command.

What it does, in order (everything goes into one folder, written all at once):

1. **prepare** Oxfordshire from the official data (by default the English Indices of
   Deprivation 2025 on LSOA 2021; ``vintage="2019"`` for IMD 2019 on LSOA 2011; ONS population,
   DfE children in need / on protection plans, modelled per area), for the 0-19 service the
   Cabinet Advisory Group recommended, into ``OUT/instance``. Today's children's centres are
   used where the data hold them; otherwise every site is a generated candidate, and the
   summary says so plainly;
2. **costs** from ``scenarios/oxfordshire/costs.yaml`` (hub, spoke and outreach-worker annual
   costs with on-costs, setup and closure costs, each assumption written next to its value) onto
   the instance's generated sites and the scenarios (copies in ``OUT/scenarios``);
3. **solve** the base scenario (£10m a year: the £16m budget less the £6m saving) into
   ``OUT/solved``;
4. **compare** the three consultation options (eight centres; eight centres and £1.5m set aside
   for universal services; six centres and £1m of community grants: each option's scenario
   file says where its whole £10m goes) into ``OUT/options`` (``compare.csv``, the chart, and
   ``options/<slug>/`` as ``optimiser compare`` leaves them);
5. **sweep** the base scenario over ten budgets from £4m to £16m into ``OUT/sweep`` (the knee
   of the curve marked), and re-solve it under 20 random need weightings into
   ``OUT/sensitivity`` (how often each site is chosen; how localities' need ranks move);
6. **allocate** option C's £1m community grants across localities by need (floor and cap from
   the costs file), beside a flat split, into option C's solved folder;
7. **report**: the consultation pack from ``OUT/options``: the comparison, one page per option
   (map, locality table, what changes, equality impact), the sweep, and ``pack.pdf``, into
   ``OUT/pack``. The base plan (``OUT/solved``) is not one of the options, so the pack does not
   describe it.

Examples
--------
>>> print(run_demo("out/demo"))  # doctest: +SKIP
...
Consultation pack: out/demo/pack/index.html
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from pathlib import Path

from optimiser.costs import CostAssumptions, apply_site_costs, load_costs
from optimiser.errors import ScenarioError
from optimiser.files import (
    atomic_output_dir,
    check_not_inside,
    read_table,
    write_csv,
    write_text,
)
from optimiser.model.words import plural

LA = "Oxfordshire"
AGE_GROUP = "0-19"  # the CAG's "one coherent 0-19 years' service"
BASE = "base.yaml"
OPTIONS = ("option_a_eight_centres.yaml", "option_b_eight_centres_universal.yaml",
           "option_c_six_centres_grants.yaml")
GRANTS_OPTION = "option_c_six_centres_grants.yaml"
SWEEP_BUDGETS = (4e6, 5e6, 6e6, 7e6, 8e6, 9e6, 10e6, 12e6, 14e6, 16e6)
WEIGHT_DRAWS = 20  # enough to show which sites are robust; `optimiser sensitivity` for more
INSTANCE_FILES = ("areas.csv", "sites.csv", "localities.csv", "travel.csv", "prepare.json")


def scenarios_dir() -> Path:
    """The shipped scenario files (``scenarios/`` in a checkout, or inside the package)."""
    checkout = Path(__file__).resolve().parents[1] / "scenarios"
    if checkout.is_dir():
        return checkout
    return Path(__file__).resolve().parent / "_scenarios"


def costs_file() -> Path:
    """The demo's cost assumptions: ``scenarios/oxfordshire/costs.yaml``."""
    return scenarios_dir() / "oxfordshire" / "costs.yaml"


def costed_instance(prepared: str | Path, out: str | Path,
                    costs: CostAssumptions | None = None) -> Path:
    """Copy a prepared instance to ``out`` with the costs file's figures on generated sites."""
    prepared, out = Path(prepared), Path(out)
    costs = costs or load_costs(costs_file())
    out.mkdir(parents=True, exist_ok=True)
    for name in INSTANCE_FILES:
        if (prepared / name).is_file() and name != "sites.csv":
            shutil.copyfile(prepared / name, out / name)
    sites = read_table(prepared / "sites.csv", required=["site_id", "tier", "status"],
                       text=["site_id", "name", "locality", "postcode", "source"],
                       what="sites file")
    write_csv(out / "sites.csv", apply_site_costs(sites, costs))
    return out


def prepare_costed(la: str, out: str | Path, *, age_group: str = AGE_GROUP,
                   mirror: str | Path | None = None,
                   costs: CostAssumptions | None = None,
                   vintage: str | None = None) -> tuple[Path, str]:
    """``prepare`` an LA and put the costs file's figures on its generated sites.

    Returns the instance folder and prepare's summary.
    """
    import tempfile

    from optimiser.prepare import PrepareSettings, prepare_instance

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent, prefix=".prepare-") as scratch:
        summary = prepare_instance(
            PrepareSettings(la=la, age_group=age_group, mirror=Path(mirror) if mirror else None,
                            vintage=vintage),
            Path(scratch) / "prepared")
        # Replaced whole, and only if an earlier run wrote it (never a folder of the user's).
        with atomic_output_dir(out, instance=True) as tmp:
            costed_instance(Path(scratch) / "prepared", tmp, costs)
    return out, summary.replace(str(Path(scratch) / "prepared"), str(out))


def scenario_copy(name: str | Path, instance_dir: str | Path, out_dir: str | Path,
                  costs: CostAssumptions | None = None) -> Path:
    """Copy a scenario file, pointing it at ``instance_dir`` (relative path) and taking the
    outreach worker's cost and caseload from the costs file; comments are kept.

    ``name`` is a file of ``scenarios/oxfordshire/`` (``"base.yaml"``) or a path to any scenario.
    """
    from optimiser.scenario import load_scenario

    src = Path(name)
    if not src.is_file():
        src = scenarios_dir() / "oxfordshire" / str(name)
        if not src.is_file():
            raise ScenarioError("the scenario file does not exist", file=name,
                                hint=f"shipped scenarios are in {scenarios_dir()}")
    costs = costs or load_costs(costs_file())
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rel = Path(_relpath(Path(instance_dir), out_dir))
    text = src.read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^instance:.*$", f"instance: {rel.as_posix()}", text)
    if n != 1:
        raise ScenarioError("expected one 'instance:' line", file=src, key="instance")
    text = re.sub(r"(?m)^(\s+cost_per_worker:\s*)[0-9.eE+]+",
                  lambda m: f"{m.group(1)}{costs.outreach_worker.annual_cost:.0f}", text)
    if costs.outreach_worker.caseload is not None:
        caseload = _caseload_for(costs.outreach_worker.caseload, Path(instance_dir))
        text = re.sub(r"(?m)^(\s+caseload:\s*)[0-9.eE+]+",
                      lambda m: f"{m.group(1)}{caseload:g}", text)
    header = (f"# Copy made by optimiser of {src.name} ({src.parent.name}/): edit that file "
              "(and costs.yaml), not this one.\n")
    dest = out_dir / src.name
    write_text(dest, header + text)
    load_scenario(dest)  # checked now, not half-way through the demo
    return dest


#: The age group of costs.yaml's caseload (children 0-19 a year: 48 families x 1.75).
COSTS_AGE_GROUP = "0-19"


def _caseload_for(caseload: float, instance_dir: Path) -> float:
    """costs.yaml's caseload (children 0-19) in the instance's age group: the same families,
    counted in that age group's children per family (48 families: 84 aged 0-19, 60 aged 0-4).

    >>> import json, tempfile
    >>> folder = Path(tempfile.mkdtemp())
    >>> _ = (folder / "prepare.json").write_text(json.dumps({"age_group": "0-4"}))
    >>> _caseload_for(84, folder)
    60.0
    """
    import json

    from optimiser.sites import CHILDREN_PER_FAMILY

    meta = instance_dir / "prepare.json"
    age = (json.loads(meta.read_text(encoding="utf-8")).get("age_group", COSTS_AGE_GROUP)
           if meta.is_file() else COSTS_AGE_GROUP)
    per_family = CHILDREN_PER_FAMILY.get(age, CHILDREN_PER_FAMILY[COSTS_AGE_GROUP])
    return round(caseload * per_family / CHILDREN_PER_FAMILY[COSTS_AGE_GROUP], 6)


def _relpath(target: Path, start: Path) -> str:
    import os

    return os.path.relpath(target.resolve(), start.resolve())


def today_network_note(instance_dir: Path) -> tuple[bool, str]:
    """Whether today's centres are known, and the sentence that says so plainly."""
    sites = read_table(instance_dir / "sites.csv", required=["status"], what="sites file")
    existing = int((sites["status"].astype(str) == "existing").sum())
    if existing:
        return True, (f"Today's network: {existing} existing centres from the data; changes "
                      "are measured against them.")
    return False, ("Today's network is NOT known: the official data hold no list of "
                   "Oxfordshire's children's centres, so every site is a generated candidate "
                   f"({len(sites)} of them) and nothing can be said about which areas lose "
                   "access against today. Add the council's sites with 'optimiser prepare "
                   "--sites FILE' to compare with today.")


def _say(message: str, progress: bool) -> None:
    if progress:
        print(message, file=sys.stderr, flush=True)


def run_demo(out: str | Path = "out/demo", mirror: str | Path | None = None, *,
             progress: bool = True, sweep_budgets: tuple[float, ...] = SWEEP_BUDGETS,
             weight_draws: int = WEIGHT_DRAWS, vintage: str | None = None) -> str:
    """Run the whole demo into ``out``; return a summary naming where the pack is.

    ``vintage`` is the data vintage (:mod:`optimiser.vintage`; None = the default, 2025)."""
    from optimiser.allocation import allocate_from_folder, write_allocation
    from optimiser.compare import comparison_table, solve_options, write_comparison
    from optimiser.prepare import PrepareSettings, prepare_instance
    from optimiser.report import build_pack
    from optimiser.scenario import load_scenario
    from optimiser.sensitivity import weight_sensitivity_solve, write_sensitivity
    from optimiser.solve import solve_scenario, summary_text
    from optimiser.sweep import sweep_scenario, write_sweep

    start = time.perf_counter()
    out = Path(out)
    costs = load_costs(costs_file())
    lines: list[str] = []
    settings = PrepareSettings(la=LA, mirror=Path(mirror) if mirror else None)
    reads = [*settings.inputs(), scenarios_dir()]
    check_not_inside(out, settings.data_folders())
    with atomic_output_dir(out, reads=reads) as tmp:
        _say("1/7 prepare: Oxfordshire from the official data ...", progress)
        prepare_summary = prepare_instance(
            PrepareSettings(la=LA, age_group=AGE_GROUP,
                            mirror=Path(mirror) if mirror else None, vintage=vintage),
            tmp / "prepared")
        instance_dir = costed_instance(tmp / "prepared", tmp / "instance", costs)
        shutil.rmtree(tmp / "prepared")
        known, network_note = today_network_note(instance_dir)
        _say("2/7 costs: " + str(costs_file()), progress)
        scen_dir = tmp / "scenarios"
        scen_dir.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(costs_file(), scen_dir / "costs.yaml")
        base_path = scenario_copy(BASE, instance_dir, scen_dir, costs)
        option_paths = [scenario_copy(o, instance_dir, scen_dir, costs) for o in OPTIONS]

        grants = costs.community_grants
        _say("3/7 solve: the base scenario ...", progress)
        base = load_scenario(base_path)
        solution = solve_scenario(base)
        solution.write(tmp / "solved")

        _say("4/7 compare: the three consultation options ...", progress)
        # OUT/options is laid out as 'optimiser compare --out' leaves it (compare.csv and
        # options/<slug>/), so the report makes one page per option from it.
        folders = solve_options(option_paths, tmp / "options" / "options", progress=progress)
        notes = _option_notes(option_paths)
        table = comparison_table(folders, notes=notes)
        write_comparison(table, tmp / "options")

        _say("5/7 sweep: reach against budget ...", progress)
        t0 = time.perf_counter()
        frontier, plans = sweep_scenario(base, list(sweep_budgets), progress=progress)
        write_sweep(frontier, plans, tmp / "sweep", scenario_name=base.name,
                    seconds=time.perf_counter() - t0)

        _say(f"   sensitivity: {weight_draws} random need weightings ...", progress)
        sens = None
        if weight_draws:
            sens = weight_sensitivity_solve(base, weight_draws, seed=0, progress=progress)
            (tmp / "sensitivity").mkdir()
            write_sensitivity(sens, tmp / "sensitivity")

        _say("6/7 allocate: community grants by need ...", progress)
        alloc, grants_total = None, 0.0
        grants_folder = folders[OPTIONS.index(GRANTS_OPTION)]
        if grants is not None:
            # The pot is option C's own grants (its scenario's grants:), split with the floor
            # and cap of costs.yaml; the allocation goes with option C's plan only.
            grants_total = sum(load_scenario(option_paths[OPTIONS.index(GRANTS_OPTION)])
                               .grants.values()) or grants.budget
            alloc = allocate_from_folder(instance_dir, grants_total, level=grants.level,
                                         floor=grants.floor, cap=grants.cap_limit)
            write_allocation(alloc, grants_folder,
                             purpose=f"option C's £{grants_total:,.0f} a year of community "
                             "grants, split across localities by need",
                             budget=grants_total, floor=grants.floor, cap=grants.cap_limit)
        # The base plan's folder keeps the sweep, for 'optimiser report OUT/solved'.
        for name in ("sweep.csv", "sweep.svg", "sweep.png"):
            shutil.copyfile(tmp / "sweep" / name, tmp / "solved" / name)

        _say("7/7 report: the consultation pack ...", progress)
        pack_summary = build_pack(tmp / "options", tmp / "pack")
        _add_to_pack(tmp / "pack", tmp, grants_folder)

        lines += [
            "Oxfordshire demo: official data to a consultation pack.",
            prepare_summary.strip(),
            network_note,
            f"Costs: {costs_file()} (hub £{costs.sites.hub.annual_cost:,.0f}, spoke "
            f"£{costs.sites.spoke.annual_cost:,.0f}, outreach worker "
            f"£{costs.outreach_worker.annual_cost:,.0f} a year with on-costs).",
            "",
            "Base scenario, £10m a year:",
            *[ln for ln in summary_text(solution).splitlines()
              # With no list of today's centres every area "gains": say nothing rather than that.
              if known or "against today's network" not in ln],
            "",
            "Consultation options:",
            *_option_lines(table),
            "",
            "Budget sweep:",
            *_sweep_lines(frontier),
        ]
        if sens is not None:
            st = sens.sites[sens.sites["chosen_in_base"]]
            lines += ["", f"Sensitivity ({weight_draws} random need weightings): "
                      f"{int((st['chosen_share'] >= 0.9).sum())} of {len(st)} sites in the base "
                      "plan are chosen in at least 90% of them; the largest move of a "
                      f"locality's need rank is {int(sens.localities['max_abs_move'].max())} "
                      "places."]
        if alloc is not None:
            top = alloc.sort_values("allocation", ascending=False).head(3)
            lines += ["", f"Option C's community grants £{grants_total:,.0f} by need across "
                      f"{len(alloc)} {grants.level} units (floor £{grants.floor:,.0f}): "
                      + ", ".join(f"{r.unit} £{r.allocation:,}" for r in top.itertuples())
                      + ", ... (flat split: "
                      f"£{alloc['flat_allocation'].iloc[0]:,} each)"]
        lines += ["", pack_summary.strip()]
        # The summaries name the temporary build folder; name the final one.
        lines = [ln.replace(str(tmp / "prepared"), str(out / "instance"))
                 .replace(str(tmp), str(out)) for ln in lines]
    seconds = time.perf_counter() - start
    pack = out / "pack" / "index.html"
    lines += ["", f"Finished in {seconds:.0f} s. Everything is in {out}/.",
              f"Consultation pack: {pack}"]
    return "\n".join(lines)


def _option_notes(paths: list[Path]) -> list[str]:
    """The first sentence of each option file's opening comment (what the option is)."""
    notes = []
    for p in paths:
        block: list[str] = []
        for line in p.read_text(encoding="utf-8").splitlines():
            if "Copy made by" in line:
                continue
            if not line.startswith("#") or not line.lstrip("#").strip():
                if block:
                    break
                continue
            block.append(line.lstrip("#").strip())
        text = " ".join(block)
        first = re.split(r'(?<=[a-z0-9)"])\.\s', text, maxsplit=1)[0]
        notes.append(first if first.endswith(".") else first + ".")
    return notes


def _option_lines(table) -> list[str]:
    out = []
    for row in table.itertuples():
        if row.reach_share is None or row.reach_share != row.reach_share:
            out.append(f"  {row.option}: {row.status}, no plan")
            continue
        outside = (f" + £{row.extra_funding / 1e6:.1f}m grants and set-asides"
                   if row.extra_funding else "")
        out.append(f"  {row.title}: £{row.envelope / 1e6:.2f}m a year (plan "
                   f"£{row.annual_cost / 1e6:.2f}m{outside}); "
                   f"{100 * row.reach_share:.1f}% reached "
                   f"({100 * row.reach_share_deciles_1_2:.1f}% in IMD deciles 1-2); "
                   f"{plural(row.sites, 'site')}, "
                   f"{plural(row.outreach_workers, 'outreach worker')}; "
                   f"{row.localities_below_floor} localities below {100 * row.floor:.0f}%")
    return out


def _sweep_lines(frontier) -> list[str]:
    out = []
    for row in frontier.itertuples():
        knee = "  <- knee: each extra £ buys less after this" if row.knee else ""
        out.append(f"  £{row.budget / 1e6:5.1f}m: {100 * row.reach_share:5.1f}% reached, "
                   f"{plural(row.sites, 'site')}, "
                   f"{plural(row.outreach_workers, 'outreach worker')}{knee}")
    return out


def _add_to_pack(pack: Path, tmp: Path, grants_folder: Path) -> None:
    """Make sure the pack holds the sweep and the option comparison (table and chart), even
    where the report does not lay them out itself."""
    extra = pack / "decision_support"
    extra.mkdir(exist_ok=True)
    for src in (tmp / "sweep" / "sweep.csv", tmp / "sweep" / "sweep.svg",
                tmp / "sweep" / "sweep.png", tmp / "options" / "compare.csv",
                tmp / "options" / "compare.svg", tmp / "options" / "compare.png",
                grants_folder / "allocation.csv",
                tmp / "sensitivity" / "sensitivity_sites.csv",
                tmp / "sensitivity" / "sensitivity_localities.csv"):
        if src.is_file():
            shutil.copyfile(src, extra / src.name)
    write_text(extra / "README.txt", (
        "Decision support tables behind the pack (optimiser demo):\n"
        "  sweep.csv / sweep.svg     reach against budget, one solve per budget, knee marked\n"
        "  compare.csv / compare.svg the three consultation options side by side\n"
        "  allocation.csv            option C's community grants split by need vs a flat split\n"
        "  sensitivity_sites.csv     how often each site is chosen under random need weights\n"
        "  sensitivity_localities.csv how each locality's need rank moves under those weights\n"
        "Column definitions: docs/interfaces.md in the optimiser's source.\n"))
