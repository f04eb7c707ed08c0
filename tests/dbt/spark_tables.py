"""Tables of a DuckDB build given to a Spark build as its own (dbt run-operation import_parquet_tables).

The Spark parity tests build models downstream of the Python models, which run on DuckDB
only: the Python models' rows (in the reduced test, every parent of the selection it does not
build) are written from DuckDB as Parquet and registered in Spark's metastore under the
names ref() compiles to on the spark target. Timestamps are written as instants (Parquet
isAdjustedToUTC), which Spark reads as its TIMESTAMP, as the landing's are.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import duckdb

from pipeline.transform import PROJECT_DIR


def export_tables(db: Path, tables: list[str], out: Path) -> dict[str, str]:
    """Each table of `db` as Parquet in out/<table>/; {table: folder}."""
    folders = {}
    with duckdb.connect(str(db), read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        for table in tables:
            kinds = con.execute(
                "select column_name, data_type from information_schema.columns"
                " where table_name = ? order by ordinal_position",
                [table],
            ).fetchall()
            select = ", ".join(
                f'cast("{c}" as timestamptz) as "{c}"' if k == "TIMESTAMP" else f'"{c}"'
                for c, k in kinds
            )
            folder = out / table
            folder.mkdir(parents=True)
            con.execute(
                f"copy (select {select} from \"{table}\") to '{folder / 'part-0.parquet'}'"
                " (format parquet)"
            )
            folders[table] = str(folder)
    return folders


def import_into_spark(home: Path, tables: dict[str, str]) -> None:
    """Register the Parquet folders as tables of the spark target under KOL_HOME=home."""
    args = ["run-operation", "import_parquet_tables", "--args", json.dumps({"tables": tables})]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "dbt.cli.main",
            *args,
            "--target",
            "spark",
            "--project-dir",
            str(PROJECT_DIR),
            "--profiles-dir",
            str(PROJECT_DIR),
            "--target-path",
            str(home / "dbt" / "import"),
            "--log-path",
            str(home / "dbt" / "logs"),
        ],
        env={**os.environ, "KOL_HOME": str(home), "DBT_SEND_ANONYMOUS_USAGE_STATS": "False"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-3000:]
