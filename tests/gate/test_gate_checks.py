"""The quality gate with real GX on a hand-built warehouse: what passes, what is stopped.

`run_day` below mirrors how pipeline steps use the gate: gate, publish only when it passed,
record the run in the ledger. Each scenario breaks a copy of today's clean warehouse the way
a broken source would, and is compared with the published baseline of the day before.
"""

from __future__ import annotations

import shutil
import statistics
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from gate_world import (
    ACCOUNTS,
    PLATFORMS,
    RUN_DATE,
    file_sha256,
    followers_of,
    mutate,
    write_landing_accounts,
)

from expectations import ledger, report
from expectations.gate import (
    GateResult,
    prune_results,
    read_inputs,
    read_landing_accounts,
    run_gate,
)
from expectations.marts import PUBLISHED_TABLES
from expectations.suites import build_checks
from expectations.thresholds import load_thresholds
from pipeline.publish import content_checksum, publish

pytestmark = pytest.mark.integration


def run_day(
    warehouse: Path, run_date: date, home: Path, run_id: str, platforms: Sequence[str] = PLATFORMS
) -> GateResult:
    write_landing_accounts(home / "landing", run_date, tuple(platforms))
    started = datetime.now(UTC)
    serving = home / "serving" / "marts.duckdb"
    gate = run_gate(
        warehouse,
        run_date,
        home / "quality",
        previous_serving_db=serving if serving.exists() else None,
        extracted_platforms=platforms,
        run_id=run_id,
        tables=PUBLISHED_TABLES,
        landing_dir=home / "landing",
    )
    checksum = None
    if gate.passed:
        checksum = publish(warehouse, home / "serving", PUBLISHED_TABLES).checksum
    ledger.append(
        home / "quality",
        ledger.LedgerRow(
            run_id=run_id,
            run_date=run_date,
            started_at=started,
            finished_at=datetime.now(UTC),
            status="published" if gate.passed else "gate_failed",
            stages={"gate": "passed" if gate.passed else "failed"},
            mart_rows={t: n for t, n in gate.counts.items() if n is not None},
            gate_passed=gate.passed,
            failed_expectations=[f.as_dict() for f in gate.failures],
            published_checksum=checksum,
            message=gate.summary(),
        ),
    )
    return gate


@pytest.fixture(scope="session")
def baseline_home(clean_warehouses, tmp_path_factory) -> Path:
    """KOL_HOME with yesterday's clean marts published (the baseline of every scenario)."""
    root = tmp_path_factory.mktemp("kol_home")
    gate = run_day(clean_warehouses["previous"], RUN_DATE - timedelta(days=1), root, "baseline")
    assert gate.passed, gate.summary()
    return root


@pytest.fixture
def home(baseline_home, tmp_path) -> Path:
    """A private copy of the baseline home, so each scenario is compared with yesterday."""
    return Path(shutil.copytree(baseline_home, tmp_path / "home"))


def _failing(gate: GateResult) -> set[tuple[str, str, str | None]]:
    return {(f.suite, f.table, f.column) for f in gate.failures}


def test_clean_day_passes_and_publishes(home, clean_warehouses):
    gate = run_day(clean_warehouses["today"], RUN_DATE, home, "clean-day")

    assert gate.passed, gate.summary()
    assert gate.failures == []
    assert gate.counts["creator_scorecard"] == sum(len(p) for p in ACCOUNTS.values())
    assert gate.counts["fct_creator_daily"] == 3 * sum(len(p) for p in ACCOUNTS.values())
    assert {"cross.distribution", "cross.volume", "landing.accounts"} <= set(gate.suites)
    assert gate.evaluated > 100
    served = home / "serving" / "marts.duckdb"
    assert content_checksum(served, PUBLISHED_TABLES) == content_checksum(
        clean_warehouses["today"], PUBLISHED_TABLES
    )
    row = ledger.get(home / "quality", "clean-day")
    assert row.status == "published" and row.gate_passed is True
    assert row.published_checksum == content_checksum(served, PUBLISHED_TABLES)
    assert gate.data_docs_index.is_file()


def test_follower_glitch_fails_gate_and_keeps_marts(home, warehouse_copy):
    served = home / "serving" / "marts.duckdb"
    bytes_before = file_sha256(served)
    glitch = mutate(
        warehouse_copy(), "UPDATE creator_scorecard SET followers = 0 WHERE platform = 'instagram'"
    )

    gate = run_day(glitch, RUN_DATE, home, "glitch-day")

    assert not gate.passed
    by_column = {f.observed_value: f for f in gate.failures if f.suite == "cross.distribution"}
    instagram = [c for c, p in ACCOUNTS.items() if "instagram" in p]
    # Every instagram account is at 0: share 1.0 > 0.5, and the median fell to 0 (ratio 0).
    assert set(by_column) == {1.0, 0.0}
    assert "instagram" in by_column[1.0].message and f"{len(instagram)} of {len(instagram)}" in (
        by_column[1.0].message
    )
    previous_median = statistics.median(followers_of(c, "instagram") for c in instagram)
    assert f"before {previous_median:,.0f}" in by_column[0.0].message
    assert all(
        f.table == "creator_scorecard" and f.column == "followers" for f in by_column.values()
    )
    assert "instagram" in gate.summary() and "FAILED" in gate.summary()
    assert file_sha256(served) == bytes_before  # nothing published
    row = ledger.get(home / "quality", "glitch-day")
    assert row.status == "gate_failed" and row.published_checksum is None
    assert {f["observed_value"] for f in row.failed_expectations} == {1.0, 0.0}
    baseline = ledger.get(home / "quality", "baseline")
    assert baseline.status == "published"
    # Data Docs show the failing expectation of this run.
    pages = list(
        (home / "quality" / "data_docs" / "validations" / "cross" / "distribution").rglob("*.html")
    )
    page = [p for p in pages if "glitch-day" in p.parts]
    assert len(page) == 1
    html = page[0].read_text()
    assert "instagram__share_of_accounts_at_zero_followers" in html
    assert "instagram__median_followers_vs_previous" in html
    # ... and so does the offline gate report (no CDN needed).
    report = (home / "quality" / "data_docs" / "gate_runs.html").read_text()
    assert "glitch-day" in report and "FAILED" in report
    assert "creator_scorecard.followers" in report and "at most 50% of accounts" in report


def test_engagement_rate_jump_by_ten_fails(home, warehouse_copy):
    jumped = mutate(
        warehouse_copy(),
        "UPDATE creator_scorecard SET engagement_rate = engagement_rate * 10 WHERE platform = 'tiktok'",
    )

    gate = run_day(jumped, RUN_DATE, home, "er-jump")

    assert not gate.passed
    assert _failing(gate) == {("cross.distribution", "creator_scorecard", "engagement_rate")}
    [failure] = gate.failures
    assert failure.observed_value == pytest.approx(10.0)
    assert "tiktok" in failure.message


def test_partial_run_with_a_skipped_platform_passes(home, warehouse_copy):
    # YouTube had no credential today: no daily rows for D; its scorecard rows stay as they are.
    partial = mutate(
        warehouse_copy(),
        f"DELETE FROM fct_creator_daily WHERE platform = 'youtube' AND date = DATE '{RUN_DATE}'",
    )
    extracted = [p for p in PLATFORMS if p != "youtube"]

    gate = run_day(partial, RUN_DATE, home, "partial-day", platforms=extracted)

    assert gate.passed, gate.summary()
    assert ledger.get(home / "quality", "partial-day").status == "published"


def _inputs(warehouse: Path, home: Path, platforms: Sequence[str] = PLATFORMS):
    return read_inputs(
        warehouse,
        RUN_DATE,
        PUBLISHED_TABLES,
        home / "serving" / "marts.duckdb",
        platforms,
        load_thresholds(),
    )


def _computed(checks, suite: str) -> dict:
    [check] = [c for c in checks if c.suite == suite]
    return check.frame.iloc[0].to_dict()


def test_followers_down_by_more_than_half_is_a_collapse(home, warehouse_copy):
    # No account at 0, but every x account lost 60 %: only the median rule catches it.
    halved = mutate(
        warehouse_copy(),
        "UPDATE creator_scorecard SET followers = followers * 4 // 10 WHERE platform = 'x'",
    )
    values = _computed(build_checks(_inputs(halved, home)), "cross.distribution")
    x_accounts = [c for c, p in ACCOUNTS.items() if "x" in p]
    before = statistics.median(followers_of(c, "x") for c in x_accounts)
    now = statistics.median(followers_of(c, "x") * 4 // 10 for c in x_accounts)
    assert values["x__median_followers_vs_previous"] == pytest.approx(now / before)
    assert values["x__median_followers_vs_previous"] < 0.5  # the threshold of thresholds.yml
    assert values["x__share_of_accounts_at_zero_followers"] == 0.0


def test_freshness_applies_to_extracted_platforms_only(home, warehouse_copy):
    missing = mutate(
        warehouse_copy(),
        f"DELETE FROM fct_creator_daily WHERE platform = 'youtube' AND date = DATE '{RUN_DATE}'",
    )
    claimed = _computed(build_checks(_inputs(missing, home)), "cross.freshness")
    assert claimed["fct_creator_daily__youtube__rows_on_run_date"] == 0  # would fail (min 1)
    youtube = sum("youtube" in p for p in ACCOUNTS.values())
    assert claimed["fct_creator_daily__tiktok__rows_on_run_date"] == sum(
        "tiktok" in p for p in ACCOUNTS.values()
    )
    assert youtube > 0
    skipped = _computed(
        build_checks(_inputs(missing, home, [p for p in PLATFORMS if p != "youtube"])),
        "cross.freshness",
    )
    assert not any("youtube" in k for k in skipped)


def test_landing_accounts_are_read_for_extracted_platforms_only(tmp_path):
    write_landing_accounts(tmp_path, RUN_DATE, ("instagram", "youtube"))

    frame = read_landing_accounts(tmp_path, RUN_DATE, ["instagram"])

    instagram = [c for c, p in ACCOUNTS.items() if "instagram" in p]
    assert sorted(frame["creator_id"]) == sorted(instagram)
    assert set(frame["platform"]) == {"instagram"}
    assert set(frame["snapshot_date"]) == {RUN_DATE.isoformat()}
    assert read_landing_accounts(tmp_path, RUN_DATE - timedelta(days=1), PLATFORMS) is None


def test_volume_drop_is_measured_per_extracted_platform(home, warehouse_copy):
    tiktok = sorted(c for c, p in ACCOUNTS.items() if "tiktok" in p)
    dropped = mutate(
        warehouse_copy(),
        f"DELETE FROM creator_scorecard WHERE platform = 'tiktok' AND creator_id <> '{tiktok[0]}'",
    )
    extracted = [p for p in PLATFORMS if p != "youtube"]
    values = _computed(build_checks(_inputs(dropped, home, extracted)), "cross.volume")

    assert values["creator_scorecard__tiktok__rows_vs_previous"] == pytest.approx(1 / len(tiktok))
    assert values["creator_scorecard__x__rows_vs_previous"] == 1.0
    assert values["dim_creators__rows_vs_previous"] == 1.0
    assert not any("youtube" in k for k in values)  # not extracted: no volume check


def test_orphans_between_marts_are_counted(home, warehouse_copy):
    orphaned = mutate(
        warehouse_copy(),
        "INSERT INTO creator_scorecard SELECT * REPLACE ('ghost' AS creator_id) "
        "FROM creator_scorecard LIMIT 1",
        "DELETE FROM fct_post_performance WHERE post_id = 'instagram-c1-p0'",
    )
    values = _computed(build_checks(_inputs(orphaned, home)), "cross.integrity")

    assert values["creator_scorecard__creator_id__in__dim_creators"] == 1
    assert values["creator_scorecard__creator_id_platform__in__dim_creator_accounts"] == 1
    assert values["bridge_campaign_posts__platform_post_id__in__fct_post_performance"] == 1
    assert values["fct_post_performance__creator_id__in__dim_creators"] == 0


def test_old_gx_results_are_pruned_but_verdicts_kept(tmp_path):
    store = tmp_path / "gx" / "validations"
    for i in range(3):
        run_id = f"run-{i}"
        for suite in ("mart.dim_creators", "cross.volume"):
            (store.joinpath(*suite.split("."), run_id, "20261124T000000Z")).mkdir(parents=True)
        report.write_run(
            tmp_path,
            {
                "run_id": run_id,
                "run_date": "2026-11-24",
                "passed": True,
                "evaluated": 2,
                "failures": [],
                "finished_at": f"2026-11-24 00:00:0{i}",
                "pages": {"mart.dim_creators": "x.html", "cross.volume": "y.html"},
            },
        )

    assert sorted(prune_results(tmp_path, keep=2)) == ["run-0"]

    left = sorted(p.relative_to(store).as_posix() for p in store.glob("*/*/*"))
    assert left == [
        "cross/volume/run-1",
        "cross/volume/run-2",
        "mart/dim_creators/run-1",
        "mart/dim_creators/run-2",
    ]
    page = (tmp_path / "data_docs" / "gate_runs.html").read_text()
    assert all(f"run-{i}" in page for i in range(3))  # the verdicts stay listed
