"""The published marts, read from their dbt contracts: the public interface BI users rely on.

Every model under `dbt_project/models/marts/` is published. Its YAML beside it holds the
contract (`contract: {enforced: true}`, each column's name and `data_type`), so the schema is
written once, in dbt: the gate checks the built tables against these columns and the publisher
copies these tables. Reading the YAML (not dbt's manifest) needs no dbt run first.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from pipeline.transform import PROJECT_DIR

MARTS_DIR = PROJECT_DIR / "models" / "marts"


class ContractError(ValueError):
    """A mart's YAML does not hold an enforced contract with a data type for every column."""


def read_contracts(marts_dir: Path = MARTS_DIR) -> dict[str, dict[str, str]]:
    """{mart: {column: dbt data_type}} of every model under `marts_dir`, in file order."""
    contracts: dict[str, dict[str, str]] = {}
    for path in sorted(marts_dir.rglob("*.yml")):
        for model in (yaml.safe_load(path.read_text()) or {}).get("models") or []:
            name = model["name"]
            if not ((model.get("config") or {}).get("contract") or {}).get("enforced"):
                raise ContractError(f"{path}: {name} is published but has no enforced contract")
            columns = {c["name"]: c.get("data_type") for c in model.get("columns") or []}
            untyped = [c for c, t in columns.items() if not t]
            if not columns or untyped:
                raise ContractError(f"{path}: {name} columns without a data_type: {untyped}")
            contracts[name] = columns
    return contracts


PUBLISHED_SCHEMA: dict[str, dict[str, str]] = read_contracts()
PUBLISHED_TABLES: tuple[str, ...] = tuple(PUBLISHED_SCHEMA)
