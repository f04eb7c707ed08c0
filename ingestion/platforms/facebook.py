"""Facebook Pages (Graph API): the page, its posts in <=90-day windows, recent comments."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import requests

from ingestion.http import NextUrl, Retry, dig
from ingestion.parsing import (
    BadRecord,
    EndpointSpec,
    PageContext,
    Section,
    items_at,
    opt_int,
    opt_str,
    req_id,
    ts_iso,
)
from ingestion.platforms import graph
from ingestion.platforms.base import ExtractSession, Platform, list_len, take_pages
from ingestion.roster import RosterEntry

MAX_WINDOW_DAYS = 90  # `since`..`until` may span at most 90 days
POST_FIELDS = (
    "id,message,created_time,permalink_url,shares,"
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)


def _page(body: Any, ctx: PageContext) -> dict[str, Any]:
    return {
        "creator_id": ctx.account["creator_id"],
        "account_id": req_id(body.get("id"), "id"),
        "name": opt_str(body.get("name"), "name"),
        "fan_count": opt_int(body.get("fan_count"), "fan_count"),
        "followers_count": opt_int(body.get("followers_count"), "followers_count"),
    }


def _post(item: Any, ctx: PageContext) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRecord("post is not an object")
    shares = item.get("shares")
    if shares is not None and not isinstance(shares, dict):
        raise BadRecord("`shares` must be an object")
    return {
        "creator_id": ctx.account["creator_id"],
        "account_id": ctx.account["account_id"],
        "post_id": req_id(item.get("id"), "id"),
        "message": opt_str(item.get("message"), "message"),
        "published_at": ts_iso(item.get("created_time"), "created_time"),
        "permalink_url": opt_str(item.get("permalink_url"), "permalink_url"),
        # the docs: `shares` is absent when a post has none -> 0, not NULL
        "shares_count": opt_int((shares or {}).get("count", 0), "shares.count"),
        "reactions_count": opt_int(dig(item, "reactions", "summary", "total_count"), "reactions"),
        "comments_count": opt_int(dig(item, "comments", "summary", "total_count"), "comments"),
    }


_comment = graph.comment_parser(text_field="message", time_field="created_time")


def _object(body: Any, ctx: PageContext) -> list[Any]:
    if not isinstance(body, dict):
        raise BadRecord("page is not a JSON object")
    return [body]


SPECS = {
    "page": EndpointSpec("accounts", (Section("accounts", _object, _page, ("fan_count",)),)),
    "posts": EndpointSpec(
        "posts",
        (Section("posts", lambda b, c: items_at(b, "data"), _post, ("reactions", "comments")),),
    ),
    "comments": EndpointSpec(
        "comments", (Section("comments", lambda b, c: items_at(b, "data"), _comment, ("message",)),)
    ),
}


def windows(
    start: datetime, end: datetime, max_days: int = MAX_WINDOW_DAYS
) -> list[tuple[int, int]]:
    """(since, until) Unix pairs of at most `max_days` covering start..end, newest first."""
    out, hi = [], end
    while hi > start:
        lo = max(start, hi - timedelta(days=max_days))
        out.append((int(lo.timestamp()), int(hi.timestamp())))
        hi = lo
    return out


class Facebook(Platform):
    name = "facebook"
    auth_param = "access_token"
    specs = SPECS

    def classify(self, resp: requests.Response, body: Any) -> Retry | None:
        return graph.classify(resp, body)

    def extract(
        self, s: ExtractSession, entries: list[RosterEntry], config: dict[str, Any]
    ) -> None:
        s.run_accounts(entries, lambda e: self._account(s, e))

    def _account(self, s: ExtractSession, entry: RosterEntry) -> None:
        page_id = entry.account_id
        s.fetch(
            "page",
            [entry],
            "GET",
            f"/{page_id}",
            params={"fields": "id,name,fan_count,followers_count"},
        )
        start = s.window.posts_start(s.is_first_sight(entry))
        recent: list[str] = []
        for since, until in windows(start, s.window.end):
            params = {"fields": POST_FIELDS, "since": since, "until": until, "limit": 100}
            for body in s.pages(
                "posts", [entry], "GET", f"/{page_id}/posts", NextUrl(), params=params
            ):
                recent.extend(_recent_ids(body, s))
        for post_id in dict.fromkeys(recent):
            pages = s.pages(
                "comments",
                [entry],
                "GET",
                f"/{post_id}/comments",
                NextUrl(),
                params={"fields": "id,message,created_time,like_count", "limit": 100},
                context={"post_id": post_id},
            )
            take_pages(pages, lambda b: list_len(b, "data"))


def _recent_ids(body: Any, s: ExtractSession) -> list[str]:
    out = []
    for item in dig(body, "data") or []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            try:
                published = ts_iso(item.get("created_time"), "created_time")
            except BadRecord:
                continue
            if s.window.wants_comments(published):
                out.append(item["id"])
    return out


PLATFORM = Facebook()
