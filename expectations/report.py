"""A self-contained gate report page next to GX's Data Docs: `quality/data_docs/gate_runs.html`.

GX's Data Docs load Bootstrap, jQuery and bootstrap-table from CDNs and fill the index with
JavaScript, so on an offline machine (or a locked-down auditor's browser) the index is blank.
These pages need nothing external: `gate_runs.html` lists every gate run, its verdict and each
failing expectation with table, column and observed value; `gate_run_<run_id>.html` shows
every expectation that run evaluated with its outcome. Both open from `file://` offline.
Each run's facts are kept as JSON in `quality/gx/runs/` and the index is re-rendered from all.
"""

from __future__ import annotations

import html
import json
import os
from pathlib import Path
from typing import Any

RUNS_DIR = ("gx", "runs")
PAGE = "gate_runs.html"
RUN_PAGE = "gate_run_{run_id}.html"

_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:24px;color:#1f2933}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 6px}
p.note{color:#52606d;margin:0 0 16px}
table{border-collapse:collapse;margin:6px 0 12px;font-size:14px}
th,td{border:1px solid #d9e2ec;padding:5px 9px;text-align:left;vertical-align:top}
th{background:#f0f4f8} .pass{color:#0b7a3e;font-weight:600} .fail{color:#b42318;font-weight:600}
code{background:#f5f7fa;padding:1px 4px;border-radius:3px} a{color:#1a56db}
"""


def write_run(quality_dir: Path, record: dict[str, Any]) -> Path:
    """Store one run's facts (atomically) and re-render the page; returns the page path."""
    folder = quality_dir.joinpath(*RUNS_DIR)
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{record['run_id']}.json"
    tmp = folder / f".tmp-{record['run_id']}.json"
    tmp.write_text(json.dumps(record, indent=1, sort_keys=True, default=str))
    os.replace(tmp, target)
    if "expectations" in record:
        _write_page(
            quality_dir / "data_docs" / RUN_PAGE.format(run_id=record["run_id"]),
            f"Quality gate run {record['run_id']}",
            _run_page(record),
        )
    return render(quality_dir)


def read_runs(quality_dir: Path) -> list[dict[str, Any]]:
    """Every stored gate run, newest first."""
    folder = quality_dir.joinpath(*RUNS_DIR)
    runs = [json.loads(p.read_text()) for p in folder.glob("*.json") if not p.name.startswith(".")]
    return sorted(runs, key=lambda r: r.get("finished_at", ""), reverse=True)


def render(quality_dir: Path) -> Path:
    """Write gate_runs.html from every stored run, newest first."""
    runs = read_runs(quality_dir)
    body = [
        "<h1>KOL warehouse — quality gate runs</h1>",
        '<p class="note">Every gate run, newest first; a run\'s link lists every expectation it '
        "evaluated. A failed run was not published: the previous marts stayed in place. These "
        "pages need no internet; GX's own <a href='index.html'>Data Docs</a> load their "
        "styling from CDNs.</p>",
        _runs_table(runs),
    ]
    body += [_run_section(r) for r in runs]
    return _write_page(quality_dir / "data_docs" / PAGE, "Quality gate runs", "".join(body))


def _write_page(page: Path, title: str, body: str) -> Path:
    """One self-contained HTML page (inline CSS, no script), written atomically."""
    page.parent.mkdir(parents=True, exist_ok=True)
    tmp = page.with_name(f".tmp-{page.name}")
    tmp.write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>{_e(title)}</title>"
        f"<style>{_CSS}</style></head><body>{body}</body></html>"
    )
    os.replace(tmp, page)
    return page


def _run_page(run: dict[str, Any]) -> str:
    """Every expectation of one run, failures first, then by suite."""
    outcomes = sorted(run["expectations"], key=lambda o: (o["success"], o["suite"]))
    rows = "".join(
        f"<tr><td>{_verdict(o['success'])}</td><td>{_e(o['suite'])}</td>"
        f"<td><code>{_e(o['expectation_type'])}</code></td>"
        f"<td>{_e(o['table'])}{'.' + _e(o['column']) if o.get('column') else ''}</td>"
        f"<td><code>{_e(json.dumps(o['observed_value'], default=str))}</code></td>"
        f"<td>{_e(o['message'])}</td></tr>"
        for o in outcomes
    )
    failed = sum(1 for o in outcomes if not o["success"])
    return (
        f"<h1>Quality gate run {_e(run['run_id'])} — {_e(run['run_date'])} "
        f"{_verdict(run['passed'])}</h1>"
        f"<p class='note'>{len(outcomes)} expectations, {failed} failed; platforms extracted: "
        f"{_e(', '.join(run.get('extracted_platforms', [])) or 'none')}; finished "
        f"{_e(run.get('finished_at', ''))} UTC. <a href='{PAGE}'>All gate runs</a></p>"
        "<table><tr><th>result</th><th>suite</th><th>expectation</th><th>table.column</th>"
        f"<th>observed</th><th>what was checked</th></tr>{rows}</table>"
    )


def _verdict(passed: bool) -> str:
    return '<span class="pass">PASSED</span>' if passed else '<span class="fail">FAILED</span>'


def _runs_table(runs: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td><a href='{_e(_run_link(r))}'>{_e(r['run_id'])}</a></td>"
        f"<td>{_e(r['run_date'])}</td><td>{_verdict(r['passed'])}</td>"
        f"<td>{r['evaluated']}</td><td>{len(r['failures'])}</td>"
        f"<td>{_e(', '.join(r.get('extracted_platforms', [])))}</td>"
        f"<td>{_e(r.get('finished_at', ''))}</td></tr>"
        for r in runs
    )
    return (
        "<table><tr><th>run</th><th>run date</th><th>gate</th><th>expectations</th>"
        f"<th>failed</th><th>platforms extracted</th><th>finished (UTC)</th></tr>{rows}</table>"
    )


def _run_link(run: dict[str, Any]) -> str:
    """The run's own page when it has one (runs recorded with every outcome), else its section."""
    if "expectations" in run:
        return RUN_PAGE.format(run_id=run["run_id"])
    return f"#run-{run['run_id']}"


def _run_section(run: dict[str, Any]) -> str:
    parts = [
        f"<h2 id='run-{_e(run['run_id'])}'>{_e(run['run_id'])} — {_e(run['run_date'])} "
        f"{_verdict(run['passed'])}</h2>"
    ]
    if run["failures"]:
        rows = "".join(
            f"<tr><td>{_e(f['suite'])}</td><td><code>{_e(f['expectation_type'])}</code></td>"
            f"<td>{_e(f['table'])}{'.' + _e(f['column']) if f.get('column') else ''}</td>"
            f"<td><code>{_e(json.dumps(f['observed_value'], default=str))}</code></td>"
            f"<td>{_e(f['message'])}</td></tr>"
            for f in run["failures"]
        )
        parts.append(
            "<table><tr><th>suite</th><th>expectation</th><th>table.column</th>"
            f"<th>observed</th><th>what was expected</th></tr>{rows}</table>"
        )
    links = " · ".join(
        f"<a href='{_e(path)}'>{_e(suite)}</a>" for suite, path in sorted(run["pages"].items())
    )
    parts.append(f"<p>GX validation pages: {links}</p>")
    return "".join(parts)


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)
