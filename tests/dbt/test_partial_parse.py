"""A daily build with a new run date keeps dbt's partial parse (the dates reach dbt through the
environment, read only while executing: macros/dates.sql), and still builds as of that date."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from dbt_landing_fixture import D, build_landing

from pipeline.transform import run_dbt

pytestmark = pytest.mark.integration


def parse_messages(home: Path) -> list[str]:
    """dbt's parsing messages of the last invocation in the home's log."""
    lines = [json.loads(x) for x in (home / "dbt/logs/dbt.log").read_text().splitlines() if x]
    last = lines[-1]["info"]["invocation_id"]
    return [
        x["info"]["msg"]
        for x in lines
        if x["info"]["invocation_id"] == last and "pars" in x["info"]["msg"].lower()
    ]


def test_a_new_run_date_does_not_reparse_the_project(tmp_path: Path) -> None:
    home = tmp_path / "home"
    build_landing(home)
    model = "stg_tiktok__posts"
    for day in (D - timedelta(days=1), D):
        result = run_dbt(home, day, select=model, unit_tests=False, exclude="resource_type:test")
        assert result.ok, result.failures
    messages = parse_messages(home)
    assert not [m for m in messages if m.startswith("Unable to do partial parsing")], messages
    assert any("skipping" in m for m in messages), messages
    # and the view was built as of D: it holds D's landing, which the build as of D-1 left out
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    latest = con.execute(f"select max(landing_date) from {model}").fetchone()[0]
    con.close()
    assert latest == D


def test_a_moved_project_folder_does_not_reuse_the_old_folders_parse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A checkout deployed to a new folder (the old one gone) builds: dbt's partial-parse cache
    names the old folder's files (a seed is read from its absolute path), so it is dropped."""
    import shutil

    from pipeline import transform

    home = tmp_path / "home"
    build_landing(home)
    ignore = shutil.ignore_patterns("target", "logs")
    source, releases = transform.PROJECT_DIR, []
    for name in ("release-1", "release-2"):
        project = tmp_path / name / "dbt_project"
        shutil.copytree(source, project, ignore=ignore)
        releases.append(project)
        monkeypatch.setattr(transform, "PROJECT_DIR", project)
        result = run_dbt(home, D, select="tier_thresholds", unit_tests=False)
        assert result.ok, result.failures
        shutil.rmtree(project.parent)  # the previous release is gone before the next runs
    marker = home / "dbt/target" / transform.PARSED_PROJECT_FILE
    assert marker.read_text() == str(releases[-1].resolve())
