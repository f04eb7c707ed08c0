"""The account worker pool, the shared rate-limit pause, Instagram's window walk and the
pandas-free Parquet writer."""

from __future__ import annotations

import subprocess
import sys
import threading
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from ingest_helpers import FAST, RUN_DATE
from ingest_helpers import entry as E
from ingest_stub import Reply, Seen, StubServer

from ingestion.arrowrows import rows_to_table
from ingestion.extract import first_sight_keys
from ingestion.http import Auth, HttpClient, RetryPolicy
from ingestion.limits import workers_from_env
from ingestion.platforms.outcomes import GIVE_UP_AFTER_EXHAUSTED
from ingestion.redaction import Redactor

END = datetime(2026, 11, 25, tzinfo=UTC)  # end of the run date, UTC
REPO = Path(__file__).resolve().parents[2]


def iso(days_ago: float) -> str:
    return (END - timedelta(days=days_ago)).strftime("%Y-%m-%dT%H:%M:%S+0000")


def discovery(media: list[dict], next_page: bool, account_id: str = "1784") -> dict:
    paging = {"cursors": {"after": "CUR1"}, **({"next": "http://graph/next"} if next_page else {})}
    return {
        "business_discovery": {
            "id": account_id,
            "username": "star",
            "followers_count": 10,
            "media": {"data": media, "paging": paging},
        }
    }


def ig_pages(page1: list[dict]):
    """A responder: `page1` (with a next page), then one older page."""

    def responder(seen: Seen) -> Reply:
        if "after(CUR1)" in seen.query.get("fields", ""):
            return Reply(200, discovery([{"id": "old", "timestamp": iso(200)}], False))
        return Reply(200, discovery(page1, True))

    return responder


def discovery_calls(seen: list[Seen]) -> int:
    return sum("business_discovery" in s.query.get("fields", "") for s in seen)


# --- Instagram: walk the media list only as far as the window -----------------------------


def test_instagram_stops_at_a_newest_first_page_that_reaches_past_the_window(stub_extract):
    # first sight: 90 days. The page is newest first and its oldest post is 100 days old:
    # no later page can hold a post of the window, so no second request.
    page1 = [{"id": f"m{i}", "timestamp": iso(days)} for i, days in enumerate((1, 50, 100))]
    manifest, seen, _ = stub_extract(
        "instagram", ig_pages(page1), [E("instagram", "star")], instagram_user_id="17841"
    )
    assert discovery_calls(seen) == 1
    assert manifest["entities"]["posts"]["landed"] == 3  # the page's old post still lands


def test_instagram_keeps_walking_when_a_page_is_not_newest_first(stub_extract):
    # Out of order (the docs promise no order): the old post first says nothing about the
    # next page, which must still be read.
    page1 = [{"id": f"m{i}", "timestamp": iso(days)} for i, days in enumerate((100, 1, 50))]
    manifest, seen, _ = stub_extract(
        "instagram", ig_pages(page1), [E("instagram", "star")], instagram_user_id="17841"
    )
    assert discovery_calls(seen) == 2
    assert manifest["entities"]["posts"]["landed"] == 4


def test_an_unreadable_first_discovery_page_does_not_count_the_account_as_landed(stub_extract):
    def responder(seen: Seen) -> Reply:
        if "username(star)" in seen.query.get("fields", ""):
            return Reply(200, '{"business_discovery": {"id": "1784", "username": "st')
        return Reply(200, discovery([{"id": "m1", "timestamp": iso(1)}], False))

    entries = [E("instagram", "star"), E("instagram", "moon")]
    manifest, _, root = stub_extract("instagram", responder, entries, instagram_user_id="17841")
    assert manifest["accounts"]["landed"] == [entries[1].key]
    [failed] = manifest["accounts"]["failed"]
    assert failed["account"] == "@star (cr_star)"
    assert "business_discovery: page is not valid JSON" in failed["error"]
    assert manifest["entities"]["posts"]["quarantined"] == 1  # the page is kept, not lost
    # the next date still owes it the first-sight (90-day) pull; the other one does not
    assert first_sight_keys(root, "instagram", RUN_DATE + timedelta(days=1), entries) == {
        entries[0].key
    }


# --- the worker pool ---------------------------------------------------------------------


def test_workers_come_from_the_environment_with_a_clear_error(monkeypatch):
    monkeypatch.delenv("KOL_EXTRACT_WORKERS", raising=False)
    assert workers_from_env() == 4
    monkeypatch.setenv("KOL_EXTRACT_WORKERS", "6")
    assert workers_from_env() == 6
    monkeypatch.setenv("KOL_EXTRACT_WORKERS", "lots")
    with pytest.raises(ValueError, match=r"KOL_EXTRACT_WORKERS='lots'.*1 to 64"):
        workers_from_env()


def test_parallel_accounts_land_what_a_serial_run_lands(stub_extract, tmp_path):
    # Each of 12 pages answers slowly enough that the workers overlap.
    def responder(seen: Seen) -> Reply:
        threading.Event().wait(0.01)
        fields = seen.query.get("fields", "")
        handle = fields.split("username(")[1].split(")")[0]
        n = int(handle[1:])
        media = [{"id": f"{handle}-m{j}", "timestamp": iso(1 + j)} for j in range(n % 4)]
        return Reply(200, discovery(media, False, account_id=f"id-{handle}"))

    entries = [E("instagram", f"h{i}") for i in range(12)]
    runs = {}
    for workers in (1, 4):
        manifest, seen, root = stub_extract(
            "instagram", responder, entries, instagram_user_id="1", workers=workers
        )
        assert len(seen) == 12  # each account once
        parts = sorted((root / "records").glob("*/platform=instagram/dt=*/*.parquet"))
        rows = {p.parent.parent.parent.name: pq.read_table(p).to_pylist() for p in parts}
        runs[workers] = (manifest, rows)
    (serial, serial_rows), (parallel, parallel_rows) = runs[1], runs[4]
    assert parallel["accounts"]["landed"] == serial["accounts"]["landed"]
    assert len(parallel["accounts"]["landed"]) == 12
    # h0..h11 have i % 4 posts each: three rounds of 0 + 1 + 2 + 3
    assert parallel["entities"]["posts"]["landed"] == 3 * (0 + 1 + 2 + 3)
    assert parallel["entities"]["accounts"]["landed"] == 12
    # the same rows in the same order (grouped by account, whatever order workers finished)
    assert parallel_rows.keys() == serial_rows.keys() == {"accounts", "posts"}
    for entity, rows in parallel_rows.items():
        assert [r["post_id" if entity == "posts" else "account_id"] for r in rows] == [
            r["post_id" if entity == "posts" else "account_id"] for r in serial_rows[entity]
        ]
    creators = [r["creator_id"] for r in parallel_rows["posts"]]
    assert creators == sorted(creators)


def test_the_exhausted_streak_stops_a_parallel_run_and_every_account_is_accounted_for(
    stub_extract,
):
    def responder(seen: Seen) -> Reply:
        return Reply(503, {"error": {"code": 2, "message": "Service temporarily unavailable"}})

    workers = 3
    entries = [E("facebook", f"p{i}", account_id=f"P{i}") for i in range(12)]
    manifest, seen, _ = stub_extract("facebook", responder, entries, workers=workers)
    acc = manifest["accounts"]
    assert "in a row exhausted their retries" in manifest["reason"]
    assert len(acc["failed"]) >= GIVE_UP_AFTER_EXHAUSTED
    assert len(acc["failed"]) + len(acc["skipped"]) == 12 and acc["ok"] == 0
    # at most the streak plus what was in flight on the other workers, 3 attempts each
    assert len(seen) <= (GIVE_UP_AFTER_EXHAUSTED + workers - 1) * FAST.max_attempts


def test_a_retry_after_pauses_every_worker_of_the_client():
    """Worker A gets 429 Retry-After: 30; worker B, asking during A's wait, waits it too."""
    answers = {"a": [Reply(429, {"error": "slow"}, {"Retry-After": "30"})]}

    def responder(seen: Seen) -> Reply:
        queue = answers.get(seen.path.strip("/"), [])
        return queue.pop(0) if queue else Reply(200, {"ok": True})

    sleeps: list[tuple[str, float]] = []
    with StubServer(responder) as server:
        client: HttpClient

        def sleep(seconds: float) -> None:
            who = threading.current_thread().name
            sleeps.append((who, seconds))
            if who == "A":  # B comes in while A waits
                b = threading.Thread(target=lambda: client.request("GET", "/b"), name="B")
                b.start()
                b.join()

        client = HttpClient(
            "x",
            server.url,
            Auth("tok-1234"),
            RetryPolicy(max_attempts=3, backoff_base=0.01, max_wait=60),
            Redactor(["tok-1234"]),
            sleep=sleep,
            clock=lambda: 1000.0,  # frozen: only the recorded waits pass time
        )
        a = threading.Thread(target=lambda: client.request("GET", "/a"), name="A")
        a.start()
        a.join()
        paths = [s.path for s in server.seen]
    assert sleeps == [("A", 30.0), ("B", 30.0)]
    assert paths == ["/a", "/b", "/a"]
    assert client.requests == 3 and client.retries == 1


# --- Parquet without pandas -------------------------------------------------------------

SCHEMA = pa.schema(
    [
        ("s", pa.string()),
        ("i", pa.int64()),
        ("f", pa.float64()),
        ("b", pa.bool_()),
        ("d", pa.date32()),
        ("t", pa.timestamp("us", tz="UTC")),
        ("l", pa.list_(pa.string())),
    ]
)


def test_rows_to_table_equals_from_pylist_for_every_landing_type():
    plus2 = timezone(timedelta(hours=2))
    rows = [
        {
            "s": "héllo 🔥\n",
            "i": -(2**62),
            "f": 0.1,
            "b": True,
            "d": date(2026, 11, 24),
            "t": datetime(2026, 11, 24, 23, 59, 59, 999999, tzinfo=UTC),
            "l": ["#a", "é"],
        },
        {"s": None, "i": None, "f": None, "b": None, "d": None, "t": None, "l": None},
        {"s": "", "i": 0, "f": 3, "b": False, "t": datetime(2026, 1, 1, 2, tzinfo=plus2), "l": []},
        {"t": datetime(1969, 12, 31, 23, 59, 59, 1), "d": date(1900, 1, 1)},  # naive = UTC
    ]
    built = rows_to_table(rows, SCHEMA)
    assert built.equals(pa.Table.from_pylist(rows, schema=SCHEMA))
    assert built.column("t")[2].as_py() == datetime(2026, 1, 1, 0, tzinfo=UTC)
    assert rows_to_table([], SCHEMA).num_rows == 0


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [("i", "12", "expected int64, got str"), ("i", True, "got bool"), ("s", 5, "expected str")],
)
def test_rows_to_table_refuses_what_from_pylist_refuses(column, value, message):
    with pytest.raises(pa.ArrowTypeError, match=message):
        rows_to_table([{column: value}], SCHEMA)


def test_landing_parquet_does_not_import_pandas():
    code = (
        "import sys, datetime\n"
        "from ingestion.landing import parquet_bytes\n"
        "from ingestion.records import api_schema\n"
        "row = {'creator_id': 'c', 'account_id': 'a', 'snapshot_date': datetime.date.today(),"
        " 'run_id': 'r', 'extracted_at': datetime.datetime.now(datetime.UTC)}\n"
        "assert parquet_bytes([row], api_schema('accounts', 'instagram'))\n"
        "print('pandas' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "False"


def test_a_programming_error_in_one_account_stops_the_pool_and_is_raised(tmp_path):
    from ingestion.landing import RawWriter
    from ingestion.parsing import Collected
    from ingestion.platforms.base import ExtractSession

    client = HttpClient("x", "http://127.0.0.1:9", Auth("tok-1234"), FAST, Redactor(["tok-1234"]))
    session = ExtractSession(
        platform="x",
        run_date=RUN_DATE,
        run_id="r1",
        client=client,
        raw=RawWriter(tmp_path, "x", RUN_DATE, "r1"),
        collected=Collected(source="x"),
        specs={},
        salt="s",
        first_sight=set(),
        workers=2,
    )
    started: list[str] = []

    def work(e) -> None:
        started.append(e.handle)
        if e.handle == "h1":
            raise KeyError("a bug, not an API answer")
        threading.Event().wait(0.05)

    entries = [E("x", f"h{i}") for i in range(8)]
    with pytest.raises(KeyError, match="a bug"):
        session.run_accounts(entries, work)
    assert session.outcomes.stopped == "internal error: KeyError"
    assert len(started) < len(entries)  # the accounts not yet started were not run


def _typed_row(schema: pa.Schema, i: int, creator: str | None, account: str | None) -> dict:
    """One row of `schema` with a value of each column's type (i makes it unique)."""
    row: dict = {}
    for f in schema:
        t = f.type
        if pa.types.is_string(t):
            row[f.name] = f"{f.name}-{i}"
        elif pa.types.is_int64(t):
            row[f.name] = i
        elif pa.types.is_date32(t):
            row[f.name] = date(2026, 11, 25)
        elif pa.types.is_timestamp(t):
            row[f.name] = END - timedelta(minutes=i)
        elif pa.types.is_boolean(t):
            row[f.name] = i % 2 == 0
        elif pa.types.is_list(t):
            row[f.name] = [f"#t{i}"]
        else:
            raise AssertionError(f"no test value for {t}")
    row["creator_id"], row["account_id"] = creator, account
    return row


def test_rows_packed_into_arrow_as_they_land_write_the_same_file(tmp_path):
    # A day of an agency platform held as dicts took ~1 KB per record; Collected now packs
    # every `pack_rows` rows into Arrow. The landed file must not change: same rows, grouped
    # by account in fetch order (a stable sort; a NULL id sorts as "").
    from ingestion.manifest import commit_entities, platform_schemas
    from ingestion.parsing import Collected

    schemas = platform_schemas("x")
    accounts = [("c2", "a2"), ("c1", "a1"), (None, "a0"), ("c1", None), ("", "a3"), ("c1", "a1")]
    rows = [_typed_row(schemas["posts"], i, *accounts[i % 6]) for i in range(23)]
    written = {}
    for pack in (3, 10**9):
        collected = Collected(source="x", schemas=schemas, pack_rows=pack)
        for row in rows:
            collected.land("posts", row, "tweets", row)
        if pack == 3:
            assert len(collected.rows["posts"]) < 3  # packed as they came
        assert collected.counts()["posts"]["landed"] == 23
        root = tmp_path / f"pack-{pack}"
        out = commit_entities(root, "x", RUN_DATE, "r1", collected, schemas, "x")
        [path] = out["entities"]["posts"]["files"]
        written[pack] = (pq.read_table(root / path), out["entities"]["posts"]["sha256"][path])

    old_order = sorted(rows, key=lambda r: (r["creator_id"] or "", r["account_id"] or ""))
    assert written[3][0].equals(rows_to_table(old_order, schemas["posts"]))
    assert written[3][1] == written[10**9][1]  # byte for byte


def test_a_row_arrow_refuses_stays_a_dict_and_fails_the_commit_as_before(tmp_path):
    from ingestion.manifest import commit_entities, platform_schemas
    from ingestion.parsing import Collected

    schemas = platform_schemas("x")
    collected = Collected(source="x", schemas=schemas, pack_rows=2)
    bad = {**_typed_row(schemas["posts"], 0, "c1", "a1"), "like_count": "12"}
    for row in (bad, _typed_row(schemas["posts"], 1, "c1", "a1")):
        collected.land("posts", row, "tweets", row)

    assert len(collected.rows["posts"]) == 2  # nothing lost while packing failed
    with pytest.raises(pa.ArrowTypeError, match="expected int64, got str"):
        commit_entities(tmp_path, "x", RUN_DATE, "r1", collected, schemas, "x")
