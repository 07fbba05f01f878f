"""Shared fixtures. Every test runs offline; official data come from the mirror.

The mirror is ``$OPTIMISER_DATA_MIRROR`` (the Makefile and CI set it to ../shared/data).
Tests that need real data fail, rather than skip, when it is missing, so CI cannot pass
without them.
"""

from __future__ import annotations

import os
from pathlib import Path

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


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch):
    """No test touches the user's download cache."""
    monkeypatch.setenv("OPTIMISER_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
