"""The ``readings`` collection and its ``sensor_summaries``."""

import logging
import math
from collections import Counter
from datetime import datetime, timedelta

import bson
from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.errors import (
    BulkWriteError,
    DuplicateKeyError,
    WriteConcernError,
)

from ...bsonvalues import EPOCH, epoch_millis, is_number, utc_now
from .. import ids
from ..base import (
    DELETE_BATCH,
    EVERYTHING,
    STATISTICS,
    Budget,
    Conflict,
    Filters,
    Position,
    Readings,
    StatsQuery,
    buckets,
    field_value,
    prefix_range,
    resent,
    sum_as_mongodb,
)
from .indexes import ensure
from .outages import DUPLICATE_KEY, _outages, _unavailable

READINGS, KEYS, SUMMARIES, LEASES, SERVICE = "readings", "api_keys", "sensor_summaries", "leases", "service"
NEWEST_FIRST = [("timestamp", DESCENDING), ("_id", DESCENDING)]
OLDEST_FIRST = [("timestamp", ASCENDING), ("_id", ASCENDING)]
# The indexes carry _id after timestamp because pages are by (timestamp, _id):
# MongoDB then walks the index for the sort instead of sorting in memory.
INDEXES = [
    ([("sensor", 1), ("timestamp", -1), ("_id", -1)], "sensor_timestamp"),
    ([("timestamp", -1), ("_id", -1)], "timestamp"),
    ([("type", 1), ("timestamp", -1), ("_id", -1)], "type_timestamp"),  # ?type= without a sensor
]
# The TTL index of versions before 1.1; retention is now done by jobs.py (so
# that the summary stays right), and init() drops it.
OLD_RETENTION_INDEX = "retention"
SUMMARY_VERSION = 1
# Not one date (missing, null, another type, an array): such a reading (only
# 2014-era collections, or a copy from one, hold them) is listed after the
# dated ones. The filter cannot use an index (a negated $type never does), so
# whether any may exist is kept in the service collection, and the query is
# only sent when one may: init looks once (a scan, under the maintenance
# deadline), and every write of an undated reading marks it.
NOT_ONE_DATE = {"$nor": [{"timestamp": {"$type": "date", "$not": {"$type": "array"}}}]}
UNDATED = "undated"
# Readings a reply holds when a slice has a byte budget: what a page or an
# export batch holds in memory before the budget is looked at (64 KB readings:
# 3 MB), against a round trip per this many small readings.
BUDGET_BATCH = 50
log = logging.getLogger(__name__)


def time_filter(filters: Filters, dated: bool = False) -> dict:
    """Build a filter; every value is a literal, never an operator."""
    query: dict = {}
    # The name itself, not an array holding it (which equality matches too):
    # as on SQLite, whose sensor and type columns hold only a string.
    if filters.sensor is not None:
        query["sensor"] = {"$eq": filters.sensor, "$not": {"$type": "array"}}
    if filters.type is not None:
        query["type"] = {"$eq": filters.type, "$not": {"$type": "array"}}
    # A date, not an array holding one (which $type and the range operators
    # match too): such a document from an older collection is undated, as on
    # SQLite; it has no one time to page by, and fails the stats' date arithmetic.
    bounds: dict = {"$type": "date"} if dated else {}
    if filters.since is not None:
        bounds["$gte"] = filters.since
    if filters.until is not None:
        bounds["$lt"] = filters.until
    if bounds:
        query["timestamp"] = {**bounds, "$not": {"$type": "array"}}
    return query


def stats_pipeline(query: StatsQuery) -> list[dict]:
    """Aggregate one numeric field into interval buckets aligned to the epoch (UTC).

    Only documented operators MongoDB has had since 4.4: date minus date is
    milliseconds, date minus milliseconds is a date. ``$mod`` keeps the sign
    of the dividend, so ``((ms mod step) + step) mod step`` is the floored
    remainder, right before 1970 too.
    """
    field = f"${query.field}"
    step = query.interval_ms
    since_epoch = {"$subtract": ["$timestamp", EPOCH]}
    remainder = {"$mod": [{"$add": [{"$mod": [since_epoch, step]}, step]}, step]}
    return [
        {"$match": _stats_match(query)},
        {"$sort": dict(OLDEST_FIRST)},  # so that $first and $last are by time
        {
            "$group": {
                "_id": {"$subtract": ["$timestamp", remainder]},
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


def _stats_match(query: StatsQuery) -> dict:
    # The time and sensor terms use the (sensor, timestamp) index; $isNumber
    # leaves out strings, arrays and missing values without failing.
    return {**time_filter(query.filters, dated=True), "$expr": {"$isNumber": f"${query.field}"}}


def _sensors(docs) -> Counter:
    return Counter(doc["sensor"] for doc in docs if isinstance(doc.get("sensor"), str))


@_outages
class MongoReadings(Readings):
    """The ``readings`` collection and its ``sensor_summaries``."""

    def __init__(self, db):
        self.db = db
        self.collection = db[READINGS]
        self.summaries = db[SUMMARIES]
        self.service = db[SERVICE]

    def create_indexes(self) -> list[str]:
        """Create the indexes the queries use; drop the TTL index of older versions."""
        names = [ensure(self.collection, keys, name) for keys, name in INDEXES]
        if OLD_RETENTION_INDEX in self.collection.index_information():
            self.collection.drop_index(OLD_RETENTION_INDEX)
        return [name for name in names if name]

    def undated_may_exist(self) -> bool:
        """Whether the collection may hold a reading without one date (unknown until ``look_for_undated``)."""
        found = self.service.find_one({"_id": UNDATED})
        return found is None or found.get("exist", True)

    def undated_known(self) -> bool:
        """Whether ``look_for_undated`` has run on this database."""
        return self.service.find_one({"_id": UNDATED}) is not None

    def look_for_undated(self) -> None:
        """Look through the collection once for a reading without one date, and keep the answer.

        A write that marks one meanwhile wins: "none" is only kept if no mark
        came between the look and the keeping (``marks`` is unchanged).
        """
        marks = (self.service.find_one({"_id": UNDATED}) or {}).get("marks", 0)
        if self.collection.find_one(NOT_ONE_DATE, projection={"_id": 1}) is not None:
            self._mark_undated()
            return
        try:
            self.service.update_one({"_id": UNDATED, "marks": marks}, {"$set": {"exist": False}}, upsert=True)
        except DuplicateKeyError:
            pass  # a write marked one since: it stands

    def _mark_undated(self) -> None:
        self.service.update_one(
            {"_id": UNDATED}, {"$set": {"exist": True}, "$inc": {"marks": 1}}, upsert=True
        )

    def _note_undated(self, docs) -> None:
        """Mark, before writing them, that readings without one date are about to be stored."""
        if any(not isinstance(doc.get("timestamp"), datetime) for doc in docs):
            self._mark_undated()

    def recount(self, sensors=None) -> None:
        """Count each sensor's readings again (all sensors if None) and keep the result."""
        # A string, not an array of them (which $type matches too, and which no summary's _id can be).
        named = {"$type": "string", "$not": {"$type": "array"}}
        match = {"sensor": named if sensors is None else {"$in": sorted(sensors), **named}}
        counts = {
            group["_id"]: group["count"]
            for group in self.collection.aggregate(
                [{"$match": match}, {"$group": {"_id": "$sensor", "count": {"$sum": 1}}}]
            )
        }
        for sensor in counts:  # update, not replace: "reported" is kept
            self.summaries.update_one({"_id": sensor}, {"$set": {"count": counts[sensor]}}, upsert=True)
        gone = (
            {"_id": {"$nin": list(counts)}}
            if sensors is None
            else {"_id": {"$in": sorted(set(sensors) - set(counts))}}
        )
        self.summaries.delete_many(gone)

    def _count(self, docs, sign: int) -> None:
        """Add (or take) the readings to (from) their sensors' counts.

        The readings are written already: if the database fails now, the
        answer must still say so, and the count is off until a recount.
        """
        for sensor, count in _sensors(docs).items():
            try:
                change = {"$inc": {"count": sign * count}}
                if sign > 0:  # when the sensor last reported, by this server's clock
                    change["$max"] = {"reported": utc_now()}
                self.summaries.update_one({"_id": sensor}, change, upsert=sign > 0)
                if sign < 0:
                    self.summaries.delete_one({"_id": sensor, "count": {"$lte": 0}})
            except Exception as error:
                if _unavailable(error) is None:
                    raise
                log.warning(
                    "%r's count may be off by %d (%s): init-db --recount mends it", sensor, count, error
                )

    def _added(self, docs) -> None:
        self._count(docs, +1)

    def _resent(self, docs) -> None:
        """Readings stored already came again: their sensors reported, though nothing is new."""
        sensors = sorted(_sensors(docs))
        if sensors:
            self.summaries.update_many({"_id": {"$in": sensors}}, {"$max": {"reported": utc_now()}})

    def _removed(self, docs) -> None:
        self._count(docs, -1)

    def insert(self, readings: list[dict]) -> list[tuple[dict, bool]]:
        """Store readings; return each stored document and whether it is new.

        The client's ids are looked up first, so that a conflict stores
        nothing of the batch; one that another request stores between that
        look-up and the insert is a conflict too, though the rest of the
        batch is then stored (MongoDB has no transaction here; sending the
        batch again without it stores nothing twice).
        """
        new_ids = iter(ids.new(sum("_id" not in reading for reading in readings)))
        docs = [reading if "_id" in reading else {"_id": next(new_ids), **reading} for reading in readings]
        given = {reading["_id"]: reading for reading in readings if "_id" in reading}
        existing = self._resends(given, list(given)) if given else {}
        pending = [index for index, doc in enumerate(docs) if doc["_id"] not in existing]
        while pending:
            refused = set(self._insert([docs[index] for index in pending]))
            if not refused:
                break
            existing.update(self._resends(given, [oid for oid in refused if oid in given]))
            # A new id that met a stored one is drawn again; a client's id refused, then deleted
            # before it could be read, is stored after all.
            pending = [index for index in pending if docs[index]["_id"] in refused - existing.keys()]
            redrawn = iter(ids.new(len(pending)))
            for index in pending:
                if docs[index]["_id"] not in given:
                    docs[index] = {**docs[index], "_id": next(redrawn)}
        return [(existing[doc["_id"]], False) if doc["_id"] in existing else (doc, True) for doc in docs]

    def _resends(self, given: dict, oids: list) -> dict:
        """The stored readings of these client ids; ``Conflict`` unless each was resent as it is stored."""
        found = {doc["_id"]: doc for doc in self.collection.find({"_id": {"$in": oids}})} if oids else {}
        refused = [oid for oid, doc in found.items() if not resent(doc, given[oid])]
        if refused:
            raise Conflict(refused)
        self._resent(found.values())
        return found

    def _insert(self, docs: list[dict]) -> list[ObjectId]:
        """Insert readings and count the new ones; return the ids refused as stored already."""
        self._note_undated(docs)
        if len(docs) == 1:
            try:
                self.collection.insert_one(docs[0])
            except DuplicateKeyError:
                return [docs[0]["_id"]]
            except WriteConcernError:
                self._added(docs)  # applied on the primary: counted now, not again when resent
                raise
            self._added(docs)
            return []
        try:
            self.collection.insert_many(docs, ordered=False)
        except BulkWriteError as error:
            # Whatever else went wrong (a step-down between the server's own
            # batches fails the rest one by one), what was inserted is counted.
            failed = error.details["writeErrors"]
            refused = {item["index"] for item in failed}
            self._added([doc for index, doc in enumerate(docs) if index not in refused])
            if error.details.get("writeConcernErrors") or any(
                item["code"] != DUPLICATE_KEY for item in failed
            ):
                raise
            return [docs[index]["_id"] for index in sorted(refused)]
        self._added(docs)
        return []

    def get(self, oid: ObjectId) -> dict | None:
        """Return one reading, or None."""
        return self.collection.find_one({"_id": oid})

    def replace(self, oid: ObjectId, reading: dict) -> dict | None:
        """Replace a reading's fields, keeping its id; None if there is none."""
        body = {key: value for key, value in reading.items() if key != "_id"}
        self._note_undated([body])
        before = self.collection.find_one_and_replace(
            {"_id": oid}, body, projection={"sensor": 1}, return_document=ReturnDocument.BEFORE
        )
        if before is None:
            return None
        self._moved(before, body)
        return {"_id": oid, **body}

    def update(self, oid: ObjectId, changes: dict, removals: list[str]) -> dict | None:
        """Set and remove top-level fields; None if there is no such reading."""
        update = {}
        if changes:  # MongoDB refuses an empty $set or $unset
            update["$set"] = changes
        if removals:
            update["$unset"] = dict.fromkeys(removals, "")
        if not update:
            return self.get(oid)
        if "timestamp" in removals or (
            "timestamp" in changes and not isinstance(changes["timestamp"], datetime)
        ):
            self._mark_undated()
        if "sensor" not in changes and "sensor" not in removals:
            return self.collection.find_one_and_update(
                {"_id": oid}, update, return_document=ReturnDocument.AFTER
            )
        before = self.collection.find_one_and_update(
            {"_id": oid}, update, projection={"sensor": 1}, return_document=ReturnDocument.BEFORE
        )
        if before is None:
            return None
        after = self.get(oid)
        self._moved(before, after or {})
        return after

    def _moved(self, before: dict, after: dict) -> None:
        if before.get("sensor") != after.get("sensor"):
            self._removed([before])
            self._added([after])

    def delete(self, oid: ObjectId) -> bool:
        """Delete one reading; return whether it existed."""
        deleted = self.collection.find_one_and_delete({"_id": oid}, projection={"sensor": 1})
        if deleted is None:
            return False
        self._removed([deleted])
        return True

    def delete_matching(self, filters: Filters) -> int:
        """Delete the matching readings, a batch at a time; return how many."""
        criteria = time_filter(filters)
        total = 0
        while True:
            batch = list(self.collection.find(criteria, {"sensor": 1}, limit=DELETE_BATCH))
            if not batch:
                return total
            ids = [doc["_id"] for doc in batch]
            try:
                deleted = self.collection.delete_many({"_id": {"$in": ids}, **criteria}).deleted_count
            except WriteConcernError:
                self.recount(set(_sensors(batch)))  # how many went, only a count tells
                raise
            if deleted == len(batch):
                self._removed(batch)
            else:  # another request deleted or changed some meanwhile: which, only a count tells
                self.recount(set(_sensors(batch)))
            total += deleted
            if len(batch) < DELETE_BATCH:
                return total

    def count(self, filters: Filters = EVERYTHING) -> int:
        """Count the matching readings."""
        return self.collection.count_documents(time_filter(filters))

    def _dated(
        self,
        filters: Filters,
        after: Position | None,
        limit: int,
        descending: bool,
        budget: Budget | None = None,
    ) -> list[dict]:
        criteria = time_filter(filters, dated=True)
        if after is not None:
            op = "$lt" if descending else "$gt"
            bounds = criteria["timestamp"]
            # The $lte/$gte bound keeps the index scan tight; the $or breaks ties.
            inclusive = op + "e"
            tighter = min if descending else max
            bounds[inclusive] = tighter(bounds.get(inclusive, after.timestamp), after.timestamp)
            criteria["$or"] = [{"timestamp": {op: after.timestamp}}, {"_id": {op: after.id}}]
        return self._read(criteria, NEWEST_FIRST if descending else OLDEST_FIRST, limit, budget)

    def _undated(
        self,
        filters: Filters,
        after: ObjectId | None,
        limit: int,
        descending: bool,
        budget: Budget | None = None,
    ) -> list[dict]:
        if not self.undated_may_exist():
            return []
        criteria = {key: value for key, value in time_filter(filters).items() if key != "timestamp"}
        criteria.update(NOT_ONE_DATE)
        if after is not None:
            criteria["_id"] = {"$lt" if descending else "$gt": after}
        return self._read(criteria, [("_id", DESCENDING if descending else ASCENDING)], limit, budget)

    def _read(self, criteria: dict, sort: list, limit: int, budget: Budget | None) -> list[dict]:
        """The matching readings: all in one reply, or with a budget, a few a reply until it says stop.

        Either way no server cursor outlives the call: the whole slice comes
        in the first reply, or the cursor is closed (killed) where it stopped.
        """
        if budget is None:
            return list(self.collection.find(criteria, sort=sort, limit=limit, batch_size=limit))
        found = []
        cursor = self.collection.find(criteria, sort=sort, limit=limit, batch_size=min(limit, BUDGET_BATCH))
        try:
            for doc in cursor:
                found.append(doc)
                if budget.take(len(bson.encode(doc))):  # its size as stored: as the SQLite engine counts
                    break
        finally:
            cursor.close()
        return found

    def stats(self, query: StatsQuery) -> list[dict]:
        """Return the non-empty buckets, oldest first, computed by the server.

        The server sums doubles in IEEE 754 arithmetic: where the running sum
        leaves a double's range (1.7e308 + 1.7e308 - 1.7e308), its $sum and
        $avg come back infinite or NaN although the true ones are doubles.
        Such a bucket's sum and avg are summed here again, exactly, from its
        values (a rare second query), so both engines answer the same: the
        true values rounded, and a sum past a double's range None.
        """
        found = []
        for bucket in self.collection.aggregate(stats_pipeline(query)):
            row = {
                "start": bucket["_id"],
                **{name: bucket[name] for name in STATISTICS},
                "sum": sum_as_mongodb(bucket["sum"]),
            }
            if not (math.isfinite(row["sum"]) and math.isfinite(row["avg"])):
                row.update(self._sum_again(query, row["start"]))
            found.append(row)
        return found

    def _sum_again(self, query: StatsQuery, start: datetime) -> dict:
        """One bucket's sum and avg, summed here from its values as the SQLite engine sums them."""
        end = start + timedelta(milliseconds=query.interval_ms)
        bucket = {"$and": [_stats_match(query), {"timestamp": {"$gte": start, "$lt": end}}]}
        docs = self.collection.find(bucket, {query.field: 1, "timestamp": 1}).sort(OLDEST_FIRST)
        rows = ((epoch_millis(doc["timestamp"]), field_value(doc, query.field)) for doc in docs)
        summed = buckets(((ms, value) for ms, value in rows if is_number(value)), query.interval_ms)
        return {"sum": summed[0]["sum"], "avg": summed[0]["avg"]} if summed else {}

    def sensors(self, after: str | None = None, limit: int | None = None, prefix: str = "") -> list[dict]:
        """The sensors by name, a range of the summaries' _id: the kept count, and both ends of its index."""
        low, inclusive, high = prefix_range(prefix, after)
        names: dict = {"$type": "string"}
        if low is not None:
            names["$gte" if inclusive else "$gt"] = low
        if high is not None:
            names["$lt"] = high
        # The _id index gives the order; a summary whose readings are gone
        # (deleted since, or a count that drifted) is passed over and the
        # next one read, so a page is short only at the end. The cursor is
        # closed where the page ends: no server cursor outlives the call.
        found: list[dict] = []
        query = {"_id": names, "count": {"$gt": 0}}
        with self.summaries.find(query, sort=[("_id", ASCENDING)], batch_size=limit or 0) as summaries:
            for summary in summaries:
                if limit and len(found) == limit:
                    break
                if (sensor := self._summarised(summary)) is not None:
                    found.append(sensor)
        return found

    def _summarised(self, summary: dict) -> dict | None:
        """``summary``'s sensor with its first, last and latest reading; None if none is left."""
        sensor = summary["_id"]
        latest = self.latest(sensor)
        if latest is None:  # deleted since the summary was read
            return None
        oldest = self._dated(Filters(sensor), None, 1, descending=False)
        last = latest.get("timestamp")
        return {
            "sensor": sensor,
            "count": summary["count"],
            "first": oldest[0]["timestamp"] if oldest else None,
            "last": last if isinstance(last, datetime) else None,
            "latest": latest,
            "reported": summary.get("reported"),
        }
