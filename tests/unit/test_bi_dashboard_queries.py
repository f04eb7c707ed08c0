"""The dashboards as code (bi/dashboards.py) against the published marts' contracts: fast, no
Superset. The slow end-to-end check is tests/dbt/test_bi_dashboards.py."""

from __future__ import annotations

import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.published import PUBLISHED_TABLES

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "bi"))

import dashboards  # noqa: E402


@pytest.fixture(scope="module")
def contract_marts() -> duckdb.DuckDBPyConnection:
    """Empty tables with exactly the published marts' contracted columns, as catalog `marts`
    (so `marts.<table>` in the datasets' SQL resolves as it does in PostgreSQL)."""
    con = duckdb.connect()
    con.execute("ATTACH ':memory:' AS marts")
    for path in (REPO / "dbt_project" / "models" / "marts").rglob("*.yml"):
        for model in yaml.safe_load(path.read_text()).get("models", []):
            if model["name"] not in PUBLISHED_TABLES:
                continue
            columns = ", ".join(f'"{c["name"]}" {c["data_type"]}' for c in model["columns"])
            con.execute(f'CREATE TABLE marts."{model["name"]}" ({columns})')
    yield con
    con.close()


def _datasets() -> list[dashboards.Dataset]:
    return list(
        {c.dataset.name: c.dataset for d in dashboards.DASHBOARDS for c in d.charts}.values()
    )


def test_every_dataset_query_reads_only_published_contracted_columns(contract_marts):
    for dataset in _datasets():
        # A renamed or missing column, or a table outside the marts, fails to bind here.
        columns = [d[0] for d in contract_marts.execute(f"{dataset.sql} LIMIT 0").description]
        assert columns, dataset.name
        assert all(c in columns for c in dataset.temporal), dataset.name


def test_charts_show_names_not_ids(contract_marts):
    for dash in dashboards.DASHBOARDS:
        for chart in dash.charts:
            p = chart.params
            shown = [*p.get("all_columns", []), *p.get("groupby", []), p.get("x_axis")]
            ids = [c for c in shown if c and c.endswith("_id")]
            assert ids == [], (dash.title, chart.title, ids)
    # Two campaigns sharing a name stay two bars/rows: the label carries the id.
    contract_marts.execute("BEGIN")
    contract_marts.execute(
        "INSERT INTO marts.campaign_summary (campaign_id, name) VALUES ('c1', 'Spring'), ('c2', 'Spring')"
    )
    labels = contract_marts.execute(
        f"SELECT DISTINCT campaign FROM ({dashboards.CAMPAIGNS.sql}) ORDER BY 1"
    ).fetchall()
    contract_marts.execute("ROLLBACK")
    assert labels == [("Spring (c1)",), ("Spring (c2)",)]


def test_bundle_places_every_chart_once_and_filters_target_their_dataset():
    files = dashboards.bundle("postgresql+psycopg2://bi_reader:XXXXXXXXXX@127.0.0.1:5432/kol")
    assert [d.title for d in dashboards.DASHBOARDS] == [
        "Is a platform lagging?",
        "Which creators really perform?",
        "What did campaigns earn?",
        "Who fits this brand?",
    ]
    charts = {yaml.safe_load(v)["uuid"]: k for k, v in files.items() if k.startswith("charts/")}
    datasets = {yaml.safe_load(v)["uuid"] for k, v in files.items() if k.startswith("datasets/")}
    placed = []
    for name, text in files.items():
        if not name.startswith("dashboards/"):
            continue
        dash = yaml.safe_load(text)
        placed += [
            v["meta"]["uuid"]
            for v in dash["position"].values()
            if isinstance(v, dict) and v.get("type") == "CHART"
        ]
        for native in dash["metadata"]["native_filter_configuration"]:
            assert {t["datasetUuid"] for t in native["targets"]} <= datasets
    assert sorted(placed) == sorted(charts)  # each chart on exactly one dashboard, once
    assert "XXXXXXXXXX" in files[dashboards.DATABASE_FILE]  # the password is never in it
