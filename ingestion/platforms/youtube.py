"""YouTube Data API v3: channels and videos in batches of 50, uploads paging, comment threads.

Counts arrive as JSON strings (cast); hidden subscribers/likes/comments are NULL, not 0.
`search.list` costs 100 quota units: never used.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import requests

from ingestion.http import (
    AccountNotFound,
    CommentsDisabled,
    HttpError,
    PageToken,
    QuotaExceeded,
    Retry,
    chunks,
    default_classify,
    dig,
    error_message,
)
from ingestion.parsing import (
    BadRecord,
    EndpointSpec,
    PageContext,
    Section,
    items_at,
    opt_bool,
    opt_int,
    opt_str,
    req_id,
    str_list,
    ts_iso,
)
from ingestion.platforms.base import ExtractSession, Platform, list_len, take_pages
from ingestion.roster import RosterEntry

BATCH = 50
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
NOT_FOUND_REASONS = {"channelNotFound", "playlistNotFound", "videoNotFound"}


def _reasons(body: Any) -> set[str]:
    errors = dig(body, "error", "errors")
    return (
        {e.get("reason") for e in errors if isinstance(e, dict)}
        if isinstance(errors, list)
        else set()
    )


def _channel(item: Any, ctx: PageContext) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRecord("channel is not an object")
    channel_id = req_id(item.get("id"), "id")
    account = ctx.account_by("account_id", channel_id)
    stats = item.get("statistics") or {}
    hidden = opt_bool(stats.get("hiddenSubscriberCount"), "hiddenSubscriberCount")
    return {
        "creator_id": account["creator_id"],
        "account_id": channel_id,
        "title": opt_str(dig(item, "snippet", "title"), "snippet.title"),
        "custom_url": opt_str(dig(item, "snippet", "customUrl"), "snippet.customUrl"),
        "country": opt_str(dig(item, "snippet", "country"), "snippet.country"),
        # hidden subscribers: followers unknown (NULL), never 0
        "subscriber_count": None
        if hidden
        else opt_int(stats.get("subscriberCount"), "subscriberCount"),
        "hidden_subscriber_count": hidden,
        "view_count": opt_int(stats.get("viewCount"), "viewCount"),
        "video_count": opt_int(stats.get("videoCount"), "videoCount"),
        "uploads_playlist_id": opt_str(
            dig(item, "contentDetails", "relatedPlaylists", "uploads"), "relatedPlaylists.uploads"
        ),
        "published_at": ts_iso(
            dig(item, "snippet", "publishedAt"), "snippet.publishedAt", required=False
        ),
    }


def _video(item: Any, ctx: PageContext) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRecord("video is not an object")
    stats = item.get("statistics") or {}
    return {
        "creator_id": ctx.account["creator_id"],
        "account_id": ctx.account["account_id"],
        "post_id": req_id(item.get("id"), "id"),
        "title": opt_str(dig(item, "snippet", "title"), "snippet.title"),
        "description": opt_str(dig(item, "snippet", "description"), "snippet.description"),
        "tags": str_list(dig(item, "snippet", "tags"), "snippet.tags"),
        "published_at": ts_iso(dig(item, "snippet", "publishedAt"), "snippet.publishedAt"),
        "view_count": opt_int(stats.get("viewCount"), "viewCount"),
        "like_count": opt_int(stats.get("likeCount"), "likeCount"),  # absent: likes hidden
        "comment_count": opt_int(stats.get("commentCount"), "commentCount"),  # absent: off
    }


def _thread(item: Any, ctx: PageContext) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise BadRecord("comment thread is not an object")
    top = dig(item, "snippet", "topLevelComment")
    if not isinstance(top, dict):
        raise BadRecord("missing snippet.topLevelComment")
    snip = top.get("snippet") or {}
    author = dig(snip, "authorChannelId", "value")
    return {
        "creator_id": ctx.account["creator_id"],
        "account_id": ctx.account["account_id"],
        "comment_id": req_id(top.get("id"), "topLevelComment.id"),
        "post_id": req_id(snip.get("videoId") or ctx.context.get("post_id"), "videoId"),
        "text": opt_str(snip.get("textDisplay"), "textDisplay"),  # textOriginal is author-only
        "published_at": ts_iso(snip.get("publishedAt"), "publishedAt"),
        "like_count": opt_int(snip.get("likeCount"), "likeCount"),
        "reply_count": opt_int(dig(item, "snippet", "totalReplyCount"), "totalReplyCount"),
        "author_hash": ctx.hashed(author),
    }


def _listing(body: Any, ctx: PageContext) -> list[Any]:
    items_at(body, "items")  # shape check only: playlist items are a listing, not records
    return []


def _items(body: Any, ctx: PageContext) -> list[Any]:
    return items_at(body, "items", required=False)


SPECS = {
    "channels": EndpointSpec(
        "accounts",
        # subscriberCount is absent only for the few channels hiding it (hiddenSubscriberCount),
        # likeCount only where likes are hidden: absent from most records = a renamed field.
        (
            Section(
                "accounts",
                _items,
                _channel,
                ("statistics.viewCount", "statistics.videoCount", "statistics.subscriberCount"),
            ),
        ),
    ),
    "playlist_items": EndpointSpec("posts", (Section("posts", _listing, _video),)),
    "videos": EndpointSpec(
        "posts",
        (
            Section(
                "posts",
                _items,
                _video,
                ("statistics.viewCount", "statistics.likeCount", "snippet.publishedAt"),
            ),
        ),
    ),
    "comment_threads": EndpointSpec(
        "comments",
        (Section("comments", _items, _thread, ("snippet.topLevelComment.snippet.textDisplay",)),),
    ),
}


class YouTube(Platform):
    name = "youtube"
    auth_param = "key"
    identity_object_fields = ("authorChannelId",)
    identity_fields = ("authorDisplayName", "authorChannelUrl", "authorProfileImageUrl")
    specs = SPECS

    def classify(self, resp: requests.Response, body: Any) -> Retry | None:
        if resp.status_code < 400 and not isinstance(dig(body, "error"), dict):
            return default_classify(resp, body)  # an `error` object fails even a 200
        reasons = _reasons(body)
        message = f"HTTP {resp.status_code} {','.join(sorted(r for r in reasons if r)) or ''}: {error_message(body)}"
        if reasons & QUOTA_REASONS:
            raise QuotaExceeded(message, resp.status_code, "quotaExceeded")
        if "commentsDisabled" in reasons:
            raise CommentsDisabled(message, resp.status_code, "commentsDisabled")
        if reasons & RATE_REASONS:
            return Retry(message)
        if reasons & NOT_FOUND_REASONS:
            raise AccountNotFound(message, resp.status_code, "notFound")
        if resp.status_code < 400:
            raise HttpError(message, resp.status_code)
        return default_classify(resp, body)

    def extract(
        self, s: ExtractSession, entries: list[RosterEntry], config: dict[str, Any]
    ) -> None:
        uploads: dict[str, str] = {}
        for batch in chunks(entries, BATCH):
            s.run_group(batch, lambda b: uploads.update(self._channels(s, b)), final=False)
        s.run_accounts(
            s.pending(entries), lambda e: self._account(s, e, uploads.get(e.account_id or ""))
        )

    def _channels(self, s: ExtractSession, batch: list[RosterEntry]) -> dict[str, str]:
        body = s.fetch(
            "channels",
            batch,
            "GET",
            "/channels",
            params={
                "part": "snippet,statistics,contentDetails",
                "id": ",".join(e.account_id or "" for e in batch),
            },
        )
        found = {}
        for item in dig(body, "items") or []:
            uploads = dig(item, "contentDetails", "relatedPlaylists", "uploads")
            if isinstance(item, dict) and isinstance(uploads, str):
                found[str(item.get("id"))] = uploads
        if body is not None:  # missing ids are simply absent: those channels do not exist
            returned = {str(i.get("id")) for i in dig(body, "items") or [] if isinstance(i, dict)}
            for entry in batch:
                if entry.account_id not in returned:
                    s.fail(
                        entry,
                        f"channel {entry.account_id} not returned by /channels (unknown or deleted)",
                    )
        return found

    def _account(self, s: ExtractSession, entry: RosterEntry, uploads: str | None) -> None:
        if not uploads:
            raise AccountNotFound(f"channel {entry.account_id}: no uploads playlist in /channels")
        start = s.window.posts_start(s.is_first_sight(entry))
        video_ids: list[str] = []
        pages = s.pages(
            "playlist_items",
            [entry],
            "GET",
            "/playlistItems",
            PageToken("pageToken", ("nextPageToken",)),
            params={"part": "contentDetails", "playlistId": uploads, "maxResults": 50},
        )
        for body in pages:
            older = False
            for video_id, published in _uploads(body):
                if published is not None and published <= start:
                    older = True  # newest first: the rest are older than the window
                else:
                    video_ids.append(video_id)
            if older:
                break
        recent = []
        for batch in chunks(list(dict.fromkeys(video_ids)), BATCH):
            body = s.fetch(
                "videos",
                [entry],
                "GET",
                "/videos",
                params={"part": "snippet,statistics", "id": ",".join(batch)},
            )
            recent.extend(_recent_videos(body, s))
        for video_id in recent:
            self._comments(s, entry, video_id)

    def _comments(self, s: ExtractSession, entry: RosterEntry, video_id: str) -> None:
        pages = s.pages(
            "comment_threads",
            [entry],
            "GET",
            "/commentThreads",
            PageToken("pageToken", ("nextPageToken",)),
            params={"part": "snippet", "videoId": video_id, "maxResults": 100, "order": "time"},
            context={"post_id": video_id},
        )
        try:
            take_pages(pages, lambda b: list_len(b, "items"))
        except CommentsDisabled:
            pass  # comments off: none to land, not a failure
        except HttpError as exc:
            if type(exc) is not HttpError:
                raise
            s.warn_once(f"comments unavailable for some videos (first: {video_id}: {exc})")


def _uploads(body: Any) -> list[tuple[str, datetime | None]]:
    out = []
    for item in dig(body, "items") or []:
        video_id = dig(item, "contentDetails", "videoId")
        if not isinstance(video_id, str):
            continue
        try:
            published = ts_iso(
                dig(item, "contentDetails", "videoPublishedAt"), "videoPublishedAt", required=False
            )
        except BadRecord:
            published = None
        out.append((video_id, published))
    return out


def _recent_videos(body: Any, s: ExtractSession) -> list[str]:
    out = []
    for item in dig(body, "items") or []:
        if isinstance(item, dict) and isinstance(item.get("id"), str):
            try:
                published = ts_iso(dig(item, "snippet", "publishedAt"), "publishedAt")
            except BadRecord:
                continue
            if s.window.wants_comments(published):
                out.append(item["id"])
    return out


PLATFORM = YouTube()
