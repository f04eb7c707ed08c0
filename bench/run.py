"""`python -m bench.run --size tiny|small|agency [--reps N] [--history 30,365]`

Times each stage of ONE daily run as whole `kol` processes against a `kol sandbox serve`
child, at a fixed world size, with 30 and 365 landed days of history behind the measured
day; writes `bench/results/<size>.json` (replacing the last one) and prints a Markdown table. How to read
the numbers and the targets: bench/README.md.

Shape of one benchmark:
  setup   world CSVs (`kol sandbox export`) -> sandbox up -> a real extract of D-1 as a
          steady-state day -> per history H: copies of D-1 back to D-H (bench/history.py),
          `kol transform --full-refresh` as of D-1, then a snapshot of that KOL_HOME;
  reps    from the snapshot of the primary (longest) history: extract+land D, exports,
          reparse D, DuckDB scan of D, transform (incremental), gate, publish; the same
          incremental transform on every other history (D's records hard-linked in); the
          incremental transform on Spark on the shortest history (from a snapshot of its
          Spark build as of D-1, made in the setup); then, from the snapshot again, the
          whole `kol run --date D`.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import calls, history, profile, report
from bench.measure import MB, STAGE_TIMEOUT_S, StageFailed, Timed, run_timed
from bench.sandbox import TOKEN, SandboxProcess, WorldSpec
from ingestion.platforms.base import FIRST_SIGHT_DAYS
from ingestion.records import PLATFORMS
from ingestion.roster import read_roster
from pipeline.config import COMPACT_AFTER_DAYS as COMPACT_AFTER_SETTING
from pipeline.config import duckdb_limits
from pipeline.demo import DEMO_X_WINDOWS
from pipeline.runlock import RunLocked, lock_holder, run_lock

REPO = report.REPO
RESULTS_DIR = REPO / "bench" / "results"
# in a history's run home: its copied landing is complete (a killed setup's `--reuse` keeps it)
LANDED_MARKER = "bench-history.json"
# in a history's run home: the code its full refresh runs (a killed one resumes with it only)
BUILD_MARKER = "bench-build.json"
SETUP_FILE = "setup.json"  # in the work folder: what `--reuse` checks before reusing
DAY_MARKER = "bench-day.json"  # beside dayD/landing (--extract-once): the setup it belongs to
WORLD_DAYS = 120  # the sandbox world's own history (posts exist 90 days before it, too)
# The measured day D unless --date says otherwise. Fixed, not "yesterday": the sandbox world
# depends on it, so a moving default would give another world (and a 15-minute rebuild of a
# kept setup) every morning, and numbers from different days would not be of the same world.
BENCH_DAY = date(2026, 11, 25)
GB = 1024 * MB
# A full refresh outlives every other stage's time limit (bench.measure.STAGE_TIMEOUT_S):
# agency's year is 13 monthly builds, ~2 h on 2 cores.
FULL_REFRESH_TIMEOUT_S = 8 * 3600.0
# Disk a history takes per byte of landing it copies (small × 365 days: 2.39 GB copied; the
# warehouse in the run home and again in its snapshot, ~0.33 each; DuckDB's spill during the
# full refresh on top): an estimate that errs on the large side.
DISK_PER_COPIED_BYTE = 2.0
# The history is left as `kol compact` leaves it, with the default window (bench/history.py).
COMPACT_AFTER_DAYS = int(COMPACT_AFTER_SETTING.default)
# A compacted day's share of its day files' bytes (measured at small size, bench/README.md),
# rounded up for the disk check.
COMPACTED_SHARE = 0.25


# Stages `--stages` may pick; extract + land (and the exports) always run: the rest needs them.
# kol_run: the whole day with the quotas raised (every account refreshes); kol_run_quotas: the
# whole day as the documented default quotas allow it, the sandbox enforcing them.
STAGES: tuple[str, ...] = (
    "reparse",
    "duckdb_scan",
    "transform",
    "transform_spark",
    "gate",
    "publish",
    "kol_run",
    "kol_run_quotas",
)
WHOLE_RUNS = ("kol_run", "kol_run_quotas")
STAGE_NEEDS: dict[str, tuple[str, ...]] = {
    "gate": ("transform",),
    "publish": ("gate", "transform"),
    # Spark's figures are read beside DuckDB's of the same run
    "transform_spark": ("transform",),
}


@dataclass(frozen=True)
class Size:
    name: str
    creators: int  # sandbox creators; each has accounts on one to five platforms
    accounts: int  # what the size is meant to be (roster rows); the run reports the real count
    histories: tuple[int, ...]
    reps: int = 3
    stages: tuple[str, ...] = STAGES


# `small` is the every-change run and must take < 5 minutes with its setup kept: one
# repetition, and the whole `kol run` is the sum of its stage processes (report.day_stages)
# instead of a second pass over the same day. `--reps 3 --stages all` measures it fully.
# The Spark stage is in no size's default (at small it adds about 15 minutes a repetition
# and 25 to the setup, bench/README.md): `--spark` adds it.
SIZES: dict[str, Size] = {
    "tiny": Size(
        "tiny",
        creators=10,
        accounts=30,
        histories=(3, 6),
        reps=1,
        stages=tuple(s for s in STAGES if s != "transform_spark"),
    ),
    "small": Size(
        "small",
        creators=415,
        accounts=1_000,
        histories=(30, 365),
        reps=1,
        stages=tuple(s for s in STAGES if s not in (*WHOLE_RUNS, "transform_spark")),
    ),
    "agency": Size(
        "agency",
        creators=8_040,
        accounts=20_000,
        histories=(30, 365),
        stages=tuple(s for s in STAGES if s != "transform_spark"),
    ),
}


@dataclass
class Options:
    size: Size
    reps: int
    histories: list[int]
    run_date: date
    seed: int
    workdir: Path
    results_dir: Path
    keep: bool = False
    # --keep: the run homes of the measured day too (a snapshot's copy each, ~19 GB at agency
    # × 365); with --workdir alone only the setup a later --reuse needs is kept
    keep_runs: bool = False
    reuse: bool = False
    # with reuse: keep warehouses built by other warehouse code (no full refresh redone)
    keep_warehouses: bool = False
    profile: str | None = None  # a stage to re-run once under the profiler ("auto": slowest)
    creators: int | None = None
    stages: frozenset[str] = frozenset(STAGES) - {"transform_spark"}
    platforms: tuple[str, ...] = PLATFORMS
    # a commit whose extract + reparse run beside this tree's in every repetition (before/after)
    baseline: str | None = None
    # extract D in the first repetition only; later ones hard-link what it landed (agency's
    # extract is ~10 min a repetition, and a run about the transforms need not repeat it)
    extract_once: bool = False

    @property
    def builds(self) -> bool:
        """Whether the histories need a built warehouse (any stage after landing needs one)."""
        return bool(self.stages & {"transform", "gate", "publish", *WHOLE_RUNS})

    @property
    def primary(self) -> int:
        """Every stage is measured on the longest history: the steady state of a warehouse."""
        return max(self.histories)


def _say(msg: str) -> None:
    print(f"[{datetime.now(UTC):%H:%M:%S}] {msg}", file=sys.stderr, flush=True)


def kol_argv() -> list[str]:
    """`.venv/bin/kol`, beside the interpreter running the harness."""
    exe = Path(sys.executable).parent / "kol"
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "pipeline.cli"]


# Every account refreshes every measured day (a steady state per account): the quotas are
# raised past any world's need; what the documented defaults would allow is computed from
# the measured cost (bench/calls.py) and printed with the plan.
RAISED_QUOTAS = {
    "KOL_YOUTUBE_UNITS_PER_DAY": str(10**9),
    "KOL_TIKTOK_REQUESTS_PER_DAY": str(10**9),
    "KOL_TIKTOK_RECORDS_PER_DAY": str(10**12),
    "KOL_GRAPH_CALLS_PER_HOUR": str(10**9),
    "KOL_X_POSTS_PER_MONTH": str(10**12),
    # a day's windows (the sandbox paces only with its quota model)
    "KOL_X_WINDOWS_PER_RUN": str(DEMO_X_WINDOWS),
}


def base_env() -> dict[str, str]:
    """The harness's environment without any KOL_* of the shell (the bench sets its own)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOL_")}
    env.update(RAISED_QUOTAS)
    env.update(GX_ANALYTICS_ENABLED="False", DBT_SEND_ANONYMOUS_USAGE_STATS="False")
    # the children run in the work folder: `python -m bench.*` must still find this package
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def sample(t: Timed, **extra: Any) -> dict[str, Any]:
    return {
        "seconds": round(t.seconds, 3),
        "cpu_s": round(t.cpu_seconds, 2),
        "peak_rss_mb": round(t.peak_rss_mb, 1),
        "max_rss_mb": round(t.max_rss_mb, 1),
        "tree_rss_mb": round(t.tree_rss_mb, 1),
        "tree_pss_mb": round(t.tree_pss_mb, 1),
        **extra,
    }


def raw_bytes(landing: Path, day: date) -> tuple[int, int]:
    """(on-disk gzip bytes, uncompressed bytes) of the day's raw pages, all platforms.

    The uncompressed size is read from each gzip trailer (ISIZE), not by inflating.
    """
    gz = plain = 0
    for f in landing.glob(f"raw/platform=*/endpoint=*/dt={day.isoformat()}/run=*/*.gz"):
        gz += f.stat().st_size
        with f.open("rb") as fh:
            fh.seek(-4, os.SEEK_END)
            plain += int.from_bytes(fh.read(4), "little")
    return gz, plain


def mark_accounts_seen(landing: Path, roster: Path, day: date) -> None:
    """Stub manifests at `day` listing every roster account as landed, so the extractor
    (ingestion.extract.first_sight_keys) treats the next day as a steady-state day. The
    history copies overwrite these stubs."""
    from ingestion.roster import read_roster

    entries = read_roster(roster).entries
    out = landing / "manifests" / f"dt={day.isoformat()}"
    out.mkdir(parents=True, exist_ok=True)
    for p in PLATFORMS:
        stub = {
            "source": p,
            "run_id": "bench-accounts-seen",
            "run_date": day.isoformat(),
            "status": "ok",
            "reason": "bench stub: accounts seen before (no records)",
            "entities": {},
            "accounts": {"landed": sorted(e.key for e in entries if e.platform == p)},
        }
        (out / f"{p}.json").write_text(json.dumps(stub, indent=2))


def first_sight_accounts(landing: Path, day: date, platforms: Sequence[str]) -> int:
    """How many accounts the day's extract treated as first seen (from its manifests)."""
    n = 0
    for p in platforms:
        path = landing / "manifests" / f"dt={day.isoformat()}" / f"{p}.json"
        if path.is_file():
            n += len((json.loads(path.read_text()).get("accounts") or {}).get("first_sight", []))
    return n


def _size_mb(path: Path) -> float | None:
    return round(path.stat().st_size / MB, 1) if path.exists() else None


def landed_records(landing: Path, day: date, sources: Sequence[str] = PLATFORMS) -> int:
    """Records landed for `day` by `sources`, from their manifests (what dbt will read)."""
    total = 0
    for s in sources:
        path = landing / "manifests" / f"dt={day.isoformat()}" / f"{s}.json"
        if not path.is_file():
            continue
        for e in (json.loads(path.read_text()).get("entities") or {}).values():
            total += int(e.get("landed", 0) or 0)
    return total


def platform_seconds(landing: Path, day: date, platforms: Sequence[str]) -> dict[str, float]:
    """Each platform's extraction time (its manifest's started_at .. finished_at)."""
    out = {}
    for p in platforms:
        path = landing / "manifests" / f"dt={day.isoformat()}" / f"{p}.json"
        m = json.loads(path.read_text()) if path.is_file() else {}
        try:
            started = datetime.fromisoformat(m["started_at"])
            finished = datetime.fromisoformat(m["finished_at"])
        except (KeyError, TypeError, ValueError):
            continue
        out[p] = round((finished - started).total_seconds(), 3)
    return out


# the brand x creator matching step (docs/matching.md): the models whose execution times
# `dbt_matching` reports; training is int_matching_model_trained, the matches step the rest
MATCHING_TRAINING = "int_matching_model_trained"
MATCHING_STEP = (
    "int_post_words_counted",
    "int_brand_creator_topic_similarity",
    "int_brand_creator_candidates",
    "int_brand_creator_predictions",
    "brand_creator_matches",
)


def matching_timings(results: list[dict[str, Any]]) -> dict[str, Any]:
    """The matching models' execution times (dbt's own, per node) and their sums: the
    training and the matches step; {} when the build ran none of them."""
    seconds = {
        r["unique_id"].rsplit(".", 1)[-1]: round(float(r.get("execution_time") or 0.0), 3)
        for r in results
        if r["unique_id"].startswith("model.")
        and r["unique_id"].rsplit(".", 1)[-1] in (MATCHING_TRAINING, *MATCHING_STEP)
    }
    if not seconds:
        return {}
    return {
        "model_training_s": seconds.get(MATCHING_TRAINING),
        "matches_step_s": round(sum(seconds.get(m, 0.0) for m in MATCHING_STEP), 3),
        "by_model": seconds,
    }


def _node_name(unique_id: str) -> str:
    """`kind:name` of a dbt node: a data test's id ends in a hash (test.kol.<name>.<hash>),
    which would not say which test grew; every other id ends in its name."""
    parts = unique_id.split(".")
    name = parts[2] if parts[0] == "test" and len(parts) > 3 else parts[-1]
    return f"{parts[0]}:{name}"


def dbt_timings(home: Path, top: int = 8) -> dict[str, Any]:
    """Where one `dbt build` spent its time, from its run_results.json: dbt's own elapsed
    time (the rest of the process is start-up and parsing), the summed execution time of
    each kind of node, the slowest nodes, every node's time (`dbt_by_node`, short names:
    what the report compares between histories) and the matching step's models."""
    path = home / "dbt" / "target" / "run_results.json"
    try:
        rr = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    results = rr.get("results", [])
    by_kind: dict[str, float] = {}
    for r in results:
        kind = r["unique_id"].split(".", 1)[0]
        by_kind[kind] = by_kind.get(kind, 0.0) + float(r.get("execution_time") or 0.0)
    slowest = sorted(results, key=lambda r: r.get("execution_time") or 0.0, reverse=True)[:top]
    return {
        "dbt_elapsed": round(float(rr.get("elapsed_time") or 0.0), 3),
        "dbt_nodes": len(results),
        "dbt_seconds_by_kind": {k: round(v, 3) for k, v in sorted(by_kind.items())},
        "dbt_slowest": [
            {"node": r["unique_id"], "seconds": round(float(r.get("execution_time") or 0.0), 3)}
            for r in slowest
        ],
        "dbt_by_node": {
            _node_name(r["unique_id"]): round(float(r.get("execution_time") or 0.0), 3)
            for r in results
        },
        "dbt_matching": matching_timings(results),
    }


@dataclass
class Bench:
    opts: Options
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    setup: dict[str, Any] = field(default_factory=dict)
    kol: list[str] = field(default_factory=kol_argv)
    env: dict[str, str] = field(default_factory=base_env)
    recording: bool = True
    profiled: list[str] = field(default_factory=list)
    sandbox: SandboxProcess | None = None
    sandbox_cpu: dict[str, float] = field(default_factory=dict)  # log tag -> CPU seconds
    missing: list[int] = field(default_factory=list)  # histories the setup must still build
    upgrade: bool = False  # kept warehouses of other code get D - 1 rebuilt by this code
    calls: dict[str, Any] = field(default_factory=dict)  # the last measured day's call costs
    # taken when the run starts: the code the setup's warehouses are built with, even when
    # the tree changes while a long setup runs
    code: str = field(default_factory=lambda: warehouse_code_fingerprint())

    # --- paths and commands --------------------------------------------------------------

    @property
    def work(self) -> Path:
        return self.opts.workdir

    def run_home(self, h: int) -> Path:
        return self.work / f"run-h{h}"

    def remove_run_homes(self) -> list[str]:
        """After a finished run: the homes the measured days ran in (`run-h*`, `run-spark-h*`,
        `run-baseline`), each a copy of a snapshot's warehouse the next run copies again. The
        setup a later `--reuse` needs (seed day, snapshots, `setup.json`, logs) stays. Returns
        the names removed."""
        removed = []
        for home in sorted(self.work.glob("run-*")):
            if home.is_dir():
                shutil.rmtree(home, ignore_errors=True)
                removed.append(home.name)
        return removed

    def snapshot(self, h: int) -> Path:
        return self.work / f"snap-h{h}"

    def spark_home(self, h: int) -> Path:
        return self.work / f"run-spark-h{h}"

    def spark_snapshot(self, h: int) -> Path:
        return self.work / f"snap-spark-h{h}"

    def spark_setup_for(self, h: int) -> bool:
        """Whether history `h` gets a Spark build in the setup (the one the Spark stage uses)."""
        return "transform_spark" in self.opts.stages and h == spark_history(self.opts.histories)

    def spark_snapshot_kept(self) -> bool:
        return all(
            self.spark_snapshot(h).is_dir() for h in self.opts.histories if self.spark_setup_for(h)
        )

    def home_env(self, home: Path) -> dict[str, str]:
        return {**self.env, "KOL_HOME": str(home)}

    def run(
        self,
        stage: str,
        argv: list[str],
        home: Path,
        tag: str,
        env: dict[str, str] | None = None,
        timeout: float = STAGE_TIMEOUT_S,
    ) -> Timed:
        """One measured child process (under the profiler when it is the stage asked for);
        `env`: its environment instead of the harness's; killed after `timeout` seconds."""
        profiling = self.opts.profile == stage and not self.recording
        if profiling:
            out = self.work / "profiles" / tag
            out.parent.mkdir(parents=True, exist_ok=True)
            argv, written = profile.wrap(argv, self.kol, out)
        sb0 = self.sandbox.cpu_seconds() if self.sandbox else 0.0
        env = {**(env or self.env), "KOL_HOME": str(home)}
        t = run_timed(argv, env, self.work / "logs" / f"{tag}.log", cwd=self.work, timeout=timeout)
        sb = self.sandbox.cpu_seconds() - sb0 if self.sandbox else 0.0
        self.sandbox_cpu[tag] = sb
        _say(
            f"  {tag}: {t.seconds:.1f}s (CPU {t.cpu_seconds:.1f}s, sandbox {sb:.1f}s), "
            f"peak {t.peak_rss_mb:,.0f} MB"
        )
        if profiling:
            self.keep_profile(written, t)
        return t

    def keep_profile(self, written: Path, t: Timed) -> None:
        """A readable profile in bench/results/profiles/ (raw py-spy stacks stay in the work
        folder: large, and only a flame-graph tool reads them)."""
        dest = self.opts.results_dir / "profiles"
        dest.mkdir(parents=True, exist_ok=True)
        stem = f"{self.opts.run_date:%Y-%m-%d}-{self.opts.size.name}-{written.name.split('.')[0]}"
        if written.name.endswith(".collapsed.txt"):
            cmd = " ".join(t.argv[t.argv.index("--") + 1 :])
            text = profile.summarise(written) if written.exists() else "py-spy wrote nothing"
            body = f"{cmd}\nwall {t.seconds:.1f}s under py-spy; raw stacks: {written}\n\n{text}\n"
        else:
            body = written.read_text() if written.exists() else "pyinstrument wrote nothing"
        out = dest / f"{stem}.txt"
        out.write_text(body)
        self.profiled.append(str(out))

    def record(self, key: str, s: dict[str, Any]) -> None:
        if self.recording:
            self.samples.setdefault(key, []).append(s)

    # --- building blocks -----------------------------------------------------------------

    def land(self, home: Path, day: date, tag: str) -> tuple[Timed, Timed]:
        """Extract every platform for `day` as `kol run` does (one `kol extract`, the platforms
        side by side in their own processes), then the exports."""
        argv = [*self.kol, "extract", "--date", day.isoformat()]
        if set(self.opts.platforms) != set(PLATFORMS):
            argv += [a for p in self.opts.platforms for a in ("--platform", p)]
        extract = self.run("extract_land", argv, home, f"{tag}-extract")
        exports = self.run(
            "exports",
            [sys.executable, "-m", "bench.exports", day.isoformat()],
            home,
            f"{tag}-exports",
        )
        return extract, exports

    def restore(self, h: int) -> Path:
        """The run home of history `h` := its snapshot (same path: dbt's views keep working)."""
        home = self.run_home(h)
        history.clone_home(self.snapshot(h), home)
        return home

    def transform(
        self,
        home: Path,
        day: date,
        h: int,
        tag: str,
        full: bool = False,
        engine: str = "duckdb",
        resumed_from: str | None = None,
    ) -> None:
        """One `kol transform` as of `day` on `engine`, recorded with dbt's own per-node
        timings (stage keys: transform_full / transform_incremental, with `_spark` on Spark).
        `resumed_from`: a full refresh killed after that month goes on from there (without
        `--full-refresh`); its sample says so, and times only the rest."""
        argv = [*self.kol, "transform", "--date", day.isoformat()]
        if engine != "duckdb":
            argv += ["--engine", engine]
        kind = "full" if full else "incremental"
        stage = f"transform_{kind}" if engine == "duckdb" else f"transform_{engine}_{kind}"
        if full and not resumed_from:
            argv.append("--full-refresh")
        limit = FULL_REFRESH_TIMEOUT_S if full else STAGE_TIMEOUT_S
        t = self.run(stage, argv, home, tag, timeout=limit)
        extra = {"resumed_from": resumed_from} if resumed_from else {}
        self.record(f"{stage}@{h}", sample(t, history_days=h, **extra, **dbt_timings(home)))

    # --- setup ---------------------------------------------------------------------------

    def prepare_world(self) -> WorldSpec:
        creators = self.opts.creators or self.opts.size.creators
        world = WorldSpec(self.opts.seed, creators, WORLD_DAYS, self.opts.run_date)
        out = self.work / "world"
        t = run_timed(
            [*self.kol, "sandbox", "export", "--out", str(out), *world.args()],
            self.env,
            self.work / "logs" / "setup-world-export.log",
            cwd=self.work,
        )
        roster = out / "roster.csv"
        rows = roster.read_text(encoding="utf-8").splitlines()[1:]
        by_platform: dict[str, int] = {}
        for line in rows:
            p = line.split(",")[2] if line.count(",") >= 2 else "?"
            by_platform[p] = by_platform.get(p, 0) + 1
        self.env.update(KOL_ROSTER=str(roster), KOL_EXPORTS_DIR=str(out))
        self.setup["world"] = {
            "seed": world.seed,
            "creators": creators,
            "accounts": len(rows),
            "accounts_by_platform": by_platform,
            "world_days": world.days,
            "run_date": world.end_date.isoformat(),
            "export_seconds": round(t.seconds, 2),
        }
        _say(f"world: {creators} creators, {len(rows)} accounts {by_platform}")
        return world

    def point_at(self, sb: SandboxProcess) -> None:
        from sandbox import SANDBOX_IG_USER_ID

        for p, url in sb.base_urls.items():
            self.env[f"KOL_{p.upper()}_BASE_URL"] = url
            self.env[f"KOL_{p.upper()}_TOKEN"] = TOKEN
        self.env["KOL_INSTAGRAM_USER_ID"] = str(SANDBOX_IG_USER_ID)

    def set_clock(self, sb: SandboxProcess, d: date) -> None:
        """The sandbox serves `d`: `kol` is told that today is the day after (KOL_TODAY)."""
        sb.set_clock(d)
        self.env["KOL_TODAY"] = (d + timedelta(days=1)).isoformat()

    def seed_days(self, sb: SandboxProcess) -> Path:
        """Extract D-1 for real, as a steady-state day (trailing 30 days, not the 90-day pull
        of a first sight): a stub manifest at D-2 marks every account as seen before."""
        base = self.work / "base"
        d1 = self.opts.run_date - timedelta(days=1)
        mark_accounts_seen(base / "landing", Path(self.env["KOL_ROSTER"]), d1 - timedelta(days=1))
        self.set_clock(sb, d1)
        _say(f"seed day {d1} (steady state)")
        extract, _ = self.land(base, d1, f"setup-seed-{d1}")
        first = first_sight_accounts(base / "landing", d1, self.opts.platforms)
        if first:
            _say(f"warning: {first} accounts got a first-sight pull on {d1}: history is heavier")
        self.setup["seed_day"] = {
            "day": d1.isoformat(),
            "extract_seconds": round(extract.seconds, 2),
            "records": landed_records(base / "landing", d1, self.opts.platforms),
            "first_sight_accounts": first,
        }
        return base

    def check_disk(self, base: Path, histories: Sequence[int]) -> None:
        """Refuse, before copying anything, histories the disk cannot hold (found hours into a
        run otherwise): the copied landing a compacted history keeps, its warehouses and spill."""
        d1 = self.opts.run_date - timedelta(days=1)
        per_day = history.copied_bytes_per_day(base / "landing", d1)
        # at most the window, the month being copied and the month before stay in day files;
        # older days are in month files (bench/history.py)
        window = COMPACT_AFTER_DAYS + 62
        by_history = {
            h: (min(h - 1, window) + max(h - 1 - window, 0) * COMPACTED_SHARE) * per_day
            for h in histories
        }
        # a landing an earlier run copied completely is on disk already: only its builds remain
        need = sum(
            b * (DISK_PER_COPIED_BYTE - (1 if self.landing_kept(self.run_home(h), h) else 0))
            for h, b in by_history.items()
        )
        copied = sum(by_history.values())
        free = shutil.disk_usage(self.work).free
        if need > free:
            raise StageFailed(
                f"the histories {sorted(histories)} need about {need / GB:,.1f} GB "
                f"in {self.work} ({copied / GB:,.1f} GB of copied landing, their warehouses "
                f"and DuckDB's spill) and {free / GB:,.1f} GB is free. Measure fewer days "
                "(--history 30; with make: BENCH_ARGS='--history 30') or use a larger disk "
                "(--workdir DIR; with make: BENCH_DIR=DIR)."
            )

    def prepare_history(self, base: Path, h: int) -> None:
        """History `h`: D-1 copied back to D-h, built as of D-1 (full refresh), snapshotted."""
        d1 = self.opts.run_date - timedelta(days=1)
        home = self.run_home(h)
        kept = self.landed_history(home, h)
        if kept is not None:
            stats, fab = kept
        else:
            stats, fab = self.fabricate(base, home, h)
        _say(
            f"history {h}: {stats.days} copied days, {stats.bytes / MB:,.0f} MB of records "
            f"copied, {stats.records_bytes / MB:,.0f} MB after compacting "
            f"{stats.compacted_months} months, in {fab:.1f}s"
        )
        if self.opts.builds:  # no gate/publish here: the measured day runs its own
            resumed = self.resumable_build(home) if kept is not None else None
            if resumed:
                _say(f"history {h}: its full refresh resumes after {resumed} (an earlier run's)")
            else:
                (home / BUILD_MARKER).write_text(json.dumps({"code": self.code}))
            tag = f"setup-h{h}-transform-full" + ("-resumed" if resumed else "")
            self.transform(home, d1, h, tag, full=True, resumed_from=resumed)
        history.clone_home(home, self.snapshot(h))
        if self.spark_setup_for(h):
            self.prepare_spark(h)
        self.setup[f"history_{h}"] = {
            "landed_days": h,
            "copied_days": stats.days,
            "copied_files": stats.files,
            "copied_mb": round(stats.bytes / MB, 1),
            # landing bytes per account-year: API records copied vs on disk after compaction
            "records_mb_after_compaction": round(stats.records_bytes / MB, 1),
            "compacted_months": stats.compacted_months,
            "compact_seconds": stats.compact_seconds,
            "fabricate_seconds": round(fab, 2),
            "warehouse_mb": _size_mb(home / "warehouse.duckdb"),
        }

    def fabricate(self, base: Path, home: Path, h: int) -> tuple[history.HistoryStats, float]:
        """`home` := the seed day's home with D-2 back to D-h copied in; a marker file then
        says the landing is complete (agency's year takes about an hour to copy)."""
        d1 = self.opts.run_date - timedelta(days=1)
        history.clone_home(base, home)
        targets = [self.opts.run_date - timedelta(days=k) for k in range(2, h + 1)]
        t0 = time.perf_counter()

        def progress(done: int, total: int) -> None:
            spent = time.perf_counter() - t0
            left = spent / done * (total - done)
            _say(f"history {h}: {done}/{total} days copied and compacted, about {left:,.0f}s left")

        stats = history.fabricate_history(
            home / "landing",
            d1,
            targets,
            compact_after_days=COMPACT_AFTER_DAYS,
            # the caps `kol compact` runs under: without them DuckDB may take 80% of RAM
            # (12.9 GB seen while agency's year was compacted)
            duckdb_config=duckdb_limits(),
            progress=progress,
            first_sight_days=FIRST_SIGHT_DAYS,
        )
        fab = time.perf_counter() - t0
        marker = {
            "landing": self.landing_key(h),
            "history": h,
            "source_day": d1.isoformat(),
            "fabricate_seconds": round(fab, 2),
        }
        (home / LANDED_MARKER).write_text(json.dumps({**marker, "stats": asdict(stats)}))
        return stats, fab

    def landed_history(self, home: Path, h: int) -> tuple[history.HistoryStats, float] | None:
        """With `--reuse`: the landing a killed setup copied completely for history `h` (its
        marker file), its warehouse removed for the full refresh to redo; else None."""
        if not self.landing_kept(home, h):
            return None
        marker = home / LANDED_MARKER
        m = json.loads(marker.read_text())
        _say(f"--reuse: history {h}'s landing was copied by an earlier run ({marker})")
        if not self.resumable_build(home):
            drop_warehouse(home)
        return history.HistoryStats(**m["stats"]), float(m["fabricate_seconds"])

    def built_through_by_this_code(self, home: Path) -> str | None:
        """The last day this code's full refresh in `home` finished (its state.json, under a
        BUILD_MARKER naming this code), else None; never for a run that builds nothing."""
        marker, state = home / BUILD_MARKER, home / "state.json"
        if not (self.opts.builds and marker.is_file() and state.is_file()):
            return None
        if json.loads(marker.read_text()).get("code") != self.code:
            return None
        return json.loads(state.read_text()).get("built_through")

    def resumable_build(self, home: Path) -> str | None:
        """The last month a killed full refresh of this code finished in `home` (it builds a
        long history a month at a time: pipeline.policy.builds_through), else None."""
        built = self.built_through_by_this_code(home)
        d1 = self.opts.run_date - timedelta(days=1)
        return built if built and built < d1.isoformat() else None

    def landing_kept(self, home: Path, h: int) -> bool:
        """With `--reuse`: `home` holds history `h`'s landing of this world, copied completely."""
        marker = home / LANDED_MARKER
        if not (self.opts.reuse and marker.is_file()):
            return False
        m = json.loads(marker.read_text())
        d1 = self.opts.run_date - timedelta(days=1)
        return m.get("landing") == self.landing_key(h) and m.get("source_day") == d1.isoformat()

    def prepare_spark(self, h: int) -> None:
        """Spark's build of history `h` as of D-1 (`kol transform --engine spark`, full: the
        snapshot's last build ran on DuckDB), snapshotted for the repetitions' incremental day."""
        d1 = self.opts.run_date - timedelta(days=1)
        home = self.spark_home(h)
        history.clone_home(self.snapshot(h), home)
        self.transform(home, d1, h, f"setup-h{h}-spark-full", full=True, engine="spark")
        history.clone_home(home, self.spark_snapshot(h))

    # --- one repetition ------------------------------------------------------------------

    def wants(self, stage: str) -> bool:
        """Whether this repetition runs `stage`: all asked-for stages when measuring; when
        profiling, only the profiled stage and what it needs before it."""
        if stage not in self.opts.stages:
            return False
        if self.recording:
            return True
        needs = {
            "transform_incremental": {"transform"},
            "gate": {"transform", "gate"},
            "publish": {"transform", "gate", "publish"},
        }
        return stage in needs.get(self.opts.profile or "", {self.opts.profile})

    def rep(self, i: int) -> None:
        """Every stage once on the primary history; the incremental day on the others, after
        the primary's in odd repetitions and before it in even ones (transform_order)."""
        d, p = self.opts.run_date, self.opts.primary
        tag = f"rep{i}" if self.recording else "profile"
        home = self.restore(p)
        landed_once = self.work / "dayD" / "landing"
        extracting = not (self.opts.extract_once and (i > 1 or self.day_landed_kept()))
        if extracting:
            self.measure_land(home, d, tag)
            if self.opts.extract_once:
                marker = self.work / "dayD" / DAY_MARKER
                marker.unlink(missing_ok=True)
                shutil.rmtree(landed_once, ignore_errors=True)
                history.link_day(home / "landing", landed_once, d, raw=True)
                marker.write_text(json.dumps(self.day_key()))
        else:
            if i == 1:
                _say(f"--reuse --extract-once: D as an earlier run landed it ({landed_once})")
            history.link_day(landed_once, home / "landing", d, raw=True)
        if self.wants("reparse"):
            self.measure_reparse(home, d, tag)
        if self.opts.baseline and self.recording and extracting:
            self.measure_baseline(d, tag)
        if self.wants("duckdb_scan"):
            self.measure_scan(home, d, tag)
        if self.wants("transform"):
            histories = self.opts.histories if self.recording else [p]
            for h in transform_order(i, p, histories):
                if h == p:
                    self.transform(home, d, p, f"{tag}-transform-h{p}")
                else:
                    other = self.restore(h)
                    history.link_day(home / "landing", other / "landing", d)
                    self.transform(other, d, h, f"{tag}-transform-h{h}")
        for stage, verb in (("gate", ["gate", "--date", d.isoformat()]), ("publish", ["publish"])):
            if self.wants(stage):
                self.record(
                    stage, sample(self.run(stage, [*self.kol, *verb], home, f"{tag}-{stage}"))
                )
        if self.wants("transform_spark") and self.recording:
            self.measure_spark(home, d, tag)
        if self.wants("kol_run"):
            home = self.restore(p)
            argv = [*self.kol, "run", "--date", d.isoformat()]
            if set(self.opts.platforms) != set(PLATFORMS):
                argv += [a for p in self.opts.platforms for a in ("--platform", p)]
            t = self.run("kol_run", argv, home, f"{tag}-kol-run")
            sb = round(self.sandbox_cpu.get(t.log_tag, 0.0), 2)
            self.record("kol_run", sample(t, history_days=p, sandbox_cpu_s=sb))
        if self.wants("kol_run_quotas"):
            self.measure_run_within_quotas(p, tag)

    def measure_run_within_quotas(self, h: int, tag: str) -> None:
        """The whole `kol run` of D with the documented default quotas (no raised KOL_*
        quota), the sandbox enforcing them (`quota_model=1`): what a real agency day runs. Kept
        beside it: what each platform refreshed and deferred, and what the sandbox charged and
        refused (Graph: calls within the run's rolling hour)."""
        d = self.opts.run_date
        assert self.sandbox is not None
        home = self.restore(h)
        argv = [*self.kol, "run", "--date", d.isoformat()]
        if set(self.opts.platforms) != set(PLATFORMS):
            argv += [a for p in self.opts.platforms for a in ("--platform", p)]
        env = {k: v for k, v in self.env.items() if k not in RAISED_QUOTAS}
        self.sandbox.set_faults("quota_model=1")
        try:
            t = self.run("kol_run_quotas", argv, home, f"{tag}-kol-run-quotas", env=env)
            charged = self.sandbox.stats().get("quota_charged", {})
        finally:
            self.sandbox.set_faults("")
        sb = round(self.sandbox_cpu.get(t.log_tag, 0.0), 2)
        plans = calls.plan_outcomes(home / "landing", d, self.opts.platforms)
        self.record(
            "kol_run_quotas",
            sample(t, history_days=h, sandbox_cpu_s=sb, quota_charged=charged, plans=plans),
        )

    def measure_spark(self, primary_home: Path, d: date, tag: str) -> None:
        """D's incremental transform on Spark (`kol transform --engine spark`) on the shortest
        history (Spark reads day folders, not compacted months), from the snapshot of its
        Spark build as of D-1 with D's records hard-linked in."""
        h = spark_history(self.opts.histories)
        home = self.spark_home(h)
        history.clone_home(self.spark_snapshot(h), home)
        history.link_day(primary_home / "landing", home / "landing", d)
        self.transform(home, d, h, f"{tag}-spark-h{h}", engine="spark")

    def measure_reparse(self, home: Path, d: date, tag: str) -> None:
        argv = [*self.kol, "reparse", "--date", d.isoformat()]
        t = self.run("reparse", argv, home, f"{tag}-reparse")
        recs = landed_records(home / "landing", d)
        _, plain = raw_bytes(home / "landing", d)
        extra = {"records_per_s": recs / t.seconds, "raw_mb_per_s": plain / MB / t.seconds}
        self.record("reparse", sample(t, records=recs, **extra))

    def baseline_tree(self) -> Path:
        """The baseline commit's files (`git archive`), extracted once per work folder."""
        assert self.opts.baseline is not None
        tree = self.work / f"baseline-{self.opts.baseline[:12]}"
        if not (tree / "pipeline" / "cli.py").is_file():
            shutil.rmtree(tree, ignore_errors=True)
            tree.mkdir(parents=True)
            archive = subprocess.run(
                ["git", "archive", self.opts.baseline], cwd=REPO, capture_output=True, check=True
            )
            with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
                tar.extractall(tree, filter="data")
        return tree

    def measure_baseline(self, d: date, tag: str) -> None:
        """D's extract + reparse by the baseline commit's code, right after this tree's: the
        before/after of a change on the same machine minutes apart (keys `extract_land@baseline`,
        `reparse@baseline`). A fresh home whose stub manifests mark every roster account seen
        on D-1: code from before the refresh plan pulls every account in full each day and
        reads no other landed state. Its runs see the same raised quotas as this tree's."""
        tree = self.baseline_tree()
        home = self.work / "run-baseline"
        shutil.rmtree(home, ignore_errors=True)
        (home / "landing").mkdir(parents=True)
        mark_accounts_seen(home / "landing", Path(self.env["KOL_ROSTER"]), d - timedelta(days=1))
        env = {**self.env, "PYTHONPATH": str(tree)}  # the baseline's packages, not this tree's
        code = [sys.executable, "-m", "pipeline.cli"]
        argv = [*code, "extract", "--date", d.isoformat()]
        if set(self.opts.platforms) != set(PLATFORMS):
            argv += [a for p in self.opts.platforms for a in ("--platform", p)]
        t = self.run("extract_land", argv, home, f"{tag}-baseline-extract", env=env)
        recs = landed_records(home / "landing", d, self.opts.platforms)
        if recs == 0:
            raise StageFailed(f"the baseline's extract landed no records for {d}: see {t.log}")
        self.record(
            "extract_land@baseline", sample(t, records=recs, records_per_s=recs / t.seconds)
        )
        t = self.run(
            "reparse",
            [*code, "reparse", "--date", d.isoformat()],
            home,
            f"{tag}-baseline-reparse",
            env=env,
        )
        recs = landed_records(home / "landing", d, self.opts.platforms)
        self.record("reparse@baseline", sample(t, records=recs, records_per_s=recs / t.seconds))

    def measure_land(self, home: Path, d: date, tag: str) -> None:
        extract, exports = self.land(home, d, tag)
        landing = home / "landing"
        if self.recording:
            roster = read_roster(Path(self.env["KOL_ROSTER"])).entries
            self.calls = calls.day_figures(landing, d, self.opts.platforms, roster)
        seconds = extract.seconds
        recs = landed_records(landing, d)
        gz, plain = raw_bytes(landing, d)
        if recs == 0:
            raise StageFailed(f"extract landed no records for {d}: see {self.work / 'logs'}")
        self.record(
            "extract_land",
            {
                **sample(extract),
                "sandbox_cpu_s": round(self.sandbox_cpu.get(extract.log_tag, 0.0), 2),
                "by_platform": platform_seconds(landing, d, self.opts.platforms),
                "records": recs,
                "raw_mb": round(plain / MB, 2),
                "raw_gz_mb": round(gz / MB, 2),
                "records_per_s": recs / seconds,
                "raw_mb_per_s": plain / MB / seconds,
            },
        )
        self.record("exports", sample(exports, records=landed_records(landing, d, ["exports"])))

    def measure_scan(self, home: Path, d: date, tag: str) -> None:
        argv = [sys.executable, "-m", "bench.scan", str(home / "landing"), d.isoformat()]
        t = self.run("duckdb_scan", argv, home, f"{tag}-scan")
        out = json.loads(Path(t.log).read_text().strip().splitlines()[-1])
        self.record(
            "duckdb_scan",
            sample(
                t,
                engine_seconds=round(out["seconds"], 4),
                records=out["rows"],
                records_per_s=out["rows"] / max(out["seconds"], 1e-9),
                parquet_mb=round(out["parquet_bytes"] / MB, 2),
            ),
        )

    # --- the whole benchmark -------------------------------------------------------------

    # --- reusing a setup (`--reuse`): the seed extract and the histories are the slow part

    def setup_key(self, histories: Sequence[int] | None = None) -> dict[str, Any]:
        """What a setup holds; `histories`: those built so far (default: the options')."""
        o = self.opts
        return {
            "size": o.size.name,
            "creators": self.setup["world"]["creators"],
            "seed": o.seed,
            "run_date": o.run_date.isoformat(),
            "histories": sorted(o.histories if histories is None else histories),
            "platforms": list(o.platforms),
            # bench/history.py: how the copied days are left, and what the first day pulled
            "landing": f"compacted after {COMPACT_AFTER_DAYS} days",
            "first_sight_days": FIRST_SIGHT_DAYS,
            "built": o.builds,
            # kept warehouses of older code (--keep-warehouses) name that code: a later run
            # without the flag rebuilds them, even beside a history this code built
            "code": self.setup.get("warehouses_built_by_code", self.code) if o.builds else None,
            "spark": "transform_spark" in o.stages,  # a Spark build of the shortest history
            "quotas": "raised",  # a seed day under the default quotas deferred accounts
        }

    def day_key(self) -> dict[str, Any]:
        """What D's landing depends on: the world, the day, the platforms and D-1 (the seed
        day, the same in every history), not the history behind it."""
        key = self.setup_key([])
        return {k: v for k, v in key.items() if k not in ("histories", "code", "built", "spark")}

    def day_landed_kept(self) -> bool:
        """With `--reuse --extract-once`: D's landing, kept by an earlier run of this setup,
        serves the first repetition too (agency's extract is ~6-10 min, not measured then)."""
        marker = self.work / "dayD" / DAY_MARKER
        return (
            self.opts.reuse
            and marker.is_file()
            and (self.work / "dayD" / "landing").is_dir()
            and json.loads(marker.read_text()) == self.day_key()
        )

    def landing_key(self, h: int) -> dict[str, Any]:
        """What a history's landing depends on (world, seed, day, platforms, compaction)."""
        key = self.setup_key([h])
        return {k: v for k, v in key.items() if k not in ("code", "built", "spark")}

    def save_setup(self, histories: Sequence[int] | None = None) -> None:
        """Written after each history is built, so a setup killed hours in keeps what it
        finished (a later `--reuse` builds only the histories it lacks)."""
        saved = {
            "key": self.setup_key(histories),
            "setup": self.setup,
            "samples": {
                k: v
                for k, v in self.samples.items()
                if k.startswith(("transform_full", "transform_spark_full"))
            },
        }
        (self.work / SETUP_FILE).write_text(json.dumps(saved, indent=2, default=str))

    def load_setup(self) -> str | None:
        """With `--reuse`: take the snapshots of an earlier run of the same setup.

        Returns "all" when everything matches (a setup with Spark's build serves a run
        without the Spark stage too), or when this run builds nothing (its stages read only
        the landing: a built setup is left as it is); "spark" when only Spark's build is
        missing; "landing" when only the warehouse code changed since (dbt project,
        transform step): the landed history is kept and only the full refreshes are redone;
        "seed" when only the way histories are copied changed (bench/history.py): the seed
        day is kept and every history is copied and built again; None when nothing can be
        reused."""
        path = self.work / SETUP_FILE
        if not (self.opts.reuse and path.is_file()):
            return None
        saved = json.loads(path.read_text())
        kept = [
            h
            for h in saved.get("key", {}).get("histories", [])
            if h in self.opts.histories and self.snapshot(h).is_dir()
        ]
        # a setup that lacks some of the asked histories lends its seed day and the ones it
        # has; execute() builds the rest from its seed day. One that holds more lends those
        # asked: the histories are compared through `kept`, not as part of the key.
        key, now = saved.get("key", {}), self.setup_key(kept)

        def without(d: dict[str, Any], *names: str) -> dict[str, Any]:
            return {k: v for k, v in d.items() if k not in ("histories", *names)}

        def asked(name: str) -> bool:
            """A setup entry or sample of an asked history, or of none (history_<h>, <stage>@<h>)."""
            h = name.split("_", 1)[1] if name.startswith("history_") else name.partition("@")[2]
            return not h.isdigit() or int(h) in self.opts.histories

        same_landing = without(key, "code", "built", "spark") == without(
            now, "code", "built", "spark"
        )
        missing = [h for h in self.opts.histories if h not in kept]
        seed_kept = (self.work / "base" / "landing").is_dir()
        # the seed day does not depend on how the history is copied from it
        copy_rule = ("code", "built", "spark", "landing", "first_sight_days")
        if not same_landing and seed_kept and without(key, *copy_rule) == without(now, *copy_rule):
            _say(f"--reuse: the seed day from {path}; the histories are copied otherwise now")
            self.setup["seed_day"] = saved["setup"]["seed_day"]
            self.setup["reused_from"] = str(path)
            self.missing = sorted(self.opts.histories)
            return "seed"
        if not same_landing or not kept or (missing and not seed_kept):
            _say(f"--reuse: {path} is for another setup; building a new one")
            return None
        self.missing = missing
        if self.missing:
            _say(
                f"--reuse: histories {kept} from {path}; building "
                f"{', '.join(map(str, self.missing))} from its seed day"
            )
        self.setup.update(
            {
                k: v
                for k, v in saved["setup"].items()
                if k != "world"
                and asked(k)
                and not (k.startswith("history_") and int(k.split("_")[1]) in self.missing)
            }
        )
        self.setup["reused_from"] = str(path)
        if without(key, "spark") == without(now, "spark"):
            has_spark = bool(key.get("spark")) and self.spark_snapshot_kept()
            _say(f"--reuse: seed day, histories and their warehouses from {path}")
            for k, v in saved["samples"].items():
                if asked(k) and (now["spark"] or not k.startswith("transform_spark")):
                    self.samples.setdefault(k, []).extend(v)
            if has_spark or not now["spark"]:
                return "all"
            _say("--reuse: the setup has no Spark build: building it")
            return "spark"
        if not self.opts.builds:
            # Stages that build nothing need only the landing: a built setup is kept as it
            # is (its warehouses, its setup file), never emptied to match "not built".
            _say(f"--reuse: seed day and histories from {path} (these stages build nothing)")
            return "all"
        if self.opts.keep_warehouses:
            # the daily build measured is the current code's, on tables an earlier code built
            self.setup["warehouses_built_by_code"] = key.get("code")
            last = self.setup.get("warehouses_upgraded_by_code", key.get("code"))
            self.upgrade = last != self.code
            _say(
                f"--reuse --keep-warehouses: everything from {path}, warehouses of code "
                f"{key.get('code')} (this tree's is {self.code}"
                f"{'; upgrading them' if self.upgrade else ', already upgraded to it'})"
            )
            if now["spark"] and not (key.get("spark") and self.spark_snapshot_kept()):
                return "spark"  # built now, on the kept DuckDB snapshot
            return "all"
        _say(f"--reuse: seed day and histories from {path}; the warehouse code changed: rebuilding")
        return "landing"

    def upgrade_warehouses(self) -> None:
        """`--keep-warehouses` under other warehouse code: each kept warehouse re-runs its last
        day (D - 1) with this code and is re-snapshotted, as the first daily run after a deploy
        does. A model this code adds or changes then holds its state before D is measured (an
        incremental model that is new would otherwise be built whole in the measured day)."""
        d1 = self.opts.run_date - timedelta(days=1)
        for h in sorted(set(self.opts.histories) - set(self.missing)):  # the rest: built now
            home = self.restore(h)
            t = self.run(
                "transform_upgrade",
                [*self.kol, "transform", "--date", d1.isoformat()],
                home,
                f"setup-h{h}-transform-upgrade",
                timeout=FULL_REFRESH_TIMEOUT_S,
            )
            _say(f"history {h}: warehouse upgraded to code {self.code} in {t.seconds:.0f} s")
            history.clone_home(home, self.snapshot(h))
        self.setup["warehouses_upgraded_by_code"] = self.code
        self.save_setup()

    def rebuild_warehouses(self) -> None:
        """Full refresh of every history's warehouse over its kept landing, re-snapshotted.
        A run killed during these (agency's year: ~1.5 h) loses none of it: a snapshot this
        code already rebuilt is kept, and a refresh killed after some months resumes there."""
        d1 = self.opts.run_date - timedelta(days=1)
        for h in sorted(set(self.opts.histories) - set(self.missing)):
            if self.rebuilt_by_this_code(self.snapshot(h)):
                _say(f"--reuse: history {h}'s warehouse was rebuilt by this code already")
                continue
            home = self.run_home(h)
            resumed = self.resumable_build(home)
            if resumed:
                _say(f"history {h}: its full refresh resumes after {resumed} (an earlier run's)")
            else:
                home = self.restore(h)
                drop_warehouse(home)
                (home / BUILD_MARKER).write_text(json.dumps({"code": self.code}))
            if self.opts.builds:
                tag = f"setup-h{h}-transform-full" + ("-resumed" if resumed else "")
                self.transform(home, d1, h, tag, full=True, resumed_from=resumed)
            history.clone_home(home, self.snapshot(h))
            if self.spark_setup_for(h):
                self.prepare_spark(h)

    def rebuilt_by_this_code(self, home: Path) -> bool:
        """`home`'s warehouse is this code's full refresh, finished through D-1."""
        d1 = self.opts.run_date - timedelta(days=1)
        return self.built_through_by_this_code(home) == d1.isoformat()

    def execute(self) -> dict[str, Any]:
        started = datetime.now(UTC)
        t0 = time.perf_counter()
        mach = report.machine()
        world = self.prepare_world()
        sandbox_log = self.work / "logs" / "sandbox.log"
        with SandboxProcess(self.kol, world, self.env, sandbox_log) as sb:
            self.sandbox = sb
            self.point_at(sb)
            reused = self.load_setup()
            if reused is None:
                self.missing = sorted(self.opts.histories)
                base = self.seed_days(sb)
            else:
                base = self.work / "base"
            if reused == "landing":
                self.rebuild_warehouses()
            elif reused == "spark":
                self.prepare_spark(spark_history(self.opts.histories))
            if self.upgrade:
                self.upgrade_warehouses()
            if self.missing:
                self.check_disk(base, self.missing)
            for h in sorted(self.missing):
                self.prepare_history(base, h)
                built = [k for k in self.opts.histories if k not in self.missing or k <= h]
                self.setup["seconds"] = round(time.perf_counter() - t0, 1)
                self.save_setup(built)
            if reused != "all" or self.missing:
                self.setup["seconds"] = round(time.perf_counter() - t0, 1)
                self.save_setup()
            self.set_clock(sb, self.opts.run_date)
            for i in range(1, self.opts.reps + 1):
                _say(f"rep {i}/{self.opts.reps}")
                self.rep(i)
                partial = self.result(started, time.perf_counter() - t0, dict(mach))
                write_result({**partial, "reps_done": i, "partial": True}, self.opts.results_dir)
            if self.opts.profile:
                if self.opts.profile == "auto":
                    self.opts.profile = slowest_stage(self.samples)
                self.recording = False
                _say(f"profiling {self.opts.profile} (one more repetition, not recorded)")
                self.rep(0)
        return self.result(started, time.perf_counter() - t0, mach)

    def result(self, started: datetime, seconds: float, mach: dict[str, Any]) -> dict[str, Any]:
        order = list(report.STAGE_LABELS)
        keys = sorted(self.samples, key=lambda k: (order.index(k.partition("@")[0]), k))
        stages = {k: report.summarise_stage(self.samples[k]) for k in keys}
        if "kol_run" not in stages and (day := report.day_stages(self.samples, self.opts.primary)):
            stages["day_stages"] = report.summarise_stage(day)
        rat = report.ratios(stages, self.opts.histories, self.opts.primary)
        mach["load_average_at_end"] = [round(x, 2) for x in os.getloadavg()]
        return {
            "bench_version": 1,
            "size": self.opts.size.name,
            "started_at": started.isoformat(timespec="seconds"),
            "total_seconds": round(seconds, 1),
            "reps": self.opts.reps,
            "histories": sorted(self.opts.histories),
            "primary_history": self.opts.primary,
            "platforms": list(self.opts.platforms),
            "stages_run": sorted(self.opts.stages),
            "baseline": self.opts.baseline,
            "machine": mach,
            "world": self.setup["world"],
            "setup": {k: v for k, v in self.setup.items() if k != "world"},
            "landing_per_account_year": report.landing_per_account_year(
                self.setup, self.setup["world"]["accounts"]
            ),
            "stages": stages,
            "ratios": rat,
            "targets": report.target_status(stages, rat),
            "calls": self.calls,
            "profiles": self.profiled,
            "workdir": str(self.work) if self.opts.keep else None,
        }


# --- command line ---------------------------------------------------------------------------


def drop_warehouse(home: Path) -> None:
    """Remove a KOL_HOME's warehouse and build state, keeping its landing (a full refresh
    then builds it anew)."""
    for name in ("warehouse.duckdb", "warehouse.duckdb.wal", "state.json", "dbt"):
        target = home / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def transform_order(rep: int, primary: int, histories: Sequence[int]) -> list[int]:
    """The histories' incremental builds of repetition `rep`: the primary first in odd
    repetitions, last in even ones (A B, B A, ...), so a machine that speeds up or slows down
    over the run weighs on both sides of the ratio alike."""
    others = [h for h in histories if h != primary]
    return [primary, *others] if rep % 2 == 1 else [*others, primary]


def warehouse_code_fingerprint() -> str:
    """sha256 over what a warehouse built in the setup depends on: the dbt project and the
    transform step. A reused setup whose fingerprint differs gets its warehouses rebuilt."""
    digest = hashlib.sha256()
    files = sorted(p for p in (REPO / "dbt_project").rglob("*") if p.is_file())
    # what dbt and Python write beside the project (its run folders, dbt's anonymous user id
    # file .user.yml, bytecode) is not the project: it differs from one clone to another
    files = [
        p
        for p in files
        if not ({"target", "logs", "__pycache__"} & set(p.relative_to(REPO).parts))
        and p.name != ".user.yml"
    ]
    for path in [*files, REPO / "pipeline" / "transform.py", REPO / "pipeline" / "steps.py"]:
        digest.update(str(path.relative_to(REPO)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _histories(s: str) -> list[int]:
    try:
        out = sorted({int(x) for x in s.split(",") if x.strip()})
    except ValueError:
        raise argparse.ArgumentTypeError(f"{s!r}: give days as integers, e.g. 30,365") from None
    if not out or out[0] < 1:
        raise argparse.ArgumentTypeError(
            f"{s!r}: each history must be at least 1 day (the really extracted D-1)"
        )
    return out


def _platforms(s: str) -> tuple[str, ...]:
    picked = tuple(p for p in PLATFORMS if p in {x.strip() for x in s.split(",")})
    unknown = {x.strip() for x in s.split(",") if x.strip()} - set(PLATFORMS)
    if unknown or not picked:
        raise argparse.ArgumentTypeError(
            f"{s!r}: choose among {', '.join(PLATFORMS)} (comma-separated)"
        )
    return picked


def _stages(s: str) -> frozenset[str]:
    if s.strip() == "all":
        return frozenset(STAGES)
    picked = {x.strip() for x in s.split(",") if x.strip()}
    unknown = picked - set(STAGES)
    if unknown:
        raise argparse.ArgumentTypeError(
            f"unknown stage(s) {', '.join(sorted(unknown))}; choose from {', '.join(STAGES)}"
        )
    for stage in list(picked):
        picked.update(STAGE_NEEDS.get(stage, ()))
    return frozenset(picked)


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="python -m bench.run",
        description="Time one daily KOL run, stage by stage, against the sandbox (bench/README.md).",
    )
    ap.add_argument("--size", choices=sorted(SIZES), default="small")
    ap.add_argument(
        "--reps",
        type=int,
        default=None,
        help="repetitions (default: 3; tiny: 1; 0 with --profile STAGE: only the profile)",
    )
    ap.add_argument(
        "--history",
        type=_histories,
        default=None,
        help="landed days before the measured day, comma-separated (default 30,365)",
    )
    ap.add_argument(
        "--date",
        type=date.fromisoformat,
        default=None,
        help=f"the measured day D (default {BENCH_DAY}: fixed, so the world and a kept setup "
        "stay the same from one day to the next)",
    )
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument(
        "--platforms",
        type=_platforms,
        default=PLATFORMS,
        help="extract only these platforms, comma-separated (default: all five)",
    )
    ap.add_argument("--creators", type=int, default=None, help="override the size's creators")
    ap.add_argument("--workdir", type=Path, default=None, help="default: a new temporary folder")
    ap.add_argument(
        "--keep",
        action="store_true",
        help="keep the whole work folder, the run homes of the measured day included (KOL_HOMEs, "
        "logs); with --workdir alone the setup is kept and the run homes are removed at the end",
    )
    ap.add_argument(
        "--reuse",
        action="store_true",
        help="with --workdir: reuse its seed day and histories when they match these options",
    )
    ap.add_argument(
        "--keep-warehouses",
        action="store_true",
        help="with --reuse: keep warehouses an earlier warehouse code built instead of redoing "
        "their full refreshes (agency: 10-40 min); the result file names that code",
    )
    ap.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    ap.add_argument(
        "--stages",
        type=_stages,
        default=None,
        help=f"only these stages after extract+land, comma-separated: {','.join(STAGES)} "
        "or `all` (default: the size's; small leaves kol_run out; gate and publish bring in "
        "what they need)",
    )
    ap.add_argument(
        "--spark",
        action="store_true",
        help="add the transform_spark stage (kol transform --engine spark) to the stages",
    )
    ap.add_argument(
        "--extract-once",
        action="store_true",
        help="extract D in the first repetition only; later repetitions hard-link what it "
        "landed (a run about the transforms: agency's extract is ~10 min a repetition); with "
        "--reuse, D as an earlier run of the same setup landed it serves every repetition",
    )
    ap.add_argument(
        "--baseline",
        metavar="REF",
        default=None,
        help="also run extract + reparse of D with the code of commit REF in every repetition, "
        "right after this tree's: a change's before/after in one run",
    )
    ap.add_argument(
        "--profile",
        choices=[*report.STAGE_LABELS, "auto"],
        default=None,
        help="after the reps, run one more repetition with this stage under py-spy "
        "(or pyinstrument), not recorded (auto: the slowest stage)",
    )
    return ap


def code_version() -> str:
    """The commit measured (`+changes` when the work tree differs from it), or `unknown`."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        )
        dirty = subprocess.run(
            # the harness's own output (a partial result written after each repetition) is
            # not a change to the code measured
            ["git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!bench/results"],
            cwd=REPO,
            capture_output=True,
            text=True,
        )
    except OSError:
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "")


def resolve_commit(ref: str) -> str | None:
    """The full sha of `ref` in this repository, or None."""
    out = subprocess.run(
        ["git", "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}"],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    return out.stdout.strip() if out.returncode == 0 and out.stdout.strip() else None


def write_result(result: dict[str, Any], results_dir: Path) -> Path:
    """One file per size, replaced by each run: the latest figures; history lives in git."""
    results_dir.mkdir(parents=True, exist_ok=True)
    result = {"commit": code_version(), **result}
    path = results_dir / f"{result['size']}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(result, indent=2, default=str))
    os.replace(tmp, path)
    return path


def slowest_stage(samples: dict[str, list[dict[str, Any]]]) -> str:
    """The single-process stage with the largest median (not the composite `kol run`)."""
    candidates = {
        k.partition("@")[0]: report.spread([s["seconds"] for s in v])["median"]
        for k, v in samples.items()
        if not k.startswith(("kol_run", "transform_full", "transform_spark"))
    }
    return max(candidates, key=lambda k: candidates[k] or 0.0)


def spark_history(histories: Sequence[int]) -> int:
    """The history the Spark stage builds on: the shortest (Spark reads the day folders, and
    a history longer than the compaction window holds month files)."""
    return min(histories)


def spark_refusal(histories: Sequence[int], java: str | None) -> str | None:
    """Why the Spark stage cannot run with these options, or None."""
    if java is None:
        return "the transform_spark stage needs a Java runtime (`java` on PATH; Java 17)"
    if spark_history(histories) > COMPACT_AFTER_DAYS:
        return (
            f"the transform_spark stage builds on the shortest history, which must be at most "
            f"{COMPACT_AFTER_DAYS} days: Spark reads day folders, not the month files older "
            "days are compacted into (add one, e.g. --history 30,365)"
        )
    return None


def options(a: argparse.Namespace) -> Options:
    """The run's options from the command line, with the size's defaults filled in."""
    size = SIZES[a.size]
    workdir = a.workdir or Path(tempfile.mkdtemp(prefix=f"kol-bench-{size.name}-"))
    workdir.mkdir(parents=True, exist_ok=True)
    return Options(
        size=size,
        reps=a.reps if a.reps is not None else size.reps,
        histories=a.history or list(size.histories),
        run_date=a.date or BENCH_DAY,
        seed=a.seed,
        workdir=workdir.resolve(),
        results_dir=a.results_dir,
        keep=a.keep or a.workdir is not None,
        keep_runs=a.keep,
        reuse=a.reuse,
        keep_warehouses=a.keep_warehouses,
        profile=a.profile,
        creators=a.creators,
        stages=(a.stages if a.stages is not None else frozenset(size.stages))
        | ({"transform_spark", "transform"} if a.spark else set()),
        platforms=a.platforms,
        baseline=a.baseline,
        extract_once=a.extract_once,
    )


def main(argv: list[str] | None = None) -> int:
    a = build_parser().parse_args(argv)
    opts = options(a)
    size = opts.size
    if opts.reps < 0 or (opts.reps == 0 and opts.profile in (None, "auto")):
        print(
            "bench: --reps must be at least 1 (0 only with --profile STAGE: profile alone)",
            file=sys.stderr,
        )
        return 2
    if a.keep_warehouses and not a.reuse:
        print(
            "bench: --keep-warehouses needs --reuse (the setup whose warehouses to keep)",
            file=sys.stderr,
        )
        return 2
    if a.reuse and a.workdir is None:
        print("bench: --reuse needs --workdir (the folder of an earlier run)", file=sys.stderr)
        return 2
    refusal = "transform_spark" in opts.stages and spark_refusal(
        opts.histories, shutil.which("java")
    )
    if refusal and (a.spark or a.stages is not None):  # asked for by name: a bad option
        print(f"bench: {refusal}", file=sys.stderr)
        return 2
    if refusal:  # in the size's default: the other stages are still measured
        _say(f"leaving out the Spark stage: {refusal}")
        opts.stages = opts.stages - {"transform_spark"}
    if opts.baseline is not None:
        sha = resolve_commit(opts.baseline)
        if sha is None:
            print(
                f"bench: --baseline {opts.baseline} is not a commit of {REPO} (a sha, tag or "
                "branch `git rev-parse` knows)",
                file=sys.stderr,
            )
            return 2
        opts.baseline = sha
    bench = Bench(opts)
    _say(f"bench {size.name}: work folder {opts.workdir}")
    # `kill PID` stops the harness like Ctrl-C: the measured child and the sandbox go too
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        # one bench per work folder: `make bench` in two clones shares the same kept setup
        with run_lock(opts.workdir, f"bench {size.name}"):
            result = bench.execute()
    except RunLocked:
        print(
            f"bench: {opts.workdir} is in use by {lock_holder(opts.workdir)}: wait for that "
            "bench to finish, or give this one its own folder (--workdir DIR; with make: "
            "make bench BENCH_DIR=DIR).",
            file=sys.stderr,
        )
        return 2
    except StageFailed as exc:
        print(
            f"bench: {exc}\nThe work folder is kept for inspection: {opts.workdir}", file=sys.stderr
        )
        return 1
    except KeyboardInterrupt:
        print(f"bench: interrupted; the work folder is kept: {opts.workdir}", file=sys.stderr)
        return 130
    if opts.reps == 0:  # a profile alone: no measurement to write over an earlier result
        print("\n".join(["profiles:", *result["profiles"]]))
        return 0
    path = write_result(result, opts.results_dir)
    print(report.markdown(result))
    if result.get("calls"):
        print("\n" + calls.markdown(result["calls"]))
    print(f"\nresults: {path}")
    if not opts.keep:
        shutil.rmtree(opts.workdir, ignore_errors=True)
    elif not opts.keep_runs and (removed := bench.remove_run_homes()):
        _say(f"removed the run homes {', '.join(removed)} (--keep keeps them); the setup stays")
    return 0


if __name__ == "__main__":
    sys.exit(main())
