"""The state of one rule for one sensor, and how readings and time move it (no I/O).

States: ``ok``, ``pending`` (a threshold is crossed, not yet for long
enough) and ``firing``. Only ``firing`` (from ``ok`` or ``pending``) and
``resolved`` (from ``firing`` to ``ok``) are notified; ``ok`` <-> ``pending``
is silent, as in Grafana.

Threshold rules move on readings, in the readings' own time order: a
reading older than the last one seen is ignored. A threshold that must hold
``for`` a while fires on the reading that shows it has, or on the periodic
check once that long has passed since it was crossed (the value stays what
the last reading said). Quiet rules move on the periodic check, by when the
sensor last reported (the server's clock, not the readings' timestamps: a
device's clock may be years off), and resolve as soon as a reading arrives.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from ..bsonvalues import is_number
from ..stores.alerts import State
from ..stores.base import field_value


@dataclass(frozen=True)
class Step:
    """A state and, if it is one to notify, the transition that led to it."""

    state: State
    transition: str | None = None  # "firing" or "resolved"


def _breaches(rule: dict, value) -> bool:
    return value > rule["above"] if rule.get("above") is not None else value < rule["below"]


def clears(rule: dict, value) -> bool:
    """Back past the limit by the hysteresis: what resolves a firing threshold."""
    if rule.get("above") is not None:
        return value <= rule["above"] - rule["hysteresis"]
    return value >= rule["below"] + rule["hysteresis"]


def _held(rule: dict, since: datetime, at: datetime) -> bool:
    return at - since >= timedelta(seconds=rule["for_seconds"])


def on_reading(rule: dict, state: State, reading: dict) -> Step:
    """Move on a reading of the rule's sensor (readings without a date or the number are ignored)."""
    at = reading.get("timestamp")
    if rule["kind"] == "quiet":  # it reported: whatever its time says, it is not quiet
        if state.state == "firing":
            when = at if isinstance(at, datetime) else state.last_at
            return Step(replace(state, state="ok", since=when, last_at=when, pending_since=None), "resolved")
        return Step(state)
    if not isinstance(at, datetime) or (state.last_at is not None and at <= state.last_at):
        return Step(state)
    value = field_value(reading, rule["field"])
    if not is_number(value):
        return Step(state)
    seen = replace(state, last_at=at, value=value)
    if state.state == "firing":
        if clears(rule, value):
            return Step(replace(seen, state="ok", since=at, pending_since=None), "resolved")
        return Step(seen)
    if not _breaches(rule, value):
        return Step(
            replace(seen, state="ok", since=at, pending_since=None) if state.state == "pending" else state
        )
    crossed = state.pending_since if state.state == "pending" else at
    if _held(rule, crossed, at):
        return Step(replace(seen, state="firing", since=at, pending_since=crossed), "firing")
    if state.state == "pending":
        return Step(seen)
    return Step(replace(seen, state="pending", since=at, pending_since=at))


def on_check(rule: dict, state: State, now: datetime, last_seen: datetime | None) -> Step:
    """Move on the clock: a quiet sensor fires, a long enough pending threshold fires."""
    if rule["kind"] == "quiet":
        if last_seen is None:  # never reported a dated reading: nothing to be quiet since
            return Step(state)
        quiet = _held(rule, last_seen, now)
        if quiet and state.state != "firing":
            return Step(
                replace(state, state="firing", since=now, pending_since=last_seen, last_at=last_seen),
                "firing",
            )
        if not quiet and state.state == "firing":
            return Step(
                replace(state, state="ok", since=now, pending_since=None, last_at=last_seen), "resolved"
            )
        return Step(state)
    if state.state == "pending" and _held(rule, state.pending_since, now):
        return Step(replace(state, state="firing", since=now), "firing")
    return Step(state)


def restated(rule: dict, before: State, readings: list[dict], now: datetime) -> Step:
    """Where a threshold stands by its sensor's stored readings, as a step from ``before``.

    ``readings`` are oldest first, from one that ``clears`` the rule (after
    which the state is ok whatever came before) or from as far back as was
    read. What a deleted or edited reading had moved is undone this way: a
    state never stays pinned by a reading that is no longer stored.
    """
    state = State()
    for reading in readings:
        state = on_reading(rule, state, reading).state
    state = replace(on_check(rule, state, now, None).state, version=before.version)
    if state.state == "ok" and state.value is None:  # ok keeps no value: the newest, for the event
        newest = next((r for r in reversed(readings) if is_number(field_value(r, rule["field"]))), None)
        if newest is not None:
            state = replace(state, last_at=newest["timestamp"], value=field_value(newest, rule["field"]))
    if before.state != "firing" and state.state == "firing":
        return Step(state, "firing")
    if before.state == "firing" and state.state != "firing":
        return Step(state, "resolved")
    return Step(state)


def unmoved(rule: dict, state: State, readings: list[dict], numbers: list | None = None) -> bool:
    """Whether none of these readings can move the state, in any order and at any time.

    A quiet rule that is not firing, and a threshold that is ok with no value
    past its limit, stay as they are: the engine then need not ask which of
    the readings are late (most ingest, at the cost of a look at each value).
    ``numbers``, if given, are the readings' numeric values of the rule's
    field, looked up once for every rule of that field.
    """
    if rule["kind"] == "quiet":
        return state.state != "firing"
    if state.state != "ok":
        return False
    if numbers is None:
        numbers = numeric_values(readings, rule["field"])
    return not any(_breaches(rule, value) for value in numbers)


def numeric_values(readings: list[dict], field: str) -> list:
    """The readings' values of a field that are numbers."""
    return [value for value in (field_value(reading, field) for reading in readings) if is_number(value)]


def changed(before: State, after: State) -> bool:
    """Whether a step changed more than what need not be written (a value while ok)."""
    return (before.state, before.pending_since) != (after.state, after.pending_since) or (
        after.state != "ok" and (before.last_at, before.value) != (after.last_at, after.value)
    )
