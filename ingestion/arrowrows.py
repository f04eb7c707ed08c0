"""Python rows to an Arrow table without pandas.

`pa.Table.from_pylist` (and every `pa.array` on a Python list) asks pyarrow's pandas shim
whether the input is array-like, which imports pandas: 1-4 s in every `kol extract` process
that only lands a few Parquet files. Here each column is built from its Arrow buffers
(validity bitmap, offsets, values) with numpy, for exactly the types of `records.py`.
The result equals `pa.Table.from_pylist(rows, schema=schema)` (tests/ingestion check it).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EPOCH_DAY = date(1970, 1, 1).toordinal()
_MICRO = timedelta(microseconds=1)


def rows_to_table(rows: list[dict[str, Any]], schema: pa.Schema) -> pa.Table:
    """One column per schema field; a key missing from a row is NULL (as from_pylist)."""
    columns = [_column([row.get(f.name) for row in rows], f.type) for f in schema]
    return pa.Table.from_arrays(columns, schema=schema)


def _column(values: list[Any], typ: pa.DataType) -> pa.Array:
    key = "list<string>" if pa.types.is_list(typ) and typ.value_type == pa.string() else str(typ)
    builder = _BUILDERS.get(key)
    if builder is None:
        raise TypeError(f"no Arrow column builder for type {typ} (add one in arrowrows.py)")
    return builder(values, typ)


def _validity(values: list[Any]) -> tuple[pa.Buffer | None, int]:
    nulls = sum(v is None for v in values)
    if not nulls:
        return None, 0
    mask = np.fromiter((v is not None for v in values), dtype=bool, count=len(values))
    return pa.py_buffer(np.packbits(mask, bitorder="little")), nulls


def _fixed(np_type: Any, accepts: tuple[type, ...]) -> Callable[..., pa.Array]:
    """int64 and double columns. Types are checked first: numpy would quietly turn "12"
    into 12 or 1.5 into 1 where from_pylist refuses them."""

    def build(values: list[Any], typ: pa.DataType) -> pa.Array:
        data = [0 if v is None else v for v in values]
        for v in data:
            if isinstance(v, bool) or not isinstance(v, accepts):
                raise pa.ArrowTypeError(f"expected {typ}, got {type(v).__name__} ({v!r:.40})")
        return _from_values(values, typ, np.array(data, dtype=np_type))

    return build


def _from_values(values: list[Any], typ: pa.DataType, array: np.ndarray) -> pa.Array:
    validity, nulls = _validity(values)
    return pa.Array.from_buffers(typ, len(values), [validity, pa.py_buffer(array)], nulls)


def _timestamps(values: list[Any], typ: pa.DataType) -> pa.Array:
    try:  # aware datetimes (what the builders make): one subtraction each
        data = [0 if v is None else (v - _EPOCH) // _MICRO for v in values]
    except TypeError:  # a naive one: from_pylist reads it as UTC wall time
        data = [0 if v is None else _micros(v) for v in values]
    return _from_values(values, typ, np.array(data, dtype=np.int64))


def _micros(value: datetime) -> int:
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return (value - _EPOCH) // _MICRO


def _dates(values: list[Any], typ: pa.DataType) -> pa.Array:
    data = [0 if v is None else _days(v) for v in values]
    return _from_values(values, typ, np.array(data, dtype=np.int32))


def _days(value: date) -> int:
    if isinstance(value, datetime):
        value = value.date()
    return value.toordinal() - _EPOCH_DAY


def _bools(values: list[Any], typ: pa.DataType) -> pa.Array:
    validity, nulls = _validity(values)
    bits = np.fromiter((bool(v) for v in values), dtype=bool, count=len(values))
    data = pa.py_buffer(np.packbits(bits, bitorder="little"))
    return pa.Array.from_buffers(typ, len(values), [validity, data], nulls)


def _strings(values: list[Any], typ: pa.DataType) -> pa.Array:
    validity, nulls = _validity(values)
    try:
        encoded = [b"" if v is None else v.encode("utf-8") for v in values]
    except AttributeError:
        bad = next(v for v in values if v is not None and not isinstance(v, str))
        raise pa.ArrowTypeError(f"expected str, got {type(bad).__name__} ({bad!r:.40})") from None
    offsets = np.zeros(len(values) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, encoded), dtype=np.int64, count=len(values)), out=offsets[1:])
    if offsets[-1] >= 2**31:
        raise pa.ArrowInvalid("a string column over 2 GiB: write fewer rows per file")
    data = pa.py_buffer(b"".join(encoded))
    return pa.Array.from_buffers(
        typ, len(values), [validity, pa.py_buffer(offsets.astype(np.int32)), data], nulls
    )


def _string_lists(values: list[Any], typ: pa.DataType) -> pa.Array:
    validity, nulls = _validity(values)
    items: list[Any] = []
    offsets = np.zeros(len(values) + 1, dtype=np.int32)
    for i, v in enumerate(values):
        if v is not None:
            items.extend(v)
        offsets[i + 1] = len(items)
    child = _strings(items, pa.string())
    return pa.Array.from_buffers(
        typ, len(values), [validity, pa.py_buffer(offsets)], nulls, children=[child]
    )


_BUILDERS: dict[str, Callable[[list[Any], pa.DataType], pa.Array]] = {
    "int64": _fixed(np.int64, (int,)),
    "double": _fixed(np.float64, (int, float)),
    "date32[day]": _dates,
    "timestamp[us, tz=UTC]": _timestamps,
    "bool": _bools,
    "string": _strings,
    "list<string>": _string_lists,
}
