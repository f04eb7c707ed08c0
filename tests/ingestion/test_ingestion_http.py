"""The shared HTTP core: retries, waits from headers, caps, typed errors, redaction."""

from __future__ import annotations

import random
import time

import pytest
from ingest_stub import Reply, StubServer

from ingestion.http import (
    Auth,
    HttpClient,
    HttpError,
    QuotaExceeded,
    RetriesExhausted,
    RetryPolicy,
    graph_usage,
    wait_hint,
)
from ingestion.platforms import get_platform
from ingestion.redaction import IdentityHasher, Redactor

TOKEN = "tok-http-test-5f3a"


def client(
    url: str,
    sleeps: list[float],
    platform: str = "x",
    policy: RetryPolicy | None = None,
    now: float | None = None,
) -> HttpClient:
    plat = get_platform(platform)
    return HttpClient(
        platform,
        url,
        Auth(TOKEN, plat.auth_param),
        policy or RetryPolicy(max_attempts=4, backoff_base=0.5, max_wait=30),
        Redactor([TOKEN]),
        classify=plat.classify,
        sleep=sleeps.append,
        clock=(lambda: now) if now is not None else time.time,
        rng=random.Random(1),
    )


def scripted(*replies: Reply):
    queue = list(replies)
    return lambda seen: queue.pop(0) if len(queue) > 1 else queue[0]


def test_retry_after_seconds_is_honoured():
    sleeps: list[float] = []
    with StubServer(
        scripted(Reply(429, {"title": "Too Many"}, {"Retry-After": "7"}), Reply(200, {"data": []}))
    ) as srv:
        c = client(srv.url, sleeps)
        assert c.request("GET", "/2/users/by").status == 200
    assert sleeps == [7.0] and c.retries == 1 and c.requests == 2


def test_x_rate_limit_reset_header_sets_the_wait_and_is_capped():
    sleeps: list[float] = []
    now = 1_800_000_000.0
    reset = {"x-rate-limit-reset": str(int(now) + 12), "x-rate-limit-remaining": "0"}
    far = {"x-rate-limit-reset": str(int(now) + 3600)}
    with StubServer(
        scripted(Reply(429, {}, reset), Reply(429, {}, far), Reply(200, {"data": []}))
    ) as srv:
        c = client(srv.url, sleeps, policy=RetryPolicy(max_attempts=4, max_wait=20), now=now)
        c.request("GET", "/2/users/by")
    # 12 s until reset (+1 s margin), then an hour capped at max_wait=20
    assert sleeps[0] == pytest.approx(13.0) and sleeps[-1] == 20.0


def test_server_errors_back_off_exponentially_then_give_up_without_the_token():
    sleeps: list[float] = []
    with StubServer(scripted(Reply(503, {"error": f"upstream saw {TOKEN}"}))) as srv:
        c = client(
            srv.url,
            sleeps,
            platform="youtube",
            policy=RetryPolicy(max_attempts=4, backoff_base=1.0, max_wait=60),
        )
        with pytest.raises(RetriesExhausted) as err:
            c.request("GET", "/videos", params={"id": "v"})
    assert len(sleeps) == 3  # 4 attempts, 3 waits
    # base * 2^(n-1) plus jitter in [0, base * 2^(n-1)]
    for n, s in enumerate(sleeps, start=1):
        assert 2 ** (n - 1) <= s <= 2**n
    assert TOKEN not in str(err.value) and "4 attempts" in str(err.value)


def test_connection_errors_are_retried_and_reported_without_the_key():
    sleeps: list[float] = []
    c = client(
        "http://127.0.0.1:9",
        sleeps,
        platform="youtube",
        policy=RetryPolicy(max_attempts=2, backoff_base=0.01, connect_timeout=0.5),
    )
    with pytest.raises(RetriesExhausted) as err:
        c.request("GET", "/channels", params={"id": "x"})
    assert "ConnectionError" in str(err.value) and TOKEN not in str(err.value)
    assert len(sleeps) == 1


def test_client_errors_are_not_retried():
    sleeps: list[float] = []
    with StubServer(scripted(Reply(401, {"title": "Unauthorized", "detail": "bad token"}))) as srv:
        c = client(srv.url, sleeps)
        with pytest.raises(HttpError, match="401"):
            c.request("GET", "/2/users/by")
    assert sleeps == [] and c.requests == 1


def test_tiktok_error_envelope_on_http_200_is_an_error():
    with (
        StubServer(
            scripted(
                Reply(
                    200,
                    {
                        "data": {},
                        "error": {
                            "code": "invalid_params",
                            "message": "bad username",
                            "log_id": "1",
                        },
                    },
                )
            )
        ) as srv,
        pytest.raises(HttpError, match="invalid_params"),
    ):
        client(srv.url, [], platform="tiktok").request(
            "POST", "/v2/research/user/info/", json_body={"username": "u"}
        )


def test_tiktok_busy_envelope_is_retried_and_its_429_is_the_daily_quota():
    sleeps: list[float] = []
    busy = Reply(
        503,
        {"data": {}, "error": {"code": "service_unavailable", "message": "busy", "log_id": "1"}},
    )
    with StubServer(
        scripted(busy, Reply(200, {"data": {"display_name": "d"}, "error": {"code": "ok"}}))
    ) as srv:
        c = client(srv.url, sleeps, platform="tiktok")
        assert c.request("POST", "/v2/research/user/info/").outcome == "ok"
    assert len(sleeps) == 1
    limited = Reply(
        429,
        {"data": {}, "error": {"code": "rate_limit_exceeded", "message": "daily", "log_id": "2"}},
    )
    sleeps.clear()
    with StubServer(scripted(limited)) as srv, pytest.raises(QuotaExceeded, match="daily"):
        client(srv.url, sleeps, platform="tiktok").request("POST", "/v2/research/user/info/")
    assert sleeps == []  # a quota answer is not waited on


def test_graph_usage_above_threshold_pauses_before_the_next_call():
    sleeps: list[float] = []
    busy = {"X-App-Usage": '{"call_count": 95, "total_cputime": 10, "total_time": 12}'}
    with StubServer(scripted(Reply(200, {"id": "1"}, busy), Reply(200, {"id": "1"}))) as srv:
        c = client(
            srv.url, sleeps, platform="facebook", policy=RetryPolicy(usage_pause=3, max_wait=5)
        )
        c.request("GET", "/1")
        assert sleeps == []
        c.request("GET", "/1")
    assert len(sleeps) == 1 and 0 < sleeps[0] <= 3


def test_header_parsers():
    assert wait_hint({"Retry-After": "3"}, 0) == 3.0
    assert wait_hint({"x-rate-limit-reset": "110"}, 100.0) == 11.0
    assert wait_hint({}, 0) is None
    buc = '{"123": [{"type": "pages", "call_count": 20, "total_cputime": 91, "total_time": 5, "estimated_time_to_regain_access": 2}]}'
    assert graph_usage({"X-Business-Use-Case-Usage": buc}) == (91.0, 120.0)


def test_graph_token_in_url_params_and_next_links_is_redacted_everywhere():
    seen_urls = []
    body = {
        "data": [],
        "paging": {"next": f"http://h/v24.0/1/posts?access_token={TOKEN}&after=abc"},
    }
    with StubServer(scripted(Reply(200, body))) as srv:
        c = client(srv.url, [], platform="facebook")
        c.on_exchange = seen_urls.append
        ex = c.request("GET", "/1/posts", params={"limit": 100})
    assert TOKEN not in repr(ex) and "access_token=REDACTED" in ex.body
    assert srv.seen[0].query["access_token"] == TOKEN  # it was sent, just never kept


def test_redactor_scrubs_value_urlencoded_and_param_names():
    r = Redactor(["a/b+c=="])
    text = "key=zzz&x=1 https://h/?access_token=other a%2Fb%2Bc%3D%3D a/b+c== Bearer abc.def"
    out = r.text(text)
    assert "zzz" not in out and "other" not in out and "a/b+c" not in out and "a%2Fb" not in out
    assert "abc.def" not in out
    assert r.params({"key": "k", "q": "v"}) == {"key": "REDACTED", "q": "v"}


def test_identity_hasher_handles_truncated_bodies():
    h = IdentityHasher("s", ["author_id"], ["authorChannelId"])
    out = h.text('{"data":[{"author_id":"123"},{"author_id":"45')
    assert "123" not in out and '"45' not in out
    out = h.text('{"authorChannelId": {"value": "UCabc"}}')
    assert "UCabc" not in out


def test_graph_rate_limit_with_full_usage_waits_for_the_usage_pause_not_just_the_backoff():
    sleeps: list[float] = []
    limited = Reply(
        400,
        {
            "error": {
                "message": "(#4) Application request limit reached",
                "code": 4,
                "fbtrace_id": "t",
            }
        },
        {"X-App-Usage": '{"call_count": 100, "total_cputime": 20, "total_time": 30}'},
    )
    with StubServer(scripted(limited, Reply(200, {"id": "1"}))) as srv:
        c = client(
            srv.url,
            sleeps,
            platform="instagram",
            policy=RetryPolicy(backoff_base=0.01, usage_pause=4, max_wait=10),
            now=1000.0,
        )
        assert c.request("GET", "/1").outcome == "ok"
    assert sleeps == [4.0]  # one wait: the usage pause (longer than the backoff), not two
