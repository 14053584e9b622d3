"""Idle, trickling and slow clients do not stall the web process (issue 12).

The Procfile's web process (gunicorn with gunicorn.conf.py, through honcho),
with gunicorn's worker timeout cut from 25 s to TIMEOUT so that holding the
sockets longer than it stays short. While a crowd of CROWD hostile sockets is
held open for HOLD seconds, a normal client asks every 100 ms and must be
answered within ANSWER seconds each time; afterwards the same workers are
there, none killed. Everything talks to 127.0.0.1 and every socket has a
timeout. How long answers take under each worker model is measured in
bench/slow_clients.py and bench/SLOW_CLIENTS.md, not here.
"""

import socket
import time
import urllib.request

import pytest
from webserver import Web, call

pytestmark = pytest.mark.e2e
TIMEOUT = 3  # gunicorn's worker timeout in these tests, seconds
HOLD = TIMEOUT + 3  # how long the crowd is held
CROWD = 25
ANSWER = 2  # seconds a normal request may take, at most


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


def _unchunk(body: bytes) -> bytes:
    out, at = bytearray(), 0
    while True:
        end = body.index(b"\r\n", at)
        size = int(body[at:end], 16)
        if size == 0:
            return bytes(out)
        out += body[end + 2 : end + 2 + size]
        at = end + 2 + size + 2
