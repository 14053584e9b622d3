"""Idle, trickling and slow clients do not stall the web process (issues 12 and 19).

The Procfile's web process (gunicorn with gunicorn.conf.py, through honcho),
with gunicorn's worker timeout cut from 25 s to TIMEOUT so that holding the
sockets longer than it stays short. While a crowd of CROWD hostile sockets is
held open for HOLD seconds, a normal client asks every 100 ms and must be
answered within ANSWER seconds each time; afterwards the same workers are
there, none killed. Everything talks to 127.0.0.1 and every socket has a
timeout. Issue 19's crowds (300 idle sockets, 64 trickling) are held while
one GET / and one POST must simply complete (a 5 s client timeout; under
gthread they waited 9 to 37 s). How long answers take under each worker model
is measured in bench/slow_clients.py and bench/SLOW_CLIENTS.md, not here.
"""

import gzip
import json
import socket
import threading
import time
import urllib.request

import pytest
from webserver import Web, call

pytestmark = pytest.mark.e2e
TIMEOUT = 3  # gunicorn's worker timeout in these tests, seconds
HOLD = TIMEOUT + 3  # how long the crowd is held
CROWD = 25
ANSWER = 2  # seconds a normal request may take, at most
ROUNDS = 6  # a GET / and a POST each, beside the large crowds


@pytest.fixture(scope="module")
def web(tmp_path_factory):
    path = tmp_path_factory.mktemp("slow") / "readings.sqlite3"
    web = Web({"SQLITE_PATH": str(path), "GUNICORN_CMD_ARGS": f"--timeout {TIMEOUT}", "RATE_LIMIT": "off"})
    yield web
    web.stop()


def connect(port: int, receive_buffer: int | None = None) -> socket.socket:
    sock = socket.socket()
    sock.settimeout(ANSWER)
    if receive_buffer:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, receive_buffer)
    sock.connect(("127.0.0.1", port))
    return sock


def idle(port):
    """Connects and sends nothing."""
    sock = connect(port)
    return sock, lambda: None


def trickle(port):
    """A request line, then one byte of a header every step."""
    sock = connect(port)
    sock.sendall(b"GET /readings/ HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return sock, lambda: sock.send(b"X")


def slow_body(port):
    """A POST announcing 100,000 bytes of JSON that sends 5 bytes a step."""
    sock = connect(port)
    sock.sendall(
        b"POST /readings/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 100000\r\n\r\n[    "
    )
    return sock, lambda: sock.send(b"     ")


def unread_export(port):
    """Asks for the whole store as CSV and never reads the answer."""
    sock = connect(port, receive_buffer=4096)
    sock.sendall(b"GET /readings/export?format=csv HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
    return sock, lambda: None


def stored(web) -> int:
    return sum(sensor["count"] for sensor in call(web.base + "/sensors/")[1])


def seed(web, count: int) -> None:
    for start in range(0, count, 1000):
        batch = [{"sensor": f"s{n % 20}", "value": n} for n in range(start, min(count, start + 1000))]
        assert call(web.base + "/readings/", batch)[0] == 201


@pytest.mark.parametrize("hostile", [idle, trickle, slow_body, unread_export])
def test_a_crowd_of_slow_sockets_does_not_stall_other_clients(web, hostile):
    if hostile is unread_export:
        seed(web, 50_000 - stored(web))  # an answer far larger than the socket buffers hold
    workers = web.workers()
    crowd = [hostile(web.port) for _ in range(CROWD)]
    answered = 0
    try:
        deadline = time.monotonic() + HOLD
        while time.monotonic() < deadline:
            for _, step in crowd:
                step()
            # Raises (a timeout) if the answer takes longer than ANSWER seconds.
            with urllib.request.urlopen(web.base + "/sensors/", timeout=ANSWER) as response:
                assert response.status == 200
            answered += 1
            time.sleep(0.1)
    finally:
        for sock, _ in crowd:
            sock.close()
    assert answered >= HOLD * 3  # it kept answering the whole time, not once
    assert web.workers() == workers  # none killed by the timeout, none restarted


def test_an_export_longer_than_the_worker_timeout_arrives_whole(web):
    # 100,000 readings read at about 500 KB/s: longer than TIMEOUT.
    seed(web, 100_000 - stored(web))
    workers = web.workers()
    sock = connect(web.port, receive_buffer=16384)
    sock.sendall(b"GET /readings/export?format=csv HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    started, received = time.monotonic(), bytearray()
    while chunk := sock.recv(16384):
        received += chunk
        time.sleep(0.03)
    sock.close()
    assert time.monotonic() - started > TIMEOUT
    head, _, body = bytes(received).partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200 ")
    # Chunked transfer: the last chunk (0) ends it; the rows are all there.
    assert body.endswith(b"\r\n0\r\n\r\n")
    assert len(_unchunk(body).decode().splitlines()) == 1 + 100_000
    assert web.workers() == workers


class Crowd:
    """Hostile sockets held open, each stepped every half second by a thread of the test."""

    def __init__(self, port: int, kind, size: int):
        self.members = [kind(port) for _ in range(size)]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._step, daemon=True)
        self.thread.start()

    def _step(self):
        while not self.stop.wait(0.5):
            for _, step in self.members:
                try:
                    step()
                except OSError:  # the server closed it: no longer a burden to it either
                    pass

    def close(self):
        self.stop.set()
        self.thread.join()
        for sock, _ in self.members:
            sock.close()


def answered_within(url: str, body=None, seconds: float = 5):
    """(status, parsed body) of one request on a new connection; raises if it takes longer than ``seconds``."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data, {"Content-Type": "application/json"} if data else {})
    with urllib.request.urlopen(request, timeout=seconds) as response:
        return response.status, json.loads(response.read())


@pytest.mark.slow
@pytest.mark.parametrize(("hostile", "size"), [(idle, 300), (trickle, 64), (slow_body, 64)])
def test_normal_gets_and_posts_complete_beside_a_large_crowd(web, hostile, size):
    # Several, each on a new connection: the crowd may have fallen on one worker, not both.
    crowd = Crowd(web.port, hostile, size)
    sensor = f"beside-{hostile.__name__}"
    created = []
    try:
        time.sleep(1)  # every socket accepted and stepped once
        for n in range(ROUNDS):
            status, health = answered_within(web.base + "/")
            assert (status, health["status"]) == (200, "OK")
            status, reading = answered_within(web.base + "/readings/", {"sensor": sensor, "value": n})
            assert status == 201
            assert (reading["sensor"], reading["value"]) == (sensor, n)
            created.append(reading)
    finally:
        crowd.close()
    status, stored = call(f"{web.base}/readings/?sensor={sensor}")
    assert sorted(stored, key=lambda reading: reading["value"]) == created


def test_a_body_over_the_limit_is_refused_before_100_continue(web):
    # The client waits for "100 Continue" before sending 99 MB; it must get the 413 instead.
    sock = connect(web.port)
    sock.settimeout(5)
    sock.sendall(
        b"POST /readings/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: 99000000\r\nExpect: 100-continue\r\n\r\n"
    )
    received = b""
    while b"\r\n\r\n" not in received or len(received.partition(b"\r\n\r\n")[2]) < 130:
        chunk = sock.recv(4096)
        if not chunk:
            break
        received += chunk
    sock.close()
    head, _, body = received.partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.1 413 Payload Too Large"
    assert b"content-type: application/problem+json" in head.lower()
    assert json.loads(body) == {
        "type": "about:blank",
        "title": "Request Entity Too Large",
        "status": 413,
        "detail": "the body is 99000000 bytes; the limit is 4194304",
    }


def chunked_post(port: int, body: bytes, *headers: bytes) -> tuple[bytes, dict]:
    """POST /readings/ with ``body`` sent chunked (in two chunks); the status line and the JSON answer."""
    sock = connect(port)
    sock.settimeout(10)
    half = len(body) // 2
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:half], body[half:]) if part)
    sock.sendall(
        b"POST /readings/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        + b"".join(header + b"\r\n" for header in headers)
        + b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        + chunks
        + b"0\r\n\r\n"
    )
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    sock.close()
    head, _, body = received.partition(b"\r\n\r\n")
    if b"transfer-encoding: chunked" in head.lower():
        body = _unchunk(body)
    return head.split(b"\r\n")[0], json.loads(body)


def test_a_chunked_body_is_read_and_stored(web):
    # A device's HTTP library may send a body chunked (no Content-Length), plain or gzip.
    status, created = chunked_post(web.port, json.dumps({"sensor": "chunked", "value": 1.5}).encode())
    assert (status, created["sensor"], created["value"]) == (b"HTTP/1.1 201 Created", "chunked", 1.5)
    packed = gzip.compress(json.dumps({"sensor": "chunked", "value": 2.5}).encode())
    status, created = chunked_post(web.port, packed, b"Content-Encoding: gzip")
    assert (status, created["value"]) == (b"HTTP/1.1 201 Created", 2.5)
    _, page = call(f"{web.base}/readings/?sensor=chunked")
    assert [reading["value"] for reading in page] == [2.5, 1.5]


def test_a_chunked_body_past_the_limit_is_413(web):
    status, problem = chunked_post(web.port, b" " * (4 * 1024 * 1024 + 10))
    assert status == b"HTTP/1.1 413 Payload Too Large"
    assert problem["detail"] == "the body is larger than 4194304 bytes"


def _unchunk(body: bytes) -> bytes:
    out, at = bytearray(), 0
    while True:
        end = body.index(b"\r\n", at)
        size = int(body[at:end], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        at = end + 2 + size + 2
