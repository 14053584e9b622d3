"""GET /sensors/, GET /sensors/overview and GET /sensors/<sensor>/latest."""

import re
from datetime import UTC, datetime

import pytest
import time_machine
from bson import ObjectId
from conftest import problem_body

from flask_rest_service.queries import encode_sensor_cursor

RECEIVED = datetime(2026, 3, 2, 0, 0, 1, 250_000, tzinfo=UTC)  # by the server's clock


@pytest.fixture
def series(readings):
    with time_machine.travel(RECEIVED, tick=False):
        _insert_series(readings)


def _insert_series(readings):
    readings.insert(
        [
            {"_id": ObjectId(f"{1:024x}"), "sensor": "kitchen", "value": 20, "timestamp": datetime(2026, 3, 1, 10)},
            {"_id": ObjectId(f"{2:024x}"), "sensor": "kitchen", "value": 22, "timestamp": datetime(2026, 3, 1, 12)},
            {"_id": ObjectId(f"{3:024x}"), "sensor": "kitchen", "type": "hum", "value": 40, "timestamp": datetime(2026, 3, 1, 11)},
            {"_id": ObjectId(f"{4:024x}"), "sensor": "attic/north", "value": 5, "timestamp": datetime(2026, 2, 1)},
            {"_id": ObjectId(f"{5:024x}"), "value": 1, "timestamp": datetime(2026, 3, 2)},  # no sensor
        ]
    )  # fmt: skip


def test_empty_store_has_no_sensors(client):
    assert client.get("/sensors/").json == []


def test_sensors_list_count_first_last_and_latest(client, series):
    response = client.get("/sensors/")
    assert response.status_code == 200
    assert response.json == [
        {
            "sensor": "attic/north", "count": 1,
            "first": {"$date": "2026-02-01T00:00:00Z"}, "last": {"$date": "2026-02-01T00:00:00Z"},
            "latest": {"_id": {"$oid": f"{4:024x}"}, "sensor": "attic/north", "value": 5,
                       "timestamp": {"$date": "2026-02-01T00:00:00Z"}},
            "reported": {"$date": "2026-03-02T00:00:01.250Z"},
        },
        {
            "sensor": "kitchen", "count": 3,
            "first": {"$date": "2026-03-01T10:00:00Z"}, "last": {"$date": "2026-03-01T12:00:00Z"},
            "latest": {"_id": {"$oid": f"{2:024x}"}, "sensor": "kitchen", "value": 22,
                       "timestamp": {"$date": "2026-03-01T12:00:00Z"}},
            "reported": {"$date": "2026-03-02T00:00:01.250Z"},
        },
    ]  # fmt: skip


def test_a_resend_is_reported_though_nothing_is_stored(client, series, readings):
    resend = {
        "_id": ObjectId(f"{4:024x}"),
        "sensor": "attic/north",
        "value": 5,
        "timestamp": datetime(2026, 2, 1),
    }
    with time_machine.travel(datetime(2026, 3, 5, 8, tzinfo=UTC), tick=False):
        readings.insert([resend])  # one, then several: the two ways a store inserts
    with time_machine.travel(datetime(2026, 3, 6, 8, tzinfo=UTC), tick=False):
        readings.insert([{**resend, "_id": ObjectId(f"{2:024x}"), "sensor": "kitchen", "value": 22}, resend])
    sensors = {entry["sensor"]: entry for entry in client.get("/sensors/").json}
    assert {name: (entry["count"], entry["reported"]) for name, entry in sensors.items()} == {
        "attic/north": (1, {"$date": "2026-03-06T08:00:00Z"}),
        "kitchen": (3, {"$date": "2026-03-06T08:00:00Z"}),
    }


def names(response) -> list[str]:
    return [entry["sensor"] for entry in response.json]


def next_link(response) -> str | None:
    """The path of the next page (its Link rel=next), None on the last."""
    if "Link" not in response.headers:
        return None
    match = re.fullmatch(r'<http://localhost(/sensors/[^>]*)>; rel="next"', response.headers["Link"])
    assert match, response.headers["Link"]
    return match.group(1)


@pytest.fixture
def many(readings):
    """Sensors a, b, c, d and e, one reading each, and f/1, f/2 and fa."""
    sensors = ["e", "c", "a", "d", "b", "f/1", "fa", "f/2"]
    readings.insert(
        [{"sensor": name, "value": i, "timestamp": datetime(2026, 3, 1, i)} for i, name in enumerate(sensors)]
    )


def test_sensors_come_a_page_at_a_time_with_a_link_to_the_next(client, many):
    first = client.get("/sensors/?limit=3")
    assert first.status_code == 200
    assert names(first) == ["a", "b", "c"]
    assert (
        first.headers["Link"]
        == f'<http://localhost/sensors/?limit=3&cursor={encode_sensor_cursor("c")}>; rel="next"'
    )
    second = client.get(next_link(first))
    assert names(second) == ["d", "e", "f/1"]
    third = client.get(next_link(second))
    assert names(third) == ["f/2", "fa"]
    assert "Link" not in third.headers


def test_no_link_when_the_page_holds_exactly_the_rest(client, many):
    assert "Link" not in client.get("/sensors/?limit=8").headers
    assert "Link" in client.get("/sensors/?limit=7").headers


def test_without_limit_a_page_holds_the_default_page_size(app_factory):
    app = app_factory(DEFAULT_PAGE_SIZE=2)
    app.extensions["store"].readings.insert([{"sensor": name, "value": 1} for name in "abc"])
    response = app.test_client().get("/sensors/")
    assert names(response) == ["a", "b"]
    assert next_link(response) == f"/sensors/?cursor={encode_sensor_cursor('b')}"


def test_a_prefix_narrows_the_list_and_stays_in_the_link(client, many):
    first = client.get("/sensors/?prefix=f/&limit=1")
    assert names(first) == ["f/1"]
    second = client.get(next_link(first))
    assert next_link(first) == f"/sensors/?prefix=f%2F&limit=1&cursor={encode_sensor_cursor('f/1')}"
    assert names(second) == ["f/2"]
    assert "Link" not in second.headers
    assert names(client.get("/sensors/?prefix=f")) == ["f/1", "f/2", "fa"]
    assert client.get("/sensors/?prefix=F").json == []  # case matters


LIMIT = "must be an integer from 1 to 1000"
NOT_OURS = "not a cursor this service issued; follow the Link header"
READINGS_CURSOR = "MTc3MjM1OTIwMDAwMDo2NWYxYzBmZmVlMDAwMDAwMDAwMGFiY2Q"  # /readings/' kind


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("limit=0", [{"parameter": "limit", "detail": LIMIT}]),
        ("limit=1001", [{"parameter": "limit", "detail": LIMIT}]),
        ("limit=five", [{"parameter": "limit", "detail": LIMIT}]),
        ("cursor=!!", [{"parameter": "cursor", "detail": NOT_OURS}]),
        (f"cursor={READINGS_CURSOR}", [{"parameter": "cursor", "detail": NOT_OURS}]),
        ("cursor=czo", [{"parameter": "cursor", "detail": NOT_OURS}]),  # "s:", no name
        ("prefix=", [{"parameter": "prefix", "detail": "must not be empty"}]),
        ("prefix=" + "p" * 201, [{"parameter": "prefix", "detail": "must be at most 200 characters"}]),
        ("limit=1&limit=2", [{"parameter": "limit", "detail": "given more than once"}]),
        (
            "sensor=a",
            [{"parameter": "sensor", "detail": "unknown parameter; accepted: prefix, limit, cursor"}],
        ),
    ],
)
def test_a_bad_sensor_query_is_a_400_naming_the_parameter(client, many, query, errors):
    response = client.get(f"/sensors/?{query}")
    assert response.status_code == 400
    assert response.json == problem_body(
        400, "Bad Request", f"{len(errors)} problem in the query string", errors
    )


# --- the overview ------------------------------------------------------------------

NOW = datetime(2026, 3, 2, 10, 20, tzinfo=UTC)  # the window: 2026-03-01T11:00 to 2026-03-02T11:00


@pytest.fixture
def days(readings):
    """kitchen: two readings in the window's last hour, one in its first, one before it; attic: one, undated."""
    readings.insert(
        [
            {"_id": ObjectId(f"{1:024x}"), "sensor": "kitchen", "value": 20, "timestamp": datetime(2026, 3, 1, 10, 59)},
            {"_id": ObjectId(f"{2:024x}"), "sensor": "kitchen", "value": 21, "timestamp": datetime(2026, 3, 1, 11, 0)},
            {"_id": ObjectId(f"{3:024x}"), "sensor": "kitchen", "value": 22, "timestamp": datetime(2026, 3, 2, 10, 5)},
            {"_id": ObjectId(f"{4:024x}"), "sensor": "kitchen", "value": 25.5, "timestamp": datetime(2026, 3, 2, 10, 15)},
            {"_id": ObjectId(f"{5:024x}"), "sensor": "kitchen", "value": "n/a", "timestamp": datetime(2026, 3, 2, 9)},
            {"_id": ObjectId(f"{6:024x}"), "sensor": "attic", "value": 5},
        ]
    )  # fmt: skip


def test_the_overview_gives_each_sensor_its_day_in_hourly_averages(client, days):
    with time_machine.travel(NOW, tick=False):
        response = client.get("/sensors/overview")
    assert response.status_code == 200
    kitchen, attic = (client.get(f"/sensors/?prefix={name}").json[0] for name in ("kitchen", "attic"))
    assert response.json == {
        "field": "value",
        "interval": "1h",
        "since": {"$date": "2026-03-01T11:00:00Z"},
        "until": {"$date": "2026-03-02T11:00:00Z"},
        "sensors": [
            {**attic, "averages": [None] * 24},
            {**kitchen, "averages": [21, *[None] * 22, 23.75]},
        ],
    }
    assert "Link" not in response.headers


def test_the_overview_window_ends_at_the_hour_after_until(client, days):
    response = client.get("/sensors/overview?prefix=kitchen&until=2026-03-01T11:00:00Z")
    assert (response.json["since"], response.json["until"]) == (
        {"$date": "2026-02-28T11:00:00Z"},
        {"$date": "2026-03-01T11:00:00Z"},
    )
    assert response.json["sensors"][0]["averages"] == [*[None] * 23, 20]


def test_the_overview_pages_as_the_list_does(client, many):
    first = client.get("/sensors/overview?prefix=f&limit=2&until=2026-03-02T00:00:00Z")
    assert [entry["sensor"] for entry in first.json["sensors"]] == ["f/1", "f/2"]
    assert next_link(first) == (
        f"/sensors/overview?prefix=f&limit=2&until=2026-03-02T00%3A00%3A00Z&cursor={encode_sensor_cursor('f/2')}"
    )
    second = client.get(next_link(first))
    assert [(entry["sensor"], entry["averages"][6]) for entry in second.json["sensors"]] == [("fa", 6)]
    assert "Link" not in second.headers


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("limit=101", [{"parameter": "limit", "detail": "must be an integer from 1 to 100"}]),
        ("cursor=x", [{"parameter": "cursor", "detail": NOT_OURS}]),
        (
            "until=soon",
            [{"parameter": "until", "detail": "must be an ISO 8601 date-time or Unix epoch seconds"}],
        ),
        (
            "until=0001-01-01T10:00:00",
            [{"parameter": "until", "detail": "must leave a window of 24 whole hours"}],
        ),
        (
            "until=9999-12-31T23:00:01",
            [{"parameter": "until", "detail": "must leave a window of 24 whole hours"}],
        ),
    ],
)
def test_a_bad_overview_query_is_a_400_naming_the_parameter(client, query, errors):
    response = client.get(f"/sensors/overview?{query}")
    assert response.status_code == 400
    assert response.json == problem_body(
        400, "Bad Request", f"{len(errors)} problem in the query string", errors
    )


def test_latest_reading_of_a_sensor(client, series):
    response = client.get("/sensors/kitchen/latest")
    assert response.status_code == 200
    assert response.json["_id"] == {"$oid": f"{2:024x}"}


def test_latest_of_a_type(client, series):
    assert client.get("/sensors/kitchen/latest?type=hum").json["value"] == 40


def test_latest_of_a_sensor_name_with_a_slash(client, series):
    assert client.get("/sensors/attic/north/latest").json["value"] == 5
    assert client.get("/sensors/attic%2Fnorth/latest").json["value"] == 5


@pytest.mark.parametrize(
    "path", ["/sensors//lead/latest", "/sensors/%2Flead/latest", "/sensors/%2flead/latest"]
)
def test_a_sensor_name_starting_with_a_slash_is_reached_not_redirected(client, readings, path):
    readings.insert([{"sensor": "/lead", "value": 1, "timestamp": datetime(2026, 3, 1)},
                     {"sensor": "lead", "value": 2, "timestamp": datetime(2026, 3, 1)}])  # fmt: skip
    response = client.get(path)
    assert response.status_code == 200
    assert (response.json["sensor"], response.json["value"]) == ("/lead", 1)


def test_a_sensor_name_of_slashes_is_reached(client, readings):
    readings.insert([{"sensor": "//a//", "value": 1, "timestamp": datetime(2026, 3, 1)}])
    assert client.get("/sensors///a///latest").json["sensor"] == "//a//"


def test_latest_of_an_unknown_sensor_is_a_json_404(client, series):
    response = client.get("/sensors/garage/latest")
    assert response.status_code == 404
    assert response.json == problem_body(404, "Not Found", "sensor 'garage' has no readings")
