"""How the `kol` commands talk to a person: log lines on stderr and progress lines."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable

log = logging.getLogger("kol")

Progress = Callable[[str], None]
"""Where a step reports what it is doing: the CLI prints it, Airflow logs it."""


def say(progress: Progress | None, msg: str) -> None:
    """Report `msg` through `progress`, else as an INFO log line."""
    (progress or log.info)(msg)


def configure_logging(level: int) -> None:
    """The `kol` commands' log lines on stderr."""
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)-7s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


def print_progress(msg: str) -> None:
    """The `kol` commands' progress line."""
    print(f"  {msg}", file=sys.stderr, flush=True)
