"""Row-for-row comparison of the same tables built twice (two engines, or two runs of one),
both read from DuckDB files.

Values are compared after one normalisation: doubles at 12 significant digits (engines, and
one engine's parallel threads, sum in different orders; two doubles whose 12th digit rounded
apart, e.g. ...44998 and ...45029, still pair up, and so do two results of a cancellation
within 1e-12 of zero, e.g. a regression slope of 3e-17 and -1e-17), lists sorted (list functions give no order), timestamps with a time zone as
naive UTC (Spark has no such type), integers of any width as BIGINT. Everything else is exact.

Incremental builds against a full refresh (`between_builds=True`): the columns that say which
build wrote a row are left out, and the rows only daily builds keep (each run's own slice)
are compared where the full refresh has them too.
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb

# columns that say which build wrote a row: they differ between builds by design
BUILD_STAMPS = frozenset({"scored_on"})
# tables whose daily builds keep each run's slice (by this column); a full refresh holds only
# the slices it needs (for int_account_metrics_as_of: month ends and D)
KEPT_SLICES = {"int_account_metrics_as_of": "as_of_date"}


def _columns(con: duckdb.DuckDBPyConnection, db: str, table: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, data_type from information_schema.columns"
        " where table_catalog = ? and table_name = ? order by ordinal_position",
        [db, table],
    ).fetchall()


def _is_double(kind: str) -> bool:
    return kind in ("DOUBLE", "FLOAT") or kind.startswith("DECIMAL")


def _normalised(name: str, kind: str) -> str:
    col = f'"{name}"'
    if _is_double(kind):
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


def _unpaired(
    expected: list[tuple], actual: list[tuple], doubles: list[int]
) -> tuple[list[tuple], list[tuple]]:
    """The rows left once each expected row is paired with an actual row equal but for doubles
    one unit apart in their 12th significant digit."""
    by_rest: dict[str, list[tuple]] = {}
    for row in actual:
        by_rest.setdefault(_rest(row, doubles), []).append(row)
    left = []
    for row in expected:
        candidates = by_rest.get(_rest(row, doubles), [])
        match = next((c for c in candidates if _close(row, c, doubles)), None)
        if match is None:
            left.append(row)
        else:
            candidates.remove(match)
    return left, [row for rows in by_rest.values() for row in rows]


def _rest(row: tuple, doubles: list[int]) -> str:
    return repr([v for i, v in enumerate(row) if i not in doubles])


def _close(a: tuple, b: tuple, doubles: list[int]) -> bool:
    return all(
        a[i] == b[i]
        or (
            a[i] is not None
            and b[i] is not None
            and math.isclose(a[i], b[i], rel_tol=1e-11, abs_tol=1e-12)
        )
        for i in doubles
    )


def differences(
    expected_db: Path, actual_db: Path, tables: list[str], *, between_builds: bool = False
) -> dict[str, str]:
    """Per table that differs: what differs (columns, or the rows only one side has).
    `between_builds`: actual was built incrementally, expected by a full refresh (module doc)."""
    con = duckdb.connect()
    con.execute("set TimeZone = 'UTC'")
    con.execute(f"attach '{expected_db}' as expected (read_only)")
    con.execute(f"attach '{actual_db}' as actual (read_only)")
    out: dict[str, str] = {}
    for table in tables:
        want, got = _columns(con, "expected", table), _columns(con, "actual", table)
        if between_builds:
            want = [(c, k) for c, k in want if c not in BUILD_STAMPS]
            got = [(c, k) for c, k in got if c not in BUILD_STAMPS]
        if [c for c, _ in want] != [c for c, _ in got]:
            out[table] = f"columns {[c for c, _ in want]} != {[c for c, _ in got]}"
            continue
        kinds = dict(got)
        select = ", ".join(f'{_normalised(c, k)} as "{c}"' for c, k in want)
        select_actual = ", ".join(f'{_normalised(c, kinds[c])} as "{c}"' for c, _ in want)
        scope = ""
        if between_builds and table in KEPT_SLICES:
            key = KEPT_SLICES[table]
            scope = f' where "{key}" in (select "{key}" from expected.{table})'
        only_expected = con.execute(
            f"select {select} from expected.{table}{scope} "
            f"except all select {select_actual} from actual.{table}{scope}"
        ).fetchall()
        only_actual = con.execute(
            f"select {select_actual} from actual.{table}{scope} "
            f"except all select {select} from expected.{table}{scope}"
        ).fetchall()
        doubles = [i for i, (_, k) in enumerate(want) if _is_double(k)]
        only_expected, only_actual = _unpaired(only_expected, only_actual, doubles)
        if only_expected or only_actual:
            out[table] = f"only in expected: {only_expected[:3]}; only in actual: {only_actual[:3]}"
    con.close()
    return out
