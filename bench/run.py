"""Benchmark the service against the 2014 baseline and a bare-Flask ceiling.

    make bench          # or: .venv/bin/python bench/run.py [--seconds 8] [--connections 8]

Each contender runs under gunicorn with one worker (``bench/seed_config.py``)
on the same store: the embedded one, or MongoDB when MONGO_URL is set. A
separate process drives it: wrk when installed, else ``bench/loadgen.py``.
Every contender is restarted for every workload, with the readings that
workload needs put straight into its store before it serves. Results go to
``bench/RESULTS.md`` (with ``bench/ratios.png``) and ``bench/out/results.json``.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import loadgen

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON_BIN = Path(sys.executable).parent
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
    once: bool = False  # one timed request (too slow on mongomock for a load run)


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
    Workload("stats, 100k readings, 7 d by 1 h", seed=100_000, sensors=1, once=True, requests={
        "service": ("GET", f"/readings/stats?{STATS}", None, {}),
        "ceiling": ("GET", f"/readings/stats?{STATS}", None, {}),
    }),
    Workload("export of 200k readings", seed=200_000, per_request=200_000, once=True, requests={
        "service": ("GET", "/readings/export?format=ndjson", None, {}),
        "baseline": ("GET", "/readings/", None, {}),  # the tutorial's only way to get everything
        "ceiling": ("GET", "/readings/export", None, {}),
    }),
]  # fmt: skip


def status_kb(pid: int, name: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


class Server:
    """One contender under gunicorn, one worker, seeded."""

    def __init__(self, contender: str, workload: Workload, port: int):
        folder, target = CONTENDERS[contender]
        env = {
            **os.environ,
            "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH}",
            "BENCH_SEED": str(workload.seed),
            "BENCH_SENSORS": str(workload.sensors),
            # The service's limiter stays on (its cost is measured) but never trips.
            "RATE_LIMIT": "1000000/second",
        }
        command = [
            str(PYTHON_BIN / "gunicorn"),
            target,
            "-c",
            str(BENCH / "seed_config.py"),
            "-b",
            f"127.0.0.1:{port}",
        ]
        # Every contender logs one line per request, as a deployment would: the
        # service writes its own (and gunicorn's is off, as in gunicorn.conf.py),
        # the others get gunicorn's access line.
        if contender != "service":
            command += ["--access-logfile", "-"]
        self.process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"http://127.0.0.1:{port}"
        for _ in range(1200):
            try:
                urllib.request.urlopen(self.base + "/readings/?limit=1", timeout=60).read()
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"{contender} did not start")
        self.worker = int(subprocess.check_output(["pgrep", "-P", str(self.process.pid)]).split()[0])

    def reset_peak(self) -> int:
        Path(f"/proc/{self.worker}/clear_refs").write_text("5")
        return status_kb(self.worker, "VmRSS")

    def peak(self) -> int:
        return status_kb(self.worker, "VmHWM")

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)


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
        command = [
            "wrk",
            "-t1",
            f"-c{connections}",
            f"-d{seconds}s",
            "--latency",
            "--timeout",
            "60s",
            "-s",
            str(script),
            url,
        ]
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


def download(url) -> dict:
    started = time.perf_counter()
    first = None
    size = 0
    with urllib.request.urlopen(url, timeout=600) as response:
        while chunk := response.read(65536):
            first = first or time.perf_counter() - started
            size += len(chunk)
    elapsed = time.perf_counter() - started
    return {"rps": 1 / elapsed, "p50_ms": elapsed * 1000, "p99_ms": elapsed * 1000, "errors": 0,
            "first_byte_ms": first * 1000, "MB": size / 1e6}  # fmt: skip


def measure(workload: Workload, contender: str, port: int, args) -> dict | None:
    if contender not in workload.requests:
        return None
    method, path, body, headers = workload.requests[contender]
    server = Server(contender, workload, port)
    try:
        before = server.reset_peak()
        if workload.once:
            result = download(server.base + path)
        else:
            tool = load_wrk if shutil.which("wrk") and not args.python_load else load_python
            result = tool(server.base + path, method, body, headers, args.connections, args.seconds)
        result["peak_rss_mb"] = server.peak() / 1024
        result["peak_growth_mb"] = (server.peak() - before) / 1024
        result["readings_per_s"] = result["rps"] * workload.per_request
        return result
    finally:
        server.stop()


def serialisation() -> dict:
    """Time the Extended JSON encoder against json_util.dumps on 10,000 readings."""
    import datetime as dt

    from bson import ObjectId, json_util

    sys.path.insert(0, str(ROOT))
    from flask_rest_service.extjson import dumps

    # Timestamps with milliseconds, as most devices' and the server's own have.
    docs = [
        {"_id": ObjectId(), "sensor": f"s{n % 5}", "type": "temperature", "value": n * 0.1,
         "timestamp": dt.datetime(2026, 1, 1) + dt.timedelta(seconds=n, milliseconds=n * 7 % 1000)}
        for n in range(10_000)
    ]  # fmt: skip

    def best(function, runs=5):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            function(docs)
            times.append(time.perf_counter() - started)
        return min(times)

    ours, theirs = best(dumps), best(json_util.dumps)
    assert json_util.loads(dumps(docs)) == docs
    return {"extjson_ms": ours * 1000, "json_util_ms": theirs * 1000, "speedup": theirs / ours}


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    memory = status_kb_total()
    return f"{os.cpu_count()} cores ({cpu}), {memory} GiB, Linux {platform.release()}, Python {platform.python_version()}"


def status_kb_total() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the service against baseline and ceiling.")
    parser.add_argument("--seconds", type=int, default=8, help="load duration per workload and contender")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--only", help="run only workloads whose name contains this")
    parser.add_argument("--python-load", action="store_true", help="use bench/loadgen.py even if wrk exists")
    parser.add_argument("--port", type=int, default=5210)
    args = parser.parse_args()
    results = {"machine": machine(), "store": "mongodb" if os.environ.get("MONGO_URL") else "embedded",
               "load": "python" if args.python_load or not shutil.which("wrk") else "wrk",
               "seconds": args.seconds, "connections": args.connections, "workloads": {}}  # fmt: skip
    for workload in WORKLOADS:
        if args.only and args.only not in workload.name:
            continue
        results["workloads"][workload.name] = {}
        for contender in CONTENDERS:
            outcome = measure(workload, contender, args.port, args)
            if outcome is not None:
                results["workloads"][workload.name][contender] = outcome
                print(f"{workload.name:36} {contender:9} {outcome['rps']:10.1f} req/s  "
                      f"p50 {outcome['p50_ms']:8.1f} ms  p99 {outcome['p99_ms']:8.1f} ms  "
                      f"peak {outcome['peak_rss_mb']:6.1f} MB  errors {outcome['errors']}", flush=True)  # fmt: skip
    results["serialisation"] = serialisation()
    print(f"serialising 10,000 readings: {results['serialisation']}")
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    (out / "results.json").write_text(json.dumps(results, indent=2))
    import report

    report.write(results, BENCH / "RESULTS.md", BENCH / "ratios.png")
    print(f"wrote {BENCH / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
