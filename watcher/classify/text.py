"""Text hygiene before classification: HTML, mojibake, truncation, language.

Text from the web is untrusted: anything may arrive (an empty string, a
200,000-character page, markup left by the extractor, UTF-8 read as
Latin-1). Every function here returns something usable and never raises.
"""

from __future__ import annotations

import html
import re
import unicodedata

_SCRIPT_STYLE = re.compile(r"<(script|style)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_BLOCK_TAG = re.compile(r"</?(p|div|br|li|h[1-6]|tr|section|article)\b[^>]*>", re.I)
_TAG = re.compile(r"<[^>]{0,2000}>")
_SPACES = re.compile(r"[ \t\u00a0\u202f]+")
_BLANK_LINES = re.compile(r"\n\s*\n+")
# Runs of characters typical of UTF-8 bytes decoded as cp1252/Latin-1 ("Ã©", "â€™").
_MOJIBAKE = re.compile(
    "[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
    "\u02c6\u02dc\u2013\u2014\u2018\u2019\u201a\u201c\u201d\u201e\u2020\u2021\u2022"
    "\u2026\u2030\u2039\u203a\u20ac\u2122]{1,3}"
)
_MOJIBAKE_HINT = re.compile("[\u00c2\u00c3][\u0080-\u00bf]|\u00e2\u20ac")

# Hard cap on what is looked at at all: nothing useful for labelling lies past it.
MAX_CHARS = 40_000


def strip_html(text: str) -> str:
    if "<" not in text and "&" not in text:
        return text
    if "<" in text:
        text = _SCRIPT_STYLE.sub(" ", text)
        text = _BLOCK_TAG.sub("\n", text)
        text = _TAG.sub(" ", text)
    return html.unescape(text)


def _fix_run(match: re.Match[str]) -> str:
    chunk = match.group(0)
    for encoding in ("cp1252", "latin-1"):
        try:
            return chunk.encode(encoding).decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            continue
    return chunk


def fix_mojibake(text: str) -> str:
    """Repair the common UTF-8-read-as-cp1252 sequences ("Ã©" → "é", "â€™" → "’")."""
    if not _MOJIBAKE_HINT.search(text):
        return text
    return _MOJIBAKE.sub(_fix_run, text)


def clean_text(value: object, max_chars: int = MAX_CHARS) -> str:
    """Plain, normalised text from whatever the record carried."""
    if value is None:
        return ""
    if not isinstance(value, str):
        value = str(value)
    text = value[: max_chars * 2]  # markup may take half of it
    text = strip_html(text)
    text = fix_mojibake(text)
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r", "\n").replace("\u2019", "'").replace("\u02bc", "'")
    text = _SPACES.sub(" ", text)
    text = _BLANK_LINES.sub("\n", text)
    return text.strip()[:max_chars]


def first_words(text: str, n: int) -> str:
    """The first ``n`` words, cheaply (no tokenizer)."""
    if n <= 0:
        return text
    parts = text.split(None, n)
    return " ".join(parts[:n])


_identifier = None


def _langid():  # noqa: ANN202 - py3langid.langid.LanguageIdentifier
    global _identifier
    if _identifier is None:
        from py3langid.langid import _load_identifier

        # Restricting the candidates makes short texts far less error-prone.
        _identifier = _load_identifier(
            norm_probs=True, langs=["fr", "en", "de", "es", "it", "nl", "pt", "pl", "lb"]
        )
    return _identifier


def detect_language(title: str, text: str) -> tuple[str, float]:
    """(language code, probability); French unless the evidence is clear.

    A title alone or a few words are too short to judge: they stay French.
    """
    sample = f"{title}\n{text}"[:700].strip()
    letters = sum(ch.isalpha() for ch in sample)
    if letters < 40:
        return "fr", 0.0
    try:
        lang, prob = _langid().classify(sample)
    except Exception:  # a language guess must never stop labelling
        return "fr", 0.0
    if lang != "fr" and (prob < 0.9 or letters < 60):
        return "fr", float(prob)
    return str(lang), float(prob)
