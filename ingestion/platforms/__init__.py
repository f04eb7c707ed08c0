"""One small module per platform, named as the platform; `get_platform(name)` returns its
implementation. The platforms are ingestion/records.py PLATFORMS."""

from __future__ import annotations

from importlib import import_module

from ingestion.platforms.base import Platform
from ingestion.records import PLATFORMS


def get_platform(name: str) -> Platform:
    if name not in PLATFORMS:
        raise ValueError(f"unknown platform {name!r}; expected one of {', '.join(PLATFORMS)}")
    return import_module(f"{__name__}.{name}").PLATFORM
