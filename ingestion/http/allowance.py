"""A run's own count of calls against a per-rolling-hour limit (Graph: 200 calls an hour per
user token, docs/platform_apis.md "Quotas").

The platform only says so once the hour is spent (error 4/17 and usage headers at 100), and
then for up to an hour: so the client counts its own calls. Within `hours` rolling hours a
run waits for the oldest call of the window to age out; once `per_hour * hours` calls are
made, the platform stops for this run with a quota stop (its remaining accounts go first
next run), instead of waiting into a day the run was not meant to last.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from ingestion.http.errors import QuotaExceeded

HOUR = 3600.0


class HourlyAllowance:
    """Thread-safe: the account workers of one platform share it."""

    def __init__(
        self,
        platform: str,
        per_hour: int,
        hours: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        settings_hint: str = "",
    ) -> None:
        if per_hour < 1 or hours < 1:
            raise ValueError("per_hour and hours must be at least 1")
        self.platform = platform
        self.per_hour = per_hour
        self.total = per_hour * hours
        self.clock = clock
        self.sleep = sleep
        self.settings_hint = settings_hint  # which settings raise it, for the stop's message
        self.taken = 0
        self.waited = 0.0
        self._sent: deque[float] = deque()
        self._lock = threading.Lock()

    def take(self) -> None:
        """Count one call: wait while the rolling hour is full; QuotaExceeded once the run's
        allowance is spent."""
        while True:
            with self._lock:
                if self.taken >= self.total:
                    raise QuotaExceeded(
                        f"{self.platform}: this run's {self.total} calls "
                        f"({self.per_hour} a rolling hour{self.settings_hint}) are spent; "
                        "the accounts not reached go first next run",
                        None,
                        "hourly_allowance",
                    )
                now = self.clock()
                while self._sent and now - self._sent[0] >= HOUR:
                    self._sent.popleft()
                if len(self._sent) < self.per_hour:
                    self._sent.append(now)
                    self.taken += 1
                    return
                pause = HOUR - (now - self._sent[0])
            self.waited += pause
            self.sleep(pause)
