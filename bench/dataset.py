"""The benchmark's readings, the same wherever they go, and putting them into a store.

Reading ``n`` (from 0): sensor ``s{n % sensors}``, type ``temperature``,
value ``n * 0.1`` (rounded to one decimal), timestamp 2026-01-01 plus
``6 * n`` seconds, id ``ObjectId`` of ``n`` as 24 hex digits (so every store
and contender holds the same ids). The same reading is written as a stored
document (seeding a store directly), as the JSON a device posts (no id: the
service gives one) and as an InfluxDB line.
"""

import os
import time
from datetime import datetime, timedelta

from bson import ObjectId

START = datetime(2026, 1, 1)
STEP_SECONDS = 6
SENSORS = 20
SEED_BATCH = 10_000  # readings per store call when seeding
MONGO_VARIABLES = ("MONGO_URL", "MONGODB_URI", "MONGO_URI")


def document(n: int, sensors: int = SENSORS) -> dict:
    """Reading ``n`` as the store keeps it."""
    return {"_id": ObjectId(f"{n:024x}"), "sensor": f"s{n % sensors}", "type": "temperature",
            "value": round(n * 0.1, 1), "timestamp": START + timedelta(seconds=STEP_SECONDS * n)}  # fmt: skip


def posted(n: int, sensors: int = SENSORS) -> dict:
    """Reading ``n`` as a device posts it: ISO 8601 UTC timestamp, no id."""
    moment = START + timedelta(seconds=STEP_SECONDS * n)
    return {"sensor": f"s{n % sensors}", "type": "temperature", "value": round(n * 0.1, 1),
            "timestamp": moment.isoformat() + "Z"}  # fmt: skip


def line(n: int, sensors: int = SENSORS) -> str:
    """Reading ``n`` in InfluxDB's line protocol (nanosecond timestamp)."""
    ns = (int((START - datetime(1970, 1, 1)).total_seconds()) + STEP_SECONDS * n) * 1_000_000_000
    return f"readings,sensor=s{n % sensors},type=temperature value={round(n * 0.1, 1)!r} {ns}"


def last_moment(count: int) -> datetime:
    """The timestamp of the newest of ``count`` readings."""
    return START + timedelta(seconds=STEP_SECONDS * (count - 1))


def without_mongodb(environ: dict) -> dict:
    """The environment with no MongoDB connection string: the service then opens SQLITE_PATH."""
    return {name: value for name, value in environ.items() if name not in MONGO_VARIABLES}


def seed_sqlite(path: str, count: int, sensors: int = SENSORS) -> float:
    """Create a SQLite store at ``path`` holding readings 0..count-1; return the seconds taken."""
    from flask_rest_service.stores.sqlite import SqliteStore

    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    store = SqliteStore(path)
    started = time.perf_counter()
    try:
        store.ping()  # creates the schema, even for an empty store
        _insert(store, count, sensors)
    finally:
        store.close()
    return time.perf_counter() - started


def mongodb_store():
    """The service's own MongoDB store for MONGO_URL (or MONGODB_URI, MONGO_URI)."""
    from flask_rest_service import config
    from flask_rest_service.stores import open_store

    settings = config.from_env()
    if not settings["MONGO_URI"]:
        raise RuntimeError("MONGO_URL is not set")
    return open_store(settings)


def seed_mongodb(count: int, sensors: int = SENSORS) -> float:
    """Empty the MONGO_URL database's readings and summaries, then insert readings 0..count-1."""
    from flask_rest_service.stores.mongodb.readings import READINGS, SUMMARIES

    store = mongodb_store()
    started = time.perf_counter()
    try:
        store.db[READINGS].delete_many({})
        store.db[SUMMARIES].delete_many({})
        store.init()
        _insert(store, count, sensors)
    finally:
        store.close()
    return time.perf_counter() - started


def _insert(store, count: int, sensors: int) -> None:
    for first in range(0, count, SEED_BATCH):
        store.readings.insert([document(n, sensors) for n in range(first, min(first + SEED_BATCH, count))])
