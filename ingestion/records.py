"""The landing zone's typed record contract: one Arrow schema per (entity, platform).

This module is the single source of truth for what `landing/records/` holds; the
extractors write exactly these columns and the dbt sources read exactly these columns.

Layout (docs/architecture.md "On disk"):
  API records:    landing/records/<entity>/platform=<p>/dt=<D>/part-*.parquet
  export records: landing/records/<entity>/dt=<D>/part-*.parquet   (entity = brands, campaigns, ...)
  roster:         landing/records/roster/dt=<D>/part-*.parquet

Rules:
- Field names stay close to the platform's own (renaming is dbt staging's job) but values
  are typed: YouTube's string counts are int64 here, timestamps are UTC, ids are strings.
- A metric the platform did not send (hidden likes, missing insight, hidden subscribers)
  is NULL, never 0. Facebook's `shares` is absent when a post has none: that one is 0,
  because the docs say absence means none.
- `platform` and `dt` are NOT columns in the files: they come from the hive partition path.
- Every API record carries the common columns below. `creator_id` comes from the roster.
- Commenter identities (YouTube authorChannelId, X author_id) are stored only as a salted
  hash (`author_hash`), never in clear.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

PLATFORMS: tuple[str, ...] = ("instagram", "facebook", "tiktok", "youtube", "x")

TS = pa.timestamp("us", tz="UTC")
STR = pa.string()
I64 = pa.int64()
F64 = pa.float64()
BOOL = pa.bool_()
DATE = pa.date32()
STRLIST = pa.list_(pa.string())

# Columns every API record carries (first, in this order).
COMMON: list[tuple[str, pa.DataType]] = [
    ("creator_id", STR),  # roster creator_id owning the account
    ("account_id", STR),  # the platform's account id (TikTok: the username; see below)
    ("snapshot_date", DATE),  # the run date D these counts are "as of"
    ("run_id", STR),  # extraction run that fetched it
    ("extracted_at", TS),  # when the page was received (UTC)
]


def _schema(fields: list[tuple[str, pa.DataType]]) -> pa.Schema:
    return pa.schema([pa.field(n, t) for n, t in COMMON + fields])


# --- accounts: one row per account per snapshot_date -------------------------------
ACCOUNTS: dict[str, pa.Schema] = {
    # business_discovery.{id,username,name,followers_count,follows_count,media_count}
    "instagram": _schema(
        [
            ("username", STR),
            ("name", STR),
            ("followers_count", I64),
            ("follows_count", I64),
            ("media_count", I64),
        ]
    ),
    # /{page_id}?fields=id,name,fan_count,followers_count
    "facebook": _schema([("name", STR), ("fan_count", I64), ("followers_count", I64)]),
    # research user/info (no id in the API: account_id = username = roster handle)
    "tiktok": _schema(
        [
            ("username", STR),
            ("display_name", STR),
            ("bio_description", STR),
            ("is_verified", BOOL),
            ("follower_count", I64),
            ("following_count", I64),
            ("likes_count", I64),
            ("video_count", I64),
        ]
    ),
    # /channels: subscriber_count NULL when hidden_subscriber_count is true
    "youtube": _schema(
        [
            ("title", STR),
            ("custom_url", STR),
            ("country", STR),
            ("subscriber_count", I64),
            ("hidden_subscriber_count", BOOL),
            ("view_count", I64),
            ("video_count", I64),
            ("uploads_playlist_id", STR),
        ]
    ),
    # /2/users/by: public_metrics flattened
    "x": _schema(
        [
            ("username", STR),
            ("name", STR),
            ("description", STR),
            ("verified", BOOL),
            ("created_at", TS),
            ("followers_count", I64),
            ("following_count", I64),
            ("tweet_count", I64),
            ("listed_count", I64),
        ]
    ),
}

# --- posts: one row per post per snapshot_date, with the public counts as of then ----
POSTS: dict[str, pa.Schema] = {
    "instagram": _schema(
        [
            ("post_id", STR),
            ("caption", STR),
            ("published_at", TS),  # `timestamp`
            ("media_type", STR),
            ("media_product_type", STR),
            ("permalink", STR),
            ("like_count", I64),  # NULL when the owner hides likes
            ("comments_count", I64),
        ]
    ),
    "facebook": _schema(
        [
            ("post_id", STR),
            ("message", STR),
            ("published_at", TS),  # `created_time`
            ("permalink_url", STR),
            ("shares_count", I64),  # shares.count; absent in the API = 0 shares
            ("reactions_count", I64),  # reactions.summary.total_count
            ("comments_count", I64),  # comments.summary.total_count
        ]
    ),
    "tiktok": _schema(
        [
            ("post_id", STR),  # `id`
            ("username", STR),
            ("published_at", TS),  # `create_time` (Unix seconds)
            ("region_code", STR),
            ("video_description", STR),
            ("view_count", I64),
            ("like_count", I64),
            ("comment_count", I64),
            ("share_count", I64),
            ("hashtag_names", STRLIST),
        ]
    ),
    "youtube": _schema(
        [
            ("post_id", STR),  # videoId
            ("title", STR),
            ("description", STR),
            ("tags", STRLIST),
            ("published_at", TS),  # snippet.publishedAt
            ("view_count", I64),
            ("like_count", I64),  # NULL when the creator hides likes
            ("comment_count", I64),  # NULL when comments are off
        ]
    ),
    "x": _schema(
        [
            ("post_id", STR),
            ("text", STR),
            ("published_at", TS),  # created_at
            ("conversation_id", STR),
            ("hashtags", STRLIST),  # entities.hashtags[].tag
            ("retweet_count", I64),
            ("reply_count", I64),
            ("like_count", I64),
            ("quote_count", I64),
            ("bookmark_count", I64),
            ("impression_count", I64),
        ]
    ),
}

# --- post_insights: Instagram only (authorised creators) ---------------------------
# A metric the platform does not have for that media is absent -> NULL.
POST_INSIGHTS: dict[str, pa.Schema] = {
    "instagram": _schema(
        [
            ("post_id", STR),
            ("views", I64),
            ("reach", I64),
            ("saved", I64),
            ("shares", I64),
            ("total_interactions", I64),
        ]
    ),
}

# --- comments: one row per comment per snapshot_date -------------------------------
_COMMENT = [
    ("comment_id", STR),
    ("post_id", STR),  # the post it belongs to (X: the conversation's root tweet)
    ("text", STR),  # IG text, FB message, TikTok text, YouTube textDisplay, X text
    ("published_at", TS),
    ("like_count", I64),
    ("reply_count", I64),
    ("author_hash", STR),  # salted hash of the commenter id where the API gives one
]
COMMENTS: dict[str, pa.Schema] = {p: _schema(_COMMENT) for p in PLATFORMS}

API_SCHEMAS: dict[str, dict[str, pa.Schema]] = {
    "accounts": ACCOUNTS,
    "posts": POSTS,
    "post_insights": POST_INSIGHTS,
    "comments": COMMENTS,
}

# --- campaign-management exports and the roster (no platform partition) ------------

EXPORT_SCHEMAS: dict[str, pa.Schema] = {
    "brands": pa.schema(
        [
            ("brand_id", STR),
            ("name", STR),
            ("category", STR),
            ("target_countries", STRLIST),
        ]
    ),
    "campaigns": pa.schema(
        [
            ("campaign_id", STR),
            ("brand_id", STR),
            ("name", STR),
            ("objective", STR),
            ("start_date", DATE),
            ("end_date", DATE),
            ("budget", F64),
            ("currency", STR),
            ("hashtag", STR),  # stored without the leading '#', lower-case
            ("brief", STR),
        ]
    ),
    "campaign_creators": pa.schema(
        [
            ("campaign_id", STR),
            ("creator_id", STR),
            ("platform", STR),
            ("fee", F64),
            ("currency", STR),
            ("post_ids", STRLIST),  # empty list = attribute by hashtag
        ]
    ),
    "conversions": pa.schema(
        [
            ("campaign_id", STR),
            ("creator_id", STR),
            ("date", DATE),
            ("clicks", I64),
            ("orders", I64),
            ("revenue", F64),
            ("currency", STR),
            ("platform", STR),  # optional column in the CSV: NULL when absent
        ]
    ),
    "fx_rates": pa.schema([("date", DATE), ("currency", STR), ("usd_per_unit", F64)]),
    "roster": pa.schema(
        [
            ("creator_id", STR),
            ("display_name", STR),
            ("platform", STR),
            ("handle", STR),
            ("account_id", STR),  # may be NULL (X: resolved from handle; TikTok unused)
            ("niche", STR),
            ("country", STR),
            ("language", STR),
        ]
    ),
}


def api_schema(entity: str, platform: str) -> pa.Schema:
    """The Arrow schema for an API entity on a platform (KeyError if it has none)."""
    return API_SCHEMAS[entity][platform]
