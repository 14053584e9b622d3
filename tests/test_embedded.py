"""The embedded store's linear cursor returns what mongomock's own returns."""

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
def test_linear_cursor_honours_skip_and_limit(collection, skip, limit, expected):
    embedded.make_linear()
    cursor = collection.find({}, {"_id": 0}).sort("n").skip(skip).limit(limit)
    assert [doc["n"] for doc in cursor] == expected


def test_embedded_client_has_the_linear_cursor():
    embedded.client()
    assert Cursor.__next__ is embedded._next
