"""``optimiser solve``: a scenario file in, a solved folder out.

Examples
--------
>>> from optimiser.scenario import load_scenario
>>> sol = solve_scenario(load_scenario("scenario.yaml"))        # doctest: +SKIP
>>> sol.status, sol.open_sites[:3]                               # doctest: +SKIP
('optimal', ['S001', 'S004', 'S007'])

A sweep re-solves one built model per budget::

    model = FamilyCentreModel.from_instance(instance, scenario)
    for b in budgets:
        model.set_budget(b)
        sol = solve_model(model, instance, scenario)
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from optimiser.errors import ScenarioError
from optimiser.files import replaceable_output
from optimiser.instance import Instance, read_instance
from optimiser.model.explain import explain_infeasible, money
from optimiser.model.formulation import FamilyCentreModel
from optimiser.model.words import plural
from optimiser.scenario import Scenario, load_scenario
from optimiser.solution import Solution, build_solution


def solve_model(model: FamilyCentreModel, instance: Instance, scenario: Scenario) -> Solution:
    """Solve a built model (again, e.g. after :meth:`FamilyCentreModel.set_budget`)."""
    result = model.solve()
    explanation: list[str] = []
    s = model.settings
    if result.status == "infeasible":
        explanation = explain_infeasible(model)
    elif result.objective_value is None:
        explanation = [f"no plan was found within the time limit of {s.time_limit_s:g} s; "
                       "raise solver.time_limit_s or the gap"]
    elif result.status == "time_limit":
        if result.gap is not None and result.best_bound is not None:
            explanation = [f"stopped at the time limit of {s.time_limit_s:g} s: the plan is "
                           f"within {100 * result.gap:.2f}% of the best possible (best bound "
                           f"{result.best_bound:,.1f})"]
        else:
            explanation = [f"stopped at the time limit of {s.time_limit_s:g} s before a bound "
                           "was proven: the plan may be far from the best possible"]
    elif result.status == "feasible" and s.solver == "search" and result.gap is not None:
        # The search may stop before the requested gap (its rounds ran out): say how far it is.
        explanation = [f"the search's plan is within {100 * result.gap:.2f}% of the best "
                       f"possible (best bound {result.best_bound:,.1f}): not proven optimal"]
    elif result.status == "feasible":
        explanation = [f"stopped within the requested gap of {100 * s.gap:g}%: not proven optimal"]
    explanation += scenario.unused_keys()
    if not model.data.existing.any() and result.has_plan:
        explanation.append("the instance has no existing sites, so today's network is empty and "
                           "every area reached (served) counts as gaining access")
    explanation += model.objective.notes(model, result)
    explanation += _full_sites_note(model, result) + _spending_notes(model, result)
    return build_solution(
        model, result, instance, scenario_name=scenario.name, scenario_file=scenario.source,
        settings=scenario.settings_dict(), explanation=explanation,
    )


def _full_sites_note(model: FamilyCentreModel, result) -> list[str]:
    """Service model: how many open centres serve all the children their staff can."""
    d = model.data
    if model.settings.reach_model != "service" or not result.has_plan:
        return []
    capped = result.open & np.isfinite(d.capacity)
    if not capped.any():
        return []
    full = capped & (result.shares.site_children >= d.capacity - 0.5)
    n, k = int(capped.sum()), int(full.sum())
    return [f"{k} of the {n} open centres with a capacity are full (they serve all the children "
            f"their staff can); more staff or centres near them would serve more"
            if k else f"none of the {n} open centres is full: the families who would come are "
            f"served, and more money near them buys no more service"]


def _spending_notes(model: FamilyCentreModel, result) -> list[str]:
    """What the budget could not buy: nothing at all (below the cheapest site and worker), or
    no more sites (every site the instance offers is open, so more money buys only outreach)."""
    d, s = model.data, model.settings
    if not result.has_plan or s.budget is None or s.objective != "max_reach":
        return []
    allowed = np.ones(d.n_sites, dtype=bool)
    allowed[list(s.must_close)] = False
    if not result.open.any() and not result.workers.any():
        costs = model.cost_coef[allowed & (model.cost_coef > 0)]
        cheapest = [f"the cheapest site costs {money(float(costs.min()))} a year (with its "
                    "set-up spread over annualise_years)"] if len(costs) else []
        if model.u and s.worker_cost > 0:
            cheapest.append(f"an outreach worker {money(s.worker_cost)}")
        return [f"the budget {money(s.budget)} buys nothing: " + " and ".join(cheapest)
                + "; raise the budget" if cheapest else
                f"the budget {money(s.budget)} buys nothing; raise the budget"]
    if d.n_sites and result.open[allowed].all():
        return [f"every site the instance offers is open ({plural(int(allowed.sum()), 'site')}):"
                " more money buys only outreach; to compare more places, add candidate sites "
                "(optimiser prepare --candidates all-areas, or your own --sites file)"]
    return []


def solve_scenario(scenario: Scenario, instance: Instance | None = None) -> Solution:
    """Read the instance (unless given), build the model and solve it."""
    if instance is None:
        instance = read_instance(scenario.instance_dir)
    if scenario.years is not None:
        from optimiser.solve_years import solve_years

        return solve_years(scenario, instance)
    model = FamilyCentreModel.from_instance(instance, scenario)
    return solve_model(model, instance, scenario)


def summary_text(sol: Solution) -> str:
    """A few lines for the terminal."""
    lines = [f"{sol.scenario}: {sol.objective} -> {sol.status}"]
    t = sol.totals
    if t:
        lines.append(
            f"  {plural(t['sites_open'], 'site')} open, "
            f"{plural(t['outreach_workers'], 'outreach worker')}, "
            f"annual cost {money(t['annual_cost'])}; reaches {100 * t['reach_share']:.1f}% of "
            f"need-weighted children ({t['need_reached']:,.0f} of {t['need_total']:,.0f}); "
            f"{t['children_reached']:,.0f} of {t['children_total']:,.0f} children served")
        if sol.best_bound is not None and sol.status != "optimal":
            gap = (f"gap {100 * sol.gap:.3f}%" if sol.gap is not None
                   else "no relative gap: the plan is worth 0")
            lines.append(f"  best bound {sol.best_bound:,.4g}, {gap}")
        ch = sol.change
        if ch:
            lines.append(f"  against today's network: {len(ch['areas_gaining'])} areas gain "
                         f"places, {len(ch['areas_losing'])} lose them"
                         if sol.reach_model == "service" else
                         f"  against today's network: {len(ch['areas_gaining'])} areas gain "
                         f"access, {len(ch['areas_losing'])} lose it")
    for row in sol.summary.get("years") or []:
        lines.append(f"  {row['year']}: {row['sites_open']} sites, {row['outreach_workers']} "
                     f"workers, spends {money(row['annual_cost'])} of {money(row['budget'])}; "
                     f"serves {100 * row['reach_share']:.1f}%"
                     + (f"; opens {row['opened']}" if row["opened"] else "")
                     + (f"; closes {row['closed']}" if row["closed"] else ""))
    for sentence in sol.explanation:
        lines.append(f"  {sentence}")
    return "\n".join(lines)


def check_out_folder(out: str | Path, scenario: Scenario) -> None:
    """``out`` may be replaced whole: it must not hold the inputs or unrelated files.

    Writing replaces the folder (atomically), so ``--out instance`` would delete the instance.
    Refused: the instance folder or a folder containing it, a folder containing the scenario
    file, and an existing non-empty folder that optimiser did not write (no output marker).

    Raises
    ------
    ScenarioError
        Naming the folder and suggesting a new one.
    """
    target = Path(out).resolve()
    inputs = [scenario.instance_dir.resolve()]
    if scenario.source is not None:
        inputs.append(scenario.source.resolve())
    for path in inputs:
        if path == target or target in path.parents:
            raise ScenarioError(
                f"--out {out} would replace the folder holding {path}, an input of this solve",
                file=scenario.source,
                hint="give a new folder for the solution, e.g. --out solved/option-a")
    if target.exists() and not target.is_dir():
        raise ScenarioError(f"--out {out} is a file; solve writes a folder there",
                            file=scenario.source, hint="give a new folder, e.g. --out solved")
    if target.is_dir() and not replaceable_output(target):
        raise ScenarioError(
            f"--out {out} is a folder with other files in it (not one optimiser wrote); "
            "solve replaces its folder whole", file=scenario.source,
            hint="give a new or empty folder, or a folder an earlier solve wrote")


def run_solve(scenario_path: str | Path, out: str | Path) -> str:
    """The CLI's ``solve``: validate, solve, write ``out`` atomically; return a summary."""
    scenario = load_scenario(scenario_path)
    check_out_folder(out, scenario)
    sol = solve_scenario(scenario)
    sol.write(out, reads=scenario.inputs())
    return summary_text(sol) + f"\n  written to {Path(out)}"
