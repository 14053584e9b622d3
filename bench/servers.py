"""The servers the benchmark starts and stops: a WSGI app under gunicorn, and InfluxDB.

Memory is read from ``/proc``: resident set (``VmRSS``) and its peak
(``VmHWM``), which ``reset_peak`` sets back to the current size through
``/proc/PID/clear_refs`` so that a peak measures one workload.
"""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from client import Client

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
PYTHON_BIN = Path(sys.executable).parent


def status_kb(pid: int, name: str) -> int:
    """A ``/proc/PID/status`` field in kB (0 if absent)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(name + ":"):
            return int(line.split()[1])
    return 0


def _wait_until_answering(base: str, path: str, process: subprocess.Popen, what: str) -> None:
    client = Client(base)
    for _ in range(1200):
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with code {process.returncode} before answering")
        try:
            client.request("GET", path, keep=False)
            return
        except OSError:
            time.sleep(0.1)
        finally:
            client.close()
    raise RuntimeError(f"{what} did not answer within 120 s")


def cpu_seconds(pid: int) -> float:
    """The CPU time (user and system) a process has used, in steps of a clock tick (10 ms)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Gunicorn:
    """One WSGI app under gunicorn with one worker, as deployed otherwise (``bench/seed_config.py``)."""

    def __init__(self, target: str, folder: Path, port: int, env: dict, access_log: bool = False):
        command = [str(PYTHON_BIN / "gunicorn"), target, "-c", str(BENCH / "seed_config.py"),
                   "-b", f"127.0.0.1:{port}"]  # fmt: skip
        if access_log:
            command += ["--access-logfile", "-"]
        env = {**env, "PYTHONPATH": f"{ROOT}{os.pathsep}{BENCH}"}
        self.process = subprocess.Popen(
            command, cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        self.base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_answering(self.base, "/readings/?limit=1", self.process, target)
            self.worker = int(subprocess.check_output(["pgrep", "-P", str(self.process.pid)]).split()[0])
        except BaseException:
            self.stop()
            raise

    def rss_mb(self) -> float:
        """The worker's resident memory."""
        return status_kb(self.worker, "VmRSS") / 1024

    def total_rss_mb(self) -> float:
        """The master's and the worker's resident memory together."""
        return (status_kb(self.process.pid, "VmRSS") + status_kb(self.worker, "VmRSS")) / 1024

    def cpu_seconds(self) -> float:
        """The worker's CPU time so far."""
        return cpu_seconds(self.worker)

    def reset_peak(self) -> float:
        """Start the worker's peak afresh from its current size; return that size."""
        Path(f"/proc/{self.worker}/clear_refs").write_text("5")
        return self.rss_mb()

    def peak_mb(self) -> float:
        """The worker's peak resident memory since the last reset."""
        return status_kb(self.worker, "VmHWM") / 1024

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=60)


INFLUX_CONFIG = """\
# Written by bench/servers.py: Debian's defaults, but every file in a
# temporary folder, loopback-only ports and no usage reports.
reporting-disabled = true
bind-address = "127.0.0.1:{rpc_port}"
[meta]
  dir = "{folder}/meta"
[data]
  dir = "{folder}/data"
  wal-dir = "{folder}/wal"
[http]
  bind-address = "127.0.0.1:{port}"
"""


class Influxd:
    """An InfluxDB 1.x server of its own: temporary config and data, loopback ports, stopped after."""

    def __init__(self, port: int, rpc_port: int):
        binary = shutil.which("influxd")
        if binary is None:
            raise RuntimeError("influxd is not installed (Debian: apt-get install influxdb)")
        self.folder = tempfile.mkdtemp(prefix="bench-influxdb-")
        config = Path(self.folder) / "influxdb.conf"
        config.write_text(INFLUX_CONFIG.format(folder=self.folder, port=port, rpc_port=rpc_port))
        self.log = open(Path(self.folder) / "influxd.log", "wb")  # noqa: SIM115 (closed in stop)
        self.process = subprocess.Popen(
            [binary, "run", "-config", str(config)], stdout=self.log, stderr=subprocess.STDOUT
        )
        self.base = f"http://127.0.0.1:{port}"
        try:
            _wait_until_answering(self.base, "/ping", self.process, "influxd")
        except BaseException:
            self.stop()
            raise
        self.version = self._version()

    def _version(self) -> str:
        client = Client(self.base)
        try:
            return client.request("GET", "/ping").headers.get("x-influxdb-version", "?")
        finally:
            client.close()

    def rss_mb(self) -> float:
        return status_kb(self.process.pid, "VmRSS") / 1024

    def cpu_seconds(self) -> float:
        return cpu_seconds(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()
        shutil.rmtree(self.folder, ignore_errors=True)
