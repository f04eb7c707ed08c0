"""The marts find what the sandbox world was built to show (slow: real extraction + dbt build).

A small seeded world is served by the real sandbox, extracted by the real extractors for three
days and built once: the platform the world makes lag must have the highest lag_index, and bot
accounts (bought followers, spam comments, inflated following) must score a lower
audience_quality_score than the genuine accounts of the same tier.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from statistics import mean

import duckdb
import pytest

from ingestion.exports import load_exports
from ingestion.extract import ExtractRequest, extract_platform
from ingestion.records import PLATFORMS
from ingestion.roster import read_roster
from pipeline.transform import run_dbt
from sandbox import SANDBOX_IG_USER_ID, SandboxServer, WorldConfig, export_world
from sandbox.text import SPAM_COMMENTS
from sandbox.world import World

pytestmark = [pytest.mark.integration, pytest.mark.slow]

END = date(2026, 11, 20)
DAYS = 3
CONFIG = WorldConfig(seed=42, creators=30, end_date=END)


def land_world(home: Path) -> None:
    world_dir = home / "world"
    world_dir.mkdir(parents=True)
    export_world(CONFIG, world_dir)
    roster = read_roster(world_dir / "roster.csv")
    server = SandboxServer(CONFIG, token="sandbox")
    urls = server.start()
    try:
        for offset in range(DAYS - 1, -1, -1):
            day = END - timedelta(days=offset)
            server.set_clock(day)
            run_id = f"{day:%Y%m%d}-T000000-abc123"
            for platform in PLATFORMS:
                extract_platform(
                    ExtractRequest(
                        platform=platform,
                        run_date=day,
                        run_id=run_id,
                        landing_root=home / "landing",
                        roster=[e for e in roster.entries if e.platform == platform],
                        base_url=urls[platform],
                        token="sandbox",
                        instagram_user_id=SANDBOX_IG_USER_ID,
                        salt="test-salt",
                    )
                )
            load_exports(
                world_dir, home / "landing", day, run_id, roster.entries, roster.quarantined
            )
    finally:
        server.stop()


@pytest.fixture(scope="module")
def sandbox_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    home = tmp_path_factory.mktemp("sandbox_world")
    land_world(home)
    result = run_dbt(home, END, full_refresh=True)
    assert result.ok, result.failures
    return home


def test_platform_comparison_finds_the_lagging_platform(sandbox_home: Path) -> None:
    truth = World(CONFIG).truth()
    with duckdb.connect(str(sandbox_home / "warehouse.duckdb"), read_only=True) as con:
        ranking = con.execute(
            "select platform from platform_comparison where tier = 'all' and month = ? "
            "order by lag_index desc",
            [END.replace(day=1)],
        ).fetchall()
    assert ranking[0][0] == truth["lagging_platform"]
    assert ranking[-1][0] == truth["leading_platform"]


def test_bots_score_lower_audience_quality_than_genuine_accounts_of_their_tier(
    sandbox_home: Path,
) -> None:
    bots = {tuple(b) for b in World(CONFIG).truth()["bot_accounts"]}
    with duckdb.connect(str(sandbox_home / "warehouse.duckdb"), read_only=True) as con:
        cards = con.execute(
            "select s.platform, a.handle, s.tier, s.audience_quality_score "
            "from creator_scorecard s join dim_creator_accounts a using (creator_id, platform) "
            "where s.audience_quality_score is not null"
        ).fetchall()
    by_tier: dict[str, dict[bool, list[float]]] = {}
    for platform, handle, tier, score in cards:
        by_tier.setdefault(tier, {True: [], False: []})[(platform, handle) in bots].append(score)
    compared = {t: g for t, g in by_tier.items() if g[True] and g[False]}
    assert compared, "the world should have bots and genuine accounts in a shared tier"
    for tier, groups in compared.items():
        assert mean(groups[True]) < mean(groups[False]), (tier, groups)


def test_planted_new_voices_start_when_they_joined(sandbox_home: Path) -> None:
    """X/YouTube date a start by account creation (a new voice opens its account up to 3 days
    before its first post); the others by the first post of a first-sight pull that shows 14
    quiet days before it, so only new voices joining after that point are datable there."""
    joined = {
        (p, h): date.fromisoformat(d) for p, h, d in World(CONFIG).truth()["new_voice_accounts"]
    }
    with duckdb.connect(str(sandbox_home / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select platform, handle, started_on, started_by, first_seen_date "
            "from dim_creator_accounts where first_seen_date is not null"
        ).fetchall()
    assert joined, "the world should plant new voices"
    checked = 0
    for platform, handle, started_on, started_by, first_seen in rows:
        join = joined.get((platform, handle))
        if platform in ("x", "youtube"):
            assert started_by == "account_created", (platform, handle)
            if join is not None:
                assert join - timedelta(days=3) <= started_on <= join, (platform, handle)
                checked += 1
            else:
                assert started_on < first_seen - timedelta(days=150), (platform, handle)
        elif join is not None and join > first_seen - timedelta(days=90 - 14):
            assert started_by == "first_post" and join <= started_on <= join + timedelta(days=21)
            checked += 1
        elif join is None:
            # an established account: its first-sight pull finds posts from the window's start
            assert started_by is None, (platform, handle, started_on)
    assert checked > 0


def test_planted_new_voices_are_counted_in_the_months_they_started(sandbox_home: Path) -> None:
    """platform_comparison.new_creators counts, per month, the accounts that started then,
    months before the first snapshot included (the first-sight pull's whole months)."""
    joined = {
        (p, h): date.fromisoformat(d) for p, h, d in World(CONFIG).truth()["new_voice_accounts"]
    }
    with duckdb.connect(str(sandbox_home / "warehouse.duckdb"), read_only=True) as con:
        counted = {
            (p, m): n
            for p, m, n in con.execute(
                "select platform, month, new_creators from platform_comparison where tier = 'all'"
            ).fetchall()
        }
        starts = con.execute(
            "select platform, handle, started_on from dim_creator_accounts "
            "where started_on is not null"
        ).fetchall()
    expected: dict[tuple[str, date], int] = {}
    planted_in_spine = 0
    for platform, handle, started_on in starts:
        month = started_on.replace(day=1)
        if (platform, month) in counted:
            expected[(platform, month)] = expected.get((platform, month), 0) + 1
            planted_in_spine += (platform, handle) in joined
    assert planted_in_spine > 0, "planted new voices should start inside the compared months"
    first_snapshot_month = END.replace(day=1) - timedelta(days=DAYS)
    assert any(m < first_snapshot_month.replace(day=1) for _, m in expected), expected
    for key, n in counted.items():
        assert n == expected.get(key, 0), (key, n, expected.get(key, 0))


def test_spam_rules_find_the_planted_bot_comments(sandbox_home: Path) -> None:
    """Comment authenticity against the world's planted spam (its SPAM_COMMENTS bodies): almost
    every flagged comment is planted spam on every platform, and most planted spam is flagged
    (what the generic-phrase seed does not list is caught only where commenters are named)."""
    with duckdb.connect(str(sandbox_home / "warehouse.duckdb")) as con:
        con.execute("create temp table planted(body varchar)")
        con.executemany("insert into planted values (?)", [[b] for b in set(SPAM_COMMENTS)])
        rows = con.execute(
            """
            with flagged as (
                select platform,
                       is_emoji_only or is_generic or (author_hash is not null and count(*) over
                           (partition by platform, creator_id, author_hash, normalised_text) > 1)
                           as flagged,
                       regexp_replace(comment_text, '^(@\\S+\\s+)+', '') in
                           (select body from planted) as planted
                from int_comment_features
            )
            select platform,
                   count(*) filter (where flagged and planted) / count(*) filter (where flagged),
                   count(*) filter (where flagged and planted) / count(*) filter (where planted)
            from flagged group by platform
            """
        ).fetchall()
    assert len(rows) == len(PLATFORMS)
    for platform, precision, recall in rows:
        assert precision >= 0.95, (platform, precision)
        assert recall >= 0.7, (platform, recall)
