"""gunicorn settings for the benchmark: one worker; the baseline's stand-in store seeded in it.

The service and the ceiling open a store that ``bench/dataset.py`` filled
before gunicorn started (a SQLite file, or MongoDB with MONGO_URL). The 2014
baseline speaks only MongoDB's API: without MONGO_URL its store is stock
mongomock, a dictionary inside its worker, so ``BENCH_SEED=N`` (with
``BENCH_SENSORS``) puts readings 0..N-1 into it here, once the worker has
loaded the app (``post_worker_init``).
"""

import os
import sys

workers = 1
timeout = 120  # an export of 1M readings as CSV takes about 15 s


def post_worker_init(worker):
    count = int(os.environ.get("BENCH_SEED", "0"))
    if not count:
        return
    from dataset import SEED_BATCH, document

    sensors = int(os.environ.get("BENCH_SENSORS", "20"))
    readings = sys.modules[worker.wsgi.import_name].db.readings
    for first in range(0, count, SEED_BATCH):
        readings.insert_many([document(n, sensors) for n in range(first, min(first + SEED_BATCH, count))])
