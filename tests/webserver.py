"""The web process as Heroku runs it (the Procfile's line, through honcho), for tests over HTTP."""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

from conftest import BIN, ROOT, ROOT_ENV


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def call(url, body=None, headers=None, method=None):
    """Send a request; return (status, parsed JSON body), for errors too."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {**({"Content-Type": "application/json"} if data else {}), **(headers or {})}
    request = urllib.request.Request(url, data, headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            raw = response.read()
            return response.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read() or b"null")


def _children(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True)
    return [int(child) for child in out.stdout.split()]


def _command(pid: int) -> list[bytes]:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except FileNotFoundError:
        return []


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie has exited; only its parent has not read its status


class Web:
    """`honcho start web` on a free port: its address, its processes, what it printed."""

    def __init__(self, env: dict):
        self.port = free_port()
        env = {**ROOT_ENV, "PATH": f"{BIN}{os.pathsep}{ROOT_ENV.get('PATH', '')}", **env}
        # honcho gives each process PORT = its base port; -p sets the base.
        self.process = subprocess.Popen(
            [str(BIN / "honcho"), "start", "-p", str(self.port), "web"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.base = f"http://127.0.0.1:{self.port}"
        self.output = None
        self.wait_until_up(int(env.get("WEB_CONCURRENCY", "2")))

    def wait_until_up(self, workers: int, seconds: float = 20) -> None:
        """Until it answers and all its workers are running: one answering says nothing of the others
        (a test that counts or kills them would meet one still booting)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                call(self.base + "/")
            except OSError:
                time.sleep(0.1)
                continue
            if len(self.workers()) == workers:
                return
            time.sleep(0.1)
        raise AssertionError(f"the web process did not answer with {workers} workers within {seconds} s")

    def descendants(self) -> dict[int, int]:
        """Every process under honcho, with its parent (honcho gives each a session of its own)."""
        found, queue = {}, [self.process.pid]
        while queue:
            parent = queue.pop()
            for pid in _children(parent):
                found[pid] = parent
                queue.append(pid)
        return found

    def workers(self) -> list[int]:
        """The gunicorn workers: gunicorn processes whose parent is gunicorn."""
        gunicorn = {
            pid: parent
            for pid, parent in self.descendants().items()
            if _command(pid)[1:2] and b"gunicorn" in _command(pid)[1]
        }
        return sorted(pid for pid, parent in gunicorn.items() if parent in gunicorn)

    def kill_everything(self) -> None:
        """kill -9 every process of the server at once: no shutdown code runs."""
        pids = [self.process.pid, *self.descendants()]
        assert len(pids) >= 4, pids  # honcho, sh, the gunicorn master, a worker
        subprocess.run(["kill", "-KILL", *map(str, pids)], check=True)
        self.output = self.process.communicate(timeout=30)[0].decode()
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(map(_alive, pids)):
            time.sleep(0.05)
        assert not any(map(_alive, pids)), "a process of the server outlived kill -9"

    def stop(self) -> str:
        if self.output is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # honcho passes it on to its processes
            self.output = self.process.communicate(timeout=30)[0].decode()
        return self.output
