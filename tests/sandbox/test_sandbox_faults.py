"""Fault injection: every mode, per request (header) and by configuration, deterministic."""

from __future__ import annotations

import json
import time
from datetime import date, timedelta

import pytest
import requests
from sandbox_client import END, TOKEN, Api

from sandbox import FAULT_HEADER, FaultConfig, SandboxServer, World, WorldConfig

pytestmark = pytest.mark.integration


def _calls(api: Api, world: World) -> dict:
    """One cheap documented call per platform (name -> zero-arg function)."""
    ig = next(a for a in world.iter_accounts("instagram") if a.known)
    fb = next(world.iter_accounts("facebook"))
    tt = next(world.iter_accounts("tiktok"))
    yt = next(a for a in world.iter_accounts("youtube") if a.known and not a.hidden_subscribers)
    x = next(a for a in world.iter_accounts("x") if a.known)
    return {
        "instagram": lambda h=None: api.ig_discovery(ig.handle, mod=".limit(5)", headers=h),
        "facebook": lambda h=None: api.get(
            "facebook", f"/{fb.platform_id}", headers=h, fields="id,name,fan_count,followers_count"
        ),
        "tiktok": lambda h=None: api.tiktok(
            "/v2/research/user/info/",
            "follower_count,video_count",
            {"username": tt.handle},
            headers=h,
        ),
        "youtube": lambda h=None: api.get(
            "youtube", "/channels", headers=h, part="statistics", id=yt.platform_id
        ),
        "x": lambda h=None: api.get(
            "x", "/2/users/by", headers=h, usernames=x.handle, **{"user.fields": "public_metrics"}
        ),
    }


def _followers(platform: str, body: dict) -> int:
    if platform == "instagram":
        return body["business_discovery"]["followers_count"]
    if platform == "facebook":
        return body["followers_count"]
    if platform == "tiktok":
        return body["data"]["follower_count"]
    if platform == "youtube":
        return int(body["items"][0]["statistics"]["subscriberCount"])
    return body["data"][0]["public_metrics"]["followers_count"]


def _fault(mode: str) -> dict[str, str]:
    return {FAULT_HEADER: mode}


def test_rate_limit_speaks_each_platforms_language(api: Api, world: World) -> None:
    calls = _calls(api, world)
    for platform in ("instagram", "facebook"):
        r = calls[platform](_fault("rate_limit"))
        assert r.status_code in (400, 403, 429)
        assert r.json()["error"]["code"] in (4, 17, 32, 613)
        usage = json.loads(r.headers["X-App-Usage"])
        assert usage["call_count"] >= 100 and "X-Business-Use-Case-Usage" in r.headers
    r = calls["tiktok"](_fault("rate_limit"))
    assert r.status_code == 503 and r.json()["error"]["code"] == "service_unavailable"
    assert r.headers["Retry-After"] == "1"
    r = calls["youtube"](_fault("rate_limit"))
    assert r.status_code in (403, 429)
    assert r.json()["error"]["errors"][0]["reason"] == "rateLimitExceeded"
    r = calls["x"](_fault("rate_limit"))
    assert r.status_code == 429 and r.headers["x-rate-limit-remaining"] == "0"
    reset = int(r.headers["x-rate-limit-reset"])
    assert time.time() - 5 < reset < time.time() + 10  # Unix seconds, soon


def test_quota_stops_a_platform_in_its_own_way(api: Api, world: World) -> None:
    calls = _calls(api, world)
    r = calls["youtube"](_fault("quota"))
    assert r.status_code == 403 and r.json()["error"]["errors"][0]["reason"] == "quotaExceeded"
    r = calls["tiktok"](_fault("quota"))
    assert r.status_code == 429 and r.json()["error"]["code"] == "daily_quota_limit_exceeded"
    r = calls["x"](_fault("quota"))
    assert r.status_code == 429 and r.json()["title"] == "UsageCapExceeded"
    assert int(r.headers["x-rate-limit-reset"]) >= int(time.time())  # next 00:00 UTC
    r = calls["instagram"](_fault("quota"))
    assert r.json()["error"]["code"] == 4
    assert calls["youtube"]().status_code == 200  # a header fault is not sticky


def test_server_errors_timeouts_slowness_and_truncation(api: Api, world: World) -> None:
    calls = _calls(api, world)
    for platform, call in calls.items():
        assert call(_fault("server_error")).status_code in (500, 502, 503), platform
    t0 = time.perf_counter()
    assert calls["tiktok"](_fault("slow")).status_code == 200
    assert time.perf_counter() - t0 >= 0.2
    r = calls["x"](_fault("truncated"))
    assert r.status_code == 200
    with pytest.raises(ValueError):
        json.loads(r.text)
    hdrs = dict(api.bearer, **_fault("timeout"))
    with pytest.raises(requests.exceptions.ReadTimeout):
        requests.get(
            f"{api.urls['x']}/2/users/by", params={"usernames": "a_1"}, headers=hdrs, timeout=0.4
        )


def test_schema_drift_renames_removes_or_adds_fields(api: Api, world: World) -> None:
    calls = _calls(api, world)
    body = calls["facebook"](_fault("drift_rename")).json()
    assert "followers_count" not in body and "followers_total" in body
    body = calls["tiktok"](_fault("drift_remove")).json()
    assert "follower_count" not in body["data"] and "video_count" in body["data"]
    body = calls["youtube"](_fault("drift_add")).json()
    assert "sandbox_new_field" in body["items"][0]
    assert "subscriberCount" in body["items"][0]["statistics"]


def test_glitch_zeroes_every_follower_count(api: Api, world: World) -> None:
    for platform, call in _calls(api, world).items():
        assert _followers(platform, call().json()) > 0, platform
        assert _followers(platform, call(_fault("glitch")).json()) == 0, platform


def test_no_comment_access_forbids_only_x_recent_search(api: Api, world: World) -> None:
    acc = next(a for a in world.iter_accounts("x") if a.known)
    tid = world.post_id(acc, world.visible_count(acc, world.instant(END)) - 1)
    r = api.get(
        "x",
        "/2/tweets/search/recent",
        headers=_fault("no_comment_access"),
        query=f"conversation_id:{tid} is:reply",
        max_results=10,
    )
    assert r.status_code == 403 and r.json()["title"] == "Client Forbidden"
    assert _calls(api, world)["x"](_fault("no_comment_access")).status_code == 200


def test_unknown_fault_header_is_refused_with_the_list_of_modes(api: Api, world: World) -> None:
    r = _calls(api, world)["x"](_fault("meteor"))
    assert r.status_code == 400 and "rate_limit" in r.json()["error"]


SMALL = WorldConfig(seed=3, creators=12, days=20, end_date=END)


def _statuses(spec: str, n: int = 40) -> list[int]:
    with SandboxServer(SMALL, faults=FaultConfig.parse(spec)) as server, requests.Session() as s:
        acc = next(a for a in server.world.iter_accounts("youtube") if a.known)
        url = f"{server.base_urls['youtube']}/channels"
        out = []
        for _ in range(n):  # the same request again and again, like a retrying client
            r = s.get(
                url, params={"part": "statistics", "id": acc.platform_id, "key": TOKEN}, timeout=10
            )
            out.append(r.status_code)
        stats = s.get(f"{server.url}/_sandbox/stats", timeout=10).json()
        assert stats["requests"]["youtube"] == n
        assert stats["served"]["youtube"]["accounts"] == out.count(200)
        return out


def test_configured_fault_rates_are_deterministic_and_retries_succeed() -> None:
    a = _statuses("rate_limit=0.3,server_error=0.1,seed=5")
    b = _statuses("rate_limit=0.3,server_error=0.1,seed=5")
    c = _statuses("rate_limit=0.3,server_error=0.1,seed=6")
    assert a == b and a != c
    failed = sum(1 for s in a if s != 200) / len(a)
    assert 0.15 < failed < 0.7
    assert 200 in a[:10]


def test_quota_after_is_sticky_until_the_clock_moves() -> None:
    with SandboxServer(SMALL, faults=FaultConfig.parse("quota_after=3")) as server:
        acc = next(a for a in server.world.iter_accounts("youtube") if a.known)
        params = {"part": "statistics", "id": acc.platform_id, "key": TOKEN}
        url = f"{server.base_urls['youtube']}/channels"
        codes = [requests.get(url, params=params, timeout=10).status_code for _ in range(5)]
        assert codes == [200, 200, 200, 403, 403]
        server.set_clock(END - timedelta(days=1))
        assert requests.get(url, params=params, timeout=10).status_code == 200


def test_configured_glitch_hits_whole_days() -> None:
    with SandboxServer(SMALL, faults=FaultConfig.parse("glitch=0.5,seed=1")) as server:
        acc = next(server.world.iter_accounts("tiktok"))
        url = f"{server.base_urls['tiktok']}/v2/research/user/info/"
        zero_days = set()
        for back in range(8):
            d = END - timedelta(days=back)
            server.set_clock(d)
            values = {
                requests.post(
                    url,
                    params={"fields": "follower_count"},
                    json={"username": acc.handle},
                    headers={"Authorization": f"Bearer {TOKEN}"},
                    timeout=10,
                ).json()["data"]["follower_count"]
                for _ in range(2)
            }
            assert len(values) == 1  # the same answer all day
            if values == {0}:
                zero_days.add(d)
        assert 0 < len(zero_days) < 8
        assert date(2026, 11, 24) - timedelta(days=7) <= min(zero_days)
