"""CLI commands of the demo stage (registered on `watcher.cli.main`)."""

from __future__ import annotations
