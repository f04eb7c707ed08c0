"""One writer per KOL_HOME: an advisory lock held for the whole of a run.

DuckDB allows one writer process and the landing zone is replaced per date, so two runs on
the same KOL_HOME must never overlap. The lock is an `flock` on `KOL_HOME/.run.lock`: the
kernel releases it when the holder dies (even on kill -9), so a crash never leaves a stale
lock behind. The file records who holds it so the refusal message can say so.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

LOCK_FILE = ".run.lock"


class RunLocked(RuntimeError):
    """Another run holds the lock on this KOL_HOME."""


def lock_holder(home: Path) -> str:
    """Who holds (or last held) the lock on `home`, as a person can read it."""
    return _holder(home / LOCK_FILE)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "another process"
    return (
        f"pid {info.get('pid', '?')} ({info.get('what', 'a run')}, since {info.get('since', '?')})"
    )


@contextmanager
def run_lock(home: Path, what: str, wait_seconds: float = 0.0) -> Iterator[None]:
    """Hold the KOL_HOME writer lock; wait up to `wait_seconds`, then refuse with who holds it."""
    home.mkdir(parents=True, exist_ok=True)
    path = home / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    deadline = time.monotonic() + wait_seconds
    try:
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise RunLocked(
                        f"{home} is in use by {_holder(path)}. Only one run may write at a time: "
                        "wait for it to finish (or pass --wait SECONDS)."
                    ) from None
                time.sleep(0.5)
        info = {
            "pid": os.getpid(),
            "what": what,
            "since": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        os.ftruncate(fd, 0)
        os.pwrite(fd, json.dumps(info).encode(), 0)
        yield
    finally:
        os.close(fd)  # closing releases the flock
