"""The SQLite store notices when its file is gone, replaced, full or read-only (issue 17).

Before, ``rm instance/readings.sqlite3*`` while serving went unnoticed: the
open connections wrote on into the deleted file, every POST answered 201,
the health check said OK, and after a restart none of it existed.

The full and read-only disks are real: a small tmpfs mounted for the test
(root only; CI runs as root), then remounted read-only.
"""

import os
import shutil
import sqlite3
import subprocess
import threading
from pathlib import Path

import pytest
from conftest import close_app, make_app

GONE = "the database file is missing; nothing can be stored until it is back"


@pytest.fixture
def build(tmp_path):
    built = []

    def make(path: Path):
        built.append(make_app({"SQLITE_PATH": str(path)}, RATE_LIMIT=None))
        return built[-1]

    yield make
    for app in built:
        close_app(app)


def remove(path: Path) -> None:
    """What ``rm readings.sqlite3*`` does."""
    for found in path.parent.glob(path.name + "*"):
        found.unlink()


def test_a_deleted_file_is_noticed_and_nothing_is_acknowledged_after_it(build, tmp_path):
    path = tmp_path / "readings.sqlite3"
    client = build(path).test_client()
    for n in range(20):
        assert client.post("/readings/", json={"sensor": "k", "value": n}).status_code == 201
    remove(path)
    answers = []

    def device(name):
        for n in range(25):
            answers.append(client.post("/readings/", json={"sensor": name, "value": n}).status_code)

    threads = [threading.Thread(target=device, args=(f"d{i}",)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert set(answers) == {503}
    health = client.get("/")
    assert (health.status_code, health.json["detail"]) == (503, "the database cannot be reached")
    refused = client.post("/readings/", json={"value": 1})
    assert (refused.status_code, refused.json["detail"], refused.headers["Retry-After"]) == (503, GONE, "5")
    assert not path.exists()  # no new empty file made behind the operator's back
    restarted = build(path)
    assert restarted.extensions["store"].readings.count() == 0


def test_a_file_put_back_is_used_again(build, tmp_path):
    path = tmp_path / "readings.sqlite3"
    app = build(path)
    client = app.test_client()
    assert client.post("/readings/", json={"sensor": "k", "value": 1}).status_code == 201
    backup = tmp_path / "backup.sqlite3"
    app.extensions["store"].close()
    source, copy = sqlite3.connect(path), sqlite3.connect(backup)
    source.backup(copy)
    source.close()
    copy.close()
    remove(path)
    assert client.post("/readings/", json={"sensor": "k", "value": 2}).status_code == 503
    shutil.copy(backup, path)  # restored: another file (inode) at the same path
    assert client.get("/").status_code == 200
    assert client.post("/readings/", json={"sensor": "k", "value": 3}).status_code == 201
    assert sorted(doc["value"] for doc in client.get("/readings/").json) == [1, 3]
    assert sorted(doc["value"] for doc in build(path).test_client().get("/readings/").json) == [1, 3]


@pytest.fixture
def small_disk(tmp_path):
    """A 512 KiB tmpfs of this test's own; remounted read-only by ``read_only``."""
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", "tmpfs", str(disk)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (root is needed): {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=True)


def test_a_full_disk_fails_writes_and_the_health_check_until_there_is_room(build, small_disk):
    client = build(small_disk / "readings.sqlite3").test_client()
    assert client.get("/").status_code == 200
    filler = small_disk / "filler"
    descriptor = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:  # the rest of the disk taken by something else
        while os.write(descriptor, b"\0" * 4096):
            pass
    except OSError:
        pass
    finally:
        os.close(descriptor)
    answers = {client.post("/readings/", json=[{"note": "x" * 2000}] * 50).status_code for _ in range(20)}
    assert answers == {503}
    assert client.get("/").status_code == 503
    assert client.get("/readings/").status_code == 200  # what is stored can still be read
    filler.unlink()
    assert client.get("/").status_code == 200
    assert client.post("/readings/", json={"value": 1}).status_code == 201


def test_a_read_only_disk_fails_writes_and_the_health_check(build, small_disk):
    app = build(small_disk / "readings.sqlite3")
    client = app.test_client()
    assert client.post("/readings/", json={"value": 1}).status_code == 201
    app.extensions["store"].close()  # Linux refuses to remount read-only under files open for writing
    subprocess.run(["mount", "-o", "remount,ro", str(small_disk)], check=True)
    try:
        assert client.post("/readings/", json={"value": 2}).status_code == 503
        health = client.get("/")
        assert (health.status_code, health.json["detail"]) == (503, "the database cannot be reached")
    finally:
        subprocess.run(["mount", "-o", "remount,rw", str(small_disk)], check=True)
    assert client.get("/").status_code == 200
    assert [doc["value"] for doc in client.get("/readings/").json] == [1]
