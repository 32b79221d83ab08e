"""The crawl process (watcher.collect.process): it never outlives its caller unlocked, it
is stopped cleanly then killed, and a Ctrl-C is forwarded once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import psutil
import pytest

from tests.collect.conftest import Reply, article, rss
from tests.shared import wait_for
from watcher.collect.lock import CrawlBusy, crawl_lock
from watcher.collect.process import ORPHAN_GRACE_S, run_child

# A crawl child stand-in: prints a line, then waits; on SIGINT it exits 130 (cleanly)
# unless told to ignore it.
CHILD = textwrap.dedent(
    """
    import signal, sys, time
    if sys.argv[1] == "stubborn":
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGINT, lambda *_: sys.exit(130))
    print("ready", flush=True)
    time.sleep(60)
    """
)


def child(mode: str) -> list[str]:
    return [sys.executable, "-c", CHILD, mode]


def gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def test_a_child_that_ignores_the_clean_stop_is_killed_after_the_grace(tmp_path) -> None:  # noqa: ANN001
    lines: list[str] = []
    started = time.monotonic()
    with open(tmp_path / "log", "w") as log:
        end = run_child(
            child("stubborn"), lock=None, time_limit_s=0.5, grace_s=0.5, stderr=log,
            on_line=lines.append,
        )  # fmt: skip
    assert end.timed_out and end.killed and not end.stopped
    assert end.returncode == -signal.SIGKILL
    assert lines == ["ready\n"]
    # Killed, not waited for: the child sleeps 60 s. The margin is wide for a busy machine
    # (start-up, then the limit, the grace and the polls, each of them slowed down).
    assert time.monotonic() - started < 30


def test_a_stop_request_stops_the_child_cleanly(tmp_path) -> None:  # noqa: ANN001
    stop = threading.Event()
    pids: list[int] = []

    def stop_once_ready(line: str) -> None:
        # Not after a fixed 0.5 s: a child slow to start on a busy machine got the
        # SIGINT before its handler was set, and died of it (-2, not 130).
        if line == "ready\n":
            stop.set()

    with open(tmp_path / "log", "w") as log:
        end = run_child(
            child("clean"), lock=None, time_limit_s=60, grace_s=5, stderr=log, stop=stop,
            on_start=pids.append, on_line=stop_once_ready,
        )  # fmt: skip
    assert end.stopped and not end.killed and not end.timed_out
    assert end.returncode == 130
    assert gone(pids[0])


@pytest.fixture
def python_ctrl_c():  # noqa: ANN201
    """Python's own Ctrl-C handler, as on a terminal: a test run started in the
    background by a shell inherits SIGINT ignored, and the signal would be lost."""
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_is_forwarded_once_and_raised_once_the_child_is_gone(
    tmp_path, python_ctrl_c
) -> None:  # noqa: ANN001
    pids: list[int] = []

    def ctrl_c_once_ready(line: str) -> None:
        # Sent once the child is up and run_child is waiting on it, not after a fixed
        # delay that a loaded machine may exceed or undercut.
        if line == "ready\n":
            os.kill(os.getpid(), signal.SIGINT)

    started = time.monotonic()
    with open(tmp_path / "log", "w") as log, pytest.raises(KeyboardInterrupt):
        run_child(
            child("clean"), lock=None, time_limit_s=60, grace_s=5, stderr=log,
            on_start=pids.append, on_line=ctrl_c_once_ready,
        )  # fmt: skip
    assert gone(pids[0])
    assert time.monotonic() - started < 30  # the child stopped at the Ctrl-C, not at its end


def test_the_child_holds_the_lock_it_inherits(tmp_path) -> None:  # noqa: ANN001
    path = tmp_path / "w.db.crawl.lock"
    pids: list[int] = []
    with crawl_lock(path) as lock, open(tmp_path / "log", "w") as log:
        stop = threading.Event()
        thread = threading.Thread(
            target=run_child,
            args=(child("stubborn"),),
            kwargs={
                "lock": lock, "time_limit_s": 60, "grace_s": 0.2, "stderr": log, "stop": stop,
                "on_start": pids.append,
            },
        )  # fmt: skip
        thread.start()
        assert wait_for(lambda: bool(pids), 10)
        holders = path.read_text().split()
        assert holders == [str(os.getpid()), str(pids[0])]
        stop.set()
        thread.join(60)  # a safety net only: the kill comes 0.2 s after the stop
    assert gone(pids[0])
    with crawl_lock(path):  # free once both are gone
        pass


def test_a_crawl_child_whose_parent_is_already_gone_exits_at_once() -> None:
    code = (
        "from watcher.collect.process import die_with_parent\n"
        "die_with_parent(1)\n"  # not our parent: it died before we could ask for a signal
        "print('still crawling')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "still crawling" not in done.stdout


# --- kill -9 of a real `watcher collect` -------------------------------------------------------

ARTICLES = 6


def test_kill_9_of_collect_takes_the_crawl_along_and_never_two_crawl_at_once(
    web, tmp_path: Path
) -> None:  # noqa: ANN001
    entries = [(web.url(f"/k/{i}"), f"Texte {i}", f"Résumé {i}") for i in range(ARTICLES)]
    web.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml")
    for i in range(ARTICLES):
        web.routes[f"/k/{i}"] = Reply(article(f"Texte {i}", 70 + i), delay=1.5)
    (tmp_path / "sources.yaml").write_text(
        f"sources:\n  - {{id: k, name: K, kind: rss, url: '{web.url('/feed.xml')}'}}\n",
        encoding="utf-8",
    )
    (tmp_path / "watcher.toml").write_text(
        "[collect]\ndownload_delay_s = 0\nautothrottle = false\nretry_times = 0\n"
        "concurrent_per_host = 1\nconcurrent_requests = 1\n",
        encoding="utf-8",
    )
    env = {
        **os.environ,
        "WATCHER_DB": str(tmp_path / "watcher.db"),
        "WATCHER_SOURCES": str(tmp_path / "sources.yaml"),
        "WATCHER_SETTINGS": str(tmp_path / "watcher.toml"),
    }

    def collect() -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "watcher", "collect", "--quiet"],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def article_gets() -> list[str]:
        return [path for _method, path, _h in web.log if path.startswith("/k/")]

    first, second = collect(), None
    try:
        assert wait_for(lambda: len(article_gets()) >= 2, 60), first.communicate(timeout=5)
        (crawl,) = psutil.Process(first.pid).children()
        first.kill()  # kill -9: no chance to stop its crawl
        first.wait()
        killed_at = time.monotonic()

        # The lock is held for as long as the orphaned crawl process lives...
        def lock_is_free() -> bool:
            try:
                with crawl_lock(tmp_path / "watcher.db.crawl.lock"):
                    return True
            except CrawlBusy:
                return False

        was_gone = gone(crawl.pid)
        if lock_is_free():
            assert gone(crawl.pid)  # free only once the crawl process is gone
        else:
            # Busy: the crawl lives (or its last threads are ending: a zombie leader).
            assert not was_gone or wait_for(lock_is_free, 2)
        # ...so a collect started at once does not crawl beside it.
        second = collect()
        # ...and the orphan does not linger.
        assert wait_for(lambda: gone(crawl.pid), ORPHAN_GRACE_S + 5)
        assert time.monotonic() - killed_at < ORPHAN_GRACE_S + 5
        second_out, second_err = second.communicate(timeout=120)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
    assert second.returncode in (0, 1), second_err
    if second.returncode == 1:
        assert "another crawl is running" in second_err
    third = collect()
    third.communicate(timeout=120)
    assert third.returncode == 0
    gets = article_gets()
    # Every article was fetched, none twice but maybe the one in flight at the kill.
    assert set(gets) == {f"/k/{i}" for i in range(ARTICLES)}
    assert len(gets) <= ARTICLES + 1, gets
