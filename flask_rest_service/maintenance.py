"""Indexes and retention at start-up.

At start-up (``CREATE_INDEXES``, on by default) an unreachable database is
not fatal: the service starts, warns, and tries again on a later request, at
most once every ``RETRY_SECONDS``.
"""

import time

from flask import Flask, current_app
from pymongo.errors import PyMongoError

RETRY_SECONDS = 30


def create_indexes(app: Flask) -> list[str]:
    """Create the indexes of readings and keys, and apply the retention setting."""
    app.extensions["keys"].create_indexes()
    return app.extensions["readings"].create_indexes(app.config["READINGS_RETENTION_DAYS"])


def init_app(app: Flask) -> None:
    """Create indexes now if configured; if the database is away, later."""
    app.extensions["indexes_due"] = 0.0 if app.config["CREATE_INDEXES"] else None
    _try_indexes(app)
    app.before_request(_retry_indexes)


def _try_indexes(app: Flask) -> None:
    due = app.extensions["indexes_due"]
    if due is None or time.monotonic() < due:
        return
    try:
        create_indexes(app)
    except PyMongoError as error:
        app.extensions["indexes_due"] = time.monotonic() + RETRY_SECONDS
        app.logger.warning(
            "could not create indexes (%s); the service runs and will try again", type(error).__name__
        )
    else:
        app.extensions["indexes_due"] = None


def _retry_indexes() -> None:
    _try_indexes(current_app._get_current_object())
