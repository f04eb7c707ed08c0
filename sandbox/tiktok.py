"""TikTok Research API simulator: user info, video query, comment list.

Every response is the envelope `{"data": {...}, "error": {"code", "message", "log_id"}}`;
a non-"ok" code is an error even with HTTP 200 (clients must check it). Auth: Bearer token.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from sandbox._rng import mix, str_key
from sandbox.api import PlatformApi, Request, Response, with_records
from sandbox.encoding import day_start
from sandbox.entities import Account, Post

USER_FIELDS = (
    "display_name",
    "bio_description",
    "avatar_url",
    "is_verified",
    "follower_count",
    "following_count",
    "likes_count",
    "video_count",
    "bio_url",
)
VIDEO_FIELDS = (
    "id",
    "create_time",
    "username",
    "region_code",
    "video_description",
    "view_count",
    "like_count",
    "comment_count",
    "share_count",
    "hashtag_names",
    "music_id",
    "video_duration",
    "favorites_count",
)
COMMENT_FIELDS = (
    "id",
    "video_id",
    "text",
    "like_count",
    "reply_count",
    "parent_comment_id",
    "create_time",
)
MAX_RANGE_DAYS = 30
MAX_FIELD_VALUES = 100  # values of one query condition (the client sends up to 100 usernames)


class TikTokApi(PlatformApi):
    platform = "tiktok"
    prefix = "tiktok"

    def authorized(self, req: Request) -> bool:
        return self.bearer_ok(req)

    def envelope(
        self, req: Request, status: int, data: Any, code: str = "ok", message: str = ""
    ) -> Response:
        log_id = req.clock.strftime("%Y%m%d") + f"{mix(req.key, 7):016X}"[:16]
        return Response(
            status, {"data": data, "error": {"code": code, "message": message, "log_id": log_id}}
        )

    def error(self, req: Request, status: int, kind: str, message: str) -> Response:
        code = "internal_error" if status >= 500 else "invalid_params"
        return self.envelope(req, status, {}, code, message)

    def unauthorized(self, req: Request) -> Response:
        return self.envelope(
            req,
            401,
            {},
            "access_token_invalid",
            "The access token is invalid or not found in the request.",
        )

    def fault(self, req: Request, mode: str, variant: float) -> Response | None:
        if mode == "rate_limit":
            # The Research API documents no per-window limit (its 429 `rate_limit_exceeded`
            # is the daily quota: see sandbox/quotas.py); "slow down, retry" is its 503.
            resp = self.envelope(
                req, 503, {}, "service_unavailable", "Service busy, please retry later."
            )
            resp.headers["Retry-After"] = "1"
            return resp
        if mode == "quota":
            return self.envelope(
                req,
                429,
                {},
                "daily_quota_limit_exceeded",
                "Daily quota of 1000 requests / 100000 records exceeded; resets at 00:00 UTC.",
            )
        if mode == "server_error":
            status = (500, 502, 503)[int(variant * 3)]
            resp = self.envelope(
                req, status, {}, "internal_error", "Something went wrong. Please try again later."
            )
            if status == 503:
                resp.headers["Retry-After"] = "1"
            return resp
        return None

    def handle(self, req: Request) -> Response:
        path = "/".join(req.segments)
        if req.method != "POST":
            return self.error(req, 405, "invalid_params", f"{req.method} is not allowed; use POST")
        if path == "v2/research/user/info":
            return self.user_info(req)
        if path == "v2/research/video/query":
            return self.video_query(req)
        if path == "v2/research/video/comment/list":
            return self.comment_list(req)
        return self.error(req, 404, "invalid_params", f"unknown endpoint /{path}/")

    # ---- helpers -------------------------------------------------------------------------
    def fields(self, req: Request, allowed: tuple[str, ...]) -> list[str]:
        names = [f for f in (req.query.get("fields") or "").split(",") if f]
        if not names:
            raise self.fail(req, 400, "invalid_params", "the fields query parameter is required")
        bad = [f for f in names if f not in allowed]
        if bad:
            raise self.fail(req, 400, "invalid_params", f"invalid fields: {', '.join(bad)}")
        return names

    def body(self, req: Request) -> dict[str, Any]:
        if not isinstance(req.body, dict):
            raise self.fail(req, 400, "invalid_params", "the request body must be a JSON object")
        return req.body

    def int_field(self, req: Request, body: dict, name: str, default: int, hi: int) -> int:
        value = body.get(name, default)
        if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= hi:
            raise self.fail(req, 400, "invalid_params", f"{name} must be an integer 0..{hi}")
        return value

    # ---- endpoints -----------------------------------------------------------------------
    def user_info(self, req: Request) -> Response:
        names = self.fields(req, USER_FIELDS)
        username = self.body(req).get("username")
        if not isinstance(username, str) or not username:
            return self.error(req, 400, "invalid_params", "body.username is required")
        acc = self.world.account_by_handle("tiktok", username)
        if acc is None:
            return self.error(
                req, 404, "invalid_params", f"user {username} does not exist or is private"
            )
        w = self.world
        visible = w.visible_count(acc, req.now)
        followers = 0 if req.glitch else w.followers_on(acc, req.clock)
        full = {
            "display_name": acc.creator.display_name,
            "bio_description": f"{acc.creator.niche} | {acc.creator.country}",
            "avatar_url": f"https://p16.example/{acc.handle}.jpeg",
            "is_verified": acc.verified,
            "follower_count": followers,
            "following_count": acc.following,
            "likes_count": int(acc.organic[-1] * acc.er * visible * 0.7),
            "video_count": visible,
            "bio_url": "",
        }
        return with_records(self.envelope(req, 200, {n: full[n] for n in names}), accounts=1)

    def video_query(self, req: Request) -> Response:
        names = self.fields(req, VIDEO_FIELDS)
        body = self.body(req)
        start, end = self.window(req, body)
        max_count = self.int_field(req, body, "max_count", 20, 100)
        cursor = self.int_field(req, body, "cursor", 0, 10**9)
        usernames, hashtags, regions = self.conditions(req, body.get("query"))
        sid = str(str_key(f"{sorted(usernames)}{sorted(hashtags)}{sorted(regions)}{start}{end}"))
        if cursor > 0 and str(body.get("search_id", "")) != sid:
            return self.error(
                req,
                400,
                "invalid_params",
                "search_id must be the one returned by the previous page",
            )
        lo = day_start(start)
        hi = min(req.now, lo + ((end - start).days + 1) * 86400)
        found: list[tuple[int, Account, Post]] = []
        for name in usernames:
            acc = self.world.account_by_handle("tiktok", name)
            if acc is None:
                continue
            for k in range(self.world.visible_count(acc, hi) - 1, -1, -1):
                if acc.times[k] < lo:
                    break
                post = self.world.post(acc, k)
                if hashtags and not hashtags & {t.lower() for t in post.tags}:
                    continue
                if regions and acc.creator.country not in regions:
                    continue
                found.append((post.ts, acc, post))
        found.sort(key=lambda t: (-t[0], t[1].index))
        page = found[cursor : cursor + max_count]
        videos = [self.video(req, acc, post, names) for _, acc, post in page]
        data = {
            "videos": videos,
            "cursor": cursor + len(videos),
            "has_more": cursor + len(videos) < len(found),
            "search_id": sid,
        }
        return with_records(self.envelope(req, 200, data), posts=len(videos))

    def window(self, req: Request, body: dict) -> tuple[date, date]:
        try:
            start = datetime.strptime(str(body["start_date"]), "%Y%m%d").date()
            end = datetime.strptime(str(body["end_date"]), "%Y%m%d").date()
        except (KeyError, ValueError):
            raise self.fail(
                req, 400, "invalid_params", "start_date and end_date are required as YYYYMMDD"
            ) from None
        if end < start:
            raise self.fail(req, 400, "invalid_params", "end_date must not be before start_date")
        if end - start > timedelta(days=MAX_RANGE_DAYS):
            raise self.fail(
                req,
                400,
                "invalid_params",
                f"end_date must be no more than {MAX_RANGE_DAYS} days after start_date",
            )
        return start, end

    def conditions(self, req: Request, query: Any) -> tuple[set[str], set[str], set[str]]:
        if not isinstance(query, dict):
            raise self.fail(req, 400, "invalid_params", "body.query is required")
        users: set[str] = set()
        tags: set[str] = set()
        regions: set[str] = set()
        for cond in query.get("and") or []:
            if not isinstance(cond, dict) or cond.get("operation") not in ("EQ", "IN"):
                raise self.fail(
                    req, 400, "invalid_params", "query conditions need operation EQ or IN"
                )
            values = [str(v) for v in cond.get("field_values") or []]
            if len(values) > MAX_FIELD_VALUES:
                raise self.fail(
                    req,
                    400,
                    "invalid_params",
                    f"field_values holds at most {MAX_FIELD_VALUES} values",
                )
            target = {"username": users, "hashtag_name": tags, "region_code": regions}.get(
                cond.get("field_name", "")
            )
            if target is None:
                raise self.fail(
                    req, 400, "invalid_params", f"unsupported field_name {cond.get('field_name')!r}"
                )
            target.update(v.lower() if target is tags else v for v in values)
        if not users:
            raise self.fail(
                req,
                400,
                "invalid_params",
                "the sandbox needs a username EQ/IN condition in query.and",
            )
        return users, tags, regions

    def video(self, req: Request, acc: Account, post: Post, names: list[str]) -> dict[str, Any]:
        m = self.world.metrics(post, req.now)
        full = {
            "id": int(self.world.post_id(acc, post.k)),
            "create_time": post.ts,
            "username": acc.handle,
            "region_code": acc.creator.country,
            "video_description": post.caption,
            "view_count": m.views,
            "like_count": m.likes,
            "comment_count": m.comments,
            "share_count": m.shares,
            "hashtag_names": [t.lower() for t in post.tags],
            "music_id": 6_800_000_000_000_000_000 + post.k,
            "video_duration": 8 + post.k % 50,
            "favorites_count": m.saves,
        }
        return {n: full[n] for n in names}

    def comment_list(self, req: Request) -> Response:
        names = self.fields(req, COMMENT_FIELDS)
        body = self.body(req)
        max_count = self.int_field(req, body, "max_count", 10, 100)
        cursor = self.int_field(req, body, "cursor", 0, 10**9)
        vid = body.get("video_id")
        found = self.world.resolve_post("tiktok", str(vid)) if vid is not None else None
        if found is None or found[0].times[found[1]] >= req.now:
            return self.error(req, 404, "invalid_params", f"video {vid} not found")
        acc, k = found
        post = self.world.post(acc, k)
        page, total = self.world.comments_page(acc, post, req.now, cursor, max_count)
        comments = []
        for c in page:
            full = {
                "id": int(self.world.comment_id(acc, k, c.j)),
                "video_id": int(self.world.post_id(acc, k)),
                "text": c.text,
                "like_count": c.like_count,
                "reply_count": c.reply_count,
                "parent_comment_id": int(self.world.post_id(acc, k)),
                "create_time": c.ts,
            }
            comments.append({n: full[n] for n in names})
        data = {
            "comments": comments,
            "cursor": cursor + len(comments),
            "has_more": cursor + len(comments) < total,
        }
        return with_records(self.envelope(req, 200, data), comments=len(comments))
