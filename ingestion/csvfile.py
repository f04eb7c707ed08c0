"""Reading the hand-made CSVs (roster, campaign exports) without losing a line.

Spreadsheets produce BOMs, semicolons, stray Latin-1 bytes and formula cells. This reader
turns each into either a row or a per-line error that names the file and line, so the
loaders can quarantine exactly that line and load the rest. Cells are kept as text: a
formula such as `=HYPERLINK(...)` is stored verbatim, never evaluated.
"""

from __future__ import annotations

import csv
import io
import re
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


MAX_LINE_CHARS = 1 << 20  # a longer physical line is quarantined without being held whole
MAX_FIELD_CHARS = csv.field_size_limit()  # Python's CSV field limit (131,072 characters)
MAX_RECORD_LINES = 50  # a quoted field may span lines; an open quote further is a stray one


@dataclass
class PhysicalLine:
    number: int  # 1-based, counting \n, \r\n and a lone \r alike
    text: str  # without its line ending; undecodable bytes as U+FFFD
    error: str | None = None


def physical_lines(name: str, fh: BinaryIO) -> Iterator[PhysicalLine]:
    """The file's lines decoded one at a time (a 1 GB export is never held in memory).

    Any line ending counts (LF, CRLF, CR-only, mixed); a leading BOM is dropped. A line that
    is not UTF-8, holds a NUL byte or is longer than MAX_LINE_CHARS gets an error naming
    file, line and column, so the loaders quarantine that line and read the rest.
    """
    text = io.TextIOWrapper(fh, encoding="utf-8", errors="surrogateescape", newline=None)
    number = 0
    while True:
        chunk = text.readline(MAX_LINE_CHARS + 1)
        if not chunk:
            return
        number += 1
        if number == 1:
            chunk = chunk.removeprefix("\ufeff")
        error = None
        if len(chunk) > MAX_LINE_CHARS and not chunk.endswith("\n"):
            size = len(chunk)
            while chunk and not chunk.endswith("\n"):  # skip the rest of the line unread
                chunk = text.readline(MAX_LINE_CHARS)
                size += len(chunk)
            yield PhysicalLine(
                number,
                "",
                f"{name} line {number}: the line is {size:,} characters long, over the "
                f"{MAX_LINE_CHARS:,} limit; the row was not read",
            )
            continue
        line = chunk.removesuffix("\n")
        bad = _SURROGATE.search(line)
        if bad:
            error = (
                f"{name} line {number}: not valid UTF-8 (byte 0x{ord(bad.group()) - 0xDC00:02x} "
                f"at column {bad.start() + 1}); re-save the file as UTF-8"
            )
            line = _SURROGATE.sub("\ufffd", line)
        elif "\x00" in line:
            error = (
                f"{name} line {number}: holds a NUL byte (column {line.index(chr(0)) + 1}); "
                "the file is damaged or not text"
            )
            line = line.replace("\x00", "\ufffd")
        yield PhysicalLine(number, line, error)


_SURROGATE = re.compile("[\udc80-\udcff]")


def _closes(text: str, in_quotes: bool = False) -> bool:
    """Whether `text` (starting inside a quoted field or not) ends outside quotes, as the
    csv module reads it: a quote opens a field only at its start; "" inside is a quote."""
    if '"' not in text:
        return not in_quotes
    i = 0
    while (j := text.find('"', i)) >= 0:
        if in_quotes:
            if text.startswith('"', j + 1):
                i = j + 2
                continue
            in_quotes = False
        elif j == 0 or text[j - 1] == ",":
            in_quotes = True
        i = j + 1
    return not in_quotes


@dataclass
class Record:
    """One CSV record as read: its first line, text, cells (None if unreadable), error."""

    line: int
    raw: str
    cells: list[str] | None
    error: str | None = None


class _Splitter:
    """One csv reader fed a record text at a time (a reader per line cost a third more)."""

    def __init__(self) -> None:
        self._slot: list[str] = []
        self._reader = csv.reader(self)

    def __iter__(self) -> _Splitter:
        return self

    def __next__(self) -> str:
        if not self._slot:  # an open quote at the end: the record ends here
            raise StopIteration
        return self._slot.pop()

    def __call__(self, name: str, line: int, raw: str) -> Record:
        self._slot.append(raw)
        try:
            cells = next(self._reader, [])
        except csv.Error as exc:
            self._slot.clear()
            message = str(exc)
            if "field larger than field limit" in message:
                message = f"a field is longer than {MAX_FIELD_CHARS:,} characters"
            return Record(line, raw[:200], None, f"{name} line {line}: {message}")
        return Record(line, raw, cells)


def records(name: str, lines: Iterator[PhysicalLine], width: int | None = None) -> Iterator[Record]:
    """Physical lines assembled into CSV records, with their errors.

    A quoted field may span lines. A quote that stays open for MAX_RECORD_LINES lines, to
    the end of the file, or across a line that reads as a whole record of `width` fields
    (a stray quote swallowing the rows below it) makes its first line one quarantined
    record ("unterminated quote"); the lines after it are read again on their own.
    """
    pending: list[PhysicalLine] = []  # lines read ahead and given back
    source = iter(lines)
    _split = _Splitter()

    def pull() -> PhysicalLine | None:
        return pending.pop(0) if pending else next(source, None)

    while (first := pull()) is not None:
        if first.error:
            rec = _split(name, first.number, first.text)
            yield Record(first.number, first.text[:2000], rec.cells, first.error)
            continue
        if _closes(first.text):
            yield _split(name, first.number, first.text)
            continue
        taken = [first]
        closed = False
        while len(taken) <= MAX_RECORD_LINES:
            nxt = pull()
            if nxt is None or nxt.error:
                if nxt is not None:
                    taken.append(nxt)
                break
            taken.append(nxt)
            if _closes(nxt.text, in_quotes=True):
                closed = True
                break
        joined = "\n".join(p.text for p in taken)
        record = _split(name, first.number, joined) if closed else None
        swallowed = any(
            _closes(p.text) and width is not None and _width(p.text) == width for p in taken[1:-1]
        )
        if record is not None and not swallowed and (width is None or _fits(record, width)):
            yield record
            continue
        pending[:0] = taken[1:]
        yield Record(
            first.number,
            first.text[:2000],
            None,
            f"{name} line {first.number}: unterminated quote (a quoted field opens on this "
            "line and does not close on it); the line is quarantined and the lines after it "
            "are read on their own",
        )


def _width(text: str) -> int:
    try:
        return len(next(csv.reader([text]), []))
    except csv.Error:
        return -1


def _fits(record: Record, width: int) -> bool:
    return record.error is None and record.cells is not None and len(record.cells) == width


def _check_header(
    name: str, header_cells: list[str], required: Sequence[str], optional: Sequence[str]
) -> tuple[list[str], list[str]]:
    """The lower-cased header and its warnings; CsvFileError when the file is unusable."""
    header = [c.strip().lower() for c in header_cells]
    unnamed = [str(i) for i, h in enumerate(header, start=1) if not h]
    if unnamed:
        raise CsvFileError(
            f"{name} line 1: header column(s) {', '.join(unnamed)} have no name; every "
            "column needs one (remove empty columns, e.g. a trailing comma)"
        )
    positions: dict[str, list[int]] = {}
    for i, h in enumerate(header, start=1):
        positions.setdefault(h, []).append(i)
    dupes = {h: cols for h, cols in positions.items() if len(cols) > 1}
    if dupes:
        listed = "; ".join(f"{h} (columns {', '.join(map(str, c))})" for h, c in dupes.items())
        raise CsvFileError(
            f"{name} line 1: duplicate column name(s) {listed}; a value would silently "
            "overwrite another — keep one column of each name"
        )
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
        lines = physical_lines(name, fh)
        heading = records(name, lines)  # stops after the header: nothing is read ahead
        first = next(heading, None)
        while first is not None and first.error is None and not _has_text(first):
            first = next(heading, None)  # blank lines before the header
        if first is None:
            raise CsvFileError(f"{name}: the file is empty; expected a header row")
        if first.error or first.cells is None:
            raise CsvFileError(f"header unreadable: {first.error}")
        header, warnings = _check_header(name, first.cells, required, optional)
        yield (
            CsvFile(name=name, header=header, warnings=warnings),
            _rows(name, header, records(name, lines, len(header))),
        )


def _has_text(record: Record) -> bool:
    return bool(record.cells) and bool("".join(record.cells or []).strip())


def _rows(name: str, header: list[str], recs: Iterator[Record]) -> Iterator[CsvRow]:
    for rec in recs:
        if rec.error is None and not (rec.cells and "".join(rec.cells).strip()):
            continue
        cells = rec.cells or []
        error = rec.error
        if error is None and len(cells) != len(header):
            error = f"{name} line {rec.line}: has {len(cells)} fields, the header has {len(header)}"
        values = {h: c.strip() for h, c in zip(header, cells, strict=False)}
        yield CsvRow(line=rec.line, values=values, raw=rec.raw, error=error)


def read_csv(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> CsvFile:
    """Rows keyed by the lower-cased header; file-level problems raise CsvFileError.

    Holds every row: for small files (the roster). Exports stream with `open_csv`.
    """
    with open_csv(path, required, optional) as (out, rows):
        out.rows = list(rows)
    return out
