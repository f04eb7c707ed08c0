"""A kill -9 mid-extract leaves no partial file visible, and the next run completes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from ingest_helpers import extract_tiktok

pytestmark = pytest.mark.integration

D = date(2026, 11, 24)
REPO = Path(__file__).resolve().parents[2]

HERE = Path(__file__).resolve().parent
SCRIPT = (
    "import sys; from pathlib import Path; "
    f"sys.path.insert(0, {str(HERE)!r}); from ingest_helpers import extract_tiktok; "
    "extract_tiktok(Path(sys.argv[1]), sys.argv[2], sys.argv[3])"
)


def spawn(home: Path, run_id: str, faults: str = "") -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(home), run_id, faults],
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def visible(root: Path) -> list[Path]:
    """What a reader's globs can see: data files, never hidden temporaries."""
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.name.startswith("."))


def test_kill_9_mid_extract_leaves_only_complete_files_and_the_next_run_completes(tmp_path):
    root = tmp_path / "landing"
    assert extract_tiktok(tmp_path, "r0")["status"] in ("ok", "partial")
    before = {p: p.read_bytes() for p in visible(root)}
    assert any(p.suffix == ".parquet" for p in before)

    killed = spawn(tmp_path, "r1", "slow=1,slow_seconds=0.15")
    deadline = time.time() + 60
    while time.time() < deadline and not list(
        root.glob("raw/platform=tiktok/endpoint=*/dt=*/run=r1/.*.tmp")
    ):
        time.sleep(0.05)
    time.sleep(0.5)  # a few more pages mid-write
    os.kill(killed.pid, signal.SIGKILL)
    killed.wait(timeout=10)
    assert killed.returncode == -signal.SIGKILL

    # readers see exactly the files of the complete run, byte for byte
    assert {p: p.read_bytes() for p in visible(root)} == before
    assert list(root.rglob(".*.tmp"))  # the killed run only left hidden temporaries
    for path in before:
        if path.suffix == ".parquet":
            pq.read_table(path)  # complete and readable

    assert extract_tiktok(tmp_path, "r2")["run_id"] == "r2"
    manifest = (root / "manifests" / f"dt={D}" / "tiktok.json").read_text()
    assert '"run_id": "r2"' in manifest
    assert not list(root.rglob(".*.tmp")) or all(
        "run=r1" not in str(p) for p in root.rglob(".*.tmp")
    )
    parts = sorted(
        p.name for p in (root / "records" / "posts" / "platform=tiktok" / f"dt={D}").iterdir()
    )
    assert parts == ["part-0.parquet"]
    assert not list(root.glob("raw/platform=tiktok/endpoint=*/dt=*/run=r1"))
