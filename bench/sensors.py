"""Many sensors: ``GET /sensors/`` pages and the dashboard's overview (issue 19).

One SQLite store of 1M readings from 10,000 sensors (``dataset``: reading n
is sensor ``s{n % 10000}``, 6 s apart, so the last 24 hours hold 14,400
readings). Each request is made in-process through the WSGI app (no
network, no gunicorn: the service's own time), one at a time, median and
95th percentile of ``--runs``. Then the dashboard in headless Chromium: from
opening the page to the first sparkline drawn (its first paint), and how
many requests each refresh makes.

    python bench/sensors.py [--readings 1000000] [--sensors 10000] [--runs 30] [--db PATH]

Writes bench/out/sensors.json; the figures are in bench/SENSORS.md.
"""

import argparse
import json
import logging
import os
import shutil
import statistics
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import dataset  # noqa: E402

from flask_rest_service import create_app  # noqa: E402
from flask_rest_service.config import from_env  # noqa: E402


def timed(client, path: str, runs: int) -> dict:
    """Median and 95th percentile in ms of ``runs`` GETs (after one warm-up), and the answer's size."""
    response = client.get(path)
    assert response.status_code == 200, (path, response.status_code, response.get_data()[:300])
    took = []
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(path)
        body = response.get_data()
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return {
        "path": path,
        "median_ms": round(statistics.median(took), 2),
        "p95_ms": round(took[max(0, int(len(took) * 0.95) - 1)], 2),
        "bytes": len(body),
        "link": "Link" in response.headers,
    }


def first_paint(app, until, runs: int) -> dict | None:
    """The dashboard in Chromium: ms from opening it to the first sparkline, and its requests a refresh."""
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    if chromium is None:
        return None
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/dashboard"
    paints, requests = [], {}
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=chromium, headless=True, args=["--no-sandbox"])
            for _ in range(runs):
                page = browser.new_page()
                page.clock.set_fixed_time(until)  # the page's "now": the newest reading's hour
                seen = []
                page.on("request", lambda request, seen=seen: seen.append(request.url))
                started = time.perf_counter()
                page.goto(url)
                page.locator("#sensors li .spark").first.wait_for(timeout=30_000)
                paints.append((time.perf_counter() - started) * 1000)
                api = [
                    u for u in seen if "/static/" not in u and not u.endswith(("/dashboard", "favicon.ico"))
                ]
                for u in api:
                    path = u.split("//", 1)[1].split("/", 1)[1].split("?")[0]
                    requests["/" + path] = requests.get("/" + path, 0) + 1
                page.close()
            browser.close()
    finally:
        server.shutdown()
    return {
        "first_paint_median_ms": round(statistics.median(paints), 1),
        "first_paint_max_ms": round(max(paints), 1),
        "requests_per_load": {path: count / runs for path, count in requests.items()},
        "runs": runs,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--readings", type=int, default=1_000_000)
    parser.add_argument("--sensors", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--db", default=str(HERE / "out" / "sensors.db"), help="kept between runs")
    args = parser.parse_args()
    logging.disable(logging.WARNING)  # each request's log line, and the server's
    Path(args.db).parent.mkdir(parents=True, exist_ok=True)
    marker = f"{args.db}.{args.readings}x{args.sensors}"
    if not os.path.exists(marker):
        print(f"seeding {args.readings:,} readings of {args.sensors:,} sensors ...", flush=True)
        seconds = dataset.seed_sqlite(args.db, args.readings, args.sensors)
        Path(marker).write_text(f"{seconds:.1f} s\n")
    settings = {**from_env(dataset.without_mongodb(os.environ)), "SQLITE_PATH": args.db, "RATE_LIMIT": None}
    app = create_app(settings)
    client = app.test_client()
    until = dataset.last_moment(args.readings).replace(minute=59, second=59)
    stamp = until.strftime("%Y-%m-%dT%H:%M:%SZ")
    middle = client.get(f"/sensors/?limit=1&prefix=s{args.sensors // 2}").json[0]["sensor"]
    from flask_rest_service.queries import encode_sensor_cursor

    paths = [
        "/sensors/",  # the default page: 100
        "/sensors/?limit=1000",
        f"/sensors/?cursor={encode_sensor_cursor(middle)}",
        "/sensors/?prefix=s123",
        f"/sensors/overview?until={stamp}",  # the dashboard's: 50 sensors
        f"/sensors/overview?until={stamp}&limit=100",
        "/alerts/",
    ]
    results = {"load_before": os.getloadavg(), "requests": [timed(client, path, args.runs) for path in paths]}
    store = app.extensions["store"].readings
    started = time.perf_counter()
    every = store.sensors()  # what GET /sensors/ answered before it paged
    results["all_sensors_store_call_ms"] = round((time.perf_counter() - started) * 1000, 1)
    results["all_sensors"] = len(every)
    results["dashboard"] = first_paint(app, until, runs=5)
    results["load_after"] = os.getloadavg()
    results["machine"] = {"cpus": os.cpu_count(), "python": sys.version.split()[0]}
    out = HERE / "out" / "sensors.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
