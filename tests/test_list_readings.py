"""GET /readings/: filters, newest first, keyset pages, strict parameters."""

from datetime import datetime, timedelta

import pytest
from bson import ObjectId
from conftest import next_link, problem_body

from flask_rest_service.queries import encode_cursor
from flask_rest_service.stores.base import Position

BASE = datetime(2026, 3, 1, 10, 0, 0)


@pytest.fixture
def series(readings):
    """Six readings of two sensors, one minute apart; 'b' are humidity."""
    docs = [
        {
            "_id": ObjectId(f"{i:024x}"),
            "sensor": "a" if i % 2 else "b",
            "type": "temp" if i % 2 else "hum",
            "value": i,
            "timestamp": BASE + timedelta(minutes=i),
        }
        for i in range(1, 7)
    ]
    readings.insert(docs)
    return docs


def values(response):
    return [item["value"] for item in response.json]


def test_empty_store_lists_an_empty_array(client):
    response = client.get("/readings/")
    assert response.status_code == 200
    assert response.json == []
    assert "Link" not in response.headers


def test_list_is_newest_first_in_extended_json(client, series):
    response = client.get("/readings/")
    assert response.status_code == 200
    assert values(response) == [6, 5, 4, 3, 2, 1]
    assert response.json[0] == {
        "_id": {"$oid": f"{6:024x}"},
        "sensor": "b",
        "type": "hum",
        "value": 6,
        "timestamp": {"$date": "2026-03-01T10:06:00Z"},
    }


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("sensor=a", [5, 3, 1]),
        ("type=hum", [6, 4, 2]),
        ("sensor=a&type=hum", []),
        ("since=2026-03-01T10:03:00Z", [6, 5, 4, 3]),  # since is inclusive
        ("until=2026-03-01T10:03:00Z", [2, 1]),  # until is exclusive
        ("since=2026-03-01T11:02:00%2B01:00&until=2026-03-01T10:04:00Z", [3, 2]),  # offsets
        ("since=1772359380", [6, 5, 4, 3]),  # epoch seconds
        ("sensor=%24ne", []),  # a literal, never an operator
        ("limit=2", [6, 5]),
    ],
)
def test_filters(client, series, query, expected):
    response = client.get(f"/readings/?{query}")
    assert response.status_code == 200
    assert values(response) == expected


def test_pages_follow_link_headers_to_the_end(client, series):
    response = client.get("/readings/?sensor=b&limit=2")
    assert values(response) == [6, 4]
    link = next_link(response)
    assert "sensor=b" in link and "limit=2" in link
    response = client.get(link)
    assert values(response) == [2]
    assert "Link" not in response.headers


def test_no_link_when_the_page_holds_exactly_the_rest(client, series):
    response = client.get("/readings/?limit=6")
    assert values(response) == [6, 5, 4, 3, 2, 1]
    assert "Link" not in response.headers


def test_pages_are_stable_while_new_readings_arrive(client, readings, series):
    first = client.get("/readings/?limit=3")
    readings.insert([{"value": 99, "timestamp": BASE + timedelta(hours=1)}])
    second = client.get(next_link(first))
    assert values(first) + values(second) == [6, 5, 4, 3, 2, 1]


def test_readings_sharing_a_timestamp_are_neither_skipped_nor_repeated(client, readings):
    same = BASE
    readings.insert([{"_id": ObjectId(f"{i:024x}"), "value": i, "timestamp": same} for i in range(5)])
    seen, url = [], "/readings/?limit=2"
    while url:
        response = client.get(url)
        seen += values(response)
        url = next_link(response)
    assert seen == [4, 3, 2, 1, 0]


def test_limit_over_the_configured_maximum_is_refused(app, client):
    app.config["MAX_PAGE_SIZE"] = 10
    response = client.get("/readings/?limit=11")
    assert response.status_code == 400
    assert response.json["errors"] == [{"parameter": "limit", "detail": "must be an integer from 1 to 10"}]


def test_default_page_size_is_configurable(app, client, series):
    app.config["DEFAULT_PAGE_SIZE"] = 4
    response = client.get("/readings/")
    assert values(response) == [6, 5, 4, 3]
    assert "Link" in response.headers


LIMIT = "must be an integer from 1 to 1000"
WHEN = "must be an ISO 8601 date-time or Unix epoch seconds"


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("limit=0", [{"parameter": "limit", "detail": LIMIT}]),
        ("limit=abc", [{"parameter": "limit", "detail": LIMIT}]),
        ("limit=%D9%A1%D9%A2", [{"parameter": "limit", "detail": LIMIT}]),  # Arabic-Indic 12: int() reads it
        ("limit=%C2%B2", [{"parameter": "limit", "detail": LIMIT}]),  # superscript 2: isdigit(), not int()
        ("limit=-1", [{"parameter": "limit", "detail": LIMIT}]),
        ("limit=1001", [{"parameter": "limit", "detail": LIMIT}]),
        ("since=yesterday", [{"parameter": "since", "detail": WHEN}]),
        ("until=2026-13-01", [{"parameter": "until", "detail": WHEN}]),
        ("since=2026-03-02&until=2026-03-01", [{"parameter": "until", "detail": "must be later than since"}]),
        ("sensor=", [{"parameter": "sensor", "detail": "must not be empty"}]),
        ("sensor=a&sensor=b", [{"parameter": "sensor", "detail": "given more than once"}]),
        (
            "cursor=zzz",
            [{"parameter": "cursor", "detail": "not a cursor this service issued; follow the Link header"}],
        ),
        (
            "sort=value",
            [
                {
                    "parameter": "sort",
                    "detail": "unknown parameter; accepted: sensor, type, since, until, limit, cursor",
                }
            ],
        ),
        (
            "limit=0&sensor[$ne]=x",
            [  # in the order of the query string
                {"parameter": "limit", "detail": LIMIT},
                {
                    "parameter": "sensor[$ne]",
                    "detail": "unknown parameter; accepted: sensor, type, since, until, limit, cursor",
                },
            ],
        ),
    ],
)
def test_bad_parameters_get_400_naming_each(client, query, errors):
    response = client.get(f"/readings/?{query}")
    noun = "problem" if len(errors) == 1 else "problems"
    assert response.status_code == 400
    assert response.json == problem_body(
        400, "Bad Request", f"{len(errors)} {noun} in the query string", errors
    )


# --- pages bounded by bytes -------------------------------------------------------------------------


@pytest.fixture
def bulky(readings):
    """Five readings of about 1,050 bytes each as stored, one minute apart."""
    docs = [
        {
            "_id": ObjectId(f"{i:024x}"),
            "value": i,
            "pad": "x" * 1000,
            "timestamp": BASE + timedelta(minutes=i),
        }
        for i in range(1, 6)
    ]
    readings.insert(docs)
    return docs


def test_a_page_ends_early_once_its_readings_reach_page_bytes(app, client, bulky):
    app.config["PAGE_BYTES"] = 2500  # the third reading takes it past: the page ends after it
    response = client.get("/readings/?limit=4")
    assert response.status_code == 200
    assert response.json == [
        {"_id": {"$oid": f"{i:024x}"}, "value": i, "pad": "x" * 1000, "timestamp": {"$date": f"2026-03-01T10:0{i}:00Z"}}
        for i in (5, 4, 3)
    ]  # fmt: skip
    assert next_link(response) == f"/readings/?limit=4&cursor={encode_cursor(Position.of(bulky[2]))}"


def test_following_next_through_pages_cut_by_bytes_gives_every_reading_once(app, client, bulky):
    app.config["PAGE_BYTES"] = 1024  # one reading a page: each is bigger
    link, pages, seen = "/readings/?limit=3", 0, []
    while link:
        response = client.get(link)
        assert response.status_code == 200
        seen += values(response)
        link, pages = next_link(response), pages + 1
    assert (seen, pages) == ([5, 4, 3, 2, 1], 5)


def test_a_page_whose_readings_fit_in_page_bytes_is_cut_by_limit_only(app, client, bulky):
    app.config["PAGE_BYTES"] = 1024 * 1024
    response = client.get("/readings/?limit=4")
    assert values(response) == [5, 4, 3, 2]
    assert next_link(response) == f"/readings/?limit=4&cursor={encode_cursor(Position.of(bulky[1]))}"
    assert values(client.get(next_link(response))) == [1]
