"""Periodic jobs, run in every web process and by ``flask --app flask_rest_service run-jobs``.

Retention (``READINGS_RETENTION_DAYS``) deletes readings older than that, in
bounded batches, the same way on every store; readings without a date
timestamp have no age and are kept. The alert rules' clock moves (quiet
sensors, thresholds held long enough) and their history is kept bounded.

Each web process wakes every ``JOBS_INTERVAL_SECONDS``; a lease in the store
lets one process at a time do the work, so several workers or dynos do not
repeat it. A scheduler (cron, Heroku Scheduler) can run ``run-jobs`` instead
or as well: the lease keeps that safe too.
"""

import os
import random
import secrets
import socket
import threading
import time
from datetime import timedelta

from flask import Flask

from .bsonvalues import utc_now
from .queries import Filters
from .stores import StoreUnavailable

LEASE = "jobs"
HOLDER = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def run_once(app: Flask) -> dict | None:
    """Run the jobs now if this process gets the lease; return what they did, or None."""
    store = app.extensions["store"]
    now = utc_now()
    lease_seconds = max(60, 2 * app.config["JOBS_INTERVAL_SECONDS"])
    if not store.leases.acquire(LEASE, HOLDER, now, lease_seconds):
        return None
    done = {}
    days = app.config["READINGS_RETENTION_DAYS"]
    if days is not None:
        expired = _job(
            app, "retention", store.readings.delete_matching, Filters(until=now - timedelta(days=days))
        )
        if expired is not None:
            done["expired"] = expired
    _job(app, "alert checks", app.extensions["alerts"].check, now)
    pruned = _job(app, "alert history prune", store.alerts.prune)
    if pruned:
        done["events_pruned"] = pruned
    return done


def _job(app: Flask, name: str, work, *args):
    """Run one job; a failure other than an outage is logged, and the jobs after it still run."""
    try:
        return work(*args)
    except StoreUnavailable:
        raise
    except Exception:
        app.logger.exception("periodic jobs: %s failed; the others go on", name)
        return None


def start(app: Flask) -> threading.Thread:
    """Run the jobs in the background of this process, for as long as it lives."""
    thread = threading.Thread(target=_loop, args=(app,), name="periodic-jobs", daemon=True)
    thread.start()
    return thread


def _loop(app: Flask) -> None:
    interval = app.config["JOBS_INTERVAL_SECONDS"]
    time.sleep(random.uniform(0, min(interval, 10)))  # workers started together spread out
    while True:
        try:
            done = run_once(app)
            if done and done.get("expired"):
                app.logger.info("retention: %s readings deleted", done["expired"])
        except StoreUnavailable as error:
            app.logger.warning("periodic jobs: %s; trying again in %s s", error.reason(), interval)
        except Exception:
            app.logger.exception("periodic jobs failed; trying again in %s s", interval)
        time.sleep(interval)
