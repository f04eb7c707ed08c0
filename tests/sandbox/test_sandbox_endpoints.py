"""Every documented endpoint answers in the documented shape, pages to the end, and
refuses bad credentials in the platform's own error shape."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import requests
from sandbox_client import END, FB_POST_FIELDS, TOKEN, Api

from sandbox import SANDBOX_IG_USER_ID, SandboxServer, World

pytestmark = pytest.mark.integration

END_TS = int(datetime(END.year, END.month, END.day, tzinfo=UTC).timestamp()) + 86400


def _visible(world: World, acc, now: int = END_TS) -> int:
    return world.visible_count(acc, now)


def _account(world: World, platform: str, **want):
    for acc in world.iter_accounts(platform):
        if acc.known and all(getattr(acc, k) == v for k, v in want.items()):
            return acc
    raise LookupError(f"no {platform} account with {want}")


# ---- Instagram -------------------------------------------------------------------------


def test_instagram_discovery_pages_media_to_the_end_via_after_cursor(api: Api, world) -> None:
    acc = _account(world, "instagram")
    r = api.ig_discovery(acc.handle)
    assert r.status_code == 200
    body = r.json()
    assert body["id"] == SANDBOX_IG_USER_ID
    bd = body["business_discovery"]
    assert set(bd) == {
        "id",
        "username",
        "name",
        "followers_count",
        "follows_count",
        "media_count",
        "media",
    }
    assert bd["username"] == acc.handle and bd["followers_count"] == acc.followers[-1]
    ids: list[str] = []
    pages = 0
    while True:
        media = bd["media"]
        for m in media["data"]:
            assert m["timestamp"].endswith("+0000")
            assert {
                "id",
                "caption",
                "comments_count",
                "timestamp",
                "media_type",
                "media_product_type",
                "permalink",
            } <= set(m)
        ids += [m["id"] for m in media["data"]]
        pages += 1
        if "next" not in media["paging"]:
            break
        assert f"access_token={TOKEN}" in media["paging"]["next"]  # like Meta: redact it
        cursor = media["paging"]["cursors"]["after"]
        r = api.ig_discovery(acc.handle, mod=f".after({cursor}).limit(50)")
        assert r.status_code == 200
        bd = r.json()["business_discovery"]
    assert len(ids) == len(set(ids)) == bd["media_count"] == _visible(world, acc)
    assert pages == -(-len(ids) // 50)


def test_instagram_unknown_or_personal_handle_is_a_graph_400_with_subcode(api: Api, world) -> None:
    ghost = next(a for a in world.iter_accounts("instagram") if not a.known)
    r = api.ig_discovery(ghost.handle)
    assert r.status_code == 400
    err = r.json()["error"]
    assert (err["code"], err["error_subcode"]) == (110, 2207013)
    assert {"message", "type", "fbtrace_id"} <= set(err)


def test_instagram_discovery_needs_the_apps_business_user_id(api: Api, world) -> None:
    acc = _account(world, "instagram")
    r = api.get(
        "instagram", "/17841400000000999", fields=f"business_discovery.username({acc.handle}){{id}}"
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == 100
    assert SANDBOX_IG_USER_ID in r.json()["error"]["message"]
    # a Graph version in the path (production base URLs carry one) is accepted
    r = api.get(
        "instagram",
        f"/v24.0/{SANDBOX_IG_USER_ID}",
        fields=f"business_discovery.username({acc.handle}){{id,followers_count}}",
    )
    assert r.status_code == 200
    assert set(r.json()["business_discovery"]) == {"id", "followers_count"}


def test_instagram_insights_omit_metrics_the_media_lacks(api: Api, world) -> None:
    acc = _account(world, "instagram", authorised=True)
    metrics = "views,reach,saved,shares,total_interactions"
    seen_missing = seen_full = False
    for k in range(_visible(world, acc) - 1, -1, -1):
        post = world.post(acc, k)
        if (post.missing_insight is None and seen_full) or (post.missing_insight and seen_missing):
            continue
        r = api.get("instagram", f"/{world.post_id(acc, k)}/insights", metric=metrics)
        assert r.status_code == 200
        data = r.json()["data"]
        names = [d["name"] for d in data]
        for d in data:
            assert d["period"] == "lifetime" and isinstance(d["values"][0]["value"], int)
        if post.missing_insight:
            assert post.missing_insight not in names and len(names) == 4
            seen_missing = True
        else:
            assert names == metrics.split(",")
            seen_full = True
        if seen_full and seen_missing:
            break
    assert seen_full


def test_instagram_deprecated_metrics_and_unauthorised_media_are_refused(api: Api, world) -> None:
    acc = _account(world, "instagram", authorised=True)
    mid = world.post_id(acc, 0)
    r = api.get("instagram", f"/{mid}/insights", metric="impressions,reach")
    assert r.status_code == 400 and "impressions" in r.json()["error"]["message"]
    other = _account(world, "instagram", authorised=False)
    r = api.get("instagram", f"/{world.post_id(other, 0)}/insights", metric="reach")
    assert r.status_code == 403 and r.json()["error"]["code"] == 10


def test_instagram_comments_page_to_the_end(api: Api, world) -> None:
    acc = _account(world, "instagram", authorised=True)
    k = max(range(_visible(world, acc)), key=lambda k: world.post(acc, k).comments)
    post = world.post(acc, k)
    total = world.comment_total(post, END_TS)
    assert total > 50
    r = api.get(
        "instagram",
        f"/{world.post_id(acc, k)}/comments",
        fields="id,text,timestamp,like_count",
        limit=50,
    )
    got = []
    while True:
        assert r.status_code == 200
        body = r.json()
        got += body["data"]
        if "next" not in body["paging"]:
            break
        r = api.s.get(body["paging"]["next"], timeout=10)
    assert len(got) == total == len({c["id"] for c in got})
    assert set(got[0]) == {"id", "text", "timestamp", "like_count"}
    assert got[0]["timestamp"] >= got[-1]["timestamp"]


# ---- Facebook --------------------------------------------------------------------------


def test_facebook_page_posts_and_comments_shapes_and_paging(api: Api, world) -> None:
    acc = _account(world, "facebook")
    r = api.get("facebook", f"/{acc.platform_id}", fields="id,name,fan_count,followers_count")
    assert r.status_code == 200
    assert set(r.json()) == {"id", "name", "fan_count", "followers_count"}
    since = END_TS - 60 * 86400
    r = api.get(
        "facebook",
        f"/{acc.platform_id}/posts",
        fields=FB_POST_FIELDS,
        since=since,
        until=END_TS,
        limit=10,
    )
    posts = []
    while True:
        assert r.status_code == 200
        body = r.json()
        posts += body["data"]
        if "next" not in body.get("paging", {}):
            break
        assert "access_token=" in body["paging"]["next"]
        r = api.s.get(body["paging"]["next"], timeout=10)
    expected = [k for k in range(_visible(world, acc)) if acc.times[k] >= since]
    assert len(posts) == len(expected) > 10
    no_shares = [p for p in posts if "shares" not in p]
    assert no_shares, "some posts have no shares: the field is absent, not 0"
    for p in posts:
        assert p["created_time"].endswith("+0000")
        assert isinstance(p["reactions"]["summary"]["total_count"], int)
        assert isinstance(p["comments"]["summary"]["total_count"], int)
        if "shares" in p:
            assert p["shares"]["count"] > 0
    post = max(posts, key=lambda p: p["comments"]["summary"]["total_count"])
    r = api.get(
        "facebook",
        f"/{post['id']}/comments",
        fields="id,message,created_time,like_count",
        limit=100,
    )
    assert r.status_code == 200
    assert set(r.json()["data"][0]) == {"id", "message", "created_time", "like_count"}


def test_facebook_range_over_90_days_is_a_graph_error(api: Api, world) -> None:
    acc = _account(world, "facebook")
    r = api.get(
        "facebook",
        f"/{acc.platform_id}/posts",
        fields="id",
        since=END_TS - 91 * 86400,
        until=END_TS,
    )
    assert r.status_code == 400
    assert "90 days" in r.json()["error"]["message"]


# ---- TikTok ----------------------------------------------------------------------------


def test_tiktok_user_info_videos_and_comments_page_with_cursor(api: Api, world) -> None:
    acc = _account(world, "tiktok")
    r = api.tiktok(
        "/v2/research/user/info/",
        "display_name,bio_description,is_verified,follower_count,following_count,"
        "likes_count,video_count",
        {"username": acc.handle},
    )
    assert r.status_code == 200
    body = r.json()
    assert body["error"]["code"] == "ok" and body["error"]["log_id"]
    assert body["data"]["follower_count"] == acc.followers[-1]
    start = (END - timedelta(days=30)).strftime("%Y%m%d")
    r = api.tt_videos(acc.handle, start, END.strftime("%Y%m%d"), max_count=7)
    videos, pages = [], 0
    while True:
        data = r.json()["data"]
        videos += data["videos"]
        pages += 1
        if not data["has_more"]:
            break
        r = api.tt_videos(
            acc.handle,
            start,
            END.strftime("%Y%m%d"),
            cursor=data["cursor"],
            search_id=data["search_id"],
            max_count=7,
        )
        assert r.status_code == 200
    lo = END_TS - 31 * 86400
    expected = [t for t in acc.times if lo <= t < END_TS]
    assert len(videos) == len(expected) > 7 and pages > 1
    assert all(isinstance(v["id"], int) and isinstance(v["create_time"], int) for v in videos)
    vid = max(videos, key=lambda v: v["comment_count"])["id"]
    r = api.tiktok(
        "/v2/research/video/comment/list/",
        "id,video_id,text,like_count,reply_count,create_time",
        {"video_id": vid, "max_count": 100, "cursor": 0},
    )
    data = r.json()["data"]
    assert r.json()["error"]["code"] == "ok"
    assert {"comments", "cursor", "has_more"} <= set(data)
    assert all(c["video_id"] == vid for c in data["comments"])


def test_tiktok_window_over_30_days_is_invalid_params(api: Api, world) -> None:
    acc = _account(world, "tiktok")
    r = api.tt_videos(acc.handle, "20261001", "20261105")
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "invalid_params"
    assert "30 days" in r.json()["error"]["message"]


def test_tiktok_video_query_on_many_usernames_and_at_most_100(api: Api, world) -> None:
    """One IN condition on several usernames answers each one's videos (by `username`);
    more than 100 values is invalid_params."""
    accs = [a for a in world.iter_accounts("tiktok") if a.known][:3]
    start, end = (END - timedelta(days=29)).strftime("%Y%m%d"), END.strftime("%Y%m%d")
    fields = "id,create_time,username"
    query = {"operation": "IN", "field_name": "username", "field_values": [a.handle for a in accs]}
    body = {"query": {"and": [query]}, "start_date": start, "end_date": end, "max_count": 100}
    videos = []
    while True:
        data = api.tiktok("/v2/research/video/query/", fields, body).json()["data"]
        videos += data["videos"]
        if not data["has_more"]:
            break
        body = {**body, "cursor": data["cursor"], "search_id": data["search_id"]}
    lo = END_TS - 30 * 86400
    for acc in accs:
        mine = [v for v in videos if v["username"] == acc.handle]
        assert len(mine) == sum(1 for t in acc.times if lo <= t < END_TS)
    assert len(videos) > 0
    query["field_values"] = [f"user{i}" for i in range(101)]
    r = api.tiktok("/v2/research/video/query/", fields, {**body, "cursor": 0})
    assert r.status_code == 400 and "at most 100" in r.json()["error"]["message"]


# ---- YouTube ---------------------------------------------------------------------------


def test_youtube_channels_hide_subscribers_and_skip_unknown_ids(api: Api, world) -> None:
    chans = [a for a in world.iter_accounts("youtube")]
    ghost = next(a for a in chans if not a.known)
    hidden = next(a for a in chans if a.known and a.hidden_subscribers)
    shown = next(a for a in chans if a.known and not a.hidden_subscribers)
    ids = ",".join(a.platform_id for a in (shown, ghost, hidden))
    r = api.get("youtube", "/channels", part="snippet,statistics,contentDetails", id=ids)
    assert r.status_code == 200
    items = {i["id"]: i for i in r.json()["items"]}
    assert set(items) == {shown.platform_id, hidden.platform_id}
    s = items[shown.platform_id]["statistics"]
    assert s["subscriberCount"] == str(shown.followers[-1]) and s["hiddenSubscriberCount"] is False
    assert isinstance(s["viewCount"], str) and isinstance(s["videoCount"], str)
    h = items[hidden.platform_id]["statistics"]
    assert "subscriberCount" not in h and h["hiddenSubscriberCount"] is True
    uploads = items[shown.platform_id]["contentDetails"]["relatedPlaylists"]["uploads"]
    assert uploads.startswith("UU")
    r = api.get("youtube", "/channels", part="statistics", id=",".join([shown.platform_id] * 51))
    assert r.status_code == 400 and r.json()["error"]["code"] == 400


def test_youtube_uploads_newest_first_pages_and_videos_hide_counts(api: Api, world) -> None:
    acc = max(
        (a for a in world.iter_accounts("youtube") if a.known), key=lambda a: _visible(world, a)
    )
    ids, published, token = [], [], None
    while True:
        params = {
            "part": "contentDetails",
            "playlistId": "UU" + acc.platform_id[2:],
            "maxResults": 50,
        }
        if token:
            params["pageToken"] = token
        r = api.get("youtube", "/playlistItems", **params)
        assert r.status_code == 200
        body = r.json()
        ids += [i["contentDetails"]["videoId"] for i in body["items"]]
        published += [i["contentDetails"]["videoPublishedAt"] for i in body["items"]]
        token = body.get("nextPageToken")
        if not token:
            break
    assert len(ids) == _visible(world, acc)
    assert published == sorted(published, reverse=True)
    # videos: batches of 50, counts are strings, hidden ones absent
    seen = {}
    for i in range(0, len(ids), 50):
        r = api.get("youtube", "/videos", part="snippet,statistics", id=",".join(ids[i : i + 50]))
        assert r.status_code == 200
        seen.update({v["id"]: v for v in r.json()["items"]})
    assert set(seen) == set(ids)
    for vid, v in seen.items():
        post = world.post(*world.resolve_post("youtube", vid))
        assert isinstance(v["statistics"]["viewCount"], str)
        assert ("likeCount" in v["statistics"]) == (not post.hide_likes)
        assert ("commentCount" in v["statistics"]) == (not post.comments_off)


def test_youtube_comment_threads_page_and_disabled_comments_are_403(api: Api, world) -> None:
    off = next(
        (a, k)
        for a in world.iter_accounts("youtube")
        if a.known
        for k in range(_visible(world, a))
        if world.post(a, k).comments_off
    )
    r = api.get(
        "youtube",
        "/commentThreads",
        part="snippet",
        videoId=world.post_id(*off),
        maxResults=100,
        order="time",
    )
    assert r.status_code == 403
    assert r.json()["error"]["errors"][0]["reason"] == "commentsDisabled"
    acc, k = max(
        (
            (a, k)
            for a in world.iter_accounts("youtube")
            if a.known
            for k in range(max(0, _visible(world, a) - 10), _visible(world, a))
        ),
        key=lambda ak: world.comment_total(world.post(*ak), END_TS),
    )
    total = world.comment_total(world.post(acc, k), END_TS)
    got, token = [], None
    while True:
        params = {
            "part": "snippet",
            "videoId": world.post_id(acc, k),
            "maxResults": 20,
            "order": "time",
        }
        if token:
            params["pageToken"] = token
        body = api.get("youtube", "/commentThreads", **params).json()
        got += body["items"]
        token = body.get("nextPageToken")
        if not token:
            break
    assert len(got) == total > 20
    top = got[0]["snippet"]["topLevelComment"]
    assert {"textDisplay", "likeCount", "publishedAt", "authorChannelId"} <= set(top["snippet"])
    assert top["snippet"]["authorChannelId"]["value"].startswith("UC")


# ---- X ---------------------------------------------------------------------------------


def test_x_users_by_reports_unknown_users_in_errors_with_200(api: Api, world) -> None:
    ghost = next(a for a in world.iter_accounts("x") if not a.known)
    known = [a for a in world.iter_accounts("x") if a.known][:3]
    r = api.get(
        "x",
        "/2/users/by",
        usernames=",".join([a.handle for a in known] + [ghost.handle]),
        **{"user.fields": "created_at,description,verified,public_metrics"},
    )
    assert r.status_code == 200
    body = r.json()
    assert [u["username"] for u in body["data"]] == [a.handle for a in known]
    assert body["errors"][0]["value"] == ghost.handle
    assert set(body["data"][0]["public_metrics"]) == {
        "followers_count",
        "following_count",
        "tweet_count",
        "listed_count",
    }
    assert {"x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset"} <= {
        h.lower() for h in r.headers
    }
    r = api.get("x", "/2/users/by", usernames=",".join(f"u_{i}" for i in range(101)))
    assert r.status_code == 400


def test_x_timeline_pages_with_next_token_and_search_covers_7_days(api: Api, world) -> None:
    acc = _account(world, "x")
    start = (END - timedelta(days=20)).isoformat() + "T00:00:00Z"
    params = {
        "max_results": 5,
        "start_time": start,
        "exclude": "retweets",
        "tweet.fields": "created_at,public_metrics,conversation_id,entities",
    }
    tweets, token = [], None
    while True:
        if token:
            params["pagination_token"] = token
        body = api.get("x", f"/2/users/{acc.platform_id}/tweets", **params).json()
        tweets += body.get("data", [])
        assert body["meta"]["result_count"] == len(body.get("data", []))
        token = body["meta"].get("next_token")
        if not token:
            break
    lo = END_TS - 21 * 86400
    assert len(tweets) == sum(1 for t in acc.times if lo <= t < END_TS) > 5
    assert set(tweets[0]["public_metrics"]) == {
        "retweet_count",
        "reply_count",
        "like_count",
        "quote_count",
        "bookmark_count",
        "impression_count",
    }
    recent = max(tweets[:10], key=lambda t: t["public_metrics"]["reply_count"])
    q = {
        "query": f"conversation_id:{recent['id']} is:reply",
        "max_results": 10,
        "tweet.fields": "created_at,public_metrics,author_id",
    }
    replies = api.get("x", "/2/tweets/search/recent", **q).json()
    assert all(d["author_id"] for d in replies.get("data", []))
    # since_id: only the replies with a larger (newer) id, newest first
    every = api.get("x", "/2/tweets/search/recent", **{**q, "max_results": 100}).json()["data"]
    assert len(every) >= 3
    since = every[2]["id"]
    newer = api.get("x", "/2/tweets/search/recent", since_id=since, **q).json()
    assert [d["id"] for d in newer["data"]] == [d["id"] for d in every[:2]]
    assert api.get("x", "/2/tweets/search/recent", since_id="x1", **q).status_code == 400
    too_old = (END - timedelta(days=10)).isoformat() + "T00:00:00Z"
    r = api.get("x", "/2/tweets/search/recent", start_time=too_old, **q)
    assert r.status_code == 400 and "7 days" in r.text


# ---- auth, clock, stats ------------------------------------------------------------------


def test_bad_credentials_get_401_in_each_platforms_shape(api: Api, world) -> None:
    fb = _account(world, "facebook")
    r = api.get("facebook", f"/{fb.platform_id}", access_token="wrong", fields="id")
    assert r.status_code == 401 and r.json()["error"]["code"] == 190
    r = api.get("instagram", f"/{SANDBOX_IG_USER_ID}", access_token="", fields="id")
    assert r.status_code == 401 and r.json()["error"]["type"] == "OAuthException"
    r = api.get("youtube", "/channels", key="wrong", part="statistics", id="UCx")
    assert r.status_code == 401 and r.json()["error"]["errors"][0]["reason"] == "keyInvalid"
    r = api.s.post(
        f"{api.urls['tiktok']}/v2/research/user/info/",
        params={"fields": "follower_count"},
        json={"username": "x"},
        headers={"Authorization": "Bearer wrong"},
        timeout=10,
    )
    assert r.status_code == 401 and r.json()["error"]["code"] == "access_token_invalid"
    r = api.s.get(f"{api.urls['x']}/2/users/by", params={"usernames": "a"}, timeout=10)
    assert r.status_code == 401 and r.json()["title"] == "Unauthorized"
    # the credential must be sent the platform's way: a Graph token as Bearer is not accepted
    r = api.s.get(
        f"{api.urls['facebook']}/{fb.platform_id}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=10,
    )
    assert r.status_code == 401


def test_clock_moves_to_past_states_and_hides_later_posts(api: Api, world, clock_reset) -> None:
    acc = _account(world, "tiktok")
    past = END - timedelta(days=20)
    now_followers = api.tiktok(
        "/v2/research/user/info/", "follower_count", {"username": acc.handle}
    ).json()["data"]["follower_count"]
    r = api.s.post(f"{clock_reset.url}/_sandbox/clock", json={"date": past.isoformat()}, timeout=10)
    assert r.status_code == 200 and r.json()["clock"] == past.isoformat()
    then = api.tiktok(
        "/v2/research/user/info/", "follower_count,video_count", {"username": acc.handle}
    ).json()["data"]
    assert then["follower_count"] == acc.followers[-21] != now_followers
    past_end = END_TS - 20 * 86400
    assert then["video_count"] == sum(1 for t in acc.times if t < past_end)
    r = api.tt_videos(
        acc.handle, (past - timedelta(days=10)).strftime("%Y%m%d"), END.strftime("%Y%m%d")
    )
    assert all(v["create_time"] < past_end for v in r.json()["data"]["videos"])
    bad = api.s.post(f"{clock_reset.url}/_sandbox/clock", json={"date": "2030-01-01"}, timeout=10)
    assert bad.status_code == 400 and "outside the sandbox world" in bad.json()["error"]


def test_stats_count_served_records_per_platform_and_reset(
    api: Api, world, sandbox: SandboxServer
) -> None:
    api.s.post(f"{sandbox.url}/_sandbox/stats/reset", timeout=10)
    known = [a for a in world.iter_accounts("x") if a.known][:4]
    api.get("x", "/2/users/by", usernames=",".join(a.handle for a in known))
    ig = _account(world, "instagram")
    body = api.ig_discovery(ig.handle).json()
    stats = api.s.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()
    assert stats["served"]["x"]["accounts"] == 4
    assert stats["served"]["instagram"]["accounts"] == 1
    assert stats["served"]["instagram"]["posts"] == len(body["business_discovery"]["media"]["data"])
    assert stats["requests"]["x"] == 1 and stats["served"]["tiktok"]["posts"] == 0
    # the next media page repeats the account fields: the account is not served twice
    cursor = body["business_discovery"]["media"]["paging"]["cursors"]["after"]
    page2 = api.ig_discovery(ig.handle, mod=f".after({cursor}).limit(50)").json()
    stats = api.s.get(f"{sandbox.url}/_sandbox/stats", timeout=10).json()
    assert stats["served"]["instagram"]["accounts"] == 1
    assert stats["served"]["instagram"]["posts"] == len(
        body["business_discovery"]["media"]["data"]
    ) + len(page2["business_discovery"]["media"]["data"])
    health = requests.get(f"{sandbox.url}/_sandbox/health", timeout=10).json()
    assert health["status"] == "ok" and health["clock"] == END.isoformat()


def test_control_plane_swaps_faults_and_reports_truth(api: Api, sandbox: SandboxServer) -> None:
    r = api.s.post(f"{sandbox.url}/_sandbox/faults", json={"spec": "server_error"}, timeout=10)
    try:
        assert r.status_code == 200 and r.json()["spec"].startswith("server_error=1")
        assert api.get("x", "/2/users/by", usernames="a_1").status_code in (500, 502, 503)
    finally:
        api.s.post(f"{sandbox.url}/_sandbox/faults", json={"spec": ""}, timeout=10)
    assert api.get("x", "/2/users/by", usernames="a_1").status_code == 200
    bad = api.s.post(f"{sandbox.url}/_sandbox/faults", json={"spec": "nope"}, timeout=10)
    assert bad.status_code == 400 and "unknown fault mode" in bad.json()["error"]
    truth = api.s.get(f"{sandbox.url}/_sandbox/truth", timeout=10).json()
    assert truth["leading_platform"] == "tiktok" and truth["lagging_platform"] == "facebook"
    assert truth["bot_accounts"] and truth["end_date"] == END.isoformat()


def test_posts_scheduled_after_the_clock_exist_but_are_never_served(api: Api, world) -> None:
    acc = next(a for a in world.iter_accounts("x") if a.known and a.times[-1] >= END_TS)
    body = api.get(
        "x", f"/2/users/{acc.platform_id}/tweets", max_results=100, **{"tweet.fields": "created_at"}
    ).json()
    future = {world.post_id(acc, k) for k, t in enumerate(acc.times) if t >= END_TS}
    assert future and not future & {t["id"] for t in body["data"]}
    r = api.get(
        "x",
        "/2/tweets/search/recent",
        query=f"conversation_id:{min(future)} is:reply",
        max_results=10,
    )
    assert r.status_code == 200 and r.json()["meta"]["result_count"] == 0


def test_serve_command_prints_the_settings_to_export(tmp_path) -> None:
    import subprocess
    import sys

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "sandbox",
            "serve",
            "--creators",
            "5",
            "--days",
            "10",
            "--end-date",
            END.isoformat(),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [proc.stdout.readline().strip() for _ in range(6)]
        env = dict(line.split("=", 1) for line in lines)
        assert set(env) == {
            "KOL_INSTAGRAM_BASE_URL",
            "KOL_FACEBOOK_BASE_URL",
            "KOL_TIKTOK_BASE_URL",
            "KOL_YOUTUBE_BASE_URL",
            "KOL_X_BASE_URL",
            "KOL_INSTAGRAM_USER_ID",
        }
        assert env["KOL_INSTAGRAM_USER_ID"] == SANDBOX_IG_USER_ID
        base = env["KOL_X_BASE_URL"].rsplit("/", 1)[0]
        assert requests.get(f"{base}/_sandbox/health", timeout=10).json()["status"] == "ok"
        assert "sandbox" not in "".join(lines)  # no token printed
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_an_agency_sized_world_answers_each_request_in_milliseconds() -> None:
    import time

    from sandbox import WorldConfig

    cfg = WorldConfig(seed=5, creators=8400, days=120, end_date=END)
    with SandboxServer(cfg) as server, requests.Session() as s:
        world = server.world
        ids = [
            a.platform_id
            for a in (world.account(i, "youtube") for i in range(0, 8400, 97))
            if a is not None and a.known
        ][:40]
        url = f"{server.base_urls['youtube']}/channels"
        s.get(url, params={"part": "statistics", "id": ids[0], "key": TOKEN}, timeout=30)
        t0 = time.perf_counter()
        for cid in ids:
            r = s.get(
                url,
                params={"part": "snippet,statistics,contentDetails", "id": cid, "key": TOKEN},
                timeout=10,
            )
            assert r.status_code == 200 and r.json()["items"][0]["id"] == cid
        assert (time.perf_counter() - t0) / len(ids) < 0.05  # ~3 ms on an idle core


def test_concurrent_requests_get_the_same_answers_as_sequential_ones(api: Api, world) -> None:
    from concurrent.futures import ThreadPoolExecutor

    handles = [a.handle for a in world.iter_accounts("tiktok")][:12]
    url = f"{api.urls['tiktok']}/v2/research/user/info/"

    def fetch(handle: str) -> str:
        r = requests.post(
            url,
            params={"fields": "follower_count,video_count,likes_count"},
            json={"username": handle},
            headers=api.bearer,
            timeout=10,
        )
        return r.text

    sequential = [fetch(h) for h in handles]
    with ThreadPoolExecutor(max_workers=6) as pool:
        assert list(pool.map(fetch, handles)) == sequential
