"""What alert rules cost a POST /readings/ (issue 13: at most 10% over no rules at all).

    .venv/bin/python bench/alerts_overhead.py                 # in-process and over HTTP
    .venv/bin/python bench/alerts_overhead.py --no-http --rounds 5

A SQLite store in a temporary folder is seeded with ``--seed`` readings of
20 sensors (``bench/dataset.py``), then POST /readings/ is timed in three
shapes: one reading a request, a batch of 1,000 readings of one sensor, and
a batch of 1,000 readings spread over the 20 sensors. Each shape is timed
under four sets of rules, made and deleted through POST and DELETE /rules/
(keys off), so the engine's cache is invalidated as in production:

- no rules at all;
- 10 threshold rules on sensors that never report (none watches a posted one);
- the same with one of them on ``s0`` instead, the sensor of the single
  POSTs and the one-sensor batches (above 10^9: it stays ok, no transition);
- one quiet rule with ``sensor_prefix`` ``""`` (every sensor; for a day:
  it never fires here).

The configurations are interleaved (A/B/C/D, then B/C/D/A, ...) so that
the drift of a shared machine falls on each alike; each round's median is
compared with the same round's "no rules" median, and the table shows the
median over rounds of those ratios (and of the medians). The posted readings
are deleted after each round, so the store stays at its seeded size.

In-process is the WSGI app called directly (``scale.InProcess``); HTTP is
``gunicorn flask_rest_service:app`` with one sync worker, the deployed
settings and hooks (``seed_config.py``), through ``client.py``. Every
rule's events are checked to be none at the end: no configuration moved a
state.
"""

import argparse
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import dataset  # noqa: E402
import orjson  # noqa: E402
from client import Client  # noqa: E402
from run import load_average, machine, source, wait_for_quiet  # noqa: E402
from scale import RATE_LIMIT, InProcess  # noqa: E402
from servers import ROOT, Gunicorn  # noqa: E402

SENSOR = "s0"  # the sensor of the single POSTs and the one-sensor batches
JSON = {"Content-Type": "application/json"}
TARGET = 1.10  # issue 13: the POST fast path at most 10% slower


def threshold(sensor: str) -> dict:
    return {"name": f"{sensor} too hot", "kind": "threshold", "sensor": sensor, "above": 1e9}


ELSEWHERE = [threshold(f"elsewhere-{n}") for n in range(10)]
CONFIGS = {
    "no rules": [],
    "10 rules, other sensors": ELSEWHERE,
    "10 rules, one on the sensor": [*ELSEWHERE[:9], threshold(SENSOR)],
    'quiet rule, prefix ""': [{"name": "all quiet", "kind": "quiet", "sensor_prefix": "", "for": "1d"}],
}


class Readings:
    """Readings to post, numbered on from the seeded ones, so that none is late."""

    def __init__(self, first: int):
        self.first = self.next = first

    def take(self, count: int, sensors: int) -> list[dict]:
        """The next ``count`` readings: of ``SENSOR`` alone (``sensors=1``) or of s0..s19 in turn."""
        taken = []
        for n in range(self.next, self.next + count):
            reading = dataset.posted(n)
            reading["sensor"] = SENSOR if sensors == 1 else reading["sensor"]
            reading["value"] = 21.5
            taken.append(reading)
        self.next += count
        return taken


SHAPES = {  # name: (readings a request, sensors, requests timed a round, untimed first)
    "single": (1, 1, 300, 20),
    "batch 1,000 of one sensor": (1000, 1, 8, 2),
    "batch 1,000 of 20 sensors": (1000, 20, 8, 2),
}


class Target:
    """The app one way or the other: ``call(method, path, body) -> (seconds, status, headers)``."""

    def __init__(self, call, cpu):
        self.call, self.cpu = call, cpu
        self.rules: list[str] = []  # ids of the rules made, to delete

    def set_rules(self, bodies: list[dict]) -> None:
        for oid in self.rules:
            _, status, _ = self.call("DELETE", f"/rules/{oid}", b"")
            assert status == 204, status
        self.rules = []
        for body in bodies:
            _, status, headers = self.call("POST", "/rules/", orjson.dumps(body))
            assert status == 201, status
            location = headers.get("Location") or headers["location"]  # client.py lowers names
            self.rules.append(location.rsplit("/", 1)[1])

    def events(self) -> int:
        """The events of the current rules: 0 if nothing moved."""
        return sum(len(self.answer("GET", f"/rules/{oid}/events")) for oid in self.rules)


def in_process(path: str) -> tuple[Target, InProcess]:
    local = InProcess({"MONGO_URI": None, "SQLITE_PATH": path, "REQUIRE_API_KEYS": False})

    def call(method, target, body):
        seconds, (status, _, _, headers) = local.call(method, target, body, JSON)
        return seconds, status, headers

    target = Target(call, local.cpu_seconds)

    def answer(method, path):
        with contextlib.redirect_stdout(local.devnull):  # the request's log line
            return json.loads(local.app.test_client().open(path, method=method).data)

    target.answer = answer
    return target, local


def over_http(server: Gunicorn) -> tuple[Target, Client]:
    client = Client(server.base)

    def call(method, target, body):
        answer = client.request(method, target, body, JSON, keep=False)
        return answer.seconds, answer.status, answer.headers

    target = Target(call, server.cpu_seconds)
    target.answer = lambda method, path: json.loads(client.request(method, path).body)
    return target, client


def measure(target: Target, readings: Readings, rounds: int, delete_posted) -> dict:
    """Interleaved rounds: {shape: {config: [(median ms, CPU ms a request) per round]}}."""
    found = {shape: {config: [] for config in CONFIGS} for shape in SHAPES}
    names = list(CONFIGS)
    for round_ in range(rounds):
        order = names[round_ % len(names) :] + names[: round_ % len(names)]
        for config in order:
            target.set_rules(CONFIGS[config])
            for shape, (size, sensors, times, warmup) in SHAPES.items():
                bodies = [
                    orjson.dumps(batch if size > 1 else batch[0])
                    for batch in (readings.take(size, sensors) for _ in range(warmup + times))
                ]
                seconds = []
                for index, body in enumerate(bodies):
                    if index == warmup:
                        used = target.cpu()
                    took, status, _ = target.call("POST", "/readings/", body)
                    assert status == 201, status
                    if index >= warmup:
                        seconds.append(took)
                cpu_ms = (target.cpu() - used) / times * 1000
                found[shape][config].append((statistics.median(seconds) * 1000, cpu_ms))
        print(f"  round {round_ + 1}/{rounds} done, load {load_average():.2f}", flush=True)
        delete_posted()
    assert target.events() == 0, "a rule moved: the configurations are meant to stay ok"
    target.set_rules([])
    return found


def summarise(found: dict) -> dict:
    """Per shape and config: median ms, CPU ms, and the medians of the per-round ratios to no rules."""
    table = {}
    for shape, configs in found.items():
        base = configs["no rules"]
        table[shape] = {}
        for config, rows in configs.items():
            wall = [ms / base_ms for (ms, _), (base_ms, _) in zip(rows, base, strict=True)]
            cpu = [c / base_c for (_, c), (_, base_c) in zip(rows, base, strict=True) if base_c]
            table[shape][config] = {
                "median_ms": statistics.median(ms for ms, _ in rows),
                "cpu_ms": statistics.median(c for _, c in rows),
                "ratio": statistics.median(wall),
                "ratio_range": [min(wall), max(wall)],
                "cpu_ratio": statistics.median(cpu) if cpu else None,
            }
    return table


def print_table(mode: str, table: dict) -> None:
    print(f"\n{mode}\n| shape | rules | median ms | ratio (range) | CPU ms | CPU ratio |")
    print("| --- | --- | ---: | ---: | ---: | ---: |")
    for shape, configs in table.items():
        for config, row in configs.items():
            low, high = row["ratio_range"]
            cpu = f"{row['cpu_ratio']:.2f}" if row["cpu_ratio"] else "–"
            print(f"| {shape} | {config} | {row['median_ms']:.3f} | {row['ratio']:.3f} ({low:.2f}–{high:.2f}) "
                  f"| {row['cpu_ms']:.3f} | {cpu} |")  # fmt: skip
    rows = [row for configs in table.values() for row in configs.values()]
    for what, key in (("wall-clock", "ratio"), ("CPU", "cpu_ratio")):
        worst = max(row[key] or 0 for row in rows)
        print(
            f"worst {what} ratio {worst:.3f}: {'within' if worst <= TARGET else 'OVER'} the {TARGET:.2f} target"
        )


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=100_000, help="readings in the store (20 sensors)")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds in-process")
    parser.add_argument("--http-rounds", type=int, default=5, help="interleaved rounds over HTTP")
    parser.add_argument("--no-http", action="store_true", help="in-process only")
    parser.add_argument("--port", type=int, default=5230)
    parser.add_argument("--json", help="also write the results here")
    parser.add_argument("--quiet", type=float, metavar="LOAD", help="first wait up to 10 minutes until the "
                        "one-minute load average is under LOAD")  # fmt: skip
    args = parser.parse_args(argv)
    if args.quiet:
        wait_for_quiet(args.quiet, 600)

    folder = Path(tempfile.mkdtemp(prefix="bench-alerts-"))
    path = str(folder / "readings.sqlite3")
    results = {"machine": machine(), "source": source(), "seed": args.seed, "load_average": [load_average()]}
    print(f"{results['machine']}; commit {results['source']}; load {load_average():.2f}", flush=True)
    try:
        print(f"seeded {args.seed:,} readings in {dataset.seed_sqlite(path, args.seed):.1f} s", flush=True)
        readings = Readings(args.seed)
        posted_since = dataset.START + timedelta(seconds=dataset.STEP_SECONDS * args.seed)

        target, local = in_process(path)
        store = local.app.extensions["store"].readings

        def delete_posted():
            from flask_rest_service.stores.base import Filters

            store.delete_matching(Filters(since=posted_since, until=dataset.START + timedelta(days=36500)))

        try:
            print("in-process:", flush=True)
            results["in_process"] = summarise(measure(target, readings, args.rounds, delete_posted))
        finally:
            local.close()
        print_table("in-process", results["in_process"])
        if not args.no_http:
            environment = {**dataset.without_mongodb(os.environ), "SQLITE_PATH": path,
                           "RATE_LIMIT": RATE_LIMIT, "REQUIRE_API_KEYS": "false"}  # fmt: skip
            server = Gunicorn("flask_rest_service:app", ROOT, args.port, environment)
            target, client = over_http(server)
            local = InProcess({"MONGO_URI": None, "SQLITE_PATH": path})  # only to delete what was posted
            store = local.app.extensions["store"].readings
            try:
                print("over HTTP (gunicorn, one sync worker):", flush=True)
                results["http"] = summarise(measure(target, readings, args.http_rounds, delete_posted))
            finally:
                client.close()
                server.stop()
                local.close()
            print_table("HTTP", results["http"])
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    results["load_average"].append(load_average())
    results["when"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    print(f"\nload average {results['load_average'][0]:.2f} -> {results['load_average'][1]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
