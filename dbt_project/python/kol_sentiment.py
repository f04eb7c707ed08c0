"""Comment sentiment for the dbt model `int_comment_sentiment`: a language guess, then VADER.

VADER reads English only, so each comment first gets a simple, documented language guess:
- `none`:  no letters at all (emoji, punctuation) -> scored (VADER knows emoji), language-neutral;
- `en`:    mostly ASCII letters and at least half of its words are English (VADER's lexicon or a
           small list of English function words) -> scored;
- `other`: anything else -> NOT scored (`compound` NULL): counted as `unscored_comments`,
           never as neutral, until a scorer for that language is added.

Why a module and not the model's own code: VADER is pure Python (~45 us a comment) and holds
one core, while dbt runs this model alone (threads: 1) and DuckDB waits. A large batch — a
full refresh, a catch-up after days without a build, an agency's day — is split over worker
processes, and a worker must be able to import the scorer. profiles.yml puts this folder on
dbt's `sys.path` (`module_paths`); a worker is `python -m kol_sentiment` with the same path.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

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
# Below this many texts per worker, starting a worker (Python + VADER's lexicon, ~0.4 s)
# costs more than it saves: score in this process.
MIN_TEXTS_PER_WORKER = 20_000
MAX_AUTO_WORKERS = 4

Scored = tuple[str, float | None]  # (language guess, VADER compound or None)


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


def score_here(texts: Sequence[str]) -> list[Scored]:
    """Score in this process, in order."""
    if not texts:
        return []
    # imported here: a daily run without new comments never loads VADER's lexicon
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    analyzer = SentimentIntensityAnalyzer()
    out: list[Scored] = []
    for text in texts:
        language = guess_language(text, analyzer.lexicon)
        compound = analyzer.polarity_scores(text)["compound"] if language != "other" else None
        out.append((language, compound))
    return out


def worker_count(setting: str | int | None, cpus: int | None = None) -> int:
    """`KOL_SENTIMENT_WORKERS`: empty or 0 = one per core (at most 4); 1 = no workers."""
    text = str(setting if setting is not None else "").strip()
    if text in ("", "0"):
        return max(1, min(cpus if cpus is not None else os.cpu_count() or 1, MAX_AUTO_WORKERS))
    try:
        n = int(text)
    except ValueError:
        n = -1
    if n < 1:
        raise ValueError(
            f"KOL_SENTIMENT_WORKERS={text!r}: give a whole number of processes "
            "(1 = score in the dbt process; empty or 0 = one per core, at most 4)"
        )
    return n


def score_texts(texts: Sequence[str], workers: int = 1) -> list[Scored]:
    """Score `texts` in order, over up to `workers` processes (this one included).

    Contiguous slices keep the order; each slice is scored exactly as `score_here` would, so
    the result does not depend on the number of workers."""
    texts = [t if isinstance(t, str) else "" for t in texts]
    n = min(workers, len(texts) // MIN_TEXTS_PER_WORKER)
    if n <= 1:
        return score_here(texts)
    size = -(-len(texts) // n)
    slices = [texts[i : i + size] for i in range(0, len(texts), size)]
    with ThreadPoolExecutor(len(slices) - 1) as feeders:  # pipes both ways, no deadlock
        procs = [_start_worker() for _ in slices[1:]]
        try:
            answers = [
                feeders.submit(proc.communicate, json.dumps(part).encode("utf-8"))
                for proc, part in zip(procs, slices[1:], strict=True)
            ]
            out = score_here(slices[0])  # this process scores the first slice meanwhile
            for proc, answer in zip(procs, answers, strict=True):
                out.extend(_result(proc, *answer.result()))
        finally:
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    return out


def _start_worker() -> subprocess.Popen[bytes]:
    here = str(Path(__file__).resolve().parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    return subprocess.Popen(
        [sys.executable, "-m", "kol_sentiment"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _result(proc: subprocess.Popen[bytes], out: bytes, err: bytes) -> list[Scored]:
    if proc.returncode != 0:
        tail = err.decode("utf-8", "replace").strip().splitlines()[-5:]
        raise RuntimeError(
            f"a sentiment worker (python -m kol_sentiment) exited with {proc.returncode}: "
            + (" | ".join(tail) or "no message")
            + ". Set KOL_SENTIMENT_WORKERS=1 to score in the dbt process instead."
        )
    return [(language, compound) for language, compound in json.loads(out)]


def main() -> None:
    """Worker: a JSON list of texts on stdin -> a JSON list of [language, compound] on stdout."""
    texts = json.loads(sys.stdin.buffer.read())
    sys.stdout.write(json.dumps(score_here(texts)))


if __name__ == "__main__":
    main()
