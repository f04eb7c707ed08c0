"""`quota_model=1`: the sandbox charges and refuses as the platforms document (per credential,
the documented reset, the documented error shapes), and reports what it charged."""

from __future__ import annotations

import csv
import json
import time
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
import requests

from sandbox import FaultConfig, SandboxServer, WorldConfig, export_world

END = date(2026, 11, 20)
CFG = WorldConfig(seed=3, creators=6, days=60, end_date=END)
TOKEN = "sandbox"


@pytest.fixture(scope="module")
def roster(tmp_path_factory) -> dict[str, list[dict[str, str]]]:
    files = export_world(CFG, tmp_path_factory.mktemp("world"))
    out: dict[str, list[dict[str, str]]] = {}
    with Path(files["roster"]).open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            out.setdefault(row["platform"], []).append(row)
    return out


def serve(spec: str) -> SandboxServer:
    return SandboxServer(CFG, token=TOKEN, faults=FaultConfig.parse(spec))


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as s:
        yield s


def charged(server: SandboxServer, http: requests.Session) -> dict:
    return http.get(f"{server.url}/_sandbox/stats", timeout=5).json()["quota_charged"]


def test_youtube_units_per_key_and_day_then_quota_exceeded(http):
    with serve("quota_model=1,youtube_units_per_day=150") as server:
        url = server.base_urls["youtube"]

        def get(path: str, key: str = TOKEN) -> requests.Response:
            return http.get(f"{url}/{path}", params={"part": "snippet", "id": "UCx", "key": key})

        assert get("search").status_code != 403  # 100 units
        assert get("channels").status_code == 200  # 101
        refused = get("search")  # 201 > 150
        assert refused.status_code == 403
        assert refused.json()["error"]["errors"][0]["reason"] == "quotaExceeded"
        for _ in range(49):  # 102..150: list calls cost 1 unit each
            assert get("channels").status_code == 200
        assert get("channels").status_code == 403
        # a new day at the platform: the key has its units again
        server.set_clock(END - timedelta(days=1))
        assert get("channels").status_code == 200
        assert charged(server, http)["youtube"] == {"units": 151, "refused": 2}


def test_tiktok_requests_and_records_per_day(http, roster):
    handle = roster["tiktok"][0]["handle"]
    with serve("quota_model=1,tiktok_requests_per_day=3,tiktok_records_per_day=5") as server:
        url = server.base_urls["tiktok"]
        hdrs = {"Authorization": f"Bearer {TOKEN}"}

        def query() -> requests.Response:
            body = {
                "query": {
                    "and": [{"operation": "EQ", "field_name": "username", "field_values": [handle]}]
                },
                "start_date": (END - timedelta(days=29)).strftime("%Y%m%d"),
                "end_date": END.strftime("%Y%m%d"),
                "max_count": 100,
            }
            return http.post(
                f"{url}/v2/research/video/query/",
                params={"fields": "id,view_count"},
                json=body,
                headers=hdrs,
            )

        first = query()
        assert first.status_code == 200
        videos = len(first.json()["data"]["videos"])
        assert videos >= 5, "the test needs an account with 5 videos in 30 days"
        refused = query()  # records spent: the day's records are gone
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
        assert charged(server, http)["tiktok"] == {"requests": 1, "records": videos, "refused": 1}
    with serve("quota_model=1,tiktok_requests_per_day=3") as server:
        url = server.base_urls["tiktok"]
        codes = [query().status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]


def test_graph_calls_per_hour_with_usage_headers(http, roster):
    with serve("quota_model=1,graph_calls_per_hour=4") as server:
        page = roster["facebook"][0]["account_id"]
        url = f"{server.base_urls['facebook']}/{page}"
        params = {"fields": "id,name,fan_count,followers_count", "access_token": TOKEN}
        usage = []
        for _ in range(4):
            resp = http.get(url, params=params)
            assert resp.status_code == 200
            usage.append(json.loads(resp.headers["X-App-Usage"]))
        assert [u["call_count"] for u in usage] == [25, 50, 75, 100]
        refused = http.get(url, params=params)
        assert refused.status_code == 400
        assert refused.json()["error"]["code"] == 32  # page request limit
        assert '"call_count": 100' in refused.headers["X-App-Usage"]
        assert "X-Business-Use-Case-Usage" in refused.headers
        assert charged(server, http)["facebook"] == {"calls": 4, "refused": 1}


def test_x_window_limit_and_monthly_posts_cap(http, roster):
    handles = [r["handle"] for r in roster["x"]]
    spec = "quota_model=1,x_users_by_per_window=2,x_posts_per_month=1"
    with serve(spec) as server:
        url = server.base_urls["x"]
        hdrs = {"Authorization": f"Bearer {TOKEN}"}

        def users() -> requests.Response:
            params = {"usernames": ",".join(handles), "user.fields": "public_metrics"}
            return http.get(f"{url}/2/users/by", params=params, headers=hdrs)

        first = users()
        assert first.status_code == 200
        assert first.headers["x-rate-limit-limit"] == "2"
        assert first.headers["x-rate-limit-remaining"] == "1"
        assert users().headers["x-rate-limit-remaining"] == "0"
        over = users()
        assert over.status_code == 429
        reset = int(over.headers["x-rate-limit-reset"])
        assert time.time() < reset <= time.time() + 900 and reset % 900 == 0
        user_id = first.json()["data"][0]["id"]
        tweets = http.get(
            f"{url}/2/users/{user_id}/tweets",
            params={"max_results": 100, "start_time": f"{END - timedelta(days=29)}T00:00:00Z"},
            headers=hdrs,
        )
        assert tweets.status_code == 200 and tweets.json()["meta"]["result_count"] >= 1
        capped = http.get(f"{url}/2/users/{user_id}/tweets", headers=hdrs)
        assert capped.status_code == 429
        assert capped.json()["title"] == "UsageCapExceeded"
        stats = charged(server, http)["x"]
        assert stats["posts read"] == tweets.json()["meta"]["result_count"]
        assert stats["refused"] == 2 and stats["requests"] == 3


def test_without_the_flag_nothing_is_charged(http):
    with SandboxServer(CFG, token=TOKEN) as server:
        stats = http.get(f"{server.url}/_sandbox/stats", timeout=5).json()
        assert "quota_charged" not in stats


def test_quota_settings_round_trip():
    cfg = FaultConfig.parse("quota_model=1,youtube_units_per_day=30,x_posts_per_month=7")
    assert cfg.quota_model and cfg.quota_limits == {
        "youtube_units_per_day": 30,
        "x_posts_per_month": 7,
    }
    assert FaultConfig.parse(cfg.spec()) == cfg
