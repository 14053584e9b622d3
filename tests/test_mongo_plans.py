"""Every query the MongoDB store sends to ``readings`` can be answered from an index.

The real pymongo driver talks to a scripted server (mockupdb), which records
each command; every endpoint that reads, counts or deletes readings is asked,
and each filter the store sent must have one of the forms an index answers
(``indexable``), with the indexes the store makes (``INDEXES``). A query plan
itself cannot be seen without a server: with ``TEST_MONGO_URL`` the same
filters are explained there, and none may scan the collection.

What counts as indexable is MongoDB's documented behaviour: an equality, a
range, ``$in`` and a positive ``$type`` on a field bound an index scan on an
index that leads with that field (``$type`` by its type's bracket); a
predicate MongoDB cannot bound (``$not``, ``$nor``) only filters what the
scan fetched, which is fine beside a bounded field and a scan of the whole
collection on its own. An empty filter with the sort of an index walks that
index. Maintenance (``init-db``'s one look for undated readings and its
recount) scans by design, under its own deadline, and is not asked here.
"""

import pytest
from bson import ObjectId
from conftest import TEST_MONGO_URL, close_app, make_app
from mongo_wire import Wire

from flask_rest_service.stores.mongodb.readings import INDEXES

BOUNDING = {"$eq", "$gt", "$gte", "$lt", "$lte", "$in", "$type"}
# Checked on each document the scan fetched; never what bounds the scan.
RESIDUAL = [{"$type": "array"}]
LEADING = {keys[0][0] for keys, _ in INDEXES} | {"_id"}
SORTS = [[field for field, _ in keys] for keys, _ in INDEXES]

REQUESTS = [
    "/readings/",
    "/readings/?sensor=k",
    "/readings/?type=t",
    "/readings/?sensor=k&type=t",
    "/readings/?since=2026-01-01T00:00:00Z&until=2026-02-01T00:00:00Z",
    "/readings/?sensor=k&since=2026-01-01T00:00:00Z",
    "/readings/export",
    "/readings/export?sensor=k",
    "/readings/export?type=t&since=2026-01-01T00:00:00Z",
    "/readings/stats?sensor=k&interval=1h&since=2026-01-01T00:00:00Z&until=2026-01-02T00:00:00Z",
    "/sensors/",
    "/sensors/?prefix=k",
    "/sensors/overview",
    "/sensors/k/latest",
    f"/readings/{ObjectId()}",
]


def bounded(value) -> bool:
    """Whether a field's predicate bounds an index scan on that field."""
    if not isinstance(value, dict) or not any(key.startswith("$") for key in value):
        return True  # a literal: equality
    operators = set(value) - {"$not"}
    return bool(operators) and operators <= BOUNDING and value.get("$not", RESIDUAL[0]) in RESIDUAL


def indexable(query: dict, sort: list[str] | None = None) -> bool:
    """Whether an index bounds the scan for ``query`` (or walks in ``sort``'s order for an empty one)."""
    fields = {key for key, value in query.items() if not key.startswith("$") and bounded(value)}
    if fields & LEADING:
        return True
    if any(key.startswith("$") for key in query) or fields != set(query):
        return False  # only filters: a scan of the collection
    return not query and sort in SORTS


def sent_filters(wire: Wire) -> list[tuple[dict, list[str] | None]]:
    """Each filter sent to ``readings`` (with its sort's fields, for a find)."""
    sent = []
    for name, doc in wire.received:
        if doc.get(name) != "readings":
            continue
        if name == "find":
            sent.append((doc.get("filter", {}), list(doc.get("sort", {})) or None))
        elif name == "aggregate":
            match = next((stage["$match"] for stage in doc["pipeline"] if "$match" in stage), {})
            sent.append((match, None))
        elif name in ("delete", "update"):
            sent += [(item["q"], None) for item in doc[name + "s"]]
        elif name == "findAndModify":
            sent.append((doc["query"], None))
        elif name == "count":
            sent.append((doc.get("query", {}), None))
    return sent


@pytest.mark.parametrize(
    ("query", "sort", "expected"),
    [
        ({"sensor": {"$eq": "k", "$not": {"$type": "array"}}}, None, True),
        ({"timestamp": {"$type": "date", "$gte": 1, "$not": {"$type": "array"}}, "$or": [{}]}, None, True),
        ({"type": {"$eq": "t", "$not": {"$type": "array"}}}, None, True),
        ({"_id": {"$in": [1]}}, None, True),
        ({}, ["timestamp", "_id"], True),
        ({}, ["_id"], False),
        ({"$nor": [{"timestamp": {"$type": "date"}}]}, ["_id"], False),
        ({"value": 1}, None, False),
        ({"timestamp": {"$not": {"$type": "date"}}}, None, False),
        ({"sensor": {"$regex": "^k"}}, None, False),
    ],
)
def test_the_forms_an_index_answers(query, sort, expected):
    assert indexable(query, sort) is expected


@pytest.fixture
def wire():
    server = Wire()
    # A collection known to hold no undated reading (init-db looked): the
    # undated phase, whose filter no index serves, is not asked for.
    server.replies["find", "service"] = lambda request: {
        "ok": 1,
        "cursor": {"id": 0, "ns": "rest.service", "firstBatch": [{"_id": "undated", "exist": False}]},
    }
    yield server
    server.stop()


@pytest.mark.e2e
def test_every_query_on_readings_is_index_backed(wire):
    app = make_app({"MONGO_URI": f"{wire.uri}/rest"}, CREATE_INDEXES=False, RATE_LIMIT=None)
    client = app.test_client()
    for url in REQUESTS:
        assert client.get(url).status_code in (200, 404), url
    assert client.delete("/readings/?until=2026-01-01T00:00:00Z").status_code == 200
    assert client.patch(f"/readings/{ObjectId()}", json={"value": 2}).status_code == 404
    sent = sent_filters(wire)
    assert len(sent) >= len(REQUESTS)
    assert [(query, sort) for query, sort in sent if not indexable(query, sort)] == []
    close_app(app)


@pytest.mark.skipif(not TEST_MONGO_URL, reason="needs a MongoDB server: TEST_MONGO_URL")
def test_no_query_on_readings_scans_the_collection_on_a_real_server(wire):
    # The same filters, explained by the server after init-db made its indexes.
    from conftest import store_settings

    recorder = make_app({"MONGO_URI": f"{wire.uri}/rest"}, CREATE_INDEXES=False, RATE_LIMIT=None)
    for url in REQUESTS:
        recorder.test_client().get(url)
    sent = sent_filters(wire)
    close_app(recorder)
    app = make_app(store_settings("mongodb", None))
    db = app.extensions["store"].db
    for query, sort in sent:
        command = {"find": "readings", "filter": query, "limit": 101}
        if sort:
            command["sort"] = {field: -1 for field in sort}
        plan = db.command("explain", command, verbosity="queryPlanner")["queryPlanner"]["winningPlan"]
        assert "COLLSCAN" not in str(plan), (query, plan)
    close_app(app)
