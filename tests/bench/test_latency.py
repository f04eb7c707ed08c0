"""bench.latency times one platform's extraction with 1 and N workers against a slow sandbox."""

from __future__ import annotations

import json

import pytest

from bench import latency


def test_latency_bench_writes_medians_and_their_ratio(tmp_path):
    out = tmp_path / "latency.json"
    args = ["--reps", "1", "--creators", "3", "--latency", "0.02", "--workers", "2"]
    assert latency.main([*args, "--out", str(out)]) == 0
    result = json.loads(out.read_text())
    one, two = result["median_seconds"]["1"], result["median_seconds"]["2"]
    assert one > 0 and two > 0
    assert result["ratio_1_over_n"] == pytest.approx(one / two, rel=0.02)  # of rounded medians
    assert result["latency_seconds"] == 0.02 and result["platform"] == "tiktok"
