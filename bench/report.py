"""Summaries, ratios, targets, machine facts, and the Markdown table of one benchmark run."""

from __future__ import annotations

import os
import platform
import statistics
import sys
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

import psutil
import yaml

REPO = Path(__file__).resolve().parents[1]

PACKAGES = (
    "duckdb",
    "dbt-core",
    "dbt-duckdb",
    "great-expectations",
    "apache-airflow",
    "pyarrow",
    "pandas",
)

# Stage keys, in the order of a daily run, with the label the table prints.
STAGE_LABELS: dict[str, str] = {
    "extract_land": "extract + land (5 platforms, HTTP)",
    "exports": "land campaign exports + roster",
    "reparse": "reparse raw pages (no HTTP)",
    "duckdb_scan": "DuckDB scan of the day's records",
    "transform_incremental": "transform: dbt build, incremental day",
    "transform_full": "transform: dbt build --full-refresh (setup, n=1)",
    "transform_spark_incremental": "transform on Spark: dbt build, incremental day",
    "transform_spark_full": "transform on Spark: dbt build --full-refresh (setup, n=1)",
    "gate": "gate (GX)",
    "publish": "publish",
    "kol_run": "whole `kol run` (one day, quotas raised: every account refreshes)",
    "kol_run_quotas": "whole `kol run` (one day, the documented default quotas enforced)",
    "day_stages": "one day as its stage processes (extract … publish, summed per rep)",
}

# What `kol run` does, as the stage processes measured above (on the primary history).
DAY_STAGES = ("extract_land", "exports", "transform_incremental@{p}", "gate", "publish")


def machine() -> dict[str, Any]:
    versions = {}
    for pkg in PACKAGES:
        try:
            versions[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            versions[pkg] = None
    return {
        "cores": os.cpu_count(),
        "cores_available": len(os.sched_getaffinity(0)),
        "memory_gb": round(psutil.virtual_memory().total / 1024**3, 1),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "load_average_at_start": [round(x, 2) for x in os.getloadavg()],
        "versions": versions,
    }


def spread(values: list[float]) -> dict[str, float | int | None]:
    if not values:
        return {"n": 0, "median": None, "min": None, "max": None}
    return {
        "n": len(values),
        "median": statistics.median(values),
        "min": min(values),
        "max": max(values),
    }


def summarise_stage(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Median and min–max of seconds (and of every rate a sample carries); the peak RSS."""
    out: dict[str, Any] = {"seconds": spread([s["seconds"] for s in samples])}
    for key in ("records_per_s", "raw_mb_per_s", "engine_seconds"):
        vals = [s[key] for s in samples if s.get(key) is not None]
        if vals:
            out[key] = spread(vals)
    out["peak_rss_mb"] = max((s.get("peak_rss_mb", 0.0) for s in samples), default=0.0)
    out["samples"] = samples
    return out


def day_stages(samples: dict[str, list[dict[str, Any]]], primary: int) -> list[dict[str, Any]]:
    """Per repetition, the seconds of the stage processes a `kol run` is made of, summed.

    The default `small` run leaves the whole `kol run` out to stay under 5 minutes; side by
    side (2026-11-26, small, 3 reps) the sum was 143.7 s and `kol run` itself 144.4 s, so the
    sum stands in for it. Peak RSS is the largest of the parts (one process at a time)."""
    keys = [k.format(p=primary) for k in DAY_STAGES]
    if not all(samples.get(k) for k in keys):
        return []
    reps = min(len(samples[k]) for k in keys)
    return [
        {
            "seconds": round(sum(samples[k][i]["seconds"] for k in keys), 3),
            "peak_rss_mb": max(samples[k][i].get("peak_rss_mb", 0.0) for k in keys),
            "parts": {k: samples[k][i]["seconds"] for k in keys},
        }
        for i in range(reps)
    ]


def _median(stages: dict[str, Any], key: str, field: str = "seconds") -> float | None:
    st = stages.get(key)
    return st[field]["median"] if st and field in st else None


def _div(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def pair_ratios(stages: dict[str, Any], hi: int, lo: int) -> list[float]:
    """Each repetition's incremental day on `hi` days of history over the one on `lo`: the
    two run back to back, so a machine whose speed drifts over the run weighs on both, where
    the medians' ratio may divide one repetition's build by another's."""

    def seconds(h: int) -> list[float]:
        return [
            s["seconds"] for s in stages.get(f"transform_incremental@{h}", {}).get("samples", [])
        ]

    return [round(a / b, 4) for a, b in zip(seconds(hi), seconds(lo), strict=False) if b]


@dataclass(frozen=True)
class Target:
    name: str
    key: str  # a ratio key, or "kol_run_seconds" / "peak_rss_mb"
    limit: float
    at_least: bool = False  # the value must be >= limit (else <=)

    def check(self, value: float | None) -> str:
        if value is None:
            return "n/a"
        ok = value >= self.limit if self.at_least else value <= self.limit
        return "meets" if ok else "MISSES"


HISTORY_TARGET = (30, 365)  # the histories (days) the 365/30 target compares
TARGETS = (
    Target("whole kol run ≤ 10 min", "kol_run_seconds", 600.0),
    Target("whole kol run within the documented quotas ≤ 10 min", "kol_run_quotas_seconds", 600.0),
    Target("peak RSS ≤ 4 GB", "peak_rss_mb", 4096.0),
    Target("incremental 365/30 ≤ 1.15", "incremental_long_vs_short_history", 1.15),
    Target("transform-incremental ≤ 10× DuckDB scan", "transform_vs_scan", 10.0),
    Target("extract+land ≥ 50% of parse rate", "extract_vs_parse_rate", 0.5, at_least=True),
)


def longest_lookback_days() -> int:
    """The longest window a metric reads back from D (the largest `*_days` var of the dbt
    project: 90, the engagement-rate and caption windows). A history shorter than it leaves
    those windows part-empty, so its daily build reads less than a longer history's would
    even if nothing grew with the history."""
    project = yaml.safe_load((REPO / "dbt_project" / "dbt_project.yml").read_text())
    return max(v for k, v in project["vars"].items() if k.endswith("_days") and isinstance(v, int))


def windows_full_history(histories: list[int], lookback: int) -> int | None:
    """The shortest history, other than the longest, whose windows are all full."""
    full = [h for h in histories if h >= lookback and h != max(histories)]
    return min(full) if full else None


def ratios(
    stages: dict[str, Any], histories: list[int], primary: int, lookback: int | None = None
) -> dict[str, Any]:
    """The four ratios of the brief, from medians of stages measured side by side, and
    Spark's transform over DuckDB's on the history Spark builds on (the shortest). With a
    history at least `lookback` days long besides the longest: the longest over it too, the
    cost the history adds once every window is full."""
    incr = {h: _median(stages, f"transform_incremental@{h}") for h in histories}
    lo, hi = min(histories), max(histories)
    full = windows_full_history(histories, lookback or longest_lookback_days())
    return {
        "spark_vs_duckdb_incremental": _div(
            _median(stages, f"transform_spark_incremental@{lo}"), incr[lo]
        ),
        "spark_vs_duckdb_full": _div(
            _median(stages, f"transform_spark_full@{lo}"), _median(stages, f"transform_full@{lo}")
        ),
        "transform_vs_scan": _div(incr[primary], _median(stages, "duckdb_scan", "engine_seconds")),
        "incremental_long_vs_short_history": _div(incr[hi], incr[lo]) if hi != lo else None,
        "incremental_long_vs_short_pairs": pair_ratios(stages, hi, lo) if hi != lo else [],
        "incremental_long_vs_windows_full": _div(incr[hi], incr[full]) if full else None,
        "windows_full_history": full,
        "extract_vs_parse_rate": _div(
            _median(stages, "extract_land", "records_per_s"),
            _median(stages, "reparse", "records_per_s"),
        ),
        # with --baseline: the same rate ratio for the baseline commit's code, and its extract
        # wall time over this tree's (same day, same sandbox, same repetitions)
        "extract_vs_parse_rate_baseline": _div(
            _median(stages, "extract_land@baseline", "records_per_s"),
            _median(stages, "reparse@baseline", "records_per_s"),
        ),
        "extract_seconds_baseline_vs_now": _div(
            _median(stages, "extract_land@baseline"), _median(stages, "extract_land")
        ),
        "gate_vs_transform": _div(_median(stages, "gate"), incr[primary]),
        "histories_compared": [lo, hi],
    }


def target_status(stages: dict[str, Any], rat: dict[str, Any]) -> list[dict[str, Any]]:
    whole = _median(stages, "kol_run")
    values = {
        **rat,
        "kol_run_seconds": whole if whole is not None else _median(stages, "day_stages"),
        "kol_run_quotas_seconds": _median(stages, "kol_run_quotas"),
        "peak_rss_mb": max((s.get("peak_rss_mb", 0.0) for s in stages.values()), default=None),
    }
    out = [
        {"target": t.name, "value": values.get(t.key), "status": t.check(values.get(t.key))}
        for t in TARGETS
    ]
    if whole is None and values["kol_run_seconds"] is not None:
        out[0]["target"] += " (sum of its stage processes)"
    lo, hi = rat.get("histories_compared") or (None, None)
    if (lo, hi) != HISTORY_TARGET and values["incremental_long_vs_short_history"] is not None:
        # another pair of histories (--history 30,120) is a figure, not the target's judgement
        row = out[[t.key for t in TARGETS].index("incremental_long_vs_short_history")]
        row["target"] = f"incremental {hi}/{lo} (the target is 365/30 ≤ 1.15)"
        row["status"] = "n/a"
    return out


def _fmt(x: float | None, unit: str = "", digits: int = 2) -> str:
    return "—" if x is None else f"{x:,.{digits}f}{unit}"


def _range(sp: dict[str, Any], digits: int = 2) -> str:
    if not sp or not sp.get("n"):
        return "—"
    return f"{sp['min']:,.{digits}f}–{sp['max']:,.{digits}f}"


def stage_label(key: str) -> str:
    base, _, hist = key.partition("@")
    label = STAGE_LABELS.get(base, base)
    if hist == "baseline":
        return f"{label} [baseline commit]"
    return f"{label} [{hist} days of history]" if hist else label


MATCHING_COLUMNS = (
    ("int_post_words_counted", "post words"),
    ("int_brand_creator_topic_similarity", "topic similarity"),
    ("int_brand_creator_candidates", "candidates"),
    ("int_brand_creator_predictions", "predictions"),
    ("brand_creator_matches", "mart"),
)


def _median_of(values: list[float | None]) -> float | None:
    known = sorted(v for v in values if v is not None)
    return spread(known)["median"] if known else None


def matching_lines(stages: dict[str, Any]) -> list[str]:
    """The matching step per transform stage (medians of dbt's per-model execution times):
    the model's training and the matches step (post words + topic similarity + candidates
    + predictions + mart); nothing when no transform ran them."""
    rows = []
    for key, st in stages.items():
        timings = [s.get("dbt_matching") or {} for s in st.get("samples", [])]
        if not key.startswith("transform") or not any(timings):
            continue
        cells = [
            _median_of([t.get("model_training_s") for t in timings]),
            _median_of([t.get("matches_step_s") for t in timings]),
            *(
                _median_of([t.get("by_model", {}).get(m) for t in timings])
                for m, _ in MATCHING_COLUMNS
            ),
        ]
        rows.append(f"| {stage_label(key)} | " + " | ".join(_fmt(c) for c in cells) + " |")
    if not rows:
        return []
    names = " | ".join(label for _, label in MATCHING_COLUMNS)
    return [
        "",
        f"| matching (dbt execution s, median) | model training | matches step | {names} |",
        "|---|---:|---:|" + "---:|" * len(MATCHING_COLUMNS),
        *rows,
    ]


def history_cost_lines(stages: dict[str, Any], lo: int, hi: int, top: int = 10) -> list[str]:
    """Where the longer history's incremental day spends more: the dbt nodes whose median
    execution time grows most from `lo` to `hi` days of history (the culprits of a 365/30
    ratio above 1), and what the rest of the process (start-up, parse, Python) adds."""
    keys = (f"transform_incremental@{lo}", f"transform_incremental@{hi}")
    short, long_ = stages.get(keys[0]), stages.get(keys[1])
    if not short or not long_ or lo == hi:
        return []

    def medians(st: dict[str, Any]) -> dict[str, float]:
        nodes = [s.get("dbt_by_node") or {} for s in st.get("samples", [])]
        names = {n for by in nodes for n in by}
        return {n: _median_of([by.get(n) for by in nodes]) or 0.0 for n in names}

    a, b = medians(short), medians(long_)
    if not a or not b:
        return []
    grown = sorted(((b.get(n, 0.0) - a.get(n, 0.0), n) for n in a.keys() | b.keys()), reverse=True)
    wall = [_median(stages, k) for k in keys]
    dbt = [_median_of([s.get("dbt_elapsed") for s in st["samples"]]) for st in (short, long_)]
    rows = [
        f"| {n} | {_fmt(a.get(n, 0.0))} | {_fmt(b.get(n, 0.0))} | {_fmt(d)} |"
        for d, n in grown[:top]
    ]
    totals = [sum(a.values()), sum(b.values())]
    return [
        "",
        f"| the incremental day, {lo} → {hi} days of history (median s) | {lo} | {hi} | added |",
        "|---|---:|---:|---:|",
        f"| whole transform process | {_fmt(wall[0])} | {_fmt(wall[1])} | {_fmt(_sub(wall))} |",
        f"| dbt's elapsed | {_fmt(dbt[0])} | {_fmt(dbt[1])} | {_fmt(_sub(dbt))} |",
        f"| every node's execution, summed | {_fmt(totals[0])} | {_fmt(totals[1])} "
        f"| {_fmt(totals[1] - totals[0])} |",
        *rows,
    ]


def _sub(pair: list[float | None]) -> float | None:
    return None if None in pair else pair[1] - pair[0]


def quota_run_lines(stages: dict[str, Any]) -> list[str]:
    """The run within the documented quotas, per platform (its last sample): accounts planned,
    deferred and landed, what it spent against the day's budget, and what the sandbox charged
    and refused."""
    samples = (stages.get("kol_run_quotas") or {}).get("samples") or []
    if not samples:
        return []
    last = samples[-1]
    lines = [
        "",
        "| within the documented quotas | planned | deferred | landed | used / budget "
        "| sandbox charged | refused | status |",
        "|---|---:|---:|---:|---|---|---:|---|",
    ]
    for p, o in (last.get("plans") or {}).items():
        charged = dict((last.get("quota_charged") or {}).get(p) or {})
        refused = charged.pop("refused", 0)
        budget = o.get("budget") or {}
        used = ", ".join(
            f"{v:,} / {budget[k]:,} {k}" if k in budget else f"{v:,} {k}"
            for k, v in (o.get("used") or {}).items()
        )
        spent = ", ".join(f"{v:,} {k}" for k, v in charged.items())
        lines.append(
            f"| {p} | {o.get('planned')} | {o.get('deferred')} | {o.get('landed')} | {used} "
            f"| {spent} | {refused} | {o.get('status')} |"
        )
    return lines


def landing_per_account_year(setup: dict[str, Any], accounts: int) -> dict[str, Any]:
    """Typed API record MB per account-year for each history with compacted months: as
    day files (a copied day's bytes x 365) and as the history is left on disk (month files
    plus the window's day files, scaled to 365 days). What a year of landing costs."""
    out: dict[str, Any] = {}
    for key, h in sorted(setup.items()):
        if not key.startswith("history_") or not h.get("compacted_months") or not accounts:
            continue
        day_mb = h["copied_mb"] / max(h["copied_days"], 1)
        out[key.split("_", 1)[1]] = {
            "day_files_mb": round(day_mb * 365 / accounts, 4),
            "compacted_mb": round(
                h["records_mb_after_compaction"] * 365 / h["landed_days"] / accounts, 4
            ),
        }
    return out


def landing_lines(result: dict[str, Any]) -> list[str]:
    rows = result.get("landing_per_account_year") or {}
    if not rows:
        return []
    lines = [
        "",
        "| typed API records per account-year | day files | as compacted | after / before |",
        "|---|---:|---:|---:|",
    ]
    for h, r in rows.items():
        before, after = r["day_files_mb"], r["compacted_mb"]
        lines.append(
            f"| {h} days of history | {before:,.3f} MB | {after:,.3f} MB | {after / before:.2f} |"
        )
    return lines


def markdown(result: dict[str, Any]) -> str:
    """The table a person reads: one line per stage, then the ratios and the targets."""
    w = result["world"]
    lines = [
        f"## KOL bench — size `{result['size']}`, day {w['run_date']}, "
        f"{w['accounts']:,} accounts ({w['creators']:,} creators), "
        f"{result['reps']} reps, histories {', '.join(map(str, result['histories']))} days",
        *(
            [f"(platforms extracted: {', '.join(result['platforms'])})"]
            if len(result.get("platforms", ())) not in (0, 5)
            else []
        ),
        "",
        "| stage | median s | min–max s | rate (median) | peak RSS MB |",
        "|---|---:|---:|---|---:|",
    ]
    for key, st in result["stages"].items():
        rate = []
        if "records_per_s" in st:
            rate.append(f"{st['records_per_s']['median']:,.0f} rec/s")
        if "raw_mb_per_s" in st:
            rate.append(f"{st['raw_mb_per_s']['median']:,.2f} MB/s raw")
        if "engine_seconds" in st:
            rate.append(f"engine {st['engine_seconds']['median']:,.3f} s")
        lines.append(
            f"| {stage_label(key)} | {_fmt(st['seconds']['median'])} | {_range(st['seconds'])} "
            f"| {'; '.join(rate) or ''} | {_fmt(st['peak_rss_mb'], digits=0)} |"
        )
    lines += matching_lines(result["stages"])
    lines += quota_run_lines(result["stages"])
    lines += landing_lines(result)
    r = result["ratios"]
    lo, hi = r["histories_compared"]
    lines += history_cost_lines(result["stages"], lo, hi)
    full = r.get("windows_full_history")
    if full:
        lines += history_cost_lines(result["stages"], full, hi)
    lines += [
        "",
        "| ratio (medians, same run) | value |",
        "|---|---:|",
        f"| transform-incremental / DuckDB scan of the day | {_fmt(r['transform_vs_scan'], '×', 1)} |",
        f"| incremental day, {hi} / {lo} days of history | {_fmt(r['incremental_long_vs_short_history'])} |",
        *(
            [
                f"| the same, each repetition's pair: median (pairs) "
                f"| {_fmt(_median_of(list(pairs)))} ({', '.join(f'{x:.2f}' for x in pairs)}) |"
            ]
            if (pairs := r.get("incremental_long_vs_short_pairs"))
            else []
        ),
        *(
            [
                f"| incremental day, {hi} / {full} days of history (every window full) "
                f"| {_fmt(r['incremental_long_vs_windows_full'])} |"
            ]
            if full
            else []
        ),
        f"| extract+land rec/s / reparse rec/s (no HTTP) | {_fmt(r['extract_vs_parse_rate'])} |",
        *(
            [
                f"| the same, baseline `{(result.get('baseline') or '')[:10]}` "
                f"| {_fmt(r['extract_vs_parse_rate_baseline'])} |",
                f"| extract+land seconds, baseline / this tree "
                f"| {_fmt(r.get('extract_seconds_baseline_vs_now'))} |",
            ]
            if r.get("extract_vs_parse_rate_baseline") is not None
            else []
        ),
        f"| gate / transform-incremental | {_fmt(r['gate_vs_transform'])} |",
        *(
            [
                f"| transform on Spark / on DuckDB, {lo} days of history: incremental day "
                f"| {_fmt(r['spark_vs_duckdb_incremental'])} |",
                f"| transform on Spark / on DuckDB, {lo} days of history: full refresh "
                f"| {_fmt(r.get('spark_vs_duckdb_full'))} |",
            ]
            if r.get("spark_vs_duckdb_incremental") is not None
            else []
        ),
        "",
        "| target (set for agency, 2 cores) | value | here |",
        "|---|---:|---|",
    ]
    for t in result["targets"]:
        lines.append(f"| {t['target']} | {_fmt(t['value'])} | {t['status']} |")
    return "\n".join(lines)
