"""Self-contained HTML: inline every script and style a folium page links to, with no network.

Folium pages load Leaflet, jQuery, Bootstrap and the awesome-markers plugin from CDNs. Council
laptops behind firewalls, and archived consultation packs, cannot reach them, so the self-contained
mode replaces each ``<script src=...>`` and ``<link rel="stylesheet" href=...>`` by the file's
text inside the page.

Where the files come from: the ``folium-offline`` package on PyPI (module ``offlinefolium``)
ships the exact files folium's CDN addresses point to, keyed by address (images inside Leaflet's
CSS are already data URIs). Nothing is downloaded at run time.

What cannot be inlined, and why the map does not need it:

- Font Awesome's and Glyphicons' web fonts referenced from their CSS by relative address: the map
  draws its symbols as inline SVG (no icon fonts), so the browser never asks for them. To be sure,
  any ``url(...)`` left in inlined CSS that is neither a ``data:`` URI nor an in-page ``#``
  reference is blanked, so nothing can trigger a request.
- Map tiles: the map asks for OpenStreetMap tiles only when the browser says it is online and
  drops them at the first failure; what orients a reader offline (neighbouring councils, towns
  and villages) is drawn from the project's shipped files (:mod:`optimiser.report.map`).

Examples
--------
>>> html = '<head><script src="https://code.jquery.com/jquery-3.7.1.min.js"></script></head>'
>>> out = inline_assets(html)
>>> "<script src" in out, "jQuery" in out
(False, True)
"""

from __future__ import annotations

import functools
import re

from optimiser.errors import OptimiserError

_SCRIPT = re.compile(r'<script\s+src="(?P<url>[^"]+)"\s*>\s*</script>', re.IGNORECASE)
_LINK = re.compile(r'<link\s+(?P<attrs>[^>]*?)/?>', re.IGNORECASE)
_HREF = re.compile(r'href="(?P<url>[^"]+)"', re.IGNORECASE)
_CSS_URL = re.compile(r"url\(\s*(?P<q>['\"]?)(?P<url>[^'\")]*)(?P=q)\s*\)")


class AssetMissingError(OptimiserError):
    """A page links to a file that no installed package ships."""


@functools.cache
def _assets() -> dict[str, str]:
    """Address -> file text, from the folium-offline package."""
    try:
        from offlinefolium.elements import _res
    except ImportError as exc:  # pragma: no cover - a dependency of the project
        raise AssetMissingError(
            f"the self-contained map needs the 'folium-offline' package ({exc})",
            hint="pip install folium-offline, or write the map with --cdn",
        ) from None
    return dict(_res)


def asset_text(url: str) -> str:
    """The text of a web asset by its CDN address (protocol-relative addresses accepted)."""
    assets = _assets()
    key = "https:" + url if url.startswith("//") else url
    if key not in assets:
        raise AssetMissingError(
            f"no installed package ships {url}, so the map cannot be made self-contained",
            hint="write the map with --cdn, or install the folium-offline release matching "
            "your folium version",
        )
    return assets[key]


def _blank_external_urls(css: str) -> str:
    def repl(m: re.Match[str]) -> str:
        url = m.group("url").strip()
        if url.startswith(("data:", "#")):
            return m.group(0)
        return 'url("data:,")'

    return _CSS_URL.sub(repl, css)


def _safe_inline(text: str, tag: str) -> str:
    # A literal "</script" or "</style" inside the file would end the element early.
    return re.sub(rf"</({tag})", r"<\\/\1", text, flags=re.IGNORECASE)


def inline_assets(html: str) -> str:
    """Replace linked scripts and style sheets by inline copies.

    Raises
    ------
    AssetMissingError
        A linked file is not shipped by any installed package.
    """

    def script(m: re.Match[str]) -> str:
        return "<script>" + _safe_inline(asset_text(m.group("url")), "script") + "</script>"

    def link(m: re.Match[str]) -> str:
        attrs = m.group("attrs")
        if not re.search(r'rel="?stylesheet', attrs, re.IGNORECASE):
            return m.group(0)
        href = _HREF.search(attrs)
        if href is None:
            return m.group(0)
        css = _blank_external_urls(asset_text(href.group("url")))
        return "<style>" + _safe_inline(css, "style") + "</style>"

    html = _SCRIPT.sub(script, html)
    return _LINK.sub(link, html)


def external_references(html: str) -> list[str]:
    """Addresses an HTML page would fetch from the network (scripts, styles, images, frames).

    Used by the tests and by :func:`inline_assets`'s callers to prove a page is self-contained.
    """
    found = []
    for m in re.finditer(r'<(?:script|img|iframe|link|source|embed)\b[^>]*?\b(?:src|href)\s*=\s*'
                         r'"(?P<url>(?:https?:)?//[^"]+)"', html, re.IGNORECASE):
        found.append(m.group("url"))
    for m in _CSS_URL.finditer(html):
        url = m.group("url")
        if url.startswith(("http:", "https:", "//")):
            found.append(url)
    return found
