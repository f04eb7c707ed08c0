"""The numbers the benchmark reports: medians, ratios side by side, targets, the table."""

from __future__ import annotations

import json

import pytest

from bench import report
from bench.run import _histories, _stages, main, slowest_stage


def _samples(seconds: list[float], **extra) -> list[dict]:
    return [{"seconds": s, "peak_rss_mb": 100.0 * (i + 1), **extra} for i, s in enumerate(seconds)]


@pytest.fixture
def stages() -> dict:
    raw = {
        "extract_land": [
            {"seconds": 20.0, "peak_rss_mb": 300.0, "records_per_s": 1000.0},
            {"seconds": 25.0, "peak_rss_mb": 310.0, "records_per_s": 800.0},
            {"seconds": 30.0, "peak_rss_mb": 290.0, "records_per_s": 600.0},
        ],
        "reparse": _samples([5.0, 5.0, 5.0], records_per_s=4000.0),
        "duckdb_scan": _samples([1.0, 1.0, 1.0], engine_seconds=0.5),
        "transform_incremental@30": _samples([10.0, 12.0, 11.0]),
        "transform_incremental@365": _samples([14.0, 12.0, 13.0]),
        "gate": _samples([4.0, 2.0, 3.0]),
        "kol_run": [{"seconds": 700.0, "peak_rss_mb": 5000.0}],
    }
    return {k: report.summarise_stage(v) for k, v in raw.items()}


def test_a_stage_reports_median_range_and_the_largest_peak(stages):
    st = stages["transform_incremental@30"]
    assert st["seconds"] == {"n": 3, "median": 11.0, "min": 10.0, "max": 12.0}
    assert st["peak_rss_mb"] == 300.0
    assert stages["extract_land"]["records_per_s"]["median"] == 800.0


def test_ratios_divide_the_medians_of_the_same_run(stages):
    r = report.ratios(stages, [30, 365], primary=365)
    assert r["transform_vs_scan"] == pytest.approx(13.0 / 0.5)
    assert r["incremental_long_vs_short_history"] == pytest.approx(13.0 / 11.0)
    # repetition by repetition: 14/10, 12/12, 13/11
    assert r["incremental_long_vs_short_pairs"] == [1.4, 1.0, 1.1818]
    assert r["extract_vs_parse_rate"] == pytest.approx(800.0 / 4000.0)
    assert r["gate_vs_transform"] == pytest.approx(3.0 / 13.0)


def test_a_history_with_every_window_full_gets_its_own_ratio(stages):
    stages["transform_incremental@120"] = report.summarise_stage(_samples([12.0, 12.5, 11.5]))
    r = report.ratios(stages, [30, 120, 365], primary=365, lookback=90)
    assert r["windows_full_history"] == 120
    assert r["incremental_long_vs_windows_full"] == pytest.approx(13.0 / 12.0)
    assert r["incremental_long_vs_short_history"] == pytest.approx(13.0 / 11.0)
    # 30 days leave a 90-day window part-empty: no such ratio without a longer history
    assert report.ratios(stages, [30, 365], 365, lookback=90)["windows_full_history"] is None
    assert report.ratios(stages, [30, 120, 365], 365, lookback=150)["windows_full_history"] is None
    # the project's longest look-back: its largest *_days var (the 90-day ER window)
    assert report.longest_lookback_days() == 90


def test_a_single_history_has_no_history_ratio(stages):
    r = report.ratios(stages, [30], primary=30)
    assert r["incremental_long_vs_short_history"] is None
    assert r["transform_vs_scan"] == pytest.approx(11.0 / 0.5)


def test_targets_say_which_are_met_and_which_are_missed(stages):
    status = {
        t["target"]: t["status"]
        for t in report.target_status(stages, report.ratios(stages, [30, 365], 365))
    }
    assert status["whole kol run ≤ 10 min"] == "MISSES"  # 700 s
    assert status["peak RSS ≤ 4 GB"] == "MISSES"  # 5,000 MB in kol_run
    assert status["incremental 365/30 ≤ 1.15"] == "MISSES"  # 1.18
    assert status["transform-incremental ≤ 10× DuckDB scan"] == "MISSES"  # 26×
    assert status["extract+land ≥ 50% of parse rate"] == "MISSES"  # 0.2


def test_other_histories_than_365_and_30_give_their_ratio_but_no_verdict(stages):
    stages["transform_incremental@120"] = report.summarise_stage(_samples([10.5, 12.0, 11.5]))
    rows = report.target_status(stages, report.ratios(stages, [30, 120], 120))
    row = next(r for r in rows if r["target"].startswith("incremental 120/30"))
    # medians 11.5 / 11.0: within 1.15, yet not the year the target is about
    assert row["value"] == pytest.approx(11.5 / 11.0)
    assert row["status"] == "n/a"
    assert row["target"] == "incremental 120/30 (the target is 365/30 ≤ 1.15)"


def test_without_kol_run_the_day_is_the_sum_of_its_stage_processes_per_rep():
    raw = {
        "extract_land": _samples([20.0, 30.0]),
        "exports": _samples([1.0, 1.0]),
        "transform_incremental@365": _samples([300.0, 400.0]),
        "transform_incremental@30": _samples([9.0, 9.0]),  # another history: not part of the day
        "gate": _samples([2.0, 3.0]),
        "publish": [{"seconds": 1.0, "peak_rss_mb": 4500.0}, {"seconds": 2.0}],
    }
    day = report.day_stages(raw, primary=365)
    assert [d["seconds"] for d in day] == [324.0, 436.0]
    assert day[0]["peak_rss_mb"] == 4500.0  # the largest part, not a sum
    stages = {k: report.summarise_stage(v) for k, v in raw.items()}
    stages["day_stages"] = report.summarise_stage(day)
    whole = report.target_status(stages, report.ratios(stages, [30, 365], 365))[0]
    assert whole["target"] == "whole kol run ≤ 10 min (sum of its stage processes)"
    assert (whole["value"], whole["status"]) == (380.0, "meets")
    del raw["gate"]  # a part missing: no sum rather than a wrong one
    assert report.day_stages(raw, primary=365) == []


def test_a_missing_stage_is_not_applicable_rather_than_a_crash():
    assert report.Target("x", "k", 1.0).check(None) == "n/a"
    r = report.ratios({}, [30, 365], primary=365)
    assert r["transform_vs_scan"] is None and r["gate_vs_transform"] is None


def test_the_table_has_one_line_per_stage_and_the_history_ratio(stages):
    result = {
        "size": "small",
        "reps": 3,
        "histories": [30, 365],
        "world": {"run_date": "2026-11-24", "accounts": 1000, "creators": 415},
        "stages": stages,
        "ratios": report.ratios(stages, [30, 365], 365),
        "targets": report.target_status(stages, report.ratios(stages, [30, 365], 365)),
    }
    md = report.markdown(result)
    assert (
        "| transform: dbt build, incremental day [365 days of history] | 13.00 | 12.00–14.00 |"
        in md
    )
    assert "| incremental day, 365 / 30 days of history | 1.18 |" in md
    assert "| the same, each repetition's pair: median (pairs) | 1.18 (1.40, 1.00, 1.18) |" in md
    assert md.count("\n| ") >= len(stages) + 5 + 4


def test_the_slowest_stage_ignores_the_composite_run(stages):
    raw = {k: v["samples"] for k, v in stages.items()}
    assert slowest_stage(raw) == "extract_land"  # 25 s median; kol_run (700 s) is not a stage


def test_bad_options_are_refused_with_the_reason():
    import argparse

    with pytest.raises(argparse.ArgumentTypeError, match="at least 1 day"):
        _histories("0,30")
    with pytest.raises(argparse.ArgumentTypeError, match="unknown stage"):
        _stages("transform,compile")
    assert _stages("publish") == {"publish", "gate", "transform"}
    assert _histories("365, 30") == [30, 365]


def test_dbt_timings_sum_node_time_by_kind_and_list_the_slowest(tmp_path):
    import json

    from bench.run import dbt_timings

    target = tmp_path / "dbt" / "target"
    target.mkdir(parents=True)
    results = [
        {"unique_id": "model.kol.a", "execution_time": 2.0},
        {"unique_id": "model.kol.b", "execution_time": 5.5},
        {"unique_id": "unit_test.kol.a.t1", "execution_time": 1.25},
        {"unique_id": "test.kol.not_null_a", "execution_time": None},
        {
            "unique_id": "test.kol.unique_combination_of_columns_b_x__y.0c0272ec10",
            "execution_time": 0.5,
        },
    ]
    (target / "run_results.json").write_text(json.dumps({"elapsed_time": 9.0, "results": results}))
    t = dbt_timings(tmp_path, top=2)
    assert t["dbt_elapsed"] == 9.0 and t["dbt_nodes"] == 5
    assert t["dbt_seconds_by_kind"] == {"model": 7.5, "test": 0.5, "unit_test": 1.25}
    assert [n["node"] for n in t["dbt_slowest"]] == ["model.kol.b", "model.kol.a"]
    assert t["dbt_by_node"] == {
        "model:a": 2.0,
        "model:b": 5.5,
        "unit_test:t1": 1.25,
        "test:not_null_a": 0.0,
        "test:unique_combination_of_columns_b_x__y": 0.5,  # its name, not its hash
    }
    assert dbt_timings(tmp_path / "nowhere") == {}


def test_history_cost_lines_rank_the_nodes_the_longer_history_slows():
    from bench import report

    def stage(walls, elapsed, nodes):
        samples = [
            {"seconds": w, "dbt_elapsed": e, "dbt_by_node": n}
            for w, e, n in zip(walls, elapsed, nodes, strict=True)
        ]
        return {"seconds": {"median": sorted(walls)[len(walls) // 2]}, "samples": samples}

    stages = {
        # medians at 30: a 2.0, b 1.0, t 0.5; at 365: a 2.5 (+0.5), b 4.0 (+3.0), t 0.4 (-0.1)
        "transform_incremental@30": stage(
            [20.0, 22.0, 21.0],
            [15.0, 16.0, 17.0],
            [{"model:a": 2.0, "model:b": 1.0, "test:t": 0.5}] * 2
            + [{"model:a": 9.0, "model:b": 1.2, "test:t": 0.6}],
        ),
        "transform_incremental@365": stage(
            [26.0, 25.0, 27.0],
            [20.0, 19.0, 21.0],
            [{"model:a": 2.5, "model:b": 4.0, "test:t": 0.4}] * 2
            + [{"model:a": 2.4, "model:b": 3.0, "test:t": 0.3}],
        ),
    }
    lines = report.history_cost_lines(stages, 30, 365, top=2)
    assert "| whole transform process | 21.00 | 26.00 | 5.00 |" in lines
    assert "| dbt's elapsed | 16.00 | 20.00 | 4.00 |" in lines
    # node sums of the medians: 3.5 at 30, 6.9 at 365
    assert "| every node's execution, summed | 3.50 | 6.90 | 3.40 |" in lines
    assert lines[-2:] == [
        "| model:b | 1.00 | 4.00 | 3.00 |",
        "| model:a | 2.00 | 2.50 | 0.50 |",
    ]
    assert report.history_cost_lines(stages, 30, 30) == []
    assert report.history_cost_lines({"gate": {}}, 30, 365) == []


def test_the_matching_step_is_summed_from_its_models_and_shown_per_transform(tmp_path):
    import json

    from bench.run import dbt_timings

    target = tmp_path / "dbt" / "target"
    target.mkdir(parents=True)
    results = [
        {"unique_id": "model.kol.int_matching_model_trained", "execution_time": 0.5},
        {"unique_id": "model.kol.int_post_words_counted", "execution_time": 0.25},
        {"unique_id": "model.kol.int_brand_creator_topic_similarity", "execution_time": 3.0},
        {"unique_id": "model.kol.int_brand_creator_candidates", "execution_time": 1.25},
        {"unique_id": "model.kol.int_brand_creator_predictions", "execution_time": 2.0},
        {"unique_id": "model.kol.brand_creator_matches", "execution_time": 1.5},
        # a data test on the mart is not part of the step; nor is another model
        {"unique_id": "test.kol.unique_brand_creator_matches", "execution_time": 9.0},
        {"unique_id": "model.kol.int_posts_unioned", "execution_time": 7.0},
    ]
    (target / "run_results.json").write_text(json.dumps({"elapsed_time": 30.0, "results": results}))
    matching = dbt_timings(tmp_path)["dbt_matching"]
    assert matching["model_training_s"] == 0.5
    assert matching["matches_step_s"] == 8.0  # 0.25 + 3 + 1.25 + 2 + 1.5
    full = report.summarise_stage([{"seconds": 40.0, "peak_rss_mb": 1.0, "dbt_matching": matching}])
    plain = report.summarise_stage([{"seconds": 20.0, "peak_rss_mb": 1.0}])
    lines = report.matching_lines({"transform_full@30": full, "gate": plain})
    assert lines[-1] == (
        "| transform: dbt build --full-refresh (setup, n=1) [30 days of history] "
        "| 0.50 | 8.00 | 0.25 | 3.00 | 1.25 | 2.00 | 1.50 |"
    )
    assert len(lines) == 4  # blank, header, rule, one transform
    assert report.matching_lines({"gate": plain}) == []


def _bench(tmp_path, histories):
    from datetime import date

    from bench.run import SIZES, Bench, Options

    opts = Options(
        size=SIZES["tiny"],
        reps=1,
        histories=histories,
        run_date=date(2026, 11, 20),
        seed=42,
        workdir=tmp_path,
        results_dir=tmp_path / "results",
        reuse=True,
    )
    b = Bench(opts)
    b.setup["world"] = {"creators": 10}
    return b


def test_a_saved_setup_is_reused_only_for_the_same_options(tmp_path):
    first = _bench(tmp_path, [3])
    first.setup["history_3"] = {"copied_days": 2}
    first.samples["transform_full@3"] = [{"seconds": 7.0}]
    first.samples["gate"] = [{"seconds": 1.0}]  # a measurement, not setup: never carried over
    first.save_setup()
    (tmp_path / "snap-h3").mkdir()

    again = _bench(tmp_path, [3])
    assert again.load_setup()
    assert again.setup["history_3"] == {"copied_days": 2}
    assert again.samples == {"transform_full@3": [{"seconds": 7.0}]}

    other = _bench(tmp_path, [6])  # another history only: nothing to reuse
    assert not other.load_setup()
    assert other.samples == {}


def test_a_setup_lacking_a_history_lends_its_seed_day_and_the_histories_it_has(tmp_path):
    first = _bench(tmp_path, [3])
    first.setup["history_3"] = {"copied_days": 2}
    first.samples["transform_full@3"] = [{"seconds": 7.0}]
    first.save_setup()
    (tmp_path / "snap-h3").mkdir()

    more = _bench(tmp_path, [3, 6])
    assert not more.load_setup()  # no seed day kept: the 6 days cannot be copied from it
    (tmp_path / "base" / "landing").mkdir(parents=True)
    more = _bench(tmp_path, [3, 6])
    assert more.load_setup() == "all"
    assert more.missing == [6]  # execute() builds only these, from base/
    assert more.setup["history_3"] == {"copied_days": 2}
    assert more.samples == {"transform_full@3": [{"seconds": 7.0}]}

    # each history is saved as it is built: a run killed after it keeps it
    more.setup["history_6"] = {"copied_days": 5}
    more.save_setup([3, 6])
    (tmp_path / "snap-h6").mkdir()
    again = _bench(tmp_path, [3, 6])
    assert again.load_setup() == "all" and again.missing == []
    assert again.setup["history_6"] == {"copied_days": 5}


def test_a_setup_whose_histories_were_copied_otherwise_lends_only_its_seed_day(tmp_path):
    """A change to how bench/history.py copies a history (its first-sight pull, its
    compaction) rebuilds every history, from the seed day kept: that extract is not redone."""
    first = _bench(tmp_path, [3, 6])
    first.setup["seed_day"] = {"records": 12}
    first.setup["history_3"] = {"copied_days": 2}
    first.samples["transform_full@3"] = [{"seconds": 7.0}]
    first.save_setup()
    (tmp_path / "snap-h3").mkdir()
    (tmp_path / "snap-h6").mkdir()
    saved = json.loads((tmp_path / "setup.json").read_text())
    saved["key"]["first_sight_days"] = 30  # copied by an older harness
    (tmp_path / "setup.json").write_text(json.dumps(saved))

    assert not _bench(tmp_path, [3, 6]).load_setup()  # no seed day kept: a new setup
    (tmp_path / "base" / "landing").mkdir(parents=True)
    again = _bench(tmp_path, [3, 6])
    assert again.load_setup() == "seed"
    assert again.missing == [3, 6]
    assert again.setup["seed_day"] == {"records": 12}
    assert "history_3" not in again.setup and again.samples == {}

    saved["key"]["seed"] = 7  # another world: its seed day serves nothing
    (tmp_path / "setup.json").write_text(json.dumps(saved))
    assert not _bench(tmp_path, [3, 6]).load_setup()


def test_a_setup_holding_more_histories_lends_the_asked_ones(tmp_path):
    first = _bench(tmp_path, [3, 6])
    first.setup["history_3"] = {"copied_days": 2}
    first.setup["history_6"] = {"copied_days": 5}
    first.samples["transform_full@3"] = [{"seconds": 7.0}]
    first.samples["transform_full@6"] = [{"seconds": 9.0}]
    first.save_setup()
    (tmp_path / "snap-h3").mkdir()
    (tmp_path / "snap-h6").mkdir()

    fewer = _bench(tmp_path, [3])
    assert fewer.load_setup() == "all"
    assert fewer.missing == []
    assert fewer.setup["history_3"] == {"copied_days": 2}
    assert "history_6" not in fewer.setup  # not asked: neither measured nor reported
    assert fewer.samples == {"transform_full@3": [{"seconds": 7.0}]}


def test_warehouses_kept_from_older_code_are_not_saved_as_this_codes(tmp_path):
    from dataclasses import replace

    old = _bench(tmp_path, [3])
    old.code = "older"
    old.save_setup()
    (tmp_path / "snap-h3").mkdir()
    (tmp_path / "base" / "landing").mkdir(parents=True)

    kept = _bench(tmp_path, [3, 6])
    kept.opts = replace(kept.opts, keep_warehouses=True)
    assert kept.load_setup() == "all" and kept.missing == [6]
    kept.save_setup([3, 6])  # 6 built by this code beside 3's kept warehouse
    (tmp_path / "snap-h6").mkdir()
    assert json.loads((tmp_path / "setup.json").read_text())["key"]["code"] == "older"
    assert _bench(tmp_path, [3, 6]).load_setup() == "landing"  # without the flag: rebuilt


def test_stages_that_build_nothing_keep_a_built_setup_as_it_is(tmp_path):
    from dataclasses import replace

    built = _bench(tmp_path, [3])
    built.save_setup()
    (tmp_path / "snap-h3").mkdir()
    saved = (tmp_path / "setup.json").read_text()

    landing_only = _bench(tmp_path, [3])
    landing_only.opts = replace(landing_only.opts, stages=frozenset({"reparse"}))
    assert not landing_only.opts.builds
    # "all": nothing rebuilt (a "landing" answer would empty the snapshots' warehouses)
    assert landing_only.load_setup() == "all"
    assert (tmp_path / "setup.json").read_text() == saved

    # the other way round, a landing-only setup is built before a transform is measured
    landing_only.save_setup()
    assert _bench(tmp_path, [3]).load_setup() == "landing"


def test_small_leaves_the_whole_run_out_unless_all_stages_are_asked_for():
    from bench.run import SIZES, STAGES

    assert "kol_run" not in SIZES["small"].stages and SIZES["small"].reps == 1
    assert _stages("all") == frozenset(STAGES)
    assert _stages("publish") == {"publish", "gate", "transform"}


def test_spark_is_set_beside_duckdb_on_the_shortest_history(stages):
    raw = {k: v["samples"] for k, v in stages.items()}
    raw["transform_full@30"] = _samples([40.0])
    raw["transform_spark_full@30"] = _samples([100.0])
    raw["transform_spark_incremental@30"] = _samples([33.0])
    st = {k: report.summarise_stage(v) for k, v in raw.items()}
    r = report.ratios(st, [30, 365], primary=365)
    assert r["spark_vs_duckdb_incremental"] == pytest.approx(33.0 / 11.0)
    assert r["spark_vs_duckdb_full"] == pytest.approx(100.0 / 40.0)
    md = report.markdown(
        {
            "size": "small",
            "reps": 1,
            "histories": [30, 365],
            "world": {"run_date": "2026-11-24", "accounts": 1000, "creators": 415},
            "stages": st,
            "ratios": r,
            "targets": report.target_status(st, r),
        }
    )
    assert "| transform on Spark: dbt build, incremental day [30 days of history] | 33.00 |" in md
    assert "| transform on Spark / on DuckDB, 30 days of history: incremental day | 3.00 |" in md
    # without Spark's samples there is no Spark line
    assert "on Spark" not in report.markdown(
        {
            "size": "small",
            "reps": 1,
            "histories": [30, 365],
            "world": {"run_date": "2026-11-24", "accounts": 1000, "creators": 415},
            "stages": stages,
            "ratios": report.ratios(stages, [30, 365], 365),
            "targets": [],
        }
    )


def test_a_setup_with_spark_serves_runs_with_and_without_the_spark_stage(tmp_path):
    from dataclasses import replace

    def bench(spark: bool):
        b = _bench(tmp_path, [3, 6])
        stages = (
            b.opts.stages | {"transform_spark"} if spark else b.opts.stages - {"transform_spark"}
        )
        b.opts = replace(b.opts, stages=stages)
        return b

    for h in (3, 6):
        (tmp_path / f"snap-h{h}").mkdir()
    duckdb_only = bench(spark=False)
    duckdb_only.samples["transform_full@3"] = [{"seconds": 7.0}]
    duckdb_only.save_setup()
    # the same setup without Spark's build: only that is built
    assert bench(spark=True).load_setup() == "spark"

    with_spark = bench(spark=True)
    with_spark.samples["transform_full@3"] = [{"seconds": 7.0}]
    with_spark.samples["transform_spark_full@3"] = [{"seconds": 70.0}]
    with_spark.save_setup()
    (tmp_path / "snap-spark-h3").mkdir()  # the shortest history's
    again = bench(spark=True)
    assert again.load_setup() == "all"
    assert set(again.samples) == {"transform_full@3", "transform_spark_full@3"}
    without = bench(spark=False)
    assert without.load_setup() == "all"
    assert set(without.samples) == {"transform_full@3"}


def test_the_run_within_the_documented_quotas_is_judged_and_shown_per_platform(stages):
    sample = {
        "seconds": 420.0,
        "peak_rss_mb": 3000.0,
        "quota_charged": {"instagram": {"calls": 180}, "youtube": {"units": 6950, "refused": 2}},
        "plans": {
            "instagram": {
                "status": "partial",
                "planned": 27,
                "deferred": 6171,
                "landed": 25,
                "used": {"calls": 180},
                "budget": {"calls": 180},
            },
            "youtube": {
                "status": "ok",
                "planned": 3389,
                "deferred": 0,
                "landed": 3389,
                "used": {"units": 6952},
                "budget": {"units": 10000},
            },
        },
    }
    stages = {**stages, "kol_run_quotas": report.summarise_stage([sample])}
    status = {
        t["target"]: (t["value"], t["status"])
        for t in report.target_status(stages, report.ratios(stages, [30, 365], 365))
    }
    assert status["whole kol run within the documented quotas ≤ 10 min"] == (420.0, "meets")
    assert status["whole kol run ≤ 10 min"] == (700.0, "MISSES")  # the raised-quota run
    lines = report.quota_run_lines(stages)
    assert "| instagram | 27 | 6171 | 25 | 180 / 180 calls | 180 calls | 0 | partial |" in lines
    assert "| youtube | 3389 | 0 | 3389 | 6,952 / 10,000 units | 6,950 units | 2 | ok |" in lines
    assert report.quota_run_lines({}) == []


def test_kept_warehouses_of_other_code_are_reused_and_named(tmp_path):
    import json
    from dataclasses import replace

    built = _bench(tmp_path, [3])
    built.save_setup()
    (tmp_path / "snap-h3").mkdir()
    setup = json.loads((tmp_path / "setup.json").read_text())
    setup["key"]["code"] = "older"  # built by another warehouse code
    (tmp_path / "setup.json").write_text(json.dumps(setup))

    assert _bench(tmp_path, [3]).load_setup() == "landing"  # rebuilt by default
    kept = _bench(tmp_path, [3])
    kept.opts = replace(kept.opts, keep_warehouses=True)
    assert kept.load_setup() == "all"
    assert kept.setup["warehouses_built_by_code"] == "older"
    assert kept.upgrade  # this code re-runs D - 1 on them before D is measured
    assert main(["--size", "tiny", "--keep-warehouses"]) == 2  # needs --reuse

    # the upgrade: D - 1 rebuilt by this code in each history's home, which is re-snapshotted
    ran = []

    def run(stage, argv, home, tag, **_):
        ran.append((stage, argv[-2:], home.name))
        (home / "warehouse.duckdb").write_text(f"upgraded {tag}")
        return type("T", (), {"seconds": 1.0})()

    kept.run = run
    (tmp_path / "snap-h3" / "warehouse.duckdb").write_text("built by older")
    kept.upgrade_warehouses()
    assert ran == [("transform_upgrade", ["--date", "2026-11-19"], "run-h3")]
    assert (tmp_path / "snap-h3" / "warehouse.duckdb").read_text().startswith("upgraded")
    again = _bench(tmp_path, [3])
    again.opts = replace(again.opts, keep_warehouses=True)
    assert again.load_setup() == "all" and not again.upgrade  # upgraded once, not every run
    assert again.setup["warehouses_built_by_code"] == "older"


def test_landing_per_account_year_before_and_after_compaction_is_worked_out_per_history():
    setup = {
        "seed_day": {"records": 10},
        "history_30": {"copied_days": 29, "copied_mb": 290.0, "compacted_months": 0},
        "history_365": {
            "landed_days": 365,
            "copied_days": 364,
            "copied_mb": 3640.0,  # 10 MB a copied day
            "records_mb_after_compaction": 1000.0,
            "compacted_months": 11,
        },
    }
    rows = report.landing_per_account_year(setup, accounts=100)
    # 10 MB a day x 365 / 100 accounts = 36.5; 1,000 MB for 365 days / 100 accounts = 10
    assert rows == {"365": {"day_files_mb": 36.5, "compacted_mb": 10.0}}  # 30: nothing compacted
    lines = report.landing_lines({"landing_per_account_year": rows})
    assert "| 365 days of history | 36.500 MB | 10.000 MB | 0.27 |" in lines
    assert report.landing_lines({}) == []  # a result file from before the figure


def test_a_history_copied_by_a_killed_setup_is_kept_for_the_same_landing_only(tmp_path):
    from dataclasses import asdict, replace

    from bench import history
    from bench.run import LANDED_MARKER

    b = _bench(tmp_path, [6])
    home = b.run_home(6)
    (home / "landing").mkdir(parents=True)
    (home / "warehouse.duckdb").write_text("half built")  # the killed full refresh's
    stats = history.HistoryStats(days=5, files=10, bytes=100, records_bytes=40)
    marker = {"landing": b.landing_key(6), "history": 6, "source_day": "2026-11-19"}
    (home / LANDED_MARKER).write_text(
        json.dumps({**marker, "fabricate_seconds": 12.5, "stats": asdict(stats)})
    )
    assert b.landed_history(home, 6) == (stats, 12.5)
    assert not (home / "warehouse.duckdb").exists() and (home / "landing").is_dir()

    other_seed = _bench(tmp_path, [6])
    other_seed.opts = replace(other_seed.opts, seed=7)
    assert other_seed.landed_history(home, 6) is None  # another world's landing
    no_reuse = _bench(tmp_path, [6])
    no_reuse.opts = replace(no_reuse.opts, reuse=False)
    assert no_reuse.landed_history(home, 6) is None


def test_a_full_refresh_killed_after_some_months_resumes_with_the_same_code_only(tmp_path):
    from dataclasses import asdict, replace

    from bench import history
    from bench.run import BUILD_MARKER, LANDED_MARKER

    b = _bench(tmp_path, [6])
    home = b.run_home(6)
    (home / "landing").mkdir(parents=True)
    stats = history.HistoryStats(days=5, files=10, bytes=100, records_bytes=40)
    marker = {"landing": b.landing_key(6), "history": 6, "source_day": "2026-11-19"}
    (home / LANDED_MARKER).write_text(
        json.dumps({**marker, "fabricate_seconds": 12.5, "stats": asdict(stats)})
    )

    def killed(built: str | None, code: str) -> None:
        (home / "warehouse.duckdb").write_text("months built")
        (home / "state.json").write_text(json.dumps({"built_through": built}))
        (home / BUILD_MARKER).write_text(json.dumps({"code": code}))

    killed("2026-10-31", b.code)  # the months through October were finished
    assert b.landed_history(home, 6) == (stats, 12.5)
    assert b.resumable_build(home) == "2026-10-31"
    assert (home / "warehouse.duckdb").read_text() == "months built"  # kept

    killed("2026-10-31", "older code")  # another dbt project's months: built again
    assert b.resumable_build(home) is None
    b.landed_history(home, 6)
    assert not (home / "warehouse.duckdb").exists()

    killed(None, b.code)  # killed in its first month
    assert b.resumable_build(home) is None
    killed("2026-11-19", b.code)  # finished (D-1): nothing to resume, built again
    assert b.resumable_build(home) is None
    no_build = _bench(tmp_path, [6])
    no_build.opts = replace(no_build.opts, stages=frozenset({"reparse"}))
    killed("2026-10-31", b.code)
    assert no_build.resumable_build(home) is None  # a run that builds nothing


def test_a_rebuild_of_the_warehouses_killed_midway_keeps_what_it_built(tmp_path):
    """`--reuse` after a change of the dbt project rebuilds every history's warehouse; a run
    killed during that (agency's year: about 1.5 h) keeps a snapshot it finished and resumes a
    refresh after its last finished month, with this code only."""
    from dataclasses import replace
    from datetime import date

    from bench.run import BUILD_MARKER

    b = _bench(tmp_path, [3, 6])
    b.opts = replace(b.opts, stages=frozenset({"transform"}))
    b.missing = []
    calls: list[tuple[int, str, str | None]] = []

    def transform(home, day, h, tag, full=False, engine="duckdb", resumed_from=None):
        assert full and day == date(2026, 11, 19)  # D-1
        calls.append((h, tag, resumed_from))
        (home / "warehouse.duckdb").write_text(f"built {h}")
        (home / "state.json").write_text(json.dumps({"built_through": day.isoformat()}))

    b.transform = transform

    def folder(path, code=None, built=None, warehouse=None):
        (path / "landing").mkdir(parents=True, exist_ok=True)
        if code:
            (path / BUILD_MARKER).write_text(json.dumps({"code": code}))
            (path / "state.json").write_text(json.dumps({"built_through": built}))
        if warehouse:
            (path / "warehouse.duckdb").write_text(warehouse)

    folder(b.snapshot(3), b.code, "2026-11-19", "rebuilt 3")  # finished before the kill
    folder(b.snapshot(6))  # the landing only
    folder(b.run_home(6), b.code, "2026-10-31", "months through October")  # killed in November
    b.rebuild_warehouses()
    assert calls == [(6, "setup-h6-transform-full-resumed", "2026-10-31")]
    assert (b.snapshot(3) / "warehouse.duckdb").read_text() == "rebuilt 3"
    assert (b.snapshot(6) / "warehouse.duckdb").read_text() == "built 6"

    calls.clear()
    b.rebuild_warehouses()  # everything rebuilt by this code: nothing to do
    assert calls == []

    b.code = "a later dbt project"  # other code: both built again, from their landing
    b.rebuild_warehouses()
    assert calls == [(3, "setup-h3-transform-full", None), (6, "setup-h6-transform-full", None)]


def test_the_day_an_earlier_run_landed_serves_a_run_of_the_same_setup_only(tmp_path):
    """`--reuse --extract-once`: dayD/landing with its marker is reused for the first
    repetition when the world, day and platforms are the same, whatever the histories."""
    from dataclasses import replace

    from bench.run import DAY_MARKER

    first = _bench(tmp_path, [3, 6])
    (tmp_path / "dayD" / "landing").mkdir(parents=True)
    (tmp_path / "dayD" / DAY_MARKER).write_text(json.dumps(first.day_key()))

    other_histories = _bench(tmp_path, [3, 30])
    assert other_histories.day_landed_kept()  # D does not depend on the history behind it
    other_seed = _bench(tmp_path, [3, 6])
    other_seed.opts = replace(other_seed.opts, seed=7)
    assert not other_seed.day_landed_kept()  # another world's D
    no_reuse = _bench(tmp_path, [3, 6])
    no_reuse.opts = replace(no_reuse.opts, reuse=False)
    assert not no_reuse.day_landed_kept()
    (tmp_path / "dayD" / DAY_MARKER).unlink()  # a run killed while it replaced dayD
    assert not first.day_landed_kept()
