"""Every limit from both sides: exactly at it accepted, one past it refused, on every store.

Each limit has a pair of tests (or a pair of parametrised cases): a test that
sees only the failing side cannot tell a limit from one moved by one.
"""

import gzip
import io
import json
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from bson import ObjectId
from conftest import everything, next_link, only, problem_body

from flask_rest_service import jobs
from flask_rest_service.alerts.rules import MAX_DURATION_SECONDS, MAX_TARGETS
from flask_rest_service.alerts.targets import MAX_URL_LENGTH
from flask_rest_service.bsonvalues import INT64_MAX, INT64_MIN, epoch_millis
from flask_rest_service.stores import base
from flask_rest_service.validation import (
    FIRST_MS,
    LAST_MS,
    MAX_ERRORS_PER_READING,
    MAX_ERRORS_PER_REQUEST,
    MAX_FIELD_PATH,
    MAX_LABEL_LENGTH,
    OUT_OF_RANGE,
)

T0 = "2026-03-01T10:00:00Z"
T0_DATE = datetime(2026, 3, 1, 10)
FIRST, LAST = datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999000)
# The last representable dates are years ahead: taken where MAX_FUTURE_SECONDS allows them.
FAR_FUTURE = {"MAX_FUTURE_SECONDS": 10**12}
LABEL = f"must be a string of 1 to {MAX_LABEL_LENGTH} characters"
BITS = "integers must fit in 64 bits"


def of_json_size(size: int) -> dict:
    """A reading whose compact JSON (as the size limit measures it) is exactly ``size`` bytes."""
    empty = len(json.dumps({"note": "", "timestamp": T0}, separators=(",", ":")))
    return {"note": "x" * (size - empty), "timestamp": T0}


def stored(readings) -> list[dict]:
    return [{k: v for k, v in doc.items() if k != "_id"} for doc in everything(readings)]


def refused(errors: list, what: str = "the reading") -> dict:
    noun = "problem" if len(errors) == 1 else "problems"
    return problem_body(400, "Bad Request", f"{len(errors)} {noun} in {what}", errors)


# --- one reading --------------------------------------------------------------------------------

# (config, reading sent, document stored), each exactly at a limit.
AT_THE_LIMIT = [
    pytest.param({}, {"sensor": "s" * MAX_LABEL_LENGTH, "timestamp": T0},
                 {"sensor": "s" * MAX_LABEL_LENGTH, "timestamp": T0_DATE}, id="sensor-200-characters"),
    pytest.param({}, {"type": "t" * MAX_LABEL_LENGTH, "timestamp": T0},
                 {"type": "t" * MAX_LABEL_LENGTH, "timestamp": T0_DATE}, id="type-200-characters"),
    pytest.param({}, {"value": INT64_MAX, "timestamp": T0}, {"value": INT64_MAX, "timestamp": T0_DATE},
                 id="largest-int64"),
    pytest.param({}, {"value": INT64_MIN, "timestamp": T0}, {"value": INT64_MIN, "timestamp": T0_DATE},
                 id="smallest-int64"),
    pytest.param({}, {"deep": [{"n": INT64_MIN}], "timestamp": T0},
                 {"deep": [{"n": INT64_MIN}], "timestamp": T0_DATE}, id="smallest-int64-nested"),
    pytest.param({"MAX_READING_BYTES": 100}, of_json_size(100),
                 {"note": of_json_size(100)["note"], "timestamp": T0_DATE}, id="reading-of-max-bytes"),
    pytest.param({"MAX_READING_DEPTH": 3}, {"a": {"b": {"c": 1}}, "timestamp": T0},
                 {"a": {"b": {"c": 1}}, "timestamp": T0_DATE}, id="objects-max-depth"),
    pytest.param({"MAX_READING_DEPTH": 3}, {"a": [[1]], "timestamp": T0},
                 {"a": [[1]], "timestamp": T0_DATE}, id="lists-max-depth"),
    pytest.param({}, {"timestamp": "0001-01-01T00:00:00Z"}, {"timestamp": FIRST}, id="first-ms-iso"),
    pytest.param({}, {"timestamp": "0001-01-01T01:00:00+01:00"}, {"timestamp": FIRST},
                 id="first-ms-iso-offset"),
    pytest.param({}, {"timestamp": FIRST_MS // 1000}, {"timestamp": FIRST}, id="first-ms-epoch-seconds"),
    pytest.param({}, {"timestamp": str(FIRST_MS // 1000)}, {"timestamp": FIRST},
                 id="first-ms-epoch-seconds-text"),
    pytest.param({}, {"timestamp": {"$date": {"$numberLong": str(FIRST_MS)}}}, {"timestamp": FIRST},
                 id="first-ms-number-long"),
    pytest.param({}, {"timestamp": {"$date": FIRST_MS}}, {"timestamp": FIRST}, id="first-ms-legacy-date"),
    pytest.param({}, {"when": {"$date": {"$numberLong": str(FIRST_MS)}}, "timestamp": T0},
                 {"when": FIRST, "timestamp": T0_DATE}, id="first-ms-in-a-field"),
    pytest.param(FAR_FUTURE, {"timestamp": "9999-12-31T23:59:59.999Z"}, {"timestamp": LAST}, id="last-ms-iso"),
    pytest.param(FAR_FUTURE, {"timestamp": "9999-12-31T18:59:59.999-05:00"}, {"timestamp": LAST},
                 id="last-ms-iso-offset"),
    pytest.param(FAR_FUTURE, {"timestamp": LAST_MS // 1000}, {"timestamp": LAST.replace(microsecond=0)},
                 id="last-second-epoch-seconds"),
    pytest.param(FAR_FUTURE, {"timestamp": {"$date": {"$numberLong": str(LAST_MS)}}}, {"timestamp": LAST},
                 id="last-ms-number-long"),
    pytest.param(FAR_FUTURE, {"timestamp": {"$date": LAST_MS}}, {"timestamp": LAST}, id="last-ms-legacy-date"),
]  # fmt: skip

# (config, reading sent, problems), each one past a limit.
PAST_THE_LIMIT = [
    pytest.param({}, {"sensor": "s" * (MAX_LABEL_LENGTH + 1)}, [{"field": "sensor", "detail": LABEL}],
                 id="sensor-201-characters"),
    pytest.param({}, {"type": "t" * (MAX_LABEL_LENGTH + 1)}, [{"field": "type", "detail": LABEL}],
                 id="type-201-characters"),
    pytest.param({}, {"value": INT64_MAX + 1}, [{"field": "value", "detail": BITS}], id="int64-max-plus-one"),
    pytest.param({}, {"value": INT64_MIN - 1}, [{"field": "value", "detail": BITS}], id="int64-min-minus-one"),
    pytest.param({}, {"deep": [{"n": INT64_MIN - 1}]}, [{"field": "deep.0.n", "detail": BITS}],
                 id="int64-min-minus-one-nested"),
    pytest.param({"MAX_READING_BYTES": 100}, of_json_size(101),
                 [{"field": "", "detail": "larger than 100 bytes as JSON"}], id="reading-of-max-bytes-plus-one"),
    pytest.param({"MAX_READING_DEPTH": 3}, {"a": {"b": {"c": {}}}},
                 [{"field": "a.b.c", "detail": "nested deeper than 3"}], id="objects-max-depth-plus-one"),
    pytest.param({"MAX_READING_DEPTH": 3}, {"a": [[[]]]},
                 [{"field": "a.0.0", "detail": "nested deeper than 3"}], id="lists-max-depth-plus-one"),
    pytest.param({}, {"timestamp": "0001-01-01T00:59:59.999+01:00"},
                 [{"field": "timestamp", "detail": OUT_OF_RANGE}], id="first-ms-minus-one-iso-offset"),
    pytest.param({}, {"timestamp": (FIRST_MS - 1) / 1000}, [{"field": "timestamp", "detail": OUT_OF_RANGE}],
                 id="first-ms-minus-one-epoch-seconds"),
    pytest.param({}, {"timestamp": {"$date": {"$numberLong": str(FIRST_MS - 1)}}},
                 [{"field": "timestamp", "detail": OUT_OF_RANGE}], id="first-ms-minus-one-number-long"),
    pytest.param({}, {"timestamp": {"$date": FIRST_MS - 1}}, [{"field": "timestamp", "detail": OUT_OF_RANGE}],
                 id="first-ms-minus-one-legacy-date"),
    pytest.param({}, {"when": {"$date": {"$numberLong": str(FIRST_MS - 1)}}},
                 [{"field": "when", "detail": OUT_OF_RANGE}], id="first-ms-minus-one-in-a-field"),
    pytest.param({}, {"timestamp": "9999-12-31T19:00:00-05:00"}, [{"field": "timestamp", "detail": OUT_OF_RANGE}],
                 id="last-ms-plus-one-iso-offset"),
    pytest.param({}, {"timestamp": LAST_MS // 1000 + 1}, [{"field": "timestamp", "detail": OUT_OF_RANGE}],
                 id="last-second-plus-one-epoch-seconds"),
    pytest.param({}, {"timestamp": {"$date": {"$numberLong": str(LAST_MS + 1)}}},
                 [{"field": "timestamp", "detail": OUT_OF_RANGE}], id="last-ms-plus-one-number-long"),
    pytest.param({}, {"timestamp": {"$date": LAST_MS + 1}}, [{"field": "timestamp", "detail": OUT_OF_RANGE}],
                 id="last-ms-plus-one-legacy-date"),
]  # fmt: skip


@pytest.mark.parametrize(("config", "reading", "document"), AT_THE_LIMIT)
def test_a_reading_exactly_at_a_limit_is_stored(app, client, readings, config, reading, document):
    app.config.update(config)
    response = client.post("/readings/", data=json.dumps(reading), content_type="application/json")
    assert response.status_code == 201, response.json
    assert stored(readings) == [document]


@pytest.mark.parametrize(("config", "reading", "errors"), PAST_THE_LIMIT)
def test_a_reading_one_past_a_limit_is_refused(app, client, readings, config, reading, errors):
    app.config.update(config)
    response = client.post("/readings/", data=json.dumps(reading), content_type="application/json")
    assert response.status_code == 400
    assert response.json == refused(errors)
    assert readings.count() == 0


def test_a_reading_with_the_most_problems_listed_lists_them_all(client, readings):
    reading = {f"${n}": 1 for n in range(MAX_ERRORS_PER_READING)}
    response = client.post("/readings/", data=json.dumps(reading), content_type="application/json")
    assert response.status_code == 400
    assert response.json == refused(
        [{"field": f"${n}", "detail": "field names must not start with '$'"} for n in range(10)]
    )
    assert readings.count() == 0


def test_a_reading_with_one_problem_more_than_listed_says_so(client, readings):
    reading = {f"${n}": 1 for n in range(MAX_ERRORS_PER_READING + 1)}
    response = client.post("/readings/", data=json.dumps(reading), content_type="application/json")
    errors = [{"field": f"${n}", "detail": "field names must not start with '$'"} for n in range(10)]
    assert response.status_code == 400
    assert response.json == problem_body(
        400, "Bad Request", "at least 11 problems in the reading; the first 10 are listed", errors
    )
    assert readings.count() == 0


@pytest.mark.parametrize(
    ("extra", "detail"),
    [
        (0, "100 problems in 10 of 10 readings"),
        (1, "101 problems in 11 of 11 readings; the first 100 are listed"),
    ],
)
def test_a_batch_lists_at_most_its_limit_of_problems(client, readings, extra, detail):
    batch = [{f"${n}": 1 for n in range(10)}] * (MAX_ERRORS_PER_REQUEST // 10) + [{"$x": 1}] * extra
    response = client.post("/readings/", json=batch)
    assert response.status_code == 400
    assert response.json["detail"] == detail
    assert len(response.json["errors"]) == MAX_ERRORS_PER_REQUEST
    assert readings.count() == 0


# --- a batch, a body --------------------------------------------------------------------------------


def test_a_batch_of_the_maximum_size_is_stored(app, client, readings):
    app.config["MAX_BATCH_SIZE"] = 3
    response = client.post("/readings/", json=[{"value": i, "timestamp": T0} for i in range(3)])
    assert response.status_code == 201
    assert stored(readings) == [{"value": i, "timestamp": T0_DATE} for i in range(3)]


def test_a_batch_one_past_the_maximum_size_is_refused(app, client, readings):
    app.config["MAX_BATCH_SIZE"] = 3
    response = client.post("/readings/", json=[{"value": i, "timestamp": T0} for i in range(4)])
    assert response.status_code == 413
    assert response.json == problem_body(
        413, "Request Entity Too Large", "a batch holds at most 3 readings; got 4"
    )
    assert readings.count() == 0


def body_of(size: int) -> bytes:
    """A JSON reading exactly ``size`` bytes long."""
    empty = len(json.dumps({"note": "", "timestamp": T0}).encode())
    return json.dumps({"note": "x" * (size - empty), "timestamp": T0}).encode()


def test_a_body_of_the_maximum_length_is_read(app, client, readings):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/readings/", data=body_of(1024), content_type="application/json")
    assert response.status_code == 201
    assert only(readings)["note"] == json.loads(body_of(1024))["note"]


def test_a_body_one_byte_past_the_maximum_length_is_refused(app, client, readings):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = client.post("/readings/", data=body_of(1025), content_type="application/json")
    assert response.status_code == 413
    assert response.json == problem_body(
        413, "Request Entity Too Large", "the body is 1025 bytes; the limit is 1024"
    )
    assert readings.count() == 0


def chunked(client, body: bytes):
    """POST a body without a Content-Length, as a server that ends the stream passes it on."""
    return client.post(
        "/readings/", input_stream=io.BytesIO(body), content_type="application/json",
        headers={"Transfer-Encoding": "chunked"}, environ_overrides={"wsgi.input_terminated": True},
    )  # fmt: skip


def test_a_chunked_body_of_the_maximum_length_is_read(app, client, readings):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    assert chunked(client, body_of(1024)).status_code == 201
    assert readings.count() == 1


def test_a_chunked_body_one_byte_past_the_maximum_length_is_refused(app, client, readings):
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = chunked(client, body_of(1025))
    assert response.status_code == 413
    assert response.json == problem_body(
        413, "Request Entity Too Large", "the body is larger than 1024 bytes"
    )
    assert readings.count() == 0


def gzipped(client, body: bytes):
    return client.post(
        "/readings/", data=gzip.compress(body), content_type="application/json",
        headers={"Content-Encoding": "gzip"},
    )  # fmt: skip


def test_a_gzip_body_inflating_to_the_maximum_length_is_read(app, client, readings):
    app.config["MAX_INFLATED_LENGTH"] = 1024
    assert gzipped(client, body_of(1024)).status_code == 201
    assert readings.count() == 1


def test_a_gzip_body_inflating_one_byte_past_the_maximum_length_is_refused(app, client, readings):
    app.config["MAX_INFLATED_LENGTH"] = 1024
    response = gzipped(client, body_of(1025))
    assert response.status_code == 413
    assert response.json == problem_body(
        413, "Request Entity Too Large", "the body inflates to more than 1024 bytes"
    )
    assert readings.count() == 0


# --- query strings --------------------------------------------------------------------------------


@pytest.fixture
def eleven(readings):
    """Eleven readings, a minute apart: values 0 to 10."""
    readings.insert(
        [
            {"_id": ObjectId(f"{i + 1:024x}"), "value": i, "timestamp": T0_DATE + timedelta(minutes=i)}
            for i in range(11)
        ]
    )


@pytest.mark.parametrize("limit", [1, 10])
def test_a_page_of_the_smallest_and_the_largest_size_is_listed(app, client, eleven, limit):
    app.config["MAX_PAGE_SIZE"] = 10
    response = client.get(f"/readings/?limit={limit}")
    assert response.status_code == 200
    assert [item["value"] for item in response.json] == list(range(10, 10 - limit, -1))
    assert next_link(response) is not None


@pytest.mark.parametrize("limit", [0, 11])
def test_a_page_one_past_the_smallest_or_the_largest_size_is_refused(app, client, eleven, limit):
    app.config["MAX_PAGE_SIZE"] = 10
    response = client.get(f"/readings/?limit={limit}")
    errors = [{"parameter": "limit", "detail": "must be an integer from 1 to 10"}]
    assert response.status_code == 400
    assert response.json == refused(errors, "the query string")


@pytest.mark.parametrize("name", ["since", "until"])
def test_a_time_filter_at_the_first_millisecond_is_accepted(client, name):
    response = client.get(f"/readings/?{name}=0001-01-01T00:00:00Z")
    assert (response.status_code, response.json) == (200, [])


@pytest.mark.parametrize("name", ["since", "until"])
def test_a_time_filter_one_millisecond_before_the_first_is_refused(client, name):
    response = client.get(f"/readings/?{name}=0001-01-01T00:59:59.999%2B01:00")
    assert response.status_code == 400
    assert response.json == refused([{"parameter": name, "detail": OUT_OF_RANGE}], "the query string")


def test_an_export_stops_just_before_until_on_every_page(client, eleven, monkeypatch):
    # Pages of two: every page after the first is read from a cursor, whose
    # bound on until must stay exclusive as the first page's is.
    monkeypatch.setattr(base, "EXPORT_BATCH", 2)
    response = client.get("/readings/export?format=ndjson&until=2026-03-01T10:05:00Z")
    assert response.status_code == 200
    assert [json.loads(line)["value"] for line in response.get_data(as_text=True).splitlines()] == [
        0, 1, 2, 3, 4,
    ]  # fmt: skip


def test_an_export_starts_at_since_on_every_page(client, eleven, monkeypatch):
    monkeypatch.setattr(base, "EXPORT_BATCH", 2)
    response = client.get("/readings/export?format=ndjson&since=2026-03-01T10:05:00Z")
    assert [json.loads(line)["value"] for line in response.get_data(as_text=True).splitlines()] == [
        5, 6, 7, 8, 9, 10,
    ]  # fmt: skip


def test_a_listing_stops_just_before_until_on_every_page(client, eleven):
    values, url = [], "/readings/?limit=2&since=2026-03-01T10:02:00Z&until=2026-03-01T10:07:00Z"
    while url:
        response = client.get(url)
        values += [item["value"] for item in response.json]
        url = next_link(response)
    assert values == [6, 5, 4, 3, 2]


STATS = "/readings/stats?sensor=k&since=2026-03-01T10:00:00Z&until=2026-03-01T10:20:00Z"


def test_stats_of_the_most_buckets_are_answered(app, client):
    app.config["MAX_BUCKETS"] = 4
    response = client.get(f"{STATS}&interval=5m&fill=null")
    assert response.status_code == 200
    assert len(response.json["buckets"]) == 4


def test_stats_of_one_bucket_more_than_the_most_are_refused(app, client):
    app.config["MAX_BUCKETS"] = 3
    response = client.get(f"{STATS}&interval=5m")
    detail = "4 buckets asked for, at most 3: widen the interval or narrow the window"
    assert response.status_code == 400
    assert response.json == problem_body(
        400, "Bad Request", detail, [{"parameter": "interval", "detail": detail}]
    )


def test_stats_of_a_field_path_of_the_maximum_length_are_answered(client, readings):
    path = "f" * MAX_FIELD_PATH
    readings.insert([{"sensor": "k", path: 2, "timestamp": T0_DATE}])
    response = client.get(f"{STATS}&interval=1h&field={path}")
    assert response.status_code == 200
    assert [bucket["sum"] for bucket in response.json["buckets"]] == [2]


def test_stats_of_a_field_path_one_past_the_maximum_length_are_refused(client):
    response = client.get(f"{STATS}&interval=1h&field={'f' * (MAX_FIELD_PATH + 1)}")
    detail = "must be a field name or dotted path (no empty parts, none starting with '$')"
    assert response.status_code == 400
    assert response.json == refused([{"parameter": "field", "detail": detail}], "the query string")


WEEK_MS = 7 * 86400 * 1000
FIRST_WEEK = FIRST + timedelta(
    milliseconds=-FIRST_MS % WEEK_MS
)  # the first week's bucket (weeks align to 1970)


def stats_from(since: datetime, interval: str) -> str:
    until = since + timedelta(weeks=1)
    return (
        f"/readings/stats?sensor=k&interval={interval}&since={since.isoformat()}Z&until={until.isoformat()}Z"
    )


@pytest.mark.parametrize(("since", "interval"), [(FIRST, "1d"), (FIRST_WEEK, "1w")])
def test_stats_whose_first_bucket_starts_on_or_after_the_first_date_are_answered(client, since, interval):
    response = client.get(stats_from(since, interval))
    assert response.status_code == 200
    assert response.json["since"] == {"$date": {"$numberLong": str(epoch_millis(since))}}


def test_stats_whose_first_bucket_would_start_before_the_first_date_are_refused(client):
    response = client.get(stats_from(FIRST_WEEK - timedelta(milliseconds=1), "1w"))
    detail = (
        "too long for this window: its first bucket would start before 0001-01-01 (buckets align to 1970)"
    )
    assert response.status_code == 400
    assert response.json == refused([{"parameter": "interval", "detail": detail}], "the query string")


# --- alert rules --------------------------------------------------------------------------------------


def rule(**changes) -> dict:
    """A threshold rule body; a change to None leaves that field out."""
    body = {"name": "r", "kind": "threshold", "sensor": "k", "above": 1, **changes}
    return {key: value for key, value in body.items() if value is not None}


def hooks(count: int) -> list[str]:
    return [f"https://hooks.example.com/{n}" for n in range(count)]


LONG_URL = "https://hooks.example.com/" + "x" * (MAX_URL_LENGTH - len("https://hooks.example.com/"))

# (rule body, stored field, stored value), each exactly at a limit.
RULES_AT_THE_LIMIT = [
    pytest.param(rule(name="n" * MAX_LABEL_LENGTH), "name", "n" * MAX_LABEL_LENGTH, id="name-200-characters"),
    pytest.param(rule(sensor="s" * MAX_LABEL_LENGTH), "sensor", "s" * MAX_LABEL_LENGTH,
                 id="sensor-200-characters"),
    pytest.param(rule(sensor=None, sensor_prefix="s" * MAX_LABEL_LENGTH), "sensor_prefix",
                 "s" * MAX_LABEL_LENGTH, id="prefix-200-characters"),
    pytest.param(rule(sensor=None, sensor_prefix=""), "sensor_prefix", "", id="prefix-empty"),
    pytest.param(rule(field="f" * MAX_FIELD_PATH), "field", "f" * MAX_FIELD_PATH, id="field-200-characters"),
    pytest.param(rule(above=INT64_MAX), "above", INT64_MAX, id="above-largest-int64"),
    pytest.param(rule(above=None, below=INT64_MIN), "below", INT64_MIN, id="below-smallest-int64"),
    pytest.param(rule(hysteresis=INT64_MAX), "hysteresis", INT64_MAX, id="hysteresis-largest-int64"),
    pytest.param(rule(hysteresis=0), "hysteresis", 0, id="hysteresis-0"),
    pytest.param(rule(**{"for": "366d"}), "for_seconds", MAX_DURATION_SECONDS, id="for-366-days"),
    pytest.param(rule(**{"for": f"{MAX_DURATION_SECONDS}s"}), "for_seconds", MAX_DURATION_SECONDS,
                 id="for-366-days-in-seconds"),
    pytest.param(rule(notify=hooks(MAX_TARGETS)), "notify", hooks(MAX_TARGETS), id="10-targets"),
    pytest.param(rule(notify=[LONG_URL]), "notify", [LONG_URL], id="url-of-2000-characters"),
]  # fmt: skip

# (rule body, problems), each one past a limit.
RULES_PAST_THE_LIMIT = [
    pytest.param(rule(name="n" * (MAX_LABEL_LENGTH + 1)),
                 [{"field": "name", "detail": "required: a string of 1 to 200 characters"}], id="name-201-characters"),
    pytest.param(rule(sensor="s" * (MAX_LABEL_LENGTH + 1)),
                 [{"field": "sensor", "detail": "must be a string of 1 to 200 characters"}], id="sensor-201-characters"),
    pytest.param(rule(sensor=None, sensor_prefix="s" * (MAX_LABEL_LENGTH + 1)),
                 [{"field": "sensor_prefix", "detail": "must be a string of at most 200 characters"}],
                 id="prefix-201-characters"),
    pytest.param(rule(field="f" * (MAX_FIELD_PATH + 1)),
                 [{"field": "field", "detail": "must be a field name or dotted path (no empty parts, none starting with '$')"}],
                 id="field-201-characters"),
    pytest.param(rule(above=INT64_MAX + 1), [{"field": "above", "detail": BITS}], id="above-int64-max-plus-one"),
    pytest.param(rule(above=None, below=INT64_MIN - 1), [{"field": "below", "detail": BITS}],
                 id="below-int64-min-minus-one"),
    pytest.param(rule(hysteresis=INT64_MAX + 1), [{"field": "hysteresis", "detail": BITS}],
                 id="hysteresis-int64-max-plus-one"),
    pytest.param(rule(hysteresis=-0.001), [{"field": "hysteresis", "detail": "must be a number, 0 or more"}],
                 id="hysteresis-below-0"),
    pytest.param(rule(**{"for": f"{MAX_DURATION_SECONDS + 1}s"}),
                 [{"field": "for", "detail": "must be at most 366 days"}], id="for-366-days-and-a-second"),
    pytest.param(rule(notify=hooks(MAX_TARGETS + 1)),
                 [{"field": "notify", "detail": "must be a list of at most 10 URLs"}], id="11-targets"),
    pytest.param(rule(notify=[LONG_URL + "x"]),
                 [{"field": "notify.0", "detail": "must be a URL of at most 2000 characters"}],
                 id="url-of-2001-characters"),
]  # fmt: skip


@pytest.mark.parametrize(("body", "field", "value"), RULES_AT_THE_LIMIT)
def test_a_rule_exactly_at_a_limit_is_made(app, client, body, field, value):
    response = client.post("/rules/", json=body)
    assert response.status_code == 201, response.json
    [made] = app.extensions["store"].alerts.rules()
    assert made[field] == value


@pytest.mark.parametrize(("body", "errors"), RULES_PAST_THE_LIMIT)
def test_a_rule_one_past_a_limit_is_refused(app, client, body, errors):
    response = client.post("/rules/", json=body)
    assert response.status_code == 400
    assert response.json == refused(errors, "the rule")
    assert app.extensions["store"].alerts.rules() == []


@pytest.fixture
def rule_id(client):
    return client.post("/rules/", json=rule()).json["_id"]["$oid"]


def test_a_rule_s_events_are_listed_up_to_the_largest_page(client, rule_id):
    response = client.get(f"/rules/{rule_id}/events?limit=100")
    assert (response.status_code, response.json) == (200, [])


def test_a_rule_s_events_one_past_the_largest_page_are_refused(client, rule_id):
    response = client.get(f"/rules/{rule_id}/events?limit=101")
    errors = [{"parameter": "limit", "detail": "must be an integer from 1 to 100"}]
    assert response.status_code == 400
    assert response.json == refused(errors, "the query string")


# --- deleting by time -----------------------------------------------------------------------------


MS = timedelta(milliseconds=1)


def test_a_delete_takes_since_inclusive_and_until_exclusive(client, readings):
    since, until = T0_DATE, T0_DATE + timedelta(hours=1)
    readings.insert(
        [{"value": n, "timestamp": when} for n, when in enumerate([since - MS, since, until - MS, until])]
    )
    response = client.delete(f"/readings/?since={since.isoformat()}Z&until={until.isoformat()}Z")
    assert (response.status_code, response.json) == (200, {"deleted": 2})
    assert [doc["value"] for doc in everything(readings)] == [0, 3]


def test_retention_keeps_a_reading_exactly_its_days_old_and_deletes_one_a_millisecond_older(app_factory):
    app = app_factory(READINGS_RETENTION_DAYS=2)
    readings = app.extensions["store"].readings
    with time_machine.travel(datetime(2026, 3, 3, 10, tzinfo=UTC), tick=False):
        readings.insert([{"value": 1, "timestamp": T0_DATE - MS}, {"value": 2, "timestamp": T0_DATE}])
        assert jobs.run_once(app) == {"expired": 1}
    assert [doc["value"] for doc in everything(readings)] == [2]
