"""Every pymongo call, the collection name and the indexes.

Written for real MongoDB 5.0+ (documented operators and pymongo 4 calls only);
the embedded store (mongomock) runs the same calls.
"""

from datetime import datetime

from bson import ObjectId
from pymongo import DESCENDING, ReturnDocument
from pymongo.collection import Collection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from .validation import ListQuery

COLLECTION = "readings"
DUPLICATE_KEY = 11000
NEWEST_FIRST = [("timestamp", DESCENDING), ("_id", DESCENDING)]

# The list is sorted by (timestamp, _id) so that keyset pages are stable even
# when readings share a timestamp; the indexes carry _id so that MongoDB walks
# the index for the sort instead of sorting in memory.
INDEXES = [
    ([("sensor", 1), ("timestamp", -1), ("_id", -1)], "sensor_timestamp"),
    ([("timestamp", -1), ("_id", -1)], "timestamp"),
]


def time_filter(
    sensor: str | None = None,
    type: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> dict:
    """Build a filter; every value is a literal, never an operator."""
    query: dict = {}
    if sensor is not None:
        query["sensor"] = sensor
    if type is not None:
        query["type"] = type
    bounds = {}
    if since is not None:
        bounds["$gte"] = since
    if until is not None:
        bounds["$lt"] = until
    if bounds:
        query["timestamp"] = bounds
    return query


class ReadingStore:
    """The readings collection of one database."""

    def __init__(self, db):
        self.db = db
        self.readings: Collection = db[COLLECTION]

    def ping(self) -> None:
        """Round-trip to the server; raise if it cannot be reached."""
        self.db.command("ping")

    def create_indexes(self) -> list[str]:
        """Create the indexes the queries use; harmless when they exist."""
        return [self.readings.create_index(keys, name=name) for keys, name in INDEXES]

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
        criteria = time_filter(query.sensor, query.type, query.since, query.until)
        if query.after is not None:
            timestamp, oid = query.after
            # The $lte bound keeps the index scan tight; the $or breaks ties.
            criteria.setdefault("timestamp", {})["$lte"] = timestamp
            criteria["$or"] = [{"timestamp": {"$lt": timestamp}}, {"_id": {"$lt": oid}}]
        cursor = self.readings.find(criteria).sort(NEWEST_FIRST).limit(query.limit + 1)
        return list(cursor)

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
