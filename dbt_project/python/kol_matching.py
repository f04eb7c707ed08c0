"""Brand x creator matching learned from past campaign outcomes (docs/matching.md).

Pure pandas + scikit-learn, so the same code serves the dbt Python models on any engine:
`to_pandas` is the only engine-specific call (a DuckDB relation has `.df()`, a Spark
DataFrame `.toPandas()`); the models return pandas frames and dbt writes them.

The model: a ridge regression (closed form: deterministic, no random state) of ln(cpe_usd)
on standardised features, mean-imputed where unknown. Being linear, a prediction splits
exactly into intercept + one contribution per feature, which are published grouped, so a
marketer sees why a creator ranks where it does.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

MODEL_VERSION = "logcpe_ridge_v1"
PLATFORMS = ("facebook", "instagram", "tiktok", "x", "youtube")
RIDGE_ALPHA = 1.0
# standardised values are clipped here when scoring: a candidate far outside what the past
# contracts showed (a brand-new account's engagement jump) cannot dominate its prediction
Z_CLIP = 3.0
TOP_K = 10

# model input column -> the published contribution group it counts towards
FEATURES: dict[str, str] = {
    "topic_similarity": "topic_similarity",
    "niche_affinity": "niche",
    "country_match": "country",
    "log_engagements_per_post": "engagement",
    "engagement_rate": "engagement",
    "engagement_trend": "engagement_trend",
    "log_followers": "audience_size",
    "comment_authenticity": "audience_quality",
    "sentiment_score": "sentiment",
    "log_fee_usd": "price",
    "log_past_cpe_usd": "price",
    **{f"platform_{p}": "platform" for p in PLATFORMS},
}
GROUPS: tuple[str, ...] = tuple(dict.fromkeys(FEATURES.values()))
# one ordered feature, so that the brand's own niche always counts more than an adjacent one
NICHE_AFFINITY = {"same": 1.0, "adjacent": 0.5, "unrelated": 0.0}


SIGNIFICANT_DIGITS = 10


def stable(frame: pd.DataFrame) -> pd.DataFrame:
    """Every float column rounded to SIGNIFICANT_DIGITS: an engine's parallel sums differ in
    the last bits from run to run, and a rank, a tie or a calibration step must not."""
    out = frame.copy()
    for name in out.columns:
        if pd.api.types.is_float_dtype(out[name]):
            v = out[name].to_numpy(dtype="float64")
            with np.errstate(divide="ignore", invalid="ignore"):
                magnitude = np.floor(np.log10(np.abs(v)))
            decimals = np.where(np.isfinite(magnitude), SIGNIFICANT_DIGITS - 1 - magnitude, 0)
            scale = np.power(10.0, decimals)
            out[name] = np.where(np.isfinite(v) & (v != 0), np.round(v * scale) / scale, v)
    return out


def to_pandas(relation: Any) -> pd.DataFrame:
    """The engine-neutral read: a DuckDB relation or a Spark DataFrame as pandas, floats
    made `stable`."""
    frame = relation.df() if hasattr(relation, "df") else relation.toPandas()
    return stable(frame)


def columns(relation: Any, names: list[str]) -> pd.DataFrame:
    """The named columns of a relation as pandas (DuckDB `project`, Spark `select`)."""
    if hasattr(relation, "project"):
        return to_pandas(relation.project(", ".join(names)))
    return to_pandas(relation.select(*names))


def _log(values: pd.Series) -> pd.Series:
    v = pd.to_numeric(values, errors="coerce").astype("float64")
    return np.log(v.where(v > 0))


# the raw feature columns `design` reads besides `platform`, in the order the training set's
# fingerprint lists them (both int_campaign_creator_features and the candidates carry them)
DESIGN_INPUTS = [
    "niche_relation",
    "country_match",
    "topic_similarity",
    "engagements_per_post",
    "engagement_rate",
    "engagement_trend",
    "followers",
    "comment_authenticity_score",
    "sentiment_score",
    "fee_usd",
    "past_cpe_usd",
]


def design(frame: pd.DataFrame) -> pd.DataFrame:
    """Model inputs from the feature columns of int_campaign_creator_features (training) or
    int_brand_creator_candidates (scoring): both carry the same raw feature names."""
    relation = frame["niche_relation"]
    niche = pd.Series(
        np.select(
            [(relation == name).to_numpy(dtype=bool, na_value=False) for name in NICHE_AFFINITY],
            list(NICHE_AFFINITY.values()),
            default=np.nan,
        ),
        index=frame.index,
    )
    country = pd.to_numeric(frame["country_match"], errors="coerce")
    out = pd.DataFrame(
        {
            "topic_similarity": pd.to_numeric(frame["topic_similarity"], errors="coerce"),
            "niche_affinity": niche,
            "country_match": country / 100.0,
            "log_engagements_per_post": np.log1p(
                pd.to_numeric(frame["engagements_per_post"], errors="coerce")
            ),
            "engagement_rate": pd.to_numeric(frame["engagement_rate"], errors="coerce"),
            "engagement_trend": pd.to_numeric(frame["engagement_trend"], errors="coerce"),
            "log_followers": np.log1p(pd.to_numeric(frame["followers"], errors="coerce")),
            "comment_authenticity": pd.to_numeric(
                frame["comment_authenticity_score"], errors="coerce"
            ),
            "sentiment_score": pd.to_numeric(frame["sentiment_score"], errors="coerce"),
            "log_fee_usd": _log(frame["fee_usd"]),
            "log_past_cpe_usd": _log(frame["past_cpe_usd"]),
        },
        index=frame.index,
    )
    platform = frame["platform"].astype("string")
    for p in PLATFORMS:
        out[f"platform_{p}"] = (platform == p).astype("float64")
    return out[list(FEATURES)].astype("float64")


@dataclass(frozen=True)
class Fitted:
    """A trained model: per-feature means and scales, coefficients, intercept, and the
    training targets (for calibrating fit_score)."""

    means: np.ndarray
    scales: np.ndarray
    coefs: np.ndarray
    intercept: float
    train_cpe: np.ndarray
    rows: int

    @property
    def fingerprint(self) -> str:
        """MODEL_VERSION + a hash of the learned numbers: same inputs, same fingerprint."""
        blob = np.concatenate([self.means, self.scales, self.coefs, [self.intercept]])
        digest = hashlib.sha256(np.round(blob, 9).tobytes()).hexdigest()[:12]
        return f"{MODEL_VERSION}+{digest}"


CONTRACT_KEY = ["campaign_id", "creator_id", "platform"]


def usable(training: pd.DataFrame) -> pd.DataFrame:
    """Training rows with a realised outcome (cpe_usd known and > 0), in contract order: an
    engine returns rows in any order, and the fit must not depend on it."""
    cpe = pd.to_numeric(training["realised_cpe_usd"], errors="coerce")
    rows = training[cpe.notna() & (cpe > 0)]
    return rows.sort_values(CONTRACT_KEY, kind="stable").reset_index(drop=True)


def fit(training: pd.DataFrame) -> Fitted:
    """Ridge regression of ln(realised_cpe_usd) on the standardised, mean-imputed design."""
    from sklearn.linear_model import Ridge

    rows = usable(training)
    x = design(rows).to_numpy()
    y = np.log(pd.to_numeric(rows["realised_cpe_usd"]).to_numpy(dtype="float64"))
    # a feature never known in training: mean 0, so it contributes nothing
    means = pd.DataFrame(x).mean(skipna=True).fillna(0.0).to_numpy(dtype="float64")
    z = np.where(np.isnan(x), means, x)
    scales = z.std(axis=0)
    scales = np.where(scales > 0, scales, 1.0)
    ridge = Ridge(alpha=RIDGE_ALPHA).fit((z - means) / scales, y)
    return Fitted(
        means=means,
        scales=scales,
        coefs=np.asarray(ridge.coef_, dtype="float64"),
        intercept=float(ridge.intercept_),
        train_cpe=np.sort(np.exp(y)),
        rows=len(rows),
    )


def contributions(model: Fitted, frame: pd.DataFrame) -> pd.DataFrame:
    """Per feature: coefficient x standardised value, clipped to +-Z_CLIP (0 for an unknown
    value = the training mean), in ln(CPE) units; columns per FEATURES key."""
    x = design(frame).to_numpy()
    z = np.where(np.isnan(x), model.means, x)
    standardised = np.clip((z - model.means) / model.scales, -Z_CLIP, Z_CLIP)
    parts = standardised * model.coefs
    return pd.DataFrame(parts, columns=list(FEATURES), index=frame.index)


def predict_log_cpe(model: Fitted, frame: pd.DataFrame) -> np.ndarray:
    return model.intercept + contributions(model, frame).sum(axis=1).to_numpy()


def calibrated_fit_score(model: Fitted, predicted_cpe: np.ndarray) -> np.ndarray:
    """100 x share of past placements (training rows) whose realised CPE was higher (worse)
    than the predicted one: 80 = expected to beat 80% of past campaign placements."""
    higher = len(model.train_cpe) - np.searchsorted(model.train_cpe, predicted_cpe, side="right")
    return 100.0 * higher / max(len(model.train_cpe), 1)


def score(model: Fitted, frame: pd.DataFrame) -> pd.DataFrame:
    """predicted_cpe_usd, fit_score and contribution_<group> (positive = lowers the
    predicted CPE, in ln units: exp(c) is the factor by which it divides it)."""
    parts = contributions(model, frame)
    log_cpe = model.intercept + parts.sum(axis=1).to_numpy()
    predicted = np.exp(log_cpe)
    values = parts.to_numpy()
    out: dict[str, np.ndarray] = {
        "predicted_cpe_usd": predicted,
        "fit_score": np.round(calibrated_fit_score(model, predicted), 6),
    }
    for group in GROUPS:
        cols = [i for i, g in enumerate(FEATURES.values()) if g == group]
        out[f"contribution_{group}"] = -values[:, cols].sum(axis=1)
    return pd.DataFrame(out, index=frame.index)


# ---- the hand-weighted baseline, as of a campaign's start (for the backtest) ----------------


def hand_weighted(frame: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    """brand_creator_matches' hand-weighted fit_score on the as-of-start counterparts of its
    components: topic_similarity, country_match, audience quality (comment_authenticity, the
    AQS component known as of a past date), engagement percentile (percent rank of
    engagements_per_post within the platform) and price efficiency (100 x (1 - percent rank
    of past_cpe_usd within the platform)); weights re-normalised over the known ones."""
    by_platform = frame.groupby("platform", dropna=False)
    engagement = by_platform["engagements_per_post"].rank(pct=True, method="average") * 100
    price = (1 - by_platform["past_cpe_usd"].rank(pct=True, method="average")) * 100
    components = {
        "topic_similarity": pd.to_numeric(frame["topic_similarity"], errors="coerce"),
        "country_match": pd.to_numeric(frame["country_match"], errors="coerce"),
        "audience_quality": pd.to_numeric(frame["comment_authenticity_score"], errors="coerce"),
        "engagement_percentile": engagement,
        "price_efficiency": price,
    }
    total = np.zeros(len(frame))
    weight = np.zeros(len(frame))
    for name, values in components.items():
        v = values.to_numpy(dtype="float64")
        known = ~np.isnan(v)
        total += np.where(known, weights.get(name, 0.0) * v, 0.0)
        weight += np.where(known, weights.get(name, 0.0), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan)


# ---- backtest metrics ---------------------------------------------------------------------


def spearman(a: np.ndarray, b: np.ndarray) -> float | None:
    """Spearman rank correlation (average ranks for ties); None below 3 pairs or no spread."""
    if len(a) < 3:
        return None
    ra = pd.Series(a).rank(method="average").to_numpy()
    rb = pd.Series(b).rank(method="average").to_numpy()
    if ra.std() == 0 or rb.std() == 0:
        return None
    return float(np.corrcoef(ra, rb)[0, 1])


def precision_at_k(score_better: np.ndarray, realised_better: np.ndarray, k: int = TOP_K) -> float:
    """Share of the k rows ranked best by the scorer that are among the k best realised
    (ties broken by position, so the result is deterministic)."""
    k = min(k, len(score_better))
    if k == 0:
        return math.nan
    top_score = set(np.argsort(-score_better, kind="stable")[:k])
    top_real = set(np.argsort(-realised_better, kind="stable")[:k])
    return len(top_score & top_real) / k


# ---- topic similarity: the brands' TF-IDF space ---------------------------------------------

# the text model's version: part of int_brand_creator_topic_similarity's fingerprints, so a
# change of the formula recomputes every stored pair
TOPIC_VERSION = "tfidf_brand_idf_v1"
_TEXT = {"lowercase": True, "stop_words": "english"}


@dataclass(frozen=True)
class TopicSpace:
    """TF-IDF learned from the brand documents only (vocabulary and IDF): an account's
    similarity to a brand then depends on the two documents and the brands' corpus, never on
    other accounts' documents, so stored pairs stay exact while only changed accounts are
    recomputed. A word no brand uses gets the IDF of a word in no document (it counts in the
    account's norm, not in any dot product)."""

    vocabulary: dict[str, int]
    idf: np.ndarray
    brands: Any  # scipy CSR, one L2-normalised row per brand document
    unseen_idf: float


def topic_space(brand_docs: list[str]) -> TopicSpace | None:
    """The space of these brand documents; None when they hold no word at all."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    vectoriser = TfidfVectorizer(sublinear_tf=True, **_TEXT)
    try:
        matrix = vectoriser.fit_transform(brand_docs)
    except ValueError:  # empty vocabulary
        return None
    matrix.sort_indices()
    return TopicSpace(
        vocabulary=dict(vectoriser.vocabulary_),
        idf=np.asarray(vectoriser.idf_, dtype="float64"),
        brands=matrix.tocsr(),
        unseen_idf=float(np.log(1 + len(brand_docs)) + 1),
    )


def account_vectors(space: TopicSpace, docs: list[str]) -> Any:
    """Accounts' TF-IDF rows in the brands' vocabulary (vectors_from_counts) from their
    documents. Each row is computed from its own document only, in a fixed word order, so a
    row is bit-for-bit the same in any batch."""
    from scipy import sparse
    from sklearn.feature_extraction.text import CountVectorizer

    if not docs:
        return sparse.csr_matrix((0, len(space.vocabulary)), dtype="float64")
    counts = CountVectorizer(**_TEXT)
    try:
        # one tokenising pass (fit, then transform, tokenises every document twice)
        matrix = counts.fit_transform(docs).astype("float64").tocsr()
    except ValueError:  # no word in any of these documents
        return sparse.csr_matrix((len(docs), len(space.vocabulary)), dtype="float64")
    matrix.sort_indices()  # each row's words in alphabetical order (the feature order)
    words = counts.get_feature_names_out()
    in_brands = np.array([space.vocabulary.get(w, -1) for w in words], dtype="int64")
    rows = np.repeat(np.arange(matrix.shape[0]), np.diff(matrix.indptr))
    return vectors_from_counts(space, rows, in_brands[matrix.indices], matrix.data, len(docs))


def vectors_from_counts(space: TopicSpace, rows: Any, words: Any, counts: Any, n_rows: int) -> Any:
    """Accounts' TF-IDF rows (sublinear tf x the brands' IDF) divided by the norm over ALL the
    account's words, from one entry per (account row, word): `words` is the word's column in
    the space (-1 for a word no brand uses: it counts in the norm only), `counts` its count in
    the account's document. Each row's entries in alphabetical word order, the order
    CountVectorizer gives: the norm then adds in the same order, and a row is bit-for-bit the
    one its document gives (account_vectors)."""
    from scipy import sparse

    rows = np.asarray(rows, dtype="int64")
    words = np.asarray(words, dtype="int64")
    idf = np.where(words >= 0, space.idf[np.maximum(words, 0)], space.unseen_idf)
    weights = (1.0 + np.log(np.asarray(counts, dtype="float64"))) * idf
    norms = np.sqrt(np.bincount(rows, weights=weights * weights, minlength=n_rows))
    keep = words >= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        values = weights[keep] / norms[rows[keep]]
    out = sparse.csr_matrix(
        (values, (rows[keep], words[keep])), shape=(n_rows, len(space.vocabulary))
    )
    out.sort_indices()
    return out


# ---- the accounts' documents as their posts' words --------------------------------------------

# a post's text in its account's topic document: caption and hashtags, the list sorted (an
# engine may give a post's list in another order, and a fingerprint must not depend on which
# engine built it). A document is its posts' texts joined by spaces, so its word counts are
# the sum of its posts' (a word never spans two texts: int_post_words_counted).
POST_TEXT = (
    "coalesce(caption, '') || ' ' || coalesce(array_to_string(list_sort(hashtags), ' '), '')"
)


def caption_window(run_date: str, window_days: int) -> str:
    """SQL filter on int_posts_unioned: the posts of an account's document as of D, published
    in the `window_days` days up to the end of D and first seen by D."""
    end = f"cast('{run_date}' as timestamp) + interval 1 day"
    return (
        f"published_at <= {end} and published_at > {end} - to_days({int(window_days)}) "
        f"and first_seen_date <= cast('{run_date}' as date)"
    )


def build_run_date(dbt: Any) -> str:
    """D as the run_date() macro reads it: --vars run_date (the model's `run_date` config),
    else KOL_RUN_DATE (set by the build and read at run time, so a new D keeps dbt's partial
    parse), else yesterday (UTC)."""
    import os
    from datetime import UTC, datetime, timedelta

    return (
        dbt.config.get("run_date")
        or os.environ.get("KOL_RUN_DATE")
        or str((datetime.now(UTC) - timedelta(days=1)).date())
    )


def word_counts(texts: Any) -> list[tuple[list[str], list[int]]]:
    """Each text's words in alphabetical order and their counts, tokenised as account_vectors
    tokenises a document: CountVectorizer's own preprocessor, tokenizer and stop words (what
    its word analyzer chains, without the n-gram step it runs per call for a unigram model);
    a text repeated within the call is tokenised once."""
    from sklearn.feature_extraction.text import CountVectorizer

    vectorizer = CountVectorizer(**_TEXT)
    preprocess, tokenize = vectorizer.build_preprocessor(), vectorizer.build_tokenizer()
    stop = vectorizer.get_stop_words() or frozenset()
    seen: dict[str, tuple[list[str], list[int]]] = {}
    out = []
    for text in texts:
        counted = seen.get(text)
        if counted is None:
            tokens = [t for t in tokenize(preprocess(text)) if t not in stop]
            words = sorted(set(tokens))
            counted = seen[text] = (words, [tokens.count(w) for w in words])
        out.append(counted)
    return out


def _time_keys(values: Any) -> Any:
    """Timestamps as int64 nanoseconds, for dict keys: pandas and DuckDB may differ in unit."""
    return pd.DatetimeIndex(pd.to_datetime(values)).as_unit("ns").asi8


def account_documents(
    session: Any, posts: Any, contracts: pd.DataFrame, window_days: int
) -> pd.DataFrame:
    """One document per (platform, creator_id, start) of the contracts: the captions and
    hashtags of the account's posts published in [start - window_days, start), joined in DuckDB
    (a year of posts is never held in pandas). The words' order within a document is left to
    the engine: the vectors count words (unigrams), so it cannot change a score."""
    windows = contracts[["platform", "creator_id", "start_date"]].drop_duplicates().dropna()
    windows = session.from_df(
        windows.assign(start=pd.to_datetime(windows["start_date"]))[
            ["platform", "creator_id", "start"]
        ]
    )
    docs = posts.set_alias("posts").join(
        windows.set_alias("windows"),
        "posts.platform = windows.platform and posts.creator_id = windows.creator_id "
        f"and posts.published_at >= windows.start - interval {int(window_days)} day "
        "and posts.published_at < windows.start",
    )
    return docs.aggregate(
        "windows.platform as platform, windows.creator_id as creator_id, windows.start as start, "
        "string_agg(coalesce(posts.caption, '') || ' ' "
        "|| coalesce(array_to_string(posts.hashtags, ' '), ''), ' ') as document",
        "windows.platform, windows.creator_id, windows.start",
    ).df()


def topic_similarity_as_of(
    contracts: pd.DataFrame,
    campaigns: pd.DataFrame,
    brands: pd.DataFrame,
    account_docs: pd.DataFrame,
) -> pd.DataFrame:
    """Cosine x 100 per contract in the brands' TF-IDF space (as int_brand_creator_topic_
    similarity computes it for today), as of the campaign's start S: the brand document holds
    the category and the campaigns that started on or before S (the contract's own brief is
    known then), the account document (account_documents) the captions and hashtags of posts
    published in the caption window before S; the space is learned from these brand
    documents."""
    out = contracts[["campaign_id", "creator_id", "platform"]].copy()
    out["topic_similarity"] = 0.0
    if contracts.empty:
        return out
    starts = pd.to_datetime(contracts["start_date"]).to_numpy()
    campaigns = campaigns.assign(
        start=pd.to_datetime(campaigns["start_date"]),
        text=campaigns[["campaign_name", "brief", "hashtag"]]
        .fillna("")
        .astype(str)
        .agg(" ".join, axis=1),
    )
    category = dict(zip(brands["brand_id"], brands["category"].fillna(""), strict=False))

    # one document per (brand, start): contracts share them
    brand_doc: dict[tuple[Any, Any], str] = {}
    for brand_id, start in set(zip(contracts["brand_id"], starts, strict=True)):
        mine = campaigns[(campaigns["brand_id"] == brand_id) & (campaigns["start"] <= start)]
        brand_doc[(brand_id, start)] = category.get(brand_id, "") + " " + " ".join(mine["text"])
    account_doc = dict(
        zip(
            zip(
                account_docs["platform"],
                account_docs["creator_id"],
                _time_keys(account_docs["start"]),
                strict=True,
            ),
            account_docs["document"].fillna(""),
            strict=True,
        )
    )
    brand_docs = [brand_doc[key] for key in zip(contracts["brand_id"], starts, strict=True)]
    account_docs_in_order = [
        account_doc.get(key, "")
        for key in zip(
            contracts["platform"], contracts["creator_id"], _time_keys(starts), strict=True
        )
    ]

    distinct = sorted(set(brand_docs))
    space = topic_space(distinct)
    if space is None:
        return out
    position = {doc: i for i, doc in enumerate(distinct)}
    accounts = account_vectors(space, account_docs_in_order)
    brand_rows = space.brands[[position[doc] for doc in brand_docs]]
    # both sides are L2-normalised: the cosine is the row-wise dot product
    cosine = np.asarray(accounts.multiply(brand_rows).sum(axis=1)).ravel()
    out["topic_similarity"] = cosine * 100.0
    return out.reset_index(drop=True)


# ---- the two dbt models' bodies -------------------------------------------------------------

PREDICTION_COLUMNS: dict[str, str] = {
    "brand_id": "string",
    "creator_id": "string",
    "platform": "string",
    "predicted_cpe_usd": "float64",
    "fit_score": "float64",
    **{f"contribution_{g}": "float64" for g in GROUPS},
    "model_version": "string",
    "model_training_rows": "int64",
    "model_trained_from": "datetime64[us]",
    "model_trained_through": "datetime64[us]",
}


def _typed(frame: pd.DataFrame, kinds: dict[str, str]) -> pd.DataFrame:
    return frame.reindex(columns=list(kinds)).astype(kinds)


# ---- the trained model, kept as a table row ------------------------------------------------

MODEL_NAME = "brand_creator_matching"
TRAINED_COLUMNS: dict[str, str] = {
    "model_name": "string",
    "model_version": "string",
    "training_fingerprint": "string",
    "training_rows": "int64",
    "trained_from": "datetime64[us]",
    "trained_through": "datetime64[us]",
    "train_spearman": "float64",
    "train_rmse_log_cpe": "float64",
    "parameters": "string",
}
# the training columns the model reads: their values fingerprint the training set
_TRAINING_INPUTS = [*CONTRACT_KEY, "start_date", "end_date", *DESIGN_INPUTS, "realised_cpe_usd"]


def training_fingerprint(training: pd.DataFrame, min_rows: int) -> str:
    """sha256 of the model's version, the threshold and every value of the usable training
    rows (in contract order): equal fingerprints, equal model."""
    rows = usable(training)[_TRAINING_INPUTS].astype("string").fillna("<NA>")
    digest = hashlib.sha256(f"{MODEL_VERSION}|{min_rows}|{list(FEATURES)}".encode())
    digest.update(pd.util.hash_pandas_object(rows, index=False).to_numpy().tobytes())
    return digest.hexdigest()[:32]


def trained(training: pd.DataFrame, min_rows: int) -> pd.DataFrame:
    """The one row of int_matching_model_trained: the model fitted on every past contract with
    an outcome, its parameters as JSON, training window and in-sample metrics; version and
    parameters NULL (the hand-weighted score applies) below `min_rows` such contracts."""
    rows = usable(training)
    record: dict[str, Any] = {
        "model_name": MODEL_NAME,
        "training_fingerprint": training_fingerprint(training, min_rows),
        "training_rows": len(rows),
        "trained_from": pd.to_datetime(rows["start_date"]).min(),
        "trained_through": pd.to_datetime(rows["end_date"]).max(),
    }
    if len(rows) >= min_rows:
        model = fit(rows)
        predicted = predict_log_cpe(model, rows)
        actual = np.log(pd.to_numeric(rows["realised_cpe_usd"]).to_numpy(dtype="float64"))
        record.update(
            model_version=model.fingerprint,
            train_spearman=spearman(-predicted, -actual),
            train_rmse_log_cpe=float(np.sqrt(np.mean((predicted - actual) ** 2))),
            parameters=json.dumps(
                {
                    "features": list(FEATURES),
                    "means": model.means.tolist(),
                    "scales": model.scales.tolist(),
                    "coefs": model.coefs.tolist(),
                    "intercept": model.intercept,
                    "train_cpe": model.train_cpe.tolist(),
                }
            ),
        )
    return _typed(pd.DataFrame([record]), TRAINED_COLUMNS)


def stored_model(record: pd.DataFrame) -> tuple[Fitted, pd.Series] | None:
    """The Fitted model of int_matching_model_trained's row (JSON floats round-trip exactly:
    the same predictions as the fit that wrote it); None without a trained model."""
    if record.empty or pd.isna(record["parameters"].iloc[0]):
        return None
    row = record.iloc[0]
    p = json.loads(row["parameters"])
    if p["features"] != list(FEATURES):
        raise ValueError(f"stored model {row['model_version']} has other features: rebuild it")
    model = Fitted(
        means=np.array(p["means"], dtype="float64"),
        scales=np.array(p["scales"], dtype="float64"),
        coefs=np.array(p["coefs"], dtype="float64"),
        intercept=float(p["intercept"]),
        train_cpe=np.array(p["train_cpe"], dtype="float64"),
        rows=int(row["training_rows"]),
    )
    return model, row


def predictions(record: pd.DataFrame, candidates: pd.DataFrame) -> pd.DataFrame:
    """Scores of today's candidates by the stored model (int_matching_model_trained); no rows
    (the hand-weighted score applies) when there is none."""
    stored = stored_model(record)
    if stored is None or candidates.empty:
        return _typed(pd.DataFrame(), PREDICTION_COLUMNS)
    model, row = stored
    out = pd.concat(
        [candidates[["brand_id", "creator_id", "platform"]], score(model, candidates)], axis=1
    )
    out["model_version"] = row["model_version"]
    out["model_training_rows"] = model.rows
    out["model_trained_from"] = row["trained_from"]
    out["model_trained_through"] = row["trained_through"]
    return _typed(out, PREDICTION_COLUMNS)


# Candidates scored per batch of brands, about this many rows at a time: at agency size (4.6M
# brand x account candidates) the whole frame and its design matrices held ~2.5 GB beside
# DuckDB's buffer pool; a batch of 250,000 rows holds ~150 MB.
PREDICTION_BATCH_ROWS = 250_000


def brand_batches(counts: list[tuple[str, int]], batch_rows: int) -> list[list[str]]:
    """Brands grouped in order into batches of about `batch_rows` candidates (a brand with
    more candidates than that is a batch of its own)."""
    batches: list[list[str]] = []
    rows = 0
    for brand, n in counts:
        if not batches or rows + n > batch_rows:
            batches.append([])
            rows = 0
        batches[-1].append(brand)
        rows += n
    return batches


def _duckdb_frame(relation: Any) -> pd.DataFrame:
    """A DuckDB relation as pandas through Arrow, floats made `stable` (`to_pandas`'s frame):
    its strings stay Arrow-backed instead of becoming Python objects first (agency's 4.6M
    candidates: 0.7 s instead of 4.7 s); for the columns `predictions` reads, not dates."""
    batches = relation.arrow()
    table = batches.read_all() if hasattr(batches, "read_all") else batches
    return stable(table.to_pandas())


def predictions_in_batches(
    session: Any, record: pd.DataFrame, candidates: Any, batch_rows: int = PREDICTION_BATCH_ROWS
) -> Any:
    """`predictions` of a DuckDB relation of candidates, one batch of brands at a time, the
    rows gathered in a temporary table of `session` (DuckDB's buffer pool holds it, and
    spills it under its memory limit); returns a relation over it."""
    if stored_model(record) is None:
        return predictions(record, pd.DataFrame())
    counts = candidates.aggregate("brand_id, count(*) as n", "brand_id").order("brand_id")
    needed = candidates.project(", ".join(["brand_id", "creator_id", "platform", *DESIGN_INPUTS]))
    table = "kol_brand_creator_predictions"
    session.execute(f"drop table if exists {table}")
    for i, brands in enumerate(brand_batches(counts.fetchall(), batch_rows)):
        wanted = session.from_df(pd.DataFrame({"brand_id": pd.Series(brands, dtype="object")}))
        scored = predictions(record, _duckdb_frame(needed.join(wanted, "brand_id", how="semi")))
        # handed back as Arrow, the form the batch came in
        session.register("kol_prediction_batch", pa.Table.from_pandas(scored, preserve_index=False))
        verb = f"create temp table {table} as" if i == 0 else f"insert into {table}"
        session.execute(f"{verb} select * from kol_prediction_batch")
        session.unregister("kol_prediction_batch")
    return session.table(table)


BACKTEST_COLUMNS: dict[str, str] = {
    "scorer": "string",
    "split_date": "datetime64[us]",
    "train_rows": "int64",
    "train_from": "datetime64[us]",
    "train_through": "datetime64[us]",
    "test_rows": "int64",
    "test_from": "datetime64[us]",
    "test_through": "datetime64[us]",
    "spearman": "float64",
    "precision_at_10": "float64",
    "model_version": "string",
}


def split_date(rows: pd.DataFrame, configured: str, share: float) -> pd.Timestamp | None:
    """The configured split date, else the start date below which `share` of the contracts
    with an outcome started (their order by start date, ties kept together)."""
    if configured:
        return pd.Timestamp(configured)
    if rows.empty:
        return None
    starts = pd.to_datetime(rows["start_date"]).sort_values(kind="stable").reset_index(drop=True)
    return starts.iloc[min(len(starts) - 1, int(len(starts) * share))]


def backtest(
    training: pd.DataFrame,
    weights: dict[str, float],
    min_rows: int,
    configured_split: str = "",
    share: float = 0.6,
) -> pd.DataFrame:
    """Time split: train on contracts that ended before the split date, score those that
    started on or after it; per scorer, Spearman and precision@10 against the realised
    engagements per dollar (1 / cpe_usd). The model's row has NULL metrics when fewer than
    `min_rows` contracts ended before the split (it would not be used); without any
    contract with an outcome both rows have 0 contracts and NULL metrics."""
    rows = usable(training)
    split = split_date(rows, configured_split, share)
    if split is None:  # nothing to evaluate: both rows say so (no contracts, no metrics)
        empty = {"train_rows": 0, "test_rows": 0}
        return _typed(
            pd.DataFrame([{"scorer": s, **empty} for s in ("model", "hand_weighted")]),
            BACKTEST_COLUMNS,
        )
    train = rows[pd.to_datetime(rows["end_date"]) < split]
    test = rows[pd.to_datetime(rows["start_date"]) >= split].reset_index(drop=True)
    realised = 1.0 / pd.to_numeric(test["realised_cpe_usd"]).to_numpy(dtype="float64")
    common = {
        "split_date": split,
        "train_rows": len(train),
        "train_from": pd.to_datetime(train["start_date"]).min(),
        "train_through": pd.to_datetime(train["end_date"]).max(),
        "test_rows": len(test),
        "test_from": pd.to_datetime(test["start_date"]).min(),
        "test_through": pd.to_datetime(test["end_date"]).max(),
    }
    out = []
    model_row = {**common, "scorer": "model", "model_version": None}
    if len(train) >= min_rows and len(test) > 0:
        model = fit(train)
        goodness = -predict_log_cpe(model, test)
        model_row.update(
            spearman=spearman(goodness, realised),
            precision_at_10=precision_at_k(goodness, realised),
            model_version=model.fingerprint,
        )
    out.append(model_row)
    baseline_row = {**common, "scorer": "hand_weighted", "model_version": None}
    if len(test) > 0:
        baseline = hand_weighted(test, weights)
        baseline = np.where(np.isnan(baseline), -np.inf, baseline)
        baseline_row.update(
            spearman=spearman(baseline, realised),
            precision_at_10=precision_at_k(baseline, realised),
        )
    out.append(baseline_row)
    return _typed(pd.DataFrame(out), BACKTEST_COLUMNS)
