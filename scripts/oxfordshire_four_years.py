"""Oxfordshire over four years: £16m down to £10m, which centres open when, and outreach a year.

Prepares Oxfordshire from the official data (children 0-19, the demo's instance with the costs
of ``scenarios/oxfordshire/costs.yaml``) and solves ``scenarios/oxfordshire/four_years.yaml``:
budgets £16m, £14m, £12m and £10m for 2026-2029, children growing with the ONS trend, set-up
costs paid in the year a centre opens. It prints each year's sites, workers, spend against
budget and share served, and what opens and closes.

How to run (from the repository root, after ``make setup``)::

    .venv/bin/python scripts/oxfordshire_four_years.py --out out/oxfordshire-years
    .venv/bin/python scripts/oxfordshire_four_years.py --out out/oxfordshire-years --gap 0

Options: ``--gap`` (0 proves the best schedule; the scenario stops within 0.5%),
``--time-limit`` seconds, ``--pack`` also writes the consultation pack to ``OUT/pack``,
``--mirror DIR`` names the official data folder.

Writes ``OUT/instance``, ``OUT/scenarios/four_years.yaml`` (the copy solved) and ``OUT/solved``
(solution.json with ``years``, years.csv, schedule.csv and the final year's tables).
"""

from __future__ import annotations

import sys

from _years_script import parser_for, run

from optimiser.demo import scenarios_dir


def main(argv: list[str] | None = None) -> int:
    args = parser_for(__doc__, "out/oxfordshire-years").parse_args(argv)
    return run(args, la="Oxfordshire", age_group="0-19",
               scenario=scenarios_dir() / "oxfordshire" / "four_years.yaml")


if __name__ == "__main__":
    sys.exit(main())
