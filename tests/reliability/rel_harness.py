"""The reliability harness: a tiny sandbox world, `kol` in a subprocess, and what to check.

Every reliability test drives the real product (the `kol` command line, real dbt, real GX,
real DuckDB) against the platform sandbox; only the world is tiny. The helpers here start
runs, watch them (stderr progress lines, the process tree, files appearing) so a test can
`kill -9` a run at a chosen stage, and check what readers can see afterwards.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

REPO = Path(__file__).resolve().parents[2]
D = date(2026, 11, 20)  # the last day of the test world; runs use D-1 and D
WORLD_SEED, WORLD_CREATORS, WORLD_DAYS = 3, 6, 100
PLATFORM_ENV = ("INSTAGRAM", "FACEBOOK", "TIKTOK", "YOUTUBE", "X")


def world_config(**overrides: Any):
    from sandbox import WorldConfig

    args = {"seed": WORLD_SEED, "creators": WORLD_CREATORS, "days": WORLD_DAYS, "end_date": D}
    return WorldConfig(**{**args, **overrides})


@dataclass
class KolWorld:
    """A sandbox world served on loopback plus its roster/exports, and the env for `kol`."""

    world_dir: Path
    token: str
    server: Any = None
    files: dict[str, Path] = field(default_factory=dict)

    def start(self, faults: str = "") -> KolWorld:
        from sandbox import FaultConfig, SandboxServer, export_world

        cfg = world_config()
        self.files = export_world(cfg, self.world_dir)
        fault_cfg = FaultConfig.parse(faults) if faults else None
        self.server = SandboxServer(cfg, token=self.token, faults=fault_cfg)
        self.server.start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()

    def set_faults(self, spec: str) -> None:
        from sandbox import FaultConfig

        self.server.set_faults(FaultConfig.parse(spec) if spec else None)

    def env(self, home: Path, **extra: str) -> dict[str, str]:
        """The process environment of a `kol` run on `home` against this sandbox."""
        from pipeline.demo import demo_quota_env

        env = {k: v for k, v in os.environ.items() if not k.startswith("KOL_")}
        env.update(self.server.env())
        env.update(
            KOL_HOME=str(home),
            KOL_ROSTER=str(self.files["roster"]),
            KOL_EXPORTS_DIR=str(self.files["roster"].parent),
            KOL_DBT_THREADS="2",
            PYTHONPATH=str(REPO),
            PYTHONUNBUFFERED="1",
            **extra,
        )
        # a day's Graph calls and X windows in one run, as `kol demo` (a sandbox without the
        # quota model), unless the world says otherwise
        env.update({k: v for k, v in demo_quota_env().items() if k not in extra})
        for p in PLATFORM_ENV:
            env[f"KOL_{p}_TOKEN"] = self.token
        return env


def kol_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", "--env-file", "/nonexistent/.env", *args]


def run_kol(env: dict[str, str], *args: str, timeout: float = 900) -> subprocess.CompletedProcess:
    """`kol <args>` to completion (cwd: KOL_HOME's parent, so no developer .env is read)."""
    return subprocess.run(
        kol_command(*args),
        env=env,
        cwd=Path(env["KOL_HOME"]).parent,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def full_run(world: KolWorld, home: Path, day, *extra: str) -> dict[str, Any]:
    """`kol run --date day` to completion; the run's output, exit status and time."""
    world.server.set_clock(day)
    started = time.monotonic()
    proc = run_kol(world.env(home), "run", "--date", day.isoformat(), *extra)
    return {
        "returncode": proc.returncode,
        "stdout": proc.stdout,
        "stderr": proc.stderr,
        "elapsed": time.monotonic() - started,
    }


class Watched:
    """A `kol` subprocess whose stderr lines are collected live, so a test can act on them."""

    def __init__(self, env: dict[str, str], *args: str) -> None:
        Path(env["KOL_HOME"]).mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            kol_command(*args),
            env=env,
            cwd=Path(env["KOL_HOME"]).parent,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: dbt children included
        )
        self.lines: list[str] = []
        self.stdout = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, predicate: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"run ended (exit {self.proc.returncode}) before {what}:\n{self.tail()}"
                )
            if time.monotonic() > deadline:
                self.kill_group()
                raise AssertionError(f"timed out waiting for {what}:\n{self.tail()}")
            time.sleep(0.02)

    def saw(self, text: str) -> bool:
        return any(text in line for line in list(self.lines))

    def kill_9(self) -> None:
        """kill -9 the run itself (children, e.g. dbt, are orphaned as after a real crash)."""
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def kill_group(self) -> None:
        """kill -9 the run and every child (a machine or container dying)."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)

    def finish(self, timeout: float = 900) -> int:
        out, _ = self.proc.communicate(timeout=timeout)
        self.stdout = out or ""
        self._reader.join(timeout=5)
        return self.proc.returncode

    def tail(self, n: int = 40) -> str:
        return "\n".join(self.lines[-n:])


def children_of(pid: int) -> list[tuple[int, str]]:
    """(pid, command line) of every live descendant of `pid` (from /proc)."""
    parents: dict[int, list[int]] = {}
    for status in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = status.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(status.parent.name))
    out, todo = [], list(parents.get(pid, []))
    while todo:
        child = todo.pop()
        with contextlib.suppress(OSError):
            cmd = (Path("/proc") / str(child) / "cmdline").read_bytes().replace(b"\0", b" ")
            out.append((child, cmd.decode(errors="replace")))
        todo.extend(parents.get(child, []))
    return out


def pid_alive(pid: int) -> bool:
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_for_orphans_to_exit(pids: list[int], timeout: float = 60) -> list[int]:
    """The pids still alive after waiting up to `timeout` s (a killed run's dbt dies with it,
    not always at once)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(pid_alive(p) for p in pids):
        time.sleep(0.2)
    return [p for p in pids if pid_alive(p)]


# --- what readers can see --------------------------------------------------------------


def visible_files(root: Path) -> list[Path]:
    """Files a reader's glob can match: hidden temporaries (`.name`) are not visible."""
    return sorted(
        p
        for p in root.rglob("*")
        if p.is_file() and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


def check_landing_readable(landing: Path) -> int:
    """Every visible landing file opens whole; no visible temporary. Returns files checked."""
    checked = 0
    for path in visible_files(landing):
        assert not path.name.endswith(".tmp"), f"visible temporary file {path}"
        if path.suffix == ".parquet":
            pq.read_table(path)
        elif path.name.endswith(".jsonl.gz"):
            for line in gzip.decompress(path.read_bytes()).decode().splitlines():
                json.loads(line)
        elif path.suffix in (".json", ".jsonl"):
            for line in path.read_text().splitlines() if path.suffix == ".jsonl" else [None]:
                json.loads(line if line is not None else path.read_text())
        checked += 1
    return checked


def check_serving_readable(serving: Path) -> None:
    """No visible partial file in serving/; the DuckDB file and every Parquet copy open."""
    import duckdb

    from pipeline.published import PUBLISHED_TABLES

    for path in visible_files(serving):
        assert not path.name.endswith(".tmp"), f"visible temporary file {path}"
        if path.suffix == ".parquet":
            pq.read_table(path)
    con = duckdb.connect(str(serving / "marts.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert set(PUBLISHED_TABLES) <= tables
    finally:
        con.close()


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes: proves a failed or killed run left the serving file untouched."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def serving_checksum(home: Path) -> str:
    from pipeline.publish import content_checksum
    from pipeline.published import PUBLISHED_TABLES

    return content_checksum(home / "serving" / "marts.duckdb", list(PUBLISHED_TABLES))


def marts_fingerprint(db: Path) -> dict[str, Any]:
    """Each published table's schema and sorted rows, doubles to 12 significant digits.

    DuckDB sums floating-point values in parallel, in no fixed order, so a re-run of the same
    data can differ in the last bit (0.22625625 vs 0.22625624999999996): the same marts for
    every reader, yet different to a byte-exact hash. This compares what a reader sees.
    """
    import duckdb

    from pipeline.published import PUBLISHED_TABLES

    def norm(value: Any) -> Any:
        if isinstance(value, float):
            return f"{value:.12g}"
        if isinstance(value, list | tuple):
            return tuple(norm(v) for v in value)
        if isinstance(value, dict):
            return tuple(sorted((k, norm(v)) for k, v in value.items()))
        return value

    out: dict[str, Any] = {}
    con = duckdb.connect(str(db), read_only=True)
    try:
        for table in PUBLISHED_TABLES:
            schema = con.execute(f'DESCRIBE "{table}"').fetchall()
            rows = con.execute(f'SELECT * FROM "{table}"').fetchall()
            out[table] = (
                [(c[0], c[1]) for c in schema],
                sorted((tuple(norm(v) for v in r) for r in rows), key=repr),
            )
    finally:
        con.close()
    return out


def small_warehouse(path: Path, rows: int) -> Path:
    """A warehouse holding every published table (its content depends on `rows`)."""
    import duckdb

    from pipeline.published import PUBLISHED_TABLES

    con = duckdb.connect(str(path))
    try:
        for i, table in enumerate(PUBLISHED_TABLES):
            con.execute(
                f'CREATE TABLE "{table}" AS SELECT range AS id, '
                f"'{table}-' || range AS label, range * {i + 1}.5 AS value FROM range({rows})"
            )
    finally:
        con.close()
    return path


def ledger_rows(home: Path) -> list[Any]:
    from expectations.ledger import read

    return sorted(read(home / "quality"), key=lambda r: str(r.started_at))


def read_all_bytes(root: Path) -> Iterator[tuple[Path, bytes]]:
    """Every file under `root`, gzip members decompressed (what a token scan must cover)."""
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            with contextlib.suppress(OSError, EOFError):
                data = gzip.decompress(data)
        yield path, data
