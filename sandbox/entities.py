"""The world's records: creators, accounts, posts, metrics, comments, brands, campaigns."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class Creator:
    index: int
    creator_id: str
    display_name: str
    slug: str
    niche: str
    country: str
    language: str
    platforms: tuple[str, ...]


@dataclass(slots=True)
class Post:
    """One post's final counts and flags; counts at a time come from `World.metrics`."""

    k: int
    ts: int
    likes: int
    comments: int
    shares: int
    saves: int
    views: int
    reach: int
    lag_h: float
    tau_h: float
    hide_likes: bool
    comments_off: bool
    missing_insight: str | None
    kind: str
    hashtag: str | None  # campaign hashtag carried in the caption (with '#', brand case)
    caption: str
    tags: list[str]


@dataclass(slots=True)
class Metrics:
    likes: int
    comments: int
    shares: int
    saves: int
    views: int
    reach: int


@dataclass(slots=True)
class Comment:
    j: int
    ts: int
    text: str
    like_count: int
    reply_count: int
    author: int  # commenter number (ids per platform derive from it)
    sentiment: str  # positive | neutral | negative | spam
    language: str


@dataclass(slots=True)
class Account:
    """A creator's account on one platform; daily followers over the world's days."""

    creator: Creator
    platform: str
    handle: str
    platform_id: str  # the platform's id of the account (always set)
    roster_account_id: str  # what the roster shows (may be empty: see docs/architecture.md)
    known: bool  # False: the platform does not know the handle / id
    authorised: bool  # Instagram: creator authorised the app (insights, comments)
    bot: bool
    new_voice: bool
    join_day: int
    organic: list[int]  # followers without bought ones, per world day
    followers: list[int]  # per world day (with bought followers)
    jump_days: list[int]
    following: int
    verified: bool
    hidden_subscribers: bool
    created_ts: int
    er: float
    times: list[int]  # post publish times (unix seconds), ascending; index = k
    campaign_posts: dict[int, str]  # k -> campaign hashtag
    _posts: dict[int, Post] = field(default_factory=dict)

    @property
    def index(self) -> int:
        return self.creator.index


@dataclass(frozen=True, slots=True)
class Brand:
    brand_id: str
    name: str
    category: str
    target_countries: tuple[str, ...]
    currency: str


@dataclass(frozen=True, slots=True)
class CampaignCreator:
    creator_index: int
    platform: str
    explicit: bool  # post_ids listed in the export (else hashtag attribution)
    n_posts: int


@dataclass(frozen=True, slots=True)
class Campaign:
    campaign_id: str
    brand: Brand
    name: str
    objective: str
    start: date
    end: date
    budget: float
    currency: str
    hashtag: str  # with '#', brand casing, e.g. '#LuminaGlow3'
    brief: str
    creators: tuple[CampaignCreator, ...]
