"""Fixtures for ingestion tests: stub-backed extraction into a tmp landing zone."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from ingest_helpers import FAST, RUN_DATE
from ingest_stub import Reply, Seen, StubServer

from ingestion.extract import ExtractRequest, extract_platform
from ingestion.http import RetryPolicy
from ingestion.roster import RosterEntry


@pytest.fixture
def stub_extract(tmp_path: Path) -> Callable[..., tuple[dict[str, Any], list[Seen], Path]]:
    """Run extract_platform against a scripted stub; returns (manifest, requests seen, root)."""

    def run(
        platform: str,
        responder: Callable[[Seen], Reply],
        entries: list[RosterEntry],
        token: str = "tok-stub-000",
        run_date: date = RUN_DATE,
        run_id: str = "r1",
        policy: RetryPolicy = FAST,
        sleeps: list[float] | None = None,
        progress: Callable[[dict[str, Any]], None] | None = None,
        **kwargs: Any,
    ) -> tuple[dict[str, Any], list[Seen], Path]:
        root = tmp_path / "landing"
        # One worker: these tests script and assert request sequences; the worker pool
        # has its own tests (test_ingestion_workers.py).
        kwargs.setdefault("workers", 1)
        with StubServer(responder) as server:
            req = ExtractRequest(
                platform=platform,
                run_date=run_date,
                run_id=run_id,
                landing_root=root,
                roster=entries,
                base_url=server.url,
                token=token,
                salt="test-salt",
                policy=policy,
                sleep=(sleeps.append if sleeps is not None else (lambda s: None)),
                **kwargs,
            )
            manifest = extract_platform(req, progress)
        return manifest, server.seen, root

    return run
