"""Instagram Graph API: Business Discovery for any creator, insights/comments if authorised."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from itertools import pairwise
from typing import Any

from ingestion.http import (
    BadPage,
    HttpError,
    NextRequest,
    NextUrl,
    after_cursor,
    dig,
)
from ingestion.limits import DEFAULT_INSIGHTS_DAYS
from ingestion.parsing import (
    BadRecord,
    BadShape,
    EndpointSpec,
    FieldMap,
    PageContext,
    Section,
    count,
    derived,
    from_context,
    from_roster,
    ident,
    iso_time,
    items_at,
    opt_int,
    req_id,
    single,
    text,
    ts_iso,
)
from ingestion.platforms import graph
from ingestion.platforms.base import ExtractSession, list_len, take_pages
from ingestion.records import I64, STR
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


def _owner_id(item: Any, ctx: PageContext) -> str:
    return req_id(_discovery(ctx.body).get("id"), "business_discovery.id")


# --- field maps: API field -> record column -------------------------------------------

ACCOUNT = FieldMap(
    "business_discovery",
    (
        from_roster("creator_id"),
        ident("account_id"),
        text("username"),
        text("name"),
        count("followers_count"),
        count("follows_count"),
        count("media_count"),
    ),
)
POST = FieldMap(
    "media item",
    (
        from_roster("creator_id"),
        derived("account_id", STR, _owner_id),
        ident("post_id"),
        text("caption"),
        iso_time("published_at", "timestamp"),
        text("media_type"),
        text("media_product_type"),
        text("permalink"),
        count("like_count"),  # NULL when the owner hides likes
        count("comments_count"),
    ),
)


def _insight_value(metric: dict[str, Any]) -> Any:
    values = metric.get("values")
    if isinstance(values, list) and values and isinstance(values[0], dict):
        return values[0].get("value")
    total = metric.get("total_value")
    return total.get("value") if isinstance(total, dict) else None


def _metric(name: str) -> Any:
    """One insight metric of an insights page; a metric the media does not have -> NULL."""

    def value(body: dict[str, Any], ctx: PageContext) -> int | None:
        by_name = {m.get("name"): m for m in body["data"] if isinstance(m, dict)}
        return opt_int(_insight_value(by_name[name]), name) if name in by_name else None

    return value


# One record per insights page: the columns are the metric names asked for.
POST_INSIGHTS = FieldMap(
    "insights page",
    (
        from_roster("creator_id"),
        from_roster("account_id"),
        from_context("post_id"),
        *(derived(metric, I64, _metric(metric)) for metric in INSIGHT_METRICS),
    ),
)
COMMENT = graph.comment_fields(text_field="text", time_field="timestamp", author_field="username")
FIELDS = {
    "accounts": ACCOUNT,
    "posts": POST,
    "post_insights": POST_INSIGHTS,
    "comments": COMMENT,
}


def _account_items(body: Any, ctx: PageContext) -> list[Any]:
    bd = _discovery(body)
    return [bd] if ctx.context.get("page", 0) == 0 else []


def _media_items(body: Any, ctx: PageContext) -> list[Any]:
    return items_at(_discovery(body), "media", "data", required=False)


def _insights_items(body: Any, ctx: PageContext) -> list[Any]:
    items_at(body, "data")  # shape check: data must be a list
    return [body]


SPECS = {
    "business_discovery": EndpointSpec(
        "posts",
        (
            Section(
                "accounts",
                _account_items,
                ACCOUNT,
                ("followers_count", "follows_count", "media_count"),
            ),
            Section("posts", _media_items, POST, ("comments_count", "like_count")),
        ),
    ),
    "insights": single("post_insights", _insights_items, POST_INSIGHTS),
    "comments": single("comments", lambda b, c: items_at(b, "data"), COMMENT, ("text",)),
}


@dataclass(frozen=True)
class MediaRef:
    """What the walk needs of a listed media: its id, time and public counts."""

    id: str
    published: datetime | None
    comments: int | None
    counts: tuple[int | None, int | None]  # (like_count, comments_count), as landed


def _lenient_count(item: dict[str, Any], name: str) -> int | None:
    try:
        return opt_int(item.get(name), name)
    except BadRecord:
        return None


def media_refs(body: Any) -> list[MediaRef]:
    """The media of a discovery page, leniently (bad items are quarantined by the parse)."""
    refs = []
    for item in dig(body, "business_discovery", "media", "data") or []:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str | int):
            continue
        try:
            published = ts_iso(item.get("timestamp"), "timestamp")
        except BadRecord:
            published = None
        likes, comments = (_lenient_count(item, n) for n in ("like_count", "comments_count"))
        refs.append(MediaRef(str(item["id"]), published, comments, (likes, comments)))
    return refs


def reaches_before(refs: list[MediaRef], start: datetime) -> bool:
    """Whether a page shows the walk has passed the window start, so no later page can hold
    a post in the window.

    Business Discovery lists media newest first (the platform's docs do not promise an
    order, so this is checked on the page itself): a newest-first page whose oldest item
    is at or before `start` ends the walk; any page entirely before `start` does too.
    """
    times = [r.published for r in refs]
    if not times or any(p is None for p in times):
        return False
    if all(a >= b for a, b in pairwise(times)):  # type: ignore[operator]
        return times[-1] <= start  # type: ignore[operator]
    return all(p <= start for p in times)  # type: ignore[operator]


class Instagram(graph.GraphPlatform):
    name = "instagram"
    handle_rule = (r"^[A-Za-z0-9._]{1,30}$", "1-30 letters, digits, . or _")
    id_rule = (r"^\d{1,25}$", "digits only")
    specs = SPECS
    fields = FIELDS
    comment_count_column = "comments_count"
    history_metrics = ("like_count", "comments_count")

    def extract(
        self, s: ExtractSession, entries: list[RosterEntry], config: dict[str, Any]
    ) -> None:
        ig_user = config.get("instagram_user_id")
        if not ig_user:
            for entry in entries:
                s.fail(entry, "KOL_INSTAGRAM_USER_ID is not set: Business Discovery needs it")
            return
        days = int(config.get("insights_days") or DEFAULT_INSIGHTS_DAYS)
        s.run_accounts(entries, lambda e: self._account(s, e, ig_user, days))

    def _account(
        self, s: ExtractSession, entry: RosterEntry, ig_user: str, insights_days: int
    ) -> None:
        start = s.window.posts_start(s.is_first_sight(entry))

        def next_page(body: Any) -> NextRequest | None:
            cursor = after_cursor(dig(body, "business_discovery", "media"))
            return (
                NextRequest(params={"fields": discovery_fields(entry.handle, cursor)})
                if cursor
                else None
            )

        media: list[MediaRef] = []
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
            for ref in media:
                if ref.published is not None and ref.published > start:
                    self._media_details(s, entry, ref, ref.published, insights_days)

    def _media_details(
        self,
        s: ExtractSession,
        entry: RosterEntry,
        ref: MediaRef,
        published: datetime,
        insights_days: int,
    ) -> None:
        """Insights while the media is young or its counts changed since its last landing
        (an insights answer not asked keeps its last observed values in the marts);
        comments when its count says there may be new ones."""
        media_id = ref.id
        young = published > s.window.start(insights_days)
        if young or s.history.counts_changed(media_id, ref.counts):
            self._insights(s, entry, media_id)
        if s.window.wants_comments(published) and s.history.wants_comments(media_id, ref.comments):
            pages = s.pages(
                "comments",
                [entry],
                "GET",
                f"/{media_id}/comments",
                NextUrl(),
                params={"fields": "id,text,timestamp,like_count,username", "limit": PAGE_SIZE},
                context={"post_id": media_id},
            )
            take_pages(pages, lambda b: list_len(b, "data"))

    def _insights(self, s: ExtractSession, entry: RosterEntry, media_id: str) -> None:
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
            s.outcomes.warn_once(f"insights unavailable for some media (first: {media_id}: {exc})")


PLATFORM = Instagram()
