"""Deliveries sent in parallel by target: a bounded pool, one send at a time per target.

Each target's due deliveries go to one thread of the pool, sent there one
after another in the order they became due; different targets' go in
different threads, so a receiver that is slow, or never answers, holds up
only its own notifications (each for at most the delivery's deadline). At
most ``threads`` targets are sent to at once in a process; while every
thread is busy, the others wait for the first to be free.
"""

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor


class TargetPool:
    """Threads that send, at most one per target at a time."""

    def __init__(self, threads: int, finished: threading.Event):
        self.threads = threads
        self._finished = finished  # set whenever a target's sends end: there may be more to start
        self._busy: set[str] = set()
        self._lock = threading.Lock()
        self._executor: ThreadPoolExecutor | None = None  # made on first use: after a fork, never before

    def busy(self) -> frozenset[str]:
        """The targets being sent to now (or about to be)."""
        with self._lock:
            return frozenset(self._busy)

    def room(self) -> int:
        """How many more targets can be sent to at once now."""
        with self._lock:
            return max(0, self.threads - len(self._busy))

    def start(self, target: str, sends: Callable[[], int]) -> Future | None:
        """Run ``sends`` (one target's deliveries) in a thread; None if that target is busy already."""
        with self._lock:
            if target in self._busy:
                return None
            self._busy.add(target)
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="alert-delivery")
        try:
            return self._executor.submit(self._run, target, sends)
        except RuntimeError:  # the interpreter is shutting down
            self._release(target)
            raise

    def _run(self, target: str, sends: Callable[[], int]) -> int:
        try:
            return sends()
        finally:
            self._release(target)

    def _release(self, target: str) -> None:
        with self._lock:
            self._busy.discard(target)
        self._finished.set()
