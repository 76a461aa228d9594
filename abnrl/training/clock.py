"""A wall clock that leaves out the time its process spent stopped.

A training run paused with SIGSTOP (to free the CPU for a benchmark) or on a suspended
machine would otherwise log the pause as training time, lowering its steps/s and
lengthening its reported wall time.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class ActiveClock:
    """Seconds since ``start()`` less the stalls: spans of more than ``stall_s`` between two
    ticks of a thread that ticks every ``tick_s``. Only a stopped process (or machine)
    keeps a sleeping thread from running that long, so a stall is counted as stopped time,
    all but the one tick it would have waited anyway.

    Args:
        tick_s: seconds between the thread's ticks.
        stall_s: a longer gap between ticks is a stall.
        now: the time source (monotonic seconds).
    """

    def __init__(
        self,
        *,
        tick_s: float = 1.0,
        stall_s: float = 10.0,
        now: Callable[[], float] = time.monotonic,
    ) -> None:
        self.tick_s, self.stall_s, self._now = tick_s, stall_s, now
        self.stopped_s = 0.0
        self._started = self._last_tick = now()
        self._lock = threading.Lock()
        self._done = threading.Event()

    def start(self) -> ActiveClock:
        """Start counting from now, and start the ticking thread."""
        self._started = self._last_tick = self._now()
        threading.Thread(target=self._run, name="active-clock", daemon=True).start()
        return self

    def stop(self) -> None:
        """End the ticking thread."""
        self._done.set()

    def tick(self) -> None:
        """Count the gap since the last tick as stopped time if it is a stall."""
        now = self._now()
        with self._lock:
            gap = now - self._last_tick
            if gap > self.stall_s:
                self.stopped_s += gap - self.tick_s
            self._last_tick = now

    def elapsed(self) -> float:
        """Seconds since ``start()``, stalls left out (a stall that just ended included)."""
        self.tick()
        with self._lock:
            return self._last_tick - self._started - self.stopped_s

    def _run(self) -> None:
        while not self._done.wait(self.tick_s):
            self.tick()
