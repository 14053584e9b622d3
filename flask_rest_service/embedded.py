"""The embedded store: mongomock, in this process, with a streaming cursor.

mongomock 4.3's cursor builds a list of copies of every matching document
before returning the first, and then copies the rest of that list on every
``next()`` (``self._results[self._skip:]``): reading n documents cost O(n^2)
time (200k readings: 110 s) and a copy of all of them in memory. Its
``_get_dataset`` is already a generator that copies one document at a time
(after sorting references), so ``_next`` below reads from it directly, with
skip and limit applied by ``islice``: the same documents in the same order,
in O(1) time and memory a call. The embedded client is not tz_aware, so the
conversion ``_compute_results`` would do is not needed.
"""

from itertools import islice

import mongomock
from mongomock.collection import Cursor

_original_rewind = Cursor.rewind


def _next(self):
    stream = self.__dict__.get("_stream")
    if stream is None:
        stop = self._skip + abs(self._limit) if self._limit else None
        stream = self._stream = islice(self._factory(), self._skip, stop)
    document = next(stream)  # StopIteration ends the iteration
    self._emitted += 1
    return document


def _rewind(self):
    self.__dict__.pop("_stream", None)
    return _original_rewind(self)


def make_streaming() -> None:
    """Give mongomock's cursor the streaming ``__next__`` (idempotent)."""
    Cursor.__next__ = Cursor.next = _next
    Cursor.rewind = _rewind


def is_embedded(client) -> bool:
    """Whether a client is the embedded store rather than a MongoDB server."""
    return isinstance(client, mongomock.MongoClient)


def client() -> mongomock.MongoClient:
    """Return a new, empty embedded store."""
    make_streaming()
    return mongomock.MongoClient()
