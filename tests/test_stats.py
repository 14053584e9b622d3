"""GET /readings/stats: buckets with exact numbers on small hand-made series."""

from datetime import datetime, timedelta
from fractions import Fraction

import pytest
from conftest import problem_body

from flask_rest_service.bsonvalues import utc_now

T = datetime(2026, 3, 1, 10, 0, 0)
WINDOW = "since=2026-03-01T10:00:00Z&until=2026-03-01T10:20:00Z"


def at(minutes, seconds=0):
    return T + timedelta(minutes=minutes, seconds=seconds)


@pytest.fixture
def series(readings):
    """Sensor 'k': two readings in [10:00,10:05), two in [10:05,10:10), one in [10:15,10:20)."""
    readings.insert(
        [
            {"sensor": "k", "type": "temp", "value": 3, "timestamp": at(1)},
            {"sensor": "k", "type": "temp", "value": 1, "timestamp": at(0)},  # on the edge: first bucket
            {"sensor": "k", "type": "temp", "value": 7, "timestamp": at(5)},  # on the edge: second bucket
            {"sensor": "k", "type": "temp", "value": 2.5, "timestamp": at(9, 59)},
            {"sensor": "k", "type": "temp", "value": "broken", "timestamp": at(6)},  # not counted
            {"sensor": "k", "type": "temp", "value": [9], "timestamp": at(7)},  # not counted
            {"sensor": "k", "type": "temp", "timestamp": at(8)},  # no value: not counted
            {"sensor": "k", "type": "hum", "value": 40, "timestamp": at(16), "deep": {"v": 4}},
            {"sensor": "other", "value": 100, "timestamp": at(2)},
            {"sensor": "k", "value": 1000, "timestamp": at(20)},  # at until: excluded
        ]
    )


def bucket(start, count, mn, mx, avg, total, first, last):
    return {
        "start": {"$date": start}, "count": count, "min": mn, "max": mx, "avg": avg, "sum": total,
        "first": first, "last": last,
    }  # fmt: skip


B1 = bucket("2026-03-01T10:00:00Z", 2, 1, 3, 2.0, 4, 1, 3)
B2 = bucket("2026-03-01T10:05:00Z", 2, 2.5, 7, 4.75, 9.5, 7, 2.5)
B4 = bucket("2026-03-01T10:15:00Z", 1, 40, 40, 40.0, 40, 40, 40)
EMPTY = bucket("2026-03-01T10:10:00Z", 0, None, None, None, None, None, None)


def test_buckets_with_every_statistic(client, series):
    response = client.get(f"/readings/stats?sensor=k&interval=5m&{WINDOW}")
    assert response.status_code == 200
    assert response.json == {
        "sensor": "k", "type": None, "field": "value", "interval": "5m",
        "since": {"$date": "2026-03-01T10:00:00Z"}, "until": {"$date": "2026-03-01T10:20:00Z"},
        "fill": "none", "buckets": [B1, B2, B4],
    }  # fmt: skip


def test_fill_null_shows_empty_buckets_as_gaps(client, series):
    response = client.get(f"/readings/stats?sensor=k&interval=5m&{WINDOW}&fill=null")
    assert response.json["buckets"] == [B1, B2, EMPTY, B4]


def test_buckets_align_to_the_interval_in_utc_not_to_since(client, series):
    response = client.get(
        "/readings/stats?sensor=k&interval=5m&since=2026-03-01T10:03:00Z&until=2026-03-01T10:12:00Z"
    )
    # 10:03 falls in the bucket that starts at 10:00; only the 10:05 reading... onward are in the window
    assert [b["start"]["$date"] for b in response.json["buckets"]] == ["2026-03-01T10:05:00Z"]
    response = client.get(
        "/readings/stats?sensor=k&interval=5m&since=2026-03-01T10:03:00Z&until=2026-03-01T10:12:00Z&fill=null"
    )
    starts = [b["start"]["$date"] for b in response.json["buckets"]]
    assert starts == ["2026-03-01T10:00:00Z", "2026-03-01T10:05:00Z", "2026-03-01T10:10:00Z"]
    assert response.json["buckets"][0]["count"] == 0  # the 10:00 and 10:01 readings are before since


def test_a_bucket_with_one_reading(client, series):
    response = client.get(f"/readings/stats?sensor=k&interval=5m&type=hum&{WINDOW}")
    assert response.json["buckets"] == [B4]


def test_dotted_field_path(client, series):
    response = client.get(f"/readings/stats?sensor=k&interval=1h&field=deep.v&{WINDOW}")
    assert response.json["buckets"] == [bucket("2026-03-01T10:00:00Z", 1, 4, 4, 4.0, 4, 4, 4)]


def test_one_hour_interval_sums_everything_in_the_window(client, series):
    response = client.get(f"/readings/stats?sensor=k&interval=1h&{WINDOW}")
    assert response.json["buckets"] == [bucket("2026-03-01T10:00:00Z", 5, 1, 40, 10.7, 53.5, 1, 40)]


def test_time_zones_in_since_and_until(client, series):
    response = client.get(
        "/readings/stats?sensor=k&interval=5m&since=2026-03-01T11:05:00%2B01:00&until=2026-03-01T05:10:00-05:00"
    )
    assert response.json["since"] == {"$date": "2026-03-01T10:05:00Z"}
    assert response.json["until"] == {"$date": "2026-03-01T10:10:00Z"}
    assert response.json["buckets"] == [B2]


def test_window_defaults_to_the_last_24_hours(client, readings):
    now = utc_now()
    readings.insert(
        [
            {"sensor": "k", "value": 1, "timestamp": now - timedelta(hours=1)},
            {"sensor": "k", "value": 5, "timestamp": now - timedelta(hours=25)},
        ]
    )
    response = client.get("/readings/stats?sensor=k&interval=1d&fill=null")
    since = datetime.fromisoformat(response.json["since"]["$date"].rstrip("Z"))
    until = datetime.fromisoformat(response.json["until"]["$date"].rstrip("Z"))
    assert until - since == timedelta(hours=24)
    assert abs(until - now) < timedelta(minutes=1)
    assert sum(b["count"] for b in response.json["buckets"]) == 1


def test_no_readings_gives_no_buckets(client):
    response = client.get(f"/readings/stats?sensor=none&interval=5m&{WINDOW}")
    assert response.status_code == 200
    assert response.json["buckets"] == []


def test_too_many_buckets_is_a_400_before_querying(app, client):
    app.config["MAX_BUCKETS"] = 3
    response = client.get(f"/readings/stats?sensor=k&interval=5m&{WINDOW}")
    detail = "4 buckets asked for, at most 3: widen the interval or narrow the window"
    assert response.status_code == 400
    assert response.json == problem_body(
        400, "Bad Request", detail, [{"parameter": "interval", "detail": detail}]
    )


INTERVAL = "must be a whole number and a unit: s, m, h, d or w (30s, 5m, 1h, 1d, 1w)"
FIELD = "must be a field name or dotted path (no empty parts, none starting with '$')"


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("interval=5m", [{"parameter": "sensor", "detail": "required"}]),
        ("sensor=k", [{"parameter": "interval", "detail": "required"}]),
        ("sensor=k&interval=5", [{"parameter": "interval", "detail": INTERVAL}]),
        ("sensor=k&interval=0m", [{"parameter": "interval", "detail": INTERVAL}]),
        ("sensor=k&interval=1y", [{"parameter": "interval", "detail": INTERVAL}]),
        ("sensor=k&interval=1h&field=$where", [{"parameter": "field", "detail": FIELD}]),
        ("sensor=k&interval=1h&field=a..b", [{"parameter": "field", "detail": FIELD}]),
        ("sensor=k&interval=1h&field=a.$b", [{"parameter": "field", "detail": FIELD}]),
        ("sensor=k&interval=1h&fill=zero", [{"parameter": "fill", "detail": "must be one of: none, null"}]),
        (
            "sensor=k&interval=1h&since=2026-03-02&until=2026-03-01",
            [{"parameter": "until", "detail": "must be later than since"}],
        ),
        (
            "sensor=k&interval=1h&since=2999-01-01",
            [{"parameter": "since", "detail": "must be earlier than until (default: now)"}],
        ),
        (
            "sensor=k&interval=1h&limit=5",
            [
                {
                    "parameter": "limit",
                    "detail": "unknown parameter; accepted: sensor, type, since, until, field, interval, fill",
                }
            ],
        ),
    ],
)
def test_bad_parameters_get_400(client, query, errors):
    response = client.get(f"/readings/stats?{query}")
    assert response.status_code == 400
    assert response.json["errors"] == errors


def test_buckets_before_1970_floor_to_their_own_hour(client, readings):
    # $mod keeps the dividend's sign: 22:30 on 1969-12-31 once landed in the 23:00 bucket.
    readings.insert([{"sensor": "k", "value": 1, "timestamp": datetime(1969, 12, 31, 22, 30)}])
    response = client.get(
        "/readings/stats?sensor=k&interval=1h&since=1969-12-31T20:00:00Z&until=1970-01-01T01:00:00Z"
    )
    assert [bucket["start"] for bucket in response.json["buckets"]] == [
        {"$date": {"$numberLong": str(-120 * 60_000)}}  # 22:00
    ]


def test_sums_past_64_bits_become_doubles_as_mongodb_makes_them(client, readings):
    big = 2**63 - 1
    readings.insert(
        [{"sensor": "k", "value": big, "timestamp": datetime(2026, 3, 1, 10, m)} for m in range(3)]
    )
    response = client.get(
        "/readings/stats?sensor=k&interval=1h&since=2026-03-01T10:00:00Z&until=2026-03-01T11:00:00Z"
    )
    assert response.status_code == 200
    [bucket] = response.json["buckets"]
    assert (bucket["sum"], bucket["avg"], bucket["min"], bucket["count"]) == (
        float(3 * big),
        float(big),
        big,
        3,
    )


BIG = 1.7e308


@pytest.mark.parametrize(
    ("values", "total", "average"),
    [
        # sum and avg were null: the running sum overflowed, though the true one is a double
        ([BIG, BIG, -BIG, 5], float(Fraction(BIG) + 5), float((Fraction(BIG) + 5) / 4)),
        ([BIG, BIG, -BIG, -BIG, 5.5], 5.5, 1.1),
        ([BIG, 3, BIG, -BIG, -BIG], 3.0, 0.6),  # integers beside the doubles
        # past a double's range: no sum (null), yet the average is a double
        ([BIG, BIG], None, BIG),
        ([-BIG, -BIG, 1], None, float((Fraction(-BIG) * 2 + 1) / 3)),
    ],
)
def test_a_sum_that_overflows_on_the_way_is_the_true_one(client, readings, values, total, average):
    readings.insert(
        [{"sensor": "k", "value": value, "timestamp": at(0, second)} for second, value in enumerate(values)]
    )
    response = client.get(f"/readings/stats?sensor=k&interval=1h&{WINDOW}")
    assert response.status_code == 200
    [found] = response.json["buckets"]
    assert (found["sum"], found["avg"], found["count"]) == (total, average, len(values))
