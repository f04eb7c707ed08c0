"""The platforms' documented quotas as data, and what a day of extraction costs against them.

Every figure is the platform's own (docs/platform_apis.md "Quotas" names the page each comes
from); each limit is a setting (`QuotaSettings`, filled from KOL_* variables by
pipeline/config.py) whose default is the documented figure, so a customer with a larger
quota says so once. A platform's day is measured in its own currency: YouTube units, TikTok
requests and records, Graph calls, X posts read.
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

# YouTube Data API v3 quota cost per method (developers.google.com/youtube/v3/determine_quota_cost),
# by the extractor's endpoint names. search.list is never used.
YOUTUBE_UNITS: dict[str, int] = {
    "channels": 1,
    "playlist_items": 1,
    "videos": 1,
    "comment_threads": 1,
    "search": 100,
}
# Ids one request may carry (YouTube channels/videos `id=`, X `/2/users/by?usernames=`),
# or the videos one TikTok query page holds across the usernames it names.
BATCH_SIZES: dict[str, dict[str, int]] = {
    "youtube": {"channels": 50, "videos": 50},
    "x": {"users_by": 100},
    # a video query page holds 100 videos (`max_count`) of up to 100 usernames (`IN`)
    "tiktok": {"video_query": 100},
}
# X API v2 requests per 15-minute window per app (Bearer token), by endpoint
# (docs.x.com/x-api/fundamentals/rate-limits). The plan fits a run's requests in
# `x_windows_per_run` windows; past them the HTTP core would wait for a window's reset.
X_WINDOW_MINUTES = 15
X_WINDOW_REQUESTS: dict[str, int] = {"users_by": 300, "tweets": 1_500, "replies": 450}
# The plan fills this share of a window: its per-account prices are estimates, and the client
# pauses for the window's reset (up to 15 minutes) once `x-rate-limit-remaining` reaches 0.
X_WINDOW_PLAN_PERCENT = 90
# X monthly Post cap per access tier (docs.x.com/x-api/x-api-v2/fundamentals/tweet-cap):
# posts returned by timelines and search count, deduplicated per day.
X_TIER_POSTS_PER_MONTH: dict[str, int] = {
    "free": 1_500,
    "basic": 10_000,
    "pro": 1_000_000,
    "enterprise": 50_000_000,
}
# Graph usage headers report percent of the limit used; above this, slow down (Meta's advice).
GRAPH_USAGE_HEADERS = ("X-App-Usage", "X-Business-Use-Case-Usage")
GRAPH_SLOW_DOWN_PERCENT = 90

# What a documented per-account day costs when no landed run says better: a creator who
# posts ~3 times a week (12 posts in the 30-day re-pull window, 3 in the 7-day comments
# window), one page of comments per commented post.
ASSUMED_POSTS_30D = 12
ASSUMED_POSTS_7D = 3
ASSUMED_COMMENT_PAGE = 100  # items per full comments page (TikTok, X max_count/max_results)


@dataclass(frozen=True)
class QuotaSettings:
    """Each platform's limits (defaults: the documented figures)."""

    youtube_units_per_day: int = 10_000  # resets at midnight Pacific time
    tiktok_requests_per_day: int = 1_000  # resets 00:00 UTC
    tiktok_records_per_day: int = 100_000  # resets 00:00 UTC
    graph_calls_per_hour: int = 200  # per user token, rolling hour
    # rolling hours a run may spread its Graph calls over (the client paces them at
    # graph_calls_per_hour); 1: a daily run spends one hour's allowance and does not wait
    graph_hours_per_day: int = 1
    # 15-minute windows a run may spread X's requests over: the plan fits each endpoint's
    # requests in its window limit × this; 1: a daily run never waits for a window's reset
    x_windows_per_run: int = 1
    x_access_tier: str = "pro"
    x_posts_per_month: int | None = None  # None: the tier's documented cap

    def x_monthly_cap(self) -> int:
        return self.x_posts_per_month or X_TIER_POSTS_PER_MONTH[self.x_access_tier]


RESETS: dict[str, str] = {
    "youtube": "midnight Pacific time",
    "tiktok": "00:00 UTC",
    "instagram": "rolling hour",
    "facebook": "rolling hour",
    "x": "monthly (posts read); 15-minute windows (requests)",
}


def daily_budget(platform: str, q: QuotaSettings, day: date) -> dict[str, int]:
    """What one day may spend on `platform`, per measure. X's monthly cap is spread evenly
    over the days of D's month."""
    if platform == "youtube":
        return {"units": q.youtube_units_per_day}
    if platform == "tiktok":
        return {"requests": q.tiktok_requests_per_day, "records": q.tiktok_records_per_day}
    if platform in ("instagram", "facebook"):
        per_hour, hours = graph_allowance(q)
        return {"calls": per_hour * hours}
    if platform == "x":
        days = calendar.monthrange(day.year, day.month)[1]
        windows = {
            x_window_measure(e): n * q.x_windows_per_run * X_WINDOW_PLAN_PERCENT // 100
            for e, n in X_WINDOW_REQUESTS.items()
        }
        return {"posts read": q.x_monthly_cap() // days, **windows}
    raise ValueError(f"no quota model for platform {platform!r}")


def x_window_measure(endpoint: str) -> str:
    """The plan's measure of one X endpoint's requests in the run's windows."""
    return f"{endpoint} requests"


def graph_allowance(q: QuotaSettings) -> tuple[int, int]:
    """(calls per rolling hour, hours) a run spends on a Graph platform: 90% of the token's
    hourly limit, so the usage headers never pass Meta's slow-down threshold on our own calls
    and the app keeps room for its other use, over `graph_hours_per_day` hours."""
    per_hour = max(1, q.graph_calls_per_hour * GRAPH_SLOW_DOWN_PERCENT // 100)
    return per_hour, q.graph_hours_per_day


def hourly_limit(platform: str, q: QuotaSettings) -> tuple[int, int] | None:
    """The (calls per rolling hour, hours) the HTTP client keeps to on `platform`: Graph's
    allowance; None for the platforms whose limits are per day or per window."""
    return graph_allowance(q) if platform in ("instagram", "facebook") else None


def _served(manifest: dict[str, Any], *entities: str) -> int:
    ents = manifest.get("entities") or {}
    return sum(int((ents.get(e) or {}).get("served") or 0) for e in entities)


def charged(platform: str, manifest: dict[str, Any]) -> dict[str, int]:
    """What one landed run spent, in the platform's measures, from its manifest: request
    counts per endpoint × cost (the total when a manifest has no per-endpoint counts: every
    method the extractors use costs 1) and the records served."""
    by_endpoint = manifest.get("requests_by_endpoint")
    requests = int(manifest.get("requests") or 0)
    if isinstance(by_endpoint, dict) and by_endpoint:
        requests = sum(int(n) for n in by_endpoint.values())
    if platform == "youtube":
        if isinstance(by_endpoint, dict) and by_endpoint:
            return {"units": sum(YOUTUBE_UNITS.get(e, 1) * int(n) for e, n in by_endpoint.items())}
        return {"units": requests}
    if platform == "tiktok":
        return {"requests": requests, "records": _served(manifest, "accounts", "posts", "comments")}
    if platform in ("instagram", "facebook"):
        return {"calls": requests}
    if platform == "x":
        windows = (
            {x_window_measure(e): int(by_endpoint.get(e) or 0) for e in X_WINDOW_REQUESTS}
            if isinstance(by_endpoint, dict) and by_endpoint
            else {}
        )
        return {"posts read": _served(manifest, "posts", "comments"), **windows}
    raise ValueError(f"no quota model for platform {platform!r}")


def documented_per_account(platform: str) -> dict[str, float]:
    """One account-day from the windows and batch sizes (ASSUMED_* above), no history."""
    p30, p7, page = ASSUMED_POSTS_30D, ASSUMED_POSTS_7D, ASSUMED_COMMENT_PAGE
    if platform == "youtube":
        batch = BATCH_SIZES["youtube"]
        # channels (batched) + one uploads page (50 items) + videos (batched) + comments
        return {"units": 1 / batch["channels"] + 1 + p30 / batch["videos"] + p7}
    if platform == "tiktok":
        # user info + a share of a 30-day video query on 100 usernames (100 videos a page)
        # + one comments page per recent post
        batch = BATCH_SIZES["tiktok"]
        return {
            "requests": 1 + p30 / batch["video_query"] + p7,
            "records": 1 + p30 + p7 * page,
        }
    if platform == "instagram":
        # business discovery page (50 media) + insights per media + comments per recent post
        return {"calls": 1 + p30 + p7}
    if platform == "facebook":
        return {"calls": 1 + 1 + p7}  # page + posts page (100) + comments per recent post
    if platform == "x":
        # users/by (batched) + one timeline page + one replies page per recent post
        return {
            "posts read": p30 + p7 * page,
            x_window_measure("users_by"): 1 / BATCH_SIZES["x"]["users_by"],
            x_window_measure("tweets"): 1,
            x_window_measure("replies"): p7,
        }
    raise ValueError(f"no quota model for platform {platform!r}")


def per_account_from_history(
    platform: str, manifests: Iterable[dict[str, Any]]
) -> tuple[dict[str, float], int] | None:
    """Mean cost per attempted account (landed or failed: an account skipped when a quota
    stopped the platform cost nothing) over landed runs (ok/partial), and how many runs;
    None when none landed."""
    totals: dict[str, float] = {}
    accounts = runs = 0
    for m in manifests:
        acc = m.get("accounts") or {}
        failed = acc.get("failed")
        n = (
            int(acc["ok"]) + (len(failed) if isinstance(failed, list) else 0)
            if "ok" in acc
            else int(acc.get("total") or 0)
        )
        if m.get("status") not in ("ok", "partial") or n <= 0:
            continue
        for measure, value in charged(platform, m).items():
            totals[measure] = totals.get(measure, 0.0) + value
        accounts += n
        runs += 1
    if not runs:
        return None
    return {k: v / accounts for k, v in totals.items()}, runs


def accounts_that_fit(per_account: dict[str, float], budget: dict[str, int]) -> int | None:
    """How many accounts a budget covers (None: no limit, nothing costs)."""
    fits = [
        math.floor(budget[m] / cost + 1e-9)
        for m, cost in per_account.items()
        if m in budget and cost > 0
    ]
    return min(fits) if fits else None


def accounts_within(costs: Iterable[dict[str, float]], budget: dict[str, int]) -> int:
    """How many of `costs`, taken in order, a budget covers before one would overrun it (a
    measure the budget does not limit never stops it)."""
    spent: dict[str, float] = {}
    n = 0
    for cost in costs:
        after = {m: spent.get(m, 0.0) + c for m, c in cost.items() if m in budget}
        if any(v > budget[m] + 1e-6 for m, v in after.items()):
            break
        spent.update(after)
        n += 1
    return n


def days_to_cover(
    per_account: dict[str, float], budget: dict[str, int], accounts: int
) -> int | None:
    """Days a budget needs to refresh `accounts` once (at least 1; None: never, one account
    alone does not fit)."""
    fit = accounts_that_fit(per_account, budget)
    if fit is None or accounts == 0:
        return 1
    if fit == 0:
        return None
    return max(1, math.ceil(accounts / fit))


def usage_report(
    platform: str, manifest: dict[str, Any], q: QuotaSettings, day: date
) -> dict[str, Any]:
    """What a landed run used against the day's budget (the run ledger's quota columns):
    measure -> {"used", "budget"}, the highest usage percent a platform reported in its
    headers (Graph), and how many accounts the plan deferred."""
    budget = daily_budget(platform, q, day)
    out: dict[str, Any] = {
        m: {"used": used, "budget": budget.get(m)}
        for m, used in charged(platform, manifest).items()
    }
    if manifest.get("usage_percent_max") is not None:
        out["usage_percent_max"] = manifest["usage_percent_max"]
    out["deferred"] = len(manifest.get("deferred") or [])
    return out
