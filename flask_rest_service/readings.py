"""Every pymongo call, the collection name and the indexes.

Written for real MongoDB 5.0+ (documented operators and pymongo 4 calls only);
the embedded store (mongomock) runs the same calls.
"""

from datetime import datetime

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.cursor import Cursor
from pymongo.errors import BulkWriteError, DuplicateKeyError

from .queries import Filters, ListQuery, StatsQuery

COLLECTION = "readings"
DUPLICATE_KEY = 11000
NEWEST_FIRST = [("timestamp", DESCENDING), ("_id", DESCENDING)]
OLDEST_FIRST = [("timestamp", ASCENDING), ("_id", ASCENDING)]
EPOCH = datetime(1970, 1, 1)
STATISTICS = ("count", "min", "max", "avg", "sum", "first", "last")
EXPORT_BATCH = 1000
RETENTION_INDEX = "retention"

# The list is sorted by (timestamp, _id) so that keyset pages are stable even
# when readings share a timestamp; the indexes carry _id so that MongoDB walks
# the index for the sort instead of sorting in memory.
INDEXES = [
    ([("sensor", 1), ("timestamp", -1), ("_id", -1)], "sensor_timestamp"),
    ([("timestamp", -1), ("_id", -1)], "timestamp"),
]


def time_filter(filters: Filters) -> dict:
    """Build a filter; every value is a literal, never an operator."""
    query: dict = {}
    if filters.sensor is not None:
        query["sensor"] = filters.sensor
    if filters.type is not None:
        query["type"] = filters.type
    bounds = {}
    if filters.since is not None:
        bounds["$gte"] = filters.since
    if filters.until is not None:
        bounds["$lt"] = filters.until
    if bounds:
        query["timestamp"] = bounds
    return query


def retention_command(seconds: int) -> dict:
    """The collMod that changes the TTL of the retention index in place."""
    return {"collMod": COLLECTION, "index": {"name": RETENTION_INDEX, "expireAfterSeconds": seconds}}


def stats_pipeline(query: StatsQuery) -> list[dict]:
    """Aggregate one numeric field into interval buckets aligned to the epoch (UTC).

    Only documented operators MongoDB has had since 4.4: date minus date is
    milliseconds, date minus milliseconds is a date, so the bucket start is
    ``timestamp - (timestamp - epoch) mod interval``.
    """
    field = f"${query.field}"
    since_epoch = {"$subtract": ["$timestamp", EPOCH]}
    bucket = {"$subtract": ["$timestamp", {"$mod": [since_epoch, query.interval_ms]}]}
    return [
        # The time and sensor terms use the (sensor, timestamp) index; $isNumber
        # leaves out strings, arrays and missing values without failing.
        {"$match": {**time_filter(query.filters), "$expr": {"$isNumber": field}}},
        {"$sort": dict(OLDEST_FIRST)},  # so that $first and $last are by time
        {
            "$group": {
                "_id": bucket,
                "count": {"$sum": 1},
                "min": {"$min": field},
                "max": {"$max": field},
                "avg": {"$avg": field},
                "sum": {"$sum": field},
                "first": {"$first": field},
                "last": {"$last": field},
            }
        },
        {"$sort": {"_id": ASCENDING}},
    ]


class ReadingStore:
    """The readings collection of one database."""

    def __init__(self, db):
        self.db = db
        self.readings: Collection = db[COLLECTION]

    def ping(self) -> None:
        """Round-trip to the server; raise if it cannot be reached."""
        self.db.command("ping")

    def create_indexes(self, retention_days: int | None = None) -> list[str]:
        """Create the indexes the queries use and set retention; harmless to repeat.

        With ``retention_days`` a TTL index lets MongoDB delete older readings;
        a changed value is applied in place (collMod); None drops it.
        """
        names = [self.readings.create_index(keys, name=name) for keys, name in INDEXES]
        current = self.readings.index_information().get(RETENTION_INDEX)
        if retention_days is None:
            if current is not None:
                self.readings.drop_index(RETENTION_INDEX)
            return names
        seconds = retention_days * 86400
        if current is not None and current.get("expireAfterSeconds") != seconds:
            try:
                self.db.command(retention_command(seconds))
                return [*names, RETENTION_INDEX]
            except NotImplementedError:  # mongomock has no collMod; MongoDB has
                self.readings.drop_index(RETENTION_INDEX)
                current = None
        if current is None:
            self.readings.create_index(
                [("timestamp", ASCENDING)], name=RETENTION_INDEX, expireAfterSeconds=seconds
            )
        return [*names, RETENTION_INDEX]

    def insert(self, readings: list[dict]) -> list[tuple[dict, bool]]:
        """Store readings; return each stored document and whether it is new.

        A reading whose ``_id`` is already stored is not stored again: the
        stored one is returned with ``False``, so device retries are safe.
        """
        docs = [reading if "_id" in reading else {"_id": ObjectId(), **reading} for reading in readings]
        if len(docs) == 1:
            try:
                self.readings.insert_one(docs[0])
            except DuplicateKeyError:
                return [(self.get(docs[0]["_id"]), False)]
            return [(docs[0], True)]
        try:
            self.readings.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            failed = error.details["writeErrors"]
            if any(item["code"] != DUPLICATE_KEY for item in failed):
                raise
            existing = {
                doc["_id"]: doc for doc in self.find_ids([docs[item["index"]]["_id"] for item in failed])
            }
            return [(existing[doc["_id"]], False) if doc["_id"] in existing else (doc, True) for doc in docs]
        return [(doc, True) for doc in docs]

    def find_ids(self, ids: list[ObjectId]):
        """Return the stored readings with these ids."""
        return self.readings.find({"_id": {"$in": ids}})

    def page(self, query: ListQuery) -> list[dict]:
        """Return up to ``limit + 1`` readings, newest first, after the cursor."""
        criteria = time_filter(query.filters)
        if query.after is not None:
            timestamp, oid = query.after
            # The $lte bound keeps the index scan tight; the $or breaks ties.
            criteria.setdefault("timestamp", {})["$lte"] = timestamp
            criteria["$or"] = [{"timestamp": {"$lt": timestamp}}, {"_id": {"$lt": oid}}]
        cursor = self.readings.find(criteria).sort(NEWEST_FIRST).limit(query.limit + 1)
        return cursor.to_list()

    def get(self, oid: ObjectId) -> dict | None:
        """Return one reading, or None."""
        return self.readings.find_one({"_id": oid})

    def replace(self, oid: ObjectId, reading: dict) -> dict | None:
        """Replace a reading's fields, keeping its id; None if there is none."""
        body = {key: value for key, value in reading.items() if key != "_id"}
        return self.readings.find_one_and_replace({"_id": oid}, body, return_document=ReturnDocument.AFTER)

    def update(self, oid: ObjectId, changes: dict, removals: list[str]) -> dict | None:
        """Set and remove top-level fields; None if there is no such reading."""
        update = {}
        if changes:  # MongoDB refuses an empty $set or $unset
            update["$set"] = changes
        if removals:
            update["$unset"] = dict.fromkeys(removals, "")
        if not update:
            return self.get(oid)
        return self.readings.find_one_and_update({"_id": oid}, update, return_document=ReturnDocument.AFTER)

    def delete(self, oid: ObjectId) -> bool:
        """Delete one reading; return whether it existed."""
        return self.readings.delete_one({"_id": oid}).deleted_count == 1

    def delete_matching(self, filters: Filters) -> int:
        """Delete the readings matching the filters; return how many."""
        return self.readings.delete_many(time_filter(filters)).deleted_count

    def latest(self, sensor: str, type: str | None = None) -> dict | None:
        """Return the newest reading of a sensor, or None."""
        return self.readings.find_one(time_filter(Filters(sensor, type)), sort=NEWEST_FIRST)

    def sensors(self) -> list[dict]:
        """Summarise each sensor: count, first and last timestamps, latest reading.

        Index-only work per sensor (distinct, count, two ends of the
        (sensor, timestamp) index) rather than a scan of every reading.
        """
        summaries = []
        for name in sorted(self.readings.distinct("sensor", {"sensor": {"$type": "string"}})):
            latest = self.latest(name)
            if latest is None:  # deleted since distinct ran
                continue
            first = self.readings.find_one({"sensor": name}, {"timestamp": 1}, sort=OLDEST_FIRST)
            summaries.append(
                {
                    "sensor": name,
                    "count": self.readings.count_documents({"sensor": name}),
                    "first": first["timestamp"],
                    "last": latest["timestamp"],
                    "latest": latest,
                }
            )
        return summaries

    def stats(self, query: StatsQuery) -> list[dict]:
        """Return the non-empty buckets, oldest first, computed by the server."""
        return [
            {"start": bucket["_id"], **{name: bucket[name] for name in STATISTICS}}
            for bucket in self.readings.aggregate(stats_pipeline(query))
        ]

    def export(self, filters: Filters) -> Cursor:
        """Return a cursor over the matching readings, oldest first, fetched in batches."""
        return self.readings.find(time_filter(filters)).sort(OLDEST_FIRST).batch_size(EXPORT_BATCH)
