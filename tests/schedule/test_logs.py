"""The scheduler's log file when it cannot be written."""

from __future__ import annotations

import errno
import io
import logging
from pathlib import Path

import pytest

from watcher.schedule.logs import log_event, remove_handlers, setup_logging


class _FullDisk(io.StringIO):
    def write(self, _text: str) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")


def test_a_full_disk_under_the_log_is_one_line_not_a_traceback_per_event(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    log_file = tmp_path / "logs" / "watcher.log"
    (handler,) = setup_logging(log_file, console=False)
    assert isinstance(handler, logging.FileHandler)
    good = handler.stream
    try:
        handler.stream = _FullDisk()
        for number in range(3):
            log_event("job_start", job="health", number=number)
        errors = capsys.readouterr().err
        # Was "--- Logging error ---" and a 30-line traceback for each event.
        assert errors == (
            f"Error: {log_file}: cannot write the log (No space left on device); "
            "its lines go to stderr only until it can\n"
        )
        handler.stream = good  # space freed: the lines are written again
        log_event("job_done", job="health")
        assert capsys.readouterr().err == ""
        assert "event=job_done" in log_file.read_text(encoding="utf-8")
        handler.stream = _FullDisk()  # full again: said again, once
        log_event("job_start", job="site")
        log_event("job_done", job="site")
        assert capsys.readouterr().err.count("cannot write the log") == 1
    finally:
        handler.stream = good
        remove_handlers([handler])
