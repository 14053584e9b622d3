"""The SQLite file: its connections, the write queue and the schema."""

import os
import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ...bsonvalues import from_millis
from ..base import (
    StoreUnavailable,
)

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


def _date(ms: int | None) -> datetime | None:
    return None if ms is None else from_millis(ms)


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
        self._closed = False

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
            current = not self._closed and generation == self._generation and self._pid == os.getpid()
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
        """Close the idle connections of this process; from now on each one is closed as it comes back.

        (A thread still at work when the store is closed, a delivery
        recording its send, gives its connection back later, or opens one:
        kept, it would be open with no one left to close it.)
        """
        with self._lock:
            idle, self._idle, self._closed = self._idle, [], True
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
