"""The embedded store: mongomock, in this process, with a linear cursor.

mongomock 4.3's ``Cursor.__next__`` copies the rest of its result list on
every call (``self._results[self._skip:]``), so reading n documents costs
O(n^2): exporting 200k readings took 110 s. ``_next`` below returns the same
documents in the same order, skip and limit included, in O(1) a call.
"""

import mongomock
from mongomock.collection import Cursor


def _next(self):
    results = self._compute_results()
    position = self._skip + self._emitted
    if (self._limit and self._emitted >= abs(self._limit)) or position >= len(results):
        raise StopIteration
    self._emitted += 1
    return results[position]


def make_linear() -> None:
    """Give mongomock's cursor the linear ``__next__`` (idempotent)."""
    Cursor.__next__ = Cursor.next = _next


def is_embedded(client) -> bool:
    """Whether a client is the embedded store rather than a MongoDB server."""
    return isinstance(client, mongomock.MongoClient)


def client() -> mongomock.MongoClient:
    """Return a new, empty embedded store."""
    make_linear()
    return mongomock.MongoClient()
