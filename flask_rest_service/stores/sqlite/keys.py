"""The ``api_keys`` and ``leases`` tables."""

import sqlite3
from datetime import datetime

from ...bsonvalues import epoch_millis
from ..base import (
    DuplicateName,
    Keys,
    Leases,
)
from .database import Database, _date


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
