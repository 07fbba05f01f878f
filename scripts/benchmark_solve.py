"""Benchmark ``solve``: model-build and solve times, and a side-by-side with spopt's MCLP.

Instances (all from the official data mirror; no download):

- **Oxfordshire**: ``optimiser prepare --la Oxfordshire`` with its defaults, scenario
  ``max_reach`` at £10m a year with outreach on (the acceptance scenario).
- **5,000 areas**: the first 5,000 LSOAs (by code) of the South East region.
- **All England**: 32,844 LSOAs; candidate sites at every MSOA's population-weighted centre
  (population-weighted mean of its LSOAs' population-weighted centroids), 6,791 sites.

For the generated instances: population = children 0-4 (ONS mid-2019), need = IMD 2019 score
÷ its population-weighted mean, rural = ONS rural-urban classes D/E, locality = local authority,
travel estimated with the defaults (urban 20 min at 15 km/h, rural 30 min at 40 km/h, circuity
1.3), every site a hub costing 1 a year: a budget of p is the maximal covering location problem
with p facilities, which spopt solves too (same reach sets, passed as a dense 0/1-threshold cost
matrix). The script asserts the two objective values agree.

Run (2 cores; spopt is the optional ``bench`` extra)::

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/benchmark_solve.py

It writes ``docs/benchmarks/solve.md`` (quoted by the README) and prints the same table.
Each case runs in a fresh subprocess so peak memory (``ru_maxrss``) is per case.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "docs" / "benchmarks" / "solve.md"


# --------------------------------------------------------------------------- instances


def mirror() -> Path:
    env = os.environ.get("OPTIMISER_DATA_MIRROR")
    return Path(env) if env else REPO.parent / "shared" / "data"


def england_instance(region: str | None = None, limit: int | None = None):
    """LSOA areas and MSOA-centre candidate sites from the mirror (see the module docstring)."""
    from pyproj import Transformer

    from optimiser.instance import Instance, validate_sites

    root = mirror()
    cen = pd.read_csv(root / "lookups/lsoa11_population_weighted_centroids_latlong_ew.csv")
    look = pd.read_csv(root / "lookups/lsoa11_msoa11_lad17_rgn11_england.csv")
    ruc = pd.read_csv(root / "lookups/lsoa11_rural_urban_classification_2011_ew.csv")
    pop = pd.read_csv(root / "population/lsoa11_population_mid2019_england.csv",
                      usecols=["lsoa11cd", "age_0_4", "total"])
    imd = pd.read_csv(root / "imd2019/imd2019_lsoa_compact.csv",
                      usecols=["lsoa11cd", "imd_score", "imd_decile"])
    df = (look.rename(columns={"LSOA11CD": "lsoa11cd"})
          .merge(cen, on="lsoa11cd").merge(pop, on="lsoa11cd").merge(imd, on="lsoa11cd")
          .merge(ruc[["LSOA11CD", "RUC11CD"]].rename(columns={"LSOA11CD": "lsoa11cd"}),
                 on="lsoa11cd"))
    assert len(df) == len(look), "every English LSOA joins"
    df = df.sort_values("lsoa11cd", kind="stable")
    if region is not None:
        df = df[df["RGN11NM"] == region]
    if limit is not None:
        df = df.head(limit)
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        df["longitude"].to_numpy(), df["latitude"].to_numpy())
    df = df.assign(x=np.round(x, 1), y=np.round(y, 1))
    popu = df["age_0_4"].to_numpy(float)
    need = df["imd_score"].to_numpy(float)
    need = need / np.average(need, weights=np.maximum(popu, 1e-9))
    areas = pd.DataFrame({
        "area_id": df["lsoa11cd"].to_numpy(), "name": df["LSOA11NM"].to_numpy(),
        "locality": df["LAD17NM"].to_numpy(), "x": df["x"].to_numpy(), "y": df["y"].to_numpy(),
        "population": popu, "need": np.round(need, 6),
        "rural": df["RUC11CD"].str[0].isin(["D", "E"]).to_numpy(),
        "imd_score": df["imd_score"].to_numpy(), "imd_decile": df["imd_decile"].to_numpy(),
    })
    w = df["total"].to_numpy(float)
    ms = (df.assign(wx=df["x"] * w, wy=df["y"] * w, w=w)
          .groupby("MSOA11CD", sort=True)[["wx", "wy", "w"]].sum())
    m = len(ms)
    sites = pd.DataFrame({
        "site_id": ms.index.to_numpy(), "name": ms.index.to_numpy(),
        "x": np.round(ms["wx"] / ms["w"], 1).to_numpy(),
        "y": np.round(ms["wy"] / ms["w"], 1).to_numpy(),
        "status": ["candidate"] * m, "tier": ["hub"] * m, "annual_cost": np.ones(m),
        "setup_cost": 0.0, "closure_cost": 0.0, "capacity": np.nan,
    })
    return Instance(areas=areas.reset_index(drop=True),
                    sites=validate_sites(sites, file=None))  # type: ignore[arg-type]


def oxfordshire_instance(tmp: Path | None = None, *, unit_costs: bool = False,
                         age_group: str = "0-4", candidates: str = "generated"):
    """The prepared Oxfordshire instance; with ``unit_costs`` every site a hub costing 1."""
    from optimiser.instance import Instance, read_instance
    from optimiser.prepare import PrepareSettings, prepare_instance

    folder = (tmp or Path(tempfile.mkdtemp())) / "oxfordshire"
    prepare_instance(PrepareSettings(la="Oxfordshire", mirror=mirror(), age_group=age_group,
                                     candidates=candidates), folder)
    inst = read_instance(folder)
    if unit_costs:
        # The maximal covering problem spopt solves: no capacities.
        sites = inst.sites.assign(tier="hub", annual_cost=1.0, setup_cost=0.0, closure_cost=0.0,
                                  capacity=np.nan)
        inst = Instance(areas=inst.areas, sites=sites, folder=inst.folder)
    return inst


def mclp_instance(kind: str):
    if "england" in kind:
        return england_instance()
    if "oxon" in kind:
        return oxfordshire_instance(unit_costs=True)
    return england_instance(region="South East", limit=5000)


# --------------------------------------------------------------------------- one case


def peak_mb() -> float:
    """This process's peak plus its largest child's (the search's LP process): an upper bound."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + child) / 1024.0


def run_case(case: str) -> dict:
    """Build and solve one case in this process; return the figures."""
    from optimiser.model import FamilyCentreModel
    from optimiser.scenario import parse_scenario

    tmp = Path(tempfile.mkdtemp())
    t0 = time.perf_counter()
    if case.startswith(("oxfordshire", "search-oxfordshire")):
        # [search-]oxfordshire[:AGE[:all-areas]]: the service model (the default) at £10m,
        # outreach on; "search-": the same by the service search (plan and bound).
        method = "search" if case.startswith("search-") else "highs"
        parts = case.removeprefix("search-").split(":")
        age = parts[1] if len(parts) > 1 else "0-4"
        candidates = parts[2] if len(parts) > 2 else "generated"
        inst = oxfordshire_instance(tmp, age_group=age, candidates=candidates)
        caseload = 60 if age == "0-4" else 84
        scen = parse_scenario({
            "instance": ".", "objective": "max_reach", "budget": 10e6,
            "outreach": {"cost_per_worker": 42000, "caseload": caseload, "effectiveness": 0.6},
            "solver": {"name": method, "time_limit_s": 120},
        })
    elif case.startswith(("service-", "search-service-")):
        # [search-]service-se5000:B / ...-england:B: default costs and capacities, budget £B;
        # the target for the service model is a 0.1% gap within 60 s.
        method = "search" if case.startswith("search-") else "highs"
        kind, _, p = case.removeprefix("search-").removeprefix("service-").partition(":")
        inst = mclp_instance(kind)
        sites = inst.sites.assign(annual_cost=650_000.0, capacity=1000.0)
        inst = type(inst)(areas=inst.areas, sites=sites, folder=inst.folder)
        # All England has no time target: it is given 5 minutes and reported with its gap.
        limit = 300 if kind == "england" else 60
        scen = parse_scenario({"instance": ".", "objective": "max_reach", "budget": float(p),
                               "solver": {"name": method, "gap": 0.001, "time_limit_s": limit}})
    elif case.startswith(("mclp", "england", "se5000", "search-")):
        kind, _, p = case.partition(":")
        # search-england:B: the same instance by plan and bound (model/search.py).
        method = "search" if kind.startswith("search-") else "highs"
        kind = kind.removeprefix("search-")
        inst = mclp_instance(kind)
        # The all-England target: a 0.5% gap within 120 s. Comparisons with spopt: proven.
        solver = {"gap": 0.005, "time_limit_s": 120} if kind == "england" else {}
        solver["name"] = method
        scen = parse_scenario({"instance": ".", "objective": "max_reach", "budget": float(p),
                               "reach": {"model": "coverage"},
                               "tiers": {"spoke": {"effectiveness": 1.0}}, "solver": solver})
    else:
        raise SystemExit(f"unknown case {case}")
    data_seconds = time.perf_counter() - t0

    t1 = time.perf_counter()
    model = FamilyCentreModel.from_instance(inst, scen)
    build = time.perf_counter() - t1
    result = model.solve()
    out = {
        "case": case, "areas": len(inst.areas), "sites": len(inst.sites),
        "model": model.settings.reach_model,
        "reach_pairs": len(model.data.served), "groups": len(model.reach.groups.sites),
        "data_seconds": round(data_seconds, 2), "build_seconds": round(build, 2),
        "solve_seconds": round(result.solve_seconds, 2),
        "total_seconds": round(build + result.solve_seconds, 2),
        "status": result.status, "objective": result.objective_value,
        "best_bound": result.best_bound, "gap": result.gap,
        "sites_open": int(result.open.sum()), "peak_mb": round(peak_mb(), 0),
        "detail": result.status_detail,
    }
    return out


def run_spopt(case: str) -> dict:
    """spopt's MCLP on the same instance (dense threshold matrix, p facilities), HiGHS."""
    import pulp
    from spopt.locate import MCLP

    from optimiser.model.data import build_data
    from optimiser.scenario import parse_scenario

    kind, _, p = case.partition(":")
    inst = mclp_instance(kind)
    scen = parse_scenario({"instance": ".", "budget": float(p)})
    data = build_data(inst, scen)
    # The same reach sets: 0 minutes where in reach, far otherwise; service radius 1.
    t1 = time.perf_counter()
    cost = np.full((data.n_areas, data.n_sites), 10.0)
    cost[data.reach.area, data.reach.site] = 0.0
    model = MCLP.from_cost_matrix(cost, data.demand, service_radius=1.0,
                                  p_facilities=int(float(p)), name="mclp")
    build = time.perf_counter() - t1
    t2 = time.perf_counter()
    model = model.solve(pulp.HiGHS(msg=False, gapRel=0.0, threads=1, random_seed=0),
                        results=False)
    solve = time.perf_counter() - t2
    opened = np.array([bool(round(v.value() or 0)) for v in model.fac_vars])
    covered = (cost[:, opened] <= 1.0).any(axis=1)
    value = float(data.demand[covered].sum())
    return {"case": f"spopt {case}", "build_seconds": round(build, 2),
            "solve_seconds": round(solve, 2), "total_seconds": round(build + solve, 2),
            "objective": value, "status": pulp.LpStatus[model.problem.status].lower(),
            "sites_open": int(opened.sum()), "peak_mb": round(peak_mb(), 0)}


# --------------------------------------------------------------------------- driver


def in_subprocess(fn: str, case: str, timeout: float = 1800) -> dict:
    cmd = [sys.executable, __file__, "--one", fn, case]
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy(),
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"case": case, "error": f"did not finish within {timeout:.0f} s"}
    if done.returncode != 0:
        return {"case": case, "error": done.stderr.strip().splitlines()[-1:]}
    return json.loads(done.stdout.strip().splitlines()[-1])


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    from importlib.metadata import version

    return (f"{cpu}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"PuLP {version('pulp')}, highspy {version('highspy')}")


def fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:,.6g}" if abs(v) < 1e6 else f"{v:,.0f}"
    return str(v)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--one", nargs=2, metavar=("FN", "CASE"), help=argparse.SUPPRESS)
    parser.add_argument("--quick", action="store_true", help="skip all-England cases")
    parser.add_argument("--spopt-england", action="store_true",
                        help="also run spopt on all England (dense 32,844 × 6,791 matrix)")
    args = parser.parse_args()
    if args.one:
        fn, case = args.one
        print(json.dumps(run_case(case) if fn == "model" else run_spopt(case)))
        return

    cases = ["oxfordshire", "oxfordshire:0-19", "oxfordshire:0-4:all-areas",
             "oxfordshire:0-19:all-areas", "search-oxfordshire:0-4:all-areas",
             "search-oxfordshire:0-19:all-areas", "se5000:100", "service-se5000:100000000",
             "search-service-se5000:100000000"]
    if not args.quick:
        # All England under the service model (1.6 million assignment pairs) by HiGHS is left
        # out: its PuLP model is beyond this machine; the search builds no LP rows.
        cases += ["england:3000", "england:1000", "england:500", "search-england:500",
                  "mclp-england:1000", "search-service-england:1000000000"]
    rows = []
    for c in cases:
        rows.append(in_subprocess("model", c))
        print(json.dumps(rows[-1]), flush=True)
    pairs = ["mclp-oxon:10", "mclp-se5000:100"]
    if args.spopt_england:
        pairs.append("mclp-england:1000")
    spopt_rows = [(in_subprocess("model", c), in_subprocess("spopt", c, timeout=1200))
                  for c in pairs]

    load = os.getloadavg()[0]  # other jobs on the machine slow every figure
    lines = ["# Solve benchmarks", "",
             f"Machine: {machine()}. Generated by `scripts/benchmark_solve.py` "
             f"on {time.strftime('%Y-%m-%d', time.gmtime())}; load average when it started "
             f"{load:.1f} (timings are slower when other jobs share the cores).", "",
             "Build = data arrays, sparse reach sets and the PuLP model; solve = HiGHS "
             "(threads 1, seed 0) including PuLP's hand-over. Peak memory is the process's "
             "maximum resident set size.", "",
             "| case | model | areas | sites | pairs | groups | build s | solve s | total s | "
             "status | objective | gap | sites open | peak MB |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['case']} | error: {r['error']} |")
            continue
        lines.append("| " + " | ".join(fmt(r.get(k)) for k in (
            "case", "model", "areas", "sites", "reach_pairs", "groups", "build_seconds",
            "solve_seconds", "total_seconds", "status", "objective", "gap", "sites_open",
            "peak_mb")) + " |")
    lines += ["", "## Against spopt (MCLP, same reach sets, p facilities, HiGHS)", "",
              "| instance | ours total s | spopt total s | ratio | our objective | "
              "spopt objective | equal |", "|---|---|---|---|---|---|---|"]
    for ours, theirs in spopt_rows:
        if "error" in ours or "error" in theirs:
            lines.append(f"| {ours.get('case')} | {ours.get('error', '')} | "
                         f"{theirs.get('error', '')} |")
            continue
        equal = abs(ours["objective"] - theirs["objective"]) <= 1e-6 * max(1, ours["objective"])
        assert equal, f"objectives differ: {ours['objective']} vs {theirs['objective']}"
        ratio = theirs["total_seconds"] / max(ours["total_seconds"], 1e-9)
        lines.append(f"| {ours['case']} | {ours['total_seconds']} | "
                     f"{theirs['total_seconds']} | {ratio:.1f}× | {fmt(ours['objective'])} | "
                     f"{fmt(theirs['objective'])} | {'yes' if equal else 'NO'} |")
    if not args.spopt_england:
        lines += ["", "spopt on all England (`--spopt-england`, p = 1,000, dense 32,844 × 6,791 "
                  "matrix) is not run by default: on this machine building spopt's model took "
                  "about 19 minutes and 4.4 GB, and the run was stopped at its 20-minute limit "
                  "during the solve; ours proves the same instance optimal (row "
                  "`mclp-england:1000`, no gap, no time limit)."]
    lines += ["", "Targets (issue 3): Oxfordshire build+solve < 2 s; at least 3× faster than "
              "spopt on the same instance; all England to ≤ 0.5% gap in ≤ 120 s and ≤ 4 GB. "
              "Read the England rows with care: budgets for 3,000 and 1,000 sites do not bind "
              "(the `mclp-england:1000` optimum opens fewer than 1,000 sites and reaches as "
              "much as `england:3000`: every area any candidate reaches), so they are easy. "
              "The `england:500` row (a budget for 500 of 6,791 sites) is the one where the "
              "budget binds: HiGHS alone stops at the time limit with the gap shown, and "
              "`search-england:500` is the same instance by plan and bound "
              "(`solver: {name: search}`), which stops when it reaches the 0.5% gap. Rows "
              "named `mclp-...` are solved with no gap and no time limit.",
              "", "Targets (issue 12) for the service model (default costs, 1,000 places a "
              "site): 5,000 areas to a 0.1% gap within 60 s (`service-se5000` by HiGHS, "
              "`search-service-se5000` by plan and bound); all England reported with its gap "
              "(`search-service-england`, 5 minutes)."]
    text = "\n".join(lines) + "\n"
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
