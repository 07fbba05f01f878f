"""Lincolnshire-style phased savings: four years of a savings profile against a base budget.

Lincolnshire saved 23% of its Children's Services base budget over four years, phased £11.379m,
£9.564m, £1.520m and £0.589m. This script prepares Lincolnshire from the official data (children
0-4, the costs of ``scenarios/oxfordshire/costs.yaml`` on its generated sites) and solves
``scenarios/lincolnshire/savings_profile.yaml``: that profile, as shares, applied to a
family-centre base of £15.95m a year (the scenario file says where the base comes from). It
prints each year's budget, spend, sites, workers and share served, and what opens and closes.

How to run (from the repository root, after ``make setup``)::

    .venv/bin/python scripts/lincolnshire_savings_profile.py --out out/lincolnshire
    .venv/bin/python scripts/lincolnshire_savings_profile.py --out out/lincolnshire --gap 0

Options: ``--gap`` (0 proves the best schedule; the scenario stops within 0.5%),
``--time-limit`` seconds, ``--pack`` also writes the consultation pack to ``OUT/pack``,
``--mirror DIR`` names the official data folder.

Writes ``OUT/instance``, ``OUT/scenarios/savings_profile.yaml`` (the copy solved) and
``OUT/solved`` (solution.json with ``years``, years.csv, schedule.csv and the final year's
tables).
"""

from __future__ import annotations

import sys

from _years_script import parser_for, run

from optimiser.demo import scenarios_dir


def main(argv: list[str] | None = None) -> int:
    args = parser_for(__doc__, "out/lincolnshire").parse_args(argv)
    return run(args, la="Lincolnshire", age_group="0-4",
               scenario=scenarios_dir() / "lincolnshire" / "savings_profile.yaml")


if __name__ == "__main__":
    sys.exit(main())
