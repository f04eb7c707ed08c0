"""Meta Graph API simulators: Instagram (Business Discovery, insights, comments) and
Facebook Pages (page, posts, comments). Both speak Graph: `access_token` query parameter,
field expansion (`fields=a,b.limit(5){c}`), cursor paging with `paging.next` URLs that carry
the access token (clients must redact it), and `{"error": {...}}` bodies.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

from sandbox.api import (
    ApiError,
    PlatformApi,
    Request,
    Response,
    offset_token,
    parse_offset_token,
    trace_id,
)
from sandbox.encoding import iso_graph
from sandbox.entities import Account, Post
from sandbox.profiles import SANDBOX_IG_USER_ID

# Meta answers rate limiting with HTTP 400 (sometimes 403) and the meaning in `error.code`
# (4, 17, 32, 613): clients must read the code, not just the status.
GRAPH_RATE_LIMIT_STATUS = 400
RATE_LIMIT_CODES = (
    (4, "Application request limit reached"),
    (17, "User request limit reached"),
    (32, "Page request limit reached"),
    (613, "Calls to this api have exceeded the rate limit."),
)
DEPRECATED_IG_METRICS = ("impressions", "plays", "video_views")
IG_MEDIA_METRICS = ("views", "reach", "saved", "shares", "total_interactions", "likes", "comments")
MAX_RANGE_DAYS = 90


@dataclass
class FieldNode:
    """One item of a Graph `fields` expression: name, modifiers (`limit(5)`), sub-fields."""

    name: str
    modifiers: dict[str, str] = field(default_factory=dict)
    children: list[FieldNode] | None = None

    def child(self, name: str) -> FieldNode | None:
        return next((c for c in self.children or [] if c.name == name), None)


def parse_fields(expr: str) -> list[FieldNode]:
    """Parse Graph field expansion syntax; ValueError with the position on bad input."""
    nodes, pos = _parse_list(expr, 0)
    if pos != len(expr):
        raise ValueError(f"unexpected {expr[pos]!r} at position {pos} of fields")
    return nodes


def _parse_list(s: str, pos: int) -> tuple[list[FieldNode], int]:
    nodes: list[FieldNode] = []
    while True:
        node, pos = _parse_item(s, pos)
        nodes.append(node)
        if pos < len(s) and s[pos] == ",":
            pos += 1
            continue
        return nodes, pos


_IDENT = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*")


def _parse_item(s: str, pos: int) -> tuple[FieldNode, int]:
    m = _IDENT.match(s, pos)
    if not m:
        raise ValueError(f"expected a field name at position {pos} of fields")
    node = FieldNode(m.group(1))
    pos = m.end()
    while pos < len(s) and s[pos] == ".":
        m = _IDENT.match(s, pos + 1)
        if not m or m.end() >= len(s) or s[m.end()] != "(":
            raise ValueError(f"expected modifier(...) at position {pos + 1} of fields")
        close = s.find(")", m.end())
        if close < 0:
            raise ValueError("unclosed '(' in fields")
        node.modifiers[m.group(1)] = s[m.end() + 1 : close]
        pos = close + 1
    if pos < len(s) and s[pos] == "{":
        node.children, pos = _parse_list(s, pos + 1)
        if pos >= len(s) or s[pos] != "}":
            raise ValueError("unclosed '{' in fields")
        pos += 1
    return node, pos


def parse_graph_time(raw: str) -> int:
    """Graph accepts Unix seconds or an ISO date/time for since/until."""
    if raw.lstrip("-").isdigit():
        return int(raw)
    dt = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp())


class GraphApi(PlatformApi):
    """Shared Graph behaviour: auth, errors, faults, paging."""

    def authorized(self, req: Request) -> bool:
        return req.query.get("access_token") == self.token

    def graph_error(
        self,
        req: Request,
        status: int,
        code: int,
        message: str,
        subcode: int | None = None,
        etype: str = "OAuthException",
        **extra: Any,
    ) -> Response:
        err: dict[str, Any] = {"message": message, "type": etype, "code": code}
        if subcode is not None:
            err["error_subcode"] = subcode
        err.update(extra)
        err["fbtrace_id"] = trace_id(req)
        return Response(status, {"error": err})

    def error(self, req: Request, status: int, kind: str, message: str) -> Response:
        if status >= 500:
            return self.graph_error(req, status, 1, f"An unknown error has occurred: {message}")
        return self.graph_error(req, status, 100, f"(#100) {message}", etype="GraphMethodException")

    def unauthorized(self, req: Request) -> Response:
        return self.graph_error(
            req, 401, 190, "Invalid OAuth access token - Cannot parse access token"
        )

    def missing_object(self, req: Request, obj_id: str) -> ApiError:
        return ApiError(
            self.graph_error(
                req,
                400,
                100,
                f"Unsupported get request. Object with ID '{obj_id}' does not exist, cannot "
                "be loaded due to missing permissions, or does not support this operation.",
                subcode=33,
                etype="GraphMethodException",
            )
        )

    def usage_headers(self, req: Request, pct: int) -> dict[str, str]:
        usage = {"call_count": pct, "total_cputime": max(1, pct // 3), "total_time": pct // 2}
        buc = {
            SANDBOX_IG_USER_ID: [
                dict(
                    usage, type=self.platform, estimated_time_to_regain_access=0 if pct < 100 else 1
                )
            ]
        }
        return {"X-App-Usage": json.dumps(usage), "X-Business-Use-Case-Usage": json.dumps(buc)}

    def fault(self, req: Request, mode: str, variant: float) -> Response | None:
        if mode == "rate_limit":
            code, msg = RATE_LIMIT_CODES[int(variant * len(RATE_LIMIT_CODES))]
            resp = self.graph_error(
                req,
                GRAPH_RATE_LIMIT_STATUS,
                code,
                f"(#{code}) {msg}",
                is_transient=True,
            )
            resp.headers.update(self.usage_headers(req, 100))
            return resp
        if mode == "quota":
            resp = self.graph_error(
                req, 403, 4, "(#4) Application request limit reached", is_transient=True
            )
            resp.headers.update(self.usage_headers(req, 100))
            return resp
        if mode == "server_error":
            if variant < 0.34:
                return self.graph_error(
                    req, 500, 1, "An unknown error has occurred.", is_transient=True
                )
            if variant < 0.67:
                return Response(502, "<html><body><h1>502 Bad Gateway</h1></body></html>")
            resp = self.graph_error(
                req, 503, 2, "Service temporarily unavailable", is_transient=True
            )
            resp.headers["Retry-After"] = "1"
            return resp
        return None

    def page(self, req: Request, default: int, hi: int = 100) -> tuple[int, int]:
        """(offset, limit) from `after` / `limit` query parameters."""
        limit = self.int_param(req, "limit", default, 0, hi)
        offset = parse_offset_token("g", req.query.get("after"))
        if offset is None:
            raise ApiError(self.graph_error(req, 400, 100, "(#100) Invalid cursor: after"))
        return offset, limit

    def paging(self, req: Request, path: str, offset: int, n: int, total: int) -> dict[str, Any]:
        """Graph paging object; `next` is a full URL carrying the access token (as Meta's)."""
        out: dict[str, Any] = {
            "cursors": {"before": offset_token("g", offset), "after": offset_token("g", offset + n)}
        }
        if offset + n < total and n > 0:
            q = {k: v for k, v in req.query.items() if k != "after"}
            q["after"] = offset_token("g", offset + n)
            out["next"] = f"{req.base_url}/{path}?{urlencode(q)}"
        return out

    def known_fields(self, req: Request, nodes: list[FieldNode], allowed: set[str]) -> None:
        for n in nodes:
            if n.name not in allowed:
                raise ApiError(
                    self.graph_error(
                        req,
                        400,
                        100,
                        f"(#100) Tried accessing nonexisting field ({n.name})",
                        etype="GraphMethodException",
                    )
                )

    def fields(self, req: Request, default: str) -> list[FieldNode]:
        try:
            return parse_fields(req.query.get("fields") or default)
        except ValueError as exc:
            raise ApiError(self.graph_error(req, 400, 100, f"(#100) {exc}")) from None

    def post_at(self, req: Request, post_id: str) -> tuple[Account, Post]:
        found = self.world.resolve_post(self.platform, post_id)
        if found is None:
            raise self.missing_object(req, post_id)
        acc, k = found
        if acc.times[k] >= req.now:
            raise self.missing_object(req, post_id)  # not published yet at the clock
        return acc, self.world.post(acc, k)

    def comments_edge(
        self,
        req: Request,
        acc: Account,
        post: Post,
        text_key: str,
        time_key: str,
        path: str,
        allowed: set[str],
        default_fields: str,
    ) -> Response:
        nodes = self.fields(req, default_fields)
        self.known_fields(req, nodes, allowed)
        names = [n.name for n in nodes]
        offset, limit = self.page(req, 25)
        page, total = self.world.comments_page(acc, post, req.now, offset, limit)
        data = []
        for c in page:
            full = {
                "id": self.world.comment_id(acc, post.k, c.j),
                text_key: c.text,
                time_key: iso_graph(c.ts),
                "like_count": c.like_count,
                "username": f"user{c.author}",
            }
            data.append({k: full[k] for k in names if k in full})
        body = {"data": data, "paging": self.paging(req, path, offset, len(data), total)}
        return Response(200, body, records={"comments": len(data)})


class InstagramApi(GraphApi):
    platform = "instagram"
    prefix = "ig"

    BD_FIELDS: ClassVar[set[str]] = {
        "id",
        "username",
        "name",
        "followers_count",
        "follows_count",
        "media_count",
        "biography",
        "profile_picture_url",
        "website",
        "media",
    }
    MEDIA_FIELDS: ClassVar[set[str]] = {
        "id",
        "caption",
        "like_count",
        "comments_count",
        "timestamp",
        "media_type",
        "media_product_type",
        "permalink",
        "media_url",
        "username",
    }

    def handle(self, req: Request) -> Response:
        seg = req.segments
        if req.method != "GET" or not seg or len(seg) > 2:
            raise self.missing_object(req, "/".join(seg))
        if len(seg) == 1:
            return self.user(req, seg[0])
        if seg[1] == "insights":
            return self.insights(req, seg[0])
        if seg[1] == "comments":
            acc, post = self.authorised_media(req, seg[0])
            return self.comments_edge(
                req,
                acc,
                post,
                "text",
                "timestamp",
                f"{seg[0]}/comments",
                {"id", "text", "timestamp", "like_count", "username"},
                "id,text,timestamp",
            )
        raise self.missing_object(req, "/".join(seg))

    # GET /{ig-user-id}?fields=business_discovery.username(h){...}
    def user(self, req: Request, user_id: str) -> Response:
        nodes = self.fields(req, "id")
        bd = next((n for n in nodes if n.name == "business_discovery"), None)
        if user_id != SANDBOX_IG_USER_ID:
            if bd is not None:
                return self.graph_error(
                    req,
                    400,
                    100,
                    f"(#100) Business Discovery needs the app's IG business user id; '{user_id}' "
                    f"is not it (set KOL_INSTAGRAM_USER_ID={SANDBOX_IG_USER_ID})",
                    subcode=33,
                    etype="GraphMethodException",
                )
            raise self.missing_object(req, user_id)
        if bd is None:
            return Response(200, {"id": SANDBOX_IG_USER_ID, "username": "kol_sandbox_brand"})
        handle = bd.modifiers.get("username", "")
        acc = self.world.account_by_handle("instagram", handle)
        if acc is None:
            return self.graph_error(
                req,
                400,
                110,
                "Invalid user id",
                subcode=2207013,
                is_transient=False,
                error_user_title="Cannot find User",
                error_user_msg=f"The user with username: {handle} cannot be found.",
            )
        self.known_fields(req, bd.children or [], self.BD_FIELDS)
        out, n_media = self.discovery(req, acc, bd)
        return Response(
            200,
            {"business_discovery": out, "id": SANDBOX_IG_USER_ID},
            headers=self.usage_headers(req, 12),
            # later media pages repeat the account fields: count the account once (page 1)
            records={"accounts": int("after" not in _media_mods(bd)), "posts": n_media},
        )

    def discovery(self, req: Request, acc: Account, bd: FieldNode) -> tuple[dict[str, Any], int]:
        w = self.world
        visible = w.visible_count(acc, req.now)
        followers = 0 if req.glitch else w.followers_on(acc, req.clock)
        full = {
            "id": acc.platform_id,
            "username": acc.handle,
            "name": acc.creator.display_name,
            "followers_count": followers,
            "follows_count": acc.following,
            "media_count": visible,
            "biography": f"{acc.creator.niche} creator from {acc.creator.country}",
            "profile_picture_url": f"https://scontent.example/{acc.platform_id}.jpg",
            "website": f"https://example.com/{acc.handle}",
        }
        out: dict[str, Any] = {}
        n_media = 0
        for node in bd.children or [FieldNode("id")]:
            if node.name != "media":
                out[node.name] = full[node.name]
                continue
            out["media"], n_media = self.media_edge(req, acc, node, visible)
        return out, n_media

    def media_edge(
        self, req: Request, acc: Account, node: FieldNode, visible: int
    ) -> tuple[dict[str, Any], int]:
        children = node.children or [FieldNode("id")]
        self.known_fields(req, children, self.MEDIA_FIELDS)
        try:
            limit = int(node.modifiers.get("limit", "25"))
        except ValueError:
            raise self.fail(req, 400, "invalid", "media.limit() needs an integer") from None
        if not 1 <= limit <= 100:
            raise self.fail(req, 400, "invalid", "media.limit() must be between 1 and 100")
        offset = parse_offset_token("g", node.modifiers.get("after"))
        if offset is None:
            raise ApiError(
                self.graph_error(req, 400, 100, "(#100) Invalid cursor in media.after()")
            )
        ks = range(visible - 1 - offset, max(-1, visible - 1 - offset - limit), -1)
        data = [self.media(req, acc, self.world.post(acc, k), children) for k in ks]
        paging: dict[str, Any] = {
            "cursors": {
                "before": offset_token("g", offset),
                "after": offset_token("g", offset + len(data)),
            }
        }
        if offset + len(data) < visible and data:
            fields = _MEDIA_MOD.sub(
                f"media.after({offset_token('g', offset + len(data))}).limit({limit})",
                req.query.get("fields", ""),
                count=1,
            )
            q = dict(req.query, fields=fields)
            paging["next"] = f"{req.base_url}/{SANDBOX_IG_USER_ID}?{urlencode(q)}"
        return {"data": data, "paging": paging}, len(data)

    def media(self, req: Request, acc: Account, post: Post, children: list[FieldNode]) -> dict:
        m = self.world.metrics(post, req.now)
        media_id = self.world.post_id(acc, post.k)
        full: dict[str, Any] = {
            "id": media_id,
            "caption": post.caption,
            "like_count": m.likes,
            "comments_count": m.comments,
            "timestamp": iso_graph(post.ts),
            "media_type": post.kind,
            "media_product_type": "REELS" if post.kind == "VIDEO" else "FEED",
            "permalink": f"https://www.instagram.com/p/{media_id[-11:]}/",
            "media_url": f"https://scontent.example/{media_id}.jpg",
            "username": acc.handle,
        }
        if post.hide_likes:
            del full["like_count"]  # the owner hides likes: absent, not 0
        return {c.name: full[c.name] for c in children if c.name in full}

    def authorised_media(self, req: Request, media_id: str) -> tuple[Account, Post]:
        acc, post = self.post_at(req, media_id)
        if not acc.authorised:
            raise ApiError(
                self.graph_error(
                    req,
                    403,
                    10,
                    "(#10) Application does not have permission for this action: the media "
                    "owner has not authorised this app",
                )
            )
        return acc, post

    # GET /{media-id}/insights?metric=...
    def insights(self, req: Request, media_id: str) -> Response:
        metrics = [m for m in (req.query.get("metric") or "").split(",") if m]
        if not metrics:
            return self.graph_error(req, 400, 100, "(#100) The parameter metric is required")
        for name in metrics:
            if name in DEPRECATED_IG_METRICS:
                return self.graph_error(
                    req,
                    400,
                    100,
                    f"(#100) Starting from version v22.0 and above, the {name} metric is no "
                    "longer supported for media insights; request views instead",
                )
            if name not in IG_MEDIA_METRICS:
                return self.graph_error(
                    req,
                    400,
                    100,
                    f"(#100) metric[{metrics.index(name)}] must be one of the following values: "
                    + ", ".join(IG_MEDIA_METRICS),
                )
        _acc, post = self.authorised_media(req, media_id)
        m = self.world.metrics(post, req.now)
        values = {
            "views": m.views,
            "reach": m.reach,
            "saved": m.saves,
            "shares": m.shares,
            "likes": m.likes,
            "comments": m.comments,
            "total_interactions": m.likes + m.comments + m.saves + m.shares,
        }
        data = [
            {
                "name": name,
                "period": "lifetime",
                "values": [{"value": values[name]}],
                "title": name.replace("_", " ").capitalize(),
                "description": f"Lifetime {name.replace('_', ' ')} of this media",
                "id": f"{media_id}/insights/{name}/lifetime",
            }
            for name in metrics
            if name != post.missing_insight  # the platform has no value: absent, not 0
        ]
        return Response(
            200, {"data": data}, headers=self.usage_headers(req, 12), records={"post_insights": 1}
        )


def _media_mods(bd: FieldNode) -> dict[str, str]:
    media = bd.child("media")
    return media.modifiers if media is not None else {}


_MEDIA_MOD = re.compile(r"\bmedia(?=[.{,}]|$)(?:\.after\([^)]*\))?(?:\.limit\(\d+\))?")


class FacebookApi(GraphApi):
    platform = "facebook"
    prefix = "fb"

    PAGE_FIELDS: ClassVar[set[str]] = {
        "id",
        "name",
        "fan_count",
        "followers_count",
        "category",
        "link",
        "username",
        "about",
    }
    POST_FIELDS: ClassVar[set[str]] = {
        "id",
        "message",
        "created_time",
        "permalink_url",
        "shares",
        "reactions",
        "comments",
    }

    def handle(self, req: Request) -> Response:
        seg = req.segments
        if req.method != "GET" or not seg or len(seg) > 2:
            raise self.missing_object(req, "/".join(seg))
        if len(seg) == 1:
            return self.page_node(req, seg[0])
        if seg[1] == "posts":
            return self.posts(req, seg[0])
        if seg[1] == "comments":
            acc, post = self.post_at(req, seg[0])
            return self.comments_edge(
                req,
                acc,
                post,
                "message",
                "created_time",
                f"{seg[0]}/comments",
                {"id", "message", "created_time", "like_count"},
                "id,message,created_time",
            )
        raise self.missing_object(req, "/".join(seg))

    def page_acc(self, req: Request, page_id: str) -> Account:
        acc = self.world.account_by_id("facebook", page_id)
        if acc is None:
            raise self.missing_object(req, page_id)
        return acc

    def page_node(self, req: Request, page_id: str) -> Response:
        acc = self.page_acc(req, page_id)
        nodes = self.fields(req, "id,name")
        self.known_fields(req, nodes, self.PAGE_FIELDS)
        followers = 0 if req.glitch else self.world.followers_on(acc, req.clock)
        full = {
            "id": acc.platform_id,
            "name": acc.creator.display_name,
            "fan_count": 0 if req.glitch else int(followers * 0.93),
            "followers_count": followers,
            "category": acc.creator.niche.capitalize(),
            "link": f"https://www.facebook.com/{acc.handle}",
            "username": acc.handle,
            "about": f"{acc.creator.niche} creator",
        }
        body = {n.name: full[n.name] for n in nodes}
        return Response(200, body, headers=self.usage_headers(req, 8), records={"accounts": 1})

    def posts(self, req: Request, page_id: str) -> Response:
        acc = self.page_acc(req, page_id)
        nodes = self.fields(req, "id,message,created_time")
        self.known_fields(req, nodes, self.POST_FIELDS)
        try:
            since = parse_graph_time(req.query["since"]) if req.query.get("since") else None
            until = parse_graph_time(req.query["until"]) if req.query.get("until") else req.now
        except ValueError:
            return self.graph_error(
                req, 400, 100, "(#100) since/until must be Unix seconds or an ISO 8601 date"
            )
        if since is not None and until - since > MAX_RANGE_DAYS * 86400:
            return self.graph_error(
                req,
                400,
                100,
                f"(#100) The range between since and until must be at most {MAX_RANGE_DAYS} "
                "days; page the window",
            )
        w = self.world
        hi = min(until, req.now - 1)
        ks = [
            k
            for k in range(w.visible_count(acc, req.now) - 1, -1, -1)
            if acc.times[k] <= hi and (since is None or acc.times[k] >= since)
        ]
        offset, limit = self.page(req, 25)
        data = [self.post_obj(req, acc, w.post(acc, k), nodes) for k in ks[offset : offset + limit]]
        body = {
            "data": data,
            "paging": self.paging(req, f"{page_id}/posts", offset, len(data), len(ks)),
        }
        return Response(
            200, body, headers=self.usage_headers(req, 10), records={"posts": len(data)}
        )

    def post_obj(self, req: Request, acc: Account, post: Post, nodes: list[FieldNode]) -> dict:
        m = self.world.metrics(post, req.now)
        pid = self.world.post_id(acc, post.k)
        out: dict[str, Any] = {}
        for n in nodes:
            if n.name == "id":
                out["id"] = pid
            elif n.name == "message":
                out["message"] = post.caption
            elif n.name == "created_time":
                out["created_time"] = iso_graph(post.ts)
            elif n.name == "permalink_url":
                out["permalink_url"] = f"https://www.facebook.com/{acc.platform_id}/posts/{post.k}"
            elif n.name == "shares":
                if m.shares > 0:  # absent when a post has none (as the Graph API does)
                    out["shares"] = {"count": m.shares}
            else:  # reactions / comments edges with summary(total_count)
                total = m.likes if n.name == "reactions" else m.comments
                edge: dict[str, Any] = {"data": []}
                if "summary" in n.modifiers:
                    summary: dict[str, Any] = {"total_count": total}
                    if n.name == "reactions":
                        summary["viewer_reaction"] = "NONE"
                    else:
                        summary.update(order="ranked", can_comment=True)
                    edge["summary"] = summary
                out[n.name] = edge
        return out
