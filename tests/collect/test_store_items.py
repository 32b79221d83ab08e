"""save_item: idempotence, deduplication by URL and by near-identical text, export."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select

from tests.collect.conftest import WORDS
from watcher.models import CollectedItem
from watcher.store.health import source_health
from watcher.store.items import (
    export_rows,
    get_items,
    iter_items,
    known_urls,
    mark_fetch_failed,
    pending_items,
    save_item,
)
from watcher.store.schema import item_labels, item_sources, items


def story(seed: int, words: int = 200) -> str:
    import random

    rng = random.Random(seed)
    return " ".join(rng.choice(WORDS) for _ in range(words))


def item(source: str, url: str, text: str = "", **kw) -> CollectedItem:  # noqa: ANN003
    return CollectedItem(source_id=source, url=url, title=kw.pop("title", "Titre"), text=text, **kw)


def count(store, table) -> int:  # noqa: ANN001
    with store.connect() as c:
        return len(c.execute(select(table)).all())


def test_save_is_idempotent(store) -> None:  # noqa: ANN001
    first = save_item(store, item("a", "https://ex.org/1", story(1)))
    second = save_item(store, item("a", "https://ex.org/1", story(1)))
    assert first == (first[0], True)
    assert second == (first[0], False)
    assert count(store, items) == 1
    assert count(store, item_sources) == 1


def test_same_url_with_tracking_parameters_is_one_item_with_both_sources(store) -> None:  # noqa: ANN001
    a, new_a = save_item(store, item("ademe", "https://ex.org/actu/1?utm_source=rss", story(2)))
    b, new_b = save_item(store, item("region", "HTTPS://EX.org/actu/1?fbclid=abc#top", story(2)))
    assert (new_a, new_b) == (True, False)
    assert a == b
    assert get_items(store, [a])[0].sources == ["ademe", "region"]


def test_near_identical_text_on_another_url_is_one_item(store) -> None:  # noqa: ANN001
    text = story(3, 300)
    edited = text.replace(WORDS[0], "la", 2) + " source: la région."
    a, _ = save_item(store, item("ademe", "https://ademe.example/aap", text))
    b, new = save_item(store, item("presse", "https://presse.example/relais-aap", edited))
    assert (b, new) == (a, False)
    assert get_items(store, [a])[0].sources == ["ademe", "presse"]
    # The second URL is now known, so its article is not fetched again.
    assert known_urls(store, ["https://presse.example/relais-aap"]) == {
        "https://presse.example/relais-aap": True
    }


def test_different_stories_stay_apart(store) -> None:  # noqa: ANN001
    a, _ = save_item(store, item("a", "https://ex.org/1", story(4, 300)))
    b, new = save_item(store, item("a", "https://ex.org/2", story(5, 300)))
    assert new and a != b


def test_incomplete_item_is_completed_and_never_downgraded(store) -> None:  # noqa: ANN001
    provisional = item("a", "https://ex.org/p", summary="Résumé", complete=False)
    item_id, _ = save_item(store, provisional)
    assert pending_items(store, "a")[0]["id"] == item_id
    save_item(store, item("a", "https://ex.org/p", story(6), summary="Résumé"))
    assert pending_items(store, "a") == []
    save_item(store, provisional)  # the feed lists it again: the full text stays
    stored = get_items(store, [item_id])[0]
    assert stored.complete and stored.text == story(6)


def test_completed_article_matching_another_story_is_merged(store) -> None:  # noqa: ANN001
    text = story(7, 300)
    original, _ = save_item(store, item("ademe", "https://ademe.example/x", text))
    provisional, _ = save_item(store, item("presse", "https://presse.example/y", complete=False))
    merged, new = save_item(store, item("presse", "https://presse.example/y", text + " fin"))
    assert (merged, new) == (original, False)
    assert count(store, items) == 1
    assert get_items(store, [original])[0].sources == ["ademe", "presse"]
    assert provisional != original


def test_failed_fetches_give_up_after_max_attempts(store) -> None:  # noqa: ANN001
    item_id, _ = save_item(store, item("a", "https://ex.org/f", summary="S", complete=False))
    assert not mark_fetch_failed(store, item_id, "http_404", max_attempts=2)
    assert mark_fetch_failed(store, item_id, "http_404", max_attempts=2)
    assert pending_items(store, "a") == []
    assert get_items(store, [item_id])[0].extra["fetch_attempts"] == 2


def test_export_rows_follow_the_contract(store) -> None:  # noqa: ANN001
    published = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
    item_id, _ = save_item(
        store, item("a", "https://ex.org/e?utm_medium=x", story(8), published=published)
    )
    save_item(store, item("b", "https://ex.org/other", story(9)))
    labels = {
        "relevant": True,
        "type": "actualite",
        "themes": ["energie"],
        "axes": [],
        "scope": "france",
        "deadline": None,
    }
    with store.begin() as c:
        c.execute(
            insert(item_labels).values(
                item_id=item_id,
                labels=labels,
                scores={},
                explanations={},
                model_version="t",
                input_hash="h",
                labelled_at=published,
            )
        )
    rows = list(export_rows(store))
    assert [set(r) for r in rows] == [
        {"id", "url", "title", "summary", "text", "published", "first_seen", "sources", "labels"}
    ] * 2
    assert rows[0]["url"] == "https://ex.org/e"
    assert rows[0]["published"] == "2026-11-20T09:00:00+00:00"
    assert rows[0]["labels"] == labels and rows[1]["labels"] is None
    assert [i.id for i in iter_items(store, since=published)] == [r["id"] for r in rows]


def test_source_health_warns_about_silent_and_failing_sources(store) -> None:  # noqa: ANN001
    from watcher.config import parse_sources
    from watcher.models import SourceReport
    from watcher.store import crawl_state

    sources = parse_sources(
        "sources:\n"
        + "".join(
            f"  - {{id: {s}, name: {s}, kind: rss, url: 'https://{s}.example/feed'}}\n"
            for s in ("fine", "broken", "quiet", "new")
        )
    ).sources
    now = datetime.now(UTC)
    run = crawl_state.start_run(store)
    for source_id, status in (("fine", "ok"), ("broken", "failed"), ("quiet", "not_modified")):
        report = SourceReport(source_id, status, error_kind="dns" if status == "failed" else None)
        crawl_state.record_source_run(store, run, report, now)
    save_item(store, item("fine", "https://fine.example/1", story(10)), now=now - timedelta(days=1))
    save_item(
        store, item("quiet", "https://quiet.example/1", story(11)), now=now - timedelta(days=60)
    )
    health = {row["id"]: row for row in source_health(store, sources, now=now)}
    assert health["fine"]["warnings"] == [] and health["fine"]["items_30d"] == 1
    assert health["broken"]["last_error"]["kind"] == "dns"
    assert "failed in the last 1 run(s): dns" in health["broken"]["warnings"]
    assert health["quiet"]["items_30d"] == 0
    assert any("no new item since" in w for w in health["quiet"]["warnings"])
    assert health["new"]["warnings"] == ["never collected"]
