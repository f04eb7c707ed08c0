"""The roster and the campaign-management exports of a sandbox world, and its statistics.

Formats follow docs/architecture.md "Inputs" exactly. Files are written streaming
(one creator at a time), atomically (temporary name, then rename), with fixed number
formatting, so the same config always gives byte-identical files.
"""

from __future__ import annotations

import csv
import math
import os
import statistics
from collections import Counter
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ingestion.records import EXPORT_SCHEMAS
from sandbox._rng import rng, str_key
from sandbox.entities import Campaign, CampaignCreator
from sandbox.profiles import PLATFORMS, PROFILES, tier_of
from sandbox.world import World, WorldConfig

# The CSV headers the agency's exports and roster use: the landing contract's columns.
FILES: dict[str, tuple[str, ...]] = {
    name: tuple(schema.names) for name, schema in EXPORT_SCHEMAS.items()
}
WHOLE_UNIT_CURRENCIES = ("IDR", "JPY")


def money(amount: float, currency: str) -> str:
    """Fixed formatting: whole units for IDR/JPY, cents otherwise."""
    return f"{amount:.0f}" if currency in WHOLE_UNIT_CURRENCIES else f"{amount:.2f}"


def roster_rows(world: World) -> Any:
    """One row per creator account, generated lazily (no account state is built)."""
    for c in world.iter_creators():
        for p in c.platforms:
            yield {
                "creator_id": c.creator_id,
                "display_name": c.display_name,
                "platform": p,
                "handle": world.handle(c, p),
                "account_id": world.roster_account_id(c, p),
                "niche": c.niche,
                "country": c.country,
                "language": c.language,
            }


def fee_usd(world: World, camp: Campaign, cc: CampaignCreator) -> float:
    """Contract fee: followers at campaign start x the platform's rate (Facebook dearest)."""
    acc = world.account(cc.creator_index, cc.platform)
    assert acc is not None
    followers = world.followers_on(acc, camp.start)
    r = rng(world.seed, 13, str_key(camp.campaign_id), cc.creator_index, str_key(cc.platform))
    rate = PROFILES[cc.platform].fee_usd_per_1k_followers * math.exp(r.gauss(0, 0.25))
    return 50 + followers / 1000 * rate


def campaign_rows(world: World) -> Any:
    for camp in world.campaigns:
        fx = world.fx_rate(camp.currency, camp.start)
        fees = sum(fee_usd(world, camp, cc) for cc in camp.creators) / fx
        yield {
            "campaign_id": camp.campaign_id,
            "brand_id": camp.brand.brand_id,
            "name": camp.name,
            "objective": camp.objective,
            "start_date": camp.start.isoformat(),
            "end_date": camp.end.isoformat(),
            "budget": money(fees * 1.25, camp.currency),
            "currency": camp.currency,
            "hashtag": camp.hashtag,
            "brief": camp.brief,
        }


def campaign_creator_rows(world: World) -> Any:
    for camp in world.campaigns:
        for cc in camp.creators:
            # most contracts are in the campaign's currency, some in USD
            r = rng(world.seed, 14, str_key(camp.campaign_id), cc.creator_index)
            currency = "USD" if r.random() < 0.2 else camp.currency
            fee = fee_usd(world, camp, cc) / world.fx_rate(currency, camp.start)
            ids = world.campaign_post_ids(camp, cc) if cc.explicit else []
            yield {
                "campaign_id": camp.campaign_id,
                "creator_id": world.creator(cc.creator_index).creator_id,
                "platform": cc.platform,
                "fee": money(fee, currency),
                "currency": currency,
                "post_ids": ";".join(ids),
            }


def conversion_rows(world: World) -> Any:
    for camp in world.campaigns:
        for cc in camp.creators:
            acc = world.account(cc.creator_index, cc.platform)
            assert acc is not None
            r = rng(
                world.seed, 15, str_key(camp.campaign_id), cc.creator_index, str_key(cc.platform)
            )
            # clicks follow engaged audience (followers x engagement), so high-engagement
            # platforms convert better per dollar; a per-contract factor spreads ROI both ways
            engaged = world.followers_on(acc, camp.start) * PROFILES[cc.platform].engagement_rate
            engaged *= world.campaign_fit(camp, cc.creator_index, cc.platform)
            daily_clicks = engaged * 0.08 * math.exp(r.gauss(0, 0.8))
            conv_rate = 0.01 + 0.04 * r.random()
            aov_usd = 20 + 60 * r.random()
            d = camp.start
            last = min(camp.end + timedelta(days=7), world.end)
            while d <= last:
                clicks = int(daily_clicks * 2 * r.random())
                if clicks > 0 and r.random() < 0.7:
                    orders = int(clicks * conv_rate * (0.5 + r.random()))
                    revenue = orders * aov_usd * (0.8 + 0.4 * r.random())
                    revenue /= world.fx_rate(camp.currency, d)
                    yield {
                        "campaign_id": camp.campaign_id,
                        "creator_id": world.creator(cc.creator_index).creator_id,
                        "date": d.isoformat(),
                        "clicks": clicks,
                        "orders": orders,
                        "revenue": money(revenue, camp.currency),
                        "currency": camp.currency,
                        "platform": cc.platform,
                    }
                d += timedelta(days=1)


def fx_rows(world: World) -> Any:
    for (currency, d), value in sorted(world.fx.items(), key=lambda kv: (kv[0][1], kv[0][0])):
        yield {"date": d.isoformat(), "currency": currency, "usd_per_unit": _decimal(value)}


def _decimal(value: float) -> str:
    """Plain decimal notation (no exponent) for rates like IDR's 0.0000638."""
    return f"{value:.12f}".rstrip("0").rstrip(".")


def brand_rows(world: World) -> Any:
    for b in world.brands:
        yield {
            "brand_id": b.brand_id,
            "name": b.name,
            "category": b.category,
            "target_countries": ";".join(b.target_countries),
        }


def export_world(cfg: WorldConfig, out_dir: Path) -> dict[str, Path]:
    """Write roster.csv and the five export files; returns name -> path."""
    world = World(cfg)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    producers = {
        "roster": roster_rows,
        "brands": brand_rows,
        "campaigns": campaign_rows,
        "campaign_creators": campaign_creator_rows,
        "conversions": conversion_rows,
        "fx_rates": fx_rows,
    }
    paths = {}
    for name, produce in producers.items():
        paths[name] = _write_csv(out_dir / f"{name}.csv", FILES[name], produce(world))
    return paths


def _write_csv(path: Path, columns: tuple[str, ...], rows: Any) -> Path:
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    os.replace(tmp, path)
    return path


# ---- statistics of a world (what the marts should find) ---------------------------------


def engagement_rate(world: World, acc: Any, as_of: date) -> float | None:
    """engagement_rate (docs/metrics.md): mean over the latest 12 posts of the last 90 days of
    engagements / followers (as the marts compute it; platform engagement definitions)."""
    followers = world.followers_on(acc, as_of)
    if acc.hidden_subscribers or followers <= 0:
        return None
    now = world.instant(as_of)
    floor = now - 90 * 86400
    rates = []
    k = world.visible_count(acc, now) - 1
    while k >= 0 and len(rates) < 12 and acc.times[k] >= floor:
        m = world.metrics(world.post(acc, k), now)
        eng = m.likes + m.comments + m.shares
        if acc.platform == "instagram" or acc.platform == "x":
            eng += m.saves
        rates.append(eng / followers)
        k -= 1
    return sum(rates) / len(rates) if rates else None


def world_stats(cfg: WorldConfig) -> dict[str, Any]:
    """Tier shares, per-platform median engagement and growth, bot share and counts."""
    world = World(cfg)
    tiers: Counter[str] = Counter()
    per_platform: dict[str, dict[str, Any]] = {}
    n_accounts = n_bots = n_posts = 0
    for p in PLATFORMS:
        ers, growth, niches, new_voices, count, bots = [], [], Counter(), 0, 0, 0
        p_tiers: Counter[str] = Counter()
        for acc in world.iter_accounts(p):
            count += 1
            bots += acc.bot
            n_posts += world.visible_count(acc, world.instant(world.end))
            followers = None if acc.hidden_subscribers else acc.followers[-1]
            tiers[tier_of(followers)] += 1
            p_tiers[tier_of(followers)] += 1
            niches[acc.creator.niche] += 1
            new_voices += acc.new_voice
            er = engagement_rate(world, acc, world.end)
            if er is not None:
                ers.append(er)
            if world.n_days > 30 and acc.followers[-31] > 0:
                growth.append(acc.followers[-1] / acc.followers[-31] - 1)
        n_accounts += count
        n_bots += bots
        per_platform[p] = {
            "accounts": count,
            "median_engagement_rate": statistics.median(ers) if ers else None,
            "median_follower_growth_30d": statistics.median(growth) if growth else None,
            "niche_diversity_index": _diversity(niches),
            "new_voice_share": new_voices / count if count else 0.0,
            "bot_share": bots / count if count else 0.0,
            "tiers": dict(p_tiers),
        }
    return {
        "creators": cfg.creators,
        "accounts": n_accounts,
        "posts": n_posts,
        "brands": len(world.brands),
        "campaigns": len(world.campaigns),
        "bot_share": n_bots / n_accounts if n_accounts else 0.0,
        "tier_shares": {t: n / n_accounts for t, n in sorted(tiers.items())},
        "platforms": per_platform,
        "leading_platform": world.truth_platforms()[0],
        "lagging_platform": world.truth_platforms()[1],
    }


def _diversity(niches: Counter[str]) -> float:
    """Shannon entropy of niches / ln(number of niches in the world) (docs/metrics.md)."""
    from sandbox.text import NICHES

    total = sum(niches.values())
    if total == 0:
        return 0.0
    h = -sum(n / total * math.log(n / total) for n in niches.values() if n)
    return h / math.log(len(NICHES))
