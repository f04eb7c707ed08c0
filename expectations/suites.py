"""The gate's expectation suites, as code: one per published mart, plus cross-table checks.

Each `Check` is one batch and the GX expectations it must meet. Per-mart suites run on the
mart's own rows (keys, nulls, ranges, accepted values), which the gate copies from DuckDB
straight to a Parquet batch of only the columns the suite checks: a mart never passes
through this process as a whole frame (fct_post_performance holds ~9 M rows at agency's
year). The schema suite runs on a one-row frame of the mart's DuckDB column types; cross-table,
freshness, volume and distribution checks run on small frames computed here (one column per
named check, one row) from the orphans DuckDB counted and the few columns `cross_columns`
lists, so that every rule of the gate appears in the GX results and Data Docs.

Every expectation carries meta {"table", "column"} and a plain-language description, so a
failure names the mart, column and rule without anyone reading code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import great_expectations as gx
import pandas as pd
import pyarrow as pa

from expectations.invariants import Invariant
from expectations.marts import MARTS, RELATIONSHIPS, Mart, relationship_name, type_family
from ingestion.records import PLATFORMS, api_schema

E = gx.expectations


# Columns the cross-table checks read (beyond the relationships' keys and each mart's
# platform column): freshness and distribution. A column used below must be listed here, or
# its check would see a frame without it and skip (tests/gate compares with whole frames).
FRESHNESS_COLUMNS: dict[str, tuple[str, ...]] = {
    "creator_scorecard": ("as_of_date", "platform"),
    "fct_creator_daily": ("date", "platform"),
}
DISTRIBUTION_COLUMNS: tuple[str, ...] = ("platform", "followers", "engagement_rate")


@dataclass
class Check:
    """One GX batch: a suite name, what it validates and its expectations.

    The batch is `frame` (computed here), or, when frame is None, the `columns` of the mart
    `table` as the warehouse holds them (the gate copies them to Parquet in DuckDB)."""

    suite: str
    table: str
    frame: pd.DataFrame | None
    expectations: list[Any] = field(default_factory=list)
    columns: tuple[str, ...] = ()


def cross_columns(table: str) -> tuple[str, ...]:
    """The columns of `table` the cross-table checks need in pandas (the rest stay in DuckDB:
    orphans between marts are counted there, `GateInputs.orphans`)."""
    mart = MARTS[table]
    wanted: list[str] = [mart.platform_column] if mart.platform_column else []
    wanted += FRESHNESS_COLUMNS.get(table, ())
    if table == "creator_scorecard":
        wanted += DISTRIBUTION_COLUMNS
    return tuple(dict.fromkeys(wanted))


@dataclass
class GateInputs:
    """Everything the suites need, read from the warehouse and the previous serving DB.

    frames hold only each mart's `cross_columns` (text as categories); column_types lists
    every column; orphans: rows of a mart pointing to no row of another, per RELATIONSHIPS
    entry (`relationship_name`) whose tables and columns exist, counted in DuckDB."""

    run_date: date
    extracted_platforms: tuple[str, ...]
    frames: dict[str, pd.DataFrame]
    column_types: dict[str, dict[str, str]]
    row_counts: dict[str, int | None]
    previous: dict[str, pd.DataFrame]
    thresholds: dict[str, Any]
    landing_accounts: pd.DataFrame | None = None
    # each invariant of expectations/invariants.py that applies, with its count of breaking rows
    invariants: list[tuple[Invariant, int]] = field(default_factory=list)
    orphans: dict[str, int] = field(default_factory=dict)


def _meta(table: str, column: str | None, **extra: Any) -> dict[str, Any]:
    return {"table": table, "column": column, **extra}


def build_checks(inputs: GateInputs) -> list[Check]:
    """All checks of one gate run, in the order an auditor reads them."""
    checks = [presence_check(inputs)]
    if inputs.frames:
        checks.append(schema_check(inputs))
    checks += [
        mart_check(MARTS[t], list(types), inputs.thresholds)
        for t, types in inputs.column_types.items()
    ]
    optional = [
        landing_accounts_check(inputs),
        integrity_check(inputs),
        freshness_check(inputs),
        volume_check(inputs),
        distribution_check(inputs),
        invariants_check(inputs),
    ]
    return checks + [c for c in optional if c is not None and c.expectations]


def presence_check(inputs: GateInputs) -> Check:
    """Every requested mart exists; roster-level marts are not empty."""
    must_have_rows = set(inputs.thresholds["min_rows"]["tables"])
    reason = inputs.thresholds["min_rows"]["reason"]
    counts = {t: (-1 if n is None else n) for t, n in inputs.row_counts.items()}
    frame = pd.DataFrame([counts])
    expectations = []
    for table in counts:
        minimum = 1 if table in must_have_rows else 0
        what = "exists and has at least one row" if minimum else "exists (-1 = missing)"
        expectations.append(
            E.ExpectColumnValuesToBeBetween(
                column=table,
                min_value=minimum,
                description=f"Mart **{table}** {what}.",
                notes=reason if minimum else None,
                meta=_meta(table, None, check="presence"),
            )
        )
    return Check("warehouse.presence", "*", frame, expectations)


def schema_check(inputs: GateInputs) -> Check:
    """Documented columns are present with their type family (extra columns are fine).

    One frame column per mart, one row per documented column holding "column: family"
    ("column: missing" when absent), so Data Docs lists each wrong or missing column by name.
    """
    listing: dict[str, list[str]] = {}
    expectations = []
    for table, types in inputs.column_types.items():
        mart = MARTS[table]
        listing[table] = [
            f"{c}: {type_family(types[c]) if c in types else 'missing'}" for c in mart.columns
        ]
        allowed = [f"{c}: {fam}" for c, families in mart.columns.items() for fam in families]
        expectations.append(
            E.ExpectColumnValuesToBeInSet(
                column=table,
                value_set=allowed,
                description=(
                    f"{table} has every documented column of docs/metrics.md with its type "
                    "(values read `column: type family`; extra columns are allowed)."
                ),
                meta=_meta(table, None, check="schema"),
            )
        )
    longest = max((len(v) for v in listing.values()), default=0)
    frame = pd.DataFrame({t: v + [None] * (longest - len(v)) for t, v in listing.items()})
    return Check("warehouse.schema", "*", frame, expectations)


def mart_check(mart: Mart, columns: Sequence[str], thresholds: dict[str, Any]) -> Check:
    """Keys unique and not null, required columns, ranges and accepted values of one mart.

    columns: the mart's columns in the warehouse; the batch is the checked ones among them."""
    cols = set(columns)
    out: list[Any] = []
    key = [c for c in mart.key if c in cols]
    for column in dict.fromkeys([*key, *mart.not_null]):
        if column in cols:
            out.append(
                E.ExpectColumnValuesToNotBeNull(
                    column=column,
                    description=f"{mart.name}.{column} is never NULL.",
                    meta=_meta(mart.name, column, check="not_null"),
                )
            )
    if len(key) == 1:
        out.append(
            E.ExpectColumnValuesToBeUnique(
                column=key[0],
                description=f"{mart.name}.{key[0]} is unique (the table's grain).",
                meta=_meta(mart.name, key[0], check="key"),
            )
        )
    elif key:
        out.append(
            E.ExpectCompoundColumnsToBeUnique(
                column_list=key,
                description=f"({', '.join(key)}) is unique in {mart.name} (the table's grain).",
                meta=_meta(mart.name, ",".join(key), check="key"),
            )
        )
    for column, range_name in mart.ranges.items():
        if column in cols:
            out.append(_range(mart.name, column, thresholds["ranges"][range_name], range_name))
    for column, values in mart.accepted.items():
        if column in cols:
            out.append(
                E.ExpectColumnValuesToBeInSet(
                    column=column,
                    value_set=list(values),
                    description=f"{mart.name}.{column} is one of {', '.join(values)}.",
                    meta=_meta(mart.name, column, check="accepted_values"),
                )
            )
    checked = tuple(c for c in mart.checked_columns if c in cols) or tuple(columns)[:1]
    return Check(f"mart.{mart.name}", mart.name, None, out, columns=checked)


def _range(table: str, column: str, bounds: dict[str, Any], name: str) -> Any:
    lo, hi = bounds.get("min"), bounds.get("max")
    span = f"≥ {lo}" if hi is None else (f"≤ {hi}" if lo is None else f"between {lo} and {hi}")
    return E.ExpectColumnValuesToBeBetween(
        column=column,
        min_value=lo,
        max_value=hi,
        description=f"{table}.{column} is {span} when known ({name}).",
        notes=bounds["reason"],
        meta=_meta(table, column, check="range"),
    )


# Count columns of the landed account records: their int64 columns (ingestion/records.py).
LANDING_ACCOUNT_COUNTS: tuple[str, ...] = tuple(
    dict.fromkeys(
        f.name
        for platform in PLATFORMS
        for f in api_schema("accounts", platform)
        if f.type == pa.int64()
    )
)


def landing_accounts_check(inputs: GateInputs) -> Check | None:
    """The landed account records of D (the source of every follower metric) are sane."""
    frame = inputs.landing_accounts
    if frame is None or frame.empty:
        return None
    table = "landing.accounts"
    out: list[Any] = [
        E.ExpectColumnValuesToNotBeNull(
            column=c,
            description=f"Landed account records of {inputs.run_date} always carry {c}.",
            meta=_meta(table, c, check="not_null"),
        )
        for c in ("creator_id", "account_id")
        if c in frame.columns
    ]
    if {"platform", "account_id"} <= set(frame.columns):
        out.append(
            E.ExpectCompoundColumnsToBeUnique(
                column_list=["platform", "account_id"],
                description="One landed record per (platform, account_id) for the run date.",
                meta=_meta(table, "platform,account_id", check="key"),
            )
        )
    if "snapshot_date" in frame.columns:
        out.append(
            E.ExpectColumnValuesToBeInSet(
                column="snapshot_date",
                value_set=[inputs.run_date.isoformat()],
                description=f"Landed account records of dt={inputs.run_date} are as of that date.",
                meta=_meta(table, "snapshot_date", check="freshness"),
            )
        )
    bounds = inputs.thresholds["ranges"]["count"]
    out += [_range(table, c, bounds, "count") for c in LANDING_ACCOUNT_COUNTS if c in frame.columns]
    return Check(table, table, frame, out)


def integrity_check(inputs: GateInputs) -> Check | None:
    """Rows of one mart that point to a missing row of another (orphans) must be zero."""
    values: dict[str, int] = {}
    expectations = []
    for child, child_cols, parent, _ in RELATIONSHIPS:
        name = relationship_name(child, child_cols, parent)
        if name not in inputs.orphans:
            continue  # a table or column missing: presence and schema report it
        values[name] = inputs.orphans[name]
        expectations.append(
            E.ExpectColumnValuesToBeBetween(
                column=name,
                min_value=0,
                max_value=0,
                description=(
                    f"Every {child}.({', '.join(child_cols)}) exists in {parent}: "
                    "count of orphan rows is 0."
                ),
                meta=_meta(child, ",".join(child_cols), check="integrity", parent=parent),
            )
        )
    if not values:
        return None
    return Check("cross.integrity", "*", pd.DataFrame([values]), expectations)


def freshness_check(inputs: GateInputs) -> Check | None:
    """The run date is present: scorecard as of D, and daily rows on D per extracted platform."""
    cfg = inputs.thresholds["freshness"]
    values: dict[str, int] = {}
    expectations = []
    score = inputs.frames.get("creator_scorecard")
    if score is not None and set(FRESHNESS_COLUMNS["creator_scorecard"]) <= set(score.columns):
        as_of = _as_dates(score["as_of_date"])
        extracted = score["platform"].isin(inputs.extracted_platforms)
        name = "creator_scorecard__extracted_rows_not_as_of_run_date"
        values[name] = int((extracted & (as_of != inputs.run_date)).sum())
        expectations.append(
            E.ExpectColumnValuesToBeBetween(
                column=name,
                min_value=0,
                max_value=0,
                description=(
                    "Every creator_scorecard row of a platform extracted this run is as of "
                    f"the run date {inputs.run_date}."
                ),
                notes=cfg["reason"],
                meta=_meta("creator_scorecard", "as_of_date", check="freshness"),
            )
        )
        for platform in inputs.extracted_platforms:
            n = int(((as_of == inputs.run_date) & (score["platform"] == platform)).sum())
            expectations.append(
                _at_least(
                    values,
                    f"creator_scorecard__{platform}__rows_as_of_run_date",
                    n,
                    cfg["scorecard_rows_min"],
                    "creator_scorecard",
                    "as_of_date",
                    f"{platform} (extracted this run) has creator_scorecard rows as of "
                    f"{inputs.run_date}.",
                    cfg["reason"],
                    platform,
                )
            )
    daily = inputs.frames.get("fct_creator_daily")
    if daily is not None and set(FRESHNESS_COLUMNS["fct_creator_daily"]) <= set(daily.columns):
        on_day = _as_dates(daily["date"]) == inputs.run_date
        for platform in inputs.extracted_platforms:
            n = int((on_day & (daily["platform"] == platform)).sum())
            expectations.append(
                _at_least(
                    values,
                    f"fct_creator_daily__{platform}__rows_on_run_date",
                    n,
                    cfg["daily_rows_min"],
                    "fct_creator_daily",
                    "date",
                    f"{platform} (extracted this run) has fct_creator_daily rows dated "
                    f"{inputs.run_date}.",
                    cfg["reason"],
                    platform,
                )
            )
    if not values:
        return None
    return Check("cross.freshness", "*", pd.DataFrame([values]), expectations)


def _at_least(
    values: dict[str, Any],
    name: str,
    value: int,
    minimum: int,
    table: str,
    column: str,
    description: str,
    reason: str,
    platform: str,
) -> Any:
    values[name] = value
    return E.ExpectColumnValuesToBeBetween(
        column=name,
        min_value=minimum,
        description=description,
        notes=reason,
        meta=_meta(table, column, check="freshness", platform=platform),
    )


def volume_check(inputs: GateInputs) -> Check | None:
    """Row counts per extracted platform vs the last published run stay within bounds."""
    if not inputs.previous:
        return None
    values: dict[str, float] = {}
    expectations = []
    for spec in inputs.thresholds["volume"].values():
        for table in spec["tables"]:
            now, before = inputs.frames.get(table), inputs.previous.get(table)
            if now is None or before is None:
                continue
            groups: Sequence[str | None] = (
                inputs.extracted_platforms if MARTS[table].platform_column else (None,)
            )
            for platform in groups:
                n_now, n_before = _rows(now, platform), _rows(before, platform)
                if n_before == 0:
                    continue  # no baseline: the first run of this platform
                scope = f"{table}__{platform}" if platform else table
                name = f"{scope}__rows_vs_previous"
                values[name] = n_now / n_before
                expectations.append(
                    E.ExpectColumnValuesToBeBetween(
                        column=name,
                        min_value=spec["min_ratio"],
                        max_value=spec["max_ratio"],
                        description=(
                            f"{table}{f' ({platform})' if platform else ''}: rows now / rows "
                            f"last published is between {spec['min_ratio']} and "
                            f"{spec['max_ratio']} (now {n_now}, before {n_before})."
                        ),
                        notes=spec["reason"],
                        meta=_meta(
                            table,
                            None,
                            check="volume",
                            platform=platform,
                            rows_now=n_now,
                            rows_before=n_before,
                        ),
                    )
                )
    if not values:
        return None
    return Check("cross.volume", "*", pd.DataFrame([values]), expectations)


def _rows(frame: pd.DataFrame, platform: str | None) -> int:
    if platform is None:
        return len(frame)
    if "platform" not in frame.columns:
        return 0
    return int((frame["platform"] == platform).sum())


def distribution_check(inputs: GateInputs) -> Check | None:
    """A source broken while still answering: follower collapse or an ER order-of-magnitude move."""
    now = inputs.frames.get("creator_scorecard")
    if now is None or not {"platform", "followers"} <= set(now.columns):
        return None
    cfg = inputs.thresholds["distribution"]
    before = inputs.previous.get("creator_scorecard")
    values: dict[str, float] = {}
    expectations: list[Any] = []
    for platform in inputs.extracted_platforms:
        rows = now[now["platform"] == platform]
        if len(rows) < cfg["min_accounts"]:
            continue  # freshness reports a platform with no rows
        prev = before[before["platform"] == platform] if before is not None else None
        expectations += _follower_checks(values, platform, rows, prev, cfg)
        expectations += _engagement_checks(values, platform, rows, prev, cfg)
    if not values:
        return None
    return Check("cross.distribution", "*", pd.DataFrame([values]), expectations)


def _follower_checks(
    values: dict[str, float],
    platform: str,
    rows: pd.DataFrame,
    prev: pd.DataFrame | None,
    cfg: dict[str, Any],
) -> list[Any]:
    followers = pd.to_numeric(rows["followers"], errors="coerce").dropna()
    out = []
    if len(followers):
        name = f"{platform}__share_of_accounts_at_zero_followers"
        values[name] = float((followers == 0).mean())
        limit = cfg["zero_followers_max_share"]
        out.append(
            E.ExpectColumnValuesToBeBetween(
                column=name,
                min_value=0,
                max_value=limit["value"],
                description=(
                    f"{platform}: at most {limit['value']:.0%} of accounts report 0 followers "
                    f"({int((followers == 0).sum())} of {len(followers)} do now)."
                ),
                notes=limit["reason"],
                meta=_meta(
                    "creator_scorecard", "followers", check="distribution", platform=platform
                ),
            )
        )
    previous = _median(prev, "followers")
    if previous is None or previous <= 0:
        return out
    current = float(followers.median()) if len(followers) else 0.0
    name = f"{platform}__median_followers_vs_previous"
    values[name] = current / previous
    lo, hi = cfg["median_followers_min_ratio"], cfg["median_followers_max_ratio"]
    out.append(
        E.ExpectColumnValuesToBeBetween(
            column=name,
            min_value=lo["value"],
            max_value=hi["value"],
            description=(
                f"{platform}: median followers now / last published is between {lo['value']} "
                f"and {hi['value']} (now {current:,.0f}, before {previous:,.0f})."
            ),
            notes=f"{lo['reason']} {hi['reason']}",
            meta=_meta(
                "creator_scorecard",
                "followers",
                check="distribution",
                platform=platform,
                now=current,
                before=previous,
            ),
        )
    )
    return out


def _engagement_checks(
    values: dict[str, float],
    platform: str,
    rows: pd.DataFrame,
    prev: pd.DataFrame | None,
    cfg: dict[str, Any],
) -> list[Any]:
    previous = _median(prev, "engagement_rate")
    current = _median(rows, "engagement_rate")
    if previous is None or previous <= 0 or current is None:
        return []
    factor = cfg["median_engagement_rate_max_factor"]
    name = f"{platform}__median_engagement_rate_vs_previous"
    values[name] = current / previous
    return [
        E.ExpectColumnValuesToBeBetween(
            column=name,
            min_value=1 / factor["value"],
            max_value=factor["value"],
            strict_min=True,
            strict_max=True,
            description=(
                f"{platform}: median engagement_rate moves by less than x{factor['value']:g} "
                f"vs last published (now {current:.4g}, before {previous:.4g})."
            ),
            notes=factor["reason"],
            meta=_meta(
                "creator_scorecard",
                "engagement_rate",
                check="distribution",
                platform=platform,
                now=current,
                before=previous,
            ),
        )
    ]


def invariants_check(inputs: GateInputs) -> Check | None:
    """The numbers keep their rules: finite values, insights never lost to "not asked",
    ratios over the same rows, percentiles only from large enough groups (count 0 each)."""
    if not inputs.invariants:
        return None
    reason = inputs.thresholds["invariants"]["reason"]
    values = {rule.name: broken for rule, broken in inputs.invariants}
    expectations = [
        E.ExpectColumnValuesToBeBetween(
            column=rule.name,
            min_value=0,
            max_value=0,
            description=f"{rule.description} Rows breaking it: 0.",
            notes=reason,
            meta=_meta(rule.table, rule.column, check="invariant"),
        )
        for rule, _ in inputs.invariants
    ]
    return Check("cross.invariants", "*", pd.DataFrame([values]), expectations)


def _median(frame: pd.DataFrame | None, column: str) -> float | None:
    if frame is None or column not in frame.columns:
        return None
    values = pd.to_numeric(frame[column], errors="coerce").dropna()
    return float(values.median()) if len(values) else None


def _as_dates(series: pd.Series) -> pd.Series:
    """DuckDB DATE columns arrive as datetime64 in pandas; compare as python dates."""
    return pd.to_datetime(series, errors="coerce").dt.date
