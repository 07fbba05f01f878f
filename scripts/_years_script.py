"""What the multi-year planners' scripts share: prepare, copy the scenario, solve, print."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from optimiser.errors import OptimiserError


def parser_for(doc: str, default_out: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path(default_out),
                        help=f"output folder (default {default_out})")
    parser.add_argument("--gap", type=float, default=None,
                        help="relative gap to stop at (0 proves the best schedule; default: the "
                        "scenario's)")
    parser.add_argument("--time-limit", type=float, default=None,
                        help="seconds the solver may take (default: the scenario's)")
    parser.add_argument("--pack", action="store_true", help="also write the consultation pack")
    parser.add_argument("--mirror", type=Path, default=None, help="official data folder")
    return parser


def run(args: argparse.Namespace, *, la: str, age_group: str, scenario: Path) -> int:
    """Prepare ``la`` into OUT/instance, solve the scenario's copy into OUT/solved."""
    try:
        from optimiser.demo import prepare_costed, scenario_copy
        from optimiser.scenario import load_scenario
        from optimiser.solve import solve_scenario, summary_text

        instance, summary = prepare_costed(la, args.out / "instance", age_group=age_group,
                                           mirror=args.mirror)
        print(summary)
        path = scenario_copy(scenario, instance, args.out / "scenarios")
        loaded = load_scenario(path)
        solver = loaded.solver.model_copy(update={
            k: v for k, v in (("gap", args.gap), ("time_limit_s", args.time_limit))
            if v is not None})
        solution = solve_scenario(loaded.with_changes(solver=solver.model_dump()))
        solution.write(args.out / "solved")
        print(summary_text(solution))
        if args.pack:
            from optimiser.report import build_pack

            print(build_pack(args.out / "solved", args.out / "pack"))
        print(f"solved folder: {args.out / 'solved'} (years.csv, schedule.csv)")
    except OptimiserError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0
