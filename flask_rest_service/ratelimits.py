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
    limits = RateLimits(parse_many(limit), storage_from_string(app.config["RATELIMIT_STORAGE_URI"]))
    app.extensions["rate_limits"] = limits
    app.before_request(limits.check)
