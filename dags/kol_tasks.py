"""The Airflow glue of the two DAGs: run dates, assets, pools, Connections -> Settings,
callbacks, the ledger row of a transform run.

The DAG files beside this one stay thin tables of contents; what they need from Airflow lives
here as small functions of plain values, so it is unit-tested without a scheduler. What a
date's run does is decided by `pipeline.policy`, exactly as for the `kol` CLI; the work
itself is `pipeline.steps`.

Run date D. Airflow 3 cron runs have a logical date (the trigger time) and no data interval:
the run triggered at D+1 00:00 UTC processes D = logical date - 1 day. A manual trigger with
conf {"date": "YYYY-MM-DD"} overrides. Asset-triggered runs (kol_transform) have no logical
date at all: D travels in each landing asset event's `extra` ({"date": D, "status": ...}).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from airflow.sdk import Asset, AssetAll, Param

from ingestion.records import PLATFORMS
from pipeline import config, policy
from pipeline.config import PlatformSettings, Secret, Settings
from pipeline.policy import SOURCES
from pipeline.run_ledger import RunSummary, source_counts
from pipeline.state import read_state

log = logging.getLogger("kol.airflow")

WAREHOUSE_POOL = "kol_warehouse"
WAREHOUSE_QUEUE = os.environ.get("KOL_WAREHOUSE_QUEUE") or "default"
"""Celery queue of the writer tasks: the one worker on the machine holding warehouse.duckdb."""
LOCK_WAIT_SECONDS = 300.0  # a `kol` CLI run may hold KOL_HOME; wait for it, then retry


def platform_pool(platform: str) -> str:
    """One pool per platform (1 slot): its rate limit is shared by every run and backfill."""
    return f"kol_{platform}"


POOLS: dict[str, tuple[int, str]] = {
    **{
        platform_pool(p): (1, f"{p} API calls: one extract at a time shares its rate limit")
        for p in PLATFORMS
    },
    WAREHOUSE_POOL: (1, "the single writer of warehouse.duckdb and serving/"),
}

LANDING_URI = "kol://landing/{source}"
MARTS_URI = "kol://serving/marts"


def landing_asset(source: str) -> Asset:
    """What kol_extract lands for one source; each event's extra carries D (see `Landed`)."""
    return Asset(name=f"kol_landing_{source}", uri=LANDING_URI.format(source=source))


MARTS = Asset(name="kol_serving_marts", uri=MARTS_URI)
ALL_LANDED = AssetAll(*(landing_asset(s) for s in SOURCES))


def date_param(description: str) -> Param:
    """The trigger form's date field (conf {"date": "YYYY-MM-DD"})."""
    return Param(None, type=["null", "string"], format="date", description=description)


def connection_id(platform: str) -> str:
    return f"kol_{platform}"


# --- run dates -------------------------------------------------------------------------------


class RunDateError(ValueError):
    """No run date could be derived, or the one given is not a date."""


def date_from_logical_date(logical_date: datetime) -> date:
    """The scheduled run at D+1 00:00 UTC (any time on D+1) processes D."""
    if logical_date.tzinfo is None:
        raise RunDateError(f"logical date {logical_date} has no timezone; expected UTC")
    return logical_date.astimezone(UTC).date() - timedelta(days=1)


def date_from_conf(conf: Mapping[str, Any] | None) -> date | None:
    """A manual trigger's {"date": "YYYY-MM-DD"}, or None when the conf names no date."""
    raw = (conf or {}).get("date")
    if raw in (None, ""):
        return None
    try:
        return date.fromisoformat(str(raw))
    except ValueError:
        raise RunDateError(
            f'conf {{"date": {raw!r}}} is not a date: trigger with {{"date": "YYYY-MM-DD"}}'
        ) from None


def extract_run_date(conf: Mapping[str, Any] | None, logical_date: datetime | None) -> date:
    """D for kol_extract: the conf's date if given, else logical date - 1 day."""
    if (d := date_from_conf(conf)) is not None:
        return d
    if logical_date is None:
        raise RunDateError(
            'this run has no logical date: trigger it with conf {"date": "YYYY-MM-DD"}'
        )
    return date_from_logical_date(logical_date)


@dataclass(frozen=True)
class Landed:
    """What one landing asset event says: which source, which date, how it went."""

    source: str
    run_date: date
    status: str
    reason: str = ""
    run_id: str = ""
    counts: dict[str, Any] = field(default_factory=dict)

    def as_extra(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "date": self.run_date.isoformat(),
            "status": self.status,
            "reason": self.reason,
            "run_id": self.run_id,
            "counts": self.counts,
        }


def landed_from_extra(source: str, extra: Mapping[str, Any] | None) -> Landed | None:
    """Parse one event's extra; None (logged) when it carries no date, e.g. a manual event."""
    extra = extra or {}
    try:
        d = date.fromisoformat(str(extra["date"]))
    except (KeyError, ValueError):
        log.warning("landing event for %s carries no valid date (extra=%s): ignored", source, extra)
        return None
    return Landed(
        source=str(extra.get("source") or source),
        run_date=d,
        status=str(extra.get("status") or "unknown"),
        reason=str(extra.get("reason") or ""),
        run_id=str(extra.get("run_id") or ""),
        counts=dict(extra.get("counts") or {}),
    )


def source_of_uri(uri: str) -> str | None:
    prefix = LANDING_URI.format(source="")
    return uri.removeprefix(prefix) if uri.startswith(prefix) else None


@dataclass(frozen=True)
class TransformPlan:
    """What kol_transform builds: the date D, what each source said, and what to tell a reader."""

    run_date: date
    sources: dict[str, Landed]
    notes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "date": self.run_date.isoformat(),
            "sources": {s: got.as_extra() for s, got in self.sources.items()},
            "notes": list(self.notes),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> TransformPlan:
        sources = {s: landed_from_extra(s, e) for s, e in (d.get("sources") or {}).items()}
        return cls(
            run_date=date.fromisoformat(d["date"]),
            sources={s: got for s, got in sources.items() if got is not None},
            notes=tuple(d.get("notes") or ()),
        )

    def describe(self) -> str:
        parts = []
        for s in SOURCES:
            got = self.sources.get(s)
            if got is None:
                parts.append(f"{s} none")
            elif got.run_date != self.run_date:
                parts.append(f"{s} nothing for {self.run_date} (latest {got.run_date})")
            else:
                parts.append(f"{s} {got.status}" + (f" ({got.reason})" if got.reason else ""))
        return f"D={self.run_date}: " + "; ".join(parts)


def plan_from_events(events: Iterable[tuple[str, Mapping[str, Any] | None]]) -> TransformPlan:
    """D = the latest date any landing event carries; each source's latest event is kept.

    Events for several dates arrive together when extract runs finished faster than the
    scheduler created transform runs (a quick backfill): the marts as of the latest date are
    built from every landed day, so earlier dates are covered, and the plan says so.
    """
    latest: dict[str, Landed] = {}
    dates: set[date] = set()
    for source, extra in events:
        got = landed_from_extra(source, extra)
        if got is None:
            continue
        dates.add(got.run_date)
        if source not in latest or got.run_date >= latest[source].run_date:
            latest[source] = got
    if not dates:
        raise RunDateError(
            "no landing event carries a date: trigger kol_transform with conf "
            '{"date": "YYYY-MM-DD"}'
        )
    d = max(dates)
    notes = []
    if len(dates) > 1:
        earlier = ", ".join(x.isoformat() for x in sorted(dates - {d}))
        notes.append(f"events also for {earlier}: the marts as of {d} include those landed days")
    for s in SOURCES:
        got = latest.get(s)
        if got is None or got.run_date != d:
            notes.append(f"{s}: nothing landed for {d} in this run's events")
    return TransformPlan(run_date=d, sources=latest, notes=tuple(notes))


def plan_from_manifests(settings: Settings, run_date: date) -> TransformPlan:
    """A manual kol_transform run for D: what each source landed, read from its manifest."""
    mdir = settings.landing / "manifests" / f"dt={run_date.isoformat()}"
    sources: dict[str, Landed] = {}
    notes = []
    for s in SOURCES:
        try:
            m = json.loads((mdir / f"{s}.json").read_text())
        except (OSError, ValueError):
            notes.append(f"{s}: no manifest for {run_date}")
            continue
        sources[s] = landed_from_manifest(s, run_date, m)
    return TransformPlan(run_date=run_date, sources=sources, notes=tuple(notes))


def landed_from_manifest(source: str, run_date: date, manifest: Mapping[str, Any]) -> Landed:
    return Landed(
        source=source,
        run_date=run_date,
        status=str(manifest.get("status") or "unknown"),
        reason=str(manifest.get("reason") or ""),
        run_id=str(manifest.get("run_id") or ""),
        counts=source_counts(dict(manifest)),
    )


def triggering_events(context: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any] | None]]:
    """(source, extra) of every landing event that triggered this run (empty when none did)."""
    out = []
    accessor = context.get("triggering_asset_events") or {}
    for asset, events in accessor.items():
        source = source_of_uri(getattr(asset, "uri", "") or "")
        if source is None:
            continue
        out.extend((source, getattr(e, "extra", None)) for e in events)
    return out


def transform_plan(context: Mapping[str, Any], settings: Settings) -> TransformPlan:
    """conf {"date"} wins; else the triggering landing events; else say how to trigger."""
    dag_run = context.get("dag_run")
    if (d := date_from_conf(getattr(dag_run, "conf", None))) is not None:
        return plan_from_manifests(settings, d)
    return plan_from_events(triggering_events(context))


def kol_run_id(run_date: date, dag_id: str, airflow_run_id: str, run_after: datetime) -> str:
    """The CLI's run-id shape (`20261124-T000000-3fa9c2`), stable across retries of a run.

    Airflow run ids hold ':' and '+', which do not belong in landing paths.
    """
    digest = hashlib.sha1(f"{dag_id}/{airflow_run_id}".encode()).hexdigest()[:6]
    return f"{run_date:%Y%m%d}-T{run_after.astimezone(UTC):%H%M%S}-{digest}"


def kol_run_id_from_context(context: Mapping[str, Any], run_date: date) -> str:
    dr = context["dag_run"]
    run_after = getattr(dr, "run_after", None) or datetime.now(UTC)
    return kol_run_id(run_date, dr.dag_id, dr.run_id, run_after)


# --- Connections -> Settings -----------------------------------------------------------------


ConnectionGetter = Callable[[str], Any]


def base_url_from_connection(conn: Any) -> str | None:
    """extra.base_url wins; else host (+port, +schema as the path, e.g. from a URI).

    `schema` of "http"/"https" is read as the URL scheme (the HTTP-connection habit);
    anything else is the API's path prefix (`https://host/youtube/v3` parses to schema
    `youtube/v3`).
    """
    extra = _extra(conn)
    if extra.get("base_url"):
        return str(extra["base_url"]).rstrip("/")
    host = (conn.host or "").strip()
    if not host:
        return None
    schema = (conn.schema or "").strip().strip("/")
    if "://" in host:
        scheme, rest = host.split("://", 1)
    else:
        scheme, rest = "https", host
        if conn.conn_type in ("http", "https"):
            scheme = conn.conn_type
    path = ""
    if schema in ("http", "https"):
        scheme = schema
    elif schema:
        path = "/" + schema
    netloc, _, host_path = rest.partition("/")
    if conn.port and ":" not in netloc:
        netloc = f"{netloc}:{conn.port}"
    full_path = "/".join(x for x in (host_path.strip("/"), path.strip("/")) if x)
    return f"{scheme}://{netloc}" + (f"/{full_path}" if full_path else "")


def _extra(conn: Any) -> dict[str, Any]:
    try:
        return dict(conn.extra_dejson or {})
    except (AttributeError, TypeError, ValueError):
        return {}


def _airflow_connection(conn_id: str) -> Any | None:
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        return Connection.get(conn_id)
    except AirflowNotFoundException:
        return None


def _mask(secret: str) -> None:
    """Tell Airflow's log masker about a token in every form it can be echoed as, so no task
    log line can show it (Airflow matches literally; our own records pass `scrub` too)."""
    try:
        from airflow.sdk.log import mask_secret
    except ImportError:  # pragma: no cover - airflow is a dependency
        return
    from ingestion.redaction import register_secrets, secret_forms

    register_secrets([secret])
    for form in secret_forms(secret):
        mask_secret(form)


def settings_from_airflow(
    platforms: Sequence[str] = PLATFORMS,
    *,
    environ: Mapping[str, str] | None = None,
    env_file: str | Path | None = ".env",
    get_connection: ConnectionGetter | None = None,
) -> Settings:
    """Settings from the environment, then each platform's Connection `kol_<p>` on top.

    A Connection's password (token), base URL and, for Instagram, extra `user_id` win over
    KOL_<P>_* variables; anything the Connection leaves empty falls back to the environment.
    Only the named platforms are looked up: a transform task never touches a credential.
    """
    base = config.load(None if environ is None else dict(environ), env_file=env_file)
    getter = get_connection or _airflow_connection
    plats = dict(base.platforms)
    ig_user = base.instagram_user_id
    for p in platforms:
        conn = getter(connection_id(p))
        if conn is None:
            continue
        token = conn.password or ""
        plats[p] = PlatformSettings(
            name=p,
            base_url=base_url_from_connection(conn) or base.platforms[p].base_url,
            token=Secret(token) if token else base.platforms[p].token,
        )
        if p == "instagram" and _extra(conn).get("user_id"):
            ig_user = str(_extra(conn)["user_id"])
    for p in platforms:
        tok = plats[p].token
        if tok:
            _mask(tok.reveal())
    return replace(base, platforms=plats, instagram_user_id=ig_user)


def redact(text: str, settings: Settings | None) -> str:
    """`text` without the settings' tokens in any form: for messages built from exceptions."""
    from ingestion.redaction import register_secrets, scrub

    if settings is not None:
        register_secrets(ps.token.reveal() for ps in settings.platforms.values() if ps.token)
    return scrub(text)


@contextmanager
def writer_lock(settings: Settings, what: str) -> Iterator[None]:
    """The KOL_HOME writer lock (shared with the `kol` CLI) around one writer task."""
    from pipeline.runlock import run_lock

    with run_lock(settings.home, what, wait_seconds=LOCK_WAIT_SECONDS):
        yield


def compact_landing(settings: Settings, run_date: date, run_id: str) -> dict[str, Any]:
    """`kol compact` as of D under the writer lock: after publish, old months' landing is
    merged and packed (ingestion/compaction.py); the next build reads the month files."""
    from pipeline.steps import compact

    with writer_lock(settings, f"airflow kol_transform compact {run_date} ({run_id})"):
        return compact(settings, run_date, progress=log.info)


# --- landing one source for Airflow ----------------------------------------------------------


def land_source(settings: Settings, source: str, run_date: date, run_id: str) -> dict[str, Any]:
    """Land one source for D as the run policy says (the platforms' tasks run side by side,
    each writing only its own source's landing, as `kol run` does)."""
    return policy.land_source(settings, source, run_date, run_id)


# --- the ledger row of a transform run --------------------------------------------------------


def run_summary(
    settings: Settings,
    plan: TransformPlan,
    run_id: str,
    started_at: str,
    build: Mapping[str, Any] | None,
) -> RunSummary:
    """The ledger row for one kol_transform run, from its plan and what `build` returned.

    `build` is None when the build failed; the run state on disk (state.json, written by
    each step) then says which step stopped and why.
    """
    s = RunSummary(run_id=run_id, run_date=plan.run_date, started_at=started_at)
    s.finished_at = datetime.now(UTC).isoformat(timespec="seconds")
    partial = []
    for src, got in sorted(plan.sources.items()):
        s.sources[src] = {**got.counts, "status": got.status, "reason": got.reason}
        s.stages[f"extract:{src}" if src != "exports" else "exports"] = got.status
        if src != "exports" and (got.status != "ok" or got.run_date != plan.run_date):
            partial.append(f"{src}: {got.status} ({got.reason or 'see manifest'})")
    if build is not None:
        s.stages.update(transform="ok", gate="passed", publish="ok")
        s.gate_failures = list(build["gate"].get("failures") or [])
        s.marts = dict(build["publish"].get("rows") or {})
        s.checksum = str(build["publish"].get("checksum") or "")
        s.status = "partial" if partial else "published"
        s.message = "; ".join([*partial, *plan.notes]) if partial else "all sources landed"
        return s
    _failed_build(s, read_state(settings), plan.run_date.isoformat())
    return s


def _failed_build(s: RunSummary, state: Mapping[str, Any], d: str) -> None:
    t, g = state.get("transform", {}), state.get("gate", {})
    if not (t.get("run_date") == d and t.get("ok")):
        fails = t.get("failures") or [] if t.get("run_date") == d else []
        s.stages["transform"], s.status = "failed", "failed"
        s.message = "transform failed" + (f": {fails[0]}" if fails else ": see the task log")
        return
    s.stages["transform"] = "ok"
    if g.get("run_date") == d and g.get("passed") is False:
        s.stages["gate"], s.status = "failed", "gate_failed"
        s.gate_failures = list(g.get("failures") or [])
        s.message = f"quality gate failed for {d}; published marts unchanged"
    elif g.get("run_date") == d and g.get("passed"):
        s.stages.update(gate="passed", publish="failed")
        s.status, s.message = "failed", "publish failed: see the task log"
    else:
        s.stages["gate"], s.status = "failed", "failed"
        s.message = "the gate did not finish: see the task log"


# --- callbacks ------------------------------------------------------------------------------


def failure_line(context: Mapping[str, Any], settings: Settings | None = None) -> str:
    """One line a person can act on: which DAG/task (step, platform), which date, why."""
    ti = context.get("ti") or context.get("task_instance")
    dag_id = getattr(ti, "dag_id", "?")
    task_id = getattr(ti, "task_id", "?")
    step, _, what = task_id.partition("_")
    platform = what if what in SOURCES else "-"
    try:
        d: Any = run_date_for_callback(context)
    except Exception:
        d = "unknown"
    exc = context.get("exception")
    why = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}" if exc else "?"
    tries = getattr(ti, "try_number", "?")
    return redact(
        f"KOL {dag_id}: step {step} failed (platform {platform}, date {d}, try {tries}): {why}",
        settings,
    )


def run_date_for_callback(context: Mapping[str, Any]) -> date:
    dr = context.get("dag_run")
    conf = getattr(dr, "conf", None)
    logical = context.get("logical_date") or getattr(dr, "logical_date", None)
    if logical is None and date_from_conf(conf) is None:
        return plan_from_events(triggering_events(context)).run_date
    return extract_run_date(conf, logical)


def log_failure(context: Mapping[str, Any]) -> None:
    """on_failure_callback: one readable line, secrets redacted (Airflow masks them too)."""
    log.error(failure_line(context, _settings_or_none()))


def log_retry(context: Mapping[str, Any]) -> None:
    log.warning(failure_line(context, _settings_or_none()).replace(" failed ", " will retry "))


def _settings_or_none() -> Settings | None:
    try:
        return config.load()
    except config.ConfigError:
        return None


RETRIES_ENV = "KOL_AIRFLOW_RETRIES"


def default_args(retries: int = 3) -> dict[str, Any]:
    """Retries with exponential backoff (2, 4, 8 ... minutes, at most 30) and the callbacks.

    KOL_AIRFLOW_RETRIES (read when the DAG is parsed) overrides the count: 0 in tests, so a
    failure shows at once instead of after the backoff.
    """
    return {
        "owner": "kol",
        "retries": int(os.environ.get(RETRIES_ENV) or retries),
        "retry_delay": timedelta(minutes=2),
        "retry_exponential_backoff": 2.0,
        "max_retry_delay": timedelta(minutes=30),
        "on_failure_callback": log_failure,
        "on_retry_callback": log_retry,
    }


def pools_json() -> dict[str, dict[str, Any]]:
    """The pools in `airflow pools import` format (docker/pools.json is this, checked by a test)."""
    return {
        name: {"slots": slots, "description": desc, "include_deferred": False}
        for name, (slots, desc) in POOLS.items()
    }
