"""Several writers at once, each with its own connection pool (as several processes):
no duplicate, no lost update, no error, on SQLite (one writer at a time) and on
PostgreSQL (writers side by side, row locks and ON CONFLICT)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from watcher.models import CollectedItem, SourceReport
from watcher.store import Store, crawl_state, delivery, jobs
from watcher.store.bulletins import set_entry
from watcher.store.desk import record_decision
from watcher.store.items import save_item
from watcher.store.labels import get_overrides, set_override
from watcher.store.schema import item_sources, items

WRITERS = 6


def race(db_url: str, work: Callable[[Store, int], Any]) -> list[Any]:
    """Run ``work(store, n)`` in WRITERS threads released at the same moment."""
    stores = [Store(db_url, migrate=False) for _ in range(WRITERS)]
    barrier = threading.Barrier(WRITERS)
    results: list[Any] = [None] * WRITERS
    errors: list[BaseException] = []

    def run(n: int) -> None:
        barrier.wait()
        try:
            results[n] = work(stores[n], n)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(n,)) for n in range(WRITERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    for s in stores:
        s.close()
    assert not errors, errors
    return results


def _count(store: Store, query: Any) -> int:
    with store.connect() as conn:
        return int(conn.execute(query).scalar_one())


def test_one_item_saved_by_several_sources_at_once(store, db_url) -> None:  # noqa: ANN001
    def work(s: Store, n: int) -> tuple[int, bool]:
        item = CollectedItem(source_id=f"source{n}", url="https://ex.org/a?utm_source=x",
                             title="Titre", summary="Résumé", complete=False)  # fmt: skip
        return save_item(s, item)

    results = race(db_url, work)
    assert len({item_id for item_id, _ in results}) == 1
    assert sum(new for _, new in results) == 1
    assert _count(store, select(func.count()).select_from(items)) == 1
    assert _count(store, select(func.count()).select_from(item_sources)) == WRITERS


def test_curators_corrections_of_one_item_are_all_kept(store, db_url) -> None:  # noqa: ANN001
    item_id, _ = save_item(store, CollectedItem(source_id="s", url="https://ex.org/b", title="T"))
    fields = ["type", "themes", "axes", "scope", "deadline", "relevant"]
    values = ["actualite", ["eau"], ["mutualisation"], "france", "2027-01-01", True]

    race(db_url, lambda s, n: set_override(s, item_id, {fields[n]: values[n]}, f"user{n}"))
    merged = get_overrides(store, [item_id])[item_id]["labels"]
    assert merged == dict(zip(fields, values, strict=True))


def test_one_entry_per_item_and_week(store, db_url) -> None:  # noqa: ANN001
    item_id, _ = save_item(store, CollectedItem(source_id="s", url="https://ex.org/c", title="T"))
    befores = race(db_url, lambda s, n: set_entry(s, "2026-W48", item_id, user=f"u{n}", position=n))
    assert sum(before is None for before in befores) == 1


def test_one_message_per_subscriber_even_with_two_senders(store, db_url) -> None:  # noqa: ANN001
    subscriber = delivery.insert_subscriber(store, email="a@example.org")

    def work(s: Store, n: int) -> dict | None:
        return delivery.begin_attempt(s, week="2026-W48", edition=1, subscriber_id=subscriber,
                                      email="a@example.org", items=3)  # fmt: skip

    claims = race(db_url, work)
    assert sum(claim is not None for claim in claims) == 1
    [row] = delivery.list_deliveries(store)
    assert row["attempts"] == 1 and row["status"] == "pending"


def test_an_undo_is_recorded_once(store, db_url) -> None:  # noqa: ANN001
    decision = record_decision(store, user="u", field="status", before=None, after="kept")

    def work(s: Store, n: int) -> str:
        try:
            record_decision(s, user="u", field="status", before="kept", after=None,
                            undo_of=decision)  # fmt: skip
        except Exception as exc:  # noqa: BLE001
            return str(exc)
        return "undone"

    outcomes = race(db_url, work)
    assert outcomes.count("undone") == 1
    assert outcomes.count(f"decision {decision} was already undone") == WRITERS - 1


def test_one_open_alert_per_kind_and_subject(store, db_url) -> None:  # noqa: ANN001
    new = race(db_url, lambda s, n: jobs.raise_alert(s, "source_failing", "ademe", f"try {n}"))
    assert sum(new) == 1
    [alert] = jobs.open_alerts(store)
    assert alert["count"] == WRITERS


def test_crawl_state_upserts_from_several_workers(store, db_url) -> None:  # noqa: ANN001
    run_id = crawl_state.start_run(store)
    started = datetime.now(UTC)

    def work(s: Store, n: int) -> None:
        crawl_state.save_validators(s, "https://ex.org/feed", etag=f'"v{n}"', last_modified=None,
                                    status=200)  # fmt: skip
        crawl_state.back_off_host(s, "ex.org", 1, f"429 number {n}")
        crawl_state.save_robots(s, "https://ex.org", 200, b"User-agent: *\n")
        crawl_state.save_token(s, "api", f"token{n}", timedelta(hours=1))
        crawl_state.add_mark(s, "jorf", "JORF_20261127.tar.gz")
        crawl_state.record_source_run(s, run_id, SourceReport(source_id="ademe", status="ok"),
                                      started)  # fmt: skip

    race(db_url, work)
    assert crawl_state.get_validators(store, "https://ex.org/feed")["etag"].startswith('"v')
    assert list(crawl_state.backed_off_hosts(store)) == ["ex.org"]
    assert crawl_state.get_token(store, "api").startswith("token")
    assert crawl_state.marks(store, "jorf") == {"JORF_20261127.tar.gz"}
    assert crawl_state.recorded_sources(store, run_id) == {"ademe"}


def test_processes_opening_a_new_database_at_once_migrate_it_once(db_url) -> None:  # noqa: ANN001
    results = race(db_url, lambda s, n: Store(s.url).close())
    assert results == [None] * WRITERS
    with Store(db_url, migrate=False) as store, store.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1


def test_a_new_sqlite_file_held_by_another_writer_opens_once_it_is_released(tmp_path) -> None:  # noqa: ANN001
    """A writer holding the new file's lock makes SQLite refuse the switch to WAL at
    once (no busy wait): the store retries instead of failing the command."""
    import sqlite3

    path = tmp_path / "watcher.db"
    holder = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, holder.rollback)
    release.start()
    try:
        with Store(path) as store, store.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("SELECT count(*) FROM alembic_version").scalar() == 1
    finally:
        release.join()
        holder.close()
