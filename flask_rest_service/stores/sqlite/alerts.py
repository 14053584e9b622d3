"""Alert rules, states, events and deliveries in the SQLite file (schema/2.sql).

A transition is one transaction: the state's compare-and-set, the event and
its deliveries commit together or not at all.
"""

from collections.abc import Collection
from datetime import datetime

import bson
from bson import ObjectId

from ...bsonvalues import epoch_millis, from_millis
from ..alerts import EVENTS_KEPT, STATES_CHUNK, Alerts, State, event_id


def _ms(moment: datetime | None) -> int | None:
    return None if moment is None else epoch_millis(moment)


def _date(ms: int | None) -> datetime | None:
    return None if ms is None else from_millis(ms)


STATE_COLUMNS = "state, since, pending_since, last_at, value, version"


def _state(row) -> State:
    state, since, pending_since, last_at, value, version = row
    return State(state, _date(since), _date(pending_since), _date(last_at), value, version)


class SqliteAlerts(Alerts):
    """The alert tables of one SQLite file."""

    def __init__(self, db):
        self.db = db  # sqlite.Database

    def _bump(self, connection) -> None:
        connection.execute(
            "INSERT INTO counters (name, value) VALUES ('rules', 1) "
            "ON CONFLICT (name) DO UPDATE SET value = value + 1"
        )

    def add_rule(self, rule: dict, limit: int | None = None) -> bool:
        """Store a new rule unless ``limit`` exist: counted in the write's transaction, which holds
        the file's write lock, so no other process adds one between the count and the insert."""
        with self.db.write() as connection:
            if limit is not None and connection.execute("SELECT count(*) FROM rules").fetchone()[0] >= limit:
                return False
            connection.execute(
                "INSERT INTO rules (id, doc) VALUES (?, ?)", (rule["_id"].binary, bson.encode(rule))
            )
            self._bump(connection)
        return True

    def rules(self) -> list[dict]:
        """Every rule, oldest first."""
        with self.db.connection() as connection:
            rows = connection.execute("SELECT doc FROM rules ORDER BY id").fetchall()
        return [bson.decode(row[0]) for row in rows]

    def get_rule(self, oid: ObjectId) -> dict | None:
        """One rule, or None."""
        with self.db.connection() as connection:
            row = connection.execute("SELECT doc FROM rules WHERE id = ?", (oid.binary,)).fetchone()
        return bson.decode(row[0]) if row else None

    def replace_rule(self, oid: ObjectId, rule: dict) -> bool:
        """Replace a rule; whether it existed."""
        with self.db.write() as connection:
            changed = connection.execute(
                "UPDATE rules SET doc = ? WHERE id = ?", (bson.encode({**rule, "_id": oid}), oid.binary)
            ).rowcount
            if changed:
                self._bump(connection)
        return changed == 1

    def delete_rule(self, oid: ObjectId) -> bool:
        """Delete a rule with everything that became of it."""
        with self.db.write() as connection:
            gone = connection.execute("DELETE FROM rules WHERE id = ?", (oid.binary,)).rowcount
            connection.execute("DELETE FROM alert_states WHERE rule = ?", (oid.binary,))
            connection.execute(
                "DELETE FROM alert_deliveries WHERE event IN (SELECT id FROM alert_events WHERE rule = ?)",
                (oid.binary,),
            )
            connection.execute("DELETE FROM alert_events WHERE rule = ?", (oid.binary,))
            if gone:
                self._bump(connection)
        return gone == 1

    def rules_version(self) -> int:
        """Changes with every rule change."""
        with self.db.connection() as connection:
            row = connection.execute("SELECT value FROM counters WHERE name = 'rules'").fetchone()
        return row[0] if row else 0

    def state(self, rule_id: ObjectId, sensor: str) -> State:
        """Where a rule stands for a sensor."""
        with self.db.connection() as connection:
            row = connection.execute(
                f"SELECT {STATE_COLUMNS} FROM alert_states WHERE rule = ? AND sensor = ?",
                (rule_id.binary, sensor),
            ).fetchone()
        return _state(row) if row else State()

    def states_of(self, sensor: str, rule_ids: list[ObjectId]) -> list[State]:
        """Where each of these rules stands for a sensor: a query per STATES_CHUNK rules."""
        keys = [rule_id.binary for rule_id in rule_ids]
        found = dict.fromkeys(keys, State())  # by the id's bytes: hashed in C, an ObjectId's in Python
        with self.db.connection() as connection:
            for start in range(0, len(keys), STATES_CHUNK):
                chunk = keys[start : start + STATES_CHUNK]
                rows = connection.execute(
                    f"SELECT rule, {STATE_COLUMNS} FROM alert_states WHERE sensor = ? "
                    f"AND rule IN ({', '.join('?' * len(chunk))})",
                    (sensor, *chunk),
                ).fetchall()
                for row in rows:
                    found[row[0]] = _state(row[1:])
        return [found[key] for key in keys]

    def states(self) -> list[tuple[ObjectId, str, State]]:
        """Every written state."""
        with self.db.connection() as connection:
            rows = connection.execute(f"SELECT rule, sensor, {STATE_COLUMNS} FROM alert_states").fetchall()
        return [(ObjectId(row[0]), row[1], _state(row[2:])) for row in rows]

    def restart_states(self, rule_id: ObjectId) -> None:
        """Put a rule back at ok everywhere, its versions still increasing."""
        with self.db.write() as connection:
            connection.execute(
                "UPDATE alert_states SET state = 'ok', since = NULL, pending_since = NULL, last_at = NULL, "
                "value = NULL, version = version + 1 WHERE rule = ?",
                (rule_id.binary,),
            )

    def transition(
        self, rule_id: ObjectId, sensor: str, before: State, after: State, event: dict | None
    ) -> bool:
        """Compare-and-set the state, with its event, in one transaction."""
        version = before.version + 1
        values = (
            after.state,
            _ms(after.since),
            _ms(after.pending_since),
            _ms(after.last_at),
            after.value,
            version,
        )
        with self.db.write() as connection:
            if before.version == 0:
                written = connection.execute(
                    f"INSERT INTO alert_states (rule, sensor, {STATE_COLUMNS}) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (rule, sensor) DO NOTHING",
                    (rule_id.binary, sensor, *values),
                ).rowcount
            else:
                written = connection.execute(
                    "UPDATE alert_states SET state = ?, since = ?, pending_since = ?, last_at = ?, "
                    "value = ?, version = ? WHERE rule = ? AND sensor = ? AND version = ?",
                    (*values, rule_id.binary, sensor, before.version),
                ).rowcount
            if written and event is not None:
                self._add_event(connection, event_id(rule_id, sensor, version), rule_id, event)
        return written == 1

    def _add_event(self, connection, eid: str, rule_id: ObjectId, event: dict) -> None:
        deliveries = event["deliveries"]
        body = {key: value for key, value in event.items() if key != "deliveries"}
        connection.execute(
            "INSERT INTO alert_events (id, rule, at, doc) VALUES (?, ?, ?, ?)",
            (eid, rule_id.binary, epoch_millis(event["at"]), bson.encode({"_id": eid, **body})),
        )
        connection.executemany(
            "INSERT INTO alert_deliveries (event, idx, url, target, status, attempts, next_at) "
            "VALUES (?, ?, ?, ?, 'queued', 0, ?)",
            [
                (eid, index, d["url"], d["target"], epoch_millis(d["next_at"]))
                for index, d in enumerate(deliveries)
            ],
        )

    def events(self, rule_id: ObjectId, limit: int) -> list[dict]:
        """A rule's events, newest first, with their deliveries."""
        with self.db.connection() as connection:
            rows = connection.execute(
                "SELECT e.id, e.doc, d.idx, d.target, d.status, d.attempts, d.next_at, d.last_error, "
                "d.delivered_at FROM (SELECT id, doc, at FROM alert_events WHERE rule = ? "
                "ORDER BY at DESC, id DESC LIMIT ?) e LEFT JOIN alert_deliveries d ON d.event = e.id "
                "ORDER BY e.at DESC, e.id DESC, d.idx",
                (rule_id.binary, limit),
            ).fetchall()
        found: dict[str, dict] = {}  # in the order of the rows: newest first
        for eid, doc, index, *delivery in rows:
            event = found.get(eid) or found.setdefault(eid, {**bson.decode(doc), "deliveries": []})
            if index is not None:  # None: an event without deliveries (LEFT JOIN)
                event["deliveries"].append(_delivery(delivery))
        return list(found.values())

    def due(self, now: datetime, limit: int, leave_out: Collection[str] = ()) -> list[dict]:
        """Deliveries queued and due, or claimed with a lease that ran out; none to ``leave_out``."""
        skipped = list(leave_out)
        with self.db.connection() as connection:
            rows = connection.execute(
                "SELECT d.event, d.idx, d.url, d.attempts, e.doc FROM alert_deliveries d JOIN alert_events e "
                "ON e.id = d.event WHERE ((d.status = 'queued' AND d.next_at <= ?) "
                "OR (d.status = 'sending' AND d.lease_until <= ?)) "
                f"AND d.url NOT IN ({', '.join('?' * len(skipped))}) "
                "ORDER BY d.next_at, d.event, d.idx LIMIT ?",
                (epoch_millis(now), epoch_millis(now), *skipped, limit),
            ).fetchall()
        return [
            {"event": bson.decode(doc), "index": index, "url": url, "attempts": attempts}
            for _, index, url, attempts, doc in rows
        ]

    def claim(self, event: str, index: int, now: datetime, until: datetime) -> bool:
        """Take a due delivery."""
        with self.db.write() as connection:
            taken = connection.execute(
                "UPDATE alert_deliveries SET status = 'sending', lease_until = ? WHERE event = ? AND idx = ? "
                "AND ((status = 'queued' AND next_at <= ?) OR (status = 'sending' AND lease_until <= ?))",
                (epoch_millis(until), event, index, epoch_millis(now), epoch_millis(now)),
            ).rowcount
        return taken == 1

    def record(self, event: str, index: int, outcome: dict, lease: datetime) -> bool:
        """Write how a delivery went, if the claim is still this process's."""
        with self.db.write() as connection:
            return (
                connection.execute(
                    "UPDATE alert_deliveries SET status = ?, attempts = ?, next_at = ?, last_error = ?, "
                    "delivered_at = ?, lease_until = NULL WHERE event = ? AND idx = ? AND lease_until = ?",
                    (
                        outcome["status"],
                        outcome["attempts"],
                        epoch_millis(outcome["next_at"]),
                        outcome.get("last_error"),
                        _ms(outcome.get("delivered_at")),
                        event,
                        index,
                        epoch_millis(lease),
                    ),
                ).rowcount
                == 1
            )

    def prune(self, keep: int = EVENTS_KEPT) -> int:
        """Keep each rule's newest events, and every event with a delivery still to make."""
        with self.db.write() as connection:
            old = (
                "SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY rule ORDER BY at DESC, id DESC) "
                "AS n FROM alert_events) WHERE n > ? AND id NOT IN "
                "(SELECT event FROM alert_deliveries WHERE status IN ('queued', 'sending'))"
            )
            connection.execute(f"DELETE FROM alert_deliveries WHERE event IN ({old})", (keep,))
            return connection.execute(f"DELETE FROM alert_events WHERE id IN ({old})", (keep,)).rowcount


def _delivery(row) -> dict:
    target, status, attempts, next_at, last_error, delivered_at = row
    return {
        "target": target,
        "status": status,
        "attempts": attempts,
        "next_at": _date(next_at),
        "last_error": last_error,
        "delivered_at": _date(delivered_at),
    }
