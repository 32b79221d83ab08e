"""Items: save (idempotent, deduplicated), read, export.

Identity of an item, in order:

1. its canonical URL (:func:`watcher.urls.canonical_url`), unique in ``items.url``;
   the canonical URL every other source gave for it is kept in
   ``item_sources.url_seen``, so a URL seen once is recognised from any source;
2. near-identical text: a MinHash signature (128 permutations) over word
   5-shingles of the lower-cased text. Two texts whose estimated Jaccard
   similarity is at least ``CollectSettings.near_duplicate_threshold`` (0.85
   by default) are the same story, found through a MinHash LSH index. Texts
   shorter than ``MIN_WORDS_FOR_SIGNATURE`` words get no signature (a one-line
   summary says too little to call two items the same).

Each call to :func:`save_item` is one short transaction, so a crash loses at
most the item being written and never leaves half of one.
"""

from __future__ import annotations

import hashlib
import re
import time
import weakref
from collections.abc import Iterable, Iterator
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update

from watcher.base.clock import utcnow
from watcher.models import CollectedItem, StoredItem
from watcher.store import Store
from watcher.store.locking import _insert, insert_or_ignore
from watcher.store.schema import item_labels, item_sources, items, raw_bodies
from watcher.urls import canonical_url

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "canonical_url",
    "count_items",
    "export_rows",
    "get_items",
    "iter_items",
    "known_urls",
    "mark_fetch_failed",
    "pending_items",
    "save_item",
]

NUM_PERM = 128
SCHEME = "affine32"  # datasketch's permutation scheme; signatures are stored as uint32
_DTYPE = "uint32"
SHINGLE = 5
MIN_WORDS_FOR_SIGNATURE = 40
DEFAULT_THRESHOLD = 0.85
_WORD = re.compile(r"\w+", re.UNICODE)


# --- signatures -------------------------------------------------------------------------


def content_hash(title: str, text: str) -> str:
    normalised = " ".join(f"{title}\n{text}".split())
    return hashlib.sha256(normalised.encode("utf-8")).hexdigest()


def signature(text: str) -> np.ndarray | None:
    """MinHash hash values of the text's word 5-shingles, or None when too short."""
    # numpy and datasketch are imported here, not at module level: a crawl where every
    # feed answers 304 never needs them, and the crawl process starts faster without.
    words = _WORD.findall(text.lower())
    if len(words) < MIN_WORDS_FOR_SIGNATURE:
        return None
    from datasketch import MinHash

    shingles = {
        " ".join(words[i : i + SHINGLE]).encode("utf-8") for i in range(len(words) - SHINGLE + 1)
    }
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    minhash.update_batch(list(shingles))
    return minhash.hashvalues.astype(_DTYPE)


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    import numpy as np

    return float(np.count_nonzero(a == b)) / len(a)


def _lean(values: np.ndarray) -> Any:
    """A LeanMinHash of stored hash values. Built directly, not from a MinHash: a MinHash
    draws its 128 permutations again each time (35 times slower), and loading the index
    of a large archive at the start of every crawl would pay that for each item."""
    from datasketch import LeanMinHash

    return LeanMinHash(seed=1, hashvalues=values, scheme=SCHEME)


class _NearIndex:
    """An LSH index over the stored signatures, loaded once per Store and kept fresh."""

    def __init__(self, threshold: float) -> None:
        from datasketch import MinHashLSH

        self.threshold = threshold
        self.lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
        self.values: dict[int, np.ndarray] = {}
        self.max_id = 0
        self.refreshed_at = 0.0

    def refresh(self, connection: Connection, *, every_s: float = 10.0) -> None:
        # Items this process saves are added as they are saved; items written by another
        # process meanwhile are picked up here, at most every ``every_s`` seconds.
        now = time.monotonic()
        if self.max_id and now - self.refreshed_at < every_s:
            return
        self.refreshed_at = now
        rows = connection.execute(
            select(items.c.id, items.c.minhash).where(
                items.c.id > self.max_id, items.c.minhash.is_not(None)
            )
        )
        import numpy as np

        for item_id, blob in rows:
            self.add(item_id, np.frombuffer(blob, dtype=_DTYPE))
        self.max_id = max(
            self.max_id, connection.execute(select(func.max(items.c.id))).scalar() or 0
        )

    def add(self, item_id: int, values: np.ndarray) -> None:
        if item_id in self.values:
            self.lsh.remove(item_id)
        self.values[item_id] = values
        self.lsh.insert(item_id, _lean(values))

    def remove(self, item_id: int) -> None:
        if item_id in self.values:
            self.lsh.remove(item_id)
            del self.values[item_id]

    def best_match(self, values: np.ndarray, exclude: int | None = None) -> int | None:
        query = _lean(values)
        best, best_score = None, 0.0
        for candidate in self.lsh.query(query):
            if candidate == exclude:
                continue
            score = similarity(values, self.values[candidate])
            if score >= self.threshold and score > best_score:
                best, best_score = candidate, score
        return best


_INDEXES: weakref.WeakKeyDictionary[Store, _NearIndex] = weakref.WeakKeyDictionary()


def _near_index(store: Store, connection: Connection, threshold: float) -> _NearIndex:
    index = _INDEXES.get(store)
    if index is None or index.threshold != threshold:
        index = _NearIndex(threshold)
        _INDEXES[store] = index
    index.refresh(connection)
    return index


# --- saving -----------------------------------------------------------------------------


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _find(connection: Connection, canon: str) -> Any:
    """The item of a canonical URL, locked until the transaction ends (a second writer
    saving the same item waits, then sees this one's changes)."""
    row = connection.execute(select(items).where(items.c.url == canon).with_for_update()).first()
    if row is None:
        row = connection.execute(
            select(items)
            .join(item_sources, item_sources.c.item_id == items.c.id)
            .where(item_sources.c.url_seen == canon)
            .limit(1)
            .with_for_update(of=items)
        ).first()
    return row


def _attach(
    connection: Connection, item_id: int, source_id: str, canon: str, now: datetime
) -> None:
    insert_or_ignore(
        connection,
        item_sources,
        {"item_id": item_id, "source_id": source_id, "url_seen": canon, "first_seen": now},
    )


def _body_text(item: CollectedItem) -> str:
    return item.text or item.summary


def _without_nul(item: CollectedItem) -> CollectedItem:
    """NUL characters (a PDF's text may hold some) removed: PostgreSQL's text refuses them."""
    changes = {
        name: value.replace("\x00", "")
        for name in ("title", "summary", "text")
        if isinstance(value := getattr(item, name), str) and "\x00" in value
    }
    return replace(item, **changes) if changes else item


def save_item(
    store: Store,
    item: CollectedItem,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    now: datetime | None = None,
) -> tuple[int, bool]:
    """Store ``item``; return ``(item_id, is_new)``. Saving the same item again changes nothing
    but ``last_seen``; an incomplete item never overwrites a complete one."""
    now = now or utcnow()
    item = _without_nul(item)
    canon = canonical_url(item.url)
    text = _body_text(item)
    values = signature(text) if item.complete else None
    with store.begin() as connection:
        row = _find(connection, canon)
        if row is not None:
            return _update(store, connection, row, item, canon, values, threshold, now), False
        if values is not None:
            duplicate = _near_index(store, connection, threshold).best_match(values)
            if duplicate is not None:
                _attach(connection, duplicate, item.source_id, canon, now)
                connection.execute(
                    update(items).where(items.c.id == duplicate).values(last_seen=now)
                )
                return duplicate, False
        item_id = _insert_new(connection, item, canon, text, values, now)
        if item_id is None:  # another writer saved this URL since _find: update theirs
            row = _find(connection, canon)
            return _update(store, connection, row, item, canon, values, threshold, now), False
        _attach(connection, item_id, item.source_id, canon, now)
        if item.raw_body is not None:
            connection.execute(
                insert(raw_bodies).values(
                    item_id=item_id,
                    fetched_at=now,
                    content_type=item.content_type,
                    body=item.raw_body,
                )
            )
    if values is not None and store in _INDEXES:
        _INDEXES[store].add(item_id, values)
    return item_id, True


def _insert_new(
    connection: Connection,
    item: CollectedItem,
    canon: str,
    text: str,
    values: np.ndarray | None,
    now: datetime,
) -> int | None:
    """The new item's id, or None when another writer inserted the same URL first."""
    return connection.execute(
        _insert(connection, items)
        .values(
            uid=hashlib.sha256(canon.encode("utf-8")).hexdigest()[:20],
            url=canon,
            title=item.title or "",
            summary=item.summary or "",
            text=item.text or "",
            language=item.language,
            published=_aware(item.published),
            first_seen=now,
            last_seen=now,
            content_hash=content_hash(item.title, text),
            minhash=values.tobytes() if values is not None else None,
            extra=dict(item.extra),
            complete=item.complete,
        )
        .on_conflict_do_nothing()
        .returning(items.c.id)
    ).scalar()


def _update(
    store: Store,
    connection: Connection,
    row: Any,
    item: CollectedItem,
    canon: str,
    values: np.ndarray | None,
    threshold: float,
    now: datetime,
) -> int:
    _attach(connection, row.id, item.source_id, canon, now)
    changes: dict[str, Any] = {"last_seen": now}
    if item.complete:
        text = _body_text(item)
        title = item.title or row.title
        new_hash = content_hash(title, text)
        if not row.complete or new_hash != row.content_hash:
            changes.update(
                title=title,
                summary=item.summary or row.summary,
                text=item.text or row.text,
                language=item.language or row.language,
                published=_aware(item.published) or row.published,
                content_hash=new_hash,
                minhash=values.tobytes() if values is not None else None,
                extra=_completed_extra(row.extra, item.extra),
                complete=True,
            )
            if item.raw_body is not None:
                connection.execute(delete(raw_bodies).where(raw_bodies.c.item_id == row.id))
                connection.execute(
                    insert(raw_bodies).values(
                        item_id=row.id,
                        fetched_at=now,
                        content_type=item.content_type,
                        body=item.raw_body,
                    )
                )
    elif not row.complete:
        extra = {**(row.extra or {}), **item.extra}
        if extra != (row.extra or {}):
            changes["extra"] = extra
    connection.execute(update(items).where(items.c.id == row.id).values(**changes))
    if values is not None and "minhash" in changes:
        index = _near_index(store, connection, threshold)
        duplicate = index.best_match(values, exclude=row.id)
        if duplicate is not None and not row.complete:
            # The article just fetched tells the same story as a stored item: fold the
            # provisional row into it so the story stays one item naming both sources.
            _merge(connection, row.id, duplicate, now)
            index.remove(row.id)
            return duplicate
        index.add(row.id, values)
    return row.id


def _completed_extra(old: dict[str, Any] | None, new: dict[str, Any]) -> dict[str, Any]:
    """Merged structured fields, without the bookkeeping of failed fetches."""
    merged = {**(old or {}), **new}
    return {k: v for k, v in merged.items() if k not in ("fetch_attempts", "fetch_error")}


def _merge(connection: Connection, loser: int, winner: int, now: datetime) -> None:
    for source_id, url_seen, first_seen in connection.execute(
        select(item_sources.c.source_id, item_sources.c.url_seen, item_sources.c.first_seen).where(
            item_sources.c.item_id == loser
        )
    ).all():
        insert_or_ignore(
            connection,
            item_sources,
            {
                "item_id": winner,
                "source_id": source_id,
                "url_seen": url_seen,
                "first_seen": first_seen,
            },
        )
    connection.execute(delete(item_sources).where(item_sources.c.item_id == loser))
    connection.execute(delete(raw_bodies).where(raw_bodies.c.item_id == loser))
    connection.execute(delete(item_labels).where(item_labels.c.item_id == loser))
    connection.execute(delete(items).where(items.c.id == loser))
    connection.execute(update(items).where(items.c.id == winner).values(last_seen=now))


def mark_fetch_failed(store: Store, item_id: int, error: str, *, max_attempts: int = 3) -> bool:
    """Count a failed article fetch; after ``max_attempts`` the item is completed with what
    the listing gave (its summary). Returns True when the item was given up on."""
    with store.begin() as connection:
        row = connection.execute(
            select(items.c.extra, items.c.complete).where(items.c.id == item_id).with_for_update()
        ).first()
        if row is None or row.complete:
            return False
        extra = dict(row.extra or {})
        extra["fetch_attempts"] = int(extra.get("fetch_attempts", 0)) + 1
        extra["fetch_error"] = error[:500]
        give_up = extra["fetch_attempts"] >= max_attempts
        connection.execute(
            update(items).where(items.c.id == item_id).values(extra=extra, complete=give_up)
        )
        return give_up


# --- reading ----------------------------------------------------------------------------


def is_complete(store: Store, item_id: int) -> bool:
    with store.connect() as connection:
        return bool(
            connection.execute(select(items.c.complete).where(items.c.id == item_id)).scalar()
        )


def known_urls(store: Store, urls: Iterable[str]) -> dict[str, bool]:
    """For each canonical URL already stored (as an item or as another source's URL),
    whether its item is complete."""
    wanted = list(dict.fromkeys(urls))
    found: dict[str, bool] = {}
    with store.connect() as connection:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            for url, complete in connection.execute(
                select(items.c.url, items.c.complete).where(items.c.url.in_(chunk))
            ):
                found[url] = bool(complete)
            for url, complete in connection.execute(
                select(item_sources.c.url_seen, items.c.complete)
                .join(items, items.c.id == item_sources.c.item_id)
                .where(item_sources.c.url_seen.in_(chunk))
            ):
                found.setdefault(url, bool(complete))
    return found


def pending_items(store: Store, source_id: str | None = None) -> list[dict[str, Any]]:
    """Items whose article page is still to be fetched (of one source, or of all), each
    with the ``source_id`` that carried it."""
    query = (
        select(
            items.c.id,
            item_sources.c.source_id,
            item_sources.c.url_seen,
            items.c.title,
            items.c.summary,
            items.c.extra,
        )
        .join(item_sources, item_sources.c.item_id == items.c.id)
        .where(items.c.complete.is_(False))
    )
    if source_id is not None:
        query = query.where(item_sources.c.source_id == source_id)
    with store.connect() as connection:
        rows = connection.execute(query.order_by(items.c.id)).all()
    return [
        {
            "id": r.id,
            "source_id": r.source_id,
            "url": r.url_seen,
            "title": r.title,
            "summary": r.summary,
            "extra": r.extra or {},
        }
        for r in rows
    ]


def _sources_of(connection: Connection, ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {i: [] for i in ids}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for item_id, source_id in connection.execute(
            select(item_sources.c.item_id, item_sources.c.source_id)
            .where(item_sources.c.item_id.in_(chunk))
            .order_by(item_sources.c.first_seen, item_sources.c.source_id)
        ):
            result[item_id].append(source_id)
    return result


def _stored_item(row: Any, sources: list[str]) -> StoredItem:
    return StoredItem(
        id=row.id,
        uid=row.uid,
        url=row.url,
        title=row.title,
        summary=row.summary,
        text=row.text,
        language=row.language,
        published=row.published,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        extra=dict(row.extra or {}),
        complete=bool(row.complete),
        sources=sources,
    )


def get_items(store: Store, ids: Iterable[int]) -> list[StoredItem]:
    """Items by id, in the order given (unknown ids are left out)."""
    wanted = list(ids)
    with store.connect() as connection:
        rows = {}
        for start in range(0, len(wanted), 500):
            for row in connection.execute(
                select(items).where(items.c.id.in_(wanted[start : start + 500]))
            ):
                rows[row.id] = row
        sources = _sources_of(connection, list(rows))
    return [_stored_item(rows[i], sources[i]) for i in wanted if i in rows]


def iter_items(
    store: Store,
    since: datetime | None = None,
    until: datetime | None = None,
    *,
    batch: int = 500,
) -> Iterator[StoredItem]:
    """Items first seen in ``[since, until)``, oldest first, read in batches."""
    last_id = 0
    while True:
        query = select(items).where(items.c.id > last_id)
        if since is not None:
            query = query.where(items.c.first_seen >= since)
        if until is not None:
            query = query.where(items.c.first_seen < until)
        with store.connect() as connection:
            rows = connection.execute(query.order_by(items.c.id).limit(batch)).all()
            sources = _sources_of(connection, [r.id for r in rows])
        if not rows:
            return
        for row in rows:
            yield _stored_item(row, sources[row.id])
        last_id = rows[-1].id


def count_items(
    store: Store, *, source_id: str | None = None, since: datetime | None = None
) -> int:
    query = select(func.count(func.distinct(items.c.id))).select_from(
        items.join(item_sources, item_sources.c.item_id == items.c.id)
    )
    conditions = []
    if source_id is not None:
        conditions.append(item_sources.c.source_id == source_id)
    if since is not None:
        conditions.append(or_(items.c.first_seen >= since))
    if conditions:
        query = query.where(and_(*conditions))
    with store.connect() as connection:
        return int(connection.execute(query).scalar() or 0)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def export_rows(store: Store) -> Iterator[dict[str, Any]]:
    """Every stored item in the export contract's shape (DESIGN.md): id, url, title, summary,
    text, published, first_seen, sources, labels (as `watcher label` writes them, or None)."""
    for batch in _batched(iter_items(store), 500):
        ids = [item.id for item in batch]
        with store.connect() as connection:
            labels = dict(
                connection.execute(
                    select(item_labels.c.item_id, item_labels.c.labels).where(
                        item_labels.c.item_id.in_(ids)
                    )
                ).all()
            )
        for item in batch:
            yield {
                "id": item.id,
                "url": item.url,
                "title": item.title,
                "summary": item.summary,
                "text": item.text,
                "published": _iso(item.published),
                "first_seen": _iso(item.first_seen),
                "sources": item.sources,
                "labels": labels.get(item.id),
            }


def _batched(iterable: Iterable[StoredItem], size: int) -> Iterator[list[StoredItem]]:
    batch: list[StoredItem] = []
    for element in iterable:
        batch.append(element)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch
