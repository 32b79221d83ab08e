"""Incremental, atomic output folder.

A build writes into a fresh temporary folder beside the target. A file whose
content (or, for costly pages, whose inputs) did not change since the previous
build is hard-linked from it, so it keeps its mtime and costs no rendering;
the rest is written. ``commit()`` swaps the new folder in; on failure
``abort()`` removes it and the previous site stays as it was.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

MANIFEST = ".watcher-build.json"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class SiteWriter:
    def __init__(self, target: Path) -> None:
        self.target = Path(target)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.target.parent / f".{self.target.name}.build-{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir()
        self.old_manifest: dict[str, dict[str, str]] = {}
        manifest = self.target / MANIFEST
        if manifest.is_file():
            try:
                self.old_manifest = json.loads(manifest.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                self.old_manifest = {}
        self.manifest: dict[str, dict[str, str]] = {}
        self.written: list[str] = []
        self.unchanged: list[str] = []

    def _reuse(self, rel: str, dest: Path) -> bool:
        old = self.target / rel
        if not old.is_file():
            return False
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(old, dest)
        except OSError:
            shutil.copy2(old, dest)
        return True

    def write(
        self, rel: str, content: str | bytes | Callable[[], str | bytes], key: str | None = None
    ) -> None:
        """Write `rel` (relative to the site root). With `key` (a hash of the page's
        inputs), an unchanged key reuses the previous file without rendering."""
        dest = self.tmp / rel
        previous = self.old_manifest.get(rel, {})
        if key is not None and previous.get("key") == key and self._reuse(rel, dest):
            self.manifest[rel] = previous
            self.unchanged.append(rel)
            return
        data = content() if callable(content) else content
        payload = data.encode("utf-8") if isinstance(data, str) else data
        sha = _sha(payload)
        entry = {"sha": sha, **({"key": key} if key is not None else {})}
        self.manifest[rel] = entry
        if previous.get("sha") == sha and self._reuse(rel, dest):
            self.unchanged.append(rel)
            return
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(payload)
        self.written.append(rel)

    @property
    def changed(self) -> bool:
        """Whether any file was written or removed compared with the previous build."""
        return bool(self.written) or set(self.old_manifest) != set(self.manifest)

    def changed_matching(self, prefix: str) -> bool:
        old = {k for k in self.old_manifest if k.startswith(prefix)}
        new = {k for k in self.manifest if k.startswith(prefix)}
        return old != new or any(rel.startswith(prefix) for rel in self.written)

    def reuse_tree(self, rel_dir: str) -> bool:
        """Hard-link a whole folder of the previous build (e.g. the search index)."""
        source = self.target / rel_dir
        if not source.is_dir():
            return False
        for path in source.rglob("*"):
            if path.is_file():
                self._reuse(
                    str(path.relative_to(self.target)), self.tmp / path.relative_to(self.target)
                )
        return True

    def commit(self) -> None:
        (self.tmp / MANIFEST).write_text(json.dumps(self.manifest, sort_keys=True), "utf-8")
        old = self.target.parent / f".{self.target.name}.old-{os.getpid()}"
        if old.exists():
            shutil.rmtree(old)
        if self.target.exists():
            os.replace(self.target, old)
        os.replace(self.tmp, self.target)
        shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
