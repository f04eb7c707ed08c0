"""Session fixture: the hand-made landing of dbt_landing_fixture.py built once by real dbt."""

from __future__ import annotations

from pathlib import Path

import pytest
from dbt_landing_fixture import D, build_landing

from pipeline.transform import DbtResult, run_dbt


@pytest.fixture(scope="session")
def built_home(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, DbtResult]:
    """The fixture landed and ONE real `dbt build` (models, data tests, unit tests) as of D."""
    home = tmp_path_factory.mktemp("kol_home")
    build_landing(home)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("KOL_DBT_THREADS", "2")
        result = run_dbt(home, D, full_refresh=True)
    return home, result
