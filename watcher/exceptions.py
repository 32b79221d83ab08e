"""The one exception tree of watcher.

    WatcherError                 anything watcher reports to a user
    ├── ConfigError              invalid sources.yaml / settings (CLI exit 2)
    │   ├── WeekError            a week that is not an ISO week such as 2026-W48
    │   └── TemplateFileError    a user's template that cannot be read, compiled or rendered
    ├── SourceError              one source failed; carries ``source_id``
    ├── StoreError               the database cannot be opened or migrated
    ├── ClassifierError          model missing, stale or unreadable
    ├── PublishError             a bulletin, page, feed or calendar cannot be built
    └── DeliveryError            e-mail cannot be sent

Messages say what to do next; a ``hint`` is printed after the message.
"""

from __future__ import annotations


class WatcherError(Exception):
    """Base class: the CLI prints the message (and hint) and exits 1."""

    exit_code = 1

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\nHint: {self.hint}"


class ConfigError(WatcherError):
    """Invalid configuration: the CLI exits with status 2."""

    exit_code = 2


class WeekError(ConfigError):
    """A week string that is not an ISO week (`2026-W48`, ASCII digits)."""


class TemplateFileError(ConfigError):
    """A template of ``publish.templates_dir`` that fails: ``<file>:<line>: <what>``."""

    def __init__(self, path: str, line: int | None, detail: str) -> None:
        super().__init__(f"{path}:{line}: {detail}" if line else f"{path}: {detail}")
        self.path = path
        self.line = line
        self.detail = detail


class SourceError(WatcherError):
    def __init__(
        self, source_id: str, message: str, *, kind: str = "error", hint: str | None = None
    ):
        super().__init__(f"source '{source_id}': {message}", hint=hint)
        self.source_id = source_id
        self.kind = kind


class StoreError(WatcherError):
    pass


class ClassifierError(WatcherError):
    pass


class PublishError(WatcherError):
    pass


class DeliveryError(WatcherError):
    pass
