"""CLI commands of the classify stage (registered on `watcher.cli.main`)."""

from __future__ import annotations
