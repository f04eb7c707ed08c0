"""Fixtures of the reliability suite: one sandbox world, and full `kol run`s built once.

The slow fixtures run the real product end to end (`kol run` in a subprocess: extract, dbt,
GX gate, publish) on a 6-creator world; tests that change state work on copies of the
published home, so each full run is paid once per session.
"""

from __future__ import annotations

import shutil
import sys
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from rel_harness import (
    D,
    KolWorld,
    file_sha256,
    full_run,
    marts_fingerprint,
    serving_checksum,
)


@pytest.fixture(scope="session")
def kol_world(tmp_path_factory: pytest.TempPathFactory):
    """The sandbox serving the test world; its token is unique to this session."""
    world = KolWorld(tmp_path_factory.mktemp("rel-world"), token=f"tok-rel-{uuid.uuid4().hex}")
    world.start()
    yield world
    world.stop()


@pytest.fixture(scope="session")
def daily_home(kol_world: KolWorld, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Two daily runs (D-1, D) published into one KOL_HOME: the last good state."""
    home = tmp_path_factory.mktemp("daily") / "kol"
    runs, fingerprints = {}, {}
    for day in (D - timedelta(days=1), D):
        run = full_run(kol_world, home, day)
        assert run["returncode"] == 0, run["stderr"][-4000:]
        runs[day] = run
        fingerprints[day] = marts_fingerprint(home / "serving" / "marts.duckdb")
    return {
        "home": home,
        "runs": runs,
        "fingerprints": fingerprints,
        "checksum": serving_checksum(home),
        "sha256": file_sha256(home / "serving" / "marts.duckdb"),
    }


@pytest.fixture
def published_copy(daily_home: dict[str, Any], tmp_path: Path) -> Path:
    """A private copy of the published home, for a test to crash or break."""
    home = tmp_path / "kol"
    shutil.copytree(daily_home["home"], home, symlinks=True)
    (home / ".run.lock").unlink(missing_ok=True)
    return home
