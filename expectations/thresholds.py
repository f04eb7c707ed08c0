"""Load and validate `thresholds.yml`, the one reviewed file of gate thresholds.

Validation happens at load so a typo in the file fails loudly, naming the key, before any
run is gated against a wrong number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DEFAULT_PATH = Path(__file__).with_name("thresholds.yml")
_SECTIONS = ("ranges", "volume", "min_rows", "freshness", "distribution", "invariants")


class ThresholdsError(ValueError):
    """thresholds.yml is missing a key or has a bad value; the message names it."""


def load_thresholds(path: Path | None = None) -> dict[str, Any]:
    """The parsed thresholds, checked for the keys the gate uses (every entry has a reason)."""
    path = Path(path or DEFAULT_PATH)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ThresholdsError(f"cannot read gate thresholds {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ThresholdsError(f"{path}: expected a mapping of sections {_SECTIONS}")
    for section in _SECTIONS:
        if section not in data:
            raise ThresholdsError(f"{path}: section {section!r} is missing")
    for name, bounds in data["ranges"].items():
        _need(path, f"ranges.{name}", bounds, "reason")
        if "min" not in bounds and "max" not in bounds:
            raise ThresholdsError(f"{path}: ranges.{name} needs min and/or max")
    for name, spec in data["volume"].items():
        _need(path, f"volume.{name}", spec, "tables", "min_ratio", "max_ratio", "reason")
    _need(path, "min_rows", data["min_rows"], "tables", "reason")
    _need(path, "freshness", data["freshness"], "daily_rows_min", "scorecard_rows_min", "reason")
    _need(path, "invariants", data["invariants"], "reason")
    dist = data["distribution"]
    for name in (
        "zero_followers_max_share",
        "median_followers_min_ratio",
        "median_followers_max_ratio",
        "median_engagement_rate_max_factor",
    ):
        _need(path, f"distribution.{name}", dist.get(name), "value", "reason")
    return data


def _need(path: Path, where: str, value: Any, *keys: str) -> None:
    if not isinstance(value, dict):
        raise ThresholdsError(f"{path}: {where} must be a mapping with {', '.join(keys)}")
    missing = [k for k in keys if k not in value]
    if missing:
        raise ThresholdsError(f"{path}: {where} lacks {', '.join(missing)}")
