"""Export staging reads the latest landed snapshot up to D, never a later or rejected one."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from dbt_landing_fixture import write_export

from pipeline.transform import run_dbt

D = date(2026, 11, 24)


def _brand(name: str) -> list[dict]:
    return [{"brand_id": "b1", "name": name, "category": "beauty", "target_countries": ["US"]}]


def _brands(home: Path) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(
            "select brand_id, brand_name, landing_date from stg_exports__brands"
        ).fetchall()


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """brands exported on D-2, D-1, D and D+1, each under another name."""
    home = tmp_path_factory.mktemp("exports_home")
    for days, name in ((-2, "Two days before"), (-1, "Day before"), (0, "On D"), (1, "After D")):
        write_export(home, "brands", D + timedelta(days=days), _brand(name))
    return home


def _build(home: Path, **kwargs) -> None:
    result = run_dbt(home, D, select="stg_exports__brands", unit_tests=False, **kwargs)
    assert result.ok, result.failures


def test_the_latest_snapshot_up_to_d_is_read_and_a_later_one_is_not(home: Path) -> None:
    _build(home)
    assert _brands(home) == [("b1", "On D", D)]


def test_a_rejected_landing_date_falls_back_to_the_snapshot_before_it(home: Path) -> None:
    _build(home, excluded_dates=[D, D - timedelta(days=1)])
    assert _brands(home) == [("b1", "Two days before", D - timedelta(days=2))]


def test_a_new_snapshot_is_picked_up_by_the_next_build(home: Path) -> None:
    # the view names its date when built: the next build must see a snapshot landed since
    write_export(home, "brands", D, _brand("Re-exported on D"))
    _build(home)
    assert _brands(home) == [("b1", "Re-exported on D", D)]
