"""Parsers on payloads shaped like each platform's public docs (docs/platform_apis.md)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ingest_helpers import raw_line

from ingestion.parsing import Collected, parse_line
from ingestion.platforms import get_platform
from ingestion.redaction import author_hash


def parse(platform: str, endpoint: str, body, **kw) -> Collected:
    out = Collected(source=platform)
    parse_line(raw_line(platform, endpoint, body, **kw), get_platform(platform).specs, "salt", out)
    return out


def assert_balanced(out: Collected) -> None:
    for entity, c in out.counts().items():
        assert c["served"] == c["landed"] + c["quarantined"], entity


def test_youtube_string_counts_are_cast_and_hidden_values_are_null():
    body = {
        "items": [
            {
                "id": "UCa",
                "snippet": {"title": "A"},
                "statistics": {
                    "viewCount": "1200",
                    "subscriberCount": "35",
                    "hiddenSubscriberCount": False,
                    "videoCount": "7",
                },
                "contentDetails": {"relatedPlaylists": {"uploads": "UUa"}},
            },
            {
                "id": "UCb",
                "statistics": {"viewCount": "5", "hiddenSubscriberCount": True, "videoCount": "1"},
            },
        ]
    }
    accounts = [
        {"creator_id": "c1", "handle": "a", "account_id": "UCa"},
        {"creator_id": "c2", "handle": "b", "account_id": "UCb"},
    ]
    out = parse("youtube", "channels", body, accounts=accounts)
    a, b = out.rows["accounts"]
    assert (a["creator_id"], a["subscriber_count"], a["view_count"], a["video_count"]) == (
        "c1",
        35,
        1200,
        7,
    )
    assert a["uploads_playlist_id"] == "UUa"
    assert (b["creator_id"], b["subscriber_count"], b["hidden_subscriber_count"]) == (
        "c2",
        None,
        True,
    )


def test_youtube_video_without_like_or_comment_count_keeps_them_null():
    body = {
        "items": [
            {
                "id": "v1",
                "snippet": {"publishedAt": "2026-11-20T08:00:00Z", "tags": ["a"]},
                "statistics": {"viewCount": "900"},
            }
        ]
    }
    row = parse("youtube", "videos", body).rows["posts"][0]
    assert (row["view_count"], row["like_count"], row["comment_count"]) == (900, None, None)
    assert row["published_at"] == datetime(2026, 11, 20, 8, tzinfo=UTC)


def test_youtube_comment_uses_text_display_and_hashes_the_author():
    top = {
        "id": "Ug1",
        "snippet": {
            "videoId": "v1",
            "textDisplay": "shown",
            "textOriginal": "orig",
            "likeCount": 2,
            "publishedAt": "2026-11-23T01:02:03Z",
            "authorChannelId": {"value": "UCfan"},
        },
    }
    out = parse(
        "youtube",
        "comment_threads",
        {"items": [{"id": "Ug1", "snippet": {"topLevelComment": top, "totalReplyCount": 3}}]},
    )
    row = out.rows["comments"][0]
    assert (row["text"], row["like_count"], row["reply_count"], row["post_id"]) == (
        "shown",
        2,
        3,
        "v1",
    )
    assert row["author_hash"] == author_hash("UCfan", "salt") != "UCfan"


def test_instagram_discovery_page_gives_account_once_and_posts():
    media = [
        {
            "id": "m1",
            "caption": "hi #x",
            "like_count": 10,
            "comments_count": 2,
            "timestamp": "2026-11-20T10:00:00+0000",
            "media_type": "IMAGE",
            "media_product_type": "FEED",
            "permalink": "https://i/p/1",
        }
    ]
    bd = {
        "id": "1784",
        "username": "h1",
        "followers_count": 5000,
        "follows_count": 10,
        "media_count": 1,
        "media": {"data": media, "paging": {"cursors": {"after": "QVFI"}}},
    }
    first = parse("instagram", "business_discovery", {"business_discovery": bd, "id": "me"})
    assert first.rows["accounts"][0]["followers_count"] == 5000
    assert first.rows["posts"][0]["published_at"] == datetime(2026, 11, 20, 10, tzinfo=UTC)
    assert first.rows["posts"][0]["account_id"] == "1784"
    later = parse(
        "instagram", "business_discovery", {"business_discovery": bd}, context={"page": 1}
    )
    assert "accounts" not in later.rows and len(later.rows["posts"]) == 1


def test_instagram_post_without_like_count_is_null_not_zero():
    media = [{"id": "m1", "timestamp": "2026-11-20T10:00:00+0000", "comments_count": 1}]
    out = parse(
        "instagram",
        "business_discovery",
        {"business_discovery": {"id": "1", "media": {"data": media}}},
    )
    assert out.rows["posts"][0]["like_count"] is None


def test_instagram_insights_absent_metric_is_null():
    body = {
        "data": [
            {"name": "reach", "period": "lifetime", "values": [{"value": 321}]},
            {"name": "views", "period": "lifetime", "values": [{"value": 999}]},
        ]
    }
    row = parse("instagram", "insights", body, context={"post_id": "m1"}).rows["post_insights"][0]
    assert (row["post_id"], row["reach"], row["views"]) == ("m1", 321, 999)
    assert row["saved"] is None and row["shares"] is None and row["total_interactions"] is None


def test_facebook_post_without_shares_has_zero_shares_and_summary_counts():
    body = {
        "data": [
            {
                "id": "p_1",
                "message": "m",
                "created_time": "2026-11-21T09:00:00+0000",
                "reactions": {"data": [], "summary": {"total_count": 40}},
                "comments": {"data": [], "summary": {"total_count": 4}},
            },
            {"id": "p_2", "created_time": "2026-11-21T09:00:00+0000", "shares": {"count": 6}},
        ],
        "paging": {},
    }
    a, b = parse("facebook", "posts", body).rows["posts"]
    assert (a["shares_count"], a["reactions_count"], a["comments_count"]) == (0, 40, 4)
    assert (b["shares_count"], b["reactions_count"]) == (6, None)


def test_tiktok_unix_create_time_numeric_ids_and_hashtags():
    body = {
        "data": {
            "videos": [
                {
                    "id": 7301234567890123456,
                    "create_time": 1763980000,
                    "username": "h1",
                    "view_count": 100,
                    "like_count": 9,
                    "comment_count": 1,
                    "share_count": 0,
                    "hashtag_names": ["fyp"],
                }
            ],
            "cursor": 1,
            "has_more": False,
            "search_id": "s",
        },
        "error": {"code": "ok", "message": "", "log_id": "l"},
    }
    row = parse("tiktok", "video_query", body).rows["posts"][0]
    assert row["post_id"] == "7301234567890123456"
    assert row["published_at"] == datetime.fromtimestamp(1763980000, tz=UTC)
    assert row["hashtag_names"] == ["fyp"] and row["account_id"] == "h1"


def test_x_user_batch_maps_usernames_to_roster_creators():
    body = {
        "data": [
            {
                "id": "42",
                "username": "Bob",
                "name": "B",
                "verified": False,
                "created_at": "2010-01-01T00:00:00.000Z",
                "public_metrics": {
                    "followers_count": 7,
                    "following_count": 1,
                    "tweet_count": 3,
                    "listed_count": 0,
                },
            }
        ],
        "errors": [
            {
                "value": "ghost",
                "detail": "Could not find user with usernames: [ghost].",
                "title": "Not Found Error",
            }
        ],
    }
    accounts = [
        {"creator_id": "c1", "handle": "bob", "account_id": None},
        {"creator_id": "c2", "handle": "ghost", "account_id": None},
    ]
    out = parse("x", "users_by", body, accounts=accounts)
    row = out.rows["accounts"][0]
    assert (row["creator_id"], row["account_id"], row["followers_count"]) == ("c1", "42", 7)
    assert out.counts()["accounts"] == {"served": 1, "landed": 1, "quarantined": 0}


def test_x_tweets_and_replies():
    tweet = {
        "id": "9",
        "text": "t #Tag",
        "created_at": "2026-11-23T10:00:00.000Z",
        "conversation_id": "9",
        "entities": {"hashtags": [{"start": 2, "end": 6, "tag": "Tag"}]},
        "public_metrics": {
            "retweet_count": 1,
            "reply_count": 2,
            "like_count": 3,
            "quote_count": 4,
            "bookmark_count": 5,
            "impression_count": 600,
        },
    }
    row = parse(
        "x", "tweets", {"data": [tweet], "meta": {"result_count": 1}}, context={"user_id": "42"}
    ).rows["posts"][0]
    assert (row["hashtags"], row["impression_count"], row["account_id"]) == (["Tag"], 600, "42")
    reply = {
        "id": "10",
        "text": "r",
        "created_at": "2026-11-23T11:00:00.000Z",
        "author_id": "777",
        "public_metrics": {"like_count": 1, "reply_count": 0},
    }
    c = parse("x", "replies", {"data": [reply]}, context={"user_id": "42", "post_id": "9"}).rows[
        "comments"
    ][0]
    assert (c["post_id"], c["comment_id"]) == ("9", "10") and c["author_hash"] == author_hash(
        "777", "salt"
    )


@pytest.mark.parametrize(
    ("platform", "endpoint", "body", "reason"),
    [
        ("youtube", "videos", '{"items": [{"id": "v1", "snippet"', "not valid JSON"),
        ("youtube", "videos", {"items": {"id": "v1"}}, "must be a list"),
        (
            "facebook",
            "posts",
            {"data": [{"message": "no id", "created_time": "2026-11-21T09:00:00+0000"}]},
            "missing required id",
        ),
        (
            "tiktok",
            "video_query",
            {"data": {"videos": [{"id": 1, "create_time": "soon"}]}, "error": {"code": "ok"}},
            "Unix seconds",
        ),
        (
            "x",
            "tweets",
            {
                "data": [
                    {
                        "id": "1",
                        "created_at": "2026-11-23T10:00:00Z",
                        "public_metrics": {"like_count": "many"},
                    }
                ]
            },
            "whole number",
        ),
    ],
)
def test_malformed_input_is_quarantined_with_a_reason(platform, endpoint, body, reason):
    out = parse(platform, endpoint, body, context={"user_id": "1"})
    assert len(out.quarantined) == 1 and reason in out.quarantined[0].reason
    assert_balanced(out)
    assert sum(c["served"] for c in out.counts().values()) == 1


def test_one_bad_item_does_not_take_the_page_down():
    body = {
        "data": [
            {"id": "ok1", "created_time": "2026-11-21T09:00:00+0000"},
            {"id": None},
            {"id": "ok2", "created_time": "2026-11-21T09:00:00+0000"},
        ]
    }
    out = parse("facebook", "posts", body)
    assert [r["post_id"] for r in out.rows["posts"]] == ["ok1", "ok2"]
    assert out.counts()["posts"] == {"served": 3, "landed": 2, "quarantined": 1}
    assert out.quarantined[0].record == {"id": None} and out.quarantined[0].record_index == 1


def test_error_exchanges_are_not_parsed_as_records():
    line = raw_line("youtube", "comment_threads", {"error": {"code": 403}})
    line["outcome"] = "error"
    out = Collected(source="youtube")
    assert parse_line(line, get_platform("youtube").specs, "salt", out) is None
    assert out.counts() == {}


def test_instagram_comment_hashes_the_commenter_and_facebook_has_none():
    """Instagram names the commenter (`username`): kept only hashed, so duplicates can be judged
    per commenter; a public Page's comments name nobody."""
    ig = {
        "id": "c1",
        "text": "so good",
        "timestamp": "2026-11-23T10:00:00+0000",
        "username": "fan_1",
    }
    row = parse("instagram", "comments", {"data": [ig]}, context={"post_id": "m1"}).rows[
        "comments"
    ][0]
    assert row["author_hash"] == author_hash("fan_1", "salt") and "fan_1" not in str(row)
    fb = {"id": "c2", "message": "so good", "created_time": "2026-11-23T10:00:00+0000"}
    row = parse("facebook", "comments", {"data": [fb]}, context={"post_id": "p1"}).rows["comments"][
        0
    ]
    assert row["author_hash"] is None
