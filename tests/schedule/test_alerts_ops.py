"""Alert digest (one mail), retention, backup, status and the CLI."""

from __future__ import annotations

import json
import logging
import sqlite3
import subprocess
from datetime import UTC, datetime, timedelta

import time_machine
from click.testing import CliRunner
from sqlalchemy import insert, select

from watcher.cli import main
from watcher.models import CollectedItem, SourceReport
from watcher.schedule import jobs, open_alerts
from watcher.schedule.alerts import alert
from watcher.schedule.logs import JsonFormatter, KeyValueFormatter, log_event
from watcher.schedule.ops import backup, status
from watcher.schedule.runtime import install, run_job
from watcher.store import delivery as store_delivery
from watcher.store import jobs as store_jobs
from watcher.store.crawl_state import record_source_run, start_run
from watcher.store.items import save_item
from watcher.store.schema import items, raw_bodies

from .conftest import PARIS, make_settings

SOURCES = """
sources:
  - {id: ademe, name: ADEME, kind: rss, url: "http://127.0.0.1:9/a.xml", check_every: 6h}
  - {id: region, name: Région, kind: rss, url: "http://127.0.0.1:9/r.xml", check_every: 1d}
"""


def _runtime_with_smtp(runtime, tmp_path, port):  # noqa: ANN001, ANN202
    runtime.settings = make_settings(tmp_path, smtp_port=port, failing_runs_alert=2)
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES, encoding="utf-8")
    runtime.sources_path = path
    for name in ("health", "digest", "retention"):
        runtime.jobs[name] = getattr(jobs, name)
    install(runtime)
    return runtime


def test_alerts_of_a_bad_night_go_out_in_one_digest(runtime, store, smtp, tmp_path):
    inbox, port = smtp
    _runtime_with_smtp(runtime, tmp_path, port)
    old = datetime.now(UTC) - timedelta(days=10)
    for _ in range(3):  # ademe failed three runs in a row
        record_source_run(
            store,
            start_run(store),
            SourceReport("ademe", "failed", error_kind="dns", error_message="no such host"),
            old,
        )
    record_source_run(store, start_run(store), SourceReport("region", "ok"), old)
    # Tried once since, and failed: not yet "failing" (2 in a row), but silent for 10 days.
    record_source_run(
        store,
        start_run(store),
        SourceReport("region", "failed", error_kind="timeout"),
        datetime.now(UTC) - timedelta(days=1),
    )
    alert(runtime, "crawl_timeout", "collecte 7", "arrêtée après 3660 s (limite 3600 s)")
    alert(runtime, "send_failures", "2026-W47", "2026-W47: 40 sent, 2 failed")
    # The week still has a failed message: the alert is a lasting condition.
    reader = store_delivery.insert_subscriber(store, email="b@example.org")
    row = store_delivery.begin_attempt(
        store, week="2026-W47", edition=1, subscriber_id=reader, email="b@example.org", items=1
    )
    store_delivery.finish_attempt(store, row["id"], status="failed", error="550 no such user")

    assert run_job("health") == "ok"
    assert len(inbox.messages) == 1
    msg = inbox.messages[0]
    assert inbox.envelopes[0][1] == ["equipe@example.org"]
    body = msg.get_content()
    assert " ".join(msg["Subject"].split()) == (
        "[veille] 4 alertes : collectes interrompues (1), envois en échec (1), "
        "sources en échec (1), sources muettes (1)"
    )
    for expected in (
        "Sources en échec",
        "ademe",
        "dns",
        "Sources muettes",
        "region",
        "Collectes interrompues",
        "Envois en échec",
        "2 failed",
    ):
        assert expected in body, expected
    assert msg["Auto-Submitted"] == "auto-generated"

    # The next night: the same conditions persist, nothing new: no second mail.
    assert run_job("health") == "ok"
    assert len(inbox.messages) == 1
    kinds = sorted(a["kind"] for a in open_alerts(store))
    # The crawl timeout was an event (reported, closed); the conditions stay open.
    assert kinds == ["send_failures", "source_failing", "source_silent"]


def test_a_digest_that_cannot_be_sent_is_kept_for_the_next(runtime, store, tmp_path, smtp):
    inbox, port = smtp
    _runtime_with_smtp(runtime, tmp_path, 1)  # nothing listens on port 1
    alert(runtime, "disk_full", "/srv", "3 % libre")
    assert run_job("digest") == "failed"
    # Kept, and the failure itself is an alert for the next digest.
    kinds = {a["kind"] for a in store_jobs.undigested_alerts(store)}
    assert kinds == {"disk_full", "job_failed"}
    _runtime_with_smtp(runtime, tmp_path, port)
    assert run_job("digest") == "ok"
    assert len(inbox.messages) == 1 and store_jobs.undigested_alerts(store) == []
    assert "Connection refused" in inbox.messages[0].get_content()
    assert [a["kind"] for a in open_alerts(store)] == ["disk_full"]


def test_a_health_check_whose_digest_cannot_be_sent_says_so(runtime, store, tmp_path):
    """`watcher status` read "health → ok … digest: 0 alerts" while the team's mail
    server refused every digest and the alerts piled up unread."""
    _runtime_with_smtp(runtime, tmp_path, 1)  # nothing listens on port 1
    alert(runtime, "disk_full", "/srv", "3 % libre")
    assert run_job("health") == "failed"
    last = store_jobs.last_job_runs(store)["health"]
    assert last["detail"].startswith("digest not sent: mail to equipe@example.org via 127.0.0.1:1")
    assert "Connection refused" in last["detail"] and "\n" not in last["detail"]
    assert {a["kind"] for a in store_jobs.undigested_alerts(store)} == {"disk_full"}


def test_disk_nearly_full_raises_an_alert(runtime, store, tmp_path):
    _runtime_with_smtp(runtime, tmp_path, 1)
    runtime.settings.schedule.disk_free_alert_percent = 100.0
    run_job("health")
    assert [a["kind"] for a in open_alerts(store)] == ["disk_full"]
    runtime.settings.schedule.disk_free_alert_percent = 0.0
    run_job("health")
    assert open_alerts(store) == []


def _item_with_body(store, n: int, fetched: datetime, size: int) -> int:  # noqa: ANN001
    item_id, _ = save_item(
        store, CollectedItem(source_id="ademe", url=f"http://127.0.0.1/{n}", title=f"Item {n}")
    )
    with store.begin() as conn:
        conn.execute(
            insert(raw_bodies).values(
                item_id=item_id, fetched_at=fetched, content_type="text/html", body=b"x" * size
            )
        )
    return item_id


# A Wednesday noon: run on a Sunday just before midnight, the item saved at the start was
# no longer "this week" for the status read at the end (items_this_week == 0).
@time_machine.travel(datetime(2026, 11, 25, 12, 0, tzinfo=PARIS), tick=True)
def test_retention_drops_old_raw_bodies_only_and_says_what_it_saved(runtime, store, tmp_path):
    _runtime_with_smtp(runtime, tmp_path, 1)
    now = datetime.now(UTC)
    _item_with_body(store, 1, now - timedelta(days=200), 1000)
    _item_with_body(store, 2, now - timedelta(days=91), 500)
    _item_with_body(store, 3, now - timedelta(days=10), 300)
    assert run_job("retention") == "ok"
    with store.connect() as conn:
        assert conn.execute(select(raw_bodies.c.item_id)).scalars().all() == [3]
        assert len(conn.execute(select(items.c.id)).all()) == 3  # items are never purged
    totals = store_jobs.retention_totals(store)
    assert (totals["rows_dropped"], totals["bytes_dropped"]) == (2, 1500)
    info = status(store, runtime.settings, [])
    assert info["retention"]["bytes_dropped"] == 1500
    assert info["store"]["raw_bodies"] == 1 and info["items_this_week"] >= 1


def test_backup_is_a_consistent_readable_copy_with_the_model(runtime, store, tmp_path):
    _item_with_body(store, 1, datetime.now(UTC), 10)
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.joblib").write_bytes(b"weights")
    report = backup(store, runtime.settings, tmp_path / "bk")
    assert report.model_files == 1
    assert (tmp_path / "bk" / "model" / "model.joblib").read_bytes() == b"weights"
    manifest = json.loads((tmp_path / "bk" / "manifest.json").read_text())
    assert manifest["database_bytes"] == report.database_bytes > 0
    if store.is_sqlite:
        copy = sqlite3.connect(tmp_path / "bk" / "watcher.db")
        assert copy.execute("SELECT title FROM items").fetchall() == [("Item 1",)]
        assert copy.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    else:  # pg_dump's archive, read back by pg_restore as the SQL that rebuilds it
        from watcher.store.pg_cluster import find_bindir

        assert manifest["database"] == "watcher.pgdump" and "pg_restore" in manifest["restore"]
        script = subprocess.run(
            [str(find_bindir() / "pg_restore"), "-f", "-", str(tmp_path / "bk" / "watcher.pgdump")],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        assert "CREATE TABLE public.items" in script and "\tItem 1\t" in script


def test_a_killed_backups_partial_copy_is_removed_by_the_next(runtime, store, tmp_path):
    ended = subprocess.Popen(["true"])  # noqa: S607 - a pid whose process has ended
    ended.wait()
    dead_pid = ended.pid
    backups = tmp_path / "backups"
    runtime.settings.schedule.backup_dir = backups
    left = backups / f".20261201-030000.partial-{dead_pid}"
    left.mkdir(parents=True)
    (left / "watcher.db").write_bytes(b"half a copy")
    unrelated = backups / ".notes.partial-x"
    unrelated.mkdir()
    report = backup(store, runtime.settings)
    assert report.folder.parent == backups and not left.exists()
    assert unrelated.exists()
    # `--to` elsewhere: only that backup's own leftovers are ours to remove
    elsewhere = tmp_path / "home"
    theirs = elsewhere / f".20261201-030000.partial-{dead_pid}"
    mine = elsewhere / f".bk.partial-{dead_pid}"
    theirs.mkdir(parents=True)
    mine.mkdir()
    backup(store, runtime.settings, elsewhere / "bk")
    assert theirs.exists() and not mine.exists()


def test_cli_list_run_status_backup(tmp_path, smtp):
    _inbox, port = smtp
    settings = tmp_path / "watcher.toml"
    settings.write_text(
        f'[schedule]\nlog_file = "{tmp_path / "w.log"}"\nbackup_dir = "{tmp_path / "bk"}"\n'
        f'[delivery]\nsmtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_security = "none"\n',
        encoding="utf-8",
    )
    (tmp_path / "sources.yaml").write_text(SOURCES, encoding="utf-8")
    env = {
        "WATCHER_DB": str(tmp_path / "w.db"),
        "WATCHER_SETTINGS": str(settings),
        "WATCHER_SOURCES": str(tmp_path / "sources.yaml"),
    }
    runner = CliRunner()
    listed = runner.invoke(main, ["schedule", "--list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert f"created a new database at {tmp_path / 'w.db'}" in listed.stderr
    lines = listed.stdout.splitlines()
    assert [line.split()[0] for line in lines] == [
        "collect",
        "draft",
        "send",
        "health",
        "retention",
    ]
    assert "Mon" in lines[2] and "08:00" in lines[2]

    ran = runner.invoke(main, ["run", "health"], env=env)
    assert ran.exit_code == 0, ran.output
    assert "event=job_done job=health outcome=ok" in (tmp_path / "w.log").read_text()

    unknown = runner.invoke(main, ["run", "nope"], env=env)
    assert unknown.exit_code == 2 and "unknown job" in unknown.output

    shown = runner.invoke(main, ["status"], env=env)
    assert shown.exit_code == 0, shown.output
    assert "health" in shown.output and "→ ok" in shown.output and "Open alerts: 0" in shown.output
    assert "Last send: none" in shown.output

    saved = runner.invoke(main, ["backup", "--to", str(tmp_path / "b1")], env=env)
    assert saved.exit_code == 0 and (tmp_path / "b1" / "w.db").exists()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if isinstance(handler.formatter, KeyValueFormatter | JsonFormatter):
            root.removeHandler(handler)
            handler.close()


def test_log_lines_are_one_event_each_in_text_or_json():
    record = logging.makeLogRecord(
        {
            "name": "watcher.schedule",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "job_done",
            "event": "job_done",
            "fields": {"job": "send", "detail": "2026-W48: 3 sent", "duration_s": 1.5},
            "created": datetime(2026, 11, 30, 7, 0, 2, tzinfo=UTC).timestamp(),
        }
    )
    text = KeyValueFormatter(PARIS).format(record)
    assert text == (
        '2026-11-30T08:00:02+01:00 INFO event=job_done job=send detail="2026-W48: 3 sent" '
        "duration_s=1.5"
    )
    data = json.loads(JsonFormatter(PARIS).format(record))
    assert data["event"] == "job_done" and data["job"] == "send" and data["duration_s"] == 1.5
    log_event("plain", x=1)  # no handler configured: must not fail


def test_operations_doc_lists_every_schedule_setting_with_its_default():
    from pathlib import Path

    from watcher.settings import ScheduleSettings, _toml_value

    doc = (Path(__file__).parents[2] / "docs" / "operations.md").read_text(encoding="utf-8")
    defaults = ScheduleSettings()
    missing = [
        key
        for key in ScheduleSettings.model_fields
        if f"{key} = {_toml_value(getattr(defaults, key))}" not in doc
    ]
    assert not missing, f"docs/operations.md: [schedule] block is stale for {missing}"


def test_cli_log_json_writes_one_json_object_per_line(tmp_path):
    log = tmp_path / "w.log"
    settings = tmp_path / "watcher.toml"
    settings.write_text(f'[schedule]\nlog_file = "{log}"\n', encoding="utf-8")
    env = {"WATCHER_DB": str(tmp_path / "w.db"), "WATCHER_SETTINGS": str(settings)}
    try:
        result = CliRunner().invoke(main, ["run", "retention", "--log-json"], env=env)
    finally:
        root = logging.getLogger()
        for handler in list(root.handlers):
            if isinstance(handler.formatter, KeyValueFormatter | JsonFormatter):
                root.removeHandler(handler)
                handler.close()
    assert result.exit_code == 0, result.output
    events = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    done = [e for e in events if e["event"] == "job_done"]
    assert done and done[0]["job"] == "retention" and done[0]["outcome"] == "ok"
    assert done[0]["time"].endswith(("+01:00", "+02:00"))


def test_an_invalid_sources_file_still_reaches_the_team(runtime, store, smtp, tmp_path):
    inbox, port = smtp
    _runtime_with_smtp(runtime, tmp_path, port)
    runtime.sources_path.write_text("sources:\n  - {id: Bad Id, kind: rss}\n", encoding="utf-8")
    assert run_job("health") == "failed"
    assert len(inbox.messages) == 1
    body = inbox.messages[0].get_content()
    assert "Configuration invalide" in body and "sources.yaml" in body


def test_a_source_not_tried_since_its_last_success_is_not_silent(runtime, store, tmp_path):
    # The scheduler was off for ten days: the health check at start must not cry wolf.
    _runtime_with_smtp(runtime, tmp_path, 1)
    old = datetime.now(UTC) - timedelta(days=10)
    record_source_run(store, start_run(store), SourceReport("region", "ok"), old)
    run_job("health")
    assert open_alerts(store) == []
