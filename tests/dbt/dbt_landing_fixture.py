"""A small HAND-MADE landing zone whose marts were computed by hand (see test_marts.py).

Run date D = 2026-11-24. Landed dates: 2026-10-25 (Instagram accounts only: the 30-day
follower-growth baseline), 2026-11-22, 2026-11-23 and D. Creators:
- c1 Instagram  100,000 followers on D (80,000 on D-30)   mid tier; post ig1 (with insights:
  the EMV example), ig2 (no insights landed: views/shares/saves stay NULL); 5 comments
- c2 TikTok     1,000 followers (nano boundary); 13 posts in the last 90 days + 1 older + 1
  with hidden counts: ER over the latest 12 known = 0.065
- c3 YouTube    hidden subscribers -> tier unknown
- c4 X          999 followers (emerging); x1 carries #GlowUp in cmp1's window (EUR campaign)
- c5 Facebook   followers_count absent -> fan_count 10,000 (micro); fb1 listed in cmp2, 0 engagements
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.records import EXPORT_SCHEMAS, api_schema

D = date(2026, 11, 24)
DAILY_DATES = (date(2026, 11, 22), date(2026, 11, 23), D)
BASELINE_DATE = date(2026, 10, 25)


def ts(day: date, hour: int = 12) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def write_api(
    home: Path,
    entity: str,
    platform: str,
    dt: date,
    rows: Iterable[dict],
    run: str = "run",
    extracted_at: datetime | None = None,
) -> None:
    schema = api_schema(entity, platform)
    full = [
        {
            "account_id": row.get("account_id"),
            "snapshot_date": dt,
            "run_id": f"{run}-{dt.isoformat()}",
            "extracted_at": extracted_at or ts(dt, 23),
            **row,
        }
        for row in rows
    ]
    folder = home / "landing" / "records" / entity / f"platform={platform}" / f"dt={dt}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(full, schema=schema), folder / f"part-{run}-{dt}.parquet")


def write_export(home: Path, entity: str, dt: date, rows: list[dict]) -> None:
    folder = home / "landing" / "records" / entity / f"dt={dt}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=EXPORT_SCHEMAS[entity])
    pq.write_table(table, folder / f"part-run-{dt}.parquet")


ROSTER = [
    ("c1", "Ada", "instagram", "ada", "ig-1", "beauty", "US", "en"),
    ("c2", "Ben", "tiktok", "ben", None, "gaming", "DE", "de"),
    ("c3", "Cat", "youtube", "cat", "yt-3", "tech", "US", "en"),
    ("c4", "Dan", "x", "dan", "x-4", "beauty", "FR", "fr"),
    ("c5", "Eve", "facebook", "eve", "fb-5", "food", "US", "en"),
]


def tiktok_posts(dt: date) -> list[dict]:
    """t1..t13 published D-k days at noon, engagements 10k, views 1000k; t_old 100 days ago."""
    rows = [
        {
            "post_id": f"t{k}",
            "published_at": ts(D - timedelta(days=k)),
            "like_count": 10 * k if k < 13 else 100_000,
            "comment_count": 0,
            "share_count": 0,
            "view_count": 1000 * k,
            "hashtag_names": [],
        }
        for k in range(1, 14)
    ]
    rows.append(
        {
            "post_id": "t_old",
            "published_at": ts(D - timedelta(days=100)),
            "like_count": 5,
            "comment_count": 0,
            "share_count": 0,
            "view_count": 10,
            "hashtag_names": [],
        }
    )
    rows.append(  # newest post, counts hidden: engagements unknown, skipped by ER
        {"post_id": "t_hidden", "published_at": ts(D, 6), "view_count": 50, "hashtag_names": []}
    )
    common = {"creator_id": "c2", "account_id": "ben", "username": "ben"}
    return [{**common, **r} for r in rows if r["published_at"] <= ts(dt, 23)]


def land_day(home: Path, dt: date, platforms: tuple[str, ...]) -> None:
    """One daily extraction: every account, its posts and comments as of `dt`."""
    growth = (dt - DAILY_DATES[0]).days  # 0, 1, 2: counts move a little each day
    if "instagram" in platforms:
        ig = {"creator_id": "c1", "account_id": "ig-1"}
        write_api(
            home,
            "accounts",
            "instagram",
            dt,
            [
                {
                    **ig,
                    "username": "ada",
                    "name": "Ada",
                    "followers_count": 99_000 + 500 * growth,
                    "follows_count": 500,
                    "media_count": 2,
                }
            ],
        )
        write_api(
            home,
            "posts",
            "instagram",
            dt,
            [
                {
                    **ig,
                    "post_id": "ig1",
                    "caption": "Morning routine #skincare",
                    "published_at": ts(date(2026, 11, 20)),
                    "like_count": 5000 - 100 * (2 - growth),
                    "comments_count": 500,
                },
                {
                    **ig,
                    "post_id": "ig2",
                    "caption": "Second look",
                    "published_at": ts(date(2026, 11, 21)),
                    "like_count": 300,
                    "comments_count": 20,
                },
            ],
        )
        write_api(
            home,
            "post_insights",
            "instagram",
            dt,
            [
                {
                    **ig,
                    "post_id": "ig1",
                    "views": 50_000 - 1000 * (2 - growth),
                    "reach": 40_000,
                    "saved": None,
                    "shares": None,
                    "total_interactions": 5500,
                },
            ],
        )
        comments = [
            ("cm1", "I love this, amazing!", "h1"),
            ("cm2", "This is terrible and sad", "h2"),
            ("cm3", "Me encanta este precioso", "h3"),
            ("cm4", "nice pic", "h4"),
            ("cm5", "Nice pic!", "h5"),
        ]
        write_api(
            home,
            "comments",
            "instagram",
            dt,
            [
                {
                    **ig,
                    "comment_id": cid,
                    "post_id": "ig1",
                    "text": text,
                    "published_at": ts(date(2026, 11, 21)),
                    "like_count": 0,
                    "reply_count": 0,
                    "author_hash": h,
                }
                for cid, text, h in comments
            ],
        )
    if "tiktok" in platforms:
        write_api(
            home,
            "accounts",
            "tiktok",
            dt,
            [
                {
                    "creator_id": "c2",
                    "account_id": "ben",
                    "username": "ben",
                    "display_name": "Ben",
                    "follower_count": 1000,
                    "following_count": 100,
                    "video_count": 15,
                }
            ],
        )
        write_api(home, "posts", "tiktok", dt, tiktok_posts(dt))
    if "youtube" in platforms:
        yt = {"creator_id": "c3", "account_id": "yt-3"}
        write_api(
            home,
            "accounts",
            "youtube",
            dt,
            [
                {
                    **yt,
                    "title": "Cat",
                    "subscriber_count": None,
                    "hidden_subscriber_count": True,
                    "view_count": 10_000,
                    "video_count": 1,
                }
            ],
        )
        write_api(
            home,
            "posts",
            "youtube",
            dt,
            [
                {
                    **yt,
                    "post_id": "v1",
                    "title": "Review",
                    "tags": ["tech"],
                    "published_at": ts(date(2026, 11, 1)),
                    "view_count": 2000,
                    "like_count": None,
                    "comment_count": 10,
                }
            ],
        )
    if "x" in platforms:
        xx = {"creator_id": "c4", "account_id": "x-4"}
        write_api(
            home,
            "accounts",
            "x",
            dt,
            [
                {
                    **xx,
                    "username": "dan",
                    "name": "Dan",
                    "followers_count": 999,
                    "following_count": 10,
                    "tweet_count": 3,
                }
            ],
        )
        write_api(
            home,
            "posts",
            "x",
            dt,
            [
                {
                    **xx,
                    "post_id": "x1",
                    "text": "Glow time",
                    "hashtags": ["GlowUp"],
                    "published_at": ts(date(2026, 11, 15)),
                    "retweet_count": 100,
                    "reply_count": 100,
                    "like_count": 500,
                    "quote_count": 50,
                    "bookmark_count": 150,
                    "impression_count": 30_000,
                },
                {
                    **xx,
                    "post_id": "x2",
                    "text": "no tag",
                    "hashtags": [],
                    "published_at": ts(date(2026, 11, 16)),
                    "retweet_count": 1,
                    "reply_count": 1,
                    "like_count": 1,
                    "quote_count": 0,
                    "bookmark_count": 0,
                    "impression_count": 100,
                },
                {
                    **xx,
                    "post_id": "x3",
                    "text": "too early #glowup",
                    "hashtags": ["glowup"],
                    "published_at": ts(date(2026, 11, 5)),
                    "retweet_count": 0,
                    "reply_count": 0,
                    "like_count": 7,
                    "quote_count": 0,
                    "bookmark_count": 0,
                    "impression_count": 70,
                },
            ],
        )
    if "facebook" in platforms:
        fb = {"creator_id": "c5", "account_id": "fb-5"}
        write_api(
            home,
            "accounts",
            "facebook",
            dt,
            [{**fb, "name": "Eve", "fan_count": 10_000, "followers_count": None}],
        )
        write_api(
            home,
            "posts",
            "facebook",
            dt,
            [
                {
                    **fb,
                    "post_id": "fb1",
                    "message": "Dinner",
                    "published_at": ts(date(2026, 11, 18)),
                    "shares_count": 0,
                    "reactions_count": 0,
                    "comments_count": 0,
                }
            ],
        )


def land_exports(home: Path, dt: date) -> None:
    write_export(
        home,
        "roster",
        dt,
        [dict(zip(EXPORT_SCHEMAS["roster"].names, r, strict=True)) for r in ROSTER],
    )
    write_export(
        home,
        "brands",
        dt,
        [
            {
                "brand_id": "b1",
                "name": "Glow Co",
                "category": "beauty skincare",
                "target_countries": ["US", "FR"],
            },
        ],
    )
    write_export(
        home,
        "campaigns",
        dt,
        [
            {
                "campaign_id": "cmp1",
                "brand_id": "b1",
                "name": "Glow Up",
                "objective": "awareness",
                "start_date": date(2026, 11, 10),
                "end_date": date(2026, 11, 30),
                "budget": 5000.0,
                "currency": "EUR",
                "hashtag": "glowup",
                "brief": "skincare glow routine",
            },
            {
                "campaign_id": "cmp2",
                "brand_id": "b1",
                "name": "Dinner",
                "objective": "sales",
                "start_date": date(2026, 11, 15),
                "end_date": date(2026, 11, 30),
                "budget": 500.0,
                "currency": "USD",
                "hashtag": "dinner",
                "brief": "food",
            },
        ],
    )
    write_export(
        home,
        "campaign_creators",
        dt,
        [
            {
                "campaign_id": "cmp1",
                "creator_id": "c4",
                "platform": "x",
                "fee": 1000.0,
                "currency": "EUR",
                "post_ids": [],
            },
            {
                "campaign_id": "cmp2",
                "creator_id": "c5",
                "platform": "facebook",
                "fee": 500.0,
                "currency": "USD",
                "post_ids": ["fb1"],
            },
        ],
    )
    write_export(
        home,
        "conversions",
        dt,
        [
            {
                "campaign_id": "cmp1",
                "creator_id": "c4",
                "date": date(2026, 11, 20),
                "clicks": 50,
                "orders": 10,
                "revenue": 2000.0,
                "currency": "EUR",
                "platform": None,
            },
        ],
    )
    write_export(
        home,
        "fx_rates",
        dt,
        [
            {"date": date(2026, 11, 1), "currency": "EUR", "usd_per_unit": 1.05},
            {
                "date": date(2026, 11, 7),
                "currency": "EUR",
                "usd_per_unit": 1.08,
            },  # start 11-10 falls back here
            {"date": date(2026, 11, 20), "currency": "EUR", "usd_per_unit": 1.10},
        ],
    )


ALL_PLATFORMS = ("instagram", "facebook", "tiktok", "youtube", "x")


def build_landing(home: Path, platforms: tuple[str, ...] = ALL_PLATFORMS) -> None:
    if "instagram" in platforms:
        write_api(
            home,
            "accounts",
            "instagram",
            BASELINE_DATE,
            [
                {
                    "creator_id": "c1",
                    "account_id": "ig-1",
                    "username": "ada",
                    "name": "Ada",
                    "followers_count": 80_000,
                    "follows_count": 500,
                    "media_count": 1,
                }
            ],
        )
    for dt in DAILY_DATES:
        land_day(home, dt, platforms)
        land_exports(home, dt)
    if "instagram" in platforms:
        # D extracted again later the same day: cm1 now has 7 likes. Both runs stay landed;
        # the warehouse keeps one row per comment, the later run's version.
        write_api(
            home,
            "comments",
            "instagram",
            D,
            [ig1_comment("cm1", "I love this, amazing!", likes=7, author_hash="h1")],
            run="rerun",
            extracted_at=ts(D, 23) + timedelta(minutes=30),
        )


def ig1_comment(
    comment_id: str, text: str, likes: int = 0, author_hash: str | None = None
) -> dict[str, Any]:
    """A comment on c1's Instagram post ig1, published 2026-11-21."""
    return {
        "creator_id": "c1",
        "account_id": "ig-1",
        "comment_id": comment_id,
        "post_id": "ig1",
        "text": text,
        "published_at": ts(date(2026, 11, 21)),
        "like_count": likes,
        "reply_count": 0,
        "author_hash": author_hash,
    }
