"""Subscribers: CLI, one subscriber per address whatever its case, CSV import that
keeps good rows and reports bad ones (never a traceback), opaque signed links."""

from __future__ import annotations

import base64

from click.testing import CliRunner

from watcher.cli import main
from watcher.deliver.smtp import TokenBucket
from watcher.deliver.subscribers import import_csv, save_subscriber
from watcher.deliver.tokens import read_subscriber_token, subscriber_token
from watcher.store.delivery import get_subscriber, list_subscribers, set_subscriber_status


def _cli(store, *args: str, input: str | None = None):  # noqa: ANN001, ANN202
    return CliRunner().invoke(main, ["--db", store.url, *args], input=input)


def test_cli_add_list_remove(store):
    result = _cli(
        store, "subscribers", "add", "a@example.org", "--name", "Anne", "--themes", "eau,energie"
    )
    assert result.exit_code == 0, result.output
    sub = get_subscriber(store, email="a@example.org")
    assert sub["themes"] == ["eau", "energie"] and sub["types"] == [] and sub["status"] == "active"
    listed = _cli(store, "subscribers", "list")
    assert "a@example.org\tAnne\teau,energie\tall\tall\tactive" in listed.output
    bad = _cli(store, "subscribers", "add", "b@example.org", "--themes", "chaleur")
    assert bad.exit_code == 2 and "unknown id(s) chaleur" in bad.output
    assert _cli(store, "subscribers", "remove", "a@example.org").exit_code == 0
    assert get_subscriber(store, email="a@example.org")["status"] == "unsubscribed"
    assert _cli(store, "subscribers", "list").output == ""
    assert "unsubscribed" in _cli(store, "subscribers", "list", "--all").output
    missing = _cli(store, "subscribers", "remove", "zz@example.org")
    assert missing.exit_code == 2 and "no subscriber" in missing.output


def test_adding_an_existing_address_updates_it_and_says_so(store):
    assert _cli(store, "subscribers", "add", "a@example.org", "--name", "Anne").exit_code == 0
    again = _cli(store, "subscribers", "add", "A@Example.ORG", "--themes", "eau")
    assert again.exit_code == 0, again.output
    assert "was there already: themes, types and scope updated" in again.output
    sub = get_subscriber(store, email="a@example.org")
    assert sub["themes"] == ["eau"] and sub["name"] == "Anne"  # no name given: kept
    same = _cli(store, "subscribers", "add", "a@example.org", "--themes", "eau")
    assert same.exit_code == 0 and "unchanged" in same.output
    assert len(list_subscribers(store)) == 1


def test_someone_who_left_is_not_re_added_by_the_team(store):
    save_subscriber(store, "parti@example.org", themes=["eau"])
    set_subscriber_status(store, "parti@example.org", "unsubscribed")
    result = _cli(store, "subscribers", "add", "parti@example.org")
    assert result.exit_code == 2
    assert "unsubscribed on" in result.output and "only they can subscribe again" in result.output
    assert "Traceback" not in result.output
    assert get_subscriber(store, email="parti@example.org")["status"] == "unsubscribed"


def test_cli_update_changes_only_what_is_given(store):
    save_subscriber(store, "a@example.org", "Anne", ["eau"], ["appel_a_projets"])
    result = _cli(
        store, "subscribers", "update", "A@EXAMPLE.org", "--themes", "energie,dechets_ressources"
    )
    assert result.exit_code == 0, result.output
    assert "themes dechets_ressources,energie, types appel_a_projets" in result.output
    sub = get_subscriber(store, email="a@example.org")
    assert sub["themes"] == ["dechets_ressources", "energie"] and sub["types"] == [
        "appel_a_projets"
    ]
    assert _cli(store, "subscribers", "update", "a@example.org", "--types", "all").exit_code == 0
    assert get_subscriber(store, email="a@example.org")["types"] == []
    nothing = _cli(store, "subscribers", "update", "a@example.org")
    assert nothing.exit_code == 2 and "give at least one of" in nothing.output
    unknown = _cli(store, "subscribers", "update", "zz@example.org", "--themes", "eau")
    assert unknown.exit_code == 2 and "no subscriber <zz@example.org>" in unknown.output
    bad = _cli(store, "subscribers", "update", "a@example.org", "--scope", "mars")
    assert bad.exit_code == 2 and "unknown id(s) mars" in bad.output


def test_addresses_differing_in_case_are_one_subscriber(store):
    first = save_subscriber(store, "OK1@Example.ORG", "Majuscules", ["eau"])
    second = save_subscriber(store, "ok1@example.org", "", ["energie"])
    assert first.id == second.id and second.outcome == "updated"
    (only,) = list_subscribers(store)
    assert only["email"] == "OK1@Example.ORG" and only["themes"] == ["energie"]
    assert get_subscriber(store, email="ok1@EXAMPLE.org")["id"] == first.id


def test_csv_import_reports_file_line_and_field(store, tmp_path):
    path = tmp_path / "abonnes.csv"
    path.write_text(
        "email;name;themes;types;scope\n"
        "un@example.org;Un;eau|energie;;\n"
        "pas-une-adresse;Deux;eau;;\n"
        "trois@example.org;Trois;chaleur;;\n"
        "quatre@example.org;Quatre;;appel_a_projets;grand_est\n"
        "UN@example.org;Un bis;;;\n",
        encoding="utf-8",
    )
    report = import_csv(store, path)
    assert report.added == ["un@example.org", "quatre@example.org"]
    assert report.errors[0].startswith(f"{path}: line 3: field 'email'")
    assert report.errors[1].startswith(f"{path}: line 4: field 'themes': unknown id(s) chaleur")
    assert report.errors[2] == (
        f"{path}: line 6: field 'email': <UN@example.org> is already on line 2"
    )
    four = get_subscriber(store, email="quatre@example.org")
    assert four["types"] == ["appel_a_projets"] and four["scopes"] == ["grand_est"]


def test_csv_import_of_existing_addresses_updates_or_reports_them(store, tmp_path):
    save_subscriber(store, "la@example.org", "Là", ["eau"])
    save_subscriber(store, "pareil@example.org", "Pareil", ["eau"])
    save_subscriber(store, "parti@example.org", "Parti", ["eau"])
    set_subscriber_status(store, "parti@example.org", "unsubscribed")
    path = tmp_path / "maj.csv"
    path.write_text(
        "email,name,themes\n"
        "LA@example.org,,energie\n"
        "pareil@example.org,Pareil,eau\n"
        "parti@example.org,Parti,eau\n"
        "neuf@example.org,Neuf,\n",
        encoding="utf-8",
    )
    report = import_csv(store, path)
    assert report.updated == ["LA@example.org"] and report.existing == ["pareil@example.org"]
    assert report.left == ["parti@example.org"] and report.added == ["neuf@example.org"]
    assert get_subscriber(store, email="la@example.org")["themes"] == ["energie"]
    assert get_subscriber(store, email="parti@example.org")["status"] == "unsubscribed"
    result = _cli(store, "subscribers", "import", str(path))
    assert result.exit_code == 0
    assert "0 added, 0 updated, 3 already present, 1 unsubscribed earlier" in result.output


def test_csv_import_with_a_huge_field_keeps_the_good_rows(store, tmp_path):
    """A field over csv's 131,072-character limit used to raise _csv.Error after the
    earlier rows were committed; now that row is reported, the others are kept."""
    path = tmp_path / "gros.csv"
    path.write_text(
        "email,name,themes\n"
        "avant@example.org,Avant,eau\n"
        f"gros@example.org,{'x' * 140_000},eau\n"
        'cite@example.org,"Nom, avec virgule",energie\n'
        f'enorme@example.org,"{"y" * 2_000}",eau\n'
        "apres@example.org,Après,\n",
        encoding="utf-8",
    )
    result = _cli(store, "subscribers", "import", str(path))
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert f"{path}: line 3: not a CSV row (field larger than field limit" in result.output
    assert f"{path}: line 5: field 'name': longer than 1000 characters" in result.output
    assert "3 added" in result.output and "2 bad row(s)" in result.output
    emails = {s["email"] for s in list_subscribers(store)}
    assert emails == {"avant@example.org", "cite@example.org", "apres@example.org"}
    assert get_subscriber(store, email="cite@example.org")["name"] == "Nom, avec virgule"


def test_csv_import_of_malformed_rows_never_gives_a_traceback(store, tmp_path):
    path = tmp_path / "mauvais.csv"
    path.write_bytes(
        b"email,name,themes\n"
        b"a@example.org,A\n"  # too few fields
        b"b@example.org,B,eau,de trop\n"  # too many
        b'c@example.org,"C" mal cite,eau\n'  # a quote inside an unquoted field
        b"d@example.org,D,eau\n"
    )
    result = _cli(store, "subscribers", "import", str(path))
    assert result.exit_code == 1 and "Traceback" not in result.output
    assert f"{path}: line 2: 2 field(s) where the header has 3" in result.output
    assert f"{path}: line 3: 4 field(s) where the header has 3" in result.output
    assert f"{path}: line 4: not a CSV row" in result.output
    assert [s["email"] for s in list_subscribers(store)] == ["d@example.org"]
    binary = tmp_path / "binaire.csv"
    binary.write_bytes(b"\xff\xfe\x00\x01email\n")
    result = _cli(store, "subscribers", "import", str(binary))
    assert result.exit_code == 2 and "cannot read the file" in result.output


def test_an_import_that_fails_while_writing_leaves_nothing_half_done(store, tmp_path):
    import pytest
    from sqlalchemy import event

    path = tmp_path / "ok.csv"
    path.write_text(
        "email,themes\n" + "".join(f"n{i}@example.org,eau\n" for i in range(5)), encoding="utf-8"
    )
    inserts = []

    def fail_on_the_fourth(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        if statement.startswith("INSERT INTO subscribers"):
            inserts.append(statement)
            if len(inserts) == 4:
                raise RuntimeError("disk full")

    event.listen(store.engine, "before_cursor_execute", fail_on_the_fourth)
    try:
        with pytest.raises(RuntimeError):
            import_csv(store, path)
    finally:
        event.remove(store.engine, "before_cursor_execute", fail_on_the_fourth)
    assert list_subscribers(store) == []  # the three first rows were rolled back too


def test_csv_import_cli_exit_status_and_header_errors(store, tmp_path):
    good = tmp_path / "ok.csv"
    good.write_text("email,name,themes\nx@example.org,X,all\n", encoding="utf-8")
    result = _cli(store, "subscribers", "import", str(good))
    assert result.exit_code == 0 and "1 added" in result.output
    assert get_subscriber(store, email="x@example.org")["themes"] == []
    bad = tmp_path / "bad.csv"
    bad.write_text("mail,nom\nx@example.org,X\n", encoding="utf-8")
    result = _cli(store, "subscribers", "import", str(bad))
    assert result.exit_code == 2 and f"{bad}: line 1" in result.output
    missing = _cli(store, "subscribers", "import", str(tmp_path / "none.csv"))
    assert missing.exit_code == 2 and "cannot read" in missing.output
    assert len(list_subscribers(store)) == 1


def test_links_sign_an_opaque_key_never_the_address(store):
    save_subscriber(store, "secret.person@example.org", "S")
    sub = get_subscriber(store, email="secret.person@example.org")
    token = subscriber_token("secret", sub)
    assert read_subscriber_token("secret", token) == sub["key"]
    assert read_subscriber_token("other secret", token) is None
    assert read_subscriber_token("secret", token[:-2] + "xx") is None
    assert read_subscriber_token("secret", "pas un jeton") is None
    # nothing of the address, plain or base64, and not the database id
    payload = token.rsplit(".", 1)[0]
    assert "secret.person" not in token and "example.org" not in token
    decoded = base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))
    assert b"example" not in decoded and payload != str(sub["id"])
    assert len(sub["key"]) >= 20  # 128 random bits


def test_token_bucket_spaces_messages_to_the_rate():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(60, clock=lambda: now[0], sleep=sleep)  # one a second
    for _ in range(4):
        bucket.acquire()
    assert [round(w, 6) for w in waits] == [1.0, 1.0, 1.0]
    now[0] += 10  # a quiet spell refills one token only (burst 1)
    bucket.acquire()
    assert len(waits) == 3
    bucket.acquire()
    assert round(waits[-1], 6) == 1.0


def test_migration_merges_addresses_that_differ_only_in_case(tmp_path):
    """Before 0007, `OK1@Example.ORG` and `ok1@example.org` were two subscribers who
    both got the mail; the migration keeps one (the oldest), with both choices."""
    import pytest
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.exc import IntegrityError

    from watcher.store import Store, _alembic_config
    from watcher.store.delivery import insert_subscriber, list_deliveries

    old = Store(tmp_path / "old.db", migrate=False)
    with old.engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0006_event")
        rows = [
            (1, "OK1@Example.ORG", '["eau"]', "unsubscribed"),
            (2, "ok1@example.org", '["energie"]', "active"),
            (3, "autre@example.org", "[]", "active"),
        ]
        for sid, email, themes, status in rows:
            connection.execute(
                text(
                    "INSERT INTO subscribers (id, email, name, themes, types, scopes, status,"
                    " created_at) VALUES (:id, :email, '', :themes, '[]', '[]', :status,"
                    " '2026-01-05 08:00:00.000000')"
                ),
                {"id": sid, "email": email, "themes": themes, "status": status},
            )
        for sid, week in ((1, "2026-W01"), (2, "2026-W01"), (2, "2026-W02")):
            connection.execute(
                text(
                    "INSERT INTO deliveries (week, edition, subscriber_id, email, status,"
                    " attempts, items, created_at, updated_at) VALUES (:week, 1, :sid, 'x',"
                    " 'sent', 1, 1, '2026-01-05 08:00:00.000000', '2026-01-05 08:00:00.000000')"
                ),
                {"sid": sid, "week": week},
            )
    old.close()
    store = Store(tmp_path / "old.db")
    subs = {s["email"]: s for s in list_subscribers(store, status=None)}
    assert set(subs) == {"OK1@Example.ORG", "autre@example.org"}
    kept = subs["OK1@Example.ORG"]
    assert kept["status"] == "active" and kept["themes"] == ["eau", "energie"]
    assert len({s["key"] for s in subs.values()}) == 2 and all(subs[e]["key"] for e in subs)
    logged = sorted((d["week"], d["subscriber_id"]) for d in list_deliveries(store))
    assert logged == [("2026-W01", kept["id"]), ("2026-W02", kept["id"])]
    # the unique index on lower(email) holds
    with pytest.raises(IntegrityError), store.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO subscribers (email, name, themes, types, scopes, status,"
                " created_at, key) VALUES ('Autre@EXAMPLE.org', '', '[]', '[]', '[]',"
                " 'active', '2026-01-05 08:00:00.000000', 'k')"
            )
        )
    with pytest.raises(Exception, match="exists already"):
        insert_subscriber(store, email="AUTRE@example.org")
    store.close()
