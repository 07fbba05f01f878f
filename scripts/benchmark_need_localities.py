"""How long the need index, the weight-sensitivity report and the locality builder take.

For each council, builds the areas table from the data mirror (as ``prepare`` does, with
CIN/CPP modelled from the DfE 2019 totals), then times, best of ``--repeat`` runs:

- ``compute_need`` (z-scores, the four default indicators);
- ``weight_sensitivity`` with 1,000 weight draws;
- ``build_localities`` (ward names and towns).

Prints a table and writes ``docs/benchmarks/need_localities.md``.

Usage::

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/benchmark_need_localities.py \\
        [--repeat 5] [--no-write]
"""

from __future__ import annotations

import argparse
import platform
import time
from pathlib import Path

import pandas as pd
from pyproj import Transformer

from optimiser import loaders
from optimiser.files import write_text
from optimiser.localities import build_localities
from optimiser.need import compute_need, weight_sensitivity
from optimiser.sources import data_root

REPO = Path(__file__).resolve().parents[1]
COUNCILS = {"E10000025": "Oxfordshire", "E06000032": "Luton", "E10000017": "Lancashire",
            "E10000019": "Lincolnshire", "E10000003": "Cambridgeshire"}


def council_areas(root: Path, code: str) -> pd.DataFrame:
    utla = loaders.load_utla_lookup(root)
    df = utla.loc[utla["utla_code"] == code, ["lsoa11cd"]]
    df = (df.merge(loaders.load_ward_lookup(root).drop(columns="lsoa11nm"), on="lsoa11cd")
            .merge(loaders.load_imd(root)[["lsoa11cd", "imd_score", "idaci_score"]],
                   on="lsoa11cd")
            .merge(loaders.load_population(root)[["lsoa11cd", "total", "age_0_4", "age_0_17"]],
                   on="lsoa11cd")
            .merge(loaders.load_rural_urban(root)[["lsoa11cd", "rural"]], on="lsoa11cd")
            .merge(loaders.load_centroids(root), on="lsoa11cd"))
    la = loaders.load_la_cin_cpp(root)
    la = la[(la["la_code"] == code) & (la["year"] == 2019)].iloc[0]
    share = df["age_0_17"] * df["idaci_score"]
    share = share / share.sum()
    tr = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = tr.transform(df["longitude"].to_numpy(), df["latitude"].to_numpy())
    return df.assign(
        area_id=df["lsoa11cd"], x=x, y=y, population=df["age_0_4"],
        under5_share=df["age_0_4"] / df["total"],
        cin_rate=la["cin"] * share / df["age_0_17"] * 10_000,
        cpp_rate=la["cpp"] * share / df["age_0_17"] * 10_000,
    )


def best_of(repeat: int, fn) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return min(times), result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    root = data_root(args.mirror, fetch=False)
    rows = []
    for code, name in COUNCILS.items():
        areas = council_areas(root, code)
        t_loc, loc = best_of(args.repeat, lambda a=areas: build_localities(a))
        areas = areas.assign(locality=loc)
        t_need, _ = best_of(args.repeat, lambda a=areas: compute_need(a))
        t_sens, _ = best_of(args.repeat, lambda a=areas: weight_sensitivity(a, draws=1000))
        rows.append({"council": f"{name} ({code})", "areas": len(areas),
                     "localities built": loc.nunique(), "build_localities s": round(t_loc, 4),
                     "compute_need s": round(t_need, 4),
                     "weight_sensitivity (1,000 draws) s": round(t_sens, 4)})
    table = pd.DataFrame(rows)
    print(table.to_string(index=False))
    if not args.no_write:
        header = "| " + " | ".join(table.columns) + " |\n|" + "---|" * len(table.columns) + "\n"
        body = "".join("| " + " | ".join(str(v) for v in r) + " |\n"
                       for r in table.itertuples(index=False))
        text = ("# Need index and locality builder: timings\n\n"
                f"Best of {args.repeat} runs, `scripts/benchmark_need_localities.py`, on "
                f"{platform.machine()} ({platform.python_implementation()} "
                f"{platform.python_version()}); data from the mirror, already on disk.\n\n"
                + header + body)
        out = REPO / "docs" / "benchmarks" / "need_localities.md"
        write_text(out, text)
        print(f"written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
