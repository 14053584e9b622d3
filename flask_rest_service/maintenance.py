"""The store's set-up: tables, indexes, summaries (``store.init``).

A web process does it as it starts (``serve``; ``CREATE_INDEXES``, on by
default), never while the app is built: building it touches no network and
resolves no name. It runs in a thread of its own, so the process serves at
once (an index build on a large collection takes minutes, and runs under the
store's maintenance deadline, not a request's). A failure, an unreachable
database or anything else, is never fatal: the process serves, warns, and
tries again every ``JOBS_INTERVAL_SECONDS`` until the set-up is done. (The
SQLite store also creates its schema on first use, whatever the setting.)
"""

import threading
import time

from flask import Flask

from .stores import StoreUnavailable


def init_app(app: Flask) -> None:
    """Note whether the store is to be set up (by ``try_init``, when the process serves)."""
    app.extensions["init_due"] = app.config["CREATE_INDEXES"]


def try_init(app: Flask) -> None:
    """Set the store up if that is still to do; a failure is logged, and left to the next try."""
    if not app.extensions["init_due"]:
        return
    try:
        app.extensions["store"].init()
    except StoreUnavailable as error:
        why = error.reason()
        app.logger.warning("could not set the store up (%s); the service runs and will try again", why)
    except Exception:
        app.logger.exception("could not set the store up; the service runs and will try again")
    else:
        app.extensions["init_due"] = False


def start(app: Flask) -> threading.Thread:
    """Set the store up in the background of this process, trying until it is done."""
    thread = threading.Thread(target=_until_done, args=(app,), name="store-setup", daemon=True)
    thread.start()
    return thread


def _until_done(app: Flask) -> None:
    while True:
        try_init(app)
        if not app.extensions["init_due"]:
            return
        time.sleep(app.config["JOBS_INTERVAL_SECONDS"])
