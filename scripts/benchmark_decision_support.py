"""How long the decision-support commands take on Oxfordshire, with the official data local.

Measures and prints, then writes to ``docs/benchmarks/decision_support.json`` and ``.md``:

- **demo command**: ``python -m optimiser demo --out DIR`` as a fresh process, the way a planner
  runs ``make demo`` (Python start-up, prepare, 1 + 3 + 10 solves, 20 sensitivity draws on two
  processes, the pack); target < 120 s on 2 cores;
- **10-budget sweep**: ``sweep_scenario`` on the costed Oxfordshire instance, £4m-£16m, one model
  built and re-solved per budget; target < 30 s;
- **compare**: the three consultation options solved and tabulated;
- **sensitivity**: 20 random need weightings re-solved on a local Dask cluster (a worker per core).

Usage::

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/benchmark_decision_support.py \\
        [--repeat 3] [--no-write]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
TARGETS = {"demo command": 120.0, "10-budget sweep": 30.0}


def _timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)

    from optimiser.compare import comparison_table, solve_options
    from optimiser.demo import OPTIONS, SWEEP_BUDGETS, prepare_costed, scenario_copy
    from optimiser.scenario import load_scenario
    from optimiser.sensitivity import weight_sensitivity_solve
    from optimiser.sweep import sweep_scenario

    times: dict[str, list[float]] = {k: [] for k in ("demo command", "10-budget sweep",
                                                      "compare 3 options",
                                                      "sensitivity 20 draws")}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        instance, _ = prepare_costed("Oxfordshire", tmp / "instance")
        base = load_scenario(scenario_copy("base.yaml", instance, tmp / "scenarios"))
        options = [scenario_copy(o, instance, tmp / "scenarios") for o in OPTIONS]
        for i in range(args.repeat):
            out = tmp / f"demo{i}"
            times["demo command"].append(_timed(lambda out=out: subprocess.run(
                [sys.executable, "-W", "ignore", "-m", "optimiser", "demo", "--out", str(out)],
                check=True, capture_output=True, env={**os.environ})))
            times["10-budget sweep"].append(_timed(
                lambda: sweep_scenario(base, list(SWEEP_BUDGETS), progress=False)))
            times["compare 3 options"].append(_timed(lambda i=i: comparison_table(
                solve_options(options, tmp / f"opts{i}", progress=False))))
            times["sensitivity 20 draws"].append(_timed(
                lambda: weight_sensitivity_solve(base, 20, progress=False)))

    lines = [f"Oxfordshire (407 areas, 0-19), data on disk, {args.repeat} runs (best / median):"]
    for name, values in times.items():
        target = f"   (target < {TARGETS[name]:g} s)" if name in TARGETS else ""
        lines.append(f"  {name:22s} {min(values):6.2f} / {statistics.median(values):6.2f} s"
                     f"{target}")
    machine = f"Python {platform.python_version()}, {platform.platform()}, {os.cpu_count()} CPUs."
    text = "\n".join(lines)
    print(text)
    print(machine)
    if not args.no_write:
        bench = REPO / "docs" / "benchmarks"
        bench.mkdir(parents=True, exist_ok=True)
        (bench / "decision_support.json").write_text(json.dumps({
            "runs": args.repeat, "seconds": times, "targets": TARGETS, "machine": machine,
        }, indent=2) + "\n")
        (bench / "decision_support.md").write_text(
            "# Benchmark: decision support (demo, sweep, compare, sensitivity)\n\n"
            "Written by `scripts/benchmark_decision_support.py` (official data already on disk; "
            "nothing downloaded).\n\n```\n" + text + "\n```\n\nMachine: " + machine + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
