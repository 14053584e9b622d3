"""Alerts at work: evaluate rules on ingest and on the clock, and deliver what they notify.

- ``on_readings``: right after readings are stored, threshold rules move on
  them (and quiet alerts resolve). The rules are cached per process and read
  again when the store's rules version changes (looked at no more than every
  ``RULES_CACHE_SECONDS``, or at once after a change here) into an index by
  sensor and prefix (``index.RuleIndex``): with no rule for a sensor this
  costs a few dictionary look-ups a sensor, however many rules there are,
  and the states of a sensor's rules are read in one query.
- ``check``: on the periodic jobs' clock (one process at a time, under the
  jobs' lease), quiet rules and thresholds held long enough fire, and quiet
  sensors that reported again resolve.
- ``deliver``: in every web process's delivery thread, never in a request:
  each due delivery is claimed (so only one process sends it), sent, and
  recorded; a failure is tried again later (``BACKOFF_SECONDS``), until
  ``len(BACKOFF_SECONDS) + 1`` tries in all. Each target's deliveries go to a
  thread of a bounded pool (``pool.py``), so a slow receiver holds up only its
  own; each send has one deadline for all of it, and its claim outlasts that.

Every state change goes through ``Alerts.transition`` (compare-and-set on
the state's version): of two processes seeing the same change, one writes it
with its event; the other reads the state again and finds nothing to do.
"""

import logging
import threading
import time
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta

from ..bsonvalues import is_number, utc_now
from ..config import INTEGER_SETTINGS
from ..stores import Position, StoreUnavailable
from ..stores.alerts import State
from ..stores.base import Filters, field_value
from . import machine, notify, targets
from .index import RuleIndex
from .pool import TargetPool
from .rules import describe, watches

log = logging.getLogger(__name__)
RULES_CACHE_SECONDS = 5
BACKOFF_SECONDS = (30, 120, 600, 1800, 3600)
# A claim lasts the send's deadline (ALERTS_DELIVERY_TIMEOUT_SECONDS) and this much more (name
# resolution, which the deadline does not cut, and the outcome's write): while its send may still
# be running, no other process takes a delivery over.
LEASE_MARGIN_SECONDS = 60
DELIVERY_POLL_SECONDS = 5
DELIVERY_BATCH = 50  # deliveries claimed per query; a full batch is followed at once by the next
TRIES = 3  # compare-and-set attempts before leaving a change to the next reading or check
REPLAY_LIMIT = 10_000  # readings read back to re-derive a state after an edit or delete
REPLAY_BATCH = 500


class Engine:
    """The alert rules of one app's store, and what they do."""

    def __init__(
        self,
        store,
        allow_link_local: bool = False,
        clock=utc_now,
        delivery_timeout: float = INTEGER_SETTINGS["ALERTS_DELIVERY_TIMEOUT_SECONDS"][0],
        delivery_threads: int = INTEGER_SETTINGS["ALERTS_DELIVERY_THREADS"][0],
    ):
        self.store = store
        self.allow_link_local = allow_link_local
        self.clock = clock
        self.wakeup = threading.Event()  # set when a notification is waiting, or a target's sends end
        self.delivery_timeout = delivery_timeout
        self._pool = TargetPool(delivery_threads, self.wakeup)
        self._version: int | None = None
        self._checked = float("-inf")
        self._index = RuleIndex(())
        self._lock = threading.Lock()

    # --- the rules, cached ----------------------------------------------------

    def invalidate(self) -> None:
        """Read the rules again before the next use (a rule changed here).

        Under the lock: a thread reading the rules meanwhile (from before the
        change) would otherwise mark them fresh after this, for RULES_CACHE_SECONDS.
        """
        with self._lock:
            self._checked = float("-inf")

    def _refresh(self) -> None:
        if time.monotonic() - self._checked < RULES_CACHE_SECONDS:
            return
        with self._lock:
            if time.monotonic() - self._checked < RULES_CACHE_SECONDS:
                return  # another thread read them while this one waited
            version = self.store.alerts.rules_version()
            if version != self._version:
                rules = self.store.alerts.rules()
                self._index, self._version = RuleIndex(rule for rule in rules if rule["enabled"]), version
            self._checked = time.monotonic()

    def matching(self, sensor: str) -> list[dict]:
        """The enabled rules that watch a sensor."""
        self._refresh()
        return self._watching(sensor)

    def _watching(self, sensor: str) -> list[dict]:
        return self._index.watching(sensor)

    def _any(self) -> bool:
        self._refresh()
        return bool(self._index)

    # --- moving states -----------------------------------------------------------

    def _move(self, rule: dict, sensor: str, step_of, before: State | None = None) -> None:
        """Apply ``step_of(state)`` to a rule's state for a sensor; a rule that fails is logged and left.

        One rule the engine cannot evaluate (a stored rule of another version,
        a bug) must not stop the rules after it, nor fail the ingest that
        stored the reading: an outage is still raised, the rest logged.
        ``before``, if given, is the state as read already (with the other
        rules' of the sensor); a retry reads it again.
        """
        try:
            self._compare_and_set(rule, sensor, step_of, before)
        except StoreUnavailable:
            raise
        except Exception:
            log.exception(
                "alert rule %s (%r) on %r failed; the other rules go on",
                rule.get("_id"),
                rule.get("name"),
                sensor,
            )

    def _compare_and_set(self, rule: dict, sensor: str, step_of, before: State | None = None) -> None:
        for _ in range(TRIES):
            if before is None:
                before = self.store.alerts.state(rule["_id"], sensor)
            step = step_of(before)
            if not machine.changed(before, step.state):
                return
            event = self._event(rule, sensor, step) if step.transition else None
            if self.store.alerts.transition(rule["_id"], sensor, before, step.state, event):
                if event is not None:
                    self.wakeup.set()
                return
            before = None  # moved meanwhile: read it again
        log.warning(
            "alert %s for %r: still contended after %d tries; the next reading or check moves it",
            rule["_id"],
            sensor,
            TRIES,
        )

    def _event(self, rule: dict, sensor: str, step: machine.Step) -> dict:
        now = self.clock()
        return {
            "rule": rule["_id"],
            "sensor": sensor,
            "transition": step.transition,
            "state": step.state.state,
            "condition": describe(rule),
            "value": step.state.value if rule["kind"] == "threshold" else None,
            "reading_at": step.state.last_at,
            "at": now,
            "deliveries": [_queued(url, now) for url in rule["notify"]],
        }

    def on_readings(self, readings: list[dict]) -> None:
        """Move the rules that watch these readings' sensors (after they are stored)."""
        if not self._any():
            return
        by_sensor: dict[str, list[dict]] = defaultdict(list)
        for reading in readings:
            sensor = reading.get("sensor")
            if isinstance(sensor, str):
                by_sensor[sensor].append(reading)
        for sensor, batch in by_sensor.items():
            rules = self._watching(sensor)
            if not rules:
                continue
            batch.sort(key=lambda reading: reading.get("timestamp") or datetime.min)
            floor = _Once(lambda sensor=sensor, batch=batch: self._newest_before(sensor, batch))
            states = self.store.alerts.states_of(sensor, [rule["_id"] for rule in rules])
            numbers: dict[str, list] = {}  # by field, for all the rules of that field
            for rule, before in zip(rules, states, strict=True):
                if _unmoved(rule, before, batch, numbers):
                    continue  # what _fold would find first, without the calls: most ingest, most rules
                self._move(
                    rule,
                    sensor,
                    lambda state, rule=rule, batch=batch, floor=floor: _fold(rule, state, batch, floor),
                    before,
                )

    def on_changed(self, sensors: Iterable) -> None:
        """Re-derive the thresholds' states of these sensors from what is stored (after an edit or delete)."""
        if not self._any():
            return
        now = self.clock()
        for sensor in {sensor for sensor in sensors if isinstance(sensor, str)}:
            for rule in self._watching(sensor):
                if rule["kind"] == "threshold":
                    self._move(
                        rule,
                        sensor,
                        lambda before, rule=rule, sensor=sensor: machine.restated(
                            rule, before, self._history(rule, sensor), now
                        ),
                    )

    def on_deleted(self, filters: Filters) -> None:
        """Re-derive the states whose newest reading may have been among those deleted in bulk."""
        if not self._any():
            return
        self.on_changed(
            sensor
            for _, sensor, state in self.store.alerts.states()
            if state.last_at is not None
            and (filters.sensor is None or sensor == filters.sensor)
            and (filters.since is None or state.last_at >= filters.since)
            and (filters.until is None or state.last_at < filters.until)
        )

    def _history(self, rule: dict, sensor: str) -> list[dict]:
        """The sensor's dated readings, oldest first, from the newest back to one that clears the rule
        (at most ``REPLAY_LIMIT``)."""
        found: list[dict] = []
        after = None
        while len(found) < REPLAY_LIMIT:
            batch = self.store.readings.slice(Filters(sensor), after, REPLAY_BATCH, descending=True)
            for doc in batch:
                if not isinstance(doc.get("timestamp"), datetime):  # the undated come last, and never count
                    return found[::-1]
                found.append(doc)
                value = field_value(doc, rule["field"])
                if is_number(value) and machine.clears(rule, value):
                    return found[::-1]
            if len(batch) < REPLAY_BATCH:
                break
            after = Position.of(batch[-1])
        return found[::-1]

    def _newest_before(self, sensor: str, batch: list[dict]) -> datetime | None:
        """The time of the sensor's newest reading stored before this batch of its readings (a
        state written only when it changes does not know it): a reading older than that is late,
        and left out."""
        ids = {reading["_id"] for reading in batch}
        for doc in self.store.readings.slice(Filters(sensor), None, len(ids) + 1, descending=True):
            if doc["_id"] not in ids:
                at = doc.get("timestamp")
                return at if isinstance(at, datetime) else None
        return None

    def check(self, now: datetime | None = None) -> None:
        """Move what the clock moves: quiet sensors, thresholds held long enough."""
        now = now or self.clock()
        self.store.alerts.publish()
        rules = [rule for rule in self.store.alerts.rules() if rule["enabled"]]
        if any(rule["kind"] == "quiet" for rule in rules):
            # When each last reported by this server's clock; before version 2.0 that
            # was not kept, and its newest reading's time stands in.
            last_seen = {
                entry["sensor"]: entry.get("reported") or entry["last"]
                for entry in self.store.readings.sensors()
            }
        for rule in rules:
            if rule["kind"] == "quiet":
                for sensor, last in last_seen.items():
                    if watches(rule, sensor):
                        self._move(
                            rule,
                            sensor,
                            lambda state, rule=rule, last=last: machine.on_check(rule, state, now, last),
                        )
        by_id = {rule["_id"]: rule for rule in rules if rule["kind"] == "threshold"}
        for rule_id, sensor, state in self.store.alerts.states():
            if rule_id in by_id and state.state == "pending":
                rule = by_id[rule_id]
                self._move(rule, sensor, lambda state, rule=rule: machine.on_check(rule, state, now, None))

    # --- delivering -----------------------------------------------------------------

    @property
    def lease_seconds(self) -> float:
        """How long a claimed delivery is this process's: longer than its send can last."""
        return self.delivery_timeout + LEASE_MARGIN_SECONDS

    def deliver(self, now: datetime | None = None, limit: int = DELIVERY_BATCH) -> int:
        """Send the deliveries that are due, each target's in a thread of the pool; wait for them; how
        many were tried."""
        futures, _ = self._dispatch(now or self.clock(), limit, room=None)
        return sum(future.result() for future in futures)

    def deliver_due(self) -> int:
        """Send everything due now, a batch at a time; how many were tried."""
        total = 0
        while (tried := self.deliver(limit=DELIVERY_BATCH)) == DELIVERY_BATCH:
            total += tried
        return total + tried

    def run_deliveries(self, stop: threading.Event | None = None) -> None:
        """Deliver for as long as the process lives (a daemon thread's body), or until ``stop`` is set.

        The loop never waits for a send: it hands what is due to the pool and
        is woken again by a new notification, by a target's sends ending, or
        by the poll; a slow target holds up its own thread and nothing else.
        """
        stop = stop or threading.Event()
        while not stop.is_set():
            self.wakeup.wait(DELIVERY_POLL_SECONDS)
            self.wakeup.clear()
            if stop.is_set():
                return
            try:
                self._start_due()
            except StoreUnavailable as error:
                log.warning("alert deliveries: %s; trying again shortly", error.reason())
            except Exception:
                log.exception("alert deliveries failed; trying again shortly")

    def _start_due(self) -> None:
        """Hand everything due to the pool, as long as it has room, without waiting."""
        while (room := self._pool.room()) > 0:
            futures, seen = self._dispatch(self.clock(), DELIVERY_BATCH, room)
            for future in futures:
                future.add_done_callback(_log_failure)
            if seen < DELIVERY_BATCH:
                return

    def _dispatch(self, now: datetime, limit: int, room: int | None):
        """Start sending the due deliveries, by target, to at most ``room`` targets (None: any number)
        not being sent to already; the futures of those started, and how many deliveries were due."""
        due = self.store.alerts.due(now, limit, self._pool.busy())
        by_target: dict[str, list[dict]] = {}
        for delivery in due:
            by_target.setdefault(delivery["url"], []).append(delivery)
        futures = []
        for url, deliveries in by_target.items():
            if room is not None and len(futures) >= room:
                break
            future = self._pool.start(url, lambda deliveries=deliveries: self._send_each(deliveries))
            if future is not None:
                futures.append(future)
        return futures, len(due)

    def _send_each(self, deliveries: list[dict]) -> int:
        """Claim, send and record one target's deliveries, in turn; how many were tried."""
        tried = 0
        rules = {}
        for due in deliveries:
            event, index = due["event"], due["index"]
            # Each claim's lease runs from its own moment, however slow the ones before it were.
            claimed = self.clock()
            lease = claimed + timedelta(seconds=self.lease_seconds)
            if not self.store.alerts.claim(event["_id"], index, claimed, lease):
                continue  # another process has it
            rule = rules.get(event["rule"]) or rules.setdefault(
                event["rule"], self.store.alerts.get_rule(event["rule"])
            )
            failure = (
                "the rule was deleted"
                if rule is None
                else notify.send(
                    due["url"], rule, event, self.clock(), self.allow_link_local, self.delivery_timeout
                )
            )
            self.store.alerts.record(
                event["_id"], index, _outcome(due["attempts"] + 1, failure, self.clock()), lease
            )
            tried += 1
        return tried


def _log_failure(future) -> None:
    error = future.exception()
    if isinstance(error, StoreUnavailable):
        log.warning("alert deliveries: %s; trying again shortly", error.reason())
    elif error is not None:
        log.error("alert deliveries to a target failed; trying again shortly", exc_info=error)


class _Once:
    """A value computed on first use, then kept (the floor of a sensor, for all its rules)."""

    def __init__(self, compute):
        self._compute, self._done, self._value = compute, False, None

    def __call__(self):
        if not self._done:
            self._value, self._done = self._compute(), True
        return self._value


def _fold(rule: dict, state: machine.State, readings: list[dict], floor) -> machine.Step:
    """Run a batch of readings through the machine; notify the change from its start to its end.

    A threshold leaves out readings older than ``floor()`` (the sensor's
    newest before the batch: they are late), a store query asked only when
    some reading could move the state. Firing and resolving within one
    batch tells no one anything: what is notified is ``firing`` if it ends
    firing and did not start so, and ``resolved`` if it started firing and
    does not end so.
    """
    if machine.unmoved(rule, state, readings):
        return machine.Step(state)
    if rule["kind"] == "threshold" and (at := floor()) is not None:
        readings = [reading for reading in readings if not _before(reading, at)]
    start = state
    for reading in readings:
        state = machine.on_reading(rule, state, reading).state
    if start.state != "firing" and state.state == "firing":
        return machine.Step(state, "firing")
    if start.state == "firing" and state.state != "firing":
        return machine.Step(state, "resolved")
    return machine.Step(state)


def _unmoved(rule: dict, state: State, readings: list[dict], numbers: dict[str, list]) -> bool:
    """``machine.unmoved``, the readings' numbers of each field looked up once (kept in ``numbers``);
    False for a rule it cannot read (``_move`` then logs why)."""
    try:
        field = rule.get("field")
        if field is not None and field not in numbers:
            numbers[field] = machine.numeric_values(readings, field)
        return machine.unmoved(rule, state, readings, numbers.get(field))
    except Exception:
        return False


def _before(reading: dict, floor: datetime) -> bool:
    at = reading.get("timestamp")
    return isinstance(at, datetime) and at < floor


def _queued(url: str, now: datetime) -> dict:
    return {
        "url": url,
        "target": targets.shown(url),
        "status": "queued",
        "attempts": 0,
        "next_at": now,
        "lease_until": None,
        "last_error": None,
        "delivered_at": None,
    }


def _outcome(attempts: int, failure: str | None, now: datetime) -> dict:
    if failure is None:
        return {
            "status": "delivered",
            "attempts": attempts,
            "next_at": now,
            "delivered_at": now,
            "last_error": None,
        }
    if attempts > len(BACKOFF_SECONDS):
        return {"status": "failed", "attempts": attempts, "next_at": now, "last_error": failure}
    return {
        "status": "queued",
        "attempts": attempts,
        "next_at": now + timedelta(seconds=BACKOFF_SECONDS[attempts - 1]),
        "last_error": failure,
    }
