"""Downloads of official files: plain files through ``pooch``, ArcGIS FeatureServer tables page
by page through ``requests`` (which pooch itself uses).

Private to :mod:`optimiser.sources`. Every failure is a :class:`DataSourceError` naming the
address; a failed download leaves nothing behind (pooch downloads to a temporary file and moves
it into place; the ArcGIS pages are gathered in memory and written atomically).

The base-address override (``--base-url`` / ``$OPTIMISER_DATA_BASE_URL``) is applied here by
:func:`rebase`: ``https://host/path?query`` becomes ``BASE/host/path?query``, so one local server
or folder can stand in for every publisher (an offline copy of the official files, or a test).
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import tempfile
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping
from pathlib import Path

import pandas as pd

from optimiser.errors import DataSourceError

BASE_URL_ENV = "OPTIMISER_DATA_BASE_URL"
#: A failed request is tried this many more times (waiting 1 s, then 2 s): official portals
#: drop the odd connection under load.
RETRIES = 2
TIMEOUT_S = 60
#: Records asked for per ArcGIS page. The server may return fewer (its maxRecordCount); paging
#: follows what it returns and its ``exceededTransferLimit`` flag, not this number.
ARCGIS_PAGE = 2000
#: Stop after this many pages (2,000 x 500 = one million rows): a server that keeps saying
#: "more" must not loop for ever.
ARCGIS_MAX_PAGES = 500
_USER_AGENT = {"User-Agent": "family-centre-optimiser (+official data download)"}
MIRROR_HINT = ("check the network connection, or use --mirror DIR (or set "
               "OPTIMISER_DATA_MIRROR) with a folder of canonical tables, which needs no network")


def rebase(url: str, base: str | None) -> str:
    """``url`` with its scheme and host moved under ``base`` (unchanged when ``base`` is empty).

    >>> rebase("https://example.org/a/b.csv?x=1", "http://127.0.0.1:8000/")
    'http://127.0.0.1:8000/example.org/a/b.csv?x=1'
    """
    if not base or not url:
        return url
    parts = urllib.parse.urlsplit(url)
    tail = parts.netloc + parts.path + (f"?{parts.query}" if parts.query else "")
    return base.rstrip("/") + "/" + tail


def base_url_from_env() -> str | None:
    """The base-address override named by ``$OPTIMISER_DATA_BASE_URL``, if any."""
    return os.environ.get(BASE_URL_ENV, "").strip() or None


@contextlib.contextmanager
def _quiet_pooch() -> Iterator[None]:
    """pooch logs every download at INFO; the command line prints its own line per source."""
    import pooch

    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def _failure(url: str, exc: BaseException) -> DataSourceError:
    reason = getattr(exc, "reason", None) or exc
    return DataSourceError(f"could not download {url} ({reason})", hint=MIRROR_HINT)


def download_file(url: str, dest: Path, *, progress: bool = True) -> None:
    """Download ``url`` to ``dest`` with pooch (retries, temporary file, progress bar).

    A ``file://`` address is copied (an offline folder of official files).
    """
    import pooch
    import requests

    dest.parent.mkdir(parents=True, exist_ok=True)
    if url.startswith("file://"):
        src = Path(urllib.request.url2pathname(urllib.parse.urlsplit(url).path))
        try:
            _atomic_copy(src, dest)
        except OSError as exc:
            raise _failure(url, exc) from None
        return
    # pooch keeps a file it already has: download into a fresh folder, then replace, so a
    # forced download never serves the old copy and a failed one never removes it.
    tmpdir = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        fetcher = pooch.create(path=tmpdir, base_url="", registry={dest.name: None},
                               urls={dest.name: url}, retry_if_failed=RETRIES)
        downloader = pooch.HTTPDownloader(progressbar=progress and _on_terminal(),
                                          timeout=TIMEOUT_S, headers=_USER_AGENT)
        with _quiet_pooch():
            got = fetcher.fetch(dest.name, downloader=downloader)
        os.replace(got, dest)
    except (requests.RequestException, OSError, ValueError) as exc:
        raise _failure(url, exc) from None
    finally:
        shutil.rmtree(tmpdir, ignore_errors=True)


def _atomic_copy(src: Path, dest: Path) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    os.close(fd)
    try:
        shutil.copyfile(src, tmp)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _on_terminal() -> bool:
    import sys

    return sys.stderr.isatty()


# --------------------------------------------------------------------------------------------
# ArcGIS FeatureServer tables (the ONS Open Geography lookups)
# --------------------------------------------------------------------------------------------


def _session():
    import requests
    from requests.adapters import HTTPAdapter
    from urllib3.util.retry import Retry

    session = requests.Session()
    retry = Retry(total=RETRIES, backoff_factor=1.0, status_forcelist=(429, 500, 502, 503, 504),
                  allowed_methods=("GET",))
    session.mount("http://", HTTPAdapter(max_retries=retry))
    session.mount("https://", HTTPAdapter(max_retries=retry))
    session.headers.update(_USER_AGENT)
    return session


def _arcgis_pages(url: str, params: Mapping[str, str] | None, progress: bool
                  ) -> Iterator[list[dict]]:
    """The features of an ArcGIS layer, page by page (``resultOffset``), until the server says
    no more remain: neither ``exceededTransferLimit`` (at the top of Esri JSON, under
    ``properties`` in GeoJSON) nor a full page."""
    import requests
    from tqdm import tqdm

    query = {"where": "1=1", "outFields": "*", "returnGeometry": "false", "f": "json",
             "resultRecordCount": str(ARCGIS_PAGE), **(params or {})}
    asked = int(query["resultRecordCount"])
    session = _session()
    done = 0
    with tqdm(unit=" rows", desc=url.split("/services/")[-1][:40], leave=False,
              disable=not (progress and _on_terminal())) as bar:
        for _page in range(ARCGIS_MAX_PAGES):
            page_url = f"{url}?{urllib.parse.urlencode({**query, 'resultOffset': done})}"
            try:
                resp = session.get(page_url, timeout=TIMEOUT_S)
                resp.raise_for_status()
                doc = resp.json()
            except (requests.RequestException, ValueError) as exc:
                raise _failure(page_url, exc) from None
            features = _features(doc, page_url)
            done += len(features)
            bar.update(len(features))
            yield features
            more = doc.get("exceededTransferLimit") or (
                doc.get("properties") or {}).get("exceededTransferLimit")
            if not features or not (more or len(features) >= asked):
                return
    raise DataSourceError(f"{url} still reported more records after {ARCGIS_MAX_PAGES} pages",
                          hint=MIRROR_HINT)


def arcgis_rows(url: str, params: Mapping[str, str] | None = None, *, progress: bool = True
                ) -> list[dict[str, object]]:
    """Every record of an ArcGIS FeatureServer layer, read page by page from its query endpoint.

    Parameters
    ----------
    url
        The layer's ``.../FeatureServer/<n>/query`` address.
    params
        Extra query parameters (e.g. ``returnGeometry``, ``outSR``). By default all fields of
        every record, without geometry, as JSON.

    Returns
    -------
    list of dict
        One dict of attributes per record, in the server's order. A point geometry, when asked
        for, is added as ``X`` and ``Y`` (in the requested ``outSR``).
    """
    return [_record(f) for page in _arcgis_pages(url, params, progress) for f in page]


def arcgis_geojson(url: str, params: Mapping[str, str] | None = None, *,
                   progress: bool = True) -> list[dict]:
    """Every feature of an ArcGIS layer as GeoJSON features (``f=geojson``, WGS84), page by
    page: the polygons of a boundary layer."""
    query = {"returnGeometry": "true", **(params or {}), "f": "geojson"}
    return [f for page in _arcgis_pages(url, query, progress) for f in page]


def _features(doc: object, url: str) -> list[dict]:
    if not isinstance(doc, dict):
        raise DataSourceError(f"{url} did not answer with an ArcGIS JSON object",
                              hint=MIRROR_HINT)
    if "error" in doc:
        err = doc["error"] if isinstance(doc["error"], dict) else {"message": doc["error"]}
        raise DataSourceError(
            f"the ArcGIS server refused {url} (code {err.get('code', '?')}: "
            f"{err.get('message', '')})", hint=MIRROR_HINT)
    features = doc.get("features")
    if not isinstance(features, list):
        raise DataSourceError(f"{url} answered without a 'features' list", hint=MIRROR_HINT)
    return features


def _record(feature: dict) -> dict[str, object]:
    row = dict(feature.get("attributes") or {})
    geom = feature.get("geometry") or {}
    if "x" in geom and "y" in geom:
        row["X"], row["Y"] = geom["x"], geom["y"]
    return row


def download_arcgis(url: str, dest: Path, params: Mapping[str, str] | None = None, *,
                    progress: bool = True) -> None:
    """Page through an ArcGIS layer and save its records as one CSV at ``dest`` (atomically).

    Columns keep the server's field names and order, rows are sorted; the file is what a
    portal "download CSV" gives, so the same converter reads either. With ``f=geojson`` in
    ``params`` (boundary polygons) the features are saved as one GeoJSON FeatureCollection,
    which the boundary converter reads as it would the portal's GeoJSON download.
    """
    if (params or {}).get("f") == "geojson":
        return _save_geojson(url, dest, arcgis_geojson(url, params, progress=progress))
    rows = arcgis_rows(url, params, progress=progress)
    if not rows:
        raise DataSourceError(f"{url} returned no records", hint=MIRROR_HINT)
    table = pd.DataFrame(rows)
    # The server's order is not part of the data: sorted rows give the same file, and so the
    # same checksum (recorded at first download), whatever order the pages came in.
    text = table.astype(str)
    table = table.loc[text.sort_values(list(text.columns), kind="stable").index]
    _atomic_write(dest, lambda fh: table.to_csv(fh, index=False, lineterminator="\n"))


def _save_geojson(url: str, dest: Path, features: list[dict]) -> None:
    """The features as one GeoJSON FeatureCollection at ``dest`` (sorted, as the CSVs are, so
    the file and its recorded checksum do not depend on the server's order)."""
    import json

    if not features:
        raise DataSourceError(f"{url} returned no features", hint=MIRROR_HINT)
    ordered = sorted(features, key=lambda f: json.dumps(f.get("properties"), sort_keys=True))
    doc = {"type": "FeatureCollection", "features": ordered}
    _atomic_write(dest, lambda fh: json.dump(doc, fh, separators=(",", ":")))


def _atomic_write(dest: Path, write) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{dest.name}.", suffix=".part", dir=dest.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as fh:
            write(fh)
        os.replace(tmp, dest)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)

