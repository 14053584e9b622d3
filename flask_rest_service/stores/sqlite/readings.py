"""The ``readings`` table and its per-sensor counts."""

from datetime import datetime

import bson
from bson import ObjectId

from ...bsonvalues import epoch_millis, is_number, utc_now
from .. import ids
from ..base import (
    DELETE_BATCH,
    EVERYTHING,
    Budget,
    Conflict,
    Filters,
    Position,
    Readings,
    StatsQuery,
    buckets,
    field_value,
    patched,
    prefix_range,
    resent,
)
from .database import Database, _date


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


def _read(cursor, budget: Budget | None) -> list[dict]:
    """The documents of a query's rows: all at once, or with a budget, a row at a time until it says stop."""
    if budget is None:
        return _documents(cursor.fetchall())
    rows = []
    for row in cursor:  # one step of the statement each: only the rows kept are held
        rows.append(row)
        if budget.take(len(row[0])):
            break
    cursor.close()  # the statement ends here, not when the cursor is collected
    return _documents(rows)


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
# A page of the summary with each sensor's latest reading: its newest dated one, else
# (none dated) its newest by id, as ``latest`` finds it.
SENSOR_PAGE = """
SELECT sensor, count, first, last, reported, coalesce(
    (SELECT doc FROM readings WHERE readings.sensor = sensors.sensor AND ts IS NOT NULL
     ORDER BY ts DESC, id DESC LIMIT 1),
    (SELECT doc FROM readings WHERE readings.sensor = sensors.sensor AND ts IS NULL
     ORDER BY id DESC LIMIT 1)
) FROM sensors"""
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

    def _dated(
        self,
        filters: Filters,
        after: Position | None,
        limit: int,
        descending: bool,
        budget: Budget | None = None,
    ) -> list[dict]:
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
            low, high = (
                (since, min(at, until) if until is not None else at)
                if descending
                else (max(at, since) if since is not None else at, until)
            )
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
            return _read(connection.execute(sql, [*params, limit]), budget)

    def _undated(
        self,
        filters: Filters,
        after: ObjectId | None,
        limit: int,
        descending: bool,
        budget: Budget | None = None,
    ) -> list[dict]:
        clauses, params = _where(filters)
        clauses.append("ts IS NULL")
        if after is not None:
            clauses.append("id < ?" if descending else "id > ?")
            params.append(after.binary)
        order = "id DESC" if descending else "id"
        sql = f"SELECT doc FROM readings{_sql_where(clauses)} ORDER BY {order} LIMIT ?"
        with self.db.connection() as connection:
            return _read(connection.execute(sql, [*params, limit]), budget)

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

    def sensors(self, after: str | None = None, limit: int | None = None, prefix: str = "") -> list[dict]:
        """The sensors by name, a range of the summary every write keeps, each with its latest reading."""
        low, inclusive, high = prefix_range(prefix, after)
        clauses, params = ["count > 0"], []
        if low is not None:
            clauses.append("sensor >= ?" if inclusive else "sensor > ?")
            params.append(low)
        if high is not None:
            clauses.append("sensor < ?")
            params.append(high)
        # The primary key's index gives the order, and each latest reading is a seek on the
        # sensor index, in the same statement: a page reads its own rows, whatever the total.
        sql = f"{SENSOR_PAGE}{_sql_where(clauses)} ORDER BY sensor"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        with self.db.connection() as connection:
            rows = connection.execute(sql, params).fetchall()
        return [
            {
                "sensor": sensor,
                "count": count,
                "first": _date(first),
                "last": _date(last),
                "latest": bson.decode(latest),
                "reported": _date(reported),
            }
            for sensor, count, first, last, reported, latest in rows
            if latest is not None  # None: deleted since the summary was written
        ]
