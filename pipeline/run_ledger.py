"""One ledger row per run (`quality/ledger/`): what each source landed, each stage's outcome,
the gate's failures and the published checksum — the auditors' record."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any

from pipeline.config import Settings


@dataclass
class RunSummary:
    run_id: str
    run_date: date
    started_at: str
    finished_at: str = ""
    status: str = "running"  # published | partial | landed | gate_failed | failed
    stages: dict[str, str] = field(default_factory=dict)
    sources: dict[str, Any] = field(default_factory=dict)
    marts: dict[str, int] = field(default_factory=dict)
    gate_failures: list[dict[str, Any]] = field(default_factory=list)
    checksum: str = ""
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["run_date"] = self.run_date.isoformat()
        return d


def source_counts(manifest: dict[str, Any]) -> dict[str, Any]:
    """A manifest's status, reason and per-entity counts, as the ledger keeps them."""
    ents = manifest.get("entities", {}) or {}
    return {
        "status": manifest.get("status"),
        "reason": manifest.get("reason", ""),
        "failed_accounts": len((manifest.get("accounts") or {}).get("failed", []) or []),
        "entities": {
            e: {k: v.get(k, 0) for k in ("served", "landed", "quarantined")}
            for e, v in ents.items()
        },
    }


def _totals(counts: dict[str, Any]) -> dict[str, int]:
    """A source's served/landed/quarantined summed over its entities."""
    out = {"served": 0, "landed": 0, "quarantined": 0}
    for e in (counts.get("entities") or {}).values():
        for k in out:
            out[k] += int(e.get(k) or 0)
    return out


def write_ledger(settings: Settings, summary: RunSummary) -> None:
    from expectations.ledger import LedgerRow, append

    append(
        settings.quality,
        LedgerRow(
            run_id=summary.run_id,
            run_date=summary.run_date,
            started_at=summary.started_at,
            finished_at=summary.finished_at,
            status=summary.status,
            stages=summary.stages,
            source_counts={src: _totals(c) for src, c in summary.sources.items()},
            mart_rows=summary.marts,
            gate_passed={"passed": True, "failed": False}.get(summary.stages.get("gate", "")),
            failed_expectations=summary.gate_failures,
            published_checksum=summary.checksum or None,
            message=summary.message,
        ),
    )
