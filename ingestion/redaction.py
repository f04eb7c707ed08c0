"""Keeping secrets and commenter identities out of everything that is written or logged.

Two jobs live here because both rewrite text before it leaves memory:
- `scrub` is the one place credentials are removed: every registered credential in any
  form an API or a library may echo it (literal, %-encoded, +-encoded, JSON-escaped with
  `\\/` or `\\uXXXX`, base64 at any alignment), plus credential parameters by name and
  Bearer values. Raw pages, error messages, retry reasons, manifests, the run ledger and
  every log record of every logger pass it before anything cuts them to a length.
- `IdentityHasher` replaces commenter ids (X `author_id`, YouTube `authorChannelId`) by a
  salted hash, so the warehouse can spot duplicates and bots without holding identities.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import logging
import os
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus

REDACTED = "REDACTED"
# Query parameters that carry credentials on the five platforms (Graph, YouTube, OAuth).
SECRET_PARAMS: frozenset[str] = frozenset(
    {"access_token", "key", "appsecret_proof", "client_secret", "token", "api_key"}
)
SECRET_HEADERS: frozenset[str] = frozenset({"authorization", "cookie", "set-cookie"})
MIN_SECRET = 4  # shorter values would redact ordinary words
MIN_BASE64 = 8  # a base64 fragment shorter than this is too likely to occur by chance

_PARAM_RE = re.compile(
    r"((?:\\u0026|%26|(?<![\w.-]))(?:" + "|".join(sorted(SECRET_PARAMS)) + r")=)[^&\s\"'#\\]+",
    re.IGNORECASE,
)
_BEARER_RE = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+", re.IGNORECASE)
# What `_PARAM_RE` needs to find (`name=`), case-folded like the text it is tested on.
_PARAM_MARKERS: tuple[str, ...] = tuple(f"{name}=" for name in sorted(SECRET_PARAMS))
_JSON_ESCAPES = {"\\/": "/", '\\"': '"', "\\\\": "\\"}


class _Secrets:
    """Every credential registered in this process and the forms to look for."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.values: frozenset[str] = frozenset()
        self.raw: tuple[str, ...] = ()  # searched in the text as it is
        self.decoded: tuple[str, ...] = ()  # searched once escapes are decoded
        self.plus_is_space = False
        self.escapes: tuple[re.Pattern[str], ...] = ()
        self.escapes_plus: tuple[re.Pattern[str], ...] = ()

    def add(self, values: Iterable[str]) -> None:
        with self._lock:
            new = self.values | {v for v in values if v and len(v) >= MIN_SECRET}
            if new == self.values:
                return
            raw: set[str] = set()
            decoded: set[str] = set()
            for v in new:
                raw.update(secret_forms(v))
                decoded.update({v, _utf8_as_latin1(v), _utf16_units(v), *_base64_cores(v)})
            self.raw = tuple(sorted(raw, key=len, reverse=True))
            self.decoded = tuple(sorted(decoded, key=len, reverse=True))
            self.plus_is_space = any(" " in v for v in new)
            # only escapes of characters a credential holds can be part of one
            chars = set("".join(decoded)) | {"\\", "%"}
            self.escapes = _escape_re(chars, plus=False)
            self.escapes_plus = _escape_re(chars, plus=True)
            self.values = frozenset(new)

    def scrub(self, text: str) -> str:
        if not isinstance(text, str):
            text = str(text)
        spans = _find(text, self.raw)
        if self.decoded and ("%" in text or "\\" in text or "+" in text):
            spans.extend(_find_decoded(text, self.decoded, self.escapes))
            if self.plus_is_space:  # "+" may be a space (a query) or itself (JSON, base64)
                spans.extend(_find_decoded(text, self.decoded, self.escapes_plus))
        if spans:
            text = _replace(text, spans)
        return _scrub_patterns(text)


_SECRETS = _Secrets()


def register_secrets(values: Iterable[str]) -> None:
    """Make credentials known to `scrub` (and so to every log record) for this process."""
    _SECRETS.add(values)
    install_log_redaction()


def secret_forms(value: str) -> set[str]:
    """The literal strings a credential can be echoed as: itself, URL- and plus-encoded,
    JSON-escaped (with and without `\\/`), and its base64 fragments. `scrub` also finds
    mixed and `\\uXXXX`-escaped forms; this list is for maskers that match literally."""
    json_form = _json(value)
    return {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json_form,
        json_form.replace("/", "\\/"),
        *_base64_cores(value),
    }


def _utf8_as_latin1(value: str) -> str:
    """How %-escapes of the UTF-8 bytes read once decoded one byte at a time."""
    return value.encode("utf-8").decode("latin-1")


def _utf16_units(value: str) -> str:
    """How \\uXXXX escapes read once decoded: a character beyond U+FFFF is a surrogate pair."""
    units = value.encode("utf-16-be", "surrogatepass")
    return "".join(chr(int.from_bytes(units[i : i + 2], "big")) for i in range(0, len(units), 2))


def _json(value: str) -> str:
    return json.dumps(value)[1:-1]


def _base64_cores(value: str) -> set[str]:
    """The base64 characters that depend only on `value`, at each of the three byte
    alignments it can have inside a longer encoded string (standard and URL-safe)."""
    data = value.encode("utf-8")
    cores = set()
    for offset, drop in ((0, 0), (1, 2), (2, 3)):
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii").rstrip("=")
        core = encoded[drop:]
        if (offset + len(data)) % 3:
            core = core[:-1]  # the last character mixes in whatever byte follows
        if len(core) >= MIN_BASE64:
            cores.update({core, core.replace("+", "-").replace("/", "_")})
    return cores


def scrub(text: str) -> str:
    """`text` without any credential registered in this process (in any form) or any
    credential parameter or Bearer value."""
    return _SECRETS.scrub(text)


def scrub_value(value: Any) -> Any:
    """Scrub every string (and key) inside a JSON-like value: manifests, ledger rows."""
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, Mapping):
        return {scrub(k) if isinstance(k, str) else k: scrub_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [scrub_value(v) for v in value]
    return value


def _find(text: str, needles: tuple[str, ...]) -> list[tuple[int, int]]:
    spans = []
    for needle in needles:
        start = text.find(needle)
        while start != -1:
            spans.append((start, start + len(needle)))
            start = text.find(needle, start + 1)
    return spans


def _find_decoded(
    text: str, needles: tuple[str, ...], escapes: tuple[re.Pattern[str], ...], levels: int = 3
) -> list[tuple[int, int]]:
    """Spans of the original text that decode (%HH, \\uXXXX, \\/, +) to a credential,
    through up to `levels` nested encodings (a JSON-escaped token echoed in a JSON body)."""
    spans = []
    maps: list[Callable[[int, int], tuple[int, int]]] = []
    current = text
    for _ in range(levels):
        step = _decode(current, escapes)
        if step is None:
            break
        current, to_previous = step
        maps.append(to_previous)
        for a, b in _find(current, needles):
            for back in reversed(maps):
                a, b = back(a, b)
            spans.append((a, b))
    return spans


def _escape_re(chars: set[str], plus: bool) -> tuple[re.Pattern[str], ...]:
    """Escapes (%HH, \\uXXXX, \\/ \\" \\\\, and + when `plus`) of these characters only:
    the others stay as they are, so a page full of escaped accents costs no decoding. One
    pattern per kind, each starting with a literal, which the regex engine scans for fast."""
    hexes = sorted({f"{ord(c):02x}" for c in chars if ord(c) < 256})
    wide = sorted({f"{ord(c):04x}" for c in chars if ord(c) < 0x10000})
    parts = [
        "%(?i:" + "|".join(hexes) + ")",
        r"\\u(?i:" + "|".join(wide) + ")",
        r"\\[/\"\\]",
    ]
    if plus:
        parts.append(r"\+")
    return tuple(re.compile(p) for p in parts)


def _decode(
    text: str, escapes: tuple[re.Pattern[str], ...]
) -> tuple[str, Callable[[int, int], tuple[int, int]]] | None:
    """`text` with one level of `escapes` decoded, and a map from decoded spans back to
    `text` (None when there is nothing to decode)."""
    pieces: list[str] = []
    dec_starts: list[int] = []  # where each piece starts in the decoded text
    orig_starts: list[int] = []  # ... and in `text`
    escaped: list[bool] = []
    pos = dec = 0
    found = sorted((m for pattern in escapes for m in pattern.finditer(text)), key=_start)
    for m in found:
        if m.start() < pos:  # inside an earlier escape (the "\\\\" of "\\\\u0041")
            continue
        char = _unescape(m.group())
        if m.start() > pos:
            pieces.append(text[pos : m.start()])
            dec_starts.append(dec)
            orig_starts.append(pos)
            escaped.append(False)
            dec += m.start() - pos
        pieces.append(char)
        dec_starts.append(dec)
        orig_starts.append(m.start())
        escaped.append(True)
        dec += 1
        pos = m.end()
    if not pieces:
        return None
    pieces.append(text[pos:])
    dec_starts.append(dec)
    orig_starts.append(pos)
    escaped.append(False)
    ends = [*orig_starts[1:], len(text)]

    def orig(d: int, end: bool) -> int:
        i = bisect.bisect_right(dec_starts, d) - 1
        if escaped[i]:
            return ends[i] if end else orig_starts[i]
        return orig_starts[i] + (d - dec_starts[i]) + (1 if end else 0)

    return "".join(pieces), lambda a, b: (orig(a, False), orig(b - 1, True))


def _start(match: re.Match[str]) -> int:
    return match.start()


def _unescape(escape: str) -> str:
    if escape == "+":
        return " "
    if escape[0] == "%":
        return chr(int(escape[1:], 16))
    if escape.startswith("\\u"):
        return chr(int(escape[2:], 16))
    return _JSON_ESCAPES[escape]


def _replace(text: str, spans: list[tuple[int, int]]) -> str:
    merged: list[list[int]] = []
    for a, b in sorted(spans):
        if merged and a <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    out, pos = [], 0
    for a, b in merged:
        out.append(text[pos:a])
        out.append(REDACTED)
        pos = b
    out.append(text[pos:])
    return "".join(out)


class Redactor:
    """Scrubs one client's credentials out of strings, URLs, params and headers.

    What it scrubs is what `scrub` scrubs, for its own values; log records, manifests and
    the ledger go through `scrub`, which knows every credential `register_secrets` was
    given (the settings register all configured ones, an extraction its own)."""

    def __init__(self, secret_values: Iterable[str]) -> None:
        self._secrets = _Secrets()
        self._secrets.add(secret_values)

    def text(self, value: str) -> str:
        return self._secrets.scrub(value)

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


# --- log records --------------------------------------------------------------------

_FACTORY_LOCK = threading.Lock()
_installed = False


def scrub_record(record: logging.LogRecord) -> None:
    """Format the record's message (and traceback) now, scrubbed; handlers print that."""
    try:
        message = record.getMessage()
    except Exception:  # a broken format string is not ours to fix
        message = str(record.msg)
    record.msg, record.args = scrub(message), None
    if record.exc_info and record.exc_info[0] is not None:
        record.exc_text = scrub(logging.Formatter().formatException(record.exc_info))
        record.exc_info = None
    elif record.exc_text:
        record.exc_text = scrub(record.exc_text)
    if record.stack_info:
        record.stack_info = scrub(record.stack_info)


def install_log_redaction() -> None:
    """Scrub every log record of every logger as it is created (idempotent).

    A filter on a logger is not consulted for its children's records (`urllib3.poolmanager`
    logs redirect URLs with `access_token`); the record factory sees every record.
    """
    global _installed
    with _FACTORY_LOCK:
        if _installed:
            return
        previous = logging.getLogRecordFactory()

        def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
            record = previous(*args, **kwargs)
            scrub_record(record)
            return record

        logging.setLogRecordFactory(factory)
        _installed = True


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
