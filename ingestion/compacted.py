"""What compaction left on disk, read back: the compaction manifest and the raw packs.

`landing/compacted/manifest.json` is the one switch between a date's own files and the
month files that replaced them (ingestion/compaction.py writes it, atomically). Every reader
follows it: dbt's staging reads a day's record folder only when no month file covers that
day, and `kol reparse` finds a day's raw pages in its month's pack when they are no longer
in their own folder. Layout: docs/architecture.md "Compaction".
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

COMPACTED_DIR = "compacted"
MANIFEST = f"{COMPACTED_DIR}/manifest.json"
MANIFEST_VERSION = 1


def manifest_file(landing: Path) -> Path:
    return Path(landing) / MANIFEST


def read_compaction(landing: Path) -> dict[str, Any]:
    """The compaction manifest, or an empty one when nothing was ever compacted."""
    path = manifest_file(landing)
    if not path.is_file():
        return {"version": MANIFEST_VERSION, "records": [], "raw": []}
    return json.loads(path.read_text(encoding="utf-8"))


def month_of(day: date) -> str:
    return f"{day:%Y-%m}"


def covered_days(manifest: dict[str, Any], entity: str, platform: str) -> set[str]:
    """Days (YYYY-MM-DD) of (entity, platform) whose records live in a month file."""
    return {
        d
        for e in manifest.get("records", [])
        if e["entity"] == entity and e["platform"] == platform
        for d in e["days"]
    }


def compacted_dates(landing: Path) -> set[date]:
    """Every date some month file covers (any entity or platform)."""
    m = read_compaction(landing)
    return {date.fromisoformat(d) for e in m.get("records", []) for d in e["days"]}


def first_landed_date(landing: Path) -> date | None:
    """The earliest date with platform records landed, in its day folder or in a month file
    (None: nothing landed). Reads folder names and the manifest, no data file."""
    days = set(compacted_dates(landing))
    for folder in Path(landing).glob("records/*/platform=*/dt=*"):
        try:
            days.add(date.fromisoformat(folder.name.removeprefix("dt=")))
        except ValueError:
            continue  # not a day folder (dbt's staging reads only dt=YYYY-MM-DD either)
    return min(days, default=None)


@dataclass(frozen=True)
class PackedMember:
    path: str  # the raw file's own path, relative to landing (as the platform manifest names it)
    sha256: str
    pack: Path


def packed_members(landing: Path, platform: str, day: date) -> list[PackedMember]:
    """The raw files of (platform, day) held in a monthly pack, by path."""
    landing = Path(landing)
    tag = f"/dt={day.isoformat()}/"
    out = []
    for e in read_compaction(landing).get("raw", []):
        if e["platform"] != platform or e["month"] != month_of(day):
            continue
        out += [
            PackedMember(m["path"], m["sha256"], landing / e["file"])
            for m in e["members"]
            if tag in m["path"]
        ]
    return sorted(out, key=lambda m: m.path)


def read_member(member: PackedMember) -> bytes:
    with tarfile.open(member.pack, "r:") as tar:
        fh = tar.extractfile(member.path)
        if fh is None:
            raise FileNotFoundError(f"{member.path} is not in {member.pack}")
        return fh.read()


def packed_sha256(landing: Path, rel_path: str) -> str | None:
    """The sha256 of a raw file as held in its pack (None: no pack holds it)."""
    parts = dict(p.split("=", 1) for p in Path(rel_path).parts if "=" in p)
    if "platform" not in parts or "dt" not in parts:
        return None
    for m in packed_members(Path(landing), parts["platform"], date.fromisoformat(parts["dt"])):
        if m.path == rel_path:
            return hashlib.sha256(read_member(m)).hexdigest()
    return None


def iter_packed_run(
    landing: Path, platform: str, day: date, run_id: str
) -> Iterator[tuple[str, bytes]]:
    """(path, gzip bytes) of one run's raw files held in a pack, in path order."""
    for m in packed_members(landing, platform, day):
        if f"/run={run_id}/" in m.path:
            yield m.path, read_member(m)
