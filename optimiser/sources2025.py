"""The 2025 vintage's entries of the source manifest: converters and which sources a vintage uses.

``data/sources.toml`` lists every official source; an entry with ``vintages = ["2025"]`` belongs
to the 2025 vintage (IoD 2025 on LSOA 2021), an entry without it to 2019. The DfE children in
need tables serve both (:data:`SHARED`). ``optimiser data fetch --vintage 2025`` fetches the 2025
entries and the shared ones; the canonical tables of the other vintage already in the cache are
kept.

Examples
--------
>>> from optimiser.sources import load_manifest
>>> sorted(s.id for s in for_vintage(load_manifest(), "2025"))[:2]
['dfe_cin_b1', 'dfe_cpp_d5']
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path

from optimiser import convert2025
from optimiser import loaders2025 as L

#: Sources of both vintages (DfE figures, and the ONS children 0-17 series DfE publishes with
#: them, are per local authority: no LSOA geography).
SHARED = ("dfe_cin_b1", "dfe_cpp_d5", "dfe_ons_population_0_17")


def for_vintage(sources: Iterable, vintage: str | None) -> list:
    """The manifest entries a vintage needs (all of them when ``vintage`` is None)."""
    sources = list(sources)
    if vintage is None:
        return sources
    return [s for s in sources
            if str(vintage) in getattr(s, "vintages", ("2019",)) or s.id in SHARED]


def _csv(df) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode()


def _file7(path: Path) -> dict[str, bytes]:
    main, file3 = convert2025.iod2025_from_file7(path)
    return {L.IMD_FILE: _csv(main), L.FILE3: _csv(file3)}


def _changes(path: Path) -> dict[str, bytes]:
    changes = convert2025.ons_lookup21(path, convert2025.CHANGES_COLUMNS)
    return {L.LSOA11_21_FILE: _csv(changes),
            L.WEIGHTS_FILE: _csv(convert2025.weights_from_changes(changes))}


def _lookup(rel: str, columns) -> Callable[[Path], dict[str, bytes]]:
    return lambda path: {rel: _csv(convert2025.ons_lookup21(path, columns))}


#: Converter name (``converter`` in the manifest) -> official file to canonical tables.
CONVERTERS: dict[str, Callable[[Path], dict[str, bytes]]] = {
    "iod2025_file7": _file7,
    "ons_sape_lsoa21": lambda p: {L.POPULATION_ONS_FILE: _csv(
        convert2025.population_from_sape21(p))},
    "ons_lsoa21_ward24": _lookup(L.WARD_FILE, convert2025.WARD24_COLUMNS),
    "ons_ltla23_utla23": _lookup(L.UTLA_FILE, convert2025.UTLA23_COLUMNS),
    "ons_ruc21": _lookup(L.RUC_FILE, convert2025.RUC21_COLUMNS),
    "ons_lsoa11_lsoa21_changes": _changes,
    "ons_lsoa21_pwc": lambda p: {L.CENTROIDS_FILE: _csv(convert2025.centroids_from_pwc21(p))},
    "ons_lsoa21_boundaries": lambda p: {L.BOUNDARIES_FILE: convert2025.boundaries_from_ons21(p)},
}
