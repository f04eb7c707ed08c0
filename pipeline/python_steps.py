"""The dbt Python models as engine-neutral pipeline steps: Parquet in, Parquet out.

dbt runs a Python model only where its adapter can (dbt-duckdb, inside the dbt process;
dbt-spark, on Databricks alone), so a Spark build (docs/architecture.md "Running on Spark")
runs them here, in the transform's own process. Each model's own `model(dbt, session)` gets an
in-memory DuckDB `session` and a `dbt` object that does what dbt-duckdb's does:
- `dbt.ref(name)`: a DuckDB relation over that parent's Parquet folder (as the Spark build
  exported it, or as an earlier step wrote it); Spark's instants back to naive UTC timestamps;
- `dbt.config.get(key)`: the model's dbt config (its YAML `config:`, vars rendered by dbt);
- `dbt.is_incremental` / `dbt.this`: the model's previous output, when its materialization is
  incremental, it has one and the build is no full refresh;
then the result is merged with that output as dbt-duckdb merges it (`append`, or
`delete+insert` on `unique_key`), the model's post-hooks run on it, and the table is written
as Parquet to `<home>/spark/python/<model>/`, which the Spark build registers as the table
`ref()` names there and hands over to warehouse.duckdb. The model code is the one DuckDB's
dbt runs, so the rows are the ones a DuckDB build gives.

`plan_waves` orders a selection of the project's DAG into waves (SQL models dbt builds, then
the Python models whose parents are all built), so SQL downstream of a Python model builds
after it.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import re
import shutil
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import duckdb

from pipeline.spark_handover import select_list

OUTPUT_DIR = Path("spark") / "python"
RESULT_VIEW = "kol_step_result"
BUILDABLE = ("model", "seed", "snapshot")
THIS = re.compile(r"\{\{\s*this\s*\}\}")


def output_dir(home: Path) -> Path:
    """Where the Python steps write their tables: one Parquet folder per model."""
    return Path(home) / OUTPUT_DIR


@dataclass(frozen=True)
class Node:
    """A model, seed or snapshot of the dbt manifest, as the steps and the plan need it."""

    name: str
    language: str
    path: Path  # the model's file
    parents: tuple[str, ...]  # names of the models, seeds and snapshots it refs
    config: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_python(self) -> bool:
        return self.language == "python"


@dataclass(frozen=True)
class Wave:
    """SQL nodes for one dbt build, then the Python models that can run after it."""

    sql: tuple[str, ...]
    python: tuple[str, ...]


def load_nodes(manifest: Path, project_dir: Path) -> dict[str, Node]:
    """The project's models, seeds and snapshots of a dbt manifest.json, by name."""
    nodes = json.loads(Path(manifest).read_text())["nodes"]
    ours = {
        uid: n
        for uid, n in nodes.items()
        if n["resource_type"] in BUILDABLE and n["package_name"] == uid.split(".")[1]
    }
    return {
        n["name"]: Node(
            name=n["name"],
            language=n.get("language") or "sql",
            path=Path(project_dir) / n["original_file_path"],
            parents=tuple(ours[p]["name"] for p in n["depends_on"].get("nodes", []) if p in ours),
            config=n["config"],
        )
        for n in ours.values()
    }


def _descendants(nodes: Mapping[str, Node], roots: set[str]) -> set[str]:
    children: dict[str, set[str]] = {}
    for node in nodes.values():
        for parent in node.parents:
            children.setdefault(parent, set()).add(node.name)
    seen, todo = set(roots), list(roots)
    while todo:
        for child in children.get(todo.pop(), ()):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return seen


def plan_waves(nodes: Mapping[str, Node], selected: set[str]) -> list[Wave]:
    """The selected nodes in build order: each wave's SQL nodes have no selected Python model
    still to run among their ancestors; its Python models have every selected ancestor built
    by then. Nodes outside the selection count as built (their tables stay as they are)."""
    pending = set(selected)
    waves = []
    while pending:
        waiting = _descendants(nodes, {n for n in pending if nodes[n].is_python})
        sql = pending - waiting
        left = pending - sql
        python = {
            n for n in left if nodes[n].is_python and not (_ancestors(nodes, n) & (left - {n}))
        }
        if not sql and not python:
            raise ValueError(f"no order builds {sorted(pending)}")
        waves.append(Wave(tuple(sorted(sql)), tuple(sorted(python))))
        pending = left - python
    return waves


def _ancestors(nodes: Mapping[str, Node], name: str) -> set[str]:
    seen: set[str] = set()
    todo = list(nodes[name].parents)
    while todo:
        parent = todo.pop()
        if parent not in seen and parent in nodes:
            seen.add(parent)
            todo.extend(nodes[parent].parents)
    return seen


# --- one step ------------------------------------------------------------------------------


class StepConfig:
    """`dbt.config`: calling it does nothing (dbt reads the model's config() call when it
    parses the project); `get` answers from the model's parsed config."""

    def __init__(self, values: Mapping[str, Any]) -> None:
        self._values = dict(values)

    def __call__(self, *args: Any, **kwargs: Any) -> str:
        return ""

    def get(self, key: str, default: Any = None) -> Any:
        return self._values.get(key, default)


@dataclass
class StepDbt:
    """The `dbt` argument of a Python model's `model(dbt, session)`, engine-neutral."""

    session: duckdb.DuckDBPyConnection
    config: StepConfig
    this: str
    is_incremental: bool

    def ref(self, *names: str, **_: Any) -> duckdb.DuckDBPyRelation:
        return self.session.table(_quoted(names[-1]))

    def source(self, *names: str) -> Any:
        raise NotImplementedError("a Python step reads models (dbt.ref), not sources")


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _parquet(folder: Path) -> str:
    return str(Path(folder) / "*.parquet").replace("'", "''")


def _read_folder(con: duckdb.DuckDBPyConnection, folder: Path) -> str:
    files = _parquet(folder)
    return f"select {select_list(con, files)} from read_parquet('{files}')"


def _load_module(node: Node) -> ModuleType:
    """The model's file as a module; its imports (kol_matching, kol_sentiment) come from the
    project's python/ folder, as profiles.yml `module_paths` gives them to dbt."""
    project = next((p for p in node.path.parents if (p / "dbt_project.yml").is_file()), None)
    modules = str(project / "python") if project else None
    if modules and modules not in sys.path:
        sys.path.insert(0, modules)
    spec = importlib.util.spec_from_file_location(f"kol_step_{node.name}", node.path)
    if spec is None or spec.loader is None:
        raise ValueError(f"{node.name}: cannot load {node.path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    """The build's settings (KOL_RUN_DATE, KOL_FROM_DATE, ...) in os.environ while a model
    runs: the models read them there, as they do inside dbt."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _unique_key(config: Mapping[str, Any]) -> list[str]:
    key = config.get("unique_key")
    names = key.split(",") if isinstance(key, str) else list(key or [])
    return [n.strip() for n in names if n.strip()]


def _merge(con: duckdb.DuckDBPyConnection, node: Node, this: str, incremental: bool) -> None:
    """The model's result into `this`, as dbt-duckdb's materializations put it there."""
    if not incremental:
        con.execute(f"create or replace table {this} as select * from {RESULT_VIEW}")
        return
    if node.config.get("on_schema_change") == "append_new_columns":
        have = {r[0] for r in con.execute(f"describe {this}").fetchall()}
        for name, kind, *_ in con.execute(f"describe {RESULT_VIEW}").fetchall():
            if name not in have:
                con.execute(f"alter table {this} add column {_quoted(name)} {kind}")
    strategy = node.config.get("incremental_strategy") or "append"
    if strategy == "delete+insert":
        key = _unique_key(node.config)
        if not key:
            raise ValueError(f"{node.name}: delete+insert needs a unique_key")
        matches = " and ".join(f"r.{_quoted(k)} = t.{_quoted(k)}" for k in key)
        con.execute(
            f"delete from {this} as t where exists "
            f"(select 1 from {RESULT_VIEW} as r where {matches})"
        )
    elif strategy != "append":
        raise ValueError(f"{node.name}: incremental_strategy {strategy!r} is not supported")
    con.execute(f"insert into {this} by name select * from {RESULT_VIEW}")


def _hooks(node: Node, kind: str, this: str) -> list[str]:
    """The model's hooks as SQL on its table; a hook with Jinja beyond `{{ this }}` is refused
    (only dbt renders it)."""
    out = []
    for hook in node.config.get(kind) or []:
        sql = THIS.sub(this, hook["sql"] if isinstance(hook, dict) else str(hook))
        if "{{" in sql or "{%" in sql:
            raise ValueError(f"{node.name}: a Python step runs {kind}s with {{{{ this }}}} only")
        out.append(sql)
    return out


def _publish(con: duckdb.DuckDBPyConnection, this: str, output: Path) -> None:
    """The table as Parquet in `output`, swapped in whole: the new folder is written beside it
    and renamed over; a crash between the two renames leaves `<output>.old`, which
    `_previous` takes back. Naive timestamps are written as UTC instants, as Spark writes them."""
    staging = output.with_name(output.name + ".new")
    old = output.with_name(output.name + ".old")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    columns = con.execute(f"describe {this}").fetchall()
    select = ", ".join(
        f"timezone('UTC', {_quoted(name)}) as {_quoted(name)}"
        if kind == "TIMESTAMP"
        else _quoted(name)
        for name, kind, *_ in columns
    )
    target = str(staging / "part-0.parquet").replace("'", "''")
    con.execute(f"copy (select {select} from {this}) to '{target}' (format parquet)")
    shutil.rmtree(old, ignore_errors=True)
    if output.exists():
        output.rename(old)
    staging.rename(output)
    shutil.rmtree(old, ignore_errors=True)


def _previous(output: Path) -> Path | None:
    old = output.with_name(output.name + ".old")
    if not output.exists() and old.is_dir():
        old.rename(output)
    return output if any(output.glob("*.parquet")) else None


def run_step(
    node: Node,
    inputs: Mapping[str, Path],
    output: Path,
    *,
    full_refresh: bool = False,
    env: Mapping[str, str] | None = None,
) -> int:
    """Run one Python model: its parents' Parquet folders (`inputs`, by name) in, its table
    out to `output`; returns the table's rows. Raises ValueError naming a missing parent."""
    missing = [p for p in node.parents if p not in inputs or not any(inputs[p].glob("*.parquet"))]
    if missing:
        raise ValueError(f"{node.name}: no Parquet for {', '.join(sorted(missing))}")
    if node.config.get("pre-hook"):
        raise ValueError(f"{node.name}: a Python step runs no pre-hooks")
    output = Path(output)
    previous = _previous(output)
    incremental = (
        node.config.get("materialized") == "incremental"
        and previous is not None
        and not full_refresh
    )
    this = _quoted(node.name)
    con = duckdb.connect()
    try:
        con.execute("set TimeZone = 'UTC'")
        for parent in node.parents:
            con.execute(f"create view {_quoted(parent)} as {_read_folder(con, inputs[parent])}")
        if incremental:
            con.execute(f"create table {this} as {_read_folder(con, previous)}")
        dbt = StepDbt(con, StepConfig(node.config), this, incremental)
        with _environment(env or {}):
            result = _load_module(node).model(dbt, con)
        if isinstance(result, duckdb.DuckDBPyRelation):
            result.create_view(RESULT_VIEW)
        else:
            con.register(RESULT_VIEW, result)
        _merge(con, node, this, incremental)
        for sql in _hooks(node, "post-hook", this):
            con.execute(sql)
        _publish(con, this, output)
        return con.execute(f"select count(*) from {this}").fetchone()[0]
    finally:
        con.close()
