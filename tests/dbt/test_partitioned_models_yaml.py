"""A model Spark partitions by a date names each of its columns in its YAML, in its SQL's order.

Spark stores a partitioned table's partition column last; the hand-over to DuckDB and
columns_except put the columns back in the YAML's order (macros/portable.sql
model_column_names), so that order must be the one the model's SQL selects, which the DuckDB
build shows. Checked for every model configured with incremental_by_date, built or not on Spark.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.transform import PROJECT_DIR, DbtResult

pytestmark = pytest.mark.integration


def _by_date_models() -> dict[str, Path]:
    return {
        sql.stem: sql.with_suffix(".yml")
        for sql in (PROJECT_DIR / "models").rglob("*.sql")
        if "incremental_by_date(" in sql.read_text()
    }


def test_every_partitioned_model_declares_its_columns_in_sql_order(
    built_home: tuple[Path, DbtResult],
) -> None:
    home, result = built_home
    assert result.ok, result.failures
    models = _by_date_models()
    assert {"int_account_snapshots_unioned", "fct_creator_daily"} <= set(models), models
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        for model, yml in models.items():
            built = [r[0] for r in con.execute(f'describe "{model}"').fetchall()]
            spec = next(m for m in yaml.safe_load(yml.read_text())["models"] if m["name"] == model)
            declared = [c["name"] for c in spec.get("columns", []) if c["name"] in built]
            assert declared == built, (model, declared, built)
