"""The synthetic world: determinism, export formats, intended platform differences, scale."""

from __future__ import annotations

import csv
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from sandbox import FaultConfig, World, WorldConfig, export_world, world_stats
from sandbox.exports import FILES, roster_rows
from sandbox.profiles import tier_of

END = date(2026, 11, 24)
SMALL = WorldConfig(seed=7, creators=20, days=30, end_date=END)


def _read(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    return export_world(
        WorldConfig(seed=42, creators=50, days=60, end_date=END), tmp_path_factory.mktemp("exports")
    )


def test_same_seed_gives_byte_identical_exports_and_another_seed_differs(tmp_path: Path) -> None:
    a = export_world(SMALL, tmp_path / "a")
    b = export_world(SMALL, tmp_path / "b")
    c = export_world(WorldConfig(seed=8, creators=20, days=30, end_date=END), tmp_path / "c")
    assert set(a) == {
        "roster",
        "brands",
        "campaigns",
        "campaign_creators",
        "conversions",
        "fx_rates",
    }
    for name in a:
        assert a[name].read_bytes() == b[name].read_bytes(), name
    assert a["roster"].read_bytes() != c["roster"].read_bytes()
    assert a["campaigns"].read_bytes() != c["campaigns"].read_bytes()


def test_export_headers_are_exactly_the_documented_columns(exported: dict[str, Path]) -> None:
    for name, path in exported.items():
        header = path.read_text(encoding="utf-8").splitlines()[0]
        assert header == ",".join(FILES[name]), name
    assert FILES["roster"] == (
        "creator_id",
        "display_name",
        "platform",
        "handle",
        "account_id",
        "niche",
        "country",
        "language",
    )


def test_roster_account_id_follows_the_per_platform_rules(exported: dict[str, Path]) -> None:
    rows = _read(exported["roster"])
    by_platform: dict[str, list[dict[str, str]]] = {}
    for r in rows:
        by_platform.setdefault(r["platform"], []).append(r)
    assert set(by_platform) == {"instagram", "facebook", "tiktok", "youtube", "x"}
    assert all(r["account_id"] == "" for r in by_platform["tiktok"])
    assert all(r["account_id"] for r in by_platform["facebook"])
    assert all(
        r["account_id"].startswith("UC") and len(r["account_id"]) == 24
        for r in by_platform["youtube"]
    )
    ig_set = sum(1 for r in by_platform["instagram"] if r["account_id"])
    assert 0.35 < ig_set / len(by_platform["instagram"]) < 0.8  # ~60% authorised
    x_ids = [r["account_id"] for r in by_platform["x"]]
    assert "" in x_ids and any(x_ids)  # some X ids left for the client to resolve
    assert len({(r["creator_id"], r["platform"]) for r in rows}) == len(rows)
    assert {r["language"] for r in rows} >= {"en", "es", "pt", "id"}


def test_campaign_exports_are_consistent_with_the_world(exported: dict[str, Path]) -> None:
    world = World(WorldConfig(seed=42, creators=50, days=60, end_date=END))
    campaigns = {r["campaign_id"]: r for r in _read(exported["campaigns"])}
    brands = {r["brand_id"] for r in _read(exported["brands"])}
    roster = {(r["creator_id"], r["platform"]) for r in _read(exported["roster"])}
    for c in campaigns.values():
        assert c["brand_id"] in brands
        assert (
            world.start
            <= date.fromisoformat(c["start_date"])
            <= date.fromisoformat(c["end_date"])
            <= END
        )
        assert c["hashtag"].startswith("#") and c["hashtag"] in c["brief"]
        assert c["currency"] in {"USD", "EUR", "GBP", "IDR", "BRL", "JPY"}
    links = _read(exported["campaign_creators"])
    explicit = [r for r in links if r["post_ids"]]
    assert explicit and len(explicit) < len(links)  # both attribution styles occur
    for r in links:
        assert r["campaign_id"] in campaigns and (r["creator_id"], r["platform"]) in roster
        float(r["fee"])
    for r in explicit:  # every listed post exists, belongs to that creator and carries the tag
        tag = campaigns[r["campaign_id"]]["hashtag"]
        for pid in r["post_ids"].split(";"):
            acc, k = world.resolve_post(r["platform"], pid)
            assert acc.creator.creator_id == r["creator_id"]
            assert tag in world.post(acc, k).caption
    conversions = _read(exported["conversions"])
    assert conversions and all(r["platform"] for r in conversions)
    assert all(int(r["orders"]) <= int(r["clicks"]) for r in conversions)


def test_fx_rates_cover_every_day_except_weekend_gaps_of_one_currency(
    exported: dict[str, Path],
) -> None:
    rows = _read(exported["fx_rates"])
    have = {(r["date"], r["currency"]) for r in rows}
    assert all("e" not in r["usd_per_unit"] for r in rows)  # plain decimals
    start = END - timedelta(days=59)
    d = start
    while d <= END:
        for cur in ("USD", "EUR", "GBP", "IDR", "JPY"):
            assert (d.isoformat(), cur) in have
        assert ((d.isoformat(), "BRL") in have) == (d.weekday() < 5)
        d += timedelta(days=1)


def test_world_stats_show_the_intended_landscape() -> None:
    stats = world_stats(WorldConfig(seed=42, creators=50, days=120, end_date=END))
    shares = stats["tier_shares"]
    for tier in ("emerging", "nano", "micro", "mid", "macro", "mega"):
        assert shares.get(tier, 0) > 0, tier
    assert abs(sum(shares.values()) - 1) < 1e-9
    assert 0.05 <= stats["bot_share"] <= 0.15
    lead = stats["platforms"][stats["leading_platform"]]
    lag = stats["platforms"][stats["lagging_platform"]]
    assert (stats["leading_platform"], stats["lagging_platform"]) == ("tiktok", "facebook")
    assert lead["median_engagement_rate"] > 3 * lag["median_engagement_rate"]
    assert lead["median_follower_growth_30d"] > lag["median_follower_growth_30d"]
    assert lead["niche_diversity_index"] > lag["niche_diversity_index"]
    assert lead["new_voice_share"] > lag["new_voice_share"]
    assert lag["accounts"] < lead["accounts"]  # few Facebook pages


def test_bots_have_follower_jumps_without_matching_engagement(world: World) -> None:
    bots = [a for a in world.iter_accounts() if a.bot]
    assert bots
    truth = world.truth()
    assert sorted(truth["bot_accounts"]) == sorted((a.platform, a.handle) for a in bots)
    for acc in bots:
        gains = [b - a for a, b in zip(acc.followers, acc.followers[1:], strict=False)]
        organic = [b - a for a, b in zip(acc.organic, acc.organic[1:], strict=False)]
        assert max(gains) > 10 * max(1, max(organic))  # a one-day jump
        assert max(gains) / acc.followers[-1] > 0.1


def test_post_counts_grow_with_age_saturate_and_may_arrive_late(world: World) -> None:
    acc = next(world.iter_accounts("tiktok"))
    post = world.post(acc, 0)
    seq = [world.metrics(post, post.ts + h * 3600).likes for h in (0, 1, 6, 24, 72, 24 * 30)]
    assert seq == sorted(seq)
    assert seq[-1] <= post.likes and seq[-1] >= 0.95 * post.likes
    late = next(
        world.post(a, k)
        for a in world.iter_accounts()
        for k in range(40)
        if k < len(a.times) and world.post(a, k).lag_h > 5
    )
    assert world.metrics(late, late.ts + int(late.lag_h * 3600) - 60).likes == 0


def test_comments_carry_known_sentiment_in_several_languages(world: World) -> None:
    seen_labels, seen_langs = set(), set()
    for acc in world.iter_accounts():
        post = world.post(acc, len(acc.times) // 2)
        for j in range(min(post.comments, 40)):
            c = world.comment(acc, post, j)
            seen_labels.add(c.sentiment)
            seen_langs.add(c.language)
    assert seen_labels == {"positive", "neutral", "negative", "spam"}
    assert {"en", "es", "pt", "id"} <= seen_langs


def test_tiers_follow_metrics_md_thresholds() -> None:
    cases = {
        None: "unknown",
        999: "emerging",
        1000: "nano",
        9999: "nano",
        10_000: "micro",
        49_999: "micro",
        50_000: "mid",
        499_999: "mid",
        500_000: "macro",
        999_999: "macro",
        1_000_000: "mega",
    }
    for followers, tier in cases.items():
        assert tier_of(followers) == tier


def test_agency_world_of_20000_accounts_is_generated_lazily() -> None:
    world = World(WorldConfig(seed=1, creators=8400, days=120, end_date=END), cache_size=64)
    t0 = time.perf_counter()
    n = sum(1 for _ in roster_rows(world))
    assert n >= 20_000
    assert time.perf_counter() - t0 < 20  # ~1 s on an idle core
    assert len(world._accounts) == 0  # the roster needs no account state
    t0 = time.perf_counter()
    for i in range(0, 8400, 84):
        for p in world.creator(i).platforms:
            acc = world.account(i, p)
            assert world.account_by_handle(p, acc.handle) in (acc, None)
    per_account = (time.perf_counter() - t0) / 100
    assert per_account < 0.05
    assert len(world._accounts) <= 64  # bounded cache, not the whole world


def test_clock_dates_outside_the_world_are_refused(world: World) -> None:
    world.check_date(world.start)
    world.check_date(world.end)
    with pytest.raises(ValueError, match="outside the sandbox world"):
        world.check_date(world.end + timedelta(days=1))
    with pytest.raises(ValueError, match="outside the sandbox world"):
        world.check_date(world.start - timedelta(days=1))


def test_fault_spec_parses_modes_rates_and_settings() -> None:
    cfg = FaultConfig.parse("rate_limit=0.2, server_error=0.05,glitch,slow_seconds=0.5,seed=3")
    assert cfg.rates == {"rate_limit": 0.2, "server_error": 0.05, "glitch": 1.0}
    assert cfg.slow_seconds == 0.5 and cfg.seed == 3
    assert FaultConfig.parse(cfg.spec()) == cfg
    assert FaultConfig.parse("") == FaultConfig()
    with pytest.raises(ValueError, match="unknown fault mode 'rate_limt'"):
        FaultConfig.parse("rate_limt=0.2")
    with pytest.raises(ValueError, match="between 0 and 1"):
        FaultConfig.parse("server_error=1.5")
    with pytest.raises(ValueError, match="needs a value"):
        FaultConfig.parse("timeout_seconds")


@pytest.mark.parametrize("creators", [1, 4, 9])
def test_even_a_tiny_world_has_a_known_account_on_every_platform(creators: int) -> None:
    world = World(WorldConfig(seed=4, creators=creators, days=5, end_date=END))
    known = {a.platform for a in world.iter_accounts() if a.known}
    assert known == {"instagram", "facebook", "tiktok", "youtube", "x"}


def test_past_campaigns_are_a_world_setting_inside_the_world() -> None:
    cfg = WorldConfig(seed=42, creators=50, days=120, end_date=END)
    world, without = World(cfg), World(WorldConfig(**{**cfg.__dict__, "past_campaigns": 0}))
    base = len(without.campaigns)
    assert cfg.resolved_past_campaigns() == 60  # the demo world's size: 1.2 per creator
    assert len(world.campaigns) == base + 60
    # the brands' own campaigns are the same with or without the past ones
    assert [c.campaign_id for c in world.campaigns[:base]] == [
        c.campaign_id for c in without.campaigns
    ]
    past = world.campaigns[base:]
    assert len({c.hashtag for c in world.campaigns}) == len(world.campaigns)
    assert all(world.start <= c.start <= c.end <= END - timedelta(days=3) for c in past)
    relations = [
        world.niche_relation(world.creator(cc.creator_index).niche, c.brand.category)
        for c in past
        for cc in c.creators
    ]
    # a mix to learn from: every relation present, the brand's niche the most common
    assert {r: relations.count(r) for r in ("same", "adjacent", "unrelated")}["same"] == max(
        relations.count(r) for r in ("same", "adjacent", "unrelated")
    )
    assert min(relations.count(r) for r in ("same", "adjacent", "unrelated")) > 30


def test_campaign_outcomes_follow_the_hidden_fit() -> None:
    world = World(WorldConfig(seed=42, creators=50, days=120, end_date=END))
    fits: dict[str, list[float]] = {"same": [], "adjacent": [], "unrelated": []}
    for camp in world.campaigns:
        for cc in camp.creators:
            c = world.creator(cc.creator_index)
            # the same contract's fit is deterministic
            fit = world.campaign_fit(camp, cc.creator_index, cc.platform)
            assert fit == world.campaign_fit(camp, cc.creator_index, cc.platform)
            if not world.is_bot(cc.creator_index, cc.platform):
                fits[world.niche_relation(c.niche, camp.brand.category)].append(fit)
    median = {k: sorted(v)[len(v) // 2] for k, v in fits.items()}
    # README: log-fit 0 same / -0.7 adjacent / -1.8 unrelated, plus country and noise
    assert median["same"] > 1.5 * median["adjacent"] > 1.5 * 1.5 * median["unrelated"]
