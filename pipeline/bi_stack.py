"""`make bi`: PostgreSQL serving the published marts, and Superset with the project's
dashboards (`bi/dashboards.py`) connected as `bi_reader`, for trying the BI side locally.

A throwaway PostgreSQL (fresh data folder under KOL_HOME/bi, free port on 127.0.0.1) gets
the three serving roles and the marts of `serving/marts.duckdb`; Superset (its own venv,
`.venv-bi`, from `bi/requirements.lock`) gets a fresh metadata database (copied from a
migrated template kept in KOL_HOME/bi: the first run migrates it, ~5 min), an admin, and the
dashboards. Logins are generated for this run and printed; Ctrl-C stops both servers.
"""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import requests

from pipeline import config
from pipeline.config import PostgresServingSettings, Secret
from pipeline.local_postgres import LocalPostgres, free_port
from pipeline.published import PUBLISHED_TABLES
from pipeline.serve_postgres import BI_READER, provision, publish_to_postgres

DATABASE = "kol"
REPO = Path(__file__).resolve().parents[1]
SUPERSET_VENV = REPO / ".venv-bi"
ADMIN = "admin"
_SUPERSET = (str(SUPERSET_VENV / "bin" / "superset"),)


SLUGS = ("platform-lag", "creator-performance", "campaign-returns", "brand-fit")


def serve(settings: config.Settings, stop: threading.Event, with_superset: bool = True) -> int:
    """Start PostgreSQL, load the marts, print how to connect, and wait for `stop`."""
    marts = settings.serving / "marts.duckdb"
    if not marts.is_file():
        print(f"bi: no published marts at {marts}: run `make demo` (or `kol run`) first")
        return 1
    root = settings.home / "bi" / "postgres"
    shutil.rmtree(root, ignore_errors=True)  # throwaway: a fresh server each time
    server = LocalPostgres(root).start()
    try:
        reader_pw = Secret(secrets.token_urlsafe(12))
        serving = PostgresServingSettings(
            url=server.uri("kol_loader", Secret(secrets.token_urlsafe(16)), DATABASE),
            bi_reader_password=reader_pw,
            auditor_password=Secret(secrets.token_urlsafe(16)),
        )
        provision(server.admin_uri, serving)
        result = publish_to_postgres(serving, marts, PUBLISHED_TABLES, settings.quality)
        print(
            f"bi: PostgreSQL serves {len(result.rows)} marts in schema `marts`\n"
            f"    host 127.0.0.1  port {server.port}  database {DATABASE}\n"
            f"    login {BI_READER} / {reader_pw.reveal()}   (this trial server only)\n"
            f"    psql 'postgresql://{BI_READER}@127.0.0.1:{server.port}/{DATABASE}'",
            flush=True,
        )
        if not with_superset:
            print("bi: Ctrl-C stops it.", flush=True)
            stop.wait()
            return 0
        with superset(settings, server.port, reader_pw) as (url, admin_pw):
            print(
                f"bi: Superset {url}  login {ADMIN} / {admin_pw.reveal()}   (this run only)\n"
                "    dashboards: "
                + ", ".join(f"{url}/superset/dashboard/{d}/" for d in SLUGS)
                + "\nbi: Ctrl-C stops it.",
                flush=True,
            )
            stop.wait()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        print("bi: PostgreSQL stopped.", flush=True)
    return 0


@contextlib.contextmanager
def superset(settings: config.Settings, pg_port: int, reader_pw: Secret) -> Iterator[tuple]:
    """Superset on a free port with the dashboards imported; stopped on exit."""
    if not (SUPERSET_VENV / "bin" / "superset").is_file():
        raise SystemExit("bi: Superset's venv is missing: run `make bi` (it creates .venv-bi)")
    folder = settings.home / "bi" / "superset"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    admin_pw = Secret(secrets.token_urlsafe(12))
    env = {
        **os.environ,
        "SUPERSET_CONFIG_PATH": str(REPO / "bi" / "superset_config.py"),
        "SUPERSET_SECRET_KEY": secrets.token_hex(32),
        "BI_TRIAL_SUPERSET_DB": str(folder / "superset.db"),
        "FLASK_APP": "superset",
        "BI_TRIAL_ADMIN_USER": ADMIN,
        "BI_TRIAL_PG_PORT": str(pg_port),
        "BI_TRIAL_PG_DATABASE": DATABASE,
        "BI_TRIAL_READER_PASSWORD": reader_pw.reveal(),
    }
    template = settings.home / "bi" / "superset-template.db"
    log_file = folder / "superset.log"
    if not template.is_file():
        print("bi: migrating Superset's metadata database once (a few minutes)...", flush=True)
        _superset_cli(env, log_file, "db", "upgrade")
        _superset_cli(env, log_file, "init")
        shutil.copyfile(folder / "superset.db", template)
    shutil.copyfile(template, folder / "superset.db")
    _superset_cli(
        env,
        log_file,
        *("fab", "create-admin", "--username", ADMIN, "--firstname", "KOL", "--lastname", "Admin"),
        *("--email", "admin@localhost"),
        stdin=f"{admin_pw.reveal()}\n{admin_pw.reveal()}\n",
    )
    _run_logged(
        [str(SUPERSET_VENV / "bin" / "python"), str(REPO / "bi" / "provision_superset.py")],
        env,
        log_file,
    )
    port = free_port()
    with log_file.open("a") as log:
        proc = subprocess.Popen(
            [*_SUPERSET, "run", "-h", "127.0.0.1", "-p", str(port), "--with-threads"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, admin_pw
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        shutil.rmtree(folder, ignore_errors=True)
        print("bi: Superset stopped.", flush=True)


def _superset_cli(env: dict[str, str], log_file: Path, *args: str, stdin: str = "") -> None:
    _run_logged([*_SUPERSET, *args], env, log_file, stdin)


def _run_logged(cmd: list[str], env: dict[str, str], log_file: Path, stdin: str = "") -> None:
    """Run a Superset step, its output in the log (never echoed: it may show settings)."""
    with log_file.open("a") as log:
        proc = subprocess.run(
            cmd, env=env, input=stdin, stdout=log, stderr=subprocess.STDOUT, text=True, check=False
        )
    if proc.returncode != 0:
        raise SystemExit(f"bi: `{' '.join(cmd[1:3])}` failed; see {log_file}")


def _wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("bi: Superset exited while starting; see its log under KOL_HOME/bi")
        with contextlib.suppress(requests.RequestException):
            if requests.get(f"{url}/health", timeout=2).status_code == 200:
                return
        time.sleep(1)
    raise SystemExit(f"bi: Superset did not answer on {url} within {timeout:.0f}s")


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = config.load()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return serve(settings, stop, with_superset="--postgres-only" not in sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
