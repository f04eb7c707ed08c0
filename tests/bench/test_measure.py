"""Timing and memory of one child process, as the benchmark records them."""

from __future__ import annotations

import os
import sys

import pytest

from bench.measure import StageFailed, run_timed


def test_peak_memory_of_a_child_is_its_own_not_the_harness(tmp_path):
    code = "x = bytearray(200 * 1024 * 1024); import time; time.sleep(0.3)"
    t = run_timed([sys.executable, "-c", code], os.environ, tmp_path / "a.log", cwd=tmp_path)
    assert t.exit_code == 0
    assert 200 <= t.max_rss_mb < 400
    assert 200 <= t.peak_rss_mb < 400
    assert t.seconds >= 0.3


def test_memory_a_forked_child_shares_with_its_parent_is_counted_once(tmp_path):
    """A child caught between fork and exec shows its parent's pages as its own RSS: summed
    RSS counts 300 MB twice, summed PSS (the peak) once."""
    code = (
        "import os, time\n"
        "x = bytearray(300 * 1024 * 1024)\n"
        "for i in range(0, len(x), 4096): x[i] = 1\n"
        "pid = os.fork()\n"
        "time.sleep(0.6)\n"
        "os._exit(0) if pid == 0 else os.waitpid(pid, 0)\n"
    )
    t = run_timed([sys.executable, "-c", code], os.environ, tmp_path / "f.log", cwd=tmp_path)
    assert t.exit_code == 0
    assert t.tree_rss_mb >= 600  # two processes of 300 MB each, as RSS sees them
    assert 300 <= t.tree_pss_mb < 450
    assert 300 <= t.peak_rss_mb < 450


def test_a_failing_command_raises_with_its_exit_code_and_log_tail(tmp_path):
    code = "import sys; print('line one'); print('what went wrong', file=sys.stderr); sys.exit(3)"
    with pytest.raises(
        StageFailed, match=r"(?s)exited 3 after .*ends with:\nline one\nwhat went wrong"
    ) as err:
        run_timed([sys.executable, "-c", code], os.environ, tmp_path / "b.log", cwd=tmp_path)
    assert str(tmp_path / "b.log") in str(err.value)


def test_a_command_past_its_timeout_is_killed_with_its_children(tmp_path):
    code = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)']); time.sleep(60)"
    t = run_timed(
        [sys.executable, "-c", code],
        os.environ,
        tmp_path / "c.log",
        cwd=tmp_path,
        timeout=2,
        check=False,
    )
    assert t.exit_code == -9 and t.seconds < 20


def test_a_command_killed_at_its_time_limit_says_so_not_just_its_signal(tmp_path):
    code = "import time; print('still working', flush=True); time.sleep(60)"
    with pytest.raises(
        StageFailed, match=r"(?s)killed at its time limit \(2s\) after .*still working"
    ):
        run_timed(
            [sys.executable, "-c", code], os.environ, tmp_path / "d.log", cwd=tmp_path, timeout=2
        )
