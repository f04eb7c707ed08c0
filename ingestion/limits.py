"""Numeric and choice settings read from the environment, and the extraction's own.

A `Setting` is a variable's one rule (type, range or choices, default). `pipeline.config`
checks every one of them before a command does any work (a bad value exits 2 naming the
variable and what it expects); the extraction reads its own here with the same rule.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from ingestion.http.retry import DEFAULT_DEADLINE, DEFAULT_MAX_BODY_MB, MIB, RetryPolicy


@dataclass(frozen=True)
class Setting:
    """One environment variable: a whole number or number in a range, or one of `choices`.
    An unset or empty variable means the default."""

    name: str
    default: str
    kind: type = int  # int | float | str (str: one of `choices`)
    low: float | None = None
    high: float | None = None
    choices: tuple[str, ...] = ()
    empty_ok: bool = False  # "" is its own meaning (e.g. "one per core"), not the default

    def expected(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        what = "a whole number" if self.kind is int else "a number"
        return f"{what} from {self.low:.15g} to {self.high:.15g}"

    def parse(self, env: Mapping[str, str]) -> int | float | str:
        """The value, or ValueError naming the variable, the value and what is expected."""
        raw = (env.get(self.name) or "").strip()
        if not raw:
            raw = self.default
        if self.choices:
            if raw not in self.choices:
                raise ValueError(f"{self.name}={raw!r}: expected {self.expected()}")
            return raw
        if raw == "" and self.empty_ok:
            return raw
        try:
            value = self.kind(raw)
        except ValueError:
            raise ValueError(f"{self.name}={raw!r}: expected {self.expected()}") from None
        if value != value or not (self.low <= value <= self.high):  # NaN fails too
            raise ValueError(f"{self.name}={raw!r}: expected {self.expected()}")
        return value


DEFAULT_WORKERS = 4  # accounts of one platform fetched at once
WORKERS = Setting("KOL_EXTRACT_WORKERS", str(DEFAULT_WORKERS), int, 1, 64)
# A page cap per account across all its paging chains. The largest documented need: an X
# account posting 50 times a day (45 timeline pages over 90 days) with 350 recent posts of
# 5 reply pages each (1,750): 5,000 leaves room and still stops a runaway cursor.
MAX_PAGES = Setting("KOL_MAX_PAGES_PER_ACCOUNT", "5000", int, 1, 1_000_000)
# One request, connect to last body byte, however slowly it drips.
DEADLINE = Setting("KOL_HTTP_DEADLINE_SECONDS", f"{DEFAULT_DEADLINE:g}", float, 1, 3600)
# Largest body read, in MiB.
MAX_BODY_MB = Setting("KOL_HTTP_MAX_BODY_MB", str(DEFAULT_MAX_BODY_MB), int, 1, 1024)
# Instagram insights are asked for a media this young, and later only when its public
# counts changed since its last landing. Meta gives no shorter life to a media's insights
# than the media's own; its counts settle within days (metrics arrive up to 48 h late), so
# a week of daily insights, then change-driven ones, keeps every moving value.
DEFAULT_INSIGHTS_DAYS = 7
INSIGHTS_DAYS = Setting("KOL_INSTAGRAM_INSIGHTS_DAYS", str(DEFAULT_INSIGHTS_DAYS), int, 1, 730)
EXTRACT_SETTINGS = (WORKERS, MAX_PAGES, DEADLINE, MAX_BODY_MB, INSIGHTS_DAYS)


def workers_from_env(environ: Mapping[str, str] | None = None) -> int:
    return int(WORKERS.parse(os.environ if environ is None else environ))


def max_pages_from_env(environ: Mapping[str, str] | None = None) -> int:
    return int(MAX_PAGES.parse(os.environ if environ is None else environ))


def insights_days_from_env(environ: Mapping[str, str] | None = None) -> int:
    return int(INSIGHTS_DAYS.parse(os.environ if environ is None else environ))


def policy_from_env(environ: Mapping[str, str] | None = None) -> RetryPolicy:
    """The production retry policy with the deadline and body cap of the environment."""
    env = os.environ if environ is None else environ
    return RetryPolicy(
        deadline=float(DEADLINE.parse(env)), max_body_bytes=int(MAX_BODY_MB.parse(env)) * MIB
    )
