"""Profile one measured command: py-spy when installed (every thread and every child process,
so dbt's worker threads and its subprocess are seen), else pyinstrument (main thread of the
`kol` process only). A py-spy profile is summarised into the functions that hold the CPU.

py-spy is not in requirements.lock: `.venv/bin/uv pip install --python .venv/bin/python py-spy`.
"""

from __future__ import annotations

import re
import shutil
import sys
from collections import Counter
from pathlib import Path

# this checkout's root: frames of its files are shown from there (`pipeline/cli.py:main`)
CHECKOUT = f"{Path(__file__).resolve().parents[1]}/"
_FRAME = re.compile(r"^(?P<func>.*) \((?P<file>[^()]*?)(?::\d+)?\)$")
PROJECT_DIRS = ("ingestion/", "pipeline/", "expectations/", "bench/")
# dbt's phases, by the function each one runs under (shown when a profile contains dbt).
DBT_PHASES = {
    "data tests": "TestRunner.execute_data_test",
    "unit tests": "TestRunner.execute_unit_test",
    "models (SQL and Python)": "ModelRunner.execute",
    "python models": "submit_python_job",
    "seeds": "SeedRunner",
    "parsing the project": "ManifestLoader.load",
}


def py_spy() -> str | None:
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def wrap(argv: list[str], kol: list[str], out: Path) -> tuple[list[str], Path]:
    """`argv` run under the profiler; returns (new argv, the file the profiler writes)."""
    spy = py_spy()
    if spy:
        raw = out.with_suffix(".collapsed.txt")
        cmd = [spy, "record", "-o", str(raw), "-f", "raw", "--subprocesses", "--rate", "200"]
        return [*cmd, "--", *argv], raw
    text = out.with_suffix(".pyinstrument.txt")
    py = [sys.executable, "-m", "pyinstrument", "-r", "text", "--show-all", "-o", str(text)]
    if argv[: len(kol)] == kol:
        return [*py, "-m", "pipeline.cli", *argv[len(kol) :]], text
    if argv[:2] == [sys.executable, "-m"]:
        return [*py, "-m", *argv[2:]], text
    return argv, text


def _frame(raw: str) -> str:
    """`func (path/to/file.py:12)` -> `file.py:func`, shortened to the package path."""
    m = _FRAME.match(raw.strip())
    if not m:
        return raw.strip()
    path = m.group("file")
    for marker in ("site-packages/", CHECKOUT, "lib/python3.11/"):
        if marker in path:
            path = path.split(marker, 1)[1]
    return f"{path}:{m.group('func')}"


def summarise(collapsed: Path, top: int = 25) -> str:
    """Self and inclusive sample shares per function, per process, from py-spy's raw output."""
    self_c: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    procs: Counter[str] = Counter()
    phases: Counter[str] = Counter()
    total = 0
    for line in collapsed.read_text(errors="replace").splitlines():
        stack, _, n = line.rpartition(" ")
        if not stack or not n.isdigit():
            continue
        count = int(n)
        proc = ""
        while stack.startswith("process "):  # `process PID:"cmd";[process CHILD:"cmd";]frame...`
            end = stack.find('";')
            proc = stack[: end + 1] if end > 0 else stack
            stack = stack[end + 2 :] if end > 0 else ""
        frames = [f for f in stack.split(";") if f]
        if not frames:
            continue
        if proc:
            procs[proc[:110]] += count
        names = [_frame(f) for f in frames]
        total += count
        for phase, marker in DBT_PHASES.items():
            if marker in stack:
                phases[phase] += count
        self_c[names[-1]] += count
        for name in set(names):
            incl[name] += count
    if not total:
        return f"{collapsed}: no samples"

    def pct(c: int) -> str:
        return f"{100 * c / total:5.1f}%"

    out = [f"{total} CPU samples (py-spy, all threads and child processes)", "", "by process:"]
    out += [f"  {pct(c)}  {p}" for p, c in procs.most_common(8)]
    if phases:
        out += ["", "dbt phases:"]
        out += [f"  {pct(phases[p])}  {p}" for p in DBT_PHASES if phases[p]]
    out += ["", "self time (where the CPU is):"]
    out += [f"  {pct(c)}  {f}" for f, c in self_c.most_common(top)]
    out += ["", "inclusive, project code only:"]
    ours = [(f, c) for f, c in incl.most_common() if f.startswith(PROJECT_DIRS)]
    out += [f"  {pct(c)}  {f}" for f, c in ours[:top]]
    out += ["", "inclusive, everything:"]
    out += [f"  {pct(c)}  {f}" for f, c in incl.most_common(top)]
    return "\n".join(out)
