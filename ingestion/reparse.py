"""Rebuild a date's records from its landed raw pages, without calling any API.

Reads, for each account, the run the date's manifest names for it (`accounts.by_key`; a
manifest without it names one run for all), parses every page with the same functions
extraction used, and replaces the record partitions. Account outcomes and request counts
come from the original manifest: a reparse cannot know more than the runs did.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

from ingestion.account_runs import view_of
from ingestion.compacted import packed_sha256
from ingestion.compaction import release_day
from ingestion.landing import read_manifest, read_raw_lines, sha256_file, write_manifest
from ingestion.manifest import commit_entities, now_iso, platform_schemas
from ingestion.parsing import Collected, parse_line
from ingestion.platforms import get_platform
from ingestion.records import PLATFORMS

log = logging.getLogger(__name__)


class ReparseError(RuntimeError):
    """The raw pages a manifest names are missing or changed: records are left untouched."""


def check_raw_files(root: Path, manifest: dict[str, Any]) -> None:
    """Every raw file the manifest names exists with its recorded checksum."""
    for rel_path, digest in (manifest.get("raw_files") or {}).items():
        path = root / rel_path
        where = f"{manifest['source']} {manifest['run_date']} (run {manifest['run_id']})"
        found = sha256_file(path) if path.is_file() else packed_sha256(root, rel_path)
        if found is None:
            raise ReparseError(f"{where}: raw page file {rel_path} is missing; re-extract the date")
        if found != digest:
            raise ReparseError(
                f"{where}: raw page file {rel_path} does not match its manifest checksum; "
                "it was changed after landing — restore it or re-extract the date"
            )


def reparse_collected(
    landing_root: Path, platform: str, run_date: date, run_id: str, salt: str
) -> Collected:
    """The records of one landed run, exactly as extraction parsed them."""
    specs = get_platform(platform).specs
    collected = Collected(source=platform, schemas=platform_schemas(platform))
    for line in read_raw_lines(Path(landing_root), platform, run_date, run_id):
        parse_line(line, specs, salt, collected)
    return collected


def reparse_date(
    landing_root: Path,
    run_date: date,
    salt: str,
    platforms: Sequence[str] = PLATFORMS,
    duckdb_config: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Re-derive the platforms' records for `run_date`; returns the rewritten manifests.

    Raises ReparseError (before touching anything of that platform) when raw pages are
    missing or altered, rather than replacing good records with nothing. Raw pages are read
    from their month's pack once compacted; a date whose records were compacted gets its own
    folders back, and the month files stop covering it (ingestion/compaction.py release_day).
    """
    root = Path(landing_root)
    manifests = []
    for platform in platforms:
        old = read_manifest(root, platform, run_date)
        if not old or not old.get("raw_files"):
            continue
        check_raw_files(root, old)
        run_id = old["run_id"]

        def load(run: str, platform: str = platform) -> Collected:
            return reparse_collected(root, platform, run_date, run, salt)

        committed = commit_entities(
            root,
            platform,
            run_date,
            run_id,
            load(run_id),
            platform_schemas(platform),
            platform,
            view=view_of(old),
            load_run=load,
        )
        manifest = {**old, **committed, "reparsed_at": now_iso()}
        write_manifest(root, platform, run_date, manifest)
        release_day(root, platform, run_date, duckdb_config)
        log.info("reparsed %s %s (manifest run %s)", platform, run_date, run_id)
        manifests.append(manifest)
    return manifests
