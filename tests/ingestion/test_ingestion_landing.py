"""Landing writer: partitions are replaced whole, temporaries are invisible, run ids are safe."""

from __future__ import annotations

from datetime import date

import pyarrow.parquet as pq
import pytest

from ingestion.landing import check_run_id, write_manifest, write_records
from ingestion.records import EXPORT_SCHEMAS, api_schema
from ingestion.reparse import ReparseError, reparse_date

D = date(2026, 11, 24)
SCHEMA = EXPORT_SCHEMAS["fx_rates"]


def test_rewriting_a_date_leaves_exactly_the_new_part_even_with_dotted_run_ids(tmp_path):
    rows1 = [{"date": D, "currency": "EUR", "usd_per_unit": 1.1}]
    rows2 = [
        {"date": D, "currency": "GBP", "usd_per_unit": 1.3},
        {"date": D, "currency": "EUR", "usd_per_unit": 1.2},
    ]
    write_records(tmp_path, "fx_rates", D, "20261124T01.02", rows1, SCHEMA)
    stale = tmp_path / "records/fx_rates" / f"dt={D}" / ".part-x.parquet.crashed.tmp"
    stale.write_bytes(b"half a file")
    rel, sha = write_records(tmp_path, "fx_rates", D, "20261124T03.04", rows2, SCHEMA)
    # a legacy part named after its run goes too: one data file, under the fixed name
    (tmp_path / "records/fx_rates" / f"dt={D}" / "part-old.parquet").write_bytes(b"x")
    rel, sha = write_records(tmp_path, "fx_rates", D, "20261124T03.04", rows2, SCHEMA)
    files = sorted(p.name for p in (tmp_path / "records/fx_rates" / f"dt={D}").iterdir())
    assert files == ["part-0.parquet"]
    assert pq.read_table(tmp_path / rel).to_pylist() == rows2
    assert len(sha) == 64


def test_a_rerun_with_no_rows_removes_the_old_part(tmp_path):
    write_records(
        tmp_path, "fx_rates", D, "r1", [{"date": D, "currency": "EUR", "usd_per_unit": 1.1}], SCHEMA
    )
    assert write_records(tmp_path, "fx_rates", D, "r2", [], SCHEMA) is None
    assert list((tmp_path / "records/fx_rates" / f"dt={D}").iterdir()) == []


@pytest.mark.parametrize("bad", ["", "../etc", "a/b", "x" * 200, ".hidden"])
def test_unsafe_run_ids_are_refused(bad):
    with pytest.raises(ValueError, match="run_id"):
        check_run_id(bad)


def test_reparse_refuses_missing_raw_pages_and_keeps_the_records(tmp_path):
    root = tmp_path / "landing"
    row = {
        "creator_id": "c",
        "account_id": "a",
        "snapshot_date": D,
        "run_id": "r1",
        "extracted_at": None,
    }
    rel, _ = write_records(
        root, "accounts", D, "r1", [row], api_schema("accounts", "facebook"), "facebook"
    )
    manifest = {
        "source": "facebook",
        "run_id": "r1",
        "run_date": D.isoformat(),
        "status": "ok",
        "raw_files": {
            "raw/platform=facebook/endpoint=page/dt=2026-11-24/run=r1/part-00000.jsonl.gz": "0" * 64
        },
    }
    write_manifest(root, "facebook", D, manifest)
    with pytest.raises(ReparseError, match="is missing; re-extract the date"):
        reparse_date(root, D, "salt")
    assert pq.read_table(root / rel).num_rows == 1
