"""The MongoDB store: Atlas, Heroku, and anyone past one machine.

Written for real MongoDB 5.0+ with documented operators and pymongo 4 calls
only; tests run it on stock mongomock, and on a real server when
``TEST_MONGO_URL`` is set. Every driver error that means the database is
away becomes ``StoreUnavailable`` (``_outages``).

The per-sensor count for ``GET /sensors/`` lives in ``sensor_summaries``,
kept by each write with ``$inc`` (so concurrent writers never lose an
increment); first and last dates come from the two ends of the
``(sensor, timestamp)`` index. MongoDB has no transaction here (a standalone
server has none), so a process that dies between a write and its ``$inc``
leaves the count off by that write: ``flask init-db --recount`` counts again.
"""

import pymongo

from ..base import Store
from .alerts import MongoAlerts
from .keys import MongoKeys, MongoLeases
from .outages import _outages
from .readings import SERVICE, SUMMARIES, SUMMARY_VERSION, MongoReadings


@_outages
class MongoStore(Store):
    """A MongoDB database holding readings, keys, summaries and leases."""

    kind = "mongodb"
    accepts_any_id = True

    def __init__(self, db, request_timeout_ms: int = 4000, maintenance_timeout_ms: int = 3_600_000):
        self.db = db
        self.name = db.name
        self.location = f"database {db.name!r}"
        self.budget = request_timeout_ms / 1000  # MONGO_REQUEST_TIMEOUT_MS
        self.maintenance_budget = maintenance_timeout_ms / 1000  # MONGO_MAINTENANCE_TIMEOUT_MS
        self.readings = MongoReadings(db)
        self.keys = MongoKeys(db)
        self.leases = MongoLeases(db)
        self.alerts = MongoAlerts(db)

    def ping(self) -> None:
        """Round-trip to the server."""
        self.db.command("ping")

    def deadline(self, seconds: float | None = None):
        """Every operation in the block, retries included, ends within the budget (pymongo's ``timeout``)."""
        return pymongo.timeout(min(self.budget, seconds or self.budget))

    def init(self, recount: bool = False) -> list[str]:
        """Create the indexes; build the sensor summary the first time (or count again).

        Its own deadline, ``MONGO_MAINTENANCE_TIMEOUT_MS``, not a request's: an
        index build or a count on a large collection takes minutes, and one
        cut short by ``maxTimeMS`` is undone on the server. (Called inside a
        request's deadline, the shorter one holds: pymongo only shortens.)
        Under a deadline pymongo retries a read until it ends, so the server
        is first reached within a request's budget: a database that is away
        is an outage at once, not an hour later.
        """
        with self.deadline():
            self.ping()
        with pymongo.timeout(self.maintenance_budget):
            names = self.readings.create_indexes() + self.keys.create_indexes() + self.alerts.create_indexes()
            service = self.db[SERVICE]
            if recount or service.find_one({"_id": SUMMARIES, "version": SUMMARY_VERSION}) is None:
                self.readings.recount()
                service.replace_one({"_id": SUMMARIES}, {"version": SUMMARY_VERSION}, upsert=True)
            if recount or not self.readings.undated_known():
                self.readings.look_for_undated()
        return names

    def close(self) -> None:
        """Close the client's connections."""
        self.db.client.close()
