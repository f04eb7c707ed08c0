"""Run state that must survive between steps, kept on disk (never in memory).

- `landing/manifests/dt=D/_gate.json`: the gate's verdict for D (`rejected` days are left out
  of later builds until re-extracted or accepted with `kol accept`);
- `KOL_HOME/state.json`: the last transform, gate and publish, so `kol publish` only
  publishes a build that passed the gate, and the next build knows where to continue.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from pipeline.config import Settings

log = logging.getLogger("kol")


class StepFailed(RuntimeError):
    """A step could not do what was asked; the message says which step and what to do."""


class GateFailed(StepFailed):
    """The quality gate rejected the build: nothing was published."""


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, sort_keys=True, default=str))
    os.replace(tmp, path)


# --- gate verdicts per landed date -----------------------------------------------------------


def _gate_file(settings: Settings, run_date: date) -> Path:
    return settings.landing / "manifests" / f"dt={run_date.isoformat()}" / "_gate.json"


def record_gate_verdict(settings: Settings, run_date: date, status: str, run_id: str) -> None:
    write_json_atomic(
        _gate_file(settings, run_date), {"status": status, "run_id": run_id, "at": now_iso()}
    )


def excluded_dates(settings: Settings) -> list[date]:
    """Dates whose last gate verdict is `rejected`: later builds leave them out."""
    out: list[date] = []
    for f in sorted((settings.landing / "manifests").glob("dt=*/_gate.json")):
        try:
            if json.loads(f.read_text()).get("status") == "rejected":
                out.append(date.fromisoformat(f.parent.name.removeprefix("dt=")))
        except (OSError, ValueError):
            log.warning("unreadable gate verdict %s: ignored", f)
    return out


def accept(settings: Settings, run_date: date) -> None:
    """An operator accepts a rejected day: later builds use it again."""
    if not _gate_file(settings, run_date).is_file():
        raise StepFailed(f"no gate verdict for {run_date}: nothing to accept")
    record_gate_verdict(settings, run_date, "accepted", run_id="operator")


# --- state.json --------------------------------------------------------------------------------


def _state_path(settings: Settings) -> Path:
    return settings.home / "state.json"


def read_state(settings: Settings) -> dict[str, Any]:
    try:
        return json.loads(_state_path(settings).read_text())
    except (OSError, ValueError):
        return {}


def update_state(settings: Settings, **parts: Any) -> None:
    state = read_state(settings)
    state.update(parts)
    write_json_atomic(_state_path(settings), state)


def built_through(state: dict[str, Any]) -> str | None:
    """The run date of the last successful build (or of the last transform when it succeeded,
    in a home whose state has no `built_through` yet)."""
    last = state.get("transform", {})
    return state.get("built_through", last.get("run_date") if last.get("ok") else None)
