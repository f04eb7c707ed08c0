"""PostgreSQL serving against a real PostgreSQL server started by the test (throwaway folder,
free port, stopped at the end): roles, atomic swaps under BI readers, and equality with the
DuckDB marts."""

from __future__ import annotations

import itertools
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc_pg
import duckdb
import pytest
from gate_world import ACCOUNTS, PLATFORMS, RUN_DATE, mutate, write_landing_accounts

from pipeline import config, steps
from pipeline.config import PostgresServingSettings, Secret
from pipeline.local_postgres import LocalPostgres
from pipeline.publish import publish
from pipeline.published import PUBLISHED_TABLES
from pipeline.serve_postgres import (
    AUDIT_TABLES,
    PostgresServingError,
    provision,
    publish_to_postgres,
)

pytestmark = pytest.mark.integration

LOADER_PW, READER_PW, AUDITOR_PW = "loader pw'1%", "reader-pw-2", "auditor-pw-3"
_databases = itertools.count()


@pytest.fixture(scope="module")
def server() -> Iterator[LocalPostgres]:
    """One PostgreSQL server for the module, in a folder the postgres user may own."""
    root = Path(tempfile.mkdtemp(prefix="kol-pg-test-"))
    pg = LocalPostgres(root).start()
    try:
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)
    assert not (root / "data" / "postmaster.pid").exists()


@pytest.fixture
def serving(server: LocalPostgres) -> PostgresServingSettings:
    """A fresh serving database (the roles are the server's), provisioned."""
    settings = PostgresServingSettings(
        url=server.uri("kol_loader", Secret(LOADER_PW), f"kol_{next(_databases)}"),
        bi_reader_password=Secret(READER_PW),
        auditor_password=Secret(AUDITOR_PW),
    )
    provision(server.admin_uri, settings)
    return settings


def _database(serving: PostgresServingSettings) -> str:
    return serving.url.reveal().rsplit("/", 1)[1]


def _connect(server: LocalPostgres, user: str, password: str, database: str, **kw):
    return adbc_pg.connect(server.uri(user, Secret(password), database).reveal(), **kw)


def _published(warehouse: Path, folder: Path) -> Path:
    return publish(warehouse, folder, PUBLISHED_TABLES).path


def _rows(cur, sql: str) -> list[tuple]:
    cur.execute(sql)
    return sorted(cur.fetchall(), key=repr)


def _fingerprint(server: LocalPostgres, serving: PostgresServingSettings) -> dict[str, str]:
    """md5 of every served table's rows (marts and audit), as the loader sees them."""
    con = adbc_pg.connect(serving.url.reveal())
    cur = con.cursor()
    cur.execute(
        "SELECT schemaname || '.' || tablename FROM pg_tables "
        "WHERE schemaname IN ('marts', 'audit') ORDER BY 1"
    )
    names = [r[0] for r in cur.fetchall()]
    out = {}
    for name in names:
        cur.execute(
            f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM {name} t"
        )
        out[name] = cur.fetchone()[0]
    cur.close()
    con.close()
    return out


def test_bi_reader_reads_every_mart_and_can_change_nothing(
    server, serving, clean_warehouses, tmp_path
):
    db_file = _published(clean_warehouses["today"], tmp_path / "serving")
    result = publish_to_postgres(serving, db_file, PUBLISHED_TABLES, tmp_path / "quality")
    database = _database(serving)

    con = _connect(server, "bi_reader", READER_PW, database, autocommit=True)
    cur = con.cursor()
    for table in PUBLISHED_TABLES:
        cur.execute(f"SELECT count(*) FROM marts.{table}")
        assert cur.fetchone()[0] == result.rows[table] > 0
    cur.execute("SELECT current_setting('default_transaction_read_only')")
    assert cur.fetchone()[0] == "on"
    cur.execute("SELECT current_setting('statement_timeout')")
    assert cur.fetchone()[0] == "1min"

    refused = [
        "INSERT INTO marts.dim_creators (creator_id) VALUES ('x')",
        "UPDATE marts.dim_creators SET display_name = 'x'",
        "DELETE FROM marts.dim_creators",
        "TRUNCATE marts.dim_creators",
        "DROP TABLE marts.dim_creators",
        "ALTER TABLE marts.dim_creators ADD COLUMN x int",
        "CREATE TABLE marts.x (a int)",
        "CREATE TABLE public.x (a int)",
        "CREATE SCHEMA x",
        "CREATE TEMP TABLE x (a int)",
        "CREATE VIEW marts.v AS SELECT 1",
        f"SELECT count(*) FROM audit.{AUDIT_TABLES[0]}",
    ]
    # Refused by the read-only default, and again by privileges when the session asks for
    # read-write transactions (a role may change its own default: privileges are the wall).
    for mode in ("default", "read write"):
        if mode == "read write":
            cur.execute("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE")
        for sql in refused:
            with pytest.raises(adbc_driver_manager.Error) as refusal:
                cur.execute(sql)
            state = refusal.value.sqlstate
            if mode == "read write" or sql.startswith("SELECT"):
                assert state == "42501", (sql, str(refusal.value))  # no privilege
            else:
                assert state in {"25006", "42501"}, (sql, str(refusal.value))
    # No CREATE in any schema, no TEMP or CONNECT on any other database.
    cur.execute(
        "SELECT nspname FROM pg_namespace WHERE has_schema_privilege(oid, 'CREATE') "
        "UNION ALL SELECT datname FROM pg_database WHERE has_database_privilege(oid, 'TEMP') "
        "OR (has_database_privilege(oid, 'CONNECT') AND datname <> current_database())"
    )
    assert cur.fetchall() == []
    cur.close()
    con.close()
    for other in ("postgres", "template1"):
        with pytest.raises(adbc_driver_manager.Error, match="permission denied for database"):
            _connect(server, "bi_reader", READER_PW, other)

    # The auditor reads the audit schema only.
    con = _connect(server, "auditor", AUDITOR_PW, database, autocommit=True)
    cur = con.cursor()
    for table in AUDIT_TABLES:
        cur.execute(f"SELECT count(*) FROM audit.{table}")
        cur.fetchone()
    with pytest.raises(adbc_driver_manager.Error) as refusal:
        cur.execute("SELECT count(*) FROM marts.dim_creators")
    assert refusal.value.sqlstate == "42501"
    cur.close()
    con.close()


def test_postgres_marts_equal_the_duckdb_marts_row_for_row(
    server, serving, clean_warehouses, tmp_path
):
    db_file = _published(clean_warehouses["today"], tmp_path / "serving")
    publish_to_postgres(serving, db_file, PUBLISHED_TABLES, tmp_path / "quality")

    con = _connect(server, "bi_reader", READER_PW, _database(serving), autocommit=True)
    cur = con.cursor()
    duck = duckdb.connect(str(db_file), read_only=True)
    for table in PUBLISHED_TABLES:
        expected = duck.sql(f'SELECT * FROM "{table}"').fetchall()
        columns = [r[0] for r in duck.execute(f'DESCRIBE "{table}"').fetchall()]
        cur.execute(f"SELECT * FROM marts.{table}")
        assert [d[0] for d in cur.description] == columns, table
        assert sorted(cur.fetchall(), key=repr) == sorted(expected, key=repr), table
        assert len(expected) > 0
    duck.close()
    cur.close()
    con.close()


READER = textwrap.dedent(
    """
    import json, os, sys
    from pathlib import Path
    import adbc_driver_postgresql.dbapi as pg
    stop, ready = Path(sys.argv[1]), Path(sys.argv[2])
    versions = {tuple(v) for v in json.loads(sys.argv[3])}
    con = pg.connect(os.environ["READER_URI"], autocommit=True)
    cur = con.cursor()
    query = (
        "SELECT (SELECT max(as_of_date)::text FROM marts.creator_scorecard), "
        "(SELECT max(date)::text FROM marts.fct_creator_daily), "
        "(SELECT count(*) FROM marts.fct_creator_daily), "
        "(SELECT max(as_of_date)::text FROM marts.fct_post_performance)"
    )
    seen, errors = [], []
    while not stop.exists():
        try:
            cur.execute(query)
            row = tuple(cur.fetchone())
            if row not in versions:
                errors.append(f"a mix of versions: {row}")
            seen.append(row[0])
            ready.touch()
        except Exception as exc:
            errors.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"seen": seen, "errors": errors}))
    """
)


def _version(db_file: Path) -> list:
    con = duckdb.connect(str(db_file), read_only=True)
    row = con.execute(
        "SELECT (SELECT max(as_of_date)::VARCHAR FROM creator_scorecard), "
        "(SELECT max(date)::VARCHAR FROM fct_creator_daily), "
        "(SELECT count(*) FROM fct_creator_daily), "
        "(SELECT max(as_of_date)::VARCHAR FROM fct_post_performance)"
    ).fetchone()
    con.close()
    return list(row)


def test_bi_reader_in_a_loop_sees_old_or_new_marts_never_an_error_or_a_mix(
    server, serving, clean_warehouses, tmp_path
):
    files = {
        name: _published(clean_warehouses[name], tmp_path / name) for name in ("previous", "today")
    }
    versions = [_version(f) for f in files.values()]
    assert versions[0] != versions[1]
    publish_to_postgres(serving, files["previous"], PUBLISHED_TABLES, tmp_path / "quality")
    stop, ready = tmp_path / "stop", tmp_path / "ready"
    env = {
        **os.environ,
        "READER_URI": server.uri("bi_reader", Secret(READER_PW), _database(serving)).reveal(),
    }
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(stop), str(ready), json.dumps(versions)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        for i in range(6):
            _wait_for(ready, proc)
            ready.unlink()
            name = "today" if i % 2 == 0 else "previous"
            publish_to_postgres(serving, files[name], PUBLISHED_TABLES, tmp_path / "quality")
        _wait_for(ready, proc)
    finally:
        stop.touch()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    seen = json.loads(out)
    assert seen["errors"] == []
    assert set(seen["seen"]) == {versions[0][0], versions[1][0]}  # both really were served


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, f"the reader died: {proc.stderr.read() if proc.stderr else ''}"
        assert time.monotonic() < deadline, "the reader stopped reading"
        time.sleep(0.02)


def test_a_bi_session_holding_a_lock_does_not_stall_or_break_publish(
    server, serving, clean_warehouses, tmp_path
):
    old = _published(clean_warehouses["previous"], tmp_path / "previous")
    new = _published(clean_warehouses["today"], tmp_path / "today")
    publish_to_postgres(serving, old, PUBLISHED_TABLES, tmp_path / "quality")
    database = _database(serving)
    reader = _connect(server, "bi_reader", READER_PW, database)  # transactions stay open
    cur = reader.cursor()
    cur.execute("SELECT max(as_of_date)::text FROM marts.creator_scorecard")  # ACCESS SHARE held
    (before,) = cur.fetchone()

    # The lock outlives the retry budget: publish gives up on time, the old marts stay served
    # and the reader's transaction is unharmed.
    started = time.monotonic()
    with pytest.raises(PostgresServingError, match="kept a lock on the served marts"):
        publish_to_postgres(
            serving, new, PUBLISHED_TABLES, tmp_path / "quality", lock_timeout_ms=200, swap_budget=2
        )
    assert time.monotonic() - started < 10
    cur.execute("SELECT max(as_of_date)::text FROM marts.creator_scorecard")
    assert cur.fetchone()[0] == before == str(RUN_DATE - timedelta(days=1))
    other = _connect(server, "bi_reader", READER_PW, database, autocommit=True)
    other_cur = other.cursor()
    other_cur.execute("SELECT max(as_of_date)::text FROM marts.creator_scorecard")
    assert other_cur.fetchone()[0] == before

    # The reader commits while publish is retrying: publish then succeeds.
    threading.Thread(target=_commit_once_publish_waited, args=(server, reader, 0.2)).start()
    started = time.monotonic()
    result = publish_to_postgres(
        serving, new, PUBLISHED_TABLES, tmp_path / "quality", lock_timeout_ms=200, swap_budget=20
    )
    assert result.attempts >= 2
    assert time.monotonic() - started < 15
    other_cur.execute("SELECT max(as_of_date)::text FROM marts.creator_scorecard")
    assert other_cur.fetchone()[0] == str(RUN_DATE)
    cur.close()
    reader.close()
    other_cur.close()
    other.close()


def _commit_once_publish_waited(server: LocalPostgres, reader, lock_timeout: float) -> None:
    """Commit `reader` once the swap has waited on its lock and given up at least once."""
    admin = adbc_pg.connect(server.admin_uri.reveal(), autocommit=True)
    cur = admin.cursor()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        cur.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
        if cur.fetchone()[0]:
            break
        time.sleep(0.02)
    cur.close()
    admin.close()
    time.sleep(lock_timeout * 3)  # that attempt has timed out: the next one finds no lock
    reader.commit()


def test_a_failed_gate_leaves_postgres_unchanged(
    server, serving, clean_warehouses, warehouse_copy, kol_home, monkeypatch, caplog
):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("KOL_SERVING_POSTGRES_URL", serving.url.reveal())
    settings = config.load(env_file=None)
    assert settings.serving_postgres is not None
    assert LOADER_PW not in repr(settings)
    # Yesterday's marts are served (file and PostgreSQL).
    baseline = _published(clean_warehouses["previous"], settings.serving)
    publish_to_postgres(serving, baseline, PUBLISHED_TABLES, settings.quality)
    before = _fingerprint(server, serving)
    write_landing_accounts(settings.landing, RUN_DATE, tuple(PLATFORMS))
    state = {"transform": {"ok": True, "run_date": RUN_DATE.isoformat()}, "gate": {}}

    glitch = mutate(
        warehouse_copy(), "UPDATE creator_scorecard SET followers = 0 WHERE platform = 'instagram'"
    )
    shutil.copyfile(glitch, settings.warehouse)
    (settings.home / "state.json").write_text(json.dumps(state))
    with pytest.raises(steps.GateFailed):
        steps.gate(settings, RUN_DATE, "glitch-day", PLATFORMS)
    with pytest.raises(steps.StepFailed, match="has not passed the gate"):
        steps.publish(settings)
    assert _fingerprint(server, serving) == before

    # A clean build passes and the publish step serves it (the one call site), with the audit.
    shutil.copyfile(clean_warehouses["today"], settings.warehouse)
    (settings.home / "state.json").write_text(json.dumps(state))
    steps.gate(settings, RUN_DATE, "clean-day", PLATFORMS)
    out = steps.publish(settings)
    assert out["postgres"].endswith(_database(serving))
    after = _fingerprint(server, serving)
    assert after != before and set(after) == set(before)
    con = _connect(server, "auditor", AUDITOR_PW, _database(serving), autocommit=True)
    cur = con.cursor()
    assert _rows(cur, "SELECT run_id, passed, failed FROM audit.gate_runs") == [
        ("clean-day", True, 0),
        ("glitch-day", False, 2),
    ]
    cur.execute("SELECT count(*) FROM audit.gate_expectations WHERE NOT success")
    assert cur.fetchone()[0] == 2
    cur.close()
    con.close()
    for secret in (LOADER_PW, READER_PW, AUDITOR_PW):
        assert secret not in caplog.text


def test_wrong_password_fails_clearly_without_showing_it(
    server, serving, clean_warehouses, tmp_path, caplog
):
    caplog.set_level(logging.DEBUG)
    db_file = _published(clean_warehouses["today"], tmp_path / "serving")
    wrong = PostgresServingSettings(
        url=server.uri("kol_loader", Secret("WRONG-SECRET"), _database(serving)),
    )
    with pytest.raises(PostgresServingError, match="password authentication failed") as failure:
        publish_to_postgres(wrong, db_file, PUBLISHED_TABLES, tmp_path / "quality")
    assert "WRONG-SECRET" not in str(failure.value) and "WRONG-SECRET" not in caplog.text
    assert LOADER_PW not in str(failure.value)


def test_a_bad_serving_url_is_a_configuration_error_that_hides_it(monkeypatch, kol_home):
    monkeypatch.setenv("KOL_SERVING_POSTGRES_URL", "mysql://kol_loader:TOPSECRET@db/kol")
    with pytest.raises(config.ConfigError, match="KOL_SERVING_POSTGRES_URL") as failure:
        config.load(env_file=None)
    assert "TOPSECRET" not in str(failure.value)


def test_make_bi_serves_the_marts_prints_the_login_and_stops_cleanly_on_ctrl_c(
    clean_warehouses,
):
    # KOL_HOME must be reachable by the postgres user (pytest's folders are private to root).
    home = Path(tempfile.mkdtemp(prefix="kol-bi-test-"))
    home.chmod(0o755)
    try:
        _published(clean_warehouses["today"], home / "serving")
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOL_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.bi_stack", "--postgres-only"],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**env, "KOL_HOME": str(home)},
            start_new_session=True,  # Ctrl-C reaches the whole group, as in a terminal
        )
        lines = []
        for line in proc.stdout:
            lines.append(line)
            if "Ctrl-C stops it" in line:
                break
        text = "".join(lines)
        port = int(text.split(" port ")[1].split()[0])
        password = text.split(" login bi_reader / ")[1].split()[0]
        pid_file = home / "bi" / "postgres" / "data" / "postmaster.pid"
        postmaster = int(pid_file.read_text().split()[0])
        con = adbc_pg.connect(f"postgresql://bi_reader:{password}@127.0.0.1:{port}/kol")
        cur = con.cursor()
        cur.execute("SELECT count(*) FROM marts.creator_scorecard")
        assert cur.fetchone()[0] == sum(len(p) for p in ACCOUNTS.values())
        cur.close()
        con.close()

        os.killpg(proc.pid, signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        assert "PostgreSQL stopped" in out
        assert not _running(postmaster)  # no orphaned server
        assert not (home / "bi" / "postgres").exists()
    finally:
        shutil.rmtree(home, ignore_errors=True)


def _running(pid: int) -> bool:
    """A live process (a zombie waiting for its reaper has stopped already)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"
