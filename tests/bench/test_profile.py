"""The profile summary: which functions hold the CPU, from py-spy's collapsed stacks."""

from __future__ import annotations

import sys

from bench import profile

ROOT = profile.CHECKOUT  # wherever this clone is: its own files are named from its root
STACKS = f"""\
process 11:"python -m pipeline.cli transform; x";main ({ROOT}pipeline/cli.py:10);run_dbt ({ROOT}pipeline/transform.py:20) 6
process 11:"python -m pipeline.cli transform; x";process 12:"python -m dbt.cli.main build";main (dbt/cli/main.py:5);execute (/v/lib/python3.11/site-packages/duckdb/x.py:9) 3
process 11:"python -m pipeline.cli transform; x";process 12:"python -m dbt.cli.main build";main (dbt/cli/main.py:5) 1
"""


def test_shares_are_per_function_across_processes(tmp_path):
    f = tmp_path / "p.collapsed.txt"
    f.write_text(STACKS)
    text = profile.summarise(f)
    assert text.startswith("10 CPU samples")
    # self time: run_dbt 6/10, duckdb execute 3/10, dbt main 1/10
    assert " 60.0%  pipeline/transform.py:run_dbt" in text
    assert " 30.0%  duckdb/x.py:execute" in text
    assert " 10.0%  dbt/cli/main.py:main" in text
    # the ';' inside a process's command line does not split it; a child is its own process
    assert '60.0%  process 11:"python -m pipeline.cli transform; x"' in text
    assert '40.0%  process 12:"python -m dbt.cli.main build"' in text
    assert "dbt phases" not in text  # no dbt runner in these stacks
    project = text.split("inclusive, project code only:")[1].split("inclusive, everything:")[0]
    assert "pipeline/cli.py:main" in project and "dbt/cli" not in project


def test_without_py_spy_the_kol_process_runs_under_pyinstrument(tmp_path, monkeypatch):
    monkeypatch.setattr(profile, "py_spy", lambda: None)
    kol = ["/venv/bin/kol"]
    argv, out = profile.wrap([*kol, "gate", "--date", "2026-11-20"], kol, tmp_path / "t")
    assert argv[:3] == [sys.executable, "-m", "pyinstrument"]
    assert argv[-5:] == ["-m", "pipeline.cli", "gate", "--date", "2026-11-20"]
    assert out.name == "t.pyinstrument.txt"
