"""A tiny sandbox world served in-process, and a `kol` that runs as a real subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from sandbox import SandboxServer, WorldConfig, export_world

END = date(2026, 3, 31)  # fixed: tests never depend on today's date
TOKEN = "e2e-secret-token-93b1"


@dataclass
class World:
    server: SandboxServer
    env: dict[str, str]
    home: Path
    end: date = END
    token: str = TOKEN

    def kol(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pipeline.cli", "--env-file", "", *args],
            env={**self.env, **self.server.env()},  # KOL_TODAY follows the sandbox clock
            capture_output=True,
            text=True,
            timeout=timeout,
        )


@pytest.fixture(scope="module")
def e2e_world(tmp_path_factory) -> World:
    cfg = WorldConfig(seed=11, creators=8, days=100, end_date=END)
    root = tmp_path_factory.mktemp("e2e")
    inputs = root / "inputs"
    export_world(cfg, inputs)
    server = SandboxServer(cfg, token=TOKEN)
    server.start()
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOL_")}
    env.update(server.env())
    env.update(
        {f"KOL_{p}_TOKEN": TOKEN for p in ("INSTAGRAM", "FACEBOOK", "TIKTOK", "YOUTUBE", "X")}
    )
    env.update(
        KOL_HOME=str(root / "home"),
        KOL_ROSTER=str(inputs / "roster.csv"),
        KOL_EXPORTS_DIR=str(inputs),
    )
    yield World(server, env, root / "home")
    server.stop()
