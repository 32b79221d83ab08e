"""A user's templates folder (``publish.templates_dir``) in the desk: a template
that does not compile stops the app before any page; one that fails while a
page renders gives a French page naming its file and line to a curator, and
a page without any server path to a reader, never the generic 500."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient

from tests.desk.builder import WEEK, build_store
from tests.desk.conftest import PASSWORD, USER, log_in
from tests.shared import make_settings
from watcher.desk.accounts import create_user
from watcher.desk.app import create_app
from watcher.exceptions import TemplateFileError
from watcher.store import Store

pytestmark = pytest.mark.sqlite_only  # templates, not the database


def _client(store: Store, tmp_path: Path, template: str, content: str):  # noqa: ANN202
    path = tmp_path / "my-templates" / template
    path.parent.mkdir(parents=True)
    path.write_text(content, encoding="utf-8")
    settings = make_settings(tmp_path, publish={"templates_dir": tmp_path / "my-templates"})
    build_store(store)
    create_user(store, USER, PASSWORD)
    app = create_app(store, settings)
    # A 500 is what is tested: the app's own answer, not the exception.
    client = TestClient(
        app, base_url="http://127.0.0.1", client=("127.0.0.1", 50000), raise_server_exceptions=False
    )
    return client, path


@pytest.mark.parametrize(
    ("template", "url"),
    [
        ("desk/week.html", f"/semaine/{WEEK}"),  # a desk page
        ("bulletin/email.txt", f"/semaine/{WEEK}/apercu"),  # the bulletin's preview
    ],
)
def test_a_curator_sees_which_template_fails_and_where(store, tmp_path, template, url):
    client, path = _client(store, tmp_path, template, "<p>\n\n{{ no_such_macro(1) }}\n")
    assert log_in(client).status_code == 303
    answer = client.get(url)
    assert answer.status_code == 500
    assert "Gabarit personnalisé en erreur" in answer.text
    assert f"Le gabarit {path} (ligne 3) ne peut pas être affiché" in answer.text
    assert "no_such_macro" in answer.text


def test_a_page_that_renders_an_unencodable_character_is_named_like_the_cli(store, tmp_path):
    client, path = _client(store, tmp_path, "desk/week.html", '<p>\n{{ "\\udc80" }}\n')
    assert log_in(client).status_code == 303
    answer = client.get(f"/semaine/{WEEK}")
    assert answer.status_code == 500
    assert "Gabarit personnalisé en erreur" in answer.text
    assert "which cannot be written as UTF-8 (line 2 of the output)" in answer.text


def test_a_reader_sees_no_server_path(store, tmp_path):
    client, path = _client(store, tmp_path, "public/notice.html", "{{ no_such_macro() }}\n")
    answer = client.get("/abonnement/")
    assert answer.status_code == 500
    assert "Page indisponible" in answer.text
    assert str(tmp_path) not in answer.text


def test_a_desk_template_that_does_not_compile_stops_the_app(store, tmp_path):
    with pytest.raises(TemplateFileError, match=r"login\.html:2: Unexpected end of template"):
        _client(store, tmp_path, "desk/login.html", "<p>\n{% if x %}\n")
