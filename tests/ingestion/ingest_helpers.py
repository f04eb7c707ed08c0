"""Shared helpers for ingestion tests (a unique module name: test dirs have no __init__)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.http import RetryPolicy
from ingestion.roster import RosterEntry

RUN_DATE = date(2026, 11, 24)
FAST = RetryPolicy(
    max_attempts=3, backoff_base=0.001, max_wait=0.05, connect_timeout=2, read_timeout=5
)


def raw_line(
    platform: str,
    endpoint: str,
    body: Any,
    accounts: list[dict[str, Any]] | None = None,
    context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A raw page line as the extractor writes it (body as served text)."""
    return {
        "run_id": "r1",
        "platform": platform,
        "endpoint": endpoint,
        "snapshot_date": RUN_DATE.isoformat(),
        "accounts": accounts or [{"creator_id": "c1", "handle": "h1", "account_id": "a1"}],
        "context": {"page": 0, **(context or {})},
        "request": {"method": "GET", "url": "http://x/", "params": None, "json": None},
        "status": 200,
        "headers": {},
        "received_at": "2026-11-24T12:00:00+00:00",
        "outcome": "ok",
        "error": None,
        "body": body if isinstance(body, str) else json.dumps(body),
    }


def entry(
    platform: str, handle: str, account_id: str | None = None, creator_id: str | None = None
) -> RosterEntry:
    return RosterEntry(
        creator_id=creator_id or f"cr_{handle}",
        display_name=handle.title(),
        platform=platform,
        handle=handle,
        account_id=account_id,
    )


def extract_tiktok(home: Path, run_id: str, faults: str = "") -> dict[str, Any]:
    """One TikTok extraction of the crash-test world (run in-process or in a child to kill)."""
    from ingestion.extract import ExtractRequest, extract_platform
    from ingestion.roster import read_roster
    from sandbox import FaultConfig, SandboxServer, WorldConfig, export_world

    cfg = WorldConfig(seed=4, creators=4, days=5, end_date=RUN_DATE)
    roster = read_roster(export_world(cfg, home / "world")["roster"])
    fault_cfg = FaultConfig.parse(faults) if faults else None
    with SandboxServer(cfg, token="t-crash", faults=fault_cfg) as sb:
        req = ExtractRequest(
            "tiktok",
            RUN_DATE,
            run_id,
            home / "landing",
            roster.entries,
            sb.base_urls["tiktok"],
            "t-crash",
            salt="s",
            policy=RetryPolicy(max_attempts=3, backoff_base=0.01, max_wait=0.05),
        )
        return extract_platform(req)
