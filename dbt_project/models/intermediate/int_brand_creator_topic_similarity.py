"""Topic similarity between each brand and each creator account (kol_matching.TopicSpace).

Brand document: the brand's category + every campaign's name, brief and hashtag. Account
document: the captions and hashtags of its posts published in the last
`match_caption_window_days` days as of the run date, read as their words
(int_post_words_counted: a document's word counts are the sum of its posts'). TF-IDF learned
from the brand documents only, so a pair depends on its two documents and the brands' corpus
alone: incremental (delete+insert on the account), a build recomputes the accounts whose
document changed (`account_fingerprint`: the md5 of its posts' text hashes, sorted) and every
account when the brands' corpus changed (`brands_fingerprint`); accounts without posts in the
window any more leave a marker row (brand_id NULL) that deletes their pairs and that the
post-hook removes. Only pairs with a similarity above 0 are stored (58 % are 0 at agency
size: no brand word in the account's document); a reader takes a missing pair as 0, and an
account without any such pair gets a marker row too (it has no stored fingerprint, so it is
recomputed each build: cheap, it writes nothing).

The rows go to a temporary table a batch of accounts at a time (`store_pairs`), and the model
returns a relation over it: at agency size a full build scores 670 brands x 19k accounts =
12.7M pairs (5.3M above 0), which as one pandas frame of strings peaked at 5 GB.
"""

import hashlib

import numpy as np
import pandas as pd
from kol_matching import TOPIC_VERSION, to_pandas, topic_space, vectors_from_counts

KEY = ["platform", "creator_id"]
PAIRS = "int_brand_creator_topic_similarity__pairs"
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
    session,
    brands: pd.DataFrame,
    accounts: pd.DataFrame,
    vectors,
    fingerprint: str,
    space,
    incremental: bool = False,
) -> None:
    """The brand x `accounts` pairs with a similarity above 0 (`vectors`: the accounts' rows,
    in their order) appended to the temporary table PAIRS, ACCOUNTS_PER_BATCH accounts at a
    time; in an incremental build an account without any gets a marker row, which deletes its
    stored pairs. Python hands DuckDB numbers only (account and brand positions, the
    similarity); DuckDB joins the names on. 12.7M pairs as pandas strings took 5 GB at agency
    size, over the 4 GB a day must fit in; 58 % of them were 0, which a reader takes from a
    missing pair."""
    session.register("kol_topic_brands", brands_by_position(brands))
    for start in range(0, len(accounts), ACCOUNTS_PER_BATCH):
        part = accounts.iloc[start : start + ACCOUNTS_PER_BATCH]
        rows = vectors[start : start + ACCOUNTS_PER_BATCH]
        similarity = np.asarray((rows @ space.brands.T).todense(), dtype="float64") * 100.0
        account_n, brand_n = np.nonzero(similarity)
        session.register(
            "kol_topic_accounts",
            pd.DataFrame(
                {
                    "account_n": np.arange(len(part), dtype="int32"),
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
                    "account_n": account_n.astype("int32"),
                    "brand_n": brand_n.astype("int32"),
                    "topic_similarity": similarity[account_n, brand_n],
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
        if incremental:
            store_markers(session, part[~similarity.any(axis=1)])
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


def account_words(session, posts, accounts: pd.DataFrame, space):
    """The TF-IDF rows of `accounts` (platform, creator_id; one row each, in their order)
    from their posts' word counts (`posts`: int_post_words_counted), summed per account and
    word in DuckDB, each account's words in alphabetical order (vectors_from_counts)."""
    session.register(
        "kol_topic_wanted",
        accounts[KEY].astype("object").assign(account_n=np.arange(len(accounts), dtype="int64")),
    )
    session.register(
        "kol_topic_vocabulary",
        pd.DataFrame(
            {
                "word": list(space.vocabulary),
                "word_n": np.fromiter(space.vocabulary.values(), dtype="int64"),
            }
        ),
    )
    entries = posts.query(
        "kol_topic_posts",
        "with words as ("
        "select wanted.account_n, unnest(posts.words) as word, unnest(posts.counts) as n "
        "from kol_topic_posts as posts join kol_topic_wanted as wanted "
        "on posts.platform = wanted.platform and posts.creator_id = wanted.creator_id), "
        "summed as (select account_n, word, sum(n) as n from words group by account_n, word) "
        "select summed.account_n, coalesce(vocabulary.word_n, -1) as word_n, "
        "cast(summed.n as double) as n from summed "
        "left join kol_topic_vocabulary as vocabulary on vocabulary.word = summed.word "
        "order by summed.account_n, summed.word",
    ).fetchnumpy()
    for view in ("kol_topic_wanted", "kol_topic_vocabulary"):
        session.unregister(view)
    return vectors_from_counts(
        space, entries["account_n"], entries["word_n"], entries["n"], len(accounts)
    )


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        # one string, not a list: dbt-duckdb then deletes with `(platform, creator_id) in
        # (select ...)`, a semi join; a list becomes `delete ... using`, which joins every
        # stored pair with each of its account's 700 new rows (30x the CPU at agency size)
        unique_key="platform, creator_id",
    )
    documents = brand_documents(
        to_pandas(dbt.ref("stg_exports__brands")), to_pandas(dbt.ref("stg_exports__campaigns"))
    )
    fingerprint = brands_fingerprint(documents)
    space = topic_space(list(documents["document"])) if len(documents) else None
    # the window's posts as of D (int_post_words_counted holds exactly them)
    posts = dbt.ref("int_post_words_counted")
    if space is None:  # no brand, or no word in any brand document: no pair
        current = pd.DataFrame(
            {name: pd.Series(dtype="string") for name in [*KEY, "account_fingerprint"]}
        )
    else:
        current = posts.aggregate(
            "platform, creator_id, "
            "md5(string_agg(cast(text_hash as varchar), ' ' order by text_hash)) "
            "as account_fingerprint",
            "platform, creator_id",
        ).df()
    out = pairs_table(session)
    if dbt.is_incremental:
        stored = session.sql(
            "select distinct platform, creator_id, account_fingerprint, brands_fingerprint "
            f"from {dbt.this}"
        ).df()
        current, gone = to_recompute(current, stored, fingerprint)
        store_markers(session, gone)
    if space is None or current.empty:
        return out
    todo = current.sort_values(KEY, kind="stable").reset_index(drop=True)
    vectors = account_words(session, posts, todo, space)
    store_pairs(session, documents, todo, vectors, fingerprint, space, dbt.is_incremental)
    return out
