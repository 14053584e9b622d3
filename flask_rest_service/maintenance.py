"""The store's set-up: tables, indexes, summaries (``store.init``).

At start-up (``CREATE_INDEXES``, on by default) an unreachable database is
not fatal: the service starts, warns, and each web process's periodic jobs
try again (``jobs.py``), never a request. (The SQLite store also creates its
schema on first use, whatever the setting.)
"""

from flask import Flask

from .stores import StoreUnavailable


def init_app(app: Flask) -> None:
    """Set the store up now if configured; if the database is away, the jobs will."""
    app.extensions["init_due"] = app.config["CREATE_INDEXES"]
    try_init(app)


def try_init(app: Flask) -> None:
    """Set the store up if that is still to do."""
    if not app.extensions["init_due"]:
        return
    try:
        app.extensions["store"].init()
    except StoreUnavailable as error:
        why = error.reason()
        app.logger.warning("could not set the store up (%s); the service runs and will try again", why)
    else:
        app.extensions["init_due"] = False
