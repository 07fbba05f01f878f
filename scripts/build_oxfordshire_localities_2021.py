"""Carry Oxfordshire's locality lookup to LSOA 2021 (data/localities/oxfordshire_lsoa21.csv).

Reproducible from the official data mirror (2025 vintage tables under ``vintage2025/``):

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python \
        scripts/build_oxfordshire_localities_2021.py

Rules:

1. Each LSOA 2021 takes the locality of its LSOA 2011 in ``oxfordshire.csv`` (ONS LSOA 2011 to
   2021 lookup with change codes: unchanged and split areas keep their parent's locality; a
   merged area takes the locality of most of its parts), as ``prepare --vintage 2025`` does for
   any LSOA 2011 lookup (:func:`optimiser.crosswalk.carry_localities`).
2. An LSOA 2021 of the county with no LSOA 2011 in ``oxfordshire.csv`` (E01027305: West
   Northamptonshire in 2011, Cherwell in the ONS 2024 best-fit lookup) goes to the locality whose
   point in ``oxfordshire_towns.csv`` is nearest to its population-weighted centroid (rule 3 of
   ``build_oxfordshire_localities.py``).

The output is sorted by LSOA code, so the same inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from optimiser import crosswalk, loaders2025
from optimiser.files import read_table, write_csv
from optimiser.geography import resolve_la
from optimiser.localities import read_locality_lookup
from optimiser.sources import data_root

REPO = Path(__file__).resolve().parents[1]
LOOKUP_2011 = REPO / "data" / "localities" / "oxfordshire.csv"
TOWNS_FILE = REPO / "data" / "localities" / "oxfordshire_towns.csv"
OUT_FILE = REPO / "data" / "localities" / "oxfordshire_lsoa21.csv"


def build(root: Path) -> pd.DataFrame:
    """``lsoa21cd, lsoa21nm, locality, how`` for every LSOA 2021 of Oxfordshire."""
    la = resolve_la("Oxfordshire", loaders2025.load_utla_lookup(root))
    carried, _info = crosswalk.carry_localities(read_locality_lookup(LOOKUP_2011), root)
    out = pd.DataFrame({"lsoa21cd": list(la.lsoas)}).merge(carried, on="lsoa21cd", how="left")
    out["how"] = np.where(out["locality"].isna(), "nearest town", "from LSOA 2011")
    towns = read_table(TOWNS_FILE, required=["locality", "latitude", "longitude"],
                       numeric=["latitude", "longitude"], text=["locality", "place"],
                       what="town points")
    tr = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    tx, ty = tr.transform(towns["longitude"].to_numpy(float), towns["latitude"].to_numpy(float))
    cents = loaders2025.load_centroids(root).set_index("lsoa21cd")
    for i in np.flatnonzero(out["locality"].isna().to_numpy()):
        x, y = cents.loc[out.at[i, "lsoa21cd"], ["x", "y"]].to_numpy(float)
        out.at[i, "locality"] = towns["locality"].iloc[int(np.argmin(np.hypot(tx - x,
                                                                              ty - y)))]
    names = loaders2025.load_ward_lookup(root).set_index("lsoa21cd")["lsoa21nm"]
    out["lsoa21nm"] = out["lsoa21cd"].map(names)
    return out[["lsoa21cd", "lsoa21nm", "locality", "how"]].sort_values("lsoa21cd")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", type=Path, default=None)
    parser.add_argument("--out", type=Path, default=OUT_FILE)
    args = parser.parse_args(argv)
    table = build(data_root(args.mirror, fetch=False))
    write_csv(args.out, table)
    counts = table["locality"].value_counts().sort_index()
    print(f"{len(table)} LSOAs 2021, {len(counts)} localities "
          f"({int((table['how'] == 'nearest town').sum())} placed by nearest town) -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
