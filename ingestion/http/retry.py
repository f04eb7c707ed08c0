"""How patient a client is: bounded attempts, backoff with jitter, and the platforms' own
"wait this long" headers (Retry-After, X's reset, Graph's usage percentages)."""

from __future__ import annotations

import email.utils
import json
import random
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

MIB = 1024 * 1024
DEFAULT_DEADLINE = 120.0  # seconds for one request, connect to last body byte
DEFAULT_MAX_BODY_MB = 32  # a documented page is well under 1 MiB


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, waits and per-request limits. Tests shrink the waits; production keeps the
    defaults (the deadline and body cap come from `ingestion.limits`)."""

    max_attempts: int = 5
    backoff_base: float = 1.0  # first backoff in seconds, doubled per attempt, plus jitter
    max_wait: float = 900.0  # cap on any single wait (X windows are 15 min; tests use less)
    connect_timeout: float = 5.0
    read_timeout: float = 30.0  # longest silence between two reads of one answer
    deadline: float = DEFAULT_DEADLINE  # however slowly the body drips
    max_body_bytes: int = DEFAULT_MAX_BODY_MB * MIB
    usage_threshold: float = 90.0  # Graph usage headers above this percent -> pause
    usage_pause: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        base = self.backoff_base * (2 ** (attempt - 1))
        return min(base + rng.uniform(0, base), self.max_wait)


@dataclass(frozen=True)
class Retry:
    """A classifier's verdict that the exchange should be retried (maybe after `wait`)."""

    reason: str
    wait: float | None = None


def header(headers: Mapping[str, str], name: str) -> str | None:
    """A header by lower-case name from any mapping (raw pages keep plain dicts)."""
    for k, v in headers.items():
        if k.lower() == name:
            return v
    return None


def wait_hint(headers: Mapping[str, str], now: float) -> float | None:
    """Seconds the platform asked us to wait: Retry-After, then X's x-rate-limit-reset."""
    retry_after = header(headers, "retry-after")
    if retry_after:
        try:
            return max(0.0, float(retry_after))
        except ValueError:
            try:
                when = email.utils.parsedate_to_datetime(retry_after)
                return max(0.0, when.timestamp() - now)
            except (TypeError, ValueError):
                pass
    reset = header(headers, "x-rate-limit-reset")
    if reset:
        try:
            return max(0.0, float(reset) - now) + 1.0
        except ValueError:
            pass
    return None


def graph_usage(headers: Mapping[str, str]) -> tuple[float, float | None]:
    """Highest usage percent in X-App-Usage / X-Business-Use-Case-Usage, and regain time."""
    highest, regain = 0.0, None
    for name in ("x-app-usage", "x-business-use-case-usage"):
        raw = header(headers, name)
        if not raw:
            continue
        try:
            data = json.loads(raw)
        except ValueError:
            continue
        entries: list[Any] = [data]
        if isinstance(data, dict) and name == "x-business-use-case-usage":
            entries = [e for v in data.values() if isinstance(v, list) for e in v]
        for entry in entries:
            if not isinstance(entry, dict):
                continue
            for key in ("call_count", "total_cputime", "total_time"):
                value = entry.get(key)
                if isinstance(value, int | float):
                    highest = max(highest, float(value))
            minutes = entry.get("estimated_time_to_regain_access")
            if isinstance(minutes, int | float) and minutes > 0:
                regain = max(regain or 0.0, float(minutes) * 60)
    return highest, regain
