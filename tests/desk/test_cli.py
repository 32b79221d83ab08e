"""`watcher users …` and `watcher send` from the command line."""

from __future__ import annotations

from click.testing import CliRunner

from tests.desk.builder import WEEK, build_store
from watcher.cli import main
from watcher.deliver import add_subscriber
from watcher.desk.accounts import authenticate
from watcher.publish.bulletin import publish_bulletin
from watcher.settings import Settings
from watcher.store.desk import get_user

from .conftest import BEFORE_WEEK


def _cli(store, *args: str, input: str | None = None):  # noqa: ANN001, ANN202
    return CliRunner().invoke(main, ["--db", store.url, *args], input=input)


def test_users_add_list_remove(store):
    added = _cli(store, "users", "add", "marie", "--password-stdin", input="un mot de passe\n")
    assert added.exit_code == 0, added.output
    assert authenticate(store, "marie", "un mot de passe")
    assert get_user(store, "marie")["password_hash"].startswith("$argon2id$")
    prompted = _cli(store, "users", "add", "paul", input="motdepasse2\nmotdepasse2\n")
    assert prompted.exit_code == 0, prompted.output
    assert (
        _cli(store, "users", "add", "marie", "--password-stdin", input="xxxxxxxxx\n").exit_code == 1
    )
    short = _cli(store, "users", "add", "zoe", "--password-stdin", input="court\n")
    assert short.exit_code == 2 and "at least 8" in short.output
    listed = _cli(store, "users", "list").output
    assert "marie" in listed and "paul" in listed and "last login" in listed
    assert _cli(store, "users", "remove", "paul").exit_code == 0
    assert get_user(store, "paul") is None
    assert _cli(store, "users", "remove", "paul").exit_code == 1


def test_send_dry_run_from_the_cli(store, tmp_path):
    build_store(store)
    add_subscriber(store, "eau@example.org", "Eau", ["eau"], created_at=BEFORE_WEEK)
    not_published = _cli(store, "send", "--week", WEEK, "--dry-run")
    assert not_published.exit_code == 1 and "not published" in not_published.output
    publish_bulletin(store, WEEK, "marie", Settings())
    out = tmp_path / "dry"
    result = _cli(store, "send", "--week", WEEK, "--dry-run", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "1 message(s) written (dry run)" in result.output
    assert (out / "mail" / WEEK / "eau@example.org.eml").exists()
    bad_week = _cli(store, "send", "--week", "2026-48")
    assert bad_week.exit_code == 2 and "ISO week" in bad_week.output
    assert _cli(store, "send", "--week", "2026-W60").exit_code == 2
