"""dbt docs for BI users: generated from the same project and warehouse (slow: builds a catalog)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from headless_chromium import render

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


def test_docs_page_opens_from_the_file_system_offline(
    built_home: tuple[Path, DbtResult], tmp_path: Path, artifacts: Path
) -> None:
    # One self-contained page: the browser renders the model tree and a model's columns from
    # file:// with the network off (dbt's plain index.html fetches its JSON, which file:// refuses).
    home, _ = built_home
    index = docs_generate(home, tmp_path / "dbt_docs")
    overview = render(index.as_uri(), artifacts, "dbt_docs", budget_ms=15000)
    assert "creator_scorecard" in overview.visible_text()  # the tree, drawn by the app
    model = render(
        f"{index.as_uri()}#!/model/model.kol.creator_scorecard",
        artifacts,
        "dbt_docs_creator_scorecard",
        budget_ms=15000,
    )
    text = model.visible_text()
    assert "er_percentile_in_tier" in text and "Columns" in text
    assert model.screenshot.stat().st_size > 20_000
