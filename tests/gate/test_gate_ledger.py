"""The run ledger: one Parquet file per run, read back sorted, readable by `kol status`."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from expectations import ledger
from expectations.ledger import LedgerError, LedgerRow

T0 = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)


def _row(run_id: str, minutes: int, **kw) -> LedgerRow:
    return LedgerRow(
        run_id=run_id,
        run_date=date(2026, 11, 24),
        started_at=T0 + timedelta(minutes=minutes),
        finished_at=T0 + timedelta(minutes=minutes, seconds=95),
        **kw,
    )


def test_rows_round_trip_and_sort_by_start(tmp_path):
    failed = _row(
        "run-b",
        0,
        status="gate_failed",
        stages={"extract": "ok", "transform": "ok", "gate": "failed", "publish": "skipped"},
        source_counts={"youtube": {"served": 12, "landed": 11, "quarantined": 1}},
        mart_rows={"creator_scorecard": 13},
        gate_passed=False,
        failed_expectations=[
            {
                "suite": "cross.distribution",
                "expectation_type": "expect_column_values_to_be_between",
                "table": "creator_scorecard",
                "column": "followers",
                "observed_value": 1.0,
                "message": "instagram: at most 50% of accounts report 0 followers",
            }
        ],
        message="gate failed: 1 expectation",
    )
    published = _row(
        "run-a", 30, status="published", gate_passed=True, published_checksum="ab" * 32
    )
    ledger.append(tmp_path, published)
    ledger.append(tmp_path, failed)

    rows = ledger.read(tmp_path)

    assert [r.run_id for r in rows] == ["run-b", "run-a"]  # by started_at, not by name
    assert rows[0] == failed
    assert rows[1] == published
    assert ledger.get(tmp_path, "run-a") == published
    assert ledger.get(tmp_path, "missing") is None
    assert sorted(p.name for p in (tmp_path / "ledger").iterdir()) == [
        "run-a.parquet",
        "run-b.parquet",
    ]


def test_re_appending_a_run_replaces_its_row(tmp_path):
    ledger.append(tmp_path, _row("run-a", 0, status="running"))
    ledger.append(tmp_path, _row("run-a", 0, status="published", gate_passed=True))

    rows = ledger.read(tmp_path)
    assert [(r.run_id, r.status) for r in rows] == [("run-a", "published")]


def test_bad_rows_are_refused_with_a_reason(tmp_path):
    with pytest.raises(LedgerError, match="invalid status 'done'"):
        ledger.append(tmp_path, _row("run-a", 0, status="done"))
    with pytest.raises(LedgerError, match="invalid run_id"):
        ledger.append(tmp_path, _row("../escape", 0))
    assert ledger.read(tmp_path) == []


def test_status_tables_are_readable(tmp_path):
    row = _row(
        "run-x",
        0,
        status="gate_failed",
        gate_passed=False,
        stages={"gate": "failed"},
        source_counts={"x": {"served": 3, "landed": 2, "quarantined": 1}},
        failed_expectations=[
            {
                "suite": "cross.freshness",
                "expectation_type": "expect_column_values_to_be_between",
                "table": "fct_creator_daily",
                "column": "date",
                "observed_value": 0,
                "message": "x has no fct_creator_daily rows dated 2026-11-24",
            }
        ],
    )
    listing = ledger.format_runs([row, _row("run-y", 5, status="published", gate_passed=True)])
    lines = listing.splitlines()
    assert lines[0].split()[:2] == ["run_id", "run_date"]
    assert "run-x" in lines[2] and "gate_failed" in lines[2] and "FAILED" in lines[2]
    assert "95s" in lines[2]
    detail = ledger.format_run(row)
    assert "fct_creator_daily.date" in detail
    assert "x has no fct_creator_daily rows dated 2026-11-24" in detail
    assert "previous marts stay published" in detail
    assert ledger.format_runs([]).startswith("No runs recorded yet")


def test_manifest_style_counts_iso_times_and_text_failures_are_accepted(tmp_path):
    row = LedgerRow(
        run_id="run-m",
        run_date="2026-11-24",
        started_at="2026-11-25T02:00:00+00:00",
        finished_at="2026-11-25T02:01:00",
        status="partial",
        source_counts={
            "youtube": {
                "status": "partial",
                "entities": {
                    "accounts": {"served": 5, "landed": 5, "quarantined": 0},
                    "posts": {"served": 40, "landed": 38, "quarantined": 2},
                },
            }
        },
        failed_expectations=["cross.volume: rows halved"],
    )
    ledger.append(tmp_path, row)
    back = ledger.get(tmp_path, "run-m")

    assert back.run_date == date(2026, 11, 24)
    assert back.finished_at - back.started_at == timedelta(minutes=1)
    assert back.failed_expectations == [{"message": "cross.volume: rows halved"}]
    youtube = [line.split() for line in ledger.format_run(back).splitlines() if "youtube" in line]
    assert youtube == [["youtube", "partial", "45", "43", "2"]]
