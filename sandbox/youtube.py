"""YouTube Data API v3 simulator: channels, playlistItems, videos, commentThreads.

Counts are JSON strings; hidden subscriber counts, hidden likes and disabled comments are
absent fields (never 0); items of `id=` lookups come in any order and unknown ids are simply
missing; errors are `{"error": {"code", "message", "errors": [{"reason", "domain"}]}}`.
"""

from __future__ import annotations

import html
from typing import Any

from sandbox._rng import mix, str_key
from sandbox.api import (
    ApiError,
    PlatformApi,
    Request,
    Response,
    offset_token,
    parse_offset_token,
    with_records,
)
from sandbox.encoding import b64_hash, iso_z
from sandbox.entities import Account, Post

MAX_IDS = 50
STATUS_TEXT = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    429: "RESOURCE_EXHAUSTED",
    500: "INTERNAL",
    503: "UNAVAILABLE",
}


class YouTubeApi(PlatformApi):
    platform = "youtube"
    prefix = "youtube"

    def authorized(self, req: Request) -> bool:
        return req.query.get("key") == self.token

    def yt_error(
        self, req: Request, status: int, reason: str, message: str, domain: str = "global"
    ) -> Response:
        err = {"message": message, "domain": domain, "reason": reason}
        body = {
            "error": {
                "code": status,
                "message": message,
                "errors": [err],
                "status": STATUS_TEXT.get(status, "UNKNOWN"),
            }
        }
        return Response(status, body)

    def error(self, req: Request, status: int, kind: str, message: str) -> Response:
        reason = {"invalid_params": "invalidParameter"}.get(kind, kind)
        return self.yt_error(req, status, reason, message, "youtube.parameter")

    def unauthorized(self, req: Request) -> Response:
        return self.yt_error(
            req, 401, "keyInvalid", "API key not valid. Please pass a valid API key."
        )

    def fault(self, req: Request, mode: str, variant: float) -> Response | None:
        if mode == "rate_limit":
            if variant < 0.5:
                return self.yt_error(
                    req, 403, "rateLimitExceeded", "Rate Limit Exceeded", "usageLimits"
                )
            return self.yt_error(
                req,
                429,
                "rateLimitExceeded",
                "Resource has been exhausted (e.g. check quota).",
                "usageLimits",
            )
        if mode == "quota":
            return self.yt_error(
                req,
                403,
                "quotaExceeded",
                "The request cannot be completed because you have exceeded your "
                '<a href="/youtube/v3/getting-started#quota">quota</a>.',
                "youtube.quota",
            )
        if mode == "server_error":
            status = (500, 502, 503)[int(variant * 3)]
            if status == 502:
                return Response(502, "<html><body>502 Bad Gateway</body></html>")
            return self.yt_error(
                req,
                status,
                "backendError",
                "Internal error encountered."
                if status == 500
                else "The service is currently unavailable.",
            )
        return None

    def handle(self, req: Request) -> Response:
        if req.method != "GET" or len(req.segments) != 1:
            return self.yt_error(req, 404, "notFound", "Not Found")
        route = {
            "channels": self.channels,
            "playlistItems": self.playlist_items,
            "videos": self.videos,
            "commentThreads": self.comment_threads,
        }.get(req.segments[0])
        if route is None:
            return self.yt_error(req, 404, "notFound", f"Unknown resource {req.segments[0]}")
        return route(req)

    # ---- helpers -------------------------------------------------------------------------
    def parts(self, req: Request, allowed: set[str]) -> set[str]:
        parts = {p.strip() for p in (req.query.get("part") or "").split(",") if p.strip()}
        if not parts:
            raise ApiError(
                self.yt_error(
                    req, 400, "required", "No filter selected. Expected one of: part", "global"
                )
            )
        bad = parts - allowed
        if bad:
            raise ApiError(
                self.yt_error(req, 400, "unknownPart", f"'{sorted(bad)[0]}'", "youtube.part")
            )
        return parts

    def ids(self, req: Request) -> list[str]:
        ids = [i for i in (req.query.get("id") or "").split(",") if i]
        if len(ids) > MAX_IDS:
            raise ApiError(
                self.yt_error(
                    req,
                    400,
                    "invalidParameter",
                    f"The request specifies {len(ids)} ids; at most {MAX_IDS} are allowed.",
                    "youtube.parameter",
                )
            )
        return ids

    def etag(self, req: Request, *keys: int) -> str:
        return b64_hash(27, req.key, *keys)

    def listing(
        self,
        req: Request,
        kind: str,
        items: list,
        per_page: int,
        next_token: str | None = None,
        total: int | None = None,
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"kind": f"youtube#{kind}ListResponse", "etag": self.etag(req, 1)}
        if next_token:
            body["nextPageToken"] = next_token
        body["pageInfo"] = {
            "totalResults": len(items) if total is None else total,
            "resultsPerPage": per_page,
        }
        if items or kind != "channel":
            body["items"] = items  # channels.list omits `items` when nothing matched
        return body

    def any_order(self, req: Request, items: list[dict]) -> list[dict]:
        """Items come back in any order (the API does not promise the request's order)."""
        return sorted(items, key=lambda it: mix(req.key, str_key(it["id"])))

    # ---- endpoints -----------------------------------------------------------------------
    def channels(self, req: Request) -> Response:
        parts = self.parts(req, {"snippet", "statistics", "contentDetails", "id"})
        accs: list[Account] = []
        for cid in self.ids(req):
            acc = self.world.account_by_id("youtube", cid)
            if acc is not None:
                accs.append(acc)
        handle = req.query.get("forHandle")
        if handle:
            acc = self.world.account_by_handle("youtube", handle)
            if acc is not None:
                accs.append(acc)
        items = [self.channel(req, acc, parts) for acc in accs]
        items = self.any_order(req, items)
        body = self.listing(req, "channel", items, 5 if not items else len(items))
        return with_records(Response(200, body), accounts=len(items))

    def channel(self, req: Request, acc: Account, parts: set[str]) -> dict[str, Any]:
        w = self.world
        item: dict[str, Any] = {
            "kind": "youtube#channel",
            "etag": self.etag(req, acc.index),
            "id": acc.platform_id,
        }
        visible = w.visible_count(acc, req.now)
        if "snippet" in parts:
            item["snippet"] = {
                "title": acc.creator.display_name,
                "description": f"{acc.creator.niche} videos every week",
                "customUrl": "@" + acc.handle,
                "publishedAt": iso_z(acc.created_ts),
                "thumbnails": {"default": {"url": f"https://yt3.example/{acc.platform_id}"}},
                "country": acc.creator.country,
            }
        if "contentDetails" in parts:
            item["contentDetails"] = {
                "relatedPlaylists": {"likes": "", "uploads": "UU" + acc.platform_id[2:]}
            }
        if "statistics" in parts:
            subs = 0 if req.glitch else w.followers_on(acc, req.clock)
            stats: dict[str, Any] = {"viewCount": str(int(acc.organic[-1] * 0.35 * visible))}
            if not acc.hidden_subscribers:
                stats["subscriberCount"] = str(subs)
            stats["hiddenSubscriberCount"] = acc.hidden_subscribers
            stats["videoCount"] = str(visible)
            item["statistics"] = stats
        return item

    def playlist_items(self, req: Request) -> Response:
        parts = self.parts(req, {"snippet", "contentDetails", "id", "status"})
        per_page = self.int_param(req, "maxResults", 5, 0, 50)
        pid = req.query.get("playlistId", "")
        acc = self.world.youtube_uploads(pid)
        if acc is None:
            return self.yt_error(
                req,
                404,
                "playlistNotFound",
                "The playlist identified with the request's <code>playlistId</code> parameter "
                "cannot be found.",
                "youtube.playlistItem",
            )
        offset = self.offset(req)
        total = self.world.visible_count(acc, req.now)
        ks = range(total - 1 - offset, max(-1, total - 1 - offset - per_page), -1)
        items = []
        for pos, k in enumerate(ks, start=offset):
            vid = self.world.post_id(acc, k)
            post = self.world.post(acc, k)
            item: dict[str, Any] = {
                "kind": "youtube#playlistItem",
                "etag": self.etag(req, k),
                "id": b64_hash(34, self.world.seed, 41, acc.index, k),
            }
            if "snippet" in parts:
                item["snippet"] = {
                    "publishedAt": iso_z(post.ts),
                    "channelId": acc.platform_id,
                    "title": post.caption.split(" #")[0][:90],
                    "description": post.caption,
                    "playlistId": pid,
                    "position": pos,
                    "resourceId": {"kind": "youtube#video", "videoId": vid},
                }
            if "contentDetails" in parts:
                item["contentDetails"] = {"videoId": vid, "videoPublishedAt": iso_z(post.ts)}
            items.append(item)
        nxt = offset_token("yt", offset + len(items)) if offset + len(items) < total else None
        return Response(200, self.listing(req, "playlistItem", items, per_page, nxt, total))

    def offset(self, req: Request) -> int:
        offset = parse_offset_token("yt", req.query.get("pageToken"))
        if offset is None:
            raise ApiError(
                self.yt_error(
                    req,
                    400,
                    "invalidPageToken",
                    "The request specifies an invalid page token.",
                    "youtube.parameter",
                )
            )
        return offset

    def videos(self, req: Request) -> Response:
        parts = self.parts(req, {"snippet", "statistics", "contentDetails", "id", "status"})
        items = []
        for vid in self.ids(req):
            found = self.world.resolve_post("youtube", vid)
            if found is None or found[0].times[found[1]] >= req.now:
                continue
            acc, k = found
            items.append(self.video(req, acc, self.world.post(acc, k), vid, parts))
        items = self.any_order(req, items)
        body = self.listing(req, "video", items, len(items))
        return with_records(Response(200, body), posts=len(items))

    def video(self, req: Request, acc: Account, post: Post, vid: str, parts: set[str]) -> dict:
        item: dict[str, Any] = {"kind": "youtube#video", "etag": self.etag(req, post.k), "id": vid}
        if "snippet" in parts:
            snippet: dict[str, Any] = {
                "publishedAt": iso_z(post.ts),
                "channelId": acc.platform_id,
                "title": post.caption.split(" #")[0][:90],
                "description": post.caption,
                "thumbnails": {"default": {"url": f"https://i.ytimg.example/{vid}.jpg"}},
                "channelTitle": acc.creator.display_name,
                "categoryId": "22",
                "liveBroadcastContent": "none",
            }
            if post.tags:
                snippet["tags"] = list(post.tags)
            item["snippet"] = snippet
        if "contentDetails" in parts:
            item["contentDetails"] = {"duration": f"PT{2 + post.k % 15}M{post.k % 60}S"}
        if "statistics" in parts:
            m = self.world.metrics(post, req.now)
            stats = {"viewCount": str(m.views)}
            if not post.hide_likes:
                stats["likeCount"] = str(m.likes)
            stats["favoriteCount"] = "0"
            if not post.comments_off:
                stats["commentCount"] = str(m.comments)
            item["statistics"] = stats
        return item

    def comment_threads(self, req: Request) -> Response:
        self.parts(req, {"snippet", "replies", "id"})
        per_page = self.int_param(req, "maxResults", 20, 1, 100)
        vid = req.query.get("videoId", "")
        found = self.world.resolve_post("youtube", vid)
        if found is None or found[0].times[found[1]] >= req.now:
            return self.yt_error(
                req,
                404,
                "videoNotFound",
                "The video identified by the <code>videoId</code> parameter could not be found.",
                "youtube.commentThread",
            )
        acc, k = found
        post = self.world.post(acc, k)
        if post.comments_off:
            return self.yt_error(
                req,
                403,
                "commentsDisabled",
                'The video identified by the <code><a href="/youtube/v3/docs/commentThreads/'
                'list#videoId">videoId</a></code> parameter has disabled comments.',
                "youtube.commentThread",
            )
        offset = self.offset(req)
        page, total = self.world.comments_page(acc, post, req.now, offset, per_page)
        items = [self.thread(req, acc, post, vid, c) for c in page]
        nxt = offset_token("yt", offset + len(items)) if offset + len(items) < total else None
        body = self.listing(req, "commentThread", items, per_page, nxt)
        return with_records(Response(200, body), comments=len(items))

    def thread(self, req: Request, acc: Account, post: Post, vid: str, c: Any) -> dict:
        cid = self.world.comment_id(acc, post.k, c.j)
        author = "UC" + b64_hash(22, self.world.seed, 40, c.author)
        inner: dict[str, Any] = {
            "channelId": acc.platform_id,
            "videoId": vid,
            "textDisplay": html.escape(c.text, quote=False).replace("\n", "<br>"),
            "authorDisplayName": f"@user{c.author}",
            "authorProfileImageUrl": f"https://yt3.example/{author}",
            "authorChannelUrl": f"http://www.youtube.com/channel/{author}",
            "authorChannelId": {"value": author},
            "canRate": True,
            "viewerRating": "none",
            "likeCount": c.like_count,
            "publishedAt": iso_z(c.ts),
            "updatedAt": iso_z(c.ts),
        }
        if c.j % 2 == 0:  # textOriginal is only guaranteed to the comment's author
            inner["textOriginal"] = c.text
        return {
            "kind": "youtube#commentThread",
            "etag": self.etag(req, c.j),
            "id": cid,
            "snippet": {
                "channelId": acc.platform_id,
                "videoId": vid,
                "topLevelComment": {
                    "kind": "youtube#comment",
                    "etag": self.etag(req, c.j, 1),
                    "id": cid,
                    "snippet": inner,
                },
                "canReply": True,
                "totalReplyCount": c.reply_count,
                "isPublic": True,
            },
        }
