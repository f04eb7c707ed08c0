"""Security: no credential in any file, log line or error, and no path outside KOL_HOME.

Nasty tokens (URL-special characters, unicode, header-breaking bytes, very long) drive real
extractions against the sandbox (which accepts exactly that token); everything written under
the landing zone (gzip members decompressed), every log line at DEBUG (urllib3 included) and
every manifest is searched for the token and its URL encodings. The full-run scan (dbt logs,
GX Data Docs, ledger) is in test_rel_runs.py. Names that could become paths (run id, platform,
handles and ids from the roster, campaign ids from the exports) never leave KOL_HOME.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from urllib.parse import quote, quote_plus, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rel_harness import D, read_all_bytes, world_config

from ingestion.extract import ExtractRequest, extract_platform
from ingestion.http import RetryPolicy
from ingestion.landing import check_run_id
from ingestion.platforms import get_platform
from ingestion.redaction import Redactor
from ingestion.roster import RosterEntry, read_roster

pytestmark = pytest.mark.integration

POLICY = RetryPolicy(max_attempts=2, backoff_base=0.001, max_wait=0.01, read_timeout=5)
NASTY_TOKENS = {
    "url-special": "EAAB&access_token=x%2F?#key=y+z/==",
    "unicode": "tök€n-密钥-🔑-Ω≈ç√",
    "header-breaking": "abc123\r\nX-Injected: 1",
    "quotes-and-sql": "tok'\";DROP TABLE t;--\\",
    "very-long": "L0ng-" + "a1B2%c3&D4=" * 600,
}


def variants(token: str) -> set[str]:
    return {token, quote(token, safe=""), quote_plus(token), json.dumps(token)[1:-1]}


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def extract_with(token: str, home: Path, platforms: tuple[str, ...], roster) -> list[dict]:
    from sandbox import SANDBOX_IG_USER_ID, SandboxServer

    capture = Capture()
    root = logging.getLogger()
    level = root.level
    root.addHandler(capture)
    root.setLevel(logging.DEBUG)
    manifests = []
    try:
        with SandboxServer(world_config(creators=2), token=token) as server:
            for platform in platforms:
                manifests.append(
                    extract_platform(
                        ExtractRequest(
                            platform=platform,
                            run_date=D,
                            run_id="r1",
                            landing_root=home / "landing",
                            roster=roster,
                            base_url=server.base_urls[platform],
                            token=token,
                            instagram_user_id=SANDBOX_IG_USER_ID,
                            salt="s",
                            policy=POLICY,
                            sleep=lambda s: None,
                        )
                    )
                )
    finally:
        root.removeHandler(capture)
        root.setLevel(level)
    return [*manifests, {"_logs": capture.lines}]


@pytest.fixture(scope="module")
def small_roster(tmp_path_factory):
    from sandbox import export_world

    out = tmp_path_factory.mktemp("world")
    return read_roster(export_world(world_config(creators=2), out)["roster"]).entries


@pytest.mark.parametrize("name", list(NASTY_TOKENS))
def test_nasty_token_reaches_no_file_log_or_error(name, small_roster, tmp_path):
    token = NASTY_TOKENS[name]
    out = extract_with(token, tmp_path, ("instagram", "tiktok", "youtube"), small_roster)
    manifests, logs = out[:-1], out[-1]["_logs"]
    secrets = variants(token)
    files = 0
    for path, data in read_all_bytes(tmp_path):
        text = data.decode("utf-8", errors="replace")
        assert not [s for s in secrets if s in text], path
        files += 1
    assert files >= 3
    logged = "\n".join(logs)
    assert "GET /" in logged or "POST /" in logged  # urllib3's request lines were captured
    assert not [s for s in secrets if s in logged]
    written = json.dumps(manifests, ensure_ascii=False)
    assert not [s for s in secrets if s in written]
    if name in ("url-special", "quotes-and-sql", "very-long"):
        # a token HTTP can carry works: the sandbox accepted it and records landed
        assert all(m["status"] in ("ok", "partial") for m in manifests), manifests
    else:  # one a header cannot carry fails its accounts, with a message that says why
        tiktok = next(m for m in manifests if m["source"] == "tiktok")
        assert tiktok["status"] == "failed"
        assert "cannot be sent in an HTTP header" in tiktok["accounts"]["failed"][0]["error"]
    for m in manifests:  # failures say what went wrong without the secret
        for failure in m.get("accounts", {}).get("failed", []):
            assert failure["error"] and not [s for s in secrets if s in failure["error"]]


@settings(max_examples=200, deadline=None)
@given(token=st.text(min_size=8, max_size=80).filter(lambda t: "REDACTED" not in t))
def test_redactor_removes_any_token_from_urls_bodies_and_headers(token):
    redactor = Redactor([token])
    url = f"https://graph.example/v24.0/1/media?access_token={quote(token, safe='')}&after=x"
    body = json.dumps({"paging": {"next": url}, "echo": token})
    for text in (url, body, f"Authorization: Bearer {token}", quote_plus(token)):
        assert token not in redactor.text(text)
        assert quote(token, safe="") not in redactor.text(text)
    headers = redactor.headers({"Authorization": f"Bearer {token}", "X-Echo": token})
    assert token not in json.dumps(headers, ensure_ascii=False)


# --- names that could become paths --------------------------------------------------------

TRAVERSALS = ["../../etc", "..", "a/../../b", "/etc/passwd", "x\\..\\..\\y", "ok\n../z"]


@pytest.mark.parametrize("bad", TRAVERSALS)
def test_run_ids_and_platforms_cannot_name_a_path(bad, tmp_path):
    with pytest.raises(ValueError, match="run_id"):
        check_run_id(bad)
    with pytest.raises(ValueError, match="unknown platform"):
        get_platform(bad)
    req = ExtractRequest("tiktok", D, bad, tmp_path / "landing", [], "http://127.0.0.1:9", "t")
    with pytest.raises(ValueError):
        extract_platform(req)
    assert not any(tmp_path.rglob("*"))  # refused before anything was written


def test_handles_and_ids_like_paths_stay_inside_kol_home(small_roster, tmp_path):
    home = tmp_path / "kol"
    evil = [
        RosterEntry("C_evil1", "Evil", "instagram", "../../etc", "../../../etc/passwd"),
        RosterEntry("C_evil2", "Evil", "facebook", "evil_page", "../../me/accounts"),
        RosterEntry("C_evil3", "Evil", "youtube", "evil_ch", "UC/../../../etc/passwd"),
        RosterEntry("C_evil4", "Evil", "x", "..%2F..%2Fetc", "1/../../2"),
        RosterEntry("C_evil5", "Evil", "tiktok", "../tiktok/../../etc", None),
    ]
    out = extract_with(
        "tok-path-0123456789",
        home,
        ("instagram", "facebook", "youtube", "x", "tiktok"),
        [
            *small_roster,
            *evil,
        ],
    )
    manifests = {m["source"]: m for m in out[:-1]}
    for entry in evil:
        failed = [f["account"] for f in manifests[entry.platform]["accounts"]["failed"]]
        assert any(entry.creator_id in f for f in failed), (entry.platform, failed)
        assert manifests[entry.platform]["accounts"]["ok"] >= 1  # the others still ran
    for path in home.rglob("*"):
        assert path.resolve().is_relative_to(home.resolve()), path
        assert ".." not in path.relative_to(home).parts
    assert not (tmp_path / "etc").exists() and not (tmp_path.parent / "etc").exists()
    # no request left the platform's API prefix (a path id could walk the API host)
    for _path, data in read_all_bytes(home / "landing" / "raw"):
        for line in data.decode().splitlines():
            request = json.loads(line)["request"]
            assert ".." not in urlsplit(request["url"]).path.split("/"), request["url"]
