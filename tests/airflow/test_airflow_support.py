"""Run dates, Connections -> Settings, failure lines and ledger rows of the Airflow DAGs."""

from __future__ import annotations

import json
import logging
from datetime import UTC, date, datetime, timedelta, timezone
from types import SimpleNamespace

import kol_tasks as kol
import pytest
from airflow.sdk import Connection
from airflow.sdk.execution_time.context import TriggeringAssetEventsAccessor

from ingestion.records import PLATFORMS
from pipeline.policy import yesterday_utc
from pipeline.state import StepFailed

D = date(2026, 11, 24)
SOURCES = [*PLATFORMS, "exports"]


# --- run dates ---------------------------------------------------------------------------------


def test_the_midnight_run_processes_the_day_before():
    assert kol.date_from_logical_date(datetime(2026, 11, 25, 0, 0, tzinfo=UTC)) == D


def test_a_logical_date_in_another_timezone_is_read_in_utc():
    # 00:30 at UTC+2 is 22:30 UTC the day before: that run processes the day before that.
    tz = timezone(timedelta(hours=2))
    assert kol.date_from_logical_date(datetime(2026, 11, 25, 0, 30, tzinfo=tz)) == date(
        2026, 11, 23
    )


def test_a_naive_logical_date_is_refused():
    with pytest.raises(kol.RunDateError, match="no timezone"):
        kol.date_from_logical_date(datetime(2026, 11, 25))


def test_conf_date_overrides_the_logical_date():
    logical = datetime(2026, 11, 25, tzinfo=UTC)
    assert kol.extract_run_date({"date": "2026-10-01"}, logical) == date(2026, 10, 1)
    assert kol.extract_run_date({"date": None}, logical) == D
    assert kol.extract_run_date({}, logical) == D


def test_a_bad_conf_date_says_what_format_to_use():
    with pytest.raises(kol.RunDateError, match=r"'24/11/2026'.*YYYY-MM-DD"):
        kol.extract_run_date({"date": "24/11/2026"}, datetime(2026, 11, 25, tzinfo=UTC))


def test_a_run_without_logical_date_or_conf_says_how_to_trigger():
    with pytest.raises(kol.RunDateError, match=r'conf \{"date"'):
        kol.extract_run_date({}, None)


def _extra(source: str, d: date, status: str = "ok", reason: str = "") -> dict:
    return kol.Landed(source, d, status, reason).as_extra()


def test_transform_date_comes_from_the_landing_events():
    plan = kol.plan_from_events([(s, _extra(s, D)) for s in SOURCES])
    assert plan.run_date == D
    assert plan.notes == ()
    assert {s: got.status for s, got in plan.sources.items()} == dict.fromkeys(SOURCES, "ok")


def test_events_for_several_dates_build_the_latest_and_name_the_others():
    d0 = D - timedelta(days=1)
    events = [(s, _extra(s, d0)) for s in SOURCES] + [(s, _extra(s, D)) for s in SOURCES]
    plan = kol.plan_from_events(events)
    assert plan.run_date == D
    assert plan.notes == (f"events also for {d0}: the marts as of {D} include those landed days",)


def test_a_source_with_only_an_older_event_is_named_as_missing_for_d():
    d0 = D - timedelta(days=1)
    events = [(s, _extra(s, D)) for s in SOURCES if s != "tiktok"] + [
        ("tiktok", _extra("tiktok", d0))
    ]
    plan = kol.plan_from_events(events)
    assert plan.run_date == D
    assert f"tiktok: nothing landed for {D} in this run's events" in plan.notes
    assert f"tiktok nothing for {D} (latest {d0})" in plan.describe()


def test_skipped_sources_carry_their_reason_through_the_event():
    why = "KOL_X_TOKEN is not set: x skipped"
    plan = kol.plan_from_events(
        [(s, _extra(s, D, *(("skipped", why) if s == "x" else ()))) for s in SOURCES]
    )
    assert plan.sources["x"].status == "skipped" and plan.sources["x"].reason == why
    assert kol.TransformPlan.from_dict(plan.as_dict()) == plan


def test_events_without_a_date_are_not_a_run_date():
    with pytest.raises(kol.RunDateError, match="trigger kol_transform with conf"):
        kol.plan_from_events([("instagram", {}), ("x", {"date": "soon"})])


def test_triggering_asset_events_are_read_by_asset_uri():
    def ev(source: str, extra: dict):
        asset = kol.landing_asset(source)
        return SimpleNamespace(
            asset=SimpleNamespace(name=asset.name, uri=asset.uri), source_aliases=[], extra=extra
        )

    accessor = TriggeringAssetEventsAccessor.build([ev(s, _extra(s, D)) for s in SOURCES])
    got = kol.triggering_events({"triggering_asset_events": accessor})
    assert sorted(s for s, _ in got) == sorted(SOURCES)
    assert {e["date"] for _, e in got} == {"2026-11-24"}


def test_kol_run_id_is_stable_per_airflow_run_and_safe_in_paths():
    after = datetime(2026, 11, 25, 0, 0, 5, tzinfo=UTC)
    a = kol.kol_run_id(D, "kol_extract", "scheduled__2026-11-25T00:00:00+00:00", after)
    assert a == kol.kol_run_id(D, "kol_extract", "scheduled__2026-11-25T00:00:00+00:00", after)
    assert a != kol.kol_run_id(D, "kol_extract", "manual__2026-11-25T08:00:00+00:00", after)
    assert a.startswith("20261124-T000005-") and len(a) == len("20261124-T000005-abcdef")
    assert not set(a) & set(":+/ ")


# --- Connections -> Settings ---------------------------------------------------------------


@pytest.fixture
def env(tmp_path):
    return {
        "KOL_HOME": str(tmp_path / "kol"),
        "KOL_YOUTUBE_TOKEN": "env-yt-token",
        "KOL_YOUTUBE_BASE_URL": "http://env.example/youtube/v3",
        "KOL_X_TOKEN": "env-x-token",
        "KOL_INSTAGRAM_USER_ID": "17840000000000001",
    }


def _getter(*conns: Connection):
    by_id = {c.conn_id: c for c in conns}
    return by_id.get


def test_a_connection_wins_over_the_environment(env):
    yt = Connection(conn_id="kol_youtube", uri="http://:conn-yt-token@127.0.0.1:9000/youtube%2Fv3")
    s = kol.settings_from_airflow(environ=env, env_file=None, get_connection=_getter(yt))
    assert s.platforms["youtube"].token.reveal() == "conn-yt-token"
    assert s.platforms["youtube"].base_url == "http://127.0.0.1:9000/youtube/v3"
    # No connection for x: the environment's token and the default host.
    assert s.platforms["x"].token.reveal() == "env-x-token"
    assert s.platforms["x"].base_url == "https://api.x.com"
    assert not s.platforms["tiktok"].enabled


def test_what_a_connection_leaves_empty_falls_back_to_the_environment(env):
    yt = Connection(
        conn_id="kol_youtube",
        conn_type="http",
        extra=json.dumps({"base_url": "https://yt.example/v3/"}),
    )
    s = kol.settings_from_airflow(environ=env, env_file=None, get_connection=_getter(yt))
    assert s.platforms["youtube"].token.reveal() == "env-yt-token"
    assert s.platforms["youtube"].base_url == "https://yt.example/v3"


def test_instagram_connection_extra_names_the_business_account(env):
    ig = Connection(
        conn_id="kol_instagram",
        conn_type="https",
        host="graph.facebook.com",
        schema="v24.0",
        password="conn-ig-token",
        extra=json.dumps({"user_id": "17841400000000000"}),
    )
    s = kol.settings_from_airflow(environ=env, env_file=None, get_connection=_getter(ig))
    assert s.instagram_user_id == "17841400000000000"
    assert s.platforms["instagram"].base_url == "https://graph.facebook.com/v24.0"
    assert s.platforms["instagram"].enabled


def test_only_the_named_platforms_are_looked_up(env):
    asked = []
    kol.settings_from_airflow(
        ["tiktok"], environ=env, env_file=None, get_connection=lambda c: asked.append(c)
    )
    assert asked == ["kol_tiktok"]
    asked.clear()
    kol.settings_from_airflow(
        (), environ=env, env_file=None, get_connection=lambda c: asked.append(c)
    )
    assert asked == []


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"host": "https://open.tiktokapis.com"}, "https://open.tiktokapis.com"),
        ({"host": "api.x.com", "schema": "https"}, "https://api.x.com"),
        (
            {"conn_type": "http", "host": "127.0.0.1", "port": 8765, "schema": "x"},
            "http://127.0.0.1:8765/x",
        ),
        (
            {"host": "www.googleapis.com/youtube", "schema": "v3"},
            "https://www.googleapis.com/youtube/v3",
        ),
        ({}, None),
    ],
)
def test_base_url_from_connection_fields(fields, expected):
    assert kol.base_url_from_connection(Connection(conn_id="kol_x", **fields)) == expected


def test_no_token_shows_in_settings_repr_or_log_lines(env, caplog):
    yt = Connection(conn_id="kol_youtube", conn_type="http", host="h", password="conn-yt-token")
    s = kol.settings_from_airflow(environ=env, env_file=None, get_connection=_getter(yt))
    with caplog.at_level(logging.INFO, logger="kol.airflow"):
        kol.log.info("settings %s / %r", s, s.platforms)
    text = repr(s) + caplog.text
    assert "conn-yt-token" not in text and "env-x-token" not in text
    assert (
        kol.redact("401 for token=conn-yt-token and env-x-token", s)
        == "401 for token=REDACTED and REDACTED"
    )


# --- failure lines -------------------------------------------------------------------------


def test_failure_line_says_step_platform_date_and_why_without_the_token(env):
    s = kol.settings_from_airflow(environ=env, env_file=None, get_connection=_getter())
    ctx = {
        "ti": SimpleNamespace(dag_id="kol_extract", task_id="extract_youtube", try_number=4),
        "dag_run": SimpleNamespace(conf={}, logical_date=datetime(2026, 11, 25, tzinfo=UTC)),
        "exception": StepFailed("youtube said 403 to key env-yt-token\nmore detail"),
    }
    assert kol.failure_line(ctx, s) == (
        "KOL kol_extract: step extract failed (platform youtube, date 2026-11-24, try 4): "
        "StepFailed: youtube said 403 to key REDACTED"
    )


def test_failure_line_of_a_transform_task_reads_the_date_from_its_events():
    accessor = TriggeringAssetEventsAccessor.build(
        [
            SimpleNamespace(
                asset=SimpleNamespace(name="kol_landing_x", uri="kol://landing/x"),
                source_aliases=[],
                extra=_extra("x", D),
            )
        ]
    )
    ctx = {
        "ti": SimpleNamespace(dag_id="kol_transform", task_id="gate", try_number=1),
        "dag_run": SimpleNamespace(conf={}, logical_date=None),
        "triggering_asset_events": accessor,
        "exception": RuntimeError("boom"),
    }
    assert kol.failure_line(ctx) == (
        "KOL kol_transform: step gate failed (platform -, date 2026-11-24, try 1): RuntimeError: boom"
    )


# --- landing a past date ---------------------------------------------------------------------


def test_a_past_date_with_nothing_landed_is_skipped_without_calling_the_platform(env, tmp_path):
    closed = "http://127.0.0.1:9/graph"  # nothing listens on the discard port
    env = {**env, "KOL_FACEBOOK_TOKEN": "t", "KOL_FACEBOOK_BASE_URL": closed}
    s = kol.settings_from_airflow(environ=env, env_file=None, get_connection=_getter())
    past = yesterday_utc() - timedelta(days=3)
    m = kol.land_source(s, "facebook", past, "r1")
    assert m["status"] == "skipped"
    assert f"not {past}'s, and nothing was landed for {past}" in m["reason"]
    assert not (s.landing / "raw").exists()


def test_the_compact_task_compacts_old_months_under_the_writer_lock(env, monkeypatch):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingestion.records import api_schema
    from pipeline.runlock import RunLocked, run_lock

    env = {**env, "KOL_COMPACT_AFTER_DAYS": "40"}
    s = kol.settings_from_airflow(environ=env, env_file=None, get_connection=_getter())
    row = {"creator_id": "c1", "account_id": "a1", "run_id": "r", "username": "u"}
    for day in (date(2026, 9, 30), date(2026, 10, 1)):
        folder = s.landing / f"records/accounts/platform=tiktok/dt={day}"
        folder.mkdir(parents=True)
        rows = [{**row, "snapshot_date": day, "extracted_at": datetime(2026, 10, 2, tzinfo=UTC)}]
        table = pa.Table.from_pylist(rows, schema=api_schema("accounts", "tiktok"))
        pq.write_table(table, folder / "part-0.parquet")
    monkeypatch.setattr(kol, "LOCK_WAIT_SECONDS", 0.0)
    with run_lock(s.home, "another writer"), pytest.raises(RunLocked):
        kol.compact_landing(s, D, "r1")
    out = kol.compact_landing(s, D, "r1")
    # as of 11-24 with 40 days: September (ends 55 days before) goes, October (24) stays
    assert out["months"] == ["accounts/tiktok/2026-09"] and out["days_replaced"] == 1
    assert (s.landing / "records/accounts/platform=tiktok/dt=2026-10-01").is_dir()


# --- ledger rows ------------------------------------------------------------------------------


def _plan(**status: str) -> kol.TransformPlan:
    return kol.TransformPlan(
        D, {s: kol.Landed(s, D, status.get(s, "ok"), "why" if s in status else "") for s in SOURCES}
    )


def _state(s, **parts) -> None:
    s.home.mkdir(parents=True, exist_ok=True)
    (s.home / "state.json").write_text(json.dumps(parts))


BUILT = {
    "transform": {"ok": True},
    "gate": {"failures": []},
    "publish": {"rows": {"creator_scorecard": 7}, "checksum": "abc"},
}


def test_ledger_row_of_a_published_run(env):
    s = kol.settings_from_airflow((), environ=env, env_file=None)
    row = kol.run_summary(s, _plan(), "r1", "t0", BUILT)
    assert (row.status, row.message, row.marts, row.checksum) == (
        "published",
        "all sources landed",
        {"creator_scorecard": 7},
        "abc",
    )
    assert row.stages["gate"] == "passed" and row.stages["extract:youtube"] == "ok"


def test_ledger_row_is_partial_when_a_platform_was_skipped(env):
    s = kol.settings_from_airflow((), environ=env, env_file=None)
    row = kol.run_summary(s, _plan(tiktok="skipped"), "r1", "t0", BUILT)
    assert row.status == "partial"
    assert row.message == "tiktok: skipped (why)"


def test_ledger_row_of_a_rejected_gate_names_the_failures(env):
    s = kol.settings_from_airflow((), environ=env, env_file=None)
    d = D.isoformat()
    _state(
        s,
        transform={"ok": True, "run_date": d},
        gate={"passed": False, "run_date": d, "failures": ["volume of x fell 90%"]},
    )
    row = kol.run_summary(s, _plan(), "r1", "t0", None)
    assert (row.status, row.gate_failures, row.stages["gate"]) == (
        "gate_failed",
        ["volume of x fell 90%"],
        "failed",
    )
    assert "publish" not in row.stages


def test_ledger_row_of_a_failed_transform_ignores_another_dates_state(env):
    s = kol.settings_from_airflow((), environ=env, env_file=None)
    _state(s, transform={"ok": True, "run_date": "2026-11-01"}, gate={"passed": True})
    row = kol.run_summary(s, _plan(), "r1", "t0", None)
    assert (row.status, row.stages["transform"]) == ("failed", "failed")
    assert row.message == "transform failed: see the task log"
