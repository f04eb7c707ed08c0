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
    FieldMap,
    PageContext,
    at_path,
    count,
    derived,
    flag,
    from_roster,
    ident,
    iso_time,
    items_at,
    opt_bool,
    opt_int,
    opt_str,
    req_id,
    single,
    text,
    texts,
    ts_iso,
)
from ingestion.platforms.base import (
    ExtractSession,
    Platform,
    ids_wanting_comments,
    list_len,
    take_pages,
)
from ingestion.records import I64, STR
from ingestion.roster import RosterEntry

BATCH = 50
# Accounts whose videos are batched together: a last, part-filled /videos call per wave
# costs at most 1/WAVE unit an account; a quota stop leaves at most one wave unlanded.
WAVE = 50
QUOTA_REASONS = {"quotaExceeded", "dailyLimitExceeded"}
RATE_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
NOT_FOUND_REASONS = {"channelNotFound", "playlistNotFound", "videoNotFound"}
HIDDEN = "statistics.hiddenSubscriberCount"
SUBSCRIBERS = "statistics.subscriberCount"
TOP = "snippet.topLevelComment.snippet"


def _reasons(body: Any) -> set[str]:
    errors = dig(body, "error", "errors")
    return (
        {e.get("reason") for e in errors if isinstance(e, dict)}
        if isinstance(errors, list)
        else set()
    )


def _channel_owner(item: dict[str, Any], ctx: PageContext) -> str:
    """The creator of the roster account this channel of a batch answer was asked for."""
    return ctx.account_by("account_id", req_id(item.get("id"), "id"))["creator_id"]


def _subscribers(item: dict[str, Any], ctx: PageContext) -> int | None:
    """Hidden subscribers: followers unknown (NULL), never 0."""
    hidden = opt_bool(at_path(item, HIDDEN), HIDDEN)
    return None if hidden else opt_int(at_path(item, SUBSCRIBERS), SUBSCRIBERS)


def _thread_check(item: dict[str, Any]) -> None:
    if not isinstance(at_path(item, "snippet.topLevelComment"), dict):
        raise BadRecord("missing snippet.topLevelComment")


def _thread_video(item: dict[str, Any], ctx: PageContext) -> str:
    video = at_path(item, f"{TOP}.videoId") or ctx.context.get("post_id")
    return req_id(video, "videoId")


def _author(item: dict[str, Any], ctx: PageContext) -> str | None:
    return ctx.hashed(at_path(item, f"{TOP}.authorChannelId.value"))


# --- field maps: API field -> record column -------------------------------------------

CHANNEL = FieldMap(
    "channel",
    (
        derived("creator_id", STR, _channel_owner),
        ident("account_id"),
        text("title", "snippet.title"),
        text("custom_url", "snippet.customUrl"),
        text("country", "snippet.country"),
        derived("subscriber_count", I64, _subscribers),
        flag("hidden_subscriber_count", HIDDEN),
        count("view_count", "statistics.viewCount"),
        count("video_count", "statistics.videoCount"),
        text("uploads_playlist_id", "contentDetails.relatedPlaylists.uploads"),
        # when the channel was created: a new voice's start on YouTube
        iso_time("published_at", "snippet.publishedAt", required=False),
    ),
)


def _video_account(item: dict[str, Any], ctx: PageContext) -> dict[str, Any]:
    """The roster account a video of a batch (ids of several channels) belongs to."""
    if len(ctx.accounts) == 1:
        return ctx.account
    return ctx.account_by("account_id", opt_str(at_path(item, "snippet.channelId"), "channelId"))


VIDEO = FieldMap(
    "video",
    (
        derived("creator_id", STR, lambda v, c: _video_account(v, c)["creator_id"]),
        derived("account_id", STR, lambda v, c: _video_account(v, c)["account_id"]),
        ident("post_id"),
        text("title", "snippet.title"),
        text("description", "snippet.description"),
        texts("tags", "snippet.tags"),
        iso_time("published_at", "snippet.publishedAt"),
        count("view_count", "statistics.viewCount"),
        count("like_count", "statistics.likeCount"),  # absent: likes hidden
        count("comment_count", "statistics.commentCount"),  # absent: comments off
    ),
)
COMMENT_THREAD = FieldMap(
    "comment thread",
    (
        from_roster("creator_id"),
        from_roster("account_id"),
        ident("comment_id", "snippet.topLevelComment.id"),
        derived("post_id", STR, _thread_video),
        text("text", f"{TOP}.textDisplay"),  # textOriginal is author-only
        iso_time("published_at", f"{TOP}.publishedAt"),
        count("like_count", f"{TOP}.likeCount"),
        count("reply_count", "snippet.totalReplyCount"),
        derived("author_hash", STR, _author),
    ),
    check=_thread_check,
)
FIELDS = {"accounts": CHANNEL, "posts": VIDEO, "comments": COMMENT_THREAD}


def _listing(body: Any, ctx: PageContext) -> list[Any]:
    items_at(body, "items")  # shape check only: playlist items are a listing, not records
    return []


def _items(body: Any, ctx: PageContext) -> list[Any]:
    return items_at(body, "items", required=False)


SPECS = {
    # subscriberCount is absent only for the few channels hiding it (hiddenSubscriberCount),
    # likeCount only where likes are hidden: absent from most records = a renamed field.
    "channels": single(
        "accounts",
        _items,
        CHANNEL,
        ("statistics.viewCount", "statistics.videoCount", "statistics.subscriberCount"),
    ),
    "playlist_items": single("posts", _listing, VIDEO),
    "videos": single(
        "posts",
        _items,
        VIDEO,
        ("statistics.viewCount", "statistics.likeCount", "snippet.publishedAt"),
    ),
    "comment_threads": single("comments", _items, COMMENT_THREAD, (f"{TOP}.textDisplay",)),
}


class YouTube(Platform):
    name = "youtube"
    auth_param = "key"
    identity_object_fields = ("authorChannelId",)
    identity_fields = ("authorDisplayName", "authorChannelUrl", "authorProfileImageUrl")
    specs = SPECS
    fields = FIELDS
    comment_count_column = "comment_count"

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
        """Channels in batches of 50; then, a wave of accounts at a time: each channel's
        uploads, the wave's videos in batches of 50 ids (the documented maximum, across
        channels), each account's comments. An account lands when its comments are done,
        so a quota stop leaves at most one wave unlanded."""
        uploads: dict[str, str] = {}
        for batch in chunks(entries, BATCH):
            s.run_group(batch, lambda b: uploads.update(self._channels(s, b)), final=False)
        for wave in chunks(s.outcomes.pending(entries), WAVE):
            self._wave(s, wave, uploads)

    def _wave(self, s: ExtractSession, wave: list[RosterEntry], uploads: dict[str, str]) -> None:
        listed: dict[str, list[str]] = {}
        s.run_accounts(
            wave,
            lambda e: listed.update({e.key: self._uploads(s, e, uploads.get(e.account_id or ""))}),
            final=False,
        )
        recent: dict[str, list[str]] = {}
        pending = s.outcomes.pending([e for e in wave if e.key in listed])
        s.run_groups(
            [
                (_accounts_of(owners), lambda g, o=owners: self._videos(s, g, o, recent))
                for owners in video_batches(pending, listed)
            ],
            final=False,
        )
        s.run_accounts(
            s.outcomes.pending(pending),
            lambda e: self._all_comments(s, e, recent.get(e.key, [])),
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

    def _uploads(self, s: ExtractSession, entry: RosterEntry, uploads: str | None) -> list[str]:
        """The ids of the channel's videos in the posts window (uploads, newest first)."""
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
        return list(dict.fromkeys(video_ids))

    def _videos(
        self,
        s: ExtractSession,
        group: list[RosterEntry],
        owners: dict[str, RosterEntry],
        recent: dict[str, list[str]],
    ) -> None:
        """One /videos call for up to 50 ids of the group's channels; notes which videos
        want their comments asked for, per account."""
        body = s.fetch(
            "videos",
            group,
            "GET",
            "/videos",
            params={"part": "snippet,statistics", "id": ",".join(owners)},
        )
        for video_id in _recent_videos(body, s):
            entry = owners.get(video_id)
            if entry is not None:
                recent.setdefault(entry.key, []).append(video_id)

    def _all_comments(self, s: ExtractSession, entry: RosterEntry, video_ids: list[str]) -> None:
        for video_id in video_ids:
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
        newest = s.history.newest_time(video_id)
        try:
            # order=time lists newest first: a page reaching the newest landed comment ends it
            take_pages(pages, lambda b: list_len(b, "items"), stop=lambda b: _reaches(b, newest))
        except CommentsDisabled:
            pass  # comments off: none to land, not a failure
        except HttpError as exc:
            if type(exc) is not HttpError:
                raise
            s.outcomes.warn_once(f"comments unavailable for some videos (first: {video_id}: {exc})")


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
    return ids_wanting_comments(
        dig(body, "items"),
        s.window,
        lambda v: ts_iso(dig(v, "snippet", "publishedAt"), "publishedAt"),
        comment_count=_comment_count,
        history=s.history,
    )


def _comment_count(video: dict[str, Any]) -> Any:
    """`commentCount` is absent when comments are off (documented): nothing to list."""
    stats = video.get("statistics")
    return stats.get("commentCount", 0) if isinstance(stats, dict) else None


def _reaches(body: Any, newest: datetime | None) -> bool:
    """Whether a newest-first comment page holds a comment at or before `newest`."""
    if newest is None:
        return False
    for item in dig(body, "items") or []:
        try:
            when = ts_iso(at_path(item, f"{TOP}.publishedAt"), "publishedAt")
        except BadRecord:
            continue
        if when is not None and when <= newest:
            return True
    return False


def video_batches(
    entries: list[RosterEntry], listed: dict[str, list[str]]
) -> list[dict[str, RosterEntry]]:
    """The accounts' video ids packed into /videos calls of at most 50 ids, across
    channels: per call, video id -> the account it was listed for."""
    pairs = [(v, e) for e in entries for v in listed.get(e.key, [])]
    return [dict(chunk) for chunk in chunks(pairs, BATCH)]


def _accounts_of(owners: dict[str, RosterEntry]) -> list[RosterEntry]:
    return list({e.key: e for e in owners.values()}.values())


PLATFORM = YouTube()
