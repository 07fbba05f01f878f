"""Build Oxfordshire's LSOA 2011 -> locality lookup (data/localities/oxfordshire.csv).

Reproducible from the official data mirror:

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/build_oxfordshire_localities.py

Rules (see data/localities/README.md):

1. Oxford city (district E07000178) is split into four parts by ward (``OXFORD_WARDS``).
2. Wards whose names carry a town belong to it (``TOWN_WARDS``: "Banbury Ruscote" -> Banbury,
   "Grove North" -> Wantage and Grove, "Henley-on-Thames" -> Henley).
3. Every other LSOA goes to the locality whose point in data/localities/oxfordshire_towns.csv
   (approximate town-centre points) is nearest in a straight line to its population-weighted
   centroid (ONS), both in British National Grid metres.

The output is sorted by LSOA code, so the same inputs give the same bytes.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from pyproj import Transformer

from optimiser import loaders
from optimiser.files import read_table, write_csv
from optimiser.sources import data_root

OXFORDSHIRE = "E10000025"
OXFORD_CITY = "E07000178"
REPO = Path(__file__).resolve().parents[1]
TOWNS_FILE = REPO / "data" / "localities" / "oxfordshire_towns.csv"
OUT_FILE = REPO / "data" / "localities" / "oxfordshire.csv"

#: Oxford city's 2019 wards in four parts.
OXFORD_WARDS = {
    "Oxford North": ["Wolvercote", "Summertown", "North", "St Margaret's"],
    "Oxford Central": ["Carfax", "Holywell", "Jericho and Osney", "Hinksey Park",
                       "St Clement's", "St Mary's", "Iffley Fields"],
    "Oxford East": ["Headington", "Headington Hill and Northway", "Marston",
                    "Barton and Sandhills", "Quarry and Risinghurst", "Churchill"],
    "Oxford South": ["Cowley", "Cowley Marsh", "Lye Valley", "Blackbird Leys",
                     "Northfield Brook", "Littlemore", "Rose Hill and Iffley"],
}

#: The town names ward names carry: a ward belongs to the town when its name is the town name
#: or starts with it and a space ("Banbury Ruscote"; but "Thames" is not "Thame").
TOWN_WARDS = {
    "Banbury": ["Banbury"], "Bicester": ["Bicester"], "Kidlington": ["Kidlington"],
    "Witney": ["Witney"], "Carterton": ["Carterton"], "Chipping Norton": ["Chipping Norton"],
    "Abingdon": ["Abingdon"], "Didcot": ["Didcot"], "Wantage and Grove": ["Wantage", "Grove"],
    "Faringdon": ["Faringdon"], "Wallingford": ["Wallingford"], "Henley": ["Henley-on-Thames"],
    "Thame": ["Thame"],
}


def town_of_ward(ward: str) -> str | None:
    """The town a ward's name carries, if any."""
    for town, words in TOWN_WARDS.items():
        if any(ward == w or ward.startswith(w + " ") for w in words):
            return town
    return None


def build(root: Path) -> pd.DataFrame:
    """The lookup: ``lsoa11cd, lsoa11nm, locality``, one row per Oxfordshire LSOA 2011."""
    utla = loaders.load_utla_lookup(root)
    areas = utla.loc[utla["utla_code"] == OXFORDSHIRE, ["lsoa11cd", "lsoa11nm"]]
    wards = loaders.load_ward_lookup(root).drop(columns="lsoa11nm")
    areas = areas.merge(wards, on="lsoa11cd", how="left", validate="one_to_one")
    areas = areas.merge(loaders.load_centroids(root), on="lsoa11cd", how="left",
                        validate="one_to_one")
    if areas[["ward_name", "latitude"]].isna().any().any():
        raise SystemExit("some Oxfordshire LSOAs have no ward or centroid in the mirror")
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    x, y = to_bng.transform(areas["longitude"].to_numpy(), areas["latitude"].to_numpy())

    towns = read_table(TOWNS_FILE, required=["locality", "latitude", "longitude"],
                       numeric=["latitude", "longitude"], unique=["locality"],
                       what="Oxfordshire town points")
    tx, ty = to_bng.transform(towns["longitude"].to_numpy(), towns["latitude"].to_numpy())

    oxford_part = {w: part for part, ws in OXFORD_WARDS.items() for w in ws}
    city = areas["lad_code"] == OXFORD_CITY
    unknown = sorted(set(areas.loc[city, "ward_name"]) - set(oxford_part))
    if unknown:
        raise SystemExit(f"Oxford wards not in OXFORD_WARDS: {unknown}")
    locality = np.where(city, areas["ward_name"].map(oxford_part),
                        areas["ward_name"].map(town_of_ward)).astype(object)
    free = pd.isna(locality)
    dist = np.hypot(x[free, None] - tx[None, :], y[free, None] - ty[None, :])
    locality[free] = towns["locality"].to_numpy()[dist.argmin(axis=1)]
    out = pd.DataFrame({"lsoa11cd": areas["lsoa11cd"], "lsoa11nm": areas["lsoa11nm"],
                        "locality": locality})
    return out.sort_values("lsoa11cd").reset_index(drop=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mirror", help="data mirror folder (default: $OPTIMISER_DATA_MIRROR)")
    parser.add_argument("--out", default=str(OUT_FILE), help="output CSV")
    args = parser.parse_args(argv)
    table = build(data_root(args.mirror, fetch=False))
    write_csv(args.out, table)
    counts = table["locality"].value_counts().sort_index()
    print(f"{len(table)} LSOAs in {len(counts)} localities -> {args.out}")
    print(counts.to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
