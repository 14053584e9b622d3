"""A small HTTP load generator, for machines without wrk.

Several threads, each with its own connection (re-opened when the server
closes it, as gunicorn's sync worker does), send the same request for a fixed
time and record every latency.
"""

import http.client
import threading
import time
from urllib.parse import urlsplit


def run(url, method="GET", body=None, headers=None, connections=8, seconds=10.0):
    """Return (requests, errors, sorted latencies in seconds, elapsed seconds)."""
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    latencies, errors, lock = [], [0], threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker():
        mine, failed = [], 0
        connection = None
        while time.perf_counter() < deadline:
            started = time.perf_counter()
            try:
                if connection is None:
                    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
                connection.request(method, target, body, headers or {})
                response = connection.getresponse()
                response.read()
                if response.status >= 400:
                    failed += 1
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException):
                failed += 1
                connection = None
                continue
            mine.append(time.perf_counter() - started)
        with lock:
            latencies.extend(mine)
            errors[0] += failed

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return len(latencies), errors[0], sorted(latencies), time.perf_counter() - started
