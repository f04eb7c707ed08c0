"""The immutable landing zone: raw pages, typed records, quarantine and manifests on disk.

Every file appears whole or not at all (written under a hidden temporary name, fsynced,
then renamed), so a reader never sees half a file and a killed run leaves only temporaries
that no glob matches. A partition holds one data file: the new one is renamed in as the old
parts go; the manifest, written last, names the runs the date's data comes from
(ingestion/account_runs.py).
Layout: docs/architecture.md "On disk".
"""

from __future__ import annotations

import glob
import gzip
import hashlib
import io
import json
import os
import re
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.arrowrows import rows_to_table
from ingestion.compacted import iter_packed_run
from ingestion.redaction import scrub_value

MANIFEST_DIR = "manifests"
# The one data file of a record partition: a fixed name, so a re-run's file replaces the
# earlier one in a single atomic rename (which runs it holds: the manifest, the run_id column).
RECORDS_FILE = "part-0.parquet"
_RUN_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,127}$")


def check_run_id(run_id: str) -> str:
    """Run ids name files and directories: keep them to a safe alphabet."""
    if not _RUN_ID.match(run_id or ""):
        raise ValueError(
            f"run_id {run_id!r} must be 1-128 characters of letters, digits and . _ : + - "
            "(it becomes part of file names)"
        )
    return run_id


@dataclass
class Quarantined:
    """A rejected record and why; it is kept, never dropped."""

    source: str
    entity: str
    reason: str
    record: Any
    endpoint: str | None = None
    file: str | None = None
    line: int | None = None
    record_index: int | None = None
    account: str | None = None  # roster key of the account whose page held it

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "entity": self.entity}
        for key in ("endpoint", "account", "file", "line", "record_index"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        out["reason"] = self.reason
        out["record"] = self.record
        return out


# --- paths ------------------------------------------------------------------------------


def raw_dir(root: Path, platform: str, endpoint: str, run_date: date, run_id: str) -> Path:
    return (
        root
        / "raw"
        / f"platform={platform}"
        / f"endpoint={endpoint}"
        / f"dt={run_date}"
        / f"run={run_id}"
    )


def records_dir(root: Path, entity: str, run_date: date, platform: str | None = None) -> Path:
    base = root / "records" / entity
    if platform:
        base = base / f"platform={platform}"
    return base / f"dt={run_date}"


def manifest_path(root: Path, source: str, run_date: date) -> Path:
    return root / MANIFEST_DIR / f"dt={run_date}" / f"{source}.json"


def rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


# --- atomic primitives ------------------------------------------------------------------


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _tmp_name(final: Path, run_id: str) -> Path:
    # Hidden and without the data suffix: no reader glob (*.parquet, *.jsonl*) matches it.
    return final.with_name(f".{final.name}.{run_id}.tmp")


def atomic_write_bytes(final: Path, data: bytes, run_id: str = "w") -> None:
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(final, run_id)
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, final)
    _fsync_dir(final.parent)
    for stale in final.parent.glob(f".{glob.escape(final.name)}.*.tmp"):  # a killed writer's
        stale.unlink(missing_ok=True)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def replace_partition(
    directory: Path, final_name: str, data: bytes | None, run_id: str, suffix: str
) -> Path | None:
    """Make `final_name` the only data file of `directory` (None: leave it empty).

    The new file is fully written first, then renamed over `final_name` (atomic: a reader
    sees the old file or the new one), then other parts go. Record partitions use one fixed
    name (RECORDS_FILE), so a kill at any point never leaves a partition empty or doubled.
    """
    final = directory / final_name
    tmp = None
    if data is not None:
        directory.mkdir(parents=True, exist_ok=True)
        tmp = _tmp_name(final, run_id)
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
    return _swap_in(directory, final, tmp, suffix)


def _swap_in(directory: Path, final: Path, tmp: Path | None, suffix: str) -> Path | None:
    """Rename `tmp` to `final`, then remove the directory's other parts and stale temporaries
    (with no `tmp`: remove every part)."""
    if tmp is not None:
        os.replace(tmp, final)
        _fsync_dir(directory)
    if directory.exists():
        for old in directory.iterdir():
            if tmp is not None and old == final:
                continue
            is_old_part = old.name.endswith(suffix) and not old.name.startswith(".")
            is_stale_tmp = old.name.startswith(".") and old.name.endswith(".tmp")
            if is_old_part or is_stale_tmp:
                old.unlink(missing_ok=True)
    return final if tmp is not None else None


def parquet_bytes(rows: list[dict[str, Any]] | pa.Table, schema: pa.Schema) -> bytes:
    """Typed rows (dicts, or a table of `schema`) as one Parquet file (built without pandas:
    see arrowrows.py)."""
    table = rows if isinstance(rows, pa.Table) else rows_to_table(rows, schema)
    sink = io.BytesIO()
    pq.write_table(table, sink, compression="zstd")
    return sink.getvalue()


def write_records(
    root: Path,
    entity: str,
    run_date: date,
    run_id: str,
    rows: list[dict[str, Any]] | pa.Table,
    schema: pa.Schema,
    platform: str | None = None,
) -> tuple[str, str] | None:
    """Replace the (entity[, platform], date) partition; return (relative path, sha256)."""
    directory = records_dir(root, entity, run_date, platform)
    data = parquet_bytes(rows, schema) if len(rows) else None
    final = replace_partition(directory, RECORDS_FILE, data, run_id, ".parquet")
    if final is None:
        return None
    return rel(root, final), hashlib.sha256(data or b"").hexdigest()


def write_records_stream(
    root: Path,
    entity: str,
    run_date: date,
    run_id: str,
    batches: Iterable[list[dict[str, Any]]],
    schema: pa.Schema,
    replace_empty: Callable[[], bool] = lambda: True,
) -> tuple[str, str] | None:
    """Like `write_records`, for rows arriving in batches: memory stays one batch deep.

    The Parquet file grows under its hidden temporary name; only when complete does it
    replace the partition (a kill -9 in between leaves the old parts and a hidden .tmp).
    No rows empty the partition unless `replace_empty()` (asked once the batches are
    consumed) says to leave the earlier landing in place.
    """
    directory = records_dir(root, entity, run_date)
    final = directory / RECORDS_FILE
    directory.mkdir(parents=True, exist_ok=True)
    tmp = _tmp_name(final, run_id)
    rows = 0
    with pq.ParquetWriter(tmp, schema, compression="zstd") as writer:
        for batch in batches:
            if batch:
                writer.write_table(pa.Table.from_pylist(batch, schema=schema))
                rows += len(batch)
    if not rows:
        tmp.unlink(missing_ok=True)
        if replace_empty():
            _swap_in(directory, final, None, ".parquet")
        return None
    with tmp.open("rb+") as fh:
        os.fsync(fh.fileno())
    sha = sha256_file(tmp)
    _swap_in(directory, final, tmp, ".parquet")
    return rel(root, final), sha


def write_quarantine(
    root: Path, source: str, run_date: date, run_id: str, items: list[Quarantined]
) -> tuple[str, str] | None:
    directory = root / "quarantine" / source / f"dt={run_date}"
    data = None
    if items:
        text = "".join(
            json.dumps(q.to_dict(), ensure_ascii=False, default=str) + "\n" for q in items
        )
        data = text.encode("utf-8")
    final = replace_partition(directory, f"{run_id}.jsonl", data, run_id, ".jsonl")
    if final is None:
        return None
    return rel(root, final), hashlib.sha256(data or b"").hexdigest()


def write_manifest(root: Path, source: str, run_date: date, manifest: dict[str, Any]) -> Path:
    """Written last: the manifest is what makes a run current."""
    path = manifest_path(root, source, run_date)
    clean = scrub_value(json.loads(json.dumps(manifest, default=str)))  # no credential, any form
    data = json.dumps(clean, indent=2, sort_keys=False).encode("utf-8")
    atomic_write_bytes(path, data, manifest.get("run_id", "m"))
    return path


def read_manifest(root: Path, source: str, run_date: date) -> dict[str, Any] | None:
    path = manifest_path(root, source, run_date)
    if not path.exists():
        return None
    return json.loads(path.read_text(encoding="utf-8"))


def earlier_manifests(root: Path, source: str, before: date) -> Iterator[dict[str, Any]]:
    """Manifests of `source` for dates strictly before `before` (for first-sight checks)."""
    base = root / MANIFEST_DIR
    if not base.is_dir():
        return
    for day_dir in sorted(base.glob("dt=*")):
        try:
            day = date.fromisoformat(day_dir.name[3:])
        except ValueError:
            continue
        path = day_dir / f"{source}.json"
        if day < before and path.exists():
            try:
                yield json.loads(path.read_text(encoding="utf-8"))
            except ValueError:
                continue


# --- raw pages --------------------------------------------------------------------------


# Raw pages are written once and read by reparse: level 5 is within ~8% of level 9's size
# at a quarter of its CPU (measured on Instagram pages), and extraction is CPU-bound.
RAW_GZIP_LEVEL = 5


class RawWriter:
    """Gzip JSON lines per endpoint for one (platform, date, run); visible only when closed.

    Thread-safe: extraction workers share one writer; each line is written whole.
    """

    def __init__(self, root: Path, platform: str, run_date: date, run_id: str) -> None:
        self.root, self.platform, self.run_date, self.run_id = root, platform, run_date, run_id
        self._open: dict[str, tuple[Path, Any, gzip.GzipFile]] = {}
        self._lock = threading.Lock()

    def write(self, line: dict[str, Any]) -> None:
        data = (json.dumps(line, ensure_ascii=False, default=str) + "\n").encode("utf-8")
        with self._lock:
            self._file(line["endpoint"]).write(data)

    def _file(self, endpoint: str) -> gzip.GzipFile:
        if endpoint not in self._open:
            directory = raw_dir(self.root, self.platform, endpoint, self.run_date, self.run_id)
            directory.mkdir(parents=True, exist_ok=True)
            final = directory / "part-00000.jsonl.gz"
            fh = _tmp_name(final, self.run_id).open("wb")
            gz = gzip.GzipFile(fileobj=fh, mode="wb", compresslevel=RAW_GZIP_LEVEL)
            self._open[endpoint] = (final, fh, gz)
        return self._open[endpoint][2]

    def close(self) -> dict[str, str]:
        """Finish every file (fsync + rename); return {relative path: sha256}."""
        done: dict[str, str] = {}
        for final, fh, gz in self._open.values():
            gz.close()
            fh.flush()
            os.fsync(fh.fileno())
            fh.close()
            os.replace(_tmp_name(final, self.run_id), final)
            _fsync_dir(final.parent)
            done[rel(self.root, final)] = sha256_file(final)
        self._open.clear()
        return done


def discard_raw_runs(root: Path, platform: str, run_date: date, keep: set[str]) -> list[str]:
    """Remove the date's raw pages of runs not in `keep` (called after the manifest that
    names `keep` is written: a crashed run's pages, and runs no account draws from)."""
    removed = []
    base = root / "raw" / f"platform={platform}"
    for day_dir in base.glob(f"endpoint=*/dt={run_date}"):
        for run_dir in day_dir.glob("run=*"):
            if run_dir.name[len("run=") :] not in keep:
                shutil.rmtree(run_dir, ignore_errors=True)
                removed.append(rel(root, run_dir))
    return sorted(removed)


def read_raw_lines(
    root: Path, platform: str, run_date: date, run_id: str
) -> Iterator[dict[str, Any]]:
    """Every raw line of one run, in the order written per endpoint: from the run's own
    folders, or from its month's pack once compaction packed them (ingestion/compacted.py)."""
    base = root / "raw" / f"platform={platform}"
    paths = sorted(base.glob(f"endpoint=*/dt={run_date}/run={run_id}/part-*.jsonl.gz"))
    if paths:
        for path in paths:
            with gzip.open(path, "rt", encoding="utf-8") as fh:
                yield from _json_lines(fh)
        return
    for _, data in iter_packed_run(root, platform, run_date, run_id):
        with gzip.open(io.BytesIO(data), "rt", encoding="utf-8") as fh:
            yield from _json_lines(fh)


def _json_lines(fh: Iterable[str]) -> Iterator[dict[str, Any]]:
    for text in fh:
        if text.strip():
            yield json.loads(text)
