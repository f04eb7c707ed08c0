"""The documented calls of docs/platform_apis.md as an extractor makes them (test helper)."""

from __future__ import annotations

from datetime import date

import requests

from sandbox import SANDBOX_IG_USER_ID, SandboxServer, WorldConfig

END = date(2026, 11, 24)
CFG = WorldConfig(seed=42, creators=50, days=60, end_date=END)
TOKEN = "sandbox"

IG_BD_FIELDS = (
    "business_discovery.username({h}){{id,username,name,followers_count,follows_count,"
    "media_count,media{mod}{{id,caption,like_count,comments_count,timestamp,media_type,"
    "media_product_type,permalink}}}}"
)
FB_POST_FIELDS = (
    "id,message,created_time,permalink_url,shares,reactions.summary(total_count).limit(0),"
    "comments.summary(total_count).limit(0)"
)
TT_VIDEO_FIELDS = (
    "id,create_time,username,region_code,video_description,view_count,like_count,"
    "comment_count,share_count,hashtag_names"
)


class Api:
    """The documented calls of docs/platform_apis.md, as an extractor would make them."""

    def __init__(self, server: SandboxServer, session: requests.Session) -> None:
        self.server = server
        self.urls = server.base_urls
        self.s = session
        self.bearer = {"Authorization": f"Bearer {TOKEN}"}

    def get(self, platform: str, path: str, headers: dict | None = None, **params):
        if platform in ("instagram", "facebook"):
            params.setdefault("access_token", TOKEN)
        elif platform == "youtube":
            params.setdefault("key", TOKEN)
        hdrs = dict(self.bearer) if platform in ("tiktok", "x") else {}
        hdrs.update(headers or {})
        return self.s.get(f"{self.urls[platform]}{path}", params=params, headers=hdrs, timeout=10)

    def tiktok(self, path: str, fields: str, body: dict, headers: dict | None = None):
        hdrs = dict(self.bearer, **(headers or {}))
        return self.s.post(
            f"{self.urls['tiktok']}{path}",
            params={"fields": fields},
            json=body,
            headers=hdrs,
            timeout=10,
        )

    def ig_discovery(self, handle: str, mod: str = ".limit(50)", **kw):
        return self.get(
            "instagram",
            f"/{SANDBOX_IG_USER_ID}",
            fields=IG_BD_FIELDS.format(h=handle, mod=mod),
            **kw,
        )

    def tt_videos(
        self,
        handle: str,
        start: str,
        end: str,
        cursor: int = 0,
        search_id=None,
        max_count: int = 100,
        headers: dict | None = None,
    ):
        body = {
            "query": {
                "and": [{"operation": "EQ", "field_name": "username", "field_values": [handle]}]
            },
            "start_date": start,
            "end_date": end,
            "max_count": max_count,
            "cursor": cursor,
        }
        if search_id:
            body["search_id"] = search_id
        return self.tiktok("/v2/research/video/query/", TT_VIDEO_FIELDS, body, headers)
