"""One writer per KOL_HOME: a second run refuses with who holds the lock; a dead holder frees it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from pipeline.runlock import RunLocked, run_lock

HOLD = """
import sys, time
from pathlib import Path
from pipeline.runlock import run_lock
with run_lock(Path(sys.argv[1]), "holder"):
    print("held", flush=True)
    time.sleep(60)
"""


def _hold(home):
    p = subprocess.Popen([sys.executable, "-c", HOLD, str(home)], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "held"
    return p


def test_second_writer_refuses_naming_the_holder(tmp_path):
    p = _hold(tmp_path)
    try:
        with pytest.raises(RunLocked, match=rf"pid {p.pid} \(holder"), run_lock(tmp_path, "second"):
            pass
    finally:
        p.kill()
        p.wait()


def test_kill_9_of_the_holder_releases_the_lock(tmp_path):
    p = _hold(tmp_path)
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    t0 = time.monotonic()
    with run_lock(tmp_path, "after crash", wait_seconds=5):
        pass
    assert time.monotonic() - t0 < 5


def test_waiting_writer_gets_the_lock_when_the_holder_finishes(tmp_path):
    p = _hold(tmp_path)
    subprocess.Popen(["sh", "-c", f"sleep 1; kill {p.pid}"])
    with run_lock(tmp_path, "waiter", wait_seconds=20):
        pass
    p.wait()
