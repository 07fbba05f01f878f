"""Validated readers for the canonical official tables (one function per table).

Each takes the data root (see :func:`optimiser.sources.data_root`) and returns a DataFrame with
short, stable column names. Problems name the file and column.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from optimiser.errors import DataSourceError
from optimiser.files import read_table

IMD_FILE = "imd2019/imd2019_lsoa_compact.csv"
POPULATION_FILE = "population/lsoa11_population_mid2019_england.csv"
CIN_FILE = "children_in_need/dfe_b1_children_in_need_2013_to_2024.csv"
CPP_FILE = "children_in_need/dfe_d5_cpps_at31march_by_duration_2013_to_2024.csv"
UTLA_FILE = "lookups/lsoa11_utla19_ew.csv"
WARD_FILE = "lookups/lsoa11_ward19_lad19_ew.csv"
RUC_FILE = "lookups/lsoa11_rural_urban_classification_2011_ew.csv"
CENTROIDS_FILE = "lookups/lsoa11_population_weighted_centroids_latlong_ew.csv"
LSOA21_FILE = "lookups/lsoa11_lsoa21_lad22_ew.csv"


def _file(root: Path, rel: str) -> Path:
    path = Path(root) / rel
    if not path.exists():
        raise DataSourceError(
            f"the official table {rel} is not in the data folder", file=path,
            hint="run 'optimiser data fetch', or point --mirror at a complete data mirror",
        )
    return path


def load_imd(root: Path) -> pd.DataFrame:
    """IMD 2019 per LSOA 2011: scores, ranks and deciles of the IMD and its domains, IDACI."""
    return read_table(
        _file(root, IMD_FILE),
        required=["lsoa11cd", "lsoa11nm", "lad19cd", "lad19nm", "imd_score", "imd_rank",
                  "imd_decile", "idaci_score", "idaci_decile"],
        unique=["lsoa11cd"], text=["lsoa11cd", "lsoa11nm", "lad19cd", "lad19nm"],
        what="IMD 2019 table",
    )


def load_population(root: Path) -> pd.DataFrame:
    """ONS mid-2019 population per LSOA 2011: total, single years 0-19 and age bands."""
    return read_table(
        _file(root, POPULATION_FILE),
        required=["lsoa11cd", "total", "age_0_4", "age_0_17", "age_0_19"],
        nonnegative=["total", "age_0_4", "age_0_17", "age_0_19"],
        unique=["lsoa11cd"], text=["lsoa11cd", "lsoa11nm"], what="population table",
    )


def load_la_cin_cpp(root: Path) -> pd.DataFrame:
    """DfE children in need and on protection plans at 31 March, per local authority and year.

    Columns: ``year``, ``la_code`` (new code, e.g. E10000025), ``la_name``, ``cin``, ``cpp``.
    Suppressed values (x, c, z) are NaN.
    """
    cin = pd.read_csv(_file(root, CIN_FILE), dtype=str)
    cpp = pd.read_csv(_file(root, CPP_FILE), dtype=str)
    keep = ["time_period", "new_la_code", "la_name"]
    cin = cin[cin["geographic_level"] == "Local authority"][[*keep, "At31_episodes"]]
    cpp = cpp[cpp["geographic_level"] == "Local authority"][[*keep, "CPP_At31"]]
    out = cin.merge(cpp, on=keep, how="outer")
    out = out.rename(columns={"time_period": "year", "new_la_code": "la_code",
                              "At31_episodes": "cin", "CPP_At31": "cpp"})
    out["year"] = out["year"].astype(int)
    for col in ("cin", "cpp"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    return out.reset_index(drop=True)


def load_utla_lookup(root: Path) -> pd.DataFrame:
    """LSOA 2011 to upper-tier local authority 2019: ``lsoa11cd, utla_code, utla_name``."""
    df = read_table(_file(root, UTLA_FILE), required=["LSOA11CD", "UTLA19CD", "UTLA19NM"],
                    unique=["LSOA11CD"], text=["LSOA11CD", "LSOA11NM", "UTLA19CD", "UTLA19NM"],
                    what="LSOA to upper-tier LA lookup")
    return df.rename(columns={"LSOA11CD": "lsoa11cd", "LSOA11NM": "lsoa11nm",
                              "UTLA19CD": "utla_code", "UTLA19NM": "utla_name"})


def load_ward_lookup(root: Path) -> pd.DataFrame:
    """LSOA 2011 to ward 2019 and district.

    Columns: ``lsoa11cd, ward_code, ward_name, lad_code, lad_name``.
    """
    df = read_table(_file(root, WARD_FILE),
                    required=["LSOA11CD", "WD19CD", "WD19NM", "LAD19CD", "LAD19NM"],
                    unique=["LSOA11CD"],
                    text=["LSOA11CD", "LSOA11NM", "WD19CD", "WD19NM", "LAD19CD", "LAD19NM"],
                    what="LSOA to ward lookup")
    return df.rename(columns={"LSOA11CD": "lsoa11cd", "LSOA11NM": "lsoa11nm",
                              "WD19CD": "ward_code", "WD19NM": "ward_name",
                              "LAD19CD": "lad_code", "LAD19NM": "lad_name"})


def load_rural_urban(root: Path) -> pd.DataFrame:
    """Rural-urban classification 2011: ``lsoa11cd, ruc_code, ruc_name, rural`` (D/E codes)."""
    df = read_table(_file(root, RUC_FILE), required=["LSOA11CD", "RUC11CD", "RUC11"],
                    unique=["LSOA11CD"], text=["LSOA11CD", "LSOA11NM", "RUC11CD", "RUC11"],
                    what="rural-urban classification")
    df = df.rename(columns={"LSOA11CD": "lsoa11cd", "RUC11CD": "ruc_code", "RUC11": "ruc_name"})
    df["rural"] = df["ruc_code"].str[0].isin(["D", "E"])
    return df[["lsoa11cd", "ruc_code", "ruc_name", "rural"]]


def load_centroids(root: Path) -> pd.DataFrame:
    """Population-weighted centroids of LSOAs 2011: ``lsoa11cd, latitude, longitude``."""
    return read_table(_file(root, CENTROIDS_FILE), required=["lsoa11cd", "latitude", "longitude"],
                      numeric=["latitude", "longitude"], unique=["lsoa11cd"], text=["lsoa11cd"],
                      what="population-weighted centroids")


def load_lsoa11_to_21(root: Path) -> pd.DataFrame:
    """LSOA 2011 to LSOA 2021 (for telling the vintages apart): ``lsoa11cd, lsoa21cd``."""
    df = read_table(_file(root, LSOA21_FILE), required=["LSOA11CD", "LSOA21CD"],
                    text=["LSOA11CD", "LSOA11NM", "LSOA21CD", "LSOA21NM", "LAD22CD", "LAD22NM",
                          "LAD22NMW"], what="LSOA 2011 to 2021 lookup")
    return df.rename(columns={"LSOA11CD": "lsoa11cd", "LSOA21CD": "lsoa21cd"})[
        ["lsoa11cd", "lsoa21cd"]]
