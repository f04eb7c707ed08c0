"""Time one whole child process and its peak memory, as an operator would experience it.

Two memory figures, both from sampling the child's process tree every 0.1 s:
- `max_rss_mb`: the largest single process, from each process's own high-water mark
  (`VmHWM` in /proc/<pid>/status), so a spike between two samples is still caught;
- `tree_pss_mb`: the largest *sum* of PSS (proportional set size, /proc/<pid>/smaps_rollup)
  over the child and its descendants at one sample — what the machine must hold while dbt,
  DuckDB and GX run at once. A page two processes share counts half in each, so a child
  caught between `fork` and `exec`, which shares its parent's memory, is not counted twice;
- `tree_rss_mb`: the same sum of RSS, recorded beside it: it counts shared pages once per
  process (one agency sample summed 5.8 GB where no process held more than 3.2 GB).
The peak a run reports is the larger of `max_rss_mb` and `tree_pss_mb`.
CPU time (user + system of the whole tree) comes from `os.wait4`. Its `ru_maxrss` is not used: Linux counts the memory of the
harness itself at fork time into it (the mm copied before `exec`), so every child would
report at least the harness's own ~180 MB.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.1
MB = 1024 * 1024
# a measured child past this is killed with its process group: a hung one must not hold the
# bench for ever (the caller gives a longer limit to what is longer: bench.run's full refresh)
STAGE_TIMEOUT_S = 3600.0


class StageFailed(RuntimeError):
    """A measured command exited non-zero; the message names it and quotes its log's tail."""


@dataclass(frozen=True)
class Timed:
    argv: tuple[str, ...]
    seconds: float
    exit_code: int
    cpu_seconds: float  # user + system of the child and every descendant it waited for
    max_rss_mb: float
    tree_rss_mb: float
    tree_pss_mb: float
    log: str

    @property
    def log_tag(self) -> str:
        """The measurement's name: its log file's stem."""
        return Path(self.log).stem

    @property
    def peak_rss_mb(self) -> float:
        return max(self.max_rss_mb, self.tree_pss_mb)


def _proc_bytes(pid: int, file: str, field: bytes) -> int | None:
    """A `field:   N kB` line of /proc/<pid>/<file> in bytes; None when the process is gone or
    the kernel does not give it."""
    try:
        with open(f"/proc/{pid}/{file}", "rb") as fh:
            for line in fh:
                if line.startswith(field + b":"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def high_water_mark(pid: int) -> int:
    """Peak RSS in bytes of one process since its `exec` (VmHWM), 0 when it is gone."""
    return _proc_bytes(pid, "status", b"VmHWM") or 0


def proportional_set_size(pid: int) -> int | None:
    """PSS in bytes of one process (its private pages plus its share of shared ones), None
    when it is gone or the kernel does not say (then its RSS stands in)."""
    return _proc_bytes(pid, "smaps_rollup", b"Pss")


class _TreeSampler(threading.Thread):
    """Samples a process tree until stopped: peak summed PSS and RSS, peak single-process
    VmHWM."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.tree_peak = 0
        self.tree_pss_peak = 0
        self.process_peak = 0
        self._done = threading.Event()
        try:
            self._proc: psutil.Process | None = psutil.Process(pid)
        except psutil.Error:
            self._proc = None

    def sample(self) -> None:
        if self._proc is None:
            return
        try:
            procs = [self._proc, *self._proc.children(recursive=True)]
        except psutil.Error:
            return
        total = total_pss = 0
        for p in procs:
            try:
                rss = p.memory_info().rss
            except psutil.Error:
                continue
            total += rss
            pss = proportional_set_size(p.pid)
            total_pss += rss if pss is None else pss
            self.process_peak = max(self.process_peak, high_water_mark(p.pid))
        self.tree_peak = max(self.tree_peak, total)
        self.tree_pss_peak = max(self.tree_pss_peak, total_pss)

    def run(self) -> None:
        self.sample()
        while not self._done.wait(SAMPLE_SECONDS):
            self.sample()

    def stop(self) -> tuple[int, int]:
        self._done.set()
        self.join(timeout=2)
        return self.process_peak, self.tree_peak


def log_tail(path: Path, lines: int = 25) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def run_timed(
    argv: Sequence[str],
    env: Mapping[str, str],
    log_path: Path,
    cwd: Path,
    timeout: float = STAGE_TIMEOUT_S,
    check: bool = True,
) -> Timed:
    """Run `argv` to completion with stdout+stderr to `log_path`; wall time and peak memory.

    The child gets its own process group so a timeout kills the whole tree (dbt threads,
    DuckDB), never anything the harness did not start.
    """
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with log_path.open("wb") as log:
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            list(argv),
            env=dict(env),
            cwd=cwd,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        sampler = _TreeSampler(proc.pid)
        sampler.start()
        timed_out = threading.Event()

        def _time_limit() -> None:
            timed_out.set()
            _kill_group(proc.pid)

        timer = threading.Timer(timeout, _time_limit)
        timer.start()
        try:
            # the child stays a zombie (its /proc entry readable) until it is reaped here
            try:
                os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            except BaseException:  # interrupted: take the child's whole group down with us
                _kill_group(proc.pid)
                raise
            seconds = time.perf_counter() - t0
            sampler.stop()
            sampler.sample()  # the last word of a process whose /proc is still there
            _, status, usage = os.wait4(proc.pid, 0)
        finally:
            timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
    timed = Timed(
        argv=tuple(argv),
        seconds=seconds,
        exit_code=proc.returncode,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        max_rss_mb=sampler.process_peak / MB,
        tree_rss_mb=sampler.tree_peak / MB,
        tree_pss_mb=sampler.tree_pss_peak / MB,
        log=str(log_path),
    )
    if check and timed.exit_code != 0:
        how = (
            f"was killed at its time limit ({timeout:,.0f}s)"
            if timed_out.is_set()
            else f"exited {timed.exit_code}"
        )
        raise StageFailed(
            f"`{' '.join(argv)}` {how} after {seconds:.1f}s. "
            f"Log {log_path} ends with:\n{log_tail(log_path)}"
        )
    return timed


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGKILL)
