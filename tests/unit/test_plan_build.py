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


def test_a_long_history_is_rebuilt_a_calendar_month_at_a_time() -> None:
    from pipeline.policy import builds_through

    # a year of landing before the bench's day: the first (partial) month, 11 whole months
    # through October, then November up to D
    ends = builds_through(date(2025, 11, 26), date(2026, 11, 25), 62)
    assert ends[:3] == [date(2025, 11, 30), date(2025, 12, 31), date(2026, 1, 31)]
    assert ends[-2:] == [date(2026, 10, 31), date(2026, 11, 25)]
    assert len(ends) == 13
    # February of a leap year ends on the 29th
    leap = builds_through(date(2028, 1, 15), date(2028, 3, 10), 10)
    assert leap == [date(2028, 1, 31), date(2028, 2, 29), date(2028, 3, 10)]


def test_a_history_within_the_limit_is_one_build() -> None:
    from pipeline.policy import builds_through

    # 62 landed days exactly (09-24..11-24), no limit, nothing landed, one month only
    assert builds_through(date(2026, 9, 24), D, 62) == [D]
    assert builds_through(date(2025, 1, 1), D, 0) == [D]
    assert builds_through(date(2026, 11, 1), D, 5) == [D]
    # one day more than the limit: September's end, then D
    assert builds_through(date(2026, 9, 23), D, 62) == [
        date(2026, 9, 30),
        date(2026, 10, 31),
        D,
    ]


def test_the_first_landed_date_counts_day_folders_and_month_files(tmp_path) -> None:
    import json

    from ingestion.compacted import first_landed_date, manifest_file

    landing = tmp_path / "landing"
    assert first_landed_date(landing) is None
    (landing / "records/posts/platform=x/dt=2026-11-20").mkdir(parents=True)
    (landing / "records/posts/platform=x/dt=not-a-day").mkdir(parents=True)
    (landing / "records/brands/dt=2026-01-01").mkdir(parents=True)  # an export: no platform
    assert first_landed_date(landing) == date(2026, 11, 20)
    manifest_file(landing).parent.mkdir(parents=True)
    manifest_file(landing).write_text(
        json.dumps(
            {
                "version": 1,
                "records": [{"entity": "comments", "platform": "tiktok", "days": ["2026-09-03"]}],
                "raw": [],
            }
        )
    )
    assert first_landed_date(landing) == date(2026, 9, 3)


def _monthly_home(tmp_path, monkeypatch, fail_through: date | None = None):
    """A home whose landing starts on 2026-09-20, with dbt's builds recorded (not run): the
    month-by-month bookkeeping of pipeline.steps, without a warehouse to build."""
    from pipeline import steps, transform
    from pipeline.config import load

    (tmp_path / "landing/records/posts/platform=x/dt=2026-09-20").mkdir(parents=True)
    (tmp_path / "warehouse.duckdb").touch()
    settings = load({"KOL_HOME": str(tmp_path), "KOL_BUILD_MAX_DAYS": "10"}, env_file=None)
    builds = []

    def build(home, run_date, *, full_refresh, from_date, **_):
        builds.append((run_date, full_refresh, from_date))
        ok = run_date != fail_through
        return transform.DbtResult(ok=ok, failures=[] if ok else ["model.x: boom"])

    monkeypatch.setattr(transform, "run_dbt", build)
    return settings, steps, builds


def test_a_month_at_a_time_records_each_finished_month(tmp_path, monkeypatch) -> None:
    import pytest

    from pipeline.state import read_state, update_state

    settings, steps, builds = _monthly_home(tmp_path, monkeypatch, fail_through=D)
    with pytest.raises(steps.StepFailed, match=r"model\.x: boom"):
        steps.transform(settings, D, full_refresh=True)
    sept, octo = date(2026, 9, 30), date(2026, 10, 31)
    assert builds == [
        (sept, True, None),
        (octo, False, date(2026, 10, 1)),
        (D, False, date(2026, 11, 1)),
    ]
    # killed (here: failed) in November: the next build resumes after October
    assert read_state(settings)["built_through"] == octo.isoformat()
    builds.clear()
    update_state(settings, transform={"ok": False, "excluded_dates": []})
    monkeypatch.setattr("pipeline.transform.run_dbt", _ok_build(builds))
    steps.transform(settings, D)
    assert builds == [(D, False, date(2026, 11, 1))]
    assert read_state(settings)["built_through"] == D.isoformat()


def test_a_catch_up_of_many_missed_days_goes_a_month_at_a_time(tmp_path, monkeypatch) -> None:
    from pipeline.state import update_state

    settings, steps, builds = _monthly_home(tmp_path, monkeypatch)
    update_state(
        settings,
        transform={"ok": True, "run_date": "2026-09-19", "excluded_dates": []},
        built_through="2026-09-19",
    )
    out = steps.transform(settings, D)
    assert builds == [
        (date(2026, 9, 30), False, date(2026, 9, 20)),
        (date(2026, 10, 31), False, date(2026, 10, 1)),
        (D, False, date(2026, 11, 1)),
    ]
    assert out["builds_through"] == ["2026-09-30", "2026-10-31", D.isoformat()]


def _ok_build(builds):
    from pipeline import transform

    def build(home, run_date, *, full_refresh, from_date, **_):
        builds.append((run_date, full_refresh, from_date))
        return transform.DbtResult(ok=True)

    return build
