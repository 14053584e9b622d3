"""The relative workloads: the service against the 2014 baseline and the bare-Flask ceiling.

Each contender runs under gunicorn with one worker, restarted for every
workload on a store freshly seeded with what that workload needs, and is
driven by wrk (or ``bench/loadgen.py``) with several connections. The
service and the ceiling share a store: the same seeded SQLite file (a copy
each), or MongoDB with MONGO_URL. The baseline speaks only MongoDB's API:
without MONGO_URL it runs on stock mongomock, so ratios to it compare stores
as well as code (``bench/NOTES.md``).
"""

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import dataset
import loadgen
from client import Client
from servers import BENCH, ROOT, Gunicorn

CONTENDERS = {
    "service": (ROOT, "flask_rest_service:app"),
    "baseline": (BENCH / "baseline", "app:app"),
    "ceiling": (BENCH / "ceiling", "app:app"),
}
READING = {"sensor": "bench", "type": "temperature", "value": 21.5, "timestamp": "2026-03-01T10:00:00Z"}
BATCH = [{**READING, "value": n * 0.1} for n in range(1000)]
STATS = "sensor=s0&interval=1h&since=2026-01-01T00:00:00&until=2026-01-08T00:00:00"
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def form(value) -> bytes:
    return urllib.parse.urlencode({"reading": json.dumps(value)}).encode()


@dataclass
class Workload:
    name: str
    seed: int = 0
    sensors: int = 5
    per_request: int = 1
    # contender -> (method, path, body, headers); a contender without one is left out
    requests: dict = field(default_factory=dict)
    once: bool = False  # one timed request (a whole export)


WORKLOADS = [
    Workload("single POST, JSON", requests={
        "service": ("POST", "/readings/", json.dumps(READING).encode(), JSON),
        "baseline": ("POST", "/readings/", form(READING), FORM),  # its only protocol
        "ceiling": ("POST", "/readings/", json.dumps(READING).encode(), JSON),
    }),
    Workload("single POST, form", requests={
        name: ("POST", "/readings/", form(READING), FORM) for name in CONTENDERS
    }),
    Workload("batch POST of 1000", per_request=1000, requests={
        "service": ("POST", "/readings/", json.dumps(BATCH).encode(), JSON),
        "baseline": ("POST", "/readings/", form(BATCH), FORM),
        "ceiling": ("POST", "/readings/", json.dumps(BATCH).encode(), JSON),
    }),
    Workload("GET /readings/?limit=1000", seed=1000, per_request=1000, requests={
        "service": ("GET", "/readings/?limit=1000", None, {}),
        "baseline": ("GET", "/readings/", None, {}),  # every reading: the store holds 1000
        "ceiling": ("GET", "/readings/?limit=1000", None, {}),
    }),
    Workload("GET /readings/<id>", seed=1000, requests={
        # the same reading for all: the 500th of 1000 (mongomock scans to it)
        name: ("GET", f"/readings/{500:024x}", None, {}) for name in CONTENDERS
    }),
    Workload("stats, 100k readings, 7 d by 1 h", seed=100_000, sensors=1, requests={
        "service": ("GET", f"/readings/stats?{STATS}", None, {}),
        "ceiling": ("GET", f"/readings/stats?{STATS}", None, {}),
    }),
    # The baseline is left out: its only way to read everything, a list of
    # every reading from stock mongomock, is quadratic there (1,000 readings
    # in 13 ms, 20,000 in 2.4 s: 200,000 would take minutes, past any timeout).
    Workload("export of 200k readings", seed=200_000, per_request=200_000, once=True, requests={
        "service": ("GET", "/readings/export?format=ndjson", None, {}),
        "ceiling": ("GET", "/readings/export", None, {}),
    }),
]  # fmt: skip


def _seconds(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[unit]


def load_wrk(url, method, body, headers, connections, seconds) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        script = Path(folder) / "request.lua"
        lines = [f'wrk.method = "{method}"']
        if body is not None:
            (Path(folder) / "body").write_bytes(body)
            lines.append(f'local f = io.open("{folder}/body", "rb"); wrk.body = f:read("*a"); f:close()')
        lines += [f'wrk.headers["{name}"] = "{value}"' for name, value in headers.items()]
        script.write_text("\n".join(lines) + "\n")
        command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "--timeout", "60s",
                   "-s", str(script), url]  # fmt: skip
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    # wrk pads some values with a trailing space ("     99%    1.07s ").
    percentiles = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", out, re.M))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    timeouts = re.search(r"timeout (\d+)", out)
    latency = {q: _seconds(v) * 1000 for q, v in percentiles.items()}  # none when nothing completed
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50_ms": latency.get("50", float("nan")),
        "p99_ms": latency.get("99", float("nan")),
        "errors": (int(bad.group(1)) if bad else 0) + (int(timeouts.group(1)) if timeouts else 0),
    }


def load_python(url, method, body, headers, connections, seconds) -> dict:
    count, errors, latencies, elapsed = loadgen.run(url, method, body, headers, connections, seconds)
    pick = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))] * 1000  # noqa: E731
    return {"rps": count / elapsed, "p50_ms": pick(0.5), "p99_ms": pick(0.99), "errors": errors}


def download(base: str, path: str) -> dict:
    client = Client(base)
    try:
        answer = client.request("GET", path, keep=False)
    finally:
        client.close()
    ms = answer.seconds * 1000
    return {"rps": 1 / answer.seconds, "p50_ms": ms, "p99_ms": ms, "errors": int(answer.status != 200),
            "first_byte_ms": answer.first_byte * 1000, "MB": answer.size / 1e6}  # fmt: skip


class Stores:
    """Seeded stores for the workloads: a SQLite file per (readings, sensors), copied per contender."""

    def __init__(self):
        self.mongodb = any(os.environ.get(name) for name in dataset.MONGO_VARIABLES)
        self.folder = Path(tempfile.mkdtemp(prefix="bench-relative-"))
        self.seeded: dict[tuple[int, int], Path] = {}

    def environment(self, contender: str, workload: Workload) -> dict:
        """The contender's environment, its store seeded with what the workload needs."""
        # The service's limiter stays on (its cost is measured) but never trips.
        env = {**os.environ, "RATE_LIMIT": "1000000/second"}
        if self.mongodb:
            dataset.seed_mongodb(workload.seed, workload.sensors)
            return env
        if contender == "baseline":
            return {**env, "BENCH_SEED": str(workload.seed), "BENCH_SENSORS": str(workload.sensors)}
        key = (workload.seed, workload.sensors)
        if key not in self.seeded:
            self.seeded[key] = self.folder / f"seed-{workload.seed}-{workload.sensors}.sqlite3"
            dataset.seed_sqlite(str(self.seeded[key]), *key)
        copy = self.folder / f"{contender}.sqlite3"
        for suffix in ("-wal", "-shm"):
            Path(f"{copy}{suffix}").unlink(missing_ok=True)
        shutil.copyfile(self.seeded[key], copy)
        return {**dataset.without_mongodb(env), "SQLITE_PATH": str(copy)}

    def close(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)


def measure(workload: Workload, contender: str, stores: Stores, args) -> dict | None:
    if contender not in workload.requests:
        return None
    method, path, body, headers = workload.requests[contender]
    folder, target = CONTENDERS[contender]
    env = stores.environment(contender, workload)
    # Every contender logs one line per request, as a deployment would: the
    # service writes its own (gunicorn's is off, as in gunicorn.conf.py), the
    # others get gunicorn's access line.
    server = Gunicorn(target, folder, args.port, env, access_log=contender != "service")
    try:
        before = server.reset_peak()
        if workload.once:
            result = download(server.base, path)
        else:
            tool = load_wrk if shutil.which("wrk") and not args.python_load else load_python
            result = tool(server.base + path, method, body, headers, args.connections, args.seconds)
        result["peak_rss_mb"] = server.peak_mb()
        result["peak_growth_mb"] = server.peak_mb() - before
        result["readings_per_s"] = result["rps"] * workload.per_request
        return result
    finally:
        server.stop()


def run(args) -> dict:
    """Run every workload (or those whose name contains ``args.workload``) on every contender."""
    stores = Stores()
    results = {"when": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               "store": "mongodb" if stores.mongodb else "sqlite",
               "baseline_store": "mongodb" if stores.mongodb else "stock mongomock",
               "load": "python" if args.python_load or not shutil.which("wrk") else "wrk",
               "seconds": args.seconds, "connections": args.connections, "workloads": {}}  # fmt: skip
    try:
        for workload in WORKLOADS:
            if args.workload and args.workload not in workload.name:
                continue
            row = results["workloads"][workload.name] = {}
            for contender in CONTENDERS:
                outcome = measure(workload, contender, stores, args)
                if outcome is None:
                    continue
                row[contender] = outcome
                print(f"{workload.name:36} {contender:9} {outcome['rps']:10.1f} req/s  "
                      f"p50 {outcome['p50_ms']:8.1f} ms  p99 {outcome['p99_ms']:8.1f} ms  "
                      f"peak {outcome['peak_rss_mb']:6.1f} MB  errors {outcome['errors']}", flush=True)  # fmt: skip
    finally:
        stores.close()
    return results
