"""`kol`: the command line over the pipeline steps (the embedded default; Airflow runs the same).

Exit status: 0 success; 1 a step failed (message says which and what next); 2 a bad setting
or argument; 3 another run holds KOL_HOME; 4 the quality gate rejected the build (the
published marts are unchanged).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path

from ingestion.records import PLATFORMS
from ingestion.redaction import scrub
from ingestion.roster import RosterError
from pipeline import config, policy, state, steps
from pipeline.logs import configure_logging, print_progress
from pipeline.runlock import RunLocked

log = logging.getLogger("kol")

EXIT_STEP, EXIT_CONFIG, EXIT_LOCKED, EXIT_GATE = 1, 2, 3, 4


def _date(s: str) -> date:
    try:
        return date.fromisoformat(s)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r} is not a date; use YYYY-MM-DD") from None


EARLIEST_RUN_DATE = date(2000, 1, 1)  # before any of the five platforms existed


def _run_date(s: str) -> date:
    """A date the platforms can answer for: not before 2000, not after today (UTC)."""
    d = _date(s)
    today = datetime.now(UTC).date()
    if d < EARLIEST_RUN_DATE:
        raise argparse.ArgumentTypeError(f"{s}: before {EARLIEST_RUN_DATE}, no platform has data")
    if d > today:
        raise argparse.ArgumentTypeError(
            f"{s}: after today ({today} UTC); a run date's data exists only once the day began"
        )
    return d


_progress = print_progress


def _world_args(p: argparse.ArgumentParser) -> None:
    from pipeline.demo import DEMO_CREATORS, DEMO_SEED

    p.add_argument("--seed", type=int, default=DEMO_SEED)
    p.add_argument("--creators", type=int, default=DEMO_CREATORS)
    p.add_argument("--days", type=int, default=120, help="days of history in the world")
    p.add_argument(
        "--end-date",
        type=_date,
        default=None,
        help="last day of the world (default: yesterday UTC)",
    )


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="kol",
        description="KOL warehouse: extract five platforms + campaign exports, build marts with dbt on "
        "DuckDB, gate them with Great Expectations, publish them for BI.",
    )
    ap.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    ap.add_argument(
        "--env-file", default=".env", help="settings file read under the environment (default .env)"
    )
    sub = ap.add_subparsers(dest="verb", metavar="VERB", required=True)

    sub.add_parser("demo", help="sandbox world -> 14 daily extracts -> published marts + summary")

    p = sub.add_parser(
        "run", help="extract all platforms + exports for D, transform, gate, publish"
    )
    p.add_argument(
        "--date", type=_run_date, default=None, help="run date D (default: yesterday, UTC)"
    )
    p.add_argument(
        "--platform", action="append", choices=PLATFORMS, help="only these platforms (repeatable)"
    )
    p.add_argument("--wait", type=float, default=0.0, help="seconds to wait for another run's lock")
    p.add_argument(
        "--full-refresh", action="store_true", help="rebuild every dbt table from all landed days"
    )

    p = sub.add_parser("backfill", help="re-derive marts for past dates (reparse, or the sandbox)")
    p.add_argument("--start", type=_run_date, required=True)
    p.add_argument("--end", type=_run_date, required=True)
    p.add_argument("--wait", type=float, default=0.0)

    p = sub.add_parser("extract", help="extract platforms for D into landing (no exports)")
    p.add_argument(
        "--platform",
        action="append",
        choices=PLATFORMS,
        help="only these platforms (repeatable; default: all five, side by side as `kol run`)",
    )
    p.add_argument("--date", type=_run_date, default=None)

    p = sub.add_parser("reparse", help="rebuild D's records from landed raw pages (no API calls)")
    p.add_argument("--date", type=_run_date, required=True)

    p = sub.add_parser(
        "compact",
        help="merge old months' landed records into month files, pack old raw pages (no data lost)",
    )
    p.add_argument("--date", type=_run_date, default=None, help="as of D (default: yesterday, UTC)")
    p.add_argument("--wait", type=float, default=0.0)

    p = sub.add_parser("transform", help="one dbt build as of D")
    p.add_argument("--date", type=_run_date, default=None)
    p.add_argument("--full-refresh", action="store_true")
    p.add_argument(
        "--engine", choices=("duckdb", "spark"), default=None, help="default: KOL_ENGINE"
    )

    p = sub.add_parser("gate", help="run the quality gate over the current build")
    p.add_argument("--date", type=_run_date, default=None)

    sub.add_parser("publish", help="publish the gated build to serving/ (atomic swap)")
    sub.add_parser("docs", help="generate dbt docs into quality/dbt_docs")

    p = sub.add_parser("accept", help="accept a day the gate rejected, so later runs build on it")
    p.add_argument("--date", type=_run_date, required=True)

    p = sub.add_parser(
        "plan", help="per platform: what a full refresh costs, the quota, who refreshes on D"
    )
    p.add_argument("--date", type=_date, default=None, help="run date D (default: yesterday, UTC)")

    p = sub.add_parser("status", help="last runs, what is published, what failed and why")
    p.add_argument("--run", default=None, help="show one run in detail")
    p.add_argument("--limit", type=int, default=10)

    p = sub.add_parser("sandbox", help="the synthetic platform world (serve / export / stats)")
    ssub = p.add_subparsers(dest="sandbox_verb", metavar="ACTION", required=True)
    s = ssub.add_parser("serve", help="serve the five platform APIs on loopback")
    s.add_argument("--port", type=int, default=8765)
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--token", default="sandbox")
    s.add_argument("--faults", default="", help="e.g. rate_limit=0.2,server_error=0.05,glitch")
    _world_args(s)
    s = ssub.add_parser("export", help="write the roster and campaign CSVs to a folder")
    s.add_argument("--out", type=Path, required=True)
    _world_args(s)
    s = ssub.add_parser("stats", help="the world's statistics (tiers, engagement, bots)")
    _world_args(s)
    return ap


# --- verbs ---------------------------------------------------------------------------------


def _day(args: argparse.Namespace) -> date:
    return getattr(args, "date", None) or policy.yesterday_utc()


def cmd_run(s: config.Settings, a: argparse.Namespace) -> int:
    d = _day(a)
    if not s.enabled_platforms():
        log.warning(
            "no platform credential is set (KOL_<P>_TOKEN): only the campaign exports will load. "
            "`kol demo` runs against the sandbox; see README 'Real platforms'."
        )
    summary = policy.run_day(
        s,
        d,
        platforms=a.platform,
        progress=_progress,
        lock_wait=a.wait,
        full_refresh=a.full_refresh,
    )
    print(f"run {summary.run_id} {d}: {summary.status} — {summary.message}")
    return 0


def cmd_backfill(s: config.Settings, a: argparse.Namespace) -> int:
    for r in policy.backfill(s, a.start, a.end, progress=_progress, lock_wait=a.wait):
        print(f"{r.run_date} {r.run_id}: {r.status} — {r.message}")
    return 0


def cmd_extract(s: config.Settings, a: argparse.Namespace) -> int:
    from pipeline.runlock import run_lock

    d = _day(a)
    platforms = list(dict.fromkeys(a.platform or PLATFORMS))
    s.require_inputs()
    today = policy.source_today(s)
    with run_lock(s.home, f"kol extract {' '.join(platforms)} {d}"):
        run_id = steps.new_run_id(d)
        plans = {p: policy.plan_source(s, p, d, today) for p in platforms}
        now = [p for p in platforms if plans[p].action == "extract"]
        manifests = steps.extract_side_by_side(s, d, now, run_id, _progress) if now else {}
        for p in platforms:
            if p not in manifests:
                manifests[p] = policy.land_source(s, p, d, run_id, today)
    for m in manifests.values():
        keys = ("source", "run_date", "status", "reason")
        print(scrub(json.dumps({k: m.get(k) for k in keys}, default=str)))
    landed = all(m.get("status") in ("ok", "partial") for m in manifests.values())
    return 0 if landed else EXIT_STEP


def cmd_reparse(s: config.Settings, a: argparse.Namespace) -> int:
    from pipeline.runlock import run_lock

    with run_lock(s.home, f"kol reparse {a.date}"):
        ms = steps.reparse(s, a.date, _progress)
    for m in ms:
        print(f"{m.get('source')}: {m.get('status')}")
    return 0


def cmd_compact(s: config.Settings, a: argparse.Namespace) -> int:
    from pipeline.runlock import run_lock

    d = _day(a)
    with run_lock(s.home, f"kol compact {d}", wait_seconds=a.wait):
        out = steps.compact(s, d, _progress)
    print(
        f"compacted {len(out['months'])} months ({out['days_replaced']} day folders), "
        f"packed {len(out['raw_packs'])} raw months as of {d}"
    )
    return 0


def cmd_transform(s: config.Settings, a: argparse.Namespace) -> int:
    from pipeline.runlock import run_lock

    with run_lock(s.home, "kol transform"):
        out = steps.transform(
            s, _day(a), full_refresh=a.full_refresh, progress=_progress, engine=a.engine
        )
    print(f"dbt build ok as of {out['run_date']} in {out['elapsed']}s")
    return 0


def cmd_gate(s: config.Settings, a: argparse.Namespace) -> int:
    from pipeline.runlock import run_lock

    d = a.date or date.fromisoformat(
        state.read_state(s).get("transform", {}).get("run_date") or str(policy.yesterday_utc())
    )
    with run_lock(s.home, "kol gate"):
        out = steps.gate(s, d, steps.new_run_id(d), progress=_progress)
    print(f"gate passed for {d}. Data Docs: {out['data_docs']}")
    return 0


def cmd_publish(s: config.Settings, a: argparse.Namespace) -> int:
    from pipeline.runlock import run_lock

    with run_lock(s.home, "kol publish"):
        out = steps.publish(s, _progress)
    print(
        f"published {out['path']} ({sum(out['rows'].values())} rows, checksum {out['checksum'][:12]})"
    )
    return 0


def cmd_docs(s: config.Settings, a: argparse.Namespace) -> int:
    from pipeline.runlock import run_lock

    with run_lock(s.home, "kol docs"):  # dbt opens the warehouse and rewrites target/
        index = steps.docs(s, _progress) / "index.html"
    print(index)
    return 0


def cmd_accept(s: config.Settings, a: argparse.Namespace) -> int:
    state.accept(s, a.date)
    print(f"{a.date} accepted: later runs build on it again")
    return 0


def cmd_plan(s: config.Settings, a: argparse.Namespace) -> int:
    from ingestion.roster import read_roster
    from pipeline.report import plan_text

    d = _day(a)
    roster_path, _ = s.require_inputs()
    entries = read_roster(roster_path).entries
    plans = {
        p: policy.plan_refresh(s, p, d, [e for e in entries if e.platform == p])
        for p in PLATFORMS
        if any(e.platform == p for e in entries)
    }
    print(plan_text(s, d, plans))
    return 0


def cmd_status(s: config.Settings, a: argparse.Namespace) -> int:
    from pipeline.report import status_text

    print(status_text(s, run_id=a.run, limit=a.limit))
    return 0


def _world(a: argparse.Namespace):
    from sandbox import WorldConfig

    return WorldConfig(seed=a.seed, creators=a.creators, days=a.days, end_date=a.end_date)


def cmd_sandbox(s: config.Settings, a: argparse.Namespace) -> int:
    import sandbox

    cfg = _world(a)
    if a.sandbox_verb == "serve":
        faults = sandbox.FaultConfig.parse(a.faults) if a.faults else None
        sandbox.serve_forever(cfg, a.token, faults, a.host, a.port)
    elif a.sandbox_verb == "export":
        for name, path in sandbox.export_world(cfg, a.out).items():
            print(f"{name}: {path}")
    else:
        print(json.dumps(sandbox.world_stats(cfg), indent=2, default=str))
    return 0


def cmd_demo(s: config.Settings, a: argparse.Namespace) -> int:
    from pipeline.demo import run_demo

    print(run_demo(s, progress=_progress))
    return 0


VERBS: dict[str, Callable[[config.Settings, argparse.Namespace], int]] = {
    "demo": cmd_demo,
    "run": cmd_run,
    "backfill": cmd_backfill,
    "extract": cmd_extract,
    "reparse": cmd_reparse,
    "compact": cmd_compact,
    "transform": cmd_transform,
    "gate": cmd_gate,
    "publish": cmd_publish,
    "docs": cmd_docs,
    "accept": cmd_accept,
    "plan": cmd_plan,
    "status": cmd_status,
    "sandbox": cmd_sandbox,
}


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(logging.DEBUG if args.verbose else logging.INFO)
    try:
        settings = config.load(env_file=args.env_file)
    except config.ConfigError as exc:
        print(f"kol: configuration error: {scrub(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG
    try:
        return VERBS[args.verb](settings, args)
    except RosterError as exc:  # the roster file as a whole is unusable: a bad setting
        print(f"kol: configuration error: {scrub(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG
    except RunLocked as exc:
        print(f"kol: {scrub(str(exc))}", file=sys.stderr)
        return EXIT_LOCKED
    except state.GateFailed as exc:
        print(f"kol: {scrub(str(exc))}", file=sys.stderr)
        return EXIT_GATE
    except config.ConfigError as exc:
        print(f"kol: configuration error: {scrub(str(exc))}", file=sys.stderr)
        return EXIT_CONFIG
    except state.StepFailed as exc:
        print(f"kol: {scrub(str(exc))}", file=sys.stderr)
        return EXIT_STEP
    except KeyboardInterrupt:
        print("kol: interrupted; landing and serving hold only complete files.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
