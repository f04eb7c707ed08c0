"""Landing compaction: old days' typed records merged into one file per entity, platform and
month, and old raw pages packed into one tar per platform and month.

Each day re-lands every post of the trailing 30 days, so a year of daily record files holds
each observation many times and a staging view binds one file per day. Compaction keeps
every row a mart can use and drops only what staging's dedupe would never pick (below), so
marts built before and after are the same row for row.

**Which rows go.** Staging (`dbt_project/macros/staging.sql`, `dedupe_latest`) keeps one
row per (key, snapshot_date, landing date): the latest (extracted_at, run_id). Compaction
keeps exactly that row of `accounts`, `posts` and `post_insights` and drops the others of the
same key, snapshot_date and landing date: an earlier run's version, or the same page pulled
twice. Two rows of one key can tie on (extracted_at, run_id) only within one run, where
ingestion quarantines a duplicate key, so the row kept is the row staging reads. A post's
snapshot of each day stays. Comments have no dedupe in staging: every comment row stays.

**Crash safety.** For each month: the new month file is written under a hidden temporary
name, fsynced and renamed to a content-addressed name no reader follows yet; then the
compaction manifest (`landing/compacted/manifest.json`, ingestion/compacted.py) is replaced
atomically, naming the file and the days it covers; only then are the old month file and
the day folders removed. Readers follow the manifest (a covered day's folder is never read),
so a kill at any point leaves each day counted once, from its own folder or from the month
file. The next run removes what a killed one left: unnamed month files and day folders the
manifest already covers with the same checksums. A day folder whose files differ from what
the month file replaced (a later `kol reparse`) replaces that day in the month.
"""

from __future__ import annotations

import calendar
import contextlib
import io
import json
import os
import shutil
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq

from ingestion.compacted import (
    COMPACTED_DIR,
    MANIFEST_VERSION,
    manifest_file,
    read_compaction,
)
from ingestion.landing import _fsync_dir, atomic_write_bytes, rel, sha256_file
from ingestion.records import api_schemas

# staging's dedupe keys per entity (the staging models' platform_staging calls; a test checks
# they agree). Entities not listed (comments) keep every row.
DEDUPE_KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "posts": ("post_id",),
    "post_insights": ("post_id",),
}
SORT_KEYS: dict[str, tuple[str, ...]] = {
    "accounts": ("account_id",),
    "posts": ("post_id",),
    "post_insights": ("post_id",),
    "comments": ("post_id", "comment_id"),
}
Checkpoint = Callable[[str], None]


@dataclass
class CompactionResult:
    """What one compaction did (JSON-able for the CLI, XCom and the bench)."""

    months: list[str] = field(default_factory=list)  # "<entity>/<platform>/<YYYY-MM>"
    days_replaced: int = 0
    rows_in: int = 0
    rows_out: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    raw_packs: list[str] = field(default_factory=list)  # "<platform>/<YYYY-MM>"
    raw_files_packed: int = 0
    removed: int = 0  # files a killed run left, or that the new files replaced

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def months_before(as_of: date, after_days: int, days: list[date]) -> set[str]:
    """The months (YYYY-MM) among `days` whose last day is more than `after_days` before
    `as_of`: whole months only, so each month is written once."""
    out = set()
    for d in days:
        last = date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])
        if (as_of - last).days > after_days:
            out.add(f"{d:%Y-%m}")
    return out


def compact(
    landing: Path,
    as_of: date,
    records_after_days: int,
    raw_after_days: int,
    duckdb_config: dict[str, str] | None = None,
    checkpoint: Checkpoint = lambda _: None,
) -> CompactionResult:
    """Compact the records and pack the raw pages of whole months older than the windows.

    Idempotent: a second run finds nothing to do. `checkpoint(name)` is called between the
    steps that must survive a kill (tests raise there)."""
    landing = Path(landing)
    result = CompactionResult()
    manifest = read_compaction(landing)
    result.removed += _remove_unnamed(landing, manifest)
    with _connect(landing, duckdb_config) as con:
        for entity, by_platform in api_schemas().items():
            for platform in by_platform:
                base = landing / "records" / entity / f"platform={platform}"
                by_month = _day_dirs_by_month(base, as_of, records_after_days)
                for month, day_dirs in sorted(by_month.items()):
                    manifest = _compact_month(
                        con,
                        landing,
                        manifest,
                        entity,
                        platform,
                        month,
                        day_dirs,
                        result,
                        checkpoint,
                    )
    for platform_dir in sorted((landing / "raw").glob("platform=*")):
        platform = platform_dir.name.removeprefix("platform=")
        for month, files in sorted(
            _raw_files_by_month(platform_dir, as_of, raw_after_days).items()
        ):
            manifest = _pack_month(landing, manifest, platform, month, files, result, checkpoint)
    return result


def release_day(
    landing: Path,
    platform: str,
    day: date,
    duckdb_config: dict[str, str] | None = None,
    checkpoint: Checkpoint = lambda _: None,
) -> list[str]:
    """Take `day` out of the platform's month files, so the day's own folders count again.

    `kol reparse` calls it after rewriting a compacted day's record folders. Returns the month
    files rewritten (empty when no month file covered the day)."""
    landing = Path(landing)
    manifest = read_compaction(landing)
    iso = day.isoformat()
    hits = [e for e in manifest["records"] if e["platform"] == platform and iso in e["days"]]
    if not hits:
        return []
    done = []
    with _connect(landing, duckdb_config) as con:
        for entry in hits:
            old = landing / entry["file"]
            days = [d for d in entry["days"] if d != iso]
            new_entry = None
            if days:
                query = f"select * from read_parquet('{old}') where dt <> date '{iso}'"
                rows, path, sha = _write_month(con, landing, entry, query)
                new_entry = {
                    **entry,
                    "file": path,
                    "sha256": sha,
                    "rows": rows,
                    "days": days,
                    "replaced": [r for r in entry["replaced"] if f"/dt={iso}/" not in r["path"]],
                }
            manifest = _switch(landing, manifest, entry, new_entry)
            checkpoint("released")
            if new_entry is None or new_entry["file"] != entry["file"]:
                old.unlink(missing_ok=True)
            done.append(entry["file"])
    return done


# --- records ----------------------------------------------------------------------------------


def _connect(landing: Path, config: dict[str, str] | None) -> duckdb.DuckDBPyConnection:
    spill = landing / COMPACTED_DIR / ".spill"
    spill.mkdir(parents=True, exist_ok=True)
    return duckdb.connect(config={**(config or {}), "temp_directory": str(spill)})


def _day_dirs_by_month(base: Path, as_of: date, after_days: int) -> dict[str, dict[str, Path]]:
    days: dict[date, Path] = {}
    for d in base.glob("dt=*"):
        try:
            day = date.fromisoformat(d.name.removeprefix("dt="))
        except ValueError:
            continue
        if day.year > 1970:  # dt=1970-01-01 holds dbt's empty-schema placeholder
            days[day] = d
    eligible = months_before(as_of, after_days, list(days))
    out: dict[str, dict[str, Path]] = {}
    for day, path in days.items():
        if f"{day:%Y-%m}" in eligible:
            out.setdefault(f"{day:%Y-%m}", {})[day.isoformat()] = path
    return out


def _data_files(folder: Path, suffix: str) -> list[Path]:
    return sorted(p for p in folder.rglob(f"*{suffix}") if not p.name.startswith("."))


def _find(entries: list[dict[str, Any]], **match: str) -> dict[str, Any] | None:
    return next((e for e in entries if all(e[k] == v for k, v in match.items())), None)


def _compact_month(
    con: duckdb.DuckDBPyConnection,
    landing: Path,
    manifest: dict[str, Any],
    entity: str,
    platform: str,
    month: str,
    day_dirs: dict[str, Path],
    result: CompactionResult,
    checkpoint: Checkpoint,
) -> dict[str, Any]:
    entry = _find(manifest["records"], entity=entity, platform=platform, month=month)
    replaced = {r["path"]: r["sha256"] for r in entry["replaced"]} if entry else {}
    covered = set(entry["days"]) if entry else set()
    new: dict[str, dict[str, str]] = {}  # day -> {relative path: sha256}
    leftovers: list[Path] = []
    for day, folder in sorted(day_dirs.items()):
        shas = {rel(landing, f): sha256_file(f) for f in _data_files(folder, ".parquet")}
        if day in covered and all(replaced.get(p) == s for p, s in shas.items()):
            leftovers.append(folder)  # the month file holds it: a kill came before the delete
        elif shas:
            new[day] = shas
        else:
            leftovers.append(folder)
    if not new:
        result.removed += _remove_dirs(leftovers)
        return manifest
    files = [landing / p for shas in new.values() for p in shas]
    parts = [
        "select * exclude (platform, dt), cast(dt as date) as dt from read_parquet("
        f"{_sql_list(files)}, hive_partitioning=true, union_by_name=true)"
    ]
    if entry:
        keep = ", ".join(f"date '{d}'" for d in new)
        parts.append(
            f"select * from read_parquet('{landing / entry['file']}') where dt not in ({keep})"
        )
    query = _deduped(" union all by name ".join(parts), entity)
    template = {"entity": entity, "platform": platform, "month": month}
    rows, path, sha = _write_month(con, landing, entry or template, query)
    checkpoint("month_written")
    new_entry = {
        **template,
        "file": path,
        "sha256": sha,
        "rows": rows,
        "days": sorted(covered | set(new)),
        "replaced": sorted(
            [{"path": p, "sha256": s} for p, s in replaced.items() if _day_of(p) not in new]
            + [{"path": p, "sha256": s} for shas in new.values() for p, s in shas.items()],
            key=lambda r: r["path"],
        ),
        "compacted_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    manifest = _switch(landing, manifest, entry, new_entry)
    checkpoint("manifest_published")
    result.months.append(f"{entity}/{platform}/{month}")
    result.days_replaced += len(new)
    result.bytes_in += sum(f.stat().st_size for f in files)
    result.rows_in += _count(files)
    result.rows_out += rows
    result.bytes_out += (landing / path).stat().st_size
    if entry and entry["file"] != path:
        (landing / entry["file"]).unlink(missing_ok=True)
        result.removed += 1
    result.removed += _remove_dirs([day_dirs[d] for d in new] + leftovers)
    checkpoint("days_removed")
    return manifest


def _deduped(union: str, entity: str) -> str:
    """The rows staging reads (module doc), sorted by account, key and day: a key's
    versions sit side by side, which is what makes the month file small."""
    order = ", ".join(("creator_id", *SORT_KEYS[entity], "dt", "extracted_at", "run_id"))
    keys = DEDUPE_KEYS.get(entity)
    if not keys:
        return f"select * from ({union}) order by {order}"
    return (
        f"select * from ({union}) qualify row_number() over (partition by "
        f"{', '.join(keys)}, snapshot_date, dt order by extracted_at desc, run_id desc) = 1 "
        f"order by {order}"
    )


def _write_month(
    con: duckdb.DuckDBPyConnection, landing: Path, entry: dict[str, Any], query: str
) -> tuple[int, str, str]:
    """Write the query's rows as the entry's next month file; (rows, relative path, sha256).
    The file is complete and fsynced under a name no manifest names yet."""
    folder = (
        landing
        / COMPACTED_DIR
        / "records"
        / entry["entity"]
        / f"platform={entry['platform']}"
        / f"month={entry['month']}"
    )
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".part.{os.getpid()}.tmp"
    con.execute(f"copy ({query}) to '{tmp}' (format parquet, compression zstd)")
    final, sha = _publish_by_checksum(tmp, "part-", ".parquet")
    return _count([final]), rel(landing, final), sha


def _count(files: list[Path]) -> int:
    """Rows of Parquet files, from their footers."""
    return sum(pq.ParquetFile(f).metadata.num_rows for f in files)


def _sql_list(files: list[Path]) -> str:
    return "[" + ", ".join(f"'{f}'" for f in files) + "]"


def _day_of(path: str) -> str:
    return path.split("/dt=", 1)[1][:10]


# --- raw pages --------------------------------------------------------------------------------


def _raw_files_by_month(platform_dir: Path, as_of: date, after_days: int) -> dict[str, list[Path]]:
    by_day: dict[date, list[Path]] = {}
    for day_dir in platform_dir.glob("endpoint=*/dt=*"):
        try:
            day = date.fromisoformat(day_dir.name.removeprefix("dt="))
        except ValueError:
            continue
        by_day.setdefault(day, []).extend(_data_files(day_dir, ".jsonl.gz"))
    eligible = months_before(as_of, after_days, list(by_day))
    out: dict[str, list[Path]] = {}
    for day, files in by_day.items():
        if f"{day:%Y-%m}" in eligible and files:
            out.setdefault(f"{day:%Y-%m}", []).extend(files)
    return out


def _pack_month(
    landing: Path,
    manifest: dict[str, Any],
    platform: str,
    month: str,
    files: list[Path],
    result: CompactionResult,
    checkpoint: Checkpoint,
) -> dict[str, Any]:
    entry = _find(manifest["raw"], platform=platform, month=month)
    members = {m["path"]: m["sha256"] for m in entry["members"]} if entry else {}
    new: dict[str, tuple[Path, str]] = {}
    leftovers: list[Path] = []
    for f in files:
        path, sha = rel(landing, f), sha256_file(f)
        if members.get(path) == sha:
            leftovers.append(f)
        else:
            new[path] = (f, sha)
    if not new:
        result.removed += _remove_raw(landing, leftovers)
        return manifest
    folder = landing / COMPACTED_DIR / "raw" / f"platform={platform}"
    folder.mkdir(parents=True, exist_ok=True)
    tmp = folder / f".raw-{month}.{os.getpid()}.tmp"
    old_pack = landing / entry["file"] if entry else None
    with tarfile.open(tmp, "w") as tar, contextlib.ExitStack() as stack:
        old = stack.enter_context(tarfile.open(old_pack, "r:")) if old_pack else None
        for path in sorted(set(members) | set(new)):
            data = new[path][0].read_bytes() if path in new else _member(old, path)
            info = tarfile.TarInfo(path)  # fixed metadata: the same pages give the same pack
            info.size, info.mtime, info.mode = len(data), 0, 0o644
            tar.addfile(info, io.BytesIO(data))
    final, sha = _publish_by_checksum(tmp, f"raw-{month}-", ".tar")
    checkpoint("pack_written")
    all_members = {**members, **{p: s for p, (_, s) in new.items()}}
    new_entry = {
        "platform": platform,
        "month": month,
        "file": rel(landing, final),
        "sha256": sha,
        "members": [{"path": p, "sha256": s} for p, s in sorted(all_members.items())],
        "packed_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    manifest = _switch(landing, manifest, entry, new_entry, part="raw")
    checkpoint("pack_published")
    result.raw_packs.append(f"{platform}/{month}")
    result.raw_files_packed += len(new)
    if old_pack and old_pack != final:
        old_pack.unlink(missing_ok=True)
        result.removed += 1
    result.removed += _remove_raw(landing, [f for f, _ in new.values()] + leftovers)
    return manifest


def _member(pack: tarfile.TarFile | None, path: str) -> bytes:
    fh = pack.extractfile(path) if pack else None
    if fh is None:
        raise FileNotFoundError(f"{path} is named by the compaction manifest but not in its pack")
    return fh.read()


def _remove_raw(landing: Path, files: list[Path]) -> int:
    for f in files:
        f.unlink(missing_ok=True)
        for parent in (f.parent, f.parent.parent, f.parent.parent.parent):  # run=, dt=, endpoint=
            try:
                parent.rmdir()
            except OSError:
                break
    return len(files)


# --- the manifest switch ------------------------------------------------------------------------


def _switch(
    landing: Path,
    manifest: dict[str, Any],
    old: dict[str, Any] | None,
    new: dict[str, Any] | None,
    part: str = "records",
) -> dict[str, Any]:
    """Publish the manifest with `old` replaced by `new` (None: removed): the commit point."""
    entries = [e for e in manifest.get(part, []) if e is not old]
    if new is not None:
        entries.append(new)
    key = ("entity", "platform", "month") if part == "records" else ("platform", "month")
    entries.sort(key=lambda e: tuple(e[k] for k in key))
    out = {**manifest, "version": MANIFEST_VERSION, part: entries}
    data = json.dumps(out, indent=1).encode("utf-8")
    atomic_write_bytes(manifest_file(landing), data, "compact")
    return out


def _remove_dirs(folders: list[Path]) -> int:
    n = 0
    for folder in folders:
        n += sum(1 for f in folder.rglob("*") if f.is_file())
        shutil.rmtree(folder, ignore_errors=True)
    return n


def _remove_unnamed(landing: Path, manifest: dict[str, Any]) -> int:
    """Files under compacted/ no manifest entry names: a killed run's, never read."""
    named = {e["file"] for e in manifest.get("records", [])} | {
        e["file"] for e in manifest.get("raw", [])
    }
    n = 0
    for part in ("records", "raw"):
        for f in (landing / COMPACTED_DIR / part).rglob("*"):
            if f.is_file() and rel(landing, f) not in named:
                f.unlink()
                n += 1
    return n


def _publish_by_checksum(tmp: Path, prefix: str, suffix: str) -> tuple[Path, str]:
    """A finished temp file made durable, then renamed to a name of its own checksum: a name no
    manifest uses yet, so a crash before the manifest switch leaves only an unread stray."""
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    sha = sha256_file(tmp)
    final = tmp.parent / f"{prefix}{sha[:16]}{suffix}"
    os.replace(tmp, final)
    _fsync_dir(tmp.parent)
    return final, sha
