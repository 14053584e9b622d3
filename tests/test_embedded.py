"""The embedded store's streaming cursor returns what mongomock's own returns."""

import mongomock
import pytest
from mongomock.collection import Cursor

from flask_rest_service import embedded


@pytest.fixture
def collection():
    collection = mongomock.MongoClient().db.things
    collection.insert_many([{"n": n} for n in range(10)])
    return collection


@pytest.mark.parametrize(
    ("skip", "limit", "expected"),
    [(0, 0, list(range(10))), (3, 0, list(range(3, 10))), (0, 4, [0, 1, 2, 3]), (8, 5, [8, 9]), (12, 0, [])],
)
def test_streaming_cursor_honours_skip_and_limit(collection, skip, limit, expected):
    embedded.make_streaming()
    cursor = collection.find({}, {"_id": 0}).sort("n").skip(skip).limit(limit)
    assert [doc["n"] for doc in cursor] == expected


def test_rewind_starts_again(collection):
    embedded.make_streaming()
    cursor = collection.find({}, {"_id": 0}).sort("n").limit(3)
    assert next(cursor)["n"] == 0
    cursor.rewind()
    assert [doc["n"] for doc in cursor] == [0, 1, 2]


@pytest.mark.parametrize("doc", [{"n": 1, "s": "x"}, {"n": 1, "nested": {"a": [1, 2]}}])
def test_returned_documents_are_copies(doc):
    embedded.make_streaming()
    collection = mongomock.MongoClient().db.things
    collection.insert_one(dict(doc, _id=1))
    first = next(collection.find({}))
    first["n"] = 99
    if "nested" in first:
        first["nested"]["a"].append(3)
    assert collection.find_one({"_id": 1}) == dict(doc, _id=1)


def test_documents_are_copied_a_small_chunk_at_a_time():
    pulled = []
    source = (pulled.append(n) or {"n": n} for n in range(100))
    copies = embedded._copies(source)
    assert next(copies) == {"n": 0}
    assert len(pulled) == 1  # mongomock's own cursor copies all 100 first
    assert [next(copies), next(copies)] == [{"n": 1}, {"n": 2}]
    assert len(pulled) == 3


def test_every_document_without_a_filter(collection):
    embedded.make_streaming()
    assert [doc["n"] for doc in collection.find({})] == list(range(10))
    assert [doc["n"] for doc in collection.find()] == list(range(10))
    assert [doc["n"] for doc in collection.find({"n": {"$gte": 8}})] == [8, 9]


def test_embedded_client_has_the_streaming_cursor():
    embedded.client()
    assert Cursor.__next__ is embedded._next


MIXED = [
    {"k": 3, "t": "b"}, {"k": 1.5, "t": "a"}, {"k": None, "t": "c"}, {"t": "d"},
    {"k": "x", "t": "e"}, {"k": True, "t": "f"}, {"k": 2, "t": "a"},
]  # fmt: skip


@pytest.mark.parametrize(
    "sort",
    [
        [("n", -1)],
        [("n", 1)],
        [("t", 1), ("k", -1)],  # mixed types in k: mongomock's own sort
        [("k", 1)],
        [("d", -1), ("n", 1)],
        [("d", -1), ("n", -1)],  # one sort on (d, n), with ties in d
        [("n", 1), ("d", 1)],
    ],
)
def test_native_sort_orders_as_mongomock_does(sort):
    import datetime as dt

    docs = [{"n": i % 4, "d": dt.datetime(2026, 1, 1 + i % 3), **MIXED[i % len(MIXED)]} for i in range(21)]
    plain = mongomock.MongoClient().db.things
    plain.insert_many([dict(doc, _id=i) for i, doc in enumerate(docs)])
    expected = [doc["_id"] for doc in _original_order(plain, sort)]
    embedded.make_streaming()
    assert [doc["_id"] for doc in plain.find({}).sort(sort)] == expected


def _original_order(collection, sort):
    return list(embedded._original_get_dataset(collection, {}, sort, None, dict))


def test_every_document_in_mongomocks_order_after_changes(collection):
    # Reading the store's dict directly must give its OrderedDict's order.
    embedded.make_streaming()
    collection.delete_many({"n": {"$in": [2, 5]}})
    collection.replace_one({"n": 7}, {"n": 70})
    collection.update_one({"n": 0}, {"$set": {"x": 1}})
    collection.insert_many([{"n": 11}, {"n": 2}])
    expected = [doc["n"] for doc in embedded._original_iter_documents(collection, {})]
    assert [doc["n"] for doc in collection.find({})] == expected == [0, 1, 3, 4, 6, 70, 8, 9, 11, 2]


def test_to_list_reads_the_rest_of_the_cursor(collection):
    embedded.make_streaming()
    cursor = collection.find({}).sort("n").skip(2).limit(5)
    assert next(cursor)["n"] == 2
    assert [doc["n"] for doc in cursor.to_list()] == [3, 4, 5, 6]
    assert collection.find({}).sort("n").to_list(3) == [doc for doc in collection.find({}).sort("n").limit(3)]
    with pytest.raises(ValueError, match="greater than 0"):
        collection.find({}).to_list(0)


def test_every_document_leaves_out_expired_ones():
    # mongomock removes documents past a TTL index when it is read (MongoDB's
    # TTL monitor does it within a minute); reading everything must too.
    import datetime as dt

    embedded.make_streaming()
    collection = mongomock.MongoClient().db.things
    collection.create_index("t", expireAfterSeconds=3600)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    collection.insert_many([{"n": 1, "t": now - dt.timedelta(hours=2)}, {"n": 2, "t": now}])
    assert [doc["n"] for doc in collection.find({})] == [2]
