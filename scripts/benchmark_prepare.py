"""How long ``optimiser prepare`` takes for a county, with the official data already local.

Measures three things and prints them, then writes them to ``docs/benchmarks/prepare.json`` and
``docs/benchmarks/prepare.md``:

- **command**: ``python -m optimiser prepare --la LA --out DIR`` as a fresh process, the way a
  planner runs it (Python start-up and imports included), best and median of ``--repeat`` runs;
- **first call**: ``prepare_instance`` once in a fresh interpreter, imports excluded (every
  table is read and hashed);
- **warm call**: ``prepare_instance`` again in the same process (tables and checksums already
  in memory), as in a script that prepares several variants.

Usage::

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/benchmark_prepare.py \\
        [--la Oxfordshire] [--repeat 3] [--no-write]

"Data cached" means the canonical tables are on disk (the mirror, or the download cache after
``optimiser data fetch``); nothing is downloaded here.
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
TARGET_S = 10.0

_FIRST_CALL = """
import sys, time
t0 = time.perf_counter()
from optimiser.prepare import PrepareSettings, prepare_instance
t1 = time.perf_counter()
prepare_instance(PrepareSettings(la=sys.argv[1], mirror=sys.argv[2] or None), sys.argv[3])
t2 = time.perf_counter()
prepare_instance(PrepareSettings(la=sys.argv[1], mirror=sys.argv[2] or None), sys.argv[3])
t3 = time.perf_counter()
print(t1 - t0, t2 - t1, t3 - t2)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--la", default="Oxfordshire")
    parser.add_argument("--mirror", default=os.environ.get("OPTIMISER_DATA_MIRROR", ""))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    command, first, warm, imports = [], [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "instance"
        for _ in range(args.repeat):
            cmd = [sys.executable, "-m", "optimiser", "prepare", "--la", args.la,
                   "--out", str(out)] + (["--mirror", args.mirror] if args.mirror else [])
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True, cwd=REPO)
            command.append(time.perf_counter() - t0)
            res = subprocess.run([sys.executable, "-c", _FIRST_CALL, args.la, args.mirror,
                                  str(out)], check=True, capture_output=True, text=True,
                                 cwd=REPO)
            i, f, w = map(float, res.stdout.split())
            imports.append(i)
            first.append(f)
            warm.append(w)
        areas = len((out / "areas.csv").read_text().splitlines()) - 1

    def stats(xs: list[float]) -> dict:
        return {"best_s": round(min(xs), 3), "median_s": round(statistics.median(xs), 3)}

    result = {
        "la": args.la, "areas": areas, "repeat": args.repeat, "target_s": TARGET_S,
        "command": stats(command), "imports": stats(imports), "first_call": stats(first),
        "warm_call": stats(warm),
        "machine": {"python": platform.python_version(), "platform": platform.platform(),
                    "cpus": os.cpu_count()},
    }
    lines = [
        f"prepare {args.la} ({areas} areas), data on disk, {args.repeat} runs (best / median):",
        f"  command (fresh process) {result['command']['best_s']:.2f} / "
        f"{result['command']['median_s']:.2f} s   (target < {TARGET_S:.0f} s)",
        f"  imports                 {result['imports']['best_s']:.2f} / "
        f"{result['imports']['median_s']:.2f} s",
        f"  first call              {result['first_call']['best_s']:.2f} / "
        f"{result['first_call']['median_s']:.2f} s",
        f"  warm call               {result['warm_call']['best_s']:.2f} / "
        f"{result['warm_call']['median_s']:.2f} s",
    ]
    print("\n".join(lines))
    if not args.no_write:
        folder = REPO / "docs" / "benchmarks"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "prepare.json").write_text(json.dumps(result, indent=2) + "\n")
        md = ["# Benchmark: `optimiser prepare`", "",
              "Written by `scripts/benchmark_prepare.py` (official data already on disk; "
              "nothing downloaded).", "", "```", *lines, "```", "",
              f"Machine: Python {result['machine']['python']}, "
              f"{result['machine']['platform']}, {result['machine']['cpus']} CPUs.", ""]
        (folder / "prepare.md").write_text("\n".join(md))
        print(f"written to {folder / 'prepare.json'} and prepare.md")


if __name__ == "__main__":
    main()
