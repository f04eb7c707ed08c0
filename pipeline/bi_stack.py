"""`make bi`: a local PostgreSQL serving the published marts, for trying the BI side.

A throwaway server (fresh data folder under KOL_HOME/bi, free port on 127.0.0.1) gets the
three serving roles and the marts of `serving/marts.duckdb` (run `make demo` first), then
waits until Ctrl-C and stops the server. The login printed is this trial server's own,
generated for this run only.
"""

from __future__ import annotations

import logging
import secrets
import shutil
import signal
import sys
import threading

from pipeline import config
from pipeline.config import PostgresServingSettings, Secret
from pipeline.local_postgres import LocalPostgres
from pipeline.published import PUBLISHED_TABLES
from pipeline.serve_postgres import BI_READER, provision, publish_to_postgres

DATABASE = "kol"


def serve(settings: config.Settings, stop: threading.Event) -> int:
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
            f"    psql 'postgresql://{BI_READER}@127.0.0.1:{server.port}/{DATABASE}'\n"
            "bi: Ctrl-C stops it.",
            flush=True,
        )
        stop.wait()
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)
        print("bi: PostgreSQL stopped.", flush=True)
    return 0


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    settings = config.load()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    return serve(settings, stop)


if __name__ == "__main__":
    sys.exit(main())
