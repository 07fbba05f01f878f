"""How long ``optimiser national`` takes, on 1 and 2 workers, and what 16 and 64 would give.

Runs ``national`` (every English upper-tier authority of the 2025 vintage, or those given with
``--la``) from the data mirror into a fresh temporary folder once per worker count, and writes
``docs/benchmarks/national.md``: wall-clock time, the load average of the machine before and
after (other jobs share its cores), statuses, whether the tables of the runs are byte-identical,
and each authority's task time (prepare and solve on its worker, from ``national.json``), from
which the times on 16 and 64 workers are worked out on paper.

Usage::

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/benchmark_national.py \\
        [--workers 1,2] [--la NAME,NAME,...] [--keep DIR] [--reuse N=DIR] [--no-write]
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


def run(workers: int, la: tuple[str, ...], keep: Path) -> dict:
    from optimiser.national import NationalSettings, run_national

    out = keep / f"national_w{workers}"
    load_before = os.getloadavg()[0]
    start, cpu = time.perf_counter(), time.process_time()
    run_national(NationalSettings(out=out, la=la), workers=workers, progress=False)
    seconds = time.perf_counter() - start
    result = {"workers": workers, "seconds": seconds, "client_cpu": time.process_time() - cpu,
              "load_before": load_before, "load_after": os.getloadavg()[0]}
    (out / "benchmark.json").write_text(json.dumps(result))
    return reuse(workers, out)


def reuse(workers: int, out: Path) -> dict:
    """A run's figures read back from its folder (this script's benchmark.json, or only the
    national.json of a run made otherwise: then its wall-clock is national.json's)."""
    meta = json.loads((out / "national.json").read_text())
    bench = out / "benchmark.json"
    result = (json.loads(bench.read_text()) if bench.is_file() else
              {"workers": workers, "seconds": meta["seconds"], "client_cpu": None,
               "load_before": None, "load_after": None})
    return result | {"out": out, "meta": meta, "table": pd.read_csv(out / "national.csv")}


def task_times(meta: dict) -> tuple[np.ndarray, np.ndarray | None]:
    """Each task's wall-clock and CPU seconds (CPU None from a run that did not record it)."""
    values = list(meta["task_seconds"].values())
    if values and isinstance(values[0], list):
        arr = np.array(values, dtype=float)
        return arr[:, 0], arr[:, 1]
    return np.array(values, dtype=float), None


def lpt(tasks: np.ndarray, n: int) -> float:
    """The most loaded of ``n`` workers when tasks go longest first to the least loaded (as
    a scheduler handing work to idle workers does)."""
    loads = np.zeros(n)
    for t in sorted(tasks, reverse=True):
        loads[np.argmin(loads)] += t
    return float(loads.max())


def _load(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def report(runs: list[dict], la: tuple[str, ...], note: str = "") -> str:
    one = next((r for r in runs if r["workers"] == 1 and r["client_cpu"] is not None), None)
    base = one or runs[0]
    wall, cpu = task_times(base["meta"])
    same = all((r["out"] / "national.csv").read_bytes() == (base["out"] / "national.csv")
               .read_bytes() for r in runs)
    n_auth = len(base["table"])
    lines = [
        "# `optimiser national`: time on 1 and 2 workers, and on paper for 16 and 64",
        "",
        f"Run on {dt.date.today().isoformat()}, {platform.node()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, by `scripts/benchmark_national.py`"
        + (f" on {n_auth} authorities (`--la {','.join(la)}`)." if la else
           f" on every English upper-tier authority ({n_auth}, 2025 vintage)."),
        "Default settings: £180 a year per child aged 0-4, generated candidates, service "
        "model, HiGHS one thread, gap 0.5%, time limit 60 s per authority.",
        "",
        "**The machine was shared**: other sessions' jobs ran on the same 2 cores throughout, "
        "so wall-clock times are longer than on an idle machine; the load averages (runnable "
        "processes, 2 = both cores busy) say by how much. CPU seconds do not grow with load.",
        "",
        "| workers | wall-clock | load average before / after | authorities | statuses |",
        "|---|---|---|---|---|",
    ]
    for r in runs:
        st = ", ".join(f"{k} {v}" for k, v in r["table"]["status"].value_counts().items())
        lines.append(f"| {r['workers']} | {r['seconds'] / 60:.1f} min ({r['seconds']:.0f} s) | "
                     f"{_load(r['load_before'])} / {_load(r['load_after'])} | "
                     f"{len(r['table'])} | {st} |")
    lines += [
        "",
        f"national.csv byte-identical across the worker counts: **{'yes' if same else 'NO'}**.",
        "",
        "## The authorities' tasks",
        "",
        f"Each task prepares one authority from the data mirror and solves it; from the "
        f"{base['workers']}-worker run ({len(wall)} tasks): wall-clock total {wall.sum():.0f} s, "
        f"median {np.median(wall):.1f} s, longest {wall.max():.1f} s.",
    ]
    if cpu is not None:
        first = float(cpu[0] - np.median(cpu))  # a worker's first task reads the tables
        tasks = np.concatenate([[np.median(cpu)], cpu[1:]])
        serial = max(one["client_cpu"] - cpu.sum(), 0.0) if one is not None else 15.0
        lines += [
            f"CPU: total {cpu.sum():.0f} s, median {np.median(cpu):.1f} s, 90th percentile "
            f"{np.percentile(cpu, 90):.1f} s, longest {cpu.max():.1f} s. A worker's first task "
            f"also reads the national tables once (about {first:.0f} s; kept in memory after).",
            f"Serial CPU outside the tasks (authority list, the map's dissolved outlines, "
            f"tables, chart): about {serial:.0f} s. Starting a local cluster adds a few seconds.",
            "",
            "## On an idle machine, and on paper for 16 and 64 workers",
            "",
            "Tasks are independent: the time is the serial part, plus one read of the national "
            "tables (each worker reads them once, at the same time), plus the most loaded "
            "worker's share of the tasks' CPU seconds (longest first onto the least loaded). "
            "This assumes a free core per worker; each worker process holds the national "
            "tables and one authority's model (about 0.4 GB at its peak, measured on Kent, "
            "the largest).",
            "",
            "| workers | time on an idle machine (estimate) |",
            "|---|---|",
        ]
        for n in (1, 2, 16, 64):
            est = serial + first + lpt(tasks, n) + (5.0 if n > 1 else 0.0)
            lines.append(f"| {n} | {est / 60:.1f} min ({est:.0f} s) |")
        lines += [
            "",
            "Beyond about 16 workers the largest single authorities, the tables' read and "
            "the serial part bound the time: 64 workers gain little over 16 on ~150 tasks "
            "of a few seconds each.",
        ]
    if note:
        lines += ["", "## Note", "", note]
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", default="1,2", help="worker counts to run, e.g. 1,2")
    parser.add_argument("--la", default="", help="only these authorities (comma-separated)")
    parser.add_argument("--keep", type=Path, default=None,
                        help="folder to keep each run in (default: a temporary folder)")
    parser.add_argument("--reuse", action="append", default=[], metavar="N=DIR",
                        help="report an earlier run of N workers in DIR instead of running it")
    parser.add_argument("--note", default="", help="a paragraph to add about these runs")
    parser.add_argument("--no-write", action="store_true", help="print, do not write the file")
    args = parser.parse_args()
    la = tuple(x.strip() for x in args.la.split(",") if x.strip())
    with tempfile.TemporaryDirectory() as tmp:
        keep = args.keep or Path(tmp)
        runs = [reuse(int(n), Path(d)) for n, d in (r.split("=", 1) for r in args.reuse)]
        for n in (int(w) for w in args.workers.split(",") if w.strip()):
            runs.append(run(n, la, keep))
            print(f"{n} worker(s): {runs[-1]['seconds']:.0f} s", flush=True)
        runs.sort(key=lambda r: r["workers"])
        text = report(runs, la, args.note)
    print(text)
    if not args.no_write:
        OUT.write_text(text, encoding="utf-8")
        print(f"written to {OUT}")


if __name__ == "__main__":
    main()
