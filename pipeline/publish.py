"""Publish the gated marts to `serving/`: a DuckDB file and Parquet copies, swapped in atomically.

BI tools keep `serving/marts.duckdb` open while a new day is published, so nothing is ever
written in place: every file is built under a temporary name in the same directory, fsynced,
then moved over the old one with `os.replace` (an atomic rename on POSIX). A reader that
already holds the old file keeps reading the old inode; a crash leaves either the old or the
new complete file, and the next publish removes the temporary leftovers.

Only the published mart tables are copied, and a column that could carry comment text or a
credential stops the publish (docs/architecture.md: comment text never reaches `serving/`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from pipeline.config import duckdb_limits

log = logging.getLogger(__name__)

SERVING_DB = "marts.duckdb"
PARQUET_DIR = "parquet"
TMP_PREFIX = ".tmp-"
# The oldest DuckDB storage format the serving file is written in: readers from DuckDB 1.4 on
# (the Python 1.4/1.5 clients, Evidence's and most BI tools' bundled drivers) open it.
STORAGE_VERSION = "v1.4.0"

# Column names that would leak comment text or secrets into serving/. A mart carrying one is a
# modelling bug upstream: publish refuses rather than silently dropping the column.
FORBIDDEN_COLUMNS = frozenset(
    {"text", "comment_text", "text_display", "text_original", "textdisplay", "textoriginal", "body"}
)
FORBIDDEN_FRAGMENTS = ("token", "secret", "password", "api_key")


class PublishError(RuntimeError):
    """The marts cannot be published; the previous serving files are untouched."""


@dataclass(frozen=True)
class PublishResult:
    """What was published: the content checksum, rows per table and the serving DB path."""

    checksum: str
    rows: dict[str, int]
    path: Path
    parquet: dict[str, Path] = field(default_factory=dict)


def publish(warehouse: Path, serving_dir: Path, tables: Sequence[str]) -> PublishResult:
    """Copy `tables` from the warehouse (read-only) to `serving_dir`, atomically per file."""
    warehouse, serving_dir = Path(warehouse), Path(serving_dir)
    tables = _validated_table_names(tables)
    parquet_dir = serving_dir / PARQUET_DIR
    parquet_dir.mkdir(parents=True, exist_ok=True)
    clean_stale_temp_files(serving_dir)

    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    tmp_db = serving_dir / f"{TMP_PREFIX}{tag}-{SERVING_DB}"
    tmp_parquet = {t: parquet_dir / f"{TMP_PREFIX}{tag}-{t}.parquet" for t in tables}
    try:
        rows = _build_serving_db(warehouse, tmp_db, tables, tmp_parquet)
        for path in [tmp_db, *tmp_parquet.values()]:
            _fsync(path)
        checksum = content_checksum(tmp_db, tables)
        final_parquet = {t: parquet_dir / f"{t}.parquet" for t in tables}
        # Parquet first, the DuckDB file last: the DuckDB file is the consistent snapshot BI
        # reads, and once it is swapped every Parquet copy already matches it.
        for table in tables:
            os.replace(tmp_parquet[table], final_parquet[table])
        _fsync(parquet_dir)
        final_db = serving_dir / SERVING_DB
        os.replace(tmp_db, final_db)
        _fsync(serving_dir)
    except BaseException:
        for path in [tmp_db, *tmp_parquet.values()]:
            path.unlink(missing_ok=True)
        Path(f"{tmp_db}.wal").unlink(missing_ok=True)
        raise
    log.info("published %d tables to %s (checksum %s)", len(tables), final_db, checksum[:12])
    return PublishResult(checksum=checksum, rows=rows, path=final_db, parquet=final_parquet)


def content_checksum(db_path: Path, tables: Sequence[str]) -> str:
    """sha256 over each table's name, schema and rows as a multiset (not the file bytes).

    The same marts give the same checksum whatever DuckDB's file layout or row order, so the
    ledger can say whether two runs published the same content. Each row is rendered as JSON
    and hashed with md5 inside DuckDB; the table contributes its row count and the 128-bit
    sums of those hashes (order-free, and a duplicated or swapped row changes them). Floating
    point columns are hashed at 12 significant digits: DuckDB sums in parallel in no fixed
    order, so the same data can differ in the 16th digit (0.22625625 vs 0.22625624999999996).

    The aggregate runs in DuckDB (~30 s for the 13 M brand x creator rows at agency size);
    hashing rows one by one in Python would take most of a publish.
    """
    digest = hashlib.sha256()
    con = duckdb.connect(str(db_path), read_only=True, config=duckdb_limits())
    try:
        for table in sorted(_validated_table_names(tables)):
            schema = con.execute(f'DESCRIBE "{table}"').fetchall()
            digest.update(f"table {table}\n".encode())
            for name, dtype, *_ in schema:
                digest.update(f"column {name} {dtype}\n".encode())
            select = ", ".join(_stable(name, dtype) for name, dtype, *_ in schema)
            rows, upper, lower = con.execute(
                "SELECT count(*), coalesce(sum(md5_number_upper(r)), 0), "
                "coalesce(sum(md5_number_lower(r)), 0) "
                f'FROM (SELECT to_json(t)::VARCHAR AS r FROM (SELECT {select} FROM "{table}") AS t)'
            ).fetchone()
            digest.update(f"rows {rows} {upper} {lower}\n".encode())
    finally:
        con.close()
    return digest.hexdigest()


def _stable(name: str, dtype: str) -> str:
    """A column as hashed: floats at 12 significant digits, everything else as it is."""
    quoted = '"' + name.replace('"', '""') + '"'
    if dtype.upper() in ("DOUBLE", "FLOAT", "REAL"):
        return f"printf('%.12g', {quoted}) AS {quoted}"
    return quoted


def clean_stale_temp_files(serving_dir: Path) -> list[Path]:
    """Remove temporary files a crashed publish left behind (never visible to readers)."""
    removed = []
    for folder in (Path(serving_dir), Path(serving_dir) / PARQUET_DIR):
        if not folder.is_dir():
            continue
        for path in folder.glob(f"{TMP_PREFIX}*"):
            path.unlink(missing_ok=True)
            removed.append(path)
    if removed:
        log.info("removed %d stale temporary file(s) from an interrupted publish", len(removed))
    return removed


def _build_serving_db(
    warehouse: Path, tmp_db: Path, tables: Sequence[str], tmp_parquet: dict[str, Path]
) -> dict[str, int]:
    """Create the serving DB under its temporary name and export each table to Parquet."""
    if not warehouse.exists():
        raise PublishError(f"warehouse {warehouse} does not exist: run `kol transform` first")
    # The serving file is attached in DuckDB 1.4's storage format, which DuckDB 1.4+ and 2.x
    # readers both open (a file written in 2.x's own format is refused by every 1.x reader).
    con = duckdb.connect(config={**duckdb_limits(), "temp_directory": f"{tmp_db}.tmp"})
    rows: dict[str, int] = {}
    try:
        con.execute(
            f"ATTACH '{_sql_path(tmp_db)}' AS serving (STORAGE_VERSION '{STORAGE_VERSION}')"
        )
        con.execute("USE serving")
        con.execute(f"ATTACH '{_sql_path(warehouse)}' AS wh (READ_ONLY)")
        available = {
            r[0]
            for r in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'wh' "
                "AND schema_name = 'main' UNION SELECT view_name FROM duckdb_views() "
                "WHERE database_name = 'wh' AND schema_name = 'main'"
            ).fetchall()
        }
        missing = [t for t in tables if t not in available]
        if missing:
            raise PublishError(
                f"warehouse {warehouse} lacks mart table(s) {', '.join(missing)}: "
                "run `kol transform` (dbt build) before publishing"
            )
        for table in tables:
            _check_columns(con, table)
            con.execute(f'CREATE TABLE serving.main."{table}" AS SELECT * FROM wh.main."{table}"')
            rows[table] = con.execute(f'SELECT count(*) FROM serving.main."{table}"').fetchone()[0]
            con.execute(
                f"COPY serving.main.\"{table}\" TO '{_sql_path(tmp_parquet[table])}' "
                "(FORMAT parquet, COMPRESSION zstd)"
            )
        con.execute("DETACH wh")
        con.execute("CHECKPOINT serving")
        con.execute("USE memory")
        con.execute("DETACH serving")
    finally:
        con.close()
    return rows


def _check_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    columns = [r[0] for r in con.execute(f'DESCRIBE wh.main."{table}"').fetchall()]
    for column in columns:
        lowered = column.lower()
        if lowered in FORBIDDEN_COLUMNS or any(f in lowered for f in FORBIDDEN_FRAGMENTS):
            raise PublishError(
                f"mart {table} has column {column!r}, which may carry comment text or a "
                "credential: remove it from the dbt model; nothing was published"
            )


def _validated_table_names(tables: Sequence[str]) -> list[str]:
    names = list(dict.fromkeys(tables))
    if not names:
        raise PublishError("no tables to publish: pass the published mart names")
    for name in names:
        if not name.replace("_", "").isalnum():
            raise PublishError(f"invalid table name {name!r}: expected letters, digits and _")
    return names


def _sql_path(path: Path) -> str:
    return str(path).replace("'", "''")


def _fsync(path: Path) -> None:
    """Flush a file's bytes, or a directory's entries (so a rename itself is durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
