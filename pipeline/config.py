"""Settings from the environment (and an optional `.env`), validated once at start.

Every variable of docs/architecture.md "Configuration" lives here. Validation errors name the
variable and the offending value or path, and say what to do next. Tokens are held in
`Secret` so that a repr, a log line or an exception never prints them.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from ingestion.limits import EXTRACT_SETTINGS, Setting
from ingestion.quota import X_TIER_POSTS_PER_MONTH, QuotaSettings
from ingestion.records import EXPORT_SCHEMAS, PLATFORMS
from ingestion.redaction import register_secrets
from ingestion.roster import RosterError, check_roster_file

DEFAULT_BASE_URLS: dict[str, str] = {
    "instagram": "https://graph.facebook.com/v24.0",
    "facebook": "https://graph.facebook.com/v24.0",
    "tiktok": "https://open.tiktokapis.com",
    "youtube": "https://www.googleapis.com/youtube/v3",
    "x": "https://api.x.com",
}
ROSTER_COLUMNS = tuple(EXPORT_SCHEMAS["roster"].names)


# Landing compaction windows (days; ingestion/compaction.py). At least 7: the days a run may
# still extract or re-land (today, yesterday) and the gate's reads stay in their own folders.
COMPACT_AFTER_DAYS = Setting("KOL_COMPACT_AFTER_DAYS", "35", int, 7, 3650)
RAW_PACK_AFTER_DAYS = Setting("KOL_RAW_PACK_AFTER_DAYS", "35", int, 7, 3650)
# The most landed days one dbt build reads (pipeline.policy.builds_through): a full refresh
# over a longer history, or a catch-up of more missed days, goes a calendar month at a time.
# 0: always one build.
BUILD_MAX_DAYS = Setting("KOL_BUILD_MAX_DAYS", "62", int, 0, 36500)
# Every numeric or choice setting besides the extraction's own (ingestion.limits); checked
# here so a bad value stops a command before any work, naming the variable.
PIPELINE_SETTINGS = (
    Setting("KOL_DUCKDB_THREADS", "2", int, 1, 1024),
    Setting("KOL_DBT_THREADS", "1", int, 1, 64),
    Setting("KOL_SENTIMENT_WORKERS", "", int, 0, 64, empty_ok=True),
    Setting("KOL_AIRFLOW_RETRIES", "3", int, 0, 20),
    Setting("KOL_DBT_UNIT_TESTS", "0", str, choices=("0", "1")),
    Setting("KOL_ENGINE", "duckdb", str, choices=("duckdb", "spark")),
    Setting("KOL_DEMO_DAILY_BUILDS", "0", str, choices=("0", "1")),
    COMPACT_AFTER_DAYS,
    RAW_PACK_AFTER_DAYS,
    BUILD_MAX_DAYS,
)
_MEMORY_RE = re.compile(r"^\d+(\.\d+)?\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", re.IGNORECASE)
# DuckDB reads landed files through glob patterns built from KOL_HOME (and a SQL string
# holds them): a home holding these would match other folders or break the statement.
_HOME_FORBIDDEN = "[]*?{}'"


class ConfigError(ValueError):
    """A setting is missing or wrong; the message names it and says how to fix it."""


class Secret:
    """A credential that never shows itself in repr/str/format."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__

    def __bool__(self) -> bool:
        return bool(self._value)


@dataclass(frozen=True)
class PlatformSettings:
    name: str
    base_url: str
    token: Secret | None = field(repr=False, default=None)

    @property
    def enabled(self) -> bool:
        return bool(self.token)


@dataclass(frozen=True)
class PostgresServingSettings:
    """PostgreSQL serving (on when KOL_SERVING_POSTGRES_URL is set): the loader's URL, which
    carries its password, and the passwords provisioning gives the BI and auditor roles."""

    url: Secret = field(repr=False)
    bi_reader_password: Secret | None = field(repr=False, default=None)
    auditor_password: Secret | None = field(repr=False, default=None)


@dataclass(frozen=True)
class Settings:
    home: Path
    roster: Path | None  # required by every command that lands data (`require_inputs`)
    exports_dir: Path | None
    platforms: dict[str, PlatformSettings]
    instagram_user_id: str | None
    env_file: Path | None = None
    today: date | None = None  # KOL_TODAY: the date the sources serve (None: today, UTC)
    quota: QuotaSettings = field(default_factory=QuotaSettings)  # KOL_* quota limits
    serving_postgres: PostgresServingSettings | None = None
    # landing compaction (ingestion/compaction.py): whole months older than these many days
    compact_after_days: int = 35  # KOL_COMPACT_AFTER_DAYS: typed records -> month files
    raw_pack_after_days: int = 35  # KOL_RAW_PACK_AFTER_DAYS: raw pages -> month packs
    # a build over more landed days than this goes a month at a time (0: never)
    build_max_days: int = 62  # KOL_BUILD_MAX_DAYS

    # Paths of docs/architecture.md "On disk"
    @property
    def landing(self) -> Path:
        return self.home / "landing"

    @property
    def warehouse(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def serving(self) -> Path:
        return self.home / "serving"

    @property
    def quality(self) -> Path:
        return self.home / "quality"

    def require_inputs(self) -> tuple[Path, Path]:
        """The roster and the exports folder; a clear error when either is not configured.

        Nothing is ever invented in their place: only `kol demo` supplies its own world."""
        missing = [
            var
            for var, value in (("KOL_ROSTER", self.roster), ("KOL_EXPORTS_DIR", self.exports_dir))
            if value is None
        ]
        if missing:
            raise ConfigError(
                f"{' and '.join(missing)} not set: point KOL_ROSTER at the roster CSV and "
                "KOL_EXPORTS_DIR at the campaign exports folder (README 'Real platform "
                "credentials'); `kol demo` runs on the sandbox world without them."
            )
        return self.roster, self.exports_dir  # type: ignore[return-value]

    def enabled_platforms(self) -> list[str]:
        return [p for p in PLATFORMS if self.platforms[p].enabled]


def _read_env_file(path: Path) -> dict[str, str]:
    from dotenv import dotenv_values

    return {k: v for k, v in dotenv_values(path).items() if v is not None}


def _check_file(var: str, raw: str) -> Path:
    path = Path(raw).expanduser()
    if not path.is_file():
        raise ConfigError(
            f"{var}={path}: file not found or not a file. Point {var} at a readable CSV."
        )
    try:
        with path.open("rb") as fh:
            fh.read(1)
    except OSError as exc:
        raise ConfigError(f"{var}={path}: cannot be read ({exc.strerror}).") from None
    return path


def _check_roster_header(path: Path) -> None:
    with path.open("r", encoding="utf-8-sig", errors="replace") as fh:
        header = [c.strip() for c in fh.readline().strip().split(",")]
    missing = [c for c in ROSTER_COLUMNS if c not in header]
    if missing:
        raise ConfigError(
            f"KOL_ROSTER={path}: header lacks {', '.join(missing)}; expected "
            f"{','.join(ROSTER_COLUMNS)}"
        )
    try:
        check_roster_file(path)
    except RosterError as exc:
        raise ConfigError(f"KOL_ROSTER={path}: {exc}") from None


def load(environ: dict[str, str] | None = None, env_file: str | Path | None = ".env") -> Settings:
    """Build Settings from `environ` (default os.environ) over an optional `.env` file.

    Real environment variables win over the file, as in every 12-factor tool.
    """
    env: dict[str, str] = {}
    file_path = Path(env_file) if env_file else None
    if file_path and file_path.is_file():
        env.update(_read_env_file(file_path))
    env.update(os.environ if environ is None else environ)

    _check_numbers(env)
    home = Path(env.get("KOL_HOME") or "./.kol").expanduser()
    if home.exists() and not home.is_dir():
        raise ConfigError(f"KOL_HOME={home}: exists and is not a directory.")
    home = home.resolve()
    _check_home(home)

    roster = None
    if env.get("KOL_ROSTER"):
        roster = _check_file("KOL_ROSTER", env["KOL_ROSTER"])
        _check_roster_header(roster)

    exports_dir = None
    if env.get("KOL_EXPORTS_DIR"):
        exports_dir = Path(env["KOL_EXPORTS_DIR"]).expanduser()
        if not exports_dir.is_dir():
            raise ConfigError(
                f"KOL_EXPORTS_DIR={exports_dir}: not a directory. It must hold brands.csv, "
                "campaigns.csv, campaign_creators.csv, conversions.csv and fx_rates.csv."
            )

    platforms: dict[str, PlatformSettings] = {}
    for p in PLATFORMS:
        key = p.upper()
        base = env.get(f"KOL_{key}_BASE_URL") or DEFAULT_BASE_URLS[p]
        if not base.startswith(("http://", "https://")):
            raise ConfigError(f"KOL_{key}_BASE_URL={base!r}: must start with http:// or https://")
        token = env.get(f"KOL_{key}_TOKEN")
        if token:
            register_secrets([token])  # no log record, manifest or ledger row can show it
        platforms[p] = PlatformSettings(
            name=p, base_url=base.rstrip("/"), token=Secret(token) if token else None
        )

    today = None
    if env.get("KOL_TODAY"):
        try:
            today = date.fromisoformat(env["KOL_TODAY"])
        except ValueError:
            raise ConfigError(
                f"KOL_TODAY={env['KOL_TODAY']!r}: not a date; use YYYY-MM-DD, or unset it "
                "(then today, UTC)."
            ) from None

    return Settings(
        home=home,
        roster=roster,
        exports_dir=exports_dir,
        platforms=platforms,
        instagram_user_id=env.get("KOL_INSTAGRAM_USER_ID") or None,
        env_file=file_path if file_path and file_path.is_file() else None,
        today=today,
        quota=_quota_settings(env),
        serving_postgres=_postgres_serving(env),
        compact_after_days=int(COMPACT_AFTER_DAYS.parse(env)),
        raw_pack_after_days=int(RAW_PACK_AFTER_DAYS.parse(env)),
        build_max_days=int(BUILD_MAX_DAYS.parse(env)),
    )


def _check_numbers(env: dict[str, str]) -> None:
    """Every numeric and choice setting, before any work: a bad one exits 2 naming it."""
    for setting in (*EXTRACT_SETTINGS, *PIPELINE_SETTINGS):
        try:
            setting.parse(env)
        except ValueError as exc:
            raise ConfigError(str(exc)) from None
    memory = (env.get("KOL_DUCKDB_MEMORY_LIMIT") or "").strip()
    if memory and not _MEMORY_RE.match(memory):
        raise ConfigError(
            f"KOL_DUCKDB_MEMORY_LIMIT={memory!r}: expected a size such as 2500MB or 4GB"
        )


def _check_home(home: Path) -> None:
    bad = sorted({c for c in str(home) if c in _HOME_FORBIDDEN})
    if bad:
        raise ConfigError(
            f"KOL_HOME={home}: holds {' '.join(bad)}. dbt reads landed files through glob "
            "patterns built from this path, where these characters would match other "
            f"folders; choose a path without any of {_HOME_FORBIDDEN}"
        )


# --- quota limits (ingestion/quota.py; docs/architecture.md "Configuration") -------------
QUOTA_INTS: dict[str, tuple[str, int, int]] = {  # variable -> (QuotaSettings field, min, max)
    "KOL_YOUTUBE_UNITS_PER_DAY": ("youtube_units_per_day", 1, 10**9),
    "KOL_TIKTOK_REQUESTS_PER_DAY": ("tiktok_requests_per_day", 1, 10**9),
    "KOL_TIKTOK_RECORDS_PER_DAY": ("tiktok_records_per_day", 1, 10**12),
    "KOL_GRAPH_CALLS_PER_HOUR": ("graph_calls_per_hour", 1, 10**9),
    "KOL_GRAPH_HOURS_PER_DAY": ("graph_hours_per_day", 1, 24),
    "KOL_X_POSTS_PER_MONTH": ("x_posts_per_month", 1, 10**12),
    "KOL_X_WINDOWS_PER_RUN": ("x_windows_per_run", 1, 96),
}


def _quota_settings(env: dict[str, str]) -> QuotaSettings:
    """The platforms' limits: the documented defaults unless a KOL_* variable says more."""
    values: dict[str, object] = {}
    for var, (name, lo, hi) in QUOTA_INTS.items():
        raw = (env.get(var) or "").strip().replace("_", "")
        if not raw:
            continue
        try:
            value = int(raw)
        except ValueError:
            value = lo - 1
        if not lo <= value <= hi:
            raise ConfigError(
                f"{var}={env[var]!r}: expected a whole number from {lo} to {hi:,}; unset it "
                "for the platform's documented default."
            )
        values[name] = value
    tier = (env.get("KOL_X_ACCESS_TIER") or "").strip().lower()
    if tier:
        if tier not in X_TIER_POSTS_PER_MONTH:
            raise ConfigError(
                f"KOL_X_ACCESS_TIER={env['KOL_X_ACCESS_TIER']!r}: expected one of "
                f"{', '.join(X_TIER_POSTS_PER_MONTH)}."
            )
        values["x_access_tier"] = tier
    return QuotaSettings(**values)  # type: ignore[arg-type]


def _postgres_serving(env: dict[str, str]) -> PostgresServingSettings | None:
    """The PostgreSQL serving settings (never echoed: the URL holds the loader's password)."""
    url = env.get("KOL_SERVING_POSTGRES_URL")
    if not url:
        return None
    if not url.startswith(("postgresql://", "postgres://")):
        raise ConfigError(
            "KOL_SERVING_POSTGRES_URL: must be a postgresql://kol_loader:PASSWORD@host:port/db "
            "URL (its value is not shown: it holds a password)."
        )
    passwords = {
        role: Secret(env[var]) if env.get(var) else None
        for role, var in (
            ("bi_reader", "KOL_SERVING_POSTGRES_BI_READER_PASSWORD"),
            ("auditor", "KOL_SERVING_POSTGRES_AUDITOR_PASSWORD"),
        )
    }
    return PostgresServingSettings(
        url=Secret(url),
        bi_reader_password=passwords["bi_reader"],
        auditor_password=passwords["auditor"],
    )


def duckdb_limits() -> dict[str, str]:
    """The memory/threads caps dbt gets (profiles.yml), for the gate's and publish's own DuckDB
    connections.

    Without them DuckDB may take 80% of RAM: publish's checksum sort of every published row and
    the copies peaked at 4.2 GB at agency size (bench), over the 4 GB a daily run may use."""
    return {
        "memory_limit": os.environ.get("KOL_DUCKDB_MEMORY_LIMIT") or "2500MB",
        "threads": os.environ.get("KOL_DUCKDB_THREADS") or "2",
    }
