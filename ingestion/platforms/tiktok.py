"""TikTok Research API: user info, video query in <=30-day windows, comment lists.

TikTok answers errors inside a 200 as well: `error.code` other than "ok" is an error.
"""

from __future__ import annotations

from typing import Any

import requests

from ingestion.http import (
    AccountNotFound,
    HttpError,
    OffsetCursor,
    QuotaExceeded,
    Retry,
    default_classify,
    dig,
)
from ingestion.parsing import (
    BadShape,
    FieldMap,
    PageContext,
    absent,
    count,
    derived,
    flag,
    from_roster,
    ident,
    items_at,
    opt_str,
    req_id,
    single,
    text,
    texts,
    ts_unix,
    unix_time,
)
from ingestion.platforms.base import (
    ExtractSession,
    Platform,
    ids_wanting_comments,
    list_len,
    split_days,
    take_pages,
)
from ingestion.records import STR
from ingestion.roster import RosterEntry

MAX_WINDOW_DAYS = 30
USER_FIELDS = "display_name,bio_description,is_verified,follower_count,following_count,likes_count,video_count"
VIDEO_FIELDS = (
    "id,create_time,username,region_code,video_description,view_count,like_count,"
    "comment_count,share_count,hashtag_names"
)
COMMENT_FIELDS = "id,video_id,text,like_count,reply_count,create_time"
RETRYABLE = {"rate_limit_exceeded", "internal_error", "server_error", "service_unavailable"}
NOT_FOUND_HINTS = ("not_found", "invalid_user", "user_not", "private")


def _data(body: Any, ctx: PageContext) -> dict[str, Any]:
    data = dig(body, "data")
    if not isinstance(data, dict):
        raise BadShape("missing `data` object")
    return data


def _username(data: dict[str, Any], ctx: PageContext) -> str:
    return opt_str(data.get("username"), "username") or ctx.account["handle"]


def _video_id(item: dict[str, Any], ctx: PageContext) -> str:
    return req_id(item.get("video_id", ctx.context.get("post_id")), "video_id")


# --- field maps: API field -> record column -------------------------------------------
# The Research API has no user id: the username (the roster handle) is the account key.

USER = FieldMap(
    "user",
    (
        from_roster("creator_id"),
        from_roster("account_id", "handle"),
        derived("username", STR, _username),
        text("display_name"),
        text("bio_description"),
        flag("is_verified"),
        count("follower_count"),
        count("following_count"),
        count("likes_count"),
        count("video_count"),
    ),
)
VIDEO = FieldMap(
    "video",
    (
        from_roster("creator_id"),
        from_roster("account_id", "handle"),
        ident("post_id"),
        text("username"),
        unix_time("published_at", "create_time"),
        text("region_code"),
        text("video_description"),
        count("view_count"),
        count("like_count"),
        count("comment_count"),
        count("share_count"),
        texts("hashtag_names"),
    ),
)
COMMENT = FieldMap(
    "comment",
    (
        from_roster("creator_id"),
        from_roster("account_id", "handle"),
        ident("comment_id"),
        derived("post_id", STR, _video_id),
        text("text"),
        unix_time("published_at", "create_time"),
        count("like_count"),
        count("reply_count"),
        absent("author_hash", STR),
    ),
)
FIELDS = {"accounts": USER, "posts": VIDEO, "comments": COMMENT}


SPECS = {
    "user_info": single(
        "accounts",
        lambda b, c: [_data(b, c)],
        USER,
        ("follower_count", "following_count", "likes_count", "video_count"),
    ),
    "video_query": single(
        "posts",
        lambda b, c: items_at(_data(b, c), "videos", required=False),
        VIDEO,
        ("view_count", "like_count", "comment_count", "share_count"),
    ),
    "comment_list": single(
        "comments",
        lambda b, c: items_at(_data(b, c), "comments", required=False),
        COMMENT,
        ("text", "like_count"),
    ),
}


class TikTok(Platform):
    name = "tiktok"
    handle_rule = (r"^[A-Za-z0-9._]{1,24}$", "1-24 letters, digits, . or _")
    specs = SPECS
    fields = FIELDS

    def classify(self, resp: requests.Response, body: Any) -> Retry | None:
        err = dig(body, "error")
        code = err.get("code") if isinstance(err, dict) else None
        if code in (None, "ok"):
            return default_classify(resp, body)
        message = f"TikTok error {code}: {str(err.get('message') or '')[:200]}"
        if "quota" in str(code):
            raise QuotaExceeded(message, resp.status_code, str(code))
        if code in RETRYABLE or resp.status_code == 429 or resp.status_code >= 500:
            return Retry(message)
        if any(hint in str(code) for hint in NOT_FOUND_HINTS):
            raise AccountNotFound(message, resp.status_code, str(code))
        raise HttpError(message, resp.status_code, str(code))

    def extract(
        self, s: ExtractSession, entries: list[RosterEntry], config: dict[str, Any]
    ) -> None:
        s.run_accounts(entries, lambda e: self._account(s, e))

    def _account(self, s: ExtractSession, entry: RosterEntry) -> None:
        s.fetch(
            "user_info",
            [entry],
            "POST",
            "/v2/research/user/info/",
            params={"fields": USER_FIELDS},
            json_body={"username": entry.handle},
        )
        first = s.window.posts_start(s.is_first_sight(entry)).date()
        recent: list[str] = []
        for lo, hi in split_days(first, s.run_date, MAX_WINDOW_DAYS):
            query = {
                "query": {
                    "and": [
                        {
                            "operation": "EQ",
                            "field_name": "username",
                            "field_values": [entry.handle],
                        }
                    ]
                },
                "start_date": lo.strftime("%Y%m%d"),
                "end_date": hi.strftime("%Y%m%d"),
                "max_count": 100,
            }
            pages = s.pages(
                "video_query",
                [entry],
                "POST",
                "/v2/research/video/query/",
                OffsetCursor(with_search_id=True),
                params={"fields": VIDEO_FIELDS},
                json_body=query,
            )
            for body in pages:
                recent.extend(_recent_ids(body, s))
        for video_id in dict.fromkeys(recent):
            pages = s.pages(
                "comment_list",
                [entry],
                "POST",
                "/v2/research/video/comment/list/",
                OffsetCursor(),
                params={"fields": COMMENT_FIELDS},
                json_body={
                    "video_id": int(video_id) if video_id.isdigit() else video_id,
                    "max_count": 100,
                    "cursor": 0,
                },
                context={"post_id": video_id},
            )
            take_pages(pages, lambda b: list_len(b, "data", "comments"))


def _recent_ids(body: Any, s: ExtractSession) -> list[str]:
    return ids_wanting_comments(
        dig(body, "data", "videos"),
        s.window,
        lambda p: ts_unix(p.get("create_time"), "create_time"),
        id_types=(int, str),
    )


PLATFORM = TikTok()
