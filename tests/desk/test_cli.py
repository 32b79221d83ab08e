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


def _no_password(command: str) -> str:
    return (
        "Error: no password: stdin is not a terminal, and it ended before the password "
        "and its confirmation; give the password on stdin with --password-stdin\n"
        f"Hint: printf '%s\\n' \"$PASSWORD\" | watcher {command} NAME --password-stdin\n"
    )


def test_users_add_without_a_terminal_says_how_to_give_the_password(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = tmp_path / "new" / "watcher.db"
    added = CliRunner().invoke(main, ["users", "add", "lea", "--db", str(db)], input="")
    assert added.exit_code == 2, added.output
    assert added.stderr == _no_password("users add")
    assert not db.parent.exists()  # refused before a database was created
    differ = CliRunner().invoke(
        main, ["users", "add", "lea", "--db", str(db)], input="motdepasse1\nmotdepasse2\n"
    )
    assert differ.exit_code == 2
    assert differ.stderr == "Error: password: the two lines read from stdin differ\n"
    piped = CliRunner().invoke(
        main, ["users", "add", "lea", "--db", str(db)], input="motdepasse2\nmotdepasse2"
    )
    assert piped.exit_code == 0, piped.output
    assert piped.stdout == "User lea created.\n"  # no prompt in a script's output
    changed = CliRunner().invoke(main, ["users", "password", "lea", "--db", str(db)], input="")
    assert changed.exit_code == 2
    assert changed.stderr == _no_password("users password")


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


def test_bulletin_publish_unpublish_and_new_edition(store, tmp_path):
    from watcher.store.bulletins import current_edition
    from watcher.store.delivery import begin_attempt, get_subscriber
    from watcher.store.desk import list_decisions

    build_store(store)
    settings = tmp_path / "watcher.toml"
    site = tmp_path / "site"
    settings.write_text(f'[publish]\nsite_dir = "{site}"\noutput_dir = "{tmp_path}"\n')
    options = ["--settings", str(settings)]
    published = _cli(store, "bulletin", "publish", "--week", WEEK, "--user", "script", *options)
    assert published.exit_code == 0, published.output
    assert f"bulletin {WEEK}: edition 1 published" in published.output
    assert f"site rebuilt in {site}" in published.output
    assert (site / "bulletins" / WEEK / "index.html").exists()
    again = _cli(store, "bulletin", "publish", "--week", WEEK, *options)
    assert again.exit_code == 1 and "already published" in again.output
    assert "Traceback" not in again.output
    assert list_decisions(store, week=WEEK)[0]["user"] == "script"

    withdrawn = _cli(store, "bulletin", "unpublish", "--week", WEEK, "--no-site", *options)
    assert withdrawn.exit_code == 0, withdrawn.output
    assert current_edition(store, WEEK)["status"] == "draft"
    assert _cli(store, "bulletin", "unpublish", "--week", WEEK, *options).exit_code == 1
    _cli(store, "bulletin", "publish", "--week", WEEK, "--no-site", *options)
    add_subscriber(store, "eau@example.org", "Eau", ["eau"], created_at=BEFORE_WEEK)
    sub = get_subscriber(store, email="eau@example.org")
    begin_attempt(store, week=WEEK, edition=1, subscriber_id=sub["id"], email=sub["email"], items=1)
    sent = _cli(store, "bulletin", "unpublish", "--week", WEEK, *options)
    assert sent.exit_code == 1 and "already sent" in sent.output and "new edition" in sent.output

    corrected = _cli(store, "bulletin", "new-edition", "--week", WEEK, *options)
    assert corrected.exit_code == 0 and "edition 2 opened" in corrected.output
    assert _cli(store, "bulletin", "new-edition", "--week", WEEK, *options).exit_code == 1
    assert _cli(store, "bulletin", "publish", "--week", "2026-48").exit_code == 2


def test_user_names_differing_only_in_case_are_one_account(store):
    assert (
        _cli(store, "users", "add", "Marie", "--password-stdin", input="motdepasse1\n").exit_code
        == 0
    )
    twin = _cli(store, "users", "add", "marie", "--password-stdin", input="motdepasse2\n")
    assert twin.exit_code == 1 and "exists already" in twin.output
    assert authenticate(store, "MARIE", "motdepasse1") == "Marie"
    assert _cli(store, "users", "remove", "mARIE").exit_code == 0
    assert get_user(store, "Marie") is None


def test_users_password_ends_the_sessions(store):
    from watcher.store.desk import create_session, session_user

    _cli(store, "users", "add", "marie", "--password-stdin", input="motdepasse1\n")
    token = create_session(store, "marie")
    changed = _cli(store, "users", "password", "marie", "--password-stdin", input="nouveau-mdp\n")
    assert changed.exit_code == 0, changed.output
    assert session_user(store, token) is None
    assert authenticate(store, "marie", "nouveau-mdp")
    assert (
        _cli(store, "users", "password", "paul", "--password-stdin", input="xxxxxxxx\n").exit_code
        == 1
    )


def test_expired_sessions_are_forgotten_at_the_next_sign_in(store):
    from datetime import timedelta

    import time_machine

    from watcher.desk.accounts import create_user
    from watcher.store.desk import create_session, session_user

    create_user(store, "marie", "motdepasse1")
    with time_machine.travel("2026-11-01 09:00Z", tick=False):
        old = create_session(store, "marie")
    with time_machine.travel("2026-11-03 09:00Z", tick=False):
        fresh = create_session(store, "marie", forget_after=timedelta(hours=12))
    assert session_user(store, old) is None and session_user(store, fresh) == "marie"
