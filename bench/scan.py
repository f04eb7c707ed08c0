"""The engine's limit: how long DuckDB takes to read one day's landed records once.

`python -m bench.scan LANDING_DIR YYYY-MM-DD` prints one JSON line. Every column of every
Parquet file of that `dt=` is decoded (`max(hash(COLUMNS(*)))` touches each value, where a
bare `count(*)` would let DuckDB skip the columns); one in-memory connection, DuckDB's
default threads. The transform's incremental day is compared with this time.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path


def day_dirs(landing: Path, day: date) -> list[Path]:
    tag = f"dt={day.isoformat()}"
    dirs = [*landing.glob(f"records/*/{tag}"), *landing.glob(f"records/*/*/{tag}")]
    return sorted(d for d in dirs if any(d.glob("*.parquet")))


def scan_day(landing: Path, day: date) -> dict:
    import duckdb

    dirs = day_dirs(landing, day)
    con = duckdb.connect()
    sources = [f"read_parquet('{d.as_posix()}/*.parquet')" for d in dirs]
    t0 = time.perf_counter()
    for src in sources:
        con.execute(f"SELECT max(hash(COLUMNS(*))) FROM {src}").fetchall()
    seconds = time.perf_counter() - t0
    rows = sum(con.execute(f"SELECT count(*) FROM {src}").fetchone()[0] for src in sources)
    nbytes = sum(f.stat().st_size for d in dirs for f in d.glob("*.parquet"))
    return {"seconds": seconds, "rows": rows, "files": len(dirs), "parquet_bytes": nbytes}


def main(argv: list[str] | None = None) -> int:
    args = argv if argv is not None else sys.argv[1:]
    if len(args) != 2:
        print("usage: python -m bench.scan LANDING_DIR YYYY-MM-DD", file=sys.stderr)
        return 2
    print(json.dumps(scan_day(Path(args[0]), date.fromisoformat(args[1]))))
    return 0


if __name__ == "__main__":
    sys.exit(main())
