"""One small module per platform; `get_platform(name)` returns its implementation."""

from __future__ import annotations

from importlib import import_module

from ingestion.platforms.base import Platform

MODULES = {
    "instagram": "ingestion.platforms.instagram",
    "facebook": "ingestion.platforms.facebook",
    "tiktok": "ingestion.platforms.tiktok",
    "youtube": "ingestion.platforms.youtube",
    "x": "ingestion.platforms.x",
}


def get_platform(name: str) -> Platform:
    if name not in MODULES:
        raise ValueError(f"unknown platform {name!r}; expected one of {', '.join(MODULES)}")
    return import_module(MODULES[name]).PLATFORM
