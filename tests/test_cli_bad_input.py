"""Every CLI command against a table of bad inputs.

Each command, enumerated from the click group (a new command is walked without
editing this file), first runs on good inputs and must succeed; then it runs
with one bad input at a time: a missing, garbage, binary, non-UTF-8, huge or
alias-bombed sources file; a broken or out-of-range settings file; a database
given as ``:memory:``, an unknown URL scheme, an unreachable PostgreSQL, a
mistyped path, an unrelated SQLite file, a text file or a folder; an output
folder that cannot be created; wrong values for the command's own options and
arguments. It must end with exit status 1 or 2 and one ``Error:`` line on
stderr naming what is wrong, never a traceback (``WATCHER_DEBUG`` is set, so an
unexpected exception reaches this test instead of the CLI's safety net).

A command that does not read the spoilt input may succeed, but only if it never
opened it: the test records which of sources, settings and store the command
opened (``App``'s lazy properties).
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import sqlite3
import threading
from dataclasses import dataclass, field
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result

from tests.desk.builder import OLD, WEEK, build_store
from watcher.base.resources import BUNDLED_CLASSIFIERS
from watcher.cli import App, main
from watcher.deliver import add_subscriber
from watcher.desk.accounts import create_user
from watcher.publish.bulletin import publish_bulletin
from watcher.settings import Settings
from watcher.store import Store


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


CLOSED_PORT = _closed_port()
PASSWORD = "correct-horse-battery\n"


def _commands(group: click.Group, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    paths = []
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            paths += _commands(command, (*prefix, name))
        else:
            paths.append((*prefix, name))
    return paths


COMMANDS = _commands(main)


def _command(path: tuple[str, ...]) -> click.Command:
    command: click.Command = main
    for name in path:
        command = command.commands[name]  # type: ignore[attr-defined]
    return command


# ---------------------------------------------------------------- the world


@dataclass
class World:
    """Files shared by every run (never written by a command), built once."""

    root: Path
    web: str = ""  # a local site with a feed, for `sources add`

    def __getitem__(self, name: str) -> str:
        return str(self.root / name)


BASE_SOURCES = f"""sources:
  - id: arret
    name: Source arrêtée
    kind: rss
    url: http://127.0.0.1:{CLOSED_PORT}/feed.xml
    enabled: false
"""

# Nine levels of nine aliases: 400 bytes, 387 million strings once expanded.
ALIAS_BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["sources: *i", ""]
)

FEED = """<?xml version="1.0"?><rss version="2.0"><channel><title>Actus</title>
<link>http://example.org/</link><description>d</description>
<item><title>Un appel</title><link>http://example.org/a</link></item></channel></rss>"""

PAGE = """<!DOCTYPE html><html><head><title>Site</title>
<link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body></body></html>"""


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    root = tmp_path_factory.mktemp("bad-input")
    w = World(root)

    def put(name: str, content: str | bytes) -> None:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")

    put("sources.yaml", BASE_SOURCES)
    put(
        "corpus.jsonl",
        json.dumps(
            {
                "id": "1",
                "title": "Appel à projets chaleur fatale",
                "text": "La Région ouvre un appel à projets.",
                "labels": {
                    "relevant": True,
                    "type": "appel_a_projets",
                    "themes": ["energie"],
                    "axes": ["veille"],
                    "scope": "grand_est",
                    "deadline": None,
                },
            }
        )
        + "\n",
    )
    put("subscribers.csv", "email,name\nlea@example.org,Léa\n")
    training = (BUNDLED_CLASSIFIERS / "training" / "d1_appels.jsonl").read_text(encoding="utf-8")
    put("training/few.jsonl", training.splitlines()[0] + "\n")  # too few: the lexicons decide
    put("web/index.html", PAGE)
    put("web/feed.xml", FEED)
    put("binary.bin", bytes(range(256)) * 8)
    put("garbage.yaml", "sources: [unclosed\n  - : :\n")
    put("scalar.yaml", "just some words\n")
    put("latin1.yaml", BASE_SOURCES.encode("latin-1"))
    put("bomb.yaml", ALIAS_BOMB)
    put("huge.yaml", BASE_SOURCES + ("# " + "x" * 1021 + "\n") * 3 * 1024)  # 3 MiB
    put("garbage.toml", "[desk\nport = = 3\n")
    put("latin1.toml", "[schedule]\nteam_email = 'équipe@example.org'\n".encode("latin-1"))
    put("port.toml", "[desk]\nport = 99999999\n")
    put("rate.toml", "[delivery]\nrate_per_minute = -5\n")
    put("limit.toml", "[collect]\ncrawl_time_limit_s = -1\n")
    put("unknown.toml", "[desk]\ncolour = 'red'\n")
    put("text.db", "this is not a database\n" * 50)
    put("blocker", "a file where a folder is expected\n")
    (root / "folder").mkdir()
    conn = sqlite3.connect(root / "notes.db")
    with conn:
        conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
        conn.execute("INSERT INTO notes (body) VALUES ('keep me')")
    conn.close()

    # A store with a published week, a subscriber and a curator; a model trained once.
    settings = Settings.model_validate(_settings_dict(root))
    with Store(root / "template.db") as store:
        build_store(store)
        publish_bulletin(store, WEEK, "lea", settings)
        add_subscriber(store, "lea@example.org", "Léa", themes=["energie"], created_at=OLD)
        create_user(store, "lea", PASSWORD.strip())
    from watcher.classify import Classifier

    Classifier.train(settings)
    return w


@pytest.fixture(scope="module")
def web(world: World) -> str:
    handler = partial(SimpleHTTPRequestHandler, directory=world["web"])
    handler.log_message = lambda *a, **k: None  # type: ignore[attr-defined]
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


def _settings_dict(tmp: Path, *, shared: Path | None = None) -> dict:
    shared = shared or tmp
    return {
        "publish": {"output_dir": f"{tmp}/output", "site_dir": f"{tmp}/output/site"},
        "classify": {"model_dir": f"{shared}/model", "training_dir": f"{shared}/training"},
        "schedule": {"backup_dir": f"{tmp}/backups", "log_file": f"{tmp}/logs/w.log"},
        "delivery": {"smtp_host": "127.0.0.1", "smtp_port": CLOSED_PORT},
    }


def _toml(sections: dict) -> str:
    lines = []
    for section, values in sections.items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {value!r}".replace("'", '"') for key, value in values.items()]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- the cases


@dataclass
class Case:
    """One bad input: extra arguments, what it spoils, words the error must name."""

    name: str
    args: list[str]
    spoils: str  # "sources", "settings", "store", "new-store", "output" or "option"
    names: tuple[str, ...]  # at least one must appear in the error line
    settings: dict = field(default_factory=dict)  # sections replacing the base settings'
    positional: bool = False  # args replace the command's required argument of that name


def _file_cases(w: World) -> list[Case]:
    sources = ["garbage.yaml", "scalar.yaml", "binary.bin", "latin1.yaml", "folder"]
    sources += ["bomb.yaml", "huge.yaml", "nope.yaml"]
    settings = ["garbage.toml", "binary.bin", "latin1.toml", "folder", "huge.yaml", "nope.toml"]
    ranges = {
        "port.toml": "desk.port",
        "rate.toml": "delivery.rate_per_minute",
        "limit.toml": "collect.crawl_time_limit_s",
        "unknown.toml": "desk.colour",
    }
    stores = {
        "memory": (":memory:", ":memory:"),
        "bogus-scheme": ("bogus://x", "bogus://x"),
        "postgresql-unreachable": (f"postgresql://w:secret@127.0.0.1:{CLOSED_PORT}/w", "127.0.0.1"),
        "unrelated-sqlite": (w["notes.db"], "notes.db"),
        "text-file": (w["text.db"], "text.db"),
        "folder": (w["folder"], "folder"),
    }
    cases = [Case(f"sources-{n}", ["--sources", w[n]], "sources", (n,)) for n in sources]
    cases += [Case(f"settings-{n}", ["--settings", w[n]], "settings", (n,)) for n in settings]
    cases += [
        Case(f"settings-{n}", ["--settings", w[n]], "settings", (k,)) for n, k in ranges.items()
    ]
    cases += [Case(f"db-{n}", ["--db", v], "store", (k,)) for n, (v, k) in stores.items()]
    # Relative to the run's folder: a mistyped path, created only by commands meant to.
    cases.append(Case("db-typo", ["--db", "typo/folder/watcher.db"], "new-store", ("typo",)))
    blocked = Path(w["blocker"]) / "sub"
    cases.append(Case("output-blocked", [], "output", ("blocker",), _settings_dict(blocked)))
    return cases


# Words that name a parameter as clearly as its own name does.
_ALSO_NAMED = {
    "email": ("subscriber", "address"),
    "only": ("source id",),
    "username": ("user name", "user named"),
}


def _option_cases(path: tuple[str, ...], w: World) -> list[Case]:
    """Wrong values for the command's own parameters, derived from their types."""
    cases: list[Case] = []
    for param in _command(path).params:
        if not param.expose_value or (isinstance(param, click.Option) and param.is_flag):
            continue
        label = param.name or "?"
        flag = param.opts[0] if isinstance(param, click.Option) else None
        names = (flag or label.upper(), label, label.replace("_", " "), *_ALSO_NAMED.get(label, ()))

        def case(kind: str, value: str, label: str = label, flag: str | None = flag) -> None:
            args = [flag, value] if flag else [value]
            cases.append(Case(f"{label}-{kind}", args, "option", names, positional=not flag))  # noqa: B023

        ptype = param.type
        if isinstance(ptype, click.Choice):
            case("bad-choice", "no-such-choice")
        elif isinstance(ptype, click.types.IntParamType | click.types.FloatParamType):
            case("not-a-number", "many")
            case("huge", "99999999999")
        elif isinstance(ptype, click.Path) and label in ("to", "out_dir", "output_dir", "output"):
            names = (*names, "blocker")
            case("blocked", str(Path(w["blocker"]) / "sub"))
        elif isinstance(ptype, click.Path):
            case("folder", w["folder"])
            case("binary", w["binary.bin"])
            case("missing", w["missing.file"])
        elif label == "week":
            case("garbage", "last week")
            case("out-of-range", "2026-W60")
        elif label == "url":
            case("not-http", "file:///etc/passwd")
        elif label == "job":
            case("unknown", "no-such-job")
        elif label in ("username", "email"):
            case("empty", "")
        elif label in ("themes", "types", "scope"):
            case("unknown", "zzz")
        elif label == "only":
            case("unknown", "no-such-source")
    return cases


# Options a command needs to have something to do, on top of its required ones.
GOOD_OPTIONS = {
    ("send",): ["--dry-run"],  # SMTP failures are tests/deliver's
    ("subscribers", "update"): ["--name", "Léa B."],
}


def _required(path: tuple[str, ...], param: click.Parameter, w: World, web: str) -> str:
    """A good value for a required parameter; an unknown one gets "x"."""
    # acts on the template's user or subscriber
    existing = path[-1] in ("remove", "update", "password")
    return {
        "corpus": w["corpus.jsonl"],
        "url": web,
        "username": "lea" if existing else "nouvelle",
        "email": "lea@example.org" if existing else "nouveau@example.org",
        "file": w["subscribers.csv"],
        # the template's WEEK is published already; 2026-W40 holds an older item
        "week": "2026-W40" if path == ("bulletin", "publish") else WEEK,
        "job": "retention",
    }.get(param.name or "", "x")


def _params() -> list:
    probe = World(Path("/probe"))
    return [
        pytest.param(path, case.name, id=f"{' '.join(path)}::{case.name}")
        for path in COMMANDS
        for case in [*_file_cases(probe), *_option_cases(path, probe)]
    ]


# ---------------------------------------------------------------- running


@pytest.fixture(autouse=True)
def _no_long_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """Commands that run until stopped stop right after their start-up checks."""
    import uvicorn

    import watcher.demo
    import watcher.schedule
    import watcher.schedule.scheduler as scheduler

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: None)
    monkeypatch.setattr(uvicorn.Server, "run", lambda *a, **k: None)
    monkeypatch.setattr(watcher.demo, "STEPS", [])
    stopped = threading.Event()
    stopped.set()
    real_run_forever = scheduler.run_forever
    monkeypatch.setattr(watcher.schedule, "run_forever", lambda rt: real_run_forever(rt, stopped))


@pytest.fixture
def touched(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    """Which of sources, settings, store the command opened."""
    seen: set[str] = set()
    for name in ("sources", "settings", "store"):
        prop = getattr(App, name)

        def getter(self: App, prop: property = prop, name: str = name) -> object:
            seen.add(name)
            return prop.fget(self)

        monkeypatch.setattr(App, name, property(getter))
    return seen


def run(
    path: tuple[str, ...], case: Case | None, w: World, web: str, tmp: Path, mp: pytest.MonkeyPatch
) -> tuple[Result, str]:
    """Run `watcher PATH …` in `tmp` (its own sources, settings, database and outputs)."""
    for var in ("WATCHER_SOURCES", "WATCHER_DB", "WATCHER_SETTINGS"):
        mp.delenv(var, raising=False)
    mp.setenv("WATCHER_DEBUG", "1")
    mp.chdir(tmp)
    shutil.copy(w["sources.yaml"], tmp / "sources.yaml")
    (tmp / "output").mkdir()
    shutil.copy(w["template.db"], tmp / "output" / "watcher.db")
    settings = _settings_dict(tmp, shared=w.root) | (case.settings if case else {})
    (tmp / "watcher.toml").write_text(_toml(settings), encoding="utf-8")

    args: list[str] = []
    given = set(case.args) if case else set()
    for param in _command(path).params:
        if not param.required or param.opts[0] in given:
            continue
        if case and case.positional and case.name.startswith(f"{param.name}-"):
            args += case.args
        elif isinstance(param, click.Argument):
            args.append(_required(path, param, w, web))
        else:
            args += [param.opts[0], _required(path, param, w, web)]
    if case and not case.positional:
        args += case.args
    args += GOOD_OPTIONS.get(path, [])
    stdin = PASSWORD * 2 if path in (("users", "add"), ("users", "password")) else ""
    result = CliRunner().invoke(main, [*path, *args], input=stdin)
    where = f"$ watcher {' '.join([*path, *args])}\n{result.output}"
    assert not isinstance(result.exception, Exception), (
        f"{where}\ntraceback: {type(result.exception).__name__}: {result.exception}"
    )
    assert "Traceback" not in result.output, where
    return result, where


_NOT_THE_MESSAGE = re.compile(r"^(Usage: |Try '|Note: |Hint: |\s*$|\s{2,}\S)")


def error_lines(stderr: str) -> list[str]:
    """stderr without click's usage lines, notes and hints: what must be one line."""
    return [line for line in stderr.splitlines() if not _NOT_THE_MESSAGE.match(line)]


OPENS = {"sources": "sources", "settings": "settings", "store": "store", "new-store": "store"}
# Commands that write under the settings' folders (the demo writes under its --output).
WRITERS = {("backup",), ("bulletin", "build"), ("site", "build"), ("send",), ("train",)}


@pytest.mark.parametrize("path", COMMANDS, ids=" ".join)
def test_every_command_works_on_the_good_inputs(path, world, web, tmp_path, monkeypatch):
    """The baseline: each bad input below is the only reason for a failure."""
    result, where = run(path, None, world, web, tmp_path, monkeypatch)
    assert result.exit_code == 0, where


@pytest.mark.parametrize(("path", "case_name"), _params())
def test_bad_input_gives_one_clear_error(
    path, case_name, world, web, tmp_path, monkeypatch, touched
) -> None:
    # Slow children run for real in the baseline above and in their stages' tests:
    # the feed discovery crawl (3 s) and the Pagefind indexer (2 s).
    monkeypatch.setattr(
        "watcher.collect.discover.discover_feeds",
        lambda url, settings: {"url": url, "title": "Site", "feeds": []},
    )
    monkeypatch.setattr("watcher.publish.search.index_bundles", lambda site, bundles, **_: 0.0)
    case = {c.name: c for c in [*_file_cases(world), *_option_cases(path, world)]}[case_name]
    result, where = run(path, case, world, web, tmp_path, monkeypatch)
    opened = OPENS.get(case.spoils) in touched
    if case.spoils == "new-store" and opened:
        created = "Note: created a new database" in result.stderr
        assert created == (tmp_path / "typo").exists(), where
        if result.exit_code == 0:
            return
    if result.exit_code == 0:
        # Only a command that never opened the spoilt input may succeed.
        assert not opened, f"succeeded on a bad {case.spoils}: {where}"
        assert not (case.spoils == "output" and path in WRITERS), f"said ok, wrote nothing: {where}"
        assert case.spoils != "option", f"accepted a bad option value: {where}"
        return
    assert result.exit_code in (1, 2), where
    lines = error_lines(result.stderr)
    assert len(lines) == 1, where
    assert lines[0].startswith("Error: ") and "unexpected" not in lines[0], where
    if opened or case.spoils in ("output", "option"):
        assert any(name in lines[0] for name in case.names), where


def _option_params() -> list:
    probe = World(Path("/probe"))
    return [
        pytest.param(path, case.name, id=f"{' '.join(path)}::{case.name}")
        for path in COMMANDS
        for case in _option_cases(path, probe)
    ]


@pytest.mark.parametrize(("path", "case_name"), _option_params())
def test_a_refused_command_leaves_no_new_database(
    path, case_name, world, web, tmp_path, monkeypatch
):
    """Even a command that may create a database checks its own arguments first."""
    monkeypatch.setattr(
        "watcher.collect.discover.discover_feeds",
        lambda url, settings: {"url": url, "title": "Site", "feeds": []},
    )
    case = {c.name: c for c in _option_cases(path, world)}[case_name]
    args = [*case.args, "--db", "typo/watcher.db"]
    case = Case(case.name, args, case.spoils, case.names, positional=case.positional)
    result, where = run(path, case, world, web, tmp_path, monkeypatch)
    if result.exit_code != 0:
        assert not (tmp_path / "typo").exists(), where
