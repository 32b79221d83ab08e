"""From a raw record to what every part of the classifier reads (once per item)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from watcher.classify.lexicon import Hit, Lexicon
from watcher.classify.nlp import lemmatize, stop_words
from watcher.classify.text import clean_text, detect_language, first_words

FIELDS = ("relevant", "type", "themes", "axes")


@dataclass
class Prepared:
    id: Any
    title: str
    text: str
    published: date | None
    hints: dict[str, Any]
    language: str
    title_lemmas: list[str] = field(default_factory=list)
    body_lemmas: list[str] = field(default_factory=list)
    hits: dict[str, dict[str, list[Hit]]] = field(default_factory=dict)
    word_doc: str = ""
    char_doc: str = ""


def _published(value: object) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, str) and len(value) >= 10:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def input_hash(record: dict[str, Any]) -> str:
    """What labelling depends on in a record: a change means the labels are outdated."""
    payload = json.dumps(
        [
            record.get("title") or "",
            record.get("text") or "",
            record.get("summary") or "",
            str(record.get("published") or ""),
            record.get("hints") or {},
        ],
        ensure_ascii=False,
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(payload.encode("utf-8", "replace")).hexdigest()


def prepare(
    records: list[dict[str, Any]], lexicon: Lexicon, max_words: int = 300
) -> list[Prepared]:
    stops = stop_words()
    items: list[Prepared] = []
    for record in records:
        if not isinstance(record, dict):
            record = {}
        title = clean_text(record.get("title"), 2000)
        text = clean_text(record.get("text"))
        summary = clean_text(record.get("summary"), 5000)
        if summary and summary[:200] not in text:
            text = f"{summary}\n{text}" if text else summary
        hints = record.get("hints") if isinstance(record.get("hints"), dict) else {}
        language, _prob = detect_language(title, text)
        items.append(
            Prepared(
                id=record.get("id"),
                title=title,
                text=text,
                published=_published(record.get("published")),
                hints=hints,
                language=language,
            )
        )
    french = [p for p in items if p.language == "fr"]
    titles = lemmatize(p.title for p in french)
    bodies = lemmatize(first_words(p.text, max_words) for p in french)
    for p, t_lem, b_lem in zip(french, titles, bodies, strict=True):
        p.title_lemmas, p.body_lemmas = t_lem, b_lem
        p.hits = lexicon.match(t_lem, b_lem)
        content_t = [w for w in t_lem if w not in stops and len(w) > 1]
        content_b = [w for w in b_lem if w not in stops and len(w) > 1]
        # Title words count twice and also as title features ("t:webinaire").
        p.word_doc = " ".join(content_t + content_t + content_b + [f"t:{w}" for w in content_t])
        p.char_doc = " ".join(content_t + content_b[:60])
    return items
