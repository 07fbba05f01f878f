"""Where things live: the project's shipped data, the download cache and the data mirror.

- *Shipped data* are the project's own small files (source manifest, locality lookups) under
  ``data/`` in a checkout, or inside the installed package for a non-editable install.
- The *cache* holds official files downloaded by ``optimiser data fetch`` and their canonical
  conversions. It is ``$OPTIMISER_CACHE_DIR`` if set, else the platform's user cache folder
  (``pooch.os_cache``: ``~/.cache/optimiser`` on Linux, ``~/Library/Caches/optimiser`` on macOS,
  ``%LOCALAPPDATA%\\optimiser\\optimiser\\Cache`` on Windows); never in git.
- A *mirror* is a local folder that already holds the canonical tables (same layout as the
  cache's ``canonical/`` folder), named by ``--mirror`` or ``$OPTIMISER_DATA_MIRROR``.
"""

from __future__ import annotations

import os
from pathlib import Path

MIRROR_ENV = "OPTIMISER_DATA_MIRROR"
CACHE_ENV = "OPTIMISER_CACHE_DIR"


def shipped_data_dir() -> Path:
    """The folder of the project's own data files (``data/`` in a checkout)."""
    checkout = Path(__file__).resolve().parents[1] / "data"
    if (checkout / "localities").is_dir():
        return checkout
    return Path(__file__).resolve().parent / "_shipped_data"


def cache_dir() -> Path:
    """The download cache (created on first use)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env)
    import pooch

    return Path(pooch.os_cache("optimiser"))


def mirror_from_env() -> Path | None:
    """The mirror folder named by ``$OPTIMISER_DATA_MIRROR``, if any."""
    env = os.environ.get(MIRROR_ENV, "").strip()
    return Path(env) if env else None
