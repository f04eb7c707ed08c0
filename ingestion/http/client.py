"""A platform's HTTP session: bounded retries, per-request deadline and size cap, scrubbed
exchanges.

Every answer is read as a stream, so a huge body stops at the size cap instead of being
held in memory; a request still running at its deadline (a status line, headers or body
that drip forever) is cut off by the transport's watchdog and retried like a timeout. The body
is redacted as soon as it is read, before anything parses, classifies, logs or cuts it.
"""

from __future__ import annotations

import codecs
import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import requests
import urllib3

from ingestion.http.allowance import HourlyAllowance
from ingestion.http.auth import Auth
from ingestion.http.classify import Classifier, default_classify
from ingestion.http.errors import HttpError, ResponseTooLarge, RetriesExhausted
from ingestion.http.retry import Retry, RetryPolicy, graph_usage, header, wait_hint
from ingestion.http.transport import deadline_watch, new_session
from ingestion.redaction import Redactor, register_secrets

log = logging.getLogger(__name__)
_VERSION_PREFIX = re.compile(r"^/v\d+(?:\.\d+)?(?=/)")
USER_AGENT = "kol-warehouse/0.1 (+ingestion)"
MAX_REDIRECTS = 5
CHUNK = 64 * 1024

# Response headers worth keeping in a raw page (rate-limit state, tracing, faults).
KEPT_HEADERS: tuple[str, ...] = (
    "content-type",
    "retry-after",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
    "x-app-usage",
    "x-business-use-case-usage",
    "x-fb-trace-id",
)


@dataclass
class Exchange:
    """One HTTP request/response, already scrubbed of credentials (what a raw page holds)."""

    method: str
    url: str
    params: dict[str, Any] | None
    json: Any
    status: int | None
    headers: dict[str, str]
    received_at: str
    body: str
    outcome: str  # ok | retry | error
    error: str | None = None


class _TooSlow(Exception):
    """The request's deadline passed while the body was still arriving."""


class HttpClient:
    """A platform's session: timeouts, bounded retries with backoff+jitter, scrubbed exchanges."""

    def __init__(
        self,
        platform: str,
        base_url: str,
        auth: Auth,
        policy: RetryPolicy,
        redactor: Redactor,
        classify: Classifier = default_classify,
        scrub_body: Callable[[str], str] | None = None,
        on_exchange: Callable[[Exchange], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        rng: random.Random | None = None,
        session: requests.Session | None = None,
        pool_size: int = 10,
        allowance: HourlyAllowance | None = None,
    ) -> None:
        register_secrets([auth.token])  # every log record of every logger is scrubbed of it
        self.platform = platform
        self.base_url = base_url.rstrip("/")
        self.auth = auth
        self.policy = policy
        self.redactor = redactor
        self.classify = classify
        self.scrub_body = scrub_body or redactor.text
        self.on_exchange = on_exchange
        self.sleep = sleep
        self.clock = clock
        self.rng = rng or random.Random()
        self.session = session or new_session(pool_size)
        self.session.headers["User-Agent"] = USER_AGENT
        self.allowance = allowance  # the run's own count against a per-hour limit (Graph)
        self.requests = 0
        self.retries = 0
        self.waited = 0.0  # summed over worker threads (waits of parallel workers overlap)
        self._pause_until = 0.0  # shared by every worker: no request is sent before it
        self._lock = threading.Lock()

    def close(self) -> None:
        self.session.close()

    # --- where a request goes -------------------------------------------------------
    def absolute(self, path_or_url: str) -> str:
        """A path joins the base URL; a next-page URL on another host is rebased onto ours.

        Graph's `paging.next` names graph.facebook.com and a version: we keep only the path
        after the version and the query, so the credential only ever goes to the configured
        host (and a proxy or test server in front of the API keeps working).
        """
        if "://" not in path_or_url:
            return f"{self.base_url}{path_or_url}"
        base, nxt = urlsplit(self.base_url), urlsplit(path_or_url)
        if nxt.netloc == base.netloc:
            return path_or_url
        path = _VERSION_PREFIX.sub("", nxt.path)
        prefix = _VERSION_PREFIX.sub("", base.path.rstrip("/"))
        if prefix and path.startswith(prefix + "/"):
            path = path[len(prefix) :]
        return urlunsplit(base._replace(path=base.path.rstrip("/") + path, query=nxt.query))

    def _send(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        deadline: float,
    ) -> tuple[requests.Response, bytes]:
        """Send with credentials, follow same-host redirects, read the body within limits.

        A redirect to another host is refused: a query-string credential would go with it.
        """
        for _ in range(MAX_REDIRECTS + 1):
            sent_params = dict(params or {})
            headers: dict[str, str] = {}
            send_url = self.auth.apply(url, sent_params, headers)
            remaining = max(0.001, deadline - time.monotonic())
            resp = self.session.request(
                method,
                send_url,
                params=sent_params or None,
                json=json_body,
                headers=headers,
                timeout=(
                    min(self.policy.connect_timeout, remaining),
                    min(self.policy.read_timeout, remaining),
                ),
                stream=True,
                allow_redirects=False,
            )
            if not resp.is_redirect:
                return resp, self._read(resp, deadline)
            target = urljoin(url, resp.headers.get("location", ""))
            resp.close()
            if urlsplit(target).netloc != urlsplit(self.base_url).netloc:
                raise HttpError(
                    f"HTTP {resp.status_code} redirect to another host refused "
                    f"({self.redactor.text(target)[:200]})",
                    resp.status_code,
                )
            url, params = target, None
            if resp.status_code == 303:
                method, json_body = "GET", None
        raise HttpError(f"more than {MAX_REDIRECTS} redirects", resp.status_code)

    def _read(self, resp: requests.Response, deadline: float) -> bytes:
        """The whole body, or _TooSlow / ResponseTooLarge (the connection is dropped)."""
        cap = self.policy.max_body_bytes
        declared = resp.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > cap:
            resp.close()
            raise ResponseTooLarge(_too_large(declared + " bytes declared", cap))
        parts: list[bytes] = []
        size = 0
        try:
            while True:
                if time.monotonic() > deadline:
                    raise _TooSlow()
                chunk = resp.raw.read1(CHUNK, decode_content=True)
                if not chunk:
                    return b"".join(parts)
                size += len(chunk)
                if size > cap:
                    raise ResponseTooLarge(_too_large(f"over {size} bytes", cap))
                parts.append(chunk)
        except BaseException:
            resp.close()
            raise

    # --- waiting --------------------------------------------------------------------
    def _wait(self, seconds: float, why: str) -> None:
        seconds = min(max(seconds, 0.0), self.policy.max_wait)
        if seconds > 0:
            log.debug("%s: waiting %.1fs (%s)", self.platform, seconds, why)
            with self._lock:
                self.waited += seconds
            self.sleep(seconds)

    def _pause(self, until: float) -> None:
        """Hold every worker until `until` (a pause only ever grows)."""
        with self._lock:
            self._pause_until = max(self._pause_until, until)

    def _wait_paused(self) -> None:
        """Wait out a shared pause; the worker that waited it out clears it (unless another
        worker extended it meanwhile), so an injected sleep that does not move the clock
        does not pause every later request again."""
        until = self._pause_until
        pause = until - self.clock()
        if pause > 0:
            self._wait(pause, "rate-limit pause")
            with self._lock:
                if self._pause_until == until:
                    self._pause_until = 0.0

    def _note_limits(self, headers: Mapping[str, str]) -> None:
        """Slow down *before* the platform refuses: Graph usage > threshold, X remaining 0."""
        usage, regain = graph_usage(headers)
        if usage > self.policy.usage_threshold:
            pause = regain if regain else self.policy.usage_pause
            self._pause(self.clock() + min(pause, self.policy.max_wait))
            log.info("%s: usage at %.0f%%, pausing before the next call", self.platform, usage)
        remaining = header(headers, "x-rate-limit-remaining")
        if remaining is not None and remaining.strip() == "0":
            hint = wait_hint(
                {"x-rate-limit-reset": header(headers, "x-rate-limit-reset") or ""}, self.clock()
            )
            if hint:
                self._pause(self.clock() + min(hint, self.policy.max_wait))

    # --- one request ----------------------------------------------------------------
    def request(
        self,
        method: str,
        path_or_url: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        label: str = "",
    ) -> Exchange:
        """Send until success, a non-retryable error (raised) or attempts run out."""
        url = self.absolute(path_or_url)
        last = "no attempt made"
        for attempt in range(1, self.policy.max_attempts + 1):
            self._wait_paused()
            if self.allowance is not None:
                self.allowance.take()  # every attempt is a call the platform counts
            with self._lock:
                self.requests += 1
            retry = self._attempt(method, url, params, json_body)
            if isinstance(retry, Exchange):
                return retry
            last = retry.reason
            if attempt == self.policy.max_attempts:
                break
            self._before_retry(retry, attempt, label or method)
        raise RetriesExhausted(
            f"{self.platform} {label or method}: gave up after {self.policy.max_attempts} "
            f"attempts (last: {last}); the next run retries it"
        )

    def _attempt(
        self, method: str, url: str, params: Mapping[str, Any] | None, json_body: Any
    ) -> Exchange | Retry:
        """One send: the exchange when it is fine, a Retry, or a raised typed error."""
        deadline = time.monotonic() + self.policy.deadline
        too_slow = Retry(f"no complete answer within the {self.policy.deadline:g}s deadline")
        try:
            with deadline_watch(self.policy.deadline) as expired:
                resp, content = self._send(method, url, params, json_body, deadline)
        except _TooSlow:
            return too_slow
        except ResponseTooLarge as exc:
            message = self.redactor.text(str(exc))
            self._emit(self._exchange(method, url, params, json_body, None, {}, ""), message)
            raise ResponseTooLarge(message) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            if expired() or time.monotonic() >= deadline:  # the watchdog cut it off
                return too_slow
            return Retry(self.redactor.text(f"{type(exc).__name__}: {exc}")[:300])
        except ValueError as exc:  # an answer requests cannot read (e.g. a non-UTF-8 Location)
            reason = self.redactor.text(f"{type(exc).__name__}: {exc}")[:300]
            raise HttpError(f"malformed answer ({reason})") from None
        exchange, retry = self._judge(method, url, params, json_body, resp, content)
        return exchange if retry is None else retry

    def _before_retry(self, retry: Retry, attempt: int, label: str) -> None:
        with self._lock:
            self.retries += 1
        if retry.wait is not None:
            # The platform said how long (Retry-After, reset): that holds for every
            # worker of this client, not only the one that was told.
            self._pause(self.clock() + min(retry.wait, self.policy.max_wait))
            delay = retry.wait
        else:
            delay = self.policy.backoff(attempt, self.rng)
        # one wait covers both the retry delay and any usage/reset pause already due
        delay = max(delay, self._pause_until - self.clock())
        log.info(
            "%s %s: %s; retry %d/%d in %.1fs",
            self.platform,
            label,
            retry.reason,
            attempt,
            self.policy.max_attempts - 1,
            min(delay, self.policy.max_wait),
        )
        covered = self.clock() + delay
        self._wait(delay, retry.reason)
        with self._lock:  # waited out (an injected sleep may not move the clock)
            if self._pause_until <= covered:
                self._pause_until = 0.0

    def _exchange(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        status: int | None,
        headers: Mapping[str, str],
        body: str,
    ) -> Exchange:
        kept = {k: v for k, v in headers.items() if k.lower() in KEPT_HEADERS}
        return Exchange(
            method=method,
            url=self.redactor.text(url),
            params=self.redactor.params(dict(params) if params else None),
            json=self.redactor.value(json_body),
            status=status,
            headers=self.redactor.headers(kept),
            received_at=datetime.now(UTC).isoformat(),
            body=body,
            outcome="ok",
        )

    def _judge(
        self,
        method: str,
        url: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        resp: requests.Response,
        content: bytes,
    ) -> tuple[Exchange, Retry | None]:
        """Record the exchange, then let the platform classify it (may raise HttpError).

        The body is scrubbed first: the classifier, the raw page and every message made
        from it see only the redacted text."""
        text = self.scrub_body(content.decode(_charset(resp), errors="replace"))
        try:
            body = json.loads(text) if text else None
        except (ValueError, RecursionError):
            body = None
        exchange = self._exchange(
            method, url, params, json_body, resp.status_code, resp.headers, text
        )
        self._note_limits(resp.headers)
        try:
            retry = self.classify(resp, body)
        except HttpError as exc:
            message = self.redactor.text(str(exc))
            self._emit(exchange, message)
            raise type(exc)(message, exc.status, exc.code) from None
        if retry is not None:
            hint = wait_hint(resp.headers, self.clock())
            if retry.wait is None and hint is not None:
                retry = replace(retry, wait=hint)
            retry = replace(retry, reason=self.redactor.text(retry.reason))
            exchange.outcome, exchange.error = "retry", retry.reason
        self._emit(exchange)
        return exchange, retry

    def _emit(self, exchange: Exchange, error: str | None = None) -> None:
        if error is not None:
            exchange.outcome, exchange.error = "error", error
        if self.on_exchange is not None:
            self.on_exchange(exchange)


def _charset(resp: requests.Response) -> str:
    """The declared charset, else UTF-8 (what JSON is); never a guess from the bytes."""
    match = re.search(r"charset=([\w.:-]+)", resp.headers.get("content-type", ""), re.I)
    if match:
        try:
            return codecs.lookup(match.group(1)).name
        except LookupError:
            pass
    return "utf-8"


def _too_large(seen: str, cap: int) -> str:
    return (
        f"response body too large ({seen}; the cap is {cap} bytes, KOL_HTTP_MAX_BODY_MB); "
        "reading stopped"
    )
