"""The rate limits' counters kept in this process's memory (``memory://``)."""

import threading
from datetime import UTC, datetime

import time_machine

from flask_rest_service.ratelimits import SWEEP_SECONDS, ProcessMemory


def test_counting_in_memory_starts_no_thread(app_factory, monkeypatch):
    started = []
    monkeypatch.setattr(threading.Thread, "start", started.append)
    client = app_factory(RATE_LIMIT="100/minute").test_client()
    assert {client.get("/readings/").status_code for _ in range(5)} == {200}
    assert started == []


def test_a_window_that_has_ended_counts_from_zero():
    storage = ProcessMemory()
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC), tick=False) as clock:
        assert [storage.incr("k", 60) for _ in range(3)] == [1, 2, 3]
        assert storage.get_expiry("k") == datetime(2026, 3, 1, 10, 1, 0, tzinfo=UTC).timestamp()
        clock.move_to(datetime(2026, 3, 1, 10, 1, 0, tzinfo=UTC))
        assert storage.get("k") == 0
        assert storage.incr("k", 60) == 1


def test_ended_windows_are_dropped():
    storage = ProcessMemory()
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, 0, tzinfo=UTC), tick=False) as clock:
        for n in range(100):
            storage.incr(f"client {n}", 1)
        clock.shift(SWEEP_SECONDS)
        storage.incr("another", 1)
        assert storage.reset() == 1  # the keys it held
