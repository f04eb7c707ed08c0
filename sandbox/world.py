"""The synthetic KOL world: creators, accounts, daily followers, posts and comments.

Everything is a pure function of `(seed, keys)`: a creator of index i, its account on a
platform, post k of that account and comment j of that post are each regenerated on demand
from their own keyed RNG (see `_rng`). Accounts are cached in a bounded LRU, so a 20,000
account world is served without holding it in memory, and the same seed + size always gives
the same world, byte for byte.

Platform differences are deliberate and documented in `PROFILES` (and README.md): TikTok is
the leader (long tail of fast-growing new nano/micro voices, high engagement, every niche),
Facebook the laggard (few big pages in narrow niches, falling engagement, more negative
comments, higher fees).
"""

from __future__ import annotations

import bisect
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sandbox import text
from sandbox._rng import mix, normal_ppf, pick, rng, unit
from sandbox.campaigns import PAST_CAMPAIGNS_MAX, PAST_CAMPAIGNS_PER_CREATOR, WorldCampaigns
from sandbox.encoding import (
    FB_PAGE_BASE,
    IG_COMMENT_BASE,
    IG_MEDIA_BASE,
    IG_USER_BASE,
    TT_COMMENT_BASE,
    TT_VIDEO_BASE,
    X_REPLY_BASE,
    X_TWEET_BASE,
    X_USER_BASE,
    b64_hash,
    b64_int,
    day_start,
    int_b64,
)
from sandbox.entities import Account, Comment, Creator, Metrics, Post
from sandbox.profiles import (
    _DAY,
    COMMENT_CAP,
    FUTURE_DAYS,
    GHOST_OFFSET,
    GHOST_PERIOD,
    IG_AUTHORISED_SHARE,
    LAGGING_PLATFORM,
    LATE_SHARE,
    LEADING_PLATFORM,
    NICHE_WEIGHTS,
    PCODE,
    PLATFORMS,
    PREHISTORY_DAYS,
    PROFILES,
    SANDBOX_IG_USER_ID,
    X_ID_IN_ROSTER_SHARE,
    PlatformProfile,
)


@dataclass(frozen=True)
class WorldConfig:
    """Size and seed of a world. `end_date` None = yesterday (UTC); history = `days` days."""

    seed: int = 42
    creators: int = 50
    days: int = 120
    end_date: date | None = None
    # past campaigns on top of the brands' own 1-3: a history to learn matching from
    # (outcomes follow the hidden fit of `World.campaign_fit`; README "Campaign outcomes");
    # None = 1.2 per creator, at most PAST_CAMPAIGNS_MAX (60 in the 50-creator demo world)
    past_campaigns: int | None = None

    def resolved_end(self) -> date:
        return self.end_date or (datetime.now(UTC).date() - timedelta(days=1))

    def resolved_past_campaigns(self) -> int:
        if self.past_campaigns is not None:
            return self.past_campaigns
        return min(PAST_CAMPAIGNS_MAX, round(PAST_CAMPAIGNS_PER_CREATOR * self.creators))


class _LRU:
    """A small thread-safe LRU cache (the world's memory bound)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._d: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            if key in self._d:
                self._d.move_to_end(key)
                return self._d[key]
        return None

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self._d[key] = value
            self._d.move_to_end(key)
            while len(self._d) > self.size:
                self._d.popitem(last=False)

    def __len__(self) -> int:
        return len(self._d)


class World(WorldCampaigns):
    """A lazily generated world; every method is deterministic for a given config."""

    def __init__(self, cfg: WorldConfig, cache_size: int = 256) -> None:
        if cfg.creators < 1 or cfg.days < 1:
            raise ValueError("WorldConfig needs creators >= 1 and days >= 1")
        self.cfg = cfg
        self.seed = cfg.seed
        self.end = cfg.resolved_end()
        self.start = self.end - timedelta(days=cfg.days - 1)
        self.start_ts = day_start(self.start)
        self.n_days = cfg.days
        self._creators = _LRU(max(cache_size * 4, 1024))
        self._accounts = _LRU(cache_size)
        self._yt_mask = mix(self.seed, 31) & ((1 << 62) - 1)

    # ---- time ---------------------------------------------------------------------
    def day_index(self, d: date) -> int:
        return (d - self.start).days

    def instant(self, d: date) -> int:
        """'As of the end of D': the first second after D (exclusive bound)."""
        return day_start(d) + _DAY

    def check_date(self, d: date) -> None:
        if not self.start <= d <= self.end:
            raise ValueError(
                f"date {d.isoformat()} is outside the sandbox world "
                f"({self.start.isoformat()}..{self.end.isoformat()}); pick a date in that range "
                "or build the world with another --end-date/--days"
            )

    # ---- creators -----------------------------------------------------------------
    def creator(self, i: int) -> Creator:
        c = self._creators.get(i)
        if c is None:
            c = self._make_creator(i)
            self._creators.put(i, c)
        return c

    def _make_creator(self, i: int) -> Creator:
        r = rng(self.seed, 1, i)
        first = r.choice(text.FIRST_NAMES)
        last = r.choice(text.LAST_NAMES)
        niche = pick(r.random(), NICHE_WEIGHTS)
        country = pick(r.random(), text.COUNTRY_WEIGHTS)
        language = text.COUNTRIES[country][0]
        if language != "en" and r.random() < 0.15:
            language = "en"
        platforms = []
        for p in PLATFORMS:
            prof = PROFILES[p]
            presence = (
                prof.presence
                if prof.niches is None or niche in prof.niches
                else (prof.off_niche_presence)
            )
            drawn = r.random() < presence
            # forced: the unknown-handle accounts, and one account per platform even in a
            # tiny world (creator (platform number - 1) mod size)
            forced = i % GHOST_PERIOD == GHOST_OFFSET.get(p, -1) or (
                (PCODE[p] - 1) % self.cfg.creators == i
            )
            if forced or drawn:
                platforms.append(p)
        if not platforms:
            platforms.append("tiktok" if r.random() < 0.5 else "instagram")
        slug = (first + last).lower()[:8]
        return Creator(
            index=i,
            creator_id=f"C{i + 1:05d}",
            display_name=f"{first} {last}",
            slug=slug,
            niche=niche,
            country=country,
            language=language,
            platforms=tuple(platforms),
        )

    def iter_creators(self) -> Any:
        for i in range(self.cfg.creators):
            yield self.creator(i)

    # ---- accounts -----------------------------------------------------------------
    def handle(self, c: Creator, platform: str) -> str:
        """Handles end with `_<index>` so any handle resolves to its creator in O(1)."""
        variant = {"youtube": "tv", "facebook": ""}.get(platform, "")
        if unit(self.seed, 5, c.index, PCODE[platform]) < 0.3 and platform != "x":
            variant = variant or "official"
        base = c.slug + variant if platform != "x" else c.slug
        return f"{base}_{c.index}"

    def account(self, i: int, platform: str) -> Account | None:
        """Creator i's account on the platform (None when the creator has none)."""
        if not 0 <= i < self.cfg.creators:
            return None
        key = (i, platform)
        acc = self._accounts.get(key)
        if acc is None:
            c = self.creator(i)
            if platform not in c.platforms:
                return None
            acc = self._make_account(c, platform)
            self._accounts.put(key, acc)
        return acc

    def iter_accounts(self, platform: str | None = None) -> Any:
        for c in self.iter_creators():
            for p in c.platforms:
                if platform is None or p == platform:
                    acc = self.account(c.index, p)
                    if acc is not None:
                        yield acc

    def is_bot(self, i: int, platform: str) -> bool:
        # low-discrepancy selection keeps the bot share close to the profile in small worlds
        u = (i * 0.7548776662466927 + PCODE[platform] * 0.5698402909980532 + self.seed * 0.1) % 1
        return u < PROFILES[platform].bot_share

    def _platform_id(self, c: Creator, platform: str) -> str:
        i = c.index
        if platform == "instagram":
            return str(IG_USER_BASE + i)
        if platform == "facebook":
            return str(FB_PAGE_BASE + i)
        if platform == "youtube":
            return "UC" + b64_hash(12, self.seed, 30, i) + f"{i:010d}"
        if platform == "x":
            return str(X_USER_BASE + i)
        return self.handle(c, platform)  # TikTok Research API has no user id

    def ig_authorised(self, c: Creator, platform: str) -> bool:
        """Instagram: did the creator authorise the app (roster account_id present)?"""
        ghost = c.index % GHOST_PERIOD == GHOST_OFFSET["instagram"]
        return (
            platform == "instagram"
            and not ghost
            and (unit(self.seed, 20, c.index) < IG_AUTHORISED_SHARE)
        )

    def roster_account_id(self, c: Creator, platform: str) -> str:
        """What the roster's account_id column shows (docs/architecture.md rules per platform)."""
        if platform == "tiktok":
            return ""
        if platform == "instagram":
            return self._platform_id(c, platform) if self.ig_authorised(c, platform) else ""
        if platform == "x":
            ghost = c.index % GHOST_PERIOD == GHOST_OFFSET["x"]
            if ghost or unit(self.seed, 21, c.index) >= X_ID_IN_ROSTER_SHARE:
                return ""
        return self._platform_id(c, platform)

    def _make_account(self, c: Creator, platform: str) -> Account:
        i, pc, prof, n = c.index, PCODE[platform], PROFILES[platform], self.n_days
        r = rng(self.seed, 2, i, pc)
        ghost = i % GHOST_PERIOD == GHOST_OFFSET.get(platform, -1)
        bot = self.is_bot(i, platform) and not ghost
        new_voice = r.random() < prof.new_voice_share and n >= 10 and not bot
        # Followers at the world's end: a low-discrepancy draw covers every tier even in
        # a 50-creator world.
        u = (i * 0.6180339887498949 + pc * 0.3819660112501051 + (self.seed % 97) * 0.01) % 1
        u = (u + r.random() * 0.05) % 1
        mean, sd = prof.log10_followers
        log10_end = mean + sd * normal_ppf(u)
        if new_voice:
            log10_end = 2.6 + 2.0 * u  # new voices end as emerging..micro
        f_end = max(20.0, 10**log10_end)
        growth = (
            prof.daily_growth * math.exp(r.gauss(0, 0.5))
            if prof.daily_growth > 0
            else (prof.daily_growth * (0.5 + r.random()))
        )
        join_day = 0
        organic: list[float] = [0.0] * n
        if new_voice:
            join_day = int(n * (0.15 + 0.6 * r.random()))
            f_join = 10 + 50 * r.random()
            g = math.log(max(f_end, f_join * 1.01) / f_join) / max(1, n - 1 - join_day)
            level = math.log(f_join)
            for d in range(n):
                if d > join_day:
                    level += g + r.gauss(0, 0.01)
                organic[d] = math.exp(level)
        else:
            level = math.log(f_end)
            for d in range(n - 1, -1, -1):
                organic[d] = math.exp(level)
                level -= growth + r.gauss(0, 0.002)
        followers = list(organic)
        jump_days: list[int] = []
        if bot and n >= 3:
            for _ in range(1 + int(r.random() * 3)):
                jd = 1 + int(r.random() * (n - 1))
                jump = organic[jd] * (0.3 + 0.9 * r.random())
                jump_days.append(jd)
                for d in range(jd, n):
                    followers[d] += jump
            jump_days.sort()
        org_int = [round(v) for v in organic]
        fol_int = [round(v) for v in followers]
        following = int(80 + 900 * r.random())
        if bot:
            following = int(max(following, fol_int[-1] * (0.5 + r.random())))
        er = prof.engagement_rate * (max(f_end, 100) / 1e4) ** -0.15 * math.exp(r.gauss(0, 0.3))
        if bot:
            er *= 0.6
        times, campaign_posts = self._schedule(c, platform, r, join_day if new_voice else None)
        return Account(
            creator=c,
            platform=platform,
            handle=self.handle(c, platform),
            platform_id=self._platform_id(c, platform),
            roster_account_id=self.roster_account_id(c, platform),
            known=not ghost,
            authorised=platform == "instagram" and self.ig_authorised(c, platform),
            bot=bot,
            new_voice=new_voice,
            join_day=join_day,
            organic=org_int,
            followers=fol_int,
            jump_days=jump_days,
            following=following,
            verified=f_end >= 500_000 and r.random() < 0.7,
            hidden_subscribers=platform == "youtube" and r.random() < 0.1,
            created_ts=_created_ts(self.start_ts, join_day if new_voice else None, r.random()),
            er=er,
            times=times,
            campaign_posts=campaign_posts,
        )

    def _schedule(
        self, c: Creator, platform: str, r: Any, join_day: int | None
    ) -> tuple[list[int], dict[int, str]]:
        """Post times (organic Poisson arrivals + the campaign posts) and campaign tags."""
        prof = PROFILES[platform]
        lo, hi = prof.posts_per_day
        rate = lo + (hi - lo) * r.random()
        first = self.start_ts - PREHISTORY_DAYS * _DAY
        if join_day is not None:
            first = self.start_ts + join_day * _DAY
        last = day_start(self.end) + (FUTURE_DAYS + 1) * _DAY
        items: list[tuple[int, str | None]] = []
        t = first + r.expovariate(rate) * _DAY
        while t < last and len(items) < 2000:
            items.append((int(t), None))
            t += r.expovariate(rate) * _DAY
        for camp, cc in self.assignments.get((c.index, platform), ()):
            s = day_start(camp.start)
            span = (camp.end - camp.start).days + 1
            for _ in range(cc.n_posts):
                t = s + int(r.random() * span * _DAY)
                # a new voice posts nothing, campaign posts included, before it joins
                items.append((max(t, first) if join_day is not None else t, camp.hashtag))
        items.sort(key=lambda it: it[0])
        times = [t for t, _ in items]
        tags = {k: tag for k, (_, tag) in enumerate(items) if tag}
        return times, tags

    # ---- lookups (O(1): ids encode the creator index) -------------------------------
    def _known(self, i: int, platform: str) -> Account | None:
        acc = self.account(i, platform)
        return acc if acc is not None and acc.known else None

    def account_by_handle(self, platform: str, handle: str) -> Account | None:
        h = handle.strip().lstrip("@").lower()
        _, _, tail = h.rpartition("_")
        if not tail.isdigit():
            return None
        acc = self._known(int(tail), platform)
        return acc if acc is not None and acc.handle.lower() == h else None

    def account_by_id(self, platform: str, account_id: str) -> Account | None:
        try:
            if platform == "youtube":
                if not (account_id.startswith("UC") and len(account_id) == 24):
                    return None
                i = int(account_id[14:])
            elif platform == "tiktok":
                return self.account_by_handle(platform, account_id)
            else:
                base = {"instagram": IG_USER_BASE, "facebook": FB_PAGE_BASE, "x": X_USER_BASE}
                i = int(account_id) - base[platform]
        except ValueError:
            return None
        acc = self._known(i, platform) if i >= 0 else None
        return acc if acc is not None and acc.platform_id == account_id else None

    def youtube_uploads(self, playlist_id: str) -> Account | None:
        if not playlist_id.startswith("UU"):
            return None
        return self.account_by_id("youtube", "UC" + playlist_id[2:])

    # post ids ----------------------------------------------------------------------
    def post_id(self, acc: Account, k: int) -> str:
        i, p = acc.index, acc.platform
        if p == "instagram":
            return str(IG_MEDIA_BASE + i * 100_000 + k)
        if p == "facebook":
            return f"{acc.platform_id}_{k + 1_000_000}"
        if p == "tiktok":
            return str(TT_VIDEO_BASE + i * 10_000_000 + k)
        if p == "youtube":
            return b64_int((i * 100_000 + k) ^ self._yt_mask)
        return str(X_TWEET_BASE + i * 1_000_000 + k)

    def resolve_post(self, platform: str, post_id: str) -> tuple[Account, int] | None:
        """(account, k) of a post id, or None when no such post exists in the world."""
        try:
            if platform == "instagram":
                i, k = divmod(int(post_id) - IG_MEDIA_BASE, 100_000)
            elif platform == "facebook":
                page, _, num = post_id.partition("_")
                i, k = int(page) - FB_PAGE_BASE, int(num) - 1_000_000
            elif platform == "tiktok":
                i, k = divmod(int(post_id) - TT_VIDEO_BASE, 10_000_000)
            elif platform == "youtube":
                if len(post_id) != 11:
                    return None
                i, k = divmod(int_b64(post_id) ^ self._yt_mask, 100_000)
            else:
                i, k = divmod(int(post_id) - X_TWEET_BASE, 1_000_000)
        except ValueError:
            return None
        if i < 0 or k < 0:
            return None
        acc = self._known(i, platform)
        if acc is None or k >= len(acc.times) or self.post_id(acc, k) != post_id:
            return None
        return acc, k

    def comment_id(self, acc: Account, k: int, j: int) -> str:
        i, p = acc.index, acc.platform
        if p == "instagram":
            return str(IG_COMMENT_BASE + i * 100_000_000 + k * 1000 + j)
        if p == "facebook":
            return f"{FB_PAGE_BASE + i}{k:06d}_{1_000_000 + j}"
        if p == "tiktok":
            return str(TT_COMMENT_BASE + i * 1_000_000_000 + k * 10_000 + j)
        if p == "youtube":
            return "Ug" + b64_int(((i * 100_000 + k) * 1000 + j) ^ self._yt_mask, 12) + "4AaABAg"
        return str(X_REPLY_BASE + i * 1_000_000_000 + k * 1000 + j)

    # ---- posts ------------------------------------------------------------------------
    def post(self, acc: Account, k: int) -> Post:
        p = acc._posts.get(k)
        if p is None:
            p = self._make_post(acc, k)
            acc._posts[k] = p
        return p

    def _followers_at_ts(self, acc: Account, ts: int, organic: bool = True) -> float:
        d = (ts - self.start_ts) // _DAY
        series = acc.organic if organic else acc.followers
        if d < 0:
            growth = PROFILES[acc.platform].daily_growth
            return max(10.0, series[0] * math.exp(growth * d))
        return float(series[min(d, self.n_days - 1)])

    def _make_post(self, acc: Account, k: int) -> Post:
        prof = PROFILES[acc.platform]
        r = rng(self.seed, 3, acc.index, PCODE[acc.platform], k)
        ts = acc.times[k]
        f = self._followers_at_ts(acc, ts)
        days_in = (ts - self.start_ts) / _DAY
        trend = max(0.2, 1 + prof.er_trend_per_100d * days_in / 100)
        likes = f * acc.er * trend * math.exp(r.gauss(0, 0.45))
        hashtag = acc.campaign_posts.get(k)
        if hashtag:
            likes *= 1.2 * self.campaign_fit(
                self.campaigns_by_hashtag[hashtag], acc.index, acc.platform
            )
        views = f * prof.views_per_follower * math.exp(r.gauss(0, 0.6))
        if acc.platform == "tiktok" and r.random() < 0.05:
            views *= 8  # viral
            likes *= 5
        comments = likes * prof.comment_ratio * math.exp(r.gauss(0, 0.4))
        shares = likes * prof.share_ratio * math.exp(r.gauss(0, 0.5))
        saves = likes * prof.save_ratio * math.exp(r.gauss(0, 0.5))
        if acc.platform == "facebook" and r.random() < 0.15:
            shares = 0  # FB: `shares` absent
        lag = 2 + 46 * r.random() if r.random() < LATE_SHARE else 0.0
        missing = None
        if acc.platform == "instagram" and r.random() < 0.1:
            missing = r.choice(("views", "saved", "shares"))
        kinds = {
            "instagram": ("IMAGE", "VIDEO", "CAROUSEL_ALBUM"),
            "youtube": ("video", "short"),
        }.get(acc.platform, ("post",))
        caption, tags = self._caption(acc, r, hashtag)
        return Post(
            k=k,
            ts=ts,
            likes=int(likes),
            comments=int(comments),
            shares=int(shares),
            saves=int(saves),
            views=max(int(views), int(likes)),
            reach=int(views * (0.6 + 0.3 * r.random())),
            lag_h=lag,
            tau_h=prof.saturation_hours * (0.6 + 0.8 * r.random()),
            hide_likes=acc.platform in ("youtube", "instagram") and r.random() < 0.06,
            comments_off=acc.platform == "youtube" and r.random() < 0.05,
            missing_insight=missing,
            kind=r.choice(kinds),
            hashtag=hashtag,
            caption=caption,
            tags=tags,
        )

    def _caption(self, acc: Account, r: Any, hashtag: str | None) -> tuple[str, list[str]]:
        c = acc.creator
        niche = c.niche if r.random() < 0.85 else r.choice(text.NICHES)
        words = text.NICHE_WORDS[niche]
        filler = text.CAPTION_FILLERS.get(c.language, text.CAPTION_FILLERS["en"])
        body = [r.choice(filler), *r.sample(words, 3), r.choice(filler), r.choice(words)]
        tags = r.sample(words, 2)
        if hashtag:
            tags.append(hashtag.lstrip("#"))
            body.insert(0, "ad")
        caption = " ".join(body).capitalize() + " " + " ".join("#" + t for t in tags)
        return caption, tags

    def visible_count(self, acc: Account, now: int) -> int:
        """Number of posts published before `now` (they are served newest first)."""
        return bisect.bisect_left(acc.times, now)

    def metrics(self, post: Post, now: int) -> Metrics:
        """Counts at `now`: grow with age and saturate; late posts lag up to 48 h."""
        age_h = (now - post.ts) / 3600 - post.lag_h
        sat = 0.0 if age_h <= 0 else 1 - math.exp(-age_h / post.tau_h)
        return Metrics(
            likes=int(post.likes * sat),
            comments=int(post.comments * sat),
            shares=int(post.shares * sat),
            saves=int(post.saves * sat),
            views=int(post.views * sat),
            reach=int(post.reach * sat),
        )

    def followers_on(self, acc: Account, d: date) -> int:
        return acc.followers[max(0, min(self.n_days - 1, self.day_index(d)))]

    # ---- comments -----------------------------------------------------------------
    def comment_total(self, post: Post, now: int) -> int:
        """Comments that exist at `now` and can be listed (capped at COMMENT_CAP)."""
        if post.comments_off:
            return 0
        return min(self.metrics(post, now).comments, COMMENT_CAP)

    def comment(self, acc: Account, post: Post, j: int) -> Comment:
        keys = (self.seed, 4, acc.index, PCODE[acc.platform], post.k, j)
        n = max(post.comments, 1)
        frac = min((j + 0.5) / n, 0.999999)
        ts = post.ts + int(post.lag_h * 3600 + post.tau_h * 3600 * -math.log(1 - frac))
        prof = PROFILES[acc.platform]
        pos, neu, neg, spam = prof.sentiment
        if acc.bot:
            spam = 0.45
        label = pick(
            unit(*keys, 1), {"positive": pos, "neutral": neu, "negative": neg, "spam": spam}
        )
        lang = acc.creator.language
        if lang == "en" or lang not in text.COMMENT_TEMPLATES or unit(*keys, 2) < 0.3:
            lang = "en"
            u = unit(*keys, 6)
            if acc.creator.language == "en" and u < 0.08:
                lang = ("es", "pt", "id")[int(u * 37.5) % 3]
        word = text.NICHE_WORDS[acc.creator.niche][int(unit(*keys, 3) * 12)]
        if label == "spam":
            body = text.SPAM_COMMENTS[int(unit(*keys, 4) * len(text.SPAM_COMMENTS))]
            author = int(unit(*keys, 5) * 25)  # a small pool of bot commenters: duplicates
            lang = "und"
        else:
            options = text.COMMENT_TEMPLATES[lang][label]
            body = options[int(unit(*keys, 4) * len(options))].replace("{w}", word)
            author = 1000 + int(unit(*keys, 5) * 5_000_000)
        return Comment(
            j=j,
            ts=ts,
            text=body,
            like_count=int(unit(*keys, 7) ** 3 * 40),
            reply_count=int(unit(*keys, 8) ** 4 * 5),
            author=author,
            sentiment=label,
            language=lang,
        )

    def comments_page(
        self,
        acc: Account,
        post: Post,
        now: int,
        offset: int,
        limit: int,
    ) -> tuple[list[Comment], int]:
        """A page of comments newest first, and the total listable at `now`."""
        total = self.comment_total(post, now)
        js = range(total - 1 - offset, max(-1, total - 1 - offset - limit), -1)
        return [self.comment(acc, post, j) for j in js], total

    @staticmethod
    def truth_platforms() -> tuple[str, str]:
        """(leading, lagging) platform by design."""
        return LEADING_PLATFORM, LAGGING_PLATFORM

    # ---- ground truth -----------------------------------------------------------------
    def truth(self) -> dict[str, Any]:
        bots, unknown, hidden, new_voices = [], [], [], []
        for acc in self.iter_accounts():
            if acc.bot:
                bots.append((acc.platform, acc.handle))
            if acc.new_voice:
                joined = self.start + timedelta(days=acc.join_day)
                new_voices.append((acc.platform, acc.handle, joined.isoformat()))
            if not acc.known:
                unknown.append((acc.platform, acc.handle))
            if acc.hidden_subscribers:
                hidden.append(acc.platform_id)
        return {
            "seed": self.seed,
            "start_date": self.start.isoformat(),
            "end_date": self.end.isoformat(),
            "bot_accounts": bots,
            # accounts that start inside the world: (platform, handle, the day they started)
            "new_voice_accounts": new_voices,
            "unknown_accounts": unknown,
            "hidden_subscriber_channels": hidden,
            "leading_platform": LEADING_PLATFORM,
            "lagging_platform": LAGGING_PLATFORM,
            "platform_profiles": {p: _profile_dict(PROFILES[p]) for p in PLATFORMS},
            "sandbox_ig_user_id": SANDBOX_IG_USER_ID,
        }


def _created_ts(start_ts: int, join_day: int | None, u: float) -> int:
    """When the account was created (X `created_at`, YouTube channel `publishedAt`): a new
    voice opens it up to 3 days before its first post inside the world, an established
    account 200-2,200 days before the world starts."""
    if join_day is not None:
        return start_ts + int((join_day - 3 * u) * _DAY)
    return start_ts - int((200 + 2000 * u) * _DAY)


def _profile_dict(p: PlatformProfile) -> dict[str, Any]:
    d = {k: getattr(p, k) for k in p.__dataclass_fields__}
    for k, v in d.items():
        if isinstance(v, tuple):
            d[k] = list(v)
    return d
