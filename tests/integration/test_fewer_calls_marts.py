"""The change-driven comment rules build the same marts as full pulls: three days of all five
platforms landed both ways from the same sandbox world, then one build of each landing, every
published mart compared row for row.

Instagram insights are asked for young or changed media only, the others keeping their last
observed values: the one difference allowed is `insights_as_of`, which then says an earlier
(never a missing) date. Floats are compared to 10 significant digits (an engine's parallel
sums may differ in the last bit).
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from ingestion.extract import ExtractRequest, extract_platform
from ingestion.redaction import SALT_FILE, load_or_create_salt
from ingestion.roster import read_roster
from pipeline import config, policy, steps
from sandbox import SandboxServer, WorldConfig, export_world

pytestmark = [pytest.mark.integration, pytest.mark.slow]

END = date(2026, 11, 20)
DAYS = [END - timedelta(days=2), END - timedelta(days=1), END]
CFG = WorldConfig(seed=21, creators=8, days=60, end_date=END)
TOKEN = "sandbox"
PLATFORMS = ("instagram", "facebook", "tiktok", "youtube", "x")
# what differs between two equal builds of two landings: the runs, and when they happened
VOLATILE = ("run_id", "extracted_at", "published_at_utc", "built_at", "loaded_at")
# when a media's insights were last observed: the insights rule may keep an earlier answer
KEPT = ("insights_as_of",)


def _settings(server: SandboxServer, world: dict[str, Path], home: Path) -> config.Settings:
    env = {
        **server.env(),
        "KOL_HOME": str(home),
        "KOL_ROSTER": str(world["roster"]),
        "KOL_EXPORTS_DIR": str(world["roster"].parent),
        **{f"KOL_{p.upper()}_TOKEN": TOKEN for p in PLATFORMS},
    }
    return config.load(env, env_file=None)


def _land(server: SandboxServer, s: config.Settings, day: date, change_driven: bool) -> None:
    roster = read_roster(s.roster).entries
    for platform in PLATFORMS:
        req = ExtractRequest(
            platform,
            day,
            f"r-{day:%Y%m%d}",
            s.landing,
            roster,
            server.base_urls[platform],
            TOKEN,
            instagram_user_id=server.env()["KOL_INSTAGRAM_USER_ID"],
            salt=load_or_create_salt(s.home),
            sleep=lambda _: None,
            change_driven=change_driven,
        )
        assert extract_platform(req)["status"] in ("ok", "partial")
    steps.load_exports(s, day, f"e-{day:%Y%m%d}")


def _marts(path: Path) -> dict[str, list[tuple]]:
    out = {}
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [
            r[0]
            for r in con.execute(
                "select table_name from information_schema.tables where table_schema = 'main'"
            ).fetchall()
        ]
        for table in sorted(tables):
            cols = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns "
                    "where table_schema = 'main' and table_name = ? order by ordinal_position",
                    [table],
                ).fetchall()
                if r[0] not in VOLATILE + KEPT
            ]
            select = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'select {select} from "{table}"').fetchall()
            out[table] = sorted(
                (tuple(_stable(v) for v in row) for row in rows), key=lambda r: repr(r)
            )
    return out


def _stable(value: object) -> object:
    return float(f"{value:.10g}") if isinstance(value, float) else value


def _insights_dates(path: Path) -> dict[str, object]:
    with duckdb.connect(str(path), read_only=True) as con:
        return dict(
            con.execute(
                "select post_id, insights_as_of from fct_post_performance "
                "where platform = 'instagram'"
            ).fetchall()
        )


def test_rules_and_full_pulls_publish_the_same_marts(tmp_path: Path) -> None:
    world = export_world(CFG, tmp_path / "world")
    published, dates = {}, {}
    with SandboxServer(CFG, token=TOKEN) as server:
        for mode in ("rules", "full"):
            home = tmp_path / mode
            home.mkdir()
            (home / SALT_FILE).write_text("one-salt-for-both")  # the same commenter hashes
            for day in DAYS:
                server.set_clock(day)
                s = _settings(server, world, home)
                _land(server, s, day, change_driven=mode == "rules")
            summary = policy.run_day(s, END, land_sources=False)
            assert summary.stages.get("transform") == "ok", summary.message
            published[mode] = _marts(s.serving / "marts.duckdb")
            dates[mode] = _insights_dates(s.serving / "marts.duckdb")
    rules, full = published["rules"], published["full"]
    assert set(rules) == set(full) and len(rules) > 5
    differ = [t for t in sorted(full) if rules[t] != full[t]]
    assert differ == []
    # insights kept, not lost: an older media not asked today says when it last was
    assert dates["rules"].keys() == dates["full"].keys()
    kept = [p for p, d in dates["full"].items() if dates["rules"][p] != d]
    assert kept and all(
        dates["rules"][p] is not None and dates["rules"][p] < dates["full"][p] for p in kept
    )
    assert any("comment" in t or t == "creator_scorecard" for t in full)
