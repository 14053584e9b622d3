"""Benchmark the service: cost against store size, InfluxDB beside it, baseline and ceiling.

    make bench                                  # everything (about 6 minutes on a quiet machine)
    make bench BENCH_ARGS="--only scale --sizes 10k,100k"
    .venv/bin/python bench/run.py --only influx

Parts (``--only``, comma-separated; all by default):

- ``scale``: every operation at each store size, in-process and over HTTP,
  against issue 14's targets (``bench/scale.py``);
- ``influx``: InfluxDB 1.x started here, the same readings and queries over
  the same client (``bench/influx.py``);
- ``relative``: the service against the 2014 baseline and the bare-Flask
  ceiling under load (``bench/relative.py``; ``--workload`` picks some);
- ``serialisation``: the Extended JSON encoder against ``json_util``.

The store is SQLite; with MONGO_URL set, ``scale`` measures MongoDB too and
``relative`` runs on it. Results go to ``bench/out/results.json``, where a
part run alone replaces only its own section, and from there to
``bench/RESULTS.md`` with its charts.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path[:0] = [str(BENCH.parent), str(BENCH)]  # the service's package, and these modules

PARTS = ("scale", "influx", "relative", "serialisation")


def machine() -> str:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())  # fmt: skip
    return (f"{os.cpu_count()} cores ({cpu}), {memory_gib()} GiB, Linux {platform.release()}, "
            f"Python {platform.python_version()}")  # fmt: skip


def memory_gib() -> int:
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 1024 / 1024)
    return 0


def source() -> dict:
    """The commit measured, and whether the service's files differ from it."""

    def git(*command):
        return subprocess.run(
            ["git", *command], cwd=BENCH.parent, capture_output=True, text=True
        ).stdout.strip()

    changed = git("status", "--porcelain", "--", "flask_rest_service", "gunicorn.conf.py", "requirements.txt")
    return {"commit": git("rev-parse", "--short", "HEAD") or "unknown", "dirty": bool(changed)}


def load_average() -> float:
    return float(Path("/proc/loadavg").read_text().split()[0])


def wait_for_quiet(threshold: float, limit: float) -> None:
    """Wait (up to ``limit`` s) until the one-minute load average is under ``threshold``."""
    started = time.monotonic()
    while load_average() >= threshold and time.monotonic() - started < limit:
        print(f"waiting for a quiet machine: load average {load_average():.1f}", flush=True)
        time.sleep(15)


def size(text: str) -> int:
    """``10k``, ``1M`` or a plain number of readings."""
    text = text.strip()
    factor = {"k": 1_000, "m": 1_000_000}.get(text[-1:].lower(), 1)
    return int(float(text[:-1] if factor > 1 else text) * factor)


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default=",".join(PARTS), help=f"parts to run, of {', '.join(PARTS)}")
    parser.add_argument("--sizes", default="10k,100k,1M", help="store sizes for the scale part")
    parser.add_argument("--influx-readings", type=size, default=200_000, help="readings for the influx part")
    parser.add_argument("--workload", help="relative part: only workloads whose name contains this")
    parser.add_argument("--seconds", type=int, default=8, help="relative part: load time per workload")
    parser.add_argument("--connections", type=int, default=8, help="relative part: wrk connections")
    parser.add_argument("--python-load", action="store_true", help="use bench/loadgen.py even if wrk exists")
    parser.add_argument("--port", type=int, default=5210, help="first of the loopback ports used")
    parser.add_argument("--quiet", type=float, metavar="LOAD", help="before each part, wait up to 10 minutes "
                        "until the one-minute load average is under LOAD")  # fmt: skip
    args = parser.parse_args(argv)
    args.parts = [part.strip() for part in args.only.split(",") if part.strip()]
    unknown = set(args.parts) - set(PARTS)
    if unknown:
        parser.error(f"unknown part(s) {', '.join(sorted(unknown))}; choose from {', '.join(PARTS)}")
    args.sizes = [size(text) for text in args.sizes.split(",") if text.strip()]
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    saved = out / "results.json"
    results = json.loads(saved.read_text()) if saved.exists() else {}
    results["machine"] = machine()
    for part in PARTS:
        if part not in args.parts:
            continue
        if args.quiet:
            wait_for_quiet(args.quiet, 600)
        print(f"== {part}", flush=True)
        before = load_average()
        if part == "scale":
            import scale

            results["scale"] = scale.run(args)
        elif part == "influx":
            import influx

            results["influx"] = influx.run(args)
        elif part == "relative":
            import relative

            results["relative"] = relative.run(args)
        else:
            import serialisation

            results["serialisation"] = serialisation.run()
            print(f"serialising 10,000 readings: {results['serialisation']}")
        results[part].update(
            machine=results["machine"], source=source(), load_average=[before, load_average()]
        )
        saved.write_text(json.dumps(results, indent=2))  # after each part: a later failure keeps it
    import report

    report.write(results, BENCH)
    print(f"wrote {BENCH / 'RESULTS.md'}")


if __name__ == "__main__":
    main()
