"""The transform step: ONE `dbt build` of the `kol` project against `<home>/warehouse.duckdb`.

dbt runs in a subprocess (`python -m dbt.cli.main`), not in-process through `dbtRunner`:
- DuckDB allows one writer; a child process holds the file lock only while it runs and always
  releases it on exit, even when dbt crashes, so the gate can open the warehouse right after;
- dbt keeps process-global state (flags, adapter and manifest caches, logging): homes and vars
  change between calls (daily runs, tests, backfills), and a fresh process never reuses a stale one;
- the agency-scale memory bound (~4 GB RSS) holds for the dbt process alone and is freed after.
Progress is streamed per node from dbt's JSON log lines; the outcome comes from run_results.json.
target/ and logs/ live under `<home>/dbt/`, so parallel runs with different homes never collide.

A platform that was never extracted has no Parquet files, and DuckDB's `read_parquet` fails on a
glob that matches nothing. So before each build, every (entity, platform) of ingestion.records
without any landed file gets ONE 0-row Parquet with the exact landing schema at
`landing/records/<entity>/[platform=<p>/]dt=1970-01-01/kol_empty_schema.parquet` (a partition
date no run ever uses); it is removed again as soon as real files exist in that folder. Its name
starts with no `_` or `.`, which Spark's Parquet reader would skip as hidden.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.records import EXPORT_SCHEMAS, api_schemas
from pipeline import spark_handover

# The repo's dbt_project/ (editable install); KOL_DBT_PROJECT_DIR points elsewhere when the
# package is installed without its source tree (e.g. the Docker image).
PROJECT_DIR = Path(
    os.environ.get("KOL_DBT_PROJECT_DIR") or Path(__file__).resolve().parents[1] / "dbt_project"
)
EMPTY_PARTITION = "dt=1970-01-01"
EMPTY_FILE = "kol_empty_schema.parquet"
# dbt's `--static` page inlines the manifest and catalog, so it opens from `file://` (the plain
# index.html fetches them, which browsers refuse for file:// pages); the JSON files stay for tools.
DOCS_FILES = ("manifest.json", "catalog.json")
STATIC_DOCS_PAGE = "static_index.html"
# dbt log events worth a progress line: one per finished node (model, seed, test, unit test).
ENGINES = ("duckdb", "spark")
PROGRESS_EVENTS = frozenset(
    {"LogModelResult", "LogSeedResult", "LogTestResult", "LogNodeResult", "LogSnapshotResult"}
)


@dataclass
class DbtResult:
    """What one `dbt build` did: ok only when every node succeeded (warnings allowed)."""

    ok: bool
    failures: list[str] = field(default_factory=list)  # "<node>: <message>"
    nodes_run: int = 0
    elapsed: float = 0.0
    returncode: int = 0

    def summary(self) -> str:
        state = "ok" if self.ok else f"{len(self.failures)} failed"
        return f"dbt build {state}: {self.nodes_run} nodes in {self.elapsed:.1f}s"


def _landing_folders(home: Path) -> list[tuple[Path, pa.Schema]]:
    records = home / "landing" / "records"
    folders = [
        (records / entity / f"platform={platform}", schema)
        for entity, by_platform in api_schemas().items()
        for platform, schema in by_platform.items()
    ]
    folders += [(records / entity, schema) for entity, schema in EXPORT_SCHEMAS.items()]
    return folders


def ensure_source_files(home: Path) -> list[Path]:
    """Give every source folder without landed files a 0-row file of its exact schema.

    Returns the placeholder files present after the call (their folders had no data).
    """
    placeholders = []
    for folder, schema in _landing_folders(home):
        placeholder = folder / EMPTY_PARTITION / EMPTY_FILE
        real = [p for p in folder.rglob("*.parquet") if p != placeholder] if folder.is_dir() else []
        if real:
            if placeholder.exists():
                placeholder.unlink()
                _remove_if_empty(placeholder.parent)
            continue
        if not placeholder.exists():
            placeholder.parent.mkdir(parents=True, exist_ok=True)
            tmp = placeholder.with_suffix(".tmp")
            pq.write_table(schema.empty_table(), tmp)
            tmp.replace(placeholder)
        placeholders.append(placeholder)
    return placeholders


def _remove_if_empty(folder: Path) -> None:
    with contextlib.suppress(OSError):
        folder.rmdir()


def _dbt_command(home: Path, args: list[str], target_path: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "dbt.cli.main",
        *args,
        "--project-dir",
        str(PROJECT_DIR),
        "--profiles-dir",
        str(PROJECT_DIR),
        "--target-path",
        str(target_path),
        "--log-path",
        str(home / "dbt" / "logs"),
    ]


def _environment(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["KOL_HOME"] = str(home)
    env["KOL_DBT_PROJECT_DIR"] = str(PROJECT_DIR)  # profiles.yml: the Python models' modules
    env["DBT_SEND_ANONYMOUS_USAGE_STATS"] = "False"
    env.setdefault("DBT_PARTIAL_PARSE", "True")
    return env


def _stream(proc: subprocess.Popen[str], progress: Callable[[str], None] | None) -> list[str]:
    """Forward one line per finished node to `progress`; keep non-JSON output for errors."""
    other: list[str] = []
    assert proc.stdout is not None
    for line in proc.stdout:
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            other.append(line.rstrip())
            continue
        info = event.get("info", {})
        if info.get("level") == "error" and info.get("msg"):
            other.append(info["msg"])
        if progress and info.get("name") in PROGRESS_EVENTS and info.get("msg"):
            progress(info["msg"].strip())
    return other


def _failures(run_results: Path) -> tuple[list[str], int]:
    if not run_results.is_file():
        return [], 0
    results = json.loads(run_results.read_text()).get("results", [])
    failures = [
        f"{r['unique_id']}: {(r.get('message') or r['status']).strip()}"
        for r in results
        if r.get("status") in ("error", "fail", "runtime error")
    ]
    return failures, len(results)


def run_dbt(
    home: Path,
    run_date: date,
    *,
    full_refresh: bool = False,
    excluded_dates: Sequence[date] = (),
    select: str | None = None,
    progress: Callable[[str], None] | None = None,
    exclude: str | None = None,
    from_date: date | None = None,
    unit_tests: bool = True,
    engine: str = "duckdb",
) -> DbtResult:
    """Run ONE `dbt build` (seeds, models, data tests, unit tests) as of `run_date`.

    `excluded_dates` are rejected landing dates never built on; `select` / `exclude` narrow
    the build (dbt selection syntax). `from_date`: the first landing date an incremental
    build (re)processes (default: D alone); its data tests then check only what it rewrote.
    `unit_tests=False` leaves out dbt's unit tests: they test the SQL, not the day's data, so
    daily runs skip them (`make test` runs them). `engine="spark"` builds on the dbt profile's
    spark target, without the Python models and what depends on them (they run on DuckDB
    only), and hands every model it built to warehouse.duckdb (pipeline.spark_handover).
    Never raises for a failed build: the result names what failed.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    home = Path(home).resolve()
    started = time.monotonic()
    ensure_source_files(home)
    target = home / "dbt" / "target"
    run_results = target / "run_results.json"
    run_results.unlink(missing_ok=True)
    # The build's dates go in the environment, not --vars: changed --vars make dbt re-parse the
    # whole project, and the macros read these only while executing (macros/dates.sql).
    build_env = {
        "KOL_RUN_DATE": run_date.isoformat(),
        "KOL_EXCLUDED_DATES": ",".join(d.isoformat() for d in excluded_dates),
        "KOL_FROM_DATE": min(from_date, run_date).isoformat()
        if from_date is not None and not full_refresh
        else "",
    }
    args = ["--log-format", "json", "--no-use-colors", "build"]
    if full_refresh:
        args.append("--full-refresh")
    if not unit_tests:
        args += ["--exclude-resource-type", "unit_test"]
    if select:
        args += ["--select", select]
    if engine == "spark":
        args += ["--target", "spark"]
        exclude = " ".join(filter(None, [exclude, *python_models()]))
    if exclude:
        args += ["--exclude", exclude]
    proc = subprocess.Popen(
        _dbt_command(home, args, target),
        env={**_environment(home), **build_env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    other = _stream(proc, progress)
    returncode = proc.wait()
    failures, nodes = _failures(run_results)
    if returncode != 0 and not failures:
        tail = "\n".join(other[-20:]) or f"exit status {returncode}"
        failures = [f"dbt: {tail}"]
    if engine == "spark" and returncode == 0 and not failures:
        failures = _hand_over_from_spark(home, _built_models(run_results), build_env)
    return DbtResult(
        ok=returncode == 0 and not failures,
        failures=failures,
        nodes_run=nodes,
        elapsed=time.monotonic() - started,
        returncode=returncode,
    )


def python_models() -> list[str]:
    """The Python models, each with its descendants (dbt selection syntax)."""
    return sorted(f"{path.stem}+" for path in (PROJECT_DIR / "models").rglob("*.py"))


def _built_models(run_results: Path) -> list[str]:
    results = json.loads(run_results.read_text()).get("results", [])
    return sorted(
        r["unique_id"].split(".")[-1]
        for r in results
        if r["unique_id"].startswith("model.") and r.get("status") == "success"
    )


def _hand_over_from_spark(home: Path, models: list[str], build_env: dict[str, str]) -> list[str]:
    """Spark's built models as Parquet (dbt run-operation export_models), then into
    warehouse.duckdb; the failures, if any."""
    folder = spark_handover.export_dir(home)
    shutil.rmtree(folder, ignore_errors=True)
    operation = {"export_dir": str(folder), "models": models}
    args = ["run-operation", "export_models", "--args", json.dumps(operation), "--target", "spark"]
    proc = subprocess.run(
        # its own target path: the build's run_results.json stays
        _dbt_command(home, args, home / "dbt" / "export"),
        env={**_environment(home), **build_env},
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        return [f"export from Spark: {tail}"]
    spark_handover.load_into_duckdb(home)
    return []


def docs_generate(home: Path, out_dir: Path) -> Path:
    """Write dbt docs for the warehouse to `out_dir`: one self-contained index.html, plus the
    manifest.json and catalog.json it was built from.

    dbt's own target (compiled SQL, partial-parse cache) stays under `<home>/dbt/docs_target`;
    only these three files are copied. Raises RuntimeError naming dbt's error.
    """
    home = Path(home).resolve()
    out_dir = Path(out_dir).resolve()
    target = home / "dbt" / "docs_target"
    ensure_source_files(home)
    proc = subprocess.run(
        _dbt_command(home, ["docs", "generate", "--static"], target),
        env=_environment(home),
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0 or not (target / STATIC_DOCS_PAGE).is_file():
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        raise RuntimeError(f"dbt docs generate failed for {home}: {tail}")
    out_dir.mkdir(parents=True, exist_ok=True)
    for name in DOCS_FILES:
        shutil.copyfile(target / name, out_dir / name)
    shutil.copyfile(target / STATIC_DOCS_PAGE, out_dir / "index.html")
    return out_dir / "index.html"
