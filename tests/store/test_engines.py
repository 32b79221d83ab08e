"""The store on both engines: URLs, migrations both ways, and `watcher migrate-db`."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import inspect, select

from tests.desk.builder import WEEK, build_store
from watcher.cli import main
from watcher.models import CollectedItem
from watcher.store import Store, database_url, transfer
from watcher.store.bulletins import bulletins, new_edition, set_entry
from watcher.store.delivery import begin_attempt, insert_subscriber
from watcher.store.desk import record_decision, search_items
from watcher.store.items import save_item
from watcher.store.jobs import raise_alert
from watcher.store.labels import set_override
from watcher.store.schema import items


def test_postgresql_urls_are_read_with_psycopg() -> None:
    assert database_url("postgresql://u:p@db.example.org/watcher") == (
        "postgresql+psycopg://u:p@db.example.org/watcher"
    )
    assert database_url("postgres://u@/watcher?host=/run/pg") == (
        "postgresql+psycopg://u@/watcher?host=/run/pg"
    )
    assert database_url("postgresql+psycopg://u@h/w") == "postgresql+psycopg://u@h/w"
    assert database_url("sqlite:////tmp/x.db") == "sqlite:////tmp/x.db"


def test_migrations_go_down_to_nothing_and_up_again(store) -> None:  # noqa: ANN001
    from alembic import command

    from watcher.store import _alembic_config

    tables = set(inspect(store.engine).get_table_names())
    with store.engine.begin() as connection:
        command.downgrade(_alembic_config(connection), "base")
    assert set(inspect(store.engine).get_table_names()) <= {"alembic_version"}
    with store.engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "head")
    assert set(inspect(store.engine).get_table_names()) == tables
    save_item(store, CollectedItem(source_id="s", url="https://ex.org/1", title="Chaleur fatale"))
    assert [r["title"] for r in search_items(store, "chaleur")] == ["Chaleur fatale"]


def test_a_sources_items_are_found_through_an_index(store) -> None:  # noqa: ANN001
    """The sources page asks each source's item count and latest item: without an index
    starting with source_id each question reads the whole of item_sources."""
    indexes = {
        i["name"]: i["column_names"] for i in inspect(store.engine).get_indexes("item_sources")
    }
    assert indexes.get("ix_item_sources_source") == ["source_id", "first_seen"]
    if store.is_sqlite:
        with store.connect() as conn:
            plan = conn.exec_driver_sql(
                "EXPLAIN QUERY PLAN SELECT count(*) FROM item_sources "
                "WHERE source_id = 'ademe' AND first_seen >= '2026-01-01'"
            ).all()
        assert "ix_item_sources_source" in " ".join(str(row[-1]) for row in plan)


# --- migrate-db -------------------------------------------------------------------------


def _fill(store: Store) -> dict[str, int]:
    """Something in every kind of table: items, labels, entries, decisions, deliveries…"""
    ids = build_store(store)
    first = min(ids.values())
    set_override(store, first, {"themes": ["eau"]}, "marie")
    set_entry(store, WEEK, first, user="marie", status="kept", title="Titre corrigé")
    record_decision(store, user="marie", field="status", before=None, after="kept", week=WEEK)
    subscriber = insert_subscriber(store, email="a@example.org", themes=["eau"])
    begin_attempt(store, week=WEEK, edition=1, subscriber_id=subscriber,
                  email="a@example.org", items=2)  # fmt: skip
    raise_alert(store, "source_failing", "ademe", "HTTP 500")
    with store.begin() as conn:  # a published edition, then a draft (snapshot NULL)
        conn.execute(bulletins.insert().values(week=WEEK, edition=1, status="published",
                                               created_at=datetime.now(UTC), snapshot={"a": 1}))  # fmt: skip
    new_edition(store, WEEK, "marie")
    return ids


def _dump(store: Store) -> dict[str, list[tuple]]:
    out = {}
    with store.connect() as conn:
        for table in transfer._all_tables():
            rows = conn.execute(select(table).order_by(*table.primary_key.columns)).all()
            out[table.name] = [tuple(row) for row in rows]
    return out


def _migrate(source: str, target: str) -> Any:
    return CliRunner().invoke(main, ["migrate-db", "--from", source, "--to", target])


def test_migrate_db_moves_everything_from_sqlite_to_postgresql(tmp_path, postgres) -> None:  # noqa: ANN001
    source_path = tmp_path / "watcher.db"
    with Store(source_path) as source:
        ids = _fill(source)
        with source.begin() as conn:  # SQLite keeps NUL characters, PostgreSQL refuses them
            conn.execute(items.update().where(items.c.id == min(ids.values()))
                         .values(summary="Résumé\x00 tronqué"))  # fmt: skip
        expected = _dump(source)
    _name, target_url = postgres.new()
    result = _migrate(str(source_path), target_url.replace("postgresql+psycopg", "postgresql"))
    assert result.exit_code == 0, result.output
    assert "every table's count verified" in result.output
    with Store(target_url) as target:
        copied = _dump(target)
        for table, rows in expected.items():
            if table == "items":
                rows = [tuple(v.replace("\x00", "") if isinstance(v, str) else v for v in row)
                        for row in rows]  # fmt: skip
            assert copied[table] == rows, table
        assert "1 text value(s) lost NUL" in result.output
        with target.connect() as conn:  # a draft's snapshot is still SQL NULL
            assert conn.execute(
                select(bulletins.c.edition).where(bulletins.c.snapshot.is_(None))
            ).scalars().all() == [2]  # fmt: skip
        # The sequences start after the copied ids; the search index is filled.
        new_id, is_new = save_item(
            target, CollectedItem(source_id="s", url="https://ex.org/n", title="Nouveau")
        )
        assert is_new and new_id == max(row[0] for row in expected["items"]) + 1
        assert search_items(target, "chaleur fatale")
    # Once done, a second run refuses to copy over the data.
    again = _migrate(str(source_path), target_url)
    assert again.exit_code == 1
    assert "already holds data" in again.output and "items (" in again.output


def test_migrate_db_that_fails_half_way_leaves_the_target_empty(
    tmp_path, postgres, monkeypatch
) -> None:  # noqa: ANN001, E501
    source_path = tmp_path / "watcher.db"
    with Store(source_path) as source:
        _fill(source)
    _name, target_url = postgres.new()
    real_copy = transfer._copy_table

    def failing(read, out, table, report, progress):  # noqa: ANN001, ANN202
        if table.name == "item_labels":
            raise transfer.StoreError("the network went down")
        return real_copy(read, out, table, report, progress)

    monkeypatch.setattr(transfer, "_copy_table", failing)
    result = _migrate(str(source_path), target_url)
    assert result.exit_code == 1 and "the network went down" in result.output
    with Store(target_url) as target, target.connect() as conn:
        assert conn.execute(select(items.c.id)).all() == []
    monkeypatch.setattr(transfer, "_copy_table", real_copy)
    assert _migrate(str(source_path), target_url).exit_code == 0


def test_migrate_db_back_from_postgresql_to_sqlite(tmp_path, postgres) -> None:  # noqa: ANN001
    _name, source_url = postgres.new()
    with Store(source_url) as source:
        _fill(source)
        expected = _dump(source)
    target = tmp_path / "back.db"
    result = _migrate(source_url, str(target))
    assert result.exit_code == 0, result.output
    with Store(target) as back:
        assert _dump(back) == expected
        assert search_items(back, "chaleur fatale")  # the FTS5 index filled by its triggers


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        ("missing.db", "{tmp}/t.db", "missing.db: no such database to copy from"),
        ("{tmp}/s.db", "{tmp}/s.db", "the source and the target are the same"),
    ],
)
def test_migrate_db_wrong_arguments(tmp_path: Path, source: str, target: str, message: str) -> None:
    Store(tmp_path / "s.db").close()
    result = _migrate(source.format(tmp=tmp_path), target.format(tmp=tmp_path))
    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output
    assert not (tmp_path / "missing.db").exists()


def test_text_with_nul_characters_is_saved_without_them(store) -> None:  # noqa: ANN001
    from watcher.store.items import get_items

    item = CollectedItem(source_id="s", url="https://ex.org/pdf", title="Rapport\x00",
                         text="Texte extrait\x00 d'un PDF.")  # fmt: skip
    item_id, _ = save_item(store, item)
    [saved] = get_items(store, [item_id])
    assert (saved.title, saved.text) == ("Rapport", "Texte extrait d'un PDF.")


def test_a_postgresql_server_restarted_under_an_open_store_is_reconnected(postgres) -> None:  # noqa: ANN001
    """A long-running desk or scheduler outlives a server restart (an upgrade, a
    failover): its next query used a dead pooled connection and failed."""
    from watcher.store.delivery import list_subscribers
    from watcher.store.pg_cluster import TempCluster

    with TempCluster() as cluster:
        store = Store(cluster.create_database("restarted"))
        insert_subscriber(store, email="a@example.org")
        cluster.restart()
        assert [s["email"] for s in list_subscribers(store)] == ["a@example.org"]
        store.close()


# --- backup of a PostgreSQL database ------------------------------------------------------

_SECRET_URL = "postgresql+psycopg://veille:s3cret-pw@db.example:5432/watcher"


def _postgresql_store() -> Any:
    """What `_dump_postgresql` reads of a store, without a server to reach."""
    from types import SimpleNamespace

    from watcher.store import _shown

    return SimpleNamespace(url=_SECRET_URL, shown=_shown(_SECRET_URL), path=None)


def test_a_missing_pg_dump_is_said_without_the_password(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    import shutil

    from watcher.exceptions import StoreError
    from watcher.store import jobs, pg_cluster

    monkeypatch.setattr(shutil, "which", lambda _name: None)
    monkeypatch.setattr(pg_cluster, "find_bindir", lambda: None)
    with pytest.raises(StoreError) as raised:
        jobs.backup_database(_postgresql_store(), tmp_path / "watcher.pgdump")
    assert "pg_dump is needed" in str(raised.value) and "db.example" in str(raised.value)
    assert "s3cret-pw" not in str(raised.value)


def test_pg_dump_gets_the_password_from_its_environment_not_its_arguments(
    tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    """Arguments are readable by every user of the machine (`ps`) while the dump runs."""
    import shutil
    import subprocess

    from watcher.store import jobs

    calls: list[tuple[list[str], dict[str, str]]] = []

    def fake_run(args: list[str], **options: Any) -> subprocess.CompletedProcess:
        calls.append((args, options.get("env") or {}))
        Path(args[args.index("--file") + 1]).write_bytes(b"PGDMP")
        return subprocess.CompletedProcess(args, 0, "", "")

    monkeypatch.setattr(shutil, "which", lambda _name: "/usr/bin/pg_dump")
    monkeypatch.setattr(subprocess, "run", fake_run)
    target = tmp_path / "watcher.pgdump"
    assert jobs.backup_database(_postgresql_store(), target) == 5
    [(args, env)] = calls
    assert "s3cret-pw" not in " ".join(args)
    assert env.get("PGPASSWORD") == "s3cret-pw"
    assert "postgresql://veille@db.example:5432/watcher" in args
