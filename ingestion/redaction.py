"""Keeping secrets and commenter identities out of everything that is written or logged.

Two jobs live here because both rewrite text before it leaves memory:
- `Redactor` removes credentials (by value, URL-encoded value, and by parameter name), so a
  Graph `paging.next` URL or a YouTube `key=` never reaches a raw page, a log or an error.
- `IdentityHasher` replaces commenter ids (X `author_id`, YouTube `authorChannelId`) by a
  salted hash, so the warehouse can spot duplicates and bots without holding identities.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "REDACTED"
# Query parameters that carry credentials on the five platforms (Graph, YouTube, OAuth).
SECRET_PARAMS: frozenset[str] = frozenset(
    {"access_token", "key", "appsecret_proof", "client_secret", "token", "api_key"}
)
SECRET_HEADERS: frozenset[str] = frozenset({"authorization", "cookie", "set-cookie"})

_PARAM_RE = re.compile(
    r"((?:\\u0026|%26|(?<![\w.-]))(?:" + "|".join(sorted(SECRET_PARAMS)) + r")=)[^&\s\"'#\\]+",
    re.IGNORECASE,
)
_BEARER_RE = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# What `_PARAM_RE` needs to find (`name=`), case-folded like the text it is tested on.
_PARAM_MARKERS: tuple[str, ...] = tuple(f"{name}=" for name in sorted(SECRET_PARAMS))

# Every live secret, so the urllib3 log filter can scrub lines we do not format ourselves.
_LIVE_SECRETS: set[str] = set()
_LOCK = threading.Lock()


class Redactor:
    """Scrubs one platform's credential(s) out of strings, URLs, params and headers."""

    def __init__(self, secret_values: Iterable[str]) -> None:
        values = {v for v in secret_values if v}
        variants: set[str] = set()
        for v in values:
            variants.update({v, quote(v, safe=""), quote_plus(v)})
        # Longest first, so a token that contains another is removed whole.
        self._values = sorted((v for v in variants if len(v) >= 4), key=len, reverse=True)
        with _LOCK:
            _LIVE_SECRETS.update(self._values)

    def text(self, value: str) -> str:
        for secret in self._values:
            if secret in value:
                value = value.replace(secret, REDACTED)
        return _scrub_patterns(value)

    def params(self, params: Mapping[str, Any] | None) -> dict[str, Any] | None:
        if params is None:
            return None
        return {
            k: REDACTED if k.lower() in SECRET_PARAMS else self.value(v) for k, v in params.items()
        }

    def headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        return {
            k: REDACTED if k.lower() in SECRET_HEADERS else self.text(str(v))
            for k, v in headers.items()
        }

    def value(self, value: Any) -> Any:
        """Scrub any JSON-like value (request bodies, params)."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return {
                k: REDACTED if str(k).lower() in SECRET_PARAMS else self.value(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.value(v) for v in value]
        return value


def scrub_everywhere(text: str) -> str:
    """Scrub every secret any live Redactor knows (for log lines of third-party code)."""
    with _LOCK:
        values = sorted(_LIVE_SECRETS, key=len, reverse=True)
    for secret in values:
        if secret in text:
            text = text.replace(secret, REDACTED)
    return _scrub_patterns(text)


def _scrub_patterns(text: str) -> str:
    """Credential parameters and Bearer values, by pattern.

    Every response body passes here: the regexes run only when a case-folded marker shows
    they can match (a plain substring test is far cheaper than a regex scan of a page).
    """
    folded = text.casefold()
    if any(marker in folded for marker in _PARAM_MARKERS):
        text = _PARAM_RE.sub(lambda m: m.group(1) + REDACTED, text)
    if "bearer" in folded:
        text = _BEARER_RE.sub(lambda m: m.group(1) + REDACTED, text)
    return text


class _ScrubFilter(logging.Filter):
    """urllib3 logs request lines (with query strings) at DEBUG: scrub them too."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string is not ours to fix
            return True
        record.msg, record.args = scrub_everywhere(message), None
        return True


def install_log_scrubber() -> None:
    """Attach the scrubber to the loggers that print URLs (idempotent)."""
    for name in ("urllib3.connectionpool", "urllib3", "requests"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _ScrubFilter) for f in logger.filters):
            logger.addFilter(_ScrubFilter())


# --- commenter identities -------------------------------------------------------------

SALT_FILE = ".salt"
_HASH_RE = re.compile(r"^[0-9a-f]{64}$")


def load_or_create_salt(home: Path) -> str:
    """The installation's hashing salt: created once (mode 600) so hashes stay comparable."""
    home = Path(home)
    home.mkdir(parents=True, exist_ok=True)
    path = home / SALT_FILE
    if path.exists():
        salt = path.read_text(encoding="utf-8").strip()
        if salt:
            return salt
    salt = secrets.token_hex(32)
    tmp = path.with_name(f".salt.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(salt)
        fh.flush()
        os.fsync(fh.fileno())
    try:
        os.link(tmp, path)  # fails if another process created it first: keep theirs
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)
    os.chmod(path, 0o600)
    return path.read_text(encoding="utf-8").strip()


def author_hash(identity: str, salt: str) -> str:
    """Salted SHA-256 of a commenter id; hashing a hash again returns it unchanged."""
    if _HASH_RE.match(identity):
        return identity
    return hashlib.sha256(f"{salt}:{identity}".encode()).hexdigest()


class IdentityHasher:
    """Replaces commenter identity values inside a served body (valid or truncated JSON).

    Works on text with patterns, because a truncated page cannot be parsed but must still
    never keep a clear identity. `fields` are JSON keys whose string value is an identity;
    `object_fields` are keys whose value is `{"value": "<id>"}` (YouTube authorChannelId).
    """

    def __init__(
        self, salt: str, fields: Iterable[str] = (), object_fields: Iterable[str] = ()
    ) -> None:
        self.salt = salt
        flat = "|".join(re.escape(f) for f in fields)
        nested = "|".join(re.escape(f) for f in object_fields)
        self._flat = re.compile(rf'("(?:{flat})"\s*:\s*")((?:[^"\\]|\\.)*)("|$)') if flat else None
        self._nested = (
            re.compile(rf'("(?:{nested})"\s*:\s*\{{\s*"value"\s*:\s*")((?:[^"\\]|\\.)*)("|$)')
            if nested
            else None
        )

    def _sub(self, m: re.Match[str]) -> str:
        return m.group(1) + author_hash(m.group(2), self.salt) + m.group(3)

    def text(self, body: str) -> str:
        for pattern in (self._nested, self._flat):
            if pattern is not None:
                body = pattern.sub(self._sub, body)
        return body
