"""Instagram Graph API: Business Discovery for any creator, insights/comments if authorised."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any

import requests

from ingestion.http import (
    BadPage,
    HttpError,
    NextRequest,
    Retry,
    dig,
    graph_after_cursor,
    graph_next_url,
)
from ingestion.parsing import (
    BadRecord,
    BadShape,
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

ACCOUNT_FIELDS = "id,username,name,followers_count,follows_count,media_count"
MEDIA_FIELDS = (
    "id,caption,like_count,comments_count,timestamp,media_type,media_product_type,permalink"
)
# `views` replaced impressions/plays/video_views (deprecated April 2025): never ask for those.
INSIGHT_METRICS = ("views", "reach", "saved", "shares", "total_interactions")
PAGE_SIZE = 50


def discovery_fields(handle: str, after: str | None = None) -> str:
    media = f"media.after({after}).limit({PAGE_SIZE})" if after else f"media.limit({PAGE_SIZE})"
    return f"business_discovery.username({handle}){{{ACCOUNT_FIELDS},{media}{{{MEDIA_FIELDS}}}}}"


def _discovery(body: Any) -> dict[str, Any]:
    bd = dig(body, "business_discovery")
    if not isinstance(bd, dict):
        raise BadShape("missing `business_discovery` object")
    return bd


def _owner_id(ctx: PageContext) -> str:
    return req_id(_discovery(ctx.body).get("id"), "business_discovery.id")


# --- builders ---------------------------------------------------------------------------


def _account_items(body: Any, ctx: PageContext) -> list[Any]:
    bd = _discovery(body)
    return [bd] if ctx.context.get("page", 0) == 0 else []


def _account(bd: dict[str, Any], ctx: PageContext) -> dict[str, Any]:
    return {
        "creator_id": ctx.account["creator_id"],
        "account_id": req_id(bd.get("id"), "business_discovery.id"),
        "username": opt_str(bd.get("username"), "username"),
        "name": opt_str(bd.get("name"), "name"),
        "followers_count": opt_int(bd.get("followers_count"), "followers_count"),
        "follows_count": opt_int(bd.get("follows_count"), "follows_count"),
        "media_count": opt_int(bd.get("media_count"), "media_count"),
    }


def _media_items(body: Any, ctx: PageContext) -> list[Any]:
    return items_at(_discovery(body), "media", "data", required=False)


def _post(item: Any, ctx: PageContext) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRecord("media item is not an object")
    return {
        "creator_id": ctx.account["creator_id"],
        "account_id": _owner_id(ctx),
        "post_id": req_id(item.get("id"), "id"),
        "caption": opt_str(item.get("caption"), "caption"),
        "published_at": ts_iso(item.get("timestamp"), "timestamp"),
        "media_type": opt_str(item.get("media_type"), "media_type"),
        "media_product_type": opt_str(item.get("media_product_type"), "media_product_type"),
        "permalink": opt_str(item.get("permalink"), "permalink"),
        "like_count": opt_int(item.get("like_count"), "like_count"),
        "comments_count": opt_int(item.get("comments_count"), "comments_count"),
    }


def _insight_value(metric: dict[str, Any]) -> Any:
    values = metric.get("values")
    if isinstance(values, list) and values and isinstance(values[0], dict):
        return values[0].get("value")
    total = metric.get("total_value")
    return total.get("value") if isinstance(total, dict) else None


def _insights_items(body: Any, ctx: PageContext) -> list[Any]:
    items_at(body, "data")  # shape check: data must be a list
    return [body]


def _insights(body: dict[str, Any], ctx: PageContext) -> dict[str, Any]:
    by_name = {m.get("name"): m for m in body["data"] if isinstance(m, dict)}
    row = {
        "creator_id": ctx.account["creator_id"],
        "account_id": ctx.account["account_id"],
        "post_id": req_id(ctx.context.get("post_id"), "post_id"),
    }
    for metric in INSIGHT_METRICS:  # absent metric -> NULL, never 0
        row[metric] = (
            opt_int(_insight_value(by_name[metric]), metric) if metric in by_name else None
        )
    return row


_comment = graph.comment_parser(text_field="text", time_field="timestamp")


SPECS = {
    "business_discovery": EndpointSpec(
        "posts",
        (
            Section(
                "accounts",
                _account_items,
                _account,
                ("followers_count", "follows_count", "media_count"),
            ),
            Section("posts", _media_items, _post, ("comments_count", "like_count")),
        ),
    ),
    "insights": EndpointSpec(
        "post_insights", (Section("post_insights", _insights_items, _insights),)
    ),
    "comments": EndpointSpec(
        "comments", (Section("comments", lambda b, c: items_at(b, "data"), _comment, ("text",)),)
    ),
}


def media_refs(body: Any) -> list[tuple[str, datetime | None]]:
    """(media id, published_at) of a discovery page, leniently (bad items are quarantined)."""
    refs = []
    for item in dig(body, "business_discovery", "media", "data") or []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str | int):
            continue
        try:
            published = ts_iso(item.get("timestamp"), "timestamp")
        except BadRecord:
            published = None
        refs.append((str(item["id"]), published))
    return refs


def reaches_before(refs: list[tuple[str, datetime | None]], start: datetime) -> bool:
    """Whether a page shows the walk has passed the window start, so no later page can hold
    a post in the window.

    Business Discovery lists media newest first (the platform's docs do not promise an
    order, so this is checked on the page itself): a newest-first page whose oldest item
    is at or before `start` ends the walk; any page entirely before `start` does too.
    """
    times = [p for _, p in refs]
    if not times or any(p is None for p in times):
        return False
    if all(a >= b for a, b in pairwise(times)):  # type: ignore[operator]
        return times[-1] <= start  # type: ignore[operator]
    return all(p <= start for p in times)  # type: ignore[operator]


class Instagram(Platform):
    name = "instagram"
    handle_rule = (r"^[A-Za-z0-9._]{1,30}$", "1-30 letters, digits, . or _")
    auth_param = "access_token"
    specs = SPECS

    def classify(self, resp: requests.Response, body: Any) -> Retry | None:
        return graph.classify(resp, body)

    def extract(
        self, s: ExtractSession, entries: list[RosterEntry], config: dict[str, Any]
    ) -> None:
        ig_user = config.get("instagram_user_id")
        if not ig_user:
            for entry in entries:
                s.fail(entry, "KOL_INSTAGRAM_USER_ID is not set: Business Discovery needs it")
            return
        s.run_accounts(entries, lambda e: self._account(s, e, ig_user))

    def _account(self, s: ExtractSession, entry: RosterEntry, ig_user: str) -> None:
        start = s.window.posts_start(s.is_first_sight(entry))

        def next_page(body: Any) -> NextRequest | None:
            cursor = graph_after_cursor(dig(body, "business_discovery", "media"))
            return (
                NextRequest(params={"fields": discovery_fields(entry.handle, cursor)})
                if cursor
                else None
            )

        media: list[tuple[str, datetime | None]] = []
        pages = s.pages(
            "business_discovery",
            [entry],
            "GET",
            f"/{ig_user}",
            next_page,
            params={"fields": discovery_fields(entry.handle)},
        )
        readable = 0
        for body in pages:
            readable += 1
            refs = media_refs(body)
            media.extend(refs)
            if reaches_before(refs, start):
                break
        if not readable:
            # The account record comes from the first page: without it the account did not
            # land, and must not count as seen (its next run owes it the first-sight pull).
            raise BadPage(
                f"@{entry.handle}: the first Business Discovery page was unreadable "
                "(quarantined); the account is retried next run"
            )
        if entry.account_id:  # authorised the app: insights and comments
            for media_id, published in media:
                if published is not None and published > start:
                    self._media_details(s, entry, media_id, published)

    def _media_details(
        self, s: ExtractSession, entry: RosterEntry, media_id: str, published: datetime
    ) -> None:
        try:
            s.fetch(
                "insights",
                [entry],
                "GET",
                f"/{media_id}/insights",
                params={"metric": ",".join(INSIGHT_METRICS)},
                context={"post_id": media_id},
            )
        except HttpError as exc:
            if type(exc) is not HttpError:  # not-found, quota: the account's problem
                raise
            s.warn_once(f"insights unavailable for some media (first: {media_id}: {exc})")
        if s.window.wants_comments(published):
            pages = s.pages(
                "comments",
                [entry],
                "GET",
                f"/{media_id}/comments",
                graph_next_url,
                params={"fields": "id,text,timestamp,like_count", "limit": PAGE_SIZE},
                context={"post_id": media_id},
            )
            take_pages(pages, lambda b: list_len(b, "data"))


PLATFORM = Instagram()
