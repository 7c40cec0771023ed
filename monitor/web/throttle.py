"""Slows password guessing: after `limit` failed logins for one name from one address within `window`,
that pair is refused until the window has passed (in memory: a restart forgets, which is fine for this)."""

from __future__ import annotations

import threading
import time
from collections import deque
from dataclasses import dataclass, field


@dataclass
class LoginThrottle:
    limit: int = 5
    window: float = 15 * 60
    _failures: dict[tuple[str, str], deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window:
            times.popleft()
        return times

    def blocked_for(self, address: str, name: str) -> float:
        """Seconds until this address may try this name again (0: now)."""
        now = time.monotonic()
        with self._lock:
            times = self._recent((address, name.lower()), now)
            return self.window - (now - times[0]) if len(times) >= self.limit else 0.0

    def failed(self, address: str, name: str) -> None:
        with self._lock:
            if len(self._failures) > 10_000:  # many names guessed: forget the oldest rather than grow
                self._failures.clear()
            self._recent((address, name.lower()), time.monotonic()).append(time.monotonic())

    def succeeded(self, address: str, name: str) -> None:
        with self._lock:
            self._failures.pop((address, name.lower()), None)
