"""Extract one platform for one run date into the landing zone: fetch -> raw pages -> records.

`extract_platform` always returns the manifest, also when the platform's quota stops it
(status "partial" with the reason) or every account failed ("failed"). It raises only on
a programming error; a failed account never stops the others.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.account_runs import (
    LANDED,
    AccountRun,
    files_of_runs,
    merge,
    previous_view,
    runs_of,
    seen_keys,
)
from ingestion.http import Auth, HourlyAllowance, HttpClient, RetryPolicy, graph_usage
from ingestion.landing import (
    RawWriter,
    check_run_id,
    discard_raw_runs,
    earlier_manifests,
    read_manifest,
    write_manifest,
)
from ingestion.last_landing import PostHistory, read_post_history
from ingestion.limits import (
    insights_days_from_env,
    max_pages_from_env,
    policy_from_env,
    workers_from_env,
)
from ingestion.manifest import (
    base_manifest,
    commit_entities,
    now_iso,
    platform_schemas,
    skipped_manifest,
    status_of,
)
from ingestion.parsing import Collected
from ingestion.platforms import get_platform
from ingestion.platforms.base import COMMENTS_DAYS, ExtractSession, Platform
from ingestion.redaction import IdentityHasher, Redactor
from ingestion.reparse import ReparseError, check_raw_files, reparse_collected
from ingestion.roster import RosterEntry, account_key

log = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]


@dataclass
class ExtractRequest:
    """Everything one platform's extraction needs, as plain values (pipeline passes them)."""

    platform: str
    run_date: date
    run_id: str
    landing_root: Path
    roster: list[RosterEntry]  # entries for this platform (others are ignored)
    base_url: str
    token: str = field(repr=False)
    instagram_user_id: str | None = None
    salt: str = field(default="", repr=False)
    policy: RetryPolicy = field(default_factory=policy_from_env)
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False)
    # None = the environment's setting or its default (ingestion.limits)
    workers: int | None = None
    max_pages: int | None = None
    # roster accounts the quota plan left for a later day ({"account", "reason"}), and the
    # plan itself (ingestion/refresh_plan.py): both go into the manifest
    deferred: list[dict[str, str]] = field(default_factory=list)
    quota_plan: dict[str, Any] | None = None
    # True: ask only for what may have changed since the last landing (comments of posts
    # whose count moved, comments newer than the newest landed, Instagram insights of young
    # or changed media); False: a full pull of the windows
    change_driven: bool = True
    insights_days: int | None = None  # None: KOL_INSTAGRAM_INSIGHTS_DAYS or its default
    # (calls per rolling hour, hours the run may spread them over): the client keeps to it
    # and stops the platform for the run once it is spent (Graph; None: no such limit)
    hourly_limit: tuple[int, int] | None = None


class MeteredRawWriter(RawWriter):
    """The raw writer, also counting exchanges per endpoint (every attempt is charged), per
    roster account (a batch request's share to each of its accounts: the refresh plan prices
    an account by its own last day), and the highest Graph usage percent the platform
    reported: the quota ledger's inputs."""

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.requests_by_endpoint: dict[str, int] = {}
        self.requests_by_account: dict[str, float] = {}
        self.usage_percent: float | None = None
        self._meter_lock = threading.Lock()

    def write(self, line: dict[str, Any]) -> None:
        super().write(line)
        with self._meter_lock:
            endpoint = str(line.get("endpoint"))
            self.requests_by_endpoint[endpoint] = self.requests_by_endpoint.get(endpoint, 0) + 1
            accounts = [a for a in line.get("accounts") or [] if isinstance(a, dict)]
            for a in accounts:
                key = account_key(str(a.get("creator_id")), str(a.get("handle")))
                share = self.requests_by_account.get(key, 0.0) + 1 / len(accounts)
                self.requests_by_account[key] = share
            headers = line.get("headers")
            if isinstance(headers, dict) and headers:
                percent, _ = graph_usage(headers)
                if percent and percent > (self.usage_percent or 0.0):
                    self.usage_percent = percent


def first_sight_keys(
    root: Path, source: str, run_date: date, entries: list[RosterEntry]
) -> set[str]:
    """Accounts no earlier date landed cleanly: they get the 90-day first pull."""
    seen: set[str] = set()
    for manifest in earlier_manifests(root, source, run_date):
        seen.update(seen_keys(manifest))
    return {e.key for e in entries if e.key not in seen}


def post_history(req: ExtractRequest, platform: Platform) -> PostHistory:
    """What the comments window's earlier landings hold about recent posts (plus a day: a
    post of the window was last landed inside it); a full pull uses none."""
    if not req.change_driven or not platform.comment_count_column:
        return PostHistory(full=True)
    return read_post_history(
        Path(req.landing_root),
        req.platform,
        req.run_date,
        platform.comment_count_column,
        COMMENTS_DAYS + 1,
        platform.history_metrics,
    )


def extract_platform(req: ExtractRequest, progress: Progress | None = None) -> dict[str, Any]:
    """Run one platform for `req.run_date`; returns the manifest it wrote."""
    platform = get_platform(req.platform)
    check_run_id(req.run_id)
    root = Path(req.landing_root)
    entries = [e for e in req.roster if e.platform == req.platform]
    if not req.token:
        return skipped_manifest(
            req.platform,
            req.run_id,
            req.run_date,
            f"no credential: set KOL_{req.platform.upper()}_TOKEN",
        )
    started = now_iso()
    workers = req.workers if req.workers is not None else workers_from_env()
    redactor = Redactor([req.token])
    hasher = IdentityHasher(req.salt, platform.identity_fields, platform.identity_object_fields)
    client = HttpClient(
        req.platform,
        req.base_url,
        Auth(req.token, platform.auth_param),
        req.policy,
        redactor,
        classify=platform.classify,
        scrub_body=lambda text: hasher.text(redactor.text(text)),
        sleep=req.sleep,
        pool_size=max(10, workers),
        allowance=HourlyAllowance(
            req.platform,
            *req.hourly_limit,
            sleep=req.sleep,
            settings_hint=": KOL_GRAPH_CALLS_PER_HOUR, KOL_GRAPH_HOURS_PER_DAY",
        )
        if req.hourly_limit
        else None,
    )
    raw = MeteredRawWriter(root, req.platform, req.run_date, req.run_id)
    session = ExtractSession(
        platform=req.platform,
        run_date=req.run_date,
        run_id=req.run_id,
        client=client,
        raw=raw,
        collected=Collected(source=req.platform, schemas=platform_schemas(req.platform)),
        specs=platform.specs,
        salt=req.salt,
        first_sight=first_sight_keys(root, req.platform, req.run_date, entries),
        workers=workers,
        max_pages=req.max_pages if req.max_pages is not None else max_pages_from_env(),
        history=post_history(req, platform),
    )
    notify = _progress(req.platform, len(entries), session, progress)
    session.on_account_done = notify
    valid = []
    for entry in entries:
        problem = platform.invalid(entry)
        if problem:
            session.fail(entry, problem)
        else:
            valid.append(entry)
    try:
        days = req.insights_days if req.insights_days is not None else insights_days_from_env()
        config = {"instagram_user_id": req.instagram_user_id, "insights_days": days}
        platform.extract(session, valid, config)
    finally:
        client.close()
        raw_files = raw.close()
    manifest = _finish(req, session, raw_files, started, entries)
    manifest["requests_by_endpoint"] = dict(sorted(raw.requests_by_endpoint.items()))
    manifest["requests_by_account"] = {
        k: round(v, 3) for k, v in sorted(raw.requests_by_account.items())
    }
    if raw.usage_percent is not None:
        manifest["usage_percent_max"] = raw.usage_percent
    write_manifest(root, req.platform, req.run_date, manifest)
    keep = {req.run_id, *runs_of(previous_view(manifest))}
    discard_raw_runs(root, req.platform, req.run_date, keep)
    summary = summary_line(manifest)
    log.info("%s", summary)
    if progress:
        final = _counts(req.platform, len(entries), session)
        progress({**final, "event": "done", "summary": summary, "status": manifest["status"]})
    return manifest


def account_outcomes(s: ExtractSession, entries: list[RosterEntry]) -> dict[str, str]:
    """Each roster account's outcome in this run: `landed` only when its fetch finished
    without error (the session's per-account success flag) and every page of it parsed."""
    landed = set(s.outcomes.landed)
    return {
        e.key: LANDED
        if e.key in landed and e.key not in s.collected.unreadable
        else ("skipped" if e.key not in landed and not s.outcomes.has_failed(e) else "failed")
        for e in entries
    }


def _fail_unreadable(s: ExtractSession, entries: list[RosterEntry]) -> None:
    """An account whose fetch finished but one of whose pages was unreadable (HTML, cut
    JSON, an error body on HTTP 200) is failed with the reason, not landed."""
    for entry in entries:
        reason = s.collected.unreadable.get(entry.key)
        if reason:
            s.outcomes.fail_landed(entry, s.client.redactor.text(f"unreadable page: {reason}"))


def _rebuildable(
    root: Path, previous: dict[str, Any] | None, before: dict[str, AccountRun], s: ExtractSession
) -> dict[str, AccountRun]:
    """The earlier view without accounts whose run's raw pages are missing or altered: their
    data cannot be rebuilt, so a re-run may replace it (said in the run's warnings)."""
    files = (previous or {}).get("raw_files") or {}
    broken = set()
    for run in runs_of(before):
        try:
            check_raw_files(root, {**(previous or {}), "raw_files": files_of_runs(files, [run])})
        except ReparseError as exc:
            broken.add(run)
            s.outcomes.warn_once(f"earlier data cannot be kept: {exc}")
    return {k: r for k, r in before.items() if r.run_id not in broken}


def _finish(
    req: ExtractRequest,
    s: ExtractSession,
    raw_files: dict[str, str],
    started: str,
    entries: list[RosterEntry],
) -> dict[str, Any]:
    root = Path(req.landing_root)
    total = len(entries)
    _fail_unreadable(s, entries)
    previous = read_manifest(root, req.platform, req.run_date)
    before = _rebuildable(root, previous, previous_view(previous), s)
    view = merge(before, req.run_id, account_outcomes(s, entries))
    kept = sorted(k for k, r in view.items() if r.run_id != req.run_id)
    committed = commit_entities(
        root,
        req.platform,
        req.run_date,
        req.run_id,
        s.collected,
        platform_schemas(req.platform),
        req.platform,
        view=view,
        load_run=lambda run_id: reparse_collected(
            root, req.platform, req.run_date, run_id, req.salt
        ),
    )
    raw_files = {
        **files_of_runs((previous or {}).get("raw_files") or {}, runs_of(view)),
        **raw_files,
    }
    drift, drift_warnings = s.collected.drift()
    for warning in drift_warnings:
        s.outcomes.warn_once(warning)
    problems = []
    if req.deferred:
        problems.append(f"{len(req.deferred)} accounts deferred by the quota plan")
    o = s.outcomes
    if o.stopped:
        problems.append(o.stopped)
    if o.failed:
        problems.append(f"{len(o.failed)} of {total} accounts failed")
    problems.extend(o.warnings)
    manifest = base_manifest(req.platform, req.run_id, req.run_date, started)
    manifest.update(
        status=status_of(total, len(o.landed), problems, quota_hit=o.quota_hit),
        reason="; ".join(problems),
        finished_at=now_iso(),
        entities=committed["entities"],
        quarantine=committed["quarantine"],
        accounts={
            "total": total,
            "ok": len(o.landed),
            "failed": [{"account": f.account, "error": f.error} for f in o.failed],
            "skipped": [{"account": f.account, "error": f.error} for f in o.skipped],
            "landed": sorted(o.landed),
            "first_sight": sorted(s.first_sight & set(o.landed)),
            "kept_from_earlier_runs": kept,
            "by_key": {k: r.as_dict() for k, r in view.items()},
        },
        requests=s.client.requests,
        retries=s.client.retries,
        waited_seconds=round(s.client.waited, 3),
        warnings=o.warnings,
        field_checks=drift,
        raw_dir=f"raw/platform={req.platform}/endpoint=*/dt={req.run_date}/run={req.run_id}",
        raw_files=dict(sorted(raw_files.items())),
        deferred=req.deferred,
    )
    if req.quota_plan is not None:
        manifest["quota_plan"] = req.quota_plan
    if not total:
        manifest["status"], manifest["reason"] = (
            "skipped",
            (
                f"all {len(req.deferred)} accounts deferred by the quota plan"
                if req.deferred
                else "no roster accounts for this platform"
            ),
        )
    return manifest


def _counts(platform: str, total: int, s: ExtractSession) -> dict[str, Any]:
    """Where the run stands (every progress event carries it, the final one too)."""
    return {
        "platform": platform,
        "accounts_done": min(s.outcomes.done(), total),
        "accounts_total": total,
        "records": sum(s.collected.landed.values()),
        "quarantined": len(s.collected.quarantined),
        "requests": s.client.requests,
        "retries": s.client.retries,
    }


def _progress(
    platform: str, total: int, s: ExtractSession, progress: Progress | None
) -> Callable[[], None]:
    def notify() -> None:
        if progress is not None:
            progress({**_counts(platform, total, s), "event": "account"})

    return notify


def summary_line(manifest: dict[str, Any]) -> str:
    """One line a person can read: what landed, what failed, how hard the API was."""
    acc = manifest.get("accounts", {})
    parts = [
        f"{name} {e['landed']}" for name, e in manifest.get("entities", {}).items() if e["landed"]
    ]
    quarantined = sum(e["quarantined"] for e in manifest.get("entities", {}).values())
    line = (
        f"{manifest['source']} {manifest['run_date']}: {manifest['status']} — "
        f"{acc.get('ok', 0)}/{acc.get('total', 0)} accounts, "
        f"{', '.join(parts) or 'no records'}, {quarantined} quarantined, "
        f"{manifest.get('requests', 0)} requests, {manifest.get('retries', 0)} retries"
    )
    if manifest.get("reason"):
        line += f" ({manifest['reason']})"
    kept = acc.get("kept_from_earlier_runs") or []
    if kept:
        line += f"; {len(kept)} accounts keep their data from earlier runs of the date"
    return line
