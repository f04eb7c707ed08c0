"""The creator roster: which accounts to extract, validated line by line.

A bad line (unknown platform, no handle, a duplicate account, a Facebook page or YouTube
channel without its id) is quarantined with a message naming the line; every good line
still runs. A file that cannot be read as the roster at all raises RosterError.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ingestion.csvfile import CsvFileError, read_csv
from ingestion.landing import Quarantined
from ingestion.records import PLATFORMS

COLUMNS = [
    "creator_id",
    "display_name",
    "platform",
    "handle",
    "account_id",
    "niche",
    "country",
    "language",
]
REQUIRED = ["creator_id", "platform", "handle"]
# Platforms whose API cannot find an account without its id (docs/architecture.md "Inputs").
ID_REQUIRED = {"facebook": "the Facebook page id", "youtube": "the YouTube channel id"}


class RosterError(ValueError):
    """The roster file cannot be used at all (missing columns, wrong delimiter...)."""


@dataclass(frozen=True)
class RosterEntry:
    creator_id: str
    display_name: str | None
    platform: str
    handle: str
    account_id: str | None
    niche: str | None = None
    country: str | None = None
    language: str | None = None
    line: int = 0

    @property
    def key(self) -> str:
        """Stable identity of the account across runs (for first-sight checks)."""
        return f"{self.creator_id}:{self.handle.casefold()}"

    def as_account(self) -> dict[str, Any]:
        """What a raw page line records about the account it was fetched for."""
        return {"creator_id": self.creator_id, "handle": self.handle, "account_id": self.account_id}

    def as_record(self) -> dict[str, Any]:
        row = asdict(self)
        row.pop("line")
        return row


@dataclass
class RosterLoad:
    entries: list[RosterEntry]
    quarantined: list[Quarantined]


def read_roster(path: Path) -> RosterLoad:
    """Parse the roster CSV; per-line problems are quarantined, never dropped."""
    path = Path(path)
    try:
        csv_file = read_csv(path, REQUIRED, [c for c in COLUMNS if c not in REQUIRED])
    except CsvFileError as exc:
        raise RosterError(f"roster file {exc}") from None
    entries: list[RosterEntry] = []
    quarantined: list[Quarantined] = []
    by_handle: dict[tuple[str, str], int] = {}
    by_id: dict[tuple[str, str], int] = {}
    for row in csv_file.rows:
        error = row.error or _check(row.values, csv_file.name, row.line, by_handle, by_id)
        if error:
            quarantined.append(
                Quarantined(
                    source="exports",
                    entity="roster",
                    reason=error,
                    record=row.values or row.raw,
                    file=csv_file.name,
                    line=row.line,
                )
            )
            continue
        v = row.values
        entry = RosterEntry(
            creator_id=v["creator_id"],
            display_name=v.get("display_name") or None,
            platform=v["platform"].lower(),
            handle=v["handle"].lstrip("@"),
            account_id=v.get("account_id") or None,
            niche=v.get("niche") or None,
            country=(v.get("country") or "").upper() or None,
            language=(v.get("language") or "").lower() or None,
            line=row.line,
        )
        by_handle[(entry.platform, entry.handle.casefold())] = row.line
        if entry.account_id:
            by_id[(entry.platform, entry.account_id)] = row.line
        entries.append(entry)
    return RosterLoad(entries=entries, quarantined=quarantined)


def _check(
    v: dict[str, str],
    name: str,
    line: int,
    by_handle: dict[tuple[str, str], int],
    by_id: dict[tuple[str, str], int],
) -> str | None:
    where = f"{name} line {line}"
    platform = v.get("platform", "").lower()
    handle = v.get("handle", "").lstrip("@")
    if not v.get("creator_id"):
        return f"{where}: missing creator_id"
    if platform not in PLATFORMS:
        return f"{where}: unknown platform {v.get('platform')!r}; expected one of {', '.join(PLATFORMS)}"
    if not handle:
        return f"{where}: missing handle for {platform}"
    if platform in ID_REQUIRED and not v.get("account_id"):
        return f"{where}: account_id is required for {platform} ({ID_REQUIRED[platform]})"
    seen = by_handle.get((platform, handle.casefold()))
    if seen:
        return f"{where}: duplicate account {platform} @{handle} (already on line {seen})"
    account_id = v.get("account_id")
    if account_id and (platform, account_id) in by_id:
        return (
            f"{where}: duplicate account {platform} id {account_id} "
            f"(already on line {by_id[(platform, account_id)]})"
        )
    return None
