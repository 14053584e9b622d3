"""One HTTP client for every server the benchmark times: one connection, one request at a time.

A plain HTTP/1.1 client over a socket (``http.client`` adds about 0.3 ms a
request of its own, as much as the fastest answers being timed). It keeps
the connection while the server does (InfluxDB and gunicorn's gthread
worker do; the sync worker closed it after every answer), reads
``Content-Length`` and chunked bodies, and can count a body's lines without
keeping it.
"""

import socket
import statistics
import time
from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass
class Answer:
    status: int
    headers: dict
    body: bytes  # empty when a sink took it
    seconds: float
    first_byte: float
    size: int
    lines: int


class Client:
    """Sequential requests to one server."""

    def __init__(self, base: str):
        parts = urlsplit(base)
        self.host, self.port = parts.hostname, parts.port
        self.socket = None
        self.reader = None

    def _connect(self) -> None:
        self.socket = socket.create_connection((self.host, self.port), timeout=600)
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.reader = self.socket.makefile("rb")

    def close(self) -> None:
        if self.socket is not None:
            self.reader.close()
            self.socket.close()
            self.socket = self.reader = None

    def request(self, method: str, target: str, body: bytes = b"", headers: dict | None = None,
                keep: bool = True) -> Answer:  # fmt: skip
        """Send one request and read the whole answer (``keep=False``: count it, keep none of it)."""
        head = f"{method} {target} HTTP/1.1\r\nHost: {self.host}:{self.port}\r\n"
        head += "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        if body or method in ("POST", "PUT", "PATCH"):
            head += f"Content-Length: {len(body)}\r\n"
        message = head.encode() + b"\r\n" + body
        started = time.perf_counter()
        reused = self.socket is not None
        if not reused:
            self._connect()
        try:
            self.socket.sendall(message)
            status_line = self.reader.readline()
        except OSError:
            status_line = b""
        if not status_line and reused:  # the server closed an idle connection: once more, afresh
            self.close()
            return self.request(method, target, body, headers, keep)
        first_byte = time.perf_counter() - started
        status = int(status_line.split()[1])
        fields = {}
        while (field := self.reader.readline()) not in (b"\r\n", b"\n", b""):
            name, _, value = field.decode("latin-1").partition(":")
            fields[name.strip().lower()] = value.strip()
        parts, size, lines = [], 0, 0
        for piece in self._body(fields, method, status):
            size += len(piece)
            lines += piece.count(b"\n")
            if keep:
                parts.append(piece)
        seconds = time.perf_counter() - started
        framed = ("content-length" in fields or fields.get("transfer-encoding", "").lower() == "chunked"
                  or status in (204, 304))  # fmt: skip
        if fields.get("connection", "").lower() == "close" or not framed:  # unframed: the body ran to EOF
            self.close()
        return Answer(status, fields, b"".join(parts), seconds, first_byte, size, lines)

    def _body(self, fields: dict, method: str, status: int):
        if method == "HEAD" or status in (204, 304) or status < 200:
            return
        if fields.get("transfer-encoding", "").lower() == "chunked":
            while True:
                length = int(self.reader.readline().split(b";")[0], 16)
                if length == 0:
                    while self.reader.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return
                yield self.reader.read(length)
                self.reader.readline()
        elif "content-length" in fields:
            remaining = int(fields["content-length"])
            while remaining:
                piece = self.reader.read(min(remaining, 1 << 20))
                if not piece:
                    raise ConnectionError("the server closed the connection mid-answer")
                remaining -= len(piece)
                yield piece
        else:
            while piece := self.reader.read(1 << 16):
                yield piece


def summary(seconds: list[float]) -> dict:
    """Median, 95th percentile, least and most of some timings, in milliseconds."""
    ordered = sorted(seconds)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"median_ms": statistics.median(ordered) * 1000, "p95_ms": p95 * 1000,
            "min_ms": ordered[0] * 1000, "max_ms": ordered[-1] * 1000, "n": len(ordered)}  # fmt: skip


def repeat(call, times: int, warmup: int, cpu=None) -> tuple[dict, object]:
    """Call ``call()`` (it returns ``(seconds, answer)``) ``warmup`` times untimed, then ``times`` times.

    Returns the timings' summary with the first (cold) call's time, and the last answer.
    With ``cpu`` (a function giving the CPU seconds used so far by whatever
    answers), also the CPU time per call: unlike the wall-clock times, it
    hardly moves when other work shares the machine.
    """
    cold, answer = call()
    for _ in range(max(0, warmup - 1)):
        call()
    timings = []
    used = cpu() if cpu else 0.0
    for _ in range(times):
        seconds, answer = call()
        timings.append(seconds)
    result = {**summary(timings), "cold_ms": cold * 1000}
    if cpu:
        result["cpu_ms"] = (cpu() - used) / times * 1000
    return result, answer
