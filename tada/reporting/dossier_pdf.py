"""A case's dossier as PDF: the dossier's HTML page (tada/reporting/dossier_html.py) laid out on
A4 by WeasyPrint, which fetches nothing: the page has no external resource, and a fetcher that
refuses every address makes sure that none is ever read (nor a local file named in the page)."""

from __future__ import annotations

from weasyprint import HTML, URLFetcher

from tada.app.dossier import Dossier
from tada.reporting.dossier_html import render_dossier_html


class _NoFetching(URLFetcher):
    """Refuses every fetch: the dossier is laid out from its own text alone."""

    def fetch(self, url: str, headers: object = None) -> object:
        raise ValueError("the dossier fetches nothing")


def render_dossier_pdf(dossier: Dossier) -> bytes:
    return html_to_pdf(render_dossier_html(dossier))


def html_to_pdf(html: str) -> bytes:
    document = HTML(string=html, base_url=None, url_fetcher=_NoFetching())
    pdf = document.write_pdf()
    assert pdf is not None  # no target: the PDF is returned
    return pdf
