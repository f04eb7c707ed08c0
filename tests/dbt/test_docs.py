"""dbt docs for BI users: generated from the same project and warehouse (slow: builds a catalog)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pipeline.transform import DbtResult, docs_generate

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_docs_describe_every_published_column(
    built_home: tuple[Path, DbtResult], tmp_path: Path
) -> None:
    home, result = built_home
    assert result.ok, result.failures
    index = docs_generate(home, tmp_path / "dbt_docs")
    assert index.is_file()
    manifest = json.loads((tmp_path / "dbt_docs" / "manifest.json").read_text())
    published = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "model" and "published" in n["tags"]
    ]
    assert len(published) == 11
    for node in published:
        assert node["description"], node["name"]
        assert node["config"]["contract"]["enforced"], node["name"]
        undocumented = [c for c, v in node["columns"].items() if not v["description"]]
        assert undocumented == [], node["name"]
    catalog = json.loads((tmp_path / "dbt_docs" / "catalog.json").read_text())
    assert "model.kol.creator_scorecard" in catalog["nodes"]
