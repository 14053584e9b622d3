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

from ..base import Store
from .alerts import SqliteAlerts
from .database import INDEXES, Database
from .keys import SqliteKeys, SqliteLeases
from .readings import SqliteReadings


class SqliteStore(Store):
    """A SQLite file holding readings, keys and leases."""

    kind = "sqlite"

    def __init__(self, path: str, busy_timeout_ms: int = 5000, synchronous: str = "normal"):
        self.path = path
        self.name = os.path.basename(path)
        self.location = path
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
