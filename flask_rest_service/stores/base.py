"""The store contract: what the service asks of a database, whichever engine answers.

Two engines implement it, one module each: ``sqlite`` (the default, a file on
this machine) and ``mongodb`` (Atlas, Heroku, anyone past one machine). The
resources, the CLI and the jobs see only what is here. The same API tests run
on every engine (``tests/conftest.py``); what one engine does of its own is
tested beside it.

Order. Readings are kept in one total order, the same on every engine:
readings without a date ``timestamp`` (the 2014 tutorial stored
``{"reading": ...}`` documents with none) come first, by ``_id``; then every
dated reading, by ``(timestamp, _id)``. The list walks it newest first, the
export oldest first, both by keyset (``Position``), never by skip. Engines
answer two kinds of slice, ``_dated`` and ``_undated``; walking from one to
the other is done here, once.
"""

import math
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId

from ..bsonvalues import INT64_MAX, INT64_MIN, from_millis
from .alerts import Alerts

STATISTICS = ("count", "min", "max", "avg", "sum", "first", "last")
EXPORT_BATCH = 1000  # readings per query of an export: no cursor outlives a batch
# Bytes of readings (as stored) per query of an export, whatever their size:
# what an export holds in memory at a time (bench/page_memory.py).
EXPORT_BATCH_BYTES = 1024 * 1024
EXPORT_RETRIES = 3  # tries of a batch after the first, once the file has started
DELETE_BATCH = 5000  # readings per transaction of a bulk delete or of retention


@dataclass(frozen=True)
class Filters:
    """Which readings: the filters the list, export, stats and delete share."""

    sensor: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


@dataclass(frozen=True)
class Position:
    """A place in the readings' order: a reading's date (None if it has none) and id."""

    timestamp: datetime | None
    id: ObjectId

    @classmethod
    def of(cls, doc: dict) -> "Position":
        """Return the position of a stored reading."""
        timestamp = doc.get("timestamp")
        return cls(timestamp if isinstance(timestamp, datetime) else None, doc["_id"])


EVERYTHING = Filters()


class Budget:
    """The bytes (as stored) a slice may still read, so that its memory is bounded by bytes, not only count.

    An engine calls ``take`` with each reading's size, in order, and stops
    when it says so: after one reading past the budget (a look ahead, so
    the caller knows more follow without another query). The first
    ``kept`` readings are those within it: always at least one.
    """

    def __init__(self, size: int | None = None):
        self.left = math.inf if size is None else size
        self.kept = 0

    def take(self, size: int) -> bool:
        """Count one reading read; return whether to stop reading after it."""
        if self.left <= 0:
            return True
        self.left -= size
        self.kept += 1
        return False


@dataclass(frozen=True)
class ListQuery:
    """A validated ``GET /readings/`` query."""

    filters: Filters = EVERYTHING
    limit: int = 100
    after: Position | None = None


@dataclass(frozen=True)
class StatsQuery:
    """A validated ``GET /readings/stats`` query."""

    filters: Filters
    field: str
    interval: str
    interval_ms: int
    fill: str


class StoreUnavailable(Exception):
    """The database cannot be reached, or did not confirm a write: answer 503, try again later."""

    def __init__(self, detail: str = "the database cannot be reached; try again shortly", why: str = ""):
        super().__init__(detail)
        self.detail = detail  # for the client
        self.why = why  # for the log

    def reason(self) -> str:
        """What went wrong, for the log: what the engine said, else the driver's error class."""
        if self.why:
            return self.why
        return type(self.__cause__).__name__ if self.__cause__ is not None else self.detail


class DuplicateName(ValueError):
    """A record with this name exists already."""


class Conflict(ValueError):
    """Readings whose ``_id`` (chosen by the client) is stored already with other content."""

    def __init__(self, ids: list):
        super().__init__(", ".join(map(str, ids)))
        self.ids = ids


def resent(stored: dict, sent: dict) -> bool:
    """Whether ``sent`` is a resend of ``stored``: the same fields with the same values.

    The timestamp is not compared: a device that lets the service time its
    readings is given a new one each time it sends the same reading.
    """
    return {k: v for k, v in stored.items() if k != "timestamp"} == {
        k: v for k, v in sent.items() if k != "timestamp"
    }


def patched(doc: dict, changes: dict, removals: Iterable[str]) -> dict:
    """Return ``doc`` after ``$set: changes`` and ``$unset: removals``, in MongoDB's field order.

    A field that exists keeps its place; new fields are appended in the order
    MongoDB 5.0+ processes them: string names lexicographically, numeric names
    numerically ("update operators process document fields with string-based
    names in lexicographic order. Fields with numeric names are processed in
    numeric order"; how the two kinds interleave is not documented: numeric
    first here). mongomock appends in the order given.
    """
    result = {key: changes.get(key, value) for key, value in doc.items() if key not in removals}
    new = sorted((key for key in changes if key not in doc), key=_update_order)
    result.update((key, changes[key]) for key in new)
    return result


def _update_order(name: str) -> tuple:
    return (0, int(name), name) if name.isdigit() else (1, 0, name)


def sum_as_mongodb(total):
    """A sum of integers past 64 bits becomes a double, as MongoDB's ``$sum`` does."""
    if total.__class__ is int and not INT64_MIN <= total <= INT64_MAX:
        return float(total)
    return total


def buckets(rows: Iterable[tuple[int, object]], step_ms: int) -> list[dict]:
    """Aggregate ``(epoch ms, number)`` rows in time order into epoch-aligned buckets.

    What the MongoDB engine's pipeline computes on the server: count, min,
    max, avg, sum, and the first and last values by time, in constant memory
    a bucket. Integers are summed exactly, and a sum of integers past 64 bits
    becomes a double (as ``$sum`` does); doubles are summed with Neumaier's
    compensation, close to MongoDB's double-double summation (Python 3.11's
    own ``sum`` is not compensated, 3.12's is). A bucket whose running sum
    leaves a double's range (1.7e308 + 1.7e308 - 1.7e308) goes on exactly
    (``_scaled``), so its sum and avg are the true ones rounded; a true sum
    itself past that range has no double: it is None, and the avg is still given.
    """
    groups: dict[int, _Bucket] = {}
    for ms, value in rows:
        start = ms - ms % step_ms  # Python's % floors, before 1970 too
        group = groups.get(start)
        if group is None:
            groups[start] = _Bucket(value)
        else:
            group.add(value)
    return [group.result(from_millis(start)) for start, group in sorted(groups.items())]


# Every finite double is a whole multiple of 2**-1074 (the smallest subnormal):
# scaled by 2**1074, a sum of doubles is an exact integer.
SCALE = 2**1074


def _scaled(value: float) -> int:
    numerator, denominator = value.as_integer_ratio()  # the denominator: a power of two
    return numerator * (SCALE // denominator)


def _rounded(numerator: int, denominator: int) -> float | None:
    """The double nearest a ratio of integers (Python rounds int / int correctly); None past the range."""
    try:
        return numerator / denominator
    except OverflowError:
        return None


class _Bucket:
    __slots__ = ("count", "min", "max", "ints", "floats", "compensation", "exact", "doubles", "first", "last")

    def __init__(self, value):
        self.count, self.min, self.max, self.first = 0, value, value, value
        self.ints, self.floats, self.compensation, self.doubles = 0, 0.0, 0.0, False
        self.exact = None  # the doubles' sum scaled by SCALE, once the running sum has overflowed
        self.add(value)

    def add(self, value) -> None:
        self.count += 1
        self.last = value
        if value < self.min:
            self.min = value
        elif value > self.max:
            self.max = value
        if value.__class__ is int:
            self.ints += value
            return
        self.doubles = True
        if self.exact is not None:
            self.exact += _scaled(value)
            return
        total = self.floats + value
        if math.isinf(total):  # finite values, out of range on the way: exact from here on
            self.exact = _scaled(self.floats) + _scaled(self.compensation) + _scaled(value)
            return
        if abs(self.floats) >= abs(value):
            self.compensation += (self.floats - total) + value
        else:
            self.compensation += (value - total) + self.floats
        self.floats = total

    def result(self, start: datetime) -> dict:
        if not self.doubles:
            total, average = sum_as_mongodb(self.ints), self.ints / self.count
        else:
            exact = self.exact
            total = self.ints + (self.floats + self.compensation) if exact is None else math.inf
            if math.isfinite(total):
                average = total / self.count
            else:  # the last rounding, or the exact sum, is out of range
                if exact is None:
                    exact = _scaled(self.floats) + _scaled(self.compensation)
                exact += self.ints * SCALE
                total, average = _rounded(exact, SCALE), _rounded(exact, SCALE * self.count)
        return {
            "start": start,
            "count": self.count,
            "min": self.min,
            "max": self.max,
            "avg": average,
            "sum": total,
            "first": self.first,
            "last": self.last,
        }


def prefix_range(prefix: str, after: str | None = None) -> tuple[str | None, bool, str | None]:
    """The names that start with ``prefix`` and sort after ``after``, as a key range.

    Return ``(low, inclusive, high)``: names ``>= low`` (``> low`` if not
    inclusive) and ``< high`` (None: no bound). Both engines compare names
    by their UTF-8 bytes, which is code point order, so the names starting
    with ``prefix`` are those from it up to its successor: the prefix with
    its last character one code point on (a character with no next one is
    dropped, and the one before it moved on instead).
    """
    high = None
    rest = prefix
    while rest:
        point = ord(rest[-1]) + 1
        if 0xD800 <= point <= 0xDFFF:  # surrogates are not characters: on past them
            point = 0xE000
        if point <= 0x10FFFF:
            high = rest[:-1] + chr(point)
            break
        rest = rest[:-1]
    if after is not None and after >= prefix:
        return after, False, high
    return (prefix or None), True, high


def field_value(doc: dict, path: str):
    """The value at a dotted path through objects (not arrays), as ``$field.path`` reads it."""
    value = doc
    for part in path.split("."):
        if not isinstance(value, dict):
            return None  # an array on the way gives an array, never a number
        value = value.get(part)
    return value


class Readings(ABC):
    """The readings of one database."""

    # --- what each engine writes ---------------------------------------------

    @abstractmethod
    def insert(self, readings: list[dict]) -> list[tuple[dict, bool]]:
        """Store readings; return each stored document and whether it is new.

        A reading without ``_id`` gets a new ObjectId (``ids.new``), drawn
        again should it meet a stored one. One whose ``_id`` the client chose
        and is stored already is not stored again: if it is a resend
        (``resent``) the stored one is returned with ``False``, so device
        retries are safe; if not, ``Conflict`` names every such id and
        nothing of the batch is stored.
        """

    @abstractmethod
    def get(self, oid: ObjectId) -> dict | None:
        """Return one reading, or None."""

    @abstractmethod
    def replace(self, oid: ObjectId, reading: dict) -> dict | None:
        """Replace a reading's fields, keeping its id; None if there is none."""

    @abstractmethod
    def update(self, oid: ObjectId, changes: dict, removals: list[str]) -> dict | None:
        """Set and remove top-level fields (MongoDB's order, ``patched``); None if no such reading."""

    @abstractmethod
    def delete(self, oid: ObjectId) -> bool:
        """Delete one reading; return whether it existed."""

    @abstractmethod
    def delete_matching(self, filters: Filters) -> int:
        """Delete the matching readings, in batches of ``DELETE_BATCH``; return how many."""

    @abstractmethod
    def count(self, filters: Filters = EVERYTHING) -> int:
        """Count the matching readings."""

    @abstractmethod
    def stats(self, query: StatsQuery) -> list[dict]:
        """Return the non-empty buckets of ``query.field``, oldest first (``buckets``' shape)."""

    @abstractmethod
    def sensors(self, after: str | None = None, limit: int | None = None, prefix: str = "") -> list[dict]:
        """The sensors by name: count, first and last dates (None if undated), latest reading,
        and ``reported``: when it last sent a reading, by the server's clock (None if not known).

        Up to ``limit`` of them (all if None), those named after ``after``
        (keyset, by the name's code points), whose name starts with
        ``prefix``: a range of the summary's key (``prefix_range``), never a
        scan of the readings. Without counting readings: the count is kept
        up to date by every write.
        """

    @abstractmethod
    def _dated(
        self,
        filters: Filters,
        after: Position | None,
        limit: int,
        descending: bool,
        budget: Budget | None = None,
    ) -> list[dict]:
        """Up to ``limit`` dated readings past ``after`` by ``(timestamp, _id)``.

        With a ``budget``, read a bounded number of bytes at a time and stop
        where ``Budget.take`` says.
        """

    @abstractmethod
    def _undated(
        self,
        filters: Filters,
        after: ObjectId | None,
        limit: int,
        descending: bool,
        budget: Budget | None = None,
    ) -> list[dict]:
        """Up to ``limit`` readings without a date timestamp past ``after`` by ``_id`` (``budget``: see
        ``_dated``)."""

    # --- the same on every engine ----------------------------------------------

    def slice(
        self,
        filters: Filters,
        after: Position | None,
        limit: int,
        descending: bool,
        budget: Budget | None = None,
    ) -> list[dict]:
        """Up to ``limit`` readings past ``after`` in the readings' order (or its reverse).

        ``budget``: see ``_dated``.
        """
        timed = filters.since is not None or filters.until is not None  # a time range: dated only
        phases = ["dated"] if timed else ["dated", "undated"] if descending else ["undated", "dated"]
        if after is not None:
            start = "dated" if after.timestamp is not None else "undated"
            phases = phases[phases.index(start) :] if start in phases else []
        found: list[dict] = []
        for phase in phases:
            here = after if after is not None and phase == phases[0] else None
            wanted = limit - len(found)
            if phase == "dated":
                found += self._dated(filters, here, wanted, descending, budget)
            else:
                found += self._undated(filters, here.id if here else None, wanted, descending, budget)
            if len(found) >= limit or budget is not None and len(found) > budget.kept:
                break
        return found

    def bounded(
        self, filters: Filters, after: Position | None, limit: int, descending: bool, max_bytes: int | None
    ) -> tuple[list[dict], bool]:
        """Up to ``limit`` readings past ``after``, fewer once they reach ``max_bytes`` as stored
        (always one at least); and whether more follow."""
        budget = Budget(max_bytes)
        found = self.slice(filters, after, limit + 1, descending, budget)
        kept = min(limit, budget.kept)
        return found[:kept], len(found) > kept

    def page(self, query: ListQuery, max_bytes: int | None = None) -> tuple[list[dict], bool]:
        """Return a page of readings, newest first, after the cursor, and whether more follow.

        At most ``limit`` readings, and fewer where they reach ``max_bytes``
        (as stored): the page then ends early, and the next goes on from
        its last reading.
        """
        return self.bounded(query.filters, query.after, query.limit, True, max_bytes)

    def latest(self, sensor: str, type: str | None = None) -> dict | None:
        """Return the newest reading of a sensor (of a type), or None."""
        found = self.slice(Filters(sensor, type), None, 1, descending=True)
        return found[0] if found else None

    def export(self, filters: Filters) -> Iterator[dict]:
        """Yield every matching reading, oldest first (``export_batches``, one by one)."""
        for batch in self.export_batches(filters):
            yield from batch

    def export_batches(self, filters: Filters) -> Iterator[list[dict]]:
        """Yield every matching reading, oldest first, a keyset batch (one short query) at a time.

        A batch holds at most ``EXPORT_BATCH`` readings, and ends early
        once they reach ``EXPORT_BATCH_BYTES`` as stored (one reading at
        least): an export's memory is bounded whatever the readings' size. No query stays open between
        batches, so a slow reader holds no server cursor (MongoDB drops idle
        ones after 10 minutes) and no SQLite read transaction (which would
        hold back its WAL checkpoints).
        """
        after = None
        while True:
            if after is None:  # before the first byte: an outage is still a 503
                batch, more = self._export_batch(filters, after)
            else:  # the file has started: a transient fault (a lost cursor, a step-down) is waited out
                batch, more = _retried(lambda at=after: self._export_batch(filters, at))
            if batch:
                yield batch
            if not more:
                return
            after = Position.of(batch[-1])
            del batch  # not held while the next one is read

    def _export_batch(self, filters: Filters, after: Position | None) -> tuple[list[dict], bool]:
        return self.bounded(filters, after, EXPORT_BATCH, False, EXPORT_BATCH_BYTES)


def _retried(read: Callable[[], tuple]) -> tuple:
    """Read again after an outage, a second longer each time; the last outage is raised."""
    for attempt in range(1, EXPORT_RETRIES + 1):
        try:
            return read()
        except StoreUnavailable:
            if attempt == EXPORT_RETRIES:
                raise
            time.sleep(attempt)
    raise AssertionError("unreachable")


class Keys(ABC):
    """The stored API keys: records of name, scope, SHA-256 hash, created and last used."""

    @abstractmethod
    def add(self, record: dict) -> None:
        """Store a key record; ``DuplicateName`` if the name is taken."""

    @abstractmethod
    def find(self, hashed: str) -> dict | None:
        """Return the record with this hash, or None."""

    @abstractmethod
    def records(self) -> list[dict]:
        """Every record by name, whole (for copying to another store)."""

    @abstractmethod
    def list(self) -> list[dict]:
        """Every record by name, without the hash."""

    @abstractmethod
    def revoke(self, name: str) -> bool:
        """Delete a record by name; return whether it existed."""

    @abstractmethod
    def any(self) -> bool:
        """Whether any key is stored."""

    @abstractmethod
    def touch(self, name: str, when: datetime) -> None:
        """Record when a key was last used."""


class Leases(ABC):
    """Named leases, so that one process at a time runs a periodic job."""

    @abstractmethod
    def acquire(self, name: str, holder: str, now: datetime, seconds: float) -> bool:
        """Take or renew the lease until ``now + seconds``; False if another holder has it."""


class Store(ABC):
    """A database: its readings, keys and leases, and its maintenance."""

    kind: str  # "sqlite" or "mongodb", as the health check and the CLI name it
    name: str  # the database's name: a file name or a MongoDB database
    location: str  # where it is, for the log: a file's path, or a MongoDB database's name
    readings: Readings
    keys: Keys
    leases: Leases
    alerts: Alerts

    # Capability flags (as Django's database features): where engines differ in
    # what they can hold or do, the engine says so, and no caller asks which
    # engine it is.
    accepts_any_id = False  # a reading's _id may be any BSON value, not only an ObjectId

    @abstractmethod
    def ping(self) -> None:
        """Reach the database; ``StoreUnavailable`` if it cannot be reached."""

    def deadline(self, seconds: float | None = None) -> AbstractContextManager:
        """A block whose database calls together end within the store's budget (else ``StoreUnavailable``).

        One request's calls share one; an engine whose waits are each bounded
        otherwise needs none (SQLite: its only wait is for the write lock,
        bounded by its busy timeout). ``seconds``, if shorter, bounds it instead.
        """
        return nullcontext()

    @abstractmethod
    def init(self, recount: bool = False) -> list[str]:
        """Create what the store needs (tables, indexes, summaries); harmless to repeat.

        With ``recount``, count each sensor's readings again where the count
        is kept outside a transaction (MongoDB). Return the indexes' names.
        """

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
