"""Hostile API answers, from a stdlib server on 127.0.0.1: the credential echoed back in every
encoding and through redirects, looping cursors, endless pages, slow drips, huge bodies, and
HTML / truncated JSON / error envelopes on HTTP 200.

Each test asserts the reason a person reads in the manifest, the manifest status, that the
failed account is not counted as seen (it keeps its 90-day first-sight pull), and that an
earlier date's landing is untouched.
"""

from __future__ import annotations

import gzip
import json
import logging
import os
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from hostile_server import Answer, HostileServer, Request, echo_text, encodings
from ingest_helpers import entry

from ingestion.extract import ExtractRequest, extract_platform
from ingestion.http import Auth, HttpClient, HttpError, RetryPolicy
from ingestion.platforms import get_platform
from ingestion.redaction import Redactor

D = date(2026, 11, 24)
BEFORE, AFTER = D - timedelta(days=1), D + timedelta(days=1)
MIB = 1024 * 1024
POLICY = RetryPolicy(
    max_attempts=2, backoff_base=0.001, max_wait=0.01, connect_timeout=2, read_timeout=5
)
CALM, VICTIM = entry("tiktok", "calm"), entry("tiktok", "victim")


def extract(
    platform: str,
    server: HostileServer,
    entries: list,
    root: Path,
    run_date: date,
    token: str = "tok-hostile-Qr7Tz2Kp",
    policy: RetryPolicy = POLICY,
    base_path: str = "",
    **kwargs: Any,
) -> dict[str, Any]:
    return extract_platform(
        ExtractRequest(
            platform=platform,
            run_date=run_date,
            run_id=f"r{run_date:%d}",
            landing_root=root,
            roster=entries,
            base_url=server.url + base_path,
            token=token,
            salt="salt",
            policy=policy,
            sleep=lambda s: None,
            workers=1,
            **kwargs,
        )
    )


# --- a well-behaved TikTok, and what a run of it leaves --------------------------------


def handle_of(req: Request) -> str:
    body = req.body or {}
    if "username" in body:
        return body["username"]
    clauses = (body.get("query") or {}).get("and") or [{}]
    return (clauses[0].get("field_values") or [""])[0]


def tiktok_ok(req: Request, ans: Answer) -> None:
    if req.path.endswith("/user/info/"):
        data = {"display_name": handle_of(req).title(), "follower_count": 10, "video_count": 0}
        ans.json(200, {"data": data, "error": {"code": "ok", "message": ""}})
    else:
        empty = {"videos": [], "has_more": False, "cursor": 0}
        ans.json(200, {"data": empty, "error": {"code": "ok", "message": ""}})


def hostile_for_victim(bad):
    """The victim's requests get `bad` (from its n-th request on); everyone else is served."""

    def behaviour(req: Request, ans: Answer) -> None:
        if handle_of(req) == "victim":
            bad(req, ans)
        else:
            tiktok_ok(req, ans)

    return behaviour


def files_of(root: Path, day: date) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and f"dt={day}" in str(p)
    }


@pytest.fixture
def landed_before(tmp_path):
    """The calm account landed the day before; returns (root, that day's files)."""
    root = tmp_path / "landing"
    with HostileServer(tiktok_ok) as server:
        manifest = extract("tiktok", server, [CALM], root, BEFORE)
    assert manifest["status"] == "ok" and manifest["accounts"]["landed"] == [CALM.key]
    before = files_of(root, BEFORE)
    assert any("records/accounts" in p for p in before)
    return root, before


def assert_victim_failed_and_unseen(root: Path, manifest: dict, before: dict, reason: str):
    """The victim failed with `reason`, the calm account landed, the day before is intact,
    and the next clean run still gives the victim its first-sight (90-day) pull."""
    assert manifest["status"] == "partial", manifest["reason"]
    [failed] = manifest["accounts"]["failed"]
    assert failed["account"] == "@victim (cr_victim)"
    assert reason in failed["error"], failed["error"]
    assert manifest["accounts"]["landed"] == [CALM.key]
    assert files_of(root, BEFORE) == before
    with HostileServer(tiktok_ok) as server:
        nxt = extract("tiktok", server, [CALM, VICTIM], root, AFTER)
        windows = [r for r in server.requests if r.path.endswith("/video/query/")]
    assert nxt["accounts"]["first_sight"] == [VICTIM.key]
    by_handle = [handle_of(r) for r in windows]
    # 90 days in at most 30-day windows for the victim, the 30-day re-pull for the calm one
    assert by_handle.count("victim") == 3 and by_handle.count("calm") == 1


# --- pages that are not pages ------------------------------------------------------------

BAD_200 = {
    "html": ("<html><body><h1>Service Unavailable</h1></body></html>", "not valid JSON"),
    "truncated-json": ('{"data": {"display_name": "Vic", "follower_co', "not valid JSON"),
    "nested-too-deeply": ("[" * 200_000, "nested too deeply"),
    "error-envelope": (
        json.dumps({"data": {}, "error": {"code": "invalid_params", "message": "no"}}),
        "TikTok error invalid_params",
    ),
}


@pytest.mark.parametrize("kind", list(BAD_200))
def test_a_bad_page_on_http_200_fails_the_account_which_keeps_its_first_sight_pull(
    kind, landed_before
):
    root, before = landed_before
    text, reason = BAD_200[kind]
    with HostileServer(hostile_for_victim(lambda req, ans: ans.text(200, text))) as server:
        manifest = extract("tiktok", server, [CALM, VICTIM], root, D)
    assert_victim_failed_and_unseen(root, manifest, before, reason)


@pytest.mark.parametrize(
    ("platform", "body", "reason"),
    [
        ("instagram", {"error": {"code": 190, "message": "token expired"}}, "Graph error 190"),
        ("facebook", {"error": {"code": 190, "message": "token expired"}}, "Graph error 190"),
        ("youtube", {"error": {"code": 400, "errors": [{"reason": "badRequest"}]}}, "badRequest"),
        ("x", {"errors": [{"title": "Invalid Request", "detail": "bad"}]}, "no `data`: bad"),
        ("tiktok", {"error": {"code": "access_token_invalid", "message": "?"}}, "TikTok error"),
    ],
)
def test_each_platforms_error_shape_on_http_200_is_an_error(platform, body, reason):
    with HostileServer(lambda req, ans: ans.json(200, body)) as server:
        plat = get_platform(platform)
        client = HttpClient(
            platform, server.url, Auth("tok-x-1234", plat.auth_param), POLICY,
            Redactor(["tok-x-1234"]), classify=plat.classify,
        )  # fmt: skip
        with pytest.raises(HttpError, match=reason):
            client.request("GET", "/anything")


def test_x_unknown_users_on_http_200_are_not_an_error():
    unknown = {
        "errors": [
            {"value": "ghost", "type": "https://api.twitter.com/2/problems/resource-not-found"}
        ]
    }
    with HostileServer(lambda req, ans: ans.json(200, unknown)) as server:
        plat = get_platform("x")
        client = HttpClient(
            "x", server.url, Auth("tok-x-1234"), POLICY, Redactor(["tok-x-1234"]),
            classify=plat.classify,
        )  # fmt: skip
        assert client.request("GET", "/2/users/by").status == 200


# --- paging that never ends ----------------------------------------------------------------


def more_videos(cursor_of):
    def bad(req: Request, ans: Answer) -> None:
        if req.path.endswith("/user/info/"):
            return tiktok_ok(req, ans)
        cursor = cursor_of((req.body or {}).get("cursor") or 0)
        data = {"videos": [], "has_more": True, "cursor": cursor, "search_id": "s1"}
        ans.json(200, {"data": data, "error": {"code": "ok", "message": ""}})

    return bad


def test_a_repeated_cursor_stops_the_account_after_two_pages(landed_before):
    root, before = landed_before
    with HostileServer(hostile_for_victim(more_videos(lambda c: 100))) as server:
        manifest = extract("tiktok", server, [CALM, VICTIM], root, D)
        victim = [r for r in server.requests if handle_of(r) == "victim"]
    # user info, then the first window's page 0 and page 1 (which repeats page 0's cursor)
    assert len(victim) == 3
    assert_victim_failed_and_unseen(root, manifest, before, "next-page cursor already followed")


def test_a_cursor_that_always_moves_stops_at_the_page_cap(landed_before):
    root, before = landed_before
    with HostileServer(hostile_for_victim(more_videos(lambda c: c + 100))) as server:
        manifest = extract("tiktok", server, [CALM, VICTIM], root, D, max_pages=7)
        victim = [r for r in server.requests if handle_of(r) == "victim"]
    assert len(victim) == 1 + 7  # user info + 7 pages, then the cap
    assert_victim_failed_and_unseen(root, manifest, before, "more than 7 pages for one account")


# --- slow and huge bodies ------------------------------------------------------------------


def drip(req: Request, ans: Answer) -> None:
    """A body announced as 1 MB that arrives a byte every 50 ms (each read is 'on time')."""
    ans.stream(iter(lambda: b" ", None), length=MIB, pause=0.05)


def test_a_slow_drip_hits_the_request_deadline(landed_before):
    root, before = landed_before
    policy = RetryPolicy(
        max_attempts=2, backoff_base=0.001, max_wait=0.01, read_timeout=5, deadline=1.0
    )
    started = time.monotonic()
    with HostileServer(hostile_for_victim(drip)) as server:
        manifest = extract("tiktok", server, [CALM, VICTIM], root, D, policy=policy)
    elapsed = time.monotonic() - started
    assert elapsed < 6, elapsed  # two attempts of 1 s, not a never-ending read
    assert_victim_failed_and_unseen(
        root, manifest, before, "gave up after 2 attempts (last: no complete answer within the 1s"
    )


def test_headers_that_drip_forever_hit_the_request_deadline(landed_before):
    root, before = landed_before
    policy = RetryPolicy(
        max_attempts=2, backoff_base=0.001, max_wait=0.01, read_timeout=5, deadline=1.0
    )
    started = time.monotonic()
    with HostileServer(hostile_for_victim(lambda req, ans: ans.drip_headers(0.05))) as server:
        manifest = extract("tiktok", server, [CALM, VICTIM], root, D, policy=policy)
    elapsed = time.monotonic() - started
    assert elapsed < 6, elapsed  # each socket read is on time: only the deadline stops it
    assert_victim_failed_and_unseen(
        root, manifest, before, "gave up after 2 attempts (last: no complete answer within the 1s"
    )


def rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize("declared", [False, True])
def test_a_300_mb_body_is_cut_at_the_cap_and_memory_stays_low(declared, landed_before):
    root, before = landed_before
    total = 300 * MIB
    chunk = b"[" + b"0," * (32 * 1024 - 1) + b"0"  # 64 KiB, made once, sent 4,800 times

    def huge(req: Request, ans: Answer) -> None:
        ans.stream((chunk for _ in range(total // len(chunk))), total if declared else None)

    peak = [rss_bytes()]
    baseline = peak[0]
    done = threading.Event()

    def sample() -> None:
        while not done.is_set():
            peak[0] = max(peak[0], rss_bytes())
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    policy = RetryPolicy(max_attempts=2, backoff_base=0.001, max_wait=0.01, max_body_bytes=MIB)
    try:
        with HostileServer(hostile_for_victim(huge)) as server:
            manifest = extract("tiktok", server, [CALM, VICTIM], root, D, policy=policy)
            sent = sum(a.sent for a in server.answers)
    finally:
        done.set()
        sampler.join()
    assert peak[0] - baseline < 64 * MIB, (peak[0] - baseline) / MIB
    assert sent < 64 * MIB  # the client stopped reading: the server could not send it all
    reason = f"{total} bytes declared" if declared else "response body too large (over"
    assert_victim_failed_and_unseen(root, manifest, before, reason)
    # the refused page is an audit line in the raw pages, with the reason
    raw = [
        json.loads(line)
        for p in root.rglob(f"raw/platform=tiktok/*/dt={D}/*/*.gz")
        for line in gzip.decompress(p.read_bytes()).decode().splitlines()
    ]
    assert any(line["outcome"] == "error" and "too large" in line["error"] for line in raw)


# --- the credential, echoed back ----------------------------------------------------------

GRAPH_TOKEN = "EAAB/tök+en a=b-Zq8Wv3Lm"
TIKTOK_TOKEN = "act.tok/EN+x=y-Qr7Tz2Kp"


def leaks(text: str, token: str) -> list[str]:
    """Forms of `token` in `text`, and any 10-character piece of it (a cut leaves a head)."""
    found = [k for k, v in encodings(token).items() if v in text]
    found += [token[i : i + 10] for i in range(len(token) - 9) if token[i : i + 10] in text]
    return found


def everything_written(root: Path) -> str:
    out = []
    for p in root.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            out.append(
                (gzip.decompress(data) if p.suffix == ".gz" else data).decode(errors="replace")
            )
    return "\n".join(out)


def graph_echo():
    def behaviour(req: Request, ans: Answer) -> None:
        token = req.token("access_token")
        fields = req.query.get("fields", "")
        who = "victim" if "victim" in fields else "wanderer" if "wanderer" in fields else "calm"
        echo = echo_text(token)
        if who == "wanderer":  # off to another host, with the credential in the URL
            return ans.redirect(f"http://localhost:1/steal?access_token={quote(token)}")
        if who == "victim" and "hop" not in req.query:  # same host: followed
            query = urlencode({"access_token": token, "hop": 1, "fields": fields})
            return ans.redirect(f"{req.path}?{query}")
        if who == "victim":
            error = {"code": 100, "error_subcode": 33, "message": echo, "type": "OAuthException"}
            headers = {"x-fb-trace-id": token, "x-app-usage": json.dumps({"note": token})}
            return ans.json(400, {"error": error}, headers)
        media = {"data": [{"id": None, "caption": echo}]}  # quarantined, with its text
        bd = {"id": "1784", "username": "calm", "followers_count": 5, "media": media}
        ans.json(200, {"business_discovery": bd, "id": "17841"}, {"x-fb-trace-id": token})

    return behaviour


def tiktok_echo(req: Request, ans: Answer) -> None:
    token = req.token(None)
    echo = echo_text(token)
    if handle_of(req) == "victim" and not getattr(tiktok_echo, "retried", False):
        tiktok_echo.retried = True  # a retry first: its reason is logged
        return ans.json(503, {"error": {"code": "service_unavailable", "message": echo}})
    if handle_of(req) == "victim":
        return ans.json(400, {"error": {"code": "invalid_params", "message": echo}})
    return ans.json(200, {"error": {"code": "internal_error", "message": echo}})


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def all_logs():
    capture = Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    try:
        yield capture.lines
    finally:
        root.removeHandler(capture)
        root.setLevel(level)


def test_an_echoed_token_reaches_no_log_page_manifest_or_quarantine(tmp_path, all_logs):
    root = tmp_path / "landing"
    tiktok_echo.retried = False
    with HostileServer(tiktok_echo) as server:
        tiktok = extract(
            "tiktok", server, [entry("tiktok", "victim"), entry("tiktok", "calm")], root, D,
            token=TIKTOK_TOKEN,
        )  # fmt: skip
    with HostileServer(graph_echo()) as server:
        graph = extract(
            "instagram",
            server,
            [entry("instagram", n) for n in ("victim", "wanderer", "calm")],
            root,
            D,
            token=GRAPH_TOKEN,
            base_path="/v24.0",
            instagram_user_id="17841",
        )
    logs = "\n".join(all_logs)
    # the attacks happened: retry reason logged, urllib3 logged the redirected request,
    # the calm account's echoed caption was quarantined
    assert "retry 1/1" in logs and "urllib3.connectionpool DEBUG" in logs
    assert "hop=1" in logs
    assert graph["quarantine"] and graph["entities"]["posts"]["quarantined"] == 1
    failures = {
        (m["source"], f["account"]): f["error"]
        for m in (tiktok, graph)
        for f in m["accounts"]["failed"]
    }
    assert "redirect to another host refused" in failures["instagram", "@wanderer (cr_wanderer)"]
    assert "Graph error 100/33" in failures["instagram", "@victim (cr_victim)"]
    assert "TikTok error invalid_params" in failures["tiktok", "@victim (cr_victim)"]
    assert "service_unavailable" not in failures["tiktok", "@victim (cr_victim)"]
    assert "gave up after 2 attempts" in failures["tiktok", "@calm (cr_calm)"]
    failures = {f"{k}": v for k, v in failures.items()}
    written = everything_written(root)
    for token in (GRAPH_TOKEN, TIKTOK_TOKEN):
        assert not leaks(logs, token)
        assert not leaks(written, token)
        assert not leaks(json.dumps(failures, ensure_ascii=False), token)
    assert "REDACTED" in written and "REDACTED" in logs


def test_an_echoed_token_reaches_no_ledger_row(tmp_path):
    from expectations.ledger import LedgerRow, append, read
    from ingestion.redaction import register_secrets

    register_secrets([TIKTOK_TOKEN])
    now = datetime.now(UTC)
    row = LedgerRow(
        run_id="r1", run_date=D, started_at=now, status="failed", message=echo_text(TIKTOK_TOKEN)
    )
    path = append(tmp_path, row)
    [back] = read(tmp_path)
    assert "REDACTED" in back.message
    assert not leaks(back.message, TIKTOK_TOKEN)
    assert not leaks(path.read_bytes().decode("latin-1"), TIKTOK_TOKEN)


def test_an_exception_logged_with_the_token_is_scrubbed(all_logs):
    from ingestion.redaction import register_secrets

    register_secrets([TIKTOK_TOKEN])
    try:
        raise ValueError(f"boom {echo_text(TIKTOK_TOKEN)}")
    except ValueError:
        logging.getLogger("urllib3.poolmanager").exception("redirect to %s", TIKTOK_TOKEN)
    text = "\n".join(all_logs)
    assert "ValueError: boom" in text and "redirect to REDACTED" in text
    assert not leaks(text, TIKTOK_TOKEN)


def test_a_youtube_redirect_with_the_key_in_its_url_leaks_nowhere(all_logs):
    token = "AIza/Sy+k=Zq8Wv3Lm-yt"

    def behaviour(req: Request, ans: Answer) -> None:
        key = req.token("key")
        if "hop" not in req.query:
            return ans.redirect(f"/youtube/v3/channels?{urlencode({'key': key, 'hop': 1})}")
        ans.json(200, {"items": [], "echo": echo_text(key)}, {"x-fb-trace-id": key})

    exchanges = []
    with HostileServer(behaviour) as server:
        plat = get_platform("youtube")
        client = HttpClient(
            "youtube", server.url + "/youtube/v3", Auth(token, plat.auth_param), POLICY,
            Redactor([token]), classify=plat.classify, on_exchange=exchanges.append,
        )  # fmt: skip
        client.request("GET", "/channels", {"part": "id", "id": "UC1"})
        assert [r.query.get("hop") for r in server.requests] == [None, "1"]
        assert all(r.query["key"] == token for r in server.requests)  # sent, never written
    [exchange] = exchanges
    written = json.dumps(exchange.__dict__, ensure_ascii=False)
    logs = "\n".join(all_logs)
    assert "hop=1" in logs and "key=REDACTED" in logs  # urllib3 logged the redirected URL
    assert not leaks(logs, token) and not leaks(written, token)


def test_kol_extract_against_an_echoing_api_exits_1_with_the_reason_and_no_token(
    kol_home, tmp_path, monkeypatch, capsys, all_logs
):
    from pipeline import cli

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "creator_id,display_name,platform,handle,account_id,niche,country,language\n"
        "cr_victim,Victim,tiktok,victim,,beauty,US,en\n"
    )
    (tmp_path / "exports").mkdir()
    tiktok_echo.retried = False
    with HostileServer(tiktok_echo) as server:
        for name, value in {
            "KOL_ROSTER": str(roster),
            "KOL_EXPORTS_DIR": str(tmp_path / "exports"),
            "KOL_TIKTOK_BASE_URL": server.url,
            "KOL_TIKTOK_TOKEN": TIKTOK_TOKEN,
            "KOL_TODAY": str(D + timedelta(days=1)),  # D is the latest complete day
        }.items():
            monkeypatch.setenv(name, value)
        code = cli.main(["--env-file", "", "extract", "--platform", "tiktok", "--date", str(D)])
    out = capsys.readouterr()
    assert code == cli.EXIT_STEP
    [line] = [json.loads(x) for x in out.out.splitlines() if x.startswith("{")]
    assert line["status"] == "failed" and line["reason"] == "1 of 1 accounts failed"
    manifest = json.loads((kol_home / "landing/manifests" / f"dt={D}" / "tiktok.json").read_text())
    assert "TikTok error invalid_params" in manifest["accounts"]["failed"][0]["error"]
    for text in (out.out, out.err, "\n".join(all_logs), everything_written(kol_home)):
        assert not leaks(text, TIKTOK_TOKEN)


@pytest.mark.parametrize(
    "token",
    ["EAAB/tök+en a=b-Zq8Wv3Lm", "tok'\";--\\Zq8W", "密钥-🔑-Ωv3Lm-long-enough", "a" * 9 + "%2F"],
)
def test_scrub_removes_every_form_nested_or_cut_anywhere(token):
    from ingestion.redaction import register_secrets, scrub

    register_secrets([token])
    forms = list(encodings(token).values())
    nested = [json.dumps(json.dumps(token)), json.dumps({"m": json.dumps({"t": token})})]
    for text in [*forms, *nested, echo_text(token), quote(quote(token, safe=""), safe="")]:
        clean = scrub(f"<{text}>")
        assert not leaks(clean, token), (text, clean)
        # whatever is cut after scrubbing, at any length, holds no piece of it
        assert all(not leaks(clean[:n], token) for n in (50, 200, 300))
