"""What every platform module builds on: windows, the extraction session, the base class.

A platform module says only what differs (endpoints, paging style, error shapes, record
builders). The session sends each request through the shared HTTP core, writes the
scrubbed exchange as a raw page line, and parses that same line into records, so
extraction and `reparse` go through one parse path.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import requests

from ingestion.http import (
    BadPage,
    ChainGuard,
    Exchange,
    HttpClient,
    IngestionError,
    NextRequest,
    PagingStopped,
    QuotaExceeded,
    RetriesExhausted,
    Retry,
    default_classify,
)
from ingestion.landing import RawWriter
from ingestion.last_landing import PostHistory
from ingestion.parsing import (
    BadRecord,
    Collected,
    EndpointSpec,
    FieldMap,
    opt_int,
    parse_line,
    unreadable_reason,
)
from ingestion.platforms.outcomes import AccountOutcomes
from ingestion.roster import RosterEntry

log = logging.getLogger(__name__)

POSTS_DAYS = 30  # trailing re-pull window (metrics keep changing, arrive up to 48 h late)
FIRST_SIGHT_DAYS = 90  # engagement-rate window, pulled once when an account is new
COMMENTS_DAYS = 7
MAX_COMMENTS_PER_POST = 500


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


def ids_wanting_comments(
    items: Any,
    window: Window,
    published: Callable[[dict[str, Any]], datetime | None],
    id_types: tuple[type, ...] = (str,),
    comment_count: Callable[[dict[str, Any]], Any] | None = None,
    history: PostHistory | None = None,
) -> list[str]:
    """Ids of a page's posts published inside the comments window whose comments may hold
    something not landed yet (`history.wants_comments` on the post's `comment_count`). A
    post whose time does not parse is left out here (its own record is quarantined by the
    parse); a count that does not parse is unknown, so its comments are asked for."""
    out = []
    for item in items or []:
        if isinstance(item, dict) and isinstance(item.get("id"), id_types):
            try:
                when = published(item)
            except BadRecord:
                continue
            if not window.wants_comments(when):
                continue
            if comment_count is not None and history is not None:
                try:
                    count = opt_int(comment_count(item), "comment count")
                except BadRecord:
                    count = None
                if not history.wants_comments(str(item["id"]), count):
                    continue
            out.append(str(item["id"]))
    return out


class PlatformStopped(IngestionError):
    """Raised in a worker whose account was in flight when the platform was stopped: it
    sends nothing more and the account is recorded as skipped."""


@dataclass
class ExtractSession:
    """One platform's run: HTTP client, raw writer, collected records, account outcomes.

    `run_accounts` spreads accounts over `workers` threads. What they share is guarded by
    one lock: the raw writer and the parse into `collected` happen together under it (so
    the raw files hold lines in the order records were collected, and a reparse sees
    duplicates in the same order), and so do the account outcomes (`outcomes`, same lock)
    and progress events. Each account's own requests stay in order on one worker.
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
    on_account_done: Callable[[], None] | None = None
    workers: int = 1
    # what earlier landings hold about recent posts (comment counts, newest comments)
    history: PostHistory = field(default_factory=PostHistory)
    # per account and step (uploads, a batch, comments), over its paging chains
    max_pages: int = 5000  # (KOL_MAX_PAGES_PER_ACCOUNT)
    window: Window = field(init=False)
    outcomes: AccountOutcomes = field(init=False)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    _local: threading.local = field(default_factory=threading.local, repr=False)

    def __post_init__(self) -> None:
        self.window = Window(self.run_date)
        self.outcomes = AccountOutcomes(self.platform, lock=self._lock)
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
        if self.outcomes.stopped:
            raise PlatformStopped(self.outcomes.stopped)
        try:
            self.client.request(method, path, params, json_body, label=endpoint)
        except QuotaExceeded as exc:
            self.outcomes.stop_for_quota(str(exc))  # at once: the other workers send nothing more
            raise
        parsed = self._local.parsed
        assert parsed is not None and parsed[0]["outcome"] == "ok"
        if parsed[1] is None:
            _check_readable(endpoint, parsed[0].get("body") or "")
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
        guard = ChainGuard(f"{endpoint} of {', '.join('@' + a.handle for a in accounts)}")
        while True:
            self._count_page(endpoint)
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
            guard.check(nxt, page)
            if nxt.url:
                url, params = nxt.url, None
            if nxt.params:
                params = {**(params or {}), **nxt.params}
            if nxt.json:
                json_body = {**(json_body or {}), **nxt.json}
            page += 1

    def _count_page(self, endpoint: str) -> None:
        """The page cap of the account(s) this worker runs (counted from the step's first
        request; a batch step of N accounts may take N accounts' pages)."""
        count = getattr(self._local, "pages", 0) + 1
        self._local.pages = count
        accounts = getattr(self._local, "accounts", 1)
        if count > self.max_pages * accounts:
            raise PagingStopped(
                f"{endpoint}: more than {self.max_pages} pages for one account "
                "(KOL_MAX_PAGES_PER_ACCOUNT); paging stopped"
            )

    # --- account bookkeeping --------------------------------------------------------
    def run_accounts(
        self,
        entries: list[RosterEntry],
        work: Callable[[RosterEntry], None],
        final: bool = True,
    ) -> None:
        """Run every account, `workers` at a time; each failure is recorded, the others go on.
        `final=False` for a step after which the accounts still have work (see run_group)."""
        self.run_groups([([e], lambda g, w=work: w(g[0])) for e in entries], final)

    def run_groups(
        self,
        jobs: list[tuple[list[RosterEntry], Callable[[list[RosterEntry]], None]]],
        final: bool = True,
    ) -> None:
        """Run each (accounts, work) job, `workers` at a time (a batch request for several
        accounts is one job); each failure is recorded, the others go on.

        A job not yet started when the platform is stopped (quota, the exhausted streak)
        skips its accounts. A programming error in any job stops the pool and is raised.
        """
        if self.workers <= 1 or len(jobs) <= 1:
            for group, work in jobs:
                self.run_group(group, work, final)
            return
        with ThreadPoolExecutor(self.workers, thread_name_prefix=f"{self.platform}-x") as pool:
            futures = [pool.submit(self.run_group, group, work, final) for group, work in jobs]
            done, _ = wait(futures, return_when=FIRST_EXCEPTION)
            for future in done:
                error = future.exception()
                if error is not None:  # accounts in flight send nothing more
                    self.outcomes.stop(f"internal error: {type(error).__name__}")
                    for other in futures:
                        other.cancel()
                    raise error

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
        if self.outcomes.skip_if_stopped(entries):
            return
        self._local.pages = 0
        self._local.accounts = max(1, len(entries))  # a batch step pages for all of them
        try:
            work(entries)
        except (QuotaExceeded, PlatformStopped) as exc:
            if isinstance(exc, QuotaExceeded):
                self.outcomes.stop_for_quota(str(exc))
            self.outcomes.skip_unfinished(entries, str(exc))
        except RetriesExhausted as exc:
            self.outcomes.exhausted(entries, self.client.redactor.text(str(exc)))
        except IngestionError as exc:
            for entry in entries:
                self.fail(entry, exc)
        except requests.RequestException as exc:  # defensive: the core wraps these
            for entry in entries:
                self.fail(entry, IngestionError(self.client.redactor.text(type(exc).__name__)))
        else:
            if final:
                self.outcomes.land(entries)
            else:
                self.outcomes.land([])  # the batch step finished: the exhausted streak resets
        finally:
            self._done()

    def _done(self) -> None:
        """One progress event per account step, one at a time (listeners keep state)."""
        if self.on_account_done:
            with self._lock:
                self.on_account_done()

    def fail(self, entry: RosterEntry, error: Exception | str) -> None:
        """An account failed: its error (credentials scrubbed) goes into the manifest."""
        self.outcomes.fail(entry, self.client.redactor.text(str(error)))

    def is_first_sight(self, entry: RosterEntry) -> bool:
        return entry.key in self.first_sight


def _check_readable(endpoint: str, body: str) -> None:
    """A page that is not JSON at all (HTML, a cut-off body) fails the account: its records
    are unknown, so the account must not count as landed (nor lose its first-sight pull)."""
    try:
        json.loads(body)
    except (ValueError, RecursionError) as exc:
        start = " ".join(body[:60].split())
        raise BadPage(f"{endpoint}: {unreadable_reason(exc)}; it starts {start!r}") from None


class Platform:
    """A platform: its name, auth style, error shapes, endpoint specs and fetch plan."""

    name: str = ""
    auth_param: str | None = None  # query parameter for the token; None = Bearer header
    identity_fields: tuple[str, ...] = ()  # JSON keys whose value is a commenter id
    identity_object_fields: tuple[str, ...] = ()  # keys of {"value": "<commenter id>"}
    specs: dict[str, EndpointSpec] = {}  # noqa: RUF012 - overridden per platform
    comment_count_column = ""  # the posts column holding a post's comment count
    history_metrics: tuple[str, ...] = ()  # posts columns whose change re-asks details
    fields: dict[str, FieldMap] = {}  # noqa: RUF012 - entity -> field map, per platform
    # What a handle / account id may look like (the platform's documented charset): both go
    # into URLs, batch lists and Graph field expressions, so one malformed roster value must
    # not break a batch or walk a path. No value may also start or end with "." or hold "..".
    handle_rule: tuple[str, str] = (r"^[A-Za-z0-9._-]{1,64}$", "letters, digits, . _ -")
    id_rule: tuple[str, str] = (r"^[A-Za-z0-9_-]{1,128}$", "letters, digits, _ -")

    def invalid(self, entry: RosterEntry) -> str | None:
        """Why a roster entry cannot be sent to this platform (None when it can)."""
        checks = [("handle", entry.handle, self.handle_rule)]
        if entry.account_id:
            checks.append(("account_id", entry.account_id, self.id_rule))
        for name, value, (pattern, what) in checks:
            dotted = value.startswith(".") or value.endswith(".") or ".." in value
            if dotted or not re.fullmatch(pattern, value):
                return (
                    f"invalid {self.name} {name} {value!r} (allowed: {what}, no leading, "
                    "trailing or double dot); fix the roster"
                )
        return None

    def classify(self, resp: requests.Response, body: Any) -> Retry | None:
        return default_classify(resp, body)

    def extract(
        self, s: ExtractSession, entries: list[RosterEntry], config: dict[str, Any]
    ) -> None:
        raise NotImplementedError


def take_pages(
    pages: Iterator[Any],
    count: Callable[[Any], int],
    cap: int = MAX_COMMENTS_PER_POST,
    stop: Callable[[Any], bool] | None = None,
) -> int:
    """Consume a paging chain until it ends, `cap` items arrived (500 comments a post), or
    `stop` says a page reached what is already landed (a newest-first listing)."""
    total = 0
    for body in pages:
        total += count(body)
        if total >= cap or (stop is not None and stop(body)):
            break
    return total


def list_len(body: Any, *path: str) -> int:
    node = body
    for key in path:
        node = node.get(key) if isinstance(node, dict) else None
    return len(node) if isinstance(node, list) else 0
