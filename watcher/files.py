"""The operator's files in, CSV out: the two places where a file's bytes cross
the boundary without a schema to catch them.

``read_config_text`` reads sources.yaml and watcher.toml: a folder, binary
bytes, another encoding or a file far larger than any real configuration give a
``ConfigError`` naming the file, before a parser spends minutes or gigabytes on
it. ``csv_cell`` / ``csv_row`` keep a spreadsheet from running a cell as a
formula (CWE-1236): every CSV writer of the project goes through them.
``replaced_atomically`` and ``write_atomically`` write an output file whole or
not at all; ``left_by_dead_processes`` finds what a killed writer left (and
``left_long_ago`` what older versions left under names without a pid).
"""

from __future__ import annotations

import errno
import glob
import os
import re
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any, TextIO, cast

from watcher.exceptions import ConfigError

# sources.yaml holds about 60 sources in 45 kB; 2 MiB leaves room for forty times
# more and keeps a parse under a few seconds.
MAX_CONFIG_BYTES = 2 * 1024 * 1024


def read_config_text(
    path: Path, what: str, *, max_bytes: int = MAX_CONFIG_BYTES, hint: str | None = None
) -> str:
    """The UTF-8 text of a configuration file; ConfigError naming `path` otherwise.

    `what` names the file's role in messages ("sources", "settings"); `hint`
    is added to the message of a missing file.
    """
    try:
        with path.open("rb") as handle:
            data = handle.read(max_bytes + 1)
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such {what} file", hint=hint) from None
    except IsADirectoryError:
        raise ConfigError(f"{path}: is a folder, not a {what} file") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the {what} file ({exc.strerror})") from None
    if len(data) > max_bytes:
        raise ConfigError(
            f"{path}: larger than {max_bytes // (1024 * 1024)} MiB, too large for a {what} file"
        )
    if b"\x00" in data:
        raise ConfigError(f"{path}: binary data, not a {what} file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: line {line}: not UTF-8 text (save the {what} file as UTF-8)"
        ) from None


# A cell starting with one of these is a formula to Excel, LibreOffice or
# Google Sheets (tab and carriage return too: some strip them, then see '=').
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value: Any) -> Any:
    """The value, with a leading quote when a spreadsheet would read it as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def csv_row(row: Mapping[str, Any] | Iterable[Any]) -> Any:
    """A dict or a sequence of cells, each passed through `csv_cell`."""
    if isinstance(row, Mapping):
        return {key: csv_cell(value) for key, value in row.items()}
    return [csv_cell(value) for value in row]


def _umask() -> int:
    """The process's umask, read without changing it where Linux tells it: setting
    it to read it back would, for a moment, apply to the desk's other threads."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


# What a full disk or a quota gives a write, with no file name attached.
_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


@contextmanager
def _replaced(path: Path, mode: str) -> Iterator[IO[Any]]:
    # The pid ends the temporary name so that the next writer of the same file
    # removes what a killed one (SIGKILL, SIGTERM) left: nothing else would.
    pattern = f".{glob.escape(path.name)}.*.partial-*"
    for left in left_by_dead_processes(path.parent, pattern).values():
        left.unlink(missing_ok=True)
    try:
        fd, name = tempfile.mkstemp(
            dir=path.parent, prefix=f".{path.name}.", suffix=f".partial-{os.getpid()}"
        )
    except OSError as exc:  # name the file asked for, not the temporary one
        raise OSError(exc.errno, exc.strerror, str(path)) from None
    temporary = Path(name)
    try:
        # mkstemp's 0600 would make the file private to its writer (a web server
        # running as another user could not read a bulletin); use the umask's.
        os.fchmod(fd, 0o666 & ~_umask())
        if "b" in mode:
            handle: IO[Any] = os.fdopen(fd, mode)
        else:
            handle = os.fdopen(fd, mode, encoding="utf-8", newline="")
        try:
            with handle:
                yield handle
        except OSError as exc:
            if exc.filename is not None or exc.errno not in _WRITE_ERRNOS:
                raise
            # A full disk fails a write or the flush at close with no file name:
            # the CLI took it for stdout ("cannot write the output"). Name the file.
            raise OSError(exc.errno, exc.strerror, str(path)) from exc
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@contextmanager
def replaced_atomically(path: Path) -> Iterator[TextIO]:
    """A UTF-8 text file written beside ``path`` and renamed over it when the block
    ends without an exception: a reader finds the old file or the whole new one,
    and a failure half-way leaves neither a partial file nor a temporary one.
    The file gets the mode the umask gives a new file, as ``open`` would."""
    with _replaced(path, "w") as handle:
        yield cast(TextIO, handle)


def write_atomically(path: Path, data: str | bytes) -> None:
    """``data`` (text as UTF-8) written to ``path`` whole or not at all, its
    folder created; see ``replaced_atomically``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    with _replaced(path, "wb") as handle:
        handle.write(payload)


def process_alive(pid: int) -> bool:
    """Whether a process with this pid runs (another user's counts)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


_PID_AT_END = re.compile(r"-([0-9]{1,9})$")
STALE_AFTER_S = 24 * 3600


def left_by_dead_processes(
    parent: Path, pattern: str, *, pid_in: re.Pattern[str] = _PID_AT_END
) -> dict[int, Path]:
    """The entries of ``parent`` matching ``pattern`` whose name ends in ``-<pid>``
    of a process that no longer runs (a build or backup killed half-way), by pid.
    ``pid_in`` finds the pid elsewhere in the name (older versions' ``<name>.<pid>.tmp``)."""
    found: dict[int, Path] = {}
    for path in parent.glob(pattern):
        match = pid_in.search(path.name)
        if match is None:
            continue
        pid = int(match.group(1))
        if pid != os.getpid() and not process_alive(pid):
            found[pid] = path
    return found


def _newest_change(path: Path) -> float:
    """The latest modification time of ``path`` or of anything inside it."""
    newest = path.lstat().st_mtime
    if path.is_dir() and not path.is_symlink():
        for inner in path.rglob("*"):
            try:
                newest = max(newest, inner.lstat().st_mtime)
            except FileNotFoundError:  # removed while we looked: someone is at work there
                return time.time()
    return newest


def left_long_ago(
    parent: Path,
    pattern: str,
    name: re.Pattern[str],
    *,
    older_than_s: float = STALE_AFTER_S,
    now: float | None = None,
) -> list[Path]:
    """The entries of ``parent`` matching ``pattern`` and the whole of ``name`` that
    nothing touched (nor anything inside them) for ``older_than_s``: what a killed
    writer of an older version left under a name without its pid. A writer at work
    changes its files; none takes a day."""
    now = time.time() if now is None else now
    found = []
    for path in sorted(parent.glob(pattern)):
        if not name.fullmatch(path.name):
            continue
        try:
            if now - _newest_change(path) > older_than_s:
                found.append(path)
        except FileNotFoundError:
            continue
    return found
