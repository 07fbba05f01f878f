"""A Luton-style hub-and-spoke network of children's centres.

Luton's children's centres worked as hubs and spokes, and in 2013 the envelope devolved to them
fell by £300,000 (8%): about £3.75m to about £3.45m a year. This script prepares Luton from the
official data (children 0-4), puts the costs of ``scenarios/oxfordshire/costs.yaml`` on its
generated sites (hub £650k, spoke £220k a year) and solves ``scenarios/luton/hub_and_spoke.yaml``:
the most need-weighted children reached under £3.45m, where a spoke opens only with an open
hub within 3 km. It prints the hubs and the spokes each leans on, and can make the pack.

How to run (from the repository root, after ``make setup``)::

    .venv/bin/python scripts/luton_hub_and_spoke.py --out out/luton
    .venv/bin/python scripts/luton_hub_and_spoke.py --out out/luton --budget 3.75m --pack

Options: ``--budget`` overrides the scenario's budget (``3.45m``, ``3450000``); ``--pack`` also
writes the consultation pack to ``OUT/pack``; ``--mirror DIR`` names the official data folder.

Writes ``OUT/instance`` (prepared, costed), ``OUT/scenarios/hub_and_spoke.yaml`` (the copy
solved), ``OUT/solved`` (solution.json and tables) and, with ``--pack``, ``OUT/pack``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from optimiser.demo import prepare_costed, scenario_copy, scenarios_dir
from optimiser.errors import OptimiserError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/luton"),
                        help="output folder (default out/luton)")
    parser.add_argument("--budget", default=None, help="budget, e.g. 3.45m (default: the "
                        "scenario's)")
    parser.add_argument("--pack", action="store_true", help="also write the consultation pack")
    parser.add_argument("--mirror", type=Path, default=None, help="official data folder")
    args = parser.parse_args(argv)
    try:
        from optimiser.scenario import load_scenario
        from optimiser.solve import solve_scenario, summary_text
        from optimiser.sweep import parse_budgets

        instance, summary = prepare_costed("Luton", args.out / "instance", age_group="0-4",
                                           mirror=args.mirror)
        print(summary)
        path = scenario_copy(scenarios_dir() / "luton" / "hub_and_spoke.yaml", instance,
                             args.out / "scenarios")
        scenario = load_scenario(path)
        if args.budget is not None:
            scenario = scenario.with_changes(budget=parse_budgets(args.budget)[0])
        solution = solve_scenario(scenario)
        solution.write(args.out / "solved")
        print(summary_text(solution))
        sites_file = args.out / "solved" / "sites.csv"
        if sites_file.is_file():
            sites = pd.read_csv(sites_file)
            open_ = sites[sites["open"].astype(bool)]
            hubs = open_[open_["tier"] == "hub"]
            spokes = open_[open_["tier"] == "spoke"]
            for hub in hubs.itertuples():
                near = spokes[np.hypot(spokes["x"] - hub.x, spokes["y"] - hub.y) <= 3000]
                leaning = ", ".join(near["name"]) if len(near) else "no spokes"
                print(f"  hub {hub.name}: {leaning}")
        if args.pack:
            from optimiser.report import build_pack

            print(build_pack(args.out / "solved", args.out / "pack"))
        print(f"solved folder: {args.out / 'solved'}")
    except OptimiserError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
