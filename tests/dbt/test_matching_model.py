"""The matching model (dbt_project/python/kol_matching.py) on hand-made frames: the learned
effect, exact contributions, calibration, the backtest split and metrics, determinism and
no leakage in topic similarity as of a campaign's start."""

from __future__ import annotations

import math
import sys

import duckdb
import numpy as np
import pandas as pd
import pytest
from python_models import MODULES

if str(MODULES) not in sys.path:
    sys.path.insert(0, str(MODULES))

import kol_matching as km


def _rows(n: int, seed: int = 3) -> pd.DataFrame:
    """Contracts whose ln(CPE) = 0.5 - 1.2 x same-niche + 0.8 x ln(fee / 100) + noise."""
    r = np.random.default_rng(seed)
    same = r.random(n) < 0.5
    fee = 100 * np.exp(r.normal(0, 0.5, n))
    log_cpe = 0.5 - 1.2 * same + 0.8 * np.log(fee / 100) + r.normal(0, 0.1, n)
    start = pd.Timestamp("2026-09-01") + pd.to_timedelta(np.arange(n) % 60, unit="D")
    return pd.DataFrame(
        {
            "campaign_id": [f"c{i}" for i in range(n)],
            "brand_id": "b1",
            "creator_id": [f"a{i}" for i in range(n)],
            "platform": np.where(np.arange(n) % 2 == 0, "tiktok", "instagram"),
            "start_date": start,
            "end_date": start + pd.Timedelta(days=5),
            "niche_relation": np.where(same, "same", "adjacent"),
            "country_match": 100.0,
            "topic_similarity": 10.0,
            "engagements_per_post": 500.0,
            "engagement_trend": None,
            "followers": None,
            "engagement_rate": None,
            "comment_authenticity_score": 80.0,
            "sentiment_score": 0.3,
            "past_cpe_usd": None,
            "fee_usd": fee,
            "realised_cpe_usd": np.exp(log_cpe),
        }
    )


def test_the_model_learns_the_planted_niche_effect_and_explains_it_exactly() -> None:
    training = _rows(200)
    model = km.fit(training)
    candidates = training.iloc[:2].copy()
    candidates["niche_relation"] = ["same", "adjacent"]
    candidates["fee_usd"] = 100.0
    scored = km.score(model, candidates)
    same, adjacent = scored["predicted_cpe_usd"]
    # planted: same niche divides CPE by e^1.2 = 3.3; ridge shrinks it a little
    assert 2.5 < adjacent / same < 3.6
    assert scored["contribution_niche"].iloc[0] > 0 > scored["contribution_niche"].iloc[1]
    # the prediction is exactly intercept - sum of the published contributions
    parts = scored[[f"contribution_{g}" for g in km.GROUPS]].sum(axis=1)
    np.testing.assert_allclose(
        np.log(scored["predicted_cpe_usd"]), model.intercept - parts, rtol=0, atol=1e-12
    )
    # features constant in training (country, topic, ...) explain nothing
    assert (scored["contribution_country"] == 0).all()


def test_same_inputs_give_the_same_predictions_and_version() -> None:
    training, candidates = _rows(120), _rows(30, seed=9)
    first = km.predictions(km.trained(training, 40), candidates)
    second = km.predictions(km.trained(training.copy(), 40), candidates.copy())
    pd.testing.assert_frame_equal(first, second)
    assert first["model_version"].nunique() == 1
    assert first["model_version"].iloc[0].startswith(km.MODEL_VERSION + "+")
    # the engine's row order does not matter either
    shuffled = km.predictions(km.trained(training.sample(frac=1.0, random_state=1), 40), candidates)
    pd.testing.assert_frame_equal(shuffled, first)
    other = km.predictions(km.trained(_rows(120, seed=4), 40), candidates)
    assert other["model_version"].iloc[0] != first["model_version"].iloc[0]


def test_the_stored_model_scores_as_the_fit_and_retrains_only_on_a_new_training_set() -> None:
    training, candidates = _rows(120), _rows(30, seed=9)
    record = km.trained(training, 40)
    model = km.fit(training)
    # the JSON round trip loses nothing: the stored model predicts exactly what the fit does
    np.testing.assert_array_equal(
        km.predictions(record, candidates)["predicted_cpe_usd"].to_numpy(),
        np.exp(km.predict_log_cpe(model, candidates)),
    )
    row = record.iloc[0]
    assert row["model_version"] == model.fingerprint and row["training_rows"] == 120
    assert row["trained_from"] == pd.Timestamp("2026-09-01")
    assert row["train_spearman"] > 0.9  # the planted effect, in sample
    fingerprint = row["training_fingerprint"]
    # the engine's row order is not a change; a finished contract more, or a realised
    # outcome revised, or another threshold is
    shuffled = training.sample(frac=1.0, random_state=2)
    assert km.training_fingerprint(shuffled, 40) == fingerprint
    assert km.training_fingerprint(_rows(121), 40) != fingerprint
    revised = training.copy()
    revised.loc[5, "realised_cpe_usd"] *= 1.01
    assert km.training_fingerprint(revised, 40) != fingerprint
    assert km.training_fingerprint(training, 41) != fingerprint
    # below the threshold: a row that says so, no parameters
    few = km.trained(_rows(39), 40).iloc[0]
    assert few["training_rows"] == 39 and pd.isna(few["parameters"])
    assert pd.isna(few["model_version"])


def test_too_few_past_contracts_give_no_predictions() -> None:
    training = _rows(39)
    assert km.predictions(km.trained(training, 40), _rows(5)).empty
    # contracts without an outcome (no engagements: cpe NULL) do not count
    training = _rows(45)
    training.loc[:9, "realised_cpe_usd"] = None
    assert km.predictions(km.trained(training, 40), _rows(5)).empty
    assert len(km.predictions(km.trained(_rows(40), 40), _rows(5))) == 5


def test_fit_score_is_the_share_of_past_placements_beaten() -> None:
    model = km.Fitted(
        means=np.zeros(1),
        scales=np.ones(1),
        coefs=np.zeros(1),
        intercept=0.0,
        train_cpe=np.array([1.0, 2.0, 3.0, 4.0]),
        rows=4,
    )
    # 2.5 beats the placements at 3 and 4; 0.5 beats all; 4 (a tie) and 9 beat none
    np.testing.assert_allclose(
        km.calibrated_fit_score(model, np.array([2.5, 0.5, 4.0, 9.0])), [50, 100, 0, 0]
    )


def test_spearman_and_precision_at_k_by_hand() -> None:
    # ranks differ by 1 in two places: 1 - 6 x 2 / (4 x 15) = 0.8
    assert km.spearman(np.array([1.0, 2, 3, 4]), np.array([1.0, 3, 2, 4])) == pytest.approx(0.8)
    assert km.spearman(np.array([1.0, 2]), np.array([2.0, 1])) is None
    # the scorer's top 2 are rows 0 and 1, the realised top 2 rows 0 and 2
    assert km.precision_at_k(np.array([5.0, 4, 3, 2, 1]), np.array([5.0, 3, 4, 1, 2]), k=2) == 0.5


def test_backtest_trains_before_the_split_and_scores_after_it() -> None:
    rows = _rows(200)
    split = "2026-10-01"
    result = km.backtest(rows, {"topic_similarity": 1.0}, min_rows=40, configured_split=split)
    starts, ends = pd.to_datetime(rows["start_date"]), pd.to_datetime(rows["end_date"])
    expected_train = int((ends < split).sum())
    expected_test = int((starts >= split).sum())
    assert expected_train + expected_test < len(rows)  # contracts spanning the split: neither
    model = result.set_index("scorer").loc["model"]
    assert model["train_rows"] == expected_train and model["test_rows"] == expected_test
    assert model["train_through"] < pd.Timestamp(split) <= model["test_from"]
    assert model["spearman"] > 0.9  # the planted effect is strong and the noise small
    # the hand-weighted score sees a constant topic similarity: no order at all
    baseline = result.set_index("scorer").loc["hand_weighted"]
    assert math.isnan(baseline["spearman"])


def test_topic_similarity_as_of_start_ignores_posts_from_the_start_on() -> None:
    contracts = pd.DataFrame(
        {
            "campaign_id": ["c1"],
            "creator_id": ["a"],
            "platform": ["x"],
            "brand_id": ["b1"],
            "start_date": [pd.Timestamp("2026-10-10")],
        }
    )
    campaigns = pd.DataFrame(
        {
            "campaign_id": ["c1", "c2"],
            "brand_id": ["b1", "b1"],
            "campaign_name": ["Pasta week", "Esports cup"],
            "brief": ["recipes pasta dinner", "controller arena"],
            "hashtag": ["#pasta", "#arena"],
            "start_date": [pd.Timestamp("2026-10-10"), pd.Timestamp("2026-11-01")],
        }
    )
    brands = pd.DataFrame({"brand_id": ["b1"], "category": ["food"]})

    def score(*rows: tuple[str, str]) -> float:
        """The contract's score with these (published_at, caption) posts, documents joined
        in DuckDB as the model joins them."""
        posts = pd.DataFrame(
            {
                "platform": "x",
                "creator_id": "a",
                "published_at": [pd.Timestamp(at) for at, _ in rows],
                "caption": [text for _, text in rows],
                "hashtags": [[] for _ in rows],
            }
        )
        con = duckdb.connect()
        docs = km.account_documents(con, con.from_df(posts), contracts, 90)
        frame = km.topic_similarity_as_of(contracts, campaigns, brands, docs)
        return float(frame["topic_similarity"].iloc[0])

    before = ("2026-10-09 23:59:59", "pasta recipes tonight")
    assert score(before) > 0
    # posts at and after the start (and the brand's later campaign) change nothing
    later = score(before, ("2026-10-10 00:00:00", "controller arena esports"), ("2026-10-20", "x"))
    assert later == score(before)
    # a post before the window is not read either
    assert score(("2026-06-01", "pasta pasta")) == 0.0


def test_backtest_without_any_outcome_still_says_so() -> None:
    rows = _rows(5)
    rows["realised_cpe_usd"] = None
    result = km.backtest(rows, {"topic_similarity": 1.0}, min_rows=40)
    assert list(result["scorer"]) == ["model", "hand_weighted"]
    assert (result["train_rows"] == 0).all() and result["spearman"].isna().all()


def test_the_design_reads_only_the_platform_and_the_listed_inputs() -> None:
    # predictions_in_batches fetches only these columns of the candidates, and the training
    # fingerprint hashes them: a feature read from another column would miss both
    frame = _rows(6)
    pd.testing.assert_frame_equal(
        km.design(frame[["platform", *km.DESIGN_INPUTS]]), km.design(frame)
    )


def test_niche_relations_map_to_their_affinity_and_anything_else_is_unknown() -> None:
    frame = _rows(5).assign(niche_relation=["same", "adjacent", "unrelated", None, "other"])
    niche = km.design(frame)["niche_affinity"].to_numpy()
    np.testing.assert_array_equal(niche, [1.0, 0.5, 0.0, np.nan, np.nan])


def test_brands_are_batched_in_order_up_to_the_batch_size() -> None:
    counts = [("a", 3), ("b", 4), ("c", 2), ("d", 9), ("e", 1)]
    # 3+4 = 7 > 6 starts a new batch at b; 4+2 = 6 fits; d alone is over the size
    assert km.brand_batches(counts, 6) == [["a"], ["b", "c"], ["d"], ["e"]]
    assert km.brand_batches(counts, 100) == [["a", "b", "c", "d", "e"]]
    assert km.brand_batches([], 6) == []


def test_batched_predictions_equal_the_whole_frame_scored_at_once() -> None:
    import duckdb

    record = km.trained(_rows(120), 40)
    candidates = pd.concat(
        [_rows(7, seed=s).assign(brand_id=f"b{s}", campaign_id=None) for s in range(1, 6)]
    ).reset_index(drop=True)
    # every niche relation, an unknown one, every platform and a missing fee: the batches are
    # read through Arrow, the whole frame as Python objects, and both must score alike
    candidates["niche_relation"] = (["same", "adjacent", "unrelated", None, "weird"] * 7)[:35]
    candidates["platform"] = (list(km.PLATFORMS) * 7)[:35]
    candidates.loc[3, "fee_usd"] = None
    session = duckdb.connect()
    relation = session.from_df(candidates)
    batched = km.predictions_in_batches(session, record, relation, batch_rows=10).df()
    assert len(batched) == 35
    # 7 candidates a brand, 10 a batch: one brand a batch, five batches
    assert km.brand_batches(
        relation.aggregate("brand_id, count(*)", "brand_id").order("brand_id").fetchall(), 10
    ) == [[f"b{s}"] for s in range(1, 6)]
    whole = km.predictions(record, km.stable(candidates.reset_index(drop=True)))
    key = ["brand_id", "creator_id", "platform"]
    pd.testing.assert_frame_equal(
        batched.sort_values(key).reset_index(drop=True),
        whole.sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    # no stored model: no rows, the mart's hand-weighted score applies
    assert km.predictions_in_batches(session, km.trained(_rows(5), 40), relation).empty
