"""Re-running a date never loses landed data: an account's records and raw pages are
replaced only by a newer successful landing of that account (sandbox, real files)."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import RUN_DATE

from ingestion.extract import ExtractRequest, extract_platform
from ingestion.http import RetryPolicy
from ingestion.reparse import reparse_date
from ingestion.roster import RosterEntry, read_roster
from sandbox import FaultConfig, SandboxServer, WorldConfig, export_world

pytestmark = pytest.mark.integration

D: date = RUN_DATE
TOKEN = "t-rerun"
SALT = "s"
POLICY = RetryPolicy(max_attempts=2, backoff_base=0.001, max_wait=0.01, connect_timeout=1)
ENTITIES = ("accounts", "posts", "comments")
VOLATILE = ("run_id", "extracted_at")  # what differs between two equal landings


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> tuple[WorldConfig, list[RosterEntry]]:
    cfg = WorldConfig(seed=11, creators=5, days=20, end_date=D)
    out = tmp_path_factory.mktemp("world")
    roster = read_roster(export_world(cfg, out)["roster"])
    entries = [e for e in roster.entries if e.platform == "youtube"]
    assert len(entries) >= 4
    return cfg, entries


def extract(
    root: Path,
    run_id: str,
    entries: list[RosterEntry],
    cfg: WorldConfig,
    faults: str = "",
    base_url: str | None = None,
) -> dict[str, Any]:
    """One YouTube extraction: against `base_url` if given, else a fresh sandbox."""
    if base_url is not None:
        return _extract(root, run_id, entries, base_url)
    spec = FaultConfig.parse(faults) if faults else None
    with SandboxServer(cfg, token=TOKEN, faults=spec) as sb:
        return _extract(root, run_id, entries, sb.base_urls["youtube"])


def _extract(root: Path, run_id: str, entries: list[RosterEntry], url: str) -> dict[str, Any]:
    req = ExtractRequest(
        "youtube",
        D,
        run_id,
        root,
        entries,
        url,
        TOKEN,
        salt=SALT,
        policy=POLICY,
        sleep=lambda s: None,
        workers=1,
    )
    return extract_platform(req)


def dead_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"  # nothing listens once the socket is closed


def records(root: Path, entity: str) -> pa.Table:
    files = sorted((root / "records" / entity / "platform=youtube" / f"dt={D}").glob("*.parquet"))
    assert len(files) <= 1
    return pq.read_table(files[0]) if files else pa.table({})


def rows_of(root: Path, entity: str, *, by_creator: set[str] | None = None) -> list[dict]:
    rows = records(root, entity).to_pylist()
    if by_creator is not None:
        rows = [r for r in rows if r["creator_id"] in by_creator]
    return rows


def stable(rows: list[dict]) -> list[dict]:
    """The rows without what differs between two equal landings, in a fixed order (a batch
    answer lists its items in any order, so rows within an account may come in another)."""
    kept = [{k: v for k, v in r.items() if k not in VOLATILE} for r in rows]
    return sorted(kept, key=lambda r: json.dumps(r, default=str, sort_keys=True))


def raw_runs(root: Path) -> set[str]:
    return {p.name[4:] for p in root.glob(f"raw/platform=youtube/endpoint=*/dt={D}/run=*")}


def manifest(root: Path) -> dict[str, Any]:
    return json.loads((root / "manifests" / f"dt={D}" / "youtube.json").read_text())


def record_bytes(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted((root / "records").rglob("*.parquet"))
    }


@pytest.fixture
def landed(tmp_path: Path, world) -> tuple[Path, dict[str, list[dict]]]:
    """D landed fully by run r0; its rows per entity."""
    cfg, entries = world
    root = tmp_path / "landing"
    m = extract(root, "r0", entries, cfg)
    assert m["status"] == "ok", m["reason"]
    before = {e: rows_of(root, e) for e in ENTITIES}
    assert before["accounts"] and before["posts"]
    return root, before


def assert_view(root: Path, entries: list[RosterEntry], expected: dict[str, tuple[str, str]]):
    by_key = manifest(root)["accounts"]["by_key"]
    assert {k: (v["run_id"], v["status"]) for k, v in by_key.items()} == expected
    assert len(expected) == len(entries)


@pytest.mark.parametrize("down", ["dead port", "server_error"])
def test_a_rerun_with_the_platform_down_keeps_every_account(landed, world, down):
    root, before = landed
    cfg, entries = world
    if down == "dead port":
        m = extract(root, "r1", entries, cfg, base_url=dead_url())
    else:
        m = extract(root, "r1", entries, cfg, faults="server_error")

    assert m["status"] == "failed"
    assert m["accounts"]["ok"] == 0
    assert m["accounts"]["kept_from_earlier_runs"] == sorted(e.key for e in entries)
    assert_view(root, entries, {e.key: ("r0", "landed") for e in entries})
    for entity in ENTITIES:
        assert rows_of(root, entity) == before[entity], entity
    # r0's pages stay (the data comes from them); r1's error pages stay as its audit (a
    # refused connection leaves none)
    assert raw_runs(root) == ({"r0"} if down == "dead port" else {"r0", "r1"})
    assert {p.split("/run=")[1].split("/")[0] for p in m["raw_files"]} == raw_runs(root)
    # counts describe the files: served = landed + quarantined
    for entity, e in m["entities"].items():
        assert e["served"] == e["landed"] + e["quarantined"], entity
    assert m["entities"]["posts"]["landed"] == len(before["posts"])

    # reparse rebuilds exactly the same files from the runs the manifest names
    files = record_bytes(root)
    reparse_date(root, D, SALT)
    assert record_bytes(root) == files


def test_a_quota_stop_half_way_replaces_only_the_accounts_it_landed(landed, world):
    root, before = landed
    cfg, entries = world
    extract(root, "r1", entries, cfg, base_url=dead_url())  # a failed run in between
    m = extract(root, "r2", entries, cfg, faults="quota_after=12")

    new = set(m["accounts"]["landed"])
    assert m["status"] == "partial" and "quota" in m["reason"]
    assert 0 < len(new) < len(entries), "the quota must stop the run half way"
    assert_view(
        root,
        entries,
        {e.key: ("r2", "landed") if e.key in new else ("r0", "landed") for e in entries},
    )
    kept = {e.creator_id for e in entries if e.key not in new}
    fresh = {e.creator_id for e in entries if e.key in new}
    for entity in ENTITIES:
        assert rows_of(root, entity, by_creator=kept) == [
            r for r in before[entity] if r["creator_id"] in kept
        ], entity
        assert {r["run_id"] for r in rows_of(root, entity, by_creator=fresh)} <= {"r2"}
        assert stable(rows_of(root, entity, by_creator=fresh)) == stable(
            [r for r in before[entity] if r["creator_id"] in fresh]
        ), entity
    # r1 contributed nothing and is not the current run: its pages are gone
    assert raw_runs(root) == {"r0", "r2"}

    files = record_bytes(root)
    reparse_date(root, D, SALT)
    assert record_bytes(root) == files


def test_failing_accounts_keep_their_data_and_the_others_are_replaced(landed, world):
    root, before = landed
    cfg, entries = world
    broken = {entries[0].key, entries[2].key}
    roster = [
        dataclasses.replace(e, account_id="UCmissing000000000000000") if e.key in broken else e
        for e in entries
    ]
    m = extract(root, "r1", roster, cfg)

    assert m["status"] == "partial"
    assert len(m["accounts"]["failed"]) == 2
    assert_view(
        root,
        entries,
        {e.key: ("r0" if e.key in broken else "r1", "landed") for e in entries},
    )
    failed_creators = {e.creator_id for e in entries if e.key in broken}
    for entity in ENTITIES:
        got = rows_of(root, entity)
        assert [r for r in got if r["creator_id"] in failed_creators] == [
            r for r in before[entity] if r["creator_id"] in failed_creators
        ], entity
        assert stable(got) == stable(before[entity]), entity  # same data, whatever the run
    assert raw_runs(root) == {"r0", "r1"}

    files = record_bytes(root)
    reparse_date(root, D, SALT)
    assert record_bytes(root) == files

    # the next clean run takes every account; r0's pages are no longer needed
    m = extract(root, "r2", entries, cfg)
    assert m["status"] == "ok"
    assert_view(root, entries, {e.key: ("r2", "landed") for e in entries})
    assert raw_runs(root) == {"r2"}
    for entity in ENTITIES:
        assert stable(rows_of(root, entity)) == stable(before[entity]), entity


def test_a_date_run_twice_cleanly_lands_the_same_records(landed, world):
    root, before = landed
    cfg, entries = world
    m = extract(root, "r1", entries, cfg)
    assert m["status"] == "ok" and m["accounts"]["kept_from_earlier_runs"] == []
    for entity in ENTITIES:
        got = rows_of(root, entity)
        assert {r["run_id"] for r in got} <= {"r1"}
        assert stable(got) == stable(before[entity]), entity
    assert raw_runs(root) == {"r1"}


def test_an_account_only_failed_before_is_not_seen_and_takes_a_later_partial_run(tmp_path, world):
    from ingestion.extract import first_sight_keys

    cfg, entries = world
    root = tmp_path / "landing"
    extract(root, "r0", entries, cfg, base_url=dead_url())
    m = manifest(root)
    assert {v["status"] for v in m["accounts"]["by_key"].values()} == {"failed"}
    # a failed pull is not a sighting: the next date still gets the 90-day first pull
    later = date.fromordinal(D.toordinal() + 1)
    assert first_sight_keys(root, "youtube", later, entries) == {e.key for e in entries}

    extract(root, "r1", entries, cfg)
    assert_view(root, entries, {e.key: ("r1", "landed") for e in entries})
    assert first_sight_keys(root, "youtube", later, entries) == set()


class Killed(BaseException):
    """Stands for a kill -9: nothing after it runs (not even `except Exception`)."""


@pytest.fixture(scope="module")
def sandbox_url(world) -> Iterator[str]:
    with SandboxServer(world[0], token=TOKEN) as sb:
        yield sb.base_urls["youtube"]


def test_a_kill_at_any_step_of_a_rerun_commit_loses_nothing(
    tmp_path, world, monkeypatch, sandbox_url
):
    """A re-run (two accounts failing) is stopped before each rename or deletion of its
    commit in turn; every time, each account's rows are still visible, the manifest names
    raw pages that all exist, reparse rebuilds the view it names, and the next run works."""
    import shutil

    import ingestion.landing as landing
    from ingestion.reparse import check_raw_files

    cfg, entries = world
    broken = {entries[0].key, entries[2].key}
    roster = [
        dataclasses.replace(e, account_id="UCmissing000000000000000") if e.key in broken else e
        for e in entries
    ]
    real_replace, real_rmtree = os.replace, shutil.rmtree
    step = 0
    url = sandbox_url
    first = tmp_path / "r0" / "landing"
    extract(first, "r0", entries, cfg, base_url=url)
    before = {e: stable(rows_of(first, e)) for e in ENTITIES}
    while True:
        root = tmp_path / f"k{step}" / "landing"
        shutil.copytree(first, root)

        def crash(real, *args, calls=[0], at=step + 1, **kwargs):  # noqa: B006 - one per step
            calls[0] += 1
            if calls[0] == at:
                raise Killed
            return real(*args, **kwargs)

        monkeypatch.setattr(landing.os, "replace", lambda *a, **k: crash(real_replace, *a, **k))
        monkeypatch.setattr(landing.shutil, "rmtree", lambda *a, **k: crash(real_rmtree, *a, **k))
        try:
            extract(root, "r1", roster, cfg, base_url=url)
            finished = True
        except Killed:
            finished = False
        finally:
            monkeypatch.undo()

        for entity in ENTITIES:  # every account's rows, from one run or the other
            assert stable(rows_of(root, entity)) == before[entity], (step, entity)
        m = manifest(root)
        check_raw_files(root, m)
        reparse_date(root, D, SALT)
        by_key = m["accounts"]["by_key"]
        creator_run = {k.split(":")[0]: v["run_id"] for k, v in by_key.items()}
        for entity in ENTITIES:
            got = rows_of(root, entity)
            assert stable(got) == before[entity], (step, entity)
            assert all(r["run_id"] == creator_run[r["creator_id"]] for r in got), (step, entity)
        if m["run_id"] == "r1":
            assert {v["run_id"] for k, v in by_key.items() if k in broken} == {"r0"}
        m = extract(root, "r2", entries, cfg, base_url=url)
        assert m["status"] == "ok" and raw_runs(root) == {"r2"}, step
        assert not list(root.rglob(".*.tmp")), step
        if finished:
            break
        step += 1
    assert step >= 8  # raw pages, record files, quarantine, manifest and clean-up were all hit


def test_an_account_is_replaced_only_by_a_newer_successful_landing():
    from ingestion.account_runs import AccountRun, merge, seen_keys

    before = {
        "a": AccountRun("r0", "landed"),
        "b": AccountRun("r0", "landed"),
        "c": AccountRun("r0", "failed"),
        "gone": AccountRun("r0", "landed"),  # no longer in the roster
    }
    after = merge(before, "r1", {"a": "landed", "b": "failed", "c": "skipped", "d": "failed"})
    assert after == {
        "a": AccountRun("r1", "landed"),
        "b": AccountRun("r0", "landed"),
        "c": AccountRun("r0", "failed"),  # a failed run does not replace another's partial data
        "d": AccountRun("r1", "failed"),  # nothing earlier: the partial data is better than none
        "gone": AccountRun("r0", "landed"),
    }
    manifest = {"accounts": {"by_key": {k: v.as_dict() for k, v in after.items()}}}
    assert seen_keys(manifest) == {"a", "b", "gone"}
    with pytest.raises(ValueError, match="account outcome 'ok'"):
        merge(before, "r2", {"a": "ok"})


def test_rows_of_a_batch_page_belong_to_the_account_they_describe():
    from ingestion.parsing import Collected

    out = Collected(source="youtube")
    out.begin_line(
        [
            {"creator_id": "c1", "handle": "Main", "account_id": "UC1"},
            {"creator_id": "c1", "handle": "second", "account_id": "UC2"},
            {"creator_id": "c2", "handle": "other", "account_id": "UC3"},
        ]
    )
    assert out.owner({"creator_id": "c1", "account_id": "uc2"}) == "c1:second"
    assert out.owner({"creator_id": "c2", "account_id": "UC9"}) == "c2:other"
    assert out.owner({"creator_id": "c9", "account_id": "UC1"}) == "c1:main"
    out.quarantine("accounts", "channels", "bad item", {})
    assert out.quarantined[0].account == "c1:main"
    out.page_unreadable("channels page is not valid JSON")
    assert set(out.unreadable) == {"c1:main", "c1:second", "c2:other"}
