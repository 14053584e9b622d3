"""Property-based tests: arbitrary input never gives a 500 or stores anything refused.

Hypothesis throws arbitrary JSON bodies, form fields, headers and query
strings at every endpoint. For each answer: never a 5xx; every error is
problem+json with the shape; a refused request stored nothing.
"""

import json
import string

import pytest
from conftest import STORES, module_app
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

OID = "65f0000000000000000000aa"
PATHS = [
    "/", "/readings/", f"/readings/{OID}", "/readings/stats", "/readings/export", "/sensors/",
    "/sensors/k/latest", "/nope",
]  # fmt: skip
METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE"]

keys = st.one_of(
    st.text(max_size=8),
    st.sampled_from(["_id", "sensor", "type", "value", "timestamp", "$date", "$oid", "$gt", "a.b"]),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["2026-03-01T10:00:00Z", "1772359200", OID, "", "nan"]),
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(st.lists(children, max_size=4), st.dictionaries(keys, children, max_size=4)),
    max_leaves=12,
)
param_values = st.one_of(
    st.text(max_size=12), st.sampled_from(["0", "-1", "5m", "1h", "abc", "2026-03-01", "csv", "true"])
)
params = st.dictionaries(
    st.sampled_from(
        [
            "sensor",
            "type",
            "since",
            "until",
            "limit",
            "cursor",
            "interval",
            "field",
            "fill",
            "format",
            "partial",
            "x",
        ]
    ),
    param_values,
    max_size=4,
)
HEADER_TEXT = "".join(c for c in string.printable if c not in "\r\n\x0b\x0c")
header_values = st.text(alphabet=HEADER_TEXT, max_size=20)
headers = st.dictionaries(
    st.sampled_from(["X-API-Key", "Authorization", "Content-Encoding", "Accept", "X-Forwarded-For"]),
    header_values,
    max_size=2,
)


@pytest.fixture(scope="module", params=STORES)
def app(request):
    return module_app(request.param, RATE_LIMIT=None)


def check(app, response, count_before):
    readings = app.extensions["store"].readings
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.mimetype == "application/problem+json"
        body = response.json
        assert set(body) >= {"type", "title", "status", "detail"}
        assert body["status"] == response.status_code
        assert readings.count() == count_before


def call(app, method, path, query, header, **body):
    readings = app.extensions["store"].readings
    before = readings.count()
    response = app.test_client().open(path, method=method, query_string=query, headers=header, **body)
    check(app, response, before)


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FAST
@given(
    method=st.sampled_from(METHODS),
    path=st.sampled_from(PATHS),
    body=json_values,
    query=params,
    header=headers,
)
def test_json_bodies(app, method, path, body, query, header):
    header = {**header, "Content-Type": "application/json"}
    call(app, method, path, query, header, data=json.dumps(body))


@FAST
@given(
    reading=st.one_of(json_values, st.text(max_size=30)),
    extra=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
def test_form_fields(app, reading, extra):
    value = reading if isinstance(reading, str) else json.dumps(reading)
    call(app, "POST", "/readings/", {}, {}, data={"reading": value, **extra})


@FAST
@given(
    path=st.sampled_from(PATHS),
    query=params,
    header=headers,
    raw=st.binary(max_size=64),
    content_type=header_values,
)
def test_raw_bodies_and_content_types(app, path, query, header, raw, content_type):
    call(app, "POST", path, query, {**header, "Content-Type": content_type}, data=raw)


@FAST
@given(path=st.sampled_from(PATHS), query=st.text(max_size=40))
def test_raw_query_strings(app, path, query):
    call(app, "GET", path, query, {})
