"""What many alert rules cost a POST /readings/ (issue 19: rules at scale).

    .venv/bin/python bench/rules.py                  # about 3 minutes after the change
    .venv/bin/python bench/rules.py --rounds 3 --budget 2

Each configuration is its own SQLite store in a temporary folder, its rules
made once through the service's own ``create`` (validation, store, cache
invalidation, as POST /rules/ does); every threshold is ``above`` 10^9, so no
state ever moves and the cost measured is matching and evaluating alone:

- *no rules*;
- *10,000 rules, none on the sensor*: 5,000 on single sensors ``other-N``
  and 5,000 on prefixes ``zone-N.`` (none matches ``s0``..``s999``);
- *10,000 rules, 10 on the sensor*: the same with 5 of each kind on ``s0``
  instead (``sensor`` ``s0``, ``sensor_prefix`` ``s0``);
- *10,000 rules on every sensor* (``sensor_prefix`` ``""``): the issue's case;
- *100 rules on every sensor*.

Shapes: one reading of ``s0``; a batch of 20 readings of ``s0``..``s19``; a
batch of 1,000 readings of ``s0``..``s999``. Not every shape runs under
every configuration (``PAIRS``): 10,000 rules on every sensor times 1,000
sensors is 10 million evaluations a request.

The WSGI app is called in this process (``scale.InProcess``: routing, rate
limit, validation, the log line; no network). Rounds interleave the
configurations (A B C, B C A, ...); a configuration's ratio is the median
over rounds of its median over the same round's "no rules" median, in
wall-clock time and in this process's CPU time (which moves much less when
other work shares the cores). A shape
is repeated ``--count`` times a round, or for ``--budget`` seconds if that
ends sooner (at least 3 times).
"""

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]

import orjson  # noqa: E402
from run import load_average, machine, source  # noqa: E402
from scale import InProcess  # noqa: E402

JSON = {"Content-Type": "application/json"}


def threshold(name: str, **watch) -> dict:
    return {"name": name, "kind": "threshold", "above": 1e9, **watch}


NONE_HERE = [threshold(f"r{n}", sensor=f"other-{n}") for n in range(5000)] + [
    threshold(f"p{n}", sensor_prefix=f"zone-{n}.") for n in range(5000)
]
TEN_HERE = (
    NONE_HERE[5:5000]
    + [threshold(f"s0 {n}", sensor="s0") for n in range(5)]
    + NONE_HERE[5005:]
    + [threshold(f"s0 prefix {n}", sensor_prefix="s0") for n in range(5)]
)
CONFIGS = {
    "no rules": [],
    "10,000 rules, none on the sensor": NONE_HERE,
    "10,000 rules, 10 on the sensor": TEN_HERE,
    "10,000 rules on every sensor": [threshold(f"all {n}", sensor_prefix="") for n in range(10_000)],
    "100 rules on every sensor": [threshold(f"all {n}", sensor_prefix="") for n in range(100)],
}
SHAPES = {"single": 1, "batch of 20 sensors": 20, "batch of 1,000 sensors": 1000}  # readings = sensors
PAIRS = {
    "single": list(CONFIGS),
    "batch of 20 sensors": list(CONFIGS),
    "batch of 1,000 sensors": ["no rules", "10,000 rules, none on the sensor", "100 rules on every sensor"],
}


class Config:
    """One store with its rules, and readings numbered on so that none is late."""

    def __init__(self, folder: Path, name: str, rules: list[dict]):
        from flask_rest_service.alerts.resources import create

        path = folder / f"{len(list(folder.iterdir()))}.sqlite3"
        self.local = InProcess({"MONGO_URI": None, "SQLITE_PATH": str(path), "REQUIRE_API_KEYS": False})
        with self.local.app.app_context():
            for body in rules:
                create(body)
        assert len(self.local.app.extensions["store"].alerts.rules()) == len(rules), name
        self.start = datetime.now(UTC) - timedelta(days=1)
        self.next = 0

    def body(self, sensors: int) -> bytes:
        readings = []
        for n in range(sensors):
            moment = self.start + timedelta(milliseconds=self.next)
            self.next += 1
            readings.append({"sensor": f"s{n}", "value": 21.5, "timestamp": moment.isoformat()})
        return orjson.dumps(readings if sensors > 1 else readings[0])

    def time(self, sensors: int, count: int, budget: float) -> tuple[float, float]:
        """Median ms of POSTing this shape, wall-clock and CPU (one untimed first)."""
        self.post(sensors)
        wall, cpu, started = [], [], time.monotonic()
        while len(wall) < count and (len(wall) < 3 or time.monotonic() - started < budget):
            used = self.local.cpu_seconds()
            wall.append(self.post(sensors))
            cpu.append(self.local.cpu_seconds() - used)
        return statistics.median(wall) * 1000, statistics.median(cpu) * 1000

    def post(self, sensors: int) -> float:
        took, (status, *_) = self.local.call("POST", "/readings/", self.body(sensors), JSON)
        assert status == 201, status
        return took


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--count", type=int, default=50, help="requests of a shape a round, at most")
    parser.add_argument("--budget", type=float, default=3.0, help="seconds a shape a round, at most")
    args = parser.parse_args()
    print(f"{machine()}; {source()}; load average {load_average():.2f}", flush=True)
    folder = Path(tempfile.mkdtemp(prefix="bench-rules-"))
    try:
        made = time.monotonic()
        configs = {name: Config(folder, name, rules) for name, rules in CONFIGS.items()}
        print(f"rules made in {time.monotonic() - made:.0f} s, load average {load_average():.2f}", flush=True)
        found = {shape: {name: [] for name in PAIRS[shape]} for shape in SHAPES}
        names = list(CONFIGS)
        for round_ in range(args.rounds):
            order = names[round_ % len(names) :] + names[: round_ % len(names)]
            for name in order:
                for shape, sensors in SHAPES.items():
                    if name in PAIRS[shape]:
                        found[shape][name].append(configs[name].time(sensors, args.count, args.budget))
            print(f"  round {round_ + 1}/{args.rounds} done, load average {load_average():.2f}", flush=True)
        for config in configs.values():
            assert not config.local.app.extensions["store"].alerts.states(), "a rule moved"
            config.local.close()
    finally:
        shutil.rmtree(folder)
    print(
        "\n| request | rules | median ms | ratio to no rules (rounds) | CPU ms | CPU ratio (rounds) |"
        "\n| --- | --- | ---: | ---: | ---: | ---: |"
    )
    for shape, rows in found.items():
        base = rows["no rules"]
        for name, medians in rows.items():
            cells = []
            for which in (0, 1):  # wall-clock, CPU
                ratios = [ms[which] / b[which] for ms, b in zip(medians, base, strict=True)]
                cells.append(
                    f"{statistics.median(ms[which] for ms in medians):.2f} | "
                    f"{statistics.median(ratios):.2f} ({min(ratios):.2f}–{max(ratios):.2f})"
                )
            print(f"| {shape} | {name} | {' | '.join(cells)} |")
    print(f"\nload average at the end {load_average():.2f}")


if __name__ == "__main__":
    main()
