"""The auditor's gate reports open from the file system with the network off (real Chromium)."""

from __future__ import annotations

import pytest
from gate_world import PLATFORMS, RUN_DATE, mutate, write_landing_accounts
from headless_chromium import render

from expectations.gate import run_gate
from pipeline.publish import publish
from pipeline.published import PUBLISHED_TABLES

pytestmark = pytest.mark.integration


def test_gate_reports_render_offline_with_every_expectation(
    clean_warehouses, warehouse_copy, tmp_path, artifacts
):
    quality, landing = tmp_path / "quality", tmp_path / "landing"
    serving = publish(clean_warehouses["previous"], tmp_path / "serving", PUBLISHED_TABLES).path
    write_landing_accounts(landing, RUN_DATE, tuple(PLATFORMS))
    glitch = mutate(
        warehouse_copy(), "UPDATE creator_scorecard SET followers = 0 WHERE platform = 'instagram'"
    )
    gate = run_gate(
        glitch,
        RUN_DATE,
        quality,
        previous_serving_db=serving,
        run_id="glitch-day",
        landing_dir=landing,
    )
    assert not gate.passed
    index = render((quality / "data_docs" / "gate_runs.html").as_uri(), artifacts, "gate_runs")
    text = index.visible_text()
    assert "glitch-day" in text and "FAILED" in text
    assert "creator_scorecard.followers" in text and "at most 50% of accounts" in text
    assert index.screenshot.stat().st_size > 10_000  # a drawn page, not a blank one

    run_page = quality / "data_docs" / "gate_run_glitch-day.html"
    assert 'href="gate_run_glitch-day.html"' in index.dom  # the index links to it
    page = render(run_page.as_uri(), artifacts, "gate_run")
    text = page.visible_text()
    # Every evaluated expectation has a row with its outcome, the failing ones first.
    assert text.count("PASSED") + text.count("FAILED") == gate.evaluated + 1  # + the title
    assert text.count("FAILED") == len(gate.failures) + 1
    assert text.index("FAILED", text.index("what was checked")) < text.index("PASSED", 200)
    for failure in gate.failures:
        assert failure.message in text
    assert f"{gate.evaluated} expectations, {len(gate.failures)} failed" in text
    # Nothing on either page comes from the network.
    for dom in (index.dom, page.dom):
        assert "http://" not in dom and "https://" not in dom
        assert "<script" not in dom.lower()


def test_gx_data_docs_index_is_blank_offline_which_is_why_the_report_exists(
    clean_warehouses, tmp_path, artifacts
):
    # The reason for the self-contained pages: GX's own index fills its table with scripts
    # from CDNs, so offline a reader sees no run in it.
    quality = tmp_path / "quality"
    gate = run_gate(
        clean_warehouses["today"],
        RUN_DATE,
        quality,
        previous_serving_db=None,
        run_id="clean-day",
        extracted_platforms=[],
    )
    gx_index = render(gate.data_docs_index.as_uri(), artifacts, "gx_index")
    assert "clean-day" not in gx_index.visible_text()
    ours = render((quality / "data_docs" / "gate_runs.html").as_uri(), artifacts, "ours")
    assert "clean-day" in ours.visible_text()
