"""A real peer beside the service: InfluxDB 1.x on this machine, the same readings, the same client.

The benchmark starts ``influxd`` itself (``servers.Influxd``: its own
config and data in a temporary folder, loopback ports, no usage reports) and
the service under gunicorn (one worker, threaded as deployed) on an empty SQLite file. One
client (``bench/client.py``: one connection, one request at a time) loads
the same readings into both, in batches of 1,000 (line protocol to
``/write``, JSON to ``POST /readings/``, validated in full), then asks both
the same questions, InfluxQL over ``/query``, and reads each server's
resident memory at the end.

In InfluxDB a reading is a point of the measurement ``readings`` with tags
``sensor`` and ``type`` and the field ``value``; it has no id.
"""

import os
import time
from pathlib import Path
from urllib.parse import urlencode

import dataset
import orjson
from client import Client, repeat
from scale import RATE_LIMIT, SENSOR, STATS_PATH
from servers import ROOT, Gunicorn, Influxd, cpu_seconds

BATCH = 1000
DATABASE = "bench"
BUCKETS = ("SELECT count(value), min(value), max(value), mean(value), sum(value), first(value), last(value) "
           f"FROM readings WHERE sensor = '{SENSOR}' AND time >= '2026-01-01T00:00:00Z' "
           "AND time < '2026-01-31T00:00:00Z' GROUP BY time(1h) fill(none)")  # fmt: skip
# (name, InfluxQL, InfluxDB's answer format, the service's path, timed repetitions)
QUERIES = [
    ("newest 100", "SELECT * FROM readings ORDER BY time DESC LIMIT 100", "json", "/readings/?limit=100", 300),
    ("latest of a sensor", f"SELECT * FROM readings WHERE sensor = '{SENSOR}' ORDER BY time DESC LIMIT 1",
     "json", f"/sensors/{SENSOR}/latest", 300),
    ("per-sensor count and last", "SELECT count(value), last(value) FROM readings GROUP BY sensor", "json",
     "/sensors/", 100),
    ("one sensor's hourly buckets, 30 d", BUCKETS, "json", STATS_PATH, 50),
    ("one sensor's readings as CSV", f"SELECT * FROM readings WHERE sensor = '{SENSOR}'", "csv",
     f"/readings/export?sensor={SENSOR}&format=csv", 30),
]  # fmt: skip


def influx_rows(answer, fmt: str) -> int:
    """How many rows an InfluxDB answer holds."""
    if fmt == "csv":
        return answer.body.count(b"\n") - 1  # a header line
    results = orjson.loads(answer.body)["results"]
    return sum(len(series["values"]) for result in results for series in result.get("series", []))


def service_rows(answer, path: str) -> int:
    """How many rows (readings, sensors, buckets, CSV lines) an answer of the service holds."""
    if "format=csv" in path:
        return answer.body.count(b"\n") - 1
    body = orjson.loads(answer.body)
    if isinstance(body, list):
        return len(body)
    return len(body["buckets"]) if "buckets" in body else 1


def wait_until_idle(pids: list[int], limit: float = 60) -> float:
    """Wait until these processes used no CPU for a whole second (InfluxDB compacts after writes)."""
    started = time.perf_counter()
    last = sum(cpu_seconds(pid) for pid in pids)
    while time.perf_counter() - started < limit:
        time.sleep(1)
        now = sum(cpu_seconds(pid) for pid in pids)
        if now - last <= 0.01:  # a clock tick at most
            break
        last = now
    return time.perf_counter() - started


def ingest(client: Client, bodies: list[bytes], path: str, headers: dict, ok: int, cpu) -> dict:
    seconds = []
    used = cpu()
    for body in bodies:
        answer = client.request("POST", path, body, headers, keep=False)
        if answer.status != ok:
            raise RuntimeError(f"{path} answered {answer.status}")
        seconds.append(answer.seconds)
    readings = BATCH * len(bodies)
    return {"readings": readings, "seconds": sum(seconds), "readings_per_s": readings / sum(seconds),
            "cpu_s": cpu() - used}  # fmt: skip


def run(args) -> dict:
    count = args.influx_readings
    starts = range(0, count, BATCH)
    lines = [("\n".join(dataset.line(n) for n in range(s, min(s + BATCH, count)))).encode() for s in starts]
    posts = [orjson.dumps([dataset.posted(n) for n in range(s, min(s + BATCH, count))]) for s in starts]
    influxd = Influxd(args.port + 1, args.port + 2)
    folder = Path(influxd.folder)  # the service's file beside InfluxDB's, removed with it
    env = {**dataset.without_mongodb(os.environ), "RATE_LIMIT": RATE_LIMIT,
           "SQLITE_PATH": str(folder / "service.sqlite3")}  # fmt: skip
    try:
        service = Gunicorn("flask_rest_service:app", ROOT, args.port, env)
    except BaseException:
        influxd.stop()
        raise
    peer, ours = Client(influxd.base), Client(service.base)
    results = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "readings": count,
               "batch": BATCH, "influxdb": influxd.version, "queries": {}}  # fmt: skip
    try:
        created = peer.request("POST", "/query", urlencode({"q": f"CREATE DATABASE {DATABASE}"}).encode(),
                               {"Content-Type": "application/x-www-form-urlencoded"})  # fmt: skip
        if created.status != 200:
            raise RuntimeError(f"CREATE DATABASE answered {created.status}: {created.body[:200]!r}")
        results["ingest"] = {
            "influxdb": ingest(
                peer, lines, f"/write?db={DATABASE}&precision=ns", {}, 204, influxd.cpu_seconds
            ),
            "service": ingest(
                ours, posts, "/readings/", {"Content-Type": "application/json"}, 201, service.cpu_seconds
            ),  # fmt: skip
        }
        print(f"ingest: InfluxDB {results['ingest']['influxdb']['readings_per_s']:,.0f} readings/s, "
              f"service {results['ingest']['service']['readings_per_s']:,.0f}", flush=True)  # fmt: skip
        results["settle_s"] = wait_until_idle([influxd.process.pid, service.worker])
        for name, query, fmt, path, times in QUERIES:
            accept = {"Accept": "application/csv"} if fmt == "csv" else {}
            target = f"/query?{urlencode({'db': DATABASE, 'q': query})}"

            def theirs(target=target, accept=accept):
                answer = peer.request("GET", target, headers=accept)
                return answer.seconds, answer

            def mine(path=path):
                answer = ours.request("GET", path)
                return answer.seconds, answer

            row = results["queries"][name] = {"influxql": query, "path": path}
            for side, call, rows, cpu in (
                ("influxdb", theirs, lambda a, f=fmt: influx_rows(a, f), influxd.cpu_seconds),
                ("service", mine, lambda a, p=path: service_rows(a, p), service.cpu_seconds),
            ):
                timing, answer = repeat(call, times, warmup=min(10, times), cpu=cpu)
                if answer.status != 200:
                    raise RuntimeError(f"{side}: {name} answered {answer.status}: {answer.body[:200]!r}")
                row[side] = {**timing, "rows": rows(answer), "bytes": answer.size}
            print(f"{name:36} InfluxDB {row['influxdb']['median_ms']:8.2f} ms ({row['influxdb']['rows']} rows)  "
                  f"service {row['service']['median_ms']:8.2f} ms ({row['service']['rows']} rows)", flush=True)  # fmt: skip
        results["memory_mb"] = {"influxdb": influxd.rss_mb(), "service_worker": service.rss_mb(),
                                "service_total": service.total_rss_mb()}  # fmt: skip
        print(f"resident memory: {results['memory_mb']}", flush=True)
    finally:
        peer.close()
        ours.close()
        service.stop()
        influxd.stop()
    return results
