"""A gunicorn worker's memory under concurrent big pages and exports; CPU of a batch of bad names.

Starts the service as ``export_memory.py`` does (one worker, a new SQLite
file), seeds READINGS readings of about 60 KB each (a list of numbers),
then, with the worker's peak-RSS counter reset before each, runs:

- CLIENTS concurrent ``GET /readings/?limit=1000`` walks, each following
  ``next`` to the end;
- CLIENTS concurrent exports, NDJSON then CSV;

and prints the peak over the idle RSS. Last, posts a gzip body of bad field
names (a batch of 1,000 readings of ~14 KB of ``"$n": 1`` each, ~14 MB
inflated) a few times and prints the worker's CPU seconds per request
(``/proc/PID/stat``), and the answer's status and detail.

    .venv/bin/python bench/page_memory.py [READINGS] [CLIENTS]   # READINGS 0: the bad names only
"""

import gzip
import json
import os
import signal
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from export_memory import BASE, start_server, status_kb  # noqa: E402

SAMPLES = 5600  # numbers a reading: about 60 KB of JSON


def post(body: bytes, headers: dict, path: str = "/readings/") -> tuple[int, bytes]:
    request = urllib.request.Request(BASE + path, body, {"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def seed(count: int) -> int:
    base = 1_767_225_600  # 2026-01-01T00:00:00Z
    size = 0
    for first in range(0, count, 50):  # 50 x 60 KB: under MAX_CONTENT_LENGTH (4 MiB)
        batch = [
            {
                "sensor": f"s{n % 5}",
                "type": "spectrum",
                "value": n,
                "timestamp": base + n,
                "samples": [round(n * 0.001 + i * 1.0001, 4) for i in range(SAMPLES)],
            }
            for n in range(first, min(first + 50, count))
        ]
        body = json.dumps(batch).encode()
        size = len(body) // len(batch)
        status, answer = post(body, {})
        assert status == 201, answer[:200]
    return size


def walk(path: str) -> tuple[int, int]:
    """Follow ``next`` links from ``path``; return (readings, pages)."""
    url, count, pages = BASE + path, 0, 0
    while url:
        with urllib.request.urlopen(url) as response:
            count += len(json.loads(response.read()))
            link = response.headers.get("Link", "")
        pages += 1
        url = link[1 : link.index(">")] if link else None
    return count, pages


def download(path: str) -> tuple[int, int]:
    lines = 0
    with urllib.request.urlopen(BASE + path) as response:
        while chunk := response.read(65536):
            lines += chunk.count(b"\n")
    return lines, 1


def concurrently(worker: int, clients: int, job, path: str) -> dict:
    Path(f"/proc/{worker}/clear_refs").write_text("5")  # reset VmHWM to the current RSS
    idle = status_kb(worker, "VmRSS")
    results = []
    threads = [threading.Thread(target=lambda: results.append(job(path))) for _ in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "what": f"{clients} x {path}",
        "readings, pages (each)": sorted(set(results)),
        "seconds": round(time.perf_counter() - started, 2),
        "idle MB": round(idle / 1024, 1),
        "peak over idle MB": round((status_kb(worker, "VmHWM") - idle) / 1024, 1),
        "after MB": round(status_kb(worker, "VmRSS") / 1024, 1),
    }


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def bad_names(worker: int, path: str, tries: int = 5) -> dict:
    reading = "{" + ",".join(f'"${n}":1' for n in range(1600)) + "}"  # ~14 KB of bad names
    body = gzip.compress(("[" + ",".join([reading] * 1000) + "]").encode(), 9)
    costs = []
    for _ in range(tries):
        before = cpu_seconds(worker)
        status, answer = post(body, {"Content-Encoding": "gzip"}, path)
        costs.append(round(cpu_seconds(worker) - before, 2))
    answer = json.loads(answer)
    return {
        "what": f"POST {path}",
        "gzip KB": round(len(body) / 1024),
        "inflated MB": round(len(reading) * 1000 / 1e6, 1),
        "status": status,
        "detail": answer["detail"] if status == 400 else f"{len(answer)} results, the first {answer[0]}",
        "worker CPU s per request": costs,
    }


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 1000
    clients = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    print(f"machine: {os.cpu_count()} cores; load average {os.getloadavg()}")
    with tempfile.TemporaryDirectory(prefix="bench-pages-") as folder:
        server, worker = start_server(folder)
        try:
            if count:  # 0: the bad names only
                size = seed(count)
                print(f"seeded {count} readings of {size / 1000:.0f} KB")
                print(json.dumps(concurrently(worker, clients, walk, "/readings/?limit=1000")))
                print(json.dumps(concurrently(worker, clients, download, "/readings/export?format=ndjson")))
                print(json.dumps(concurrently(worker, clients, download, "/readings/export?format=csv")))
            print(json.dumps(bad_names(worker, "/readings/")))
            print(json.dumps(bad_names(worker, "/readings/?partial=true")))
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait()
    print(f"load average after {os.getloadavg()}")


if __name__ == "__main__":
    main()
