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
    chunks,
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
BATCH = 100  # usernames one video query carries (one IN condition)
USER_FIELDS = "display_name,bio_description,is_verified,follower_count,following_count,likes_count,video_count"
VIDEO_FIELDS = (
    "id,create_time,username,region_code,video_description,view_count,like_count,"
    "comment_count,share_count,hashtag_names"
)
COMMENT_FIELDS = "id,video_id,text,like_count,reply_count,create_time"
RETRYABLE = {"internal_error", "server_error", "service_unavailable"}
# The Research API's one documented limit is the daily quota (1,000 requests / 100,000
# records, reset 00:00 UTC), answered with HTTP 429 `rate_limit_exceeded`: waiting minutes
# would not help, so it stops TikTok for the day like a code naming the quota.
QUOTA_CODES = {"rate_limit_exceeded"}
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


def _video_account(item: dict[str, Any], ctx: PageContext) -> dict[str, Any]:
    """The roster account a video of a many-usernames query belongs to."""
    if len(ctx.accounts) == 1:
        return ctx.account
    return ctx.account_by("handle", opt_str(item.get("username"), "username"))


VIDEO = FieldMap(
    "video",
    (
        derived("creator_id", STR, lambda v, c: _video_account(v, c)["creator_id"]),
        derived("account_id", STR, lambda v, c: _video_account(v, c)["handle"]),
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
    comment_count_column = "comment_count"

    def classify(self, resp: requests.Response, body: Any) -> Retry | None:
        err = dig(body, "error")
        code = err.get("code") if isinstance(err, dict) else None
        if code in (None, "ok"):
            return default_classify(resp, body)
        message = f"TikTok error {code}: {str(err.get('message') or '')[:200]}"
        if "quota" in str(code) or code in QUOTA_CODES:
            raise QuotaExceeded(message, resp.status_code, str(code))
        if code in RETRYABLE or resp.status_code >= 500:
            return Retry(message)
        if any(hint in str(code) for hint in NOT_FOUND_HINTS):
            raise AccountNotFound(message, resp.status_code, str(code))
        raise HttpError(message, resp.status_code, str(code))

    def extract(
        self, s: ExtractSession, entries: list[RosterEntry], config: dict[str, Any]
    ) -> None:
        """A wave of up to 100 accounts with the same window at a time: user info per
        account (no batch form), one video query on all their usernames, then each
        account's comments. An account lands when its comments are done."""
        for first in (True, False):  # one window per query: first-sight accounts apart
            for wave in chunks([e for e in entries if s.is_first_sight(e) == first], BATCH):
                self._wave(s, wave)

    def _wave(self, s: ExtractSession, wave: list[RosterEntry]) -> None:
        """Up to 100 accounts: user info each, one video query for all, comments each (a
        quota stop leaves at most one wave unlanded)."""
        s.run_accounts(wave, lambda e: self._user(s, e), final=False)
        recent: dict[str, list[str]] = {}
        pending = s.outcomes.pending(wave)
        if pending:
            s.run_group(pending, lambda g: self._videos(s, g, recent), final=False)
        s.run_accounts(
            s.outcomes.pending(pending),
            lambda e: self._comments(s, e, recent.get(e.key, [])),
        )

    def _user(self, s: ExtractSession, entry: RosterEntry) -> None:
        s.fetch(
            "user_info",
            [entry],
            "POST",
            "/v2/research/user/info/",
            params={"fields": USER_FIELDS},
            json_body={"username": entry.handle},
        )

    def _videos(
        self, s: ExtractSession, group: list[RosterEntry], recent: dict[str, list[str]]
    ) -> None:
        """The group's videos in the window (one query for all its usernames, in spans of
        at most 30 days); notes which want their comments asked for, per account."""
        first = s.window.posts_start(s.is_first_sight(group[0])).date()
        by_handle = {e.handle.casefold(): e for e in group}
        condition = {
            "operation": "IN" if len(group) > 1 else "EQ",
            "field_name": "username",
            "field_values": [e.handle for e in group],
        }
        for lo, hi in split_days(first, s.run_date, MAX_WINDOW_DAYS):
            query = {
                "query": {"and": [condition]},
                "start_date": lo.strftime("%Y%m%d"),
                "end_date": hi.strftime("%Y%m%d"),
                "max_count": 100,
            }
            pages = s.pages(
                "video_query",
                group,
                "POST",
                "/v2/research/video/query/",
                OffsetCursor(with_search_id=True),
                params={"fields": VIDEO_FIELDS},
                json_body=query,
            )
            for body in pages:
                for video_id, username in _recent_ids(body, s):
                    entry = by_handle.get(username.casefold()) if username else None
                    if entry is None and len(group) == 1:
                        entry = group[0]
                    if entry is not None:
                        recent.setdefault(entry.key, []).append(video_id)

    def _comments(self, s: ExtractSession, entry: RosterEntry, video_ids: list[str]) -> None:
        for video_id in dict.fromkeys(video_ids):
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


def _recent_ids(body: Any, s: ExtractSession) -> list[tuple[str, str | None]]:
    """(video id, username) of a page's videos whose comments want asking for."""
    videos = dig(body, "data", "videos")
    wanted = set(
        ids_wanting_comments(
            videos,
            s.window,
            lambda p: ts_unix(p.get("create_time"), "create_time"),
            id_types=(int, str),
            comment_count=lambda p: p.get("comment_count"),
            history=s.history,
        )
    )
    return [
        (str(v["id"]), v.get("username") if isinstance(v.get("username"), str) else None)
        for v in videos or []
        if isinstance(v, dict) and str(v.get("id")) in wanted
    ]


PLATFORM = TikTok()
