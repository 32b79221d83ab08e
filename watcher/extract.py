"""Text out of fetched bytes: article pages (trafilatura) and PDFs (pypdf).

Bytes in, plain data out; no network. Text from the web is untrusted: it is
returned as plain text (never HTML) and bounded in size.
"""

from __future__ import annotations

import io
import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime

logger = logging.getLogger(__name__)

MAX_TEXT_CHARS = 200_000
MAX_PDF_PAGES = 200


@dataclass
class Extracted:
    text: str = ""
    title: str | None = None
    published: datetime | None = None
    language: str | None = None
    error: str | None = None


def is_pdf(content_type: str | None, url: str = "", body: bytes = b"") -> bool:
    if content_type and "pdf" in content_type.lower():
        return True
    if body[:5] == b"%PDF-":
        return True
    return url.lower().split("?")[0].endswith(".pdf")


def detect_language(text: str) -> str | None:
    """ISO 639-1 code of the text's language (py3langid), None when too short to tell."""
    if len(text.split()) < 5:
        return None
    import py3langid

    # A sample is enough to tell French from English, and langid's cost grows with length.
    language, _score = py3langid.classify(text[:1500])
    return language


_LANG_ATTRIBUTE = re.compile(rb"<html[^>]*?\slang=[\"']?([a-zA-Z]{2})[-_\"'\s>]", re.I)


def declared_language(body: bytes | str) -> str | None:
    """The page's own ``<html lang>``, when it declares one."""
    head = body[:4000] if isinstance(body, bytes) else body[:4000].encode("utf-8", "replace")
    match = _LANG_ATTRIBUTE.search(head)
    return match.group(1).decode("ascii").lower() if match else None


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def extract_html(body: bytes | str, url: str | None = None) -> Extracted:
    """Main text, title, date and language of an article page."""
    import trafilatura

    try:
        document = trafilatura.bare_extraction(
            body,
            url=url,
            with_metadata=True,
            include_comments=False,
            include_tables=True,
            fast=True,
        )
    except Exception as exc:  # trafilatura can raise on pathological markup
        return Extracted(error=f"extraction failed: {exc}")
    if document is None:
        return Extracted(error="no main text found")
    text = (document.text or "")[:MAX_TEXT_CHARS]
    language = document.language or declared_language(body) or detect_language(text)
    if language:
        language = language.split("-")[0].split("_")[0].lower()[:12]
    return Extracted(
        text=text,
        title=(document.title or None),
        published=_parse_date(document.date),
        language=language,
    )


def extract_pdf(body: bytes, *, max_bytes: int) -> Extracted:
    """Text and title of a PDF, up to ``max_bytes`` of input and MAX_PDF_PAGES pages."""
    if len(body) > max_bytes:
        return Extracted(error=f"PDF of {len(body)} bytes is over the {max_bytes}-byte cap")
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(body))
        parts = []
        for page in reader.pages[:MAX_PDF_PAGES]:
            parts.append(page.extract_text() or "")
            if sum(len(p) for p in parts) > MAX_TEXT_CHARS:
                break
        title = None
        if reader.metadata is not None and reader.metadata.title:
            title = str(reader.metadata.title).strip() or None
    except (PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        return Extracted(error=f"unreadable PDF: {exc}")
    text = "\n".join(p.strip() for p in parts if p.strip())[:MAX_TEXT_CHARS]
    return Extracted(text=text, title=title, language=detect_language(text))


def extract(
    body: bytes, *, url: str = "", content_type: str | None = None, max_pdf_bytes: int
) -> Extracted:
    """Dispatch on the kind of document: PDF or HTML page."""
    if is_pdf(content_type, url, body):
        return extract_pdf(body, max_bytes=max_pdf_bytes)
    return extract_html(body, url=url or None)
