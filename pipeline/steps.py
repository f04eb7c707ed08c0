"""The step functions every orchestrator calls: extract, load_exports, reparse, compact,
transform, gate, publish, docs.

Each takes plain values (Settings, a run date, a run id) and returns a small JSON-able
result, so a DAG can pass it through XCom and the CLI can print it. What a date's run does
with them (which sources to extract or reparse, when to build, backfill) is decided in one
place: `pipeline.policy`.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ingestion.records import PLATFORMS
from pipeline.config import ConfigError, Settings, duckdb_limits
from pipeline.logs import Progress, say
from pipeline.published import PUBLISHED_TABLES
from pipeline.state import (
    GateFailed,
    StepFailed,
    built_through,
    excluded_dates,
    now_iso,
    read_state,
    record_gate_verdict,
    update_state,
)

if TYPE_CHECKING:
    from pipeline.transform import DbtResult

log = logging.getLogger("kol")

__all__ = ["GateFailed", "StepFailed"]


def new_run_id(run_date: date) -> str:
    """Sortable, unique, says which date: `20261125-T014501-3fa9c2`."""
    return f"{run_date:%Y%m%d}-T{datetime.now(UTC):%H%M%S}-{secrets.token_hex(3)}"


def skipped_manifest(source: str, run_date: date, run_id: str, reason: str) -> dict[str, Any]:
    """What a source that was not landed for `run_date` reports (nothing on disk changes)."""
    return {
        "source": source,
        "run_id": run_id,
        "run_date": run_date.isoformat(),
        "status": "skipped",
        "reason": reason,
        "entities": {},
    }


def failed_manifest(source: str, reason: str) -> dict[str, Any]:
    log.error("extract %s failed: %s", source, reason)
    return {"source": source, "status": "failed", "reason": reason, "entities": {}}


# --- extract + land ----------------------------------------------------------------------


def extract(
    settings: Settings,
    run_date: date,
    platform: str,
    run_id: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Extract one platform for `run_date` into the landing zone; returns its manifest.

    A platform without a credential is skipped with a warning; a failed account or a quota
    stop is reported in the manifest (status `partial`), never raised. Only the accounts the
    quota plan covers are requested (`policy.plan_refresh`); the manifest lists the deferred.
    """
    from ingestion.extract import ExtractRequest, extract_platform
    from ingestion.quota import hourly_limit
    from ingestion.redaction import load_or_create_salt
    from ingestion.roster import read_roster
    from pipeline.policy import plan_refresh

    if platform not in PLATFORMS:
        raise StepFailed(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")
    ps = settings.platforms[platform]
    if not ps.enabled:
        reason = f"KOL_{platform.upper()}_TOKEN is not set: {platform} skipped"
        log.warning(reason)
        return skipped_manifest(platform, run_date, run_id, reason)
    roster_path, _ = settings.require_inputs()
    roster = read_roster(roster_path)
    for q in roster.quarantined:
        log.warning("roster: %s", q)
    entries = [e for e in roster.entries if e.platform == platform]
    plan = plan_refresh(settings, platform, run_date, entries)
    if plan.deferred:
        say(progress, f"quota plan: {plan.summary()}")
    chosen = set(plan.refresh)
    req = ExtractRequest(
        platform=platform,
        run_date=run_date,
        run_id=run_id,
        landing_root=settings.landing,
        roster=[e for e in entries if e.key in chosen],
        deferred=plan.deferred,
        quota_plan=plan.as_dict(),
        base_url=ps.base_url,
        token=ps.token.reveal() if ps.token else "",
        instagram_user_id=settings.instagram_user_id,
        salt=load_or_create_salt(settings.home),
        hourly_limit=hourly_limit(platform, settings.quota),
    )
    say(progress, f"extract {platform} {run_date}: {len(chosen)} of {len(entries)} accounts")
    return extract_platform(req, progress=_account_progress(progress))


def extract_side_by_side(
    settings: Settings,
    run_date: date,
    platforms: Sequence[str],
    run_id: str,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """Extract the platforms at the same time, a thread each (own host, own rate limit: the
    wait is the platforms', not this machine's); one platform's failure does not stop the
    others. Returns platform -> manifest (a failure's says why)."""
    if settings.enabled_platforms():
        from ingestion.redaction import load_or_create_salt

        load_or_create_salt(settings.home)  # once, before the platforms share it
    with ThreadPoolExecutor(
        max_workers=max(len(platforms), 1), thread_name_prefix="extract"
    ) as pool:
        futures = {
            p: pool.submit(extract, settings, run_date, p, run_id, progress) for p in platforms
        }
    out = {}
    for p in platforms:
        try:
            out[p] = futures[p].result()
        except ConfigError:
            raise
        except Exception as exc:  # one platform's failure does not stop the others
            out[p] = failed_manifest(p, str(exc))
    return_freed_memory()
    return out


def return_freed_memory() -> None:
    """Hand the memory the extraction threads freed back to the OS. `kol run` goes on to
    transform and publish in the same process, and glibc's per-thread arenas and Arrow's pool
    otherwise keep what an agency day's extraction held (~2 GB, about half of it freed)."""
    import gc

    import pyarrow as pa

    before = _rss_mb()
    gc.collect()
    pa.default_memory_pool().release_unused()
    trim = _libc("malloc_trim")
    if trim is not None:  # glibc only
        trim(0)
    after = _rss_mb()
    if before is not None and after is not None:
        log.info(
            "extraction done: process memory %d MB -> %d MB once freed memory is returned",
            before,
            after,
        )


def _libc(name: str) -> Any:
    """A C library function by name, or None where there is no such library or function."""
    import ctypes
    import ctypes.util

    path = ctypes.util.find_library("c")
    return getattr(ctypes.CDLL(path), name, None) if path else None


def _rss_mb() -> int | None:
    """This process's resident memory in MB (Linux; None elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return None
    return pages * os.sysconf("SC_PAGE_SIZE") // 2**20


def _account_progress(progress: Progress | None) -> Callable[[dict[str, Any]], None]:
    """Turn the extractor's per-account events into a line about every 10% of accounts."""
    last_decile = {"n": -1}

    def on_event(e: dict[str, Any]) -> None:
        if e.get("event") != "account":
            return  # the extractor logs its own closing summary line
        total = max(int(e.get("accounts_total") or 0), 1)
        done = int(e.get("accounts_done") or 0)
        decile = done * 10 // total
        if decile == last_decile["n"]:
            return
        last_decile["n"] = decile
        say(
            progress,
            f"  {e.get('platform')}: {done}/{total} accounts, {e.get('records', 0)} records, "
            f"{e.get('quarantined', 0)} quarantined, {e.get('requests', 0)} requests, "
            f"{e.get('retries', 0)} retries",
        )

    return on_event


def load_exports(
    settings: Settings, run_date: date, run_id: str, progress: Progress | None = None
) -> dict[str, Any]:
    """Load the five campaign exports and the roster into landing; returns the manifest."""
    from ingestion.exports import load_exports as _load
    from ingestion.roster import read_roster

    roster_path, exports_dir = settings.require_inputs()
    roster = read_roster(roster_path)
    say(progress, f"exports {run_date}: {exports_dir}")
    return _load(
        exports_dir,
        settings.landing,
        run_date,
        run_id,
        roster.entries,
        roster_quarantined=list(roster.quarantined),
    )


def reparse(settings: Settings, run_date: date, progress: Progress | None = None) -> list[dict]:
    """Rebuild the date's records from its raw pages (no API calls)."""
    from ingestion.redaction import load_or_create_salt
    from ingestion.reparse import reparse_date

    say(progress, f"reparse {run_date}: records from raw pages, no API calls")
    return reparse_date(
        settings.landing,
        run_date,
        load_or_create_salt(settings.home),
        duckdb_config=duckdb_limits(),
    )


def compact(settings: Settings, run_date: date, progress: Progress | None = None) -> dict[str, Any]:
    """Merge the typed records of whole months older than KOL_COMPACT_AFTER_DAYS (before D)
    into month files and pack the raw pages older than KOL_RAW_PACK_AFTER_DAYS per month
    (ingestion/compaction.py); marts built before and after are the same."""
    from ingestion.compaction import compact as compact_landing

    result = compact_landing(
        settings.landing,
        run_date,
        settings.compact_after_days,
        settings.raw_pack_after_days,
        duckdb_config=duckdb_limits(),
    )
    say(
        progress,
        f"compact {run_date}: {len(result.months)} month files ({result.days_replaced} day "
        f"folders, {result.bytes_in / 1e6:.1f} MB -> {result.bytes_out / 1e6:.1f} MB), "
        f"{len(result.raw_packs)} raw packs ({result.raw_files_packed} files)",
    )
    return {"run_date": run_date.isoformat(), **result.as_dict()}


def extracted_platforms_on(settings: Settings, run_date: date) -> list[str]:
    """Platforms whose manifest for `run_date` says they landed something."""
    from ingestion.landing import read_manifest

    out = []
    for p in PLATFORMS:
        try:
            m = read_manifest(settings.landing, p, run_date)
        except (OSError, ValueError):
            continue
        if m and m.get("status") in ("ok", "partial"):
            out.append(p)
    return out


# --- transform, gate, publish ------------------------------------------------------------


def transform(
    settings: Settings,
    run_date: date,
    full_refresh: bool = False,
    progress: Progress | None = None,
    engine: str | None = None,
) -> dict[str, Any]:
    """One `dbt build` as of `run_date`, incremental or full as the run policy decides, on
    `engine` (default KOL_ENGINE, else duckdb). A build on another engine than the last one
    is a full refresh (its tables replace the other's)."""
    from ingestion.compacted import first_landed_date
    from pipeline.policy import builds_through, plan_build

    engine = engine or os.environ.get("KOL_ENGINE") or "duckdb"
    excluded = excluded_dates(settings)
    state = read_state(settings)
    excluded_iso = [d.isoformat() for d in excluded]
    last_build = state.get("transform") or {}
    last_engine = last_build.get("engine", "duckdb") if last_build else engine
    if engine != last_engine and not full_refresh:
        say(progress, f"the last build ran on {last_engine}, this one on {engine}: full refresh")
    full_refresh = full_refresh or engine != last_engine
    full_refresh, from_date, why = plan_build(
        state, run_date, excluded_iso, settings.warehouse.exists(), full_refresh
    )
    if why:
        say(progress, why)
    if excluded:
        say(progress, f"leaving out rejected days: {', '.join(excluded_iso)} (kol accept --date D)")
    # A build over more landed days than KOL_BUILD_MAX_DAYS goes a month at a time (Spark
    # writes date partitions and rebuilds the id-keyed tables whole: one build there)
    ends = [run_date]
    first = first_landed_date(settings.landing) if full_refresh else from_date
    if engine == "duckdb" and first is not None:
        ends = builds_through(first, run_date, settings.build_max_days)
    if first is not None and len(ends) > 1:
        say(
            progress,
            f"{'full refresh' if full_refresh else 'catch-up'} of "
            f"{(run_date - first).days + 1} landed days (more than KOL_BUILD_MAX_DAYS="
            f"{settings.build_max_days}): {len(ends)} builds, a month at a time",
        )
        if full_refresh:  # a full refresh killed in its first month must be redone whole
            update_state(settings, built_through=None)
    result = _build_through(settings, ends, full_refresh, from_date, excluded, engine, progress)
    out = {
        "ok": result.ok,
        "engine": engine,
        "run_date": run_date.isoformat(),
        "full_refresh": full_refresh,
        "from_date": from_date.isoformat() if from_date else None,
        "failures": list(result.failures),
        "elapsed": round(result.elapsed, 2),
    }
    if len(ends) > 1:
        out["builds_through"] = [d.isoformat() for d in ends]
    # built_through: what the next incremental build continues from. A failed full refresh
    # leaves the tables half-built (the next build is full again); a failed incremental one
    # leaves the last good date, so the next build re-processes from there (idempotent); a
    # build that went a month at a time keeps the months it finished.
    built = built_through(state)
    months_built = built_through(read_state(settings)) if len(ends) > 1 else None
    if result.ok:
        built = run_date.isoformat()
    elif months_built:
        built = months_built
    elif full_refresh:
        built = None
    update_state(
        settings,
        transform={**out, "at": now_iso(), "excluded_dates": excluded_iso},
        built_through=built,
        gate={},
    )
    if not result.ok:
        raise StepFailed(
            "dbt build failed:\n  "
            + "\n  ".join(result.failures[:20])
            + f"\nDetails: {settings.home / 'dbt' / 'logs'}"
        )
    return out


def _build_through(
    settings: Settings,
    ends: list[date],
    full_refresh: bool,
    from_date: date | None,
    excluded: list[date],
    engine: str,
    progress: Progress | None,
) -> DbtResult:
    """`dbt build` through each of `ends` in turn: the first as planned (full or incremental
    from `from_date`), each next incremental from the day after the previous one. Stops
    at the first failed build; the result sums their time."""
    from pipeline.transform import DbtResult, run_dbt

    started = time.monotonic()
    result = DbtResult(ok=True, failures=[], nodes_run=0, elapsed=0.0, returncode=0)
    for i, end in enumerate(ends):
        if len(ends) > 1:
            spent = time.monotonic() - started
            eta = f", about {spent / i * (len(ends) - i) / 60:.0f} min left" if i else ""
            say(progress, f"build {i + 1}/{len(ends)}: through {end}{eta}")
        result = run_dbt(
            settings.home,
            end,
            full_refresh=full_refresh and i == 0,
            excluded_dates=excluded,
            progress=_dbt_progress(progress),
            from_date=from_date if i == 0 else ends[i - 1] + timedelta(days=1),
            unit_tests=os.environ.get("KOL_DBT_UNIT_TESTS", "") == "1" and engine == "duckdb",
            engine=engine,
        )
        if not result.ok:
            break
        if end != ends[-1]:  # a build killed in a later month resumes after this one
            update_state(settings, built_through=end.isoformat())
    return replace(result, elapsed=time.monotonic() - started)


def _dbt_progress(progress: Progress | None) -> Progress:
    """Show each model as it is built and every failure; passing tests only as a count."""
    passed = {"n": 0}

    def on_line(line: str) -> None:
        if " PASS " in line:
            passed["n"] += 1
            if passed["n"] % 50 == 0:
                say(progress, f"dbt: {passed['n']} tests passed so far")
            return
        say(progress, "dbt: " + line)

    return on_line


def gate_in_own_process(
    settings: Settings,
    run_date: date,
    run_id: str,
    extracted_platforms: Sequence[str] | None = None,
) -> dict[str, Any]:
    """`gate` in a child process, for a run that publishes next in this one. After an agency
    year's gate returns, about 1.2 GB of the process stays resident (nothing Python-visible
    holds it; neither Arrow's pools nor malloc_trim hand it back) and publish's DuckDB comes
    on top: `kol run` peaked at 4.2 GB. A child's memory goes when it exits. Raises what
    `gate` raises (GateFailed naming each failure); its log lines go to the same stderr."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    platforms = None if extracted_platforms is None else list(extracted_platforms)
    with ProcessPoolExecutor(
        max_workers=1,
        mp_context=multiprocessing.get_context("spawn"),
        initializer=_gate_child_start,
        initargs=(logging.getLogger().getEffectiveLevel(), os.getpid()),
    ) as pool:
        return pool.submit(gate, settings, run_date, run_id, platforms).result()


def _gate_child_start(log_level: int, parent: int) -> None:
    """The gate child's logging, and its death with its parent (Linux: PR_SET_PDEATHSIG): a
    `kol run` killed mid-gate must not leave a gate holding the warehouse open, which would
    stop the next run's dbt from writing it, nor record a verdict for a run that is gone."""
    import signal

    from pipeline.logs import configure_logging

    configure_logging(log_level)
    prctl = _libc("prctl")
    if prctl is not None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the line above
        os._exit(1)


def gate(
    settings: Settings,
    run_date: date,
    run_id: str,
    extracted_platforms: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the quality gate over the fresh build. Raises GateFailed naming each failure."""
    from expectations.gate import run_gate

    if extracted_platforms is None:
        extracted_platforms = extracted_platforms_on(settings, run_date)
    serving_db = settings.serving / "marts.duckdb"
    say(
        progress,
        f"gate {run_date}: {len(PUBLISHED_TABLES)} marts, platforms {', '.join(extracted_platforms) or 'none'}",
    )
    result = run_gate(
        settings.warehouse,
        run_date,
        settings.quality,
        previous_serving_db=serving_db if serving_db.exists() else None,
        extracted_platforms=list(extracted_platforms),
        run_id=run_id,
        tables=list(PUBLISHED_TABLES),
        landing_dir=settings.landing,
        duckdb_config=duckdb_limits(),
    )
    out = {
        "passed": bool(result.passed),
        "run_date": run_date.isoformat(),
        "failures": [
            f.as_dict() if hasattr(f, "as_dict") else {"message": str(f)} for f in result.failures
        ],
        "data_docs": str(result.data_docs_index),
    }
    record_gate_verdict(settings, run_date, "passed" if result.passed else "rejected", run_id)
    update_state(settings, gate={**out, "at": now_iso(), "run_id": run_id})
    if not result.passed:
        raise GateFailed(
            f"quality gate failed for {run_date}; the published marts were left unchanged.\n"
            + result.summary()
            + f"\nData Docs: {result.data_docs_index}\n"
            "Fix the source and re-run the date, or accept it with `kol accept --date "
            f"{run_date}`."
        )
    return out


def publish(settings: Settings, progress: Progress | None = None) -> dict[str, Any]:
    """Swap the gated build into `serving/` atomically. Refuses a build the gate has not passed."""
    state = read_state(settings)
    t, g = state.get("transform", {}), state.get("gate", {})
    if not t.get("ok"):
        raise StepFailed(
            "nothing to publish: the last transform did not succeed (run `kol transform`)."
        )
    if not g.get("passed") or g.get("run_date") != t.get("run_date"):
        raise StepFailed(
            f"the build as of {t.get('run_date')} has not passed the gate: run `kol gate` first."
        )
    from pipeline.publish import publish as _publish

    result = _publish(settings.warehouse, settings.serving, list(PUBLISHED_TABLES))
    out = {"checksum": result.checksum, "rows": dict(result.rows), "path": str(result.path)}
    update_state(settings, published={**out, "at": now_iso(), "run_date": t.get("run_date")})
    if settings.serving_postgres is not None:  # the same marts, served by PostgreSQL
        from pipeline.serve_postgres import PostgresServingError, publish_to_postgres

        try:
            served = publish_to_postgres(
                settings.serving_postgres, result.path, PUBLISHED_TABLES, settings.quality
            )
        except PostgresServingError as exc:
            raise StepFailed(f"{exc} (serving/ holds the new marts)") from None
        out["postgres"] = served.where
    say(
        progress,
        f"published {len(result.rows)} marts to {result.path} (checksum {result.checksum[:12]})",
    )
    return out


def docs(settings: Settings, progress: Progress | None = None) -> Path:
    """dbt docs for BI users, beside the quality reports."""
    from pipeline.transform import docs_generate

    out = settings.quality / "dbt_docs"
    docs_generate(settings.home, out)
    say(progress, f"dbt docs: {out / 'index.html'}")
    return out
