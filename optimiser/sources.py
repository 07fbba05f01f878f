"""Official data sources: where the canonical tables come from.

The canonical tables have the layout of the project's data mirror (see ``data/sources.toml`` and
``data/README.md``): ``imd2019/imd2019_lsoa_compact.csv``, ``population/...``,
``children_in_need/...``, ``lookups/...``. They come either from a local mirror folder
(``--mirror`` or ``$OPTIMISER_DATA_MIRROR``, no network) or from the cache that
``optimiser data fetch`` fills:

1. each official file in the manifest is downloaded once into ``<cache>/official/``: plain files
   through ``pooch`` (retries, a temporary file moved into place, a progress bar), the ONS
   lookups page by page from their ArcGIS FeatureServer query endpoints (``access = "arcgis"``,
   saved as one CSV in the portal's layout); a file already there, downloaded before or saved
   by hand, is reused;
2. its sha256 is checked against the manifest's ``sha256_official`` when one is recorded there,
   otherwise against the checksum recorded at its first download (trust on first use, kept in
   ``<cache>/official/checksums.json``);
3. it is converted (:mod:`optimiser.convert`) and all canonical tables are written together
   into ``<cache>/canonical/`` (atomically: a failed fetch leaves no partial folder), with
   ``FETCHED.json`` recording what was used.

Every source that could not be obtained (no direct address, or the download failed) is named in
one message, each with its landing page and the file name to save by hand, so one manual round
is enough. ``base_url`` (``--base-url`` / ``$OPTIMISER_DATA_BASE_URL``) moves every address under
another root, ``https://host/path`` -> ``BASE/host/path``: an offline folder (``file://``) or a
local server holding the official files under their publishers' paths.

One manifest (``data/sources.toml``) lists the sources of both data vintages: IMD 2019 on LSOA
2011, and IoD 2025 on LSOA 2021 (entries with ``vintages = ["2025"]``, converters in
:mod:`optimiser.sources2025`). ONS boundary layers are read as GeoJSON pages
(``query = { f = "geojson" }``) and saved as one FeatureCollection.

Examples
--------
>>> from optimiser.sources import data_root, load_manifest
>>> [s.id for s in load_manifest()][:2]
['iod2019_file7', 'ons_sape_mid2019']
>>> root = data_root("/work/shared/data")  # doctest: +SKIP
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import tomllib
import zipfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from optimiser import _download, convert
from optimiser.errors import DataSourceError, OptimiserError
from optimiser.files import atomic_output_dir, write_json
from optimiser.paths import cache_dir, mirror_from_env, shipped_data_dir
from optimiser.sources2025 import CONVERTERS as CONVERTERS_2025
from optimiser.sources2025 import for_vintage

MANIFEST_NAME = "sources.toml"
CHECKSUMS_NAME = "checksums.json"
FETCHED_NAME = "FETCHED.json"
_MIRROR_HINT = _download.MIRROR_HINT
#: How a source is read: a plain file, or the pages of an ArcGIS FeatureServer query endpoint.
ACCESS = ("file", "arcgis")


# --------------------------------------------------------------------------------------------
# Manifest
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Source:
    """One official source of the manifest (``data/sources.toml``).

    ``url`` and ``filename`` may hold ``{date}``, filled with the download day (YYYYMMDD) by
    :meth:`for_day` (the GIAS extract is published daily). ``access`` is ``"file"`` (``url`` is
    the file) or ``"arcgis"`` (``url`` is a FeatureServer layer's ``query`` endpoint, read page by
    page with the extra parameters in ``query``, and saved as ``filename``).
    """

    id: str
    title: str
    publisher: str
    landing_page: str
    url: str
    filename: str
    format: str
    vintage: str
    converter: str
    canonical: tuple[str, ...]
    sha256_official: str = ""
    sha256_canonical: dict[str, str] = field(default_factory=dict)
    licence: str = ""
    licence_url: str = ""
    attribution: str = ""
    optional: bool = False
    note: str = ""
    access: str = "file"
    query: dict[str, str] = field(default_factory=dict)
    #: The data vintages the source serves (``vintages = ["2025"]`` in the manifest; see
    #: :mod:`optimiser.sources2025`).
    vintages: tuple[str, ...] = ("2019",)
    #: A derived table of the reference mirror that serves instead of this source's tables (the
    #: mid-2019 population re-cut to LSOA 2021 for the ONS LSOA 2021 estimates): a mirror that
    #: holds it needs no copy of this source's tables; a download needs the source itself.
    stand_in: str = ""

    def for_day(self, day: dt.date) -> Source:
        stamp = day.strftime("%Y%m%d")
        return replace(self, url=self.url.replace("{date}", stamp),
                       filename=self.filename.replace("{date}", stamp))


_REQUIRED_KEYS = ("id", "title", "publisher", "landing_page", "url", "filename", "format",
                  "vintage", "converter", "canonical")


def manifest_path() -> Path:
    """The shipped manifest, ``data/sources.toml``."""
    return shipped_data_dir() / MANIFEST_NAME


def load_manifest(path: str | Path | None = None) -> list[Source]:
    """Read and check the source manifest (default: the shipped ``data/sources.toml``)."""
    path = Path(path) if path is not None else manifest_path()
    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise DataSourceError("the source manifest does not exist", file=path,
                              hint="reinstall the package, or pass an existing manifest") from None
    except tomllib.TOMLDecodeError as exc:
        raise DataSourceError(f"the source manifest is not valid TOML ({exc})", file=path,
                              hint="fix the syntax at the position shown") from None
    defaults = doc.get("defaults", {})
    out = []
    for i, entry in enumerate(doc.get("source", [])):
        merged = {**defaults, **entry}
        for key in _REQUIRED_KEYS:
            if key not in merged:
                raise DataSourceError(f"source number {i + 1} has no '{key}'", file=path,
                                      key=f"source.{key}", hint="add it (see the other entries)")
        if merged["converter"] not in CONVERTERS:
            raise DataSourceError(
                f"unknown converter '{merged['converter']}' for source '{merged['id']}'",
                file=path, key="source.converter",
                hint=f"use one of: {', '.join(sorted(CONVERTERS))}")
        if merged.get("access", "file") not in ACCESS:
            raise DataSourceError(
                f"unknown access '{merged['access']}' for source '{merged['id']}'", file=path,
                key="source.access", hint=f"use one of: {', '.join(ACCESS)}")
        merged["canonical"] = tuple(merged["canonical"])
        merged["query"] = {str(k): str(v) for k, v in merged.get("query", {}).items()}
        merged["vintages"] = tuple(str(v) for v in merged.get("vintages", ("2019",)))
        merged["sha256_canonical"] = dict(merged.get("sha256_canonical", {}))
        known = set(Source.__dataclass_fields__)
        out.append(Source(**{k: v for k, v in merged.items() if k in known}))
    if not out:
        raise DataSourceError("the source manifest lists no [[source]]", file=path)
    ids = [s.id for s in out]
    if len(set(ids)) != len(ids):
        dup = next(i for i in ids if ids.count(i) > 1)
        raise DataSourceError(f"source id '{dup}' appears twice", file=path, key="source.id")
    return out


def _sources(manifest: str | Path | Sequence[Source] | None,
             vintage: str | None = None) -> list[Source]:
    if manifest is None or isinstance(manifest, (str, Path)):
        return for_vintage(load_manifest(manifest), vintage)
    return for_vintage(manifest, vintage)


def required_tables(sources: Iterable[Source]) -> list[str]:
    """Canonical tables of the non-optional sources."""
    return [rel for s in sources if not s.optional for rel in s.canonical]


# --------------------------------------------------------------------------------------------
# Converters: official file -> {canonical path: bytes}
# --------------------------------------------------------------------------------------------


def canonical_csv(df: pd.DataFrame, float_format: str | None = None) -> bytes:
    """The bytes of a canonical table: UTF-8, commas, ``\\n``, no index (as the mirror's)."""
    return df.to_csv(index=False, lineterminator="\n", float_format=float_format).encode()


def _one(rel: str, fn: Callable[[Path], pd.DataFrame], float_format: str | None = None
         ) -> Callable[[Path], dict[str, bytes]]:
    return lambda path: {rel: canonical_csv(fn(path), float_format)}


CONVERTERS: dict[str, Callable[[Path], dict[str, bytes]]] = {
    "imd_from_file7": _one("imd2019/imd2019_lsoa_compact.csv", convert.imd_from_file7,
                           f"%.{convert.SCORE_DECIMALS}f"),
    "population_from_sape": _one("population/lsoa11_population_mid2019_england.csv",
                                 convert.population_from_sape),
    "dfe_cin_b1": _one("children_in_need/dfe_b1_children_in_need_2013_to_2024.csv",
                       lambda p: convert.dfe_table(p, "At31_episodes")),
    "dfe_cpp_d5": _one("children_in_need/dfe_d5_cpps_at31march_by_duration_2013_to_2024.csv",
                       lambda p: convert.dfe_table(p, "CPP_At31")),
    "ons_utla19": _one("lookups/lsoa11_utla19_ew.csv",
                       lambda p: convert.ons_lookup(p, convert.UTLA_COLUMNS)),
    "ons_ward19": _one("lookups/lsoa11_ward19_lad19_ew.csv",
                       lambda p: convert.ons_lookup(p, convert.WARD_COLUMNS)),
    "ons_ruc11": _one("lookups/lsoa11_rural_urban_classification_2011_ew.csv",
                      lambda p: convert.ons_lookup(p, convert.RUC_COLUMNS)),
    "ons_pwc": _one("lookups/lsoa11_population_weighted_centroids_latlong_ew.csv",
                    convert.centroids_from_pwc),
    "ons_lsoa21": _one("lookups/lsoa11_lsoa21_lad22_ew.csv", convert.lsoa21_lookup),
    "gias_childrens_centres": _one("childrens_centres/childrens_centres.csv",
                                   convert.childrens_centres_from_gias),
    "dfe_ons_population_0_17": _one(
        "children_in_need/ons_mid_year_population_0_17_by_la_2012_to_2024.csv",
        lambda p: convert.dfe_table(p, "population_estimate")),
    **CONVERTERS_2025,  # the 2025 vintage's (IoD 2025 on LSOA 2021): optimiser/sources2025.py
}


# --------------------------------------------------------------------------------------------
# Checksums and downloads
# --------------------------------------------------------------------------------------------


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _load_records(official: Path) -> dict[str, dict[str, str]]:
    path = official / CHECKSUMS_NAME
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError:
        raise DataSourceError("the record of download checksums is damaged", file=path,
                              hint="delete it; checksums are recorded again on the next "
                              "download") from None


def download(source: Source, dest: Path, *, progress: bool = True) -> str:
    """Download the official file of ``source`` to ``dest`` (atomically); return its sha256.

    Any network problem is a :class:`DataSourceError` naming the address and suggesting a mirror.
    """
    if source.access == "arcgis":
        _download.download_arcgis(source.url, dest, source.query, progress=progress)
    else:
        _download.download_file(source.url, dest, progress=progress)
    return sha256_file(dest)


class _Unobtained(DataSourceError):
    """An official file that is neither in the cache nor downloadable now (collected, then
    reported together with the others by :func:`_unobtained_error`)."""

    def __init__(self, source: Source, dest: Path, reason: str) -> None:
        self.source, self.dest, self.reason = source, dest, reason
        super().__init__(reason, file=dest)


def _obtain(source: Source, official: Path, records: dict[str, dict[str, str]], *,
            force: bool, progress: bool) -> Path:
    """The official file of ``source`` in ``official``, downloaded if needed and checked."""
    dest = official / source.filename
    if force or not dest.exists():
        if not source.url:
            raise _Unobtained(source, dest, "no direct download address is known")
        try:
            digest = download(source, dest, progress=progress)
        except DataSourceError as exc:
            raise _Unobtained(source, dest, exc.problem) from None
    else:
        digest = sha256_file(dest)
    if source.sha256_official:
        if digest != source.sha256_official:
            raise DataSourceError(
                f"the file's sha256 is {digest}, but the manifest records "
                f"{source.sha256_official} for '{source.id}'", file=dest,
                hint="the download is damaged or the publisher changed the file: delete it and "
                "run 'optimiser data fetch --force', or use --mirror",
            )
        return dest
    seen = records.get(source.filename)
    if seen is None:
        records[source.filename] = {"sha256": digest, "url": source.url,
                                    "first_seen": dt.date.today().isoformat()}
    elif seen["sha256"] != digest:
        raise DataSourceError(
            f"the file's sha256 {digest} differs from {seen['sha256']}, recorded when it was "
            f"first downloaded on {seen.get('first_seen', '?')}", file=dest,
            hint="if the publisher has revised the file, remove its entry from "
            f"{official / CHECKSUMS_NAME} and fetch again; otherwise delete the file and run "
            "'optimiser data fetch --force'",
        )
    return dest


# --------------------------------------------------------------------------------------------
# Mirror checks
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableCheck:
    """One canonical table of a data root against the manifest."""

    source: str
    table: str
    present: bool
    optional: bool
    expected_sha256: str
    actual_sha256: str
    #: The mirror's derived table that stands in for this one, when present (``stand_in``).
    stand_in: str = ""

    @property
    def status(self) -> str:
        if not self.present:
            if self.stand_in:
                return f"absent (derived {self.stand_in} stands in)"
            return "absent (optional)" if self.optional else "MISSING"
        if not self.expected_sha256:
            return "present (no checksum recorded)"
        return "checksum ok" if self.actual_sha256 == self.expected_sha256 else "CHECKSUM DIFFERS"

    @property
    def ok(self) -> bool:
        return self.status not in ("MISSING", "CHECKSUM DIFFERS")


def check_tables(root: str | Path, manifest: str | Path | Sequence[Source] | None = None,
                 *, vintage: str | None = None) -> list[TableCheck]:
    """Every canonical table of the manifest (of one vintage when ``vintage`` is given):
    present in ``root``? checksum as recorded?"""
    root = Path(root)
    out = []
    for s in _sources(manifest, vintage):
        for rel in s.canonical:
            path = root / rel
            present = path.is_file()
            stand_in = s.stand_in if s.stand_in and (root / s.stand_in).is_file() else ""
            out.append(TableCheck(
                source=s.id, table=rel, present=present, optional=s.optional,
                expected_sha256=s.sha256_canonical.get(rel, ""),
                actual_sha256=sha256_file(path) if present else "", stand_in=stand_in))
    return out


def verify_mirror(root: str | Path, manifest: str | Path | Sequence[Source] | None = None,
                  *, vintage: str | None = None) -> list[TableCheck]:
    """Check a mirror folder (the tables of one vintage when ``vintage`` is given); raise one
    :class:`DataSourceError` naming the first bad table."""
    root = Path(root)
    if not root.is_dir():
        raise DataSourceError("the data mirror folder does not exist", file=root,
                              hint="pass --mirror with a folder that holds imd2019/, "
                              "population/, children_in_need/ and lookups/")
    checks = check_tables(root, manifest, vintage=vintage)
    missing = [c for c in checks if c.status == "MISSING"]
    if missing:
        raise DataSourceError(
            f"{len(missing)} canonical table(s) are missing from the mirror: "
            + ", ".join(c.table for c in missing[:4]) + ("..." if len(missing) > 4 else ""),
            file=root / missing[0].table,
            hint="copy the complete mirror, or run 'optimiser data fetch' without --mirror",
        )
    differ = [c for c in checks if c.status == "CHECKSUM DIFFERS"]
    if differ:
        c = differ[0]
        raise DataSourceError(
            f"sha256 {c.actual_sha256} differs from the manifest's {c.expected_sha256}"
            + (f" ({len(differ) - 1} more tables differ)" if len(differ) > 1 else ""),
            file=root / c.table,
            hint="the table was edited or comes from another release: restore it from the "
            "mirror, or rebuild the tables with 'optimiser data fetch'",
        )
    return checks


# --------------------------------------------------------------------------------------------
# Data root and fetch
# --------------------------------------------------------------------------------------------


def canonical_cache_dir() -> Path:
    """Where converted canonical tables are kept after a download."""
    return cache_dir() / "canonical"


def official_cache_dir() -> Path:
    """Where the official files are kept as downloaded."""
    return cache_dir() / "official"


def data_root(mirror: str | Path | None = None, *, fetch: bool = True,
              vintage: str | None = None) -> Path:
    """The folder holding the canonical tables.

    Order: the ``mirror`` argument, then ``$OPTIMISER_DATA_MIRROR``, then the download cache
    (filled on demand when ``fetch`` is true; quick when it is already complete).
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
        return fetch_all(force=False, vintage=vintage)
    return root


def fetch_all(
    mirror: str | Path | None = None,
    force: bool = False,
    *,
    manifest: str | Path | Sequence[Source] | None = None,
    cache: str | Path | None = None,
    day: dt.date | None = None,
    progress: bool = True,
    log: Callable[[str], None] | None = None,
    base_url: str | None = None,
    vintage: str | None = None,
) -> Path:
    """Make the canonical tables available and return their folder.

    With ``mirror``: check the mirror (every required table present, checksums where the
    manifest records them) and return it; no network. Otherwise download each official file once
    into ``<cache>/official/``, check it, convert it and write all canonical tables into
    ``<cache>/canonical/`` at once. When that folder is already complete and ``force`` is false,
    nothing is downloaded.

    Parameters
    ----------
    mirror
        A folder of canonical tables to check and use instead of downloading.
    force
        Download every official file again and rebuild the canonical tables.
    manifest
        The manifest file or its parsed entries (default: the shipped ``data/sources.toml``).
    cache
        The cache folder (default: :func:`optimiser.paths.cache_dir`).
    day
        The download day, for sources with ``{date}`` in their address (default: today, UTC).
    progress
        Show a progress bar per download (on a terminal).
    log
        Called with one line per source (default: silent).
    base_url
        Read every official file from under this root instead of its publisher's host:
        ``https://host/path`` becomes ``BASE/host/path`` (``http://``, ``https://`` or
        ``file://``). Default: ``$OPTIMISER_DATA_BASE_URL``, else the official addresses.
    vintage
        Only the sources of this data vintage (``"2025"`` or ``"2019"``, with the shared DfE
        tables); None = every source of the manifest. Tables of other sources already in the
        cache are kept.

    Raises
    ------
    DataSourceError
        Naming, in one message, every official file that could not be obtained (each with its
        landing page and the name to save it under), or the first file that fails its checksum
        or cannot be converted.
    """
    sources = _sources(manifest, vintage)
    if mirror is not None:
        verify_mirror(mirror, sources)
        return Path(mirror)
    say = log or (lambda _msg: None)
    base = Path(cache) if cache is not None else cache_dir()
    canon = base / "canonical"
    if not force and all((canon / rel).is_file() for rel in required_tables(sources)):
        return canon
    official = base / "official"
    official.mkdir(parents=True, exist_ok=True)
    records = _load_records(official)
    records_before = json.dumps(records, sort_keys=True)
    today = day or dt.datetime.now(dt.UTC).date()
    root_url = base_url if base_url is not None else _download.base_url_from_env()
    sources = [replace(s, url=_download.rebase(s.url, root_url)) for s in sources]
    tables: dict[str, bytes] = {}
    provenance = []
    unobtained: list[_Unobtained] = []
    try:
        for source in (s.for_day(today) for s in sources):
            try:
                path = _obtain(source, official, records, force=force, progress=progress)
                produced = _convert(source, path)
            except OptimiserError as exc:
                if source.optional:
                    say(f"skipped optional source {source.id}: {exc.problem}")
                    continue
                if isinstance(exc, _Unobtained):
                    # Keep going: every file that can be had is downloaded now, and all the
                    # ones that cannot are named together below (one manual round, not six).
                    unobtained.append(exc)
                    say(f"{source.id}: NOT OBTAINED ({exc.reason})")
                    continue
                raise
            tables.update(produced)
            provenance.append({
                "id": source.id, "url": source.url, "file": source.filename,
                "sha256_official": sha256_file(path), "licence": source.licence,
                "tables": {rel: _canonical_note(source, rel, data)
                           for rel, data in produced.items()},
            })
            say(f"{source.id}: {', '.join(produced)}")
    finally:
        # Checksums of files that did download are kept even when a later source fails.
        if json.dumps(records, sort_keys=True) != records_before:
            write_json(official / CHECKSUMS_NAME, dict(sorted(records.items())))
    if unobtained:
        raise _unobtained_error(unobtained, official)
    if canon.is_dir():  # keep the other vintage's tables (and their provenance)
        for old in sorted(p for p in canon.rglob("*") if p.is_file()):
            rel = old.relative_to(canon).as_posix()
            if rel != FETCHED_NAME and rel not in tables:
                tables[rel] = old.read_bytes()
        before = canon / FETCHED_NAME
        if before.is_file():
            ids = {p["id"] for p in provenance}
            kept = json.loads(before.read_text(encoding="utf-8")).get("sources", [])
            provenance = [p for p in kept if p.get("id") not in ids] + provenance
    with atomic_output_dir(canon, official=True) as tmp:
        for rel, data in tables.items():
            (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
            (tmp / rel).write_bytes(data)
        write_json(tmp / FETCHED_NAME, {"fetched": today.isoformat(), "sources": provenance})
    return canon


def _unobtained_error(missing: Sequence[_Unobtained], official: Path) -> DataSourceError:
    """One message naming every official file still needed, each with its landing page."""
    lines = [f"{len(missing)} official file(s) could not be obtained; nothing was converted:"]
    for m in missing:
        lines += [f"  - {m.source.title} ({m.source.id}): {m.reason}",
                  f"    landing page: {m.source.landing_page}",
                  f"    save it as: {m.dest}"]
    return DataSourceError(
        "\n".join(lines), file=missing[0].dest if len(missing) == 1 else official,
        hint="download each file from its landing page, save it under the name shown, and run "
        "'optimiser data fetch' again (files already downloaded are kept and not downloaded "
        f"again); or {_MIRROR_HINT}",
    )


def _convert(source: Source, path: Path) -> dict[str, bytes]:
    """Run the source's converter; an unreadable official file is a DataSourceError, not a
    traceback (a damaged download, or a layout the publisher changed)."""
    try:
        return CONVERTERS[source.converter](path)
    except OptimiserError:
        raise
    except (ValueError, KeyError, IndexError, OSError, zipfile.BadZipFile) as exc:
        raise DataSourceError(
            f"the official file of '{source.id}' could not be converted "
            f"({type(exc).__name__}: {exc})", file=path,
            hint=f"expected: {source.format}. Delete the file and run 'optimiser data fetch "
            "--force', or use --mirror",
        ) from None


def _canonical_note(source: Source, rel: str, data: bytes) -> dict[str, str | bool | None]:
    digest = hashlib.sha256(data).hexdigest()
    expected = source.sha256_canonical.get(rel)
    return {"sha256": digest, "same_as_reference_mirror": (digest == expected) if expected
            else None}

