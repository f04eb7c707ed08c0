"""Rebuild a date's records from its landed raw pages, without calling any API.

Reads the run the date's manifest names as current, parses every page with the same
functions extraction used, and replaces the record partitions. Account outcomes and
request counts come from the original manifest: a reparse cannot know more than the run did.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import date
from pathlib import Path
from typing import Any

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
        if not path.is_file():
            raise ReparseError(f"{where}: raw page file {rel_path} is missing; re-extract the date")
        if sha256_file(path) != digest:
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
    landing_root: Path, run_date: date, salt: str, platforms: Sequence[str] = PLATFORMS
) -> list[dict[str, Any]]:
    """Re-derive the platforms' records for `run_date`; returns the rewritten manifests.

    Raises ReparseError (before touching anything of that platform) when raw pages are
    missing or altered, rather than replacing good records with nothing.
    """
    root = Path(landing_root)
    manifests = []
    for platform in platforms:
        old = read_manifest(root, platform, run_date)
        if not old or old.get("status") == "skipped" or not old.get("raw_files"):
            continue
        check_raw_files(root, old)
        run_id = old["run_id"]
        collected = reparse_collected(root, platform, run_date, run_id, salt)
        committed = commit_entities(
            root, platform, run_date, run_id, collected, platform_schemas(platform), platform
        )
        manifest = {**old, **committed, "reparsed_at": now_iso()}
        write_manifest(root, platform, run_date, manifest)
        log.info("reparsed %s %s (run %s)", platform, run_date, run_id)
        manifests.append(manifest)
    return manifests
