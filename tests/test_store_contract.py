"""The store contract (``stores/base.py``, ``stores/alerts.py``), once, on every engine.

Each test pins a behaviour where the engines once differed: what one answers,
the other must answer too. Readings are written through the store itself,
since some of them (an array timestamp, an array sensor: documents an older
MongoDB collection may hold, or a copy brings over) the API refuses.
"""

from datetime import datetime, timedelta

import pytest
from bson import ObjectId
from conftest import everything

from flask_rest_service.stores import base
from flask_rest_service.stores.alerts import State
from flask_rest_service.stores.base import Filters, ListQuery, Position

DAY = datetime(2026, 1, 1)


def oid(n: int) -> ObjectId:
    return ObjectId(f"{n:024x}")


@pytest.fixture
def store(app):
    return app.extensions["store"]


@pytest.fixture
def odd_readings(store):
    """Two dated readings of sensor a, and three undated: an array timestamp, none, a string."""
    store.readings.insert(
        [
            {"_id": oid(1), "sensor": "a", "value": 1, "timestamp": DAY},
            {"_id": oid(2), "sensor": "a", "value": 2, "timestamp": [DAY + timedelta(days=1)]},
            {"_id": oid(3), "sensor": "a", "value": 3, "timestamp": DAY + timedelta(days=2)},
            {"_id": oid(4), "sensor": "a", "value": 4},
            {"_id": oid(5), "sensor": "a", "value": 5, "timestamp": "2026-01-02"},
        ]
    )
    return store.readings


def values(docs) -> list:
    return [doc["value"] for doc in docs]


def test_a_timestamp_that_is_an_array_is_undated_first_by_id(odd_readings):
    # Not a date, so undated, even when the array holds one (MongoDB's $type
    # "date" matches such an array: the engine must not take it for a date).
    assert values(everything(odd_readings)) == [2, 4, 5, 1, 3]  # the export: oldest first
    page, more = odd_readings.page(ListQuery(Filters("a"), limit=10))
    assert (values(page), more) == ([3, 1, 5, 4, 2], False)  # the list: newest first


def test_a_time_range_holds_only_dated_readings(odd_readings):
    # MongoDB's range operators would match an array holding a date in range.
    week = Filters("a", since=DAY - timedelta(days=7), until=DAY + timedelta(days=7))
    assert values(odd_readings.export(week)) == [1, 3]
    assert odd_readings.count(week) == 2
    assert odd_readings.delete_matching(week) == 2
    assert values(everything(odd_readings)) == [2, 4, 5]


def test_a_sensor_filter_matches_the_name_not_an_array_holding_it(store):
    # MongoDB's equality matches an array holding the value; SQLite keeps
    # only a string in its sensor column. Neither lists it, nor counts it.
    store.readings.insert(
        [
            {"_id": oid(1), "sensor": "a", "value": 1, "timestamp": DAY},
            {"_id": oid(2), "sensor": ["a", "b"], "value": 2, "timestamp": DAY},
            {"_id": oid(3), "sensor": "a", "type": ["t"], "value": 3, "timestamp": DAY},
            {"_id": oid(4), "sensor": "a", "type": "t", "value": 4, "timestamp": DAY},
        ]
    )
    assert values(store.readings.export(Filters("a"))) == [1, 3, 4]
    assert values(store.readings.export(Filters("a", "t"))) == [4]
    assert store.readings.count(Filters("a")) == 3
    assert [(s["sensor"], s["count"]) for s in store.readings.sensors()] == [("a", 3)]


def firing(rule_id: ObjectId, sensor: str, due: list[datetime]) -> dict:
    """A firing event for ``sensor`` with one queued delivery per time in ``due``."""
    return {
        "rule": rule_id,
        "sensor": sensor,
        "transition": "firing",
        "state": "firing",
        "at": DAY,
        "deliveries": [
            {"url": f"https://hooks.example.com/{n}", "target": "hooks.example.com", "status": "queued",
             "attempts": 0, "next_at": at, "lease_until": None, "last_error": None, "delivered_at": None}
            for n, at in enumerate(due)
        ],
    }  # fmt: skip


def test_due_deliveries_come_by_next_at_then_event_then_index(store):
    alerts = store.alerts
    rule_id = oid(7)
    early, late = DAY, DAY + timedelta(minutes=1)
    # Written in another order than the one due() answers in.
    for sensor, due in [("b", [late]), ("c", [early]), ("a", [late, early])]:
        assert alerts.transition(
            rule_id, sensor, State(), State(state="firing"), firing(rule_id, sensor, due)
        )
    order = [(d["event"]["sensor"], d["index"]) for d in alerts.due(late, 10)]
    assert order == [("a", 1), ("c", 0), ("a", 0), ("b", 0)]
    assert [(d["event"]["sensor"], d["index"]) for d in alerts.due(late, 2)] == order[:2]
    assert [(d["event"]["sensor"], d["index"]) for d in alerts.due(early, 10)] == [("a", 1), ("c", 0)]


def test_due_gives_each_delivery_with_its_event(store):
    alerts = store.alerts
    rule_id = oid(7)
    event = firing(rule_id, "k", [DAY])
    assert alerts.transition(rule_id, "k", State(), State(state="firing"), event)
    [due] = alerts.due(DAY, 10)
    assert due["url"] == "https://hooks.example.com/0"
    assert due["attempts"] == 0
    assert (due["index"], due["event"]["_id"], due["event"]["sensor"]) == (0, f"{rule_id}:k:1", "k")
    assert "deliveries" not in due["event"]


def test_reading_a_state_changes_nothing(store):
    alerts = store.alerts
    rule_id = oid(7)
    assert alerts.state(rule_id, "k") == State()
    assert alerts.states() == []
    assert alerts.transition(rule_id, "k", State(), State(state="firing"), firing(rule_id, "k", [DAY]))
    before = alerts.state(rule_id, "k")
    assert alerts.state(rule_id, "k") == before == State(state="firing", version=1)
    assert alerts.transition(rule_id, "k", before, State(), None)
    assert alerts.transition(rule_id, "k", before, State(state="firing"), None) is False  # moved since


# --- pages and export batches bounded by bytes ---------------------------------------------------


@pytest.fixture
def bulky_readings(store):
    """Three dated readings and two undated, each about 1,050 bytes as stored."""
    pad = "x" * 1000
    store.readings.insert(
        [{"_id": oid(n), "value": n, "pad": pad, "timestamp": DAY + timedelta(days=n)} for n in (1, 2, 3)]
        + [{"_id": oid(n), "value": n, "pad": pad} for n in (4, 5)]
    )
    return store.readings


def walk(readings, max_bytes: int) -> list[list]:
    """Every page's values, following each page's last position while more follow."""
    pages, after, more = [], None, True
    while more:
        page, more = readings.page(ListQuery(limit=4, after=after), max_bytes)
        pages.append(values(page))
        after = Position.of(page[-1])
    return pages


@pytest.mark.parametrize(
    ("max_bytes", "pages"),
    [
        (1, [[3], [2], [1], [5], [4]]),  # one reading a page, across from the dated to the undated
        (2500, [[3, 2, 1], [5, 4]]),  # cut by bytes, then by what is left
        (None, [[3, 2, 1, 5], [4]]),  # by limit only
    ],
)
def test_pages_cut_by_bytes_hold_every_reading_once(bulky_readings, max_bytes, pages):
    assert walk(bulky_readings, max_bytes) == pages


def test_export_batches_are_cut_by_bytes_and_hold_every_reading_once(bulky_readings, monkeypatch):
    monkeypatch.setattr(base, "EXPORT_BATCH_BYTES", 2500)
    batches = [values(batch) for batch in bulky_readings.export_batches(Filters())]
    assert batches == [[4, 5, 1], [2, 3]]


# --- sensors, a page at a time ---------------------------------------------------------

EDGES = ["a", "ab", "a\U0010ffff", "a\U0010ffffb", "a\ud7ff", "a\ue000", "b", "ä"]


@pytest.fixture
def edges(store):
    """Names at the edges of code point order: the last code point, both sides of the surrogates."""
    store.readings.insert([{"sensor": name, "value": 1, "timestamp": DAY} for name in EDGES])


def test_sensors_page_by_name_in_code_point_order(store, edges):
    ordered = sorted(EDGES)  # Python compares code points, as UTF-8 bytes do
    assert [s["sensor"] for s in store.readings.sensors()] == ordered
    assert [s["sensor"] for s in store.readings.sensors(limit=3)] == ordered[:3]
    assert [s["sensor"] for s in store.readings.sensors(after=ordered[2], limit=3)] == ordered[3:6]
    assert [s["sensor"] for s in store.readings.sensors(after=ordered[-1])] == []


@pytest.mark.parametrize(
    ("prefix", "after", "expected"),
    [
        ("a", None, ["a", "ab", "a\ud7ff", "a\ue000", "a\U0010ffff", "a\U0010ffffb"]),
        ("a\U0010ffff", None, ["a\U0010ffff", "a\U0010ffffb"]),
        ("a\ud7ff", None, ["a\ud7ff"]),
        ("a", "ab", ["a\ud7ff", "a\ue000", "a\U0010ffff", "a\U0010ffffb"]),
        ("ab", "a", ["ab"]),  # a cursor before the prefix: from the prefix on
        ("a", "b", []),
        ("c", None, []),
    ],
)
def test_sensors_with_a_prefix_are_those_whose_name_starts_with_it(store, edges, prefix, after, expected):
    assert [s["sensor"] for s in store.readings.sensors(after=after, prefix=prefix)] == expected
