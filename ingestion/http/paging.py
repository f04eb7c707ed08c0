"""Paginators, named for how they page, and the guard every paging chain runs under.

A platform module picks one per endpoint; `ExtractSession.pages` owns the loop. A
paginator reads a decoded page and says what changes for the next request, or None at
the end.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ingestion.http.errors import PagingStopped


@dataclass(frozen=True)
class NextRequest:
    """What changes for the next page: a whole URL, query params or JSON body fields."""

    url: str | None = None
    params: dict[str, Any] | None = None
    json: dict[str, Any] | None = None


def dig(body: Any, *path: str) -> Any:
    """body[path[0]][path[1]]... or None when any step is missing or not an object."""
    for key in path:
        if not isinstance(body, dict):
            return None
        body = body.get(key)
    return body


def chunks(items: list[Any], size: int) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


@dataclass(frozen=True)
class NextUrl:
    """Follow a full next-page URL found at `path` (Graph edges: `paging.next`); its
    absence is the end."""

    path: tuple[str, ...] = ("paging", "next")

    def __call__(self, body: Any) -> NextRequest | None:
        nxt = dig(body, *self.path)
        return NextRequest(url=nxt) if isinstance(nxt, str) and nxt else None


@dataclass(frozen=True)
class PageToken:
    """An opaque token from the page goes back as a query parameter (YouTube
    `nextPageToken` -> `pageToken`, X `meta.next_token`); no token is the end."""

    request_param: str
    response_path: tuple[str, ...]

    def __call__(self, body: Any) -> NextRequest | None:
        token = dig(body, *self.response_path)
        if isinstance(token, str) and token:
            return NextRequest(params={self.request_param: token})
        return None


@dataclass(frozen=True)
class OffsetCursor:
    """`data.has_more` + `data.cursor` go back in the JSON body, with `data.search_id`
    when the query is a search (TikTok Research)."""

    with_search_id: bool = False

    def __call__(self, body: Any) -> NextRequest | None:
        data = dig(body, "data")
        if not isinstance(data, dict) or data.get("has_more") is not True:
            return None
        nxt: dict[str, Any] = {"cursor": data.get("cursor")}
        if self.with_search_id and data.get("search_id"):
            nxt["search_id"] = data["search_id"]
        return NextRequest(json=nxt)


def after_cursor(section: Any) -> str | None:
    """The `paging.cursors.after` cursor, only while `paging.next` exists (Graph field
    expansion pages by rewriting the field expression with it)."""
    if not dig(section, "paging", "next"):
        return None
    after = dig(section, "paging", "cursors", "after")
    return after if isinstance(after, str) and after else None


@dataclass
class ChainGuard:
    """Stops a paging chain whose next-page request repeats one it already sent: a looping
    cursor would otherwise burn the day's quota while holding the writer lock."""

    what: str
    _seen: set[str] = field(default_factory=set)

    def check(self, nxt: NextRequest, page: int) -> None:
        key = json.dumps([nxt.url, nxt.params, nxt.json], sort_keys=True, default=str)
        if key in self._seen:
            raise PagingStopped(
                f"{self.what}: page {page} sent a next-page cursor already followed; "
                "paging stopped (the API is looping)"
            )
        self._seen.add(key)
