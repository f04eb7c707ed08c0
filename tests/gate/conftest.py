"""Fixtures of the gate tests: clean warehouses built once per session (see gate_world)."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from gate_world import RUN_DATE, build_warehouse


@pytest.fixture(scope="session")
def clean_warehouses(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two clean consecutive days: the published baseline (D-1) and today's build (D)."""
    root = tmp_path_factory.mktemp("warehouses")
    return {
        "previous": build_warehouse(root / "previous.duckdb", RUN_DATE - timedelta(days=1)),
        "today": build_warehouse(root / "today.duckdb", RUN_DATE),
    }


@pytest.fixture
def warehouse_copy(clean_warehouses: dict[str, Path], tmp_path: Path):
    """A writable copy of today's clean warehouse, for a test to break."""

    def _copy(name: str = "today") -> Path:
        target = tmp_path / f"{name}-copy.duckdb"
        shutil.copyfile(clean_warehouses[name], target)
        return target

    return _copy
