"""GET /dashboard, driven in headless Chromium (Debian's package) with Playwright.

Readings and alert rules are made through the API, the page is opened as a
person would, and what it shows is checked: the overview (each sensor's
state, firing first, and its day as a sparkline), a sensor's chart with its
alerts drawn, a refresh, the key prompt, a download. On one store, SQLite:
the page shows what the API answers, and the API's own tests check those
answers on every store. Screenshots go to
test-artifacts/; test-artifacts/dashboard-readme.png is docs/dashboard.md's
docs/dashboard.png.

Deterministic and bounded: the page's clock is set to the time the test
seeded around (Playwright's page.clock), so "3 min ago" and the chart's
buckets never depend on how long the run took, and every wait has a timeout.
"""

import math
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import time_machine
from conftest import ROOT
from flask import request
from werkzeug.serving import make_server

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"
pytestmark = [
    pytest.mark.skipif(CHROMIUM is None, reason="Chromium is not installed (.ci/run installs it)"),
    pytest.mark.e2e,
]
# As root, with this machine's closed network: no sandbox, no background traffic.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]  # fmt: skip
WAIT_MS = 5000  # the longest any single wait in these tests may take
MAX_TICKS = 12  # dashboard.js: the y axis never has more


def test_page_is_served_without_a_key_and_without_a_cdn(app_factory):
    app = app_factory(AUTH_CACHE_SECONDS=0)
    app.extensions["keys"].create("k", "read")
    client = app.test_client()
    page = client.get("/dashboard")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-refresh-seconds="10"' in html and 'data-quiet-minutes="15"' in html
    assert "http://" not in html and "https://" not in html
    for asset in ("/static/dashboard.js", "/static/dashboard.css"):
        with client.get(asset) as response:
            assert response.status_code == 200


@pytest.fixture
def store_kind():
    """One store (SQLite) for the page: it shows what the API answers, and the API tests check
    those answers on every store; a browser test takes seconds, and each store would double it."""
    return "sqlite"


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    with playwright.sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def serve(app_factory):
    """Serve an app on loopback (threaded, as a browser opens several connections)."""
    servers = []

    def start(**config):
        settings = {"AUTH_CACHE_SECONDS": 0, "DASHBOARD_REFRESH_SECONDS": 1, "RATE_LIMIT": None, **config}
        app = app_factory(**settings)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        # It looks for shutdown() every poll_interval: 0.5 s by default, the most of a short test.
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
        servers.append(server)
        return app, f"http://127.0.0.1:{server.server_port}"

    yield start
    for server in servers:
        server.shutdown()


@pytest.fixture
def now():
    """The time this test seeds around and the page's clock shows."""
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def context(browser):
    context = browser.new_context(viewport={"width": 1200, "height": 800})
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


@pytest.fixture
def page(context, now):
    """A page whose Date.now() is always ``now`` (its timers still run)."""
    page = context.new_page()
    page.clock.set_fixed_time(now)
    return page


def kitchen_times(now):
    return [now - timedelta(minutes=m) for m in (3, 40, 75, 360)]  # four 15-minute buckets apart


def seed(app, now, key=None):
    client = app.test_client()
    headers = {"X-API-Key": key} if key else {}
    batch = [{"sensor": "kitchen", "type": "temperature", "value": 20 + i, "timestamp": t.isoformat()}
             for i, t in enumerate(kitchen_times(now))]  # fmt: skip
    assert client.post("/readings/", json=batch, headers=headers).status_code == 201
    attic = {
        "sensor": "attic",
        "type": "temperature",
        "value": 5.5,
        "timestamp": (now - timedelta(hours=2)).isoformat(),
    }
    with sent_at(now - timedelta(hours=2)):  # quiet is judged by when a sensor last reported
        assert client.post("/readings/", json=attic, headers=headers).status_code == 201


def sent_at(when):
    """The server's clock at ``when`` while a reading is posted (the time it reports as received)."""
    return time_machine.travel(when, tick=False)


def expected_points(times, now, interval_seconds=900, window=timedelta(hours=24)):
    """How many buckets hold readings in the page's window: epoch-aligned, ending at the next edge after now."""
    until = math.ceil(now.timestamp() / interval_seconds) * interval_seconds
    since = until - window.total_seconds()
    return len({int(t.timestamp()) // interval_seconds for t in times if since <= t.timestamp() < until})


def wait_until(page, condition, what):
    """Let the page run (and its route handlers) until condition() holds, for at most WAIT_MS."""
    for _ in range(WAIT_MS // 20):
        if condition():
            return
        page.wait_for_timeout(20)
    raise AssertionError(f"not within {WAIT_MS} ms: {what}")


def shoot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / name), full_page=True)


def test_sensors_chart_and_table(serve, page, now):
    app, url = serve()
    seed(app, now)
    page.goto(url + "/dashboard")
    kitchen = page.locator('#sensors li[data-sensor="kitchen"]')
    attic = page.locator('#sensors li[data-sensor="attic"]')
    kitchen.wait_for()
    assert "20 temperature" in kitchen.inner_text() and "4 readings" in kitchen.inner_text()
    assert "last 3 min ago" in kitchen.inner_text()
    assert "quiet" in attic.get_attribute("class")  # 2 h since its last reading
    assert "quiet" not in (kitchen.get_attribute("class") or "")
    kitchen.click()
    chart = page.locator("#chart")
    page.wait_for_function("document.querySelector('#chart').dataset.points !== undefined")
    assert chart.get_attribute("data-points") == str(expected_points(kitchen_times(now), now))
    assert chart.get_attribute("data-buckets") == "96"  # 24 h of 15-minute buckets, gaps included
    assert page.locator("#chart circle.point").count() == expected_points(kitchen_times(now), now)
    assert page.locator("#latest tbody tr").count() == 4
    assert page.locator("#updated").inner_text().startswith("updated ")
    shoot(page, "dashboard.png")


def test_ranges_change_the_buckets(serve, page, now):
    app, url = serve()
    seed(app, now)
    page.goto(url + "/dashboard")
    page.locator('#sensors li[data-sensor="kitchen"] button').click()
    page.locator('.ranges button[data-range="1h"]').click()
    page.wait_for_function("document.querySelector('#chart').dataset.buckets === '60'")
    assert page.locator("#chart").get_attribute("data-points") == str(
        expected_points(kitchen_times(now), now, 60, timedelta(hours=1))
    )
    page.locator('.ranges button[data-range="7d"]').click()
    page.wait_for_function("document.querySelector('#chart').dataset.buckets === '84'")


def test_an_older_answer_arriving_last_does_not_replace_the_chart(serve, page, now):
    # Hold every stats request of the chart (the overview's hourly ones pass);
    # choosing 1 h while the 24 h chart loads cancels the 24 h request, so its
    # answer, released last, is never drawn.
    app, url = serve(DASHBOARD_REFRESH_SECONDS=600)  # no timed refresh adds a request
    seed(app, now)
    held, failed = [], []
    page.route("**/readings/stats?*", lambda route: hold_but_sparklines(route, held))
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(url + "/dashboard")
    page.locator('#sensors li[data-sensor="kitchen"] button').click()
    wait_until(page, lambda: len(held) == 1, "the 24 h stats request")
    page.locator('.ranges button[data-range="1h"]').click()
    wait_until(page, lambda: len(held) == 2, "the 1 h stats request")
    assert ["interval=15m" in r.request.url for r in held] == [True, False]
    wait_until(page, lambda: held[0].request.url in failed, "the 24 h request cancelled")
    held[1].continue_()
    page.wait_for_function("document.querySelector('#chart').dataset.buckets === '60'")
    held[0].continue_()  # too late: the page no longer waits for it
    page.wait_for_timeout(300)  # time for the older answer to be drawn, were it drawn
    assert page.locator("#chart").get_attribute("data-buckets") == "60"
    assert page.locator("#chart").get_attribute("data-points") == str(
        expected_points(kitchen_times(now), now, 60, timedelta(hours=1))
    )


def hold_but_sparklines(route, held):
    """Hold a stats request, unless it is one of the overview's sparklines (hourly)."""
    if "interval=1h" in route.request.url:
        route.continue_()
    else:
        held.append(route)


# Counts the page's API requests as it makes them: how many have started and
# the most in flight at once, per path.
COUNT_FETCHES = """
window.fetches = {};
const fetchOriginal = window.fetch;
window.fetch = function (resource, options) {
  const path = new URL(resource, location.href).pathname;
  const seen = (window.fetches[path] ||= { started: 0, inFlight: 0, most: 0 });
  seen.started += 1;
  seen.inFlight += 1;
  seen.most = Math.max(seen.most, seen.inFlight);
  return fetchOriginal.call(this, resource, options).finally(() => { seen.inFlight -= 1; });
};
"""


def sensors_fetches(page):
    return page.evaluate("window.fetches['/sensors/overview'] || { started: 0, inFlight: 0, most: 0 }")


ENDINGS = {
    # how the held refresh ends: the route's action, what the page then says
    "answered": (lambda route: route.continue_(), "#updated", "updated "),
    "503": (
        lambda route: route.fulfill(status=503, json={"detail": "the database cannot be reached"}),
        "#message",
        "The database cannot be reached; retrying.",
    ),
    "unreachable": (lambda route: route.abort(), "#message", "Cannot load: the service cannot be reached"),
}


@pytest.mark.parametrize("ending", ENDINGS)
def test_the_next_refresh_starts_when_the_last_has_finished(serve, context, now, ending):
    # The page's clock is paused: its timers run only when the test moves it.
    # A refresh held for a minute of the page's time (60 refresh periods) starts
    # no other; once it ends, well or not, the next comes one period later.
    app, url = serve(DASHBOARD_REFRESH_SECONDS=1)
    seed(app, now)
    page = context.new_page()
    page.add_init_script(COUNT_FETCHES)
    page.clock.install(time=now)
    page.clock.pause_at(now + timedelta(seconds=1))
    held = []
    page.route("**/sensors/overview?*", lambda route: held.append(route))
    page.goto(url + "/dashboard")
    wait_until(page, lambda: len(held) == 1, "the first refresh")
    page.clock.run_for(60_000)
    assert sensors_fetches(page) == {"started": 1, "inFlight": 1, "most": 1}

    end, where, said = ENDINGS[ending]
    end(held[0])
    page.wait_for_function(
        "([where, said]) => document.querySelector(where).innerText.startsWith(said)", arg=[where, said]
    )
    page.clock.run_for(999)
    assert sensors_fetches(page) == {"started": 1, "inFlight": 0, "most": 1}
    page.clock.run_for(1)
    assert sensors_fetches(page) == {"started": 2, "inFlight": 1, "most": 1}
    wait_until(page, lambda: len(held) == 2, "the second refresh")


def test_new_reading_appears_after_a_refresh(serve, page, now):
    app, url = serve()
    seed(app, now)
    page.goto(url + "/dashboard")
    kitchen = page.locator('#sensors li[data-sensor="kitchen"]')
    kitchen.wait_for()
    app.test_client().post("/readings/", json={"sensor": "kitchen", "type": "temperature", "value": 99.5})
    page.wait_for_function(
        "document.querySelector('#sensors li[data-sensor=kitchen]').innerText.includes('99.50')"
    )
    assert "5 readings" in kitchen.inner_text()


def test_a_missing_key_shows_the_prompt_and_a_key_unlocks(serve, page, now):
    app, url = serve()
    key = app.extensions["keys"].create("viewer", "read")
    seed(app, now, app.extensions["keys"].create("writer", "write"))
    page.goto(url + "/dashboard")
    page.locator("#key-form").wait_for(state="visible")
    assert page.locator("#message").inner_text() == "An API key is needed."
    assert page.locator("#sensors li").count() == 0
    shoot(page, "dashboard-key-prompt.png")
    page.fill("#key-input", "rk_wrong")
    page.click("#key-form button")
    page.wait_for_function("document.querySelector('#message').innerText === 'That key was not accepted.'")
    page.fill("#key-input", key)
    page.click("#key-form button")
    page.locator('#sensors li[data-sensor="kitchen"]').wait_for()
    assert page.locator("#key-form").is_hidden()
    assert page.evaluate("sessionStorage.getItem('readings-api-key')") == key


def test_an_unreachable_database_is_said_not_shown_blank(serve, page, dead_port):
    _, url = serve(
        MONGO_URI=f"mongodb://127.0.0.1:{dead_port}/rest",
        MONGO_TIMEOUT_MS=200,
        MONGO_REQUEST_TIMEOUT_MS=300,
        CREATE_INDEXES=False,
    )
    page.goto(url + "/dashboard")
    page.wait_for_function(
        "document.querySelector('#message').innerText.includes('database cannot be reached')"
    )


def test_csv_download(serve, page, now):
    app, url = serve()
    seed(app, now)
    page.goto(url + "/dashboard")
    page.locator('#sensors li[data-sensor="kitchen"] button').click()
    page.locator("#detail").wait_for(state="visible")
    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == "readings-kitchen.csv"
    lines = Path(download.path()).read_text().splitlines()
    assert lines[0] == "_id,sensor,type,timestamp,value,extra"
    assert len(lines) == 5


# --- extreme values -------------------------------------------------------------

EXTREMES = {
    "near 1e17": [1e17, 1e17 + 16],  # one float spacing apart: the old axis loop never advanced
    "1e17 + 64": [1e17, 1e17 + 64],
    "1.7e308 twice": [1.7e308, 1.7e308],  # flat, and its bucket's sum (so avg) overflows
    "±1.7e308": [-1.7e308, 1.7e308],
    "-1e308": [-1e308, -1e308 * 0.9],
    "1e-300": [1e-300, 2e-300],
    "one reading": [42.5],
    "flat": [20, 20, 20],
}


def seed_values(app, now, values, sensor="x"):
    """Readings of these values, a second apart, all in one 15-minute bucket before now."""
    before = now - timedelta(minutes=1)
    bucket = before.replace(minute=before.minute // 15 * 15, second=0)
    batch = [
        {"sensor": sensor, "type": "t", "value": v, "timestamp": (bucket + timedelta(seconds=i)).isoformat()}
        for i, v in enumerate(values)
    ]
    assert app.test_client().post("/readings/", json=batch).status_code == 201


# What the chart drew, in page pixels: its box, the y axis's x, every text's box.
CHART_GEOMETRY = """() => {
  const svg = document.querySelector("#chart");
  const yAxis = [...svg.querySelectorAll("line.axis")].find((l) => l.getAttribute("x1") === l.getAttribute("x2"));
  const texts = [...svg.querySelectorAll("text")].map((t) => ({ text: t.textContent, ...t.getBoundingClientRect().toJSON() }));
  return { box: svg.getBoundingClientRect().toJSON(), axis: yAxis.getBoundingClientRect().left, texts,
           grid: svg.querySelectorAll("line.grid").length, markup: svg.innerHTML };
}"""


@pytest.mark.parametrize("values", EXTREMES.values(), ids=EXTREMES.keys())
def test_extreme_values_are_drawn_with_few_labels_inside_the_chart(serve, page, now, values):
    app, url = serve()
    seed_values(app, now, values)
    page.goto(url + "/dashboard")
    page.locator('#sensors li[data-sensor="x"] button').click()
    page.wait_for_function("document.querySelector('#chart').dataset.points === '1'")  # or times out
    drawn = page.evaluate(CHART_GEOMETRY)
    assert 2 <= drawn["grid"] <= MAX_TICKS
    assert "NaN" not in drawn["markup"] and "Infinity" not in drawn["markup"]
    box = drawn["box"]
    for text in drawn["texts"]:
        inside = box["left"] - 0.5 <= text["left"] and text["right"] <= box["right"] + 0.5
        assert inside and box["top"] - 0.5 <= text["top"] and text["bottom"] <= box["bottom"] + 0.5, text
    y_labels = [t["text"] for t in drawn["texts"] if t["right"] <= drawn["axis"]]
    assert len(y_labels) == drawn["grid"]
    assert len(set(y_labels)) == len(y_labels), y_labels  # each tick says something different
    assert all(len(label) <= 10 for label in y_labels), y_labels
    value = page.locator('#sensors li[data-sensor="x"] .value')
    assert len(value.inner_text()) <= 12  # "1.7e308 t", not 309 digits
    assert page.evaluate("document.documentElement.scrollWidth") <= 1200


AXES = {
    **{name: (min(values), max(values)) for name, values in EXTREMES.items()},
    "largest doubles": (-1.7976931348623157e308, 1.7976931348623157e308),
    "1e-300 flat": (1e-300, 1e-300),
    "0 to 1e-300": (0, 1e-300),
    "subnormal": (5e-324, 1e-323),
    "zero": (0, 0),
    "1e308 flat": (1e308, 1e308),
    "-1e308 flat": (-1e308, -1e308),
    "ordinary": (19.5, 23.25),
}


@pytest.mark.parametrize("low, high", AXES.values(), ids=AXES.keys())
def test_axis_ticks_are_few_increasing_and_cover_the_values(page, low, high):
    # In the page, with its own functions; waited for with a timeout, as a
    # loop that never ends would hang an unbounded evaluate.
    page.goto("about:blank")
    page.add_script_tag(path=str(ROOT / "flask_rest_service/static/dashboard.js"))
    found = page.wait_for_function(
        """([low, high]) => {
          const axis = niceTicks(low, high);
          return { ...axis, ...axisLabels(axis.ticks, axis.step) };
        }""",
        arg=[low, high],
    ).json_value()
    ticks = found["ticks"]
    assert 2 <= len(ticks) <= MAX_TICKS
    assert all(math.isfinite(t) for t in ticks) and ticks == sorted(set(ticks))
    assert found["low"] <= low and high <= found["high"] and found["low"] < found["high"]
    assert found["low"] <= ticks[0] and ticks[-1] <= found["high"]
    assert len(set(found["labels"])) == len(ticks), found["labels"]
    assert all(len(label) <= 10 for label in found["labels"]), found["labels"]
    # Each label names its tick (from the offset, when there is one) to within half a step.
    offset = found["offset"] or 0
    for label, tick in zip(found["labels"], ticks, strict=True):
        assert abs(offset + float(label.replace(",", "")) - tick) <= found["step"] / 2, (label, tick)


# --- the address names a sensor ---------------------------------------------------

NAMES = ["kitchen", "lab/bench 2", "a+b & c?d#e"]


def seed_names(app, now):
    for name in NAMES:
        seed_values(app, now, [1, 2], sensor=name)


@pytest.mark.parametrize("name", NAMES)
def test_the_address_opens_a_sensor(serve, page, now, name):
    app, url = serve(DASHBOARD_REFRESH_SECONDS=600)  # one refresh in this test
    seed_names(app, now)
    stats = []
    page.on(
        "request", lambda request: stats.append(request.url) if "/readings/stats?" in request.url else None
    )
    page.goto(f"{url}/dashboard?{urlencode({'sensor': name})}")
    page.wait_for_function("document.querySelector('#chart').dataset.points === '1'")
    assert page.locator("#detail-title").inner_text() == name
    assert page.locator("#sensors li.selected").get_attribute("data-sensor") == name
    assert page.locator("#latest tbody tr").count() == 2
    assert [parse_qs(urlsplit(u).query)["sensor"] for u in stats] == [[name]]  # no click, one request


def test_choosing_a_sensor_puts_it_in_the_address_for_a_reload(serve, page, now):
    app, url = serve()
    seed_names(app, now)
    page.goto(url + "/dashboard")
    history = page.evaluate("history.length")
    page.locator('#sensors li[data-sensor="lab/bench 2"] button').click()
    page.wait_for_function("location.search !== ''")
    assert page.url == url + "/dashboard?sensor=lab%2Fbench+2"
    page.locator('#sensors li[data-sensor="kitchen"] button').click()
    page.wait_for_function("location.search === '?sensor=kitchen'")
    assert page.evaluate("history.length") == history  # replaced, not pushed: Back leaves the page
    page.reload()
    page.wait_for_function("document.querySelector('#chart').dataset.points === '1'")
    assert page.locator("#detail-title").inner_text() == "kitchen"
    assert page.locator("#sensors li.selected").get_attribute("data-sensor") == "kitchen"


def test_an_unknown_sensor_in_the_address_is_said_in_words(serve, page, now):
    app, url = serve()
    seed_names(app, now)
    page.goto(url + "/dashboard?sensor=nowhere%2F1")
    page.locator("#missing").wait_for(state="visible")
    assert page.locator("#missing").inner_text() == (
        "There is no sensor named “nowhere/1”: no reading of that name is stored."
    )
    assert page.locator("#chart").is_hidden() and page.locator("#download").is_hidden()
    assert page.locator("#sensors li").count() == len(NAMES)
    page.locator('#sensors li[data-sensor="kitchen"] button').click()
    page.wait_for_function("document.querySelector('#chart').dataset.points === '1'")
    assert page.locator("#missing").is_hidden()


# --- readings without a date ---------------------------------------------------------


def test_a_sensor_without_dated_readings_has_no_age(serve, page, now):
    app, url = serve()
    seed(app, now)
    # Legacy documents, stored as they were: a timestamp that is not a date, and none.
    app.extensions["store"].readings.insert(
        [{"sensor": "old", "value": 3, "timestamp": "yesterday"}, {"sensor": "old", "value": 4}]
    )
    old = next(s for s in app.test_client().get("/sensors/").json if s["sensor"] == "old")
    assert (old["first"], old["last"], "timestamp" in old["latest"]) == (None, None, False)
    page.goto(url + "/dashboard")
    item = page.locator('#sensors li[data-sensor="old"]')
    item.wait_for()
    assert item.inner_text().splitlines()[-1] == "no dated readings · 2 readings"
    assert "quiet" not in (item.get_attribute("class") or "")
    item.locator("button").click()
    page.wait_for_function("document.querySelectorAll('#latest tbody tr').length === 2")
    cells = page.locator("#latest tbody tr").all_inner_texts()
    assert [row.split("\t")[:2] for row in cells] == [["no date", "4"], ["no date", "3"]]
    assert '{"timestamp":"yesterday"}' in cells[1]
    text = page.locator("body").inner_text()
    assert "NaN" not in text and "Invalid Date" not in text


# --- the overview and alerts ------------------------------------------------------


def post_rule(app, key=None, **rule):
    """Make an alert rule through the API (an admin key when keys are on)."""
    headers = {"X-API-Key": key} if key else {}
    made = app.test_client().post("/rules/", json={"notify": [], **rule}, headers=headers)
    assert made.status_code == 201, made.json
    return made.json


def post_readings(app, sensor, values, key=None):
    """Readings of one sensor: {timestamp: value}."""
    headers = {"X-API-Key": key} if key else {}
    batch = [{"sensor": sensor, "type": "temperature", "value": v, "timestamp": t.isoformat()}
             for t, v in values.items()]  # fmt: skip
    assert app.test_client().post("/readings/", json=batch, headers=headers).status_code == 201


def seed_alerts(app, now, key=None, admin=None):
    """kitchen and attic (seed()), greenhouse gone below 5 (firing), cellar above 80 (pending for 1h)."""
    seed(app, now, key)
    post_rule(app, admin, name="greenhouse too cold", kind="threshold", sensor="greenhouse", below=5)
    post_rule(app, admin, name="cellar damp", kind="threshold", sensor="cellar", above=80, **{"for": "1h"})
    post_readings(app, "greenhouse", {now - timedelta(hours=3): 8, now - timedelta(minutes=20): 3}, key)
    post_readings(app, "cellar", {now - timedelta(minutes=5): 85}, key)


def rows(page):
    """The sensor list as shown: (name, state) from top to bottom."""
    items = page.locator("#sensors li")
    return list(zip(items.evaluate_all("(all) => all.map((li) => li.dataset.sensor)"),
                    items.evaluate_all("(all) => all.map((li) => li.dataset.state)"), strict=True))  # fmt: skip


def test_the_overview_lists_firing_then_pending_then_the_rest_with_states_in_words(serve, page, now):
    app, url = serve()
    seed_alerts(app, now)
    page.goto(url + "/dashboard")
    page.locator("#sensors li .spark").first.wait_for()
    assert rows(page) == [("greenhouse", "firing"), ("cellar", "pending"), ("attic", "ok"), ("kitchen", "ok")]
    states = page.locator("#sensors li .state").all_inner_texts()
    assert states == ["Firing greenhouse too cold", "Pending cellar damp", "OK", "OK"]
    assert page.locator("#summary").inner_text() == "1 firing · 1 pending · 2 OK"
    assert page.locator('#sensors li[data-sensor="greenhouse"] .value').inner_text() == "3 temperature"
    assert page.locator("#detail").is_hidden()
    shoot(page, "dashboard-overview.png")


def hour_buckets(times, now):
    """The page's sparkline: which of its 24 hourly buckets hold readings, and in how many runs."""
    until = math.ceil(now.timestamp() / 3600) * 3600
    full = sorted(
        {
            (int(t.timestamp()) - (until - 86400)) // 3600
            for t in times
            if until - 86400 <= t.timestamp() < until
        }
    )
    runs = sum(1 for i, b in enumerate(full) if i == 0 or full[i - 1] != b - 1)
    return len(full), runs


def test_the_overview_draws_each_sensor_s_day_one_point_an_hour_with_gaps(serve, page, now):
    app, url = serve()
    # Ten past the hour, 1, 2, 5, 6 and 8 hours back: five hours in three runs (and one day too old).
    hour = now.replace(minute=0, second=0)
    times = [hour - timedelta(hours=h) + timedelta(minutes=10) for h in (1, 2, 5, 6, 8, 30)]
    post_readings(app, "shed", {t: 10 + i for i, t in enumerate(times)})
    page.goto(url + "/dashboard")
    spark = page.locator('#sensors li[data-sensor="shed"] svg.spark')
    spark.wait_for()
    points, runs = hour_buckets(times, now)
    assert (points, runs) == (5, 3)
    assert spark.get_attribute("data-buckets") == "24"
    assert spark.get_attribute("data-points") == str(points)
    assert spark.locator("path.run").count() == runs  # an empty hour breaks the line
    assert spark.get_attribute("aria-label").startswith(f"last 24 h: {points} of 24 hours with readings")


def count_answers(app):
    """Every answer the app gives, as (path, status), in order (server side: a 429 shows too)."""
    answers = []

    @app.after_request
    def count(response):
        answers.append((request.path, response.status_code))
        return response

    return answers


def seed_many(app, now, count):
    """``count`` sensors s000, s001, ..., one reading each, 30 minutes ago."""
    when = (now - timedelta(minutes=30)).replace(tzinfo=None)
    app.extensions["store"].readings.insert(
        [{"sensor": f"s{n:03}", "value": n, "timestamp": when} for n in range(count)]
    )


def test_each_overview_refresh_is_one_request_under_the_default_rate_limit(serve, page, now):
    # 300 sensors, a refresh a second, the default limit of 600 a minute: the
    # overview asks for a page of them with their day in one request, and
    # /alerts/; never a request per sensor, never a 429.
    app, url = serve(DASHBOARD_REFRESH_SECONDS=1, RATE_LIMIT="600/minute")
    seed_many(app, now, 300)
    answers = count_answers(app)
    page.add_init_script(COUNT_FETCHES)
    page.goto(url + "/dashboard")
    refreshes = lambda: sum(path == "/sensors/overview" for path, _ in answers)  # noqa: E731
    wait_until(page, lambda: refreshes() >= 3, "3 refreshes")
    page.wait_for_function("document.querySelectorAll('#sensors li .spark').length === 50")
    fetches = page.evaluate("window.fetches")
    assert set(fetches) == {"/sensors/overview", "/alerts/"}
    assert fetches["/sensors/overview"]["started"] >= 3
    assert abs(fetches["/sensors/overview"]["started"] - fetches["/alerts/"]["started"]) <= 1
    assert fetches["/sensors/overview"]["most"] == 1  # one refresh at a time
    api = [(path, status) for path, status in answers if path in ("/sensors/overview", "/alerts/")]
    assert {path for path, _ in answers} - {path for path, _ in api} <= {
        "/dashboard", "/static/dashboard.js", "/static/dashboard.css", "/favicon.ico"}  # fmt: skip
    assert {status for _, status in api} == {200}  # no 429
    assert page.locator("#sensors li").count() == 50  # the page, not every sensor
    shown = page.locator("#sensors li").evaluate_all("(all) => all.map((li) => li.dataset.sensor)")
    assert shown == [f"s{n:03}" for n in range(50)]
    assert page.locator("#page-info").inner_text() == "page 1: 50 sensors"
    assert page.locator("#message").inner_text() == ""


def test_search_finds_a_sensor_past_the_first_page_and_pages_turn(serve, page, now):
    app, url = serve(DASHBOARD_REFRESH_SECONDS=600)
    seed_many(app, now, 120)
    page.goto(url + "/dashboard")
    page.locator('#sensors li[data-sensor="s000"]').wait_for()
    assert page.locator('#sensors li[data-sensor="s117"]').count() == 0
    page.fill("#search", "s11")
    page.wait_for_function("document.querySelectorAll('#sensors li').length === 10")
    shown = page.locator("#sensors li").evaluate_all("(all) => all.map((li) => li.dataset.sensor)")
    assert shown == [f"s{n}" for n in range(110, 120)]
    assert page.locator('#sensors li[data-sensor="s117"] .spark').get_attribute("data-points") == "1"
    assert page.locator("#page-info").inner_text() == "page 1: 10 sensors starting with “s11”"
    assert page.locator("#next").is_disabled() and page.locator("#previous").is_disabled()
    page.fill("#search", "")
    page.locator('#sensors li[data-sensor="s000"]').wait_for()
    page.click("#next")
    page.locator('#sensors li[data-sensor="s050"]').wait_for()
    assert page.locator("#sensors li").count() == 50 and page.locator("#previous").is_enabled()
    page.click("#next")
    page.wait_for_function("document.querySelectorAll('#sensors li').length === 20")
    assert page.locator("#page-info").inner_text() == "page 3: 20 sensors"
    assert page.locator("#next").is_disabled()
    page.click("#previous")
    page.locator('#sensors li[data-sensor="s050"]').wait_for()


def test_a_failed_request_cancels_the_rest_of_its_refresh(serve, page, now):
    # The overview's request is held; /alerts/ answers 503: the overview's is
    # cancelled at once (its answer would not be drawn), and the failure said.
    app, url = serve(DASHBOARD_REFRESH_SECONDS=600)
    seed(app, now)
    held, failed = [], []
    page.route("**/sensors/overview?*", lambda route: held.append(route))
    page.route("**/alerts/", lambda route: route.fulfill(status=503, json={"detail": "down"}))
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(url + "/dashboard")
    wait_until(page, lambda: len(held) == 1, "the overview's request")
    wait_until(page, lambda: held[0].request.url in failed, "the overview's request cancelled")
    assert page.locator("#message").inner_text() == "The database cannot be reached; retrying."


def test_choosing_a_sensor_cancels_the_overview_s_request(serve, page, now):
    # The second refresh's overview request is held; choosing a sensor then
    # cancels it, and the chart is drawn without waiting for it.
    app, url = serve(DASHBOARD_REFRESH_SECONDS=1)
    seed(app, now)
    asked, held, failed = [], [], []

    def hold_the_second(route):
        asked.append(route.request.url)
        if len(asked) == 1:
            route.continue_()
        else:
            held.append(route)

    page.route("**/sensors/overview?*", hold_the_second)
    page.on("requestfailed", lambda request: failed.append(request.url))
    page.goto(url + "/dashboard")
    page.locator('#sensors li[data-sensor="kitchen"] .spark').wait_for()
    wait_until(page, lambda: len(held) == 1, "the next refresh's overview")
    page.locator('#sensors li[data-sensor="kitchen"] button').click()
    wait_until(page, lambda: held[0].request.url in failed, "the overview's request cancelled")
    page.wait_for_function("document.querySelector('#chart').dataset.points !== undefined")
    assert page.locator("#sensors li .spark").count() == 0  # beside a chart, the list is compact


def axis_geometry(page):
    """The chart's plot area in its own units, and each y tick's value and height."""
    return page.evaluate("""() => {
      const svg = document.querySelector("#chart");
      const lines = [...svg.querySelectorAll("line.axis")].map((l) => ["x1", "x2", "y1", "y2"].map((a) => Number(l.getAttribute(a))));
      const xAxis = lines.find(([x1, x2, y1, y2]) => y1 === y2);
      const grid = [...svg.querySelectorAll("line.grid")].map((l) => Number(l.getAttribute("y1")));
      const labels = [...svg.querySelectorAll("text.tick")].map((t) => Number(t.textContent.replace(/,/g, "")));
      return { left: xAxis[0], right: xAxis[1], ticks: labels.map((v, i) => [v, grid[i]]) };
    }""")  # fmt: skip


def expected_y(ticks, value):
    (v0, y0), (v1, y1) = ticks[0], ticks[-1]
    return y0 + (value - v0) * (y1 - y0) / (v1 - v0)


def expected_x(geometry, when, now, interval_seconds=900, window=timedelta(hours=24)):
    until = math.ceil(now.timestamp() / interval_seconds) * interval_seconds
    since = until - window.total_seconds()
    fraction = (when.timestamp() - since) / (until - since)
    return geometry["left"] + fraction * (geometry["right"] - geometry["left"])


@pytest.mark.parametrize("state", ["firing", "pending"])
def test_the_address_opens_a_sensor_with_its_alert_drawn(serve, page, now, state):
    # Below 5 at once: firing since the reading that crossed; below 5 for 1 h,
    # crossed 20 min ago: pending since then. Either way the limit is a line
    # at 5 and the alert's time is shaded from then to now, named in words.
    app, url = serve()
    rule = {"name": "greenhouse too cold", "kind": "threshold", "sensor": "greenhouse", "below": 5}
    post_rule(app, **rule, **({"for": "1h"} if state == "pending" else {}))
    crossed = now - timedelta(minutes=20)
    post_readings(app, "greenhouse", {now - timedelta(hours=3): 8, now - timedelta(hours=1): 6, crossed: 3})
    assert [a["state"] for a in app.test_client().get("/alerts/").json] == [state]
    page.goto(url + "/dashboard?sensor=greenhouse")
    page.wait_for_function("document.querySelector('#chart').dataset.limits === '1'")
    geometry = axis_geometry(page)
    limit = page.locator("#chart line.limit")
    assert (limit.get_attribute("data-limit"), limit.get_attribute("data-state")) == ("5", state)
    assert abs(float(limit.get_attribute("y1")) - expected_y(geometry["ticks"], 5)) < 0.5
    assert (
        page.locator("#chart text.limit-label").text_content()
        == f"greenhouse too cold: value below 5{' for 1h' * (state == 'pending')}"
    )
    span = page.locator(f"#chart rect.span.{state}")
    left, width = float(span.get_attribute("x")), float(span.get_attribute("width"))
    assert abs(left - expected_x(geometry, crossed, now)) < 0.5
    assert abs(left + width - expected_x(geometry, now, now)) < 0.5
    legend = page.locator("#chart-alerts li").all_inner_texts()
    assert len(legend) == 1 and legend[0].startswith(f"{state.title()} since ")
    assert legend[0].endswith(
        f": greenhouse too cold (value below 5{' for 1h' * (state == 'pending')}), value 3"
    )
    assert page.locator("#detail-state").inner_text() == state.title()
    shoot(page, f"dashboard-alert-{state}.png")


def test_a_quiet_sensor_is_marked_from_its_last_reading(serve, page, now):
    app, url = serve()
    seed(app, now)  # attic's last reading: 2 h ago
    post_rule(app, name="silent sensor", kind="quiet", sensor_prefix="", **{"for": "30m"})
    app.extensions["alerts"].check()
    page.goto(url + "/dashboard?sensor=attic")
    span = page.locator("#chart rect.span.quiet")
    span.wait_for()
    geometry = axis_geometry(page)
    left, width = float(span.get_attribute("x")), float(span.get_attribute("width"))
    assert abs(left - expected_x(geometry, now - timedelta(hours=2), now)) < 0.5
    assert abs(left + width - expected_x(geometry, now, now)) < 0.5
    assert page.locator("#chart line.limit").count() == 0  # a quiet rule has no limit
    legend = page.locator("#chart-alerts li").inner_text()
    assert legend.startswith("Firing since ") and legend.endswith(
        ": silent sensor (no reading for 30m), last reading 2 h ago"
    )
    assert rows(page) == [("attic", "firing"), ("kitchen", "ok")]


def test_a_resolved_alert_disappears_on_the_next_refresh(serve, page, now):
    app, url = serve(DASHBOARD_REFRESH_SECONDS=1)
    seed_alerts(app, now)
    page.goto(url + "/dashboard?sensor=greenhouse")
    page.wait_for_function("document.querySelector('#chart').dataset.limits === '1'")
    post_readings(app, "greenhouse", {now - timedelta(minutes=1): 7})  # back above 5: resolved
    assert [a["sensor"] for a in app.test_client().get("/alerts/").json] == ["cellar"]
    page.wait_for_function("document.querySelector('#chart').dataset.limits === '0'")
    assert page.locator("#chart line.limit, #chart rect.span").count() == 0
    assert page.locator("#chart-alerts li").inner_text() == "No rule is firing or pending for this sensor."
    assert page.locator("#detail-state").inner_text() == "OK"
    assert rows(page)[:2] == [("cellar", "pending"), ("attic", "ok")]


def test_a_read_key_is_enough_to_see_the_alerts(serve, page, now):
    app, url = serve()
    keys = app.extensions["keys"]
    read = keys.create("viewer", "read")
    seed_alerts(app, now, keys.create("writer", "write"), keys.create("ops", "admin"))
    page.goto(url + "/dashboard?sensor=greenhouse")
    page.locator("#key-form").wait_for(state="visible")
    page.fill("#key-input", read)
    page.click("#key-form button")
    page.wait_for_function("document.querySelector('#chart').dataset.limits === '1'")
    assert rows(page)[:2] == [("greenhouse", "firing"), ("cellar", "pending")]
    assert page.locator("#message").inner_text() == ""


def test_all_sensors_returns_to_the_overview(serve, page, now):
    app, url = serve()
    seed_alerts(app, now)
    page.goto(url + "/dashboard?sensor=kitchen")
    page.wait_for_function("document.querySelector('#chart').dataset.points !== undefined")
    page.click("#overview")
    page.locator("#sensors li .spark").first.wait_for()
    assert page.url == url + "/dashboard"
    assert page.locator("#detail").is_hidden() and page.title() == "Sensor readings"
    assert page.locator("#sensors li .spark").count() == 4


# --- screens: a phone, and docs/dashboard.md's ----------------------------------------------


def a_day_of_a_house(app, now):
    """A realistic day of six sensors and three rules, as docs/dashboard.md shows it.

    greenhouse: every 5 min, a night below 5 °C (firing "greenhouse too cold"
    for the last hours) and a 2-hour outage; cellar: damp for half an hour
    (pending "cellar damp", which waits an hour); attic: silent for 2 h
    (firing "silent sensor"); garage, kitchen, bedroom: fine.
    """
    post_rule(
        app, name="greenhouse too cold", kind="threshold", sensor="greenhouse", below=5, **{"for": "10m"}
    )
    post_rule(app, name="cellar damp", kind="threshold", sensor="cellar", above=85, **{"for": "1h"})
    post_rule(app, name="silent sensor", kind="quiet", sensor_prefix="", **{"for": "30m"})

    def day(sensor, kind, unit, every, value, skip=lambda hours: False):
        batch = []
        for step in range(24 * 60 // every):
            hours = step * every / 60
            if not skip(hours):
                batch.append({"sensor": sensor, "type": kind, "unit": unit, "value": round(value(hours, step), 2),
                              "timestamp": (now - timedelta(hours=hours, minutes=1)).isoformat()})  # fmt: skip
        assert app.test_client().post("/readings/", json=batch).status_code == 201

    night = lambda h, step: 10.2 + 6.5 * math.cos(2 * math.pi * (h - 12) / 24) + (step % 7) * 0.15  # noqa: E731
    day("greenhouse", "temperature", "°C", 5, night, skip=lambda h: 9 < h < 11)  # the device was offline
    day("kitchen", "temperature", "°C", 5, lambda h, step: 21 + 1.5 * math.sin(h / 3) + (step % 5) * 0.1)
    day("bedroom", "humidity", "%", 10, lambda h, step: 52 + 6 * math.sin(h / 5) + (step % 3) * 0.4)
    day("cellar", "humidity", "%", 10, lambda h, step: 87 if h < 0.5 else 80 + 3 * math.sin(h / 4))
    day(
        "garage",
        "temperature",
        "°C",
        15,
        lambda h, step: 12 + 4 * math.cos(h / 4),
        skip=lambda h: 14 < h < 18,
    )
    with sent_at(now - timedelta(hours=2)):  # and then it went silent
        day("attic", "temperature", "°C", 10, lambda h, step: 16 + 5 * math.cos(h / 6), skip=lambda h: h < 2)
    app.extensions["alerts"].check()


HOUSE = [("attic", "firing"), ("greenhouse", "firing"), ("cellar", "pending"),
         ("bedroom", "ok"), ("garage", "ok"), ("kitchen", "ok")]  # fmt: skip


def test_usable_on_a_phone_screen(serve, browser, now):
    app, url = serve()
    a_day_of_a_house(app, now)
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.clock.set_fixed_time(now)
    page.goto(url + "/dashboard")
    page.locator("#sensors li .spark").first.wait_for()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the screen
    shoot(page, "dashboard-phone-overview.png")
    page.locator('#sensors li[data-sensor="greenhouse"] button').click()
    page.wait_for_function("document.querySelector('#chart').dataset.limits === '1'")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    shoot(page, "dashboard-phone.png")
    context.close()


def test_a_day_of_readings_for_the_readme(serve, page, now):
    """A realistic day of a house: the overview (docs/dashboard.png) and one sensor's chart."""
    app, url = serve()
    a_day_of_a_house(app, now)
    page.goto(url + "/dashboard")
    page.locator("#sensors li .spark").first.wait_for()
    assert rows(page) == HOUSE
    page.set_viewport_size({"width": 1200, "height": 560})  # the overview, without a blank half
    shoot(page, "dashboard-readme.png")  # copied to docs/dashboard.png
    page.set_viewport_size({"width": 1200, "height": 800})
    page.locator('#sensors li[data-sensor="greenhouse"] button').click()
    page.wait_for_function("document.querySelector('#chart').dataset.limits === '1'")
    assert page.locator("#chart path.avg").count() == 2  # the outage splits the line in two
    shoot(page, "dashboard-day.png")
