"""Comment sentiment for the dbt model `int_comment_sentiment`: a language guess, then VADER.

VADER reads English only, so each comment first gets a language guess. "@handle" mentions,
links and HTML escapes (YouTube textDisplay) are removed first: a reply "@maria_12 so true" is
judged on "so true".
- `none`:  no letters at all (emoji, punctuation) -> scored (VADER knows emoji), language-neutral;
- `en`:    at least half of its words are English (VADER's lexicon or a small list of English
           function words), or py3langid (langid.py's maintained fork, model inside the wheel,
           nothing downloaded at run time) does not find another language with confidence ->
           scored;
- `other`: py3langid's most likely language is not English, with a normalised probability of
           at least NOT_ENGLISH_MIN_PROBABILITY (a single Latin-script word is never enough)
           -> NOT scored (`compound` NULL): counted
           as `unscored_comments`, never as neutral, until a scorer for that language is added.
A short English comment the identifier cannot place ("Horrible sponsored garbage") is scored:
only a confident "not English" leaves a comment out.

Why a module and not the model's own code: VADER is pure Python (~45 us a comment), the
language identification costs about three times that again (measured side by side), and both
hold one core while dbt runs this model alone (threads: 1) and DuckDB waits. A large batch — a
full refresh, a catch-up after days without a build, an agency's day — is split over worker
processes, and a worker must be able to import the scorer. profiles.yml puts this folder on
dbt's `sys.path` (`module_paths`); a worker is `python -m kol_sentiment` with the same path.
"""

from __future__ import annotations

import html
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, suppress
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
MENTION = re.compile(r"(?<![\w@])@[\w.]+")
LINK = re.compile(r"https?://\S+|www\.\S+")
ENGLISH_MIN_SHARE = 0.75
SHORT_WORDS = 3
# py3langid's probabilities, normalised over its 97 languages, are flat on a short comment:
# 0.1 is ten times an even share. Tuned so that no English template of the sandbox and none of
# a list of short English replies ("need this", "so good") comes out `other`.
NOT_ENGLISH_MIN_PROBABILITY = 0.1
# Below this many texts per worker, starting a worker (Python + VADER's lexicon, ~0.4 s)
# costs more than it saves: score in this process.
MIN_TEXTS_PER_WORKER = 20_000
MAX_AUTO_WORKERS = 4
# Texts go to a worker and come back in chunks of this many (one JSON line each way), so a
# worker holds one chunk at a time and a pipe never holds a whole batch: memory stays flat.
CHUNK = 10_000

Scored = tuple[str, float | None]  # (language guess, VADER compound or None)


def without_mentions(text: str) -> str:
    """The comment as a reader sees its language: no @handles, links or HTML escapes."""
    return LINK.sub(" ", MENTION.sub(" ", html.unescape(text or ""))).strip()


def guess_language(text: str, lexicon: dict, identifier=None) -> str:
    cleaned = without_mentions(text)
    words = WORD.findall(cleaned)
    if not words:
        return "none"
    letters = "".join(words)
    if len(words) == 1 and sum(ch.isascii() for ch in letters) == len(letters):
        return "en"  # one Latin-script word ("mood", "gracias"): no confident call
    # English words overrule the identifier: most of them, or any of them in a comment of up
    # to SHORT_WORDS words (too little text for a confident call). Checked first, the answer
    # is the same and most comments never pay for the identifier (~3x VADER's own cost).
    lowered = [w.lower() for w in words]
    known = sum(1 for w in lowered if w in ENGLISH_FUNCTION_WORDS or w in lexicon)
    if known / len(lowered) >= ENGLISH_MIN_SHARE or (len(words) <= SHORT_WORDS and known):
        return "en"
    top, probability = (identifier or _identifier()).classify(cleaned)
    if top == "en" or probability < NOT_ENGLISH_MIN_PROBABILITY:
        return "en"
    return "other"


def _identifier():
    # imported and loaded here (~1 s): a run without new comments never pays for the model
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)


def _analyzer():
    # imported here: a daily run without new comments never loads VADER's lexicon
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    return SentimentIntensityAnalyzer()


def score_here(texts: Sequence[str], analyzer=None, identifier=None) -> list[Scored]:
    """Score in this process, in order."""
    if not texts:
        return []
    analyzer = analyzer or _analyzer()
    identifier = identifier or _identifier()
    out: list[Scored] = []
    for text in texts:
        language = guess_language(text, analyzer.lexicon, identifier)
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
    """Score `texts` in order, each distinct text once, over up to `workers` processes.

    A day's comments repeat ("🔥🔥", "love this", a bot's spam) and a score depends on the
    text alone (the language guess and VADER read nothing else), so a text met again takes
    the score of its first occurrence: the result is the same, the cost that of the distinct
    texts."""
    texts = [t if isinstance(t, str) else "" for t in texts]
    distinct = list(dict.fromkeys(texts))
    scores = dict(zip(distinct, _score_in_order(distinct, workers), strict=True))
    return [scores[t] for t in texts]


def _score_in_order(texts: list[str], workers: int) -> list[Scored]:
    """Score `texts` in order, over up to `workers` processes (this one included).

    The texts are cut into chunks dealt round-robin: chunk i to participant i mod n, where
    participant 0 is this process. Each chunk is scored exactly as `score_here` would, so the
    result does not depend on the number of workers."""
    n = min(workers, len(texts) // MIN_TEXTS_PER_WORKER)
    if n <= 1:
        return score_here(texts)
    chunks = [texts[i : i + CHUNK] for i in range(0, len(texts), CHUNK)]
    results: list[list[Scored] | None] = [None] * len(chunks)
    with ExitStack() as stack:  # on the way out: threads joined, then each worker reaped
        procs = [stack.enter_context(_start_worker()) for _ in range(n - 1)]
        pipes = stack.enter_context(ThreadPoolExecutor(2 * len(procs)))  # writer + reader each
        try:
            done = []
            for k, proc in enumerate(procs, start=1):
                mine = range(k, len(chunks), n)
                done.append(pipes.submit(_feed, proc, [chunks[i] for i in mine]))
                done.append(pipes.submit(_collect, proc, mine, results))
            analyzer, identifier = _analyzer(), _identifier()
            for i in range(0, len(chunks), n):  # this process scores its own chunks meanwhile
                results[i] = score_here(chunks[i], analyzer, identifier)
            for future in done:
                future.result()
        finally:  # answered, or failing: no worker outlives the call, no thread waits on one
            for proc in procs:
                if proc.poll() is None:
                    proc.kill()
    return [row for part in results for row in part or ()]


def _start_worker() -> subprocess.Popen[bytes]:
    here = str(Path(__file__).resolve().parent)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [here, env.get("PYTHONPATH")]))
    return _popen([sys.executable, "-m", "kol_sentiment"], env)


def _popen(argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """A worker with pipes in and out; its stderr goes to a file (read only if it fails: a
    file never blocks it), kept on the process as `stderr`: closing the process closes it."""
    err = tempfile.TemporaryFile()  # noqa: SIM115 - owned by the Popen, closed on its exit
    proc = subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, env=env
    )
    proc.stderr = err
    return proc


def _feed(proc: subprocess.Popen[bytes], chunks: list[list[str]]) -> None:
    assert proc.stdin is not None
    try:
        for chunk in chunks:
            proc.stdin.write(json.dumps(chunk).encode("utf-8") + b"\n")
        proc.stdin.close()
    except BrokenPipeError:  # the worker died: _collect says how
        with suppress(BrokenPipeError):
            proc.stdin.close()


def _collect(proc: subprocess.Popen[bytes], mine: range, results: list) -> None:
    assert proc.stdout is not None
    for i in mine:
        line = proc.stdout.readline()
        if not line:
            raise _failed(proc)
        results[i] = [(language, compound) for language, compound in json.loads(line)]


def _failed(proc: subprocess.Popen[bytes]) -> RuntimeError:
    code = proc.wait()
    err = b""
    if proc.stderr is not None:
        proc.stderr.seek(0)
        err = proc.stderr.read()
    tail = err.decode("utf-8", "replace").strip().splitlines()[-5:]
    return RuntimeError(
        f"a sentiment worker (python -m kol_sentiment) exited with {code} before it answered: "
        + (" | ".join(tail) or "no message")
        + ". Set KOL_SENTIMENT_WORKERS=1 to score in the dbt process instead."
    )


def main() -> None:
    """Worker: one JSON list of texts per stdin line -> one JSON list of [language, compound]
    per stdout line, in order, until stdin closes."""
    analyzer, identifier = _analyzer(), _identifier()
    for line in sys.stdin.buffer:
        sys.stdout.write(json.dumps(score_here(json.loads(line), analyzer, identifier)) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
