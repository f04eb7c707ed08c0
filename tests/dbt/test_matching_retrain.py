"""int_matching_model_trained in real dbt: an incremental build keeps the stored model while
the training set's fingerprint is the same, and retrains (to what a full build writes) when
it is not."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from dbt_landing_fixture import D, build_landing

from pipeline.transform import run_dbt

pytestmark = pytest.mark.integration

MODEL = "int_matching_model_trained"


def _row(home: Path) -> tuple:
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        return con.execute(f"select * from {MODEL}").fetchall()
    finally:
        con.close()


def _set(home: Path, assignment: str) -> None:
    con = duckdb.connect(str(home / "warehouse.duckdb"))
    try:
        con.execute(f"update {MODEL} set {assignment}")
    finally:
        con.close()


def test_the_model_retrains_only_when_its_training_set_changed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    build_landing(home)
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "empty")  # models only
    result = run_dbt(home, D, select=f"+{MODEL}", full_refresh=True, unit_tests=False)
    assert result.ok, result.failures
    built = _row(home)
    assert len(built) == 1 and built[0][0] == "brand_creator_matching"

    # same training set: the stored row is kept as it is (a retrain would overwrite the mark)
    _set(home, "train_rmse_log_cpe = -1")
    assert run_dbt(home, D, select=MODEL, unit_tests=False).ok
    assert [r[7] for r in _row(home)] == [-1]

    # another fingerprint stored (as after a change of the training set): retrained, to the
    # row the full build wrote
    _set(home, "training_fingerprint = 'stale'")
    assert run_dbt(home, D, select=MODEL, unit_tests=False).ok
    assert _row(home) == built
