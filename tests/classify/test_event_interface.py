"""EventInfo: its JSON shape, the store's column and the curators' corrections."""

from datetime import UTC, date, datetime

import pytest
from sqlalchemy import inspect, text

from watcher.classify.decide import LabelResult
from watcher.models import CollectedItem, EventInfo, Labels
from watcher.store import Store
from watcher.store.bulletins import load_items
from watcher.store.items import save_item
from watcher.store.labels import effective_labels, get_labels, save_labels, set_override


def test_event_info_round_trips_dates_and_wall_clock_times() -> None:
    timed = EventInfo(datetime(2027, 3, 12, 9, 30), datetime(2027, 3, 12, 17, 0), "Metz")
    assert timed.to_dict() == {"start": "2027-03-12T09:30", "end": "2027-03-12T17:00",
                               "place": "Metz"}  # fmt: skip
    assert EventInfo.from_dict(timed.to_dict()) == timed
    all_day = EventInfo(date(2027, 3, 12))
    assert all_day.to_dict() == {"start": "2027-03-12", "end": None, "place": None}
    assert EventInfo.from_dict(all_day.to_dict()) == all_day


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"end": "2027-03-12"}, "event.start is required"),
        ({"start": "12/03/2027"}, "event.start"),
        ({"start": "2027-03-12", "end": "2027-03-11"}, "before event.start"),
        ({"start": "2027-03-12T09:30+01:00"}, "naive"),
        ({"start": "2027-03-12", "room": "B"}, "unknown fields room"),
        ({"start": "2027-03-12", "place": 3}, "event.place"),
    ],
)
def test_event_info_refuses_bad_values_naming_the_field(data: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        EventInfo.from_dict(data)


def test_label_line_keeps_labels_of_labels_md_and_puts_event_beside() -> None:
    event = EventInfo(datetime(2027, 5, 4, 14, 0), place="Reims")
    result = LabelResult("x", Labels(relevant=True, type="evenement", event=event))
    line = result.to_dict()
    assert set(line["labels"]) == {"relevant", "type", "themes", "axes", "scope", "deadline"}
    assert line["event"] == {"start": "2027-05-04T14:00", "end": None, "place": "Reims"}
    assert LabelResult("y", Labels(relevant=False)).to_dict()["event"] is None
    assert Labels.from_dict(result.labels.to_dict()) == result.labels


def _item(store: Store) -> int:
    collected = CollectedItem(
        source_id="src", url="https://example.org/webinaire", title="Webinaire chaleur fatale",
        text="Le 4 mai 2027 à 14 h à Reims.", published=datetime(2027, 4, 1, tzinfo=UTC),
    )  # fmt: skip
    return save_item(store, collected)[0]


def test_store_keeps_event_and_curators_correct_or_clear_it(store: Store) -> None:
    item_id = _item(store)
    event = EventInfo(datetime(2027, 5, 4, 14, 0), place="Reims")
    labels = Labels(relevant=True, type="evenement", themes=["energie"], event=event)
    save_labels(store, [LabelResult(item_id, labels)], model_version="v", input_hashes=["h"])
    row = get_labels(store, [item_id])[item_id]
    assert "event" not in row["labels"]  # the labels column stays LABELS.md's
    assert row["event"] == event.to_dict()
    assert effective_labels(store, [item_id])[item_id].event == event
    loaded = load_items(store, ids=[item_id])[0]
    assert loaded["event"] == event.to_dict() and "event" not in loaded["labels"]

    set_override(store, item_id, {"event": {"start": "2027-05-04T14:00:00", "end":
                                            "2027-05-04T16:30", "place": "Reims, Cité"}}, "ana")  # fmt: skip
    corrected = effective_labels(store, [item_id])[item_id]
    assert corrected.event == EventInfo(
        datetime(2027, 5, 4, 14, 0), datetime(2027, 5, 4, 16, 30), "Reims, Cité"
    )
    assert corrected.themes == ["energie"]  # the model's other labels stay
    loaded = load_items(store, ids=[item_id])[0]
    assert loaded["event"]["end"] == "2027-05-04T16:30" and "event" not in loaded["labels"]

    set_override(store, item_id, {"event": None}, "ana")
    assert effective_labels(store, [item_id])[item_id].event is None
    assert load_items(store, ids=[item_id])[0]["event"] is None

    with pytest.raises(ValueError, match="event.start"):
        set_override(store, item_id, {"event": {"start": "demain"}}, "ana")


def test_migration_adds_event_column_to_an_older_database(tmp_path) -> None:  # noqa: ANN001
    from alembic import command

    from watcher.store import _alembic_config, _head_revision

    old = Store(tmp_path / "old.db", migrate=False)
    with old.engine.begin() as connection:
        command.upgrade(_alembic_config(connection), "0005_schedule")
    assert "event" not in {c["name"] for c in inspect(old.engine).get_columns("item_labels")}
    old.close()
    upgraded = Store(tmp_path / "old.db")
    assert "event" in {c["name"] for c in inspect(upgraded.engine).get_columns("item_labels")}
    with upgraded.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == (
            _head_revision()
        )
    upgraded.close()
