#!/usr/bin/env python3
"""A device-side client for the readings service, on the Python standard library only.

Copy this file to a Raspberry Pi (or any Python 3.8+) and run it:

    python3 device.py --url https://my-readings.herokuapp.com --key rk_... --sensor pi-kitchen

What it does, so that no reading is lost or stored twice:

- Every reading is appended to a local buffer file (JSON lines) before any
  sending, with an ObjectId made on the device: a reading that survives a
  restart, or is sent again after a lost answer, keeps its id and is never
  stored twice (the service answers "already_stored").
- Readings leave in gzip-compressed batches, ``POST /readings/?partial=true``:
  the service stores every valid item and reports each one, so one bad reading
  never blocks the buffer; rejected ones are logged and dropped.
- On 429 and 503 it waits what ``Retry-After`` says; on network errors and
  other 5xx it backs off exponentially with jitter; on 413 it halves the batch;
  on 401/403 it stops, since retrying cannot help.
"""

import argparse
import gzip
import itertools
import json
import os
import random
import secrets
import sys
import tempfile
import time
import urllib.error
import urllib.request

RETRY_STATUSES = {429, 500, 502, 503, 504}


class AuthError(RuntimeError):
    """The service refused the key (401/403); retrying will not help."""


class ObjectIds:
    """Make MongoDB ObjectIds: 4 bytes of time, 5 random bytes, a 3-byte counter."""

    def __init__(self):
        self._process = secrets.token_bytes(5)
        self._counter = itertools.count(random.randrange(2**24))

    def __call__(self):
        counter = next(self._counter) % 2**24
        return (int(time.time()).to_bytes(4, "big") + self._process + counter.to_bytes(3, "big")).hex()


class Buffer:
    """Readings not yet accepted, kept in a JSON-lines file across restarts."""

    def __init__(self, path):
        self.path = path
        self.readings = []
        if os.path.exists(path):
            with open(path, encoding="utf-8") as lines:
                self.readings = [json.loads(line) for line in lines if line.strip()]

    def append(self, reading):
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(reading) + "\n")
            out.flush()
            os.fsync(out.fileno())
        self.readings.append(reading)

    def remove(self, ids):
        self.readings = [r for r in self.readings if r["_id"] not in ids]
        folder = os.path.dirname(os.path.abspath(self.path))
        with tempfile.NamedTemporaryFile("w", dir=folder, delete=False, encoding="utf-8") as out:
            out.writelines(json.dumps(r) + "\n" for r in self.readings)
            out.flush()
            os.fsync(out.fileno())
        os.replace(out.name, self.path)  # atomic: a crash leaves the old or the new file


class Result:
    """What one attempt to send achieved."""

    def __init__(self, sent=0, rejected=0, wait=None, retry=False):
        self.sent, self.rejected, self.wait, self.retry = sent, rejected, wait, retry


class Client:
    """Buffers readings and sends them to the service in batches."""

    def __init__(self, url, api_key=None, buffer_path="readings-buffer.jsonl", batch_size=100,
                 timeout=10.0, base_delay=1.0, max_delay=300.0, sleep=time.sleep, clock=time.monotonic,
                 rng=random.random, log=lambda message: print(message, file=sys.stderr)):  # fmt: skip
        self.url = url.rstrip("/") + "/readings/?partial=true"
        self.api_key = api_key
        self.buffer = Buffer(buffer_path)
        self.batch_size = batch_size
        self.timeout = timeout
        self.base_delay, self.max_delay = base_delay, max_delay
        self.sleep, self.clock, self.rng, self.log = sleep, clock, rng, log
        self.new_id = ObjectIds()

    @property
    def pending(self):
        """How many readings wait to be accepted."""
        return len(self.buffer.readings)

    def add(self, reading):
        """Buffer a reading (given an id and timestamp if it has none); return its id."""
        reading = dict(reading)
        reading.setdefault("_id", self.new_id())
        reading.setdefault("timestamp", time.time())
        self.buffer.append(reading)
        return reading["_id"]

    def backoff(self, attempt):
        """Seconds to wait before retry number ``attempt`` (0, 1, ...): exponential, jittered."""
        ceiling = min(self.max_delay, self.base_delay * 2**attempt)
        return ceiling / 2 + self.rng() * ceiling / 2

    def send_once(self):
        """Send one batch from the buffer; return what happened."""
        batch = self.buffer.readings[: self.batch_size]
        if not batch:
            return Result()
        headers = {"Content-Type": "application/json", "Content-Encoding": "gzip"}
        if self.api_key:
            headers["X-API-Key"] = self.api_key
        request = urllib.request.Request(self.url, gzip.compress(json.dumps(batch).encode()), headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                results = json.loads(response.read())
        except urllib.error.HTTPError as error:
            return self._refused(error)
        except (urllib.error.URLError, OSError) as error:
            self.log(f"cannot reach the service: {error}")
            return Result(retry=True)
        for result in results:
            if result["status"] == "rejected":
                self.log(f"rejected, dropped: {json.dumps(batch[result['index']])}: {result['errors']}")
        self.buffer.remove({reading["_id"] for reading in batch})
        rejected = sum(result["status"] == "rejected" for result in results)
        return Result(sent=len(batch) - rejected, rejected=rejected)

    def _refused(self, error):
        status = error.code
        if status in (401, 403):
            raise AuthError(f"the service answered {status}: check the API key and its scope")
        if status == 413 and self.batch_size > 1:
            self.batch_size = max(1, self.batch_size // 2)
            return Result(wait=0, retry=True)
        if status in RETRY_STATUSES:
            retry_after = error.headers.get("Retry-After", "")
            return Result(wait=float(retry_after) if retry_after.isdigit() else None, retry=True)
        raise RuntimeError(f"the service answered {status}: {error.read()[:300]!r}")

    def flush(self, deadline=None):
        """Send until the buffer is empty; False if ``deadline`` (clock time) comes first."""
        attempt = 0
        while self.pending:
            result = self.send_once()
            if not result.retry:
                attempt = 0
                continue
            wait = result.wait if result.wait is not None else self.backoff(attempt)
            attempt += 1
            if deadline is not None and self.clock() + wait > deadline:
                return False
            self.sleep(wait)
        return True


def read_value():
    """The Raspberry Pi's CPU temperature, or a demo value elsewhere."""
    try:
        with open("/sys/class/thermal/thermal_zone0/temp") as source:
            return int(source.read()) / 1000
    except OSError:
        return round(20 + random.random() * 5, 2)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("READINGS_URL", "http://localhost:5000"))
    parser.add_argument("--key", default=os.environ.get("READINGS_API_KEY"), help="write-scope API key")
    parser.add_argument("--sensor", default=os.uname().nodename)
    parser.add_argument("--type", default="temperature")
    parser.add_argument("--interval", type=float, default=60, help="seconds between readings")
    parser.add_argument("--buffer", default="readings-buffer.jsonl")
    parser.add_argument("--count", type=int, default=0, help="stop after this many readings (0: never)")
    args = parser.parse_args(argv)
    client = Client(args.url, args.key, args.buffer)
    for taken in itertools.count(1):
        client.add({"sensor": args.sensor, "type": args.type, "value": read_value()})
        next_tick = client.clock() + args.interval
        client.flush(deadline=next_tick)
        if args.count and taken >= args.count:
            return 0 if client.flush(deadline=client.clock() + 30) else 1
        client.sleep(max(0.0, next_tick - client.clock()))


if __name__ == "__main__":
    sys.exit(main())
