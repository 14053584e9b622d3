"""The one path every reading takes, however it arrived; each protocol's way in is a module here.

Every way in checks readings with ``validation``, stores them with the
store's ``insert`` (resends stored once) and lets the alert rules see the new
ones. A front-end runs inside an app context (a request, or one it pushes).
"""

from flask import current_app

from .. import validation
from ..stores import StoreUnavailable
from ..stores.base import Conflict, Readings

CONFLICT_PROBLEM = {
    "field": "_id",
    "detail": "a reading with this _id is stored already, with other content: "
    "a resend must be the same reading (its timestamp aside)",
}


def store() -> Readings:
    """Return this app's readings, whichever engine holds them."""
    return current_app.extensions["store"].readings


def limits() -> validation.Limits:
    """Return the request limits configured for this app."""
    config = current_app.config
    return validation.Limits(
        config["MAX_BATCH_SIZE"],
        config["MAX_READING_DEPTH"],
        config["MAX_READING_BYTES"],
        config["MAX_FUTURE_SECONDS"],
    )


def insert(readings: list[dict]) -> list[tuple[dict, bool]]:
    """Store checked readings (all or, on ``Conflict``, none); let the rules see the new ones."""
    stored = store().insert(readings)
    alert([doc for doc, created in stored if created])
    return stored


def store_each(checked: list[tuple[dict, validation.Problems]]) -> list[tuple[dict, bool] | None]:
    """Store every reading that has no problems; return (document, new) for each, None where refused.

    A reading whose ``_id`` is another reading's gets that problem added and
    is refused; the others are stored.
    """
    valid = [reading for reading, problems in checked if not problems]
    try:
        inserted = insert(valid) if valid else []
    except Conflict as conflict:  # those are rejected; the others are stored
        for reading, problems in checked:
            if not problems and reading.get("_id") in conflict.ids:
                problems.add(CONFLICT_PROBLEM)
        valid = [reading for reading, problems in checked if not problems]
        inserted = insert(valid) if valid else []
    stored = iter(inserted)
    return [None if problems else next(stored) for _, problems in checked]


def alert(new: list[dict]) -> None:
    """Let the alert rules see new readings; they are stored, so a failure here is only logged.

    The answer says whether the readings were stored, and they were: a 5xx
    now would have the device send them again.
    """
    try:
        current_app.extensions["alerts"].on_readings(new)
    except StoreUnavailable as error:
        current_app.logger.warning("alert rules not evaluated on %d readings (%s)", len(new), error.reason())
    except Exception:
        current_app.logger.exception("alert rules not evaluated on %d readings", len(new))
