"""Rules the numbers themselves must keep, counted in DuckDB on the warehouse the gate checks.

Each invariant is one SQL count of the rows breaking it (0 = kept); the gate turns the counts
into expectations (suites.invariants_check), so a break names the table, column and rule:
- every numeric value of a published mart is finite (no inf, no NaN);
- an Instagram post's insights never fall to NULL or drop while they were not re-fetched (a
  metric not asked keeps its last observed value: only the platform's own answer may lower it);
- a ratio's numerator and denominator cover the same rows (campaign CPM/CPV/CTR only over
  views known on every post of the row; campaign_summary's CPM/CPE recomputed from its rows);
- no percentile from a peer group smaller than the seed percentile_min_peers, and the group
  size published beside it is the real one.
An invariant whose tables or columns are absent is skipped (the schema suite reports them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import duckdb

from pipeline.published import PUBLISHED_TABLES

FLOAT_TYPES = {"DOUBLE", "FLOAT", "REAL"}


@dataclass(frozen=True)
class Invariant:
    """A rule and the SQL counting its breaks (parameters: `?` = the run date, where used).

    A rule on single rows of one table gives `row_condition` instead of `sql`: the conditions
    of one table are counted in one scan."""

    name: str
    table: str
    column: str
    description: str
    sql: str
    needs: Mapping[str, tuple[str, ...]]
    uses_run_date: bool = False
    row_condition: str = ""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def finite_invariants(column_types: Mapping[str, Mapping[str, str]]) -> list[Invariant]:
    """Every float column of every published mart holds no inf and no NaN."""
    out = []
    for table in PUBLISHED_TABLES:
        for column, dtype in column_types.get(table, {}).items():
            if dtype.upper() in FLOAT_TYPES:
                out.append(
                    Invariant(
                        name=f"{table}__{column}__not_finite",
                        table=table,
                        column=column,
                        description=f"{table}.{column} is finite (no inf, no NaN).",
                        sql="",
                        needs={table: (column,)},
                        row_condition=f"isinf({_q(column)}) or isnan({_q(column)})",
                    )
                )
    return out


INSIGHTS = ("views", "reach", "saves", "shares")

RULES: tuple[Invariant, ...] = (
    Invariant(
        name="int_post_metrics_daily__instagram_insights_lost_without_the_platform",
        table="int_post_metrics_daily",
        column=",".join(INSIGHTS),
        description=(
            "No Instagram post of the run date has views, reach, saves or shares NULL, or lower "
            "than on its previous snapshot, unless the platform answered so that day "
            "(insights_as_of = the run date)."
        ),
        sql="""
            select count(*)
            from int_post_metrics_daily as today
            inner join int_post_metrics_daily as before
                on today.platform = before.platform
                and today.post_id = before.post_id
                and before.snapshot_date = today.previous_snapshot_date
            where today.snapshot_date = ?
                and today.platform = 'instagram'
                and today.insights_as_of is distinct from today.snapshot_date
                and ("""
        + " or ".join(
            f"(before.{m} is not null and (today.{m} is null or today.{m} < before.{m}))"
            for m in INSIGHTS
        )
        + ")",
        needs={
            "int_post_metrics_daily": (
                "platform",
                "post_id",
                "snapshot_date",
                "previous_snapshot_date",
                "insights_as_of",
                *INSIGHTS,
            )
        },
        uses_run_date=True,
    ),
    Invariant(
        name="fct_campaign_creator_performance__ratio_over_uncovered_rows",
        table="fct_campaign_creator_performance",
        column="cpm_usd,cpv_usd,ctr,cpe_usd",
        description=(
            "cpm_usd, cpv_usd and ctr are set only where views cover every attributed post "
            "(views_cost_coverage = 1), cpe_usd only where engagements do."
        ),
        sql="""
            select count(*) from fct_campaign_creator_performance
            where ((cpm_usd is not null or cpv_usd is not null or ctr is not null)
                   and views_cost_coverage is distinct from 1)
               or (cpe_usd is not null and engagements_cost_coverage is distinct from 1)
        """,
        needs={
            "fct_campaign_creator_performance": (
                "cpm_usd",
                "cpv_usd",
                "ctr",
                "cpe_usd",
                "views_cost_coverage",
                "engagements_cost_coverage",
            )
        },
    ),
    Invariant(
        name="campaign_summary__ratio_not_over_the_same_rows",
        table="campaign_summary",
        column="cpm_usd,cpe_usd",
        description=(
            "campaign_summary.cpm_usd = cost / views x 1000 and cpe_usd = cost / engagements "
            "over the same creator rows (those whose views, engagements cover their posts)."
        ),
        sql="""
            with priced as (
                select
                    campaign_id,
                    sum(cost_usd) filter (where views_cost_coverage = 1)
                        / nullif(sum(views) filter (where views_cost_coverage = 1), 0) * 1000 as cpm,
                    sum(cost_usd) filter (where engagements_cost_coverage = 1)
                        / nullif(sum(engagements) filter (where engagements_cost_coverage = 1), 0)
                        as cpe
                from fct_campaign_creator_performance
                group by campaign_id
            )
            select count(*)
            from campaign_summary as s
            left join priced as p on s.campaign_id = p.campaign_id
            where (s.cpm_usd is null) != (p.cpm is null)
               or abs(s.cpm_usd - p.cpm) > 1e-9 * greatest(1, abs(p.cpm))
               or (s.cpe_usd is null) != (p.cpe is null)
               or abs(s.cpe_usd - p.cpe) > 1e-9 * greatest(1, abs(p.cpe))
        """,
        needs={
            "campaign_summary": ("campaign_id", "cpm_usd", "cpe_usd"),
            "fct_campaign_creator_performance": (
                "campaign_id",
                "cost_usd",
                "views",
                "engagements",
                "views_cost_coverage",
                "engagements_cost_coverage",
            ),
        },
    ),
    Invariant(
        name="creator_scorecard__percentile_from_a_small_group",
        table="creator_scorecard",
        column="er_percentile_in_tier",
        description=(
            "er_percentile_in_tier is NULL when its platform x tier group has fewer accounts "
            "with an engagement_rate than percentile_min_peers says, and er_percentile_peers "
            "is that group's real size."
        ),
        sql="""
            with groups as (
                select
                    er_percentile_in_tier,
                    er_percentile_peers,
                    count(engagement_rate) over (partition by platform, tier) as peers
                from creator_scorecard
            )
            select count(*) from groups
            where er_percentile_peers is distinct from peers
               or (er_percentile_in_tier is not null and peers < (
                   select min_peers from percentile_min_peers
                   where percentile = 'er_percentile_in_tier'))
        """,
        needs={
            "creator_scorecard": (
                "platform",
                "tier",
                "engagement_rate",
                "er_percentile_in_tier",
                "er_percentile_peers",
            ),
            "percentile_min_peers": ("percentile", "min_peers"),
        },
    ),
    Invariant(
        name="brand_creator_matches__percentile_from_a_small_group",
        table="brand_creator_matches",
        column="price_efficiency",
        description=(
            "price_efficiency is NULL when fewer accounts of the platform have a past CPE than "
            "percentile_min_peers says."
        ),
        sql="""
            select count(*) from brand_creator_matches
            where price_efficiency is not null and price_efficiency_peers < (
                select min_peers from percentile_min_peers where percentile = 'price_efficiency')
        """,
        needs={
            "brand_creator_matches": ("price_efficiency", "price_efficiency_peers"),
            "percentile_min_peers": ("percentile", "min_peers"),
        },
    ),
)


def measure(
    con: duckdb.DuckDBPyConnection, run_date: date, published_types: Mapping[str, Mapping[str, str]]
) -> list[tuple[Invariant, int]]:
    """Each applicable invariant with its count of breaking rows."""
    present: dict[str, set[str]] = {}
    for table, column in con.execute(
        "select table_name, column_name from information_schema.columns where table_schema = 'main'"
    ).fetchall():
        present.setdefault(table, set()).add(column)
    rules = [
        rule
        for rule in [*finite_invariants(published_types), *RULES]
        if all(set(cols) <= present.get(t, set()) for t, cols in rule.needs.items())
    ]
    counts: dict[str, int] = {}
    by_table: dict[str, list[Invariant]] = {}
    for rule in rules:
        if rule.row_condition:
            by_table.setdefault(rule.table, []).append(rule)
        else:
            params = [run_date] if rule.uses_run_date else []
            counts[rule.name] = int(con.execute(rule.sql, params).fetchone()[0])
    for table, row_rules in by_table.items():
        filters = ", ".join(f"count(*) filter (where {r.row_condition})" for r in row_rules)
        values = con.execute(f"select {filters} from {_q(table)}").fetchone()
        counts.update({r.name: int(v) for r, v in zip(row_rules, values, strict=True)})
    return [(rule, counts[rule.name]) for rule in rules]
