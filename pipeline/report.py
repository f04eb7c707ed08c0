"""What a person reads: the demo summary and `kol status`.

Everything here reads the published marts through a read-only DuckDB connection and the run
ledger; nothing here writes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import duckdb

from pipeline import state as run_state
from pipeline.config import Settings
from pipeline.run_ledger import RunSummary


def _query(db: Path, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _fmt(v: Any, pct: bool = False) -> str:
    if v is None:
        return "—"
    if isinstance(v, float):
        return f"{v:.1%}" if pct else f"{v:,.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def _table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True))
    body = ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join(["  " + line, "  " + "-" * len(line), *("  " + b for b in body)])


def top_creators(db: Path, per_platform: int = 3) -> str:
    rows = _query(
        db,
        f"""
        select platform, coalesce(display_name, creator_id), tier, followers, engagement_rate,
               audience_quality_score, follower_growth_7d, engagement_trend
        from (
          select s.*, c.display_name, row_number() over (
            partition by s.platform
            order by s.er_percentile_in_tier desc nulls last,
                     s.audience_quality_score desc nulls last,
                     s.followers desc nulls last, s.creator_id) as r
          from creator_scorecard as s
          left join dim_creators as c on s.creator_id = c.creator_id
          where s.tier not in ('emerging', 'unknown')
        ) where r <= {int(per_platform)} order by platform, r
        """,
    )
    return _table(
        [
            "platform",
            "creator",
            "tier",
            "followers",
            "engagement rate",
            "audience quality",
            "growth 7d",
            "ER trend /wk",
        ],
        [
            [
                r[0],
                str(r[1])[:24],
                r[2],
                _fmt(r[3]),
                _fmt(r[4], pct=True),
                _fmt(r[5]),
                _fmt(r[6], pct=True),
                _trend(r[7]),
            ]
            for r in rows
        ],
    )


def coverage(db: Path) -> str:
    """How fresh each platform's accounts are as of D: refreshed on D, older (deferred by the
    quota plan or failed: their metrics are as of data_as_of), never extracted."""
    rows = _query(
        db,
        """
        with d as (select max(as_of_date) as as_of from creator_scorecard)
        select a.platform, count(*),
               count(*) filter (where a.data_as_of = d.as_of),
               count(*) filter (where a.data_as_of < d.as_of),
               count(*) filter (where a.data_as_of is null),
               min(a.data_as_of)
        from dim_creator_accounts as a, d
        group by a.platform order by a.platform
        """,
    )
    return _table(
        ["platform", "accounts", "refreshed on D", "older", "never", "oldest data"],
        [[r[0], _fmt(r[1]), _fmt(r[2]), _fmt(r[3]), _fmt(r[4]), str(r[5] or "—")] for r in rows],
    )


def _trend(v: float | None) -> str:
    """An engagement-rate slope per week, in percentage points."""
    return "—" if v is None else f"{v * 100:+.2f} pp"


def ranking_month(db: Path) -> tuple[Any, bool] | None:
    """(month, complete?) the platform ranking shows: the latest month that ended by the marts'
    as-of date, else the current one, which is partial."""
    rows = _query(
        db,
        """
        with d as (select max(as_of_date) as as_of from creator_scorecard)
        select max(month) filter (where last_day(month) <= d.as_of), max(month)
        from platform_comparison, d
        group by d.as_of
        """,
    )
    if not rows or rows[0][1] is None:
        return None
    complete, latest = rows[0]
    return (complete, True) if complete is not None else (latest, False)


def platform_ranking(db: Path, month: Any) -> str:
    con = duckdb.connect(str(db), read_only=True)
    try:
        rows = con.execute(
            """
            select platform, lag_index, median_engagement_rate, new_creators,
                   niche_diversity_index, avg_sentiment, median_cpe_usd,
                   median_follower_growth_7d, median_engagement_trend
            from platform_comparison
            where tier = 'all' and month = ?
            order by lag_index nulls last, platform
            """,
            [month],
        ).fetchall()
    finally:
        con.close()
    return _table(
        [
            "platform",
            "lag index",
            "median ER",
            "new creators",
            "niche diversity",
            "sentiment",
            "median CPE $",
            "growth 7d",
            "ER trend /wk",
        ],
        [
            [
                r[0],
                _fmt(r[1]),
                _fmt(r[2], pct=True),
                _fmt(r[3]),
                _fmt(r[4]),
                _fmt(r[5]),
                _fmt(r[6]),
                _fmt(r[7], pct=True),
                _trend(r[8]),
            ]
            for r in rows
        ],
    )


def campaign_roi(db: Path, limit: int = 8) -> str:
    # a name two campaigns share is told apart by the campaign's hashtag
    rows = _query(
        db,
        f"""
        select campaign_id,
               case when count(*) over (partition by name) > 1
                    then name || ' #' || coalesce(hashtag, campaign_id) else name end,
               cost_usd, revenue_usd, roi, cpe_usd, cpm_usd, views_cost_coverage
        from campaign_summary order by roi desc nulls last, campaign_id limit {int(limit)}
        """,
    )
    return _table(
        ["campaign", "name", "cost $", "revenue $", "ROI", "CPE $", "CPM $", "cost with views"],
        [
            [
                r[0],
                str(r[1])[:40],
                _fmt(r[2]),
                _fmt(r[3]),
                _fmt(r[4], pct=True),
                _fmt(r[5]),
                _fmt(r[6]),
                _fmt(r[7], pct=True),
            ]
            for r in rows
        ],
    )


def demo_summary(settings: Settings, last: RunSummary | None) -> str:
    db = settings.serving / "marts.duckdb"
    parts = [
        "",
        "KOL warehouse demo — published marts as of " + (str(last.run_date) if last else "?"),
        "",
    ]
    if last:
        parts.append(
            f"Last run {last.run_id}: {last.status} (gate: {last.stages.get('gate', '—')}) — {last.message}"
        )
        parts.append(
            "Rows per mart: " + ", ".join(f"{k} {v:,}" for k, v in sorted(last.marts.items()))
        )
    if db.exists():
        parts += [
            "",
            "Coverage (data_as_of: when each account's data was last refreshed):",
            coverage(db),
            "",
            "Top creators per platform (ER percentile in tier, then audience quality):",
            top_creators(db),
        ]
        shown = ranking_month(db)
        if shown is not None:
            month, complete = shown
            label = f"{month:%B %Y}" + ("" if complete else " (partial: the month is not over)")
            parts += [
                "",
                f"Is a platform lagging in {label}? "
                "(lag_index: 0 leads on every measure, 1 last on every one)",
                platform_ranking(db, month),
            ]
        parts += ["", "Campaign ROI:", campaign_roi(db)]
    parts += [
        "",
        "Where things are:",
        f"  marts (DuckDB, read-only for BI): {db}",
        f"  marts (Parquet):                  {settings.serving / 'parquet'}",
        f"  quality gate report (offline):    {settings.quality / 'data_docs' / 'gate_runs.html'}",
        f"  quality gate Data Docs (GX):      {settings.quality / 'data_docs' / 'index.html'}",
        f"  dbt docs:                         {settings.quality / 'dbt_docs' / 'index.html'}",
        f"  run ledger:                       {settings.quality / 'ledger'}  (kol status)",
    ]
    return "\n".join(parts)


def status_text(settings: Settings, run_id: str | None = None, limit: int = 10) -> str:
    from expectations import ledger

    if run_id:
        row = ledger.get(settings.quality, run_id)
        if row is None:
            raise run_state.StepFailed(
                f"no run {run_id!r} in {settings.quality / 'ledger'}; `kol status` lists runs"
            )
        return ledger.format_run(row)
    rows = ledger.read(settings.quality)[-limit:]
    state = run_state.read_state(settings)
    pub = state.get("published") or {}
    lines = [f"KOL_HOME {settings.home}"]
    if pub:
        lines.append(
            f"published: marts as of {pub.get('run_date')} at {pub.get('at')} (checksum {str(pub.get('checksum'))[:12]})"
        )
    else:
        lines.append("published: nothing yet")
    excluded = run_state.excluded_dates(settings)
    if excluded:
        lines.append(
            "rejected days left out of builds: "
            + ", ".join(map(str, excluded))
            + " (kol accept --date D)"
        )
    lines.append("")
    lines.append(ledger.format_runs(rows) if rows else "no runs yet: try `kol demo` or `kol run`")
    if rows and rows[-1].quota_used:
        lines += [
            "",
            f"quota used by run {rows[-1].run_id}:",
            ledger.format_quota(rows[-1].quota_used),
        ]
    return "\n".join(lines)


DAYS_AT_DEFAULT_QUOTA = ("tiktok", "x")  # the platforms whose default quota is far below a roster


def plan_text(settings: Settings, run_date: Any, plans: dict[str, Any], shown: int = 10) -> str:
    """`kol plan`: per platform the accounts, what a full refresh needs, the day's budget,
    who refreshes and who waits, and the days a budget needs for the whole roster."""
    from ingestion.quota import RESETS, QuotaSettings, daily_budget, days_to_cover

    lines = [f"quota plan for {run_date} (KOL_HOME {settings.home})", ""]
    body = []
    for p, plan in plans.items():
        per = ", ".join(f"{c:,.2f} {m}" for m, c in plan.per_account.items())
        body.append(
            [
                p + ("" if settings.platforms[p].enabled else " (no token: skipped)"),
                str(plan.accounts),
                per,
                ", ".join(f"{v:,} {m}" for m, v in plan.full_cost.items()),
                ", ".join(f"{v:,} {m}" for m, v in plan.budget.items()),
                str(len(plan.refresh)),
                str(len(plan.deferred)),
                "never" if plan.days_for_roster is None else str(plan.days_for_roster),
            ]
        )
    lines.append(
        _table(
            [
                "platform",
                "accounts",
                "per account",
                "full refresh",
                "day budget",
                "refresh",
                "defer",
                "days for roster",
            ],
            body,
        )
    )
    for p, plan in plans.items():
        lines += ["", f"{p}: cost per account from the {plan.estimate}; resets {RESETS[p]}"]
        if p in DAYS_AT_DEFAULT_QUOTA:
            budget = daily_budget(p, QuotaSettings(), run_date)
            days = days_to_cover(plan.per_account, budget, plan.accounts)
            lines.append(
                f"  the documented default quota ({', '.join(f'{v:,} {m}' for m, v in budget.items())}"
                f" a day) refreshes all {plan.accounts} accounts in "
                + (
                    "no number of days (one account does not fit)"
                    if days is None
                    else f"{days} day(s)"
                )
            )
        if plan.deferred:
            first = ", ".join(plan.refresh[:shown]) or "none"
            more = f" and {len(plan.refresh) - shown} more" if len(plan.refresh) > shown else ""
            lines.append(f"  refreshes today (priority order): {first}{more}")
            waits = ", ".join(d["account"] for d in plan.deferred[:shown])
            more = f" and {len(plan.deferred) - shown} more" if len(plan.deferred) > shown else ""
            lines.append(f"  deferred: {waits}{more}")
    return "\n".join(lines)
