"""Peak memory of the server while it exports many readings.

Starts the service under gunicorn as the Procfile does (``gunicorn.conf.py``,
one worker, bound to loopback; a new SQLite file in a temporary folder, or
MongoDB when MONGO_URL is set), seeds READINGS readings through
``POST /readings/`` in batches, then downloads ``/readings/export`` as CSV and
NDJSON. Before each export it resets the worker's peak-RSS counter
(``/proc/PID/clear_refs``) and reads ``VmHWM`` afterwards: the growth is what
the export itself cost.

    .venv/bin/python bench/export_memory.py [READINGS]
"""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PORT = int(os.environ.get("BENCH_PORT", "5099"))
BASE = f"http://127.0.0.1:{PORT}"
BATCH = 1000


def status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise KeyError(field)


def start_server(folder: str) -> tuple[subprocess.Popen, int]:
    # The limiter stays on but never trips; stdout (the request log) goes nowhere.
    env = {**os.environ, "WEB_CONCURRENCY": "1", "RATE_LIMIT": "1000000/second",
           "SQLITE_PATH": os.path.join(folder, "readings.sqlite3")}  # fmt: skip
    gunicorn = Path(sys.executable).parent / "gunicorn"
    server = subprocess.Popen(
        [str(gunicorn), "flask_rest_service:app", "-b", f"127.0.0.1:{PORT}"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    for _ in range(100):
        try:
            urllib.request.urlopen(BASE + "/", timeout=1).read()
            break
        except OSError:
            time.sleep(0.1)
    worker = int(subprocess.check_output(["pgrep", "-P", str(server.pid)]).split()[0])
    return server, worker


def seed(count: int) -> float:
    started = time.perf_counter()
    base = 1_767_225_600  # 2026-01-01T00:00:00Z
    for first in range(0, count, BATCH):
        batch = [
            {"sensor": f"s{n % 5}", "type": "temperature", "value": n * 0.1, "timestamp": base + n}
            for n in range(first, min(first + BATCH, count))
        ]
        request = urllib.request.Request(
            BASE + "/readings/", json.dumps(batch).encode(), {"Content-Type": "application/json"}
        )
        urllib.request.urlopen(request).read()
    return time.perf_counter() - started


def export(worker: int, fmt: str) -> dict:
    Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    before = status_kb(worker, "VmRSS")
    started = time.perf_counter()
    first_byte = None
    rows = size = 0
    with urllib.request.urlopen(f"{BASE}/readings/export?format={fmt}") as response:
        while chunk := response.read(65536):
            first_byte = first_byte or time.perf_counter() - started
            size += len(chunk)
            rows += chunk.count(b"\n")
    elapsed = time.perf_counter() - started
    peak = status_kb(worker, "VmHWM")
    return {
        "format": fmt,
        "rows": rows,
        "MB": round(size / 1e6, 1),
        "seconds": round(elapsed, 2),
        "rows/s": round(rows / elapsed),
        "first byte ms": round(first_byte * 1000),
        "RSS before MB": round(before / 1024, 1),
        "peak growth MB": round((peak - before) / 1024, 1),
    }


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    with tempfile.TemporaryDirectory(prefix="bench-export-") as folder:
        server, worker = start_server(folder)
        try:
            seconds = seed(count)
            print(f"seeded {count} readings in {seconds:.1f} s ({count / seconds:.0f} readings/s)")
            for fmt in ("csv", "ndjson"):
                print(json.dumps(export(worker, fmt)))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()


if __name__ == "__main__":
    main()
