"""Benchmark of the store at scale, SQLite and PostgreSQL side by side:
`python bench/store.py [--items 1000000] [--collect 2000] [--engines sqlite,postgresql]`.

Each engine gets a fresh database filled with ``--items`` items (titles and
texts stitched from the words of the team's training examples, one source
and one label row each, first seen over eight years), then the script times:

- the fill itself (rows per second of a bulk insert, FTS index included);
- a collect's insert rate: ``save_item`` (one transaction per item, the
  near-duplicate check included) for ``--collect`` new items, then for the same
  items seen again; and the one-off load of the near-duplicate index (every
  stored signature) that the first save of a crawl process pays;
- dedup lookup: ``known_urls`` for 1,000 URLs (half known), what a crawl asks
  before fetching articles;
- full-text search (``search_items``, the desk's): a frequent word, a rarer
  one, two words, a prefix, a word found in one item only;
- week selection: ``build_bulletin`` of one week (the automatic selection
  from that week's ~2,400 items with their labels).

Latencies are medians of ``--repeat`` runs. PostgreSQL is a throwaway cluster
(initdb/pg_ctl) in a temporary folder with the durability of SQLite's WAL
with synchronous=NORMAL (fsync on, asynchronous commit) and 256 MB of shared
buffers; both engines run on the same machine, one after the other.
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher.classify.training import load_examples  # noqa: E402
from watcher.models import CollectedItem  # noqa: E402
from watcher.settings import Settings  # noqa: E402
from watcher.store import Store  # noqa: E402
from watcher.store.schema import item_labels, item_sources, items  # noqa: E402

START = datetime(2019, 1, 7, tzinfo=UTC)  # a Monday: eight years of items up to 2026
SPAN = timedelta(weeks=52 * 8)
WEEK = "2023-W24"
TYPES = ["appel_a_projets", "reglementation", "actualite", "evenement", "publication"]
THEMES = ["energie", "eau", "dechets_ressources", "btp_materiaux", "territoire"]
SOURCES = [f"source-{n:02d}" for n in range(40)]


class Texts:
    """Titles and texts from the training examples' vocabulary, word frequencies kept."""

    def __init__(self, seed: int = 11) -> None:
        words = []
        for example in load_examples(ROOT / "classifiers" / "training"):
            words += f"{example['title']} {example['text']}".split()
        if not words:
            sys.exit("no training examples in classifiers/training/ to build texts from")
        rng = random.Random(seed)
        self.paragraphs = [" ".join(rng.choices(words, k=60)) for _ in range(3000)]
        self.titles = [" ".join(rng.choices(words, k=9)) for _ in range(3000)]
        self.rng = rng

    def item(self, n: int) -> tuple[str, str]:
        pick = self.rng.randrange
        text = " ".join(self.paragraphs[pick(3000)] for _ in range(3))
        return self.titles[pick(3000)], f"{text} Référence dossier{n}."


def item_row(n: int, texts: Texts, signature: Callable[[int], bytes | None]) -> dict[str, Any]:
    title, text = texts.item(n)
    seen = START + SPAN * (n / max(FILL_N, 1))
    url = f"https://veille.example.org/{SOURCES[n % len(SOURCES)]}/article-{n}"
    return {
        "id": n + 1,
        "uid": hashlib.sha256(url.encode()).hexdigest()[:20],
        "url": url,
        "title": title,
        "summary": text[:200],
        "text": text,
        "language": "fr",
        "published": seen - timedelta(days=1),
        "first_seen": seen,
        "last_seen": seen,
        "content_hash": hashlib.sha256(text.encode()).hexdigest(),
        "minhash": signature(n),
        "extra": {},
        "complete": True,
    }


FILL_N = 0


def fill(store: Store, n: int, texts: Texts, batch: int = 5000) -> float:
    """Bulk insert of n items with their source and labels; returns rows per second."""
    import numpy as np

    generator = np.random.default_rng(5)

    def signature(_n: int) -> bytes:
        return generator.integers(0, 2**32, size=128, dtype=np.uint32).tobytes()

    started = time.perf_counter()
    for first in range(0, n, batch):
        rows = [item_row(i, texts, signature) for i in range(first, min(n, first + batch))]
        with store.begin() as conn:
            conn.execute(items.insert(), rows)
            conn.execute(
                item_sources.insert(),
                [
                    {
                        "item_id": r["id"],
                        "source_id": r["url"].split("/")[3],
                        "url_seen": r["url"],
                        "first_seen": r["first_seen"],
                    }
                    for r in rows
                ],
            )
            conn.execute(item_labels.insert(), [label_row(r["id"]) for r in rows])
        done = min(n, first + batch)
        if done % 100_000 == 0 or done == n:
            rate = done / (time.perf_counter() - started)
            print(f"    {done:>9,} items ({rate:,.0f}/s)", flush=True)
    if not store.is_sqlite:
        with store.begin() as conn:  # the sequence after the ids given
            conn.exec_driver_sql("SELECT setval('items_id_seq', (SELECT max(id) FROM items))")
            conn.exec_driver_sql("ANALYZE")
    return n / (time.perf_counter() - started)


def label_row(item_id: int) -> dict[str, Any]:
    rng = random.Random(item_id)
    relevant = rng.random() < 0.3
    return {
        "item_id": item_id,
        "labels": {
            "relevant": relevant,
            "type": rng.choice(TYPES) if relevant else None,
            "themes": rng.sample(THEMES, 2) if relevant else [],
            "axes": [],
            "scope": "grand_est" if relevant else None,
            "deadline": None,
        },
        "scores": {"relevant": round(rng.random(), 3)},
        "explanations": {},
        "model_version": "bench",
        "input_hash": "x",
        "labelled_at": START,
    }


def median_ms(function: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def measure(stores: dict[str, Store], n: int, args: argparse.Namespace, texts: Texts) -> dict:
    """Each figure is taken on every engine in turn, so a busy machine weighs on both."""
    from watcher.publish.bulletin import build_bulletin
    from watcher.store import items as store_items
    from watcher.store.desk import search_items

    figures: dict[str, dict[str, float]] = {}

    def each(label: str, function: Callable[[Store], float]) -> None:
        figures[label] = {engine: function(store) for engine, store in stores.items()}

    def load_index(store: Store) -> float:
        started = time.perf_counter()
        with store.connect() as conn:
            store_items._near_index(store, conn, store_items.DEFAULT_THRESHOLD)
        return time.perf_counter() - started

    each("near-dup index load s", load_index)
    new = []
    for k in range(args.collect):
        title, text = texts.item(n + k)
        new.append(CollectedItem(source_id="bench", url=f"https://nouveau.example.org/{k}",
                                 title=title, text=text, language="fr"))  # fmt: skip

    def collect(store: Store) -> float:
        started = time.perf_counter()
        for item in new:
            store_items.save_item(store, item)
        return len(new) / (time.perf_counter() - started)

    each("collect new items/s", collect)
    each("collect seen items/s", collect)

    rng = random.Random(3)
    urls = [
        f"https://veille.example.org/{SOURCES[i % len(SOURCES)]}/article-{i}"
        for i in rng.sample(range(n), min(500, n))
    ] + [f"https://inconnu.example.org/{k}" for k in range(500)]
    each(
        "dedup known_urls(1000) ms",
        lambda store: median_ms(lambda: store_items.known_urls(store, urls), args.repeat),
    )

    common, rare = _frequent_words(texts)
    queries = {
        "frequent word": common[0],
        "rarer word": rare,
        "two words": f"{common[1]} {common[2]}",
        "prefix": common[3][:4],
        "one item": f"dossier{n // 2}",
    }
    for label, query in queries.items():
        hits: dict[str, float] = {}

        def search(store: Store, q: str = query, found: dict = hits) -> float:
            found[store.engine.dialect.name] = len(search_items(store, q))  # and warm
            return median_ms(lambda: search_items(store, q), args.repeat)

        each(f"search {label} ms", search)
        figures[f"  ({query}: results)"] = hits

    settings = Settings()

    def select_week(store: Store) -> float:
        build_bulletin(store, WEEK, settings)  # warm
        return median_ms(lambda: build_bulletin(store, WEEK, settings), args.repeat)

    each("week selection ms", select_week)
    return figures


def _frequent_words(texts: Texts) -> tuple[list[str], str]:
    counts: dict[str, int] = {}
    for paragraph in texts.paragraphs:
        for word in set(paragraph.lower().split()):
            if word.isalpha() and len(word) > 5:
                counts[word] = counts.get(word, 0) + 1
    ranked = sorted(counts, key=counts.get, reverse=True)
    return ranked[:4], ranked[len(ranked) // 3]


def database_mb(store: Store, folder: Path) -> float:
    if store.is_sqlite:
        return sum(p.stat().st_size for p in folder.glob("bench.db*")) / (1 << 20)
    with store.connect() as conn:
        return conn.exec_driver_sql("SELECT pg_database_size('bench')").scalar() / (1 << 20)


def run(engines: list[str], args: argparse.Namespace, folder: Path) -> dict:
    import datasketch  # noqa: F401 - imported before the index load is timed

    from watcher.store.pg_cluster import TempCluster

    texts = Texts()
    stores: dict[str, Store] = {}
    fill_rates: dict[str, float] = {}
    cluster = None
    try:
        for engine in engines:
            if engine == "sqlite":
                store = Store(folder / "bench.db")
            else:
                settings = {"fsync": "on", "full_page_writes": "on", "synchronous_commit": "off",
                            "shared_buffers": "256MB", "max_wal_size": "4GB"}  # fmt: skip
                cluster = TempCluster(settings=settings).start()
                store = Store(cluster.create_database("bench"))
            stores[store.engine.dialect.name] = store
            print(f"  {engine}: filling {args.items:,} items…", flush=True)
            fill_rates[store.engine.dialect.name] = fill(store, args.items, Texts())
        figures = {"fill rows/s": fill_rates}
        figures.update(measure(stores, args.items, args, texts))
        figures["database MB"] = {e: database_mb(s, folder) for e, s in stores.items()}
    finally:
        for store in stores.values():
            store.close()
        if cluster is not None:
            cluster.stop()
    return figures


def main() -> None:
    global FILL_N
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--collect", type=int, default=2000)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--engines", default="sqlite,postgresql")
    args = parser.parse_args()
    FILL_N = args.items
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    if "postgresql" in engines:
        from watcher.store.pg_cluster import find_bindir

        if find_bindir() is None:
            print("  postgresql: no server binaries (initdb, pg_ctl): measuring SQLite only")
            engines.remove("postgresql")
    print(f"Store benchmark: {args.items:,} items, {args.collect:,} collected, "
          f"median of {args.repeat}")  # fmt: skip
    folder = Path(tempfile.mkdtemp(prefix="watcher-bench-store-"))
    try:
        figures = run(engines, args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print()
    header = f"{'':<30}" + "".join(f"{e:>14}" for e in engines)
    if len(engines) == 2:
        header += f"{'pg/sqlite':>12}"
    print(header)
    for key, by_engine in figures.items():
        values = [by_engine[e] for e in engines]
        line = f"{key:<30}" + "".join(f"{v:>14,.1f}" for v in values)
        if len(engines) == 2 and values[0]:
            line += f"{values[1] / values[0]:>11.2f}x"
        print(line)


if __name__ == "__main__":
    main()
