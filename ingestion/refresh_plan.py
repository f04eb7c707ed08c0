"""Which accounts a platform refreshes on a date when a full refresh does not fit its quota.

The cost of one account-day is the mean of the platform's landed runs (their manifests'
request counts and records served, priced by `ingestion.quota`), or the documented estimate
before any run; an account whose last landed day's own requests are known (the manifest's
`requests_by_account`) costs that mean times its requests over the mean requests of those
accounts, so a busy campaign creator (dozens of comment pages) is priced as such instead of
at the roster's mean. The day's budget covers the first N accounts in priority order, each at
its own price:
1. creators in a campaign active on D (the campaign exports), first;
2. then the stalest: most days since the account was last tried — landed, or failed with an
   answer (an unknown or renamed handle, retries spent) — never tried = stalest; so accounts
   deferred today go first tomorrow, and one that keeps failing is tried again once the
   roster has had its turn instead of taking a slot every day;
3. then by tier, bigger first (followers last landed; unknown last);
4. then the roster key, so the order is total and a re-run plans the same.
The others are deferred: not requested that day, listed in the manifest with the reason.
"""

from __future__ import annotations

import csv
import math
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.landing import earlier_manifests, records_dir
from ingestion.quota import (
    QuotaSettings,
    accounts_within,
    daily_budget,
    days_to_cover,
    documented_per_account,
    per_account_from_history,
)
from ingestion.roster import RosterEntry

HISTORY_RUNS = 3  # landed runs averaged for the per-account cost
NEVER = 10**6  # staleness of an account that never landed
FOLLOWER_COLUMNS = ("followers_count", "follower_count", "subscriber_count", "fan_count")


@dataclass(frozen=True)
class Candidate:
    """An account as the priority policy sees it."""

    key: str
    in_campaign: bool = False
    days_stale: int = NEVER  # days since it was last tried (NEVER: not yet)
    followers: int | None = None


def priority(c: Candidate) -> tuple[int, int, int, str]:
    """Sort key: campaign creators, then stalest, then bigger, then the key."""
    return (0 if c.in_campaign else 1, -c.days_stale, -(c.followers or -1), c.key)


def refresh_order(candidates: Iterable[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=priority)


@dataclass
class RefreshPlan:
    """One platform's plan for one date."""

    platform: str
    run_date: date
    accounts: int
    per_account: dict[str, float]
    estimate: str  # where per_account comes from
    budget: dict[str, int]
    refresh: list[str] = field(default_factory=list)  # roster keys, in priority order
    deferred: list[dict[str, str]] = field(default_factory=list)  # {"account", "reason"}
    days_for_roster: int | None = 1

    @property
    def full_cost(self) -> dict[str, int]:
        return {m: math.ceil(c * self.accounts) for m, c in self.per_account.items()}

    @property
    def fits(self) -> bool:
        return not self.deferred

    def summary(self) -> str:
        """One line: the need, the budget, who refreshes."""
        need = ", ".join(f"{v:,} {m}" for m, v in self.full_cost.items())
        budget = ", ".join(f"{v:,} {m}" for m, v in self.budget.items())
        return (
            f"{self.platform}: {self.accounts} accounts need {need} a day ({self.estimate}); "
            f"budget {budget}; refreshing {len(self.refresh)}, deferring {len(self.deferred)}"
        )

    def as_dict(self) -> dict[str, Any]:
        """What the manifest records about the plan (the deferred list is its own key)."""
        return {
            "accounts": self.accounts,
            "refresh": len(self.refresh),
            "deferred": len(self.deferred),
            "per_account": {m: round(c, 3) for m, c in self.per_account.items()},
            "estimate": self.estimate,
            "full_cost": self.full_cost,
            "budget": self.budget,
            "days_for_roster": self.days_for_roster,
        }


@dataclass
class LandingHistory:
    """What a platform's earlier manifests say, per roster key and overall."""

    landed: dict[str, date] = field(default_factory=dict)  # the last date it landed
    tried: dict[str, date] = field(default_factory=dict)  # the last date it landed or failed
    recent: list[dict[str, Any]] = field(default_factory=list)  # landed runs, newest first
    # requests each key's last landed day spent (a batch request's share each)
    requests: dict[str, float] = field(default_factory=dict)

    def weights(self) -> dict[str, float]:
        """Each key's requests over the mean of the known ones (no key: priced at the mean)."""
        known = [v for v in self.requests.values() if v > 0]
        if not known:
            return {}
        mean = sum(known) / len(known)
        return {k: v / mean for k, v in self.requests.items() if v > 0}


def _keep_latest(dates: dict[str, date], key: Any, day: date) -> None:
    if isinstance(key, str) and (key not in dates or dates[key] < day):
        dates[key] = day


def landing_history(
    root: Path, platform: str, before: date, runs: int = HISTORY_RUNS
) -> LandingHistory:
    """From the platform's manifests before `before`, in one pass: per roster key the last
    date it landed and the last it was tried (landed or failed; a quota stop before its turn
    is not a try), and the last `runs` landed (ok/partial) manifests."""
    out = LandingHistory()
    recent: deque[dict[str, Any]] = deque(maxlen=runs)
    for m in earlier_manifests(root, platform, before):
        try:
            day = date.fromisoformat(str(m.get("run_date")))
        except ValueError:
            continue
        if m.get("status") in ("ok", "partial"):
            recent.append(m)
        accounts = m.get("accounts") or {}
        landed = accounts.get("landed") or []
        spent = m.get("requests_by_account") or {}
        for key in landed if isinstance(landed, list) else []:
            _keep_latest(out.landed, key, day)
            _keep_latest(out.tried, key, day)
            cost = spent.get(key) if isinstance(spent, dict) else None
            if isinstance(cost, int | float) and out.landed.get(key) == day:
                out.requests[key] = float(cost)
        by_key = accounts.get("by_key") or {}
        for key, outcome in by_key.items() if isinstance(by_key, dict) else []:
            if isinstance(outcome, dict) and outcome.get("status") == "failed":
                _keep_latest(out.tried, key, day)
    out.recent = list(reversed(recent))
    return out


def last_followers(root: Path, platform: str, day: date | None) -> dict[str, int]:
    """creator_id -> followers in the accounts records landed on `day` (empty if none)."""
    if day is None:
        return {}
    out: dict[str, int] = {}
    for path in sorted(records_dir(root, "accounts", day, platform).glob("part-*.parquet")):
        try:
            table = pq.read_table(path)
        except (OSError, pa.ArrowInvalid):
            continue  # the tier only breaks ties: an unreadable file plans by the other rules
        column = next((c for c in FOLLOWER_COLUMNS if c in table.column_names), None)
        if column is None or "creator_id" not in table.column_names:
            continue
        for cid, n in zip(table["creator_id"].to_pylist(), table[column].to_pylist(), strict=True):
            if cid is not None and n is not None:
                out[str(cid)] = max(int(n), out.get(str(cid), 0))
    return out


def campaign_creators(exports_dir: Path | None, platform: str, day: date) -> set[str]:
    """creator_ids in a campaign on `platform` active on `day` (start <= day <= end; an empty
    end is open), from the campaign exports; empty when there are none."""
    if exports_dir is None:
        return set()
    try:
        with (exports_dir / "campaigns.csv").open(encoding="utf-8-sig", newline="") as fh:
            active = {
                row.get("campaign_id")
                for row in csv.DictReader(fh)
                if _active(row.get("start_date"), row.get("end_date"), day)
            }
        with (exports_dir / "campaign_creators.csv").open(encoding="utf-8-sig", newline="") as fh:
            return {
                str(row.get("creator_id"))
                for row in csv.DictReader(fh)
                if row.get("campaign_id") in active
                and (row.get("platform") or "").strip().lower() == platform
            }
    except (OSError, UnicodeDecodeError, csv.Error):
        return set()  # the exports loader reports the file; the plan goes on without it


def _active(start: str | None, end: str | None, day: date) -> bool:
    try:
        first = date.fromisoformat((start or "").strip()[:10])
        last = date.fromisoformat(end.strip()[:10]) if (end or "").strip() else None
    except ValueError:
        return False  # the exports loader quarantines the row; it plans nothing
    return first <= day and (last is None or day <= last)


def plan_refresh(
    platform: str,
    run_date: date,
    entries: list[RosterEntry],
    landing_root: Path,
    exports_dir: Path | None,
    quota: QuotaSettings,
) -> RefreshPlan:
    """Which of `entries` refresh on `run_date` (see the module docstring)."""
    past = landing_history(landing_root, platform, run_date)
    history = per_account_from_history(platform, past.recent)
    if history:
        per_account, runs = history
        estimate = f"mean of the last {runs} landed run(s)"
    else:
        per_account, estimate = documented_per_account(platform), "documented estimate"
    budget = daily_budget(platform, quota, run_date)
    followers = last_followers(landing_root, platform, max(past.landed.values(), default=None))
    in_campaign = campaign_creators(exports_dir, platform, run_date)
    by_key = {e.key: e for e in entries}
    order = refresh_order(
        Candidate(
            key=e.key,
            in_campaign=e.creator_id in in_campaign,
            days_stale=(run_date - past.tried[e.key]).days if e.key in past.tried else NEVER,
            followers=followers.get(e.creator_id),
        )
        for e in by_key.values()
    )
    weights = past.weights()
    if weights:
        estimate += ", each account weighted by its own last day's requests"
    n = accounts_within(
        ({m: c * weights.get(cand.key, 1.0) for m, c in per_account.items()} for cand in order),
        budget,
    )
    total = len(order)
    return RefreshPlan(
        platform=platform,
        run_date=run_date,
        accounts=total,
        per_account=per_account,
        estimate=estimate,
        budget=budget,
        refresh=[c.key for c in order[:n]],
        deferred=[
            {"account": c.key, "reason": f"over the day's quota: priority {i} of {total}"}
            for i, c in enumerate(order[n:], start=n + 1)
        ],
        days_for_roster=days_to_cover(per_account, budget, total),
    )
