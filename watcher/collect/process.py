"""The crawl process: started, watched, stopped and killed in this one place.

Every crawl runs in a child process, ``python -m watcher.collect.crawl JOB.json``
(Twisted's reactor cannot be restarted, and a hung crawl can be killed without its
caller). ``watcher collect``, the scheduler and the demo all go through
:func:`watcher.collect.run_collect`, which calls :func:`run_child`:

- **Lock.** The child inherits the open crawl lock (:mod:`watcher.collect.lock`): the
  lock is held for as long as the caller *or* the crawl lives.
- **Dies with its caller.** The child asks the kernel for SIGTERM when its parent dies
  (``PR_SET_PDEATHSIG``, Linux) and also watches its parent's pid (other systems, or a
  parent that died before the request was made); once orphaned it stops cleanly, and
  exits regardless a few seconds later (:func:`die_with_parent`, called by the child). A
  ``kill -9`` of ``watcher collect`` therefore never leaves a crawl running unlocked.
- **Time limit.** The crawl stops itself at ``collect.crawl_time_limit_s`` (Scrapy's
  ``CLOSESPIDER_TIMEOUT``, counted from the crawl's start, which may take up to
  ``STARTUP_S``). Still running ``grace_s`` later, or when the caller asks it to
  stop (the ``stop`` event: the scheduler stopping; or a Ctrl-C), it gets SIGINT, a clean
  stop: Scrapy closes the spider, every item saved is whole. Still running ``grace_s``
  after that (or at a second Ctrl-C), its process group gets SIGKILL.
- **Ctrl-C.** The child leads a session of its own, so a Ctrl-C on the terminal reaches
  the caller only, which forwards it once (a second SIGINT makes Scrapy stop uncleanly).

This module is imported by the crawl child too: it imports nothing heavy.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import IO, TYPE_CHECKING

from watcher.exceptions import WatcherError
from watcher.models import CrawlExit

if TYPE_CHECKING:
    from watcher.collect.lock import HeldLock

POLL_S = 0.2  # how often the caller looks at its stop event and the clock
PARENT_POLL_S = 0.5  # how often the child looks at its parent
STARTUP_S = 30.0  # what the child may take to start crawling, on top of its time limit
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>
# An orphaned crawl stops cleanly if it can within this time (Scrapy waits for the
# downloads in flight), then exits anyway: nobody is left to wait for it.
ORPHAN_GRACE_S = 5.0


def run_child(
    command: list[str],
    *,
    lock: HeldLock | None,
    time_limit_s: float,
    grace_s: float,
    stderr: IO[str],
    stop: threading.Event | None = None,
    on_line: Callable[[str], None] | None = None,
    on_start: Callable[[int], None] | None = None,
) -> CrawlExit:
    """Run the crawl child to its end (see the module); its stdout lines go to ``on_line``.

    Raises ``KeyboardInterrupt`` after a Ctrl-C, once the child is gone.
    """
    started = time.monotonic()
    try:
        child = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
            start_new_session=True,
            pass_fds=(lock.fileno(),) if lock is not None else (),
        )
    except OSError as exc:
        raise WatcherError(f"cannot start the crawl process: {exc}") from exc
    if lock is not None:
        lock.add_holder(child.pid)
    up: list[float] = []  # when the child printed its first line: the crawl has started
    reader = threading.Thread(target=_read_lines, args=(child.stdout, on_line, up), daemon=True)
    reader.start()
    outcome = CrawlExit(returncode=None)
    interrupted = False
    asked_at: float | None = None
    try:
        if on_start is not None:
            on_start(child.pid)
        while child.poll() is None:
            try:
                _wait_a_little(child, reader)
            except KeyboardInterrupt:
                interrupted = outcome.stopped = True
                if asked_at is None:
                    asked_at = _ask_to_stop(child)
                else:  # a second Ctrl-C: no more waiting
                    outcome.killed = _kill(child)
                continue
            now = time.monotonic()
            if asked_at is None:
                if stop is not None and stop.is_set():
                    outcome.stopped, asked_at = True, _ask_to_stop(child)
                # Counted, like Scrapy's own limit, from the crawl's start: a slow
                # start-up (a busy machine) is not the crawl's; one that never ends is.
                elif now - (up[0] if up else started + STARTUP_S) > time_limit_s + grace_s:
                    outcome.timed_out, asked_at = True, _ask_to_stop(child)
            elif now - asked_at > grace_s:
                outcome.killed = _kill(child)
    finally:
        if child.poll() is None:  # an error in this process: the crawl must not outlive it
            _kill(child)
        child.wait()
        reader.join(timeout=5)
    outcome.returncode = child.returncode
    outcome.duration_s = round(time.monotonic() - started, 2)
    if interrupted:
        raise KeyboardInterrupt
    return outcome


def _wait_a_little(child: subprocess.Popen, reader: threading.Thread) -> None:
    """Wait up to POLL_S for the child to exit, waking up as soon as it does.

    ``Popen.wait(timeout=…)`` polls with sleeps of up to 50 ms, which a run where every
    feed answers 304 (under a second) would pay at each collect. The reader thread ends
    when the child's stdout closes, that is when it exits: joining it wakes up at once.
    """
    if reader.is_alive():
        reader.join(timeout=POLL_S)
    else:
        with contextlib.suppress(subprocess.TimeoutExpired):
            child.wait(timeout=POLL_S)


def _read_lines(stream: IO[str], on_line: Callable[[str], None] | None, up: list[float]) -> None:
    for line in stream:
        if not up:
            up.append(time.monotonic())
        if on_line is not None:
            with contextlib.suppress(Exception):
                on_line(line)


def _ask_to_stop(child: subprocess.Popen) -> float:
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signal.SIGINT)
    return time.monotonic()


def _kill(child: subprocess.Popen) -> bool:
    """SIGKILL the child's process group (it leads one: Scrapy and anything it started)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(child.pid, signal.SIGKILL)
    return True


# --- the child's side -----------------------------------------------------------------------


def die_with_parent(parent_pid: int, grace_s: float = ORPHAN_GRACE_S) -> None:
    """In the crawl child: stop when the process that started it is gone.

    The kernel sends SIGTERM when the parent *thread* ends (``PR_SET_PDEATHSIG``; the
    thread that started the crawl waits in :func:`run_child` until it ends, so that is
    the parent's death); Scrapy takes SIGTERM as a clean stop. A thread also watches the
    parent's pid: it sends the SIGTERM itself where ``prctl`` is missing, and ends the
    process ``grace_s`` after the parent's death whatever the clean stop is waiting for.
    """
    armed = False
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            libc = ctypes.CDLL(None, use_errno=True)
            armed = libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) == 0
        except (OSError, AttributeError):
            armed = False
    if os.getppid() != parent_pid:  # the parent died before prctl: no signal will come
        os._exit(1)
    threading.Thread(
        target=_watch_parent,
        args=(parent_pid, grace_s, armed),
        name="watch-parent",
        daemon=True,
    ).start()


def _watch_parent(parent_pid: int, grace_s: float, armed: bool) -> None:
    while os.getppid() == parent_pid:
        time.sleep(PARENT_POLL_S)
    if not armed:
        os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(grace_s)
    os._exit(1)
