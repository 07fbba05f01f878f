"""Oxfordshire's three consultation options, compared side by side.

The Early Intervention Cabinet Advisory Group put three options to consultation: eight
children and family centres; eight centres with some universal services; six centres plus £1m
of community grants. This script prepares Oxfordshire from the official data (0-19 service),
puts the costs of ``scenarios/oxfordshire/costs.yaml`` on its sites, solves the three option
files of ``scenarios/oxfordshire/`` and writes the comparison (cost, reach, reach in IMD deciles
1-2, localities below their floor, areas losing access, travel) and option C's grants split by
need beside a flat split.

How to run (from the repository root, after ``make setup`` or ``make demo``)::

    .venv/bin/python scripts/oxfordshire_options.py --out out/options
    .venv/bin/python scripts/oxfordshire_options.py --instance out/demo/instance --out out/options

Options: ``--instance DIR`` re-uses a prepared instance (else Oxfordshire is prepared into
``OUT/instance``); ``--mirror DIR`` names the official data folder (default
``$OPTIMISER_DATA_MIRROR``); ``--floor 0.5`` sets the locality floor for the comparison.
Edit the option files or ``costs.yaml`` and run again.

Writes ``OUT/comparison/compare.csv``, ``compare.png``/``.svg`` and
``OUT/comparison/options/<option>/`` (solved folders: ``optimiser report
OUT/comparison/options/<option> --out PACK`` makes a pack of any of them),
``OUT/grants_allocation.csv`` and ``OUT/scenarios/`` (the copies that were solved).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from optimiser.allocation import allocate_from_folder
from optimiser.compare import run_compare
from optimiser.costs import load_costs
from optimiser.demo import OPTIONS, costs_file, prepare_costed, scenario_copy
from optimiser.errors import OptimiserError
from optimiser.files import write_csv


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("out/options"),
                        help="output folder (default out/options)")
    parser.add_argument("--instance", type=Path, default=None,
                        help="a prepared instance to re-use (default: prepare Oxfordshire)")
    parser.add_argument("--mirror", type=Path, default=None, help="official data folder")
    parser.add_argument("--floor", type=float, default=0.5,
                        help="locality floor for 'localities below their floor' (default 0.5)")
    args = parser.parse_args(argv)
    try:
        costs = load_costs(costs_file())
        out = args.out
        if args.instance is None:
            instance, summary = prepare_costed("Oxfordshire", out / "instance", mirror=args.mirror,
                                               costs=costs)
            print(summary)
        else:
            instance = args.instance
        paths = [scenario_copy(o, instance, out / "scenarios", costs) for o in OPTIONS]
        grants = costs.community_grants
        # Option C's grants and option B's set-aside are in their scenario files (grants:,
        # set_aside:), so the comparison shows each option's whole envelope by itself.
        print(run_compare(paths, out / "comparison", floor=args.floor))
        if grants is not None:
            table = allocate_from_folder(instance, grants.budget, level=grants.level,
                                         floor=grants.floor,
                                         cap=grants.cap_limit)
            write_csv(out / "grants_allocation.csv", table)
            print(f"Option C's £{grants.budget:,.0f} grants by need: "
                  f"{out / 'grants_allocation.csv'}")
    except OptimiserError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
