"""Check the locality builder's names against a list of each county's major towns.

    OPTIMISER_DATA_MIRROR=../shared/data .venv/bin/python scripts/check_locality_names.py
    ... scripts/check_locality_names.py --county Kent --county Devon

For every county in ``tests/data/major_towns.csv`` (the county's largest towns by built-up
area, written from general knowledge of each county, independently of the builder and of
GeoNames' populations), the builder's localities are built as ``prepare`` builds them for a
council without a lookup of its own, and each town is looked for in the locality whose areas
hold its point (the GeoNames point of the place of that name in the county). A town is
*named* when the locality's name carries it ("Nelson and Colne" names Colne; "Luton North"
names Luton). Prints one line per county and the towns missed; exits 1 when fewer than
``--threshold`` (default 85%) of all towns are named.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import pandas as pd

from optimiser import loaders
from optimiser.geography import to_bng
from optimiser.localities import build_localities
from optimiser.sources import data_root
from optimiser.towns import shipped_places

REPO = Path(__file__).resolve().parents[1]
TOWNS = REPO / "tests" / "data" / "major_towns.csv"


def norm(name: str) -> str:
    """Names compared without case, hyphens, apostrophes or 'Saint'/'St' differences."""
    text = str(name).lower().replace("-", " ").replace("'", "").replace(".", "")
    text = re.sub(r"\bsaint\b", "st", text)
    return re.sub(r"\s+", " ", text).strip()


def council_areas(root: Path, county: str) -> pd.DataFrame:
    """The areas frame ``prepare`` hands the builder (columns as docs/interfaces.md)."""
    utla = loaders.load_utla_lookup(root)
    df = utla.loc[utla["utla_name"].str.lower() == county.lower(), ["lsoa11cd", "lsoa11nm"]]
    if df.empty:
        raise SystemExit(f"no council called {county!r} in the ONS lookup")
    for table in (loaders.load_ward_lookup(root),
                  loaders.load_population(root)[["lsoa11cd", "age_0_4"]],
                  loaders.load_rural_urban(root)[["lsoa11cd", "rural"]],
                  loaders.load_centroids(root)):
        df = df.merge(table.drop(columns=["lsoa11nm"], errors="ignore"), on="lsoa11cd",
                      how="left", validate="one_to_one")
    x, y = to_bng(df["longitude"].to_numpy(float), df["latitude"].to_numpy(float))
    return pd.DataFrame({
        "area_id": df["lsoa11cd"], "name": df["lsoa11nm"], "ward_code": df["ward_code"],
        "ward_name": df["ward_name"], "lad_code": df["lad_code"], "lad_name": df["lad_name"],
        "x": x, "y": y, "population": df["age_0_4"], "rural": df["rural"],
    }).reset_index(drop=True)


def town_points(towns: list[str], area_ids) -> dict[str, str | None]:
    """Each town's area: the area holding the largest GeoNames place of that name (or whose
    name starts or ends with it: "Staines-upon-Thames", "Royal Tunbridge Wells") in the
    county; None when GeoNames has no such place there."""
    places = shipped_places()
    places = places[places["area_id"].isin(set(area_ids))]
    keys = places["place"].map(norm)
    out: dict[str, str | None] = {}
    for town in towns:
        t = norm(town)
        hit = places[keys == t]
        if hit.empty:
            hit = places[keys.str.startswith(t + " ") | keys.str.endswith(" " + t)]
        out[town] = str(hit["area_id"].iloc[0]) if len(hit) else None
    return out


def check_county(root: Path, county: str, towns: list[str]) -> pd.DataFrame:
    """One row per town: ``county, town, area_id, locality, named``."""
    areas = council_areas(root, county)
    locality = dict(zip(areas["area_id"], build_localities(areas), strict=True))
    rows = []
    for town, area in town_points(towns, areas["area_id"]).items():
        loc = locality.get(area) if area else None
        named = loc is not None and re.search(rf"(^|\W){re.escape(norm(town))}($|\W)",
                                              norm(loc)) is not None
        rows.append((county, town, area, loc, named))
    return pd.DataFrame(rows, columns=["county", "town", "area_id", "locality", "named"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--county", action="append", help="only these counties (repeatable)")
    parser.add_argument("--threshold", type=float, default=0.85)
    parser.add_argument("--mirror", help="the data mirror (default $OPTIMISER_DATA_MIRROR)")
    args = parser.parse_args(argv)
    root = data_root(args.mirror)
    towns = pd.read_csv(TOWNS)
    counties = args.county or list(dict.fromkeys(towns["county"]))
    results = []
    for county in counties:
        got = check_county(root, county, towns.loc[towns["county"] == county, "town"].tolist())
        results.append(got)
        missed = got[~got["named"]]
        lines = [f"  missed {r.town} (in {r.locality})" if isinstance(r.locality, str)
                 else f"  missed {r.town} (GeoNames has no point for it in the county)"
                 for r in missed.itertuples()]
        print("\n".join([f"{county}: {int(got['named'].sum())}/{len(got)} towns named",
                         *lines]))
    allg = pd.concat(results)
    share = float(allg["named"].mean())
    print(f"all: {int(allg['named'].sum())}/{len(allg)} = {share:.0%}")
    return 0 if share >= args.threshold else 1


if __name__ == "__main__":
    sys.exit(main())
