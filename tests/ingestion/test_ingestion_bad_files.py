"""Hostile export and roster files: every bad line gets a clear answer naming file and line,
every good row still lands, nothing from an earlier landing of the date is lost, and a load
that quarantined anything is `partial` with counts."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.csvfile import MAX_FIELD_CHARS, MAX_LINE_CHARS
from ingestion.exports import load_exports
from ingestion.roster import RosterError, read_roster

D = date(2026, 11, 24)
ROSTER = (
    "creator_id,display_name,platform,handle,account_id,niche,country,language\n"
    "C1,Ann,instagram,ann,,beauty,US,en\n"
    "C2,Bob,youtube,bob,UC2,tech,GB,en\n"
)
HEAD = "campaign_id,creator_id,date,clicks,orders,revenue,currency\n"
BASE = {
    "fx_rates.csv": "date,currency,usd_per_unit\n2026-10-01,EUR,1.08\n",
    "brands.csv": "brand_id,name,category,target_countries\nB1,Acme,beauty,US\n",
    "campaigns.csv": (
        "campaign_id,brand_id,name,objective,start_date,end_date,budget,currency,hashtag,brief\n"
        'K1,B1,Spring,awareness,2026-10-01,2026-10-31,1000,EUR,spring,"glow, fresh"\n'
    ),
    "campaign_creators.csv": (
        "campaign_id,creator_id,platform,fee,currency,post_ids\nK1,C1,instagram,250,EUR,p1\n"
    ),
}


def good_line(i: int) -> str:
    """A conversions row that loads (clicks = i identifies it)."""
    return f"K1,C{1 + i % 2},2026-10-{1 + i % 5:02d},{i},{i % 3},{i}.5,EUR"


@pytest.fixture
def roster(tmp_path: Path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER)
    return read_roster(path)


def load(home: Path, roster, files: dict[str, bytes | str], run_id: str = "r1"):
    exports = home / "exports"
    exports.mkdir(parents=True, exist_ok=True)
    for name, content in {**BASE, **files}.items():
        data = content if isinstance(content, bytes) else content.encode()
        (exports / name).write_bytes(data)
    root = home / "landing"
    manifest = load_exports(exports, root, D, run_id, roster.entries, roster.quarantined)
    qfile = manifest["quarantine"]
    quarantine = (
        [json.loads(x) for x in (root / qfile["file"]).read_text().splitlines()] if qfile else []
    )
    return manifest, root, quarantine


def records(root: Path, entity: str) -> list[dict]:
    files = sorted((root / "records" / entity / f"dt={D}").glob("*.parquet"))
    return [r for f in files for r in pq.read_table(f).to_pylist()]


def check_counts(manifest: dict) -> None:
    for name, e in manifest["entities"].items():
        assert e["served"] == e["landed"] + e["quarantined"], name


CASES = {
    # name: (bytes of conversions.csv, {bad line: words its reason must hold}, good clicks)
    "stray quote": (
        (
            HEAD
            + good_line(1)
            + "\n"
            + 'K1,"C1,2026-10-01,9,1,1,EUR\n'
            + "\n".join(good_line(i) for i in range(3, 300))
            + "\n"
        ).encode(),
        {3: "unterminated quote"},
        [1, *range(3, 300)],
    ),
    "field over the csv limit": (
        (
            HEAD
            + good_line(1)
            + '\nK1,C1,2026-10-01,1,1,1,"'
            + "x" * (MAX_FIELD_CHARS + 5)
            + '"\n'
            + good_line(3)
            + "\n"
        ).encode(),
        {3: "longer than"},
        [1, 3],
    ),
    "line over the line limit": (
        (
            HEAD
            + good_line(1)
            + "\nK1,C1,"
            + "y" * (MAX_LINE_CHARS + 10)
            + "\n"
            + good_line(3)
            + "\n"
        ).encode(),
        {3: "over the"},
        [1, 3],
    ),
    "CR-only line endings": (
        "\r".join([HEAD.strip(), *(good_line(i) for i in range(2, 6))]).encode(),
        {},
        [2, 3, 4, 5],
    ),
    "mixed endings and a BOM": (
        b"\xef\xbb\xbf"
        + (
            HEAD.strip() + "\r\n" + good_line(2) + "\r" + good_line(3) + "\n" + good_line(4)
        ).encode(),
        {},
        [2, 3, 4],
    ),
    "NUL byte": (
        (HEAD + good_line(1) + "\nK1,C1,2026-10-01,1\x00,1,1,EUR\n" + good_line(3)).encode(),
        {3: "NUL byte"},
        [1, 3],
    ),
    "latin-1 byte": (
        (HEAD + good_line(1) + "\n").encode()
        + b"K1,C1,2026-10-01,1,1,1,\xe9UR\n"
        + good_line(3).encode(),
        {3: "not valid UTF-8 (byte 0xe9"},
        [1, 3],
    ),
    "absurd and non-finite amounts": (
        (
            HEAD
            + good_line(1)
            + "\n"
            + "K1,C1,2026-10-01,1,1,1e308,EUR\n"
            + "K1,C1,2026-10-01,1,1,inf,EUR\n"
            + "K1,C1,2026-10-01,1,1,NaN,EUR\n"
            + "K1,C1,2026-10-01,1,1,-5,EUR\n"
            + "K1,C1,2026-10-01,1,1,2e12,EUR\n"
            + "K1,C1,2026-10-01,99999999999999999999999,1,1,EUR\n"
            + good_line(9)
            + "\n"
        ).encode(),
        {
            3: "USD bound",
            4: "not a finite",
            5: "not a finite",
            6: "zero or more",
            7: "USD bound",
            8: "bound",
        },
        [1, 9],
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_line_is_quarantined_with_file_and_line_and_the_rest_loads(tmp_path, roster, case):
    data, bad, good = CASES[case]
    manifest, root, quarantine = load(tmp_path, roster, {"conversions.csv": data})

    got = {q["line"]: q["reason"] for q in quarantine if q["file"] == "conversions.csv"}
    assert set(got) == set(bad), got
    for line, words in bad.items():
        assert got[line].startswith(f"conversions.csv line {line}: "), got[line]
        assert words in got[line], got[line]
    assert sorted(r["clicks"] for r in records(root, "conversions")) == good
    conv = manifest["entities"]["conversions"]
    assert (conv["landed"], conv["quarantined"]) == (len(good), len(bad))
    check_counts(manifest)
    if bad:
        assert manifest["status"] == "partial"
        assert f"{len(bad)} rows quarantined (conversions {len(bad)})" in manifest["reason"]
    else:
        assert manifest["status"] == "ok" and manifest["reason"] == ""


@pytest.mark.parametrize(
    ("header", "words"),
    [
        (
            "campaign_id,creator_id,date,clicks,orders,revenue,currency,clicks",
            "duplicate column name(s) clicks (columns 4, 8)",
        ),
        ("campaign_id,creator_id,date,clicks,,orders,revenue,currency", "column(s) 5 have no name"),
        ("campaign_id,creator_id,date,clicks,orders,revenue,currency,", "column(s) 8 have no name"),
    ],
)
def test_a_header_with_duplicate_or_missing_names_rejects_the_file_and_keeps_the_earlier_landing(
    tmp_path, roster, header, words
):
    first, root, _ = load(tmp_path, roster, {"conversions.csv": HEAD + good_line(1) + "\n"})
    assert first["status"] == "ok"
    before = records(root, "conversions")

    body = "\n".join(good_line(i) + ",x" * header.endswith(("clicks", ",")) for i in (2, 3))
    manifest, root, quarantine = load(
        tmp_path, roster, {"conversions.csv": header + "\n" + body + "\n"}, run_id="r2"
    )
    (error,) = manifest["errors"]
    assert error.startswith("conversions.csv line 1: ") and words in error
    assert manifest["status"] == "partial"
    # every line of the rejected file is quarantined with the reason, none is lost
    assert [q["line"] for q in quarantine if q["file"] == "conversions.csv"] == [2, 3]
    # the date's earlier conversions stay landed, and the manifest names them
    assert records(root, "conversions") == before
    conv = manifest["entities"]["conversions"]
    assert (
        conv["kept_from_run"] == "r1" and conv["files"] == first["entities"]["conversions"]["files"]
    )
    check_counts(manifest)


def test_a_rejected_reference_file_keeps_its_earlier_rows_for_the_files_that_use_them(
    tmp_path, roster
):
    conv = HEAD + good_line(1) + "\n"
    load(tmp_path, roster, {"conversions.csv": conv})
    dup = BASE["brands.csv"].replace("target_countries", "name", 1)
    manifest, root, _ = load(tmp_path, roster, {"brands.csv": dup, "conversions.csv": conv}, "r2")
    assert any("brands.csv line 1: duplicate column name(s) name" in e for e in manifest["errors"])
    assert [b["brand_id"] for b in records(root, "brands")] == ["B1"]
    # campaigns still find brand B1 (kept from r1): nothing downstream is quarantined
    assert [c["campaign_id"] for c in records(root, "campaigns")] == ["K1"]
    assert manifest["entities"]["campaigns"]["quarantined"] == 0
    assert manifest["entities"]["conversions"]["landed"] == 1


def test_the_roster_gets_the_same_answers(tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER.replace("niche", "handle", 1))
    with pytest.raises(RosterError, match=r"roster.csv line 1: duplicate column name\(s\) handle"):
        read_roster(path)

    path.write_bytes(
        (ROSTER.strip() + "\r").replace("\n", "\r").encode()
        + b'C3,"Cy,x,cy,,,US,en\rC4,D\xe9,x,dee,,,US,en\rC5,Eve,x,eve,,,US,en\r'
    )
    load_ = read_roster(path)
    assert [e.creator_id for e in load_.entries] == ["C1", "C2", "C5"]
    reasons = {q.line: q.reason for q in load_.quarantined}
    assert "unterminated quote" in reasons[4] and reasons[4].startswith("roster.csv line 4: ")
    assert "not valid UTF-8" in reasons[5] and reasons[5].startswith("roster.csv line 5: ")


def test_a_bad_roster_file_exits_2_with_the_file_named(tmp_path, monkeypatch, capsys):
    from pipeline import cli

    home = tmp_path / "home"
    (tmp_path / "exports").mkdir()
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER.replace("\n", ",US\n").replace("language,US", "language,country"))
    monkeypatch.setenv("KOL_HOME", str(home))
    monkeypatch.setenv("KOL_ROSTER", str(path))
    monkeypatch.setenv("KOL_EXPORTS_DIR", str(tmp_path / "exports"))
    monkeypatch.setenv("KOL_TIKTOK_TOKEN", "t")
    monkeypatch.setenv("KOL_TIKTOK_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("KOL_TODAY", "2026-11-24")  # the source serves the date asked
    assert cli.main(["extract", "--platform", "tiktok", "--date", "2026-11-24"]) == 2
    err = capsys.readouterr().err
    assert "configuration error" in err
    assert "roster.csv line 1: duplicate column name(s) country (columns 7, 9)" in err
    assert not home.exists() or not (home / "landing").exists()  # refused before any work


CORRUPTIONS = {
    "stray quote": lambda line: line.replace(",C", ',"C', 1),
    "NUL": lambda line: line.replace(",", ",\x00", 1),
    "latin-1": lambda line: line.replace("EUR", "\udce9UR"),
    "too many fields": lambda line: line + ",extra",
    "inf revenue": lambda line: line.rsplit(",", 2)[0] + ",inf,EUR",
}


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    plan=st.lists(
        st.tuples(
            st.one_of(st.none(), st.sampled_from(list(CORRUPTIONS))),
            st.sampled_from(["\n", "\r\n", "\r"]),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_generated_bad_files_lose_no_good_row(tmp_path_factory, roster, plan):
    """Whatever lines are corrupted and however lines end, every untouched row lands, each
    corrupted one is quarantined naming its line, and served = landed + quarantined."""
    home = tmp_path_factory.mktemp("gen")
    text, bad_lines, good = HEAD.strip(), set(), []
    for i, (corruption, ending) in enumerate(plan, start=2):
        line = good_line(i)
        if corruption:
            line = CORRUPTIONS[corruption](line)
            bad_lines.add(i)
        else:
            good.append(i)
        text += ending + line
    data = text.encode("utf-8", errors="surrogateescape")
    manifest, root, quarantine = load(home, roster, {"conversions.csv": data})

    assert sorted(r["clicks"] for r in records(root, "conversions")) == good
    got = {q["line"] for q in quarantine if q["file"] == "conversions.csv"}
    assert got <= bad_lines  # two stray quotes in a row may pair up into one quarantined record
    assert all(q["reason"].startswith(f"conversions.csv line {q['line']}: ") for q in quarantine)
    assert manifest["status"] == ("partial" if bad_lines else "ok")
    check_counts(manifest)
