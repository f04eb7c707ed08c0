"""The brand x creator topic similarity (dbt Python model code) on real DuckDB relations."""

from __future__ import annotations

from datetime import datetime
from types import SimpleNamespace

import duckdb
import pandas as pd
import pytest
from python_models import load_model


@pytest.fixture(scope="module")
def topic():
    return load_model("int_brand_creator_topic_similarity")


WORDS_COUNTED = "int_post_words_counted__counted"  # the parent's build, as dbt leaves it
POSTS_TABLE = (
    "create table int_posts_unioned (platform varchar, post_id varchar, creator_id varchar, "
    "caption varchar, hashtags varchar[], published_at timestamp, first_seen_date date)"
)


class _Config:
    """dbt's `dbt.config`: callable to set the materialization, `.get` for the model's config."""

    def __init__(self) -> None:
        self.settings = {"run_date": "2026-11-24", "caption_window_days": 90}

    def __call__(self, **_: object) -> None:
        return None

    def get(self, key: str) -> object:
        return self.settings.get(key)


def _dbt(con: duckdb.DuckDBPyConnection, this: str | None = None) -> SimpleNamespace:
    """dbt's Python-model object: a first build, or an incremental one over table `this`."""
    return SimpleNamespace(
        ref=con.table, config=_Config(), is_incremental=this is not None, this=this
    )


def _build(topic, con: duckdb.DuckDBPyConnection, this: str | None = None) -> pd.DataFrame:
    """The model's rows (it returns a relation over a temporary table the next build
    replaces), after its parent int_post_words_counted is brought to D's window as a daily
    build brings it (incremental once it exists)."""
    _count_words(con)
    return topic.model(_dbt(con, this), con).df()


def _count_words(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """int_post_words_counted as dbt-duckdb keeps it: created by a first build, then
    delete+insert on 'platform, post_id' and the YAML's post-hook. Returns the build's rows."""
    words = load_model("int_post_words_counted")
    exists = con.execute(
        "select count(*) from duckdb_tables() where table_name = 'int_post_words_counted'"
    ).fetchall() == [(1,)]
    built = words.model(_dbt(con, "int_post_words_counted" if exists else None), con).df()
    con.register("words_built", built)
    if exists:
        con.execute(
            "delete from int_post_words_counted where (platform, post_id) in "
            "(select (platform, post_id) from words_built)"
        )
        con.execute("insert into int_post_words_counted select * from words_built")
    else:
        con.execute("create table int_post_words_counted as select * from words_built")
    con.execute("delete from int_post_words_counted where words is null")
    con.unregister("words_built")
    return built


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
    con.execute(POSTS_TABLE)
    at, seen = datetime(2026, 11, 20, 12), "2026-11-20"
    posts = [
        ("tiktok", "chef", "pasta recipes tonight", ["cook"]),
        ("youtube", "gamer", "esports arena controller review", ["play"]),
        ("x", "both", "pasta then esports", []),
        ("instagram", "techie", "laptop unboxing day", ["tech"]),
    ]
    for platform, creator, caption, tags in posts:
        con.execute(
            "insert into int_posts_unioned values (?, ?, ?, ?, ?, ?, ?)",
            [platform, f"p-{creator}", creator, caption, tags, at, seen],
        )
    con.execute(  # published after D: not in D's window, adds nothing
        "insert into int_posts_unioned values ('tiktok', 'p-late', 'chef', 'esports arena', [], "
        "timestamp '2026-11-26 10:00', date '2026-11-26')"
    )

    frame = _build(topic, con)

    score = {
        (r.brand_id, r.platform, r.creator_id): r.topic_similarity
        for r in frame.itertuples(index=False)
    }
    # the pairs above 0, once each: chef, gamer and techie share words with one brand each,
    # "both" with food (pasta) and gaming (esports); a pair without a common word is not stored
    assert len(frame) == 5
    best = {}
    for (brand, platform, creator), value in score.items():
        if value > best.get((platform, creator), ("", -1.0))[1]:
            best[(platform, creator)] = (brand, value)
    assert {k: v[0] for k, v in best.items() if k[1] != "both"} == {
        ("tiktok", "chef"): "b-food",
        ("youtube", "gamer"): "b-game",
        ("instagram", "techie"): "b-tech",
    }
    assert ("b-food", "youtube", "gamer") not in score
    assert ("b-game", "tiktok", "chef") not in score  # no word in common: 0, not stored
    assert 0 < score[("b-food", "x", "both")] < score[("b-food", "tiktok", "chef")] <= 100


def _world(con: duckdb.DuckDBPyConnection) -> None:
    """Two brands, four accounts with posts in D's window (and one only before it)."""
    con.execute("create table stg_exports__brands (brand_id varchar, category varchar)")
    con.execute("insert into stg_exports__brands values ('b-food', 'food'), ('b-game', 'gaming')")
    con.execute(
        "create table stg_exports__campaigns (brand_id varchar, campaign_name varchar, "
        "brief varchar, hashtag varchar)"
    )
    con.execute(
        "insert into stg_exports__campaigns values ('b-food', 'Dinner', 'recipes pasta', 'cook'),"
        " ('b-game', 'Arena', 'esports controller', 'play')"
    )
    con.execute(POSTS_TABLE)
    for creator, caption in [
        ("chef", "pasta recipes tonight"),
        ("gamer", "esports arena controller review"),
        ("both", "pasta then esports"),
        ("quiet", "pasta"),
    ]:
        con.execute(
            "insert into int_posts_unioned values "
            "('x', ?, ?, ?, [], '2026-11-20 12:00', '2026-11-20')",
            [f"p-{creator}", creator, caption],
        )


def _store(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, table: str = "stored") -> None:
    con.register("built", frame)
    con.execute(f"create or replace table {table} as select * from built")
    con.unregister("built")


def _apply_incremental(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    """What dbt-duckdb's delete+insert on unique_key 'platform, creator_id' and the YAML
    post-hook do."""
    _store(con, frame, "batch")
    con.execute(
        "delete from stored where (platform, creator_id) in "
        "(select (platform, creator_id) from batch)"
    )
    con.execute("insert into stored select * from batch")
    con.execute("delete from stored where brand_id is null")


def _rows(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    return con.execute(f"select * from {table} order by all").fetchall()


def test_an_incremental_build_recomputes_only_what_changed_and_equals_a_full_one(topic) -> None:
    con = duckdb.connect()
    _world(con)
    _store(con, _build(topic, con))
    # the pairs above 0: chef, quiet -> food; gamer -> gaming; both -> food and gaming
    assert con.execute("select count(*) from stored").fetchone() == (5,)
    # chef posts again, quiet's only post leaves the window, a new account appears; gamer and
    # both are unchanged
    con.execute(
        "insert into int_posts_unioned values ('x', 'p-chef-2', 'chef', 'esports night', [], "
        "'2026-11-23 09:00', '2026-11-23'), ('x', 'p-newbie', 'newbie', 'controller pasta', "
        "['cook'], '2026-11-23 10:00', '2026-11-23')"
    )
    con.execute(
        "update int_posts_unioned set published_at = '2026-08-01' where creator_id = 'quiet'"
    )

    frame = _build(topic, con, "stored")

    computed = set(frame.loc[frame["brand_id"].notna(), "creator_id"])
    assert computed == {"chef", "newbie"}  # gamer and both are kept as stored
    # the build leaves only its pairs' table (and its parent's) in the session
    temporary = con.execute("select table_name from duckdb_tables() where temporary").fetchall()
    assert sorted(temporary) == sorted([(topic.PAIRS,), (WORDS_COUNTED,)])
    assert list(frame.loc[frame["brand_id"].isna(), "creator_id"]) == ["quiet"]
    _apply_incremental(con, frame)
    _store(con, _build(topic, con), "full_build")
    assert _rows(con, "stored") == _rows(con, "full_build")  # exactly, not approximately
    assert con.execute("select count(*) from stored where creator_id = 'quiet'").fetchone() == (0,)

    # a new campaign changes the brands' corpus (so every IDF): every account is recomputed
    con.execute(
        "insert into stg_exports__campaigns values ('b-game', 'Speedrun', 'speedrun arena', 'run')"
    )
    frame = _build(topic, con, "stored")
    assert set(frame["creator_id"]) == {"chef", "gamer", "both", "newbie"}
    _apply_incremental(con, frame)
    _store(con, _build(topic, con), "full_build")
    assert _rows(con, "stored") == _rows(con, "full_build")
    before = dict(
        con.execute(
            "select creator_id, topic_similarity from stored where brand_id = 'b-food'"
        ).fetchall()
    )
    assert before["chef"] > 0

    # both's only post is edited to words no brand uses: its pairs drop to 0 and go (a marker
    # deletes them); with no pair stored it is recomputed each build and writes only a marker
    con.execute("update int_posts_unioned set caption = 'hello world' where creator_id = 'both'")
    frame = _build(topic, con, "stored")
    assert frame.loc[frame["creator_id"] == "both", "brand_id"].isna().all()
    _apply_incremental(con, frame)
    _store(con, _build(topic, con), "full_build")
    assert _rows(con, "stored") == _rows(con, "full_build")
    assert con.execute("select count(*) from stored where creator_id = 'both'").fetchone() == (0,)
    frame = _build(topic, con, "stored")
    assert list(frame["creator_id"]) == ["both"] and frame["brand_id"].isna().all()

    # nothing changed: nothing to write but that marker
    con.execute("delete from int_posts_unioned where creator_id = 'both'")
    assert _build(topic, con, "stored").empty


def test_without_a_brand_word_a_build_writes_no_pair_and_removes_the_stored_ones(topic) -> None:
    """No brand document holds a word (no TF-IDF space): a first build writes nothing, an
    incremental one marks every stored account so that its pairs go; neither leaves anything
    but the pairs' table behind in the session."""
    con = duckdb.connect()
    _world(con)
    _store(con, _build(topic, con))
    con.execute("delete from stg_exports__campaigns")
    con.execute("update stg_exports__brands set category = 'the'")  # a stop word only

    assert _build(topic, con).empty
    frame = _build(topic, con, "stored")
    assert frame["brand_id"].isna().all()
    assert sorted(frame["creator_id"]) == ["both", "chef", "gamer", "quiet"]
    temporary = con.execute("select table_name from duckdb_tables() where temporary").fetchall()
    assert sorted(temporary) == sorted([(topic.PAIRS,), (WORDS_COUNTED,)])


def test_accounts_scored_in_batches_give_the_rows_of_one_batch(topic, monkeypatch) -> None:
    """Pairs are written ACCOUNTS_PER_BATCH accounts at a time; names joined on in DuckDB
    must land on the right similarity whatever the batch boundaries."""
    con = duckdb.connect()
    _world(con)
    whole = _build(topic, con).sort_values(["platform", "creator_id", "brand_id"])
    monkeypatch.setattr(topic, "ACCOUNTS_PER_BATCH", 3)  # 4 accounts: batches of 3 and 1
    split = _build(topic, con).sort_values(["platform", "creator_id", "brand_id"])
    assert len(split) == 5
    pd.testing.assert_frame_equal(split.reset_index(drop=True), whole.reset_index(drop=True))
    by_pair = {(r.brand_id, r.creator_id): r.topic_similarity for r in split.itertuples()}
    assert by_pair[("b-food", "chef")] > 0 and ("b-game", "chef") not in by_pair
    assert by_pair[("b-game", "gamer")] > 0 and ("b-food", "gamer") not in by_pair
    assert by_pair[("b-food", "quiet")] > 0 and ("b-game", "quiet") not in by_pair
    types = dict(con.execute(f"describe {topic.PAIRS}").fetchall()[i][:2] for i in range(6))
    assert types == {
        "brand_id": "VARCHAR",
        "platform": "VARCHAR",
        "creator_id": "VARCHAR",
        "topic_similarity": "DOUBLE",
        "account_fingerprint": "VARCHAR",
        "brands_fingerprint": "VARCHAR",
    }


def test_past_contracts_read_only_the_posts_of_their_own_caption_windows() -> None:
    """A past contract's account document holds a post only when the contract's account
    published it within the 90 days before the start: [start - 90 days, start). Each post's
    caption is its id, so a document names the posts it read."""
    model = load_model("int_campaign_creator_topic_similarity")
    con = duckdb.connect()
    con.execute(
        "create table posts as select * from (values "
        "('x', 'a', 'p1', timestamp '2026-06-02 00:00:00', ['#h1']),"  # 90 days before a's start: in
        "('x', 'a', 'p2', timestamp '2026-06-01 23:59:59', []),"  # one second earlier: out
        "('x', 'a', 'p3', timestamp '2026-08-30 23:59:59', null),"  # the last second before: in
        "('x', 'a', 'p4', timestamp '2026-08-31 00:00:00', []),"  # at the start: out
        "('tiktok', 'a', 'p5', timestamp '2026-08-01 00:00:00', []),"  # a's other account: out
        "('x', 'b', 'p6', timestamp '2026-07-16 23:00:00', []),"  # before b's window (07-17 on)
        "('x', 'b', 'p7', timestamp '2026-10-01 00:00:00', ['#h7', '#k7']),"  # in b's window
        "('x', 'c', 'p8', timestamp '2026-08-01 00:00:00', [])"  # no contract: out
        ") as t(platform, creator_id, caption, published_at, hashtags)"
    )
    contracts = pd.DataFrame(
        {
            "campaign_id": ["k1", "k1", "k2"],
            "creator_id": ["a", "b", "a"],
            "platform": ["x", "x", "x"],
            "start_date": pd.to_datetime(["2026-08-31", "2026-10-15", "2026-08-31"]).date,
        }
    )
    docs = model.account_documents(con, con.table("posts"), contracts, 90)
    # one document per account and start (k1 and k2 share a's), its words in any order
    words = {
        (row.platform, row.creator_id, str(row.start.date())): sorted(row.document.split())
        for row in docs.itertuples()
    }
    assert words == {
        ("x", "a", "2026-08-31"): ["#h1", "p1", "p3"],
        ("x", "b", "2026-10-15"): ["#h7", "#k7", "p7"],
    }


def test_a_post_is_counted_once_and_the_table_follows_the_window() -> None:
    """int_post_words_counted: words and counts as the topic vectors tokenise (lowercase,
    English stop words and one-letter tokens out, hashtags part of the text); a daily build
    tokenises only the posts new to the window or changed, marks the ones that left, and
    leaves the rows a full refresh gives."""
    con = duckdb.connect()
    con.execute(POSTS_TABLE)
    con.execute(
        "insert into int_posts_unioned values "
        "('x', 'p1', 'chef', 'Pasta pasta AND the Café', ['zeta', 'café'], "
        "'2026-11-20 12:00', '2026-11-20'),"
        "('x', 'p2', 'chef', '!!! a', null, '2026-11-21 08:00', '2026-11-21'),"
        "('x', 'p3', 'gamer', 'Esports arena', [], '2026-08-27 00:00:01', '2026-08-27'),"
        "('x', 'p4', 'gamer', 'too old', [], '2026-08-27 00:00:00', '2026-08-27'),"
        "('x', 'p5', 'gamer', 'seen later', [], '2026-11-20 00:00', '2026-11-25')"
    )
    first = _count_words(con)
    rows = {
        r.post_id: (r.creator_id, list(r.words), list(r.counts))
        for r in first.itertuples(index=False)
    }
    # D = 2026-11-24, 90 days: published after 2026-08-27 00:00 up to the end of D, seen by D
    assert rows == {
        "p1": ("chef", ["café", "pasta", "zeta"], [2, 2, 1]),
        "p2": ("chef", [], []),
        "p3": ("gamer", ["arena", "esports"], [1, 1]),
    }
    # the change key hashes the caption and the hashtags sorted, as the document joins them
    (expected,) = con.execute(
        "select hash('Pasta pasta AND the Café', ['café', 'zeta'])"
    ).fetchall()[0]
    assert first.set_index("post_id").loc["p1", "text_hash"] == expected

    # the next day: p3 leaves the window, p1's caption is edited, a post arrives; p2 stays
    con.execute("update int_posts_unioned set published_at = '2026-08-26' where post_id = 'p3'")
    con.execute("update int_posts_unioned set caption = 'Pasta night' where post_id = 'p1'")
    con.execute(
        "insert into int_posts_unioned values "
        "('x', 'p6', 'gamer', 'arena arena', [], '2026-11-24 23:59', '2026-11-24')"
    )
    daily = _count_words(con)
    assert sorted(daily["post_id"]) == ["p1", "p3", "p6"]  # p2 is neither read nor rewritten
    assert daily.set_index("post_id")["words"].isna().to_dict() == {
        "p1": False,
        "p3": True,
        "p6": False,
    }
    kept = con.execute(
        "select post_id, words, counts from int_post_words_counted order by post_id"
    ).fetchall()
    assert kept == [
        ("p1", ["café", "night", "pasta", "zeta"], [1, 1, 1, 1]),
        ("p2", [], []),
        ("p6", ["arena"], [2]),
    ]
    full = load_model("int_post_words_counted").model(_dbt(con), con).df()
    con.register("full_build", full)
    assert (
        con.execute("select * from int_post_words_counted order by post_id").fetchall()
        == con.execute("select * from full_build order by post_id").fetchall()
    )

    # nothing changed: nothing to tokenise, nothing to mark
    assert _count_words(con).empty


def test_an_accounts_summed_post_words_give_its_documents_vector_bit_for_bit(topic) -> None:
    """The topic vectors from the posts' summed word counts equal those of the account's
    document (its posts' texts joined by spaces) exactly: the same words, counts and order
    (words outside the brands' vocabulary count in the norm; accents sort after 'z')."""
    from kol_matching import POST_TEXT, account_vectors, topic_space

    con = duckdb.connect()
    con.execute(POSTS_TABLE)
    posts = [
        ("a", "Pasta night: pasta, éclairs and zebra cakes", ["cook", "dessert"]),
        ("a", "zebra ÉCLAIRS", ["cook"]),
        ("a", "", None),
        ("b", "controller review arena arena arena", ["play"]),
        ("b", "unrelated words only", []),
        ("c", "the and of", []),  # stop words only: a document without a word
    ]
    for n, (creator, caption, tags) in enumerate(posts):
        con.execute(
            "insert into int_posts_unioned values "
            "('x', ?, ?, ?, ?, '2026-11-20 12:00', '2026-11-20')",
            [f"p{n}", creator, caption, tags],
        )
    _count_words(con)
    space = topic_space(["pasta cook zebra éclairs dessert", "arena controller play esports"])
    accounts = pd.DataFrame({"platform": ["x", "x", "x"], "creator_id": ["a", "b", "c"]})
    from_words = topic.account_words(
        con, con.table("int_post_words_counted"), accounts, space
    ).toarray()
    documents = [
        " ".join(
            sorted(
                t
                for (t,) in con.execute(
                    f"select {POST_TEXT} from int_posts_unioned where creator_id = ?", [c]
                ).fetchall()
            )
        )
        for c in ["a", "b", "c"]
    ]
    from_documents = account_vectors(space, documents).toarray()
    assert from_words.tobytes() == from_documents.tobytes()
    assert from_words[0].any() and from_words[1].any() and not from_words[2].any()
