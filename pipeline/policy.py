"""Run policy: the one place that decides what a date's run does.

The `kol` CLI and the Airflow DAGs both call these functions, so a date gives the same
landing and the same marts whichever orchestrator ran it.

What a source does for a run date D (`plan_source`), given today's date (UTC):
- no credential: `skip` (the run is partial, not failed);
- D is the latest complete day (today − 1) or today: `extract` — the platforms serve
  today's counts, which are D's only then; exports load the files as they are now;
- an older D: the platforms cannot answer for it. Raw pages landed for D are re-parsed
  (`reparse`: no API call); exports already landed for D are kept (`keep`); a source with
  nothing landed for D is `skip`ped with the reason;
- D after today: refused.
A platform extract that landed nothing at all (`failed`) is worth a retry (`should_retry`);
a skipped source is not.

Quotas (`plan_refresh`): an extracted platform requests only the roster accounts its daily
quota covers, in the priority order of ingestion/refresh_plan.py (campaign creators, then
the stalest, then the biggest); the rest are deferred, listed in the manifest, and the run
is partial. Deferred accounts are the stalest next run, so they go first.

Builds: `plan_build` chooses incremental or full refresh; a failed gate stops before
publish. `backfill` re-derives past dates with the same per-date policy, then republishes
the latest published date so the marts never go back in time.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from ingestion.records import PLATFORMS
from pipeline import steps
from pipeline.config import Settings
from pipeline.logs import Progress, say
from pipeline.run_ledger import RunSummary, source_counts, write_ledger
from pipeline.runlock import run_lock
from pipeline.state import GateFailed, StepFailed, built_through, now_iso, read_state

if TYPE_CHECKING:
    from ingestion.refresh_plan import RefreshPlan
    from ingestion.roster import RosterEntry

log = logging.getLogger("kol")

SOURCES: tuple[str, ...] = (*PLATFORMS, "exports")
"""Everything a date lands: the platforms and the campaign exports."""

Action = Literal["extract", "reparse", "keep", "skip"]


def today_utc() -> date:
    return datetime.now(UTC).date()


def yesterday_utc() -> date:
    """The default run date: the latest complete day, UTC."""
    return today_utc() - timedelta(days=1)


def source_today(settings: Settings) -> date:
    """The date the sources serve: KOL_TODAY when set (a replay of recorded responses, or
    the sandbox of an earlier day), else today, UTC."""
    return settings.today or today_utc()


@dataclass(frozen=True)
class SourcePlan:
    source: str
    action: Action
    reason: str = ""


def _landed(settings: Settings, source: str, run_date: date) -> bool:
    from ingestion.landing import read_manifest

    try:
        m = read_manifest(settings.landing, source, run_date)
    except (OSError, ValueError):
        return False
    return bool(m) and m.get("status") in ("ok", "partial")


def plan_source(settings: Settings, source: str, run_date: date, today: date) -> SourcePlan:
    """What `source` does for `run_date` (see the module docstring)."""
    if run_date > today:
        raise StepFailed(f"{run_date} is after today ({today}, UTC): nothing can be landed for it")
    if source != "exports" and not settings.platforms[source].enabled:
        return SourcePlan(
            source, "skip", f"KOL_{source.upper()}_TOKEN is not set: {source} skipped"
        )
    if run_date >= today - timedelta(days=1):
        return SourcePlan(source, "extract")
    if source == "exports":
        if _landed(settings, source, run_date):
            return SourcePlan(
                source, "keep", f"exports are today's files: kept those landed for {run_date}"
            )
        return SourcePlan(
            source, "skip", f"exports are today's files and none were landed for {run_date}"
        )
    if _landed(settings, source, run_date):
        return SourcePlan(
            source,
            "reparse",
            f"{source} serves today's counts, not {run_date}'s: rebuilt from the raw pages landed for {run_date}",
        )
    return SourcePlan(
        source,
        "skip",
        f"{source} serves today's counts, not {run_date}'s, and nothing was landed for {run_date}",
    )


def plan_day(
    settings: Settings, run_date: date, today: date, platforms: Sequence[str] | None = None
) -> dict[str, SourcePlan]:
    """Every source's plan for `run_date`; `platforms` narrows the platforms (exports always)."""
    chosen = [p for p in PLATFORMS if platforms is None or p in platforms]
    return {s: plan_source(settings, s, run_date, today) for s in (*chosen, "exports")}


def plan_refresh(
    settings: Settings, platform: str, run_date: date, entries: list[RosterEntry] | None = None
) -> RefreshPlan:
    """Which roster accounts of `platform` refresh on `run_date` within its quota (a
    `RefreshPlan`); `entries` defaults to the roster's accounts of the platform."""
    from ingestion.refresh_plan import plan_refresh as plan
    from ingestion.roster import read_roster

    if entries is None:
        roster_path, _ = settings.require_inputs()
        entries = [e for e in read_roster(roster_path).entries if e.platform == platform]
    return plan(platform, run_date, entries, settings.landing, settings.exports_dir, settings.quota)


def should_retry(manifest: dict[str, Any]) -> bool:
    """A platform that landed nothing at all is retried (by Airflow); skipped ones are not."""
    return manifest.get("status") == "failed"


def land_source(
    settings: Settings, source: str, run_date: date, run_id: str, today: date | None = None
) -> dict[str, Any]:
    """Land one source for `run_date` as the policy says; returns its manifest."""
    plan = plan_source(settings, source, run_date, today or source_today(settings))
    if plan.action == "extract":
        if source == "exports":
            return steps.load_exports(settings, run_date, run_id)
        return steps.extract(settings, run_date, source, run_id)
    if plan.action == "reparse":
        from ingestion.landing import read_manifest
        from ingestion.redaction import load_or_create_salt
        from ingestion.reparse import reparse_date

        log.info(plan.reason)
        reparse_date(settings.landing, run_date, load_or_create_salt(settings.home), [source])
        return read_manifest(settings.landing, source, run_date) or {}
    if plan.action == "keep":
        from ingestion.landing import read_manifest

        log.info(plan.reason)
        return read_manifest(settings.landing, source, run_date) or {}
    log.warning(plan.reason)
    return steps.skipped_manifest(source, run_date, run_id, plan.reason)


# --- builds ------------------------------------------------------------------------------------


def plan_build(
    state: dict[str, Any],
    run_date: date,
    excluded_iso: list[str],
    warehouse_exists: bool,
    full_refresh: bool = False,
) -> tuple[bool, date | None, str | None]:
    """(full refresh?, from_date, why) for a build as of `run_date`, from `state.json`.

    Incremental from the day after the last successful build (`built_through`), so days
    landed but never built (or whose build failed) are picked up. Full when asked, when
    there is no warehouse or no successful build to continue, when D goes back before the
    last build (incremental tables hold later days), or when the excluded days changed (a
    rejected day's rows must not linger in incremental tables)."""
    last = state.get("transform", {})
    built = built_through(state)
    if full_refresh:
        return True, None, None
    if last.get("excluded_dates", []) != excluded_iso:
        return True, None, "excluded days changed since the last build: full refresh"
    if not warehouse_exists:
        return True, None, None
    if not built:
        return True, None, "no successful build to continue from: full refresh"
    last_built = date.fromisoformat(built)
    if run_date < last_built:
        return True, None, f"{run_date} is before the last build ({last_built}): full refresh"
    from_date = min(run_date, last_built + timedelta(days=1))
    why = f"building the landing days {from_date} to {run_date}" if from_date < run_date else None
    return False, from_date, why


def builds_through(first_day: date, run_date: date, max_days: int) -> list[date]:
    """The run dates a build of the landing days `first_day`..`run_date` goes through, in order.

    One build reads every landed day of its range at once, and some models hold all of them
    at once (a window over every post snapshot: a full refresh over a year at agency size
    spilled over 50 GB to disk). So a range of more than `max_days` days (0: no limit) is
    built a calendar month at a time: the first build (a full refresh, or an incremental one
    from `first_day`) through the end of `first_day`'s month, then one incremental build per
    month from the day after the previous one, the last through `run_date`. The tables equal
    one build's: it is the path that catches up missed days (tests/dbt/test_incremental.py),
    and each build reads only up to its own run date."""
    if not max_days or (run_date - first_day).days + 1 <= max_days:
        return [run_date]
    ends = []
    month_end = _month_end(first_day)
    while month_end < run_date:
        ends.append(month_end)
        month_end = _month_end(month_end + timedelta(days=1))
    return [*ends, run_date]


def _month_end(day: date) -> date:
    next_month = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return next_month - timedelta(days=1)


def build_gate_publish(
    settings: Settings,
    run_date: date,
    run_id: str,
    progress: Progress | None = None,
    full_refresh: bool = False,
) -> dict[str, Any]:
    """transform -> gate -> publish as of `run_date`; a failed gate raises GateFailed before
    anything is published. Returns each step's result."""
    built = steps.transform(settings, run_date, full_refresh=full_refresh, progress=progress)
    platforms = steps.extracted_platforms_on(settings, run_date)
    say(
        progress,
        f"gate {run_date}: in a process of its own, platforms {', '.join(platforms) or 'none'}",
    )
    gated = steps.gate_in_own_process(settings, run_date, run_id, platforms)
    published = steps.publish(settings, progress)
    return {"transform": built, "gate": gated, "publish": published}


def build_and_publish(
    settings: Settings,
    run_date: date,
    summary: RunSummary,
    progress: Progress | None,
    full_refresh: bool = False,
) -> None:
    """`build_gate_publish`, recording each stage's outcome in the run's summary."""
    try:
        out = build_gate_publish(settings, run_date, summary.run_id, progress, full_refresh)
    except StepFailed as exc:
        state = read_state(settings)
        done = (
            state.get("transform", {}).get("ok")
            and state["transform"].get("run_date") == run_date.isoformat()
        )
        summary.stages["transform"] = "ok" if done else "failed"
        if isinstance(exc, GateFailed):
            summary.stages["gate"] = "failed"
            summary.gate_failures = state.get("gate", {}).get("failures", [])
        elif done and state.get("gate", {}).get("passed"):
            summary.stages.update(gate="passed", publish="failed")
        raise
    summary.stages.update(transform="ok", gate="passed", publish="ok")
    summary.gate_failures = out["gate"]["failures"]
    summary.marts, summary.checksum = out["publish"]["rows"], out["publish"]["checksum"]


# --- whole runs ---------------------------------------------------------------------------------


def land(
    settings: Settings,
    run_date: date,
    summary: RunSummary,
    plans: dict[str, SourcePlan],
    progress: Progress | None,
) -> list[str]:
    """Land every source as planned (one failing does not stop the others). Returns why the
    run is partial (empty when every platform landed today's data)."""
    partial: list[str] = []
    to_extract = [p for p, plan in plans.items() if p != "exports" and plan.action == "extract"]
    to_reparse = [p for p, plan in plans.items() if p != "exports" and plan.action == "reparse"]
    if to_extract:
        manifests = steps.extract_side_by_side(
            settings, run_date, to_extract, summary.run_id, progress
        )
        from ingestion.quota import usage_report

        for p in to_extract:
            m = manifests[p]
            summary.sources[p] = source_counts(m)
            if m.get("status") in ("ok", "partial"):
                summary.quota[p] = usage_report(p, m, settings.quota, run_date)
            summary.stages[f"extract:{p}"] = m.get("status", "?")
            if m.get("status") != "ok":
                partial.append(f"{p} {m.get('status')}: {m.get('reason') or 'see manifest'}")
    if to_reparse:
        from ingestion.redaction import load_or_create_salt
        from ingestion.reparse import reparse_date

        say(
            progress,
            f"reparse {run_date} ({', '.join(to_reparse)}): records from raw pages, no API calls",
        )
        for m in reparse_date(
            settings.landing, run_date, load_or_create_salt(settings.home), to_reparse
        ):
            summary.sources[m.get("source", "?")] = source_counts(m)
            summary.stages[f"extract:{m.get('source')}"] = "reparsed"
    for source, plan in plans.items():
        if plan.action == "skip":
            summary.stages[f"extract:{source}" if source != "exports" else "exports"] = "skipped"
            summary.sources[source] = {"status": "skipped", "reason": plan.reason, "entities": {}}
            say(progress, plan.reason)
            if source != "exports":
                partial.append(f"{source} skipped: {plan.reason}")
    exports = plans.get("exports")
    if exports and exports.action == "extract":
        m = steps.load_exports(settings, run_date, summary.run_id, progress)
        summary.sources["exports"] = source_counts(m)
        summary.stages["exports"] = m.get("status", "?")
        if m.get("status") != "ok":
            partial.append(f"exports {m.get('status')}: {m.get('reason') or 'see manifest'}")
    elif exports and exports.action == "keep":
        summary.stages["exports"] = "kept"
        say(progress, exports.reason)
    return partial


def run_day(
    settings: Settings,
    run_date: date,
    *,
    today: date | None = None,
    platforms: Sequence[str] | None = None,
    land_sources: bool = True,
    build: bool = True,
    progress: Progress | None = None,
    run_id: str | None = None,
    lock_wait: float = 0.0,
    full_refresh: bool = False,
) -> RunSummary:
    """Land one date as the policy says, then transform, gate and publish it, under the
    writer lock.

    `today` defaults to `source_today`. `land_sources=False` builds from what is landed as
    it is; `build=False` stops after
    landing (status `landed`). Always writes one ledger row, whatever happens.
    """
    today = today or source_today(settings)
    run_id = run_id or steps.new_run_id(run_date)
    plans = plan_day(settings, run_date, today, platforms) if land_sources else {}
    if any(p.action in ("extract", "keep") for p in plans.values()):
        settings.require_inputs()  # a bad setting stops before any work
    summary = RunSummary(run_id=run_id, run_date=run_date, started_at=now_iso())
    with run_lock(settings.home, f"kol run {run_date} ({run_id})", wait_seconds=lock_wait):
        try:
            partial = land(settings, run_date, summary, plans, progress)
            if build:
                build_and_publish(settings, run_date, summary, progress, full_refresh)
                summary.status = "partial" if partial else "published"
            else:
                summary.status = "landed"
            summary.message = "; ".join(partial) if partial else "all sources landed"
        except GateFailed as exc:
            summary.status, summary.message = "gate_failed", str(exc).splitlines()[0]
            raise
        except Exception as exc:
            summary.status = "failed"
            first = str(exc).splitlines()[0] if str(exc) else ""
            summary.message = f"{type(exc).__name__}: {first}"
            raise
        finally:
            summary.finished_at = now_iso()
            try:
                write_ledger(settings, summary)
            except Exception as exc:  # the ledger must not hide the run's own error
                log.error("could not write the run ledger: %s", exc)
    return summary


def backfill(
    settings: Settings,
    start: date,
    end: date,
    *,
    today: date | None = None,
    progress: Progress | None = None,
    lock_wait: float = 0.0,
) -> list[RunSummary]:
    """Re-derive the marts for each date in [start, end] with the per-date policy (a past
    date is rebuilt from its landed raw pages), then, when a later date was already
    published, rebuild as of that date so the published marts never go back in time."""
    if end < start:
        raise StepFailed(f"--end {end} is before --start {start}")
    published_before = read_state(settings).get("published", {}).get("run_date")
    out = []
    d = start
    while d <= end:
        out.append(run_day(settings, d, today=today, progress=progress, lock_wait=lock_wait))
        d += timedelta(days=1)
    if published_before and date.fromisoformat(published_before) > end:
        latest = date.fromisoformat(published_before)
        say(progress, f"backfill done; republishing the marts as of {latest} (the latest date)")
        out.append(
            run_day(settings, latest, land_sources=False, progress=progress, lock_wait=lock_wait)
        )
    return out
