"""Where a platform's credential goes: a query parameter (Graph, YouTube) or a Bearer header."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ingestion.http.errors import IngestionError


@dataclass(frozen=True)
class Auth:
    token: str = field(repr=False)
    query_param: str | None = None

    def apply(self, url: str, params: dict[str, Any], headers: dict[str, str]) -> str:
        """Return the URL to send. A next-page or redirect URL's own credential (redacted in
        the page we parsed) is dropped and ours is set, so paging works from scrubbed bodies."""
        if self.query_param is None:
            if not _header_safe(self.token):
                raise IngestionError(
                    "the credential cannot be sent in an HTTP header (it holds a line break, a "
                    "control or a non-Latin-1 character): check the platform's KOL_<P>_TOKEN"
                )
            headers["Authorization"] = f"Bearer {self.token}"
            return url
        parts = urlsplit(url)
        query = [
            (k, v)
            for k, v in parse_qsl(parts.query, keep_blank_values=True)
            if k != self.query_param
        ]
        params[self.query_param] = self.token
        return urlunsplit(parts._replace(query=urlencode(query)))


def _header_safe(value: str) -> bool:
    """HTTP/1.1 header values are Latin-1 without control characters (requests enforces it
    with an exception that names neither the variable nor the fix)."""
    try:
        value.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return not any(ord(c) < 32 or ord(c) == 127 for c in value)
