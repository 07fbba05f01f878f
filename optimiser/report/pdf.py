"""The printable consultation document, ``pack.pdf`` (HTML laid out by WeasyPrint).

Councils publish consultation documents as PDFs. The PDF is drawn from the same published
tables as the web pages (disclosure control applied, names escaped by the template), with a
static map per option (:mod:`optimiser.report.static_map`) instead of the interactive one, and
the charts inlined. WeasyPrint needs Pango (Debian: ``libpango-1.0-0 libpangoft2-1.0-0``).
No network: every image is inlined and nothing is fetched.
"""

from __future__ import annotations

import base64

from optimiser.errors import OptimiserError

_NO_FETCH_MESSAGE = "the printable pack refers to a file outside itself"


def data_uri(content: str | bytes, mime: str) -> str:
    """Inline an image (``image/png`` bytes or ``image/svg+xml`` text) as a data URI."""
    raw = content.encode("utf-8") if isinstance(content, str) else content
    return f"data:{mime};base64,{base64.b64encode(raw).decode('ascii')}"


def pdf_images(ctx: dict) -> dict:
    """The pack's pictures as data URIs for the PDF template: ``pdf_maps``, ``pdf_deciles`` and
    ``pdf_years`` (one per option; '' when none), ``pdf_options`` and ``pdf_budget``."""
    def png(raw: bytes) -> str:
        return data_uri(raw, "image/png") if raw else ""

    return {"pdf_maps": [png(p["static_map"]) for p in ctx["pages"]],
            "pdf_deciles": [png(p["decile_png"]) for p in ctx["pages"]],
            "pdf_years": [png(p["years"]["png"]) if p.get("years") else "" for p in ctx["pages"]],
            "pdf_options": png(ctx["options_png"]), "pdf_budget": png(ctx["budget_png"])}


def _data_only_fetcher():
    """A WeasyPrint URL fetcher that allows data URIs only (the PDF never reaches the network
    or the disk); WeasyPrint 70 and later take a URLFetcher object, older ones a function."""
    try:
        from weasyprint.urls import URLFetcher
    except ImportError:  # pragma: no cover - WeasyPrint before 70
        from weasyprint import default_url_fetcher

        def fetch(url: str, *args, **kwargs):
            if not url.startswith("data:"):
                raise OptimiserError(f"{_NO_FETCH_MESSAGE}: {url[:80]}")
            return default_url_fetcher(url, *args, **kwargs)

        return fetch
    return URLFetcher(allowed_protocols={"data"}, fail_on_errors=True)


PANGO_HINT = ("install Pango, e.g. on Debian or Ubuntu 'apt-get install libpango-1.0-0 "
              "libpangoft2-1.0-0' (README 'Installing')")


def render_pdf(html: str) -> bytes:
    """Lay out the PDF template's HTML as PDF bytes (A4).

    Raises
    ------
    OptimiserError
        WeasyPrint cannot load Pango (a system library it needs), before anything is written.
    """
    try:
        import weasyprint
    except OSError as exc:  # WeasyPrint loads Pango when imported
        raise OptimiserError(f"the printable pack (pack.pdf) needs the Pango library, which "
                             f"could not be loaded ({str(exc).splitlines()[0][:120]})",
                             hint=PANGO_HINT) from None

    return weasyprint.HTML(string=html, url_fetcher=_data_only_fetcher()).write_pdf()
