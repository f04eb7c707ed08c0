"""VADER sentiment per comment, scored ONCE and kept (incremental on platform x comment_id).

VADER reads English only, so each comment first gets a simple, documented language guess:
- `none`:  no letters at all (emoji, punctuation) -> scored (VADER knows emoji), language-neutral;
- `en`:    mostly ASCII letters and at least half of its words are English (VADER's lexicon or a
           small list of English function words) -> scored;
- `other`: anything else -> NOT scored (`compound` NULL): counted as `unscored_comments`,
           never as neutral, until a scorer for that language is added.
"""

import re

import pandas as pd

ENGLISH_FUNCTION_WORDS = frozenset(
    [
        "a",
        "about",
        "all",
        "am",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "he",
        "her",
        "him",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "just",
        "me",
        "more",
        "most",
        "my",
        "no",
        "not",
        "now",
        "of",
        "on",
        "one",
        "or",
        "our",
        "out",
        "she",
        "so",
        "some",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "to",
        "too",
        "up",
        "us",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "im",
        "dont",
        "cant",
        "wont",
        "thats",
        "omg",
        "lol",
        "pic",
        "pics",
    ]
)
WORD = re.compile(r"[^\W\d_]+", re.UNICODE)
ENGLISH_MIN_SHARE = 0.5
ASCII_MIN_SHARE = 0.9


def guess_language(text: str, lexicon: dict) -> str:
    words = WORD.findall(text or "")
    if not words:
        return "none"
    letters = "".join(words)
    ascii_share = sum(ch.isascii() for ch in letters) / len(letters)
    if ascii_share < ASCII_MIN_SHARE:
        return "other"
    lowered = [w.lower() for w in words]
    known = sum(1 for w in lowered if w in ENGLISH_FUNCTION_WORDS or w in lexicon)
    return "en" if known / len(lowered) >= ENGLISH_MIN_SHARE else "other"


def score(frame: pd.DataFrame) -> pd.DataFrame:
    languages, compounds = [], []
    texts = frame["comment_text"].fillna("")
    if len(texts):
        # imported here: a daily run without new comments never loads VADER's lexicon
        from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

        analyzer = SentimentIntensityAnalyzer()
    for text in texts:
        language = guess_language(text, analyzer.lexicon)
        languages.append(language)
        compounds.append(
            analyzer.polarity_scores(text)["compound"] if language != "other" else None
        )
    return pd.DataFrame(
        {
            "platform": frame["platform"].astype("string"),
            "comment_id": frame["comment_id"].astype("string"),
            "language_guess": pd.Series(languages, dtype="string"),
            "is_scored": pd.Series([lang != "other" for lang in languages], dtype="bool"),
            "compound": pd.Series(compounds, dtype="float64"),
        }
    )


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="append",
        unique_key=["platform", "comment_id"],
    )
    comments = dbt.ref("int_comments_unioned")
    if dbt.is_incremental:
        # only comments (re)seen since the last build can be new: older ones were scored then
        from_date = dbt.config.get("from_date") or ""
        if from_date:
            comments = comments.filter(f"last_seen_date >= cast('{from_date}' as date)")
        # the already-scored among these candidates first (a semi join builds on the day's
        # candidates), so the anti join never hashes every comment ever scored
        candidates = comments.project("platform, comment_id")
        scored = session.sql(f"select platform, comment_id from {dbt.this}").join(
            candidates, "platform, comment_id", how="semi"
        )
        comments = comments.join(scored, "platform, comment_id", how="anti")
    frame = comments.project("platform, comment_id, comment_text").df()
    return score(frame)
