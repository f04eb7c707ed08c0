"""Extraction against the sandbox: books balance, re-runs replace, reparse agrees, no secrets.

One tiny world (4 creators, 5 days) serves every test here; runs share a KOL_HOME so a
re-run of the same date, with faults on, is checked against the clean first run.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import uuid
from collections import Counter
from datetime import date
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests

from ingestion.exports import load_exports
from ingestion.extract import ExtractRequest, extract_platform
from ingestion.http import RetryPolicy
from ingestion.records import PLATFORMS
from ingestion.redaction import load_or_create_salt
from ingestion.reparse import reparse_date
from ingestion.roster import read_roster

pytestmark = pytest.mark.integration

D = date(2026, 11, 24)
POLICY = RetryPolicy(
    max_attempts=5, backoff_base=0.001, max_wait=0.02, connect_timeout=2, read_timeout=5
)
KEYS = {
    "accounts": "account_id",
    "posts": "post_id",
    "post_insights": "post_id",
    "comments": "comment_id",
}


def run_platforms(server, home: Path, token: str, run_id: str, roster) -> dict[str, dict[str, Any]]:
    from sandbox import SANDBOX_IG_USER_ID

    salt = load_or_create_salt(home)
    manifests = {}
    for platform in PLATFORMS:
        req = ExtractRequest(
            platform=platform,
            run_date=D,
            run_id=run_id,
            landing_root=home / "landing",
            roster=roster.entries,
            base_url=server.base_urls[platform],
            token=token,
            instagram_user_id=SANDBOX_IG_USER_ID,
            salt=salt,
            policy=POLICY,
            sleep=lambda s: None,
        )
        manifests[platform] = extract_platform(req)
    return manifests


def records(root: Path, platform: str) -> dict[str, list[dict]]:
    out = {}
    for entity in KEYS:
        files = sorted(
            (root / "records" / entity / f"platform={platform}" / f"dt={D}").glob("*.parquet")
        )
        out[entity] = [r for f in files for r in pq.read_table(f).to_pylist()]
    return out


def record_files(root: Path) -> dict[str, str]:
    """Every landed record file -> sha256 of its bytes."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((root / "records").rglob("*.parquet"))
    }


def comparable(rows: list[dict]) -> list[tuple]:
    return sorted(tuple(sorted((k, repr(v)) for k, v in r.items())) for r in rows)


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    from sandbox import WorldConfig, export_world

    cfg = WorldConfig(seed=4, creators=4, days=5, end_date=D)
    out = tmp_path_factory.mktemp("world")
    files = export_world(cfg, out)
    return cfg, files, read_roster(files["roster"])


@pytest.fixture(scope="module")
def clean_run(world, tmp_path_factory):
    """First run of D, no faults: manifests, sandbox stats and the records as extracted."""
    from sandbox import SandboxServer

    cfg, _, roster = world
    home = tmp_path_factory.mktemp("home")
    token = f"tok-clean-{uuid.uuid4().hex}"
    with SandboxServer(cfg, token=token) as server:
        manifests = run_platforms(server, home, token, "r1", roster)
        stats = requests.get(f"{server.url}/_sandbox/stats", timeout=5).json()
    extracted = {p: records(home / "landing", p) for p in PLATFORMS}
    return {
        "files": record_files(home / "landing"),
        "home": home,
        "token": token,
        "manifests": manifests,
        "stats": stats,
        "records": extracted,
    }


def test_clean_run_lands_exactly_what_the_sandbox_served(clean_run):
    for platform, manifest in clean_run["manifests"].items():
        assert manifest["status"] in ("ok", "partial"), manifest["reason"]
        served_by_sandbox = clean_run["stats"]["served"][platform]
        for entity, e in manifest["entities"].items():
            assert e["served"] == e["landed"] + e["quarantined"], (platform, entity)
            assert e["landed"] == len(clean_run["records"][platform][entity])
            if (platform, entity) == ("instagram", "accounts"):
                # the sandbox counts the account on every media page; we land it once
                assert e["landed"] == manifest["accounts"]["ok"]
                continue
            assert e["served"] == served_by_sandbox.get(entity, 0), (platform, entity)
    assert sum(m["entities"]["posts"]["landed"] for m in clean_run["manifests"].values()) > 0
    assert sum(m["entities"]["comments"]["landed"] for m in clean_run["manifests"].values()) > 0


def test_reparse_rebuilds_the_same_records_without_the_api(clean_run):
    home = clean_run["home"]
    salt = load_or_create_salt(home)
    manifests = reparse_date(home / "landing", D, salt)
    assert {m["source"] for m in manifests} == set(PLATFORMS)
    assert record_files(home / "landing") == clean_run["files"]  # byte for byte
    for platform in PLATFORMS:
        again = records(home / "landing", platform)
        for entity in KEYS:
            assert comparable(again[entity]) == comparable(
                clean_run["records"][platform][entity]
            ), (platform, entity)


def test_comment_authors_are_only_kept_as_salted_hashes(clean_run):
    from ingestion.redaction import author_hash

    rows = clean_run["records"]["youtube"]["comments"] + clean_run["records"]["x"]["comments"]
    assert rows and all(len(r["author_hash"]) == 64 for r in rows if r["author_hash"])
    raw = clean_run["home"] / "landing" / "raw" / "platform=x" / "endpoint=replies"
    ids = {r["author_hash"] for r in clean_run["records"]["x"]["comments"]}
    for path in raw.rglob("*.jsonl.gz"):
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            for tweet in json.loads(json.loads(line)["body"]).get("data", []):
                assert tweet["author_id"] in ids  # already the hash in the raw page
    assert author_hash("123", "a") != author_hash("123", "b")


@pytest.fixture(scope="module")
def faulty_rerun(world, clean_run):
    """Re-run of the same date into the same home, with faults on and DEBUG logging captured."""
    from sandbox import FaultConfig, SandboxServer

    cfg, _, roster = world
    token = f"tok-fault-{uuid.uuid4().hex}"
    faults = FaultConfig.parse("rate_limit=0.2,server_error=0.05,truncated=0.05,seed=3")
    handler = _Capture()
    root_logger = logging.getLogger()
    old_level = root_logger.level
    root_logger.addHandler(handler)
    root_logger.setLevel(logging.DEBUG)
    try:
        with SandboxServer(cfg, token=token, faults=faults) as server:
            manifests = run_platforms(server, clean_run["home"], token, "r2", roster)
            stats = requests.get(f"{server.url}/_sandbox/stats", timeout=5).json()
    finally:
        root_logger.removeHandler(handler)
        root_logger.setLevel(old_level)
    return {"token": token, "manifests": manifests, "stats": stats, "logs": handler.lines}


class _Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


def test_with_faults_every_record_is_landed_or_quarantined(faulty_rerun, clean_run):
    from ingestion.reparse import reparse_collected

    root = clean_run["home"] / "landing"
    salt = load_or_create_salt(clean_run["home"])
    truncated = Counter()
    for platform, manifest in faulty_rerun["manifests"].items():
        for entity, e in manifest["entities"].items():
            assert e["served"] == e["landed"] + e["quarantined"], (platform, entity)
        by_key = manifest["accounts"]["by_key"]
        unreadable = set()
        qfile = manifest["quarantine"]["file"] if manifest["quarantine"] else None
        if qfile:
            for line in (root / qfile).read_text().splitlines():
                q = json.loads(line)
                assert q["reason"] and q["source"] == platform and q["endpoint"]
                # an unreadable page fails its account: the date keeps its earlier landing
                # unless no earlier run had one
                if "not valid JSON" in q["reason"]:
                    assert by_key[q["account"]] == {"run_id": "r2", "status": "failed"}
        for failure in manifest["accounts"]["failed"]:
            assert failure["error"]
            if "unreadable page" in failure["error"] or "not valid JSON" in failure["error"]:
                unreadable.add(failure["account"])
        # every truncated page the sandbox sent is quarantined as one record by the run
        # (the run's own parse: its raw pages are kept as the manifest's run)
        run = reparse_collected(root, platform, D, "r2", salt)
        mine = [q for q in run.quarantined if "not valid JSON" in q.reason]
        truncated[platform] = len(mine)
        assert truncated[platform] == faulty_rerun["stats"]["faults"].get(platform, {}).get(
            "truncated", 0
        )
        assert len({q.account for q in mine}) == len(unreadable)
        for key in {q.account for q in mine}:
            assert by_key[key]["run_id"] == "r1" and by_key[key]["status"] == "landed"
    assert sum(m["retries"] for m in faulty_rerun["manifests"].values()) > 0
    assert sum(truncated.values()) > 0


def test_rerun_of_a_date_replaces_and_never_duplicates(faulty_rerun, clean_run):
    root = clean_run["home"] / "landing"
    for platform in PLATFORMS:
        for entity, key in KEYS.items():
            part = root / "records" / entity / f"platform={platform}" / f"dt={D}"
            files = [f.name for f in part.glob("*")] if part.exists() else []
            assert files in ([], ["part-0.parquet"]), (platform, entity, files)
            ids = [r[key] for r in records(root, platform)[entity]]
            assert len(ids) == len(set(ids)), (platform, entity)
        raw_runs = {
            p.name for p in (root / "raw" / f"platform={platform}").glob(f"endpoint=*/dt={D}/run=*")
        }
        manifest = json.loads((root / "manifests" / f"dt={D}" / f"{platform}.json").read_text())
        assert manifest["run_id"] == "r2"
        # r1's pages stay exactly while an account the faulty r2 did not land draws on them
        from_r1 = {v["run_id"] for v in manifest["accounts"]["by_key"].values()} - {"r2"}
        assert raw_runs == {"run=r2"} | {f"run={r}" for r in from_r1}
        assert from_r1 <= {"r1"}


def test_reparse_after_a_faulty_run_gives_the_same_records_and_quarantine(faulty_rerun, clean_run):
    root = clean_run["home"] / "landing"
    before = {p: records(root, p) for p in PLATFORMS}
    manifests = {
        m["source"]: m for m in reparse_date(root, D, load_or_create_salt(clean_run["home"]))
    }
    for platform in PLATFORMS:
        after = records(root, platform)
        for entity in KEYS:
            assert comparable(after[entity]) == comparable(before[platform][entity])
        for entity in faulty_rerun["manifests"][platform]["entities"]:
            old = faulty_rerun["manifests"][platform]["entities"][entity]
            new = manifests[platform]["entities"][entity]
            assert (new["served"], new["landed"], new["quarantined"]) == (
                old["served"],
                old["landed"],
                old["quarantined"],
            )


def test_no_token_in_any_file_or_log_line(faulty_rerun, clean_run, world):
    home = clean_run["home"]
    _, files, roster = world
    load_exports(
        files["roster"].parent, home / "landing", D, "r2", roster.entries, roster.quarantined
    )
    tokens = [clean_run["token"], faulty_rerun["token"]]
    checked = 0
    for path in home.rglob("*"):
        if not path.is_file():
            continue
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
        checked += 1
        for token in tokens:
            assert token.encode() not in data, path
    assert checked > 20
    logs = "\n".join(faulty_rerun["logs"])
    assert "GET /" in logs or "POST /" in logs  # urllib3 debug lines were captured
    for token in tokens:
        assert token not in logs
    manifests = json.dumps(faulty_rerun["manifests"])
    assert all(t not in manifests for t in tokens)


def test_salt_is_created_once_with_private_mode(clean_run):
    home = clean_run["home"]
    assert (home / ".salt").stat().st_mode & 0o777 == 0o600
    assert load_or_create_salt(home) == load_or_create_salt(home)
