"""The brand x creator topic similarity (dbt Python model code) on real DuckDB relations."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import duckdb
import pytest
from python_models import load_model


@pytest.fixture(scope="module")
def topic():
    return load_model("int_brand_creator_topic_similarity")


class _Config:
    """dbt's `dbt.config`: callable to set the materialization, `.get` for the model's config."""

    def __init__(self) -> None:
        self.settings = {"run_date": "2026-11-24", "caption_window_days": 90}

    def __call__(self, **_: object) -> None:
        return None

    def get(self, key: str) -> object:
        return self.settings.get(key)


def _dbt(con: duckdb.DuckDBPyConnection) -> SimpleNamespace:
    return SimpleNamespace(ref=con.table, config=_Config())


def test_each_pair_gets_its_own_brands_and_creators_similarity(topic) -> None:
    con = duckdb.connect()
    con.execute("create table stg_exports__brands (brand_id varchar, category varchar)")
    con.execute(
        "insert into stg_exports__brands values ('b-food', 'food'), ('b-game', 'gaming'), "
        "('b-tech', 'laptops')"
    )
    con.execute(
        "create table stg_exports__campaigns (brand_id varchar, campaign_name varchar, "
        "brief varchar, hashtag varchar)"
    )
    con.execute(
        "insert into stg_exports__campaigns values ('b-food', 'Dinner', 'recipes pasta', 'cook'),"
        " ('b-game', 'Arena', 'esports controller', 'play'),"
        " ('b-tech', 'Unbox', 'laptop unboxing', 'tech')"
    )
    con.execute(
        "create table int_posts_unioned (platform varchar, creator_id varchar, caption varchar, "
        "hashtags varchar[], published_at timestamp, first_seen_date date)"
    )
    at, seen = datetime(2026, 11, 20, 12), "2026-11-20"
    posts = [
        ("tiktok", "chef", "pasta recipes tonight", ["cook"]),
        ("youtube", "gamer", "esports arena controller review", ["play"]),
        ("x", "both", "pasta then esports", []),
        ("instagram", "techie", "laptop unboxing day", ["tech"]),
    ]
    for platform, creator, caption, tags in posts:
        con.execute(
            "insert into int_posts_unioned values (?, ?, ?, ?, ?, ?)",
            [platform, creator, caption, tags, at, seen],
        )
    con.execute(  # published after D: not in D's window, adds nothing
        "insert into int_posts_unioned values ('tiktok', 'chef', 'esports arena', [], "
        "timestamp '2026-11-26 10:00', date '2026-11-26')"
    )

    frame = topic.model(_dbt(con), con)

    score = {
        (r.brand_id, r.platform, r.creator_id): r.topic_similarity
        for r in frame.itertuples(index=False)
    }
    assert len(frame) == 12  # 3 brands x 4 accounts, once each
    best = {}
    for (brand, platform, creator), value in score.items():
        if value > best.get((platform, creator), ("", -1.0))[1]:
            best[(platform, creator)] = (brand, value)
    assert {k: v[0] for k, v in best.items() if k[1] != "both"} == {
        ("tiktok", "chef"): "b-food",
        ("youtube", "gamer"): "b-game",
        ("instagram", "techie"): "b-tech",
    }
    assert score[("b-food", "tiktok", "chef")] > score[("b-game", "tiktok", "chef")]
    assert score[("b-game", "youtube", "gamer")] > score[("b-food", "youtube", "gamer")]
    assert score[("b-game", "tiktok", "chef")] == pytest.approx(0.0)  # no word in common
    assert 0 < score[("b-food", "x", "both")] < score[("b-food", "tiktok", "chef")] <= 100
