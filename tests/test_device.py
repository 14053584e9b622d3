"""examples/device.py against the real app, served over HTTP on loopback."""

import importlib.util
import threading

import pytest
from bson import ObjectId
from conftest import ROOT, everything, run_python
from flask import request
from werkzeug.serving import make_server

spec = importlib.util.spec_from_file_location("device", ROOT / "examples" / "device.py")
device = importlib.util.module_from_spec(spec)
spec.loader.exec_module(device)


@pytest.fixture
def served(app_factory):
    """Start an app on loopback; yield (url, app, encodings seen)."""
    servers = []

    def serve(**config):
        app = app_factory(AUTH_CACHE_SECONDS=0, **config)
        encodings = []
        app.before_request(lambda: encodings.append(request.headers.get("Content-Encoding")))
        server = make_server("127.0.0.1", 0, app, threaded=False)
        # It looks for shutdown() every poll_interval: 0.5 s by default, the most of a short test.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_port}", app, encodings

    yield serve
    for server in servers:
        server.shutdown()


def client_for(url, tmp_path, **options):
    logged = []
    client = device.Client(url, buffer_path=str(tmp_path / "buffer.jsonl"), log=logged.append, **options)
    client.logged = logged
    return client


def stored(app):
    return everything(app.extensions["store"].readings)


def test_readings_go_in_gzip_batches_with_the_devices_ids(served, tmp_path):
    url, app, encodings = served()
    client = client_for(url, tmp_path, batch_size=2)
    ids = [client.add({"sensor": "pi", "value": n}) for n in range(5)]
    assert client.flush() is True
    assert client.pending == 0
    assert sorted(str(doc["_id"]) for doc in stored(app)) == sorted(ids)
    assert encodings == ["gzip", "gzip", "gzip"]  # 2 + 2 + 1
    assert (tmp_path / "buffer.jsonl").read_text() == ""


def test_unsent_readings_survive_a_restart(served, tmp_path, dead_port):
    down = client_for(f"http://127.0.0.1:{dead_port}", tmp_path, sleep=lambda s: None)
    down.add({"value": 1})
    down.add({"value": 2})
    assert down.flush(deadline=down.clock()) is False  # nothing reachable: give up for now
    url, app, _ = served()
    restarted = client_for(url, tmp_path)
    assert restarted.pending == 2
    assert restarted.flush() is True
    assert sorted(doc["value"] for doc in stored(app)) == [1, 2]


def test_resending_after_a_lost_answer_stores_nothing_twice(served, tmp_path):
    url, app, _ = served()
    client = client_for(url, tmp_path)
    client.add({"value": 1})
    unsent = list(client.buffer.readings)
    assert client.flush()
    for reading in unsent:  # the answer was lost: the device still holds the reading
        client.buffer.append(reading)
    assert client.flush()
    assert len(stored(app)) == 1


def test_rejected_readings_are_logged_and_dropped(served, tmp_path):
    url, app, _ = served()
    client = client_for(url, tmp_path)
    client.add({"value": "hot"})
    client.add({"value": 1})
    assert client.flush() is True
    assert [doc["value"] for doc in stored(app)] == [1]
    assert len(client.logged) == 1 and "must be a number" in client.logged[0]


def test_retry_after_is_honoured(served, tmp_path):
    url, app, _ = served(RATE_LIMIT="1/minute")
    waits = []
    client = client_for(url, tmp_path, sleep=waits.append)
    client.add({"value": 1})
    assert client.flush()
    client.add({"value": 2})
    result = client.send_once()
    assert result.retry and 0 < result.wait <= 60
    assert client.flush(deadline=client.clock() + 1) is False  # it would wait longer than that
    assert client.pending == 1


def test_413_halves_the_batch(served, tmp_path):
    url, app, _ = served(MAX_BATCH_SIZE=2)
    client = client_for(url, tmp_path, batch_size=8)
    for n in range(5):
        client.add({"value": n})
    assert client.flush() is True
    assert client.batch_size == 2
    assert len(stored(app)) == 5


def test_a_refused_key_stops_the_client(served, tmp_path):
    url, app, _ = served()
    app.extensions["keys"].create("other", "read")
    client = client_for(url, tmp_path, api_key="rk_wrong")
    client.add({"value": 1})
    with pytest.raises(device.AuthError):
        client.flush()
    assert client.pending == 1


def test_a_write_key_is_sent(served, tmp_path):
    url, app, _ = served()
    key = app.extensions["keys"].create("pi", "write")
    client = client_for(url, tmp_path, api_key=key)
    client.add({"value": 1})
    assert client.flush() is True


def test_backoff_is_exponential_with_jitter_and_capped(tmp_path):
    low = device.Client(
        "http://x", buffer_path=str(tmp_path / "a"), rng=lambda: 0.0, base_delay=1, max_delay=30
    )
    high = device.Client(
        "http://x", buffer_path=str(tmp_path / "b"), rng=lambda: 1.0, base_delay=1, max_delay=30
    )
    assert [low.backoff(n) for n in range(6)] == [0.5, 1, 2, 4, 8, 15]
    assert [high.backoff(n) for n in range(6)] == [1, 2, 4, 8, 16, 30]


def test_object_ids_are_valid_and_unique():
    make = device.ObjectIds()
    ids = [make() for _ in range(1000)]
    assert len(set(ids)) == 1000
    assert all(ObjectId.is_valid(oid) for oid in ids)


@pytest.mark.e2e
def test_the_script_runs_with_only_the_standard_library(served, tmp_path):
    url, app, _ = served()
    code = (
        "import sys, runpy; sys.modules['bson'] = None; sys.modules['flask'] = None; "  # no third-party packages
        f"sys.argv = ['device.py', '--url', '{url}', '--sensor', 'cli', '--count', '2', '--interval', '0', "
        f"'--buffer', '{tmp_path / 'b.jsonl'}']; runpy.run_path('examples/device.py', run_name='__main__')"
    )
    run_python(code)
    assert [doc["sensor"] for doc in stored(app)] == ["cli", "cli"]
