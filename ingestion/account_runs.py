"""Which run each account's landed data of a (platform, date) comes from.

Real APIs cannot answer for past dates, so a re-run of a date must never trade landed data
for a worse answer: an account's data is replaced only by a newer *successful* landing of
that account. An account the re-run did not land (platform down, quota, its own failure,
gone from the roster) keeps the run it had. The manifest records the choice per account
(`accounts.by_key`), and both the extraction commit and `kol reparse` build the date's
records from it. Layout and commit order: docs/architecture.md "On disk".
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LANDED = "landed"  # the account's pages all came back and parsed: the only "seen" state
OUTCOMES = (LANDED, "failed", "skipped")
_RUN_IN_PATH = re.compile(r"/run=([^/]+)/")


@dataclass(frozen=True)
class AccountRun:
    """The run an account's data of the date comes from, and how that run ended for it."""

    run_id: str
    status: str  # one of OUTCOMES

    def as_dict(self) -> dict[str, str]:
        return {"run_id": self.run_id, "status": self.status}


View = dict[str, AccountRun]  # account key -> the run its data comes from


def view_of(manifest: Mapping[str, Any] | None) -> View | None:
    """The per-account runs a manifest names; None when it names none (a manifest written
    before per-account runs existed: its one run holds every account's data)."""
    if not manifest:
        return None
    by_key = (manifest.get("accounts") or {}).get("by_key")
    if by_key is None:
        return None
    return {k: AccountRun(str(v["run_id"]), str(v["status"])) for k, v in by_key.items()}


def previous_view(manifest: Mapping[str, Any] | None) -> View:
    """What a re-run builds on: the manifest's per-account runs, or for a manifest without
    them, its landed accounts at its run (accounts it only failed are not protected)."""
    view = view_of(manifest)
    if view is not None:
        return view
    if not manifest or manifest.get("status") == "skipped":
        return {}
    run_id = str(manifest.get("run_id"))
    landed = (manifest.get("accounts") or {}).get("landed") or []
    return {key: AccountRun(run_id, LANDED) for key in landed}


def merge(previous: View, run_id: str, outcomes: Mapping[str, str]) -> View:
    """The view after `run_id` ended with `outcomes` (account key -> landed|failed|skipped).

    The new run takes an account when it landed it, or when no earlier run holds anything
    for it (then its partial data, if any, is better than none); otherwise the account
    keeps its earlier run.
    """
    out = dict(previous)
    for key, status in outcomes.items():
        if status not in OUTCOMES:
            raise ValueError(f"account outcome {status!r} for {key}: expected one of {OUTCOMES}")
        if status == LANDED or key not in previous:
            out[key] = AccountRun(run_id, status)
    return dict(sorted(out.items()))


def runs_of(view: View) -> list[str]:
    """The distinct runs a view draws from, in the order their records are combined."""
    return sorted({r.run_id for r in view.values()})


def owns(view: View | None, owner: str | None, run_id: str, commit_run: str) -> bool:
    """Whether a row of `run_id` belonging to `owner` is part of the date's data.

    Without a view every row of the committing run is. A row no account in the view claims
    belongs to the committing run.
    """
    if view is None:
        return run_id == commit_run
    entry = view.get(owner) if owner is not None else None
    if entry is None:
        return run_id == commit_run
    return entry.run_id == run_id


def seen_keys(manifest: Mapping[str, Any]) -> set[str]:
    """Accounts this date landed cleanly (a failed or partial pull does not count)."""
    view = view_of(manifest)
    if view is not None:
        return {k for k, r in view.items() if r.status == LANDED}
    return set((manifest.get("accounts") or {}).get("landed") or [])


def run_of_path(rel_path: str) -> str | None:
    """The run id in a raw page path (`.../run=<id>/part-*.jsonl.gz`)."""
    match = _RUN_IN_PATH.search("/" + rel_path)
    return match.group(1) if match else None


def files_of_runs(files: Mapping[str, str], runs: Iterable[str]) -> dict[str, str]:
    """The {path: sha256} entries whose run is one of `runs`."""
    keep = set(runs)
    return {p: d for p, d in files.items() if run_of_path(p) in keep}
