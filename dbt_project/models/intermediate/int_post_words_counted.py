"""The words of each post in the topic caption window: one row per post an account's topic
document holds as of D (kol_matching.caption_window), with a hash of its text's parts and its
words and their counts, tokenised as kol_matching tokenises a document.

An account's document is its window posts' texts joined by spaces, so its word counts are the
sum of its posts' counts: int_brand_creator_topic_similarity sums these instead of tokenising
every changed account's document again each day (at agency size with a year of history, most
accounts change daily and their documents hold 1.5M posts; the day adds ~14k). A post is
tokenised once: when it enters the window, or when its text, publication time or account
changes.

Incremental, delete+insert on the post: a build counts the window's posts not stored as they
are now; a stored post that left the window comes back as a marker row (`words` NULL) that
deletes its row and that the post-hook removes. After a build the table holds exactly the
window's posts.
"""

import pandas as pd
import pyarrow as pa
from kol_matching import POST_TEXT, build_run_date, caption_window, word_counts

KEY = ["platform", "post_id"]
# what a stored row must still match for the post to be kept as it is
MATCHED = ["platform", "post_id", "creator_id", "published_at", "text_hash"]
WINDOW = "int_post_words_counted__window"
TODO = "int_post_words_counted__todo"
COUNTED = "int_post_words_counted__counted"
BATCH = "int_post_words_counted__batch"
# posts per tokenising batch: ~50 MB of pandas strings and Python lists
BATCH_ROWS = 100_000
# a change key of the text's parts (DuckDB's hash, cheaper than an md5 of the text built for
# each of 1.5M window posts a day; the hashtags sorted, as POST_TEXT sorts them). A DuckDB
# whose hash differs recounts every post once and recomputes every account's pairs once.
TEXT_HASH = "hash(coalesce(caption, ''), coalesce(list_sort(hashtags), []))"
BATCH_SCHEMA = pa.schema(
    [("n", pa.int64()), ("words", pa.list_(pa.string())), ("counts", pa.list_(pa.int32()))]
)


def counted(frame: pd.DataFrame) -> pa.Table:
    """n (the post's row in TODO), its words and their counts (empty lists: no word). Only
    these cross into Python; DuckDB joins the post's columns back on."""
    tallies = word_counts(frame["text"].fillna("").tolist())
    return pa.Table.from_pydict(
        {
            "n": frame["n"].tolist(),
            "words": [words for words, _ in tallies],
            "counts": [counts for _, counts in tallies],
        },
        schema=BATCH_SCHEMA,
    )


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        # one string, not a list: dbt-duckdb deletes with a semi join (see the topic model)
        unique_key="platform, post_id",
        # a table of an older layout takes this one's columns (its posts are all counted again)
        on_schema_change="sync_all_columns",
    )
    # the window's posts once: the markers and the posts to count both read them
    dbt.ref("int_posts_unioned").filter(
        caption_window(build_run_date(dbt), int(dbt.config.get("caption_window_days")))
    ).query(
        "window_posts",
        f"create or replace temp table {WINDOW} as select platform, post_id, creator_id, "
        f"published_at, {TEXT_HASH} as text_hash, caption, hashtags from window_posts",
    )
    session.execute(
        f"create or replace temp table {COUNTED} (platform varchar, post_id varchar, "
        "creator_id varchar, published_at timestamp, text_hash ubigint, words varchar[], "
        "counts integer[])"
    )
    todo = session.table(WINDOW)
    if dbt.is_incremental:
        gone = session.sql(f"select platform, post_id from {dbt.this}").join(
            todo.project(", ".join(KEY)), ", ".join(KEY), how="anti"
        )
        gone.query(
            "gone",
            f"insert into {COUNTED} (platform, post_id) select platform, post_id from gone",
        )
        # a table of an older layout (without a column this build matches on) has every
        # window post counted again, replacing its rows
        if set(MATCHED) <= set(session.sql(f"select * from {dbt.this} limit 0").columns):
            stored = session.sql(f"select {', '.join(MATCHED)} from {dbt.this}")
            todo = todo.join(stored, ", ".join(MATCHED), how="anti")
    todo.query(
        "todo",
        f"create or replace temp table {TODO} as "
        # ordered by the text's hash, so a text many posts share falls in one batch and is
        # tokenised once (word_counts)
        f"select row_number() over (order by text_hash) as n, {', '.join(MATCHED)}, "
        f"{POST_TEXT} as text from todo",
    )
    session.execute(f"drop table {WINDOW}")
    (total,) = session.sql(f"select count(*) from {TODO}").fetchall()[0]
    for start in range(0, total, BATCH_ROWS):
        batch = session.sql(
            f"select n, text from {TODO} where n > {start} and n <= {start + BATCH_ROWS}"
        ).df()
        session.register(BATCH, counted(batch))
        session.execute(
            f"insert into {COUNTED} select {', '.join('todo.' + c for c in MATCHED)}, "
            f"batch.words, batch.counts from {BATCH} as batch join {TODO} as todo using (n)"
        )
        session.unregister(BATCH)
    session.execute(f"drop table {TODO}")
    return session.table(COUNTED)
