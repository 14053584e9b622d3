"""What the SQLite store does of its own: the file, its schema, WAL, the summary triggers, the indexes."""

import os
import sqlite3
import threading
import time
from contextlib import closing
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from bson import ObjectId
from conftest import close_app, make_app

from flask_rest_service.stores.base import Filters, ListQuery, Position, StoreUnavailable
from flask_rest_service.stores.sqlite import SqliteStore, database
from flask_rest_service.stores.sqlite import readings as engine


@pytest.fixture
def store(tmp_path):
    store = SqliteStore(str(tmp_path / "data" / "readings.sqlite3"))
    yield store
    store.close()


def raw(store):
    """A connection of the test's own, closed after the block (sqlite3's own `with` only commits)."""
    return closing(sqlite3.connect(store.path, isolation_level=None))


def test_the_file_and_its_folder_are_made_on_first_use_in_wal_mode(store):
    assert not os.path.exists(store.path)
    store.ping()
    with raw(store) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone() == ("wal",)
        assert connection.execute("PRAGMA user_version").fetchone() == (database.SCHEMA_VERSION,)


def test_init_db_says_what_is_ready(tmp_path):
    app = make_app({"SQLITE_PATH": str(tmp_path / "r.sqlite3")})
    result = app.test_cli_runner().invoke(args=["init-db"])
    assert (result.exit_code, result.output) == (
        0,
        "sqlite store 'r.sqlite3' ready; indexes: sensor_timestamp, timestamp\n",
    )
    close_app(app)


def test_a_file_of_a_newer_schema_is_refused(store):
    store.ping()
    with raw(store) as connection:
        connection.execute("PRAGMA user_version = 99")
    other = SqliteStore(store.path)
    with pytest.raises(
        RuntimeError, match=f"schema version 99; this version of the service knows {database.SCHEMA_VERSION}"
    ):
        other.ping()
    other.close()


def test_a_file_of_an_older_schema_is_brought_up_to_date_and_keeps_its_readings(tmp_path):
    path = tmp_path / "old.sqlite3"
    with closing(sqlite3.connect(path, isolation_level=None)) as old:  # what version 1 of the service made
        for statement in database._statements(database.SCHEMAS[0].read_text()):
            old.execute(statement)
        old.execute("PRAGMA user_version = 1")
        old.execute(engine.INSERT, engine._row({"_id": ObjectId(f"{1:024x}"), "sensor": "k", "value": 1}))
    store = SqliteStore(str(path))
    # Upgrades on first use; version 1 did not note when a sensor reported.
    assert [(entry["sensor"], entry["count"], entry["reported"]) for entry in store.readings.sensors()] == [
        ("k", 1, None)
    ]
    with time_machine.travel(datetime(2026, 3, 1, 10, 0, 0, 250_000, tzinfo=UTC), tick=False):
        store.readings.insert([{"_id": ObjectId(f"{2:024x}"), "sensor": "k", "value": 2}])
    store.close()
    with closing(sqlite3.connect(path)) as connection:
        assert connection.execute("PRAGMA user_version").fetchone() == (database.SCHEMA_VERSION,)
        tables = {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        columns = [row[2] for row in connection.execute("PRAGMA index_info(sensor_timestamp)")]
    assert {"readings", "sensors", "rules", "alert_states", "alert_events", "alert_deliveries"} <= tables
    assert columns == ["sensor", "ts", "id", "value"]  # version 4: stats read the index alone
    again = SqliteStore(str(path))
    assert again.readings.count() == 2
    assert [(entry["sensor"], entry["count"], entry["reported"]) for entry in again.readings.sensors()] == [
        ("k", 2, datetime(2026, 3, 1, 10, 0, 0, 250_000))
    ]
    again.close()


def test_synchronous_is_set_on_every_connection(tmp_path):
    store = SqliteStore(str(tmp_path / "r.sqlite3"), synchronous="full")
    with store.db.connection() as connection:
        assert connection.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL
    store.close()


def summary(store):
    with raw(store) as connection:
        return connection.execute("SELECT sensor, count, first, last FROM sensors ORDER BY sensor").fetchall()


def ms(*args):
    return int((datetime(*args) - datetime(1970, 1, 1)).total_seconds() * 1000)


def test_the_summary_follows_every_write_path(store):
    readings = store.readings
    a, b, c = (ObjectId(f"{n:024x}") for n in (1, 2, 3))
    readings.insert([
        {"_id": a, "sensor": "k", "value": 1, "timestamp": datetime(2026, 1, 1)},
        {"_id": b, "sensor": "k", "value": 2, "timestamp": datetime(2026, 1, 3)},
        {"_id": c, "sensor": "k", "reading": "no timestamp"},
    ])  # fmt: skip
    assert summary(store) == [("k", 3, ms(2026, 1, 1), ms(2026, 1, 3))]
    readings.update(b, {"timestamp": datetime(2026, 1, 2)}, [])  # the newest moves back
    assert summary(store) == [("k", 3, ms(2026, 1, 1), ms(2026, 1, 2))]
    readings.replace(a, {"sensor": "j", "value": 9, "timestamp": datetime(2025, 1, 1)})  # to another sensor
    assert summary(store) == [
        ("j", 1, ms(2025, 1, 1), ms(2025, 1, 1)),
        ("k", 2, ms(2026, 1, 2), ms(2026, 1, 2)),
    ]
    readings.delete(b)
    assert summary(store) == [("j", 1, ms(2025, 1, 1), ms(2025, 1, 1)), ("k", 1, None, None)]
    readings.delete_matching(Filters(sensor="j", until=datetime(2026, 1, 1)))
    readings.delete(c)
    assert summary(store) == []


def test_a_batch_adds_each_new_reading_to_its_sensors_summary_once(store):
    readings = store.readings
    resent = ObjectId(f"{1:024x}")
    readings.insert([{"_id": resent, "sensor": "k", "timestamp": datetime(2026, 1, 5)}])
    readings.insert([
        {"_id": resent, "sensor": "k", "timestamp": datetime(2026, 1, 1)},  # stored already: not again
        {"sensor": "k", "timestamp": datetime(2026, 1, 3)},
        {"sensor": "k", "timestamp": datetime(2026, 1, 9)},
        {"sensor": "k"},  # no date: counted, not first or last
        {"sensor": "j"},
        {"sensor": 5, "timestamp": datetime(2026, 1, 1)},  # not a sensor's name
    ])  # fmt: skip
    assert summary(store) == [("j", 1, None, None), ("k", 4, ms(2026, 1, 3), ms(2026, 1, 9))]


def test_an_edit_keeps_the_insertion_order(store):
    readings = store.readings
    ids = [oid for oid in (ObjectId(f"{n:024x}") for n in (1, 2, 3))]
    readings.insert([{"_id": oid, "reading": n} for n, oid in enumerate(ids)])
    readings.update(ids[0], {"reading": "changed"}, [])
    with raw(store) as connection:
        assert [row[0] for row in connection.execute("SELECT id FROM readings ORDER BY seq")] == [
            oid.binary for oid in ids
        ]


QUERIES = {
    "by id": ("SELECT doc FROM readings WHERE id = ?", [b"x" * 12]),
    "newest page": ("SELECT doc FROM readings WHERE ts IS NOT NULL ORDER BY ts DESC, id DESC LIMIT 101", []),
    "next page": (
        "SELECT doc FROM readings WHERE ts IS NOT NULL AND (ts, id) < (?, ?) ORDER BY ts DESC, id DESC LIMIT 101",
        [1, b"x" * 12],
    ),
    "a sensor's page": (
        "SELECT doc FROM readings WHERE sensor = ? AND ts IS NOT NULL ORDER BY ts DESC, id DESC LIMIT 101",
        ["k"],
    ),
    "stats": (
        "SELECT ts, value FROM readings WHERE sensor = ? AND ts >= ? AND ts < ? AND value IS NOT NULL ORDER BY ts, id",
        ["k", 0, 1],
    ),
    "next page until": (
        "SELECT doc FROM readings WHERE ts IS NOT NULL AND ts <= ? AND (ts, id) < (?, ?) ORDER BY ts DESC, id DESC LIMIT 101",
        [5, 5, b"x" * 12],
    ),
    "export batch since": (
        "SELECT doc FROM readings WHERE ts IS NOT NULL AND ts >= ? AND (ts, id) > (?, ?) ORDER BY ts, id LIMIT 1000",
        [5, 5, b"x" * 12],
    ),
    "undated": (
        "SELECT doc FROM readings WHERE ts IS NULL AND id < ? ORDER BY id DESC LIMIT 101",
        [b"x" * 12],
    ),
}


def plan(store, name) -> str:
    sql, params = QUERIES[name]
    with raw(store) as connection:
        return " / ".join(row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + sql, params))


@pytest.mark.parametrize("name", QUERIES)
def test_every_query_walks_an_index_not_the_table(store, name):
    # The cost of a page, a look-up or a sensor's stats must not grow with the
    # store: each is an index search, never a scan of every reading, and no sort.
    store.ping()
    found = plan(store, name)
    assert "SEARCH readings USING" in found, found
    assert "SCAN readings" not in found and "TEMP B-TREE" not in found, found


@pytest.mark.parametrize("statement", [engine.COUNT_INSERTED, engine.COUNT_REWRITTEN])
def test_the_summary_of_new_readings_reads_only_them(store, statement):
    # By their seq: walking the sensor index for GROUP BY's order reads every reading.
    store.ping()
    with raw(store) as connection:
        found = " / ".join(row[3] for row in connection.execute("EXPLAIN QUERY PLAN " + statement, [1]))
    assert "SEARCH readings USING INTEGER PRIMARY KEY" in found, found


def test_a_sensors_stats_read_the_index_alone(store):
    # One sensor's readings are scattered through the table: reading each
    # one's value from the table costs a page a reading (bench/NOTES.md).
    store.ping()
    assert "USING COVERING INDEX sensor_timestamp" in plan(store, "stats")


def test_the_store_uses_those_queries(store):
    # The plans above are of the statements the store sends: check it sends them.
    sent = []
    store.ping()
    with store.db.connection() as connection:
        connection.set_trace_callback(sent.append)
    store.readings.page(ListQuery(limit=100))
    store.readings.slice(Filters(), Position(datetime(2026, 1, 1), ObjectId()), 101, descending=True)
    store.readings.get(ObjectId())
    assert any("ORDER BY ts DESC, id DESC LIMIT" in statement for statement in sent)
    assert any("(ts, id) < (" in statement for statement in sent)
    assert any("WHERE id = " in statement for statement in sent)


def test_a_forked_child_opens_its_own_connections(store):
    store.readings.insert([{"sensor": "k", "value": 1}])
    with store.db.connection() as parent_connection:
        pass
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            with store.db.connection() as connection:
                mine = connection is not parent_connection
            store.readings.insert([{"sensor": "k", "value": 2}])
            os.write(write, b"ok" if mine and store.readings.count() == 2 else b"no")
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    assert os.read(read, 2) == b"ok"
    assert store.readings.count() == 2


def test_new_ids_are_objectids_of_now_unique_and_in_order(store):
    before = datetime.now(UTC).replace(microsecond=0)
    first = store.readings.insert([{"value": n} for n in range(3)])
    second = store.readings.insert([{"_id": ObjectId(), "value": 3}, {"value": 4}])
    ids = [doc["_id"] for doc, _ in first + second]
    assert len(set(ids)) == 5
    new = [ids[0], ids[1], ids[2], ids[4]]
    assert all(before <= oid.generation_time <= datetime.now(UTC) for oid in new)
    # A batch's ids share their random bytes and count up; the next batch draws its own (stores/ids.py).
    assert len({oid.binary[4:9] for oid in new[:3]}) == 1
    assert [int.from_bytes(oid.binary[9:], "big") for oid in new[:3]] == [
        int.from_bytes(ids[0].binary[9:], "big") + step for step in range(3)
    ]
    assert new[3].binary[4:9] != new[0].binary[4:9]
    assert store.readings.count() == 5


def test_a_forked_child_makes_ids_of_its_own(store):
    parent = store.readings.insert([{"value": 1}])[0][0]["_id"]
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        try:
            os.write(write, store.readings.insert([{"value": 2}])[0][0]["_id"].binary)
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    child = ObjectId(os.read(read, 12))
    assert child.binary[4:9] != parent.binary[4:9]  # other random bytes: no id can be made twice
    assert store.readings.get(child)["value"] == 2


def steps(store, read) -> int:
    """How many SQLite virtual-machine steps a read takes (counted, not timed)."""
    counted = [0]
    with store.db.connection() as connection:
        connection.set_progress_handler(lambda: counted.__setitem__(0, counted[0] + 1), 100)
    try:
        read()
    finally:
        with store.db.connection() as connection:
            connection.set_progress_handler(None, 0)
    return counted[0]


@pytest.mark.parametrize("descending", [True, False])
def test_a_page_deep_in_a_filtered_range_costs_what_the_first_page_costs(store, descending):
    # With since (or until) and a cursor, the index range must start at the
    # cursor: once it started at the filter's end, and each export batch or
    # list page scanned everything between that end and the cursor.
    readings = store.readings
    start = datetime(2026, 1, 1)
    readings.insert(
        [{"sensor": "k", "value": n, "timestamp": start + timedelta(seconds=n)} for n in range(20_000)]
    )
    window = Filters(since=start, until=start + timedelta(days=1))
    ends = (19_900, 100) if descending else (100, 19_900)
    near, far = (
        Position(start + timedelta(seconds=n), ObjectId(b"\xff" * 12 if descending else b"\x00" * 12))
        for n in ends
    )
    shallow = steps(store, lambda: readings.slice(window, near, 50, descending))
    deep = steps(store, lambda: readings.slice(window, far, 50, descending))
    assert deep < 2 * shallow, (shallow, deep)


def test_many_threads_of_a_process_writing_at_once_all_get_in(tmp_path):
    # gunicorn's gthread worker: 32 threads of a process may write at once.
    # SQLite's own waiters poll with growing sleeps, and some outwaited the busy
    # timeout while later ones got in; queued in the process, every one gets in.
    store = SqliteStore(str(tmp_path / "r.sqlite3"), busy_timeout_ms=1000)
    failures, THREADS, EACH = [], 24, 4

    def writer(n):
        for i in range(EACH):
            try:
                with store.db.write() as connection:
                    connection.execute("SELECT count(*) FROM readings").fetchone()
                    time.sleep(0.01)  # a transaction that takes a while, as a batch of 1,000 does
                store.readings.insert([{"sensor": f"t{n}", "value": i, "timestamp": datetime.now(UTC)}])
            except StoreUnavailable as error:
                failures.append(error.why)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    assert store.readings.count() == THREADS * EACH
    store.close()


def test_writers_of_a_process_get_in_in_the_order_they_came():
    # threading.Lock lets a thread that releases and asks again barge ahead of
    # one that waited: under load the waiter outwaited its timeout (a 503) while
    # later writers got in. The process's writers now take turns.
    from flask_rest_service.stores.sqlite.database import _Queue

    queue, order = _Queue(), []
    assert queue.acquire(timeout=1)

    def waiter():
        assert queue.acquire(timeout=5)
        order.append("waiter")
        queue.release()

    thread = threading.Thread(target=waiter)
    thread.start()
    while not queue._waiting:  # the waiter is in line
        time.sleep(0.001)
    queue.release()
    assert queue.acquire(timeout=5)  # asked again at once: behind the waiter
    order.append("first again")
    queue.release()
    thread.join()
    assert order == ["waiter", "first again"]


def test_a_writer_that_waits_too_long_leaves_the_line_and_the_next_gets_in():
    from flask_rest_service.stores.sqlite.database import _Queue

    queue = _Queue()
    assert queue.acquire(timeout=1)
    assert queue.acquire(timeout=0.05) is False  # its turn did not come in time: it is out of line
    assert not queue._waiting
    queue.release()
    assert queue.acquire(timeout=0.05)  # free again


def test_a_connection_given_back_after_the_close_is_closed(tmp_path):
    # A thread still using one (a delivery recording its outcome) when the store is closed, or
    # opening one after: kept, it would stay open with nobody left to close it.
    store = SqliteStore(str(tmp_path / "r.sqlite3"))
    with store.db.connection() as lent:
        store.close()
        assert lent.execute("SELECT 1").fetchone() == (1,)  # still the thread's to use
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        lent.execute("SELECT 1")
    with store.db.connection() as opened_after:  # a late thread's
        assert opened_after.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(sqlite3.ProgrammingError, match="closed database"):
        opened_after.execute("SELECT 1")
