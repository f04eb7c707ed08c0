"""VADER over worker processes (dbt_project/python/kol_sentiment.py): the same scores, in the
same order, whatever the number of workers; a worker that dies fails the model loudly."""

from __future__ import annotations

import sys

import pytest
from python_models import load_model

TEXTS = [
    "I love this, amazing!",
    "This is terrible",
    "🔥🔥",
    "Me encanta este precioso",
    "",
    "nice pic",
    "とても可愛い",
    "meh, not great",
    "two\nlines, love it",  # a newline inside a text must not split the line protocol
    "odd \ud800 bytes",  # a lone surrogate (from a bad decode) still round-trips
]


@pytest.fixture(scope="module")
def ks():
    load_model("int_comment_sentiment")  # puts dbt_project/python on sys.path, as dbt does
    import kol_sentiment

    return kol_sentiment


@pytest.fixture
def started(ks, monkeypatch):
    """Small batches go to workers here (the real floor is 20k texts a worker); counts them."""
    monkeypatch.setattr(ks, "MIN_TEXTS_PER_WORKER", 50)
    monkeypatch.setattr(ks, "CHUNK", 30)  # several chunks per worker, as in a real batch
    calls = []
    real = ks._start_worker

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(ks, "_start_worker", counting)
    return calls


def test_workers_give_the_scores_of_one_process_in_order(ks, started):
    texts = [f"{t} {i}" if i % 3 else t for i, t in enumerate(TEXTS * 32)]  # 320 texts
    alone = ks.score_here(texts)
    # 223 distinct texts (every third is one of TEXTS again): 8 chunks of 30, dealt to 3
    assert ks.score_texts(texts, workers=3) == alone
    assert len(started) == 2  # this process scores every third chunk, two workers the rest
    assert {lang for lang, _ in alone} == {"en", "none", "other"}
    assert all((c is None) == (lang == "other") for lang, c in alone)


def test_a_batch_too_small_for_workers_is_scored_here(ks, started):
    texts = [f"{t} {i}" for i, t in enumerate(TEXTS * 9)]
    assert ks.score_texts(texts, workers=4) == ks.score_here(texts)  # 90 < 2 x 50
    assert started == []


def test_each_distinct_text_is_scored_once_and_every_copy_gets_its_score(ks, monkeypatch):
    """A day repeats its comments ("🔥🔥", "love it", a bot's spam): the scorer reads each
    distinct text once and hands its score to every copy, in the batch's order."""
    texts = ["love it", "🔥🔥", "love it", "This is terrible", "🔥🔥", "love it", None, ""]
    one_by_one = [ks.score_here([t or ""])[0] for t in texts]
    scored = []
    real = ks.score_here

    def counting(batch, *args):
        scored.extend(batch)
        return real(batch, *args)

    monkeypatch.setattr(ks, "score_here", counting)
    assert ks.score_texts(texts, workers=1) == one_by_one
    assert scored == ["love it", "🔥🔥", "This is terrible", ""]  # None is the empty text
    assert one_by_one[0][1] > 0.05 > -0.05 > one_by_one[3][1]  # not one score for all


def test_a_worker_that_dies_fails_the_model_with_what_to_do(ks, started, monkeypatch):
    def dying():
        code = "import sys; sys.stdin.read(); sys.stderr.write('lexicon missing\\n'); sys.exit(3)"
        return ks._popen([sys.executable, "-c", code])

    monkeypatch.setattr(ks, "_start_worker", dying)
    with pytest.raises(RuntimeError) as err:
        ks.score_texts([f"{t} {i}" for i, t in enumerate(TEXTS * 20)], workers=2)
    message = str(err.value)
    assert "exited with 3 before it answered: lexicon missing" in message
    assert "KOL_SENTIMENT_WORKERS=1" in message


@pytest.mark.parametrize(
    ("setting", "cpus", "expected"),
    [("", 2, 2), ("0", 8, 4), (None, 1, 1), ("3", 2, 3), (1, 16, 1)],
)
def test_worker_count(ks, setting, cpus, expected):
    assert ks.worker_count(setting, cpus) == expected


@pytest.mark.parametrize("setting", ["two", "-1", "1.5"])
def test_a_bad_worker_count_is_a_clear_error(ks, setting):
    with pytest.raises(ValueError, match=r"KOL_SENTIMENT_WORKERS=.*whole number of processes"):
        ks.worker_count(setting, 2)


def test_the_model_scores_a_frame_through_the_module(ks):
    import pandas as pd

    model = load_model("int_comment_sentiment")
    frame = pd.DataFrame(
        {"platform": ["x"] * 3, "comment_id": ["1", "2", "3"], "comment_text": [*TEXTS[:2], None]}
    )
    out = model.score(frame, workers=2)
    assert list(out["comment_id"]) == ["1", "2", "3"]
    assert out["compound"].iloc[0] > 0.05 > -0.05 > out["compound"].iloc[1]
    assert out["language_guess"].iloc[2] == "none" and bool(out["is_scored"].iloc[2])


def test_comments_are_scored_a_batch_at_a_time_with_the_scores_of_one_pass(ks, monkeypatch):
    """A full refresh scores every comment ever landed: Python must hold one batch, not all."""
    import duckdb

    model = load_model("int_comment_sentiment")
    con = duckdb.connect()
    con.execute(
        "create table comments (platform varchar, comment_id varchar, comment_text varchar)"
    )
    texts = TEXTS[:-1]  # a lone surrogate never comes out of DuckDB
    rows = [("x" if i % 2 else "tiktok", f"c{i}", text) for i, text in enumerate(texts)]
    con.executemany("insert into comments values (?, ?, ?)", rows)
    whole = model.score(con.sql("select * from comments").df(), workers=1)
    seen = []
    real = model.score

    def spy(frame, workers, scored_on=None):
        seen.append(len(frame))
        return real(frame, workers, scored_on)

    monkeypatch.setattr(model, "score", spy)
    out = model.score_in_batches(
        con, con.sql("select * from comments"), workers=1, scored_on="2026-11-25", batch_rows=4
    )
    assert seen == [4, 4, 1]  # 9 comments, 4 at a time
    # every row carries the build's run date: a daily build's data tests check only these
    assert out.query("s", "select distinct scored_on::varchar from s").fetchall() == [
        ("2026-11-25",)
    ]
    got = out.order("comment_id").df().reset_index(drop=True)
    want = whole.sort_values("comment_id").reset_index(drop=True)
    assert got["comment_id"].tolist() == want["comment_id"].tolist()
    assert got["platform"].tolist() == want["platform"].tolist()
    assert got["language_guess"].tolist() == want["language_guess"].tolist()
    assert got["is_scored"].tolist() == want["is_scored"].tolist()
    assert got["compound"].fillna(9).tolist() == want["compound"].fillna(9).tolist()
    # what the model returns reads the scores, and the comments' staging table is gone
    tables = con.sql("select table_name from duckdb_tables() where temporary").fetchall()
    assert tables == [("int_comment_sentiment__scored",)]


def test_the_comments_scored_already_are_found_among_recent_old_and_undated_scores():
    """A daily build finds which of its comments hold a score: written lately, long ago or
    before scored_on existed (NULL), dated by the comment's creation or not (NULL), on the same
    platform; a new comment, or one id on another platform, is not found. The hand run's single
    look-up finds the same keys, and the look-up's temporary tables are what the model drops."""
    import duckdb

    model = load_model("int_comment_sentiment")
    con = duckdb.connect()
    con.execute(
        "create table scores (platform varchar, comment_id varchar, scored_on date,"
        " published_at timestamp);"
        "insert into scores values"
        " ('x', 'recent', date '2026-11-20', timestamp '2026-11-19 10:00'),"
        " ('x', 'old', date '2025-01-02', timestamp '2025-01-01 08:00'),"
        " ('x', 'undated', null, null), ('x', 'old_undated', date '2025-03-01', null),"
        " ('x', 'not_asked', date '2026-11-24', timestamp '2026-11-24 09:00')"
    )
    con.execute(
        "create table day (platform varchar, comment_id varchar, published_at timestamp);"
        "insert into day values ('x', 'recent', timestamp '2026-11-19 10:00'),"
        " ('x', 'old', timestamp '2025-01-01 08:00'), ('x', 'undated', timestamp '2024-05-05'),"
        " ('x', 'old_undated', timestamp '2025-02-27'), ('x', 'new', timestamp '2026-11-25 07:00'),"
        " ('tiktok', 'recent', timestamp '2026-11-25 07:00')"
    )
    want = [("x", "old"), ("x", "old_undated"), ("x", "recent"), ("x", "undated")]
    daily = model.already_scored(con, "scores", con.table("day"), "2026-11-25", 45)
    assert sorted(daily.fetchall()) == want
    by_hand = model.already_scored(con, "scores", con.table("day"), "", None)
    assert sorted(by_hand.fetchall()) == want
    temporary = con.sql("select table_name from duckdb_tables() where temporary order by 1")
    assert temporary.fetchall() == sorted([(model.CANDIDATES,), (model.FOUND,), (model.UNFOUND,)])


def test_scores_from_before_published_at_get_their_comments_creation_times_once():
    """An old table's scores are dated by their comments' creation times (a score whose comment
    is gone keeps NULL); the second call leaves the table as it is."""
    import duckdb

    model = load_model("int_comment_sentiment")
    con = duckdb.connect()
    con.execute(
        "create table scores (platform varchar, comment_id varchar, compound double);"
        "insert into scores values ('x', 'a', 0.5), ('tiktok', 'a', -0.5), ('x', 'gone', 0.1);"
        "create table comments (platform varchar, comment_id varchar, published_at timestamp,"
        " comment_text varchar);"
        "insert into comments values ('x', 'a', timestamp '2026-01-02 03:04:05', 'hi'),"
        " ('tiktok', 'a', timestamp '2025-12-31 23:59:59', 'yo')"
    )
    for _ in range(2):
        model.date_scores_by_creation(con, "scores", con.table("comments"))
        rows = con.sql(
            "select platform, comment_id, compound, published_at::varchar from scores order by all"
        ).fetchall()
        assert rows == [
            ("tiktok", "a", -0.5, "2025-12-31 23:59:59"),
            ("x", "a", 0.5, "2026-01-02 03:04:05"),
            ("x", "gone", 0.1, None),
        ]
    views = con.sql("select view_name from duckdb_views() where not internal").fetchall()
    assert views == []  # the comments it read were a view of the call
