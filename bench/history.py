"""Cheap warehouse history: copies of one really-extracted day, shifted back in time.

Extracting 365 daily runs through the sandbox would take hours at agency size, and only the
*volume* of landed history matters to what the benchmark measures (does one more day cost
the same with 30 or 365 days behind it?). So one steady-state day is extracted for real and
its typed records are copied to earlier `dt=` partitions with pyarrow:

- `snapshot_date` := the target day, `extracted_at` shifted back by the same number of
  days, `run_id` := `bench-history-<YYYYMMDD>`;
- posts, comments and insights: every 30 days back starts a new "block" b, whose ids get the
  suffix `h<b>` and whose `published_at` moves back 30·b days. So the history holds about
  one trailing window of *distinct* posts per 30 days, as a real one does, instead of the
  same posts 365 times (within a block, a post's counts repeat day after day, and a few
  posts carry a `published_at` after their snapshot — both harmless for timing);
- the oldest copied day is the history's first, when the product met every account: its
  first-sight pull (ingestion/platforms/base.py, FIRST_SIGHT_DAYS) also lands the posts of
  the 90 days before it, so the copy of that day adds the older blocks' posts published in
  those days (and their insights; no comments: a pull lists comments only for the posts
  of the last COMMENTS_DAYS). A 30-day history then holds the 90-day windows a real 30-day-old
  warehouse holds, as a year's does, and 365/30 compares history, not windows filling;
- account counts repeat unchanged (no growth in the copied history);
- exports (brands, campaigns, ...) and the roster are hard-linked: their files carry no date;
- one manifest per source and day, naming the copied files with their sha256; no raw pages
  and no quarantine files are copied (nothing reparses those days);
- with `compact_after_days`, the history is left the way `kol compact` leaves a real one: the
  days are copied a month at a time, oldest first, and each month older than the window is
  compacted (ingestion/compaction.py) before the next is copied, so the disk holds at most
  about a window of day files plus the month files (agency × 365 fits; bench/README.md).

`clone_home` copies a KOL_HOME in seconds by hard-linking `landing/`, which is safe because
the landing writer never modifies a file in place: it writes a new file and renames it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

BLOCK_DAYS = 30
ID_COLUMNS = ("post_id", "comment_id", "conversation_id")


def clone_home(src: Path, dst: Path) -> None:
    """`dst` := a copy of KOL_HOME `src` (landing hard-linked, everything else copied)."""
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    for item in src.iterdir():
        target = dst / item.name
        if item.name == "landing":
            shutil.copytree(item, target, copy_function=os.link)
        elif item.is_dir():
            shutil.copytree(item, target, symlinks=True)
        elif item.name != ".run.lock":
            shutil.copy2(item, target)


def link_day(src_landing: Path, dst_landing: Path, day: date, raw: bool = False) -> int:
    """Hard-link one date's typed records and manifests (with `raw`, its raw pages too) from
    one landing zone to another (replacing what `dst` holds for that date). Returns the
    number of files linked."""
    n = 0
    tag = f"dt={day.isoformat()}"
    dirs = [*src_landing.glob(f"records/*/{tag}"), *src_landing.glob(f"records/*/*/{tag}")]
    if raw:
        dirs += src_landing.glob(f"raw/*/*/{tag}")
    for src_dir in dirs:
        n += _link_dir(src_dir, dst_landing / src_dir.relative_to(src_landing))
    n += _link_dir(src_landing / "manifests" / tag, dst_landing / "manifests" / tag)
    return n


def _link_dir(src: Path, dst: Path) -> int:
    if dst.exists():
        shutil.rmtree(dst)
    if not src.is_dir():
        return 0
    shutil.copytree(src, dst, copy_function=os.link)
    return sum(1 for _ in dst.iterdir())


@dataclass(frozen=True)
class SourceFile:
    source: str  # manifest source: a platform, or "exports"
    entity: str
    rel_dir: Path  # records/<entity>[/platform=<p>], relative to landing
    path: Path


def _day_files(landing: Path, day: date) -> list[SourceFile]:
    out = []
    for path in sorted((landing / "records").glob(f"**/dt={day.isoformat()}/*.parquet")):
        parts = path.relative_to(landing).parts  # records, entity, [platform=p], dt=D, file
        platform = parts[2].removeprefix("platform=") if parts[2].startswith("platform=") else None
        out.append(
            SourceFile(
                source=platform or "exports",
                entity=parts[1],
                rel_dir=Path(*parts[:-2]),
                path=path,
            )
        )
    return out


def _constant(value: Any, type_: pa.DataType, n: int) -> pa.Array:
    """`n` copies of one value (a `take` of a 1-element array: fast, even for strings)."""
    return pa.array([value], type_).take(pa.array(np.zeros(n, dtype=np.int64)))


def shift_table(
    table: pa.Table, days_back: int, target: date, block: int | None = None
) -> pa.Table:
    """One landed day's API records as if landed `days_back` days earlier (see module doc),
    as the posts of `block` (default: the day's own, `days_back` // BLOCK_DAYS)."""
    block = days_back // BLOCK_DAYS if block is None else block
    cols: dict[str, pa.Array | pa.ChunkedArray] = {}
    for name in table.column_names:
        col = table[name]
        if name == "snapshot_date":
            col = _constant(target, pa.date32(), table.num_rows)
        elif name == "run_id":
            col = _constant(f"bench-history-{target:%Y%m%d}", pa.string(), table.num_rows)
        elif name == "extracted_at":
            col = pc.subtract(col, pa.scalar(timedelta(days=days_back), pa.duration("us")))
        elif block and name == "published_at":
            col = pc.subtract(col, pa.scalar(timedelta(days=BLOCK_DAYS * block), pa.duration("us")))
        elif block and name in ID_COLUMNS:
            col = pc.binary_join_element_wise(col, pa.scalar(f"h{block}"), "")
        cols[name] = col
    return pa.table(cols, schema=table.schema)


def _write(path: Path, table: pa.Table) -> str:
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    data = sink.getvalue()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return hashlib.sha256(data).hexdigest()


def first_sight_blocks(days_back: int, first_sight_days: int) -> range:
    """The blocks older than a day's own that its first-sight pull reaches: those holding
    posts published in the `first_sight_days` days up to the end of the day."""
    return range(days_back // BLOCK_DAYS + 1, -(-(days_back + first_sight_days) // BLOCK_DAYS))


def first_sight_rows(
    source_posts: pa.Table,
    table: pa.Table,
    entity: str,
    days_back: int,
    target: date,
    first_sight_days: int,
) -> list[pa.Table]:
    """The rows of one entity a first-sight pull on `target` lands beyond a steady day's: for
    each older block, its posts published in the `first_sight_days` days up to the end of
    `target` (and the insights of those posts), shifted as that block's."""
    if entity == "comments" or "post_id" not in table.column_names:
        return []  # comments: only the last COMMENTS_DAYS' posts'; accounts: once a day
    end = datetime.combine(target + timedelta(days=1), datetime.min.time(), tzinfo=UTC)
    out = []
    for block in first_sight_blocks(days_back, first_sight_days):
        # published_at moves back BLOCK_DAYS·block: keep what lands after end - first_sight
        since = end - timedelta(days=first_sight_days - BLOCK_DAYS * block)
        posts = source_posts.filter(pc.greater(source_posts["published_at"], pa.scalar(since)))
        rows = table.filter(pc.is_in(table["post_id"], value_set=posts["post_id"]))
        out.append(shift_table(rows, days_back, target, block=block))
    return out


def _fabricate_day(
    landing: Path,
    source_day: date,
    target: date,
    files: list[SourceFile],
    tables: dict[Path, Any],
    first_sight_days: int | None = None,
) -> dict[tuple[str, str], tuple[str, str]]:
    """Write every record file of `target` (with `first_sight_days`: as the history's first
    day, module doc); returns {(source, entity): (rel path, sha256)}."""
    days_back = (source_day - target).days
    posts = {f.source: tables[f.path] for f in files if f.entity == "posts"}
    written = {}
    name = f"part-bench-history-{target:%Y%m%d}.parquet"
    for f in files:
        out_dir = landing / f.rel_dir / f"dt={target.isoformat()}"
        if out_dir.exists():
            shutil.rmtree(out_dir)
        out = out_dir / name
        table = tables[f.path]
        if table is None:  # exports and roster: no date inside, the same file serves
            out_dir.mkdir(parents=True)
            os.link(f.path, out)
            sha = hashlib.sha256(f.path.read_bytes()).hexdigest()
        else:
            parts = [shift_table(table, days_back, target)]
            if first_sight_days and f.source in posts:
                parts += first_sight_rows(
                    posts[f.source], table, f.entity, days_back, target, first_sight_days
                )
            sha = _write(out, pa.concat_tables(parts))
        written[(f.source, f.entity)] = (out.relative_to(landing).as_posix(), sha)
    _write_manifests(landing, source_day, target, written, first_sight=bool(first_sight_days))
    return written


def _write_manifests(
    landing: Path,
    source_day: date,
    target: date,
    written: dict[tuple[str, str], tuple[str, str]],
    first_sight: bool = False,
) -> None:
    src_dir = landing / "manifests" / f"dt={source_day.isoformat()}"
    out_dir = landing / "manifests" / f"dt={target.isoformat()}"
    out_dir.mkdir(parents=True, exist_ok=True)
    for mpath in sorted(src_dir.glob("*.json")):
        if mpath.name.startswith("_"):  # the gate's verdict is not copied
            continue
        m = json.loads(mpath.read_text())
        source = m.get("source", mpath.stem)
        m.update(
            run_id=f"bench-history-{target:%Y%m%d}",
            run_date=target.isoformat(),
            raw_dir="",
            bench_history_of=source_day.isoformat(),
        )
        if first_sight and isinstance(m.get("accounts"), dict):  # the history's first day
            m["accounts"]["first_sight"] = m["accounts"].get("landed", [])
        for entity, e in (m.get("entities") or {}).items():
            if (source, entity) in written:
                path, sha = written[(source, entity)]
                e["files"], e["sha256"] = [path], {path: sha}
            else:
                e["files"], e["sha256"] = [], {}
        (out_dir / mpath.name).write_text(json.dumps(m, indent=2, default=str))


def copied_bytes_per_day(landing: Path, source_day: date) -> int:
    """Bytes one fabricated day writes: the API records of `source_day` (exports are
    hard-linked, they take no room)."""
    return sum(
        f.path.stat().st_size for f in _day_files(landing, source_day) if f.source != "exports"
    )


@dataclass(frozen=True)
class HistoryStats:
    days: int
    files: int
    bytes: int  # API record bytes copied (exports are hard-linked)
    records_bytes: int = 0  # API record bytes on disk at the end (after compaction, if any)
    compacted_months: int = 0
    compact_seconds: float = 0.0


def api_record_bytes(landing: Path) -> int:
    """Bytes of the typed API records on disk: day files and month files (exports excluded)."""
    day_files = [p for p in (landing / "records").glob("*/platform=*/**/*.parquet") if p.is_file()]
    months = [p for p in (landing / "compacted" / "records").rglob("*.parquet")]
    return sum(p.stat().st_size for p in day_files + months)


def fabricate_history(
    landing: Path,
    source_day: date,
    targets: list[date],
    workers: int = 2,
    compact_after_days: int | None = None,
    duckdb_config: dict[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    first_sight_days: int | None = None,
) -> HistoryStats:
    """Copy `source_day`'s records and manifests to each date of `targets` (module doc);
    with `compact_after_days`, compact each month older than that as of the day after
    `source_day` (the measured day) once it is copied; with `first_sight_days`, the oldest
    target is the history's first day and lands a first-sight pull of that many days.
    `progress(days done, days)` is called after each month (agency's year takes the better
    part of an hour)."""
    from ingestion.compaction import compact

    files = _day_files(landing, source_day)
    if not files:
        raise FileNotFoundError(f"no landed records for {source_day} under {landing}/records")
    tables: dict[Path, Any] = {}
    for f in files:
        t = pq.read_table(f.path)
        tables[f.path] = t if "snapshot_date" in t.column_names else None
    first = min(targets)
    by_month: dict[str, list[date]] = {}
    for d in sorted(targets):
        by_month.setdefault(f"{d:%Y-%m}" if compact_after_days else "all", []).append(d)
    copied, n_files, months, compact_seconds = 0, 0, 0, 0.0
    for days in by_month.values():
        with ThreadPoolExecutor(max_workers=workers) as pool:
            results = list(
                pool.map(
                    lambda d: _fabricate_day(
                        landing,
                        source_day,
                        d,
                        files,
                        tables,
                        first_sight_days if d == first else None,
                    ),
                    days,
                )
            )
        copied += sum((landing / p).stat().st_size for r in results for p, _ in r.values())
        n_files += sum(len(r) for r in results)
        if compact_after_days is not None:
            t0 = time.perf_counter()
            as_of = source_day + timedelta(days=1)
            done = compact(landing, as_of, compact_after_days, compact_after_days, duckdb_config)
            compact_seconds += time.perf_counter() - t0
            months += len({m.rsplit("/", 1)[1] for m in done.months})
        if progress is not None:
            progress(sum(len(v) for v in by_month.values() if v[0] <= days[0]), len(targets))
    return HistoryStats(
        days=len(targets),
        files=n_files,
        bytes=copied,
        records_bytes=api_record_bytes(landing),
        compacted_months=months,
        compact_seconds=round(compact_seconds, 2),
    )
