"""Small helpers shared by the kinds: text cleaning, dates, dotted paths."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, time
from typing import Any
from urllib.parse import urljoin
from zoneinfo import ZoneInfo

from w3lib.html import remove_tags, remove_tags_with_content

_SPACES = re.compile(r"\s+")


def plain_text(value: Any, limit: int = 5000) -> str:
    """Untrusted markup to one line of plain text."""
    if value is None:
        return ""
    # A script's or a style's content is code, not words of the title.
    markup = remove_tags_with_content(str(value), which_ones=("script", "style"))
    text = html.unescape(remove_tags(markup))
    return _SPACES.sub(" ", text).strip()[:limit]


def parse_date(value: Any) -> datetime | None:
    """ISO 8601, RFC 822 or French/English free text ("12 novembre 2026") to an aware datetime."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    text = str(value).strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        import dateparser

        parsed = dateparser.parse(text, languages=["fr", "en"])
        if parsed is not None and parsed.tzinfo is None and parsed.time() != time(0, 0):
            # A wall-clock time on a French site is Paris time; a bare date stays that date.
            parsed = parsed.replace(tzinfo=ZoneInfo("Europe/Paris"))
    if parsed is None:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def dotted(data: Any, path: str) -> Any:
    """``a.b.0.c`` in nested dicts and lists; None when any step is missing."""
    if not path:
        return data
    for part in path.split("."):
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and part.lstrip("-").isdigit():
            index = int(part)
            data = data[index] if -len(data) <= index < len(data) else None
        else:
            return None
        if data is None:
            return None
    return data


def looks_like_html(body: bytes) -> bool:
    head = body[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return head.startswith((b"<!doctype html", b"<html"))


def join_url(base: Any, href: str) -> str:
    """``href`` read against ``base`` (a URL, or a response: an HTML page's ``<base>``
    counts); as written when it cannot be parsed (an unclosed ``[``), for the crawl's
    guard to refuse that one link as ``not_http``: urljoin's ValueError failed the
    whole listing, every good link with it."""
    try:
        return urljoin(base, href) if isinstance(base, str) else base.urljoin(href)
    except ValueError:
        return href
