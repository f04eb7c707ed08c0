"""The bench's documented minimum, on a hand-built X landing with the numbers worked out
by hand (bench/calls.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from bench import calls
from ingestion.landing import records_dir, write_manifest
from ingestion.roster import RosterEntry

D = date(2026, 11, 20)
TS = pa.timestamp("us", tz="UTC")


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC)


def write(root: Path, entity: str, day: date, rows: list[dict], schema: pa.Schema) -> None:
    part = records_dir(root, entity, day, "x")
    part.mkdir(parents=True, exist_ok=True)
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), part / "part-0.parquet")


POSTS = pa.schema(
    [
        ("post_id", pa.string()),
        ("creator_id", pa.string()),
        ("published_at", TS),
        ("reply_count", pa.int64()),
    ]
)
COMMENTS = pa.schema([("post_id", pa.string()), ("comment_id", pa.string()), ("published_at", TS)])


def landing(tmp_path: Path) -> Path:
    root = tmp_path / "landing"
    d1 = D - timedelta(days=1)
    # the day before: p1 had 120 replies, its newest landed at 13:00; p2 had 5
    write(
        root,
        "posts",
        d1,
        [
            {"post_id": "p1", "creator_id": "c1", "published_at": at(d1, 12), "reply_count": 120},
            {
                "post_id": "p2",
                "creator_id": "c1",
                "published_at": at(D - timedelta(2), 9),
                "reply_count": 5,
            },
        ],
        POSTS,
    )
    write(
        root,
        "comments",
        d1,
        [
            {"post_id": "p1", "comment_id": "100", "published_at": at(d1, 13)},
            {"post_id": "p2", "comment_id": "200", "published_at": at(d1, 10)},
        ],
        COMMENTS,
    )
    write(
        root,
        "posts",
        D,
        [
            # moved 120 -> 250: 130 replies newer than the landed one -> 2 pages of 100
            {"post_id": "p1", "creator_id": "c1", "published_at": at(d1, 12), "reply_count": 250},
            # unchanged with replies landed: nothing
            {
                "post_id": "p2",
                "creator_id": "c1",
                "published_at": at(D - timedelta(2), 9),
                "reply_count": 5,
            },
            {
                "post_id": "p3",
                "creator_id": "c2",
                "published_at": at(D - timedelta(3), 9),
                "reply_count": 0,
            },  # 0: nothing
            # outside the 7-day comments window: its timeline page only
            {
                "post_id": "p4",
                "creator_id": "c2",
                "published_at": at(D - timedelta(20), 9),
                "reply_count": 9,
            },
            # new today: its 3 replies in one page
            {"post_id": "p5", "creator_id": "c2", "published_at": at(D, 8), "reply_count": 3},
        ],
        POSTS,
    )
    new = [
        {"post_id": "p1", "comment_id": str(1000 + i), "published_at": at(D, 1, i % 60)}
        for i in range(130)
    ]
    older = [{"post_id": "p1", "comment_id": "99", "published_at": at(d1, 12, 30)}]
    fresh = [{"post_id": "p5", "comment_id": f"5{i}", "published_at": at(D, 9)} for i in range(3)]
    write(root, "comments", D, new + older + fresh, COMMENTS)
    write_manifest(
        root,
        "x",
        D,
        {
            "status": "partial",
            "accounts": {"ok": 2, "failed": [{"account": "@ghost", "error": "not found"}]},
            "requests_by_endpoint": {"users_by": 1, "tweets": 2, "replies": 4},
            "entities": {"posts": {"served": 5}, "comments": {"served": 134}},
        },
    )
    return root


def test_the_minimum_of_an_x_day_is_worked_out_from_the_landing(tmp_path):
    root = landing(tmp_path)
    got = calls.documented_minimum("x", root, D, authorised=set())
    # users: 3 handles (2 landed, 1 failed) in one call of 100; timelines: one page for
    # each of the 2 landed accounts; replies: p1 2 pages (130 new), p5 1 page
    assert got["accounts"] == 3
    assert got["calls_by_endpoint"] == {"users_by": 1, "tweets": 2, "replies": 3}
    assert got["calls"] == 6
    assert got["measure"] == {"posts read": 5 + 130 + 3}


def test_day_figures_set_the_run_against_the_minimum(tmp_path):
    root = landing(tmp_path)
    roster = [RosterEntry(f"c{i}", f"C{i}", "x", f"h{i}", None) for i in range(4)]
    f = calls.day_figures(root, D, ["x"], roster)["x"]
    assert f["calls_per_account"] == 7 / 3 and f["min_calls_per_account"] == 6 / 3
    assert f["calls_ratio"] == 7 / 6
    assert f["measure_ratio"] == {"posts read": 139 / 138}
    # the pro tier's 1,000,000 posts a month over November's 30 days: 33,333 a day; at
    # 139 / 3 posts an account-day that covers 719 accounts: the roster of 4 in one day
    assert f["default_budget"] == {
        "posts read": 33_333,
        "users_by requests": 270,
        "tweets requests": 1_350,
        "replies requests": 405,
    }
    assert f["days_for_roster"] == 1
    table = calls.markdown({"x": f})
    assert "| x | 3 | 2.33 | 2.00 | 1.17 MISSES ≤1.15 |" in table
