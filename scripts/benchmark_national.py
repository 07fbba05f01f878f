"""How long ``optimiser national`` takes, on 1 and 2 workers, and what 16 and 64 would give.

Runs ``national`` (every English upper-tier authority of the 2025 vintage, or those given with
``--la``) from the data mirror into a fresh temporary folder once per worker count, and writes
``docs/benchmarks/national.md``: wall-clock time, the load average of the machine before and
after (other jobs share its cores), statuses, whether the tables of the runs are byte-identical,
and each authority's task time (prepare and solve on its worker, from ``national.json``), from
which the times on 16 and 64 workers are worked out on paper.

Usage::

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/benchmark_national.py \\
        [--workers 1,2] [--la NAME,NAME,...] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "benchmarks" / "national.md"


def run(workers: int, la: tuple[str, ...], tmp: Path) -> dict:
    from optimiser.national import NationalSettings, run_national

    out = tmp / f"national_w{workers}"
    load_before = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    run_national(NationalSettings(out=out, la=la), workers=workers, progress=False)
    seconds = time.perf_counter() - start
    meta = json.loads((out / "national.json").read_text())
    table = pd.read_csv(out / "national.csv")
    return {"workers": workers, "seconds": seconds, "client_cpu": time.process_time() - cpu,
            "load_before": load_before, "load_after": os.getloadavg()[0], "out": out,
            "meta": meta, "table": table}


def paper(tasks: np.ndarray, overhead: float, n: int) -> float:
    """Makespan on ``n`` workers: tasks longest first onto the least-loaded worker (as a
    scheduler handing work to idle workers does), plus the run's serial part."""
    loads = np.zeros(n)
    for t in sorted(tasks, reverse=True):
        loads[np.argmin(loads)] += t
    return float(loads.max()) + overhead


def report(runs: list[dict], la: tuple[str, ...]) -> str:
    base = runs[0]
    tasks = np.array(list(base["meta"]["task_seconds"].values()), dtype=float)
    one = next((r for r in runs if r["workers"] == 1), None)
    serial = (one["seconds"] - tasks.sum()) if one is not None else 15.0
    same = all((r["out"] / "national.csv").read_bytes() == (base["out"] / "national.csv")
               .read_bytes() for r in runs)
    status = base["table"]["status"].value_counts().to_dict()
    lines = [
        "# `optimiser national`: time on 1 and 2 workers, and on paper for 16 and 64",
        "",
        f"Run on {dt.date.today().isoformat()}, {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, by `scripts/benchmark_national.py`"
        + (f" on {len(base['table'])} authorities (`--la {','.join(la)}`)." if la else
           f" on every English upper-tier authority ({len(base['table'])}, 2025 vintage)."),
        "Default settings: £180 a year per child aged 0-4, generated candidates, service "
        "model, HiGHS one thread, gap 0.5%, time limit 60 s per authority.",
        "",
        "| workers | wall-clock | load average before / after | authorities | statuses |",
        "|---|---|---|---|---|",
    ]
    for r in runs:
        st = ", ".join(f"{k} {v}" for k, v in r["table"]["status"].value_counts().items())
        lines.append(f"| {r['workers']} | {r['seconds'] / 60:.1f} min ({r['seconds']:.0f} s) | "
                     f"{r['load_before']:.1f} / {r['load_after']:.1f} | {len(r['table'])} | "
                     f"{st} |")
    lines += [
        "",
        f"national.csv byte-identical across the worker counts: **{'yes' if same else 'NO'}**.",
        f"Statuses: {status}.",
        "",
        "## The authorities' tasks",
        "",
        f"Each task prepares one authority from the data mirror and solves it (seconds on its "
        f"worker, {len(tasks)} tasks, run with {base['workers']} worker(s)): total "
        f"{tasks.sum():.0f} s, median {np.median(tasks):.1f} s, 90th percentile "
        f"{np.percentile(tasks, 90):.1f} s, longest {tasks.max():.1f} s "
        f"({max(base['meta']['task_seconds'], key=base['meta']['task_seconds'].get)}). "
        "A worker's first task also reads the national tables once (kept in memory after).",
        "",
        f"Serial part (cluster start-up, the authority list, the map's dissolved outlines, "
        f"tables and chart): about {serial:.0f} s"
        + (" (the 1-worker run's time less its tasks' time)." if one is not None else
           " (assumed: no 1-worker run)."),
        "",
        "## On paper: 16 and 64 workers",
        "",
        "Tasks are independent, so the time is the serial part plus the most loaded worker's "
        "share of the tasks (longest first onto the least-loaded worker), with the tasks "
        "timed above. This assumes a core per worker and the same per-task times; each extra "
        "worker also reads the national tables once (about 8 s, in its first task, included "
        "in the measured tasks for the workers that ran them) and needs about 0.5 GB of memory.",
        "",
        "| workers | time on paper |",
        "|---|---|",
    ]
    for n in (1, 2, 16, 64):
        lines.append(f"| {n} | {paper(tasks, serial, n) / 60:.1f} min |")
    lines += [
        "",
        "Beyond about 16 workers the longest single authority (and the serial part) bounds the "
        "time: 64 workers gain little over 16 on ~150 tasks of a few seconds each. Runs on "
        "a shared machine are slower than these figures when other jobs use the cores (see the "
        "load averages).",
        "",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts, e.g. 1,2")
    parser.add_argument("--la", default="", help="only these authorities (comma-separated)")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the file")
    args = parser.parse_args()
    la = tuple(x.strip() for x in args.la.split(",") if x.strip())
    with tempfile.TemporaryDirectory() as tmp:
        runs = []
        for n in (int(w) for w in args.workers.split(",")):
            runs.append(run(n, la, Path(tmp)))
            print(f"{n} worker(s): {runs[-1]['seconds']:.0f} s", flush=True)
        text = report(runs, la)
    print(text)
    if not args.no_write:
        OUT.write_text(text, encoding="utf-8")
        print(f"written to {OUT}")


if __name__ == "__main__":
    main()
