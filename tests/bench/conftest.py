"""The harness package `bench/` sits at the repo root and is not installed (pyproject lists
ingestion, expectations, pipeline): put the root first on sys.path, ahead of this test
folder, which would otherwise be imported as a namespace package also called `bench`."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = str(Path(__file__).resolve().parents[2])
if sys.path[:1] != [ROOT]:
    sys.path.insert(0, ROOT)
if getattr(sys.modules.get("bench"), "__file__", None) is None:  # a namespace stand-in
    sys.modules.pop("bench", None)
