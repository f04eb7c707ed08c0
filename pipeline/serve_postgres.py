"""Serve the published marts from PostgreSQL, for BI tools that need a server and roles.

On when KOL_SERVING_POSTGRES_URL is set. After the gate passed and the DuckDB file was
swapped in, `publish_to_postgres` copies that file's marts (and the audit trail: run ledger
and gate results) into staging schemas with ADBC (Arrow over PostgreSQL's binary COPY), then
swaps them in with one short transaction:

    LOCK the served tables IN ACCESS EXCLUSIVE MODE; DROP them; ALTER the staged ones SET SCHEMA

A BI query therefore sees all the old marts or all the new ones, never a mix or an error: a
query that arrives during the swap waits for it (at most `lock_timeout`) and then reads the
new tables. A BI session holding a lock (an open transaction) makes the swap give up after
`lock_timeout` (shorter than PostgreSQL's 1 s deadlock check, so the reader is never the one
aborted); the swap is retried with backoff until `swap_budget` seconds, then publish fails
clearly and the old marts stay served.

Roles (created by `provision`, run once with an administrator's connection):
- kol_loader owns the schemas and loads them (its URL is the setting);
- bi_reader may SELECT the marts schema only: read-only transactions, a statement timeout,
  CONNECT to the serving database only, CREATE nowhere;
- auditor may SELECT the audit schema only (run ledger, gate runs, every gate expectation).
Passwords are sent as SCRAM verifiers, so no plain password reaches the server or its log.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import adbc_driver_manager
import adbc_driver_postgresql.dbapi as adbc_pg
import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from expectations import ledger, report
from pipeline.config import PostgresServingSettings, Secret, duckdb_limits

log = logging.getLogger(__name__)

MARTS_SCHEMA = "marts"
AUDIT_SCHEMA = "audit"
STAGING_SUFFIX = "_staging"
LOADER, BI_READER, AUDITOR = "kol_loader", "bi_reader", "auditor"
READER_STATEMENT_TIMEOUT = "60s"
READER_IDLE_IN_TRANSACTION_TIMEOUT = "10min"
AUDIT_TABLES = ("run_ledger", "gate_runs", "gate_expectations")
# SQLSTATEs of a lock the swap could not take in time: retried, never a failure by itself.
_LOCK_BUSY = {"55P03", "40P01"}
_BATCH_ROWS = 100_000


class PostgresServingError(RuntimeError):
    """PostgreSQL serving failed; the previously served marts are unchanged."""


@dataclass(frozen=True)
class PostgresPublishResult:
    """Rows per served table, and how many swap attempts it took."""

    rows: dict[str, int]
    attempts: int
    where: str


def target(serving: PostgresServingSettings) -> str:
    """host:port/database of the serving URL, without its user or password (for messages)."""
    parts = urlsplit(serving.url.reveal())
    return f"{parts.hostname or 'localhost'}:{parts.port or 5432}{parts.path or '/'}"


# --- publish --------------------------------------------------------------------------------


def publish_to_postgres(
    serving: PostgresServingSettings,
    serving_db: Path,
    tables: Sequence[str],
    quality_dir: Path,
    *,
    lock_timeout_ms: int = 500,
    swap_budget: float = 60.0,
) -> PostgresPublishResult:
    """Load the marts of `serving_db` and the audit trail of `quality_dir`, then swap them in."""
    where = target(serving)
    audit = audit_tables(Path(quality_dir))
    con = _connect(serving.url, where)
    try:
        rows = _stage(con, Path(serving_db), list(tables), audit, where)
        attempts = _swap_with_retry(con, lock_timeout_ms, swap_budget, where)
    finally:
        con.close()
    log.info("served %d marts from PostgreSQL %s (swap attempts: %d)", len(tables), where, attempts)
    return PostgresPublishResult(rows=rows, attempts=attempts, where=where)


def _stage(
    con: Any, serving_db: Path, tables: list[str], audit: dict[str, pa.Table], where: str
) -> dict[str, int]:
    """Fresh staging schemas holding the new marts and audit tables, readable by their role
    once swapped in (privileges move with a table). Committed before the swap."""
    try:
        with con.cursor() as cur:
            rows = _load_staging(cur, serving_db, tables, audit)
            con.commit()
            for schema, names in ((MARTS_SCHEMA, tables), (AUDIT_SCHEMA, list(audit))):
                for table in names:  # planner statistics for BI queries
                    cur.execute(f'ANALYZE {schema}{STAGING_SUFFIX}."{table}"')
            con.commit()
    except adbc_driver_manager.Error as exc:
        _rollback(con)
        hint = ""
        if getattr(exc, "sqlstate", None) == "42704":  # undefined role
            hint = " (run `python -m pipeline.serve_postgres provision` once as an administrator)"
        raise PostgresServingError(
            f"could not stage the marts in PostgreSQL {where}: {_first_line(exc)}{hint}; "
            "the served marts are unchanged"
        ) from None
    return rows


def _load_staging(
    cur: Any, serving_db: Path, tables: list[str], audit: dict[str, pa.Table]
) -> dict[str, int]:
    for schema, role in ((MARTS_SCHEMA, BI_READER), (AUDIT_SCHEMA, AUDITOR)):
        cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
        cur.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
        cur.execute(f"DROP SCHEMA IF EXISTS {schema}{STAGING_SUFFIX} CASCADE")
        cur.execute(f"CREATE SCHEMA {schema}{STAGING_SUFFIX}")
    rows: dict[str, int] = {}
    duck = duckdb.connect(str(serving_db), read_only=True, config=duckdb_limits())
    try:
        for table in tables:  # streamed in batches: a mart is never held whole in memory
            batches = duck.sql(f'SELECT * FROM "{table}"').to_arrow_reader(_BATCH_ROWS)
            rows[table] = cur.adbc_ingest(
                table, batches, mode="create", db_schema_name=MARTS_SCHEMA + STAGING_SUFFIX
            )
    finally:
        duck.close()
    for table, data in audit.items():
        cur.adbc_ingest(table, data, mode="create", db_schema_name=AUDIT_SCHEMA + STAGING_SUFFIX)
    for schema, role in ((MARTS_SCHEMA, BI_READER), (AUDIT_SCHEMA, AUDITOR)):
        cur.execute(f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema}{STAGING_SUFFIX} TO {role}")
    return rows


def _swap_with_retry(con: Any, lock_timeout_ms: int, budget: float, where: str) -> int:
    """Swap the staged schemas in; a held lock makes an attempt give up and try again."""
    started, attempt, pause = time.monotonic(), 0, 0.2
    while True:
        attempt += 1
        try:
            _swap(con, lock_timeout_ms)
            return attempt
        except adbc_driver_manager.Error as exc:
            _rollback(con)
            if getattr(exc, "sqlstate", None) not in _LOCK_BUSY:
                raise PostgresServingError(
                    f"could not swap the new marts in PostgreSQL {where}: {_first_line(exc)}; "
                    "the served marts are unchanged"
                ) from None
            waited = time.monotonic() - started
            if waited + pause > budget:
                raise PostgresServingError(
                    f"PostgreSQL {where}: a session kept a lock on the served marts for "
                    f"{waited:.0f}s ({attempt} swap attempts, lock_timeout {lock_timeout_ms} ms): "
                    "the previous marts stay served; the new ones wait in the staging schemas "
                    "until the next publish"
                ) from None
            log.warning("marts swap attempt %d waited on a BI lock; retrying", attempt)
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _swap(con: Any, lock_timeout_ms: int) -> None:
    with con.cursor() as cur:
        _swap_statements(cur, lock_timeout_ms)
    con.commit()


def _swap_statements(cur: Any, lock_timeout_ms: int) -> None:
    cur.execute(f"SET LOCAL lock_timeout = '{int(lock_timeout_ms)}ms'")
    moves: list[tuple[str, list[str], list[str]]] = []
    for schema in (MARTS_SCHEMA, AUDIT_SCHEMA):
        moves.append((schema, _tables_in(cur, schema), _tables_in(cur, schema + STAGING_SUFFIX)))
    old = [f'{schema}."{t}"' for schema, served, _ in moves for t in served]
    if old:
        cur.execute(f"LOCK TABLE {', '.join(old)} IN ACCESS EXCLUSIVE MODE")
        cur.execute(f"DROP TABLE {', '.join(old)}")
    for schema, _, staged in moves:
        for table in staged:
            cur.execute(f'ALTER TABLE {schema}{STAGING_SUFFIX}."{table}" SET SCHEMA {schema}')
        cur.execute(f"DROP SCHEMA {schema}{STAGING_SUFFIX}")


def _tables_in(cur: Any, schema: str) -> list[str]:
    cur.execute(
        "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = $1 ORDER BY tablename",
        parameters=(schema,),
    )
    return [r[0] for r in cur.fetchall()]


# --- audit tables -----------------------------------------------------------------------------


def audit_tables(quality_dir: Path) -> dict[str, pa.Table]:
    """The run ledger, the gate runs and every expectation they evaluated, as Arrow tables."""
    folder = quality_dir / ledger.LEDGER_DIR
    files = sorted(p for p in folder.glob("*.parquet") if not p.name.startswith("."))
    runs = report.read_runs(quality_dir) if quality_dir.joinpath(*report.RUNS_DIR).is_dir() else []
    outcomes = [
        {
            "run_id": run["run_id"],
            "suite": o.get("suite"),
            "expectation_type": o.get("expectation_type"),
            "table_name": o.get("table"),
            "column_name": o.get("column"),
            "success": bool(o.get("success", False)),
            "observed_value": json.dumps(o.get("observed_value"), default=str),
            "message": o.get("message"),
        }
        for run in runs
        for o in run.get("expectations", run.get("failures", []))
    ]
    return {
        "run_ledger": pa.concat_tables([pq.read_table(p, schema=ledger.SCHEMA) for p in files])
        if files
        else ledger.SCHEMA.empty_table(),
        "gate_runs": pa.Table.from_pylist(
            [
                {
                    "run_id": r["run_id"],
                    "run_date": r["run_date"],
                    "passed": bool(r["passed"]),
                    "evaluated": int(r["evaluated"]),
                    "failed": len(r["failures"]),
                    "extracted_platforms": ",".join(r.get("extracted_platforms", [])),
                    "finished_at": r.get("finished_at"),
                }
                for r in runs
            ],
            schema=_GATE_RUNS,
        ),
        "gate_expectations": pa.Table.from_pylist(outcomes, schema=_GATE_EXPECTATIONS),
    }


_GATE_RUNS = pa.schema(
    [
        ("run_id", pa.string()),
        ("run_date", pa.string()),
        ("passed", pa.bool_()),
        ("evaluated", pa.int64()),
        ("failed", pa.int64()),
        ("extracted_platforms", pa.string()),
        ("finished_at", pa.string()),
    ]
)
_GATE_EXPECTATIONS = pa.schema(
    [
        ("run_id", pa.string()),
        ("suite", pa.string()),
        ("expectation_type", pa.string()),
        ("table_name", pa.string()),
        ("column_name", pa.string()),
        ("success", pa.bool_()),
        ("observed_value", pa.string()),
        ("message", pa.string()),
    ]
)


# --- provisioning -------------------------------------------------------------------------------


def provision(admin_uri: Secret, serving: PostgresServingSettings) -> None:
    """Create (or update) the three roles, the serving database and its schemas. Idempotent.

    Run once per server with an administrator's connection (a superuser, or a role that may
    create roles and owns `postgres` and `template1`)."""
    loader = urlsplit(serving.url.reveal())
    database = (loader.path or "/").lstrip("/")
    if loader.username != LOADER or not loader.password or not database:
        raise PostgresServingError(
            f"KOL_SERVING_POSTGRES_URL must name user {LOADER}, its password and a database "
            "(postgresql://kol_loader:PASSWORD@host:port/DB)"
        )
    passwords = {
        LOADER: Secret(unquote(loader.password)),
        BI_READER: serving.bi_reader_password,
        AUDITOR: serving.auditor_password,
    }
    missing = [role for role, pw in passwords.items() if not pw]
    if missing:
        raise PostgresServingError(
            "set KOL_SERVING_POSTGRES_BI_READER_PASSWORD and KOL_SERVING_POSTGRES_AUDITOR_PASSWORD "
            f"(missing for {', '.join(missing)})"
        )
    admin = _connect(admin_uri, "the administrator's connection", autocommit=True)
    try:
        _provision_cluster(admin, passwords, database)
    finally:
        admin.close()
    in_db = _connect(_with_database(admin_uri, database), "the administrator's connection", True)
    try:
        with in_db.cursor() as cur:
            cur.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
            for schema, role in ((MARTS_SCHEMA, BI_READER), (AUDIT_SCHEMA, AUDITOR)):
                cur.execute(f"CREATE SCHEMA IF NOT EXISTS {schema} AUTHORIZATION {LOADER}")
                cur.execute(f"ALTER SCHEMA {schema} OWNER TO {LOADER}")
                cur.execute(f"GRANT USAGE ON SCHEMA {schema} TO {role}")
    finally:
        in_db.close()
    log.info("provisioned roles %s, %s, %s on %s", LOADER, BI_READER, AUDITOR, target(serving))


def _provision_cluster(admin: Any, passwords: dict[str, Secret | None], database: str) -> None:
    """Roles, their session defaults, the database and who may connect to which database."""
    with admin.cursor() as cur:
        for role, password in passwords.items():
            _ensure_role(cur, role, password)  # type: ignore[arg-type]
        for role in (BI_READER, AUDITOR):
            cur.execute(f"ALTER ROLE {role} SET default_transaction_read_only = on")
            cur.execute(f"ALTER ROLE {role} SET statement_timeout = '{READER_STATEMENT_TIMEOUT}'")
            cur.execute(
                f"ALTER ROLE {role} SET idle_in_transaction_session_timeout = "
                f"'{READER_IDLE_IN_TRANSACTION_TIMEOUT}'"
            )
        cur.execute(
            "SELECT 1 FROM pg_catalog.pg_database WHERE datname = $1", parameters=(database,)
        )
        if not cur.fetchall():
            cur.execute(f"CREATE DATABASE {_ident(database)} OWNER {LOADER}")
        cur.execute(f"ALTER DATABASE {_ident(database)} OWNER TO {LOADER}")
        cur.execute(f"REVOKE ALL ON DATABASE {_ident(database)} FROM PUBLIC")
        cur.execute(f"GRANT CONNECT ON DATABASE {_ident(database)} TO {BI_READER}, {AUDITOR}")
        cur.execute(
            "REVOKE CONNECT, TEMPORARY ON DATABASE postgres, template0, template1 FROM PUBLIC"
        )


def _ensure_role(cur: Any, role: str, password: Secret) -> None:
    cur.execute("SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1", parameters=(role,))
    if not cur.fetchall():
        cur.execute(f"CREATE ROLE {role} LOGIN")
    cur.execute(f"ALTER ROLE {role} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION")
    try:
        cur.execute(f"ALTER ROLE {role} PASSWORD '{scram_verifier(password.reveal())}'")
    except adbc_driver_manager.Error as exc:  # the statement text (a verifier) stays out
        raise PostgresServingError(
            f"could not set the password of role {role} (SQLSTATE {getattr(exc, 'sqlstate', '?')})"
        ) from None


def scram_verifier(password: str, iterations: int = 4096) -> str:
    """The SCRAM-SHA-256 verifier PostgreSQL stores for `password` (RFC 5802/7677), so the
    password itself is never sent to the server."""
    salt = os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", "sha256").digest()
    server_key = hmac.new(salted, b"Server Key", "sha256").digest()
    stored_key = hashlib.sha256(client_key).digest()

    def b64(raw: bytes) -> str:
        return base64.b64encode(raw).decode()

    return f"SCRAM-SHA-256${iterations}:{b64(salt)}${b64(stored_key)}:{b64(server_key)}"


# --- connections ----------------------------------------------------------------------------------


def _connect(uri: Secret, where: str, autocommit: bool = False) -> Any:
    try:
        return adbc_pg.connect(uri.reveal(), autocommit=autocommit)
    except adbc_driver_manager.Error as exc:
        raise PostgresServingError(
            f"cannot connect to PostgreSQL {where}: {_scrub(_first_line(exc), uri)}"
        ) from None


def _with_database(uri: Secret, database: str) -> Secret:
    """The same connection URI pointing at another database."""
    parts = urlsplit(uri.reveal())
    return Secret(parts._replace(path=f"/{database}").geturl())


def _rollback(con: Any) -> None:
    with contextlib.suppress(adbc_driver_manager.Error):  # gone: nothing was committed
        con.rollback()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.split("Query was:")[0].strip().splitlines()[0] if text else type(exc).__name__


def _scrub(text: str, uri: Secret) -> str:
    password = urlsplit(uri.reveal()).password
    for secret in filter(None, {password, unquote(password or "")}):
        text = text.replace(secret, "***")
    return text


def _ident(name: str) -> str:
    if not name.replace("_", "").isalnum():
        raise PostgresServingError(f"invalid PostgreSQL name {name!r}: letters, digits and _")
    return f'"{name}"'


def main(argv: Sequence[str] | None = None, print_: Callable[[str], None] = print) -> int:
    """`python -m pipeline.serve_postgres provision`: create the roles, database and schemas
    with the administrator URL in KOL_SERVING_POSTGRES_ADMIN_URL (and the serving settings above)."""
    from pipeline import config

    args = list(argv if argv is not None else sys.argv[1:])
    if args != ["provision"]:
        print_("usage: python -m pipeline.serve_postgres provision")
        return 2
    settings = config.load()
    admin = os.environ.get("KOL_SERVING_POSTGRES_ADMIN_URL")
    if settings.serving_postgres is None or not admin:
        print_("set KOL_SERVING_POSTGRES_URL and KOL_SERVING_POSTGRES_ADMIN_URL")
        return 2
    provision(Secret(admin), settings.serving_postgres)
    print_(f"provisioned {LOADER}, {BI_READER}, {AUDITOR} on {target(settings.serving_postgres)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
