"""The cheap history the benchmark builds: copies of one landed day, shifted back in time."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from bench import history
from ingestion.records import EXPORT_SCHEMAS, api_schema

SOURCE = date(2026, 11, 23)


def _post(post_id: str, published: datetime) -> dict:
    return {
        "creator_id": "c1",
        "account_id": "UC1",
        "snapshot_date": SOURCE,
        "run_id": "real-run",
        "extracted_at": datetime(2026, 11, 24, 3, 0, tzinfo=UTC),
        "post_id": post_id,
        "title": "t",
        "description": None,
        "tags": ["a"],
        "published_at": published,
        "view_count": 10,
        "like_count": None,
        "comment_count": 2,
    }


@pytest.fixture
def landing(tmp_path):
    """One landed day: two YouTube posts, the brands export, and both manifests."""
    root = tmp_path / "home" / "landing"
    posts = root / "records/posts/platform=youtube" / f"dt={SOURCE}" / "part-real-run.parquet"
    posts.parent.mkdir(parents=True)
    rows = [
        _post("vid1", datetime(2026, 11, 20, 12, tzinfo=UTC)),
        _post("vid2", datetime(2026, 11, 1, 8, tzinfo=UTC)),
    ]
    pq.write_table(pa.Table.from_pylist(rows, schema=api_schema("posts", "youtube")), posts)
    brands = root / "records/brands" / f"dt={SOURCE}" / "part-real-run.parquet"
    brands.parent.mkdir(parents=True)
    pq.write_table(EXPORT_SCHEMAS["brands"].empty_table(), brands)
    mdir = root / "manifests" / f"dt={SOURCE}"
    mdir.mkdir(parents=True)
    manifest = {
        "source": "youtube",
        "run_id": "real-run",
        "run_date": str(SOURCE),
        "entities": {"posts": {"served": 2, "landed": 2, "quarantined": 0, "files": ["x"]}},
        "accounts": {"landed": ["UC1"]},
    }
    (mdir / "youtube.json").write_text(json.dumps(manifest))
    (mdir / "exports.json").write_text(
        json.dumps({"source": "exports", "run_id": "real-run", "entities": {"brands": {}}})
    )
    (mdir / "_gate.json").write_text(json.dumps({"status": "passed"}))
    return root


def test_a_copied_day_is_the_source_shifted_back(landing):
    target = date(2026, 11, 13)  # 10 days back: still block 0, ids unchanged
    history.fabricate_history(landing, SOURCE, [target], workers=1)
    out = landing / "records/posts/platform=youtube" / f"dt={target}"
    rows = pq.read_table(next(out.glob("*.parquet"))).to_pylist()
    assert [r["post_id"] for r in rows] == ["vid1", "vid2"]
    assert {r["snapshot_date"] for r in rows} == {target}
    assert {r["run_id"] for r in rows} == {"bench-history-20261113"}
    assert rows[0]["extracted_at"] == datetime(2026, 11, 14, 3, 0, tzinfo=UTC)
    assert rows[0]["published_at"] == datetime(2026, 11, 20, 12, tzinfo=UTC)
    assert rows[0]["tags"] == ["a"] and rows[0]["like_count"] is None


def test_each_30_days_back_starts_a_block_of_distinct_older_posts(landing):
    target = date(2026, 9, 19)  # 65 days back: block 2
    history.fabricate_history(landing, SOURCE, [target], workers=1)
    out = landing / "records/posts/platform=youtube" / f"dt={target}"
    rows = pq.read_table(next(out.glob("*.parquet"))).to_pylist()
    assert [r["post_id"] for r in rows] == ["vid1h2", "vid2h2"]
    assert rows[0]["published_at"] == datetime(2026, 9, 21, 12, tzinfo=UTC)  # 60 days earlier


def test_copied_manifests_name_the_copied_files_with_their_checksums(landing):
    target = date(2026, 11, 21)
    stats = history.fabricate_history(landing, SOURCE, [target], workers=1)
    mdir = landing / "manifests" / f"dt={target}"
    assert sorted(p.name for p in mdir.iterdir()) == ["exports.json", "youtube.json"]
    m = json.loads((mdir / "youtube.json").read_text())
    assert m["run_date"] == str(target) and m["accounts"] == {"landed": ["UC1"]}
    (path,) = m["entities"]["posts"]["files"]
    assert f"dt={target}" in path
    digest = hashlib.sha256((landing / path).read_bytes()).hexdigest()
    assert m["entities"]["posts"]["sha256"] == {path: digest}
    assert stats.days == 1 and stats.files == 2


def test_exports_are_hard_linked_not_rewritten(landing):
    target = date(2026, 11, 22)
    history.fabricate_history(landing, SOURCE, [target], workers=1)
    src = next((landing / "records/brands" / f"dt={SOURCE}").glob("*.parquet"))
    dst = next((landing / "records/brands" / f"dt={target}").glob("*.parquet"))
    assert src.stat().st_ino == dst.stat().st_ino


def test_clone_links_landing_and_copies_the_warehouse(landing, tmp_path):
    home = landing.parent
    (home / "warehouse.duckdb").write_bytes(b"db")
    clone = tmp_path / "clone"
    history.clone_home(home, clone)
    f = next((landing / "records/posts").rglob("*.parquet"))
    g = clone / "landing" / f.relative_to(landing)
    assert f.stat().st_ino == g.stat().st_ino
    assert (clone / "warehouse.duckdb").stat().st_ino != (home / "warehouse.duckdb").stat().st_ino
    (clone / "warehouse.duckdb").write_bytes(b"changed")
    assert (home / "warehouse.duckdb").read_bytes() == b"db"


def test_a_day_with_nothing_landed_is_an_error_naming_it(tmp_path):
    with pytest.raises(FileNotFoundError, match="2026-11-23"):
        history.fabricate_history(tmp_path, SOURCE, [date(2026, 11, 1)])


def test_a_compacted_history_keeps_a_window_of_day_files_and_month_files(landing):
    """With compact_after_days the year is left as `kol compact` leaves it: whole months older
    than the window in month files (every copied post snapshot kept), the rest in day folders."""
    from datetime import timedelta

    from ingestion.compacted import read_compaction

    targets = [SOURCE - timedelta(days=k) for k in range(1, 100)]  # 2026-08-16 .. 11-22
    told: list[tuple[int, int]] = []
    stats = history.fabricate_history(
        landing, SOURCE, targets, compact_after_days=35, progress=lambda *a: told.append(a)
    )
    # a month at a time: August's 16 days, then September, October, November's 22
    assert told == [(16, 99), (46, 99), (77, 99), (99, 99)]
    # as of 11-24, 35 days: whole months ending before 10-20 -> August and September
    assert stats.compacted_months == 2
    months = read_compaction(landing)["records"]
    assert [(e["month"], len(e["days"]), e["rows"]) for e in months] == [
        ("2026-08", 16, 32),  # 08-16..08-31: two posts a day
        ("2026-09", 30, 60),
    ]
    days = sorted(p.name for p in (landing / "records/posts/platform=youtube").iterdir())
    assert days[0] == "dt=2026-10-01" and len(days) == 54  # 10-01 .. 11-23
    assert 0 < stats.records_bytes < stats.bytes


def _posts_of(landing, platform: str, day: date, entity: str = "posts") -> list[tuple]:
    out = landing / f"records/{entity}/platform={platform}" / f"dt={day}"
    rows = pq.read_table(next(out.glob("*.parquet"))).to_pylist()
    return [(r["post_id"], r.get("published_at"), r["snapshot_date"]) for r in rows]


def test_the_first_day_of_a_history_lands_a_first_sight_pull_of_older_blocks(landing):
    """The oldest copied day is when the product met the account: its pull reaches 90 days
    back (FIRST_SIGHT_DAYS), so it also holds the older blocks' posts published then."""
    oldest, later = date(2026, 11, 13), date(2026, 11, 20)  # 10 and 3 days back: block 0
    history.fabricate_history(landing, SOURCE, [later, oldest], workers=1, first_sight_days=90)
    utc = lambda *a: datetime(*a, tzinfo=UTC)  # noqa: E731
    # the pull's window is (08-16, 11-14]; blocks 1-3 move vid1 (11-20 12h) and vid2 (11-01
    # 8h) back 30, 60, 90 days: vid2h3 (08-03) is outside it, vid1h3 (08-22) inside
    assert _posts_of(landing, "youtube", oldest) == [
        ("vid1", utc(2026, 11, 20, 12), oldest),
        ("vid2", utc(2026, 11, 1, 8), oldest),
        ("vid1h1", utc(2026, 10, 21, 12), oldest),
        ("vid2h1", utc(2026, 10, 2, 8), oldest),
        ("vid1h2", utc(2026, 9, 21, 12), oldest),
        ("vid2h2", utc(2026, 9, 2, 8), oldest),
        ("vid1h3", utc(2026, 8, 22, 12), oldest),
    ]
    assert [r[0] for r in _posts_of(landing, "youtube", later)] == ["vid1", "vid2"]
    first = json.loads((landing / "manifests" / f"dt={oldest}" / "youtube.json").read_text())
    other = json.loads((landing / "manifests" / f"dt={later}" / "youtube.json").read_text())
    assert first["accounts"]["first_sight"] == ["UC1"] and "first_sight" not in other["accounts"]
    (path,) = first["entities"]["posts"]["files"]
    digest = hashlib.sha256((landing / path).read_bytes()).hexdigest()
    assert first["entities"]["posts"]["sha256"] == {path: digest}


def test_a_first_sight_pull_brings_its_posts_insights_and_no_older_comments(tmp_path):
    root = tmp_path / "landing"

    def write(entity: str, rows: list[dict]) -> None:
        path = root / f"records/{entity}/platform=instagram" / f"dt={SOURCE}" / "part-r.parquet"
        path.parent.mkdir(parents=True)
        base = {
            "creator_id": "c1",
            "account_id": "ig1",
            "snapshot_date": SOURCE,
            "run_id": "r",
            "extracted_at": datetime(2026, 11, 24, 3, tzinfo=UTC),
        }
        table = pa.Table.from_pylist(
            [{**base, **r} for r in rows], schema=api_schema(entity, "instagram")
        )
        pq.write_table(table, path)

    write(
        "posts",
        [
            {"post_id": "p1", "published_at": datetime(2026, 11, 20, tzinfo=UTC)},
            {"post_id": "p2", "published_at": datetime(2026, 10, 1, tzinfo=UTC)},
        ],
    )
    write("post_insights", [{"post_id": "p1", "views": 5}, {"post_id": "p2", "views": 7}])
    write("comments", [{"comment_id": "c1", "post_id": "p1", "text": "hi"}])
    oldest = date(2026, 11, 13)
    history.fabricate_history(root, SOURCE, [oldest], workers=1, first_sight_days=90)
    # window (08-16, 11-14]: p2 moved back 60 days (08-02) and 90 are out, p1's three in
    posts = ["p1", "p2", "p1h1", "p2h1", "p1h2", "p1h3"]
    assert [r[0] for r in _posts_of(root, "instagram", oldest)] == posts
    assert [r[0] for r in _posts_of(root, "instagram", oldest, "post_insights")] == posts
    comments = pq.read_table(
        next((root / "records/comments/platform=instagram" / f"dt={oldest}").glob("*.parquet"))
    )
    assert comments["comment_id"].to_pylist() == ["c1"]


def test_first_sight_blocks_reach_back_the_pull_from_the_day_s_own_block():
    assert list(history.first_sight_blocks(29, 90)) == [1, 2, 3]  # a 30-day history's first
    assert list(history.first_sight_blocks(364, 90)) == [13, 14, 15]  # a year's
    assert list(history.first_sight_blocks(0, 30)) == []  # a steady day's pull: nothing older
