"""Every error the HTTP core and the platform clients raise; messages never hold a credential."""

from __future__ import annotations


class IngestionError(Exception):
    """Base of every extraction error; the account it hits is recorded as failed."""


class HttpError(IngestionError):
    """A non-retryable error answer from a platform."""

    def __init__(self, message: str, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.status = status
        self.code = code


class QuotaExceeded(HttpError):
    """The daily quota is spent: stop this platform for the day, not the pipeline."""


class AccountNotFound(HttpError):
    """Unknown, private or non-business account: record it and go on with the others."""


class AccessDenied(HttpError):
    """The credential's tier does not include this endpoint (e.g. X recent search)."""


class CommentsDisabled(HttpError):
    """The creator turned comments off: zero comments, not a failure."""


class RetriesExhausted(IngestionError):
    """Bounded attempts all failed (429/5xx/timeouts): the account is marked failed."""


class BadPage(IngestionError):
    """An answer that is not a JSON page (HTML, truncated JSON): the account fails."""


class ResponseTooLarge(IngestionError):
    """A body over the size cap: reading stopped there, the account fails."""


class PagingStopped(IngestionError):
    """A next-page cursor came back twice, or an account passed its page cap."""
