"""The SQLite store: the default, a file on this machine (the standard library's ``sqlite3``).

Durability: WAL, and every write is one ``BEGIN IMMEDIATE`` transaction
committed before the answer, so an acknowledged reading survives ``kill -9``
of any process. With ``synchronous=NORMAL`` (the default, ``SQLITE_SYNCHRONOUS``)
the last transactions before a power cut or an OS crash may be lost, never
the file's integrity; ``FULL`` syncs the WAL on every commit so they survive
that too, at the cost of a disk flush per write.

Processes and threads: each gunicorn worker has its own connections, taken
from a small pool (one per request at a time); the file is shared. Writers
queue on SQLite's lock for up to ``SQLITE_BUSY_TIMEOUT_MS``; readers never
wait for them (WAL). Parameters are always bound, never formatted into SQL.
"""

import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import bson
from bson import ObjectId

from ..bsonvalues import epoch_millis, from_millis, is_number, utc_now
from . import ids
from .base import (
    DELETE_BATCH,
    EVERYTHING,
    Conflict,
    DuplicateName,
    Filters,
    Keys,
    Leases,
    Position,
    Readings,
    StatsQuery,
    Store,
    StoreUnavailable,
    buckets,
    field_value,
    patched,
    resent,
)
from .sqlite_alerts import SqliteAlerts

# schema/1.sql, schema/2.sql, ...: each brings a file from the version before to its own.
SCHEMAS = sorted(Path(__file__).with_name("schema").glob("*.sql"), key=lambda path: int(path.stem))
SCHEMA_VERSION = len(SCHEMAS)
INDEXES = ["sensor_timestamp", "timestamp"]
POOL_SIZE = 16  # idle connections kept per process
# Result codes (the low byte of sqlite_errorcode) that mean the file cannot be
# used just now, not that a statement is wrong: busy or locked past the
# timeout, out of memory or disk, read-only, I/O error, corrupt, not openable.
UNAVAILABLE = {3, 5, 6, 7, 8, 10, 11, 13, 14, 15, 26}
BUSY = {5, 6}
# What a client is told when it waited for the write lock as long as it may.
BUSY_DETAIL = "the database is busy; try again shortly"
FILE_GONE = "the database file is missing; nothing can be stored until it is back"


class _Queue:
    """A lock taken first come, first served, each waiter with its own deadline.

    ``threading.Lock.acquire(timeout=...)`` promises no order: under load a
    thread could wait out its whole timeout while later ones got in (a 503
    for it alone). Here each waiter has a gate of its own, opened in turn.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._waiting: deque[threading.Lock] = deque()
        self._held = False

    def acquire(self, timeout: float) -> bool:
        """Wait for this thread's turn, at most ``timeout`` seconds; whether it came."""
        with self._lock:
            if not self._held:
                self._held = True
                return True
            gate = threading.Lock()
            gate.acquire()
            self._waiting.append(gate)
        if gate.acquire(timeout=timeout):
            return True
        with self._lock:
            if gate in self._waiting:
                self._waiting.remove(gate)
                return False
        return True  # handed over just as the wait ran out: this thread holds it

    def release(self) -> None:
        """Hand the lock to the next waiter, if any."""
        with self._lock:
            if self._waiting:
                self._waiting.popleft().release()  # still held: by that waiter now
            else:
                self._held = False


class Database:
    """Connections to one SQLite file: a pool per process, transactions, errors as outages."""

    def __init__(self, path: str, busy_timeout_ms: int = 5000, synchronous: str = "normal"):
        self.path = path
        self.busy_timeout = busy_timeout_ms / 1000
        self.synchronous = synchronous
        self._lock = threading.Lock()
        self._writer = _Queue()  # one writing thread of this process at a time (write()), in turn
        self._idle: list[tuple[sqlite3.Connection, int]] = []  # each with the generation it was opened in
        self._pid = os.getpid()
        self._forked: list[tuple[sqlite3.Connection, int]] = []
        self._ready = False
        # The file this process's connections opened (device, inode), and a
        # generation counted up each time it is found replaced: connections
        # of an older generation are closed as they come back.
        self._file: tuple[int, int] | None = None
        self._generation = 0

    def _connect(self) -> sqlite3.Connection:
        Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        # Autocommit mode: transactions are explicit (write()), reads take none.
        connection = sqlite3.connect(
            self.path, timeout=self.busy_timeout, isolation_level=None, check_same_thread=False
        )
        try:
            connection.execute(f"PRAGMA synchronous = {self.synchronous}")  # one of a fixed set (config)
        except BaseException:  # not a database, unreadable, ...: no connection is left open
            connection.close()
            raise
        return connection

    def _take(self) -> tuple[sqlite3.Connection, int]:
        with self._lock:
            if self._pid != os.getpid():
                # A forked child must not use (or close: closing can checkpoint
                # and unlink the WAL under the parent) what its parent opened.
                self._forked += self._idle
                self._idle, self._pid, self._ready = [], os.getpid(), False
            if self._idle:
                return self._idle.pop()
            generation = self._generation
        connection = self._connect()
        if self._file is None:  # the first connection: the file is the one it opened (or made)
            with self._lock:
                self._file = self._file or self._identity()
        return connection, generation

    def _give(self, connection: sqlite3.Connection, generation: int) -> None:
        try:
            if connection.in_transaction:  # only after a failure the caller saw
                connection.rollback()
        except sqlite3.Error:
            connection.close()
            raise
        with self._lock:
            current = generation == self._generation and self._pid == os.getpid()
            if current and len(self._idle) < POOL_SIZE:
                self._idle.append((connection, generation))
                return
        connection.close()

    def _identity(self) -> tuple[int, int] | None:
        try:
            found = os.stat(self.path)
        except FileNotFoundError:
            return None
        return found.st_dev, found.st_ino

    def check_file(self) -> None:
        """Refuse to go on with a file that is gone; start again on one that was put in its place.

        SQLite's open connections keep writing to a file deleted under them,
        and every write then answers as if stored, to be lost at the next
        start. So each use first checks that the path still names the file
        the connections opened: if it is gone, ``StoreUnavailable`` until it
        is back; if another file is there now (a restored backup), the
        connections are closed and the next ones open it.
        """
        if self._file is None:
            return  # not opened yet: the first connection makes it
        found = self._identity()
        if found == self._file:
            return
        if found is None:
            raise StoreUnavailable(FILE_GONE, why=f"{self.path} is missing")
        with self._lock:
            if self._file != found:
                stale, self._idle = self._idle, []
                self._file, self._generation, self._ready = found, self._generation + 1, False
            else:
                stale = []
        for connection, _ in stale:
            connection.close()

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Lend a connection; database errors that mean an outage become ``StoreUnavailable``."""
        self.check_file()
        try:
            connection, generation = self._take()
            try:
                if not self._ready:
                    self._ensure_schema(connection)
                yield connection
            finally:
                self._give(connection, generation)
        except sqlite3.Error as error:
            code = getattr(error, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in UNAVAILABLE:
                busy = code & 0xFF in BUSY
                detail = BUSY_DETAIL if busy else "the database cannot be reached; try again shortly"
                raise StoreUnavailable(detail, why=error.sqlite_errorname) from error
            raise

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction holding the write lock from its start (no upgrade deadlocks).

        SQLite lets one writer in at a time, and its waiters poll with sleeps
        that grow: with 32 threads of a process waiting (gunicorn's gthread
        worker), some outwaited the busy timeout (503) while later ones got
        in. The threads of one process queue here first, as long as the busy
        timeout, so that at most one of them waits on SQLite, as with one
        thread a process.
        """
        if not self._writer.acquire(timeout=self.busy_timeout):
            raise StoreUnavailable(BUSY_DETAIL, why="SQLITE_BUSY (in this process)")
        try:
            with self.connection() as connection:
                connection.execute("BEGIN IMMEDIATE")
                try:
                    yield connection
                except BaseException:
                    connection.execute("ROLLBACK")
                    raise
                connection.execute("COMMIT")
            # Committed to the file this process opened: is it still the one a restart would open?
            self.check_file()
        finally:
            self._writer.release()

    def _ensure_schema(self, connection: sqlite3.Connection) -> None:
        """Bring the file's schema up to date; refuse a file from a newer version of the service."""
        version = connection.execute("PRAGMA user_version").fetchone()[0]
        if version < SCHEMA_VERSION:
            if version == 0:
                connection.execute("PRAGMA journal_mode = WAL")  # kept in the file from now on
            connection.execute("BEGIN IMMEDIATE")
            try:
                # Another process may have done it while this one waited for the lock.
                version = connection.execute("PRAGMA user_version").fetchone()[0]
                for schema in SCHEMAS[version:]:
                    for statement in _statements(schema.read_text()):
                        connection.execute(statement)
                connection.execute(f"PRAGMA user_version = {max(version, SCHEMA_VERSION)}")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
            connection.execute("COMMIT")
        elif version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} has schema version {version}; this version of the service "
                f"knows {SCHEMA_VERSION}: run the newer version, or move the file aside"
            )
        self._ready = True

    def close(self) -> None:
        """Close the idle connections of this process."""
        with self._lock:
            idle, self._idle = self._idle, []
        for connection, _ in idle:
            connection.close()


def _statements(script: str) -> list[str]:
    """Split a schema script into statements (``complete_statement`` knows triggers' inner ';')."""
    statements, current = [], ""
    for line in script.splitlines(keepends=True):
        if line.lstrip().startswith("--"):
            continue
        current += line
        if sqlite3.complete_statement(current):
            statements.append(current.strip())
            current = ""
    return statements


# --- readings ---------------------------------------------------------------


def _row(doc: dict) -> tuple:
    """The columns of a reading: its id, the copies the queries use, the document."""
    get = doc.get
    sensor, type_, timestamp, value = get("sensor"), get("type"), get("timestamp"), get("value")
    return (
        doc["_id"].binary,
        sensor if isinstance(sensor, str) else None,
        type_ if isinstance(type_, str) else None,
        epoch_millis(timestamp) if isinstance(timestamp, datetime) else None,
        value if is_number(value) else None,
        bson.encode(doc),
    )


def _draw_again(connection, docs: list[dict], rows: list[tuple], last: int, resends: dict):
    """New ids for the new readings whose id met a stored one: (docs, rows, rows still to insert)."""
    inserted = {row[0] for row in connection.execute("SELECT id FROM readings WHERE seq > ?", (last,))}
    unplaced = [index for index, row in enumerate(rows) if row[0] not in inserted and row[0] not in resends]
    docs, rows = list(docs), list(rows)
    for index, oid in zip(unplaced, ids.new(len(unplaced)), strict=True):
        docs[index] = {**docs[index], "_id": oid}
        rows[index] = _row(docs[index])
    return docs, rows, [rows[index] for index in unplaced]


def _documents(rows) -> list[dict]:
    """Decode the ``doc`` column of rows, all in one call."""
    return bson.decode_all(b"".join(row[0] for row in rows))


def _where(filters: Filters) -> tuple[list[str], list]:
    clauses, params = [], []
    for column, value in (("sensor", filters.sensor), ("type", filters.type)):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if filters.since is not None:
        clauses.append("ts >= ?")
        params.append(epoch_millis(filters.since))
    if filters.until is not None:
        clauses.append("ts < ?")
        params.append(epoch_millis(filters.until))
    return clauses, params


def _sql_where(clauses: list[str]) -> str:
    return " WHERE " + " AND ".join(clauses) if clauses else ""


# A new id that meets a stored one is not inserted (and drawn again); a
# client's id is looked up first, under the same write lock.
INSERT = (
    "INSERT INTO readings (id, sensor, type, ts, value, doc) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (id) DO NOTHING"
)
# The summary of the readings just inserted (those past a ``seq``, or at one),
# added to each sensor's, in the same transaction: what a trigger did for
# each row until schema 5, once a batch. NOT INDEXED: the rows are found by
# their seq, never by walking the sensor index for its order.
COUNT_ADDED = """
INSERT INTO sensors (sensor, count, first, last)
SELECT sensor, count(*), min(ts), max(ts) FROM readings NOT INDEXED
WHERE {rows} AND sensor IS NOT NULL GROUP BY sensor
ON CONFLICT (sensor) DO UPDATE SET
    count = count + excluded.count,
    first = coalesce(min(first, excluded.first), first, excluded.first),
    last = coalesce(max(last, excluded.last), last, excluded.last)
"""
COUNT_INSERTED = COUNT_ADDED.format(rows="seq > ?")
COUNT_REWRITTEN = COUNT_ADDED.format(rows="seq = ?")


class SqliteReadings(Readings):
    """The ``readings`` table and its ``sensors`` summary."""

    def __init__(self, db: Database):
        self.db = db

    def insert(self, readings: list[dict]) -> list[tuple[dict, bool]]:
        """Store readings; return each stored document and whether it is new."""
        new_ids = iter(ids.new(sum("_id" not in reading for reading in readings)))
        docs = [reading if "_id" in reading else {"_id": next(new_ids), **reading} for reading in readings]
        # Rows (and their BSON) made before the write lock is taken, not while others wait on it.
        rows = [_row(doc) for doc in docs]
        given = {reading["_id"].binary: reading for reading in readings if "_id" in reading}
        sensors = sorted({row[1] for row in rows if row[1] is not None})
        with self.db.write() as connection:
            stored = {}
            if given:
                marks = ",".join("?" * len(given))
                found = connection.execute(f"SELECT id, doc FROM readings WHERE id IN ({marks})", list(given))
                stored = {row[0]: bson.decode(row[1]) for row in found}
                refused = [doc["_id"] for key, doc in stored.items() if not resent(doc, given[key])]
                if refused:
                    raise Conflict(refused)
            # Every row inserted here comes after the last one (the write lock is held).
            last = connection.execute("SELECT max(seq) FROM readings").fetchone()[0] or 0
            todo = [row for row in rows if row[0] not in stored] if stored else rows
            while connection.executemany(INSERT, todo).rowcount < len(todo):
                docs, rows, todo = _draw_again(connection, docs, rows, last, stored)
            connection.execute(COUNT_INSERTED, (last,))
            if sensors:  # resends too: a device that resends is reporting
                marks = ",".join("?" * len(sensors))
                connection.execute(
                    f"UPDATE sensors SET reported = ? WHERE sensor IN ({marks})",
                    [epoch_millis(utc_now()), *sensors],
                )
        if not stored:
            return [(doc, True) for doc in docs]
        return [
            (stored[row[0]], False) if row[0] in stored else (doc, True)
            for doc, row in zip(docs, rows, strict=True)
        ]

    def get(self, oid: ObjectId) -> dict | None:
        """Return one reading, or None."""
        with self.db.connection() as connection:
            row = connection.execute("SELECT doc FROM readings WHERE id = ?", (oid.binary,)).fetchone()
        return bson.decode(row[0]) if row else None

    def _rewrite(self, oid: ObjectId, change) -> dict | None:
        """Replace a reading by ``change(stored)`` in one transaction: a delete and an insert
        (the summary follows both), in the same place of the insertion order."""
        with self.db.write() as connection:
            row = connection.execute("SELECT seq, doc FROM readings WHERE id = ?", (oid.binary,)).fetchone()
            if row is None:
                return None
            doc = change(bson.decode(row[1]))
            connection.execute("DELETE FROM readings WHERE seq = ?", (row[0],))
            connection.execute(
                "INSERT INTO readings (seq, id, sensor, type, ts, value, doc) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (row[0], *_row(doc)),
            )
            connection.execute(COUNT_REWRITTEN, (row[0],))
        return doc

    def replace(self, oid: ObjectId, reading: dict) -> dict | None:
        """Replace a reading's fields, keeping its id; None if there is none."""
        body = {"_id": oid, **{key: value for key, value in reading.items() if key != "_id"}}
        return self._rewrite(oid, lambda stored: body)

    def update(self, oid: ObjectId, changes: dict, removals: list[str]) -> dict | None:
        """Set and remove top-level fields; None if there is no such reading."""
        return self._rewrite(oid, lambda stored: patched(stored, changes, removals))

    def delete(self, oid: ObjectId) -> bool:
        """Delete one reading; return whether it existed."""
        with self.db.write() as connection:
            return connection.execute("DELETE FROM readings WHERE id = ?", (oid.binary,)).rowcount == 1

    def delete_matching(self, filters: Filters) -> int:
        """Delete the matching readings, a bounded transaction at a time; return how many."""
        clauses, params = _where(filters)
        sql = f"DELETE FROM readings WHERE seq IN (SELECT seq FROM readings{_sql_where(clauses)} LIMIT ?)"
        total = 0
        while True:
            with self.db.write() as connection:
                deleted = connection.execute(sql, [*params, DELETE_BATCH]).rowcount
            total += deleted
            if deleted < DELETE_BATCH:
                return total

    def count(self, filters: Filters = EVERYTHING) -> int:
        """Count the matching readings."""
        clauses, params = _where(filters)
        with self.db.connection() as connection:
            return connection.execute(
                f"SELECT count(*) FROM readings{_sql_where(clauses)}", params
            ).fetchone()[0]

    def _dated(self, filters: Filters, after: Position | None, limit: int, descending: bool) -> list[dict]:
        if after is None:
            clauses, params = _where(filters)
            clauses.append("ts IS NOT NULL")
        else:
            # One bound a side, the cursor's where it is the tighter: SQLite
            # bounds its index range by one of them, and a filter's bound would
            # have every later page scan from the filter's end to the cursor.
            at = epoch_millis(after.timestamp)
            since = None if filters.since is None else epoch_millis(filters.since)
            until = None if filters.until is None else epoch_millis(filters.until) - 1  # inclusive
            low, high = (since, min(at, until) if until is not None else at) if descending else (
                max(at, since) if since is not None else at, until)  # fmt: skip
            clauses, params = _where(Filters(filters.sensor, filters.type))
            clauses.append("ts IS NOT NULL")
            for clause, bound in (("ts >= ?", low), ("ts <= ?", high)):
                if bound is not None:
                    clauses.append(clause)
                    params.append(bound)
            clauses.append("(ts, id) < (?, ?)" if descending else "(ts, id) > (?, ?)")
            params += [at, after.id.binary]
        order = "ts DESC, id DESC" if descending else "ts, id"
        sql = f"SELECT doc FROM readings{_sql_where(clauses)} ORDER BY {order} LIMIT ?"
        with self.db.connection() as connection:
            return _documents(connection.execute(sql, [*params, limit]).fetchall())

    def _undated(self, filters: Filters, after: ObjectId | None, limit: int, descending: bool) -> list[dict]:
        clauses, params = _where(filters)
        clauses.append("ts IS NULL")
        if after is not None:
            clauses.append("id < ?" if descending else "id > ?")
            params.append(after.binary)
        order = "id DESC" if descending else "id"
        sql = f"SELECT doc FROM readings{_sql_where(clauses)} ORDER BY {order} LIMIT ?"
        with self.db.connection() as connection:
            return _documents(connection.execute(sql, [*params, limit]).fetchall())

    def stats(self, query: StatsQuery) -> list[dict]:
        """Return the non-empty buckets, oldest first, aggregated while the rows stream by."""
        clauses, params = _where(query.filters)
        if query.field == "value":  # the column holds it when it is a number
            sql = (
                f"SELECT ts, value FROM readings{_sql_where([*clauses, 'value IS NOT NULL'])} ORDER BY ts, id"
            )
            with self.db.connection() as connection:
                return buckets(connection.execute(sql, params), query.interval_ms)
        sql = f"SELECT ts, doc FROM readings{_sql_where(clauses)} ORDER BY ts, id"
        with self.db.connection() as connection:
            values = (
                (ts, field_value(bson.decode(doc), query.field))
                for ts, doc in connection.execute(sql, params)
            )
            return buckets(((ts, value) for ts, value in values if is_number(value)), query.interval_ms)

    def sensors(self) -> list[dict]:
        """Every sensor, by name, from the summary every write keeps, with its latest reading."""
        with self.db.connection() as connection:
            rows = connection.execute(
                "SELECT sensor, count, first, last, reported FROM sensors WHERE count > 0"
            ).fetchall()
        found = []
        for sensor, count, first, last, reported in sorted(rows):
            latest = self.latest(sensor)
            if latest is not None:  # None: deleted since the summary was read
                found.append(
                    {
                        "sensor": sensor,
                        "count": count,
                        "first": _date(first),
                        "last": _date(last),
                        "latest": latest,
                        "reported": _date(reported),
                    }
                )
        return found


# --- keys and leases ----------------------------------------------------------


def _date(ms: int | None) -> datetime | None:
    return None if ms is None else from_millis(ms)


class SqliteKeys(Keys):
    """The ``api_keys`` table."""

    def __init__(self, db: Database):
        self.db = db

    def add(self, record: dict) -> None:
        """Store a key record; ``DuplicateName`` if the name is taken."""
        try:
            with self.db.write() as connection:
                connection.execute(
                    "INSERT INTO api_keys (name, scope, hash, created, last_used) VALUES (?, ?, ?, ?, ?)",
                    (
                        record["name"],
                        record["scope"],
                        record["hash"],
                        epoch_millis(record["created"]),
                        None if record.get("last_used") is None else epoch_millis(record["last_used"]),
                    ),
                )
        except sqlite3.IntegrityError:
            raise DuplicateName(record["name"]) from None

    def _select(self, where: str = "", params=()) -> list[dict]:
        sql = f"SELECT name, scope, hash, created, last_used FROM api_keys {where} ORDER BY name"
        with self.db.connection() as connection:
            rows = connection.execute(sql, params).fetchall()
        return [
            {
                "name": name,
                "scope": scope,
                "hash": hashed,
                "created": _date(created),
                "last_used": _date(used),
            }
            for name, scope, hashed, created, used in rows
        ]

    def find(self, hashed: str) -> dict | None:
        """Return the record with this hash, or None."""
        found = self._select("WHERE hash = ?", (hashed,))
        return found[0] if found else None

    def records(self) -> list[dict]:
        """Every record by name, whole."""
        return self._select()

    def list(self) -> list[dict]:
        """Every record by name, without the hash."""
        with self.db.connection() as connection:
            rows = connection.execute(
                "SELECT name, scope, created, last_used FROM api_keys ORDER BY name"
            ).fetchall()
        return [
            {"name": name, "scope": scope, "created": _date(created), "last_used": _date(last_used)}
            for name, scope, created, last_used in rows
        ]

    def revoke(self, name: str) -> bool:
        """Delete a record by name; return whether it existed."""
        with self.db.write() as connection:
            return connection.execute("DELETE FROM api_keys WHERE name = ?", (name,)).rowcount == 1

    def any(self) -> bool:
        """Whether any key is stored."""
        with self.db.connection() as connection:
            return connection.execute("SELECT 1 FROM api_keys LIMIT 1").fetchone() is not None

    def touch(self, name: str, when: datetime) -> None:
        """Record when a key was last used."""
        with self.db.write() as connection:
            connection.execute("UPDATE api_keys SET last_used = ? WHERE name = ?", (epoch_millis(when), name))


class SqliteLeases(Leases):
    """The ``leases`` table."""

    def __init__(self, db: Database):
        self.db = db

    def acquire(self, name: str, holder: str, now: datetime, seconds: float) -> bool:
        """Take or renew the lease until ``now + seconds``; False if another holder has it."""
        expires = epoch_millis(now) + round(seconds * 1000)
        with self.db.write() as connection:
            taken = connection.execute(
                "INSERT INTO leases (name, holder, expires) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, expires = excluded.expires "
                "WHERE leases.expires <= ? OR leases.holder = excluded.holder",
                (name, holder, expires, epoch_millis(now)),
            )
            return taken.rowcount == 1


class SqliteStore(Store):
    """A SQLite file holding readings, keys and leases."""

    kind = "sqlite"

    def __init__(self, path: str, busy_timeout_ms: int = 5000, synchronous: str = "normal"):
        self.path = path
        self.name = os.path.basename(path)
        self.db = Database(path, busy_timeout_ms, synchronous)
        self.readings = SqliteReadings(self.db)
        self.keys = SqliteKeys(self.db)
        self.leases = SqliteLeases(self.db)
        self.alerts = SqliteAlerts(self.db)

    def ping(self) -> None:
        """Write to the file: a health check that reads says OK while writes fail (a full or
        read-only disk, a deleted file)."""
        with self.db.write() as connection:
            connection.execute(
                "INSERT INTO counters (name, value) VALUES ('health', 1) "
                "ON CONFLICT (name) DO UPDATE SET value = value + 1"
            )

    def init(self, recount: bool = False) -> list[str]:
        """Create the schema if the file has none (it is also created on first use).

        The summary is kept in the same transaction as every write: never a recount.
        """
        self.ping()
        return list(INDEXES)

    def close(self) -> None:
        """Close this process's idle connections."""
        self.db.close()
