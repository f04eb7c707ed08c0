"""Session-wide test settings: every test gets its own KOL_HOME; no real .env is read."""

from __future__ import annotations

import logging
import os
import shutil
from pathlib import Path

import pytest

# GX logs thousands of "Skipping registering function" lines when imported after Airflow.
logging.getLogger("great_expectations").setLevel(logging.ERROR)
os.environ.setdefault("GX_ANALYTICS_ENABLED", "False")
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")


@pytest.fixture
def kol_home(tmp_path, monkeypatch):
    """A fresh KOL_HOME, with every KOL_* variable of the developer's shell removed."""
    for k in list(os.environ):
        if k.startswith("KOL_"):
            monkeypatch.delenv(k, raising=False)
    home = tmp_path / "kol"
    monkeypatch.setenv("KOL_HOME", str(home))
    return home


ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"


@pytest.fixture
def artifacts(request) -> Path:
    """Where a test keeps what a person may want to look at afterwards (screenshots, rendered
    pages): test-artifacts/<test file>/<test>/ in the repository, git-ignored, replaced on
    each run of the test."""
    folder = ARTIFACTS / Path(request.node.path).stem / request.node.name
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    return folder
