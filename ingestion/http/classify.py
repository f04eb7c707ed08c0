"""What an answer means: fine, retry, or a typed error. Platforms pass their own classifier
for their error shapes; this is the default they fall back on.

Classifiers see the body after credential redaction, so any message they build from it
(and cut to a length) can no longer hold a credential or a piece of one.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import requests

from ingestion.http.errors import HttpError
from ingestion.http.retry import Retry

Classifier = Callable[[requests.Response, Any], Retry | None]


def default_classify(resp: requests.Response, body: Any) -> Retry | None:
    """429 and 5xx are retried; other 4xx raise HttpError; 2xx/3xx are fine."""
    if resp.status_code == 429:
        return Retry("HTTP 429 rate limited")
    if resp.status_code >= 500:
        return Retry(f"HTTP {resp.status_code} server error")
    if resp.status_code >= 400:
        raise HttpError(f"HTTP {resp.status_code}: {error_message(body)}", resp.status_code)
    return None


def error_message(body: Any) -> str:
    """A short human message from any of the platforms' error envelopes."""
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            parts = [str(err.get(k)) for k in ("code", "message") if err.get(k) not in (None, "")]
            return " ".join(parts)[:300] or "error"
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            first = errors[0]
            return str(first.get("detail") or first.get("message") or first.get("title"))[:300]
        for key in ("detail", "title", "message"):
            if isinstance(body.get(key), str):
                return body[key][:300]
    return "no error details in the response"
