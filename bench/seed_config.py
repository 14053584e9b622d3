"""gunicorn settings for the benchmark: one worker, and seeding before it serves.

``BENCH_SEED=N`` inserts N readings straight into the worker's store once it
has loaded the app (``post_worker_init``), the same way for every contender
(ids are the reading's number as 24 hex digits, so all hold the same ids):
sensors s0.. (``BENCH_SENSORS``, default 5), one reading every 6 s from 2026-01-01, values 0.1 apart. On a
real MongoDB (MONGO_URL) the collection is emptied first.
"""

import os
import sys
from datetime import datetime, timedelta

from bson import ObjectId

workers = 1
timeout = 120
START = datetime(2026, 1, 1)


def readings_collection(worker):
    app = worker.wsgi
    if "readings" in getattr(app, "extensions", {}):  # the service
        return app.extensions["readings"].readings
    module = sys.modules[app.import_name]
    return module.readings if hasattr(module, "readings") else module.db.readings


def post_worker_init(worker):
    count = int(os.environ.get("BENCH_SEED", "0"))
    sensors = int(os.environ.get("BENCH_SENSORS", "5"))
    collection = readings_collection(worker)
    if os.environ.get("MONGO_URL"):
        collection.delete_many({})
    for first in range(0, count, 10_000):
        collection.insert_many(
            [
                {"_id": ObjectId(f"{n:024x}"), "sensor": f"s{n % sensors}", "type": "temperature", "value": round(n * 0.1, 1),
                 "timestamp": START + timedelta(seconds=6 * n)}
                for n in range(first, min(first + 10_000, count))
            ]
        )  # fmt: skip
