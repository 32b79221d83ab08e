"""CLI commands of the publish stage (registered on `watcher.cli.main`)."""

from __future__ import annotations
