"""The one HTTP core every platform client uses: errors, retries, the client, paginators.

Platforms differ only in how they say "slow down" or "this failed" (a 200 with an error
envelope on TikTok, a 400 with code 110 on Graph, a 403 reason on YouTube): each passes a
`classify` function; transport, backoff, rate-limit headers, limits and paging live here.
"""

from ingestion.http.allowance import HourlyAllowance
from ingestion.http.auth import Auth
from ingestion.http.classify import Classifier, default_classify, error_message
from ingestion.http.client import KEPT_HEADERS, Exchange, HttpClient
from ingestion.http.errors import (
    AccessDenied,
    AccountNotFound,
    BadPage,
    CommentsDisabled,
    HttpError,
    IngestionError,
    PagingStopped,
    QuotaExceeded,
    ResponseTooLarge,
    RetriesExhausted,
)
from ingestion.http.paging import (
    ChainGuard,
    NextRequest,
    NextUrl,
    OffsetCursor,
    PageToken,
    after_cursor,
    chunks,
    dig,
)
from ingestion.http.retry import Retry, RetryPolicy, graph_usage, wait_hint

__all__ = [
    "KEPT_HEADERS",
    "AccessDenied",
    "AccountNotFound",
    "Auth",
    "BadPage",
    "ChainGuard",
    "Classifier",
    "CommentsDisabled",
    "Exchange",
    "HourlyAllowance",
    "HttpClient",
    "HttpError",
    "IngestionError",
    "NextRequest",
    "NextUrl",
    "OffsetCursor",
    "PageToken",
    "PagingStopped",
    "QuotaExceeded",
    "ResponseTooLarge",
    "RetriesExhausted",
    "Retry",
    "RetryPolicy",
    "after_cursor",
    "chunks",
    "default_classify",
    "dig",
    "error_message",
    "graph_usage",
    "wait_hint",
]
