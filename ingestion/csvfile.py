"""Reading the hand-made CSVs (roster, campaign exports) without losing a line.

Spreadsheets produce BOMs, semicolons, stray Latin-1 bytes and formula cells. This reader
turns each into either a row or a per-line error that names the file and line, so the
loaders can quarantine exactly that line and load the rest. Cells are kept as text: a
formula such as `=HYPERLINK(...)` is stored verbatim, never evaluated.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

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


def _decode_lines(name: str, data: bytes) -> tuple[str, dict[int, str]]:
    """Decode as UTF-8 line by line; undecodable lines get an error naming line and byte."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CsvFileError(f"{name}: the file is UTF-16; save it as UTF-8 (CSV UTF-8) and retry")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    errors: dict[int, str] = {}
    parts = []
    for number, chunk in enumerate(data.split(b"\n"), start=1):
        try:
            parts.append(chunk.decode("utf-8"))
        except UnicodeDecodeError as exc:
            errors[number] = (
                f"{name} line {number}: not valid UTF-8 (byte 0x{chunk[exc.start]:02x} at "
                f"column {exc.start + 1}); re-save the file as UTF-8"
            )
            parts.append(chunk.decode("utf-8", errors="replace"))
    return "\n".join(parts), errors


def read_csv(path: Path, required: Sequence[str], optional: Sequence[str] = ()) -> CsvFile:
    """Rows keyed by the lower-cased header; file-level problems raise CsvFileError."""
    path = Path(path)
    name = path.name
    if not path.is_file():
        raise CsvFileError(f"{name}: file not found in {path.parent}")
    text, bad_lines = _decode_lines(name, path.read_bytes())
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header_cells = next(reader)
    except StopIteration:
        raise CsvFileError(f"{name}: the file is empty; expected a header row") from None
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
    out = CsvFile(name=name, header=header)
    extra = [c for c in header if c not in required and c not in optional]
    if extra:
        out.warnings.append(f"{name}: ignoring unknown column(s) {', '.join(extra)}")
    start = reader.line_num + 1
    for cells in reader:
        line, start = start, reader.line_num + 1
        if not cells or all(not c.strip() for c in cells):
            continue
        raw = ",".join(cells)
        error = next((bad_lines[n] for n in range(line, start) if n in bad_lines), None)
        if error is None and len(cells) != len(header):
            error = f"{name} line {line}: has {len(cells)} fields, the header has {len(header)}"
        values = {h: c.strip() for h, c in zip(header, cells, strict=False)}
        out.rows.append(CsvRow(line=line, values=values, raw=raw, error=error))
    return out
