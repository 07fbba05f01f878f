"""Official data sources: where the canonical tables come from.

The canonical tables have the layout of the project's data mirror (see ``data/sources.toml`` and
the README): ``imd2019/imd2019_lsoa_compact.csv``, ``population/...``, ``children_in_need/...``,
``lookups/...``. They come either from a local mirror folder (``--mirror`` or
``$OPTIMISER_DATA_MIRROR``, no network) or from the cache that ``optimiser data fetch`` fills by
downloading the official files and converting them.
"""

from __future__ import annotations

from pathlib import Path

from optimiser.errors import DataSourceError
from optimiser.paths import cache_dir, mirror_from_env


def canonical_cache_dir() -> Path:
    """Where converted canonical tables are kept after a download."""
    return cache_dir() / "canonical"


def data_root(mirror: str | Path | None = None, *, fetch: bool = True) -> Path:
    """The folder holding the canonical tables.

    Order: the ``mirror`` argument, then ``$OPTIMISER_DATA_MIRROR``, then the download cache
    (filled on demand when ``fetch`` is true).
    """
    chosen = Path(mirror) if mirror is not None else mirror_from_env()
    if chosen is not None:
        if not chosen.is_dir():
            raise DataSourceError(
                "the data mirror folder does not exist", file=chosen,
                hint="pass --mirror with a folder that holds imd2019/, population/, "
                "children_in_need/ and lookups/, or unset OPTIMISER_DATA_MIRROR to download",
            )
        return chosen
    root = canonical_cache_dir()
    if fetch:
        return fetch_all(force=False)
    return root


def fetch_all(mirror: str | Path | None = None, *, force: bool = False) -> Path:
    """Download the official files into the cache and convert them (see data/sources.toml)."""
    if mirror is not None:
        return data_root(mirror, fetch=False)
    raise DataSourceError(
        "downloading official files is not available yet",
        hint="use --mirror DIR or set OPTIMISER_DATA_MIRROR to a folder with the official tables",
    )
