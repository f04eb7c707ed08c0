"""Spark's built models into `warehouse.duckdb`, so the gate and publish read one warehouse.

On the Spark engine (docs/architecture.md "Running on Spark") the dbt build writes its tables
in Spark's warehouse; `dbt run-operation export_models` then writes each of them as Parquet to
`<home>/spark/export/<model>/`, and this module replaces the table of the same name in
`warehouse.duckdb` with it, and with each table the Python steps wrote
(pipeline/python_steps.py). Spark stores a TIMESTAMP as an instant (Parquet isAdjustedToUTC),
DuckDB's models use naive UTC timestamps: such columns are converted back, so the gate and
publish see the types a DuckDB build gives them.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import duckdb

EXPORT_DIR = Path("spark") / "export"


def export_dir(home: Path) -> Path:
    return Path(home) / EXPORT_DIR


def select_list(con: duckdb.DuckDBPyConnection, files: str) -> str:
    """The columns of Parquet `files` (a read_parquet glob), instants as naive UTC timestamps."""
    columns = con.execute(f"describe select * from read_parquet('{files}')").fetchall()
    return ", ".join(
        f'timezone(\'UTC\', "{name}") as "{name}"'
        if kind == "TIMESTAMP WITH TIME ZONE"
        else f'"{name}"'
        for name, kind, *_ in columns
    )


def load_into_duckdb(
    home: Path, warehouse: Path | None = None, also: Sequence[Path] = ()
) -> list[str]:
    """Replace each exported model's table in the warehouse, and one per folder of `also`
    (the Python steps' tables, pipeline/python_steps.py), in one transaction; returns their
    names."""
    home = Path(home)
    folders = (
        sorted(p for p in export_dir(home).iterdir() if p.is_dir())
        if export_dir(home).is_dir()
        else []
    )
    folders += [Path(p) for p in also]
    con = duckdb.connect(str(warehouse or home / "warehouse.duckdb"))
    try:
        con.execute("set TimeZone = 'UTC'")
        con.execute("begin")
        views = {r[0] for r in con.execute("select view_name from duckdb_views()").fetchall()}
        for folder in folders:
            files = str(folder / "*.parquet").replace("'", "''")
            if folder.name in views:  # a DuckDB build's staging view: Spark's table replaces it
                con.execute(f'drop view main."{folder.name}"')
            con.execute(
                f'create or replace table main."{folder.name}" as '
                f"select {select_list(con, files)} from read_parquet('{files}')"
            )
        con.execute("commit")
    finally:
        con.close()
    return [f.name for f in folders]
