"""Which build a transform runs: incremental from the day after the last good build, or full."""

from __future__ import annotations

from datetime import date

from pipeline.policy import plan_build

D = date(2026, 11, 24)


def state(built: str | None = "2026-11-23", excluded: list[str] | None = None) -> dict:
    return {
        "transform": {"ok": True, "run_date": built, "excluded_dates": excluded or []},
        "built_through": built,
    }


def test_the_next_day_builds_only_itself() -> None:
    assert plan_build(state(), D, [], True) == (False, D, None)


def test_a_rerun_of_the_same_day_builds_only_that_day() -> None:
    assert plan_build(state("2026-11-24"), D, [], True) == (False, D, None)


def test_days_landed_but_never_built_are_caught_up() -> None:
    full, from_date, why = plan_build(state("2026-11-20"), D, [], True)
    assert (full, from_date) == (False, date(2026, 11, 21))
    assert why == "building the landing days 2026-11-21 to 2026-11-24"


def test_going_back_before_the_last_build_rebuilds_fully() -> None:
    full, from_date, why = plan_build(state("2026-11-24"), date(2026, 11, 20), [], True)
    assert (full, from_date) == (True, None)
    assert why == "2026-11-20 is before the last build (2026-11-24): full refresh"


def test_no_successful_build_to_continue_rebuilds_fully() -> None:
    full, _, why = plan_build(state(None), D, [], True)
    assert full and why == "no successful build to continue from: full refresh"


def test_changed_exclusions_rebuild_fully() -> None:
    full, _, why = plan_build(state(), D, ["2026-11-22"], True)
    assert full and why == "excluded days changed since the last build: full refresh"


def test_no_warehouse_or_asked_for_is_full() -> None:
    assert plan_build(state(), D, [], False)[0] is True
    assert plan_build(state(), D, [], True, full_refresh=True) == (True, None, None)


def test_homes_from_before_built_through_continue_from_the_last_good_transform() -> None:
    old = {"transform": {"ok": True, "run_date": "2026-11-22", "excluded_dates": []}}
    assert plan_build(old, D, [], True)[:2] == (False, date(2026, 11, 23))
    failed = {"transform": {"ok": False, "run_date": "2026-11-23", "excluded_dates": []}}
    assert plan_build(failed, D, [], True)[0] is True
