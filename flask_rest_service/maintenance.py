"""The store's set-up: tables, indexes, summaries (``store.init``).

A web process does it as it starts (``serve``; ``CREATE_INDEXES``, on by
default), never while the app is built: building it touches no network and
resolves no name. An unreachable database is not fatal: the service starts,
warns, and each web process's periodic jobs try again (``jobs.py``), never a
request. (The SQLite store also creates its schema on first use, whatever
the setting.)
"""

from flask import Flask

from .stores import StoreUnavailable


def init_app(app: Flask) -> None:
    """Note whether the store is to be set up (by ``try_init``, when the process serves)."""
    app.extensions["init_due"] = app.config["CREATE_INDEXES"]


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
