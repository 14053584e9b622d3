"""The alerts' part of the store contract: rules, states, events and deliveries.

Each engine implements it beside its readings (``sqlite/alerts.py``,
``mongodb/alerts.py``); ``alerts/`` decides what to write, this only keeps it.
``State`` lives here, below both: the engines keep it, ``alerts.machine`` moves it.

The one promise that matters: ``transition`` is atomic. A state moves only
if nobody moved it first (its version is still the one read), and a
notified transition's event is written in the same change (SQLite: the same
transaction; MongoDB, which has no transaction on a standalone server: in
the state's own document, published to the events by ``publish``). So with
several workers or dynos seeing the same reading or the same quiet sensor,
one of them writes the transition, and one notification goes out.
"""

from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

from bson import ObjectId

EVENTS_KEPT = 500  # per rule: the history is bounded
STATES_CHUNK = 500  # rules per query in states_of (SQLite's bound parameters: at least 999)


@dataclass(frozen=True)
class State:
    """Where one rule stands for one sensor."""

    state: str = "ok"
    since: datetime | None = None  # when it entered this state
    pending_since: datetime | None = None  # when the threshold was crossed (pending, then firing)
    last_at: datetime | None = None  # the time of the newest reading taken into account
    value: object = None  # that reading's value of the rule's field
    version: int = 0  # bumped by every change written; 0: never written


def event_id(rule_id: ObjectId, sensor: str, version: int) -> str:
    """A transition's event id: one per rule, sensor and state version, whoever writes it."""
    return f"{rule_id}:{sensor}:{version}"


class Alerts(ABC):
    """Alert rules and what became of them."""

    # --- rules ---------------------------------------------------------------

    @abstractmethod
    def add_rule(self, rule: dict, limit: int | None = None) -> bool:
        """Store a new rule (with its ``_id``) unless ``limit`` rules exist already; whether it was stored.

        The limit holds across processes: however many add rules at once,
        no more than ``limit`` stay stored (near the limit, two racing for
        its last place may both be refused). ``None``: no limit.
        """

    @abstractmethod
    def rules(self) -> list[dict]:
        """Every rule, oldest first."""

    @abstractmethod
    def get_rule(self, oid: ObjectId) -> dict | None:
        """One rule, or None."""

    @abstractmethod
    def replace_rule(self, oid: ObjectId, rule: dict) -> bool:
        """Replace a rule (its states stay); whether it existed."""

    @abstractmethod
    def delete_rule(self, oid: ObjectId) -> bool:
        """Delete a rule with its states, events and deliveries; whether it existed."""

    @abstractmethod
    def rules_version(self) -> int:
        """A number that changes whenever a rule is added, changed or deleted."""

    # --- states --------------------------------------------------------------

    @abstractmethod
    def state(self, rule_id: ObjectId, sensor: str) -> State:
        """Where a rule stands for a sensor (``State()`` if it never moved); a read, it writes nothing."""

    def states_of(self, sensor: str, rule_ids: list[ObjectId]) -> list[State]:
        """Where each of these rules stands for a sensor, in their order (``State()`` if never moved).

        The engines answer in one query (or one per ``STATES_CHUNK`` rules),
        not one per rule: a sensor thousands of rules watch is read at once.
        """
        return [self.state(rule_id, sensor) for rule_id in rule_ids]

    @abstractmethod
    def states(self) -> list[tuple[ObjectId, str, State]]:
        """Every written state: (rule, sensor, state)."""

    @abstractmethod
    def restart_states(self, rule_id: ObjectId) -> None:
        """Put a rule back at ok for every sensor (it watches something else now), without notifying.

        Each state's version goes on increasing: an event id names a rule,
        a sensor and a version, so one made after the restart never meets
        one kept in the history from before it.
        """

    @abstractmethod
    def transition(
        self, rule_id: ObjectId, sensor: str, before: State, after: State, event: dict | None
    ) -> bool:
        """Write ``after`` if the state is still ``before``, with ``event`` if given; whether it was written.

        ``after`` is written with version ``before.version + 1``; ``event``
        (with its ``deliveries``) gets the id ``event_id(rule, sensor, that
        version)``.
        """

    def publish(self) -> int:
        """Finish the events that interrupted transitions left unpublished; how many."""
        return 0

    # --- events and deliveries ------------------------------------------------

    @abstractmethod
    def events(self, rule_id: ObjectId, limit: int) -> list[dict]:
        """A rule's events, newest first, each with its deliveries (``url`` left out)."""

    @abstractmethod
    def due(self, now: datetime, limit: int, leave_out: Collection[str] = ()) -> list[dict]:
        """Deliveries to make now: queued and due, or claimed by a process whose lease ran out.

        By ``next_at``, then event id, then index; at most ``limit``; none to
        a URL in ``leave_out`` (targets this process is sending to already,
        whose deliveries must not fill the batch and hide the others').

        Each is ``{"event": event, "index": i, "url": ..., "attempts": n}``.
        """

    @abstractmethod
    def claim(self, event: str, index: int, now: datetime, until: datetime) -> bool:
        """Take a delivery until ``until`` if it is still due; whether this process got it.

        Nobody else can take it before ``until``: the engine claims for longer
        than a send can last (its deadline plus a margin), so a delivery is
        only taken over from a process that died or lost the store meanwhile.
        """

    @abstractmethod
    def record(self, event: str, index: int, outcome: dict, lease: datetime) -> bool:
        """Write how a delivery went (status, attempts, next_at, last_error, delivered_at) if this
        process still holds it (its lease is still ``lease``); whether it did."""

    @abstractmethod
    def prune(self, keep: int = EVENTS_KEPT) -> int:
        """Keep each rule's ``keep`` newest events; how many went."""
