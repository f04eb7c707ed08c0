"""Fault injection: which requests fail, how, and deterministically.

A spec string `"rate_limit=0.2,server_error=0.05,glitch"` (mode[=rate], rate 0..1, bare
mode = 1.0) plus numeric settings (`slow_seconds=0.2`, `timeout_seconds=10`,
`quota_after=200`, `seed=7`). A request can also force modes with the header
`X-Sandbox-Fault: mode[,mode...]`.

Draws are a hash of (fault seed, mode, the request without credentials, how many times that
same request was seen): the same run of requests fails the same way however threads
interleave, and a retry of a failed request gets a fresh draw.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import date

from sandbox._rng import str_key, unit

# Modes that replace the response (first drawn wins, in this order).
RESPONSE_MODES = (
    "quota",
    "rate_limit",
    "server_error",
    "no_comment_access",
    "truncated",
    "timeout",
    "slow",
)
# Modes that alter the content of a normal response (all drawn ones apply).
CONTENT_MODES = ("drift_rename", "drift_remove", "drift_add", "glitch")
MODES = RESPONSE_MODES + CONTENT_MODES
SETTINGS = ("slow_seconds", "timeout_seconds", "quota_after", "seed")
FAULT_HEADER = "X-Sandbox-Fault"


@dataclass(frozen=True)
class FaultConfig:
    """Rates per fault mode and the knobs of the delaying / quota modes."""

    rates: dict[str, float] = field(default_factory=dict)
    slow_seconds: float = 0.3
    timeout_seconds: float = 10.0
    quota_after: int | None = None  # requests per platform per clock day before quota errors
    seed: int = 0

    @classmethod
    def parse(cls, spec: str | None) -> FaultConfig:
        """Parse `mode[=rate],...` and `setting=value`; ValueError names the bad item."""
        rates: dict[str, float] = {}
        settings: dict[str, float] = {}
        for raw in (spec or "").split(","):
            item = raw.strip()
            if not item:
                continue
            name, sep, value = (s.strip() for s in item.partition("="))
            if name in SETTINGS:
                if not sep:
                    raise ValueError(f"fault setting {name!r} needs a value ({name}=N)")
                try:
                    settings[name] = float(value)
                except ValueError:
                    raise ValueError(f"fault setting {name}={value!r} is not a number") from None
                continue
            if name not in MODES:
                raise ValueError(
                    f"unknown fault mode {name!r}; modes: {', '.join(MODES)}; "
                    f"settings: {', '.join(SETTINGS)}"
                )
            try:
                rate = float(value) if sep else 1.0
            except ValueError:
                raise ValueError(f"fault rate {item!r} is not a number in 0..1") from None
            if not 0.0 <= rate <= 1.0:
                raise ValueError(f"fault rate {item!r} must be between 0 and 1")
            rates[name] = rate
        quota_after = settings.get("quota_after")
        return cls(
            rates=rates,
            slow_seconds=settings.get("slow_seconds", 0.3),
            timeout_seconds=settings.get("timeout_seconds", 10.0),
            quota_after=int(quota_after) if quota_after is not None else None,
            seed=int(settings.get("seed", 0)),
        )

    def spec(self) -> str:
        """The spec string this config parses from (round trip)."""
        parts = [f"{m}={r:g}" for m, r in self.rates.items()]
        parts += [
            f"slow_seconds={self.slow_seconds:g}",
            f"timeout_seconds={self.timeout_seconds:g}",
        ]
        if self.quota_after is not None:
            parts.append(f"quota_after={self.quota_after}")
        parts.append(f"seed={self.seed}")
        return ",".join(parts)


def header_modes(value: str | None) -> set[str]:
    """Modes forced by the `X-Sandbox-Fault` header; ValueError on an unknown one."""
    modes = {m.strip() for m in (value or "").split(",") if m.strip()}
    bad = modes - set(MODES)
    if bad:
        raise ValueError(f"unknown {FAULT_HEADER} mode(s) {sorted(bad)}; modes: {', '.join(MODES)}")
    return modes


@dataclass
class Decision:
    response_mode: str | None  # replaces the response (or delays it)
    content_modes: set[str]  # alter the normal response
    variant: float  # a second draw the platform uses to vary the fault (status, error code)


class FaultPlan:
    """Decides, per request, which faults apply; tracks sticky quota exhaustion per day."""

    def __init__(self, cfg: FaultConfig | None) -> None:
        self.cfg = cfg or FaultConfig()
        self._seen: dict[int, int] = {}
        self._requests: dict[tuple[str, date], int] = {}
        self._exhausted: set[tuple[str, date]] = set()
        self._lock = threading.Lock()

    def decide(self, platform: str, key: int, clock: date, forced: set[str]) -> Decision:
        cfg = self.cfg
        with self._lock:
            attempt = self._seen.get(key, 0)
            self._seen[key] = attempt + 1
            day = (platform, clock)
            self._requests[day] = self._requests.get(day, 0) + 1
            over = cfg.quota_after is not None and self._requests[day] > cfg.quota_after
            drawn_quota = self._draw("quota", key, attempt)
            if over or drawn_quota:
                self._exhausted.add(day)
            exhausted = day in self._exhausted
        base = str_key(platform) ^ key
        response_mode = None
        if exhausted:
            response_mode = "quota"
        else:
            for mode in RESPONSE_MODES:
                if mode in forced or (mode != "quota" and self._draw(mode, key, attempt)):
                    response_mode = mode
                    break
        content = {m for m in CONTENT_MODES if m in forced}
        for mode in CONTENT_MODES:
            rate = cfg.rates.get(mode, 0.0)
            if mode == "glitch":  # a glitch hits a whole day, not single requests
                if rate > 0 and unit(cfg.seed, str_key(mode), clock.toordinal()) < rate:
                    content.add(mode)
            elif self._draw(mode, key, attempt):
                content.add(mode)
        return Decision(response_mode, content, unit(cfg.seed, base, attempt, 17))

    def _draw(self, mode: str, key: int, attempt: int) -> bool:
        rate = self.cfg.rates.get(mode, 0.0)
        return rate > 0 and unit(self.cfg.seed, str_key(mode), key, attempt) < rate

    def reset_day(self) -> None:
        """Quotas reset when the clock moves (a new day at the platform)."""
        with self._lock:
            self._exhausted.clear()
            self._requests.clear()


# Schema drift: in every record-like object, the first of these keys present is renamed
# (or removed); drift_add puts a new field into every record-like object.
DRIFT_KEYS = (
    "followers_count",
    "follower_count",
    "subscriberCount",
    "fan_count",
    "like_count",
    "likeCount",
    "view_count",
    "viewCount",
    "reactions",
    "text",
    "textDisplay",
    "message",
    "caption",
    "video_description",
)
DRIFT_RENAMES = {
    "followers_count": "followers_total",
    "follower_count": "followers",
    "subscriberCount": "subscribersCount",
    "fan_count": "fans_count",
    "like_count": "likes_count",
    "likeCount": "likesCount",
    "view_count": "views_count",
    "viewCount": "viewsCount",
    "reactions": "reactions_v2",
    "text": "text_content",
    "textDisplay": "displayText",
    "message": "message_text",
    "caption": "caption_text",
    "video_description": "description",
}
DRIFT_ADDED_FIELD = "sandbox_new_field"


def apply_drift(body: object, modes: set[str]) -> object:
    """Rename / remove / add fields in every record-like dict of a response body."""
    if isinstance(body, list):
        for item in body:
            apply_drift(item, modes)
    elif isinstance(body, dict):
        for value in list(body.values()):
            apply_drift(value, modes)
        key = next((k for k in DRIFT_KEYS if k in body), None)
        if key is not None:
            if "drift_rename" in modes:
                body[DRIFT_RENAMES[key]] = body.pop(key)
            elif "drift_remove" in modes:
                del body[key]
        if "drift_add" in modes and (key is not None or "id" in body):
            body[DRIFT_ADDED_FIELD] = {"added_by": "sandbox drift", "value": 1}
    return body
