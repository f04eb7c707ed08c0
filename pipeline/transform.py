"""The transform step: ONE `dbt build` of the `kol` project against `<home>/warehouse.duckdb`
(on Spark, one per wave of `_build_on_spark`, the Python models run between them).

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
from pipeline import python_steps, spark_handover

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


# In a dbt target folder: the project its partial-parse cache was made from.
PARSED_PROJECT_FILE = "kol-parsed-project"


def _partial_parse_of_this_project(target_path: Path) -> None:
    """dbt's partial-parse cache (target/partial_parse.msgpack) keeps the absolute paths of the
    project it parsed, and dbt reuses it when the project moves: a checkout deployed to a new
    folder, or re-cloned, then fails every build on files that are gone ("No files found that
    match the pattern .../seeds/..."). The cache is dropped when it was made from another
    project folder (the next build parses in full once, ~7 s)."""
    target_path.mkdir(parents=True, exist_ok=True)
    marker = target_path / PARSED_PROJECT_FILE
    project = str(PROJECT_DIR.resolve())
    if not marker.is_file() or marker.read_text(encoding="utf-8") != project:
        (target_path / "partial_parse.msgpack").unlink(missing_ok=True)
        marker.write_text(project, encoding="utf-8")


def _dbt_command(home: Path, args: list[str], target_path: Path) -> list[str]:
    """The dbt invocation of `args` on this project, its state under `target_path`."""
    _partial_parse_of_this_project(target_path)
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
    spark target, the Python models as pipeline steps between its waves (_build_on_spark),
    and hands everything it built to warehouse.duckdb (pipeline.spark_handover).
    Never raises for a failed build: the result names what failed.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    home = Path(home).resolve()
    started = time.monotonic()
    ensure_source_files(home)
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
    env = {**_environment(home), **build_env}
    if engine == "spark":
        returncode, failures, nodes = _build_on_spark(
            home, args, select, exclude, env, progress, full_refresh
        )
    else:
        if select:
            args += ["--select", select]
        if exclude:
            args += ["--exclude", exclude]
        returncode, failures, nodes = _dbt_build(home, args, env, progress)
    return DbtResult(
        ok=returncode == 0 and not failures,
        failures=failures,
        nodes_run=nodes,
        elapsed=time.monotonic() - started,
        returncode=returncode,
    )


def _dbt_build(
    home: Path, args: list[str], env: dict[str, str], progress: Callable[[str], None] | None
) -> tuple[int, list[str], int]:
    """One dbt invocation: its exit status, the failures (named) and the nodes it ran."""
    target = home / "dbt" / "target"
    (target / "run_results.json").unlink(missing_ok=True)
    proc = subprocess.Popen(
        _dbt_command(home, args, target),
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    other = _stream(proc, progress)
    returncode = proc.wait()
    failures, nodes = _failures(target / "run_results.json")
    if returncode != 0 and not failures:
        tail = "\n".join(other[-20:]) or f"exit status {returncode}"
        failures = [f"dbt: {tail}"]
    return returncode, failures, nodes


def _build_on_spark(
    home: Path,
    args: list[str],
    select: str | None,
    exclude: str | None,
    env: dict[str, str],
    progress: Callable[[str], None] | None,
    full_refresh: bool,
) -> tuple[int, list[str], int]:
    """A Spark build in waves (pipeline/python_steps.py): dbt builds on Spark the selected SQL
    nodes with no Python model still to run above them, exports them as Parquet, the Python
    models whose parents are built then run as pipeline steps and become Spark tables; until
    the selection is built. Then everything built goes to warehouse.duckdb. Each dbt call
    starts a Spark JVM: a build with Python models below SQL ones costs three per wave."""
    planned = _spark_plan(home, select, exclude, env)
    if isinstance(planned, str):
        return 1, [planned], 0
    nodes, selected = planned
    exports, steps = spark_handover.export_dir(home), python_steps.output_dir(home)
    shutil.rmtree(exports, ignore_errors=True)
    step_env = {k: v for k, v in env.items() if k.startswith("KOL_")}
    exported: set[str] = set()
    ran: list[str] = []
    unregistered: list[str] = []
    count = 0
    for wave in python_steps.plan_waves(nodes, selected):
        built: list[str] = []
        if wave.sql:
            failure = _register_steps(home, unregistered, env)
            if failure:
                return 1, [failure], count
            unregistered = []
            wave_args = [*args, "--target", "spark", "--select", *wave.sql]
            wave_args += ["--indirect-selection", "buildable"]
            returncode, failures, n = _dbt_build(
                home, wave_args + _exclusion(exclude), env, progress
            )
            count += n
            if returncode != 0 or failures:
                return returncode, failures, count
            built = _built_nodes(home / "dbt" / "target" / "run_results.json")
        parents = {p for m in wave.python for p in nodes[m].parents if not nodes[p].is_python}
        failure = _export(home, sorted(set(built) | (parents - exported)), env)
        if failure:
            return 1, [failure], count
        exported |= set(built) | parents
        failure = _run_steps(home, wave.python, nodes, full_refresh, step_env, progress)
        if failure:
            return 1, [failure], count
        count += len(wave.python)
        ran += wave.python
        unregistered += wave.python
    failure = _register_steps(home, unregistered, env)
    if failure:
        return 1, [failure], count
    spark_handover.load_into_duckdb(home, also=[steps / m for m in ran])
    return 0, [], count


def _run_steps(
    home: Path,
    models: tuple[str, ...],
    nodes: dict[str, python_steps.Node],
    full_refresh: bool,
    env: dict[str, str],
    progress: Callable[[str], None] | None,
) -> str | None:
    """Run Python models as pipeline steps, their parents read from Spark's export and from
    earlier steps; the first failure's message, if any."""
    exports, steps = spark_handover.export_dir(home), python_steps.output_dir(home)
    for model in models:
        inputs = {p: (steps if nodes[p].is_python else exports) / p for p in nodes[model].parents}
        started = time.monotonic()
        try:
            rows = python_steps.run_step(
                nodes[model], inputs, steps / model, full_refresh=full_refresh, env=env
            )
        except Exception as exc:  # the model's own error, named in the result
            return f"python step {model}: {type(exc).__name__}: {exc}"
        if progress:
            progress(f"python step {model}: {rows} rows in {time.monotonic() - started:.1f}s")
    return None


def _exclusion(exclude: str | None) -> list[str]:
    return ["--exclude", exclude] if exclude else []


def _spark_plan(
    home: Path, select: str | None, exclude: str | None, env: dict[str, str]
) -> tuple[dict[str, python_steps.Node], set[str]] | str:
    """The project's nodes (dbt's manifest) and the names `select` / `exclude` choose among
    models, seeds and snapshots (`dbt ls`, no Spark session); a failure's message instead."""
    args = ["ls", "--quiet", "--target", "spark", "--output", "name"]
    args += [a for kind in python_steps.BUILDABLE for a in ("--resource-type", kind)]
    args += (["--select", select] if select else []) + _exclusion(exclude)
    target = home / "dbt" / "target"
    proc = subprocess.run(
        _dbt_command(home, args, target), env=env, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
        return f"dbt ls: {tail}"
    nodes = python_steps.load_nodes(target / "manifest.json", PROJECT_DIR)
    return nodes, {line.strip() for line in proc.stdout.splitlines()} & set(nodes)


def _built_nodes(run_results: Path) -> list[str]:
    results = json.loads(run_results.read_text()).get("results", [])
    return sorted(
        r["unique_id"].split(".")[-1]
        for r in results
        if r["unique_id"].split(".")[0] in ("model", "seed") and r.get("status") == "success"
    )


def _run_operation(home: Path, macro: str, arguments: dict, env: dict[str, str]) -> str | None:
    """`dbt run-operation <macro>` on the spark target; its failure's message, if any."""
    args = ["run-operation", macro, "--args", json.dumps(arguments), "--target", "spark"]
    proc = subprocess.run(
        # its own target path: the build's run_results.json stays
        _dbt_command(home, args, home / "dbt" / "operation"),
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode == 0:
        return None
    tail = "\n".join((proc.stdout + proc.stderr).splitlines()[-20:])
    return f"{macro} on Spark: {tail}"


def _export(home: Path, names: list[str], env: dict[str, str]) -> str | None:
    """Spark's tables of `names` as Parquet (macros/spark_export.sql)."""
    if not names:
        return None
    folder = str(spark_handover.export_dir(home))
    return _run_operation(home, "export_models", {"export_dir": folder, "models": names}, env)


def _register_steps(home: Path, models: list[str], env: dict[str, str]) -> str | None:
    """The Python steps' folders as the Spark tables ref() names (macros/spark_import.sql)."""
    if not models:
        return None
    folder = python_steps.output_dir(home)
    tables = {m: str(folder / m) for m in models}
    return _run_operation(home, "import_parquet_tables", {"tables": tables}, env)


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
