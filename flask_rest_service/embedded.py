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

mongomock also sorts through a Python comparison object on every compare.
When every value of a sort key has one natively comparable type (dates,
ObjectIds, strings, booleans, or numbers), Python's order is BSON's order, so
``_get_dataset`` below sorts with ``itemgetter``; anything else (a missing
field, mixed types, a dotted key) takes mongomock's own sort. And a document
whose values are all immutable is copied with ``dict(doc)`` rather than
mongomock's field-by-field deep copy.
"""

from datetime import datetime
from itertools import islice
from operator import itemgetter

import mongomock
from bson import ObjectId
from mongomock.collection import Collection, Cursor

_original_rewind = Cursor.rewind
_original_get_dataset = Collection._get_dataset
_ONE_TYPE = frozenset({datetime, ObjectId, str, bool})
_NUMBERS = frozenset({int, float})
_IMMUTABLE = frozenset({str, int, float, bool, type(None), datetime, ObjectId})


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


def _natively_ordered(docs: list, key: str) -> bool:
    kinds = {doc[key].__class__ if key in doc else None for doc in docs}
    return kinds <= _NUMBERS or (len(kinds) == 1 and kinds <= _ONE_TYPE)


def _get_dataset(self, spec, sort, fields, as_class):
    keys = list(sort.items() if isinstance(sort, dict) else sort or ())
    if any(not isinstance(key, str) or "." in key or key.startswith("$") for key, _ in keys):
        return _original_get_dataset(self, spec, sort, fields, as_class)
    docs = self._iter_documents(spec)
    if keys:
        docs = list(docs)
        for key, direction in reversed(keys):  # stable sorts, last key first, as mongomock does
            if not _natively_ordered(docs, key):
                return _original_get_dataset(self, spec, sort, fields, as_class)
            docs.sort(key=itemgetter(key), reverse=direction < 0)
    return (_copy(self, doc, fields, as_class) for doc in docs)


def _copy(collection, doc, fields, as_class):
    # A document of immutable values is copied whole by a shallow copy, at C
    # speed; anything else, or a projection, takes mongomock's own deep copy.
    if fields is None and as_class is dict and _IMMUTABLE.issuperset(map(type, doc.values())):
        return dict(doc)
    return collection._copy_only_fields(doc, fields, as_class)


def make_streaming() -> None:
    """Give mongomock's cursor the streaming ``__next__`` and native sort (idempotent)."""
    Cursor.__next__ = Cursor.next = _next
    Cursor.rewind = _rewind
    Collection._get_dataset = _get_dataset


def is_embedded(client) -> bool:
    """Whether a client is the embedded store rather than a MongoDB server."""
    return isinstance(client, mongomock.MongoClient)


def client() -> mongomock.MongoClient:
    """Return a new, empty embedded store."""
    make_streaming()
    return mongomock.MongoClient()
