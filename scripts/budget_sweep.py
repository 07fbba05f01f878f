"""Budget sweep: what each budget reaches, and what is lost at £10m instead of £12m.

Solves one scenario at several budgets (one model built once, only the budget changed between
solves), writes the frontier table and chart with the knee marked, and prints, for each step
down in budget, the need-weighted children lost.

How to run (from the repository root, after ``make setup`` or ``make demo``)::

    .venv/bin/python scripts/budget_sweep.py --out out/sweep
    .venv/bin/python scripts/budget_sweep.py --scenario my_scenario.yaml \\
        --budgets 6m,8m,10m,12m --out out/sweep

Without ``--scenario`` it prepares Oxfordshire (0-19, costs of
``scenarios/oxfordshire/costs.yaml``) into ``OUT/instance`` and sweeps
``scenarios/oxfordshire/base.yaml``; ``--instance DIR`` re-uses a prepared instance instead.
``--budgets`` takes a list (``6e6,8e6`` or ``6m,8m``) or a range ``START:STOP:N``
(default ``4m:16m:10`` for Oxfordshire). ``--mirror DIR`` names the official data folder.

Writes ``OUT/sweep/sweep.csv``, ``sweep.png``, ``sweep.svg``, ``sweep.json`` and
``OUT/sweep/losses.csv`` (reach lost per step down in budget).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from optimiser.demo import costs_file, prepare_costed, scenario_copy
from optimiser.errors import OptimiserError
from optimiser.files import write_csv
from optimiser.sweep import run_sweep


def losses(table: pd.DataFrame) -> pd.DataFrame:
    """Per step down in budget: the budget saved and the need-weighted children no longer
    reached (overall and in IMD deciles 1-2)."""
    t = table.sort_values("budget", ascending=False).reset_index(drop=True)
    return pd.DataFrame({
        "from_budget": t["budget"].iloc[:-1].to_numpy(),
        "to_budget": t["budget"].iloc[1:].to_numpy(),
        "saving": (t["budget"].iloc[:-1].to_numpy() - t["budget"].iloc[1:].to_numpy()),
        "need_reached_lost": (t["need_reached"].iloc[:-1].to_numpy()
                              - t["need_reached"].iloc[1:].to_numpy()).round(1),
        "reach_share_lost": (t["reach_share"].iloc[:-1].to_numpy()
                             - t["reach_share"].iloc[1:].to_numpy()).round(6),
        "reach_share_deciles_1_2_lost": (t["reach_share_deciles_1_2"].iloc[:-1].to_numpy()
                                         - t["reach_share_deciles_1_2"].iloc[1:].to_numpy()
                                         ).round(6),
    })


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", type=Path, default=None,
                        help="scenario file (default: Oxfordshire's base scenario)")
    parser.add_argument("--budgets", default="4m:16m:10",
                        help="budgets: 6m,8m,10m or START:STOP:N (default 4m:16m:10)")
    parser.add_argument("--out", type=Path, default=Path("out/sweep"),
                        help="output folder (default out/sweep)")
    parser.add_argument("--instance", type=Path, default=None,
                        help="prepared instance for the Oxfordshire base scenario")
    parser.add_argument("--mirror", type=Path, default=None, help="official data folder")
    args = parser.parse_args(argv)
    try:
        scenario = args.scenario
        if scenario is None:
            instance = args.instance
            if instance is None:
                instance, summary = prepare_costed("Oxfordshire", args.out / "instance",
                                                   mirror=args.mirror)
                print(summary)
            scenario = scenario_copy("base.yaml", instance, args.out / "scenarios")
            print(f"costs: {costs_file()}")
        print(run_sweep(scenario, args.budgets, args.out / "sweep"))
        table = pd.read_csv(args.out / "sweep" / "sweep.csv")
        lost = losses(table)
        write_csv(args.out / "sweep" / "losses.csv", lost)
        for row in lost.itertuples():
            print(f"  £{row.from_budget / 1e6:.1f}m -> £{row.to_budget / 1e6:.1f}m saves "
                  f"£{row.saving / 1e6:.1f}m and loses {row.need_reached_lost:,.0f} "
                  f"need-weighted children ({100 * row.reach_share_lost:.1f} points)")
    except OptimiserError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
