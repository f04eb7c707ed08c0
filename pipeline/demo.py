"""`kol demo`: the whole product on the embedded default, with nothing to install or start.

The sandbox (seed 42, about 50 creators on five platforms, world ending yesterday) runs as
its own process on a free loopback port with token `sandbox` — its own process, as the real
platforms are, so the extractors and the simulated APIs do not share one interpreter. 14
daily runs land into KOL_HOME with the sandbox clock moved to each day; the marts are built,
gated and published, and a summary a marketer can read is printed. Running it again reuses
KOL_HOME and gives the same marts.

Each day runs through the same run policy as production (`pipeline.policy.run_day`), told
that "today" is the day after it: the sandbox serves that day's counts, as a real platform
serves today's. By default the first 13 days are landed only and the build (dbt -> gate ->
publish) runs once, as of the last day, over all 14 landed days — incremental models give
the same marts either way (tested in tests/dbt), and the demo stays fast.
`KOL_DEMO_DAILY_BUILDS=1` builds and publishes every day instead.

This module (and `dags/local_airflow.py`, for `make airflow`) is the only one outside tests and
bench that knows the sandbox exists; the production path (steps, policy, ingestion) never calls it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import requests

from ingestion.quota import QuotaSettings
from pipeline import policy, steps
from pipeline.config import PlatformSettings, Secret, Settings
from pipeline.logs import Progress, say
from pipeline.report import demo_summary

DEMO_SEED = 42
DEMO_CREATORS = 50
DEMO_DAYS = 14
DEMO_TOKEN = "sandbox"
DEMO_GRAPH_HOURS = 24  # a demo day spends what a real day spreads over 24 rolling hours
DEMO_X_WINDOWS = 96  # and X's requests of a day's 96 15-minute windows


def sandbox_settings(
    settings: Settings, base_urls: dict[str, str], ig_user_id: str, world_dir: Path
) -> Settings:
    """The settings with every platform pointed at the sandbox: the base URLs differ, and the
    per-run allowances (`demo_quota`)."""
    platforms = {
        p: PlatformSettings(name=p, base_url=url.rstrip("/"), token=Secret(DEMO_TOKEN))
        for p, url in base_urls.items()
    }
    return dataclasses.replace(
        settings,
        platforms=platforms,
        instagram_user_id=ig_user_id,
        roster=world_dir / "roster.csv",
        exports_dir=world_dir,
        quota=demo_quota(settings.quota),
    )


def demo_quota(quota: QuotaSettings | None = None) -> QuotaSettings:
    """A demo day's per-run allowances: its days pass in minutes of one wall-clock hour,
    against a sandbox without the quota model, so each run may spend a whole day's Graph
    calls (the documented 200 an hour x 24) and X requests (a day's 96 windows)."""
    q = quota or QuotaSettings()
    return dataclasses.replace(
        q,
        graph_calls_per_hour=q.graph_calls_per_hour * DEMO_GRAPH_HOURS,
        x_windows_per_run=DEMO_X_WINDOWS,
    )


def demo_quota_env() -> dict[str, str]:
    """`demo_quota` as the settings a `kol` process reads (the local Airflow, test worlds)."""
    q = demo_quota()
    return {
        "KOL_GRAPH_CALLS_PER_HOUR": str(q.graph_calls_per_hour),
        "KOL_X_WINDOWS_PER_RUN": str(q.x_windows_per_run),
    }


def sandbox_world_dir(
    settings: Settings, seed: int = DEMO_SEED, creators: int = DEMO_CREATORS
) -> Path:
    return settings.home / "sandbox" / f"seed={seed}-creators={creators}"


def materialise_sandbox_world(
    settings: Settings,
    seed: int = DEMO_SEED,
    creators: int = DEMO_CREATORS,
    end_date: date | None = None,
) -> Path:
    """Write the sandbox world's roster and exports under KOL_HOME (the demo's inputs)."""
    from sandbox import WorldConfig, export_world

    out = sandbox_world_dir(settings, seed, creators)
    cfg = WorldConfig(seed=seed, creators=creators, end_date=end_date or policy.yesterday_utc())
    out.mkdir(parents=True, exist_ok=True)
    export_world(cfg, out)
    return out


def set_sandbox_clock(root: str, d: date) -> None:
    """Move the sandbox's clock: it then serves the world as of the end of `d`."""
    r = requests.post(f"{root}/_sandbox/clock", json={"date": d.isoformat()}, timeout=10)
    if not r.ok:
        raise steps.StepFailed(f"sandbox refused clock {d}: {r.text[:200]}")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def sandbox_process(seed: int, creators: int, end: date, log_path: Path) -> Iterator[str]:
    """Run `python -m sandbox serve` on a free port; yields its root URL."""
    port = _free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "sandbox", "serve", "--port", str(port),
             "--seed", str(seed), "--creators", str(creators), "--end-date", end.isoformat(),
             "--token", DEMO_TOKEN],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        root = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                if proc.poll() is not None:
                    raise steps.StepFailed(f"the sandbox did not start; see {log_path}")
                try:
                    if requests.get(f"{root}/_sandbox/health", timeout=1).ok:
                        break
                except requests.RequestException:
                    pass
                if time.monotonic() > deadline:
                    raise steps.StepFailed(f"the sandbox did not answer in 60 s; see {log_path}")
                time.sleep(0.2)
            yield root
        finally:
            with contextlib.suppress(ProcessLookupError):  # it may have died already
                os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def run_demo(
    settings: Settings,
    progress: Progress | None = None,
    seed: int = DEMO_SEED,
    end: date | None = None,
) -> str:
    """The demo; `seed` and `end` (default: yesterday) give another world (tests use them)."""
    from sandbox import SANDBOX_IG_USER_ID
    from sandbox.server import PREFIXES

    end = end or policy.yesterday_utc()
    world_dir = materialise_sandbox_world(settings, seed=seed, end_date=end)
    daily = os.environ.get("KOL_DEMO_DAILY_BUILDS") == "1"
    log_path = settings.home / "sandbox" / "server.log"
    with sandbox_process(seed, DEMO_CREATORS, end, log_path) as root:
        urls = {p: f"{root}/{prefix}" for p, prefix in PREFIXES.items()}
        s = sandbox_settings(settings, urls, SANDBOX_IG_USER_ID, world_dir)
        say(progress, f"sandbox on {root}; {DEMO_DAYS} daily runs up to {end}")
        last = None
        for i in range(DEMO_DAYS):
            d = end - timedelta(days=DEMO_DAYS - 1 - i)
            set_sandbox_clock(root, d)
            is_last = i == DEMO_DAYS - 1
            last = policy.run_day(
                s,
                d,
                today=d + timedelta(days=1),
                build=daily or is_last,
                full_refresh=is_last and not daily,
                progress=progress,
            )
            say(progress, f"day {i + 1}/{DEMO_DAYS} {d}: {last.status}")
    try:
        steps.docs(s, progress)
    except Exception as exc:  # docs are a convenience; the marts are published already
        say(progress, f"dbt docs not generated: {exc}")
    return demo_summary(s, last)
