"""What a day's extraction spent per account, against the documented minimum for the same data.

The minimum is worked out here from the day's own landing and the APIs' documented batch
sizes and costs (docs/platform_apis.md), never from the extractor's code: the fewest calls
that return the same records, given what earlier landings hold:
- lookups by id at the documented batch size (YouTube channels and videos 50, X users 100,
  TikTok usernames 100 a video query), listings at their page size, one page at least;
- comments only for posts of the comments window whose count is not 0 and moved since
  their last landing (or that have none landed): where the API lists newest first or
  filters by id (YouTube, X) only the new ones, ceil(new / page); elsewhere the whole
  listing (at most 500), as no order is promised;
- Instagram insights for media of the posts window that are young or whose counts moved.
Every call the extractors use costs 1 (YouTube units too). TikTok records and X posts read
count what the answers return. The quota columns say how many days the documented default
quota needs to refresh the whole roster at the measured per-account cost.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from ingestion.landing import read_manifest, records_dir
from ingestion.last_landing import PostHistory, read_post_history
from ingestion.limits import DEFAULT_INSIGHTS_DAYS
from ingestion.platforms import get_platform
from ingestion.platforms.base import COMMENTS_DAYS, MAX_COMMENTS_PER_POST, POSTS_DAYS
from ingestion.quota import BATCH_SIZES, QuotaSettings, charged, daily_budget, days_to_cover
from ingestion.roster import RosterEntry

# Documented page sizes (items a listing page holds) of the calls the minimum counts.
COMMENT_PAGE = {"youtube": 100, "tiktok": 100, "x": 100, "instagram": 50, "facebook": 100}
NEWEST_FIRST = {"youtube", "x"}  # order=time / since_id: only new comments need reading
POST_PAGE = {"youtube": 50, "tiktok": 100, "x": 100, "instagram": 50, "facebook": 100}
TIKTOK_USERNAMES = 100
TARGET = 1.15  # calls and units within this factor of the minimum


def _rows(landing: Path, entity: str, day: date, platform: str) -> list[dict[str, Any]]:
    return [
        row
        for path in sorted(records_dir(landing, entity, day, platform).glob("part-*.parquet"))
        for row in pq.read_table(path).to_pylist()
    ]


def _pages(items: int, page: int) -> int:
    return max(1, math.ceil(items / page))


def _comment_need(
    platform: str,
    post_id: str,
    count: int | None,
    history: PostHistory,
    new: int,
    since_ok: bool = True,
) -> tuple[int, int]:
    """(calls, comments returned) the minimum spends on one post of the comments window;
    `new` = the post's comments landed on the day and newer than any landed before (a
    count can run ahead of what a listing holds: replies, hidden or capped comments)."""
    previous = history.counts.get(post_id)
    known = post_id in history.commented and previous is not None
    if count is None or count == 0 or (known and previous == count):
        return 0, 0  # nothing listed, or nothing new since the comments already landed
    if platform in NEWEST_FIRST and known and since_ok:
        return _pages(new, COMMENT_PAGE[platform]), new
    listed = min(count, MAX_COMMENTS_PER_POST)
    return _pages(listed, COMMENT_PAGE[platform]), listed


def documented_minimum(
    platform: str,
    landing: Path,
    day: date,
    authorised: set[str],
    insights_days: int = DEFAULT_INSIGHTS_DAYS,
) -> dict[str, Any]:
    """The fewest calls (and the platform's quota measure) that land `day`'s records."""
    manifest = read_manifest(landing, platform, day) or {}
    acc = manifest.get("accounts") or {}
    failed = len(acc.get("failed") or [])
    landed = int(acc.get("ok") or 0)
    attempted = landed + failed
    plat = get_platform(platform)
    history = read_post_history(
        landing,
        platform,
        day,
        plat.comment_count_column,
        COMMENTS_DAYS + 1,
        plat.history_metrics,
    )
    posts = _rows(landing, "posts", day, platform)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=UTC)
    posts_start, comments_start = (
        end - timedelta(days=POSTS_DAYS),
        end - timedelta(days=COMMENTS_DAYS),
    )
    per_account = Counter(
        p["creator_id"]
        for p in posts
        if p["published_at"] is not None and p["published_at"] > posts_start
    )
    comment_calls = comments = 0
    new: Counter[str] = Counter()
    for c in _rows(landing, "comments", day, platform):
        newest = history.newest_time(c["post_id"])
        if c["published_at"] is not None and (newest is None or c["published_at"] > newest):
            new[c["post_id"]] += 1
    for p in posts:
        if p["published_at"] is None or p["published_at"] <= comments_start:
            continue
        if platform == "instagram" and p["creator_id"] not in authorised:
            continue
        count = p[plat.comment_count_column]
        newest = history.newest_time(p["post_id"])
        # X: recent search takes a since_id only inside its 7 days (one day of margin)
        since_ok = platform != "x" or (newest is not None and newest > end - timedelta(days=6))
        calls, got = _comment_need(
            platform, p["post_id"], count, history, new[p["post_id"]], since_ok
        )
        comment_calls += calls
        comments += got
    listing = sum(math.floor(n / POST_PAGE[platform]) + 1 for n in per_account.values()) + (
        landed - len(per_account)
    )  # an account without posts still reads one page
    out: dict[str, Any] = {"accounts": attempted}
    if platform == "youtube":
        batch = BATCH_SIZES["youtube"]
        calls = {
            "channels": math.ceil(attempted / batch["channels"]),
            "playlist_items": listing,
            "videos": math.ceil(len(posts) / batch["videos"]),
            "comment_threads": comment_calls,
        }
        out["measure"] = {"units": sum(calls.values())}
    elif platform == "tiktok":
        calls = {
            "user_info": attempted,
            "video_query": max(
                math.ceil(landed / TIKTOK_USERNAMES), math.ceil(len(posts) / POST_PAGE["tiktok"])
            ),
            "comment_list": comment_calls,
        }
        records = landed + len(posts) + comments
        out["measure"] = {"requests": sum(calls.values()), "records": records}
    elif platform == "x":
        calls = {
            "users_by": math.ceil(attempted / BATCH_SIZES["x"]["users_by"]),
            "tweets": sum(_pages(n, POST_PAGE["x"]) for n in per_account.values())
            + (landed - len(per_account)),
            "replies": comment_calls,
        }
        out["measure"] = {"posts read": len(posts) + comments}
    elif platform == "instagram":
        young = end - timedelta(days=insights_days)
        insights = sum(
            1
            for p in posts
            if p["creator_id"] in authorised
            and p["published_at"] is not None
            and p["published_at"] > posts_start
            and (
                p["published_at"] > young
                or history.metrics.get(p["post_id"]) != tuple(p[c] for c in plat.history_metrics)
            )
        )
        calls = {
            "business_discovery": listing + failed,
            "insights": insights,
            "comments": comment_calls,
        }
        out["measure"] = {"calls": sum(calls.values())}
    else:  # facebook
        calls = {
            "page": attempted,
            "posts": sum(_pages(n, POST_PAGE["facebook"]) for n in per_account.values())
            + (landed - len(per_account)),
            "comments": comment_calls,
        }
        out["measure"] = {"calls": sum(calls.values())}
    out["calls_by_endpoint"] = calls
    out["calls"] = sum(calls.values())
    return out


def day_figures(
    landing: Path,
    day: date,
    platforms: list[str] | tuple[str, ...],
    roster: list[RosterEntry],
    quota: QuotaSettings | None = None,
) -> dict[str, dict[str, Any]]:
    """Per platform: calls and quota measure per account-day, actual and minimum, their
    ratio, and the days the (default) quota needs to refresh the roster at this cost."""
    quota = quota or QuotaSettings()
    authorised = {e.creator_id for e in roster if e.platform == "instagram" and e.account_id}
    out: dict[str, dict[str, Any]] = {}
    for platform in platforms:
        manifest = read_manifest(landing, platform, day)
        if not manifest or manifest.get("status") not in ("ok", "partial"):
            continue
        minimum = documented_minimum(platform, landing, day, authorised)
        n = minimum["accounts"]
        if not n:
            continue
        by_endpoint = manifest.get("requests_by_endpoint") or {}
        spent = charged(platform, manifest)
        per_account = {m: v / n for m, v in spent.items()}
        roster_size = sum(1 for e in roster if e.platform == platform)
        plan = manifest.get("quota_plan") or {}
        budget = daily_budget(platform, quota, day)
        planned = plan.get("per_account") or {}
        out[platform] = {
            "accounts": n,
            "calls_per_account": sum(by_endpoint.values()) / n,
            "min_calls_per_account": minimum["calls"] / n,
            "calls_ratio": _ratio(sum(by_endpoint.values()), minimum["calls"]),
            "measure_per_account": per_account,
            "min_measure_per_account": {m: v / n for m, v in minimum["measure"].items()},
            "measure_ratio": {m: _ratio(spent.get(m, 0), v) for m, v in minimum["measure"].items()},
            "calls_by_endpoint": dict(by_endpoint),
            "min_calls_by_endpoint": minimum["calls_by_endpoint"],
            "roster_accounts": roster_size,
            "default_budget": budget,
            "days_for_roster": days_to_cover(per_account, budget, roster_size),
            # the plan's own per-account estimate (its history) under the default quota
            "plan_per_account": planned,
            "plan_days_for_roster": days_to_cover(planned, budget, roster_size)
            if planned
            else None,
            "plan_estimate": plan.get("estimate"),
        }
    return out


def _ratio(actual: float, minimum: float) -> float | None:
    return actual / minimum if minimum else None


def markdown(figures: dict[str, dict[str, Any]]) -> str:
    """The side-by-side table: actual against the documented minimum, per account-day."""
    lines = [
        "| platform | accounts | calls / account-day | documented minimum | ratio | quota measure / account-day (minimum) | ratio | days the default quota needs for the roster: measured (plan's estimate) |",
        "|---|---:|---:|---:|---:|---|---:|---|",
    ]
    for platform, f in figures.items():
        measures = "; ".join(
            f"{v:,.2f} {m} ({_fmt_min(f['min_measure_per_account'].get(m))})"
            for m, v in f["measure_per_account"].items()
        )
        ratios = "; ".join(
            f"{r:.2f}" if r is not None else "—" for r in f["measure_ratio"].values()
        )
        days = "—"
        if platform in ("tiktok", "x"):
            days = f"{f['days_for_roster'] or 'never'} ({f['plan_days_for_roster'] or '—'})"
        lines.append(
            f"| {platform} | {f['accounts']:,} | {f['calls_per_account']:.2f} | "
            f"{f['min_calls_per_account']:.2f} | {_fmt_ratio(f['calls_ratio'])} | {measures} | "
            f"{ratios} | {days} |"
        )
    return "\n".join(lines)


def _fmt_min(value: float | None) -> str:
    """A documented minimum, or a dash for a measure it does not work out (X's windows)."""
    return "—" if value is None else f"{value:,.2f}"


def _fmt_ratio(r: float | None) -> str:
    if r is None:
        return "—"
    return f"{r:.2f}" + ("" if r <= TARGET else " MISSES ≤1.15")


def plan_outcomes(landing: Path, day: date, platforms: tuple[str, ...]) -> dict[str, Any]:
    """Per platform, what a run within the quotas did on `day` (its manifest): the accounts
    planned and deferred, those landed, what it spent in the quota's measures against the
    day's budget, and the manifest's status and reason."""
    out: dict[str, Any] = {}
    for p in platforms:
        m = read_manifest(landing, p, day)
        if m is None:
            continue
        plan = m.get("quota_plan") or {}
        out[p] = {
            "status": m.get("status"),
            "planned": plan.get("refresh"),
            "deferred": len(m.get("deferred") or []),
            "landed": len((m.get("accounts") or {}).get("landed") or []),
            "used": charged(p, m),
            "budget": plan.get("budget"),
            "reason": (m.get("reason") or "")[:300],
        }
    return out
