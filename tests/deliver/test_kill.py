"""`watcher send` killed (SIGKILL) in the middle of a run, then run again: each
subscriber has exactly one message, and the one in flight is reported uncertain."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

from tests.desk.builder import WEEK
from watcher.store.delivery import list_deliveries

from .conftest import smtp_settings
from .test_send import EXPECTED


def _run_send(env: dict[str, str], *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "watcher", "send", "--week", WEEK, *extra],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_killed_send_then_rerun_delivers_each_message_once(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    toml = tmp_path / "watcher.toml"
    toml.write_text(
        "[delivery]\n"
        f'smtp_host = "127.0.0.1"\nsmtp_port = {port}\nsmtp_security = "none"\n'
        "rate_per_minute = 60000\n"
        f'[publish]\noutput_dir = "{settings.publish.output_dir}"\n',
        encoding="utf-8",
    )
    env = {**os.environ, "WATCHER_DB": store.url, "WATCHER_SETTINGS": str(toml)}
    proc = _run_send(env)

    def kill_after_second(count: int) -> None:
        if count == 2:  # the server holds the message; the client never hears 250
            os.kill(proc.pid, signal.SIGKILL)

    recorder.on_message = kill_after_second
    proc.communicate(timeout=120)
    assert proc.returncode == -signal.SIGKILL
    assert len(recorder.messages) == 2

    recorder.on_message = None
    rerun = _run_send(env)
    out, err = rerun.communicate(timeout=120)
    assert rerun.returncode == 1, err  # a reader may lack the bulletin: the operator must look
    by_rcpt = recorder.by_recipient()
    assert set(by_rcpt) == set(EXPECTED)
    assert {e: len(m) for e, m in by_rcpt.items()} == dict.fromkeys(EXPECTED, 1)
    assert "uncertain" in err
    statuses = sorted(r["status"] for r in list_deliveries(store, week=WEEK))
    assert statuses.count("pending") == 1 and statuses.count("sent") == 3
