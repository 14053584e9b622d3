"""The scale workload: what each operation costs as the store grows (issue 14's targets).

For each store (SQLite; MongoDB too when MONGO_URL is set) and each size
(an empty store, then 10k, 100k, 1M readings of 20 sensors by default), the
store is filled directly (``bench/dataset.py``) before anything serves it,
then every operation is timed three ways, one request at a time:

- **store**: the store call alone (``app.extensions["store"].readings``);
- **in-process**: the whole WSGI app called directly, as gunicorn calls it
  (routing, key check, rate limit, validation, Extended JSON, the log line),
  without a network;
- **HTTP**: ``gunicorn flask_rest_service:app`` with one sync worker
  (``bench/seed_config.py``), through ``bench/client.py`` over loopback.

Then the exports of the whole store (CSV and NDJSON: rows/s, the worker's
peak memory growth), the worker's resident memory after all of it, and
last (it adds readings) batch ingest: batches of 1,000 fully validated
readings posted one after another, in-process and over HTTP.
"""

import contextlib
import os
import shutil
import tempfile
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import dataset
import orjson
from client import Client, repeat, summary
from servers import ROOT, Gunicorn
from werkzeug.test import create_environ

SIZES = [10_000, 100_000, 1_000_000]
SENSOR = "s3"
SINCE, UNTIL = datetime(2026, 1, 1), datetime(2026, 1, 31)
STATS_PATH = (
    f"/readings/stats?sensor={SENSOR}&interval=1h&since=2026-01-01T00:00:00Z&until=2026-01-31T00:00:00Z"
)
INGEST_BATCHES = 20  # batches of 1,000 per mode
RATE_LIMIT = "1000000/second"  # the limiter runs on every request (its cost counts) but never trips

# Issue 14's targets. Operations: the median in ms at most this, in-process and over HTTP.
TARGET_MS = {"list, first page": 5, "list, next page": 5, "by id": 1, "latest of a sensor": 1,
             "GET /sensors/": 20, "stats, 1 sensor, 30 d by 1 h": 150}  # fmt: skip
EXPORT_ROWS_PER_S = 200_000
EXPORT_GROWTH_MB = 50  # the worker's peak growth during an export
INGEST_READINGS_PER_S = 30_000
WORKER_GROWTH_MB = 50  # worker memory at the largest size over an empty store's


def operations(size: int) -> list[tuple[str, str, int]]:
    """(name, path, timed repetitions); the next page's path is found from the first page."""
    return [
        ("list, first page", "/readings/", 300),
        ("list, next page", None, 300),
        ("by id", f"/readings/{size // 2:024x}", 300),
        ("latest of a sensor", f"/sensors/{SENSOR}/latest", 300),
        ("GET /sensors/", "/sensors/", 100),
        ("stats, 1 sensor, 30 d by 1 h", STATS_PATH, 20),
    ]


def store_calls(readings, size: int) -> dict:
    """The store call behind each operation, to time it alone."""
    from bson import ObjectId

    from flask_rest_service.stores.base import Filters, ListQuery, Position, StatsQuery

    first = readings.page(ListQuery(limit=100))
    after = Position.of(first[99]) if len(first) > 100 else None
    stats = StatsQuery(Filters(SENSOR, None, SINCE, UNTIL), "value", "1h", 3_600_000, "none")
    return {
        "list, first page": lambda: readings.page(ListQuery(limit=100)),
        "list, next page": (lambda: readings.page(ListQuery(limit=100, after=after))) if after else None,
        "by id": lambda: readings.get(ObjectId(f"{size // 2:024x}")),
        "latest of a sensor": lambda: readings.latest(SENSOR),
        "GET /sensors/": readings.sensors,
        "stats, 1 sensor, 30 d by 1 h": lambda: readings.stats(stats),
    }


class InProcess:
    """The service's WSGI app in this process, called directly; its log lines go nowhere."""

    def __init__(self, config: dict):
        from flask_rest_service import create_app

        self.app = create_app({**config, "RATE_LIMIT": RATE_LIMIT})
        self.devnull = open(os.devnull, "w")  # noqa: SIM115 (closed in close)
        self.cpu = 0.0  # CPU seconds spent inside calls so far

    def cpu_seconds(self) -> float:
        return self.cpu

    def call(self, method: str, path: str, body: bytes = b"", headers: dict | None = None):
        """Return (seconds, (status, bytes, lines, headers))."""
        environ = create_environ(path, method=method, data=body or None, headers=headers)
        answer = {}

        def start_response(status, response_headers, exc_info=None):
            answer["status"], answer["headers"] = int(status.split()[0]), dict(response_headers)

        size = lines = 0
        cpu = time.process_time()
        started = time.perf_counter()
        with contextlib.redirect_stdout(self.devnull):
            body_iter = self.app(environ, start_response)
            try:
                for chunk in body_iter:
                    size += len(chunk)
                    lines += chunk.count(b"\n")
            finally:
                getattr(body_iter, "close", lambda: None)()
        seconds = time.perf_counter() - started
        self.cpu += time.process_time() - cpu
        return seconds, (answer["status"], size, lines, answer["headers"])

    def close(self) -> None:
        self.app.extensions["store"].close()
        self.devnull.close()


def _http_call(client: Client, method: str, path: str, body: bytes = b"", headers: dict | None = None):
    answer = client.request(method, path, body, headers, keep=False)
    return answer.seconds, (answer.status, answer.size, answer.lines, answer.headers)


def _timed(call, times: int, cpu) -> dict:
    result, (status, size, _, _) = repeat(call, times, warmup=min(10, times), cpu=cpu)
    return {**result, "status": status, "bytes": size}


def _export(call, fmt: str, cpu) -> dict:
    used = cpu()
    seconds, (status, size, lines, _) = call("GET", f"/readings/export?format={fmt}")
    used = cpu() - used
    rows = lines - 1 if fmt == "csv" else lines  # CSV has a header line
    return {
        "status": status,
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": rows / seconds,
        "cpu_rows_per_s": rows / max(used, 1e-9),
        "MB": size / 1e6,
    }


def _ingest(call, first: int, cpu) -> dict:
    """Post INGEST_BATCHES batches of 1,000 readings, numbered from ``first``; time them."""
    bodies = [orjson.dumps([dataset.posted(n) for n in range(start, start + 1000)])
              for start in range(first, first + 1000 * INGEST_BATCHES, 1000)]  # fmt: skip
    seconds, statuses = [], set()
    used = cpu()
    for body in bodies:
        took, (status, *_) = call("POST", "/readings/", body, {"Content-Type": "application/json"})
        seconds.append(took)
        statuses.add(status)
    total = 1000 * INGEST_BATCHES
    return {**summary(seconds), "readings": total, "readings_per_s": total / sum(seconds),
            "cpu_readings_per_s": total / max(cpu() - used, 1e-9), "statuses": sorted(statuses)}  # fmt: skip


class SqliteTarget:
    kind = "sqlite"

    def __init__(self):
        self.folder = Path(tempfile.mkdtemp(prefix="bench-scale-"))
        self.path = None

    def seed(self, size: int) -> float:
        self.done()
        self.path = str(self.folder / f"readings-{size}.sqlite3")
        return dataset.seed_sqlite(self.path, size)

    def file_mb(self) -> float | None:
        return os.path.getsize(self.path) / 1e6

    def config(self) -> dict:
        return {"MONGO_URI": None, "SQLITE_PATH": self.path}

    def environment(self) -> dict:
        return {**dataset.without_mongodb(os.environ), "SQLITE_PATH": self.path, "RATE_LIMIT": RATE_LIMIT}

    def done(self) -> None:
        for path in self.folder.glob("*"):
            path.unlink()

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


class MongoTarget:
    kind = "mongodb"

    def seed(self, size: int) -> float:
        return dataset.seed_mongodb(size)

    def file_mb(self) -> float | None:
        return None

    def config(self) -> dict:
        return {}

    def environment(self) -> dict:
        return {**os.environ, "RATE_LIMIT": RATE_LIMIT}

    def done(self) -> None:
        pass

    def close(self) -> None:
        pass


def measure_size(target, size: int, port: int) -> dict:
    """Seed one size and time everything on it."""
    result = {"size": size, "seed_s": target.seed(size), "file_mb": target.file_mb(), "ops": {}, "export": {}}
    print(f"[{target.kind} {size:,}] seeded in {result['seed_s']:.1f} s", flush=True)
    local = InProcess(target.config())
    try:
        calls = store_calls(local.app.extensions["store"].readings, size)
        paths = {}
        for name, path, times in operations(size):
            if path is None:  # the next page: where the first page's Link points
                link = local.call("GET", "/readings/")[1][3].get("Link")
                if link is None:
                    continue
                url = urlsplit(link[1 : link.index(">")])
                path = f"{url.path}?{url.query}"
            paths[name] = path
            row = result["ops"][name] = {}
            if calls[name] is not None:
                call = lambda c=calls[name]: _store_call(c)  # noqa: E731
                row["store"] = repeat(call, times, min(10, times), cpu=time.process_time)[0]
            row["in_process"] = _timed(lambda p=path: local.call("GET", p), times, local.cpu_seconds)
        for fmt in ("csv", "ndjson"):
            result["export"][fmt] = {"in_process": _export(local.call, fmt, local.cpu_seconds)}
        result["export"]["store"] = _store_export(local.app.extensions["store"].readings)

        server = Gunicorn("flask_rest_service:app", ROOT, port, target.environment())
        try:
            memory = result["memory"] = {"start_mb": server.rss_mb()}
            client = Client(server.base)
            for name, path in paths.items():
                times = next(times for op, _, times in operations(size) if op == name)
                call = lambda p=path: _http_call(client, "GET", p)  # noqa: E731
                result["ops"][name]["http"] = _timed(call, times, server.cpu_seconds)
            memory["after_reads_mb"] = server.rss_mb()
            peaks = [server.peak_mb()]
            for fmt in ("csv", "ndjson"):
                before = server.reset_peak()
                outcome = _export(lambda m, p: _http_call(client, m, p), fmt, server.cpu_seconds)
                peaks.append(server.peak_mb())
                result["export"][fmt]["http"] = {**outcome, "growth_mb": peaks[-1] - before}
            memory["after_exports_mb"] = server.rss_mb()
            memory["peak_mb"] = max(peaks)
            memory["total_after_exports_mb"] = server.total_rss_mb()
            result["ingest"] = {"http": _ingest(lambda *a: _http_call(client, *a), size, server.cpu_seconds)}
            memory["after_ingest_mb"] = server.rss_mb()
            client.close()
        finally:
            server.stop()
        result["ingest"]["in_process"] = _ingest(local.call, size + 1000 * INGEST_BATCHES, local.cpu_seconds)
    finally:
        local.close()
        target.done()
    _print(target.kind, result)
    return result


def _store_call(call):
    started = time.perf_counter()
    found = call()
    return time.perf_counter() - started, found


def _store_export(readings) -> dict:
    from flask_rest_service.stores.base import EVERYTHING

    started = time.perf_counter()
    rows = sum(1 for _ in readings.export(EVERYTHING))
    seconds = time.perf_counter() - started
    return {"rows": rows, "seconds": seconds, "rows_per_s": rows / seconds}


def _print(kind: str, result: dict) -> None:
    head = f"[{kind} {result['size']:,}]"
    for name, row in result["ops"].items():
        cells = "  ".join(f"{mode} {row[mode]['median_ms']:7.2f} ms" for mode in ("store", "in_process", "http")
                          if mode in row)  # fmt: skip
        print(f"{head} {name:30} {cells}", flush=True)
    for fmt in ("csv", "ndjson"):
        row = result["export"][fmt]
        print(f"{head} export {fmt:6} in-process {row['in_process']['rows_per_s']:9,.0f} rows/s  "
              f"HTTP {row['http']['rows_per_s']:9,.0f} rows/s, growth {row['http']['growth_mb']:.1f} MB")  # fmt: skip
    for mode in ("in_process", "http"):
        print(f"{head} ingest {mode:10} {result['ingest'][mode]['readings_per_s']:9,.0f} readings/s")
    print(f"{head} worker memory {result['memory']}", flush=True)


def run(args) -> dict:
    """Every size on every store; an empty store first (the memory baseline)."""
    stores = [SqliteTarget()]
    if any(os.environ.get(name) for name in dataset.MONGO_VARIABLES):
        stores.append(MongoTarget())
    results = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "sensors": dataset.SENSORS,
               "ingest_batches": INGEST_BATCHES, "stores": {}}  # fmt: skip
    for target in stores:
        sizes = results["stores"][target.kind] = {}
        try:
            for size in [0, *args.sizes]:
                sizes[str(size)] = measure_size(target, size, args.port)
        finally:
            target.close()
    return results
