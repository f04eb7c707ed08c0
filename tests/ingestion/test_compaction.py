"""Landing compaction: month files keep every row staging can pick, a kill at any point leaves
each day readable once, a second run does nothing, raw pages stay reparseable from packs."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.compacted import packed_sha256, read_compaction
from ingestion.compaction import DEDUPE_KEYS, compact, months_before
from ingestion.landing import RawWriter, read_raw_lines
from ingestion.records import api_schema

AS_OF = date(2026, 11, 24)
AFTER = 20  # September and October are whole months more than 20 days before AS_OF
SEPT = [date(2026, 9, 28), date(2026, 9, 29), date(2026, 9, 30)]
OCT = [date(2026, 10, 1), date(2026, 10, 2)]
RECENT = [date(2026, 11, 20)]
REPO = Path(__file__).resolve().parents[2]


def ts(day: date, hour: int) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=UTC)


def write(landing: Path, entity: str, day: date, rows: list[dict]) -> None:
    schema = api_schema(entity, "tiktok")
    full = [
        {
            "creator_id": "c1",
            "account_id": "tt-1",
            "snapshot_date": day,
            "run_id": f"run-{day}",
            "extracted_at": ts(day, 23),
            **r,
        }
        for r in rows
    ]
    folder = landing / "records" / entity / "platform=tiktok" / f"dt={day}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(full, schema=schema), folder / "part-0.parquet")


def post(post_id: str, day: date, likes: int, **extra: object) -> dict:
    return {
        "post_id": post_id,
        "published_at": ts(date(2026, 9, 20), 8),
        "like_count": likes,
        "comment_count": 1,
        **extra,
    }


def land(landing: Path) -> None:
    """Two posts a day; on 09-29 p1's page came twice (identical) and p2 has an older version
    (fewer likes, extracted an hour earlier): 8 post rows in September, 6 staging can pick."""
    for n, day in enumerate(SEPT + OCT + RECENT):
        posts = [post("p1", day, 10 + n), post("p2", day, 20 + n)]
        if day == SEPT[1]:
            posts += [post("p1", day, 10 + n), post("p2", day, 5, extracted_at=ts(day, 22))]
        write(landing, "posts", day, posts)
        land_others(landing, day, n)


def land_others(landing: Path, day: date, n: int) -> None:
    """The day's accounts and comments records."""
    write(landing, "accounts", day, [{"username": "ada", "follower_count": 1000 + n}])
    write(
        landing,
        "comments",
        day,
        [
            {
                "post_id": "p1",
                "comment_id": "k1",
                "text": "nice",
                "published_at": ts(date(2026, 9, 27), 9),
                "like_count": n,
            }
        ],
    )


def staged(landing: Path, entity: str) -> list[tuple]:
    """What a staging view reads (the day folders no month file covers, plus the month
    files; dbt_project/macros/staging.sql landing_records), deduped as staging does."""
    m = read_compaction(landing)
    entries = [e for e in m["records"] if e["entity"] == entity and e["platform"] == "tiktok"]
    covered = {d for e in entries for d in e["days"]}
    base = landing / "records" / entity / "platform=tiktok"
    days = [
        str(p)
        for p in sorted(base.glob("dt=*/*.parquet"))
        if p.parent.name.removeprefix("dt=") not in covered
    ]
    parts = []
    if days:
        parts.append(
            f"select * exclude (platform, dt), cast(dt as date) as dt from read_parquet({days}, "
            "hive_partitioning=true, union_by_name=true)"
        )
    if entries:
        months = [str(landing / e["file"]) for e in entries]
        parts.append(
            f"select * exclude (platform, month) from read_parquet({months}, hive_partitioning=true)"
        )
    union = " union all by name ".join(parts)
    cols = "creator_id, account_id, snapshot_date, dt, run_id, extracted_at, like_count"
    keys = DEDUPE_KEYS.get(entity)
    key_col = "post_id" if entity != "accounts" else "account_id"
    cols = f"{key_col}, {cols}" if entity != "accounts" else cols.replace(", like_count", "")
    if keys:
        union = (
            f"select * from ({union}) qualify row_number() over (partition by {', '.join(keys)}, "
            "snapshot_date, dt order by extracted_at desc, run_id desc) = 1"
        )
    return duckdb.sql(f"select {cols} from ({union}) order by all").fetchall()


ENTITIES = ("posts", "accounts", "comments")


def readable(landing: Path) -> dict[str, list[tuple]]:
    """Each entity as staging reads it; every month file holds exactly the days its manifest
    entry covers (so no day is read from both its folder and its month)."""
    for e in read_compaction(landing)["records"]:
        days = duckdb.sql(
            f"select distinct cast(dt as varchar) from read_parquet('{landing / e['file']}') "
            "order by 1"
        ).fetchall()
        assert [d for (d,) in days] == e["days"]
    return {e: staged(landing, e) for e in ENTITIES}


def test_months_before_takes_whole_months_only() -> None:
    days = [date(2026, 9, 30), date(2026, 10, 1), date(2026, 10, 31), date(2026, 11, 1)]
    # 11-24 - 10-31 = 24 days: October is eligible after 20 days, not after 24
    assert months_before(AS_OF, 20, days) == {"2026-09", "2026-10"}
    assert months_before(AS_OF, 24, days) == {"2026-09"}


def test_dedupe_keys_are_the_staging_models_keys() -> None:
    calls = re.findall(
        r"platform_staging\('(\w+)', '(\w+)', \[([^\]]*)\]\)",
        "".join(p.read_text() for p in (REPO / "dbt_project/models/staging").rglob("*.sql")),
    )
    found = {(entity, tuple(re.findall(r"'(\w+)'", keys))) for _, entity, keys in calls}
    assert found == set(DEDUPE_KEYS.items())


def test_compaction_keeps_what_staging_reads_and_records_what_it_replaced(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    land(landing)
    before = readable(landing)
    sept_posts = landing / "records/posts/platform=tiktok/dt=2026-09-29/part-0.parquet"
    sept_sha = hashlib.sha256(sept_posts.read_bytes()).hexdigest()

    result = compact(landing, AS_OF, AFTER, raw_after_days=AFTER)

    assert readable(landing) == before
    assert sorted(result.months) == [
        f"{e}/tiktok/{m}" for e in ("accounts", "comments", "posts") for m in ("2026-09", "2026-10")
    ]
    m = read_compaction(landing)
    sept = next(e for e in m["records"] if e["entity"] == "posts" and e["month"] == "2026-09")
    assert sept["days"] == ["2026-09-28", "2026-09-29", "2026-09-30"]
    assert sept["rows"] == 6  # 8 landed: the identical re-pull and the older version went
    assert {"path": str(sept_posts.relative_to(landing)), "sha256": sept_sha} in sept["replaced"]
    comments = next(
        e for e in m["records"] if e["entity"] == "comments" and e["month"] == "2026-09"
    )
    assert comments["rows"] == 3  # every comment row stays
    assert not (landing / "records/posts/platform=tiktok/dt=2026-09-29").exists()
    assert (landing / "records/posts/platform=tiktok/dt=2026-11-20/part-0.parquet").exists()
    month_file = landing / sept["file"]
    assert hashlib.sha256(month_file.read_bytes()).hexdigest() == sept["sha256"]

    again = compact(landing, AS_OF, AFTER, raw_after_days=AFTER)  # idempotent
    assert again.months == [] and again.removed == 0
    assert read_compaction(landing)["records"] == m["records"]
    assert readable(landing) == before


class Killed(Exception):
    pass


@pytest.mark.parametrize("point", ["month_written", "manifest_published", "days_removed"])
@pytest.mark.parametrize("nth", [1, 4])
def test_a_crash_at_any_point_leaves_each_day_readable_once(
    tmp_path: Path, point: str, nth: int
) -> None:
    landing = tmp_path / "landing"
    land(landing)
    before = readable(landing)
    seen = {"n": 0}

    def crash(name: str) -> None:
        if name == point:
            seen["n"] += 1
            if seen["n"] == nth:
                raise Killed(name)

    with pytest.raises(Killed):
        compact(landing, AS_OF, AFTER, AFTER, checkpoint=crash)
    assert readable(landing) == before
    compact(landing, AS_OF, AFTER, AFTER)  # the next run finishes the work
    assert readable(landing) == before
    assert len(read_compaction(landing)["records"]) == 6
    leftovers = [p for p in landing.rglob("*") if p.is_file() and "compacted" in p.parts]
    named = {landing / e["file"] for e in read_compaction(landing)["records"]}
    assert set(leftovers) - named == {landing / "compacted/manifest.json"}
    assert not list(landing.glob("records/*/platform=tiktok/dt=2026-09-*"))


KILL_CHILD = """
import sys, time
from datetime import date
from pathlib import Path
from ingestion.compaction import compact

def pause(name):
    if name == sys.argv[2]:
        Path(sys.argv[3]).write_text(name)
        time.sleep(600)

compact(Path(sys.argv[1]), date(2026, 11, 24), 20, 20, checkpoint=pause)
"""


@pytest.mark.parametrize("point", ["month_written", "manifest_published"])
def test_kill_9_mid_compaction_leaves_each_day_readable_once(tmp_path: Path, point: str) -> None:
    landing = tmp_path / "landing"
    land(landing)
    before = readable(landing)
    marker = tmp_path / "paused"
    child = subprocess.Popen(
        [sys.executable, "-c", KILL_CHILD, str(landing), point, str(marker)], cwd=REPO
    )
    try:
        deadline = time.monotonic() + 60
        while not marker.exists():
            assert child.poll() is None, "the compaction ended before its pause"
            assert time.monotonic() < deadline
            time.sleep(0.05)
        os.kill(child.pid, signal.SIGKILL)
    finally:
        child.wait()
    assert readable(landing) == before
    compact(landing, AS_OF, AFTER, AFTER)
    assert readable(landing) == before
    assert not list(landing.rglob(".*.tmp"))


def raw_pages(landing: Path, day: date, run_id: str) -> dict[str, str]:
    writer = RawWriter(landing, "tiktok", day, run_id)
    for page in range(3):
        writer.write({"endpoint": "video_query", "page": page, "day": str(day)})
    writer.write({"endpoint": "user_info", "page": 0, "day": str(day)})
    return writer.close()


def test_raw_pages_are_packed_per_month_and_still_read(tmp_path: Path) -> None:
    landing = tmp_path / "landing"
    files = {d: raw_pages(landing, d, f"run-{d}") for d in SEPT + RECENT}
    lines = {d: list(read_raw_lines(landing, "tiktok", d, f"run-{d}")) for d in SEPT}
    assert [line["page"] for line in lines[SEPT[0]]] == [0, 0, 1, 2]  # user_info, video_query

    result = compact(landing, AS_OF, records_after_days=AFTER, raw_after_days=AFTER)

    assert result.raw_packs == ["tiktok/2026-09"] and result.raw_files_packed == 6
    assert not list((landing / "raw/platform=tiktok").glob("endpoint=*/dt=2026-09-*"))
    assert list((landing / "raw/platform=tiktok").glob("endpoint=*/dt=2026-11-20/run=*/*.gz"))
    for d in SEPT:
        assert list(read_raw_lines(landing, "tiktok", d, f"run-{d}")) == lines[d]
        for path, sha in files[d].items():
            assert packed_sha256(landing, path) == sha
    (pack,) = read_compaction(landing)["raw"]
    assert [m["path"] for m in pack["members"]] == sorted(p for d in SEPT for p in files[d])
    assert compact(landing, AS_OF, AFTER, AFTER).raw_packs == []  # idempotent


def test_a_later_month_day_joins_the_pack(tmp_path: Path) -> None:
    """A day landed after its month was packed (e.g. a late re-land) is added to the pack."""
    landing = tmp_path / "landing"
    raw_pages(landing, SEPT[0], "a")
    compact(landing, AS_OF, AFTER, AFTER)
    extra = raw_pages(landing, SEPT[1], "b")
    compact(landing, AS_OF, AFTER, AFTER)
    (pack,) = read_compaction(landing)["raw"]
    assert len(pack["members"]) == 4
    assert len(list((landing / "compacted/raw/platform=tiktok").iterdir())) == 1
    for path, sha in extra.items():
        assert packed_sha256(landing, path) == sha
    assert [line["day"] for line in read_raw_lines(landing, "tiktok", SEPT[1], "b")] == [
        str(SEPT[1])
    ] * 4


@pytest.mark.integration
def test_reparse_of_a_compacted_date_gives_back_the_original_records(tmp_path: Path) -> None:
    """A date whose records and raw pages were compacted reparses from its pack to the very
    files it landed; its month files stop covering it until the next compaction."""
    from ingestion.extract import ExtractRequest, extract_platform
    from ingestion.http import RetryPolicy
    from ingestion.reparse import reparse_date
    from ingestion.roster import read_roster
    from sandbox import SandboxServer, WorldConfig, export_world

    old = date(2026, 9, 15)
    cfg = WorldConfig(seed=11, creators=4, days=20, end_date=old)
    entries = [
        e
        for e in read_roster(export_world(cfg, tmp_path / "world")["roster"]).entries
        if e.platform == "youtube"
    ]
    landing = tmp_path / "landing"
    policy = RetryPolicy(max_attempts=2, backoff_base=0.001, max_wait=0.01, connect_timeout=1)
    with SandboxServer(cfg, token="t") as sb:
        req = ExtractRequest(
            "youtube", old, "r1", landing, entries, sb.base_urls["youtube"], "t",
            salt="s", policy=policy, sleep=lambda s: None, workers=1,
        )  # fmt: skip
        assert extract_platform(req)["status"] in ("ok", "partial")
    originals = {
        str(p.relative_to(landing)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in landing.glob(f"records/*/platform=youtube/dt={old}/*.parquet")
    }
    assert len(originals) >= 3  # accounts, posts, comments

    compact(landing, AS_OF, AFTER, AFTER)
    assert not list(landing.glob(f"records/*/platform=youtube/dt={old}"))
    assert not list(landing.glob(f"raw/platform=youtube/endpoint=*/dt={old}"))
    replaced = {r["path"]: r["sha256"] for e in read_compaction(landing)["records"]
                for r in e["replaced"]}  # fmt: skip
    assert replaced == originals

    reparse_date(landing, old, "s")
    again = {
        str(p.relative_to(landing)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in landing.glob(f"records/*/platform=youtube/dt={old}/*.parquet")
    }
    assert again == originals
    assert read_compaction(landing)["records"] == []  # the only day went back to its folders

    compact(landing, AS_OF, AFTER, AFTER)  # and the next compaction merges it again
    assert {r["path"]: r["sha256"] for e in read_compaction(landing)["records"]
            for r in e["replaced"]} == originals  # fmt: skip


@pytest.mark.parametrize("crash", [False, True])
def test_a_released_day_is_read_from_its_folder_again(tmp_path: Path, crash: bool) -> None:
    """What `kol reparse` does to a compacted day: new folders first, then release_day takes the
    day out of its month files. A kill in between leaves every day read once (the old rows
    until the manifest switches), and the next compaction merges the new folder in."""
    from ingestion.compaction import release_day

    landing = tmp_path / "landing"
    land(landing)
    compact(landing, AS_OF, AFTER, AFTER)
    before = readable(landing)
    write(landing, "posts", SEPT[1], [post("p1", SEPT[1], 99)])  # the day, parsed anew
    land_others(landing, SEPT[1], 1)
    assert readable(landing) == before  # still covered: the month's rows count

    def posts_on(rows: dict[str, list[tuple]], day: date) -> list[int]:
        return [r[-1] for r in rows["posts"] if r[4] == day]

    if crash:

        def kill(name: str) -> None:
            raise Killed(name)

        with pytest.raises(Killed):  # after the first entry (accounts) switched
            release_day(landing, "tiktok", SEPT[1], checkpoint=kill)
        assert posts_on(readable(landing), SEPT[1]) == [11, 21]
    else:
        release_day(landing, "tiktok", SEPT[1])
        assert posts_on(readable(landing), SEPT[1]) == [99]
        sept = [e for e in read_compaction(landing)["records"] if e["month"] == "2026-09"]
        assert sept and all(e["days"] == ["2026-09-28", "2026-09-30"] for e in sept)
    compact(landing, AS_OF, AFTER, AFTER)  # merged back, the new version kept
    after = readable(landing)
    assert posts_on(after, SEPT[1]) == [99]
    assert [r for r in after["posts"] if r[4] != SEPT[1]] == [
        r for r in before["posts"] if r[4] != SEPT[1]
    ]
    assert after["accounts"] == before["accounts"] and after["comments"] == before["comments"]
    assert len(list(landing.glob("compacted/records/posts/platform=tiktok/month=2026-09/*"))) == 1
    assert not list(landing.glob("records/*/platform=tiktok/dt=2026-09-*"))
