"""The matching model's conclusion on whole sandbox worlds (issue 23, docs/matching.md): on
the demo world (seed 42, where the model's settings were chosen) and on a world it never saw
(seed 7), the model orders held-out campaigns with Spearman >= 0.5 and better than the
hand-weighted score, and every brand's top 10 matches are in its niche or an adjacent one.
Each world is `kol demo`'s: 50 creators, 14 landed days, one build as of the last."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from pipeline import config
from pipeline.demo import run_demo

pytestmark = [pytest.mark.integration, pytest.mark.slow]

END = date(2026, 12, 2)  # fixed: the figures in docs/matching.md are of worlds ending here


@pytest.mark.parametrize("seed", [42, 7])
def test_the_model_beats_the_hand_weighted_score_on_held_out_campaigns(seed, tmp_path) -> None:
    settings = config.load({"KOL_HOME": str(tmp_path / "home")}, env_file=None)
    run_demo(settings, seed=seed, end=END)

    con = duckdb.connect(str(settings.serving / "marts.duckdb"), read_only=True)
    backtest = {
        scorer: (spearman, precision, train, test)
        for scorer, spearman, precision, train, test in con.execute(
            "select scorer, spearman, precision_at_10, train_rows, test_rows from matching_backtest"
        ).fetchall()
    }
    top10 = con.execute(
        "select brand_id, count(*), count(*) filter (where niche_relation in ('same', 'adjacent')),"
        " count(*) filter (where niche_relation = 'same'), min(scorer), max(scorer) "
        "from brand_creator_matches where rank <= 10 group by brand_id order by brand_id"
    ).fetchall()
    con.close()
    print(f"seed {seed}: backtest {backtest}; top 10 per brand {top10}")

    model, baseline = backtest["model"], backtest["hand_weighted"]
    assert model[2] >= 40 and model[3] >= 40, backtest  # enough held-out campaigns to judge
    assert model[0] >= 0.5, backtest
    assert model[0] > baseline[0], backtest
    assert top10, "no matches published"
    for brand, ranked, related, _same, lowest, highest in top10:
        assert lowest == highest == "model", (brand, lowest, highest)
        assert related >= min(7, ranked), (brand, ranked, related)
