"""The Superset dashboards as code: one dashboard per product question, over the `marts` schema.

Each dataset is a SQL query run by `bi_reader` that joins names in (charts show names, not
ids); a campaign is grouped by its id and labelled "name (id)" because two campaigns may share
a name. `bundle()` renders Superset's import format (the YAML of `superset export`) in memory;
`provision_superset.py` imports it. Plain Python and PyYAML only: it runs in Superset's venv.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

import yaml

NAMESPACE = uuid.UUID("6f1c2a52-4a0e-4c55-9d55-7b0c3f2b6a10")
DATABASE_NAME = "KOL marts (PostgreSQL, bi_reader)"
DATABASE_FILE = "databases/kol_marts.yaml"


def _uuid(kind: str, name: str) -> str:
    """Stable ids: re-provisioning updates the same objects instead of adding copies."""
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{name}"))


@dataclass(frozen=True)
class Dataset:
    name: str
    sql: str
    temporal: tuple[str, ...] = ()


@dataclass(frozen=True)
class Chart:
    title: str
    dataset: Dataset
    viz_type: str
    params: dict[str, Any]
    width: int = 6


@dataclass(frozen=True)
class Filter:
    """A dashboard filter on a column every chart's dataset of the dashboard has."""

    label: str
    column: str
    dataset: Dataset


@dataclass(frozen=True)
class Dashboard:
    title: str
    slug: str
    charts: list[Chart] = field(default_factory=list)
    filters: list[Filter] = field(default_factory=list)


def metric(sql: str, label: str) -> dict[str, Any]:
    return {"expressionType": "SQL", "sqlExpression": sql, "label": label}


PLATFORM_MONTHS = Dataset(
    "platform_months",
    "SELECT month, platform, lag_index, median_engagement_rate, median_follower_growth, "
    "new_creators, active_creators, niche_diversity_index, long_tail_share, avg_sentiment, "
    "median_cpe_usd, authentic_share FROM marts.platform_comparison WHERE tier = 'all'",
    temporal=("month",),
)
CREATOR_SCORES = Dataset(
    "creator_scores",
    "SELECT d.display_name AS creator, s.platform, s.tier, s.followers, "
    "s.er_percentile_in_tier, s.audience_quality_score, s.engagement_rate, "
    "s.follower_growth_30d, s.sentiment_score FROM marts.creator_scorecard s "
    "JOIN marts.dim_creators d ON d.creator_id = s.creator_id",
)
CREATOR_DAILY = Dataset(
    "creator_daily",
    "SELECT f.date, d.display_name || ' (' || f.platform || ')' AS creator_account, "
    "f.platform, s.tier, f.followers FROM marts.fct_creator_daily f "
    "JOIN marts.dim_creators d ON d.creator_id = f.creator_id "
    "LEFT JOIN marts.creator_scorecard s ON s.creator_id = f.creator_id "
    "AND s.platform = f.platform",
    temporal=("date",),
)
CAMPAIGNS = Dataset(
    "campaign_results",
    "SELECT campaign_id, name || ' (' || campaign_id || ')' AS campaign, "
    "COALESCE(brand_name, brand_id) AS brand, "
    "cost_usd, views, engagements, cpm_usd, cpe_usd, emv_usd, revenue_usd, roi "
    "FROM marts.campaign_summary",
)
CAMPAIGN_CREATORS = Dataset(
    "campaign_creator_results",
    "SELECT c.name || ' (' || p.campaign_id || ')' AS campaign, d.display_name AS creator, "
    "p.platform, p.fee, p.fee_currency, p.cost_usd, p.cpm_usd, p.cpe_usd, p.emv_usd, p.roi "
    "FROM marts.fct_campaign_creator_performance p "
    "JOIN marts.campaign_summary c ON c.campaign_id = p.campaign_id "
    "JOIN marts.dim_creators d ON d.creator_id = p.creator_id",
)
BRAND_MATCHES = Dataset(
    "brand_matches",
    "SELECT COALESCE(m.brand_name, m.brand_id) AS brand, m.rank, d.display_name AS creator, "
    "m.platform, m.fit_score, m.scorer, m.predicted_cpe_usd, m.niche_relation, "
    "m.contribution_topic_similarity, m.contribution_niche, m.contribution_country, "
    "m.contribution_engagement, m.contribution_audience_quality, m.contribution_price, "
    "m.topic_similarity, m.country_match, m.audience_quality, m.engagement_percentile, "
    "m.price_efficiency FROM marts.brand_creator_matches m "
    "JOIN marts.dim_creators d ON d.creator_id = m.creator_id",
)


def _table(columns: list[str], order_by: str, descending: bool = True) -> dict[str, Any]:
    return {
        "query_mode": "raw",
        "all_columns": columns,
        "order_by_cols": [f'["{order_by}", {str(not descending).lower()}]'],
        "row_limit": 1000,
        "server_pagination": False,
    }


def _line(x: str, metric_sql: str, label: str, by: str) -> dict[str, Any]:
    return {
        "x_axis": x,
        "time_grain_sqla": None,
        "metrics": [metric(metric_sql, label)],
        "groupby": [by],
        "row_limit": 10000,
        "show_legend": True,
        "rich_tooltip": True,
        "markerEnabled": True,
        "adhoc_filters": [],
    }


def _bar(x: str, metrics: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "x_axis": x,
        "metrics": metrics,
        "groupby": [],
        "row_limit": 10000,
        "show_legend": True,
        "rich_tooltip": True,
        "x_axis_sort_asc": True,
        "adhoc_filters": [],
    }


DASHBOARDS = [
    Dashboard(
        "Is a platform lagging?",
        "platform-lag",
        [
            Chart(
                "lag_index by platform (0 = leads on every measure)",
                PLATFORM_MONTHS,
                "echarts_timeseries_line",
                _line("month", "AVG(lag_index)", "lag_index", "platform"),
                width=12,
            ),
            Chart(
                "The measures behind lag_index, side by side",
                PLATFORM_MONTHS,
                "table",
                _table(
                    [
                        "month",
                        "platform",
                        "lag_index",
                        "median_engagement_rate",
                        "median_follower_growth",
                        "new_creators",
                        "niche_diversity_index",
                        "long_tail_share",
                        "avg_sentiment",
                        "median_cpe_usd",
                    ],
                    "month",
                ),
                width=12,
            ),
            Chart(
                "New voices per month",
                PLATFORM_MONTHS,
                "echarts_timeseries_line",
                _line("month", "SUM(new_creators)", "new creators", "platform"),
            ),
            Chart(
                "Audience sentiment per month",
                PLATFORM_MONTHS,
                "echarts_timeseries_line",
                _line("month", "AVG(avg_sentiment)", "sentiment", "platform"),
            ),
        ],
    ),
    Dashboard(
        "Which creators really perform?",
        "creator-performance",
        [
            Chart(
                "ER percentile in tier vs audience quality",
                CREATOR_SCORES,
                "echarts_timeseries_bar",
                _bar(
                    "creator",
                    [
                        metric("AVG(er_percentile_in_tier)", "ER percentile in tier"),
                        metric("AVG(audience_quality_score)", "audience quality"),
                    ],
                ),
                width=12,
            ),
            Chart(
                "Creators by platform and tier",
                CREATOR_SCORES,
                "table",
                _table(
                    [
                        "creator",
                        "platform",
                        "tier",
                        "followers",
                        "er_percentile_in_tier",
                        "audience_quality_score",
                        "engagement_rate",
                        "follower_growth_30d",
                        "sentiment_score",
                    ],
                    "er_percentile_in_tier",
                ),
                width=12,
            ),
            Chart(
                "Follower trend",
                CREATOR_DAILY,
                "echarts_timeseries_line",
                _line("date", "MAX(followers)", "followers", "creator_account"),
                width=12,
            ),
        ],
        [
            Filter("Platform", "platform", CREATOR_SCORES),
            Filter("Tier", "tier", CREATOR_SCORES),
        ],
    ),
    Dashboard(
        "What did campaigns earn?",
        "campaign-returns",
        [
            Chart(
                "ROI by campaign",
                CAMPAIGNS,
                "echarts_timeseries_bar",
                _bar("campaign", [metric("MAX(roi)", "ROI")]),
            ),
            Chart(
                "Cost, EMV and revenue by campaign (USD)",
                CAMPAIGNS,
                "echarts_timeseries_bar",
                _bar(
                    "campaign",
                    [
                        metric("MAX(cost_usd)", "cost"),
                        metric("MAX(emv_usd)", "EMV"),
                        metric("MAX(revenue_usd)", "revenue"),
                    ],
                ),
            ),
            Chart(
                "Campaigns: CPM, CPE, EMV, ROI",
                CAMPAIGNS,
                "table",
                _table(
                    [
                        "campaign",
                        "cost_usd",
                        "views",
                        "engagements",
                        "cpm_usd",
                        "cpe_usd",
                        "emv_usd",
                        "revenue_usd",
                        "roi",
                    ],
                    "roi",
                ),
                width=12,
            ),
            Chart(
                "By campaign and creator (fee in its currency, cost in USD)",
                CAMPAIGN_CREATORS,
                "table",
                _table(
                    [
                        "campaign",
                        "creator",
                        "platform",
                        "fee",
                        "fee_currency",
                        "cost_usd",
                        "cpm_usd",
                        "cpe_usd",
                        "emv_usd",
                        "roi",
                    ],
                    "roi",
                ),
                width=12,
            ),
        ],
    ),
    Dashboard(
        "Who fits this brand?",
        "brand-fit",
        [
            Chart(
                "Best matches per brand, with their reasons",
                BRAND_MATCHES,
                "table",
                _table(
                    [
                        "brand",
                        "rank",
                        "creator",
                        "platform",
                        "fit_score",
                        "scorer",
                        "predicted_cpe_usd",
                        "niche_relation",
                        "contribution_topic_similarity",
                        "contribution_niche",
                        "contribution_country",
                        "contribution_engagement",
                        "contribution_audience_quality",
                        "contribution_price",
                        "topic_similarity",
                        "country_match",
                        "audience_quality",
                        "engagement_percentile",
                        "price_efficiency",
                    ],
                    "fit_score",
                ),
                width=12,
            ),
            Chart(
                "Fit score by creator",
                BRAND_MATCHES,
                "echarts_timeseries_bar",
                _bar("creator", [metric("MAX(fit_score)", "fit score")]),
                width=12,
            ),
        ],
        [Filter("Brand", "brand", BRAND_MATCHES)],
    ),
]


def bundle(database_uri_without_password: str) -> dict[str, str]:
    """Superset's import bundle (file name -> YAML). The password goes separately."""
    files: dict[str, Any] = {
        "metadata.yaml": {
            "version": "1.0.0",
            "type": "Dashboard",
            "timestamp": "2026-01-01T00:00:00+00:00",
        },
        DATABASE_FILE: {
            "database_name": DATABASE_NAME,
            "sqlalchemy_uri": database_uri_without_password,
            "expose_in_sqllab": True,
            "allow_dml": False,
            "allow_ctas": False,
            "allow_cvas": False,
            "allow_run_async": False,
            "extra": {"allows_virtual_table_explore": True},
            "uuid": _uuid("database", "kol"),
            "version": "1.0.0",
        },
    }
    datasets = {c.dataset.name: c.dataset for d in DASHBOARDS for c in d.charts}
    for ds in datasets.values():
        files[f"datasets/kol_marts/{ds.name}.yaml"] = {
            "table_name": ds.name,
            "schema": "marts",
            "sql": ds.sql,
            "main_dttm_col": ds.temporal[0] if ds.temporal else None,
            "columns": [],
            "metrics": [],
            "uuid": _uuid("dataset", ds.name),
            "database_uuid": _uuid("database", "kol"),
            "version": "1.0.0",
        }
    for dash in DASHBOARDS:
        for chart in dash.charts:
            files[f"charts/{dash.slug}-{_uuid('chart', chart.title)[:8]}.yaml"] = {
                "slice_name": chart.title,
                "viz_type": chart.viz_type,
                "params": {**chart.params, "viz_type": chart.viz_type},
                "query_context": None,
                "cache_timeout": None,
                "uuid": _uuid("chart", chart.title),
                "dataset_uuid": _uuid("dataset", chart.dataset.name),
                "version": "1.0.0",
            }
        files[f"dashboards/{dash.slug}.yaml"] = {
            "dashboard_title": dash.title,
            "slug": dash.slug,
            "description": None,
            "css": "",
            "published": True,
            "position": _position(dash),
            "metadata": {
                "color_scheme": "supersetColors",
                "refresh_frequency": 0,
                "native_filter_configuration": [_filter(dash, f) for f in dash.filters],
            },
            "uuid": _uuid("dashboard", dash.slug),
            "version": "1.0.0",
        }
    return {name: yaml.safe_dump(body, sort_keys=False) for name, body in files.items()}


def _filter(dash: Dashboard, spec: Filter) -> dict[str, Any]:
    """A native select filter over the whole dashboard, nothing selected by default."""
    return {
        "id": f"NATIVE_FILTER-{_uuid('filter', dash.slug + spec.column)[:8]}",
        "name": spec.label,
        "filterType": "filter_select",
        "type": "NATIVE_FILTER",
        "targets": [
            {"datasetUuid": _uuid("dataset", spec.dataset.name), "column": {"name": spec.column}}
        ],
        "controlValues": {
            "enableEmptyFilter": False,
            "multiSelect": True,
            "searchAllOptions": False,
            "inverseSelection": False,
            "defaultToFirstItem": False,
        },
        "defaultDataMask": {"extraFormData": {}, "filterState": {}, "ownState": {}},
        "cascadeParentIds": [],
        "scope": {"rootPath": ["ROOT_ID"], "excluded": []},
        "description": "",
        "chartsInScope": [],
        "tabsInScope": [],
    }


def _position(dash: Dashboard) -> dict[str, Any]:
    """Charts in rows of 12 columns, in the order they are listed."""
    position: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"id": "ROOT_ID", "type": "ROOT", "children": ["GRID_ID"]},
        "GRID_ID": {"id": "GRID_ID", "type": "GRID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"id": "HEADER_ID", "type": "HEADER", "meta": {"text": dash.title}},
    }
    row: list[str] = []
    used = 12
    for i, chart in enumerate(dash.charts):
        if used + chart.width > 12:
            row_id = f"ROW-{i}"
            position[row_id] = {
                "id": row_id,
                "type": "ROW",
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID"],
                "meta": {"background": "BACKGROUND_TRANSPARENT"},
            }
            position["GRID_ID"]["children"].append(row_id)
            row, used = position[row_id]["children"], 0
        chart_id = f"CHART-{i}"
        row.append(chart_id)
        used += chart.width
        position[chart_id] = {
            "id": chart_id,
            "type": "CHART",
            "children": [],
            "parents": ["ROOT_ID", "GRID_ID", f"ROW-{i}" if not row[:-1] else row[0]],
            "meta": {
                "chartId": i + 1,
                "height": 50,
                "width": chart.width,
                "sliceName": chart.title,
                "uuid": _uuid("chart", chart.title),
            },
        }
    return position
