"""The platforms' documented quotas, enforced when the fault spec says `quota_model=1`.

Per credential, as the platforms count them:
- YouTube: units per method (search 100, every other list call 1), 10,000 a day per key;
  the day is the sandbox clock's (the real reset is midnight Pacific). Over: HTTP 403
  reason `quotaExceeded`.
- TikTok Research: 1,000 requests and 100,000 records a day (clock day; real reset 00:00
  UTC). Over: HTTP 429 `rate_limit_exceeded`.
- Graph (Instagram, Facebook): 200 calls per rolling hour (wall clock) per token; every
  answer carries `X-App-Usage` / `X-Business-Use-Case-Usage` with the percent used. Over:
  the rate-limit error (code 17 user token, Instagram; 32 page, Facebook) at 100%.
- X: requests per 15-minute window (wall clock) per endpoint, every answer carrying
  `x-rate-limit-*`; over: HTTP 429 with the reset time. Posts read (posts and replies
  served) per clock month against the tier's cap; over: 429 `UsageCapExceeded`.
The limits can be lowered in the spec (`youtube_units_per_day=30`) so a test sees them.
Charged amounts are kept per platform for `/_sandbox/stats`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from sandbox.api import PlatformApi, Request, Response

YOUTUBE_UNITS = {"search": 100}  # every other list method: 1 unit
X_WINDOW_SECONDS = 900
GRAPH_HOUR_SECONDS = 3600
X_CAP_PROBLEM = "https://api.twitter.com/2/problems/usage-capped"


@dataclass(frozen=True)
class QuotaLimits:
    youtube_units_per_day: int = 10_000
    tiktok_requests_per_day: int = 1_000
    tiktok_records_per_day: int = 100_000
    graph_calls_per_hour: int = 200
    x_posts_per_month: int = 1_000_000  # the Pro tier
    x_users_by_per_window: int = 300
    x_tweets_per_window: int = 1_500
    x_search_per_window: int = 450


def credential(req: Request) -> str:
    """The key a platform counts against (never logged or returned)."""
    return (
        req.query.get("key")
        or req.query.get("access_token")
        or req.headers.get("Authorization", "")
    )


def x_endpoint(req: Request) -> str:
    segs = req.segments
    if segs[:3] == ["2", "users", "by"]:
        return "users_by"
    if segs[:3] == ["2", "tweets", "search"]:
        return "search"
    return "tweets"


class QuotaMeter:
    """Counts what each credential spent and refuses what goes over (thread-safe)."""

    def __init__(self, limits: QuotaLimits, clock: Any = time.time) -> None:
        self.limits = limits
        self.clock = clock
        self._lock = threading.Lock()
        self._daily: dict[tuple[str, str, str, str], int] = {}  # (platform, cred, day, measure)
        self._graph: dict[tuple[str, str], deque[float]] = {}
        self._x_window: dict[tuple[str, str, int], int] = {}
        self.charged: dict[str, dict[str, int]] = {}

    # ---- bookkeeping ---------------------------------------------------------------------
    def _add(self, platform: str, measure: str, n: int) -> None:
        per = self.charged.setdefault(platform, {})
        per[measure] = per.get(measure, 0) + n

    def _day(self, platform: str, cred: str, period: str, measure: str) -> int:
        return self._daily.get((platform, cred, period, measure), 0)

    def _spend(self, platform: str, cred: str, period: str, measure: str, n: int) -> None:
        key = (platform, cred, period, measure)
        self._daily[key] = self._daily.get(key, 0) + n
        self._add(platform, measure, n)

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {p: dict(v) for p, v in self.charged.items()}

    # ---- before answering ----------------------------------------------------------------
    def admit(self, api: PlatformApi, req: Request) -> Response | None:
        """Charge the request; the platform's quota error when it goes over (None: answer)."""
        cred, day = credential(req), req.clock.isoformat()
        lim = self.limits
        with self._lock:
            if api.platform == "youtube":
                cost = YOUTUBE_UNITS.get(req.segments[0] if req.segments else "", 1)
                if self._day("youtube", cred, day, "units") + cost > lim.youtube_units_per_day:
                    self._add("youtube", "refused", 1)
                    return api.fault(req, "quota", 0.0)
                self._spend("youtube", cred, day, "units", cost)
                return None
            if api.platform == "tiktok":
                over = (
                    self._day("tiktok", cred, day, "requests") >= lim.tiktok_requests_per_day
                    or self._day("tiktok", cred, day, "records") >= lim.tiktok_records_per_day
                )
                if over:
                    self._add("tiktok", "refused", 1)
                    return api.envelope(  # type: ignore[attr-defined]
                        req,
                        429,
                        {},
                        "rate_limit_exceeded",
                        f"Daily quota of {lim.tiktok_requests_per_day} requests / "
                        f"{lim.tiktok_records_per_day} records reached; it resets at 00:00 UTC.",
                    )
                self._spend("tiktok", cred, day, "requests", 1)
                return None
            if api.platform in ("instagram", "facebook"):
                return self._graph_admit(api, req, cred)
            if api.platform == "x":
                return self._x_admit(api, req, cred)
        return None

    def _graph_admit(self, api: PlatformApi, req: Request, cred: str) -> Response | None:
        now = self.clock()
        calls = self._graph.setdefault((api.platform, cred), deque())
        while calls and calls[0] <= now - GRAPH_HOUR_SECONDS:
            calls.popleft()
        if len(calls) >= self.limits.graph_calls_per_hour:
            self._add(api.platform, "refused", 1)
            code, message = (
                (17, "User request limit reached")
                if api.platform == "instagram"
                else (32, "Page request limit reached")
            )
            resp = api.graph_error(  # type: ignore[attr-defined]
                req, 400, code, f"(#{code}) {message}", is_transient=True
            )
            resp.headers.update(self.graph_headers(api, req, 100))
            return resp
        calls.append(now)
        self._add(api.platform, "calls", 1)
        return None

    def _x_admit(self, api: PlatformApi, req: Request, cred: str) -> Response | None:
        lim, endpoint = self.limits, x_endpoint(req)
        month = req.clock.strftime("%Y-%m")
        if self._day("x", cred, month, "posts read") >= lim.x_posts_per_month:
            self._add("x", "refused", 1)
            resp = api.problem(  # type: ignore[attr-defined]
                429,
                "UsageCapExceeded",
                "Usage cap exceeded: Monthly product cap",
                X_CAP_PROBLEM,
                period="Monthly",
                scope="Product",
            )
            resp.headers.update(self.x_headers(req, cred, endpoint))
            return resp
        window = int(self.clock() // X_WINDOW_SECONDS)
        key = (cred, endpoint, window)
        if self._x_window.get(key, 0) >= self.x_limit(endpoint):
            self._add("x", "refused", 1)
            resp = api.problem(429, "Too Many Requests", "Too Many Requests")  # type: ignore[attr-defined]
            resp.headers.update(self.x_headers(req, cred, endpoint))
            return resp
        self._x_window[key] = self._x_window.get(key, 0) + 1
        self._add("x", "requests", 1)
        return None

    def x_limit(self, endpoint: str) -> int:
        lim = self.limits
        return {
            "users_by": lim.x_users_by_per_window,
            "search": lim.x_search_per_window,
        }.get(endpoint, lim.x_tweets_per_window)

    # ---- after answering -----------------------------------------------------------------
    def settle(self, api: PlatformApi, req: Request, resp: Response) -> None:
        """Charge what the answer served (TikTok records, X posts read) and set the usage
        headers the platform sends with every answer."""
        cred = credential(req)
        with self._lock:
            if api.platform == "tiktok" and resp.status == 200:
                n = sum(resp.records.values())
                self._spend("tiktok", cred, req.clock.isoformat(), "records", n)
            elif api.platform == "x":
                if resp.status == 200:
                    n = resp.records.get("posts", 0) + resp.records.get("comments", 0)
                    self._spend("x", cred, req.clock.strftime("%Y-%m"), "posts read", n)
                resp.headers.update(self.x_headers(req, cred, x_endpoint(req)))
            elif api.platform in ("instagram", "facebook"):
                used = len(self._graph.get((api.platform, cred), ()))
                pct = min(100, round(100 * used / self.limits.graph_calls_per_hour))
                resp.headers.update(self.graph_headers(api, req, pct))

    def x_headers(self, req: Request, cred: str, endpoint: str) -> dict[str, str]:
        window = int(self.clock() // X_WINDOW_SECONDS)
        used = self._x_window.get((cred, endpoint, window), 0)
        limit = self.x_limit(endpoint)
        return {
            "x-rate-limit-limit": str(limit),
            "x-rate-limit-remaining": str(max(0, limit - used)),
            "x-rate-limit-reset": str((window + 1) * X_WINDOW_SECONDS),
        }

    @staticmethod
    def graph_headers(api: PlatformApi, req: Request, pct: int) -> dict[str, str]:
        headers = api.usage_headers(req, pct)  # type: ignore[attr-defined]
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in headers.items()}
