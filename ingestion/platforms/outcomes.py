"""What happened to each account of one platform's run: landed, failed or skipped, why the
platform stopped, and the warnings for its manifest.

Worker threads record outcomes at the same time; every change goes under the session's lock
(`lock`), which also guards the raw writer and the parse, so outcomes, raw lines and
progress events keep one order.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

from ingestion.roster import RosterEntry

log = logging.getLogger(__name__)

# After this many accounts in a row gave up on retries, the platform is stopped for the run:
# a persistent 429/5xx would otherwise cost every remaining account its full retry budget.
GIVE_UP_AFTER_EXHAUSTED = 3


@dataclass
class AccountFailure:
    account: str
    error: str


def label(entry: RosterEntry) -> str:
    return f"@{entry.handle} ({entry.creator_id})"


@dataclass
class AccountOutcomes:
    platform: str
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    failed: list[AccountFailure] = field(default_factory=list)
    skipped: list[AccountFailure] = field(default_factory=list)
    landed: list[str] = field(default_factory=list)  # roster keys, in the order they landed
    warnings: list[str] = field(default_factory=list)
    stopped: str | None = None  # why no further request is sent this run
    quota_hit: bool = False
    _exhausted_streak: int = 0
    _failed_labels: set[str] = field(default_factory=set, repr=False)
    _landed_keys: set[str] = field(default_factory=set, repr=False)
    _skipped: set[str] = field(default_factory=set, repr=False)

    def skip_if_stopped(self, entries: Iterable[RosterEntry]) -> bool:
        """Record `entries` as skipped when the platform is stopped; whether it is."""
        with self.lock:
            if self.stopped:
                self._skip(entries, self.stopped)
            return bool(self.stopped)

    def skip_unfinished(self, entries: Iterable[RosterEntry], reason: str) -> None:
        """Accounts in flight when the platform stopped: skipped unless landed or failed."""
        with self.lock:
            self._skip(entries, self.stopped or reason)

    def _skip(self, entries: Iterable[RosterEntry], reason: str) -> None:
        """Skipped once (an account of several steps may meet the stop in more than one)."""
        for e in entries:
            if e.key in self._landed_keys or self.has_failed(e) or label(e) in self._skipped:
                continue
            self._skipped.add(label(e))
            self.skipped.append(AccountFailure(label(e), reason))

    def land(self, entries: Iterable[RosterEntry]) -> None:
        """Accounts whose work finished: the streak of exhausted accounts starts again."""
        with self.lock:
            self._exhausted_streak = 0
            for entry in entries:
                if not self.has_failed(entry) and entry.key not in self._landed_keys:
                    self._landed_keys.add(entry.key)
                    self.landed.append(entry.key)

    def fail_landed(self, entry: RosterEntry, message: str) -> bool:
        """A landed account turns out failed after all (an unreadable page found later);
        whether it had landed."""
        with self.lock:
            if entry.key not in self._landed_keys:
                return False
            self._landed_keys.discard(entry.key)
            self.landed.remove(entry.key)
            self.fail(entry, message)
            return True

    def fail(self, entry: RosterEntry, message: str) -> None:
        with self.lock:
            if self.has_failed(entry):
                return
            self._failed_labels.add(label(entry))
            self.failed.append(AccountFailure(label(entry), message))
        log.warning("%s @%s failed: %s", self.platform, entry.handle, message)

    def exhausted(self, entries: Iterable[RosterEntry], message: str) -> None:
        """Accounts that ran out of retries; after GIVE_UP_AFTER_EXHAUSTED in a row the
        platform stops for this run (rate limited or down)."""
        with self.lock:
            for entry in entries:
                self.fail(entry, message)
            self._exhausted_streak += 1
            if self._exhausted_streak >= GIVE_UP_AFTER_EXHAUSTED and not self.stopped:
                self.stop(
                    f"{self._exhausted_streak} accounts in a row exhausted their retries; "
                    "platform stopped for this run (rate limited or down), the next run resumes"
                )

    def stop(self, reason: str) -> None:
        with self.lock:
            if self.stopped:
                return
            self.stopped = reason
        log.warning("%s: %s", self.platform, reason)

    def stop_for_quota(self, message: str) -> None:
        """A quota answer: no worker sends another request today."""
        with self.lock:
            if self.quota_hit:
                return
            self.quota_hit = True
            self.stopped = f"quota exceeded, platform stopped for the day: {message}"
        log.warning("%s: %s", self.platform, self.stopped)

    def has_failed(self, entry: RosterEntry) -> bool:
        return label(entry) in self._failed_labels

    def pending(self, entries: list[RosterEntry]) -> list[RosterEntry]:
        """Accounts a batch step has not already failed."""
        return [e for e in entries if not self.has_failed(e)]

    def done(self) -> int:
        """Accounts with an outcome so far (landed, failed or skipped)."""
        with self.lock:
            labels = self._failed_labels | {f.account for f in self.skipped}
            return len(labels) + len(self.landed)

    def warn_once(self, message: str) -> None:
        with self.lock:
            if message in self.warnings:
                return
            self.warnings.append(message)
        log.warning("%s: %s", self.platform, message)
