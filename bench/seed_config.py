"""gunicorn settings for the benchmark: the deployed ones, with one worker; the baseline's store seeded.

Every setting of the repository's ``gunicorn.conf.py`` is taken as it is
(its hooks too, so the service's worker becomes a web process exactly as
deployed), except: one worker, a longer timeout (an export of 1M readings as
CSV takes about 15 s) and the address, which the benchmark gives with ``-b``.

The service and the ceiling open a store that ``bench/dataset.py`` filled
before gunicorn started (a SQLite file, or MongoDB with MONGO_URL). The 2014
baseline speaks only MongoDB's API: without MONGO_URL its store is stock
mongomock, a dictionary inside its worker, so ``BENCH_SEED=N`` (with
``BENCH_SENSORS``) puts readings 0..N-1 into it here, once the worker has
loaded the app.
"""

import os
import runpy
import sys
from pathlib import Path

_deployed = runpy.run_path(str(Path(__file__).resolve().parent.parent / "gunicorn.conf.py"))
globals().update({name: value for name, value in _deployed.items() if not name.startswith("_")})
_deployed_post_worker_init = _deployed.get("post_worker_init")

workers = 1
timeout = 120


def post_worker_init(worker):
    app = worker.wsgi
    if _deployed_post_worker_init and "store" in getattr(app, "extensions", {}):  # the service
        _deployed_post_worker_init(worker)
    count = int(os.environ.get("BENCH_SEED", "0"))
    if not count:
        return
    from dataset import SEED_BATCH, document

    sensors = int(os.environ.get("BENCH_SENSORS", "20"))
    readings = sys.modules[app.import_name].db.readings
    for first in range(0, count, SEED_BATCH):
        readings.insert_many([document(n, sensors) for n in range(first, min(first + SEED_BATCH, count))])
