"""The intended character of each platform's KOL landscape (ground truth for the marts),
the niches, and the tiers by followers."""

from __future__ import annotations

from dataclasses import dataclass

PLATFORMS: tuple[str, ...] = ("instagram", "facebook", "tiktok", "youtube", "x")
PCODE: dict[str, int] = {p: n for n, p in enumerate(PLATFORMS, start=1)}

# The IG business account the app discovers others through (KOL_INSTAGRAM_USER_ID).
SANDBOX_IG_USER_ID = "17841400000000417"

PREHISTORY_DAYS = 90  # posts exist this long before the world starts (first-sight pull)
FUTURE_DAYS = 7  # posts scheduled after the world's end (never served: the clock hides them)
COMMENT_CAP = 1000  # comments generated per post; counts may be higher (like real APIs)
IG_AUTHORISED_SHARE = 0.6
X_ID_IN_ROSTER_SHARE = 0.7
GHOST_PERIOD = 25  # creator i with i % 25 == offset has an unknown handle on that platform
GHOST_OFFSET: dict[str, int] = {"instagram": 7, "x": 11, "youtube": 17}
LATE_SHARE = 0.25  # posts whose counts arrive late (lag up to 48 h)
_DAY = 86400


@dataclass(frozen=True)
class PlatformProfile:
    """The intended character of a platform's KOL landscape (ground truth for the marts)."""

    name: str
    presence: float  # share of creators with an account (outside `niches`: see below)
    niches: tuple[str, ...] | None  # None = every niche; else accounts concentrate here
    off_niche_presence: float  # presence for creators outside `niches`
    log10_followers: tuple[float, float]  # mean, sd of log10(followers) at the world's end
    daily_growth: float  # mean daily log-growth of established accounts
    new_voice_share: float  # accounts that start posting inside the world (fast growers)
    posts_per_day: tuple[float, float]
    engagement_rate: float  # likes / followers of a 10k-follower account
    er_trend_per_100d: float  # relative change of engagement per 100 days
    comment_ratio: float  # comments per like
    share_ratio: float  # shares per like
    save_ratio: float  # saves per like (Instagram, X bookmarks)
    views_per_follower: float
    saturation_hours: float  # time constant of a post's counts growing to their final value
    sentiment: tuple[float, float, float, float]  # positive, neutral, negative, spam shares
    fee_usd_per_1k_followers: float
    bot_share: float  # accounts with bought followers and bot comments


PROFILES: dict[str, PlatformProfile] = {
    "tiktok": PlatformProfile(
        name="tiktok",
        presence=0.70,
        niches=None,
        off_niche_presence=0.70,
        log10_followers=(3.7, 0.95),
        daily_growth=0.0045,
        new_voice_share=0.35,
        posts_per_day=(0.5, 1.4),
        engagement_rate=0.085,
        er_trend_per_100d=0.0,
        comment_ratio=0.03,
        share_ratio=0.08,
        save_ratio=0.0,
        views_per_follower=2.2,
        saturation_hours=30,
        sentiment=(0.62, 0.25, 0.08, 0.05),
        fee_usd_per_1k_followers=6.0,
        bot_share=0.06,
    ),
    "instagram": PlatformProfile(
        name="instagram",
        presence=0.75,
        niches=None,
        off_niche_presence=0.75,
        log10_followers=(4.3, 1.0),
        daily_growth=0.0015,
        new_voice_share=0.10,
        posts_per_day=(0.3, 0.9),
        engagement_rate=0.032,
        er_trend_per_100d=-0.05,
        comment_ratio=0.035,
        share_ratio=0.02,
        save_ratio=0.04,
        views_per_follower=0.6,
        saturation_hours=20,
        sentiment=(0.55, 0.27, 0.10, 0.08),
        fee_usd_per_1k_followers=10.0,
        bot_share=0.09,
    ),
    "youtube": PlatformProfile(
        name="youtube",
        presence=0.40,
        niches=None,
        off_niche_presence=0.40,
        log10_followers=(4.6, 1.0),
        daily_growth=0.0012,
        new_voice_share=0.08,
        posts_per_day=(0.08, 0.3),
        engagement_rate=0.025,
        er_trend_per_100d=-0.03,
        comment_ratio=0.06,
        share_ratio=0.0,
        save_ratio=0.0,
        views_per_follower=0.35,
        saturation_hours=72,
        sentiment=(0.50, 0.30, 0.14, 0.06),
        fee_usd_per_1k_followers=18.0,
        bot_share=0.06,
    ),
    "x": PlatformProfile(
        name="x",
        presence=0.35,
        niches=None,
        off_niche_presence=0.35,
        log10_followers=(4.0, 1.0),
        daily_growth=0.0005,
        new_voice_share=0.05,
        posts_per_day=(0.5, 2.0),
        engagement_rate=0.009,
        er_trend_per_100d=-0.10,
        comment_ratio=0.12,
        share_ratio=0.15,
        save_ratio=0.05,
        views_per_follower=0.45,
        saturation_hours=6,
        sentiment=(0.38, 0.32, 0.24, 0.06),
        fee_usd_per_1k_followers=5.0,
        bot_share=0.10,
    ),
    "facebook": PlatformProfile(
        name="facebook",
        presence=0.55,
        niches=("food", "lifestyle", "parenting", "travel"),
        off_niche_presence=0.04,
        log10_followers=(5.5, 0.8),
        daily_growth=-0.0004,
        new_voice_share=0.0,
        posts_per_day=(0.3, 1.0),
        engagement_rate=0.006,
        er_trend_per_100d=-0.35,
        comment_ratio=0.08,
        share_ratio=0.12,
        save_ratio=0.0,
        views_per_follower=0.0,
        saturation_hours=12,
        sentiment=(0.30, 0.28, 0.34, 0.08),
        fee_usd_per_1k_followers=30.0,
        bot_share=0.15,
    ),
}
LEADING_PLATFORM = "tiktok"
LAGGING_PLATFORM = "facebook"

NICHE_WEIGHTS: dict[str, float] = {
    "beauty": 12,
    "fashion": 12,
    "gaming": 9,
    "tech": 8,
    "food": 10,
    "travel": 8,
    "fitness": 8,
    "lifestyle": 11,
    "parenting": 5,
    "finance": 5,
    "music": 6,
    "education": 6,
}


def tier_of(followers: int | None) -> str:
    """Tiers by followers (docs/metrics.md, seed tier_thresholds) (None = hidden = unknown)."""
    if followers is None:
        return "unknown"
    if followers < 1_000:
        return "emerging"
    if followers < 10_000:
        return "nano"
    if followers < 50_000:
        return "micro"
    if followers < 500_000:
        return "mid"
    if followers < 1_000_000:
        return "macro"
    return "mega"
