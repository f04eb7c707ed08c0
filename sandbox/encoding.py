"""How the sandbox spells ids, timestamps and paging tokens as each platform's API does:
id spaces that encode the creator index, base64 ids, ISO times, opaque tokens."""

from __future__ import annotations

import base64
from datetime import UTC, date, datetime

from sandbox._rng import mix

# Id spaces: each id encodes the creator index (and post / comment number) so any id can be
# resolved without an index of the world.
IG_USER_BASE = 17_841_450_000_000_000
IG_MEDIA_BASE = 17_900_000_000_000_000
IG_COMMENT_BASE = 18_000_000_000_000_000
FB_PAGE_BASE = 100_000_000_000_000
TT_VIDEO_BASE = 7_300_000_000_000_000_000
TT_COMMENT_BASE = 7_310_000_000_000_000_000
X_USER_BASE = 1_400_000_000_000_000_000
X_TWEET_BASE = 1_800_000_000_000_000_000
X_REPLY_BASE = 1_900_000_000_000_000_000
X_AUTHOR_BASE = 1_600_000_000_000_000_000
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def b64_int(n: int, width: int = 11) -> str:
    """Fixed-width base64url rendering of a non-negative int (YouTube-style ids)."""
    out = []
    for _ in range(width):
        out.append(_B64[n & 63])
        n >>= 6
    return "".join(reversed(out))


def b64_hash(width: int, *keys: int) -> str:
    """A deterministic base64url string of any width (etags, opaque ids)."""
    out = ""
    part = 0
    while len(out) < width:
        out += b64_int(mix(*keys, part), 10)
        part += 1
    return out[:width]


def int_b64(s: str) -> int:
    n = 0
    for ch in s:
        n = (n << 6) | _B64.index(ch)
    return n


def iso_graph(ts: int) -> str:
    """Graph API timestamp: `2026-11-20T10:00:00+0000`."""
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


def iso_z(ts: int, millis: bool = False) -> str:
    """RFC 3339 UTC with Z (YouTube, X: X adds milliseconds)."""
    s = datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    return s + (".000Z" if millis else "Z")


def day_start(d: date) -> int:
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp())


def b64_token(payload: str) -> str:
    """Opaque paging token (Graph cursors, YouTube pageToken, X next_token)."""
    return base64.urlsafe_b64encode(payload.encode()).decode().rstrip("=")


def unb64_token(token: str) -> str:
    pad = "=" * (-len(token) % 4)
    return base64.urlsafe_b64decode((token + pad).encode()).decode()
