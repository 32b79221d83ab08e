"""Untrusted text from sources made inert.

Everything a source wrote is escaped by Jinja's autoescape in templates; these
helpers turn HTML into plain text (titles, summaries) and, where HTML is kept
(an item page's summary with its links), pass it through nh3 with a short
allow-list: no script, style, iframe, event handler or ``javascript:`` URL.
"""

from __future__ import annotations

import html
import re

import nh3
from markupsafe import Markup

from watcher.base.clean import clean_text

ALLOWED_TAGS = {"a", "p", "br", "em", "strong", "ul", "ol", "li", "b", "i"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
_SPACES = re.compile(r"\s+")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[A-ZÀ-ÖØ-Þ0-9«\"“])")


def plain_text(value: str | None) -> str:
    """Any HTML reduced to its text, whitespace collapsed (still to be escaped on output)."""
    if not value:
        return ""
    # Control characters break the XML outputs (Atom) and items stored by older
    # versions still have them: every plain text of the site goes through here.
    value = clean_text(str(value))
    if "<" not in value and "&" not in value:  # nothing to strip: the common case, fast
        return _SPACES.sub(" ", value).strip()
    stripped = nh3.clean(str(value), tags=set(), clean_content_tags={"script", "style"})
    text = clean_text(html.unescape(stripped))  # &#x1; decodes to a control character
    # A second pass: entities that decoded into markup (&lt;script&gt;) stay text, but
    # we never want them to look like tags either in plain-text outputs.
    return _SPACES.sub(" ", text).strip()


def safe_url(url: str | None) -> str:
    """A link out: only http(s) URLs are kept, anything else becomes empty."""
    value = (url or "").strip()
    return value if re.match(r"^https?://", value, re.IGNORECASE) else ""


def safe_html(value: str | None) -> Markup:
    """HTML kept with a short allow-list (links get rel=noopener noreferrer nofollow)."""
    cleaned = nh3.clean(
        str(value or ""),
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        clean_content_tags={"script", "style"},
    )
    # nh3 keeps control characters (and decodes &#x1; into one): dropped from its output.
    cleaned = clean_text(cleaned, keep_lines=True)
    # A link whose URL was refused keeps its text; a rel without href is invalid HTML.
    return Markup(re.sub(r'<a rel="[^"]*">', "<a>", cleaned))


def first_sentences(text: str, count: int = 3, limit: int = 420) -> str:
    """The first sentences of a text, at most ``count`` and about ``limit`` characters."""
    text = plain_text(text)
    if not text:
        return ""
    sentences = _SENTENCE_END.split(text)
    out = ""
    for sentence in sentences[:count]:
        candidate = f"{out} {sentence}".strip()
        if out and len(candidate) > limit:
            break
        out = candidate
    if len(out) > limit:
        cut = out[:limit].rsplit(" ", 1)[0]
        out = cut.rstrip(",;:") + "…"
    return out
