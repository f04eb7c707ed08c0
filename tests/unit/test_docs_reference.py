"""The metric reference is generated from the dbt YAML, and the repo points only at itself."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _generator():
    path = ROOT / "docs" / "build_metrics_reference.py"
    spec = importlib.util.spec_from_file_location("build_metrics_reference", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_metrics_reference_matches_the_dbt_yaml():
    expected = _generator().render()
    committed = (ROOT / "docs" / "metrics.md").read_text(encoding="utf-8")
    assert committed == expected, "docs/metrics.md is stale: run `make docs-reference`"


def test_every_published_mart_column_is_in_the_reference():
    """A column added to a mart's YAML shows up in the reference, with its description."""
    gen = _generator()
    text = gen.render()
    for path in gen.mart_files():
        for model in gen.load_yaml(path)["models"]:
            assert f"### `{model['name']}`" in text
            for col in model["columns"]:
                assert col.get("description"), f"{model['name']}.{col['name']} has no description"
                assert f"| `{col['name']}` |" in text


def test_a_pipe_in_a_description_does_not_break_the_table():
    assert _generator().one_line("mean |gain|\n  over 30 days") == "mean \\|gain\\| over 30 days"


# Files outside the repository that a clone does not have: the repo's own docs replace them.
OUTSIDE = re.compile(r"\.\./shared|\b(METRICS|ARCHITECTURE|PLATFORM_APIS|STYLE)\.md\b")


def test_no_tracked_file_points_outside_the_repository():
    tracked = (
        subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True)
        .stdout.decode()
        .split("\0")
    )
    this = Path(__file__).resolve().relative_to(ROOT).as_posix()
    offenders = []
    for name in tracked:
        path = ROOT / name
        if not name or name == this or not path.is_file():
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            continue  # binary
        offenders += [
            f"{name}:{n}: {line.strip()}"
            for n, line in enumerate(text.splitlines(), 1)
            if OUTSIDE.search(line)
        ]
    assert not offenders, "point at docs/ instead:\n" + "\n".join(offenders)


# Where the product reads settings (tests and the bench set their own).
PRODUCT = (
    "ingestion",
    "pipeline",
    "expectations",
    "dags",
    "dbt_project",
    "docker",
    "bi",
    "Makefile",
)
PER_PLATFORM = re.compile(r"KOL_[A-Z]+_(TOKEN|BASE_URL)$")  # KOL_<P>_TOKEN, KOL_<P>_BASE_URL


def test_every_setting_the_code_reads_is_documented():
    """A KOL_* variable the product reads has its row in docs/architecture.md."""
    found = subprocess.run(
        ["git", "grep", "-h", "-o", "-E", r"KOL_[A-Z][A-Z0-9_]*", "--", *PRODUCT],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    documented = (ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    names = {PER_PLATFORM.sub(r"KOL_<P>_\1", name) for name in found}
    missing = sorted(n for n in names if f"`{n}`" not in documented)
    assert not missing, f"document these in docs/architecture.md: {missing}"
