"""The words of each post in the topic caption window: one row per post an account's topic
document holds as of D (kol_matching.caption_window), with its text's md5 and its words and
their counts, tokenised as kol_matching tokenises a document.

An account's document is its window posts' texts joined by spaces, so its word counts are the
sum of its posts' counts: int_brand_creator_topic_similarity sums these instead of tokenising
every changed account's document again each day (at agency size with a year of history, most
accounts change daily and their documents hold 1.5M posts; the day adds ~17k). A post is
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
MATCHED = "platform, post_id, creator_id, published_at, text_md5"
TODO = "int_post_words_counted__todo"
COUNTED = "int_post_words_counted__counted"
BATCH = "int_post_words_counted__batch"
# posts per tokenising batch: ~50 MB of pandas strings and Python lists
BATCH_ROWS = 100_000
SCHEMA = pa.schema(
    [
        ("platform", pa.string()),
        ("post_id", pa.string()),
        ("creator_id", pa.string()),
        ("published_at", pa.timestamp("us")),
        ("text_md5", pa.string()),
        ("words", pa.list_(pa.string())),
        ("counts", pa.list_(pa.int32())),
    ]
)


def counted(frame: pd.DataFrame) -> pa.Table:
    """The batch's posts with their words and counts (empty lists for a post without words)."""
    tallies = word_counts(frame["text"].fillna("").tolist())
    return pa.Table.from_pydict(
        {
            "platform": frame["platform"].tolist(),
            "post_id": frame["post_id"].tolist(),
            "creator_id": frame["creator_id"].tolist(),
            "published_at": frame["published_at"].tolist(),
            "text_md5": frame["text_md5"].tolist(),
            "words": [words for words, _ in tallies],
            "counts": [counts for _, counts in tallies],
        },
        schema=SCHEMA,
    )


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        # one string, not a list: dbt-duckdb deletes with a semi join (see the topic model)
        unique_key="platform, post_id",
    )
    window = (
        dbt.ref("int_posts_unioned")
        .filter(caption_window(build_run_date(dbt), int(dbt.config.get("caption_window_days"))))
        .project(
            "platform, post_id, creator_id, published_at, "
            f"md5({POST_TEXT}) as text_md5, {POST_TEXT} as text"
        )
    )
    session.execute(
        f"create or replace temp table {COUNTED} (platform varchar, post_id varchar, "
        "creator_id varchar, published_at timestamp, text_md5 varchar, words varchar[], "
        "counts integer[])"
    )
    if dbt.is_incremental:
        stored = session.sql(f"select {MATCHED} from {dbt.this}")
        gone = stored.join(window.project(", ".join(KEY)), ", ".join(KEY), how="anti")
        gone.query(
            "gone",
            f"insert into {COUNTED} (platform, post_id) select platform, post_id from gone",
        )
        window = window.join(stored, MATCHED, how="anti")
    window.query(
        "todo",
        f"create or replace temp table {TODO} as select row_number() over () as n, * from todo",
    )
    (total,) = session.sql(f"select count(*) from {TODO}").fetchall()[0]
    for start in range(0, total, BATCH_ROWS):
        batch = session.sql(
            f"select * exclude (n) from {TODO} where n > {start} and n <= {start + BATCH_ROWS}"
        ).df()
        session.register(BATCH, counted(batch))
        session.execute(f"insert into {COUNTED} select * from {BATCH}")
        session.unregister(BATCH)
    session.execute(f"drop table {TODO}")
    return session.table(COUNTED)
