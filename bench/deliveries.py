"""How late a healthy target's notifications arrive while one receiver trickles and one hangs (issue 19).

    .venv/bin/python bench/deliveries.py                      # this checkout
    .venv/bin/python bench/deliveries.py --source /tmp/before # another tree (a git archive of a commit)

Two apps on one SQLite file stand for gunicorn's two workers, each with its
web-process threads (``serve``: the periodic jobs and the delivery thread),
as deployed. One prefix rule notifies three targets, in this order: a
receiver that reads the request and then answers a byte every ``--every``
seconds, never finishing (a trickle); one that reads it and never answers (a
hang); a healthy receiver (``http.server``, answers 204 at once). Every
``--gap`` seconds a new sensor crosses the rule's threshold (a POST through
the first app's test client), ``--sensors`` in all. For each, the healthy
receiver's notification is timed from the POST's answer to its arrival; the
run ends when all have arrived or ``--cap`` seconds after the first POST.
The slow receivers count how many times each event reached them (more than
once: a second worker took a delivery over while the first still sent it).
"""

import argparse
import http.server
import json
import os
import select
import socket
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--source", type=Path, default=Path(__file__).resolve().parent.parent)
parser.add_argument("--sensors", type=int, default=16)
parser.add_argument("--gap", type=float, default=1.0)
parser.add_argument("--every", type=float, default=3.0)
parser.add_argument("--cap", type=float, default=150.0)
args = parser.parse_args()
sys.path.insert(0, str(args.source))

from flask_rest_service import create_app, serve  # noqa: E402


class Slow:
    """Reads each request, then trickles an answer (``every`` seconds a byte) or never answers."""

    def __init__(self, trickle: bool):
        self.trickle, self.seen = trickle, {}
        self.server = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=self._accept, daemon=True).start()

    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"

    def _accept(self):
        while True:
            connection, _ = self.server.accept()
            threading.Thread(target=self._serve, args=(connection,), daemon=True).start()

    def _serve(self, connection):
        with connection:
            head = b""
            while b"\r\n\r\n" not in head:
                head += connection.recv(65536)
            event = next(line for line in head.split(b"\r\n") if line.lower().startswith(b"x-readings-event"))
            key = event.split(b":", 1)[1].strip().decode()
            self.seen[key] = self.seen.get(key, 0) + 1
            answer = iter(b"HTTP/1.1 200 OK\r\nX-Trickle: " + b"." * 100_000)
            try:
                while True:
                    readable, _, _ = select.select([connection], [], [], args.every)
                    if readable and not connection.recv(65536):
                        return  # the service gave up
                    if self.trickle:
                        connection.sendall(bytes([next(answer)]))
            except OSError:
                return


arrived: dict[str, float] = {}


class Healthy(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        arrived.setdefault(body["sensor"], time.monotonic())
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_):
        pass


def main():
    trickling, hanging = Slow(trickle=True), Slow(trickle=False)
    healthy = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Healthy)
    threading.Thread(target=healthy.serve_forever, daemon=True).start()
    folder = tempfile.mkdtemp(prefix="deliveries-")
    os.environ.update(SQLITE_PATH=os.path.join(folder, "readings.sqlite3"), RATE_LIMIT="off")
    workers = [serve(create_app()) for _ in range(2)]
    client = workers[0].test_client()
    targets = [trickling.url(), hanging.url(), f"http://127.0.0.1:{healthy.server_address[1]}/hook"]
    made = client.post(
        "/rules/",
        json={"name": "cold", "kind": "threshold", "sensor_prefix": "s", "below": 5, "notify": targets},
    )
    assert made.status_code == 201, made.json
    time.sleep(6)  # every worker reads the new rule (RULES_CACHE_SECONDS)
    posted: dict[str, float] = {}
    first = time.monotonic()
    for n in range(args.sensors):
        sensor = f"s{n:02}"
        assert client.post("/readings/", json={"sensor": sensor, "value": 1}).status_code == 201
        posted[sensor] = time.monotonic()
        time.sleep(args.gap)
    while len(arrived) < args.sensors and time.monotonic() - first < args.cap:
        time.sleep(0.1)
    late = sorted(arrived[sensor] - posted[sensor] for sensor in arrived)
    print(f"source: {args.source}")
    print(
        f"{args.sensors} sensors, one every {args.gap:g} s; trickle a byte every {args.every:g} s; "
        f"cap {args.cap:g} s"
    )
    print(f"healthy notifications arrived: {len(late)} of {args.sensors}")
    if late:
        print(
            f"latency s: median {statistics.median(late):.3f}, max {late[-1]:.3f}, "
            f"over 1 s: {sum(1 for x in late if x > 1)}"
        )
    for name, receiver in (("trickling", trickling), ("hanging", hanging)):
        counts = receiver.seen.values()
        print(
            f"{name}: {len(receiver.seen)} events received, "
            f"{sum(1 for c in counts if c > 1)} more than once (most {max(counts, default=0)})"
        )
    os._exit(0)  # the workers' daemon threads may still be stuck on the slow receivers


if __name__ == "__main__":
    main()
