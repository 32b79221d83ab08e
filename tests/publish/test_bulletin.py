"""The weekly bulletin: selection, curation, snapshots, renderings, CLI."""

from __future__ import annotations

import os
import stat
from datetime import date

import pytest
from click.testing import CliRunner

from tests.publish import factory
from tests.publish.conftest import UNIQUE_WORD, WEEK
from watcher.base.taxonomy import taxonomy_for
from watcher.base.weeks import week_range
from watcher.exceptions import PublishError, WeekError
from watcher.publish.bulletin import (
    build_bulletin,
    candidates,
    filter_bulletin,
    publish_bulletin,
    render_email,
    write_bulletin,
)
from watcher.settings import Settings
from watcher.store import bulletins as sb


def by_id(bulletin):  # noqa: ANN001, ANN201
    return {s.id: s for s in bulletin.sections}


def test_sections_in_order_and_automatic_selection(seeded) -> None:  # noqa: ANN001
    store, ids, settings = seeded
    bulletin = build_bulletin(store, WEEK, settings)
    assert bulletin.mode == "automatic"
    assert [s.title for s in bulletin.sections] == [
        "À la une",
        "Appels à projets",
        "Réglementation",
        "Actualités",
        "Agenda",
        "Formations",
        "Publications et outils",
    ]
    calls = by_id(bulletin)["appel_a_projets"].entries
    # Sorted by closing date, the closed call left out, days counted from the issue date.
    assert [e.item_id for e in calls] == [ids["call_soon"], ids["call_open"], ids["hostile"]]
    assert calls[0].deadline == date(2026, 12, 3)
    assert calls[0].days_left == 3  # issue date: Monday 2026-11-30
    all_ids = {e.item_id for e in bulletin.entries}
    assert ids["call_closed"] not in all_ids
    assert ids["irrelevant"] not in all_ids
    assert ids["low_score"] not in all_ids  # below publish.score_threshold
    decree = next(e for e in bulletin.entries if e.item_id == ids["decree"])
    assert decree.sources == ["Agence de l'eau Rhin-Meuse", "Légifrance"]
    # No summary: the first three sentences of the text.
    assert decree.summary.startswith(f"Le décret encadre la {UNIQUE_WORD}")
    assert "quatrième" not in decree.summary
    event = by_id(bulletin)["evenement"].entries[0]
    assert event.event_date == date(2026, 12, 10)


def test_cap_per_section(seeded) -> None:  # noqa: ANN001
    store, ids, settings = seeded
    settings.publish.cap_per_section = 1
    bulletin = build_bulletin(store, WEEK, settings)
    assert all(len(s.entries) <= 1 for s in bulletin.sections)
    # The best score of the section is the one kept.
    assert [e.item_id for e in by_id(bulletin)["appel_a_projets"].entries] == [ids["hostile"]]


def test_curated_selection_pins_keeps_and_drops(seeded) -> None:  # noqa: ANN001
    store, ids, settings = seeded
    before = sb.set_entry(store, WEEK, ids["decree"], user="anne", status="kept", pinned=True)
    assert before is None
    sb.set_entry(store, WEEK, ids["call_open"], user="anne", status="kept", summary="Résumé relu.")
    sb.set_entry(store, WEEK, ids["call_soon"], user="anne", status="dropped")
    previous = sb.set_entry(store, WEEK, ids["call_open"], user="marc", title="Titre relu")
    assert previous["summary"] == "Résumé relu." and previous["updated_by"] == "anne"
    bulletin = build_bulletin(store, WEEK, settings)
    assert bulletin.mode == "curated"
    sections = by_id(bulletin)
    assert [e.item_id for e in sections["une"].entries] == [ids["decree"]]
    assert [e.title for e in sections["appel_a_projets"].entries] == ["Titre relu"]
    assert sections["appel_a_projets"].entries[0].summary == "Résumé relu."
    assert {e.item_id for e in bulletin.entries} == {ids["decree"], ids["call_open"]}
    rows = {r["id"]: r for r in candidates(store, WEEK, settings)}
    assert rows[ids["call_soon"]]["status"] == "dropped"
    assert rows[ids["call_open"]]["auto"] is True
    assert rows[ids["irrelevant"]]["auto"] is False


def test_set_entry_rejects_bad_input(seeded) -> None:  # noqa: ANN001
    store, ids, _settings = seeded
    with pytest.raises(PublishError, match="unknown field"):
        sb.set_entry(store, WEEK, ids["decree"], user="a", colour="red")
    with pytest.raises(PublishError, match="status"):
        sb.set_entry(store, WEEK, ids["decree"], user="a", status="maybe")
    with pytest.raises(PublishError, match="no item"):
        sb.set_entry(store, WEEK, 999_999, user="a", status="kept")
    with pytest.raises(WeekError, match="ISO week"):
        sb.set_entry(store, "2026-48", ids["decree"], user="a", status="kept")


def test_publish_freezes_a_snapshot_and_new_edition_reopens(seeded) -> None:  # noqa: ANN001
    store, ids, settings = seeded
    assert not sb.is_published(store, WEEK)
    sb.set_entry(store, WEEK, ids["call_open"], user="anne", status="kept")
    assert publish_bulletin(store, WEEK, "anne", Settings()) == 1
    assert sb.is_published(store, WEEK)
    frozen = build_bulletin(store, WEEK, settings)
    assert frozen.status == "published" and frozen.edition == 1
    # Later changes to the item do not alter what went out.
    factory.add_item(
        store,
        title="Arrivé après la publication",
        first_seen=week_range(WEEK)[0],
        labels=factory.labels("actualite"),
    )
    assert build_bulletin(store, WEEK, settings).to_dict() == frozen.to_dict()
    with pytest.raises(PublishError, match="published"):
        sb.set_entry(store, WEEK, ids["decree"], user="anne", status="kept")
    with pytest.raises(PublishError, match="already published"):
        publish_bulletin(store, WEEK, "anne", Settings())
    assert sb.new_edition(store, WEEK, "marc") == 2
    assert not sb.is_published(store, WEEK)
    sb.set_entry(store, WEEK, ids["decree"], user="marc", status="kept")
    assert publish_bulletin(store, WEEK, "marc", Settings()) == 2
    second = build_bulletin(store, WEEK, settings)
    assert second.edition == 2
    assert {e.item_id for e in second.entries} == {ids["call_open"], ids["decree"]}


def test_filter_by_theme_type_scope(seeded) -> None:  # noqa: ANN001
    store, ids, settings = seeded
    bulletin = build_bulletin(store, WEEK, settings)
    names = taxonomy_for(settings).names["themes"]
    water = filter_bulletin(bulletin, themes=["eau"], theme_names=names)
    assert {e.item_id for e in water.entries} == {ids["decree"]}
    assert water.theme == "eau" and "Eau" in water.title
    calls = filter_bulletin(bulletin, types=["appel_a_projets"])
    assert all(e.type == "appel_a_projets" for e in calls.entries) and calls.entries
    national = filter_bulletin(bulletin, scope="france")
    assert ids["decree"] in {e.item_id for e in national.entries}
    assert all(e.scope == "france" for e in national.entries)


def test_email_has_inline_css_and_a_text_part(seeded) -> None:  # noqa: ANN001
    store, ids, settings = seeded
    html, text = render_email(build_bulletin(store, WEEK, settings), settings)
    assert html.startswith("<!DOCTYPE html>") and 'lang="fr"' in html
    assert "<style" not in html  # inlined by css-inline
    assert 'width="600"' in html and "width: 600px" in html
    assert 'role="presentation"' in html
    assert "Appel à projets chaleur fatale Grand Est" in html
    assert "https://ademe.example.org/aap-chaleur" in html
    assert "== Appels à projets ==" in text
    assert "Date limite : 3 décembre 2026 (J-3)" in text
    assert "<" not in text.replace("<-", "")  # plain text, no markup


def test_write_bulletin_and_cli(seeded, tmp_path) -> None:  # noqa: ANN001
    store, _ids, settings = seeded
    paths = write_bulletin(store, WEEK, settings)
    folder = settings.publish.output_dir / "bulletins" / WEEK
    assert folder / "email.html" in paths and folder / "email.txt" in paths
    assert (folder / "themes" / "eau" / "email.txt").read_text().count("* ") == 1
    toml = tmp_path / "watcher.toml"
    toml.write_text(f'[publish]\noutput_dir = "{tmp_path / "cli-out"}"\n')
    result = CliRunner().invoke(
        __import__("watcher.cli", fromlist=["main"]).main,
        ["bulletin", "build", "--week", WEEK, "--db", store.url, "--settings", str(toml)],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "cli-out" / "bulletins" / WEEK / "index.html").is_file()
    bad = CliRunner().invoke(
        __import__("watcher.cli", fromlist=["main"]).main,
        ["bulletin", "build", "--week", "2026-W99", "--db", store.url],
    )
    assert bad.exit_code == 2 and "has no week 99" in bad.output


def test_bulletin_files_are_readable_as_the_umask_allows(seeded) -> None:  # noqa: ANN001
    # A web server running as another user serves these pages: mkstemp's 0600 hid them.
    store, _ids, settings = seeded
    previous = os.umask(0o022)
    try:
        paths = write_bulletin(store, WEEK, settings)
    finally:
        os.umask(previous)
    assert {stat.S_IMODE(path.stat().st_mode) for path in paths} == {0o644}
    folder = settings.publish.output_dir / "bulletins" / WEEK
    assert not [p.name for p in folder.rglob(".*")]  # no temporary file left


def test_a_build_failing_midway_leaves_the_previous_week_folder_whole(seeded, monkeypatch) -> None:  # noqa: ANN001
    import subprocess

    import watcher.publish.bulletin as bulletin_module

    store, _ids, settings = seeded
    folder = settings.publish.output_dir / "bulletins" / WEEK
    paths = write_bulletin(store, WEEK, settings)
    before = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert set(before) == set(paths)
    ended = subprocess.Popen(["true"])  # noqa: S607 - a pid whose process has ended
    ended.wait()
    killed = folder.parent / f".{WEEK}.build-{ended.pid}"  # a build killed midway
    (killed / "themes" / "eau").mkdir(parents=True)
    (killed / "index.html").write_text("<p>à moitié</p>")
    real, calls = bulletin_module.render_web, []

    def failing(variant, settings_):  # noqa: ANN001, ANN202
        calls.append(variant)
        if len(calls) == 4:  # the main page and two themes are rendered by then
            raise RuntimeError("template crashed")
        return real(variant, settings_) + "<!-- new -->"

    monkeypatch.setattr(bulletin_module, "render_web", failing)
    with pytest.raises(RuntimeError, match="template crashed"):
        write_bulletin(store, WEEK, settings)
    after = {p: p.read_bytes() for p in folder.rglob("*") if p.is_file()}
    assert after == before  # not some files new and others old
    assert sorted(p.name for p in folder.parent.iterdir()) == [WEEK]  # no staging left
    calls.clear()
    monkeypatch.setattr(bulletin_module, "render_web", lambda v, s: real(v, s) + "<!-- new -->")
    assert write_bulletin(store, WEEK, settings) == paths
    assert all(p.read_text().endswith("<!-- new -->") for p in paths if p.name == "index.html")
    assert sorted(p.name for p in folder.parent.iterdir()) == [WEEK]


def test_user_templates_come_first_and_missing_ones_are_named(seeded, tmp_path) -> None:  # noqa: ANN001
    from watcher.publish.render import render

    store, _ids, settings = seeded
    custom = tmp_path / "my-templates" / "bulletin"
    custom.mkdir(parents=True)
    (custom / "email.txt").write_text("Notre bulletin : {{ bulletin.week }}\n", encoding="utf-8")
    settings.publish.templates_dir = tmp_path / "my-templates"
    html, text = render_email(build_bulletin(store, WEEK, settings), settings)
    assert text == f"Notre bulletin : {WEEK}\n"
    assert "Appels à projets" in html  # the bundled HTML template still serves
    with pytest.raises(PublishError, match="nope.html.*my-templates"):
        render("nope.html", settings)


def test_the_settings_classifiers_folder_names_the_labels_everywhere(seeded, tmp_path) -> None:  # noqa: ANN001
    """classify.classifiers_dir reaches the bulletin, its per-theme variants, the
    desk's section titles and the subscribers' allowed ids, not only the classifier."""
    import shutil

    from watcher.base.resources import BUNDLED_CLASSIFIERS
    from watcher.deliver.subscribers import add_subscriber
    from watcher.exceptions import ConfigError
    from watcher.publish.selection import section_titles

    store, _ids, settings = seeded
    folder = tmp_path / "our-classifiers"
    shutil.copytree(BUNDLED_CLASSIFIERS, folder)
    taxonomy = folder / "taxonomy.yaml"
    text = taxonomy.read_text(encoding="utf-8")
    text = text.replace("    name: Eau\n", "    name: Eau et milieux\n")
    text = text.replace("    section: Publications et outils\n", "    section: Lectures\n")
    text = text.replace("  eau:\n", "  eau_milieux:\n")
    taxonomy.write_text(text, encoding="utf-8")
    settings.classify.classifiers_dir = folder

    assert section_titles(settings)["publication"] == "Lectures"
    paths = write_bulletin(store, WEEK, settings)
    themes = {p.parent.name for p in paths if p.parent.parent.name == "themes"}
    assert "eau_milieux" in themes and "eau" not in themes
    assert (
        "Eau et milieux" in (paths[0].parent / "themes" / "eau_milieux" / "index.html").read_text()
    )
    add_subscriber(store, "a@example.org", themes=["eau_milieux"], taxonomy=taxonomy_for(settings))
    with pytest.raises(ConfigError, match="unknown id"):
        add_subscriber(store, "b@example.org", themes=["eau"], taxonomy=taxonomy_for(settings))
