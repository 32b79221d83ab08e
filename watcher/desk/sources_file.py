"""Changes the desk makes to sources.yaml: pause or resume a source, add one.

Why sources.yaml and not an overlay in the store: the file is already the one
truth that the scheduler (which re-reads it before every job), `watcher
collect`, `watcher sources validate` and the team's reviews read; a second list
in the database would need merging in each of them and would hide the real
state from a `git diff`. So the desk edits the file as a person would: it
changes or adds lines (comments and layout kept, found through PyYAML's node
positions), writes a comment saying who did it and when, checks the result
with the same loader as every command, then replaces the file atomically
under a lock. A file it cannot edit safely (flow style, not writable) is
reported, never half-written.
"""

from __future__ import annotations

import fcntl
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from watcher.config import SourcesFile, load_sources
from watcher.exceptions import ConfigError, WatcherError

PAUSE_NOTE = "# en pause depuis le bureau"


class SourcesEditError(WatcherError):
    """The change could not be written (the file is left as it was)."""


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    lock = path.with_name(f".{path.name}.lock")
    with open(lock, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield


def _write_checked(path: Path, text: str) -> SourcesFile:
    """Check ``text`` with the sources loader, then replace the file atomically."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".yaml")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        try:
            loaded = load_sources(Path(tmp), name=path.name)
        except ConfigError as exc:
            raise SourcesEditError(
                f"{path}: the change would make the file invalid: {exc.message}"
            ) from None
        if path.exists():
            os.chmod(tmp, path.stat().st_mode & 0o777)
        os.replace(tmp, path)
        return loaded
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise SourcesEditError(f"{path}: cannot read the sources file: {exc}") from None


def _entries(text: str, path: Path) -> list[yaml.MappingNode]:
    root = yaml.compose(text)
    if not isinstance(root, yaml.MappingNode):
        raise SourcesEditError(f"{path}: expected a mapping with a 'sources' list")
    for key, value in root.value:
        if key.value == "sources" and isinstance(value, yaml.SequenceNode):
            return [n for n in value.value if isinstance(n, yaml.MappingNode)]
    raise SourcesEditError(f"{path}: no 'sources' list")


def set_enabled(path: Path, source_id: str, enabled: bool, *, user: str) -> SourcesFile:
    """Pause (``enabled: false``) or resume a source; returns the file as reloaded."""
    path = Path(path)
    with _locked(path):
        text = _read(path)
        lines = text.splitlines(keepends=True)
        for node in _entries(text, path):
            fields = {k.value: (k, v) for k, v in node.value}
            if fields.get("id", (None, None))[1] is None or fields["id"][1].value != source_id:
                continue
            if node.flow_style:
                raise SourcesEditError(
                    f"{path}: source '{source_id}' is written inline: edit it by hand"
                )
            value = "true" if enabled else "false"
            note = "" if enabled else f"  {PAUSE_NOTE} ({user}, {date.today().isoformat()})"
            if "enabled" in fields:
                key, old = fields["enabled"]
                line = lines[key.start_mark.line]
                head = line[: old.start_mark.column]
                ending = "\n" if line.endswith("\n") else ""
                lines[key.start_mark.line] = f"{head}{value}{note}{ending}"
            else:
                key, _v = fields["id"]
                indent = " " * key.start_mark.column
                lines.insert(key.start_mark.line + 1, f"{indent}enabled: {value}{note}\n")
            return _write_checked(path, "".join(lines))
        raise SourcesEditError(f"{path}: no source with id '{source_id}'")


def _unique_id(wanted: str, taken: set[str]) -> str:
    base = re.sub(r"[^a-z0-9-]+", "-", wanted.lower()).strip("-") or "source"
    candidate, n = base, 2
    while candidate in taken:
        candidate, n = f"{base}-{n}", n + 1
    return candidate


def add_source(path: Path, entry_yaml: str, *, user: str, origin: str) -> tuple[SourcesFile, str]:
    """Append a discovered entry (``watcher.collect.discover.yaml_entry``'s text)
    at the end of the sources list, with a comment; returns (file, new id)."""
    path = Path(path)
    with _locked(path):
        text = _read(path)
        entries = _entries(text, path)
        taken = {v.value for n in entries for k, v in n.value if k.value == "id"}
        parsed = yaml.safe_load(entry_yaml)
        if not (isinstance(parsed, list) and parsed and isinstance(parsed[0], dict)):
            raise SourcesEditError("the discovered entry is not a source")
        entry: dict[str, Any] = parsed[0]
        entry["id"] = _unique_id(str(entry.get("id", "")), taken)
        if entry.get("kind") == "html":
            entry["enabled"] = False  # guessed selectors: collected once someone checked them
        column = entries[0].start_mark.column if entries else 2
        if entries and text[entries[-1].end_mark.index :].strip():
            raise SourcesEditError(
                f"{path}: something follows the sources list: add the source by hand"
            )
        body = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False, width=100)
        dash = " " * max(0, column - 2)
        block = "".join(f"{dash}{line}\n" if line else "\n" for line in body.splitlines())
        comments = [
            line.strip() for line in entry_yaml.splitlines() if line.strip().startswith("#")
        ]
        header = [f"{dash}# added from the desk by {user} on {date.today().isoformat()} ({origin})"]
        header += [f"{dash}{c}" for c in comments]
        new_text = text.rstrip("\n") + "\n\n" + "\n".join(header) + "\n" + block
        return _write_checked(path, new_text), entry["id"]
