"""Fixtures of the Airflow tests: a throwaway AIRFLOW_HOME before anything imports airflow,
the DagBag, and for the integration tests a tiny sandbox world with its own KOL_HOME."""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import tempfile
from datetime import date
from pathlib import Path

import pytest

# Airflow reads AIRFLOW_HOME once, at import: give it a scratch dir, never ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kol-airflow-tests-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

REPO = Path(__file__).resolve().parents[2]
END = date(2026, 11, 20)  # the test world's last day
SOURCES = ("instagram", "facebook", "tiktok", "youtube", "x", "exports")


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag(dag_folder=str(REPO / "dags"))


def world_config(end: date = END):
    from sandbox import WorldConfig

    return WorldConfig(seed=7, creators=6, days=100, end_date=end)


class AirflowWorld:
    """One KOL_HOME and one migrated AIRFLOW_HOME (SQLite) pointed at a running sandbox."""

    def __init__(self, root: Path, server) -> None:
        import local_airflow as airflow_local

        from sandbox import export_world

        self.server = server
        self.end: date = server.cfg.end_date
        server_env = server.env()
        self.kol_home = root / "kol"
        self.airflow_home = root / "airflow"
        self.inputs = root / "inputs"
        export_world(server.cfg, self.inputs)
        self.kol_env = {
            **airflow_local.sandbox_env(server_env, airflow_local.SANDBOX_TOKEN),
            "KOL_ROSTER": str(self.inputs / "roster.csv"),
            "KOL_EXPORTS_DIR": str(self.inputs),
            "KOL_AIRFLOW_RETRIES": "0",  # a failure shows at once, not after the backoff
        }
        self.port = airflow_local.free_port()
        self.env = airflow_local.airflow_env(
            self.airflow_home, self.kol_home, self.port, self.kol_env
        )

    def prepare(self) -> AirflowWorld:
        import local_airflow as airflow_local

        self.airflow_home.mkdir(parents=True)
        airflow_local.prepare(self.env)
        return self

    def airflow(self, *args: str) -> str:
        import local_airflow as airflow_local

        return airflow_local.airflow_cli(self.env, *args, timeout=400)

    def roster_creators(self) -> set[str]:
        with (self.inputs / "roster.csv").open() as fh:
            return {row["creator_id"] for row in csv.DictReader(fh)}

    def landing_events(self) -> list[tuple[str, dict]]:
        with sqlite3.connect(self.airflow_home / "airflow.db") as db:
            rows = db.execute(
                "select a.uri, e.extra from asset_event e join asset a on a.id = e.asset_id "
                "order by e.id"
            ).fetchall()
        return [(u, json.loads(x) if isinstance(x, str) else x) for u, x in rows]


@pytest.fixture(scope="module")
def airflow_world(request, tmp_path_factory):
    """A sandbox on loopback and a migrated AIRFLOW_HOME + empty KOL_HOME, per test module.

    The world ends on the module's WORLD_END if it sets one, else on END.
    """
    from sandbox import SandboxServer

    cfg = world_config(getattr(request.module, "WORLD_END", END))
    with SandboxServer(cfg, "sandbox") as server:
        yield AirflowWorld(tmp_path_factory.mktemp("airflow-world"), server).prepare()


def _stable(v: object) -> object:
    """Doubles at 12 significant digits: DuckDB's parallel sums differ in the 16th digit from
    run to run (see pipeline.publish.content_checksum)."""
    return float(f"{v:.12g}") if isinstance(v, float) else v


def read_marts(home: Path) -> dict[str, list[tuple]]:
    """Every published table's rows, sorted, through a read-only connection."""
    import duckdb

    with duckdb.connect(str(home / "serving" / "marts.duckdb"), read_only=True) as con:
        names = [
            r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()
        ]
        return {
            t: sorted(
                (
                    tuple(_stable(v) for v in row)
                    for row in con.execute(f'select * from "{t}"').fetchall()
                ),
                key=repr,
            )
            for t in names
        }


@pytest.fixture(scope="session")
def marts():
    return read_marts
