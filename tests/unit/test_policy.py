"""The run policy decides what a date's run does, for the CLI and the DAGs alike."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest

from pipeline import config, policy
from pipeline.state import StepFailed

TODAY = date(2026, 11, 26)


@pytest.fixture
def settings(tmp_path):
    env = {"KOL_HOME": str(tmp_path / "kol"), "KOL_TIKTOK_TOKEN": "t", "KOL_X_TOKEN": "t"}
    return config.load(env, env_file=None)


def _landed(settings, source: str, d: date, status: str = "ok") -> None:
    path = settings.landing / "manifests" / f"dt={d}" / f"{source}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"source": source, "status": status, "run_id": "r0"}))


def test_the_latest_complete_day_is_extracted(settings):
    d = TODAY - timedelta(days=1)
    assert policy.plan_source(settings, "tiktok", d, TODAY).action == "extract"
    assert policy.plan_source(settings, "exports", d, TODAY).action == "extract"


def test_a_platform_without_credential_is_skipped_whatever_the_date(settings):
    plan = policy.plan_source(settings, "youtube", TODAY - timedelta(days=1), TODAY)
    assert plan.action == "skip" and "KOL_YOUTUBE_TOKEN is not set" in plan.reason


def test_an_older_date_is_reparsed_from_its_landed_raw_pages_never_extracted(settings):
    past = TODAY - timedelta(days=2)
    _landed(settings, "tiktok", past)
    _landed(settings, "exports", past)
    assert policy.plan_source(settings, "tiktok", past, TODAY).action == "reparse"
    assert policy.plan_source(settings, "exports", past, TODAY).action == "keep"


def test_an_older_date_with_nothing_landed_is_skipped_with_the_reason(settings):
    past = TODAY - timedelta(days=2)
    _landed(settings, "x", past, status="failed")  # a failed landing holds nothing to reparse
    plan = policy.plan_source(settings, "x", past, TODAY)
    assert plan.action == "skip"
    assert plan.reason == (
        f"x serves today's counts, not {past}'s, and nothing was landed for {past}"
    )
    assert policy.plan_source(settings, "exports", past, TODAY).action == "skip"


def test_a_date_after_today_is_refused(settings):
    with pytest.raises(StepFailed, match="is after today"):
        policy.plan_source(settings, "tiktok", TODAY + timedelta(days=1), TODAY)


def test_kol_today_is_the_date_the_sources_serve(tmp_path):
    s = config.load({"KOL_HOME": str(tmp_path), "KOL_TODAY": "2026-03-01"}, env_file=None)
    assert policy.source_today(s) == date(2026, 3, 1)
    with pytest.raises(config.ConfigError, match="KOL_TODAY='03/01/2026': not a date"):
        config.load({"KOL_HOME": str(tmp_path), "KOL_TODAY": "03/01/2026"}, env_file=None)


def test_only_a_platform_that_landed_nothing_is_retried():
    assert policy.should_retry({"status": "failed"})
    assert not any(policy.should_retry({"status": s}) for s in ("ok", "partial", "skipped"))


def test_a_run_without_roster_or_exports_is_a_clear_error_before_any_work(settings):
    with pytest.raises(config.ConfigError, match="KOL_ROSTER and KOL_EXPORTS_DIR not set"):
        policy.run_day(settings, TODAY - timedelta(days=1), today=TODAY)
    assert not settings.landing.exists()
