"""The language guess that decides which comments VADER may score (dbt Python model code)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

MODEL = Path(__file__).parents[2] / "dbt_project/models/intermediate/int_comment_sentiment.py"


@pytest.fixture(scope="module")
def sentiment():
    spec = importlib.util.spec_from_file_location("int_comment_sentiment", MODEL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("I love this, amazing!", "en"),
        ("nice pic", "en"),
        ("🔥🔥", "none"),
        ("Me encanta este precioso", "other"),
        ("Das ist wirklich schön", "other"),
        ("とても可愛い", "other"),
    ],
)
def test_guess_language(sentiment, text: str, language: str) -> None:
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    lexicon = SentimentIntensityAnalyzer().lexicon
    assert sentiment.guess_language(text, lexicon) == language


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
