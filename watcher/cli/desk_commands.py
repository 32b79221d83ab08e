"""CLI commands of the desk stage (registered on `watcher.cli.main`)."""

from __future__ import annotations
