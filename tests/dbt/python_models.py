"""Load a dbt Python model's file as a module, to test its functions on real DuckDB/pandas."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

MODELS = Path(__file__).parents[2] / "dbt_project/models/intermediate"
# what profiles.yml `module_paths` puts on dbt's sys.path for the Python models
MODULES = Path(__file__).parents[2] / "dbt_project/python"


def load_model(name: str) -> ModuleType:
    if str(MODULES) not in sys.path:
        sys.path.insert(0, str(MODULES))
    spec = importlib.util.spec_from_file_location(name, MODELS / f"{name}.py")
    assert spec is not None and spec.loader is not None, f"no dbt Python model {name}"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
