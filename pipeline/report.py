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
        select platform, creator_id, tier, followers, engagement_rate, audience_quality_score
        from (
          select *, row_number() over (
            partition by platform
            order by er_percentile_in_tier desc nulls last, audience_quality_score desc nulls last,
                     followers desc nulls last, creator_id) as r
          from creator_scorecard
          where tier not in ('emerging', 'unknown')
        ) where r <= {int(per_platform)} order by platform, r
        """,
    )
    return _table(
        ["platform", "creator", "tier", "followers", "engagement rate", "audience quality"],
        [[r[0], r[1], r[2], _fmt(r[3]), _fmt(r[4], pct=True), _fmt(r[5])] for r in rows],
    )


def platform_ranking(db: Path) -> str:
    rows = _query(
        db,
        """
        select platform, lag_index, median_engagement_rate, new_creators, niche_diversity_index,
               avg_sentiment, median_cpe_usd
        from platform_comparison
        where tier = 'all' and month = (select max(month) from platform_comparison)
        order by lag_index nulls last, platform
        """,
    )
    return _table(
        [
            "platform",
            "lag index",
            "median ER",
            "new creators",
            "niche diversity",
            "sentiment",
            "median CPE $",
        ],
        [
            [r[0], _fmt(r[1]), _fmt(r[2], pct=True), _fmt(r[3]), _fmt(r[4]), _fmt(r[5]), _fmt(r[6])]
            for r in rows
        ],
    )


def campaign_roi(db: Path, limit: int = 8) -> str:
    rows = _query(
        db,
        f"""
        select campaign_id, name, cost_usd, revenue_usd, roi, cpe_usd
        from campaign_summary order by roi desc nulls last, campaign_id limit {int(limit)}
        """,
    )
    return _table(
        ["campaign", "name", "cost $", "revenue $", "ROI", "CPE $"],
        [
            [r[0], str(r[1])[:28], _fmt(r[2]), _fmt(r[3]), _fmt(r[4], pct=True), _fmt(r[5])]
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
            "Top creators per platform (ER percentile in tier, then audience quality):",
            top_creators(db),
        ]
        parts += [
            "",
            "Is a platform lagging? (lag_index: 0 leads on every measure, 1 last on every one)",
            platform_ranking(db),
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
    return "\n".join(lines)
