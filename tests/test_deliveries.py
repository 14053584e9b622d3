"""Alert deliveries that no receiver can hold up (issue 19), on every store.

Slow receivers are real sockets on 127.0.0.1: one reads the request, then
answers a byte every half second and never finishes (a trickle, which a
socket's timeout, per read, never cuts); one reads it and never answers (a
hang). Each lives at most ``LIFETIME`` seconds, and until the test ends or
the service closes the connection. Deadlines are small here
(``ALERTS_DELIVERY_TIMEOUT_SECONDS``); every wait is bounded, and asserts only
that something happened before a generous bound, never how fast.
"""

import select
import socket
import threading
import time
from datetime import timedelta

import pytest
from conftest import ALERTS_T0

DEADLINE = 3  # ALERTS_DELIVERY_TIMEOUT_SECONDS in these tests
LIFETIME = 60  # the most a slow receiver holds a connection
BOUND = 20  # the most a test waits for anything: far past DEADLINE, well within LIFETIME


class SlowReceiver:
    """A webhook receiver that reads each request whole, then trickles an answer or hangs."""

    def __init__(self, mode: str):
        self.mode = mode
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.bodies: list[bytes] = []  # each request's body, as it came
        self.holding = 0  # connections the client has not closed yet
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._threads = [threading.Thread(target=self._accept, daemon=True)]
        self._threads[0].start()

    def url(self, scheme: str = "http") -> str:
        return f"{scheme}://127.0.0.1:{self.server.getsockname()[1]}/hook"

    def held(self) -> bool:
        with self._lock:
            return self.holding > 0

    def close(self) -> None:
        self.done.set()
        for thread in self._threads:
            thread.join(timeout=5)
        self.server.close()

    def _accept(self) -> None:
        while not self.done.is_set():
            try:
                connection, _ = self.server.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._serve, args=(connection,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _serve(self, connection: socket.socket) -> None:
        with connection:
            body = _request_body(connection)
            if body is None:
                return
            with self._lock:
                self.bodies.append(body)
                self.holding += 1
            try:
                self._answer(connection)
            except OSError:
                pass  # the client cut the connection
            finally:
                with self._lock:
                    self.holding -= 1

    def _answer(self, connection: socket.socket) -> None:
        answer = iter(b"HTTP/1.1 200 OK\r\nX-Trickle: " + b"." * 100_000)
        ends = time.monotonic() + LIFETIME
        while not self.done.is_set() and time.monotonic() < ends:
            readable, _, _ = select.select([connection], [], [], 0.5)
            if readable and not connection.recv(1024):
                return  # the client closed it
            if self.mode == "trickle":
                connection.sendall(bytes([next(answer)]))


def _request_body(connection: socket.socket) -> bytes | None:
    connection.settimeout(5)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(4096)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(
        (
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length")
        ),
        0,
    )
    while len(body) < length:
        chunk = connection.recv(4096)
        if not chunk:
            return None
        body += chunk
    connection.settimeout(None)
    return body


@pytest.fixture
def trickling():
    receiver = SlowReceiver("trickle")
    yield receiver
    receiver.close()


@pytest.fixture
def hanging():
    receiver = SlowReceiver("hang")
    yield receiver
    receiver.close()


@pytest.fixture
def app(app_factory, clock):
    return app_factory(RATE_LIMIT=None, ALERTS_DELIVERY_TIMEOUT_SECONDS=DEADLINE)


def fire(app, name: str, sensor: str, targets: list[str]) -> str:
    """Make a rule that fires at once on a reading of 1 from ``sensor``, and send that reading."""
    client = app.test_client()
    made = client.post(
        "/rules/",
        json={"name": name, "kind": "threshold", "sensor": sensor, "below": 5, "notify": targets},
    )
    assert made.status_code == 201, made.json
    posted = client.post(
        "/readings/", json={"sensor": sensor, "value": 1, "timestamp": ALERTS_T0.isoformat()}
    )
    assert posted.status_code == 201
    return made.json["_id"]["$oid"]


def deliveries(app, oid: str) -> list[tuple]:
    [event] = app.test_client().get(f"/rules/{oid}/events").json
    return [(d["status"], d["attempts"], d["last_error"]) for d in event["deliveries"]]


def until(condition, bound: float = BOUND) -> bool:
    """Whether ``condition()`` holds within ``bound`` seconds."""
    ends = time.monotonic() + bound
    while time.monotonic() < ends:
        if condition():
            return True
        time.sleep(0.05)
    return condition()


def in_thread(work) -> tuple[threading.Thread, list]:
    result: list = []
    thread = threading.Thread(target=lambda: result.append(work()), daemon=True)
    thread.start()
    return thread, result


TIMED_OUT = f"timed out: no whole answer within {DEADLINE} s"


@pytest.mark.parametrize("scheme", ["http", "json"], ids=["webhook", "apprise"])
def test_a_receiver_that_trickles_its_answer_is_cut_at_the_deadline(app, trickling, scheme):
    # Before: a byte every half second kept the send (and every delivery after it) going for as
    # long as the receiver liked: urllib's and Apprise's timeouts are per read.
    oid = fire(app, "slow", "greenhouse", [trickling.url(scheme)])
    thread, tried = in_thread(app.extensions["alerts"].deliver)
    thread.join(timeout=BOUND)
    assert not thread.is_alive()
    assert tried == [1]
    assert deliveries(app, oid) == [("queued", 1, TIMED_OUT)]
    assert len(trickling.bodies) == 1
    assert until(lambda: not trickling.held())  # the service closed its connection


def test_other_targets_are_notified_while_a_trickling_and_a_hanging_receiver_are_held(
    app, receiver, trickling, hanging
):
    # One rule, three targets, the healthy one last. Before: sent one after another, the
    # healthy one waited for the trickle, which never ended.
    oid = fire(app, "three", "greenhouse", [trickling.url(), hanging.url(), receiver.url_for("/hook")])
    thread, tried = in_thread(app.extensions["alerts"].deliver)
    assert until(lambda: len(receiver.log) == 1)
    assert trickling.held() and hanging.held()  # the slow ones are still being sent
    thread.join(timeout=BOUND)
    assert tried == [3]
    assert deliveries(app, oid) == [
        ("queued", 1, TIMED_OUT),
        ("queued", 1, TIMED_OUT),
        ("delivered", 1, None),
    ]


def test_the_delivery_loop_sends_a_new_notification_while_slow_targets_are_held(
    app, receiver, trickling, hanging
):
    # The web process's delivery thread: it hands what is due to the pool and never waits for a
    # send, so a notification that comes while two receivers hold theirs goes out at once.
    engine = app.extensions["alerts"]
    stop = threading.Event()
    loop = threading.Thread(target=engine.run_deliveries, args=(stop,), daemon=True)
    loop.start()
    try:
        fire(app, "slow", "cellar", [trickling.url(), hanging.url()])
        assert until(lambda: trickling.held() and hanging.held())
        fire(app, "healthy", "greenhouse", [receiver.url_for("/hook")])
        assert until(lambda: len(receiver.log) == 1)
        assert trickling.held() and hanging.held()
    finally:
        stop.set()
        engine.wakeup.set()
        loop.join(timeout=BOUND)
    assert not loop.is_alive()


def test_a_second_worker_does_not_send_a_delivery_again_while_the_first_sends_it(
    app_factory, trickling, clock
):
    # Two apps on one store stand for two workers. The first is stuck on a trickling receiver; a
    # minute later by the clock (past 1.x's 60 s lease, which the trickle outlasted) the second
    # looks. Before: it took the delivery over and sent it again, and was stuck in turn.
    first, second = (app_factory(RATE_LIMIT=None, ALERTS_DELIVERY_TIMEOUT_SECONDS=DEADLINE) for _ in range(2))
    oid = fire(first, "slow", "greenhouse", [trickling.url()])
    sending, _ = in_thread(first.extensions["alerts"].deliver)
    assert until(trickling.held)
    clock.shift(timedelta(seconds=61))
    looking, found = in_thread(second.extensions["alerts"].deliver)
    looking.join(timeout=BOUND)
    assert found == [0]
    sending.join(timeout=BOUND)
    assert not sending.is_alive()
    assert len(trickling.bodies) == 1
    assert deliveries(first, oid) == [("queued", 1, TIMED_OUT)]


def test_due_leaves_out_the_targets_asked(app, receiver):
    # The targets this process is sending to already: their deliveries must not fill a batch.
    one, two = receiver.url_for("/one"), receiver.url_for("/two")
    fire(app, "two targets", "greenhouse", [one, two])
    due = app.extensions["store"].alerts.due(ALERTS_T0, 10, leave_out={one})
    assert [(d["url"], d["index"]) for d in due] == [(two, 1)]
