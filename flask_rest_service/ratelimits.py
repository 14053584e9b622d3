"""Rate limits: one budget per key (or client address) across the whole service.

The counting is the ``limits`` library's (fixed windows, kept in this
process's memory or in a shared Redis); this module asks it once per request,
between naming the request's key and enforcing it. Flask-Limiter, built on the same
library, answered the same question through a per-request machinery of
decorators, scopes and request contexts that cost a quarter of a small
request's time (bench/NOTES.md); the service has one limit for every route
and needs none of it.
"""

import math
import threading
import time

from flask import Flask, request
from limits import RateLimitItem, parse_many
from limits.storage import Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from . import auth
from .errors import problem

# The scope in each counter's key: one budget for every route. Flask-Limiter's
# name for application-wide limits, so that counters shared in Redis keep
# their keys across the change.
SCOPE = "global"
# How often the in-process counters drop the windows that have ended.
SWEEP_SECONDS = 60


class ProcessMemory(Storage):
    """Fixed-window counters in this process's memory (``memory://``), expired as they are read.

    A ``limits`` storage (its documented extension point). limits' own
    ``MemoryStorage`` expires counters from a ``threading.Timer`` that it
    starts again whenever the last one has run, 10 ms after it started: under
    steady traffic a new thread every few requests, and the request that
    starts it waits for it to start (about 1 ms, more on a busy machine).
    Here a window that has ended counts as empty, and ended windows are
    dropped every ``SWEEP_SECONDS``, by whichever request comes then.
    """

    STORAGE_SCHEME = None  # made for memory:// by init_app, not put in limits' registry

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options):
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self._windows: dict[str, list] = {}  # key -> [count, end of the window (epoch s)]
        self._lock = threading.Lock()
        self._sweep_at = 0.0

    @property
    def base_exceptions(self) -> type[Exception]:
        """What this storage may raise (it raises nothing of its own)."""
        return ValueError

    def incr(self, key: str, expiry: float, amount: int = 1) -> int:
        """Add to the key's count, opening a window of ``expiry`` seconds if none is open."""
        now = time.time()
        with self._lock:
            if now >= self._sweep_at:
                self._windows = {k: w for k, w in self._windows.items() if w[1] > now}
                self._sweep_at = now + SWEEP_SECONDS
            window = self._windows.get(key)
            if window is None or window[1] <= now:
                window = self._windows[key] = [0, now + expiry]
            window[0] += amount
            return window[0]

    def _open(self, key: str) -> list | None:
        window = self._windows.get(key)
        return window if window is not None and window[1] > time.time() else None

    def get(self, key: str) -> int:
        """The key's count in its open window (0 if none is open)."""
        window = self._open(key)
        return window[0] if window else 0

    def get_expiry(self, key: str) -> float:
        """When the key's window ends (now if none is open)."""
        window = self._open(key)
        return window[1] if window else time.time()

    def check(self) -> bool:
        """Whether the storage works: memory always does."""
        return True

    def reset(self) -> int:
        """Forget every count; return how many keys there were."""
        with self._lock:
            count, self._windows = len(self._windows), {}
        return count

    def clear(self, key: str) -> None:
        """Forget one key's count."""
        with self._lock:
            self._windows.pop(key, None)


class RateLimits:
    """The configured limits and where their counters live."""

    def __init__(self, limits: list[RateLimitItem], storage: Storage):
        self.limits = sorted(limits)  # the shortest window first
        self.storage = storage
        self.limiter = FixedWindowRateLimiter(storage)

    def check(self):
        """Count the request against each limit; answer 429 at the first one it is over."""
        endpoint = request.endpoint
        if endpoint is None or endpoint.rpartition(".")[2] == "static":
            return None  # unknown URLs and static files are not counted
        key = auth.rate_limit_key()
        for limit in self.limits:
            if not self.limiter.hit(limit, key, SCOPE):
                return self._too_many_requests(limit, key)
        return None

    def _too_many_requests(self, limit: RateLimitItem, key: str):
        """problem+json with the seconds until the window resets."""
        reset = self.limiter.get_window_stats(limit, key, SCOPE).reset_time
        # The window's own reset time, rounded up (never 0, never more than the window).
        wait = max(1, min(limit.get_expiry(), math.ceil(reset - time.time())))
        return problem(429, str(limit), headers={"Retry-After": str(wait)})


def init_app(app: Flask) -> None:
    """Count every request against ``RATE_LIMIT``, unless it is off."""
    limit = app.config["RATE_LIMIT"]
    if not limit:
        return
    uri = app.config["RATELIMIT_STORAGE_URI"]
    storage = ProcessMemory() if uri == "memory://" else storage_from_string(uri)
    limits = RateLimits(parse_many(limit), storage)
    app.extensions["rate_limits"] = limits
    app.before_request(limits.check)
