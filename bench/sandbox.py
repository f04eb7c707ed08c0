"""The platforms for a benchmark: a `kol sandbox serve` child process on a free loopback port.

The sandbox runs as its own process, as in production where the APIs are remote: its CPU
time is not charged to the measured `kol` processes (on 2 cores it still competes for them,
as a real network stack would not; the README says so).
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import psutil
import requests

from bench.measure import StageFailed, log_tail

TOKEN = "sandbox"
_URL_LINE = re.compile(r"KOL_([A-Z]+)_BASE_URL=['\"]?(http[^\s'\"]+)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class WorldSpec:
    seed: int
    creators: int
    days: int
    end_date: date

    def args(self) -> list[str]:
        return [
            "--seed",
            str(self.seed),
            "--creators",
            str(self.creators),
            "--days",
            str(self.days),
            "--end-date",
            self.end_date.isoformat(),
        ]


@dataclass
class SandboxProcess:
    """`kol sandbox serve` for one world; use as a context manager (always stopped)."""

    kol: list[str]
    world: WorldSpec
    env: Mapping[str, str]
    log_path: Path
    startup_timeout: float = 900.0
    port: int = 0
    base_urls: dict[str, str] = field(default_factory=dict)
    _proc: subprocess.Popen | None = None

    @property
    def root(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> SandboxProcess:
        self.port = free_port()
        argv = [*self.kol, "sandbox", "serve", "--port", str(self.port), "--token", TOKEN]
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("wb")
        self._proc = subprocess.Popen(
            [*argv, *self.world.args()],
            env=dict(self.env),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self._proc is not None and self._proc.poll() is not None:
                raise StageFailed(
                    f"the sandbox exited {self._proc.returncode} while starting. "
                    f"Log {self.log_path}:\n{log_tail(self.log_path)}"
                )
            try:
                if requests.get(f"{self.root}/_sandbox/health", timeout=2).ok:
                    self.base_urls = self._read_base_urls()
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise StageFailed(
            f"the sandbox did not answer /_sandbox/health within {self.startup_timeout:.0f}s; "
            f"see {self.log_path}"
        )

    def _read_base_urls(self) -> dict[str, str]:
        """The KOL_<P>_BASE_URL lines `kol sandbox serve` prints (flushed by the time it is up)."""
        for _ in range(20):
            found = {
                m.group(1).lower(): m.group(2)
                for m in _URL_LINE.finditer(self.log_path.read_text(errors="replace"))
            }
            if len(found) >= 5:
                return found
            time.sleep(0.25)
        from sandbox.server import PREFIXES  # fallback: the sandbox's URL layout

        return {p: f"{self.root}/{prefix}" for p, prefix in PREFIXES.items()}

    def cpu_seconds(self) -> float:
        """CPU the sandbox has used so far (to see what it took of the machine's cores)."""
        if self._proc is None:
            return 0.0
        try:
            t = psutil.Process(self._proc.pid).cpu_times()
        except psutil.Error:
            return 0.0
        return t.user + t.system

    def set_clock(self, d: date) -> None:
        r = requests.post(f"{self.root}/_sandbox/clock", json={"date": d.isoformat()}, timeout=30)
        if not r.ok:
            raise StageFailed(f"the sandbox refused clock {d}: HTTP {r.status_code} {r.text[:200]}")

    def set_faults(self, spec: str) -> None:
        """Switch the sandbox's fault and quota modes (`quota_model=1`: the documented quotas
        enforced; "": none) for what follows."""
        r = requests.post(f"{self.root}/_sandbox/faults", json={"spec": spec}, timeout=30)
        if not r.ok:
            raise StageFailed(f"the sandbox refused faults {spec!r}: HTTP {r.status_code}")

    def stats(self) -> dict[str, Any]:
        """Requests served per platform and, with the quota model on, what it charged."""
        r = requests.get(f"{self.root}/_sandbox/stats", timeout=30)
        r.raise_for_status()
        return r.json()

    def __exit__(self, *exc: object) -> None:
        if self._proc is not None and self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait()
        self._log.close()
