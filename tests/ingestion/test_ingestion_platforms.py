"""Each platform's fetch plan against scripted doc-shaped answers (paging, windows, errors)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from ingest_helpers import RUN_DATE
from ingest_helpers import entry as E
from ingest_stub import Reply, Seen

END = datetime(2026, 11, 25, tzinfo=UTC)  # end of the run date, UTC


def iso(days_ago: float, fmt: str = "%Y-%m-%dT%H:%M:%S+0000") -> str:
    return (END - timedelta(days=days_ago)).strftime(fmt)


def balanced(manifest) -> None:
    for name, e in manifest["entities"].items():
        assert e["served"] == e["landed"] + e["quarantined"], name


# --- Instagram --------------------------------------------------------------------------


def ig_responder(seen: Seen) -> Reply:
    fields = seen.query.get("fields", "")
    if "business_discovery" in fields:
        if "username(ghost)" in fields:
            return Reply(
                400,
                {
                    "error": {
                        "message": "Invalid user id",
                        "type": "OAuthException",
                        "code": 110,
                        "error_subcode": 2207013,
                        "fbtrace_id": "t",
                    }
                },
            )
        page2 = "after(CUR1)" in fields
        media = (
            [{"id": "m3", "timestamp": iso(40)}]
            if page2
            else [
                {"id": "m1", "timestamp": iso(1), "like_count": 5},
                {"id": "m2", "timestamp": iso(20)},
            ]
        )
        paging = (
            {"cursors": {"after": "CUR1"}, "next": "http://graph/next"}
            if not page2
            else {"cursors": {"after": "END"}}
        )
        return Reply(
            200,
            {
                "business_discovery": {
                    "id": "1784",
                    "username": "star",
                    "followers_count": 900,
                    "media": {"data": media, "paging": paging},
                },
                "id": "me",
            },
        )
    if seen.path.endswith("/insights"):
        return Reply(
            200, {"data": [{"name": "reach", "period": "lifetime", "values": [{"value": 10}]}]}
        )
    if seen.path.endswith("/comments"):
        return Reply(
            200,
            {
                "data": [
                    {"id": f"{seen.path}-c", "text": "wow", "timestamp": iso(0.5), "like_count": 0}
                ]
            },
        )
    return Reply(404, {"error": {"code": 100, "message": "unknown"}})


def test_instagram_pages_by_cursor_until_next_is_absent(stub_extract):
    # Page 1 holds two posts (short page) but has paging.next: a second page must be asked.
    manifest, seen, _ = stub_extract(
        "instagram", ig_responder, [E("instagram", "star")], instagram_user_id="17841"
    )
    discovery = [s for s in seen if "business_discovery" in s.query.get("fields", "")]
    assert len(discovery) == 2
    assert "media.after(CUR1).limit(50)" in discovery[1].query["fields"]
    assert manifest["entities"]["posts"]["landed"] == 3
    assert not any(s.path.endswith("/insights") for s in seen)  # not authorised: no insights
    balanced(manifest)


def test_instagram_insights_and_comments_only_for_authorised_creators(stub_extract):
    entries = [E("instagram", "star", account_id="1784")]
    manifest, seen, _ = stub_extract("instagram", ig_responder, entries, instagram_user_id="17841")
    insights = [s for s in seen if s.path.endswith("/insights")]
    # first sight: 90 days -> all three posts get insights
    assert sorted(s.path for s in insights) == ["/m1/insights", "/m2/insights", "/m3/insights"]
    assert {s.query["metric"] for s in insights} == {"views,reach,saved,shares,total_interactions"}
    # comments only for posts of the last 7 days
    assert [s.path for s in seen if s.path.endswith("/comments")] == ["/m1/comments"]
    assert manifest["entities"]["post_insights"]["landed"] == 3
    assert manifest["entities"]["comments"]["landed"] == 1


def test_instagram_unknown_handle_fails_that_account_only(stub_extract):
    entries = [E("instagram", "ghost"), E("instagram", "star")]
    manifest, _, _ = stub_extract("instagram", ig_responder, entries, instagram_user_id="17841")
    assert manifest["status"] == "partial"
    assert [f["account"] for f in manifest["accounts"]["failed"]] == ["@ghost (cr_ghost)"]
    assert "110" in manifest["accounts"]["failed"][0]["error"]
    assert manifest["accounts"]["ok"] == 1 and manifest["entities"]["posts"]["landed"] == 3


# --- Facebook ---------------------------------------------------------------------------


def test_facebook_windows_span_at_most_90_days_and_follow_paging_next(stub_extract):
    calls = {"posts": 0}

    def responder(seen: Seen) -> Reply:
        if seen.path == "/pg1":
            return Reply(200, {"id": "pg1", "name": "Page", "fan_count": 10})
        if seen.path == "/pg1/posts":
            calls["posts"] += 1
            if seen.query.get("after") == "2":
                return Reply(
                    200, {"data": [{"id": "pg1_2", "created_time": iso(50)}], "paging": {}}
                )
            # as the docs show it: the real host, a version and our token in the URL
            nxt = "https://graph.facebook.com/v24.0/pg1/posts?after=2&limit=100&access_token=tok-stub-000"
            return Reply(
                200, {"data": [{"id": "pg1_1", "created_time": iso(2)}], "paging": {"next": nxt}}
            )
        return Reply(200, {"data": []})

    manifest, seen, _ = stub_extract("facebook", responder, [E("facebook", "pg", account_id="pg1")])
    first = next(s for s in seen if s.path == "/pg1/posts")
    since, until = int(first.query["since"]), int(first.query["until"])
    assert until == int(END.timestamp()) and until - since <= 90 * 86400
    assert manifest["entities"]["posts"]["landed"] == 2  # the next page came from our host
    assert [s.path for s in seen if s.path.endswith("/comments")] == ["/pg1_1/comments"]


# --- TikTok -----------------------------------------------------------------------------


def test_tiktok_first_sight_splits_90_days_into_30_day_queries_and_pages_with_search_id(
    stub_extract,
):
    def responder(seen: Seen) -> Reply:
        ok = {"code": "ok", "message": "", "log_id": "x"}
        if "user/info" in seen.path:
            if seen.body["username"] == "gone":
                return Reply(
                    200,
                    {
                        "data": {},
                        "error": {
                            "code": "invalid_params",
                            "message": "user not found",
                            "log_id": "x",
                        },
                    },
                )
            return Reply(200, {"data": {"display_name": "T", "follower_count": 5}, "error": ok})
        if "video/query" in seen.path:
            if seen.body.get("cursor") == 100:
                return Reply(
                    200,
                    {
                        "data": {
                            "videos": [
                                {"id": 2, "create_time": int((END - timedelta(days=3)).timestamp())}
                            ],
                            "cursor": 101,
                            "has_more": False,
                            "search_id": "S1",
                        },
                        "error": ok,
                    },
                )
            if seen.body["end_date"] == RUN_DATE.strftime("%Y%m%d"):
                return Reply(
                    200,
                    {
                        "data": {
                            "videos": [
                                {"id": 1, "create_time": int((END - timedelta(days=1)).timestamp())}
                            ],
                            "cursor": 100,
                            "has_more": True,
                            "search_id": "S1",
                        },
                        "error": ok,
                    },
                )
            return Reply(
                200,
                {
                    "data": {"videos": [], "cursor": 0, "has_more": False, "search_id": "S2"},
                    "error": ok,
                },
            )
        return Reply(200, {"data": {"comments": [], "cursor": 0, "has_more": False}, "error": ok})

    manifest, seen, _ = stub_extract(
        "tiktok", responder, [E("tiktok", "gone"), E("tiktok", "dancer")]
    )
    queries = [s.body for s in seen if "video/query" in s.path]
    windows = {(q["start_date"], q["end_date"]) for q in queries}
    assert len(windows) == 3  # 90 days in 30-day windows
    for lo, hi in windows:
        span = datetime.strptime(hi, "%Y%m%d") - datetime.strptime(lo, "%Y%m%d")
        assert span.days <= 29
    assert min(lo for lo, _ in windows) == (RUN_DATE - timedelta(days=89)).strftime("%Y%m%d")
    second = [q for q in queries if q.get("cursor") == 100]
    assert second and second[0]["search_id"] == "S1"
    assert manifest["entities"]["posts"]["landed"] == 2
    assert manifest["accounts"]["failed"][0]["account"] == "@gone (cr_gone)"
    assert "invalid_params" in manifest["accounts"]["failed"][0]["error"]
    comment_calls = [s.body["video_id"] for s in seen if "comment/list" in s.path]
    assert sorted(comment_calls) == [1, 2]


# --- YouTube ----------------------------------------------------------------------------


def yt_channels(ids: list[str]) -> dict:
    return {
        "items": [
            {
                "id": i,
                "statistics": {"subscriberCount": "1", "viewCount": "1", "videoCount": "1"},
                "contentDetails": {"relatedPlaylists": {"uploads": "UU" + i}},
            }
            for i in ids
        ]
    }


def test_youtube_batches_channels_by_50_and_quota_stops_the_platform(stub_extract):
    entries = [E("youtube", f"ch{i}", account_id=f"C{i}") for i in range(60)]

    def responder(seen: Seen) -> Reply:
        if seen.path == "/channels":
            return Reply(200, yt_channels(seen.query["id"].split(",")))
        if seen.path == "/playlistItems":
            if seen.query["playlistId"] == "UUC52":  # in the second wave of 50 accounts
                return Reply(
                    403,
                    {
                        "error": {
                            "code": 403,
                            "message": "quota",
                            "errors": [{"reason": "quotaExceeded", "domain": "youtube.quota"}],
                        }
                    },
                )
            return Reply(200, {"items": []})
        return Reply(200, {"items": []})

    manifest, seen, _ = stub_extract("youtube", responder, entries)
    batches = [len(s.query["id"].split(",")) for s in seen if s.path == "/channels"]
    assert batches == [50, 10]
    assert manifest["status"] == "partial" and "quota" in manifest["reason"]
    # the first wave landed whole; the second stopped at C52: nothing sent after the hit
    assert manifest["accounts"]["ok"] == 50
    assert len(manifest["accounts"]["skipped"]) == 10
    assert len([s for s in seen if s.path == "/playlistItems"]) == 53


def test_youtube_stops_paging_uploads_at_the_window_and_treats_comments_disabled_as_none(
    stub_extract,
):
    def responder(seen: Seen) -> Reply:
        if seen.path == "/channels":
            return Reply(200, yt_channels(["C1"]))
        if seen.path == "/playlistItems":
            items = [
                {
                    "contentDetails": {
                        "videoId": "new",
                        "videoPublishedAt": iso(1, "%Y-%m-%dT%H:%M:%SZ"),
                    }
                },
                {
                    "contentDetails": {
                        "videoId": "old",
                        "videoPublishedAt": iso(120, "%Y-%m-%dT%H:%M:%SZ"),
                    }
                },
            ]
            return Reply(200, {"items": items, "nextPageToken": "more"})
        if seen.path == "/videos":
            return Reply(
                200,
                {
                    "items": [
                        {
                            "id": "new",
                            "snippet": {"publishedAt": iso(1, "%Y-%m-%dT%H:%M:%SZ")},
                            "statistics": {"viewCount": "3", "commentCount": "2"},
                        }
                    ]
                },
            )
        return Reply(
            403,
            {
                "error": {
                    "code": 403,
                    "message": "disabled",
                    "errors": [{"reason": "commentsDisabled"}],
                }
            },
        )

    manifest, seen, _ = stub_extract("youtube", responder, [E("youtube", "one", account_id="C1")])
    assert len([s for s in seen if s.path == "/playlistItems"]) == 1
    assert [s.query["id"] for s in seen if s.path == "/videos"] == ["new"]
    assert manifest["status"] == "ok" and manifest["accounts"]["failed"] == []
    assert manifest["entities"]["comments"]["landed"] == 0


# --- X ----------------------------------------------------------------------------------


def test_x_unknown_users_fail_and_recent_search_403_is_reported_once(stub_extract):
    def responder(seen: Seen) -> Reply:
        if seen.path == "/2/users/by":
            names = seen.query["usernames"].split(",")
            data = [
                {"id": f"id-{n}", "username": n, "public_metrics": {"followers_count": 3}}
                for n in names
                if n != "ghost"
            ]
            return Reply(
                200,
                {
                    "data": data,
                    "errors": [
                        {
                            "value": "ghost",
                            "detail": "Could not find user with usernames: [ghost].",
                            "title": "Not Found Error",
                        }
                    ],
                },
            )
        if seen.path.endswith("/tweets"):
            return Reply(
                200,
                {
                    "data": [
                        {"id": f"t{i}-{seen.path}", "created_at": iso(1, "%Y-%m-%dT%H:%M:%S.000Z")}
                        for i in range(2)
                    ],
                    "meta": {"result_count": 2},
                },
            )
        return Reply(
            403,
            {
                "title": "Client Forbidden",
                "detail": "needs Basic tier",
                "type": "https://api.x.com/2/problems/client-forbidden",
            },
        )

    entries = [E("x", "ghost"), E("x", "amy"), E("x", "ben", account_id="999")]
    manifest, seen, _ = stub_extract("x", responder, entries)
    assert [f["account"] for f in manifest["accounts"]["failed"]] == ["@ghost (cr_ghost)"]
    assert "Could not find user" in manifest["accounts"]["failed"][0]["error"]
    assert {s.path for s in seen if s.path.endswith("/tweets")} == {
        "/2/users/id-amy/tweets",
        "/2/users/999/tweets",
    }
    assert len([s for s in seen if s.path == "/2/tweets/search/recent"]) == 1
    assert manifest["accounts"]["ok"] == 2 and manifest["entities"]["comments"]["landed"] == 0
    assert any("replies (comments) skipped" in w for w in manifest["warnings"])


def test_x_users_by_batches_of_100(stub_extract):
    def responder(seen: Seen) -> Reply:
        if seen.path == "/2/users/by":
            return Reply(
                200,
                {"data": [{"id": n, "username": n} for n in seen.query["usernames"].split(",")]},
            )
        return Reply(200, {"meta": {"result_count": 0}})

    _, seen, _ = stub_extract("x", responder, [E("x", f"u{i}") for i in range(150)])
    assert [len(s.query["usernames"].split(",")) for s in seen if s.path == "/2/users/by"] == [
        100,
        50,
    ]


# --- trailing window --------------------------------------------------------------------


def test_second_date_pulls_30_days_after_a_first_sight_of_90(stub_extract):
    def responder(seen: Seen) -> Reply:
        if seen.path == "/2/users/by":
            return Reply(200, {"data": [{"id": "1", "username": "amy"}]})
        return Reply(200, {"meta": {"result_count": 0}})

    entries = [E("x", "amy")]
    m1, seen1, _ = stub_extract("x", responder, entries)
    m2, seen2, _ = stub_extract(
        "x", responder, entries, run_date=RUN_DATE + timedelta(days=1), run_id="r2"
    )
    start1 = next(s.query["start_time"] for s in seen1 if s.path.endswith("/tweets"))
    start2 = next(s.query["start_time"] for s in seen2 if s.path.endswith("/tweets"))
    assert start1 == (END - timedelta(days=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert start2 == (END + timedelta(days=1) - timedelta(days=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert m1["accounts"]["first_sight"] == ["cr_amy:amy"] and m2["accounts"]["first_sight"] == []


def test_x_usage_cap_stops_the_platform_for_the_day_but_returns_a_manifest(stub_extract):
    def responder(seen: Seen) -> Reply:
        if seen.path == "/2/users/by":
            return Reply(
                200,
                {"data": [{"id": n, "username": n} for n in seen.query["usernames"].split(",")]},
            )
        capped = {
            "title": "UsageCapExceeded",
            "detail": "Usage cap exceeded: Daily project cap",
            "type": "https://api.x.com/2/problems/usage-capped",
        }
        return Reply(429, capped, {"x-rate-limit-reset": "1", "x-rate-limit-remaining": "0"})

    manifest, seen, _ = stub_extract("x", responder, [E("x", "a"), E("x", "b"), E("x", "c")])
    assert manifest["status"] == "partial" and "quota exceeded" in manifest["reason"]
    assert len(manifest["accounts"]["skipped"]) == 3
    assert len([s for s in seen if s.path.endswith("/tweets")]) == 1  # not retried, not repeated


def test_persistent_server_errors_stop_the_platform_after_three_accounts(stub_extract):
    def responder(seen: Seen) -> Reply:
        return Reply(503, {"error": {"code": 2, "message": "Service temporarily unavailable"}})

    entries = [E("facebook", f"p{i}", account_id=f"P{i}") for i in range(6)]
    manifest, seen, _ = stub_extract("facebook", responder, entries)
    assert len(manifest["accounts"]["failed"]) == 3 and len(manifest["accounts"]["skipped"]) == 3
    assert "in a row exhausted their retries" in manifest["reason"]
    assert manifest["status"] == "failed"  # nothing landed and no quota to blame
    assert len(seen) == 3 * 3  # FAST policy: 3 attempts for each of the first 3 accounts


def test_comments_stop_at_500_per_post_and_progress_is_reported(stub_extract):
    def responder(seen: Seen) -> Reply:
        if seen.path == "/channels":
            return Reply(200, yt_channels(["C1"]))
        if seen.path == "/playlistItems":
            item = {
                "contentDetails": {
                    "videoId": "v1",
                    "videoPublishedAt": iso(1, "%Y-%m-%dT%H:%M:%SZ"),
                }
            }
            return Reply(200, {"items": [item]})
        if seen.path == "/videos":
            return Reply(
                200,
                {
                    "items": [
                        {
                            "id": "v1",
                            "snippet": {"publishedAt": iso(1, "%Y-%m-%dT%H:%M:%SZ")},
                            "statistics": {"commentCount": "600"},
                        }
                    ]
                },
            )
        page = int(seen.query.get("pageToken") or 0)

        def top(i):
            return {
                "id": f"c{page}-{i}",
                "snippet": {
                    "videoId": "v1",
                    "textDisplay": "x",
                    "publishedAt": iso(0.5, "%Y-%m-%dT%H:%M:%SZ"),
                },
            }

        items = [{"id": f"t{page}-{i}", "snippet": {"topLevelComment": top(i)}} for i in range(100)]
        return Reply(200, {"items": items, "nextPageToken": str(page + 1)})  # never ends

    events: list[dict] = []
    manifest, seen, _ = stub_extract(
        "youtube", responder, [E("youtube", "one", account_id="C1")], progress=events.append
    )
    assert len([s for s in seen if s.path == "/commentThreads"]) == 5
    assert manifest["entities"]["comments"]["landed"] == 500
    done = [e for e in events if e["event"] == "account"]
    assert (
        done[-1]["accounts_done"] == 1
        and done[-1]["accounts_total"] == 1
        and done[-1]["records"] == 502
    )
    assert events[-1]["event"] == "done" and events[-1]["summary"].startswith(
        "youtube 2026-11-24: ok"
    )
    assert events[-1]["accounts_done"] == events[-1]["accounts_total"] == 1


def test_a_renamed_metric_is_reported_as_schema_drift_not_silently_null(stub_extract):
    def responder(seen: Seen) -> Reply:
        if seen.path == "/2/users/by":
            return Reply(
                200,
                {
                    "data": [
                        {"id": "1", "username": "amy", "public_metrics": {"followers_count": 5}}
                    ]
                },
            )
        if seen.path.endswith("/tweets"):
            tweets = [
                {
                    "id": f"t{i}",
                    "created_at": iso(20, "%Y-%m-%dT%H:%M:%S.000Z"),
                    "public_metrics": {"likes_count": 3, "reply_count": 1},
                }
                for i in range(12)
            ]
            return Reply(200, {"data": tweets, "meta": {"result_count": 12}})
        return Reply(200, {"meta": {"result_count": 0}})

    manifest, _, _ = stub_extract("x", responder, [E("x", "amy")])
    assert manifest["field_checks"]["posts"] == {
        "records": 12,
        "absent": {"public_metrics.like_count": 12},
    }
    assert manifest["status"] == "partial"
    assert "`public_metrics.like_count` absent in 12 of 12 records" in manifest["reason"]
    assert manifest["entities"]["posts"]["landed"] == 12  # the records still land, like NULL


def test_a_malformed_handle_fails_alone_instead_of_breaking_its_batch(stub_extract):
    def responder(seen: Seen) -> Reply:
        if seen.path == "/2/users/by":
            names = seen.query["usernames"].split(",")
            if any(not n.replace("_", "").isalnum() for n in names):
                return Reply(400, {"title": "Invalid Request", "detail": "usernames is not valid"})
            return Reply(200, {"data": [{"id": "7", "username": n} for n in names]})
        return Reply(200, {"meta": {"result_count": 0}})

    manifest, seen, _ = stub_extract("x", responder, [E("x", "amy"), E("x", "bad handle!")])
    assert manifest["accounts"]["ok"] == 1
    (failure,) = manifest["accounts"]["failed"]
    assert (
        "invalid x handle 'bad handle!'" in failure["error"]
        and "fix the roster" in failure["error"]
    )
    assert [s.query["usernames"] for s in seen if s.path == "/2/users/by"] == ["amy"]
