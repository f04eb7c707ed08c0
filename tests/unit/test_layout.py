"""The production path never knows the sandbox exists: only the demo's entry points do."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PRODUCTION = ("ingestion", "pipeline", "expectations", "dags", "dbt_project", "docker")
# `kol demo` / `kol sandbox` and `make airflow` run on the sandbox world by design.
DEMO_ENTRY_POINTS = {"pipeline/demo.py", "pipeline/cli.py", "dags/local_airflow.py"}
IMPORT = re.compile(r"^\s*(from sandbox\b|import sandbox\b)", re.MULTILINE)


def _production_files() -> list[Path]:
    return [
        p
        for folder in PRODUCTION
        for p in (REPO / folder).rglob("*")
        if p.is_file()
        and p.suffix in (".py", ".sql", ".yml", ".yaml", ".json", ".toml", "")
        and "target" not in p.parts
        and "logs" not in p.parts
    ]


def test_no_production_module_imports_the_sandbox():
    offenders = [
        str(p.relative_to(REPO))
        for p in _production_files()
        if p.suffix == ".py"
        and str(p.relative_to(REPO)) not in DEMO_ENTRY_POINTS
        and IMPORT.search(p.read_text(errors="replace"))
    ]
    assert offenders == []


def test_no_production_code_calls_the_sandbox_control_plane():
    offenders = [
        str(p.relative_to(REPO))
        for p in _production_files()
        if str(p.relative_to(REPO)) not in DEMO_ENTRY_POINTS
        and (
            "/_sandbox" in p.read_text(errors="replace")
            or "x-sandbox" in p.read_text(errors="replace").lower()
        )
    ]
    assert offenders == []


def test_no_module_is_named_for_no_job():
    vague = {"utils", "util", "helpers", "helper", "support", "misc", "common"}
    names = [
        p.relative_to(REPO)
        for folder in (*PRODUCTION, "sandbox", "bench")
        for p in (REPO / folder).rglob("*.py")
        if any(
            part in vague or part.removesuffix(".py") in vague for part in p.relative_to(REPO).parts
        )
        or any(v in p.stem.split("_") for v in vague)
    ]
    assert names == []
