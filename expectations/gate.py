"""The quality gate: GX checkpoints over the suites of `suites.py`, with Data Docs.

Marts are read through a read-only DuckDB connection (GX's SQL datasource does not work on
DuckDB) and handed to GX's pandas datasource as Parquet batches, one checkpoint per batch
under one run id, so every suite's result goes to the Data Docs site in
`quality/data_docs/` (a file-backed GX context under `quality/gx/` keeps past runs' results,
so the site is an audit trail). Nothing here writes to the warehouse or to `serving/`.

Memory: what spans marts (orphans, invariants) is counted by DuckDB; a mart's batch is
copied by DuckDB to Parquet (only the columns its suite checks, in the types GX is fast on;
over `SLICE_ROWS` rows, in slices by the hash of its key); only the few columns the other
cross-table checks use are read into pandas, text as categories; and GX's engine drops each
batch once validated (it keeps every batch it loaded otherwise). Agency's year: 1.7 GB,
where reading the marts whole peaked at 5.6 GB and one checkpoint over them all at 5.7 GB.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, NamedTuple

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from expectations import invariants, report
from expectations.marts import MARTS, PLATFORMS, RELATIONSHIPS, relationship_name
from expectations.suites import Check, GateInputs, build_checks, cross_columns
from expectations.thresholds import load_thresholds
from pipeline.published import PUBLISHED_TABLES

log = logging.getLogger(__name__)

DATASOURCE = "kol_gate"
CHECKPOINT = "kol_quality_gate"
DOCS_SITE = "kol_quality"
# GX rebuilds the Data Docs index from every stored validation result, so the store keeps the
# results of the newest runs only (the ledger and gate_runs.html keep every run's verdict).
RESULTS_RETENTION_RUNS = 60
# A mart's batch larger than this is validated in slices of about this many rows (GX's pandas
# engine held ~3 GB over a 9 M-row batch of fct_post_performance, agency's year); each slice
# is the rows whose key hashes to it, so a duplicated key always meets its twin in one slice.
SLICE_ROWS = 1_000_000
_NOISY_LOGGERS = ("great_expectations", "posthog", "tzlocal")


class GateFailure(NamedTuple):
    """One failing expectation, enough for an operator to act without opening Data Docs."""

    suite: str
    expectation_type: str
    table: str
    column: str | None
    observed_value: Any
    message: str

    def as_dict(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in self._asdict().items()}


@dataclass
class GateResult:
    """Outcome of one gate run (passed only when every expectation passed)."""

    passed: bool
    failures: list[GateFailure]
    data_docs_index: Path
    elapsed: float
    counts: dict[str, int | None]
    run_id: str = ""
    run_date: date | None = None
    evaluated: int = 0
    suites: list[str] = field(default_factory=list)
    report: Path | None = None  # quality/data_docs/gate_runs.html (works offline)

    def summary(self) -> str:
        """A readable verdict: what failed, on which table, with which observed value."""
        head = (
            f"Quality gate {'PASSED' if self.passed else 'FAILED'} for {self.run_date} "
            f"(run {self.run_id}): {self.evaluated} expectations in {len(self.suites)} suites, "
            f"{len(self.failures)} failed, {self.elapsed:.1f}s."
        )
        lines = [head]
        lines += [f"  - [{f.suite}] {f.message}" for f in self.failures]
        if not self.passed:
            lines.append("  The previously published marts stay in place.")
        lines.append(f"  Data Docs: {self.data_docs_index}")
        if self.report is not None:
            lines.append(f"  Gate report (offline): {self.report}")
        return "\n".join(lines)


class GateError(RuntimeError):
    """The gate could not run at all (as opposed to running and failing)."""


def silence_gx_logging() -> None:
    """GX (and Airflow's plugin scan when imported after it) log thousands of lines."""
    for name in _NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.ERROR)


def run_gate(
    warehouse: Path,
    run_date: date,
    quality_dir: Path,
    *,
    previous_serving_db: Path | None = None,
    extracted_platforms: Sequence[str] = PLATFORMS,
    run_id: str | None = None,
    tables: Sequence[str] = PUBLISHED_TABLES,
    landing_dir: Path | None = None,
    thresholds_path: Path | None = None,
    duckdb_config: dict[str, str] | None = None,
    slice_rows: int = SLICE_ROWS,
) -> GateResult:
    """Validate the marts in `warehouse` as of `run_date`; write Data Docs under quality_dir.

    previous_serving_db: the currently published marts (baseline for volume and distribution
    checks; None or a missing file on the first run). extracted_platforms: the platforms
    this run extracted (freshness and volume apply only to them). landing_dir: KOL_HOME/landing,
    to also check the account records landed for run_date (skipped when None). duckdb_config:
    settings of the gate's DuckDB connections (e.g. memory_limit, threads). slice_rows: a
    mart of more rows is validated in slices (`SLICE_ROWS`).
    """
    started = time.monotonic()
    silence_gx_logging()
    quality_dir = Path(quality_dir).resolve()
    run_id = run_id or f"gate-{datetime.now(UTC):%Y%m%dT%H%M%S}"
    unknown = sorted(set(extracted_platforms) - set(PLATFORMS))
    if unknown:
        raise GateError(f"unknown platform(s) {unknown}: expected a subset of {PLATFORMS}")
    inputs = read_inputs(
        Path(warehouse),
        run_date,
        tables,
        previous_serving_db,
        extracted_platforms,
        load_thresholds(thresholds_path),
        duckdb_config=duckdb_config,
    )
    if landing_dir is not None:
        inputs.landing_accounts = read_landing_accounts(
            Path(landing_dir), run_date, inputs.extracted_platforms
        )
    checks = build_checks(inputs)
    batches = write_batches(
        checks,
        Path(warehouse),
        inputs.column_types,
        quality_dir / "gx" / "frames",
        duckdb_config,
        row_counts=inputs.row_counts,
        slice_rows=slice_rows,
    )
    results, pages = _run_checkpoint(checks, batches, quality_dir, run_id)
    failures, evaluated, outcomes = _failures(results, {c.suite: c for c in checks})
    gate = GateResult(
        passed=not failures,
        failures=failures,
        data_docs_index=quality_dir / "data_docs" / "index.html",
        elapsed=time.monotonic() - started,
        counts=dict(inputs.row_counts),
        run_id=run_id,
        run_date=run_date,
        evaluated=evaluated,
        suites=[c.suite for c in checks],
        report=report.write_run(
            quality_dir,
            {
                "run_id": run_id,
                "run_date": run_date.isoformat(),
                "passed": not failures,
                "evaluated": evaluated,
                "failures": [f.as_dict() for f in failures],
                "extracted_platforms": list(inputs.extracted_platforms),
                "finished_at": datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"),
                "pages": pages,
                "expectations": outcomes,
            },
        ),
    )
    prune_results(quality_dir, keep=RESULTS_RETENTION_RUNS)
    (log.info if gate.passed else log.error)("%s", gate.summary())
    return gate


def read_inputs(
    warehouse: Path,
    run_date: date,
    tables: Sequence[str],
    previous_serving_db: Path | None,
    extracted_platforms: Sequence[str],
    thresholds: dict[str, Any],
    *,
    duckdb_config: dict[str, str] | None = None,
) -> GateInputs:
    """Read the marts' types, row counts and the columns cross-table checks use (and the same
    of the previous published baseline) through read-only connections."""
    if not warehouse.exists():
        raise GateError(f"warehouse {warehouse} does not exist: run `kol transform` first")
    unknown = [t for t in tables if t not in PUBLISHED_TABLES]
    if unknown:
        raise GateError(f"no suite for table(s) {unknown}: add them to expectations/marts.py")
    frames, types, counts = _read_tables(warehouse, tables, duckdb_config)
    previous: dict[str, pd.DataFrame] = {}
    if previous_serving_db is not None and Path(previous_serving_db).exists():
        previous, _, _ = _read_tables(
            Path(previous_serving_db), _baseline_tables(thresholds), duckdb_config
        )
    con = duckdb.connect(str(warehouse), read_only=True, config=duckdb_config or {})
    try:
        broken = invariants.measure(con, run_date, types)
        orphans = orphan_counts(con, types, counts)
    finally:
        con.close()
    return GateInputs(
        run_date=run_date,
        extracted_platforms=tuple(extracted_platforms),
        frames=frames,
        column_types=types,
        row_counts=counts,
        previous=previous,
        thresholds=thresholds,
        invariants=broken,
        orphans=orphans,
    )


def orphan_counts(
    con: duckdb.DuckDBPyConnection,
    types: dict[str, dict[str, str]],
    rows: dict[str, int | None],
) -> dict[str, int]:
    """Per RELATIONSHIPS entry whose tables and columns exist: the child's rows whose key (no
    part of it NULL) is no parent row's key, compared as text. Counted by DuckDB (a year of
    posts, 9 M rows at agency size, never passes through pandas), its hash table built on the
    smaller side: a parent's distinct keys, else the child's rows (measured at agency's year:
    0.2 GB where the other side's took 2.1 GB and 1.1 GB)."""
    counts: dict[str, int] = {}
    for child, child_cols, parent, parent_cols in RELATIONSHIPS:
        have = set(types.get(child, ())), set(types.get(parent, ()))
        if not (set(child_cols) <= have[0] and set(parent_cols) <= have[1]):
            continue  # the schema suite reports the missing table or column
        known = " AND ".join(f"c.{_quoted(c)} IS NOT NULL" for c in child_cols)
        if (rows.get(parent) or 0) <= (rows.get(child) or 0):
            keys = ", ".join(
                f"CAST({_quoted(c)} AS VARCHAR) AS k{i}" for i, c in enumerate(parent_cols)
            )
            same = " AND ".join(
                f"p.k{i} = CAST(c.{_quoted(c)} AS VARCHAR)" for i, c in enumerate(child_cols)
            )
            sql = (
                f'SELECT count(*) FROM "{child}" AS c LEFT JOIN (SELECT DISTINCT {keys} FROM "{parent}") AS p '
                f"ON {same} WHERE {known} AND p.k0 IS NULL"
            )
        else:
            same = " AND ".join(
                f"CAST(p.{_quoted(pc)} AS VARCHAR) = CAST(c.{_quoted(cc)} AS VARCHAR)"
                for cc, pc in zip(child_cols, parent_cols, strict=True)
            )
            sql = (
                f'SELECT count(*) FROM "{child}" AS c WHERE {known} '
                f'AND NOT EXISTS (SELECT 1 FROM "{parent}" AS p WHERE {same})'
            )
        (n,) = con.execute(sql).fetchone()
        counts[relationship_name(child, child_cols, parent)] = int(n)
    return counts


def read_landing_accounts(
    landing_dir: Path, run_date: date, platforms: Sequence[str]
) -> pd.DataFrame | None:
    """Account records landed for run_date by the extracted platforms (None when none)."""
    files = [
        f
        for p in platforms
        for f in (landing_dir / "records" / "accounts" / f"platform={p}" / f"dt={run_date}").glob(
            "*.parquet"
        )
    ]
    if not files:
        return None
    con = duckdb.connect()
    try:
        frame = con.execute(
            "SELECT * REPLACE (strftime(snapshot_date, '%Y-%m-%d') AS snapshot_date) "
            "FROM read_parquet(?, hive_partitioning = true, union_by_name = true)",
            [[str(f) for f in files]],
        ).df()
    finally:
        con.close()
    return frame.drop(columns=["dt"], errors="ignore")


def _baseline_tables(thresholds: dict[str, Any]) -> list[str]:
    tables = {"creator_scorecard"}
    for spec in thresholds["volume"].values():
        tables.update(spec["tables"])
    return sorted(tables)


def _read_tables(
    db: Path, tables: Sequence[str], duckdb_config: dict[str, str] | None = None
) -> tuple[dict[str, pd.DataFrame], dict[str, dict[str, str]], dict[str, int | None]]:
    """Per existing table: the `cross_columns` it has as a frame, its column types, its rows."""
    frames: dict[str, pd.DataFrame] = {}
    types: dict[str, dict[str, str]] = {}
    counts: dict[str, int | None] = {}
    con = duckdb.connect(str(db), read_only=True, config=duckdb_config or {})
    try:
        existing = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'main'"
            ).fetchall()
        }
        for table in tables:
            if table not in existing:
                counts[table] = None
                continue
            types[table] = {r[0]: r[1] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}
            read = [c for c in cross_columns(table) if c in types[table]]
            if read:
                select = ", ".join(_quoted(c) for c in read)
                sql = f'SELECT {select} FROM "{table}"'
                frames[table] = _categorical_text(con.sql(sql).to_arrow_table()).to_pandas()
            else:  # no column of it is cross-checked: its row count is all that is needed
                (n,) = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
                frames[table] = pd.DataFrame(index=pd.RangeIndex(n))
            counts[table] = len(frames[table])
    finally:
        con.close()
    return frames, types, counts


def _categorical_text(table: pa.Table) -> pa.Table:
    """Text columns dictionary-encoded (pandas categories): the few columns read are platform
    names and dates, repeated on every row of a year of daily rows and posts."""
    columns = [
        pc.dictionary_encode(col)
        if pa.types.is_string(col.type) or pa.types.is_large_string(col.type)
        else col
        for col in table.columns
    ]
    return pa.table(columns, names=table.column_names)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def write_batches(
    checks: Sequence[Check],
    warehouse: Path,
    column_types: dict[str, dict[str, str]],
    frame_dir: Path,
    duckdb_config: dict[str, str] | None = None,
    *,
    row_counts: dict[str, int | None] | None = None,
    slice_rows: int = SLICE_ROWS,
) -> dict[str, list[Path]]:
    """Parquet batches per check (suite -> paths): computed frames from pandas, marts by DuckDB.

    A mart's batch is `SELECT <checked columns> FROM <mart>`, cast to the types GX's pandas
    metrics are vectorised for (see `numpy_numbers`); a mart of more than `slice_rows` rows
    (`row_counts`) is written as slices by the hash of its key, so the gate's memory stays
    within one slice whatever the mart's size."""
    frame_dir.mkdir(parents=True, exist_ok=True)
    for old in frame_dir.glob("*.parquet"):
        old.unlink()  # a mart sliced last run and not now must not leave stale slices
    paths: dict[str, list[Path]] = {}
    for check in checks:
        if check.frame is not None:
            paths[check.suite] = [frame_dir / f"{check.suite}.parquet"]
            numpy_numbers(check.frame).to_parquet(paths[check.suite][0], index=False)
    marts = [c for c in checks if c.frame is None]
    if not marts:
        return paths
    con = duckdb.connect(str(warehouse), read_only=True, config=duckdb_config or {})
    try:
        for check in marts:
            types = column_types[check.table]
            select = ", ".join(_fast_type(con, check.table, c, types[c]) for c in check.columns)
            rows = (row_counts or {}).get(check.table) or 0
            n = max(1, math.ceil(rows / slice_rows))
            paths[check.suite] = _write_mart_batch(con, check, select, n, frame_dir)
    finally:
        con.close()
    return paths


def _write_mart_batch(
    con: duckdb.DuckDBPyConnection, check: Check, select: str, n: int, frame_dir: Path
) -> list[Path]:
    """The mart's batch as one file, or as `n` slices `<suite>.slice-<i>-of-<n>.parquet`."""
    query = f'SELECT {select} FROM "{check.table}"'
    if n == 1:
        targets = [(frame_dir / f"{check.suite}.parquet", query)]
    else:
        key = [c for c in MARTS[check.table].key if c in check.columns] or list(check.columns)
        hashed = f"hash({', '.join(_quoted(c) for c in key)}) % {n}"
        targets = [
            (
                frame_dir / f"{check.suite}.slice-{i + 1}-of-{n}.parquet",
                f"{query} WHERE {hashed} = {i}",
            )
            for i in range(n)
        ]
    for path, sql in targets:
        target = str(path).replace("'", "''")
        con.execute(f"COPY ({sql}) TO '{target}' (FORMAT parquet)")
    return [path for path, _ in targets]


_INTEGERS = {"TINYINT", "SMALLINT", "INTEGER", "UTINYINT", "USMALLINT", "UINTEGER", "BIGINT"}
_DECIMALS = ("DECIMAL", "FLOAT", "REAL")
_TEMPORAL = {"DATE", "TIMESTAMP", "TIMESTAMP_S", "TIMESTAMP_MS", "TIMESTAMP_NS"}
# datetime64[ns] holds 1677-09-21 .. 2262-04-11: outside it a column keeps its own type.
_NS_RANGE = ("1677-09-22", "2262-04-10")


def _fast_type(con: duckdb.DuckDBPyConnection, table: str, column: str, dtype: str) -> str:
    """`column` cast for GX's fast paths: integers as BIGINT (int64, or float64 with NULLs once
    in pandas), DECIMAL/FLOAT as DOUBLE, dates and timestamps as TIMESTAMP_NS — the same
    types `numpy_numbers` gives a frame."""
    quoted, base = _quoted(column), dtype.upper().split("(")[0]
    if base in _INTEGERS:
        return f"CAST({quoted} AS BIGINT) AS {quoted}"
    if base.startswith(_DECIMALS):
        return f"CAST({quoted} AS DOUBLE) AS {quoted}"
    if base in _TEMPORAL:
        (in_range,) = con.execute(
            f"SELECT coalesce(bool_and(CAST({quoted} AS TIMESTAMP) BETWEEN "
            f"TIMESTAMP '{_NS_RANGE[0]}' AND TIMESTAMP '{_NS_RANGE[1]}'), true) "
            f'FROM "{table}"'
        ).fetchone()
        if in_range:
            return f"CAST({quoted} AS TIMESTAMP_NS) AS {quoted}"
    return quoted


def _context(quality_dir: Path) -> Any:
    """An ephemeral GX context whose results and Data Docs persist under quality_dir.

    Suites and validation definitions are rebuilt from code every run, so they live in memory
    (fast); validation results go to quality/gx/validations so the Data Docs index in
    quality/data_docs lists every past run for auditors.
    """
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    silence_gx_logging()
    defaults = InMemoryStoreBackendDefaults()
    defaults.stores[defaults.validation_results_store_name]["store_backend"] = {
        "class_name": "TupleFilesystemStoreBackend",
        "base_directory": str(quality_dir / "gx" / "validations"),
    }
    defaults.data_docs_sites = {
        DOCS_SITE: {
            "class_name": "SiteBuilder",
            "show_how_to_buttons": False,
            "store_backend": {
                "class_name": "TupleFilesystemStoreBackend",
                "base_directory": str(quality_dir / "data_docs"),
            },
            "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
        }
    }
    config = DataContextConfig(
        store_backend_defaults=defaults,
        progress_bars=ProgressBarsConfig(globally=False),
        analytics_enabled=False,
    )
    return gx.get_context(mode="ephemeral", project_config=config)


def _run_checkpoint(
    checks: list[Check], batches: dict[str, list[Path]], quality_dir: Path, run_id: str
) -> Any:
    """Register one suite per check and one Parquet batch and validation definition per batch
    file (a sliced mart: one per slice, `<suite> [slice i of n]`); run each as a checkpoint of
    its own under one run id; returns the results (identifier -> result) and `_pages`.

    Data Docs are built once for the whole run afterwards (GX's UpdateDataDocsAction rebuilds
    the index after every single validation, which costs a second per suite).
    """
    import great_expectations as gx
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier,
    )

    context = _context(quality_dir)
    source = context.data_sources.add_pandas(DATASOURCE)
    definitions = []
    for check in checks:
        suite = context.suites.add(
            gx.ExpectationSuite(name=check.suite, expectations=check.expectations)
        )
        paths = batches[check.suite]
        for i, path in enumerate(paths, start=1):
            name = check.suite if len(paths) == 1 else f"{check.suite} [slice {i} of {len(paths)}]"
            asset = source.add_parquet_asset(name, path=path)
            definitions.append(
                context.validation_definitions.add(
                    gx.ValidationDefinition(
                        name=name,
                        data=asset.add_batch_definition_whole_dataframe("whole"),
                        suite=suite,
                    )
                )
            )
    run = gx.RunIdentifier(run_name=run_id, run_time=datetime.now(UTC))
    results: dict[Any, Any] = {}
    for definition in definitions:
        # One checkpoint per batch, all under one run id, the loaded batch dropped after each:
        # GX's pandas engine keeps every batch it loaded for as long as its datasource lives,
        # which held every mart of agency's year at once (3.4 GB) under a single checkpoint.
        checkpoint = context.checkpoints.add(
            gx.Checkpoint(
                name=f"{CHECKPOINT} {definition.name}",
                validation_definitions=[definition],
                result_format={"result_format": "BASIC", "partial_unexpected_count": 10},
            )
        )
        results.update(checkpoint.run(run_id=run).run_results)
        engine = source.get_execution_engine()
        engine.batch_manager.batch_data_cache.clear()
        engine.batch_manager.reset_batch_cache()
    identifiers: list[Any] = list(results)
    identifiers += [ExpectationSuiteIdentifier(name=c.suite) for c in checks]
    context.build_data_docs(site_names=[DOCS_SITE], resource_identifiers=identifiers)
    return results, _pages(context, results, quality_dir / "data_docs")


def numpy_numbers(frame: pd.DataFrame) -> pd.DataFrame:
    """Numbers as numpy int64/float64 and timestamps as datetime64[ns], where GX is fast.

    GX's pandas `column_values.between` is vectorised only for numpy int64/float64 and
    datetime64[ns] columns; on anything else (DuckDB gives nullable Int64, int32,
    datetime64[us]) it calls a Python function per value — profiled at ~2/3 of the gate's
    metric time on the `small` bench. NULL becomes NaN/NaT, which GX counts as null as before."""
    out = frame.copy(deep=False)
    for name in frame.columns:
        column, dtype = frame[name], frame[name].dtype
        target: Any = None
        if pd.api.types.is_bool_dtype(dtype):
            continue
        if pd.api.types.is_integer_dtype(dtype):
            target = "float64" if column.isna().any() else "int64"
        elif pd.api.types.is_float_dtype(dtype):
            target = "float64"
        elif pd.api.types.is_datetime64_dtype(dtype) and not isinstance(dtype, pd.DatetimeTZDtype):
            target = "datetime64[ns]"
        if target is None or str(dtype) == target:
            continue
        try:
            out[name] = column.astype(target)
        except (OverflowError, ValueError, pd.errors.OutOfBoundsDatetime):
            continue  # out of the fast type's range: keep it (slow but right)
    return out


def prune_results(quality_dir: Path, keep: int) -> list[str]:
    """Drop stored GX results of all but the newest `keep` runs (their HTML pages stay)."""
    store = quality_dir / "gx" / "validations"
    old = report.read_runs(quality_dir)[keep:]
    for run in old:
        for page in run.get("pages", {}):
            # The store keeps results at <suite parts>/<run_id>/<run time>/<batch>.json (every
            # slice of a sliced mart's suite under its suite's folder).
            suite = page.partition(" [slice ")[0]
            shutil.rmtree(store.joinpath(*suite.split("."), run["run_id"]), ignore_errors=True)
    return [run["run_id"] for run in old]


def _pages(context: Any, results: dict[Any, Any], docs_dir: Path) -> dict[str, str]:
    """suite -> this run's validation page, relative to the Data Docs folder (a sliced mart's:
    `<suite> [slice i of n]` -> each slice's)."""
    pages = {}
    for identifier, validation in results.items():
        key = _validation_name(validation)
        for site in context.get_docs_sites_urls(
            resource_identifier=identifier, site_name=DOCS_SITE
        ):
            url = site.get("site_url") or ""
            path = Path(url.removeprefix("file://"))
            if path.is_relative_to(docs_dir):
                pages.setdefault(key, path.relative_to(docs_dir).as_posix())
    return pages


def _validation_name(validation: Any) -> str:
    """The validation definition's name: the suite's, or `<suite> [slice i of n]` (its asset)."""
    batch = (validation.meta or {}).get("active_batch_definition") or {}
    return str(batch.get("data_asset_name") or validation.suite_name)


class _Outcome(NamedTuple):
    """One expectation's result over every batch of its suite (a sliced mart's slices)."""

    expectation_config: Any
    result: dict[str, Any]
    exception_info: Any
    success: bool


def _merged(results: list[Any]) -> _Outcome:
    """A sliced mart's results of one expectation as one: counts summed, the first
    unexpected values kept, failed when any slice failed (or could not be evaluated)."""
    first = results[0]
    if len(results) == 1:
        return _Outcome(
            first.expectation_config, first.result or {}, first.exception_info, bool(first.success)
        )
    merged: dict[str, Any] = dict(first.result or {})
    for name in ("element_count", "unexpected_count", "missing_count"):
        if any(name in (r.result or {}) for r in results):
            merged[name] = sum(int((r.result or {}).get(name) or 0) for r in results)
    partial = [v for r in results for v in (r.result or {}).get("partial_unexpected_list") or []]
    if "partial_unexpected_list" in merged:
        merged["partial_unexpected_list"] = partial[:10]
    raised = next((r.exception_info for r in results if _exception_message(r.exception_info)), None)
    return _Outcome(
        first.expectation_config,
        merged,
        raised if raised is not None else first.exception_info,
        all(bool(r.success) for r in results),
    )


def _failures(
    results: dict[Any, Any], checks: dict[str, Check]
) -> tuple[list[GateFailure], int, list[dict[str, Any]]]:
    """The failing expectations, how many were evaluated, and every outcome (for the report)."""
    failures: list[GateFailure] = []
    outcomes: list[dict[str, Any]] = []
    by_suite: dict[str, list[Any]] = {}
    for validation in results.values():
        by_suite.setdefault(validation.suite_name, []).append(validation)
    for suite, validations in by_suite.items():
        # every slice of a suite ran the same expectations, in the suite's order
        for ers in zip(*(v.results for v in validations), strict=True):
            er = _merged(list(ers))
            outcome = _failure(suite, er, checks.get(suite))
            outcomes.append({**outcome.as_dict(), "success": er.success})
            if not er.success:
                failures.append(outcome)
    return failures, len(outcomes), outcomes


def _failure(suite: str, er: Any, check: Check | None) -> GateFailure:
    config = er.expectation_config
    meta = config.meta or {}
    kwargs = config.kwargs or {}
    table = meta.get("table") or (check.table if check else "?")
    column = meta["column"] if "column" in meta else kwargs.get("column")
    result = er.result or {}
    exception = _exception_message(er.exception_info)
    if "observed_value" in result:
        observed = result["observed_value"]
    elif "partial_unexpected_list" in result:
        observed = result["partial_unexpected_list"][:10]
    else:
        observed = None
    if (check is not None and check.suite.startswith("cross.")) or (
        check and "presence" in check.suite
    ):
        # A computed one-row frame: its single value is the observation.
        observed = _single_value(check, kwargs.get("column"), observed)
    detail = f"observed {_jsonable(observed)!r}"
    if result.get("unexpected_count") and suite.startswith("mart."):
        detail += f" in {result['unexpected_count']} of {result.get('element_count')} rows"
    if exception:
        detail = f"could not be evaluated: {exception.strip().splitlines()[0]}"
    where = f"{table}.{column}" if column else table
    if meta.get("platform"):
        where += f" [{meta['platform']}]"
    what = (config.description or "failed").rstrip(".")
    message = f"{where}: {config.type} — {what}; {detail}"
    return GateFailure(suite, config.type, table, column, _jsonable(observed), message)


def _exception_message(info: Any) -> str | None:
    """GX nests exception details per metric; find the first message, if any raised."""
    if not isinstance(info, dict):
        return None
    if info.get("raised_exception") and info.get("exception_message"):
        return str(info["exception_message"])
    for value in info.values():
        found = _exception_message(value)
        if found:
            return found
    return None


def _single_value(check: Check, column: str | None, default: Any) -> Any:
    if check.frame is None:
        return default
    if column and column in check.frame.columns and len(check.frame) == 1:
        return check.frame[column].iloc[0]
    return default


def _jsonable(value: Any) -> Any:
    """Observed values as plain JSON types (for the ledger and messages)."""
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if hasattr(value, "item"):
        try:
            value = value.item()
        except (ValueError, AttributeError):
            return str(value)
    if isinstance(value, float):
        return None if value != value else round(value, 6)
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)
