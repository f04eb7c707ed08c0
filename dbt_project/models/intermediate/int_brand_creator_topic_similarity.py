"""Topic similarity between each brand and each creator account (kol_matching.TopicSpace).

Brand document: the brand's category + every campaign's name, brief and hashtag. Account
document: the captions and hashtags of its posts published in the last
`match_caption_window_days` days as of the run date. TF-IDF learned from the brand documents
only, so a pair depends on its two documents and the brands' corpus alone: incremental
(delete+insert on the account), a build recomputes the accounts whose document changed (its
md5, `account_fingerprint`) and every account when the brands' corpus changed
(`brands_fingerprint`); accounts without posts in the window any more leave a marker row
(brand_id NULL) that deletes their pairs and that the post-hook removes.

The rows go to a temporary table a batch of accounts at a time (`store_pairs`), and the model
returns a relation over it: at agency size a build writes 670 brands x 19k accounts = 12.7M
pairs, which as one pandas frame of strings peaked at 5 GB.
"""

import hashlib
import os
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
from kol_matching import TOPIC_VERSION, similarity_matrix, to_pandas, topic_space

KEY = ["platform", "creator_id"]
PAIRS = "int_brand_creator_topic_similarity__pairs"
DOCUMENTS = "int_brand_creator_topic_similarity__documents"
# accounts per similarity batch: 2,000 x ~700 brands = 1.4M pairs (~35 MB of numbers)
ACCOUNTS_PER_BATCH = 2_000
SQL_TYPES = {"string": "varchar", "float64": "double"}
COLUMNS = {
    "brand_id": "string",
    "platform": "string",
    "creator_id": "string",
    "topic_similarity": "float64",
    "account_fingerprint": "string",
    "brands_fingerprint": "string",
}


def brand_documents(brands: pd.DataFrame, campaigns: pd.DataFrame) -> pd.DataFrame:
    """brand_id, document (category + the brand's campaign texts, sorted: a fixed text for a
    fixed set of campaigns, whatever order the engine returns them in)."""
    texts = campaigns[["campaign_name", "brief", "hashtag"]].fillna("").astype(str)
    text = texts["campaign_name"] + " " + texts["brief"] + " " + texts["hashtag"]
    joined = text.groupby(campaigns["brand_id"]).agg(lambda t: " ".join(sorted(t)))
    out = brands[["brand_id"]].copy()
    out["document"] = (
        brands["category"].fillna("") + " " + brands["brand_id"].map(joined).fillna("")
    )
    return out.sort_values("brand_id", kind="stable").reset_index(drop=True)


def brands_fingerprint(documents: pd.DataFrame) -> str:
    blob = "\n".join(
        [
            TOPIC_VERSION,
            *(
                f"{b}\t{d}"
                for b, d in zip(documents["brand_id"], documents["document"], strict=True)
            ),
        ]
    )
    return hashlib.md5(blob.encode()).hexdigest()


def store_pairs(
    session, brands: pd.DataFrame, accounts: pd.DataFrame, fingerprint: str, space
) -> None:
    """brands x `accounts` pairs appended to the temporary table PAIRS, ACCOUNTS_PER_BATCH
    accounts at a time. Python hands DuckDB numbers only (account and brand positions, the
    similarity); DuckDB joins the names on. 12.7M pairs as pandas strings took 5 GB at agency
    size, over the 4 GB a day must fit in."""
    session.register("kol_topic_brands", brands_by_position(brands))
    for start in range(0, len(accounts), ACCOUNTS_PER_BATCH):
        part = accounts.iloc[start : start + ACCOUNTS_PER_BATCH]
        similarity = similarity_matrix(space, list(part["document"]))
        n_accounts, n_brands = similarity.shape
        session.register(
            "kol_topic_accounts",
            pd.DataFrame(
                {
                    "account_n": np.arange(n_accounts, dtype="int32"),
                    "platform": part["platform"].to_numpy(dtype="object"),
                    "creator_id": part["creator_id"].to_numpy(dtype="object"),
                    "account_fingerprint": part["account_fingerprint"].to_numpy(dtype="object"),
                }
            ),
        )
        session.register(
            "kol_topic_scores",
            pd.DataFrame(
                {
                    "account_n": np.repeat(np.arange(n_accounts, dtype="int32"), n_brands),
                    "brand_n": np.tile(np.arange(n_brands, dtype="int32"), n_accounts),
                    "topic_similarity": np.asarray(similarity, dtype="float64").ravel(),
                }
            ),
        )
        session.execute(
            f"insert into {PAIRS} select b.brand_id, a.platform, a.creator_id, "
            "s.topic_similarity, a.account_fingerprint, ? from kol_topic_scores as s "
            "join kol_topic_accounts as a on a.account_n = s.account_n "
            "join kol_topic_brands as b on b.brand_n = s.brand_n",
            [fingerprint],
        )
        for view in ("kol_topic_accounts", "kol_topic_scores"):
            session.unregister(view)
    session.unregister("kol_topic_brands")


def brands_by_position(brands: pd.DataFrame) -> pd.DataFrame:
    """brand_n (the brand's column in the similarity matrix), brand_id."""
    return pd.DataFrame(
        {
            "brand_n": np.arange(len(brands), dtype="int32"),
            "brand_id": brands["brand_id"].to_numpy(dtype="object"),
        }
    )


def store_markers(session, gone: pd.DataFrame) -> None:
    """One row per account whose stored pairs must go: delete+insert on the account deletes
    them, the post-hook deletes the marker (brand_id NULL)."""
    if gone.empty:
        return
    session.register("kol_topic_gone", gone[KEY].astype("object").reset_index(drop=True))
    session.execute(f"insert into {PAIRS} (platform, creator_id) select * from kol_topic_gone")
    session.unregister("kol_topic_gone")


def pairs_table(session):
    """The empty temporary table the build's rows go to; returned as the model's relation."""
    columns = ", ".join(f"{name} {SQL_TYPES[kind]}" for name, kind in COLUMNS.items())
    session.execute(f"create or replace temp table {PAIRS} ({columns})")
    return session.table(PAIRS)


def to_recompute(
    current: pd.DataFrame, stored: pd.DataFrame, fingerprint: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(accounts to compute, accounts whose pairs go): all current ones when the brands'
    corpus changed, else those whose document is new or changed; gone = stored, not current."""
    stored_keys = stored[KEY].drop_duplicates()
    gone = stored_keys.merge(current[KEY], on=KEY, how="left", indicator=True)
    gone = gone[gone["_merge"] == "left_only"][KEY]
    if stored.empty or (stored["brands_fingerprint"] != fingerprint).any():
        return current, gone
    same = current.merge(
        stored[[*KEY, "account_fingerprint"]].drop_duplicates(),
        on=[*KEY, "account_fingerprint"],
        how="left",
        indicator=True,
    )
    return current[(same["_merge"] == "left_only").to_numpy()], gone


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        # one string, not a list: dbt-duckdb then deletes with `(platform, creator_id) in
        # (select ...)`, a semi join; a list becomes `delete ... using`, which joins every
        # stored pair with each of its account's 700 new rows (30x the CPU at agency size)
        unique_key="platform, creator_id",
    )
    # D as in the run_date() macro: --vars run_date, else KOL_RUN_DATE (set by the build, read
    # here at run time so a new D keeps dbt's partial parse), else yesterday (UTC)
    run_date = (
        dbt.config.get("run_date")
        or os.environ.get("KOL_RUN_DATE")
        or str((datetime.now(UTC) - timedelta(days=1)).date())
    )
    window_days = int(dbt.config.get("caption_window_days"))
    documents = brand_documents(
        to_pandas(dbt.ref("stg_exports__brands")), to_pandas(dbt.ref("stg_exports__campaigns"))
    )
    fingerprint = brands_fingerprint(documents)
    space = topic_space(list(documents["document"])) if len(documents) else None
    account_docs = (
        dbt.ref("int_posts_unioned")
        .filter(
            f"published_at <= cast('{run_date}' as timestamp) + interval 1 day "
            f"and published_at > cast('{run_date}' as timestamp) + interval 1 day "
            f"- to_days({window_days}) and first_seen_date <= cast('{run_date}' as date)"
        )
        # hashtags sorted: an engine may give a post's list in another order, and the
        # document's md5 (account_fingerprint) must not depend on which engine built it
        .project(
            "platform, creator_id, coalesce(caption, '') || ' ' || "
            "coalesce(array_to_string(list_sort(hashtags), ' '), '') as text"
        )
        .aggregate(
            "platform, creator_id, string_agg(text, ' ' order by text) as document",
            "platform, creator_id",
        )
        .project("platform, creator_id, document, md5(document) as account_fingerprint")
    )
    todo = None  # the accounts whose pairs this build computes, with their documents
    if space is None:  # no brand, or no word in any brand document: no pair
        current = pd.DataFrame(
            {name: pd.Series(dtype="string") for name in [*KEY, "account_fingerprint"]}
        )
    else:
        # built once: the fingerprints and then the changed accounts' documents both read it
        # (built twice, the second pass over the window's posts cost 2 s of a year's daily
        # build at agency size)
        account_docs.query(
            "account_docs",
            f"create or replace temp table {DOCUMENTS} as select * from account_docs",
        )
        account_docs = session.table(DOCUMENTS)
        if not dbt.is_incremental:  # every account: its document at once
            todo = account_docs.df()
        else:  # fingerprints first: unchanged documents never reach pandas
            current = account_docs.project("platform, creator_id, account_fingerprint").df()
    out = pairs_table(session)
    if dbt.is_incremental:
        stored = session.sql(
            "select distinct platform, creator_id, account_fingerprint, brands_fingerprint "
            f"from {dbt.this}"
        ).df()
        current, gone = to_recompute(current, stored, fingerprint)
        store_markers(session, gone)
        if not current.empty:
            wanted = session.from_df(current[KEY].astype("object"))
            todo = account_docs.join(wanted, "platform, creator_id", how="semi").df()
    if space is not None:
        session.execute(f"drop table {DOCUMENTS}")
    if todo is None or todo.empty:
        return out
    todo = todo.sort_values(KEY, kind="stable").reset_index(drop=True)
    store_pairs(session, documents, todo, fingerprint, space)
    return out
