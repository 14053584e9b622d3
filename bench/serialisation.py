"""The Extended JSON encoder against ``bson.json_util.dumps``, on 10,000 readings."""

import datetime as dt
import time


def run() -> dict:
    """Time both on the same readings (best of five); check that ours reads back the same."""
    from bson import ObjectId, json_util

    from flask_rest_service.extjson import dumps

    # Timestamps with milliseconds, as most devices' and the server's own have.
    docs = [
        {"_id": ObjectId(), "sensor": f"s{n % 5}", "type": "temperature", "value": n * 0.1,
         "timestamp": dt.datetime(2026, 1, 1) + dt.timedelta(seconds=n, milliseconds=n * 7 % 1000)}
        for n in range(10_000)
    ]  # fmt: skip

    def best(function, runs=5):
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            function(docs)
            times.append(time.perf_counter() - started)
        return min(times)

    ours, theirs = best(dumps), best(json_util.dumps)
    assert json_util.loads(dumps(docs)) == docs
    return {"extjson_ms": ours * 1000, "json_util_ms": theirs * 1000, "speedup": theirs / ours}
