"""Brands, campaigns (current and past, with their hidden fit) and FX rates of a sandbox
world: a mixin of `World`, which holds the creators and accounts they draw on."""

from __future__ import annotations

import math
from datetime import date, timedelta
from functools import cached_property
from typing import Any

from sandbox import text
from sandbox._rng import pick, rng, str_key
from sandbox.entities import Brand, Campaign, CampaignCreator
from sandbox.profiles import GHOST_OFFSET, GHOST_PERIOD, NICHE_WEIGHTS, PCODE

CURRENCIES: tuple[str, ...] = ("USD", "EUR", "GBP", "IDR", "BRL", "JPY")
FX_BASE: dict[str, float] = {
    "USD": 1.0,
    "EUR": 1.08,
    "GBP": 1.27,
    "IDR": 0.000064,
    "BRL": 0.19,
    "JPY": 0.0067,
}
FX_WEEKEND_GAP = "BRL"  # published on weekdays only: the 7-day fallback matters
FX_LEAD_DAYS = 14  # fx history starts this long before the world

# Ground truth of matching (never exported): niches whose audiences overlap. A campaign
# placed with a creator of the brand's niche, an adjacent one or an unrelated one gets a
# different hidden response (`World.campaign_fit`).
NICHE_ADJACENCY: dict[str, tuple[str, ...]] = {
    "beauty": ("fashion", "lifestyle"),
    "fashion": ("beauty", "lifestyle"),
    "gaming": ("tech", "music"),
    "tech": ("gaming", "finance", "education"),
    "food": ("lifestyle", "travel", "parenting", "fitness"),
    "travel": ("food", "lifestyle"),
    "fitness": ("food", "lifestyle"),
    "lifestyle": ("beauty", "fashion", "food", "travel", "fitness", "parenting", "music"),
    "parenting": ("lifestyle", "food", "education"),
    "finance": ("tech", "education"),
    "music": ("gaming", "lifestyle"),
    "education": ("tech", "finance", "parenting"),
}
# log-multiplier of a campaign post's engagement and of a contract's clicks (campaign_fit),
# centred on the brand's own niche so that the brands' mostly in-niche campaigns keep about
# the engagement and conversions they had before the fit existed
FIT_NICHE = {"same": 0.0, "adjacent": -0.7, "unrelated": -1.8}
FIT_TARGET_COUNTRY = 0.35
FIT_OTHER_COUNTRY = -0.2
FIT_BOT = -1.0
FIT_NOISE_SD = 0.3
PAST_CAMPAIGN_WINDOW_DAYS = 75  # past campaigns start within the world's last 75 days
PAST_CAMPAIGNS_PER_CREATOR = 1.2
PAST_CAMPAIGNS_MAX = 240


class WorldCampaigns:
    """The campaign side of `World` (needs its creators, accounts and posts)."""

    # ---- brands and campaigns -----------------------------------------------------------
    @cached_property
    def brands(self) -> list[Brand]:
        n = max(3, round(self.cfg.creators / 12))
        out, seen = [], set()
        for b in range(n):
            r = rng(self.seed, 10, b)
            category = pick(r.random(), NICHE_WEIGHTS)
            name = f"{r.choice(text.BRAND_PREFIXES)} {r.choice(text.BRAND_SUFFIXES[category])}"
            if name in seen:
                name = f"{name} {b + 1}"
            seen.add(name)
            home = pick(r.random(), text.COUNTRY_WEIGHTS)
            targets = {home}
            while r.random() < 0.55 and len(targets) < 4:
                targets.add(pick(r.random(), text.COUNTRY_WEIGHTS))
            out.append(
                Brand(
                    f"B{b + 1:04d}", name, category, tuple(sorted(targets)), text.COUNTRIES[home][1]
                )
            )
        return out

    @cached_property
    def campaigns(self) -> list[Campaign]:
        out: list[Campaign] = []
        n = self.n_days
        for brand in self.brands:
            r = rng(self.seed, 11, str_key(brand.brand_id))
            for _ in range(1 + int(r.random() * 2.2)):
                num = len(out) + 1
                length = max(1, min(n, 10 + int(r.random() * 26)))
                start = self.start + timedelta(days=int(r.random() * (n - length + 1)))
                theme = r.choice(text.CAMPAIGN_THEMES)
                hashtag = "#" + brand.name.split()[0] + theme + str(num)
                words = r.sample(text.NICHE_WORDS[brand.category], 5)
                brief = (
                    f"{brand.name} {theme.lower()} campaign: show our {words[0]} and {words[1]} "
                    f"in your {words[2]} {words[3]} content, mention {words[4]}, use {hashtag}."
                )
                out.append(
                    Campaign(
                        campaign_id=f"CMP{num:04d}",
                        brand=brand,
                        name=f"{brand.name} {theme} {start.year}",
                        objective=r.choice(text.OBJECTIVES),
                        start=start,
                        end=start + timedelta(days=length - 1),
                        budget=0.0,  # set from fees at export time
                        currency=brand.currency,
                        hashtag=hashtag,
                        brief=brief,
                        creators=self._pick_campaign_creators(r, brand),
                    )
                )
        out.extend(self._past_campaigns(len(out)))
        return out

    def _past_campaigns(self, numbered: int) -> list[Campaign]:
        """`cfg.resolved_past_campaigns()` short campaigns of random brands, ending before the world's
        end, with creators of the brand's niche, adjacent niches and unrelated ones (so that
        the outcomes show what fit is worth)."""
        out: list[Campaign] = []
        n = self.n_days
        for k in range(self.cfg.resolved_past_campaigns()):
            r = rng(self.seed, 17, k)
            brand = self.brands[int(r.random() * len(self.brands))]
            length = min(n, 5 + int(r.random() * 10))
            hi = n - length - 3 if n - length - 3 >= 0 else n - length
            lo = min(max(0, n - PAST_CAMPAIGN_WINDOW_DAYS), hi)
            start = self.start + timedelta(days=lo + int(r.random() * (hi - lo + 1)))
            num = numbered + k + 1
            theme = r.choice(text.CAMPAIGN_THEMES)
            hashtag = "#" + brand.name.split()[0] + theme + str(num)
            words = r.sample(text.NICHE_WORDS[brand.category], 5)
            out.append(
                Campaign(
                    campaign_id=f"CMP{num:04d}",
                    brand=brand,
                    name=f"{brand.name} {theme} {start.year} {num}",
                    objective=r.choice(text.OBJECTIVES),
                    start=start,
                    end=start + timedelta(days=length - 1),
                    budget=0.0,
                    currency=brand.currency,
                    hashtag=hashtag,
                    brief=(
                        f"{brand.name} {theme.lower()} campaign: show our {words[0]} and "
                        f"{words[1]} in your {words[2]} {words[3]} content, mention {words[4]}, "
                        f"use {hashtag}."
                    ),
                    creators=self._pick_mixed_creators(r, brand),
                )
            )
        return out

    def niche_relation(self, niche: str, category: str) -> str:
        """same | adjacent | unrelated (ground truth: NICHE_ADJACENCY)."""
        if niche == category:
            return "same"
        return "adjacent" if niche in NICHE_ADJACENCY.get(category, ()) else "unrelated"

    def _pick_mixed_creators(self, r: Any, brand: Brand) -> tuple[CampaignCreator, ...]:
        """3-6 creators: about 45% of the brand's niche, 25% adjacent, 30% anything."""
        chosen: list[CampaignCreator] = []
        seen: set[int] = set()
        want = 3 + int(r.random() * 4)
        for _ in range(want * 40):
            if len(seen) >= want:
                break
            u = r.random()
            wanted = "same" if u < 0.45 else ("adjacent" if u < 0.7 else None)
            for _attempt in range(40):
                i = int(r.random() * self.cfg.creators)
                relation = self.niche_relation(self.creator(i).niche, brand.category)
                if wanted is None or relation == wanted:
                    break
            if i in seen:
                continue
            c = self.creator(i)
            usable = [p for p in c.platforms if i % GHOST_PERIOD != GHOST_OFFSET.get(p, -1)]
            if not usable:
                continue
            seen.add(i)
            platforms = r.sample(usable, 2 if len(usable) > 1 and r.random() < 0.2 else 1)
            for p in platforms:
                chosen.append(CampaignCreator(i, p, r.random() < 0.4, 1 + int(r.random() * 3)))
        return tuple(chosen)

    def campaign_fit(self, camp: Campaign, creator_index: int, platform: str) -> float:
        """Hidden response multiplier of one contract (README "Campaign outcomes"): niche
        affinity with the brand, audience country vs the brand's targets, audience
        authenticity (bots' bought followers do not respond), and noise."""
        c = self.creator(creator_index)
        log_fit = FIT_NICHE[self.niche_relation(c.niche, camp.brand.category)]
        in_target = c.country in camp.brand.target_countries
        log_fit += FIT_TARGET_COUNTRY if in_target else FIT_OTHER_COUNTRY
        if self.is_bot(creator_index, platform):
            log_fit += FIT_BOT
        r = rng(self.seed, 16, str_key(camp.campaign_id), creator_index, PCODE[platform])
        return math.exp(log_fit + r.gauss(0, FIT_NOISE_SD))

    @cached_property
    def campaigns_by_hashtag(self) -> dict[str, Campaign]:
        return {camp.hashtag: camp for camp in self.campaigns}

    def _pick_campaign_creators(self, r: Any, brand: Brand) -> tuple[CampaignCreator, ...]:
        chosen: list[CampaignCreator] = []
        seen: set[int] = set()
        want = 2 + int(r.random() * 5)
        for _ in range(want * 30):
            if len(chosen) >= want:
                break
            i = int(r.random() * self.cfg.creators)
            c = self.creator(i)
            if i in seen or (c.niche != brand.category and r.random() > 0.25):
                continue
            usable = [p for p in c.platforms if i % GHOST_PERIOD != GHOST_OFFSET.get(p, -1)]
            if not usable:
                continue
            seen.add(i)
            platforms = r.sample(usable, 2 if len(usable) > 1 and r.random() < 0.2 else 1)
            for p in platforms:
                chosen.append(CampaignCreator(i, p, r.random() < 0.4, 1 + int(r.random() * 3)))
        return tuple(chosen)

    @cached_property
    def assignments(self) -> dict[tuple[int, str], list[tuple[Campaign, CampaignCreator]]]:
        """(creator index, platform) -> the campaigns that account posts for."""
        out: dict[tuple[int, str], list[tuple[Campaign, CampaignCreator]]] = {}
        for camp in self.campaigns:
            for cc in camp.creators:
                out.setdefault((cc.creator_index, cc.platform), []).append((camp, cc))
        return out

    def campaign_post_ids(self, camp: Campaign, cc: CampaignCreator) -> list[str]:
        """Ids of the creator's posts for that campaign published within the world."""
        acc = self.account(cc.creator_index, cc.platform)
        if acc is None:
            return []
        limit = self.instant(self.end)
        return [
            self.post_id(acc, k)
            for k, tag in sorted(acc.campaign_posts.items())
            if tag == camp.hashtag and acc.times[k] < limit
        ]

    # ---- fx --------------------------------------------------------------------------
    @cached_property
    def fx(self) -> dict[tuple[str, date], float]:
        """usd_per_unit per (currency, date); BRL has no weekend rows (7-day fallback)."""
        out: dict[tuple[str, date], float] = {}
        first = self.start - timedelta(days=FX_LEAD_DAYS)
        for cur in CURRENCIES:
            r = rng(self.seed, 12, str_key(cur))
            level = FX_BASE[cur]
            for n in range(self.n_days + FX_LEAD_DAYS):
                d = first + timedelta(days=n)
                if cur != "USD":
                    level *= math.exp(r.gauss(0, 0.004))
                if cur == FX_WEEKEND_GAP and d.weekday() >= 5:
                    continue
                out[(cur, d)] = float(f"{level:.6g}")
        return out

    def fx_rate(self, currency: str, d: date) -> float:
        """The rate on d, else the latest of the 7 days before (as the marts do)."""
        for back in range(8):
            v = self.fx.get((currency, d - timedelta(days=back)))
            if v is not None:
                return v
        raise KeyError(f"no {currency} rate within 7 days before {d}")
