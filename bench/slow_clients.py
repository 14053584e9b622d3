"""Slow clients against gunicorn's worker models (issue 12): which one keeps answering.

For each candidate worker configuration, gunicorn serves the service with the
repository's ``gunicorn.conf.py`` plus the candidate's overrides on the command
line, on 127.0.0.1, over a temporary SQLite file seeded with readings. Then,
for 30 s a scenario, hostile sockets are held open while a normal client makes
a request every 100 ms (a new connection each) and records its latency:

    idle        25 sockets that connect and send nothing
    trickle     25 sockets that send a request line, then one byte of a header a second
    slowbody    25 POSTs announcing 100000 bytes of JSON and sending 5 bytes a second
    slowread    25 exports of the whole store, 13 read 1 KB a second, 12 never read
    mix         6 idle, 6 trickle, 6 slowbody, 4+3 slowread, and 3 more clients like the normal one
    sqlite      2 clients POSTing batches of 1000 readings back to back, and 1 asking back
                to back for an hour-bucketed month of one sensor
    export      one export of 200k readings read steadily, to take 40 s (longer than `timeout`)
    locked      another process holds SQLite's write lock 1 s in every 2; 3 more normal clients
    lazyclose   25 clients that send "Connection: close", read the answer, and close 3 s later
    trickle100  100 trickling sockets: beyond the issue's target, where each model breaks
    quiet       issue 19: no hostile sockets; the normal client asks GET / and POSTs one reading
    idle300     the same beside 300 idle sockets
    trickle64   the same beside 64 trickling heads
    slowbody64  the same beside 64 slow bodies (issue 19's table: ratios to quiet's medians)

A hostile socket the server closes is opened again 0.2 s later (a stalled reader
cannot see the close and does not), so the pressure lasts the whole 30 s.
Export readers have a 64 KB receive buffer, as a slow peer on the Internet
has little in flight.
After each scenario: the worker pids before and after, and gunicorn's log
("WORKER TIMEOUT", "Booting worker"). Each worker also runs a probe (the app
is built by ``bench_app`` below) that sleeps 10 ms in a loop and logs every
wake-up later than 50 ms: under gevent that is how long the event loop was
blocked (by a SQLite call, or Python that never yields); under threads, how
long a ready thread waited for the GIL.

Apart from the scenarios, ``wrk -t1 -c8 -d8s`` measures each model's plain
throughput (single POSTs, GET /readings/?limit=100), on the service's own app,
``--throughput-runs`` times (``--scenarios none`` for only that).

    .venv/bin/python bench/slow_clients.py
    .venv/bin/python bench/slow_clients.py --sizes 100000 --only gevent-1000,gthread-32 --scenarios idle,sqlite
    .venv/bin/python bench/slow_clients.py --list

gevent's candidate needs ``pip install gevent`` in the virtualenv; throughput
needs wrk. Every socket and client has a timeout, everything talks to
127.0.0.1, and gunicorn runs in a process group of its own, killed however
this script ends (but by SIGKILL).
"""

import argparse
import contextlib
import http.client
import json
import math
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON_BIN = Path(sys.executable).parent
HOST = "127.0.0.1"

HOLD_SECONDS = 30
CLIENT_TIMEOUT = 10  # every client socket operation
CONNECT_TIMEOUT = 5
NORMAL_PERIOD = 0.1
RECONNECT_PAUSE = 0.2  # a hostile socket the server closed comes back after this, not in a tight loop
START = datetime(2026, 1, 1)
STEP_SECONDS = 6
SENSORS = 20
EXPORT_READINGS = 200_000
EXPORT_SECONDS = 40  # longer than gunicorn's timeout (25 s)
BATCH = 1000
READER_BUFFER = 64 * 1024  # SO_RCVBUF of the export readers
PROBE_PERIOD = 0.01
PROBE_REPORT = 0.05
MONGO_VARIABLES = ("MONGO_URL", "MONGODB_URI", "MONGO_URI", "DYNO")


# --- what runs inside gunicorn's workers ----------------------------------------


def bench_app():
    """Build the service's app as ``flask_rest_service:app`` does, with the lag probe.

    gunicorn calls it (``slow_clients:bench_app()``) in each worker;
    ``post_worker_init`` then makes it a web process as usual.
    """
    from flask_rest_service import create_app

    app = create_app()
    folder = os.environ.get("BENCH_PROBE_DIR")
    if folder:
        path = Path(folder) / f"{os.getpid()}.lag"
        threading.Thread(target=_probe, args=(path,), name="lag-probe", daemon=True).start()
    return app


def _probe(path: Path) -> None:
    """Log each 10 ms sleep that ends 50 ms late or more: (wall time, seconds late)."""
    with open(path, "a") as out:
        while True:
            started = time.monotonic()
            time.sleep(PROBE_PERIOD)
            late = time.monotonic() - started - PROBE_PERIOD
            if late >= PROBE_REPORT:
                out.write(f"{time.time():.3f} {late:.4f}\n")
                out.flush()


# --- candidates and scenarios -------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    name: str
    args: tuple[str, ...]


CANDIDATES = [
    # --threads 1: with threads > 1 (gunicorn.conf.py may set it), gunicorn runs gthread for "sync".
    Candidate("sync", ("-k", "sync", "--threads", "1")),
    Candidate("gthread-8", ("-k", "gthread", "--threads", "8")),
    Candidate("gthread-32", ("-k", "gthread", "--threads", "32")),
    Candidate("gevent-1000", ("-k", "gevent", "--worker-connections", "1000")),
    # gunicorn.conf.py's own model since issue 19: the asgi worker, the app on a2wsgi's threads.
    Candidate("asgi", ("-k", "asgi")),
]


@dataclass(frozen=True)
class Scenario:
    name: str
    hostile: dict = field(default_factory=dict)  # kind -> sockets
    load_clients: int = 0
    writers: int = 0
    stats: bool = False
    export: bool = False
    locker: bool = False  # another process holds SQLite's write lock 1 s in every 2
    # What the normal client asks: "mix" (issue 12) or "root" (GET / and a POST, issue 19).
    normal: str = "mix"


SCENARIOS = [
    Scenario("idle", {"idle": 25}),
    Scenario("trickle", {"trickle": 25}),
    Scenario("slowbody", {"slowbody": 25}),
    Scenario("slowread", {"slowread": 13, "stalled": 12}),
    Scenario("mix", {"idle": 6, "trickle": 6, "slowbody": 6, "slowread": 4, "stalled": 3}, load_clients=3),
    Scenario("sqlite", writers=2, stats=True),
    Scenario("locked", load_clients=3, locker=True),
    Scenario("lazyclose", {"lazyclose": 25}),
    Scenario("export", export=True),
    Scenario("trickle100", {"trickle": 100}),
    # Issue 19's targets: GET / and a single POST, against their unloaded median (quiet).
    Scenario("quiet", normal="root"),
    Scenario("idle300", {"idle": 300}, normal="root"),
    Scenario("trickle64", {"trickle": 64}, normal="root"),
    Scenario("slowbody64", {"slowbody": 64}, normal="root"),
]


# --- the data set --------------------------------------------------------------------


def document(n: int) -> dict:
    return {
        "sensor": f"s{n % SENSORS}",
        "type": "temperature",
        "value": n * 0.1,
        "timestamp": START + timedelta(seconds=STEP_SECONDS * n),
    }


def iso(moment: datetime) -> str:
    return moment.isoformat() + "Z"


@dataclass
class Data:
    size: int
    path: Path
    export_query: str
    export_readings: int
    export_bytes: int
    stats_query: str


def seed(size: int, folder: Path) -> Data:
    """A SQLite file of ``size`` readings (reused if ``folder`` has one), and what to ask of it."""
    sys.path.insert(0, str(ROOT))
    from flask_rest_service import create_app
    from flask_rest_service.stores.sqlite import SqliteStore

    path = folder / f"readings-{size}.sqlite3"
    facts_path = folder / f"readings-{size}.json"
    export_readings = min(EXPORT_READINGS, size)
    export_query = "/readings/export?" + urlencode(
        {
            "format": "ndjson",
            "since": iso(START),
            "until": iso(START + timedelta(seconds=STEP_SECONDS * export_readings)),
        }
    )
    last = START + timedelta(seconds=STEP_SECONDS * (size - 1))
    stats_query = "/readings/stats?" + urlencode(
        {"sensor": "s7", "interval": "1h", "since": iso(last - timedelta(days=30)), "until": iso(last)}
    )
    if not (path.exists() and facts_path.exists()):
        for stale in folder.glob(f"readings-{size}.sqlite3*"):
            stale.unlink()
        started = time.monotonic()
        store = SqliteStore(str(path))
        for first in range(0, size, 10_000):
            store.readings.insert([document(n) for n in range(first, min(first + 10_000, size))])
        store.close()
        print(f"seeded {size} readings in {time.monotonic() - started:.0f} s", file=sys.stderr)
        app = create_app({"SQLITE_PATH": str(path), "RATE_LIMIT": None})
        with contextlib.redirect_stdout(sys.stderr):  # the request's log line is not the report's
            answer = app.test_client().get(export_query)
        body = answer.get_data()
        if answer.status_code != 200:
            raise RuntimeError(f"the export answered {answer.status_code}: {body[:500]!r}")
        app.extensions["store"].close()
        facts_path.write_text(json.dumps({"export_bytes": len(body), "export_lines": body.count(b"\n")}))
    facts = json.loads(facts_path.read_text())
    if facts["export_lines"] != export_readings:
        raise RuntimeError(f"the export holds {facts['export_lines']} readings, not {export_readings}")
    return Data(size, path, export_query, export_readings, facts["export_bytes"], stats_query)


# --- gunicorn ------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


class Server:
    """gunicorn in its own process group, with the repository's gunicorn.conf.py and the candidate's overrides."""

    def __init__(self, candidate: Candidate, data: Data, folder: Path, target: str, probe: bool):
        self.folder = folder
        self.port = free_port()
        self.db = folder / "readings.sqlite3"
        for stale in folder.glob("readings.sqlite3*"):
            stale.unlink()
        shutil.copyfile(data.path, self.db)
        self.probe_dir = folder / "probe"
        shutil.rmtree(self.probe_dir, ignore_errors=True)
        self.probe_dir.mkdir()
        env = {key: value for key, value in os.environ.items() if key not in MONGO_VARIABLES}
        env.update(
            SQLITE_PATH=str(self.db),
            WEB_CONCURRENCY="2",
            RATE_LIMIT="1000000/second",  # runs on every request, never trips (all clients are 127.0.0.1)
            PYTHONPATH=os.pathsep.join([str(ROOT), str(BENCH)]),
        )
        if probe:
            env["BENCH_PROBE_DIR"] = str(self.probe_dir)
        command = [str(PYTHON_BIN / "gunicorn"), target, "-c", str(ROOT / "gunicorn.conf.py"),
                   "-b", f"{HOST}:{self.port}", "--no-control-socket", *candidate.args]  # fmt: skip
        self.log_path = folder / "gunicorn.log"
        self.requests_path = folder / "requests.log"
        with open(self.log_path, "wb") as log, open(self.requests_path, "wb") as requests:
            self.process = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=requests, stderr=log, start_new_session=True
            )
        try:
            self.wait_ready(60)
        except BaseException:
            self.stop()
            raise

    def workers(self) -> set[int]:
        found = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True)
        return {int(pid) for pid in found.stdout.split()}

    def wait_ready(self, seconds: float) -> None:
        """Until both workers are up and the service answers its health check."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.process.returncode}: {self.log_tail()}")
            if len(self.workers()) == 2:
                try:
                    if all(request(self.port, "GET", "/", timeout=2)[0] == 200 for _ in range(4)):
                        return
                except (OSError, http.client.HTTPException):
                    pass
            time.sleep(0.2)
        raise RuntimeError(f"gunicorn not ready within {seconds} s: {self.log_tail()}")

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def log_since(self, offset: int) -> str:
        with open(self.log_path, "rb") as log:
            log.seek(offset)
            return log.read().decode(errors="replace")

    def lags(self, since: float, until: float) -> list[float]:
        """The probe's late wake-ups (seconds) between two wall-clock times, every worker."""
        found = []
        for path in self.probe_dir.glob("*.lag"):
            for line in path.read_text().splitlines():
                words = line.split()
                if len(words) == 2 and since <= float(words[0]) <= until:  # not a line half written
                    found.append(float(words[1]))
        return found

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
            except ProcessLookupError:
                pass
        try:  # a worker the master left behind
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


# --- clients -------------------------------------------------------------------------


def request(port: int, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
            timeout: float = CLIENT_TIMEOUT) -> tuple[int, dict, bytes]:  # fmt: skip
    """One request on a new connection; the whole answer."""
    connection = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        connection.request(method, path, body, headers or {})
        answer = connection.getresponse()
        return answer.status, dict(answer.getheaders()), answer.read()
    finally:
        connection.close()


def connect(port: int, receive_buffer: int | None = None) -> socket.socket:
    """A connection to the server, with a small receive buffer if asked (set before the handshake,
    so the window stays small: a slow peer on the Internet holds little in flight)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if receive_buffer:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
        sock.settimeout(CONNECT_TIMEOUT)
        sock.connect((HOST, port))
        sock.settimeout(CLIENT_TIMEOUT)
        return sock
    except BaseException:
        sock.close()
        raise


def outcome_of(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "timeout"
    if isinstance(error, ConnectionRefusedError):
        return "refused"
    if isinstance(error, ConnectionResetError | http.client.RemoteDisconnected | BrokenPipeError):
        return "reset"
    return type(error).__name__


class Record:
    """Latencies and outcomes of one kind of client, from several threads."""

    def __init__(self):
        self.lock = threading.Lock()
        self.samples: list[tuple[str, float, str]] = []  # (what, seconds, outcome)

    def add(self, what: str, seconds: float, outcome: str) -> None:
        with self.lock:
            self.samples.append((what, seconds, outcome))

    def summary(self) -> dict:
        times = sorted(seconds for _, seconds, _ in self.samples)
        outcomes = Counter(outcome for _, _, outcome in self.samples)
        kinds = sorted({what for what, _, _ in self.samples})
        if not times:
            return {"requests": 0}
        return {
            "requests": len(times),
            "p50_ms": round(percentile(times, 0.5) * 1000, 1),
            "p99_ms": round(percentile(times, 0.99) * 1000, 1),
            "max_ms": round(times[-1] * 1000, 1),
            "over_2s": sum(seconds > 2 for seconds in times),
            "errors": sum(count for outcome, count in outcomes.items() if outcome != "ok"),
            "outcomes": dict(outcomes),
            "by_request": {what: _brief([s for s in self.samples if s[0] == what]) for what in kinds},
        }


def _brief(samples: list[tuple[str, float, str]]) -> dict:
    times = sorted(seconds for _, seconds, _ in samples)
    return {
        "n": len(times),
        "p50_ms": round(percentile(times, 0.5) * 1000, 1),
        "max_ms": round(times[-1] * 1000, 1),
        "errors": sum(outcome != "ok" for _, _, outcome in samples),
    }


def percentile(ordered: list[float], fraction: float) -> float:
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def timed(record: Record, what: str, port: int, method: str, path: str, expect: tuple[int, ...],
          body: bytes | None = None, headers: dict | None = None) -> tuple[int, dict, bytes] | None:  # fmt: skip
    started = time.monotonic()
    try:
        answer = request(port, method, path, body, headers)
    except (OSError, http.client.HTTPException) as error:
        record.add(what, time.monotonic() - started, outcome_of(error))
        return None
    record.add(what, time.monotonic() - started, "ok" if answer[0] in expect else f"http-{answer[0]}")
    return answer


ONE_READING = json.dumps(
    {"sensor": "bench-normal", "type": "temperature", "value": 21.5, "timestamp": "2027-01-01T00:00:00Z"}
).encode()
JSON = {"Content-Type": "application/json"}
UNDATED_READING = json.dumps(
    {"sensor": "bench-root", "type": "temperature", "value": 21.5}
).encode()  # stamped now


def normal_client(port: int, until: float, record: Record, reading_id: str, kind: str = "mix") -> None:
    """A request every 100 ms, in turn: a page, one reading, a new reading, the sensors
    (``kind`` "root": the health check, then a new reading)."""
    turn = 0
    while time.monotonic() < until:
        started = time.monotonic()
        step = turn % 4
        if kind == "root" and step % 2 == 0:
            timed(record, "root", port, "GET", "/", (200,))
        elif kind == "root":
            timed(record, "post", port, "POST", "/readings/", (201,), UNDATED_READING, JSON)
        elif step == 0:
            timed(record, "list", port, "GET", "/readings/?limit=100", (200,))
        elif step == 1:
            timed(record, "get", port, "GET", f"/readings/{reading_id}", (200,))
        elif step == 2:
            answer = timed(record, "post", port, "POST", "/readings/", (201,), UNDATED_READING, JSON)
            location = (
                {name.lower(): value for name, value in answer[1].items()}.get("location") if answer else None
            )
            if location:  # the asgi worker sends header names in lower case
                reading_id = location.rsplit("/", 1)[1]
        else:
            timed(record, "sensors", port, "GET", "/sensors/", (200,))
        turn += 1
        time.sleep(max(0.0, started + NORMAL_PERIOD - time.monotonic()))


def writer(port: int, until: float, record: Record, body: bytes) -> None:
    while time.monotonic() < until:
        timed(record, "batch", port, "POST", "/readings/", (201,), body, JSON)


def stats_client(port: int, until: float, record: Record, path: str) -> None:
    while time.monotonic() < until:
        timed(record, "stats", port, "GET", path, (200,))


def export_reader(port: int, data: Data, result: dict) -> None:
    """Read an export steadily, to take EXPORT_SECONDS; did every reading arrive?"""
    rate = data.export_bytes / EXPORT_SECONDS
    started = time.monotonic()
    received = lines = 0
    connection = http.client.HTTPConnection(HOST, port, timeout=CLIENT_TIMEOUT)
    try:
        connection.sock = connect(port, READER_BUFFER)
        connection.request("GET", data.export_query)
        answer = connection.getresponse()
        result["status"] = answer.status
        while True:
            chunk = answer.read(65536)
            if not chunk:
                break
            received += len(chunk)
            lines += chunk.count(b"\n")
            time.sleep(max(0.0, started + received / rate - time.monotonic()))
        result["ended"] = "complete" if lines == data.export_readings else "short"
    except (OSError, http.client.HTTPException) as error:
        result["ended"] = f"cut ({outcome_of(error)})"
    finally:
        connection.close()
        result.update(seconds=round(time.monotonic() - started, 1), readings=lines, bytes=received,
                      expected=data.export_readings)  # fmt: skip


def locker(path: Path, until: float, counts: Counter) -> None:
    """Hold SQLite's write lock for 1 s in every 2, as a long write of another process would."""
    connection = sqlite3.connect(path, timeout=CLIENT_TIMEOUT, isolation_level=None)
    try:
        while time.monotonic() < until - 1:
            connection.execute("BEGIN IMMEDIATE")
            time.sleep(1)
            connection.execute("COMMIT")
            counts["held 1 s"] += 1
            time.sleep(1)
    finally:
        connection.close()


def hostile(kind: str, port: int, until: float, counts: Counter, export_path: str) -> None:
    """Hold one hostile socket of ``kind`` until ``until``, opening another whenever the server closes it."""
    while time.monotonic() < until:
        try:
            sock = connect(port, READER_BUFFER if kind in ("slowread", "stalled") else None)
        except OSError:
            counts["connect failed"] += 1
            time.sleep(0.5)
            continue
        counts["opened"] += 1
        opened = time.monotonic()
        try:
            ended = _misbehave(kind, sock, until, export_path)
        except OSError as error:
            ended = f"closed ({outcome_of(error)})"
        finally:
            sock.close()
        counts[ended] += 1
        if ended != "held":
            counts["seconds before close"] += time.monotonic() - opened
            time.sleep(RECONNECT_PAUSE)


def _misbehave(kind: str, sock: socket.socket, until: float, export_path: str) -> str:
    """Behave as ``kind`` until ``until`` ("held") or until the server closes or answers."""
    if kind == "trickle":
        sock.sendall(b"GET /readings/ HTTP/1.1\r\nHost: x\r\nX-Slow: ")
    elif kind == "slowbody":
        head = "POST /readings/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"
        sock.sendall(head.encode() + b'[{"sensor": "slow", "value": 1}')
    elif kind in ("slowread", "stalled"):
        sock.sendall(f"GET {export_path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    elif kind == "lazyclose":  # reads the whole answer, closes its end 3 s later
        sock.sendall(b"GET /readings/?limit=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        while time.monotonic() < until and sock.recv(65536):
            pass
        time.sleep(max(0.0, min(3.0, until - time.monotonic())))
        return "closed 3 s after the answer"
    while (left := until - time.monotonic()) > 0:
        if kind == "stalled":  # never reads: cannot see a close either
            time.sleep(min(1.0, left))
            continue
        sock.settimeout(min(1.0, left))
        try:
            got = sock.recv(1024)
        except TimeoutError:
            got = None
        if got == b"":
            return "closed"
        if got and kind != "slowread":
            return "answered " + got.split(b"\r\n", 1)[0].decode(errors="replace")[9:12]
        if got is not None and kind == "slowread":
            time.sleep(min(1.0, max(0.0, until - time.monotonic())))
        if kind == "trickle":
            sock.sendall(b"a")
        elif kind == "slowbody":
            sock.sendall(b', {"a":1}'[:5])
    return "held"


# --- one scenario --------------------------------------------------------------------


def run_scenario(server: Server, scenario: Scenario, data: Data, reading_id: str, hold: float) -> dict:
    server.wait_ready(90)
    time.sleep(1)
    before = server.workers()
    offset = server.log_size()
    wall_start = time.time()
    start = time.monotonic()
    hold = EXPORT_SECONDS + 5 if scenario.export else hold
    until = start + hold
    port = server.port
    threads = []
    counts = {kind: Counter() for kind in scenario.hostile}
    whole_store = "/readings/export?format=ndjson"

    def spawn(target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        threads.append(thread)

    for kind, how_many in scenario.hostile.items():
        for _ in range(how_many):
            spawn(hostile, kind, port, until, counts[kind], whole_store)
    time.sleep(1)  # the hostile sockets are in place before the first measured request
    normal, load, writes, stats = Record(), Record(), Record(), Record()
    export = {}
    spawn(normal_client, port, until, normal, reading_id, scenario.normal)
    for _ in range(scenario.load_clients):
        spawn(normal_client, port, until, load, reading_id)
    if scenario.writers:
        batch = json.dumps(
            [
                {
                    "sensor": "bench-writer",
                    "type": "temperature",
                    "value": n * 0.5,
                    "timestamp": iso(datetime(2027, 6, 1) + timedelta(seconds=n)),
                }
                for n in range(BATCH)
            ]  # fmt: skip
        ).encode()
        for _ in range(scenario.writers):
            spawn(writer, port, until, writes, batch)
    if scenario.stats:
        spawn(stats_client, port, until, stats, data.stats_query)
    if scenario.export:
        spawn(export_reader, port, data, export)
    locks = Counter()
    if scenario.locker:
        spawn(locker, server.db, until, locks)
    for thread in threads:
        thread.join(timeout=max(0.0, until - time.monotonic()) + 3 * CLIENT_TIMEOUT)
    time.sleep(2)  # a worker the arbiter kills at the end shows in its log
    after = server.workers()
    log = server.log_since(offset)
    lags = sorted(server.lags(wall_start, time.time()))
    result = {
        "scenario": scenario.name,
        "seconds": round(time.monotonic() - start, 1),
        "normal": normal.summary(),
        "workers_replaced": len(before - after),  # pids gone since the start
        "worker_timeouts": log.count("WORKER TIMEOUT"),
        "workers_booted": log.count("Booting worker"),
        "log_errors": sum(" [ERROR] " in line or " [CRITICAL] " in line for line in log.splitlines()),
        "socket_timeouts_logged": log.count("timed out"),
        "stalls": {
            "over_100ms": sum(late > 0.1 for late in lags),
            "over_1s": sum(late > 1 for late in lags),
            "max_ms": round(lags[-1] * 1000) if lags else 0,
            "total_s": round(sum(lags), 1),
        },
        "hostile": {kind: _closes(c) for kind, c in counts.items()},
    }
    if scenario.load_clients:
        result["load"] = load.summary()
    if scenario.writers:
        result["writers"] = writes.summary()
    if scenario.stats:
        result["stats"] = stats.summary()
    if scenario.export:
        result["export"] = export
    if scenario.locker:
        result["locker"] = dict(locks)
    stuck = [thread for thread in threads if thread.is_alive()]
    if stuck:
        result["clients_still_running"] = len(stuck)
    return result


def _closes(counts: Counter) -> dict:
    """What became of one kind's sockets; the mean time the server kept those it closed."""
    found = dict(counts)
    waited = found.pop("seconds before close", 0.0)
    closed = sum(v for k, v in found.items() if k not in ("opened", "held", "connect failed"))
    if closed:
        found["mean_s_to_close"] = round(waited / closed, 1)
    return found


def first_reading_id(port: int) -> str:
    status, _, body = request(port, "GET", "/readings/?limit=1")
    if status != 200:
        raise RuntimeError(f"GET /readings/ answered {status}")
    return json.loads(body)[0]["_id"]["$oid"]


# --- throughput ------------------------------------------------------------------------

WRK_POST = """\
wrk.method = "POST"
wrk.body = '{"sensor": "wrk", "type": "temperature", "value": 21.5, "timestamp": "2027-03-01T00:00:00Z"}'
wrk.headers["Content-Type"] = "application/json"
"""


def wrk(port: int, path: str, script: Path | None) -> dict:
    command = ["wrk", "-t1", "-c8", "-d8s", "--timeout", "10s", "--latency"]
    if script:
        command += ["-s", str(script)]
    output = subprocess.run([*command, f"http://{HOST}:{port}{path}"], capture_output=True, text=True,
                            timeout=60).stdout  # fmt: skip
    result = {"requests_per_s": None, "non_2xx": 0, "socket_errors": ""}
    for line in output.splitlines():
        words = line.split()
        if line.startswith("Requests/sec:"):
            result["requests_per_s"] = round(float(words[1]))
        elif line.strip().startswith("Non-2xx"):
            result["non_2xx"] = int(words[-1])
        elif line.strip().startswith("Socket errors"):
            result["socket_errors"] = line.split(":", 1)[1].strip()
        elif line.strip().startswith("99%"):
            result["p99"] = words[1]
        elif line.strip().startswith("50%"):
            result["p50"] = words[1]
    return result


def throughput(candidate: Candidate, data: Data, folder: Path, runs: int) -> dict:
    """Requests a second on the service's own app (no probe): single POSTs, a page of 100;
    the median of ``runs`` runs, all of them listed."""
    if shutil.which("wrk") is None:
        return {"skipped": "wrk is not installed"}
    script = folder / "post.lua"
    script.write_text(WRK_POST)
    server = Server(candidate, data, folder, "flask_rest_service:app", probe=False)
    try:
        request(server.port, "POST", "/readings/", ONE_READING, JSON)  # warm both paths
        request(server.port, "GET", "/readings/?limit=100")
        before = server.workers()
        found = {"post": [], "list": []}
        for _ in range(runs):
            found["post"].append(wrk(server.port, "/readings/", script))
            found["list"].append(wrk(server.port, "/readings/?limit=100", None))
        result = {"workers_replaced": len(before - server.workers())}
        for kind, tries in found.items():
            middle = sorted(tries, key=lambda t: t["requests_per_s"] or 0)[len(tries) // 2]
            result[kind] = {**middle, "all_requests_per_s": [t["requests_per_s"] for t in tries]}
        return result
    finally:
        server.stop()


# --- reports ------------------------------------------------------------------------------


def scenario_table(results: list[dict], name: str) -> str:
    rows = [
        f"### {name}",
        "",
        "| candidate | requests | p50 ms | p99 ms | max ms | >2 s | errors | worker timeouts/replaced | stalls >100 ms (max ms) | other |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | --- |",
    ]
    for run in results:
        found = next((r for r in run["scenarios"] if r["scenario"] == name), None)
        if found is None:
            continue
        normal = found["normal"]
        other = []
        for part in ("load", "writers", "stats"):
            if part in found and found[part].get("requests"):
                s = found[part]
                other.append(
                    f"{part}: {s['requests']} req, p50 {s['p50_ms']:.0f}, max {s['max_ms']:.0f} ms, {s['errors']} err"
                )
        if "export" in found:
            e = found["export"]
            other.append(
                f"export {e.get('ended')} {e.get('readings')}/{e.get('expected')} in {e.get('seconds')} s"
            )
        if "locker" in found:
            other.append(f"write lock held {found['locker']}")
        for kind, c in found["hostile"].items():
            closes = {k: v for k, v in c.items() if k not in ("opened", "held")}
            other.append(f"{kind}: {c.get('opened', 0)} opened {dict(closes) or ''}")
        stalls = found["stalls"]
        rows.append(
            f"| {run['candidate']} | {normal.get('requests', 0)} | {normal.get('p50_ms', '-')} | "
            f"{normal.get('p99_ms', '-')} | {normal.get('max_ms', '-')} | {normal.get('over_2s', '-')} | "
            f"{normal.get('errors', '-')} {_outcomes(normal)} | "
            f"{found['worker_timeouts']}/{found['workers_replaced']} | {stalls['over_100ms']} ({stalls['max_ms']}) | {'; '.join(other)} |"
        )
    return "\n".join(rows)


def target_table(results: list[dict]) -> str:
    """Issue 19: each hostile scenario's GET / and POST, p50 as a ratio of quiet's p50, and max."""
    rows = [
        "### issue 19 targets: GET / and POST under load (p50 ms, ratio to quiet's p50; max ms)",
        "",
        "| candidate | scenario | GET / p50 (×quiet) | GET / max | POST p50 (×quiet) | POST max | errors |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for run in results:
        by_name = {r["scenario"]: r for r in run["scenarios"]}
        quiet = by_name.get("quiet", {}).get("normal", {}).get("by_request", {})
        for name, found in by_name.items():
            kinds = found["normal"].get("by_request", {})
            if "root" not in kinds:
                continue
            cells = []
            for kind in ("root", "post"):
                got, base = kinds.get(kind, {}), quiet.get(kind, {})
                ratio = (
                    f" ({got['p50_ms'] / base['p50_ms']:.1f}×)" if got.get("n") and base.get("p50_ms") else ""
                )
                cells += [f"{got.get('p50_ms', '-')}{ratio}", f"{got.get('max_ms', '-')}"]
            rows.append(
                f"| {run['candidate']} | {name} | {' | '.join(cells)} | {found['normal'].get('errors', '-')} |"
            )
    return "\n".join(rows)


def _outcomes(summary: dict) -> str:
    bad = {k: v for k, v in summary.get("outcomes", {}).items() if k != "ok"}
    return f"({', '.join(f'{k} {v}' for k, v in bad.items())})" if bad else ""


def throughput_table(results: list[dict]) -> str:
    rows = [
        "| candidate | POST one reading req/s (p50, p99) | GET ?limit=100 req/s (p50, p99) | non-2xx | every run |",
        "| --- | ---: | ---: | ---: | --- |",
    ]
    for run in results:
        t = run.get("throughput")
        if not t or "post" not in t:
            continue
        post, page = t["post"], t["list"]
        rows.append(
            f"| {run['candidate']} | {post['requests_per_s']} ({post.get('p50')}, {post.get('p99')}) | "
            f"{page['requests_per_s']} ({page.get('p50')}, {page.get('p99')}) | {post['non_2xx'] + page['non_2xx']} |"
            f" {post['all_requests_per_s']} / {page['all_requests_per_s']} |"
        )
    return "\n".join(rows)


def report(results: list[dict], scenarios: list[Scenario]) -> str:
    parts = [scenario_table(results, scenario.name) for scenario in scenarios]
    if any(scenario.normal == "root" for scenario in scenarios):
        parts.insert(0, target_table(results))
    parts.append("### throughput (wrk -t1 -c8 -d8s, no hostile sockets)\n\n" + throughput_table(results))
    return "\n\n".join(parts)


# --- main --------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sizes", default="1000000", help="readings in the store, comma-separated")
    parser.add_argument("--only", help="candidates, comma-separated (see --list)")
    parser.add_argument("--scenarios", help="scenarios, comma-separated (see --list)")
    parser.add_argument("--no-throughput", action="store_true")
    parser.add_argument(
        "--throughput-runs", type=int, default=1, help="wrk runs of each kind, each candidate"
    )
    parser.add_argument(
        "--seed-dir", type=Path, help="keep seeded files here, to reuse (default: a temporary folder)"
    )
    parser.add_argument("--hold", type=float, default=HOLD_SECONDS, help="seconds each scenario lasts")
    parser.add_argument("--out", type=Path, help="write every result here as JSON")
    parser.add_argument("--logs", type=Path, help="keep gunicorn's log of each candidate here")
    parser.add_argument("--list", action="store_true", help="list candidates and scenarios")
    args = parser.parse_args()
    if args.list:
        for candidate in CANDIDATES:
            print(f"{candidate.name}: {' '.join(candidate.args)}")
        for scenario in SCENARIOS:
            print(f"{scenario.name}: {scenario}")
        return
    candidates = _pick(CANDIDATES, args.only)
    scenarios = _pick(SCENARIOS, args.scenarios)
    # SIGTERM or SIGHUP to this script unwinds like Ctrl-C, through every `finally` that stops
    # gunicorn. (SIGKILL cannot: gunicorn, in a session of its own, would then stay.)
    signal.signal(signal.SIGTERM, _interrupt)
    signal.signal(signal.SIGHUP, _interrupt)
    for name in MONGO_VARIABLES:  # the seeding app, like gunicorn, must open the SQLite file
        os.environ.pop(name, None)
    work = Path(tempfile.mkdtemp(prefix="slow-clients-"))
    seeds = args.seed_dir or work
    seeds.mkdir(parents=True, exist_ok=True)
    everything = {}
    try:
        for size in (int(s) for s in args.sizes.split(",")):
            data = seed(size, seeds)
            results = []
            for candidate in candidates:
                run = {"candidate": candidate.name, "size": size, "scenarios": []}
                results.append(run)
                if not args.no_throughput:
                    run["throughput"] = throughput(candidate, data, work, args.throughput_runs)
                    print(f"{candidate.name} throughput: {run['throughput']}", file=sys.stderr)
                if not scenarios:
                    continue
                server = Server(candidate, data, work, "slow_clients:bench_app()", probe=True)
                try:
                    reading_id = first_reading_id(server.port)
                    for scenario in scenarios:
                        result = run_scenario(server, scenario, data, reading_id, args.hold)
                        run["scenarios"].append(result)
                        print(f"{size} {candidate.name} {json.dumps(result)}", file=sys.stderr, flush=True)
                finally:
                    server.stop()
                    if args.logs:
                        args.logs.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(server.log_path, args.logs / f"gunicorn-{size}-{candidate.name}.log")
                if args.out:
                    args.out.write_text(json.dumps({**everything, str(size): results}, indent=1))
            everything[str(size)] = results
            print(f"\n## {size} readings\n\n{report(results, scenarios)}\n")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _interrupt(*_) -> None:
    raise KeyboardInterrupt


def _pick(items: list, names: str | None) -> list:
    if not names:
        return items
    if names == "none":
        return []
    by_name = {item.name: item for item in items}
    unknown = [name for name in names.split(",") if name not in by_name]
    if unknown:
        raise SystemExit(f"unknown: {', '.join(unknown)}; known: {', '.join(by_name)}")
    return [by_name[name] for name in names.split(",")]


if __name__ == "__main__":
    main()
