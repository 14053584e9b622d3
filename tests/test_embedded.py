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


def test_documents_are_copied_one_at_a_time(collection, monkeypatch):
    embedded.make_streaming()
    copies = []
    original = collection._copy_only_fields
    monkeypatch.setattr(collection, "_copy_only_fields", lambda *a: copies.append(1) or original(*a))
    cursor = collection.find({}).sort("n")
    next(cursor)
    next(cursor)
    assert len(copies) == 2  # mongomock's own cursor copies all 10 first


def test_embedded_client_has_the_streaming_cursor():
    embedded.client()
    assert Cursor.__next__ is embedded._next
