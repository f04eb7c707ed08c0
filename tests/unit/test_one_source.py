"""Each fact lives once: the platform list, the published mart schema, the API field maps.

Every other place that needs one of them derives it from its source or is checked here.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import yaml

from expectations.marts import MARTS, RELATIONSHIPS
from ingestion.platforms import get_platform
from ingestion.records import API_ENTITIES, COMMON, PLATFORMS, api_schema
from pipeline.published import PUBLISHED_SCHEMA, PUBLISHED_TABLES, read_contracts

REPO = Path(__file__).resolve().parents[2]
DBT = REPO / "dbt_project"
# The only places the platform list is written out: Python, dbt, and the sandbox (a stand-in
# for the platforms that shares no code with production; its world is seeded in this order).
LIST_HOMES = {"ingestion/records.py", "dbt_project/dbt_project.yml", "sandbox/profiles.py"}
SOURCE_DIRS = ("bench", "bi", "dags", "dbt_project", "docker", "expectations", "ingestion")
SOURCE_DIRS += ("pipeline", "sandbox")


def _source_files() -> list[Path]:
    files = [p for d in SOURCE_DIRS for p in (REPO / d).rglob("*") if p.is_file()]
    return [
        p
        for p in files
        if p.suffix in {".py", ".sql", ".yml", ".yaml", ".json"}
        and "results" not in p.relative_to(REPO).parts
        and "target" not in p.relative_to(REPO).parts
    ]


def _spells_out_the_platforms(text: str) -> bool:
    words = re.findall(r"[a-z_]+", text)
    n = len(PLATFORMS)
    return any(tuple(words[i : i + n]) == PLATFORMS for i in range(len(words) - n + 1))


def test_the_platform_list_is_written_once_in_python_and_once_in_dbt() -> None:
    dbt_vars = yaml.safe_load((DBT / "dbt_project.yml").read_text())["vars"]
    assert tuple(dbt_vars["platforms"]) == PLATFORMS
    spelled = {
        str(p.relative_to(REPO))
        for p in _source_files()
        if _spells_out_the_platforms(p.read_text())
    }
    assert spelled == LIST_HOMES


def test_the_list_finder_sees_a_copy_in_any_quoting() -> None:
    assert _spells_out_the_platforms(
        "{% set ps = ['instagram', 'facebook', 'tiktok', 'youtube', 'x'] %}"
    )
    assert _spells_out_the_platforms("values: [instagram, facebook, tiktok, youtube, x]")
    assert not _spells_out_the_platforms('{"instagram": "ig", "facebook": "fb", "tiktok": "t"}')


def test_per_platform_files_exist_for_exactly_the_platforms() -> None:
    import sandbox.world
    from pipeline.config import DEFAULT_BASE_URLS
    from sandbox.server import PREFIXES

    staging = {p.name for p in (DBT / "models" / "staging").iterdir() if p.is_dir()}
    assert staging - {"exports"} == set(PLATFORMS)
    modules = {p.stem for p in (REPO / "ingestion" / "platforms").glob("*.py")}
    assert set(PLATFORMS) <= modules
    assert [get_platform(p).name for p in PLATFORMS] == list(PLATFORMS)
    assert set(DEFAULT_BASE_URLS) == set(PLATFORMS)
    assert sandbox.world.PLATFORMS == PLATFORMS
    assert set(PREFIXES) == set(PLATFORMS)


def test_per_platform_seed_rows_are_one_per_platform() -> None:
    with (DBT / "seeds" / "emv_rate_card.csv").open() as f:
        rows = [r["platform"] for r in csv.DictReader(f)]
    assert sorted(rows) == sorted(PLATFORMS)


def test_airflow_pools_are_one_per_platform_plus_the_warehouse() -> None:
    pools = json.loads((REPO / "docker" / "pools.json").read_text())
    assert set(pools) == {f"kol_{p}" for p in PLATFORMS} | {"kol_warehouse"}


def test_dbt_sources_read_the_entities_each_platform_lands() -> None:
    for platform in PLATFORMS:
        path = DBT / "models" / "staging" / platform / f"_{platform}__sources.yml"
        (source,) = yaml.safe_load(path.read_text())["sources"]
        assert source["name"] == platform
        tables = {t["name"] for t in source["tables"]}
        assert tables == set(get_platform(platform).fields), platform
        for table in source["tables"]:
            location = table["config"]["external_location"]
            assert f"/{table['name']}/platform={platform}/" in location


# --- the published mart schema -----------------------------------------------------------


def test_published_tables_are_the_marts_with_their_contracts() -> None:
    models = {p.stem for p in (DBT / "models" / "marts").rglob("*.sql")}
    assert set(PUBLISHED_TABLES) == models
    assert set(MARTS) == set(PUBLISHED_TABLES)  # the gate has rules for every published table


def test_gate_rules_name_only_contract_columns() -> None:
    for mart in MARTS.values():
        contract = PUBLISHED_SCHEMA[mart.name]
        named = {*mart.key, *mart.ranges, *mart.accepted, *mart.not_null}
        named |= {mart.platform_column} if mart.platform_column else set()
        assert named <= set(contract), (mart.name, named - set(contract))
        assert mart.columns.keys() == contract.keys()
    for child, child_cols, parent, parent_cols in RELATIONSHIPS:
        assert set(child_cols) <= set(PUBLISHED_SCHEMA[child])
        assert set(parent_cols) <= set(PUBLISHED_SCHEMA[parent])


def test_gate_type_families_follow_the_contract_types() -> None:
    scorecard = MARTS["creator_scorecard"].columns
    assert scorecard["creator_id"] == ("text",)
    assert scorecard["followers"] == ("integer",)
    assert scorecard["as_of_date"] == ("date",)
    assert scorecard["engagement_rate"] == ("integer", "decimal", "float")  # double: any number


def test_a_mart_without_an_enforced_contract_is_refused(tmp_path: Path) -> None:
    (tmp_path / "m.yml").write_text(
        "models:\n  - name: m\n    columns:\n      - {name: a, data_type: varchar}\n"
    )
    try:
        read_contracts(tmp_path)
    except ValueError as exc:
        assert "no enforced contract" in str(exc)
    else:
        raise AssertionError("a mart without a contract was accepted")


# --- API field maps ------------------------------------------------------------------------


def test_every_section_builds_its_entity_with_the_platforms_one_field_map() -> None:
    for platform in PLATFORMS:
        impl = get_platform(platform)
        for endpoint, spec in impl.specs.items():
            for section in spec.sections:
                assert section.fields is impl.fields[section.entity], (platform, endpoint)
        assert set(impl.fields) <= set(API_ENTITIES)


def test_record_schemas_start_with_the_common_columns() -> None:
    for platform in PLATFORMS:
        for entity in get_platform(platform).fields:
            schema = api_schema(entity, platform)
            assert [(f.name, f.type) for f in schema][: len(COMMON)] == COMMON


def test_comments_have_one_schema_on_every_platform() -> None:
    # dbt's stg_comments macro reads every platform's comments the same way
    schemas = {p: api_schema("comments", p) for p in PLATFORMS}
    assert all(s.equals(schemas["instagram"]) for s in schemas.values())
