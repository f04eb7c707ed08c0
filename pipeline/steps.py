"""The step functions every orchestrator calls: extract, load_exports, transform, gate, publish.

`kol` (the CLI) and the Airflow DAGs run exactly these. Each step takes plain values
(Settings, a run date, a run id) and returns a small JSON-able result, so a DAG can pass it
through XCom and the CLI can print it. `run_day` and `backfill` compose them under the
KOL_HOME writer lock.

State that must survive between steps lives on disk, never in memory:
- `landing/manifests/dt=D/<source>.json`: what each source landed (written by ingestion);
- `landing/manifests/dt=D/_gate.json`: the gate's verdict for D (`rejected` days are left out
  of later builds until re-extracted or accepted with `kol accept`);
- `state.json`: the last transform and gate, so `kol publish` only publishes a build that
  passed the gate.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import signal
import sys
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import requests

from ingestion.records import PLATFORMS
from pipeline.config import Settings, duckdb_limits
from pipeline.published import PUBLISHED_TABLES
from pipeline.runlock import run_lock

log = logging.getLogger("kol")
Progress = Callable[[str], None]

DEMO_SEED = 42
DEMO_CREATORS = 50


class StepFailed(RuntimeError):
    """A step could not do what was asked; the message says which step and what to do."""


class GateFailed(StepFailed):
    """The quality gate rejected the build: nothing was published."""


def _say(progress: Progress | None, msg: str) -> None:
    (progress or log.info)(msg)


def yesterday_utc() -> date:
    return datetime.now(UTC).date() - timedelta(days=1)


def new_run_id(run_date: date) -> str:
    """Sortable, unique, says which date: `20261125-T014501-3fa9c2`."""
    return f"{run_date:%Y%m%d}-T{datetime.now(UTC):%H%M%S}-{secrets.token_hex(3)}"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


# --- where the inputs come from --------------------------------------------------------


@dataclass(frozen=True)
class Inputs:
    roster: Path
    exports_dir: Path
    from_sandbox: bool


def sandbox_world_dir(
    settings: Settings, seed: int = DEMO_SEED, creators: int = DEMO_CREATORS
) -> Path:
    return settings.home / "sandbox" / f"seed={seed}-creators={creators}"


def materialise_sandbox_world(
    settings: Settings,
    seed: int = DEMO_SEED,
    creators: int = DEMO_CREATORS,
    end_date: date | None = None,
) -> Path:
    """Write the sandbox world's roster and exports under KOL_HOME (the embedded default)."""
    from sandbox import WorldConfig, export_world

    out = sandbox_world_dir(settings, seed, creators)
    cfg = WorldConfig(seed=seed, creators=creators, end_date=end_date or yesterday_utc())
    out.mkdir(parents=True, exist_ok=True)
    export_world(cfg, out)
    return out


def resolve_inputs(settings: Settings) -> Inputs:
    """The roster and exports folder: configured ones, else the sandbox world's."""
    if settings.roster and settings.exports_dir:
        return Inputs(settings.roster, settings.exports_dir, from_sandbox=False)
    world = sandbox_world_dir(settings)
    if not (world / "roster.csv").is_file():
        world = materialise_sandbox_world(settings)
    return Inputs(
        roster=settings.roster or world / "roster.csv",
        exports_dir=settings.exports_dir or world,
        from_sandbox=not (settings.roster and settings.exports_dir),
    )


# --- extract + land ----------------------------------------------------------------------


def skipped_manifest(platform: str, run_date: date, run_id: str, reason: str) -> dict[str, Any]:
    return {
        "source": platform,
        "run_id": run_id,
        "run_date": run_date.isoformat(),
        "status": "skipped",
        "reason": reason,
        "entities": {},
    }


def extract(
    settings: Settings,
    run_date: date,
    platform: str,
    run_id: str,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Extract one platform for `run_date` into the landing zone; returns its manifest.

    A platform without a credential is skipped with a warning; a failed account or a quota
    stop is reported in the manifest (status `partial`), never raised.
    """
    from ingestion.extract import ExtractRequest, extract_platform
    from ingestion.redaction import load_or_create_salt
    from ingestion.roster import read_roster

    if platform not in PLATFORMS:
        raise StepFailed(f"unknown platform {platform!r}; expected one of {', '.join(PLATFORMS)}")
    ps = settings.platforms[platform]
    if not ps.enabled:
        reason = f"KOL_{platform.upper()}_TOKEN is not set: {platform} skipped"
        log.warning(reason)
        return skipped_manifest(platform, run_date, run_id, reason)
    inputs = resolve_inputs(settings)
    roster = read_roster(inputs.roster)
    for q in roster.quarantined:
        log.warning("roster: %s", q)
    entries = [e for e in roster.entries if e.platform == platform]
    req = ExtractRequest(
        platform=platform,
        run_date=run_date,
        run_id=run_id,
        landing_root=settings.landing,
        roster=entries,
        base_url=ps.base_url,
        token=ps.token.reveal() if ps.token else "",
        instagram_user_id=settings.instagram_user_id,
        salt=load_or_create_salt(settings.home),
    )
    _say(progress, f"extract {platform} {run_date}: {len(entries)} accounts")
    return extract_platform(req, progress=_account_progress(progress))


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
        _say(
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

    inputs = resolve_inputs(settings)
    roster = read_roster(inputs.roster)
    _say(progress, f"exports {run_date}: {inputs.exports_dir}")
    return _load(
        inputs.exports_dir,
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

    _say(progress, f"reparse {run_date}: records from raw pages, no API calls")
    return reparse_date(settings.landing, run_date, load_or_create_salt(settings.home))


# --- gate verdicts and run state ---------------------------------------------------------


def _gate_file(settings: Settings, run_date: date) -> Path:
    return settings.landing / "manifests" / f"dt={run_date.isoformat()}" / "_gate.json"


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


def record_gate_verdict(settings: Settings, run_date: date, status: str, run_id: str) -> None:
    _write_json_atomic(
        _gate_file(settings, run_date), {"status": status, "run_id": run_id, "at": _now()}
    )


def excluded_dates(settings: Settings) -> list[date]:
    """Dates whose last gate verdict is `rejected`: later builds leave them out."""
    out: list[date] = []
    for f in sorted((settings.landing / "manifests").glob("dt=*/_gate.json")):
        try:
            if json.loads(f.read_text()).get("status") == "rejected":
                out.append(date.fromisoformat(f.parent.name.removeprefix("dt=")))
        except (OSError, ValueError):
            log.warning("unreadable gate verdict %s: ignored", f)
    return out


def accept(settings: Settings, run_date: date) -> None:
    """An operator accepts a rejected day: later builds use it again."""
    if not _gate_file(settings, run_date).is_file():
        raise StepFailed(f"no gate verdict for {run_date}: nothing to accept")
    record_gate_verdict(settings, run_date, "accepted", run_id="operator")


def _state_path(settings: Settings) -> Path:
    return settings.home / "state.json"


def read_state(settings: Settings) -> dict[str, Any]:
    try:
        return json.loads(_state_path(settings).read_text())
    except (OSError, ValueError):
        return {}


def _update_state(settings: Settings, **parts: Any) -> None:
    state = read_state(settings)
    state.update(parts)
    _write_json_atomic(_state_path(settings), state)


# --- transform, gate, publish ------------------------------------------------------------


def _built_through(state: dict[str, Any]) -> str | None:
    """The run date of the last successful build (homes from before `built_through` was
    kept: the last transform, when it succeeded)."""
    last = state.get("transform", {})
    return state.get("built_through", last.get("run_date") if last.get("ok") else None)


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
    built = _built_through(state)
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


def transform(
    settings: Settings,
    run_date: date,
    full_refresh: bool = False,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """One `dbt build` as of `run_date`, incremental or full as `plan_build` decides."""
    from pipeline.transform import run_dbt

    excluded = excluded_dates(settings)
    state = read_state(settings)
    excluded_iso = [d.isoformat() for d in excluded]
    full_refresh, from_date, why = plan_build(
        state, run_date, excluded_iso, settings.warehouse.exists(), full_refresh
    )
    if why:
        _say(progress, why)
    if excluded:
        _say(
            progress, f"leaving out rejected days: {', '.join(excluded_iso)} (kol accept --date D)"
        )
    result = run_dbt(
        settings.home,
        run_date,
        full_refresh=full_refresh,
        excluded_dates=excluded,
        progress=_dbt_progress(progress),
        from_date=from_date,
        unit_tests=os.environ.get("KOL_DBT_UNIT_TESTS", "") == "1",
    )
    out = {
        "ok": result.ok,
        "run_date": run_date.isoformat(),
        "full_refresh": full_refresh,
        "from_date": from_date.isoformat() if from_date else None,
        "failures": list(result.failures),
        "elapsed": round(result.elapsed, 2),
    }
    # built_through: what the next incremental build continues from. A failed full refresh
    # leaves the tables half-built (the next build is full again); a failed incremental one
    # leaves the last good date, so the next build re-processes from there (idempotent).
    built = _built_through(state)
    if result.ok:
        built = run_date.isoformat()
    elif full_refresh:
        built = None
    _update_state(
        settings,
        transform={**out, "at": _now(), "excluded_dates": excluded_iso},
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


def _dbt_progress(progress: Progress | None) -> Progress:
    """Show each model as it is built and every failure; passing tests only as a count."""
    passed = {"n": 0}

    def on_line(line: str) -> None:
        if " PASS " in line:
            passed["n"] += 1
            if passed["n"] % 50 == 0:
                _say(progress, f"dbt: {passed['n']} tests passed so far")
            return
        _say(progress, "dbt: " + line)

    return on_line


def gate(
    settings: Settings,
    run_date: date,
    run_id: str,
    extracted_platforms: Sequence[str] | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run the GX checkpoint over the fresh build. Raises GateFailed naming each failure."""
    from expectations.gate import run_gate

    if extracted_platforms is None:
        extracted_platforms = extracted_platforms_on(settings, run_date)
    serving_db = settings.serving / "marts.duckdb"
    _say(
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
    _update_state(settings, gate={**out, "at": _now(), "run_id": run_id})
    if not result.passed:
        raise GateFailed(
            f"quality gate failed for {run_date}; the published marts were left unchanged.\n"
            + result.summary()
            + f"\nData Docs: {result.data_docs_index}\n"
            "Fix the source and re-run the date, or accept it with `kol accept --date "
            f"{run_date}`."
        )
    return out


def extracted_platforms_on(settings: Settings, run_date: date) -> list[str]:
    """Platforms whose manifest for `run_date` says they landed something."""
    mdir = settings.landing / "manifests" / f"dt={run_date.isoformat()}"
    out = []
    for p in PLATFORMS:
        try:
            m = json.loads((mdir / f"{p}.json").read_text())
        except (OSError, ValueError):
            continue
        if m.get("status") in ("ok", "partial"):
            out.append(p)
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
    _update_state(settings, published={**out, "at": _now(), "run_date": t.get("run_date")})
    if settings.serving_postgres is not None:  # the same marts, served by PostgreSQL
        from pipeline.serve_postgres import PostgresServingError, publish_to_postgres

        try:
            served = publish_to_postgres(
                settings.serving_postgres, result.path, PUBLISHED_TABLES, settings.quality
            )
        except PostgresServingError as exc:
            raise StepFailed(f"{exc} (serving/ holds the new marts)") from None
        out["postgres"] = served.where
    _say(
        progress,
        f"published {len(result.rows)} marts to {result.path} (checksum {result.checksum[:12]})",
    )
    return out


def docs(settings: Settings, progress: Progress | None = None) -> Path:
    """dbt docs for BI users, beside the quality reports."""
    from pipeline.transform import docs_generate

    out = settings.quality / "dbt_docs"
    docs_generate(settings.home, out)
    _say(progress, f"dbt docs: {out / 'index.html'}")
    return out


# --- whole runs ---------------------------------------------------------------------------


@dataclass
class RunSummary:
    run_id: str
    run_date: date
    started_at: str
    finished_at: str = ""
    status: str = "running"  # published | partial | gate_failed | failed
    stages: dict[str, str] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)
    marts: dict[str, int] = field(default_factory=dict)
    gate_failures: list[dict[str, Any]] = field(default_factory=list)
    checksum: str = ""
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["run_date"] = self.run_date.isoformat()
        return d


def source_counts(manifest: dict[str, Any]) -> dict[str, Any]:
    ents = manifest.get("entities", {}) or {}
    return {
        "status": manifest.get("status"),
        "reason": manifest.get("reason", ""),
        "failed_accounts": len((manifest.get("accounts") or {}).get("failed", []) or []),
        "entities": {
            e: {k: v.get(k, 0) for k in ("served", "landed", "quarantined")}
            for e, v in ents.items()
        },
    }


def _totals(counts: dict[str, Any]) -> dict[str, int]:
    """A source's served/landed/quarantined summed over its entities."""
    out = {"served": 0, "landed": 0, "quarantined": 0}
    for e in (counts.get("entities") or {}).values():
        for k in out:
            out[k] += int(e.get(k) or 0)
    return out


def write_ledger(settings: Settings, summary: RunSummary) -> None:
    from expectations.ledger import LedgerRow, append

    append(
        settings.quality,
        LedgerRow(
            run_id=summary.run_id,
            run_date=summary.run_date,
            started_at=summary.started_at,
            finished_at=summary.finished_at,
            status=summary.status,
            stages=summary.stages,
            source_counts={src: _totals(c) for src, c in summary.sources.items()},
            mart_rows=summary.marts,
            gate_passed={"passed": True, "failed": False}.get(summary.stages.get("gate", "")),
            failed_expectations=summary.gate_failures,
            published_checksum=summary.checksum or None,
            message=summary.message,
        ),
    )


def run_day(
    settings: Settings,
    run_date: date,
    *,
    platforms: Sequence[str] | None = None,
    mode: str = "extract",
    build: bool = True,
    progress: Progress | None = None,
    run_id: str | None = None,
    lock_wait: float = 0.0,
    full_refresh: bool = False,
) -> RunSummary:
    """Land one date, then transform, gate and publish it, under the writer lock.

    mode: `extract` calls the APIs; `reparse` rebuilds records from landed raw pages;
    `none` uses what is landed as it is. `build=False` stops after landing (status
    `landed`). Always writes one ledger row, whatever happens.
    """
    run_id = run_id or new_run_id(run_date)
    summary = RunSummary(run_id=run_id, run_date=run_date, started_at=_now())
    with run_lock(settings.home, f"kol run {run_date} ({run_id})", wait_seconds=lock_wait):
        try:
            partial = land(settings, run_date, summary, platforms, mode, progress)
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
            summary.finished_at = _now()
            try:
                write_ledger(settings, summary)
            except Exception as exc:  # the ledger must not hide the run's own error
                log.error("could not write the run ledger: %s", exc)
    return summary


def extract_side_by_side(
    settings: Settings,
    run_date: date,
    platforms: Sequence[str],
    run_id: str,
    progress: Progress | None = None,
) -> dict[str, dict[str, Any]]:
    """Extract the platforms at the same time (own host, own rate limit); one platform's
    failure does not stop the others. Returns platform -> manifest (a failure's says why).

    Each platform runs in its own process when there are several, as the Airflow DAG's
    per-platform tasks do: parsing and landing hold the GIL, so threads of one process share
    one core (a day at agency size: ~780 s of client CPU). Starting a process costs ~1.5 s
    of CPU, more than a small roster's whole day, so by default (`KOL_EXTRACT_PROCESSES` unset
    or `auto`) processes are used from PROCESS_MIN_ACCOUNTS roster accounts on; `1` always,
    `0` never (threads of this process)."""
    inputs = resolve_inputs(settings)  # once: materialises the sandbox roster first
    if settings.enabled_platforms():
        from ingestion.redaction import load_or_create_salt

        load_or_create_salt(settings.home)  # once, before the platforms share it
    if len(platforms) > 1 and _in_processes(inputs.roster, platforms):
        return _extract_in_processes(settings, run_date, platforms, run_id, progress)
    with ThreadPoolExecutor(max_workers=len(platforms), thread_name_prefix="extract") as pool:
        futures = {
            p: pool.submit(extract, settings, run_date, p, run_id, progress) for p in platforms
        }
    out = {}
    for p in platforms:
        try:
            out[p] = futures[p].result()
        except Exception as exc:  # one platform's failure does not stop the others
            out[p] = _failed_extract(p, str(exc))
    return out


PROCESS_MIN_ACCOUNTS = 500  # the demo's 128 accounts: threads; the small bench's 1,024: processes


def _in_processes(roster: Path, platforms: Sequence[str]) -> bool:
    mode = os.environ.get("KOL_EXTRACT_PROCESSES") or "auto"
    if mode not in ("auto", "0", "1"):
        raise StepFailed(f"KOL_EXTRACT_PROCESSES={mode!r}: expected auto, 0 or 1")
    if mode != "auto":
        return mode == "1"
    from ingestion.roster import read_roster

    chosen = set(platforms)
    accounts = sum(1 for e in read_roster(roster).entries if e.platform in chosen)
    return accounts >= PROCESS_MIN_ACCOUNTS


def _failed_extract(platform: str, reason: str, logged: bool = False) -> dict[str, Any]:
    if not logged:
        log.error("extract %s failed: %s", platform, reason)
    return {"source": platform, "status": "failed", "reason": reason, "entities": {}}


def _extract_in_processes(
    settings: Settings,
    run_date: date,
    platforms: Sequence[str],
    run_id: str,
    progress: Progress | None,
) -> dict[str, dict[str, Any]]:
    """One spawned process per platform, each sending back its manifest over a pipe.

    Separate processes, not a pool: a platform whose process dies (killed, out of memory)
    fails alone — a broken ProcessPoolExecutor would stop every other platform too. Children
    die with this process (PR_SET_PDEATHSIG on Linux), so a kill -9 of a run leaves no
    extraction writing on behind the released run lock."""
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    level = logging.getLogger().getEffectiveLevel()
    children = {}
    for p in platforms:
        receive, send = ctx.Pipe(duplex=False)
        child = ctx.Process(
            target=_extract_child,
            args=(send, os.getpid(), level, progress is not None, settings, run_date, p, run_id),
            name=f"kol-extract-{p}",
            daemon=True,
        )
        child.start()
        send.close()
        children[p] = (child, receive)
    out = {}
    for p, (child, receive) in children.items():
        try:
            out[p] = receive.recv()
        except EOFError:  # the process ended without answering
            child.join()
            out[p] = _failed_extract(
                p, f"the extract process of {p} died (exit code {child.exitcode}): see the log"
            )
        finally:
            receive.close()
        child.join()
    return out


def _extract_child(
    send: Any,
    parent_pid: int,
    level: int,
    show_progress: bool,
    settings: Settings,
    run_date: date,
    platform: str,
    run_id: str,
) -> None:
    """A spawned process: extract one platform and send its manifest back."""
    _die_with_parent(parent_pid)
    configure_logging(level)
    try:
        manifest = extract(
            settings, run_date, platform, run_id, print_progress if show_progress else None
        )
    except Exception as exc:  # reported as this platform's failure, like a thread's
        log.exception("extract %s failed", platform)
        manifest = _failed_extract(platform, str(exc), logged=True)
    send.send(manifest)
    send.close()


def configure_logging(level: int) -> None:
    """The `kol` commands' log lines on stderr (a spawned extraction sets up its own)."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def print_progress(msg: str) -> None:
    """The `kol` commands' progress line (a spawned extraction prints its own)."""
    print(f"  {msg}", file=sys.stderr, flush=True)


def _die_with_parent(parent_pid: int) -> None:
    """Ask Linux to SIGKILL this process when its parent dies (no-op elsewhere)."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    pr_set_pdeathsig = 1
    try:
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)


def land(
    settings: Settings,
    run_date: date,
    summary: RunSummary,
    platforms: Sequence[str] | None,
    mode: str,
    progress: Progress | None,
) -> list[str]:
    """Extract every platform (one failing does not stop the others) and the exports, or
    reparse the date. Returns why the run is partial (empty when every source landed)."""
    partial: list[str] = []
    if mode == "extract":
        chosen = list(platforms or PLATFORMS)
        manifests = extract_side_by_side(settings, run_date, chosen, summary.run_id, progress)
        for p in chosen:
            m = manifests[p]
            summary.sources[p] = source_counts(m)
            summary.stages[f"extract:{p}"] = m.get("status", "?")
            if m.get("status") != "ok":
                partial.append(f"{p} {m.get('status')}: {m.get('reason') or 'see manifest'}")
        m = load_exports(settings, run_date, summary.run_id, progress)
        summary.sources["exports"] = source_counts(m)
        summary.stages["exports"] = m.get("status", "?")
    elif mode == "reparse":
        for m in reparse(settings, run_date, progress):
            summary.sources[m.get("source", "?")] = source_counts(m)
        summary.stages["reparse"] = "ok"
    return partial


def build_and_publish(
    settings: Settings,
    run_date: date,
    summary: RunSummary,
    progress: Progress | None,
    full_refresh: bool = False,
) -> None:
    """transform -> gate -> publish; a failed gate raises before anything is published."""
    summary.stages["transform"] = "running"
    transform(settings, run_date, full_refresh=full_refresh, progress=progress)
    summary.stages["transform"] = "ok"
    summary.stages["gate"] = "running"
    try:
        g = gate(
            settings, run_date, summary.run_id, extracted_platforms_on(settings, run_date), progress
        )
    except GateFailed:
        summary.stages["gate"] = "failed"
        summary.gate_failures = read_state(settings).get("gate", {}).get("failures", [])
        raise
    summary.stages["gate"] = "passed"
    summary.gate_failures = g["failures"]
    pub = publish(settings, progress)
    summary.stages["publish"] = "ok"
    summary.marts, summary.checksum = pub["rows"], pub["checksum"]


# --- backfill -------------------------------------------------------------------------------


def sandbox_root(base_url: str) -> str | None:
    """The sandbox server's root if `base_url` points at one (it answers /_sandbox/health)."""
    root = base_url.rstrip("/").rsplit("/", 1)[0]
    try:
        r = requests.get(f"{root}/_sandbox/health", timeout=2)
    except requests.RequestException:
        return None
    return root if r.ok else None


def set_sandbox_clock(root: str, d: date) -> None:
    r = requests.post(f"{root}/_sandbox/clock", json={"date": d.isoformat()}, timeout=10)
    if not r.ok:
        raise StepFailed(f"sandbox refused clock {d}: {r.text[:200]}")


def backfill(
    settings: Settings,
    start: date,
    end: date,
    progress: Progress | None = None,
    lock_wait: float = 0.0,
) -> list[RunSummary]:
    """Re-derive the marts for each date in [start, end].

    Real platforms serve today's counts only, so a past date is rebuilt from its landed raw
    pages (reparse). Where the source is the sandbox, which can answer for a past date, the
    date is extracted afresh with the sandbox clock moved to it.
    """
    if end < start:
        raise StepFailed(f"--end {end} is before --start {start}")
    roots = {p: sandbox_root(settings.platforms[p].base_url) for p in settings.enabled_platforms()}
    can_extract = bool(roots) and all(roots.values())
    if not can_extract:
        _say(
            progress,
            "backfill: the platforms cannot answer for past dates; rebuilding from landed raw pages",
        )
    published_before = read_state(settings).get("published", {}).get("run_date")
    out = []
    d = start
    while d <= end:
        if can_extract:
            for root in set(roots.values()):
                set_sandbox_clock(root, d)  # type: ignore[arg-type]
        mode = "extract" if can_extract else "reparse"
        out.append(run_day(settings, d, mode=mode, progress=progress, lock_wait=lock_wait))
        d += timedelta(days=1)
    # Published marts never go back in time: when a later date was already published,
    # rebuild as of that date over the re-derived history and publish that.
    if published_before and date.fromisoformat(published_before) > end:
        latest = date.fromisoformat(published_before)
        _say(progress, f"backfill done; republishing the marts as of {latest} (the latest date)")
        out.append(run_day(settings, latest, mode="none", progress=progress, lock_wait=lock_wait))
    return out
