"""Facebook Pages (Graph API): the page, its posts in <=90-day windows, recent comments."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from ingestion.http import NextUrl, dig
from ingestion.parsing import (
    BadRecord,
    FieldMap,
    PageContext,
    count,
    derived,
    from_roster,
    ident,
    iso_time,
    items_at,
    opt_int,
    single,
    text,
    ts_iso,
)
from ingestion.platforms import graph
from ingestion.platforms.base import ExtractSession, ids_wanting_comments, list_len, take_pages
from ingestion.records import I64
from ingestion.roster import RosterEntry

MAX_WINDOW_DAYS = 90  # `since`..`until` may span at most 90 days
POST_FIELDS = (
    "id,message,created_time,permalink_url,shares,"
    "reactions.summary(total_count).limit(0),comments.summary(total_count).limit(0)"
)


def _shares(item: dict[str, Any], ctx: PageContext) -> int | None:
    """The docs: `shares` is absent when a post has none -> 0, not NULL."""
    shares = item.get("shares")
    if shares is not None and not isinstance(shares, dict):
        raise BadRecord("`shares` must be an object")
    return opt_int((shares or {}).get("count", 0), "shares.count")


# --- field maps: API field -> record column -------------------------------------------

PAGE = FieldMap(
    "page",
    (
        from_roster("creator_id"),
        ident("account_id"),
        text("name"),
        count("fan_count"),
        count("followers_count"),
    ),
)
POST = FieldMap(
    "post",
    (
        from_roster("creator_id"),
        from_roster("account_id"),
        ident("post_id"),
        text("message"),
        iso_time("published_at", "created_time"),
        text("permalink_url"),
        derived("shares_count", I64, _shares),
        count("reactions_count", "reactions.summary.total_count"),
        count("comments_count", "comments.summary.total_count"),
    ),
)
COMMENT = graph.comment_fields(text_field="message", time_field="created_time", author_field=None)
FIELDS = {"accounts": PAGE, "posts": POST, "comments": COMMENT}


def _data(body: Any, ctx: PageContext) -> list[Any]:
    return items_at(body, "data")


def _object(body: Any, ctx: PageContext) -> list[Any]:
    if not isinstance(body, dict):
        raise BadRecord("page is not a JSON object")
    return [body]


SPECS = {
    "page": single("accounts", _object, PAGE, ("fan_count",)),
    "posts": single("posts", _data, POST, ("reactions", "comments")),
    "comments": single("comments", _data, COMMENT, ("message",)),
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


class Facebook(graph.GraphPlatform):
    name = "facebook"
    specs = SPECS
    fields = FIELDS
    comment_count_column = "comments_count"

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
    return ids_wanting_comments(
        dig(body, "data"),
        s.window,
        lambda p: ts_iso(p.get("created_time"), "created_time"),
        comment_count=lambda p: dig(p, "comments", "summary", "total_count"),
        history=s.history,
    )


PLATFORM = Facebook()
