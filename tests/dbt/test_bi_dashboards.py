"""`make bi` end to end: real dbt marts -> PostgreSQL -> Superset with the repo's dashboards,
each dashboard loaded in headless Chromium and every chart checked for data (slow: Superset
migrates its metadata database on the first run, several minutes)."""

from __future__ import annotations

import json
import os
import queue
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import duckdb
import pytest
import requests
from chromium_session import Browser

from pipeline.bi_stack import SLUGS
from pipeline.publish import publish
from pipeline.published import PUBLISHED_TABLES
from pipeline.transform import DbtResult

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
# Every chart of the page once none is loading: its error tiles, "no results" notice, drawn
# ECharts canvases and table rows.
CHART_STATES = """(() => {
  const holders = Array.from(document.querySelectorAll('.dashboard-component-chart-holder'));
  if (holders.length === 0) return null;
  const states = holders.map(h => ({
    text: (h.innerText || '').slice(0, 80),
    errors: h.querySelectorAll('[role="alert"], .alert-danger, [data-test="error-message"]').length,
    empty: /No results were returned/i.test(h.innerText || ''),
    loading: h.querySelectorAll('.loading, [data-test="loading-indicator"]').length,
    canvases: h.querySelectorAll('[_echarts_instance_] canvas').length,
    rows: h.querySelectorAll('table tbody tr').length,
  }));
  const settled = s => s.errors || s.empty || (!s.loading && (s.canvases || s.rows));
  return states.every(settled) ? JSON.stringify(states) : null;
})()"""


def _lines(stream, out: queue.Queue) -> None:
    for line in stream:
        out.put(line)


def _until(lines: queue.Queue, marker: str, proc: subprocess.Popen, timeout: float) -> str:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            assert proc.poll() is None, "make bi exited early:\n" + "".join(seen)
            continue
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} within {timeout:.0f}s:\n" + "".join(seen))


def _login(url: str, password: str) -> str:
    session = requests.Session()
    page = session.get(f"{url}/login/", timeout=30).text
    token = re.search(r'csrf_token[^>]*value="([^"]+)"', page).group(1)
    reply = session.post(
        f"{url}/login/",
        data={"username": "admin", "password": password, "csrf_token": token},
        allow_redirects=False,
        timeout=30,
    )
    assert reply.status_code == 302, "Superset refused the printed login"
    return session.cookies["session"]


def test_make_bi_dashboards_answer_the_questions_with_data(
    built_home: tuple[Path, DbtResult], tmp_path: Path, artifacts: Path
) -> None:
    subprocess.run(["make", "-s", "bi-venv"], cwd=REPO, check=True)  # installs, or fails
    dbt_home, result = built_home
    assert result.ok, result.failures
    home = Path(tempfile.mkdtemp(prefix="kol-bi-dashboards-"))  # reachable by postgres
    home.chmod(0o755)
    proc = None
    try:
        marts = publish(dbt_home / "warehouse.duckdb", home / "serving", PUBLISHED_TABLES).path
        duck = duckdb.connect(str(marts), read_only=True)
        names = [r[0] for r in duck.execute("SELECT display_name FROM dim_creators").fetchall()]
        campaigns = [
            r[0]
            for r in duck.execute(
                "SELECT name || ' (' || campaign_id || ')' FROM campaign_summary"
            ).fetchall()
        ]
        duck.close()
        env = {k: v for k, v in os.environ.items() if not k.startswith("KOL_")}
        proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.bi_stack"],
            cwd=REPO,
            env={**env, "KOL_HOME": str(home)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        lines: queue.Queue = queue.Queue()
        reader = threading.Thread(target=_lines, args=(proc.stdout, lines), daemon=True)
        reader.start()
        text = _until(lines, "Ctrl-C stops it", proc, timeout=1200)
        url, password = re.search(r"Superset (http://\S+)\s+login admin / (\S+)", text).groups()

        cookie = _login(url, password)
        filters = requests.get(
            f"{url}/api/v1/dashboard/creator-performance", cookies={"session": cookie}, timeout=30
        ).json()["result"]["json_metadata"]
        assert [f["name"] for f in json.loads(filters)["native_filter_configuration"]] == [
            "Platform",
            "Tier",
        ]
        browser = Browser()
        pages = {}
        try:
            browser.set_cookie(url, "session", cookie)
            for slug in SLUGS:
                browser.open(f"{url}/superset/dashboard/{slug}/")
                states = json.loads(browser.wait_for(CHART_STATES, timeout=180))
                browser.screenshot(artifacts / f"{slug}.png")
                pages[slug] = browser.evaluate("document.body.innerText")
                for state in states:
                    assert state["errors"] == 0 and not state["empty"], (slug, state)
                    assert state["canvases"] or state["rows"], (slug, state)
        finally:
            browser.close()
        # Names, not ids; a campaign labelled by its name and id.
        assert any(n in pages["creator-performance"] for n in names)
        assert any(n in pages["brand-fit"] for n in names)
        assert all(c in pages["campaign-returns"] for c in campaigns)

        os.killpg(proc.pid, signal.SIGINT)
        assert proc.wait(timeout=120) == 0
        reader.join(timeout=30)  # the output up to the end
        rest = "".join(lines.get() for _ in range(lines.qsize()))
        assert "Superset stopped" in rest and "PostgreSQL stopped" in rest, rest
        leftovers = subprocess.run(
            ["pgrep", "-f", str(home)], capture_output=True, text=True, check=False
        ).stdout.split()
        assert leftovers == [], f"orphaned processes: {leftovers}"
    finally:
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)
