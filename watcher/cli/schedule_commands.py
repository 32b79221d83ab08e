"""CLI commands of the schedule stage (registered on `watcher.cli.main`)."""

from __future__ import annotations
