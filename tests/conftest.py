"""Session-wide test settings: every test gets its own KOL_HOME; no real .env is read."""

from __future__ import annotations

import logging
import os

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
