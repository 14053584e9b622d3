"""Database outages, for real: nothing listening, or a peer that hangs up."""

import socket
import threading

import pytest
from conftest import problem_body

ENDPOINTS = [
    ("get", "/readings/"),
    ("post", "/readings/"),
    ("get", "/readings/65f0000000000000000000aa"),
    ("put", "/readings/65f0000000000000000000aa"),
    ("patch", "/readings/65f0000000000000000000aa"),
    ("delete", "/readings/65f0000000000000000000aa"),
    ("delete", "/readings/?until=2026-01-01"),
    ("get", "/readings/stats?sensor=k&interval=1h"),
    ("get", "/readings/export"),
    ("get", "/sensors/"),
    ("get", "/sensors/k/latest"),
]


@pytest.fixture
def dropping_port():
    """A loopback port that accepts connections and closes them at once."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    listener.settimeout(0.1)
    stop = threading.Event()

    def serve():
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                continue
            connection.close()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield listener.getsockname()[1]
    stop.set()
    thread.join()
    listener.close()


@pytest.fixture(params=["nothing listens", "connections dropped"])
def outage_app(request, app_factory, dead_port, dropping_port):
    port = dead_port if request.param == "nothing listens" else dropping_port
    return app_factory(
        MONGO_URI=f"mongodb://127.0.0.1:{port}/rest", MONGO_TIMEOUT_MS=300, CREATE_INDEXES=False
    )


@pytest.mark.parametrize(("method", "url"), ENDPOINTS)
def test_every_endpoint_answers_503_with_retry_after(outage_app, method, url):
    response = getattr(outage_app.test_client(), method)(url, json={"value": 1})
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    assert response.json == problem_body(
        503, "Service Unavailable", "the database cannot be reached; try again shortly"
    )


def test_health_says_the_database_is_unreachable(outage_app):
    response = outage_app.test_client().get("/")
    assert response.status_code == 503
    assert response.json["detail"] == "the database cannot be reached"


def test_keys_are_checked_against_the_database_so_an_outage_is_503_not_401(outage_app):
    response = outage_app.test_client().get("/readings/", headers={"X-API-Key": "rk_whatever"})
    assert response.status_code == 503
