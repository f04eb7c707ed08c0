"""X API v2 simulator: users/by, users/:id/tweets, tweets/search/recent.

Unknown users come back in `errors[]` with HTTP 200; paging is `meta.next_token`; recent
search only covers the last 7 days; errors use the v2 problem shape
(`{"title", "detail", "type", "status"}`); every response carries x-rate-limit-* headers.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from sandbox.api import (
    PlatformApi,
    Request,
    Response,
    offset_token,
    parse_offset_token,
    with_records,
)
from sandbox.encoding import X_AUTHOR_BASE, iso_z
from sandbox.entities import Account, Comment, Post

MAX_USERNAMES = 100
SEARCH_WINDOW_S = 7 * 86400
USER_FIELDS = {
    "created_at",
    "description",
    "verified",
    "public_metrics",
    "profile_image_url",
    "location",
    "protected",
    "url",
    "verified_type",
}
TWEET_FIELDS = {
    "created_at",
    "public_metrics",
    "conversation_id",
    "entities",
    "author_id",
    "lang",
    "in_reply_to_user_id",
    "possibly_sensitive",
}
PROBLEM = "https://api.twitter.com/2/problems/"
_CONVERSATION = re.compile(r"conversation_id:(\d+)")


class XApi(PlatformApi):
    platform = "x"
    prefix = "x"

    def authorized(self, req: Request) -> bool:
        return self.bearer_ok(req)

    def limit_headers(self, remaining: int, reset_in: int) -> dict[str, str]:
        """x-rate-limit-* headers; reset is real Unix seconds (clients compare with now)."""
        return {
            "x-rate-limit-limit": "900",
            "x-rate-limit-remaining": str(remaining),
            "x-rate-limit-reset": str(int(time.time()) + reset_in),
        }

    def problem(
        self, status: int, title: str, detail: str, ptype: str = "about:blank", **extra: Any
    ) -> Response:
        body = {"title": title, "detail": detail, "type": ptype, "status": status}
        body.update(extra)
        return Response(status, body, headers=self.limit_headers(899, 900))

    def error(self, req: Request, status: int, kind: str, message: str) -> Response:
        if status == 404:
            return self.problem(404, "Not Found", message)
        if status >= 500:
            return self.problem(status, "Internal Server Error", message)
        return self.problem(
            status,
            "Invalid Request",
            "One or more parameters to your request was invalid.",
            PROBLEM + "invalid-request",
            errors=[{"parameters": {}, "message": message}],
        )

    def unauthorized(self, req: Request) -> Response:
        return self.problem(401, "Unauthorized", "Unauthorized")

    def fault(self, req: Request, mode: str, variant: float) -> Response | None:
        if mode == "rate_limit":
            resp = self.problem(429, "Too Many Requests", "Too Many Requests")
            resp.headers.update(self.limit_headers(0, 1 + int(variant * 2)))
            return resp
        if mode == "quota":
            now = datetime.now(UTC)
            midnight = int(now.replace(hour=0, minute=0, second=0, microsecond=0).timestamp())
            resp = self.problem(
                429,
                "UsageCapExceeded",
                "Usage cap exceeded: Daily project cap",
                PROBLEM + "usage-capped",
                period="Daily",
                scope="Product",
            )
            resp.headers.update(self.limit_headers(0, midnight + 86400 - int(now.timestamp())))
            return resp
        if mode == "server_error":
            status = (500, 502, 503)[int(variant * 3)]
            title = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}[
                status
            ]
            return self.problem(status, title, title)
        if mode == "no_comment_access" and req.segments[:3] == ["2", "tweets", "search"]:
            return self.forbidden_search()
        return None

    def forbidden_search(self) -> Response:
        return self.problem(
            403,
            "Client Forbidden",
            "When authenticating requests to the Twitter API v2 endpoints, you must use keys "
            "and tokens from a Twitter developer App that is attached to a Project with the "
            "appropriate access level (recent search needs a paid tier).",
            PROBLEM + "client-forbidden",
            reason="client-not-enrolled",
            required_enrollment="Appropriate Level of API Access",
            registration_url="https://developer.x.com/en/portal/product",
        )

    def handle(self, req: Request) -> Response:
        seg = req.segments
        if req.method != "GET":
            return self.problem(405, "Method Not Allowed", f"{req.method} is not allowed")
        if seg == ["2", "users", "by"]:
            return self.users_by(req)
        if len(seg) == 4 and seg[:2] == ["2", "users"] and seg[3] == "tweets":
            return self.user_tweets(req, seg[2])
        if seg == ["2", "tweets", "search", "recent"]:
            return self.search_recent(req)
        return self.problem(404, "Not Found", f"no route /{'/'.join(seg)}")

    def ok(self, body: dict[str, Any], **records: int) -> Response:
        return with_records(Response(200, body, headers=self.limit_headers(880, 900)), **records)

    def fields(self, req: Request, param: str, allowed: set[str]) -> list[str]:
        names = [f for f in (req.query.get(param) or "").split(",") if f]
        bad = [f for f in names if f not in allowed]
        if bad:
            raise self.fail(
                req,
                400,
                "invalid",
                f"The `{param}` query parameter value [{bad[0]}] is not one of {sorted(allowed)}",
            )
        return names

    def time_param(self, req: Request, name: str) -> int | None:
        raw = req.query.get(name)
        if not raw:
            return None
        try:
            dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
            return int((dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp())
        except ValueError:
            raise self.fail(
                req,
                400,
                "invalid",
                f"Invalid '{name}':'{raw}'. '{name}' must be a valid RFC 3339 date-time",
            ) from None

    # ---- endpoints -----------------------------------------------------------------------
    def users_by(self, req: Request) -> Response:
        names = [u for u in (req.query.get("usernames") or "").split(",") if u]
        if not names or len(names) > MAX_USERNAMES:
            return self.error(
                req,
                400,
                "invalid",
                f"The `usernames` query parameter needs 1 to {MAX_USERNAMES} "
                f"comma-separated names (got {len(names)})",
            )
        fields = self.fields(req, "user.fields", USER_FIELDS)
        data, errors = [], []
        for name in names:
            acc = self.world.account_by_handle("x", name)
            if acc is None:
                errors.append(
                    {
                        "value": name,
                        "detail": f"Could not find user with usernames: [{name}].",
                        "title": "Not Found Error",
                        "resource_type": "user",
                        "parameter": "usernames",
                        "resource_id": name,
                        "type": PROBLEM + "resource-not-found",
                    }
                )
                continue
            data.append(self.user(req, acc, fields))
        body: dict[str, Any] = {}
        if data:
            body["data"] = data
        if errors:
            body["errors"] = errors
        return self.ok(body, accounts=len(data))

    def user(self, req: Request, acc: Account, fields: list[str]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": acc.platform_id,
            "name": acc.creator.display_name,
            "username": acc.handle,
        }
        followers = 0 if req.glitch else self.world.followers_on(acc, req.clock)
        full = {
            "created_at": iso_z(acc.created_ts, millis=True),
            "description": f"{acc.creator.niche} takes | {acc.creator.country}",
            "verified": acc.verified,
            "public_metrics": {
                "followers_count": followers,
                "following_count": acc.following,
                "tweet_count": self.world.visible_count(acc, req.now),
                "listed_count": acc.organic[-1] // 500,
            },
            "profile_image_url": f"https://pbs.example/{acc.platform_id}.jpg",
            "location": acc.creator.country,
            "protected": False,
            "url": "",
            "verified_type": "blue" if acc.verified else "none",
        }
        out.update({f: full[f] for f in fields})
        return out

    def user_tweets(self, req: Request, user_id: str) -> Response:
        per_page = self.int_param(req, "max_results", 10, 5, 100)
        fields = self.fields(req, "tweet.fields", TWEET_FIELDS)
        acc = self.world.account_by_id("x", user_id)
        if acc is None:
            return self.ok(
                {
                    "errors": [
                        {
                            "value": user_id,
                            "detail": f"Could not find user with id: [{user_id}].",
                            "title": "Not Found Error",
                            "resource_type": "user",
                            "parameter": "id",
                            "resource_id": user_id,
                            "type": PROBLEM + "resource-not-found",
                        }
                    ]
                }
            )
        start = self.time_param(req, "start_time")
        end = self.time_param(req, "end_time")
        hi = req.now if end is None else min(end, req.now)
        ks = []
        for k in range(self.world.visible_count(acc, hi) - 1, -1, -1):
            if start is not None and acc.times[k] < start:
                break
            ks.append(k)
        offset = self.page_offset(req, "pagination_token")
        page = ks[offset : offset + per_page]
        data = [self.tweet(req, acc, self.world.post(acc, k), fields) for k in page]
        nxt = offset + len(page) if offset + len(page) < len(ks) else None
        return self.ok(self.listing(data, nxt), posts=len(data))

    def page_offset(self, req: Request, *names: str) -> int:
        raw = next((req.query[n] for n in names if req.query.get(n)), None)
        offset = parse_offset_token("x", raw)
        if offset is None:
            raise self.fail(req, 400, "invalid", f"Invalid {names[0]}: '{raw}'")
        return offset

    def listing(self, data: list[dict], next_offset: int | None) -> dict[str, Any]:
        meta: dict[str, Any] = {"result_count": len(data)}
        if data:
            meta["newest_id"] = data[0]["id"]
            meta["oldest_id"] = data[-1]["id"]
        if next_offset is not None and data:
            meta["next_token"] = offset_token("x", next_offset)
        body: dict[str, Any] = {"data": data} if data else {}
        body["meta"] = meta
        return body

    def tweet(self, req: Request, acc: Account, post: Post, fields: list[str]) -> dict[str, Any]:
        m = self.world.metrics(post, req.now)
        tid = self.world.post_id(acc, post.k)
        out: dict[str, Any] = {"id": tid, "text": post.caption, "edit_history_tweet_ids": [tid]}
        full: dict[str, Any] = {
            "created_at": iso_z(post.ts, millis=True),
            "conversation_id": tid,
            "author_id": acc.platform_id,
            "lang": acc.creator.language,
            "possibly_sensitive": False,
            "public_metrics": {
                "retweet_count": m.shares * 7 // 10,
                "reply_count": m.comments,
                "like_count": m.likes,
                "quote_count": m.shares - m.shares * 7 // 10,
                "bookmark_count": m.saves,
                "impression_count": m.views,
            },
        }
        tags = []
        for tag in post.tags:
            start = post.caption.find("#" + tag)
            if start >= 0:
                tags.append({"start": start, "end": start + len(tag) + 1, "tag": tag})
        if tags:
            full["entities"] = {"hashtags": tags}
        out.update({f: full[f] for f in fields if f in full})
        return out

    def search_recent(self, req: Request) -> Response:
        query = req.query.get("query") or ""
        m = _CONVERSATION.search(query)
        if not m:
            return self.error(
                req,
                400,
                "invalid",
                "The sandbox answers `conversation_id:<id> is:reply` queries only",
            )
        per_page = self.int_param(req, "max_results", 10, 10, 100)
        fields = self.fields(req, "tweet.fields", TWEET_FIELDS)
        floor = req.now - SEARCH_WINDOW_S
        start = self.time_param(req, "start_time")
        if start is not None and start < floor:
            return self.error(
                req,
                400,
                "invalid",
                f"Invalid 'start_time':'{req.query['start_time']}'. 'start_time' must be on or "
                f"after {iso_z(floor)} (recent search covers the last 7 days)",
            )
        offset = self.page_offset(req, "next_token", "pagination_token")
        found = self.world.resolve_post("x", m.group(1))
        if found is None or found[0].times[found[1]] >= req.now:
            return self.ok(self.listing([], None))
        acc, k = found
        post = self.world.post(acc, k)
        lo = max(floor, start or floor)
        total = self.world.comment_total(post, req.now)
        replies: list[Comment] = []
        since = self.since_id(req)
        for j in range(total - 1, -1, -1):  # newest first; stop at the 7-day floor
            c = self.world.comment(acc, post, j)
            if c.ts < lo or (since is not None and int(self.world.comment_id(acc, k, j)) <= since):
                break  # reply ids grow with time: the rest are at or before since_id too
            replies.append(c)
        page = replies[offset : offset + per_page]
        data = [self.reply(acc, post, c, fields) for c in page]
        nxt = offset + len(page) if offset + len(page) < len(replies) else None
        return self.ok(self.listing(data, nxt), comments=len(data))

    def since_id(self, req: Request) -> int | None:
        """`since_id`: only posts with a larger (newer) id."""
        raw = req.query.get("since_id")
        if raw is None:
            return None
        if not raw.isdigit():
            raise self.fail(
                req, 400, "invalid", f"The `since_id` query parameter value [{raw}] is not valid"
            )
        return int(raw)

    def reply(self, acc: Account, post: Post, c: Comment, fields: list[str]) -> dict[str, Any]:
        rid = self.world.comment_id(acc, post.k, c.j)
        out: dict[str, Any] = {
            "id": rid,
            "text": f"@{acc.handle} {c.text}",
            "edit_history_tweet_ids": [rid],
        }
        full: dict[str, Any] = {
            "created_at": iso_z(c.ts, millis=True),
            "author_id": str(X_AUTHOR_BASE + c.author),
            "conversation_id": self.world.post_id(acc, post.k),
            "in_reply_to_user_id": acc.platform_id,
            "lang": c.language,
            "possibly_sensitive": False,
            "public_metrics": {
                "retweet_count": 0,
                "reply_count": c.reply_count,
                "like_count": c.like_count,
                "quote_count": 0,
                "bookmark_count": 0,
                "impression_count": c.like_count * 20 + 5,
            },
        }
        out.update({f: full[f] for f in fields if f in full})
        return out
