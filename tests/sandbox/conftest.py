"""Sandbox fixtures: one small world and one server per session (keeps the suite fast)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from sandbox_client import CFG, END, TOKEN, Api

from sandbox import FaultConfig, SandboxServer, World, WorldConfig


@pytest.fixture(scope="session")
def cfg() -> WorldConfig:
    return CFG


@pytest.fixture(scope="session")
def world() -> World:
    return World(CFG)


@pytest.fixture(scope="session")
def sandbox() -> Iterator[SandboxServer]:
    faults = FaultConfig(slow_seconds=0.2, timeout_seconds=1.5)
    with SandboxServer(CFG, token=TOKEN, faults=faults) as server:
        yield server


@pytest.fixture
def clock_reset(sandbox: SandboxServer) -> Iterator[SandboxServer]:
    """Tests that move the clock put it back."""
    yield sandbox
    sandbox.set_clock(END)


@pytest.fixture(scope="session")
def http() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


@pytest.fixture(scope="session")
def api(sandbox: SandboxServer, http: requests.Session) -> Api:
    return Api(sandbox, http)
