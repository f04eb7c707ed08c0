"""The language guess that decides which comments VADER may score (dbt Python model code)."""

from __future__ import annotations

import pytest
from python_models import load_model


@pytest.fixture(scope="module")
def sentiment():
    return load_model("int_comment_sentiment")


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I love this, amazing!", "en"),
        ("nice pic", "en"),
        ("🔥🔥", "none"),
        ("Me encanta este precioso", "other"),
        ("Das ist wirklich schön", "other"),
        ("とても可愛い", "other"),
        # English the identifier cannot place on its own is still English (scored)
        ("Horrible sponsored garbage", "en"),
        ("no way", "en"),
        ("mood", "en"),
        # a reply's @handle is not part of its language
        ("@maria_12 so true", "en"),
        ("@ana.lopez Qué horrible, no me gusta nada", "other"),
        ("Harganya berapa?", "other"),
    ],
)
def test_guess_language(sentiment, text: str, language: str) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    lexicon = SentimentIntensityAnalyzer().lexicon
    assert sentiment.guess_language(text, lexicon) == language


def test_english_words_settle_the_language_before_the_identifier_is_asked(sentiment) -> None:
    """The identifier costs ~3x VADER: a comment whose words are English never pays for it."""
    import kol_sentiment
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    asked = []
    real = kol_sentiment._identifier()

    class Counting:
        def classify(self, text):
            asked.append(text)
            return real.classify(text)

    lexicon = SentimentIntensityAnalyzer().lexicon
    assert sentiment.guess_language("I love this, amazing!", lexicon, Counting()) == "en"
    assert sentiment.guess_language("no way", lexicon, Counting()) == "en"
    assert asked == []
    assert sentiment.guess_language("Me encanta este precioso", lexicon, Counting()) == "other"
    assert asked == ["Me encanta este precioso"]


def test_other_languages_are_not_scored_as_neutral(sentiment) -> None:
    import pandas as pd

    frame = pd.DataFrame(
        {
            "platform": ["x", "x"],
            "comment_id": ["1", "2"],
            "comment_text": ["This is terrible", "Me encanta este precioso"],
        }
    )
    scored = sentiment.score(frame).set_index("comment_id")
    assert scored.loc["1", "compound"] < -0.05 and bool(scored.loc["1", "is_scored"])
    assert pd.isna(scored.loc["2", "compound"]) and not bool(scored.loc["2", "is_scored"])
