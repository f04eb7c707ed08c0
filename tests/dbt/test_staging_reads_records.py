"""Staging reads exactly the landed records: the field maps and the staging SQL agree.

The platform staging views are built by real dbt over 0-row files of the records' exact
schemas (what `kol transform` does for a platform never extracted). That build binds every
column a view reads, so it fails if a view reads a column the records do not have. Then each
record column is dropped from its file in turn: the view must stop binding, which proves it
reads that column.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from ingestion.platforms import get_platform
from ingestion.records import PLATFORMS, api_schema
from pipeline.transform import EMPTY_FILE, EMPTY_PARTITION, run_dbt

pytestmark = pytest.mark.integration

D = date(2026, 11, 24)


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("kol_home")
    select = " ".join(f"path:models/staging/{p}" for p in PLATFORMS)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KOL_DBT_THREADS", "2")
        result = run_dbt(home, D, full_refresh=True, select=select, unit_tests=False)
    assert result.ok, result.failures  # no staging view reads a column the records lack
    return home


def _source_file(home: Path, entity: str, platform: str) -> Path:
    folder = home / "landing" / "records" / entity / f"platform={platform}"
    return folder / EMPTY_PARTITION / EMPTY_FILE


def _binds(con: duckdb.DuckDBPyConnection, view: str) -> str | None:
    try:
        con.execute(f'select * from "{view}" limit 0').fetchall()
    except duckdb.BinderException as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("platform", PLATFORMS)
def test_staging_reads_every_column_of_the_platforms_records(staged: Path, platform: str) -> None:
    con = duckdb.connect(str(staged / "warehouse.duckdb"), read_only=True)
    try:
        for entity in get_platform(platform).fields:
            view = f"stg_{platform}__{entity}"
            schema = api_schema(entity, platform)
            path = _source_file(staged, entity, platform)
            assert _binds(con, view) is None, view
            unread = []
            try:
                for column in schema.names:
                    pq.write_table(
                        schema.remove(schema.get_field_index(column)).empty_table(), path
                    )
                    error = _binds(con, view)
                    if error is None or column not in error:
                        unread.append(column)
            finally:
                pq.write_table(schema.empty_table(), path)
            assert unread == [], f"{view} does not read the landed columns {unread}"
    finally:
        con.close()
