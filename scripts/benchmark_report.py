"""How long ``optimiser report`` takes on the Oxfordshire £10m solution (target: under 15 s).

Prepares Oxfordshire from the local data, solves ``scenarios/oxfordshire/base.yaml`` (max_reach,
£10m) and then times ``python -m optimiser report SOLVED --out PACK`` as a fresh process, the way
a planner runs it (Python start-up and imports included), ``--repeat`` times, in both modes
(self-contained and ``--cdn``). Prints the figures, and writes them to
``docs/benchmarks/report.json`` and ``docs/benchmarks/report.md`` unless ``--no-write``.

Usage::

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/benchmark_report.py \\
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

import yaml

REPO = Path(__file__).resolve().parents[1]
TARGET_S = 15.0


def _run(args: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "optimiser", *args], check=True, capture_output=True,
                   cwd=REPO)
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", default=os.environ.get("OPTIMISER_DATA_MIRROR", ""))
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-write", action="store_true", help="print only")
    args = parser.parse_args()

    result: dict = {"target_s": TARGET_S, "machine": f"{platform.machine()}, "
                    f"{os.cpu_count()} cores, Python {platform.python_version()}"}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mirror = ["--mirror", args.mirror] if args.mirror else []
        _run(["prepare", "--la", "Oxfordshire", "--out", str(tmp / "instance"), *mirror])
        scenario = yaml.safe_load((REPO / "scenarios/oxfordshire/base.yaml").read_text())
        scenario["instance"] = str(tmp / "instance")
        (tmp / "base.yaml").write_text(yaml.safe_dump(scenario))
        _run(["solve", str(tmp / "base.yaml"), "--out", str(tmp / "solved")])
        for mode in ("--self-contained", "--cdn"):
            times = [_run(["report", str(tmp / "solved"), "--out", str(tmp / "pack"), mode])
                     for _ in range(args.repeat)]
            pack = tmp / "pack"
            meta = json.loads((pack / "pack.json").read_text())
            result[mode.lstrip("-")] = {
                "best_s": round(min(times), 2), "median_s": round(statistics.median(times), 2),
                "runs": args.repeat,
                "map_html_mb": round((pack / "map.html").stat().st_size / 1e6, 2),
                "pack_mb": round(sum(p.stat().st_size for p in pack.rglob("*") if p.is_file())
                                 / 1e6, 2),
                "area_polygons": meta["area_polygons"], "site_markers": meta["site_markers"],
            }
    for mode in ("self-contained", "cdn"):
        r = result[mode]
        print(f"report ({mode}): best {r['best_s']:.2f} s, median {r['median_s']:.2f} s over "
              f"{r['runs']} runs; map.html {r['map_html_mb']} MB, pack {r['pack_mb']} MB; "
              f"{r['area_polygons']} areas, {r['site_markers']} sites (target < {TARGET_S:g} s)")
    if not args.no_write:
        folder = REPO / "docs" / "benchmarks"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "report.json").write_text(json.dumps(result, indent=2) + "\n")
        md = ["# `optimiser report` on the Oxfordshire £10m solution", "",
              "`scripts/benchmark_report.py`: a fresh process per run (start-up and imports "
              f"included); {result['machine']}.", "",
              "| mode | best (s) | median (s) | map.html (MB) | pack (MB) | areas | sites |",
              "|---|---|---|---|---|---|---|"]
        for mode in ("self-contained", "cdn"):
            r = result[mode]
            md.append(f"| {mode} | {r['best_s']} | {r['median_s']} | {r['map_html_mb']} | "
                      f"{r['pack_mb']} | {r['area_polygons']} | {r['site_markers']} |")
        md.append("")
        md.append(f"Target: under {TARGET_S:g} s.")
        (folder / "report.md").write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
