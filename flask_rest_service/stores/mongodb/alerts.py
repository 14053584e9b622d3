"""Alert rules, states, events and deliveries in MongoDB.

Collections: ``rules``, ``alert_states`` (``_id``: rule and sensor),
``alert_events`` (``_id``: rule:sensor:version, deliveries inside). MongoDB
has no multi-document transaction on a standalone server, so a transition is
one update of the state's own document: the compare-and-set on ``version``
and, for a notified transition, the event in an ``outbox`` field. The event
is then inserted under its id (a second insert of the same id fails
harmlessly) and the outbox cleared; ``publish`` finishes any a dying process
left, and a state with an outbox is not moved again before it is published
(the next transition publishes it first; reading a state writes nothing).
"""

from collections.abc import Collection
from datetime import datetime

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING
from pymongo.errors import DuplicateKeyError

from ..alerts import EVENTS_KEPT, STATES_CHUNK, Alerts, State, event_id
from .indexes import ensure
from .outages import _outages

RULES, STATES, EVENTS, SERVICE = "rules", "alert_states", "alert_events", "service"
STATE_FIELDS = ("state", "since", "pending_since", "last_at", "value", "version")
DELIVERY_INDEX = "delivery_index"  # where due() puts a delivery's place in its event
# An event whose every delivery is delivered or failed: the only kind the prune may delete.
SENT = {"deliveries": {"$not": {"$elemMatch": {"status": {"$in": ["queued", "sending"]}}}}}


def _state(doc: dict | None) -> State:
    return State(**{name: doc[name] for name in STATE_FIELDS if name in doc}) if doc else State()


def _public(delivery: dict) -> dict:
    return {
        key: delivery.get(key)
        for key in ("target", "status", "attempts", "next_at", "last_error", "delivered_at")
    }


@_outages
class MongoAlerts(Alerts):
    """The alert collections of one database."""

    def __init__(self, db):
        self.rules_collection = db[RULES]
        self.states_collection = db[STATES]
        self.events_collection = db[EVENTS]
        self.service = db[SERVICE]

    def create_indexes(self) -> list[str]:
        """The history by rule and time, and deliveries by what is due."""
        names = [
            ensure(self.events_collection, [("rule", ASCENDING), ("at", DESCENDING)], "rule_at"),
            ensure(
                self.events_collection,
                [("deliveries.status", ASCENDING), ("deliveries.next_at", ASCENDING)],
                "deliveries_due",
            ),
        ]
        return [name for name in names if name]

    def _bump(self) -> None:
        self.service.update_one({"_id": "rules"}, {"$inc": {"version": 1}}, upsert=True)

    def add_rule(self, rule: dict, limit: int | None = None) -> bool:
        """Store a new rule unless ``limit`` exist: inserted, then counted, and taken back if over.

        With no transaction on a standalone server, a count before the insert
        would let racing processes each see room for one more. Counting after
        it, a rule stays only if the count, its own and every racer's
        inserted so far included, is within the limit: of the rules that
        stay, the one counted last saw all the others, so at most ``limit``
        stay (two racing for the last place may both be refused). A process
        dying between its insert and taking it back leaves one over.
        """
        self.rules_collection.insert_one(dict(rule))
        kept = limit is None or self.rules_collection.count_documents({}) <= limit
        if not kept:
            self.rules_collection.delete_one({"_id": rule["_id"]})
        self._bump()  # taken back too: a cache that read the rule meanwhile reads the rules again
        return kept

    def rules(self) -> list[dict]:
        """Every rule, oldest first."""
        return list(self.rules_collection.find({}, sort=[("_id", ASCENDING)]))

    def get_rule(self, oid: ObjectId) -> dict | None:
        """One rule, or None."""
        return self.rules_collection.find_one({"_id": oid})

    def replace_rule(self, oid: ObjectId, rule: dict) -> bool:
        """Replace a rule; whether it existed."""
        body = {key: value for key, value in rule.items() if key != "_id"}
        found = self.rules_collection.replace_one({"_id": oid}, body).matched_count == 1
        if found:
            self._bump()
        return found

    def delete_rule(self, oid: ObjectId) -> bool:
        """Delete a rule with everything that became of it."""
        gone = self.rules_collection.delete_one({"_id": oid}).deleted_count == 1
        self.states_collection.delete_many({"_id.rule": oid})
        self.events_collection.delete_many({"rule": oid})
        if gone:
            self._bump()
        return gone

    def rules_version(self) -> int:
        """Changes with every rule change."""
        doc = self.service.find_one({"_id": "rules"})
        return doc["version"] if doc else 0

    def state(self, rule_id: ObjectId, sensor: str) -> State:
        """Where a rule stands for a sensor (a read: an event left in its outbox waits for the next move)."""
        return _state(self.states_collection.find_one({"_id": {"rule": rule_id, "sensor": sensor}}))

    def states_of(self, sensor: str, rule_ids: list[ObjectId]) -> list[State]:
        """Where each of these rules stands for a sensor: a query per STATES_CHUNK rules, by ``_id``."""
        found = dict.fromkeys((rule_id.binary for rule_id in rule_ids), State())
        for start in range(0, len(rule_ids), STATES_CHUNK):
            keys = [{"rule": rule_id, "sensor": sensor} for rule_id in rule_ids[start : start + STATES_CHUNK]]
            for doc in self.states_collection.find({"_id": {"$in": keys}}):
                found[doc["_id"]["rule"].binary] = _state(doc)
        return [found[rule_id.binary] for rule_id in rule_ids]

    def states(self) -> list[tuple[ObjectId, str, State]]:
        """Every written state."""
        return [
            (doc["_id"]["rule"], doc["_id"]["sensor"], _state(doc)) for doc in self.states_collection.find()
        ]

    def restart_states(self, rule_id: ObjectId) -> None:
        """Put a rule back at ok everywhere, its versions still increasing.

        An event still in a state's outbox is published first (it happened).
        A state that a transition racing the edit moves meanwhile keeps that
        move, as if it had come a moment before the edit.
        """
        for doc in self.states_collection.find({"_id.rule": rule_id, "outbox": {"$exists": True}}):
            self._publish(doc)
        self.states_collection.update_many(
            {"_id.rule": rule_id, "outbox": {"$exists": False}},
            {
                "$set": {"state": "ok", "since": None, "pending_since": None, "last_at": None, "value": None},
                "$inc": {"version": 1},
            },
        )

    def transition(
        self, rule_id: ObjectId, sensor: str, before: State, after: State, event: dict | None
    ) -> bool:
        """Compare-and-set the state document, the event in its outbox; then publish it."""
        key = {"rule": rule_id, "sensor": sensor}
        version = before.version + 1
        fields = {name: getattr(after, name) for name in STATE_FIELDS if name != "version"}
        fields["version"] = version
        if event is not None:
            fields["outbox"] = {
                "_id": event_id(rule_id, sensor, version),
                "rule": rule_id,
                "sensor": sensor,
                **event,
            }
        if before.version == 0:
            try:
                self.states_collection.insert_one({"_id": key, **fields})
            except DuplicateKeyError:
                return False
        else:
            unmoved = {"_id": key, "version": before.version, "outbox": {"$exists": False}}
            moved = self.states_collection.update_one(unmoved, {"$set": fields})
            if moved.matched_count != 1 and self._publish_left(key, before.version):
                moved = self.states_collection.update_one(unmoved, {"$set": fields})
            if moved.matched_count != 1:
                return False
        if event is not None:
            self._publish({"_id": key, "outbox": fields["outbox"]})
        return True

    def _publish_left(self, key: dict, version: int) -> bool:
        """Publish the event a dying process left in this state at this version; whether there was one."""
        doc = self.states_collection.find_one({"_id": key, "version": version, "outbox": {"$exists": True}})
        if doc is None:
            return False
        self._publish(doc)
        return True

    def _publish(self, doc: dict) -> None:
        outbox = doc["outbox"]
        try:
            self.events_collection.insert_one(outbox)
        except DuplicateKeyError:
            pass  # published already, by this process or another
        self.states_collection.update_one(
            {"_id": doc["_id"], "outbox._id": outbox["_id"]}, {"$unset": {"outbox": ""}}
        )

    def publish(self) -> int:
        """Publish every event an interrupted transition left in its state."""
        waiting = list(self.states_collection.find({"outbox": {"$exists": True}}))
        for doc in waiting:
            self._publish(doc)
        return len(waiting)

    def events(self, rule_id: ObjectId, limit: int) -> list[dict]:
        """A rule's events, newest first."""
        found = self.events_collection.find(
            {"rule": rule_id}, sort=[("at", DESCENDING), ("_id", DESCENDING)], limit=limit
        )
        return [{**doc, "deliveries": [_public(d) for d in doc["deliveries"]]} for doc in found]

    def due(self, now: datetime, limit: int, leave_out: Collection[str] = ()) -> list[dict]:
        """Deliveries queued and due, or claimed with a lease that ran out, none to ``leave_out``:
        by next_at, event, index."""
        queued = {"status": "queued", "next_at": {"$lte": now}}
        stale = {"status": "sending", "lease_until": {"$lte": now}}
        each = [{f"deliveries.{key}": value for key, value in due.items()} for due in (queued, stale)]
        pipeline = [
            # The events holding one (the deliveries_due index), then each due delivery on its own.
            {"$match": {"$or": [{"deliveries": {"$elemMatch": due}} for due in (queued, stale)]}},
            {"$unwind": {"path": "$deliveries", "includeArrayIndex": DELIVERY_INDEX}},
            {"$match": {"$or": each, "deliveries.url": {"$nin": list(leave_out)}}},
            {"$sort": {"deliveries.next_at": ASCENDING, "_id": ASCENDING, DELIVERY_INDEX: ASCENDING}},
            {"$limit": limit},
        ]
        found = []
        for doc in self.events_collection.aggregate(pipeline):
            delivery, index = doc.pop("deliveries"), doc.pop(DELIVERY_INDEX)
            found.append(
                {"event": doc, "index": index, "url": delivery["url"], "attempts": delivery["attempts"]}
            )
        return found

    def claim(self, event: str, index: int, now: datetime, until: datetime) -> bool:
        """Take a due delivery: one update whose filter only matches while it is still due."""
        at = f"deliveries.{index}"
        taken = self.events_collection.update_one(
            {
                "_id": event,
                "$or": [
                    {f"{at}.status": "queued", f"{at}.next_at": {"$lte": now}},
                    {f"{at}.status": "sending", f"{at}.lease_until": {"$lte": now}},
                ],
            },
            {"$set": {f"{at}.status": "sending", f"{at}.lease_until": until}},
        )
        return taken.modified_count == 1

    def record(self, event: str, index: int, outcome: dict, lease: datetime) -> bool:
        """Write how a delivery went, if the claim is still this process's."""
        at = f"deliveries.{index}"
        fields = {
            f"{at}.{name}": outcome.get(name)
            for name in ("status", "attempts", "next_at", "last_error", "delivered_at")
        }
        fields[f"{at}.lease_until"] = None
        return (
            self.events_collection.update_one(
                {"_id": event, f"{at}.lease_until": lease}, {"$set": fields}
            ).modified_count
            == 1
        )

    def prune(self, keep: int = EVENTS_KEPT) -> int:
        """Keep each rule's newest events, and every event with a delivery still to make."""
        gone = 0
        for rule_id in self.events_collection.distinct("rule"):
            old = self.events_collection.find(
                {"rule": rule_id}, {"_id": 1}, sort=[("at", DESCENDING), ("_id", DESCENDING)], skip=keep
            )
            ids = [doc["_id"] for doc in old]
            if ids:
                # Checked again in the delete: a delivery queued meanwhile keeps its event.
                gone += self.events_collection.delete_many({"_id": {"$in": ids}, **SENT}).deleted_count
        return gone
