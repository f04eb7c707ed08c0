"""Property tests: parsers on generated doc-shaped pages, with fields absent or corrupted."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ingest_helpers import raw_line

from ingestion.parsing import Collected, parse_line
from ingestion.platforms import get_platform

COUNT = st.integers(min_value=0, max_value=10**12)
MAYBE = st.one_of(st.none(), COUNT)
WHEN = st.datetimes(
    min_value=datetime(2015, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=0))
IDS = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_-", min_size=1, max_size=20)
BAD_ID = st.sampled_from([None, "", "  ", [], {}, True])  # never a valid id
BAD_TIME = st.sampled_from([None, "", "soon", [], {}, True])  # never Unix seconds


def drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


@st.composite
def youtube_video(draw):
    """A /videos item: counts as strings, likeCount/commentCount may be absent."""
    good = draw(st.booleans()) or draw(st.booleans())
    views, likes, comments = draw(COUNT), draw(MAYBE), draw(MAYBE)
    published = draw(WHEN)
    stats = drop_none(
        {
            "viewCount": str(views),
            "likeCount": None if likes is None else str(likes),
            "commentCount": None if comments is None else str(comments),
        }
    )
    item = {
        "id": draw(IDS) if good else draw(BAD_ID),
        "snippet": {
            "publishedAt": published.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "title": draw(st.text(max_size=30)),
        },
        "statistics": stats,
    }
    return (
        item,
        good,
        {
            "view_count": views,
            "like_count": likes,
            "comment_count": comments,
            "published_at": published,
        },
    )


@st.composite
def x_tweet(draw):
    good = draw(st.booleans()) or draw(st.booleans())
    metrics = {
        k: draw(COUNT)
        for k in (
            "retweet_count",
            "reply_count",
            "like_count",
            "quote_count",
            "bookmark_count",
            "impression_count",
        )
    }
    if not good:
        metrics[draw(st.sampled_from(sorted(metrics)))] = draw(
            st.sampled_from(["many", [], {}, True, 1.5])
        )
    published = draw(WHEN)
    item = {
        "id": draw(IDS),
        "text": draw(st.text(max_size=40)),
        "created_at": published.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "public_metrics": metrics,
    }
    return item, good, {**metrics, "published_at": published} if good else {}


@st.composite
def tiktok_video(draw):
    good = draw(st.booleans()) or draw(st.booleans())
    published = draw(WHEN)
    counts = {k: draw(COUNT) for k in ("view_count", "like_count", "comment_count", "share_count")}
    item = {
        "id": draw(st.integers(min_value=1, max_value=2**63 - 1)),
        "create_time": int(published.timestamp()) if good else draw(BAD_TIME),
        **counts,
    }
    return item, good, {**counts, "published_at": published}


PAGES = {
    ("youtube", "videos"): (youtube_video(), lambda items: {"items": items}),
    ("x", "tweets"): (
        x_tweet(),
        lambda items: {"data": items, "meta": {"result_count": len(items)}},
    ),
    ("tiktok", "video_query"): (
        tiktok_video(),
        lambda items: {
            "data": {"videos": items, "cursor": 0, "has_more": False},
            "error": {"code": "ok"},
        },
    ),
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(key=st.sampled_from(sorted(PAGES)), data=st.data())
def test_every_served_item_is_landed_with_its_values_or_quarantined(key, data):
    platform, endpoint = key
    strategy, wrap = PAGES[key]
    generated = data.draw(st.lists(strategy, max_size=8))
    out = Collected(source=platform)
    page = wrap([item for item, _, _ in generated])
    parse_line(
        raw_line(platform, endpoint, page, context={"user_id": "u1"}),
        get_platform(platform).specs,
        "s",
        out,
    )
    c = out.counts().get("posts", {"served": 0, "landed": 0, "quarantined": 0})
    assert c["served"] == len(generated) == c["landed"] + c["quarantined"]
    landed = iter(out.rows.get("posts", []))
    seen_ids: set[str] = set()
    for item, good, expected in generated:
        item_id = str(item["id"]) if good else None
        if not good or item_id in seen_ids:
            continue  # quarantined (bad value or duplicate id in the page)
        seen_ids.add(item_id)
        row = next(landed)
        assert row["post_id"] == item_id
        for col, value in expected.items():
            assert row[col] == value, col
    assert len(out.quarantined) == c["quarantined"]
    assert all(q.reason for q in out.quarantined)


@settings(max_examples=30, deadline=None)
@given(
    body=st.binary(max_size=200).map(lambda b: b.decode("latin-1")),
    platform=st.sampled_from(["instagram", "facebook", "tiktok", "youtube", "x"]),
)
def test_any_garbage_page_is_one_quarantined_record_never_an_exception(body, platform):
    specs = get_platform(platform).specs
    endpoint = next(iter(specs))
    out = Collected(source=platform)
    parse_line(raw_line(platform, endpoint, body), specs, "s", out)
    counts = out.counts()
    assert all(c["served"] == c["landed"] + c["quarantined"] for c in counts.values())
