"""GET /readings/export: CSV and NDJSON, oldest first, streamed."""

import csv
import io
import math
import types
from datetime import UTC, datetime, timedelta, timezone
from unittest import mock

import pytest
from bson import Decimal128, Int64, ObjectId, json_util
from conftest import examples, problem_body
from hypothesis import given, settings
from hypothesis import strategies as st

from flask_rest_service import export
from flask_rest_service.export import FIXED_COLUMNS, cell, csv_lines, header, numbers
from flask_rest_service.extjson import dumps
from flask_rest_service.stores import StoreUnavailable, base
from flask_rest_service.stores.base import Filters


def oid(n):
    return ObjectId(f"{n:024x}")


@pytest.fixture
def series(readings):
    readings.insert(
        [
            {"_id": oid(2), "sensor": "k", "type": "t", "value": 2.5, "unit": "C", "timestamp": datetime(2026, 3, 1, 11)},
            {"_id": oid(1), "sensor": "k", "type": "t", "value": 1, "unit": "C", "timestamp": datetime(2026, 3, 1, 10)},
            {"_id": oid(3), "sensor": "k", "value": 3, "pos": {"lat": 1.5}, "ok": True,
             "timestamp": datetime(2026, 3, 1, 12, 0, 0, 5000)},
            {"_id": oid(4), "sensor": "other", "value": 9, "timestamp": datetime(2026, 3, 1, 13)},
        ]
    )  # fmt: skip


def test_csv_has_the_fixed_columns_first_fields_and_extra_oldest_first(client, series):
    response = client.get("/readings/export?sensor=k")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert response.headers["Content-Disposition"] == 'attachment; filename="readings-k.csv"'
    assert response.get_data(as_text=True) == (
        "_id,sensor,type,timestamp,value,unit,extra\r\n"
        f"{oid(1)},k,t,2026-03-01T10:00:00Z,1,C,\r\n"
        f"{oid(2)},k,t,2026-03-01T11:00:00Z,2.5,C,\r\n"
        f'{oid(3)},k,,2026-03-01T12:00:00.005Z,3,,"{{""pos"":{{""lat"":1.5}},""ok"":true}}"\r\n'
    )


def test_a_file_read_a_reading_a_batch_is_the_same_file(client, series, readings, monkeypatch):
    # Batches cut by bytes (here one reading each): the header still comes from the first reading.
    monkeypatch.setattr(base, "EXPORT_BATCH_BYTES", 1)
    assert [len(batch) for batch in readings.export_batches(Filters("k"))] == [1, 1, 1]
    assert client.get("/readings/export?sensor=k").get_data(as_text=True) == (
        "_id,sensor,type,timestamp,value,unit,extra\r\n"
        f"{oid(1)},k,t,2026-03-01T10:00:00Z,1,C,\r\n"
        f"{oid(2)},k,t,2026-03-01T11:00:00Z,2.5,C,\r\n"
        f'{oid(3)},k,,2026-03-01T12:00:00.005Z,3,,"{{""pos"":{{""lat"":1.5}},""ok"":true}}"\r\n'
    )
    lines = client.get("/readings/export?format=ndjson").get_data(as_text=True).splitlines()
    assert [json_util.loads(line) for line in lines] == [readings.get(oid(n)) for n in (1, 2, 3, 4)]


def test_ndjson_is_one_extended_json_reading_per_line(client, series, readings):
    response = client.get("/readings/export?format=ndjson&until=2026-03-01T12:00:00Z")
    assert response.headers["Content-Type"] == "application/x-ndjson"
    assert response.headers["Content-Disposition"] == 'attachment; filename="readings.ndjson"'
    lines = response.get_data(as_text=True).splitlines()
    assert [json_util.loads(line) for line in lines] == [readings.get(oid(n)) for n in (1, 2)]


def test_export_filters_like_the_list(client, series):
    response = client.get("/readings/export?type=t&since=2026-03-01T10:30:00Z&format=ndjson")
    assert [json_util.loads(line)["_id"] for line in response.get_data(as_text=True).splitlines()] == [oid(2)]


def test_empty_export_is_a_header_only(client):
    response = client.get("/readings/export")
    assert response.status_code == 200
    assert response.get_data(as_text=True) == "_id,sensor,type,timestamp,value,extra\r\n"


def test_export_is_streamed_from_a_generator(app, series):
    with app.test_request_context("/readings/export"):
        response = app.full_dispatch_request()
    assert response.is_streamed
    assert isinstance(response.response, types.GeneratorType)


def test_export_of_an_unsafe_sensor_name_gets_a_safe_file_name(client):
    response = client.get("/readings/export?sensor=a/b%22c&type=x")
    assert response.headers["Content-Disposition"] == 'attachment; filename="readings-a_b_c-x.csv"'


@pytest.mark.parametrize(
    ("query", "errors"),
    [
        ("format=xml", [{"parameter": "format", "detail": "must be one of: csv, ndjson"}]),
        (
            "limit=5",
            [
                {
                    "parameter": "limit",
                    "detail": "unknown parameter; accepted: sensor, type, since, until, format",
                }
            ],
        ),
    ],
)
def test_bad_export_parameters_get_400(client, query, errors):
    response = client.get(f"/readings/export?{query}")
    assert response.status_code == 400
    assert response.json["errors"] == errors


@pytest.mark.e2e  # the real driver waiting out its timeout on loopback
def test_database_outage_is_a_503_not_a_truncated_file(down_app):
    response = down_app.test_client().get("/readings/export")
    assert response.status_code == 503


@pytest.mark.parametrize(
    ("value", "text"),
    [(None, ""), (True, "true"), (1.5, "1.5"), ("a,b", "a,b"), ([1, {"a": None}], '[1,{"a":null}]'),
     (datetime(2026, 1, 1), "2026-01-01T00:00:00Z"), (oid(7), f"{oid(7)}")],
)  # fmt: skip
def test_cells(value, text):
    assert cell(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+SUM(1+1)", "'+SUM(1+1)"), ('@HYPERLINK("x")', "'@HYPERLINK(\"x\")"),
     ("-2+3", "'-2+3"), ("\t=1", "'\t=1"), ("\r=1", "'\r=1"), (-2.5, "-2.5"), (-7, "-7"), ("a=b", "a=b")],
)  # fmt: skip
def test_cells_a_spreadsheet_would_run_are_neutralised_and_numbers_stay_numbers(value, text):
    assert cell(value) == text


def test_formulas_in_fields_and_field_names_are_neutralised_in_the_file(client, readings):
    readings.insert(
        [
            {
                "_id": oid(1),
                "sensor": '=HYPERLINK("http://x")',
                "value": -2,
                "@note": "+1",
                "timestamp": datetime(2026, 1, 1),
            }
        ]
    )
    lines = client.get("/readings/export").get_data(as_text=True).splitlines()
    assert lines[0] == "_id,sensor,type,timestamp,value,'@note,extra"
    assert lines[1] == f'{oid(1)},"\'=HYPERLINK(""http://x"")",,2026-01-01T00:00:00Z,-2,\'+1,'


def test_a_field_named_extra_keeps_its_own_column(client, readings):
    readings.insert(
        [
            {"_id": oid(1), "extra": "mine", "timestamp": datetime(2026, 1, 1)},
            {"_id": oid(2), "extra": "also mine", "other": 1, "timestamp": datetime(2026, 1, 2)},
        ]
    )
    rows = list(csv.DictReader(io.StringIO(client.get("/readings/export").get_data(as_text=True))))
    assert list(rows[0]) == ["_id", "sensor", "type", "timestamp", "value", "extra", "extra_"]
    assert [(row["extra"], row["extra_"]) for row in rows] == [("mine", ""), ("also mine", '{"other":1}')]


def test_a_neutralised_field_name_never_takes_a_name_already_used(client, readings):
    # "=x" is written "'=x", a stored field's own name here; so is "'=x_".
    readings.insert(
        [
            {"_id": oid(1), "=x": 1, "'=x": 2, "'=x_": 3, "timestamp": datetime(2026, 1, 1)},
            {"_id": oid(2), "=x": 4, "'=x": 5, "'=x_": 6, "y": 7, "timestamp": datetime(2026, 1, 2)},
        ]
    )
    body = client.get("/readings/export").get_data(as_text=True)
    assert body.splitlines()[0] == "_id,sensor,type,timestamp,value,'=x__,'=x,'=x_,extra"
    rows = list(csv.DictReader(io.StringIO(body)))
    assert [(row["'=x__"], row["'=x"], row["'=x_"], row["extra"]) for row in rows] == [
        ("1", "2", "3", ""),
        ("4", "5", "6", '{"y":7}'),
    ]


@pytest.mark.parametrize(
    ("columns", "names"),
    [(["a", "extra", "extra_"], ["a", "extra", "extra_", "extra__"]), (["'=x", "=x"], ["'=x", "'=x_", "extra"]),
     (["=x", "'=x_", "'=x"], ["'=x__", "'=x_", "'=x", "extra"]), (["=a", "=b"], ["'=a", "'=b", "extra"])],
)  # fmt: skip
def test_header_names_each_column_once_changed_names_giving_way(columns, names):
    assert header(columns) == names


def test_an_outage_at_the_first_batch_is_a_503_even_with_the_key_already_known(app_factory, monkeypatch):
    # The key check would answer 503 first on a cold cache; with the key
    # known, only running the query before the first byte keeps this a 503.
    app = app_factory(AUTH_CACHE_SECONDS=60)
    key = app.extensions["keys"].create("viewer", "read")
    client = app.test_client()
    assert client.get("/readings/", headers={"X-API-Key": key}).status_code == 200  # the key is now cached

    def away(*args):
        raise StoreUnavailable()

    monkeypatch.setattr(app.extensions["store"].readings, "_dated", away)
    monkeypatch.setattr(app.extensions["store"].readings, "_undated", away)
    monkeypatch.setattr(app.extensions["store"], "ping", away)
    response = client.get("/readings/export", headers={"X-API-Key": key})
    assert response.status_code == 503
    assert response.json == problem_body(
        503, "Service Unavailable", "the database cannot be reached; try again shortly"
    )


@pytest.mark.parametrize(
    "values",
    [[1e-05], [9.99e-05], [0.0001], [1e15, 1e16], [math.nan], [-math.inf], [2**70], [10.00001, 0.1], [1, 2.5, -0.0],
     [5e-324, 1.7976931348623157e308], []],
)  # fmt: skip
def test_numbers_are_written_as_str_writes_them(values):
    assert numbers(values) == list(map(str, values))


# The CSV is formatted a column of a batch at a time; it must be byte for
# byte what formatting each value with cell() and writing each row with
# csv.writer gives, for any readings.
texts = st.one_of(
    st.text(max_size=5),
    st.text(st.sampled_from(list(",\"\r\n=+-@\t' a0\x00\u2028é")), max_size=5),
    st.sampled_from(["a,b", 'a"b', "a\rb", "a\nb", "=1", "-2", "'=x", "\U0001f600"]),  # one thing at a time
)
# Where str and orjson write a float differently, or nearly: exponents, nan
# and infinities, and the floats under 1e-4 that orjson writes in full.
edge_floats = st.sampled_from(
    [0.0, -0.0, 1e-4, math.nextafter(1e-4, 0), 1e-5, 2.5e-7, 10.00001, 1e15, math.nextafter(1e16, 0), 1e16,
     5e-324, 1.7976931348623157e308, math.nan, math.inf, -math.inf]
)  # fmt: skip
int64s = st.integers(min_value=-(2**63), max_value=2**63 - 1)  # what BSON holds
edge_dates = st.sampled_from(
    [datetime.min, datetime.max, datetime(1, 1, 1, 0, 0, 0, 1000), datetime(9999, 12, 31, 23, 59, 59, 999000),
     datetime(1969, 12, 31, 23, 59, 59, 999000), datetime(1970, 1, 1)]
)  # fmt: skip
object_ids = st.binary(min_size=12, max_size=12).map(ObjectId)
leaves = st.one_of(st.none(), st.booleans(), int64s, st.floats(), texts, st.datetimes(), object_ids)
nested = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(texts, inner, max_size=3)),
    max_leaves=6,
)
KINDS = [
    st.none(),
    st.booleans(),
    int64s,
    st.floats(),
    edge_floats,
    st.one_of(int64s, st.floats(), edge_floats),
    texts,
    st.datetimes(),
    edge_dates,
    st.datetimes(min_value=datetime(2, 1, 1), max_value=datetime(9998, 1, 1),
                 timezones=st.sampled_from([UTC, timezone(timedelta(hours=-3))])),
    st.datetimes().map(lambda moment: moment.replace(microsecond=moment.microsecond // 1000 * 1000)),
    object_ids,
    st.sampled_from([Int64(5), Decimal128("1.5"), b"x", [1, "a,b"], {"at": datetime(1960, 1, 1)}]),
    nested,
]  # fmt: skip
any_value = st.one_of(*KINDS)
names = st.one_of(
    st.sampled_from([*FIXED_COLUMNS, "extra", "extra_", "=x", "'=x", "'=x_", "a,b", 'q"', "+"]),
    st.text(max_size=3),
)


@st.composite
def readings_lists(draw):
    """Readings whose fields each hold one kind of value (as a batch's usually do) or any, some missing."""
    fields = draw(st.lists(names, max_size=8, unique=True))
    kinds = {name: draw(st.sampled_from([*KINDS, any_value])) for name in fields}
    return [
        {name: draw(kinds[name]) for name in fields if draw(st.integers(0, 5))}
        for _ in range(draw(st.integers(0, 7)))
    ]


def one_row_at_a_time(docs: list[dict]) -> bytes:
    columns = [*FIXED_COLUMNS, *(name for name in docs[0] if name not in FIXED_COLUMNS)] if docs else []
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header(columns or list(FIXED_COLUMNS)))
    for doc in docs:
        extra = {name: value for name, value in doc.items() if name not in columns}
        writer.writerow([*(cell(doc.get(name)) for name in columns), dumps(extra).decode() if extra else ""])
    return out.getvalue().encode()


@pytest.mark.slow
@settings(max_examples=examples(400), deadline=None)
@given(readings_lists())
def test_csv_is_each_value_written_as_cell_writes_it_a_row_at_a_time(docs):
    expected = one_row_at_a_time(docs)
    assert b"".join(csv_lines(docs)) == expected
    with mock.patch.object(export, "ROWS", 2):  # batches of 2 rows, and one left over
        assert b"".join(csv_lines(docs)) == expected
