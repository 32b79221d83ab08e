"""Structured logs: one line per event, key=value or JSON, rotated by size.

Every event of the scheduler goes through :func:`log_event`, which gives the
line an ``event`` name and typed fields, so a log can be grepped by eye
(``event=job_done job=send outcome=ok``) or loaded line by line as JSON
(``--log-json``). Times are written in the scheduler's timezone with their
offset, which keeps the Monday 08:00 send readable across a DST change.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import sys
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

LOGGER_NAME = "watcher.schedule"
_RESERVED = set(vars(logging.makeLogRecord({})).keys()) | {"message", "asctime"}

logger = logging.getLogger(LOGGER_NAME)


def log_event(event: str, level: int = logging.INFO, **fields: Any) -> None:
    """Log one event; ``fields`` become key=value pairs (or JSON keys)."""
    logger.log(level, event, extra={"event": event, "fields": fields})


def _fields(record: logging.LogRecord) -> dict[str, Any]:
    fields = dict(getattr(record, "fields", {}) or {})
    for key, value in vars(record).items():
        if key not in _RESERVED and key not in ("event", "fields"):
            fields.setdefault(key, value)
    return fields


def _plain(value: Any) -> str:
    text = str(value)
    if not text or any(c.isspace() or c in '"=' for c in text):
        return json.dumps(text, ensure_ascii=False)
    return text


class _Formatter(logging.Formatter):
    def __init__(self, tz: ZoneInfo) -> None:
        super().__init__()
        self.tz = tz

    def when(self, record: logging.LogRecord) -> str:
        return datetime.fromtimestamp(record.created, self.tz).isoformat(timespec="seconds")


class KeyValueFormatter(_Formatter):
    """``2026-11-30T08:00:02+01:00 INFO event=job_done job=send outcome=ok``."""

    def format(self, record: logging.LogRecord) -> str:
        event = getattr(record, "event", None)
        parts = [self.when(record), record.levelname]
        if event:
            parts.append(f"event={event}")
        else:
            parts.append(f"logger={record.name}")
            parts.append(f"msg={_plain(record.getMessage())}")
        parts += [f"{key}={_plain(value)}" for key, value in _fields(record).items()]
        line = " ".join(parts)
        if record.exc_info:
            line += " exc=" + _plain(self.formatException(record.exc_info).splitlines()[-1])
        return line


class JsonFormatter(_Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": self.when(record),
            "level": record.levelname,
            "logger": record.name,
            "event": getattr(record, "event", None) or "message",
        }
        if not getattr(record, "event", None):
            data["msg"] = record.getMessage()
        data.update(_fields(record))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False, default=str)


class _LogFile(logging.handlers.RotatingFileHandler):
    """The log file. When it cannot be written (a full disk), logging's default is
    a "--- Logging error ---" traceback on stderr for every line; here one line
    says so, once until a write succeeds again. The job goes on, and its events
    still reach stderr (the journal under systemd)."""

    _failing = False  # the last line could not be written
    _failed = False  # the line being written could not

    def emit(self, record: logging.LogRecord) -> None:
        self._failed = False
        super().emit(record)  # calls handleError on a failure
        self._failing = self._failed

    def handleError(self, record: logging.LogRecord) -> None:  # noqa: N802 - logging's name
        error = sys.exc_info()[1]
        if not isinstance(error, OSError):
            super().handleError(record)  # a formatting bug: logging's own report
            return
        self._failed = True
        if not self._failing:
            sys.stderr.write(
                f"Error: {self.baseFilename}: cannot write the log "
                f"({error.strerror or error}); its lines go to stderr only until it can\n"
            )


def setup_logging(
    log_file: Path | None,
    *,
    json_lines: bool = False,
    timezone: str = "Europe/Paris",
    max_bytes: int = 10 * 1024 * 1024,
    backups: int = 10,
    console: bool = True,
    level: int = logging.INFO,
) -> list[logging.Handler]:
    """Attach a rotating file handler (and stderr) to the root logger; returns them.

    Size-based rotation rather than daily: a quiet week and a crawl that logs a
    burst of errors are both kept within ``max_bytes × (backups + 1)``.
    """
    tz = ZoneInfo(timezone)
    formatter: logging.Formatter = JsonFormatter(tz) if json_lines else KeyValueFormatter(tz)
    handlers: list[logging.Handler] = []
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(
            _LogFile(log_file, maxBytes=max_bytes, backupCount=backups, encoding="utf-8")
        )
    if console:
        handlers.append(logging.StreamHandler(sys.stderr))
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(formatter)
        root.addHandler(handler)
    root.setLevel(level)
    # Libraries' chatter (APScheduler's "Running job…", Alembic's migration steps,
    # an SMTP server's session log in tests) would drown the one-line events.
    for name in ("apscheduler", "alembic", "mail.log", "scrapy", "urllib3"):
        logging.getLogger(name).setLevel(logging.WARNING)
    return handlers


def remove_handlers(handlers: list[logging.Handler]) -> None:
    root = logging.getLogger()
    for handler in handlers:
        root.removeHandler(handler)
        handler.close()
