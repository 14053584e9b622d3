"""Rate limits per key (per address when open), in memory or in Redis."""

import shutil
import socket
import subprocess
import time
from datetime import UTC, datetime

import pytest
import time_machine
from conftest import problem_body


def hit(client, times, **headers):
    return [client.get("/readings/", headers=headers).status_code for _ in range(times)]


def test_over_the_limit_is_429_with_retry_after(app_factory):
    client = app_factory(RATE_LIMIT="3/minute").test_client()
    assert hit(client, 3) == [200, 200, 200]
    response = client.get("/readings/")
    assert response.status_code == 429
    assert 0 < int(response.headers["Retry-After"]) <= 60
    assert response.json == problem_body(429, "Too Many Requests", "3 per 1 minute")


def test_limits_count_per_key_from_its_first_request(app_factory):
    # A valid key counts against its own budget from its first request, however
    # many requests the address (a NAT, a proxy) made without one.
    app = app_factory(RATE_LIMIT="2/minute", AUTH_CACHE_SECONDS=0)
    first = app.extensions["keys"].create("a", "read")
    second = app.extensions["keys"].create("b", "read")
    client = app.test_client()
    assert hit(client, 3) == [401, 401, 429]  # the address's budget, spent without a key
    assert hit(client, 3, **{"X-API-Key": first}) == [200, 200, 429]
    assert hit(client, 3, **{"X-API-Key": second}) == [200, 200, 429]
    assert hit(client, 1, **{"X-API-Key": "rk_not_a_key"}) == [429]  # an unknown key: the address's


def test_one_budget_across_every_endpoint(app_factory):
    client = app_factory(RATE_LIMIT="3/minute").test_client()
    codes = [
        client.get(path).status_code for path in ("/readings/", "/sensors/", "/readings/export", "/sensors/")
    ]
    assert codes == [200, 200, 200, 429]


def test_limits_count_per_address_when_open(app_factory):
    client = app_factory(RATE_LIMIT="1/minute").test_client()
    assert client.get("/readings/", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200
    assert client.get("/readings/", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 429
    assert client.get("/readings/", environ_base={"REMOTE_ADDR": "10.0.0.2"}).status_code == 200


def test_no_limit_when_turned_off(app_factory):
    client = app_factory(RATE_LIMIT=None).test_client()
    assert set(hit(client, 20)) == {200}


@pytest.fixture
def redis_url():
    """A real Redis server on a free loopback port (.ci/run installs redis-server)."""
    server_binary = shutil.which("redis-server")
    if server_binary is None:
        pytest.skip("redis-server is not installed (.ci/run installs it)")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(
        [server_binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    server.terminate()
    server.wait()


@pytest.mark.e2e
def test_limits_are_shared_through_redis(app_factory, redis_url):
    # Two apps stand for two dynos: the limit is counted across both.
    first = app_factory(RATE_LIMIT="3/minute", RATELIMIT_STORAGE_URI=redis_url).test_client()
    second = app_factory(RATE_LIMIT="3/minute", RATELIMIT_STORAGE_URI=redis_url).test_client()
    assert hit(first, 2) + hit(second, 2) == [200, 200, 200, 429]


def forwarded(client, address, **headers):
    return client.get("/readings/?limit=1", headers={"X-Forwarded-For": address, **headers})


def first_page_through(app_factory, readings, hops):
    """A client allowed one request a minute, and its first page asked for as 203.0.113.7 over https://api.example."""
    client = app_factory(RATE_LIMIT="1/minute", FORWARDED_HOPS=hops).test_client()
    readings.insert([{"value": n} for n in range(2)])
    headers = {"X-Forwarded-Proto": "https", "X-Forwarded-Host": "api.example"}
    return client, forwarded(client, "203.0.113.7", **headers)


def test_behind_a_proxy_the_client_address_and_url_come_from_its_headers(app_factory, readings):
    client, first = first_page_through(app_factory, readings, hops=1)
    assert first.headers["Link"].startswith("<https://api.example/readings/?limit=1&cursor=")
    assert forwarded(client, "203.0.113.7").status_code == 429
    assert forwarded(client, "203.0.113.8").status_code == 200  # another client behind the same proxy


def test_without_a_proxy_those_headers_are_ignored(app_factory, readings):
    client, first = first_page_through(app_factory, readings, hops=0)
    assert first.headers["Link"].startswith("<http://localhost/readings/?limit=1&cursor=")
    assert forwarded(client, "203.0.113.8").status_code == 429  # a spoofed address is no new budget


def test_retry_after_says_how_long_until_the_window_resets(app_factory):
    client = app_factory(RATE_LIMIT="2/minute").test_client()
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC), tick=False) as clock:
        assert hit(client, 2) == [200, 200]  # the window runs from 10:00:00 to 10:01:00
        clock.move_to(datetime(2026, 3, 1, 10, 0, 17, tzinfo=UTC))
        response = client.get("/readings/")
        assert (response.status_code, response.headers["Retry-After"]) == (429, "43")
        clock.move_to(datetime(2026, 3, 1, 10, 0, 59, 500000, tzinfo=UTC))
        assert client.get("/readings/").headers["Retry-After"] == "1"
        clock.move_to(datetime(2026, 3, 1, 10, 1, 0, 1000, tzinfo=UTC))
        assert client.get("/readings/").status_code == 200
