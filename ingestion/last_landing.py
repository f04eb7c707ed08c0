"""What earlier landings hold about each recent post, so a run asks only for what changed.

A post's comments are asked for when its fetched comment count says there may be new ones:
not when the count is 0, and not when it equals the count the post's last landing held and
that landing (or an earlier one) holds comments of it. A post younger than the comments
window was last landed inside that window, so the window's partitions (plus one day) are
all this reads: the posts' id and comment count, the comments' post, id and time.
Where a platform lists comments newest first (YouTube `order=time`) or filters by id (X
`since_id`), the newest landed comment of a post also ends its comment paging early.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from ingestion.landing import records_dir


@dataclass
class PostHistory:
    """Per recent post: its comment count and other counts at its last landing, and its
    newest landed comment. `full=True` answers "ask" for everything (a full pull)."""

    counts: dict[str, int | None] = field(default_factory=dict)
    commented: set[str] = field(default_factory=set)
    newest: dict[str, tuple[datetime, str]] = field(default_factory=dict)
    metrics: dict[str, tuple[Any, ...]] = field(default_factory=dict)
    full: bool = False

    def wants_comments(self, post_id: str, count: int | None) -> bool:
        """Whether the post's comments may hold something not landed yet."""
        if count == 0:
            return False  # nothing to list, whatever the history
        if self.full or count is None or post_id not in self.counts:
            return True
        return self.counts[post_id] != count or post_id not in self.commented

    def counts_changed(self, post_id: str, metrics: tuple[Any, ...]) -> bool:
        """Whether a post's public counts differ from its last landing (unknown: changed)."""
        return self.full or self.metrics.get(post_id) != metrics

    def newest_time(self, post_id: str) -> datetime | None:
        """When the post's newest landed comment was published (None: none landed)."""
        found = None if self.full else self.newest.get(post_id)
        return found[0] if found else None

    def newest_id(self, post_id: str) -> int | None:
        """The id of the post's newest landed comment when numeric (X `since_id`: reply ids
        grow with time)."""
        if self.full:
            return None
        found = self.newest.get(post_id)
        return int(found[1]) if found and found[1].isdigit() else None


def _table(path_dir: Path, columns: list[str]) -> pa.Table | None:
    """The partition's columns, or None when it is missing, unreadable or lacks one of them
    (history only saves calls: without it the run asks, it never skips)."""
    tables = []
    for path in sorted(path_dir.glob("part-*.parquet")):
        try:
            schema = pq.read_schema(path)
            if any(c not in schema.names for c in columns):
                return None
            tables.append(pq.read_table(path, columns=columns))
        except (OSError, pa.ArrowInvalid):
            return None
    return pa.concat_tables(tables) if tables else None


def read_post_history(
    root: Path,
    platform: str,
    before: date,
    count_column: str,
    days: int,
    metric_columns: tuple[str, ...] = (),
) -> PostHistory:
    """The history of posts landed in the `days` dates before `before` (newest date wins).

    Aggregated in Arrow, a date at a time: what reaches Python is one row per post, never
    one per comment (an agency day lands millions)."""
    out = PostHistory()
    for back in range(1, days + 1):
        day = before - timedelta(days=back)
        columns = list(dict.fromkeys(["post_id", count_column, *metric_columns]))
        posts = _table(records_dir(root, "posts", day, platform), columns)
        if posts is not None:
            _add_posts(out, posts, count_column, metric_columns)
        comments = _table(
            records_dir(root, "comments", day, platform), ["post_id", "comment_id", "published_at"]
        )
        if comments is not None and comments.num_rows:
            _add_comments(out, comments)
    return out


def _add_posts(
    out: PostHistory, posts: pa.Table, count_column: str, metric_columns: tuple[str, ...]
) -> None:
    """Posts not seen on a later date (the newest landing of a post wins)."""
    if out.counts:
        seen = pa.array(list(out.counts), pa.string())
        posts = posts.filter(pc.invert(pc.is_in(posts["post_id"], value_set=seen)))
    ids = posts["post_id"].to_pylist()
    counts = posts[count_column].to_pylist()
    metrics = list(zip(*(posts[c].to_pylist() for c in metric_columns), strict=True))
    for i, (pid, n) in enumerate(zip(ids, counts, strict=True)):
        if pid is not None and pid not in out.counts:
            out.counts[pid] = n
            if metric_columns:
                out.metrics[pid] = metrics[i]


def _add_comments(out: PostHistory, table: pa.Table) -> None:
    """Per post: that it has comments landed, and its newest one (time, then id)."""
    table = table.filter(pc.and_(pc.is_valid(table["post_id"]), pc.is_valid(table["comment_id"])))
    out.commented.update(pc.unique(table["post_id"]).to_pylist())
    timed = table.filter(pc.is_valid(table["published_at"]))
    if not timed.num_rows:
        return
    latest = timed.group_by("post_id").aggregate([("published_at", "max")])
    joined = timed.join(latest, "post_id")
    at_latest = joined.filter(pc.equal(joined["published_at"], joined["published_at_max"]))
    for pid, cid, when in zip(
        at_latest["post_id"].to_pylist(),
        at_latest["comment_id"].to_pylist(),
        at_latest["published_at"].to_pylist(),
        strict=True,
    ):
        when = when if when.tzinfo else when.replace(tzinfo=UTC)
        if pid not in out.newest or (when, _id_key(cid)) > (
            out.newest[pid][0],
            _id_key(out.newest[pid][1]),
        ):
            out.newest[pid] = (when, cid)


def _id_key(comment_id: str) -> tuple[int, str]:
    """Numeric ids compare as numbers (X snowflakes), others as text."""
    return (int(comment_id), "") if comment_id.isdigit() else (-1, comment_id)
