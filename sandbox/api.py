"""What every platform simulator shares: the request/response types and the API base class.

A platform module only says which paths it serves, how it authenticates, how its errors
look and how it renders the world; transport, faults and statistics live in `server.py`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from sandbox._rng import mix, str_key
from sandbox.encoding import b64_token, unb64_token
from sandbox.world import World

if TYPE_CHECKING:
    from email.message import Message


@dataclass
class Request:
    """One HTTP request as a platform simulator sees it."""

    method: str
    platform: str
    prefix: str  # URL prefix, e.g. "ig"
    segments: list[str]  # path segments after the prefix (and an optional Graph version)
    query: dict[str, str]
    headers: Message
    body: Any  # parsed JSON body (None when absent)
    base_url: str  # http://host:port/<prefix> as the client called it
    clock: date
    now: int  # Unix seconds: the end of the clock date (exclusive)
    glitch: bool = False
    key: int = 0  # stable hash of the request (fault draws, trace ids)


@dataclass
class Response:
    status: int
    body: Any  # JSON-able value, or str for a non-JSON body (e.g. a proxy's HTML 502)
    headers: dict[str, str] = field(default_factory=dict)
    records: dict[str, int] = field(default_factory=dict)  # entity -> records served


def with_records(resp: Response, **counts: int) -> Response:
    """Attach the served-record counts (for /_sandbox/stats) to a successful response."""
    resp.records = counts
    return resp


class ApiError(Exception):
    """Raised by a handler to answer with an error response."""

    def __init__(self, response: Response) -> None:
        super().__init__(f"HTTP {response.status}")
        self.response = response


def offset_token(kind: str, offset: int) -> str:
    return b64_token(f"{kind}:{offset}")


def parse_offset_token(kind: str, token: str | None) -> int | None:
    """Offset from a paging token; 0 when no token; None when the token is not ours."""
    if not token:
        return 0
    try:
        k, _, n = unb64_token(token).partition(":")
        return int(n) if k == kind and int(n) >= 0 else None
    except (ValueError, UnicodeDecodeError):
        return None


def trace_id(req: Request, length: int = 11) -> str:
    """A deterministic per-request id (fbtrace_id, log_id) — never the time."""
    return b64_token(str(mix(req.key, 99)))[:length]


def request_key(method: str, path: str, query: dict[str, str], body: bytes) -> int:
    """Stable hash of a request without its credentials."""
    items = sorted((k, v) for k, v in query.items() if k not in ("access_token", "key"))
    return str_key(f"{method} {path} {items} ") ^ str_key(body.decode("utf-8", "replace"))


class PlatformApi:
    """Base for one platform simulator."""

    platform = ""
    prefix = ""

    def __init__(self, world: World, token: str) -> None:
        self.world = world
        self.token = token

    # auth ------------------------------------------------------------------------------
    def authorized(self, req: Request) -> bool:
        raise NotImplementedError

    def bearer_ok(self, req: Request) -> bool:
        return req.headers.get("Authorization", "") == f"Bearer {self.token}"

    # shapes ------------------------------------------------------------------------------
    def error(self, req: Request, status: int, kind: str, message: str) -> Response:
        """An error in this platform's shape (`kind` is the platform's error code/reason)."""
        raise NotImplementedError

    def unauthorized(self, req: Request) -> Response:
        raise NotImplementedError

    def fault(self, req: Request, mode: str, variant: float) -> Response | None:
        """The platform's answer to a fault mode (None: mode does not apply here)."""
        raise NotImplementedError

    def handle(self, req: Request) -> Response:
        raise NotImplementedError

    def fail(self, req: Request, status: int, kind: str, message: str) -> ApiError:
        return ApiError(self.error(req, status, kind, message))

    def int_param(self, req: Request, name: str, default: int, lo: int, hi: int) -> int:
        raw = req.query.get(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise self.fail(req, 400, "invalid_params", f"{name} must be an integer") from None
        if not lo <= value <= hi:
            raise self.fail(req, 400, "invalid_params", f"{name} must be between {lo} and {hi}")
        return value
