"""`make airflow`: a local Airflow over the sandbox platforms, stopped cleanly with Ctrl-C.

Starts the sandbox world (the demo's: seed 42, 50 creators, ending yesterday) on a free
loopback port, then `airflow standalone` (scheduler, dag-processor, triggerer, api-server,
LocalExecutor on SQLite) with a throwaway AIRFLOW_HOME under KOL_HOME, this repo's `dags/`,
no example DAGs, low parallelism (standalone would fork 32 workers on 2 cores) and the
pools the DAGs use. Prints the UI address and the generated admin password.

Airflow runs in its own process group; Ctrl-C (or SIGTERM) stops the whole group, then the
sandbox. `start()` is the same thing as a context manager, for tests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import kol_tasks
import requests

from ingestion.records import PLATFORMS
from pipeline import config
from pipeline.demo import DEMO_CREATORS, DEMO_SEED, demo_quota_env
from pipeline.policy import yesterday_utc

REPO = Path(__file__).resolve().parent.parent
DAGS = REPO / "dags"
SANDBOX_TOKEN = "sandbox"
ADMIN = "admin"


@dataclass(frozen=True)
class LocalAirflow:
    url: str
    username: str
    password: str
    airflow_home: Path
    process: subprocess.Popen


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def airflow_env(
    airflow_home: Path, kol_home: Path, port: int, extra: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The environment every `airflow` command of a local run gets (also used by tests)."""
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(airflow_home),
            # SQLite: wait for a writer (scheduler, api-server, a CLI) instead of failing at once
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home}/airflow.db?timeout=60",
            "AIRFLOW__CORE__DAGS_FOLDER": str(DAGS),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PARALLELISM": "4",
            "AIRFLOW__CORE__MAX_ACTIVE_TASKS_PER_DAG": "4",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{ADMIN}:admin",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(port),
            "AIRFLOW__API__BASE_URL": f"http://localhost:{port}",
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "30",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
            "KOL_HOME": str(kol_home),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        }
    )
    env.update(extra or {})
    return env


def sandbox_env(server_env: Mapping[str, str], token: str) -> dict[str, str]:
    """The sandbox's KOL_<P>_BASE_URL / KOL_INSTAGRAM_USER_ID plus a token per platform, and
    the demo's per-run allowances (the sandbox runs without the quota model; pipeline/demo.py)."""
    return {
        **server_env,
        **{f"KOL_{p.upper()}_TOKEN": token for p in PLATFORMS},
        **demo_quota_env(),
    }


@contextlib.contextmanager
def sandbox(world=None) -> Iterator[dict[str, str]]:
    """A sandbox world (default: the demo's) on a free loopback port; yields the env for it.

    The roster and exports are that world's too (KOL_ROSTER / KOL_EXPORTS_DIR are left unset
    for the demo world, which the pipeline materialises under KOL_HOME by itself).
    """
    from sandbox import SandboxServer, WorldConfig

    cfg = world or WorldConfig(seed=DEMO_SEED, creators=DEMO_CREATORS, end_date=yesterday_utc())
    with SandboxServer(cfg, SANDBOX_TOKEN) as server:
        yield sandbox_env(server.env(), SANDBOX_TOKEN)


def airflow_cli(env: Mapping[str, str], *args: str, timeout: float = 300) -> str:
    """Run one `airflow` command; its output on failure says what went wrong."""
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "airflow"), *args],
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"`airflow {' '.join(args)}` exited {proc.returncode}:\n{proc.stdout[-3000:]}\n"
            f"{proc.stderr[-3000:]}"
        )
    return proc.stdout


def prepare(env: Mapping[str, str]) -> None:
    """Metadata DB and the DAGs' pools (what docker's airflow-init does)."""
    airflow_cli(env, "db", "migrate")
    write_pools_file(Path(env["AIRFLOW_HOME"]) / "pools.json")
    airflow_cli(env, "pools", "import", str(Path(env["AIRFLOW_HOME"]) / "pools.json"))


def write_pools_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(kol_tasks.pools_json(), indent=2) + "\n")
    return path


def _password(airflow_home: Path, timeout: float) -> str:
    f = airflow_home / "simple_auth_manager_passwords.json.generated"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError, ValueError):
            return json.loads(f.read_text())[ADMIN]
        time.sleep(1)
    raise RuntimeError(f"no generated password in {f} after {timeout:.0f}s")


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"airflow standalone exited early ({proc.returncode}): see above")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/api/v2/monitor/health", timeout=2).ok:
                return
        time.sleep(2)
    raise RuntimeError(f"the Airflow API at {url} did not answer within {timeout:.0f}s")


def stop_group(proc: subprocess.Popen, grace: float = 30) -> None:
    """Stop Airflow: its process group and every descendant, then SIGKILL what is left.

    Task supervisors start their own sessions, so the group alone would orphan a running
    task; the descendants are listed before anything is signalled (orphans leave the tree).
    """
    import psutil

    if proc.poll() is not None:
        return
    try:
        procs = [psutil.Process(proc.pid), *psutil.Process(proc.pid).children(recursive=True)]
    except psutil.NoSuchProcess:
        procs = []
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGTERM)
    for p in procs:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(procs, timeout=grace)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)


@contextlib.contextmanager
def start(
    kol_home: Path,
    airflow_home: Path,
    port: int | None = None,
    extra_env: Mapping[str, str] | None = None,
    timeout: float = 240,
    output=None,
    prepare_db: bool = True,
) -> Iterator[LocalAirflow]:
    """`airflow standalone` in its own process group, stopped (group and all) on exit."""
    port = port or free_port()
    env = airflow_env(airflow_home, kol_home, port, extra_env)
    airflow_home.mkdir(parents=True, exist_ok=True)
    if prepare_db:
        prepare(env)
    proc = subprocess.Popen(
        [str(Path(sys.executable).parent / "airflow"), "standalone"],
        env=env,
        start_new_session=True,
        stdout=output,
        stderr=subprocess.STDOUT if output is not None else None,
    )
    try:
        url = f"http://localhost:{port}"
        _wait_healthy(url, proc, timeout)
        yield LocalAirflow(url, ADMIN, _password(airflow_home, 60), airflow_home, proc)
    finally:
        stop_group(proc)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="make airflow", description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=8080, help="UI/API port (default 8080)")
    ap.add_argument("--fresh", action="store_true", help="delete the local AIRFLOW_HOME first")
    ap.add_argument(
        "--no-sandbox",
        action="store_true",
        help="use the platforms configured in the environment/Connections, not the sandbox",
    )
    args = ap.parse_args(argv)
    settings = config.load()
    airflow_home = settings.home / "airflow"
    if args.fresh and airflow_home.exists():
        shutil.rmtree(airflow_home)
    signal.signal(signal.SIGTERM, _interrupt)
    with contextlib.ExitStack() as stack:
        extra = {} if args.no_sandbox else stack.enter_context(sandbox())
        if extra:
            print(f"sandbox platforms: {extra['KOL_INSTAGRAM_BASE_URL'].rsplit('/', 2)[0]}")
        print(f"starting Airflow (AIRFLOW_HOME={airflow_home}, KOL_HOME={settings.home}) ...")
        try:
            af = stack.enter_context(start(settings.home, airflow_home, args.port, extra))
            print(
                f"\nAirflow UI: {af.url}   login: {af.username} / {af.password}\n"
                f'DAGs: kol_extract (daily; trigger with conf {{"date": "YYYY-MM-DD"}}) '
                f"-> kol_transform (on the landing assets)\nCtrl-C stops everything.\n",
                flush=True,
            )
            while af.process.poll() is None:
                time.sleep(2)
            print(f"airflow standalone exited ({af.process.returncode})", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("\nstopping Airflow and the sandbox ...", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
