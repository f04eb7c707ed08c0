"""Roster and campaign-export loading: bad input is quarantined with file + line, the rest loads."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from ingestion.exports import load_exports
from ingestion.roster import RosterError, read_roster

D = date(2026, 11, 24)
ROSTER = (
    "creator_id,display_name,platform,handle,account_id,niche,country,language\n"
    "C1,Ann,instagram,@ann,,beauty,us,EN\n"
    'C2,"O\'Neil, Jr.",youtube,oneil,UC2,tech,GB,en\n'
    "C3,Cat,myspace,cat,,music,FR,fr\n"
    "C4,Dan,facebook,dan,,food,DE,de\n"
    "C5,Eve,x,,,,US,en\n"
    "C6,Ann2,instagram,ANN,,beauty,US,en\n"
)
GOOD = {
    "brands.csv": 'brand_id,name,category,target_countries\nB1,Acme,beauty,US;GB\nB2,=HYPERLINK("http://evil"),tech,FR\n',
    "campaigns.csv": (
        "campaign_id,brand_id,name,objective,start_date,end_date,budget,currency,hashtag,brief\n"
        'K1,B1,Spring,awareness,2026-10-01,2026-10-31,1000,EUR,#Spring26,"glow, fresh"\n'
        "K2,B9,Ghost brand,sales,2026-10-01,2026-10-31,10,USD,x,y\n"
        "K3,B2,Gadgets,sales,2026-09-01,2026-09-30,500,GBP,gadget,\"+cmd|' /C calc'!A0\"\n"
    ),
    "campaign_creators.csv": (
        "campaign_id,creator_id,platform,fee,currency,post_ids\n"
        "K1,C1,instagram,250.5,EUR,p1;p2\n"
        "K1,C2,youtube,abc,EUR,\n"
        "K1,C404,youtube,10,EUR,\n"
        "K3,C2,youtube,100,GBP,\n"
    ),
    "conversions.csv": (
        "campaign_id,creator_id,date,clicks,orders,revenue,currency,platform\n"
        "K1,C1,2026-10-05,100,3,90.0,EUR,instagram\n"
        "K1,C1,2026-10-12,5,1,10.0,EUR,\n"
        "K1,C1,2026-13-01,1,1,1,EUR,\n"
        "KX,C1,2026-10-05,1,1,1,EUR,\n"
    ),
    "fx_rates.csv": "date,currency,usd_per_unit\n2026-10-01,EUR,1.08\n2026-10-10,EUR,1.07\n",
}


def write(dir_: Path, files: dict[str, str | bytes]) -> Path:
    dir_.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (dir_ / name).write_bytes(content if isinstance(content, bytes) else content.encode())
    return dir_


@pytest.fixture
def roster(tmp_path: Path):
    path = tmp_path / "roster.csv"
    path.write_bytes(b"\xef\xbb\xbf" + ROSTER.encode())
    return read_roster(path)


def test_roster_lines_are_checked_one_by_one(roster):
    assert [(e.creator_id, e.handle, e.platform) for e in roster.entries] == [
        ("C1", "ann", "instagram"),
        ("C2", "oneil", "youtube"),
    ]
    assert roster.entries[1].display_name == "O'Neil, Jr." and roster.entries[0].country == "US"
    reasons = {q.line: q.reason for q in roster.quarantined}
    assert "unknown platform 'myspace'" in reasons[4]
    assert "account_id is required for facebook" in reasons[5]
    assert "missing handle" in reasons[6]
    assert "duplicate account instagram @ANN (already on line 2)" in reasons[7]
    assert all(r.startswith(f"roster.csv line {n}:") for n, r in reasons.items())


def test_roster_with_semicolons_names_the_problem(tmp_path: Path):
    path = tmp_path / "roster.csv"
    path.write_text(ROSTER.replace(",", ";"))
    with pytest.raises(RosterError, match=r"roster.csv: .*semicolon-separated"):
        read_roster(path)


def load(tmp_path: Path, roster, files: dict[str, str | bytes]):
    exports = write(tmp_path / "exports", {**GOOD, **files})
    root = tmp_path / "landing"
    manifest = load_exports(exports, root, D, "r1", roster.entries, roster.quarantined)
    quarantine = [
        json.loads(line)
        for line in (root / manifest["quarantine"]["file"]).read_text().splitlines()
    ]
    return manifest, root, quarantine


def rows(root: Path, entity: str) -> list[dict]:
    return pq.read_table(
        next((root / "records" / entity / f"dt={D}").glob("part-*.parquet"))
    ).to_pylist()


def test_bad_rows_are_quarantined_with_file_and_line_and_good_rows_load(tmp_path, roster):
    manifest, root, quarantine = load(tmp_path, roster, {})
    by_file = {(q["file"], q.get("line")): q["reason"] for q in quarantine}
    assert "unknown brand_id B9" in by_file[("campaigns.csv", 3)]
    assert "fee 'abc' is not a number" in by_file[("campaign_creators.csv", 3)]
    assert "unknown creator_id C404" in by_file[("campaign_creators.csv", 4)]
    # GBP has no rate at all: the fee cannot be converted on the campaign start date
    assert "no fx rate for GBP on 2026-09-01" in by_file[("campaign_creators.csv", 5)]
    assert "not a date" in by_file[("conversions.csv", 4)]
    assert "unknown campaign_id KX" in by_file[("conversions.csv", 5)]
    assert all(r.startswith(f"{f} line {n}: ") for (f, n), r in by_file.items())
    # what is left loads, typed
    (cc,) = rows(root, "campaign_creators")
    assert (cc["fee"], cc["post_ids"], cc["currency"]) == (250.5, ["p1", "p2"], "EUR")
    campaigns = {r["campaign_id"]: r for r in rows(root, "campaigns")}
    assert campaigns["K1"]["hashtag"] == "spring26" and campaigns["K1"]["start_date"] == date(
        2026, 10, 1
    )
    assert campaigns["K3"]["brief"] == "+cmd|' /C calc'!A0"  # kept as text, never evaluated
    brands = {r["brand_id"]: r for r in rows(root, "brands")}
    assert brands["B2"]["name"] == '=HYPERLINK("http://evil")' and brands["B1"][
        "target_countries"
    ] == ["US", "GB"]
    conv = rows(root, "conversions")
    assert [(c["platform"], c["clicks"]) for c in conv] == [("instagram", 100), (None, 5)]
    for name, e in manifest["entities"].items():
        assert e["served"] == e["landed"] + e["quarantined"], name
    assert manifest["entities"]["roster"] == {
        **manifest["entities"]["roster"],
        "served": 6,
        "landed": 2,
        "quarantined": 4,
    }


def test_fx_rate_falls_back_to_the_7_days_before_and_no_further(tmp_path, roster):
    conversions = (
        "campaign_id,creator_id,date,clicks,orders,revenue,currency\n"
        "K1,C1,2026-10-17,1,1,5,EUR\n"  # 7 days after the 2026-10-10 rate: ok
        "K1,C1,2026-10-18,1,1,5,EUR\n"  # 8 days after: quarantined
    )
    manifest, root, quarantine = load(tmp_path, roster, {"conversions.csv": conversions})
    assert [c["date"] for c in rows(root, "conversions")] == [date(2026, 10, 17)]
    (q,) = [q for q in quarantine if q["file"] == "conversions.csv"]
    assert q["line"] == 3 and "no fx rate for EUR on 2026-10-18" in q["reason"]
    assert manifest["entities"]["conversions"]["served"] == 2


def test_wrong_delimiter_names_the_file_and_keeps_every_line(tmp_path, roster):
    bad = GOOD["fx_rates.csv"].replace(",", ";")
    manifest, _root, quarantine = load(tmp_path, roster, {"fx_rates.csv": bad})
    assert manifest["status"] == "partial"
    assert any("fx_rates.csv" in e and "semicolon-separated" in e for e in manifest["errors"])
    fx_q = [q for q in quarantine if q["file"] == "fx_rates.csv"]
    assert [q["line"] for q in fx_q] == [2, 3] and manifest["entities"]["fx_rates"][
        "quarantined"
    ] == 2
    # without rates the EUR fee cannot convert: quarantined, not lost
    assert manifest["entities"]["campaign_creators"]["landed"] == 0


def test_non_utf8_bytes_name_file_and_line(tmp_path, roster):
    brands = (
        b"brand_id,name,category,target_countries\nB1,Acme,beauty,US\nB2,Caf\xe9 Noir,food,FR\n"
    )
    _manifest, root, quarantine = load(tmp_path, roster, {"brands.csv": brands})
    (q,) = [q for q in quarantine if q["file"] == "brands.csv"]
    assert q["line"] == 3 and "brands.csv line 3: not valid UTF-8 (byte 0xe9" in q["reason"]
    assert [b["brand_id"] for b in rows(root, "brands")] == ["B1"]


def test_missing_and_extra_columns(tmp_path, roster):
    brands = "brand_id,name,category\nB1,Acme,beauty\n"
    campaigns = (
        GOOD["campaigns.csv"]
        .replace("brief\n", "brief,owner\n", 1)
        .replace('fresh"\n', 'fresh",me\n', 1)
    )
    manifest, _root, _ = load(tmp_path, roster, {"brands.csv": brands, "campaigns.csv": campaigns})
    assert any("brands.csv: missing column(s) target_countries" in e for e in manifest["errors"])
    assert any("campaigns.csv: ignoring unknown column(s) owner" in w for w in manifest["warnings"])


def test_a_row_with_too_many_fields_is_quarantined(tmp_path, roster):
    fx = GOOD["fx_rates.csv"] + "2026-10-11,EUR,1.1,extra\n"
    _, root, quarantine = load(tmp_path, roster, {"fx_rates.csv": fx})
    (q,) = [q for q in quarantine if q["file"] == "fx_rates.csv"]
    assert "has 4 fields, the header has 3" in q["reason"] and q["line"] == 4
    assert len(rows(root, "fx_rates")) == 2


def test_reload_of_a_date_replaces_its_partitions(tmp_path, roster):
    load(tmp_path, roster, {})
    load(tmp_path, roster, {})
    for entity in ("brands", "campaigns", "fx_rates"):
        assert len(list((tmp_path / "landing/records" / entity / f"dt={D}").glob("*.parquet"))) == 1
    assert len(rows(tmp_path / "landing", "brands")) == 2
