"""`kol demo`: the whole product on the embedded default, with nothing to install or start.

The sandbox (seed 42, about 50 creators on five platforms, world ending yesterday) runs on a
free loopback port with token `sandbox`; 14 daily runs land into KOL_HOME with the sandbox
clock moved to each day, the marts are built, gated and published, and a summary a marketer
can read is printed. Running it again reuses KOL_HOME and gives the same marts.

Departure from ARCHITECTURE.md, on purpose: by default the first 13 days are landed only and
the build (dbt -> gate -> publish) runs once, as of the last day, over all 14 landed days —
incremental models give the same marts either way (tested), and the demo stays fast.
`KOL_DEMO_DAILY_BUILDS=1` builds and publishes every day instead.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import timedelta

from pipeline import steps
from pipeline.config import PlatformSettings, Secret, Settings
from pipeline.report import demo_summary

DEMO_DAYS = 14
DEMO_TOKEN = "sandbox"


def sandbox_settings(
    settings: Settings, base_urls: dict[str, str], ig_user_id: str, world_dir
) -> Settings:
    """The settings with every platform pointed at the sandbox: only the base URL differs."""
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
    )


def run_demo(settings: Settings, progress: steps.Progress | None = None) -> str:
    from ingestion.sandbox import SANDBOX_IG_USER_ID, SandboxServer, WorldConfig

    end = steps.yesterday_utc()
    cfg = WorldConfig(seed=steps.DEMO_SEED, creators=steps.DEMO_CREATORS, end_date=end)
    world_dir = steps.materialise_sandbox_world(settings, end_date=end)
    daily = os.environ.get("KOL_DEMO_DAILY_BUILDS") == "1"
    server = SandboxServer(cfg, token=DEMO_TOKEN)
    urls = server.start()
    try:
        s = sandbox_settings(settings, urls, SANDBOX_IG_USER_ID, world_dir)
        steps._say(progress, f"sandbox on {server.url}; {DEMO_DAYS} daily runs up to {end}")
        last = None
        for i in range(DEMO_DAYS):
            d = end - timedelta(days=DEMO_DAYS - 1 - i)
            server.set_clock(d)
            is_last = i == DEMO_DAYS - 1
            last = steps.run_day(
                s, d, build=daily or is_last, full_refresh=is_last and not daily, progress=progress
            )
            steps._say(progress, f"day {i + 1}/{DEMO_DAYS} {d}: {last.status}")
    finally:
        server.stop()
    try:
        steps.docs(s, progress)
    except Exception as exc:  # docs are a convenience; the marts are published already
        steps._say(progress, f"dbt docs not generated: {exc}")
    return demo_summary(s, last)
