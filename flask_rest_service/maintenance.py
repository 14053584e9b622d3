"""The store's set-up at start-up: tables, indexes, summaries (``store.init``).

At start-up (``CREATE_INDEXES``, on by default) an unreachable database is
not fatal: the service starts, warns, and tries again on a later request, at
most once every ``RETRY_SECONDS``. (The SQLite store also creates its schema
on first use, whatever the setting.)
"""

import time

from flask import Flask, current_app

from .stores import StoreUnavailable

RETRY_SECONDS = 30


def init_app(app: Flask) -> None:
    """Set the store up now if configured; if the database is away, later."""
    app.extensions["init_due"] = 0.0 if app.config["CREATE_INDEXES"] else None
    _try_init(app)
    app.before_request(_retry_init)


def _try_init(app: Flask) -> None:
    due = app.extensions["init_due"]
    if due is None or time.monotonic() < due:
        return
    try:
        app.extensions["store"].init()
    except StoreUnavailable as error:
        app.extensions["init_due"] = time.monotonic() + RETRY_SECONDS
        app.logger.warning(
            "could not set the store up (%s); the service runs and will try again", error.reason()
        )
    else:
        app.extensions["init_due"] = None


def _retry_init() -> None:
    _try_init(current_app._get_current_object())
