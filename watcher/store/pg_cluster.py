"""A throwaway PostgreSQL cluster in a temporary folder, for the tests and the benches.

``initdb`` and ``pg_ctl`` of the installed server (Debian keeps them in
``/usr/lib/postgresql/<version>/bin``, outside ``PATH``) create a cluster that
listens only on a Unix socket inside its own folder, so clusters of parallel
runs never meet, and nothing is left behind once it is stopped. PostgreSQL
refuses to run as root: as root, the cluster runs as the ``postgres`` user
that the Debian package creates (else ``nobody``), and its folder is handed
to that user.
"""

from __future__ import annotations

import os
import pwd
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from watcher.exceptions import StoreError
from watcher.files import process_alive

SUPERUSER = "postgres"
# Durability is worth nothing in a folder deleted at the end: no fsync, no WAL flushes.
FAST_SETTINGS = {
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "200",
    "shared_buffers": "128MB",
}


def find_bindir() -> Path | None:
    """The folder holding initdb and pg_ctl: $WATCHER_PG_BINDIR, PATH, or the newest
    /usr/lib/postgresql/<version>/bin."""
    explicit = os.environ.get("WATCHER_PG_BINDIR")
    if explicit:
        return Path(explicit) if (Path(explicit) / "initdb").exists() else None
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent  # a link in PATH: the real folder has pg_dump too
    versions = []
    for candidate in Path("/usr/lib/postgresql").glob("*/bin"):
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            match = re.match(r"\d+", candidate.parent.name)
            versions.append((int(match.group()) if match else 0, candidate))
    return max(versions)[1] if versions else None


def _run_as() -> str | None:
    """The unprivileged user to run the server as, when we are root."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            pwd.getpwnam(name)
        except KeyError:
            continue
        return name
    raise StoreError("running as root and no 'postgres' or 'nobody' user to run PostgreSQL as")


class TempCluster:
    """``with TempCluster() as cluster: url = cluster.create_database("x")``."""

    def __init__(self, bindir: Path | None = None, *, settings: dict[str, str] | None = None):
        found = bindir or find_bindir()
        if found is None:
            raise StoreError(
                "no PostgreSQL server binaries (initdb, pg_ctl) found",
                hint="install the Debian package postgresql (make system-deps), "
                "or set WATCHER_PG_BINDIR",
            )
        self.bindir = found
        self.settings = {**FAST_SETTINGS, **(settings or {})}
        self.folder: Path | None = None
        self.user = _run_as()

    @property
    def data_dir(self) -> Path:
        assert self.folder is not None
        return self.folder / "data"

    def _command(self, *args: str) -> list[str]:
        prefix = ["runuser", "-u", self.user, "--"] if self.user else []
        return [*prefix, *args]

    def _run(self, *args: str) -> None:
        result = subprocess.run(
            self._command(*args), capture_output=True, text=True, cwd=self.folder, check=False
        )
        if result.returncode != 0:
            log = self.folder / "server.log" if self.folder else None
            tail = log.read_text(errors="replace")[-2000:] if log and log.exists() else ""
            raise StoreError(
                f"{Path(args[0]).name} failed ({result.returncode}): "
                f"{(result.stderr or result.stdout).strip()[-2000:]}\n{tail}".strip()
            )

    def start(self) -> TempCluster:
        self._reap_orphans()
        # Not under pytest's private tmp folders: the server's user must reach this one.
        self.folder = Path(tempfile.mkdtemp(prefix="watcher-pg-"))
        (self.folder / "owner.pid").write_text(f"{os.getpid()}\n")
        if self.user:
            shutil.chown(self.folder, self.user, self.user)
        self._run(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data_dir),
            "-U",
            SUPERUSER,
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        )
        options = " ".join(f"-c {key}={value}" for key, value in self.settings.items())
        self._pg_ctl("-o", f"-k {self.folder} -c listen_addresses='' {options}", "start")
        return self

    def _pg_ctl(self, *args: str) -> None:
        """pg_ctl on this cluster, logging to its server.log, waiting until done."""
        assert self.folder is not None, "the cluster is not started"
        log = str(self.folder / "server.log")
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-l", log, "-w", *args)

    def _reap_orphans(self) -> None:
        """Stop and remove the clusters of runs that were killed before they could
        (their owner process is gone): a SIGKILLed test run leaves its server running."""
        for folder in Path(tempfile.gettempdir()).glob("watcher-pg-*"):
            try:
                owner = int((folder / "owner.pid").read_text().strip())
            except (OSError, ValueError):
                continue  # not ours, or still starting
            if process_alive(owner):
                continue
            if (folder / "data" / "postmaster.pid").exists():
                subprocess.run(
                    self._command(
                        str(self.bindir / "pg_ctl"), "-D", str(folder / "data"), "-m", "immediate",
                        "stop",
                    ),
                    capture_output=True,
                    check=False,
                )  # fmt: skip
            shutil.rmtree(folder, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        assert self.folder is not None, "start the cluster first"
        return f"postgresql+psycopg://{SUPERUSER}@/{database}?host={self.folder}"

    def execute(self, statement: str) -> None:
        """One statement outside a transaction (CREATE / DROP DATABASE)."""
        import psycopg

        with psycopg.connect(
            host=str(self.folder), user=SUPERUSER, dbname="postgres", autocommit=True
        ) as connection:
            connection.execute(statement)

    def create_database(self, name: str, *, template: str | None = None) -> str:
        clause = f' TEMPLATE "{template}"' if template else ""
        self.execute(f'CREATE DATABASE "{name}"{clause}')
        return self.url(name)

    def drop_database(self, name: str) -> None:
        self.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def restart(self) -> None:
        """Restart the server (fast shutdown): every open connection is ended."""
        self._pg_ctl("-m", "fast", "restart")

    def stop(self) -> None:
        if self.folder is None:
            return
        if (self.data_dir / "postmaster.pid").exists():
            subprocess.run(
                self._command(
                    str(self.bindir / "pg_ctl"), "-D", str(self.data_dir), "-m", "immediate", "stop"
                ),
                capture_output=True,
                cwd=self.folder,
                check=False,
            )
        shutil.rmtree(self.folder, ignore_errors=True)
        self.folder = None

    def __enter__(self) -> TempCluster:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
