"""POST /readings/: every accepted input form, and every class of bad input."""

import json
import sys
from datetime import UTC, datetime, timedelta

import pytest
from bson import ObjectId
from conftest import everything, only, problem_body

T0 = "2026-03-01T10:00:00Z"
T0_DATE = datetime(2026, 3, 1, 10, 0, 0)
OID_TEXT = "65f0000000000000000000aa"


def stored(readings):
    """Every stored document, without ids."""
    return [{k: v for k, v in doc.items() if k != "_id"} for doc in everything(readings)]


def test_post_json_returns_201_reading_and_location(client, readings):
    response = client.post(
        "/readings/", json={"sensor": "kitchen", "type": "temp", "value": 21.5, "timestamp": T0}
    )
    doc = only(readings)
    oid = str(doc["_id"])
    assert response.status_code == 201
    assert response.headers["Location"] == f"/readings/{oid}"
    assert response.mimetype == "application/json"
    assert response.json == {
        "_id": {"$oid": oid},
        "sensor": "kitchen",
        "type": "temp",
        "value": 21.5,
        "timestamp": {"$date": "2026-03-01T10:00:00Z"},
    }
    assert doc == {
        "_id": doc["_id"],
        "sensor": "kitchen",
        "type": "temp",
        "value": 21.5,
        "timestamp": T0_DATE,
    }


@pytest.mark.parametrize("content_type", ["application/x-www-form-urlencoded", "multipart/form-data"])
def test_post_form_field_reading_is_the_original_protocol(client, readings, content_type):
    form = {"reading": json.dumps({"sensor": "pi", "value": 3, "timestamp": T0})}
    response = client.post("/readings/", data=form, content_type=content_type)
    assert response.status_code == 201
    assert response.json["sensor"] == "pi"
    assert stored(readings) == [{"sensor": "pi", "value": 3, "timestamp": T0_DATE}]


def test_post_form_file_upload_is_read_like_the_field(client, readings):
    from io import BytesIO

    body = json.dumps({"sensor": "pi", "timestamp": T0}).encode()
    response = client.post("/readings/", data={"reading": (BytesIO(body), "r.json")})
    assert response.status_code == 201
    assert stored(readings) == [{"sensor": "pi", "timestamp": T0_DATE}]


def test_post_batch_stores_all_in_order(client, readings):
    batch = [{"sensor": "a", "value": i, "timestamp": T0} for i in range(3)]
    response = client.post("/readings/", json=batch)
    assert response.status_code == 201
    assert "Location" not in response.headers
    assert [item["value"] for item in response.json] == [0, 1, 2]
    ids = [ObjectId(item["_id"]["$oid"]) for item in response.json]
    assert [doc["_id"] for doc in everything(readings)] == ids  # one timestamp: by id, as sent
    assert stored(readings) == [{"sensor": "a", "value": i, "timestamp": T0_DATE} for i in range(3)]


def test_post_batch_in_form_field(client, readings):
    form = {"reading": json.dumps([{"value": 1, "timestamp": T0}, {"value": 2, "timestamp": T0}])}
    response = client.post("/readings/", data=form)
    assert response.status_code == 201
    assert len(response.json) == 2
    assert readings.count() == 2


def test_form_field_may_be_as_large_as_a_body(client, readings):
    batch = [{"sensor": "pi", "note": "x" * 600, "timestamp": T0} for _ in range(1000)]  # ~640 kB
    response = client.post("/readings/", data={"reading": json.dumps(batch)})
    assert response.status_code == 201
    assert readings.count() == 1000


def test_post_arbitrary_nested_data_is_kept(client, readings):
    reading = {"sensor": "gps", "timestamp": T0, "pos": {"lat": 1.5, "lon": -2, "tags": ["a", {"b": None}]}}
    response = client.post("/readings/", json=reading)
    assert response.status_code == 201
    assert response.json["pos"] == reading["pos"]
    assert stored(readings) == [{"sensor": "gps", "pos": reading["pos"], "timestamp": T0_DATE}]


def test_extended_json_wrappers_are_values(client, readings):
    ref = "65f000000000000000000001"
    reading = {"timestamp": T0, "calibrated": {"$date": "2026-01-01T00:00:00.5Z"}, "ref": {"$oid": ref}}
    response = client.post("/readings/", json=reading)
    assert response.status_code == 201
    assert response.json["calibrated"] == {"$date": "2026-01-01T00:00:00.500Z"}
    assert response.json["ref"] == {"$oid": ref}
    doc = only(readings)
    assert doc["calibrated"] == datetime(2026, 1, 1, 0, 0, 0, 500000)
    assert doc["ref"] == ObjectId(ref)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("2026-03-01T10:00:00Z", datetime(2026, 3, 1, 10)),
        ("2026-03-01T11:30:00+01:30", datetime(2026, 3, 1, 10)),
        ("2026-03-01T10:00:00", datetime(2026, 3, 1, 10)),  # no offset: UTC
        ("2026-03-01T10:00:00.123456Z", datetime(2026, 3, 1, 10, 0, 0, 123000)),  # BSON keeps ms
        (1772359200, datetime(2026, 3, 1, 10)),
        (1772359200.25, datetime(2026, 3, 1, 10, 0, 0, 250000)),
        ({"$date": "2026-03-01T10:00:00Z"}, datetime(2026, 3, 1, 10)),
        ({"$date": {"$numberLong": "1772359200000"}}, datetime(2026, 3, 1, 10)),
        ({"$date": 1772359200000}, datetime(2026, 3, 1, 10)),  # legacy Extended JSON
    ],
)
def test_timestamp_forms_are_stored_as_utc_dates(client, readings, given, expected):
    response = client.post("/readings/", json={"timestamp": given})
    assert response.status_code == 201
    assert only(readings)["timestamp"] == expected


def test_missing_timestamp_is_the_receipt_time(client, readings):
    before = datetime.now(UTC).replace(tzinfo=None) - timedelta(milliseconds=1)
    response = client.post("/readings/", json={"value": 1})
    after = datetime.now(UTC).replace(tzinfo=None)
    assert response.status_code == 201
    assert before <= only(readings)["timestamp"] <= after


def test_client_id_is_used_and_a_resend_answers_200_without_storing_twice(client, readings):
    oid = "65f0000000000000000000aa"
    first = client.post("/readings/", json={"_id": {"$oid": oid}, "value": 1, "timestamp": T0})
    again = client.post("/readings/", json={"_id": oid, "value": 1, "timestamp": T0})
    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json == first.json == {"_id": {"$oid": oid}, "value": 1, "timestamp": {"$date": T0}}
    assert readings.count() == 1


def test_batch_with_already_stored_ids_succeeds_and_stores_the_rest(client, readings):
    old = "65f0000000000000000000aa"
    client.post("/readings/", json={"_id": old, "value": 1, "timestamp": T0})
    response = client.post(
        "/readings/", json=[{"_id": old, "value": 1, "timestamp": T0}, {"value": 2, "timestamp": T0}]
    )
    assert response.status_code == 201
    assert response.json[0] == {"_id": {"$oid": old}, "value": 1, "timestamp": {"$date": T0}}
    assert response.json[1]["value"] == 2
    assert sorted(doc["value"] for doc in everything(readings)) == [1, 2]


@pytest.mark.parametrize(
    ("reading", "errors"),
    [
        ("text", [{"field": "", "detail": "a reading must be a JSON object"}]),
        (42, [{"field": "", "detail": "a reading must be a JSON object"}]),
        (None, [{"field": "", "detail": "a reading must be a JSON object"}]),
        ({"$where": 1}, [{"field": "$where", "detail": "field names must not start with '$'"}]),
        (
            {"$date": None},
            [{"field": "$date", "detail": "field names must not start with '$'"}],
        ),  # found by hypothesis
        ({"$oid": OID_TEXT}, [{"field": "$oid", "detail": "field names must not start with '$'"}]),
        ({"a.b": 1}, [{"field": "a.b", "detail": "field names must not contain '.'"}]),
        ({"a\u0000b": 1}, [{"field": "a\u0000b", "detail": "field names must not contain NUL"}]),
        (
            {"x": {"y": [{"$gt": 1}]}},
            [{"field": "x.y.0.$gt", "detail": "field names must not start with '$'"}],
        ),
        ({"value": "21"}, [{"field": "value", "detail": "must be a number"}]),
        ({"value": True}, [{"field": "value", "detail": "must be a number"}]),
        ({"value": None}, [{"field": "value", "detail": "must be a number"}]),
        ({"sensor": 5}, [{"field": "sensor", "detail": "must be a string of 1 to 200 characters"}]),
        ({"sensor": ""}, [{"field": "sensor", "detail": "must be a string of 1 to 200 characters"}]),
        ({"type": ["t"]}, [{"field": "type", "detail": "must be a string of 1 to 200 characters"}]),
        ({"n": 2**63}, [{"field": "n", "detail": "integers must fit in 64 bits"}]),
        (
            {"_id": "nope"},
            [
                {
                    "field": "_id",
                    "detail": 'must be an ObjectId: 24 hexadecimal digits or {"$oid": "<24 hex>"}',
                }
            ],
        ),
        (
            {"timestamp": "yesterday"},
            [
                {
                    "field": "timestamp",
                    "detail": 'must be an ISO 8601 date-time, Unix epoch seconds or {"$date": ...}',
                }
            ],
        ),
        (
            {"timestamp": "١٧٠٠٠٠٠٠٠٠"},  # Arabic-Indic digits: float() reads them, ISO 8601 does not
            [
                {
                    "field": "timestamp",
                    "detail": 'must be an ISO 8601 date-time, Unix epoch seconds or {"$date": ...}',
                }
            ],
        ),
        (
            {"timestamp": {"$date": {"$numberLong": "١٧٠٠"}}},
            [{"field": "timestamp", "detail": '{"$date": ...} must hold an ISO 8601 string or milliseconds'}],
        ),
        (
            {"timestamp": True},
            [
                {
                    "field": "timestamp",
                    "detail": 'must be an ISO 8601 date-time, Unix epoch seconds or {"$date": ...}',
                }
            ],
        ),
        (
            {"timestamp": 1e300},
            [
                {
                    "field": "timestamp",
                    "detail": "out of range: dates run from 0001-01-01T00:00:00Z to 9999-12-31T23:59:59.999Z",
                }
            ],
        ),
        (
            {"timestamp": {"$date": [5]}},
            [{"field": "timestamp", "detail": '{"$date": ...} must hold an ISO 8601 string or milliseconds'}],
        ),
        (
            {"when": {"$date": "soon"}},
            [
                {
                    "field": "when",
                    "detail": 'must be an ISO 8601 date-time, Unix epoch seconds or {"$date": ...}',
                }
            ],
        ),
        (
            {"ref": {"$oid": "xyz"}},
            [
                {
                    "field": "ref",
                    "detail": 'must be an ObjectId: 24 hexadecimal digits or {"$oid": "<24 hex>"}',
                }
            ],
        ),
        (
            {"sensor": 1, "value": "x", "$a": 0},
            [
                {"field": "$a", "detail": "field names must not start with '$'"},
                {"field": "sensor", "detail": "must be a string of 1 to 200 characters"},
                {"field": "value", "detail": "must be a number"},
            ],
        ),
    ],
)
def test_invalid_reading_returns_400_listing_every_problem_and_stores_nothing(
    client, readings, reading, errors
):
    response = client.post("/readings/", data=json.dumps(reading), content_type="application/json")
    noun = "problem" if len(errors) == 1 else "problems"
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert response.json == problem_body(400, "Bad Request", f"{len(errors)} {noun} in the reading", errors)
    assert readings.count() == 0


def test_too_deep_nesting_is_refused(app, client, readings):
    app.config["MAX_READING_DEPTH"] = 3
    response = client.post("/readings/", json={"a": {"b": {"c": {"d": 1}}}})
    assert response.status_code == 400
    assert response.json["errors"] == [{"field": "a.b.c", "detail": "nested deeper than 3"}]
    assert readings.count() == 0


@pytest.mark.parametrize("depth", [300, 1000])
@pytest.mark.parametrize("long_integer", [False, True])  # True: read again by json, whose limit is lower
@pytest.mark.parametrize("form", [False, True])
def test_nesting_deeper_than_the_parsers_go_is_a_400(client, readings, depth, long_integer, form):
    value = 12345678901234567890123 if long_integer else 1
    text = f'{{"sensor": "a", "value": {value}, "x": {"[" * depth}{"]" * depth}}}'
    if form:
        response = client.post("/readings/", data={"reading": text})
    else:
        response = client.post("/readings/", data=text, content_type="application/json")
    assert response.status_code == 400
    field = "x" + ".0" * 31
    deep = {"field": field, "detail": "nested deeper than 32"}
    expected = {
        (300, False): [deep],
        (300, True): [{"field": "value", "detail": "integers must fit in 64 bits"}, deep],
        (1000, False): [deep],
        # Read again by json: on Python 3.11 its parser stops at the recursion
        # limit (1000 frames); from 3.12 it goes past orjson's 1024 levels, so
        # the reading's own problems are listed. A 400 naming the problem either way.
        (1000, True): (
            [{"field": "reading" if form else "body", "detail": "not valid JSON: nested too deep"}]
            if sys.version_info < (3, 12)
            else [{"field": "value", "detail": "integers must fit in 64 bits"}, deep]
        ),
    }[depth, long_integer]
    assert response.json["errors"] == expected
    assert readings.count() == 0


def test_batch_with_bad_items_stores_nothing_and_names_each_by_index(client, readings):
    batch = [{"value": 1}, {"value": "x"}, {"value": 2}, "oops"]
    response = client.post("/readings/", json=batch)
    assert response.status_code == 400
    assert response.json == problem_body(
        400,
        "Bad Request",
        "2 problems in 2 of 4 readings",
        [
            {"index": 1, "field": "value", "detail": "must be a number"},
            {"index": 3, "field": "", "detail": "a reading must be a JSON object"},
        ],
    )
    assert readings.count() == 0


def test_batch_repeating_an_id_is_refused(client, readings):
    oid = "65f0000000000000000000aa"
    response = client.post("/readings/", json=[{"_id": oid}, {"_id": oid}])
    assert response.status_code == 400
    assert response.json["errors"] == [{"index": 1, "field": "_id", "detail": "appears twice in the batch"}]
    assert readings.count() == 0


def test_empty_batch_is_refused(client, readings):
    response = client.post("/readings/", json=[])
    assert response.status_code == 400
    assert response.json["errors"] == [{"field": "", "detail": "a batch must hold at least one reading"}]


def test_batch_over_the_maximum_gets_413_and_stores_nothing(app, client, readings):
    app.config["MAX_BATCH_SIZE"] = 3
    response = client.post("/readings/", json=[{"value": i} for i in range(4)])
    assert response.status_code == 413
    assert response.json == problem_body(
        413, "Request Entity Too Large", "a batch holds at most 3 readings; got 4"
    )
    assert readings.count() == 0


@pytest.mark.parametrize("body", [b"", b"{", b"{'a': 1}", b"NaN", b'{"a": "\\ud800"}', b"[" * 2000])
def test_malformed_json_returns_400(client, readings, body):
    response = client.post("/readings/", data=body, content_type="application/json")
    assert response.status_code == 400
    assert response.json["detail"] == "1 problem in the request"
    [error] = response.json["errors"]
    assert error["field"] == "body"
    assert error["detail"].startswith("not valid JSON: ")
    assert readings.count() == 0


def test_malformed_json_in_form_field_names_the_field(client, readings):
    response = client.post("/readings/", data={"reading": "{nope"})
    assert response.status_code == 400
    assert response.json["errors"][0]["field"] == "reading"
    assert readings.count() == 0


@pytest.mark.parametrize(
    ("form", "errors"),
    [
        ({}, [{"field": "reading", "detail": "missing: a form field holding JSON text"}]),
        (
            {"value": "1"},
            [
                {"field": "value", "detail": "unknown form field; send the reading as 'reading'"},
                {"field": "reading", "detail": "missing: a form field holding JSON text"},
            ],
        ),
        ({"reading": ["{}", "{}"]}, [{"field": "reading", "detail": "given more than once"}]),
    ],
)
def test_bad_form_returns_400(client, readings, form, errors):
    response = client.post("/readings/", data=form, content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert response.json["errors"] == errors
    assert readings.count() == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/xml", None])
def test_other_content_types_get_415(client, readings, content_type):
    headers = {"Content-Type": content_type} if content_type else {}
    response = client.post("/readings/", data=b'{"value": 1}', headers=headers)
    got = content_type or "no Content-Type"
    detail = (
        "Content-Type must be application/json or application/x-www-form-urlencoded or "
        f"multipart/form-data; got {got}"
    )
    assert response.status_code == 415
    assert response.json == problem_body(415, "Unsupported Media Type", detail)
    assert readings.count() == 0


@pytest.mark.parametrize(
    "text",
    [
        '{"n": 18446744073709551616}',  # 2**64: orjson reads it as a double
        '{"n": -9223372036854775809}',  # one below int64
        '{"n": 123456789012345678901234567890}',
        '[{"value": 1}, {"deep": [1, {"n": 99999999999999999999}]}]',
    ],
)
def test_integers_past_64_bits_are_refused_however_large(client, readings, text):
    response = client.post("/readings/", data=text, content_type="application/json")
    assert response.status_code == 400
    assert [error["detail"] for error in response.json["errors"]] == ["integers must fit in 64 bits"]
    assert readings.count() == 0


@pytest.mark.parametrize("text", ['{"id": "12345678901234567890123"}', '{"x": 1.2345678901234567890e5}'])
def test_long_digit_runs_that_are_not_big_integers_are_kept(client, readings, text):
    assert client.post("/readings/", data=text, content_type="application/json").status_code == 201
    assert {k: v for k, v in only(readings).items() if k not in ("_id", "timestamp")} == json.loads(text)


def test_errors_are_listed_up_to_a_bound_and_looked_for_no_further(client, readings):
    # A gzip body of a few KB can hold a million bad field names: 10 a reading
    # and 100 a request are listed, and checking stops at one more than that
    # (11 found in each of the first 10 readings), so the count is a lower bound.
    bad = {f"${n}": 1 for n in range(3000)}
    response = client.post("/readings/", json=[bad] * 20)
    assert response.status_code == 400
    assert response.json["detail"] == "at least 110 problems in 20 readings; the first 100 are listed"
    errors = response.json["errors"]
    assert len(errors) == 100
    assert errors[:2] == [{"index": 0, "field": "$0", "detail": "field names must not start with '$'"},
                          {"index": 0, "field": "$1", "detail": "field names must not start with '$'"}]  # fmt: skip
    assert [error["index"] for error in errors] == [index for index in range(10) for _ in range(10)]
    assert readings.count() == 0


def test_a_partial_batch_lists_a_bounded_number_of_problems_per_reading(client, readings):
    response = client.post("/readings/?partial=true", json=[{f"${n}": 1 for n in range(50)}, {"value": 1}])
    assert response.status_code == 207
    rejected, stored = response.json
    # 50 bad names: checking stopped at the 11th, so "problems" says at least 11.
    assert (rejected["status"], rejected["problems"], len(rejected["errors"])) == ("rejected", 11, 10)
    assert stored["status"] == "stored" and readings.count() == 1
