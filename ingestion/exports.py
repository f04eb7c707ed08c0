"""Load the marketing team's campaign exports (and the roster) into the landing zone.

Five CSVs (docs/architecture.md "Inputs"): fx_rates, brands, campaigns, campaign_creators, conversions, read
with explicit types. A row that does not parse, points at an unknown brand/campaign/creator,
or needs an fx rate that is missing (fee: on the campaign start date; revenue: on the
conversion date; a missing date falls back to the latest rate of the 7 days before) is
quarantined with file, line and reason; the rest loads. Cells are stored as text, never
evaluated, so a formula such as `=HYPERLINK(...)` stays inert.
"""

from __future__ import annotations

import bisect
import logging
import math
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ingestion.csvfile import CsvFileError, CsvRow, open_csv
from ingestion.landing import (
    Quarantined,
    check_run_id,
    sha256_file,
    write_manifest,
    write_quarantine,
    write_records,
    write_records_stream,
)
from ingestion.manifest import base_manifest, now_iso
from ingestion.records import EXPORT_SCHEMAS, PLATFORMS
from ingestion.roster import RosterEntry

log = logging.getLogger(__name__)

SOURCE = "exports"
FX_FALLBACK_DAYS = 7
BASE_CURRENCY = "USD"  # rates are USD per unit: USD itself is always 1

# entity -> (file, required columns, optional columns), in load order (references first).
FILES: dict[str, tuple[str, list[str], list[str]]] = {
    "fx_rates": ("fx_rates.csv", ["date", "currency", "usd_per_unit"], []),
    "brands": ("brands.csv", ["brand_id", "name", "category", "target_countries"], []),
    "campaigns": (
        "campaigns.csv",
        [
            "campaign_id",
            "brand_id",
            "name",
            "objective",
            "start_date",
            "end_date",
            "budget",
            "currency",
            "hashtag",
            "brief",
        ],
        [],
    ),
    "campaign_creators": (
        "campaign_creators.csv",
        ["campaign_id", "creator_id", "platform", "fee", "currency", "post_ids"],
        [],
    ),
    "conversions": (
        "conversions.csv",
        ["campaign_id", "creator_id", "date", "clicks", "orders", "revenue", "currency"],
        ["platform"],
    ),
}


class RowError(ValueError):
    """Why one row cannot load (becomes the quarantine reason, prefixed by file and line)."""


# --- typed cells ------------------------------------------------------------------------

_INT = re.compile(r"^[+-]?\d+$")
_CCY = re.compile(r"^[A-Za-z]{3}$")


def _text(v: dict[str, str], col: str) -> str | None:
    return v.get(col) or None


def _required(v: dict[str, str], col: str) -> str:
    value = v.get(col, "")
    if not value:
        raise RowError(f"{col} is empty")
    return value


def _date(v: dict[str, str], col: str) -> date:
    raw = v.get(col, "")
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RowError(f"{col} {raw!r} is not a date (expected YYYY-MM-DD)") from None


def _number(
    v: dict[str, str], col: str, required: bool = True, positive: bool = False
) -> float | None:
    raw = v.get(col, "")
    if not raw:
        if required:
            raise RowError(f"{col} is empty")
        return None
    try:
        value = float(raw)
    except ValueError:
        raise RowError(f"{col} {raw!r:.40} is not a number") from None
    if math.isnan(value) or math.isinf(value):
        raise RowError(f"{col} {raw!r} is not a finite number")
    if value < 0 or (positive and value == 0):
        raise RowError(f"{col} {raw!r} must be {'positive' if positive else 'zero or more'}")
    return value


def _count(v: dict[str, str], col: str) -> int | None:
    raw = v.get(col, "")
    if not raw:
        return None
    if not _INT.match(raw) or int(raw) < 0:
        raise RowError(f"{col} {raw!r:.40} is not a whole number >= 0")
    return int(raw)


def _currency(v: dict[str, str], col: str = "currency") -> str:
    raw = v.get(col, "")
    if not _CCY.match(raw):
        raise RowError(f"{col} {raw!r:.20} is not a 3-letter currency code")
    return raw.upper()


def _split(raw: str | None) -> list[str]:
    return [p.strip() for p in (raw or "").split(";") if p.strip()]


# --- fx ---------------------------------------------------------------------------------


@dataclass
class FxTable:
    by_currency: dict[str, list[tuple[date, float]]] = field(default_factory=dict)

    def add(self, day: date, currency: str, rate: float) -> None:
        bisect.insort(self.by_currency.setdefault(currency, []), (day, rate))

    def rate(self, currency: str, day: date) -> float | None:
        """Rate on `day`, else the latest of the 7 days before it, else None."""
        if currency == BASE_CURRENCY:
            return 1.0
        rates = self.by_currency.get(currency, [])
        i = bisect.bisect_right(rates, (day, math.inf)) - 1
        if i >= 0 and rates[i][0] >= day - timedelta(days=FX_FALLBACK_DAYS):
            return rates[i][1]
        return None

    def require(self, currency: str, day: date, what: str) -> None:
        if self.rate(currency, day) is None:
            raise RowError(
                f"no fx rate for {currency} on {day} ({what}) nor in the {FX_FALLBACK_DAYS} "
                "days before; add it to fx_rates.csv"
            )


# --- the loader -------------------------------------------------------------------------


@dataclass
class _State:
    roster_creators: set[str]
    fx: FxTable = field(default_factory=FxTable)
    brands: set[str] = field(default_factory=set)
    campaigns: dict[str, date] = field(default_factory=dict)  # campaign_id -> start_date
    keys: dict[str, dict[Any, int]] = field(default_factory=dict)  # entity -> key -> line

    def unique(self, entity: str, key: Any, line: int, label: str) -> None:
        seen = self.keys.setdefault(entity, {})
        if key in seen:
            raise RowError(f"duplicate {label} (already on line {seen[key]})")
        seen[key] = line


def _fx_row(v: dict[str, str], line: int, st: _State) -> dict[str, Any]:
    day, currency = _date(v, "date"), _currency(v)
    rate = _number(v, "usd_per_unit", positive=True)
    assert rate is not None  # required=True
    st.unique("fx_rates", (day, currency), line, f"rate for {currency} on {day}")
    st.fx.add(day, currency, rate)
    return {"date": day, "currency": currency, "usd_per_unit": rate}


def _brand_row(v: dict[str, str], line: int, st: _State) -> dict[str, Any]:
    brand_id = _required(v, "brand_id")
    st.unique("brands", brand_id, line, f"brand_id {brand_id}")
    st.brands.add(brand_id)
    return {
        "brand_id": brand_id,
        "name": _text(v, "name"),
        "category": _text(v, "category"),
        "target_countries": [c.upper() for c in _split(v.get("target_countries"))],
    }


def _campaign_row(v: dict[str, str], line: int, st: _State) -> dict[str, Any]:
    campaign_id = _required(v, "campaign_id")
    brand_id = _required(v, "brand_id")
    if brand_id not in st.brands:
        raise RowError(f"unknown brand_id {brand_id} (not in brands.csv)")
    start, end = _date(v, "start_date"), _date(v, "end_date")
    if end < start:
        raise RowError(f"end_date {end} is before start_date {start}")
    budget = _number(v, "budget", required=False)
    currency = _currency(v) if v.get("currency") or budget is not None else None
    st.unique("campaigns", campaign_id, line, f"campaign_id {campaign_id}")
    st.campaigns[campaign_id] = start
    return {
        "campaign_id": campaign_id,
        "brand_id": brand_id,
        "name": _text(v, "name"),
        "objective": _text(v, "objective"),
        "start_date": start,
        "end_date": end,
        "budget": budget,
        "currency": currency,
        "hashtag": (v.get("hashtag") or "").lstrip("#").lower() or None,
        "brief": _text(v, "brief"),
    }


def _known(st: _State, v: dict[str, str]) -> tuple[str, str]:
    campaign_id = _required(v, "campaign_id")
    creator_id = _required(v, "creator_id")
    if campaign_id not in st.campaigns:
        raise RowError(f"unknown campaign_id {campaign_id} (not in campaigns.csv)")
    if creator_id not in st.roster_creators:
        raise RowError(f"unknown creator_id {creator_id} (not in the roster)")
    return campaign_id, creator_id


def _platform(v: dict[str, str], required: bool) -> str | None:
    raw = (v.get("platform") or "").lower()
    if not raw and not required:
        return None
    if raw not in PLATFORMS:
        raise RowError(
            f"unknown platform {v.get('platform')!r}; expected one of {', '.join(PLATFORMS)}"
        )
    return raw


def _campaign_creator_row(v: dict[str, str], line: int, st: _State) -> dict[str, Any]:
    campaign_id, creator_id = _known(st, v)
    platform = _platform(v, required=True)
    fee = _number(v, "fee")
    currency = _currency(v)
    st.fx.require(currency, st.campaigns[campaign_id], "fee, campaign start date")
    st.unique(
        "campaign_creators",
        (campaign_id, creator_id, platform),
        line,
        f"{campaign_id} × {creator_id} × {platform}",
    )
    return {
        "campaign_id": campaign_id,
        "creator_id": creator_id,
        "platform": platform,
        "fee": fee,
        "currency": currency,
        "post_ids": _split(v.get("post_ids")),
    }


def _conversion_row(v: dict[str, str], line: int, st: _State) -> dict[str, Any]:
    campaign_id, creator_id = _known(st, v)
    day = _date(v, "date")
    revenue = _number(v, "revenue", required=False)
    currency = _currency(v) if v.get("currency") or revenue is not None else None
    if revenue is not None and currency:
        st.fx.require(currency, day, "revenue, conversion date")
    return {
        "campaign_id": campaign_id,
        "creator_id": creator_id,
        "date": day,
        "clicks": _count(v, "clicks"),
        "orders": _count(v, "orders"),
        "revenue": revenue,
        "currency": currency,
        "platform": _platform(v, required=False),
    }


ROW_PARSERS: dict[str, Callable[[dict[str, str], int, _State], dict[str, Any]]] = {
    "fx_rates": _fx_row,
    "brands": _brand_row,
    "campaigns": _campaign_row,
    "campaign_creators": _campaign_creator_row,
    "conversions": _conversion_row,
}


def _raw_lines(path: Path, required: list[str]) -> Iterator[tuple[int, str]]:
    """Data lines of a file that cannot be parsed as CSV, so each is quarantined.

    Line 1 is skipped only when it looks like a header (names a required column): a file
    whose header row is missing starts with data, and that row must not be dropped.
    """
    if not path.is_file():
        return
    with path.open("rb") as fh:
        for n, chunk in enumerate(fh, start=1):
            text = chunk.decode("utf-8", errors="replace").rstrip("\r\n")
            if n == 1:
                text = text.lstrip("\ufeff")
                cells = {c.strip().strip('"').lower() for c in re.split(r"[,;\t|]", text)}
                if cells & set(required):
                    continue
            if text.strip():
                yield n, text


def _file_sha(path: Path) -> str | None:
    return sha256_file(path) if path.is_file() else None


BATCH_ROWS = 50_000  # rows parsed before they are appended to the Parquet file


def _load_file(
    path: Path,
    entity: str,
    st: _State,
    quarantined: list[Quarantined],
    errors: list[str],
    warnings: list[str],
    counter: dict[str, int],
) -> Iterator[list[dict[str, Any]]]:
    """Parse one export as a stream of row batches; bad rows go to `quarantined`."""
    name, required, optional = FILES[entity]
    try:
        with open_csv(path, required, optional) as (csv_file, rows):
            warnings.extend(csv_file.warnings)
            batch: list[dict[str, Any]] = []
            for row in rows:
                counter["served"] += 1
                try:
                    if row.error:
                        raise RowError(row.error)
                    batch.append(ROW_PARSERS[entity](row.values, row.line, st))
                except RowError as exc:
                    quarantined.append(_quarantine(entity, name, row, str(exc)))
                if len(batch) >= BATCH_ROWS:
                    counter["landed"] += len(batch)
                    yield batch
                    batch = []
            counter["landed"] += len(batch)
            yield batch
    except CsvFileError as exc:
        errors.append(str(exc))
        for line, text in _raw_lines(path, required):
            counter["served"] += 1
            quarantined.append(Quarantined(SOURCE, entity, str(exc), text, file=name, line=line))


def load_exports(
    exports_dir: Path,
    landing_root: Path,
    run_date: date,
    run_id: str,
    roster_entries: list[RosterEntry],
    roster_quarantined: list[Quarantined] | None = None,
) -> dict[str, Any]:
    """Land the five export CSVs and the roster for `run_date`; returns the manifest."""
    exports_dir, root = Path(exports_dir), Path(landing_root)
    check_run_id(run_id)
    started = now_iso()
    st = _State(roster_creators={e.creator_id for e in roster_entries})
    quarantined: list[Quarantined] = list(roster_quarantined or [])
    errors: list[str] = []
    warnings: list[str] = []
    entities: dict[str, Any] = {}
    for entity, (name, _, _) in FILES.items():
        path = exports_dir / name
        counter = {"served": 0, "landed": 0}
        batches = _load_file(path, entity, st, quarantined, errors, warnings, counter)
        written = write_records_stream(
            root, entity, run_date, run_id, batches, EXPORT_SCHEMAS[entity]
        )
        entities[entity] = _entity_entry(
            counter["served"], counter["landed"], written, name, _file_sha(path)
        )
    roster_rows = [e.as_record() for e in roster_entries]
    written = write_records(root, "roster", run_date, run_id, roster_rows, EXPORT_SCHEMAS["roster"])
    entities["roster"] = _entity_entry(
        len(roster_rows) + len(roster_quarantined or []), len(roster_rows), written, "roster", None
    )
    for entity, entry in entities.items():
        entry["quarantined"] = sum(1 for q in quarantined if q.entity == entity)
    q = write_quarantine(root, SOURCE, run_date, run_id, quarantined)
    manifest = base_manifest(SOURCE, run_id, run_date, started)
    manifest.update(
        status="failed" if len(errors) == len(FILES) else ("partial" if errors else "ok"),
        reason="; ".join(errors),
        finished_at=now_iso(),
        entities=entities,
        quarantine={"file": q[0], "sha256": q[1]} if q else None,
        errors=errors,
        warnings=warnings,
        exports_dir=str(exports_dir),
    )
    write_manifest(root, SOURCE, run_date, manifest)
    for message in errors + warnings:
        log.warning("exports: %s", message)
    log.info(
        "exports %s: %s — %s",
        run_date,
        manifest["status"],
        ", ".join(f"{k} {v['landed']}/{v['served']}" for k, v in entities.items()),
    )
    return manifest


def _quarantine(entity: str, name: str, row: CsvRow, reason: str) -> Quarantined:
    prefix = f"{name} line {row.line}: "
    reason = reason if reason.startswith(prefix) else prefix + reason
    return Quarantined(SOURCE, entity, reason, row.values or row.raw, file=name, line=row.line)


def _entity_entry(
    served: int,
    landed: int,
    written: tuple[str, str] | None,
    source_file: str,
    source_sha: str | None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {"served": served, "landed": landed, "quarantined": served - landed}
    entry["files"] = [written[0]] if written else []
    entry["sha256"] = {written[0]: written[1]} if written else {}
    entry["source_file"] = source_file
    if source_sha:
        entry["source_sha256"] = source_sha
    return entry
