"""What Instagram and Facebook share: the Graph API's error envelope and rate-limit codes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from ingestion.http import AccountNotFound, HttpError, Retry, default_classify, error_message
from ingestion.parsing import BadRecord, PageContext, opt_int, opt_str, req_id, ts_iso

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


def comment_parser(
    text_field: str, time_field: str
) -> Callable[[Any, PageContext], dict[str, Any]]:
    """A Graph comment parser: Instagram and Facebook differ only in two field names
    (`text`/`timestamp` vs `message`/`created_time`)."""

    def parse(item: Any, ctx: PageContext) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise BadRecord("comment is not an object")
        return {
            "creator_id": ctx.account["creator_id"],
            "account_id": ctx.account["account_id"],
            "comment_id": req_id(item.get("id"), "id"),
            "post_id": req_id(ctx.context.get("post_id"), "post_id"),
            "text": opt_str(item.get(text_field), text_field),
            "published_at": ts_iso(item.get(time_field), time_field),
            "like_count": opt_int(item.get("like_count"), "like_count"),
            "reply_count": None,
            "author_hash": None,
        }

    return parse
