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
import posixpath
import re
import shutil
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

from watcher.exceptions import ConfigError
from watcher.files import left_by_dead_processes, left_long_ago

MANIFEST = ".watcher-build.json"
STATE = ".watcher-state.json"  # what a build keeps for the next one (search bundles' keys)


def key_of(*parts: Any) -> str:
    """A fingerprint of a page's inputs (plain values whose repr is stable)."""
    return hashlib.md5(repr(parts).encode(), usedforsecurity=False).hexdigest()


def _read_json(path: Path) -> dict[str, Any]:
    """What a previous build left; nothing when it is missing or damaged (all is rebuilt)."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def check_target(target: Path, setting: str) -> None:
    """Refuse a target the swap would destroy that is not a previous build.

    ``commit()`` replaces the whole target, so a mistaken setting (the folder
    holding the database, the working folder, a file) would delete it. Only a
    missing path, an empty folder or a folder a previous build left (with its
    manifest) may be replaced.
    """
    if not target.exists() and not target.is_symlink():
        return
    if not target.is_dir():
        raise ConfigError(
            f"{setting} = {target}: is not a folder; it would be replaced by the build",
            hint=f"set {setting} to a new or empty folder",
        )
    if (target / MANIFEST).is_file():
        return
    with os.scandir(target) as entries:
        if next(entries, None) is None:
            return
    raise ConfigError(
        f"{setting} = {target}: is a folder with content that watcher did not build "
        f"(no {MANIFEST}); the build would delete it",
        hint=f"set {setting} to a new or empty folder",
    )


def _code_fingerprint() -> str:
    """The publish stage's own code: output built by another version of it (an
    upgrade) is not reused, since a page's key covers its inputs, not its code."""
    digest = hashlib.sha256()
    for path in sorted(Path(__file__).parent.rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


CODE = _code_fingerprint()

MOVED = ".watcher-moved"  # in a build folder: the previous build's folders moved into it


# tempfile.mkdtemp(prefix=".search-"): eight of [a-z0-9_].
_OLD_SEARCH_STAGING = re.compile(r"\.search-[a-z0-9_]{8}")


def _dead_builds(target: Path) -> dict[int, dict[str, Path]]:
    """The ``.<site>.build-<pid>``, ``.<site>.old-<pid>`` and ``.<site>.search-<pid>``
    folders of builds whose process is gone (killed), by pid."""
    found: dict[int, dict[str, Path]] = defaultdict(dict)
    for kind in ("build", "old", "search"):
        for pid, path in left_by_dead_processes(target.parent, f".{target.name}.{kind}-*").items():
            found[pid][kind] = path
    return found


def recover(target: Path) -> None:
    """Finish or undo the swap of a build killed during it, then remove its folders.

    Killed after the previous site was set aside: the new build was whole (its
    manifest is written first), so it takes the site's place. Killed before: the
    previous build's folders it had moved in (its MOVED journal) go back."""
    if not target.parent.is_dir():
        return
    for folders in _dead_builds(target).values():
        build, old = folders.get("build"), folders.get("old")
        if not target.exists() and not target.is_symlink():
            if build is not None and (build / MANIFEST).is_file():
                os.replace(build, target)
                (target / MOVED).unlink(missing_ok=True)
                build = None
            elif old is not None:
                os.replace(old, target)
                old = None
        if build is not None:
            journal = build / MOVED
            if target.is_dir() and journal.is_file():
                for folder in journal.read_text("utf-8").splitlines():
                    moved, home = build / folder, target / folder
                    if folder and moved.is_dir() and not home.exists():
                        home.parent.mkdir(parents=True, exist_ok=True)
                        os.rename(moved, home)
            shutil.rmtree(build, ignore_errors=True)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
        if "search" in folders:
            shutil.rmtree(folders["search"], ignore_errors=True)
    # Older versions staged the search pages in a mkdtemp folder (no pid in its
    # name) that a killed build left beside the site, thousands of pages each.
    for left in left_long_ago(target.parent, ".search-*", _OLD_SEARCH_STAGING):
        shutil.rmtree(left, ignore_errors=True)


class SiteWriter:
    def __init__(self, target: Path, setting: str = "publish.site_dir") -> None:
        """`setting` names where `target` comes from, for the error on a wrong one."""
        self.target = Path(target)
        recover(self.target)
        check_target(self.target, setting)
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self.tmp = self.target.parent / f".{self.target.name}.build-{os.getpid()}"
        if self.tmp.exists():
            shutil.rmtree(self.tmp)
        self.tmp.mkdir()
        self.old_manifest: dict[str, dict[str, str]] = _read_json(self.target / MANIFEST)
        self.manifest: dict[str, dict[str, str]] = {}
        self.old_state: dict[str, Any] = _read_json(self.target / STATE)
        self.state: dict[str, Any] = {"code": CODE}
        if self.old_state.get("code") != CODE:  # another version's output: all rebuilt
            self.old_manifest, self.old_state = {}, {}
        self.written: list[str] = []
        self.unchanged: list[str] = []
        # Unchanged files are taken from the previous build only at commit time:
        # whole folders by one rename when nothing in them changed, else one
        # hard link per file. The value renders the file if the old one is gone.
        self._deferred: dict[str, Callable[[], str | bytes] | bytes] = {}
        self._deferred_dirs: list[str] = []

    def scratch(self) -> Path:
        """A folder beside the site for what the build needs but does not publish
        (the search index's staging pages); a killed build's is removed by the next."""
        return self.target.parent / f".{self.target.name}.search-{os.getpid()}"

    def _reuse(self, rel: str, dest: Path) -> bool:
        old = self.target / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.link(old, dest)
        except FileNotFoundError:
            return False
        except OSError:
            try:
                shutil.copy2(old, dest)
            except OSError:
                return False
        return True

    def write(
        self, rel: str, content: str | bytes | Callable[[], str | bytes], key: str | None = None
    ) -> None:
        """Write `rel` (relative to the site root). With `key` (a hash of the page's
        inputs), an unchanged key reuses the previous file without rendering."""
        previous = self.old_manifest.get(rel, {})
        if key is not None and previous.get("key") == key:
            self.manifest[rel] = previous
            self._deferred[rel] = content
            self.unchanged.append(rel)
            return
        data = content() if callable(content) else content
        payload = data.encode("utf-8") if isinstance(data, str) else data
        sha = _sha(payload)
        self.manifest[rel] = {"sha": sha, **({"key": key} if key is not None else {})}
        if previous.get("sha") == sha:
            self._deferred[rel] = payload
            self.unchanged.append(rel)
            return
        self._put(rel, payload)
        self.written.append(rel)

    def _put(self, rel: str, payload: bytes) -> None:
        dest = self.tmp / rel
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(payload)

    def reuse_tree(self, rel_dir: str) -> bool:
        """Take a whole folder of the previous build as it is (e.g. a search index)."""
        if not (self.target / rel_dir).is_dir():
            return False
        self._deferred_dirs.append(rel_dir)
        return True

    def _movable(self, folder: str, count: int) -> bool:
        """A folder of the previous build holding exactly `count` files and no sub-folder."""
        try:
            with os.scandir(self.target / folder) as entries:
                listed = list(entries)
        except OSError:
            return False
        return len(listed) == count and all(e.is_file(follow_symlinks=False) for e in listed)

    def _take_previous(self, moved: list[str]) -> None:
        by_folder: dict[str, list[str]] = defaultdict(list)
        for rel in self._deferred:
            by_folder[posixpath.dirname(rel)].append(rel)
        new_count = Counter(posixpath.dirname(rel) for rel in self.manifest)
        old_count = Counter(posixpath.dirname(rel) for rel in self.old_manifest)
        for folder, rels in by_folder.items():
            whole = (
                folder
                and len(rels) == new_count[folder] == old_count[folder]
                and not (self.tmp / folder).exists()
                and self._movable(folder, len(rels))
            )
            if whole:
                self._move_in(folder, moved)
                continue
            for rel in rels:
                if not self._reuse(rel, self.tmp / rel):
                    content = self._deferred[rel]
                    data = content() if callable(content) else content
                    self._put(rel, data.encode("utf-8") if isinstance(data, str) else data)
        for folder in self._deferred_dirs:
            self._move_in(folder, moved)

    def _move_in(self, folder: str, moved: list[str]) -> None:
        """Move a folder of the previous build into this one, journalled first so
        that a build killed before its swap gives it back (`recover`)."""
        with open(self.tmp / MOVED, "a", encoding="utf-8") as journal:
            journal.write(folder + "\n")
            journal.flush()
        (self.tmp / folder).parent.mkdir(parents=True, exist_ok=True)
        os.rename(self.target / folder, self.tmp / folder)
        moved.append(folder)

    def commit(self) -> None:
        """Swap the new build in. Unchanged folders move from the old build just
        before the swap (milliseconds); on any failure they are moved back."""
        moved: list[str] = []
        try:
            self._take_previous(moved)
            (self.tmp / MANIFEST).write_text(json.dumps(self.manifest, sort_keys=True), "utf-8")
            (self.tmp / STATE).write_text(json.dumps(self.state, sort_keys=True), "utf-8")
            old = self.target.parent / f".{self.target.name}.old-{os.getpid()}"
            if old.exists():
                shutil.rmtree(old)
            if self.target.exists():
                os.replace(self.target, old)
        except BaseException:
            for folder in reversed(moved):
                os.rename(self.tmp / folder, self.target / folder)
            raise
        os.replace(self.tmp, self.target)
        (self.target / MOVED).unlink(missing_ok=True)
        shutil.rmtree(old, ignore_errors=True)

    def abort(self) -> None:
        shutil.rmtree(self.tmp, ignore_errors=True)
