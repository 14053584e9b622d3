"""The embedded store: mongomock, in this process, with a streaming cursor.

mongomock 4.3's cursor builds a list of copies of every matching document
before returning the first, and then copies the rest of that list on every
``next()`` (``self._results[self._skip:]``): reading n documents cost O(n^2)
time (200k readings: 110 s) and a copy of all of them in memory. Its
``_get_dataset`` is already a generator that copies one document at a time
(after sorting references), so ``_next`` below reads from it directly, with
skip and limit applied by ``islice``: the same documents in the same order,
in O(1) time and memory a call; ``to_list`` (pymongo 4.9+) reads the rest in
one call. The embedded client is not tz_aware, so the conversion
``_compute_results`` would do is not needed.

mongomock also sorts through a Python comparison object on every compare.
When every value of a sort key has one natively comparable type (dates,
ObjectIds, strings, booleans, or numbers), Python's order is BSON's order, so
``_get_dataset`` below sorts with ``itemgetter``; anything else (a missing
field, mixed types, a dotted key) takes mongomock's own sort. A query with no
filter reads the store without calling the filter for every document. And
documents whose values are all immutable are copied with ``dict(doc)``, a
chunk at a time, rather than by mongomock's field-by-field deep copy.
"""

from datetime import datetime
from itertools import chain, islice, repeat
from operator import itemgetter

import mongomock
from bson import ObjectId
from mongomock.collection import Collection, Cursor
from mongomock.collection import _copy_field as _deep_copy

_original_rewind = Cursor.rewind
_original_get_dataset = Collection._get_dataset
_original_iter_documents = Collection._iter_documents
_ONE_TYPE = frozenset({datetime, ObjectId, str, bool})
_NUMBERS = frozenset({int, float})
_IMMUTABLE = frozenset({str, int, float, bool, type(None), datetime, ObjectId})


def _stream(self):
    stream = self.__dict__.get("_stream")
    if stream is None:
        stop = self._skip + abs(self._limit) if self._limit else None
        stream = self._stream = islice(self._factory(), self._skip, stop)
    return stream


def _next(self):
    document = next(_stream(self))  # StopIteration ends the iteration
    self._emitted += 1
    return document


def _to_list(self, length=None):
    # pymongo's Cursor.to_list (4.9+), which mongomock 4.3 lacks: the rest of
    # the stream in one C-level call rather than a Python call per document.
    if isinstance(length, int) and length < 1:
        raise ValueError("to_list() length must be greater than 0")
    documents = list(islice(_stream(self), length))
    self._emitted += len(documents)
    return documents


def _rewind(self):
    self.__dict__.pop("_stream", None)
    return _original_rewind(self)


def _natively_ordered(docs: list, key: str) -> bool:
    try:
        kinds = set(map(type, map(itemgetter(key), docs)))
    except KeyError:  # a document without the field: mongomock's order for missing values
        return False
    return kinds <= _NUMBERS or (len(kinds) == 1 and kinds <= _ONE_TYPE)


def _iter_documents(self, spec):
    if spec:
        return _original_iter_documents(self, spec)
    # Every document: no filter call for each. The store is an OrderedDict
    # that is never reordered, so the dict's own order is the same, and
    # reading it that way does not hash every _id (a Python call for an
    # ObjectId) as OrderedDict's iterator does.
    store = self._store
    store._remove_expired_documents()
    with store._rwlock.reader():
        return iter(list(dict.values(store._documents)))


def _get_dataset(self, spec, sort, fields, as_class):
    keys = list(sort.items() if isinstance(sort, dict) else sort or ())
    if any(not isinstance(key, str) or "." in key or key.startswith("$") for key, _ in keys):
        return _original_get_dataset(self, spec, sort, fields, as_class)
    docs = self._iter_documents(spec)
    if keys:
        docs = list(docs)
        names = [key for key, _ in keys]
        if not all(_natively_ordered(docs, key) for key in names):
            return _original_get_dataset(self, spec, sort, fields, as_class)
        if len({direction < 0 for _, direction in keys}) == 1:  # one sort on a tuple of the keys
            docs.sort(key=itemgetter(*names), reverse=keys[0][1] < 0)
        else:  # stable sorts, last key first, as mongomock does
            for key, direction in reversed(keys):
                docs.sort(key=itemgetter(key), reverse=direction < 0)
    if fields is None and as_class is dict:
        return _copies(docs)
    return (self._copy_only_fields(doc, fields, as_class) for doc in docs)  # a projection


def _copies(docs):
    """Copy documents a chunk at a time: a chunk of immutable values by shallow copies.

    A chunk with anything else takes mongomock's field-by-field deep copy.
    Chunks start small, so that reading one document copies no other, and are
    chained at C level: no Python call per document.
    """
    return chain.from_iterable(map(_copy_chunk, _chunks(iter(docs))))


def _chunks(docs):
    # 1, 2, 4, ...: never more than twice what was read. The documents can
    # come from a filter, so pulling ahead can mean scanning ahead: find_one
    # must stop at its first match.
    size = 1
    while chunk := list(islice(docs, size)):
        yield chunk
        size = min(size * 2, 1024)


def _copy_chunk(chunk: list) -> list:
    if _IMMUTABLE.issuperset(map(type, chain.from_iterable(map(dict.values, chunk)))):
        return list(map(dict, chunk))
    return list(map(_deep_copy, chunk, repeat(dict)))


def make_streaming() -> None:
    """Give mongomock's cursor the streaming ``__next__`` and native sort (idempotent)."""
    Cursor.__next__ = Cursor.next = _next
    Cursor.to_list = _to_list
    Cursor.rewind = _rewind
    Collection._get_dataset = _get_dataset
    Collection._iter_documents = _iter_documents


def is_embedded(client) -> bool:
    """Whether a client is the embedded store rather than a MongoDB server."""
    return isinstance(client, mongomock.MongoClient)


def client() -> mongomock.MongoClient:
    """Return a new, empty embedded store."""
    make_streaming()
    return mongomock.MongoClient()
