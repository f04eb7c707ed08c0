"""The production compose file and image agree with what the project reads and installs."""

from __future__ import annotations

import re

import pytest
import yaml
from packaging.specifiers import SpecifierSet

from ingestion.records import PLATFORMS

AIRFLOW_SERVICES = {
    "airflow-init",
    "airflow-apiserver",
    "airflow-scheduler",
    "airflow-dag-processor",
    "airflow-triggerer",
}


@pytest.fixture(scope="module")
def compose(repo):
    return yaml.safe_load((repo / "docker" / "compose.yaml").read_text())


# Read by the project but not passed through compose, and why.
NOT_PASSED = {
    "KOL_DBT_PROJECT_DIR": "the image sets it (Dockerfile ENV); an empty value would hide it",
    "KOL_DEMO_DAILY_BUILDS": "`kol demo` only",
    "KOL_RUN_DATE": "set by pipeline/transform.py for each dbt build",
    "KOL_FROM_DATE": "set by pipeline/transform.py for each dbt build",
    "KOL_EXCLUDED_DATES": "set by pipeline/transform.py for each dbt build",
}


def project_env_vars(repo) -> set[str]:
    """Every KOL_* variable the project reads: named in its Python (KOL_{key}_* of
    pipeline/config.py expanded per platform) or in the dbt project's env_var() calls."""
    names: set[str] = set()
    for folder in ("pipeline", "ingestion", "expectations", "dags"):
        for path in (repo / folder).rglob("*.py"):
            names |= set(re.findall(r"[\"'](KOL_[A-Z_]+)[\"']", path.read_text()))
    src = (repo / "pipeline" / "config.py").read_text()
    for suffix in set(re.findall(r"f\"KOL_\{key\}_([A-Z_]+)\"", src)):
        names |= {f"KOL_{p.upper()}_{suffix}" for p in PLATFORMS}
    for path in (repo / "dbt_project").rglob("*.yml"):
        if not {"target", "dbt_packages"} & set(path.parts):
            names |= set(re.findall(r"env_var\(\s*'(KOL_[A-Z_]+)'", path.read_text()))
    return names


def test_the_project_reads_the_documented_variables(repo):
    names = project_env_vars(repo)
    assert {"KOL_HOME", "KOL_ROSTER", "KOL_EXPORTS_DIR", "KOL_INSTAGRAM_USER_ID"} <= names
    assert {"KOL_X_TOKEN", "KOL_TIKTOK_BASE_URL"} <= names
    assert {"KOL_DBT_THREADS", "KOL_EXTRACT_WORKERS", "KOL_SENTIMENT_WORKERS"} <= names


def test_every_airflow_service_runs_the_project_image_with_the_project_env(compose, repo):
    services = compose["services"]
    assert set(services) >= AIRFLOW_SERVICES
    wanted = project_env_vars(repo) - set(NOT_PASSED)
    for name in AIRFLOW_SERVICES | {"airflow-worker"}:
        svc = services[name]
        assert svc["image"] == "${KOL_IMAGE:-kol-warehouse:latest}", name
        assert svc["build"]["dockerfile"] == "docker/Dockerfile"
        env = svc["environment"]
        assert wanted <= set(env), f"{name} lacks {sorted(wanted - set(env))}"
        for var in wanted - {"KOL_HOME"}:
            # from .env, else empty (the project's default) or compose's own default
            assert env[var].startswith(f"${{{var}:-"), f"{name}: {var} is not passed from .env"
        assert env["KOL_HOME"] == "/data/kol"
        assert any(v.endswith(":/data/kol") for v in svc["volumes"])


def test_metadata_db_is_postgres_and_local_executor_is_the_default(compose):
    env = compose["services"]["airflow-scheduler"]["environment"]
    assert env["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"].startswith("postgresql+psycopg2://")
    assert env["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
    assert compose["services"]["postgres"]["image"].startswith("postgres:")
    init = " ".join(compose["services"]["airflow-init"]["command"])
    assert (
        "airflow db migrate" in init and "airflow pools import /opt/kol/docker/pools.json" in init
    )
    assert "passwords.json" in init


def test_celery_parts_only_start_with_the_celery_profile(compose):
    services = compose["services"]
    assert services["redis"]["profiles"] == ["celery"]
    assert services["airflow-worker"]["profiles"] == ["celery"]
    for name in AIRFLOW_SERVICES:
        assert "profiles" not in services[name]
    assert services["airflow-worker"]["command"][:3] == ["airflow", "celery", "worker"]


def test_dockerfile_installs_the_lock_then_the_project_without_deps(repo):
    docker = (repo / "docker" / "Dockerfile").read_text()
    makefile = (repo / "Makefile").read_text()
    assert "-r requirements.lock" in makefile and "--no-deps" in makefile
    lock_at = docker.index("pip install -r requirements.lock")
    project_at = docker.index("pip install --no-deps .")
    assert lock_at < project_at
    assert "COPY requirements.lock" in docker


def test_image_python_satisfies_requires_python(repo):
    import tomllib

    requires = tomllib.loads((repo / "pyproject.toml").read_text())["project"]["requires-python"]
    m = re.search(
        r"^FROM python:(\d+\.\d+)-slim", (repo / "docker" / "Dockerfile").read_text(), re.M
    )
    assert m, "the image must start FROM python:<version>-slim"
    assert SpecifierSet(requires).contains(f"{m.group(1)}.0")


def _pins(path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        if m := re.match(r"^([A-Za-z0-9_.\-\[\]]+)==([^\s;]+)", line):
            out[m.group(1).lower().split("[")[0]] = m.group(2)
    return out


def test_production_extras_are_pinned_within_the_project_lock(repo):
    base = _pins(repo / "requirements.lock")
    prod = _pins(repo / "docker" / "requirements-prod.lock")
    assert {"psycopg2-binary", "apache-airflow-providers-celery"} <= set(prod)
    clash = {k: (base[k], v) for k, v in prod.items() if k in base and base[k] != v}
    assert clash == {}
