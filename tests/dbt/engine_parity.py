"""Row-for-row comparison of the same models built by two engines, both read from DuckDB files.

Values are compared after one normalisation: doubles at 12 significant digits (engines sum in
different orders), lists sorted (list functions give no order), timestamps with a time zone as
naive UTC (Spark has no such type), integers of any width as BIGINT. Everything else is exact.
"""

from __future__ import annotations

from pathlib import Path

import duckdb


def _columns(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_catalog = ? and table_name = ? order by ordinal_position",
        [db, table],
    ).fetchall()


def _normalised(name: str, kind: str) -> str:
    col = f'"{name}"'
    if kind in ("DOUBLE", "FLOAT") or kind.startswith("DECIMAL"):
        value = f"cast({col} as double)"
        return (
            f"case when {value} is null or {value} = 0 then {value} else "
            f"round({value}, 11 - cast(floor(log10(abs({value}))) as integer)) end"
        )
    if kind.endswith("[]"):
        return f"list_sort({col})"
    if kind == "TIMESTAMP WITH TIME ZONE":
        return f"timezone('UTC', {col})"
    if kind in ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"):
        return f"cast({col} as bigint)"
    return col


def differences(expected_db: Path, actual_db: Path, tables: list[str]) -> dict[str, str]:
    """Per table that differs: what differs (columns, or the rows only one side has)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{expected_db}' as expected (read_only)")
    con.execute(f"attach '{actual_db}' as actual (read_only)")
    out: dict[str, str] = {}
    for table in tables:
        want, got = _columns(con, "expected", table), _columns(con, "actual", table)
        if [c for c, _ in want] != [c for c, _ in got]:
            out[table] = f"columns {[c for c, _ in want]} != {[c for c, _ in got]}"
            continue
        kinds = dict(got)
        select = ", ".join(f'{_normalised(c, k)} as "{c}"' for c, k in want)
        select_actual = ", ".join(f'{_normalised(c, kinds[c])} as "{c}"' for c, _ in want)
        only_expected = con.execute(
            f"select * from (select {select} from expected.{table}"
            f" except all select {select_actual} from actual.{table}) limit 3"
        ).fetchall()
        only_actual = con.execute(
            f"select * from (select {select_actual} from actual.{table}"
            f" except all select {select} from expected.{table}) limit 3"
        ).fetchall()
        if only_expected or only_actual:
            out[table] = f"only in expected: {only_expected}; only in actual: {only_actual}"
    con.close()
    return out
