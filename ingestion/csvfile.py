"""Reading the hand-made CSVs (roster, campaign exports) without losing a line.

Spreadsheets produce BOMs, semicolons, stray Latin-1 bytes and formula cells. This reader
turns each into either a row or a per-line error that names the file and line, so the
loaders can quarantine exactly that line and load the rest. Cells are kept as text: a
formula such as `=HYPERLINK(...)` is stored verbatim, never evaluated.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

_DELIMITERS = {";": "semicolon", "\t": "tab", "|": "pipe"}


class CsvFileError(ValueError):
    """The file as a whole cannot be read as the documented CSV (message says how to fix)."""


@dataclass
class CsvRow:
    line: int  # physical line number where the record starts (header = line 1)
    values: dict[str, str]
    raw: str
    error: str | None = None


@dataclass
class CsvFile:
    name: str
    header: list[str]
    rows: list[CsvRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


class _DecodedLines:
    """The file's lines decoded one at a time (a 1 GB export is never held in memory).

    An undecodable line gets an error naming line and byte (kept in `errors`, by physical
    line number) and is passed on with replacement characters, so the row is quarantined
    rather than lost.
    """

    def __init__(self, name: str, fh: BinaryIO) -> None:
        self.name = name
        self.fh = fh
        self.errors: dict[int, str] = {}
        self.number = 0

    def __iter__(self) -> Iterator[str]:
        for chunk in self.fh:
            self.number += 1
            if self.number == 1 and chunk.startswith(b"\xef\xbb\xbf"):
                chunk = chunk[3:]
            try:
                yield chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                self.errors[self.number] = (
                    f"{self.name} line {self.number}: not valid UTF-8 (byte "
                    f"0x{chunk[exc.start]:02x} at column {exc.start + 1}); re-save the file as UTF-8"
                )
                yield chunk.decode("utf-8", errors="replace")


def _check_header(
    name: str, header_cells: list[str], required: Sequence[str], optional: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The lower-cased header and its warnings; CsvFileError when the file is unusable."""
    header = [c.strip().lower() for c in header_cells]
    if len(header) == 1 and len(required) > 1:
        for delim, label in _DELIMITERS.items():
            if delim in header[0]:
                raise CsvFileError(
                    f"{name}: the header has a single column ({header_cells[0][:60]!r}); the "
                    f"file looks {label}-separated. Save it comma-separated."
                )
    missing = [c for c in required if c not in header]
    if missing:
        raise CsvFileError(
            f"{name}: missing column(s) {', '.join(missing)}; the header must be "
            f"{','.join([*required, *optional])}"
        )
    extra = [c for c in header if c not in required and c not in optional]
    warnings = [f"{name}: ignoring unknown column(s) {', '.join(extra)}"] if extra else []
    return header, warnings


@contextmanager
def open_csv(
    path: Path, required: Sequence[str], optional: Sequence[str] = ()
) -> Iterator[tuple[CsvFile, Iterator[CsvRow]]]:
    """Open a CSV for streaming: (header and warnings, an iterator of rows).

    File-level problems raise CsvFileError on entry; rows are read as the iterator is
    consumed, so memory stays bounded whatever the file's size.
    """
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise CsvFileError(f"{name}: file not found in {path.parent}")
    with path.open("rb") as fh:
        if fh.read(2) in (b"\xff\xfe", b"\xfe\xff"):
            raise CsvFileError(
                f"{name}: the file is UTF-16; save it as UTF-8 (CSV UTF-8) and retry"
            )
        fh.seek(0)
        lines = _DecodedLines(name, fh)
        reader = csv.reader(iter(lines))
        try:
            header_cells = next(reader)
        except StopIteration:
            raise CsvFileError(f"{name}: the file is empty; expected a header row") from None
        header, warnings = _check_header(name, header_cells, required, optional)
        yield (
            CsvFile(name=name, header=header, warnings=warnings),
            _rows(name, header, reader, lines),
        )


def _rows(
    name: str, header: list[str], reader: Iterator[list[str]], lines: _DecodedLines
) -> Iterator[CsvRow]:
    start = reader.line_num + 1  # type: ignore[attr-defined]
    for cells in reader:
        line, start = start, reader.line_num + 1  # type: ignore[attr-defined]
        if not cells or all(not c.strip() for c in cells):
            continue
        raw = ",".join(cells)
        error = next((lines.errors.pop(n) for n in range(line, start) if n in lines.errors), None)
        if error is None and len(cells) != len(header):
            error = f"{name} line {line}: has {len(cells)} fields, the header has {len(header)}"
        values = {h: c.strip() for h, c in zip(header, cells, strict=False)}
        yield CsvRow(line=line, values=values, raw=raw, error=error)


def read_csv(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> CsvFile:
    """Rows keyed by the lower-cased header; file-level problems raise CsvFileError.

    Holds every row: for small files (the roster). Exports stream with `open_csv`.
    """
    with open_csv(path, required, optional) as (out, rows):
        out.rows = list(rows)
    return out
