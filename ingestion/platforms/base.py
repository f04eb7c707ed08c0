"""What every platform module builds on: windows, the extraction session, the base class.

A platform module says only what differs (endpoints, paging style, error shapes, record
builders). The session sends each request through the shared HTTP core, writes the
scrubbed exchange as a raw page line, and parses that same line into records, so
extraction and `reparse` go through one parse path.
"""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import requests

from ingestion.http import (
    Exchange,
    HttpClient,
    IngestionError,
    NextRequest,
    QuotaExceeded,
    RetriesExhausted,
    Retry,
    default_classify,
)
from ingestion.landing import RawWriter
from ingestion.parsing import Collected, EndpointSpec, parse_line
from ingestion.roster import RosterEntry

log = logging.getLogger(__name__)

POSTS_DAYS = 30  # trailing re-pull window (metrics keep changing, arrive up to 48 h late)
FIRST_SIGHT_DAYS = 90  # engagement-rate window, pulled once when an account is new
COMMENTS_DAYS = 7
MAX_COMMENTS_PER_POST = 500
# After this many accounts in a row gave up on retries, the platform is stopped for the run:
# a persistent 429/5xx would otherwise cost every remaining account its full retry budget.
GIVE_UP_AFTER_EXHAUSTED = 3
# Accounts of one platform fetched at once (each worker runs one account start to finish).
DEFAULT_WORKERS = 4
WORKERS_ENV = "KOL_EXTRACT_WORKERS"


def workers_from_env(default: int = DEFAULT_WORKERS) -> int:
    """`KOL_EXTRACT_WORKERS` (1 = one account at a time), or a clear error."""
    raw = os.environ.get(WORKERS_ENV, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise ValueError(f"{WORKERS_ENV}={raw!r}: expected a whole number from 1 to 64")
    return value


@dataclass(frozen=True)
class Window:
    """A run date D as "as of the end of D, UTC"; "last N days" = (end - N days, end]."""

    run_date: date

    @property
    def end(self) -> datetime:
        return datetime.combine(self.run_date + timedelta(days=1), time(0), tzinfo=UTC)

    def start(self, days: int) -> datetime:
        return self.end - timedelta(days=days)

    def posts_start(self, first_sight: bool) -> datetime:
        return self.start(FIRST_SIGHT_DAYS if first_sight else POSTS_DAYS)

    @property
    def comments_start(self) -> datetime:
        return self.start(COMMENTS_DAYS)

    def wants_comments(self, published_at: datetime | None) -> bool:
        return published_at is not None and published_at > self.comments_start


def split_days(first: date, last: date, max_days: int) -> list[tuple[date, date]]:
    """Inclusive date ranges of at most `max_days` days covering first..last, newest first."""
    out = []
    hi = last
    while hi >= first:
        lo = max(first, hi - timedelta(days=max_days - 1))
        out.append((lo, hi))
        hi = lo - timedelta(days=1)
    return out


class PlatformStopped(IngestionError):
    """Raised in a worker whose account was in flight when the platform was stopped: it
    sends nothing more and the account is recorded as skipped."""


@dataclass
class AccountFailure:
    account: str
    error: str


@dataclass
class ExtractSession:
    """One platform's run: HTTP client, raw writer, collected records, account outcomes.

    `run_accounts` spreads accounts over `workers` threads. What they share is guarded by
    one lock: the raw writer and the parse into `collected` happen together under it (so
    the raw files hold lines in the order records were collected, and a reparse sees
    duplicates in the same order), and so do the account outcomes and progress events.
    Each account's own requests stay in order on one worker.
    """

    platform: str
    run_date: date
    run_id: str
    client: HttpClient
    raw: RawWriter
    collected: Collected
    specs: dict[str, EndpointSpec]
    salt: str
    first_sight: set[str]  # roster keys never landed before this date
    window: Window = field(init=False)
    failed: list[AccountFailure] = field(default_factory=list)
    skipped: list[AccountFailure] = field(default_factory=list)
    landed_accounts: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    stopped: str | None = None
    quota_hit: bool = False
    on_account_done: Callable[[], None] | None = None
    workers: int = 1
    _exhausted_streak: int = 0
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)
    _failed_labels: set[str] = field(default_factory=set, repr=False)
    _landed_keys: set[str] = field(default_factory=set, repr=False)

    def __post_init__(self) -> None:
        self.window = Window(self.run_date)
        self.client.on_exchange = self._record

    # --- fetching -------------------------------------------------------------------
    def _record(self, exchange: Exchange) -> None:
        """Every exchange becomes a raw line (scrubbed); the ok ones are parsed from it."""
        pending = self._local.pending
        line = {
            "run_id": self.run_id,
            "platform": self.platform,
            "endpoint": pending["endpoint"],
            "snapshot_date": self.run_date.isoformat(),
            "accounts": pending["accounts"],
            "context": pending["context"],
            "request": {
                "method": exchange.method,
                "url": exchange.url,
                "params": exchange.params,
                "json": exchange.json,
            },
            "status": exchange.status,
            "headers": exchange.headers,
            "received_at": exchange.received_at,
            "outcome": exchange.outcome,
            "error": exchange.error,
            "body": exchange.body,
        }
        with self._lock:
            self.raw.write(line)
            body = parse_line(line, self.specs, self.salt, self.collected)
        self._local.parsed = (line, body)

    def fetch(
        self,
        endpoint: str,
        accounts: list[RosterEntry],
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        context: dict[str, Any] | None = None,
    ) -> Any:
        """One request -> raw line -> records; returns the decoded body (None if unreadable)."""
        self._local.pending = {
            "endpoint": endpoint,
            "accounts": [a.as_account() for a in accounts],
            "context": context or {},
        }
        self._local.parsed = None
        if self.stopped:
            raise PlatformStopped(self.stopped)
        try:
            self.client.request(method, path, params, json_body, label=endpoint)
        except QuotaExceeded as exc:
            self._quota_hit(exc)  # at once: the other workers send nothing more
            raise
        parsed = self._local.parsed
        assert parsed is not None and parsed[0]["outcome"] == "ok"
        return parsed[1]

    def pages(
        self,
        endpoint: str,
        accounts: list[RosterEntry],
        method: str,
        path: str,
        next_page: Callable[[Any], NextRequest | None],
        params: dict[str, Any] | None = None,
        json_body: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> Iterator[Any]:
        """Follow a paging chain; the caller breaks out to stop early (window, caps)."""
        url, page = path, 0
        params = dict(params or {}) if params is not None else None
        json_body = dict(json_body) if json_body is not None else None
        while True:
            body = self.fetch(
                endpoint,
                accounts,
                method,
                url,
                params,
                json_body,
                {**(context or {}), "page": page},
            )
            if body is None:
                return
            yield body
            nxt = next_page(body)
            if nxt is None:
                return
            if nxt.url:
                url, params = nxt.url, None
            if nxt.params:
                params = {**(params or {}), **nxt.params}
            if nxt.json:
                json_body = {**(json_body or {}), **nxt.json}
            page += 1

    # --- account bookkeeping --------------------------------------------------------
    def run_accounts(self, entries: list[RosterEntry], work: Callable[[RosterEntry], None]) -> None:
        """Run every account, `workers` at a time; each failure is recorded, the others go on.

        An account not yet started when the platform is stopped (quota, the exhausted
        streak) is skipped. A programming error in any account stops the pool and is raised.
        """
        if self.workers <= 1 or len(entries) <= 1:
            for entry in entries:
                self.run_account(entry, work)
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix=f"{self.platform}-x") as pool:
            futures = [pool.submit(self.run_account, entry, work) for entry in entries]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:
                    with self._lock:  # accounts in flight send nothing more
                        self.stopped = self.stopped or f"internal error: {type(error).__name__}"
                    for other in futures:
                        other.cancel()
                    raise error

    def run_account(self, entry: RosterEntry, work: Callable[[RosterEntry], None]) -> None:
        """Run one account; its failure is recorded and the others go on."""
        self.run_group([entry], lambda entries: work(entries[0]))

    def run_group(
        self,
        entries: list[RosterEntry],
        work: Callable[[list[RosterEntry]], None],
        final: bool = True,
    ) -> None:
        """Run work for a batch of accounts; `final=False` for a batch step (e.g. /channels)
        after which each account still has per-account work to do.

        Safe from worker threads. The exhausted streak counts accounts in the order they
        finish: any account that finishes without exhausting its retries resets it.
        """
        with self._lock:
            stopped = self.stopped
            if stopped:
                self.skipped.extend(AccountFailure(_label(e), stopped) for e in entries)
        if stopped:
            return
        try:
            work(entries)
        except (QuotaExceeded, PlatformStopped) as exc:
            if isinstance(exc, QuotaExceeded):
                self._quota_hit(exc)
            with self._lock:
                self.skipped.extend(
                    AccountFailure(_label(e), self.stopped or str(exc))
                    for e in entries
                    if e.key not in self._landed_keys and not self.has_failed(e)
                )
        except RetriesExhausted as exc:
            with self._lock:
                for entry in entries:
                    self.fail(entry, exc)
                self._exhausted_streak += 1
                if self._exhausted_streak >= GIVE_UP_AFTER_EXHAUSTED and not self.stopped:
                    self.stopped = (
                        f"{self._exhausted_streak} accounts in a row exhausted their retries; "
                        "platform stopped for this run (rate limited or down), the next run "
                        "resumes"
                    )
                    log.warning("%s: %s", self.platform, self.stopped)
        except IngestionError as exc:
            for entry in entries:
                self.fail(entry, exc)
        except requests.RequestException as exc:  # defensive: the core wraps these
            for entry in entries:
                self.fail(entry, IngestionError(self.client.redactor.text(type(exc).__name__)))
        else:
            with self._lock:
                self._exhausted_streak = 0
                if final:
                    for entry in entries:
                        if not self.has_failed(entry) and entry.key not in self._landed_keys:
                            self._landed_keys.add(entry.key)
                            self.landed_accounts.append(entry.key)
        finally:
            self._done()

    def _quota_hit(self, exc: QuotaExceeded) -> None:
        with self._lock:
            if self.quota_hit:
                return
            self.stopped = f"quota exceeded, platform stopped for the day: {exc}"
            self.quota_hit = True
        log.warning("%s: %s", self.platform, self.stopped)

    def _done(self) -> None:
        """One progress event per account step, one at a time (listeners keep state)."""
        if self.on_account_done:
            with self._lock:
                self.on_account_done()

    def fail(self, entry: RosterEntry, error: Exception | str) -> None:
        message = self.client.redactor.text(str(error))
        with self._lock:
            if self.has_failed(entry):
                return
            self._failed_labels.add(_label(entry))
            self.failed.append(AccountFailure(_label(entry), message))
        log.warning("%s @%s failed: %s", self.platform, entry.handle, message)

    def has_failed(self, entry: RosterEntry) -> bool:
        return _label(entry) in self._failed_labels

    def pending(self, entries: list[RosterEntry]) -> list[RosterEntry]:
        """Accounts a batch step has not already failed."""
        return [e for e in entries if not self.has_failed(e)]

    def accounts_done(self) -> int:
        with self._lock:
            labels = self._failed_labels | {f.account for f in self.skipped}
            return len(labels) + len(self.landed_accounts)

    def warn_once(self, message: str) -> None:
        with self._lock:
            if message in self.warnings:
                return
            self.warnings.append(message)
        log.warning("%s: %s", self.platform, message)

    def is_first_sight(self, entry: RosterEntry) -> bool:
        return entry.key in self.first_sight


def _label(entry: RosterEntry) -> str:
    return f"@{entry.handle} ({entry.creator_id})"


class Platform:
    """A platform: its name, auth style, error shapes, endpoint specs and fetch plan."""

    name: str = ""
    auth_param: str | None = None  # query parameter for the token; None = Bearer header
    identity_fields: tuple[str, ...] = ()  # JSON keys whose value is a commenter id
    identity_object_fields: tuple[str, ...] = ()  # keys of {"value": "<commenter id>"}
    specs: dict[str, EndpointSpec] = {}  # noqa: RUF012 - overridden per platform
    # What a handle / account id may look like: both go into URLs, batch lists and Graph
    # field expressions, so one malformed roster value must not break a whole batch.
    handle_rule: tuple[str, str] = (r"^[A-Za-z0-9._-]{1,64}$", "letters, digits, . _ -")
    id_rule: tuple[str, str] = (r"^[A-Za-z0-9._-]{1,128}$", "letters, digits, . _ -")

    def invalid(self, entry: RosterEntry) -> str | None:
        """Why a roster entry cannot be sent to this platform (None when it can)."""
        pattern, what = self.handle_rule
        if not re.match(pattern, entry.handle):
            return f"invalid {self.name} handle {entry.handle!r} (allowed: {what}); fix the roster"
        pattern, what = self.id_rule
        if entry.account_id and not re.match(pattern, entry.account_id):
            return f"invalid {self.name} account_id {entry.account_id!r} (allowed: {what}); fix the roster"
        return None

    def classify(self, resp: requests.Response, body: Any) -> Retry | None:
        return default_classify(resp, body)

    def extract(
        self, s: ExtractSession, entries: list[RosterEntry], config: dict[str, Any]
    ) -> None:
        raise NotImplementedError


def take_pages(
    pages: Iterator[Any], count: Callable[[Any], int], cap: int = MAX_COMMENTS_PER_POST
) -> int:
    """Consume a paging chain until it ends or `cap` items arrived (500 comments a post)."""
    total = 0
    for body in pages:
        total += count(body)
        if total >= cap:
            break
    return total


def list_len(body: Any, *path: str) -> int:
    node = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return len(node) if isinstance(node, list) else 0
