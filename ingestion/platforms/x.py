"""X API v2: users by username (100 a call), user tweets, replies via recent search.

Unknown users come back in `errors[]` with HTTP 200. Recent search needs a paid tier: its
403 is reported once and comments are skipped for the rest of the run, not retried.
"""

from __future__ import annotations

from typing import Any

import requests

from ingestion.http import (
    AccessDenied,
    AccountNotFound,
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
    Field,
    FieldMap,
    PageContext,
    count,
    derived,
    flag,
    from_context,
    from_roster,
    ident,
    iso_time,
    items_at,
    opt_str,
    single,
    text,
    ts_iso,
)
from ingestion.platforms.base import (
    ExtractSession,
    Platform,
    ids_wanting_comments,
    list_len,
    take_pages,
)
from ingestion.records import STR, STRLIST
from ingestion.roster import RosterEntry

BATCH = 100
USER_FIELDS = "created_at,description,verified,public_metrics"
TWEET_FIELDS = "created_at,public_metrics,conversation_id,entities"
REPLY_FIELDS = "created_at,public_metrics,author_id"
SEARCH_PATH = "/2/tweets/search/recent"
SINCE_DAYS = 6  # a since_id younger than this at D's end is inside recent search's 7 days


def _check_metrics(item: dict[str, Any]) -> None:
    if item.get("public_metrics") is not None and not isinstance(item["public_metrics"], dict):
        raise BadRecord("`public_metrics` must be an object")


def _user_owner(item: dict[str, Any], ctx: PageContext) -> str:
    """The creator of the roster account this user of a batch answer was asked for."""
    username = opt_str(item.get("username"), "username")
    return ctx.account_by("handle", username)["creator_id"]


def _hashtags(item: dict[str, Any], ctx: PageContext) -> list[str]:
    tags = dig(item, "entities", "hashtags") or []
    if not isinstance(tags, list):
        raise BadRecord("`entities.hashtags` must be a list")
    return [t["tag"] for t in tags if isinstance(t, dict) and isinstance(t.get("tag"), str)]


def _author(item: dict[str, Any], ctx: PageContext) -> str | None:
    return ctx.hashed(item.get("author_id"))


def _metrics(*names: str) -> tuple[Field, ...]:
    """Counts from the item's `public_metrics` object."""
    return tuple(count(name, f"public_metrics.{name}") for name in names)


# --- field maps: API field -> record column -------------------------------------------
# A tweet or reply page was asked for one roster account's user id (the request context).
OWNER = (from_roster("creator_id"), from_context("account_id", "user_id"))

USER = FieldMap(
    "user",
    (
        derived("creator_id", STR, _user_owner),
        ident("account_id"),
        text("username"),
        text("name"),
        text("description"),
        flag("verified"),
        iso_time("created_at", "created_at", required=False),
        *_metrics("followers_count", "following_count", "tweet_count", "listed_count"),
    ),
    check=_check_metrics,
)
TWEET = FieldMap(
    "tweet",
    (
        *OWNER,
        ident("post_id"),
        text("text"),
        iso_time("published_at", "created_at"),
        text("conversation_id"),
        derived("hashtags", STRLIST, _hashtags),
        *_metrics("retweet_count", "reply_count", "like_count", "quote_count"),
        *_metrics("bookmark_count", "impression_count"),
    ),
    check=_check_metrics,
)
REPLY = FieldMap(
    "reply",
    (
        *OWNER,
        ident("comment_id"),
        from_context("post_id"),
        text("text"),
        iso_time("published_at", "created_at"),
        *_metrics("like_count", "reply_count"),
        derived("author_hash", STR, _author),
    ),
    check=_check_metrics,
)
FIELDS = {"accounts": USER, "posts": TWEET, "comments": REPLY}


def _usage_capped(body: Any) -> bool:
    """X's daily/monthly cap is a 429 too, but waiting for the window reset will not help."""
    if not isinstance(body, dict):
        return False
    return body.get("title") == "UsageCapExceeded" or "usage-capped" in str(body.get("type", ""))


def _errors_only(body: Any) -> bool:
    """An answer with `errors` and no `data` failed, unless every error is an unknown
    resource (unknown users of a /2/users/by batch come back that way, with HTTP 200)."""
    if not isinstance(body, dict) or "data" in body:
        return False
    errors = body.get("errors")
    if not isinstance(errors, list) or not errors:
        return False
    return not all(
        isinstance(e, dict) and str(e.get("type", "")).endswith("resource-not-found")
        for e in errors
    )


def _data(body: Any, ctx: PageContext) -> list[Any]:
    return items_at(body, "data", required=False)


SPECS = {
    "users_by": single("accounts", _data, USER, ("public_metrics.followers_count",)),
    "tweets": single("posts", _data, TWEET, ("public_metrics.like_count", "created_at")),
    "replies": single("comments", _data, REPLY, ("text",)),
}


class X(Platform):
    name = "x"
    handle_rule = (r"^[A-Za-z0-9_]{1,15}$", "1-15 letters, digits or _")
    id_rule = (r"^\d{1,19}$", "digits only")
    identity_fields = ("author_id",)
    specs = SPECS
    fields = FIELDS
    comment_count_column = "reply_count"

    def classify(self, resp: requests.Response, body: Any) -> Retry | None:
        if resp.status_code == 429 and _usage_capped(body):
            raise QuotaExceeded(
                f"HTTP 429 usage cap: {error_message(body)}", 429, "UsageCapExceeded"
            )
        if resp.status_code == 403 and SEARCH_PATH in resp.url:
            raise AccessDenied(
                f"HTTP 403 on recent search: {error_message(body)} (needs a paid X API tier)", 403
            )
        if resp.status_code < 400 and _errors_only(body):
            raise HttpError(
                f"HTTP {resp.status_code} with `errors` and no `data`: {error_message(body)}",
                resp.status_code,
            )
        return default_classify(resp, body)

    def extract(
        self, s: ExtractSession, entries: list[RosterEntry], config: dict[str, Any]
    ) -> None:
        ids: dict[str, str] = {}
        for batch in chunks(entries, BATCH):
            s.run_group(batch, lambda b: ids.update(self._users(s, b)), final=False)
        state = {"replies": True}
        s.run_accounts(
            s.outcomes.pending(entries),
            lambda e: self._account(s, e, e.account_id or ids.get(e.key), state),
        )

    def _users(self, s: ExtractSession, batch: list[RosterEntry]) -> dict[str, str]:
        body = s.fetch(
            "users_by",
            batch,
            "GET",
            "/2/users/by",
            params={"usernames": ",".join(e.handle for e in batch), "user.fields": USER_FIELDS},
        )
        if body is None:
            return {}
        found = {
            str(u.get("username", "")).casefold(): str(u.get("id"))
            for u in dig(body, "data") or []
            if isinstance(u, dict) and u.get("id") is not None
        }
        problems = {
            str(e.get("value", "")).casefold(): e.get("detail") or e.get("title") or "unknown user"
            for e in dig(body, "errors") or []
            if isinstance(e, dict)
        }
        out = {}
        for entry in batch:
            handle = entry.handle.casefold()
            if handle in found:
                out[entry.key] = found[handle]
            else:
                s.fail(
                    entry,
                    f"X user @{entry.handle} not found: {problems.get(handle, 'not returned by /2/users/by')}",
                )
        return out

    def _account(
        self, s: ExtractSession, entry: RosterEntry, user_id: str | None, state: dict[str, bool]
    ) -> None:
        if not user_id:
            raise AccountNotFound(f"X user @{entry.handle}: no user id (roster or /2/users/by)")
        start = s.window.posts_start(s.is_first_sight(entry)).strftime("%Y-%m-%dT%H:%M:%SZ")
        recent: list[str] = []
        pages = s.pages(
            "tweets",
            [entry],
            "GET",
            f"/2/users/{user_id}/tweets",
            PageToken("pagination_token", ("meta", "next_token")),
            params={
                "max_results": 100,
                "start_time": start,
                "tweet.fields": TWEET_FIELDS,
                "exclude": "retweets",
            },
            context={"user_id": user_id},
        )
        for body in pages:
            recent.extend(_recent_ids(body, s))
        for tweet_id in dict.fromkeys(recent):
            if not state["replies"]:
                return
            params: dict[str, Any] = {
                "query": f"conversation_id:{tweet_id} is:reply",
                "tweet.fields": REPLY_FIELDS,
                "max_results": 100,
            }
            since = s.history.newest_id(tweet_id)
            newest = s.history.newest_time(tweet_id)
            # only replies newer than the newest landed; recent search refuses a since_id
            # older than its 7 days, and the run may start a day after D's end
            if since is not None and newest is not None and newest > s.window.start(SINCE_DAYS):
                params["since_id"] = str(since)
            pages = s.pages(
                "replies",
                [entry],
                "GET",
                SEARCH_PATH,
                PageToken("next_token", ("meta", "next_token")),
                params=params,
                context={"user_id": user_id, "post_id": tweet_id},
            )
            try:
                take_pages(pages, lambda b: list_len(b, "data"))
            except AccessDenied as exc:
                state["replies"] = False
                s.outcomes.warn_once(f"replies (comments) skipped for this run: {exc}")


def _recent_ids(body: Any, s: ExtractSession) -> list[str]:
    return ids_wanting_comments(
        dig(body, "data"),
        s.window,
        lambda p: ts_iso(p.get("created_at"), "created_at"),
        comment_count=lambda p: dig(p, "public_metrics", "reply_count"),
        history=s.history,
    )


PLATFORM = X()
