"""The bulletin's editorial ("le mot de l'équipe"): a small Markdown subset.

Curators write paragraphs, *emphasis*, **strong**, [links](https://…) and
lists. markdown-it turns only those into HTML (raw HTML in the text stays
text), then nh3 keeps the same short allow-list as the rest of the published
pages (http/https/mailto links only). The plain-text e-mail gets the text with
links written out.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt
from markupsafe import Markup

from watcher.publish.sanitize import safe_html

_MARKDOWN = MarkdownIt("zero", {"html": False, "linkify": False, "breaks": True}).enable(
    ["emphasis", "link", "list", "newline", "escape", "backticks"]
)
_LINK = re.compile(r"\[([^\]]+)\]\(\s*([^)\s]+)\s*\)")
_MARK = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")


def editorial_html(text: str | None) -> Markup:
    """The editorial as sanitised HTML (empty Markup when there is none)."""
    if not (text or "").strip():
        return Markup("")
    rendered = _MARKDOWN.render(text or "").replace("<code>", "").replace("</code>", "")
    return safe_html(rendered)


def _link_text(match: re.Match[str]) -> str:
    label, url = match.group(1), match.group(2)
    return f"{label} ({url})" if re.match(r"^(https?|mailto):", url, re.I) else label


def editorial_text(text: str | None) -> str:
    """The editorial for the plain-text e-mail: links as "text (url)", no markers."""
    plain = _LINK.sub(_link_text, (text or "").strip())
    return _MARK.sub(r"\2", plain)
