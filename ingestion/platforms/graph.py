"""What Instagram and Facebook share: the Graph API's token parameter, error envelope,
rate-limit codes and comment fields."""

from __future__ import annotations

from typing import Any

import requests

from ingestion.http import AccountNotFound, HttpError, Retry, default_classify, error_message
from ingestion.parsing import (
    FieldMap,
    absent,
    count,
    derived,
    from_context,
    from_roster,
    ident,
    iso_time,
    text,
)
from ingestion.platforms.base import Platform
from ingestion.records import I64, STR

# Graph error codes meaning "slow down" (app, user, page and BUC limits).
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613, 80001, 80002, 80003, 80004, 80005, 80006, 80008})
TRANSIENT_CODES = frozenset({1, 2})
# 110 / 2207013: IG handle unknown or not a business account; 100/33 and 803: no such object.
NOT_FOUND = frozenset({(110, None), (None, 2207013), (100, 33), (803, None)})


def classify(resp: requests.Response, body: Any) -> Retry | None:
    err = body.get("error") if isinstance(body, dict) else None
    if not isinstance(err, dict):  # an `error` object is an error on any status, 200 too
        return default_classify(resp, body)
    code, sub = err.get("code"), err.get("error_subcode")
    message = f"Graph error {code}/{sub}: {error_message(body)}"
    if code in RATE_LIMIT_CODES or resp.status_code == 429:
        return Retry(f"rate limited ({message})")
    if (code, None) in NOT_FOUND or (None, sub) in NOT_FOUND or (code, sub) in NOT_FOUND:
        raise AccountNotFound(message, resp.status_code, str(code))
    if code in TRANSIENT_CODES or err.get("is_transient") is True or resp.status_code >= 500:
        return Retry(f"transient ({message})")
    raise HttpError(message, resp.status_code, str(code))


def comment_fields(text_field: str, time_field: str, author_field: str | None) -> FieldMap:
    """A Graph comment: Instagram and Facebook differ in field names (`text`/`timestamp` vs
    `message`/`created_time`) and in the commenter: Instagram names it (`username`), a public
    Page's comments do not (Facebook returns `from` only to the Page itself)."""
    author = (
        derived("author_hash", STR, lambda item, ctx: ctx.hashed(item.get(author_field)))
        if author_field
        else absent("author_hash", STR)
    )
    return FieldMap(
        "comment",
        (
            from_roster("creator_id"),
            from_roster("account_id"),
            ident("comment_id"),
            from_context("post_id"),
            text("text", text_field),
            iso_time("published_at", time_field),
            count("like_count"),
            absent("reply_count", I64),
            author,
        ),
    )


class GraphPlatform(Platform):
    """A Graph API platform: the token goes in `access_token`, errors in the Graph envelope."""

    auth_param = "access_token"

    def classify(self, resp: requests.Response, body: Any) -> Retry | None:
        return classify(resp, body)
