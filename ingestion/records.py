"""The landing zone's typed record contract: one Arrow schema per (entity, platform).

What `landing/records/` holds: the extractors write exactly these columns and the dbt
sources read exactly these columns. An API record's columns are written once, in its
platform module's field map (`FIELDS` in ingestion/platforms/<platform>.py: API field ->
column and type); `api_schema` builds the schema from it, the common columns below first.
The platforms are PLATFORMS below: every other list of them is derived from it or checked
against it (tests/unit/test_one_source.py).

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
- Commenter identities (YouTube authorChannelId, X author_id, Instagram username) are stored only as a salted
  hash (`author_hash`), never in clear.
"""

from __future__ import annotations

import pyarrow as pa

SCHEMA_VERSION = 1

PLATFORMS: tuple[str, ...] = ("instagram", "facebook", "tiktok", "youtube", "x")
# The API entities, in the order a manifest lists them (a platform lands those its FIELDS map).
API_ENTITIES: tuple[str, ...] = ("accounts", "posts", "post_insights", "comments")

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
    # Imported here: the platform modules import the landing code, which imports this module.
    from ingestion.platforms import get_platform

    return get_platform(platform).fields[entity].schema


def api_schemas() -> dict[str, dict[str, pa.Schema]]:
    """{entity: {platform: schema}} of every API record, in API_ENTITIES and PLATFORMS order."""
    from ingestion.platforms import get_platform

    out: dict[str, dict[str, pa.Schema]] = {}
    for entity in API_ENTITIES:
        for platform in PLATFORMS:
            fields = get_platform(platform).fields
            if entity in fields:
                out.setdefault(entity, {})[platform] = fields[entity].schema
    return out
