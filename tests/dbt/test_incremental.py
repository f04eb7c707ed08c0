"""Daily incremental runs must give what one full refresh gives; an absent platform still builds.

The daily home builds only the incremental models and their parents (the rest are full
rebuilds of those), which keeps the dbt runs within the test budget. Two sequences: one
build per day, and a build that catches up several landed days at once (from_date) across a
month end (the month-end slice of int_account_metrics_as_of is then built incrementally).
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from dbt_landing_fixture import (
    ALL_PLATFORMS,
    BASELINE_DATE,
    DAILY_DATES,
    D,
    build_landing,
    ig1_comment,
    ts,
    write_api,
    write_export,
)
from table_parity import BUILD_STAMPS, KEPT_SLICES

from pipeline.transform import DbtResult, run_dbt

pytestmark = pytest.mark.integration

# The incremental models, compared row for row (YouTube is never extracted in the daily home).
# Every other model is a full rebuild from these, so equal inputs give equal marts.
INCREMENTAL = (
    "int_account_snapshots_unioned",
    "int_posts_unioned",
    "int_post_metrics_daily",
    "int_comments_unioned",
    "int_comment_sentiment",
    "int_comment_features",
    "int_post_metrics_latest",
    "int_account_metrics_as_of",
    "int_creator_months_posts_counted",
    "int_creator_months_sentiment_summed",
    "int_creator_months_aggregated",
    "fct_creator_daily",
    "int_post_words_counted",
    "int_brand_creator_topic_similarity",
    "int_account_features_at_cutoff",
    "int_campaign_comments_collected",
    "int_account_starts_dated",
)
# (run date, first landing date re-processed); None: the run creates the tables
SEQUENCES = {
    "daily": [(DAILY_DATES[0], None), (DAILY_DATES[1], DAILY_DATES[1]), (D, D)],
    "catch_up": [(BASELINE_DATE, None), (D, BASELINE_DATE + timedelta(days=1))],
}
DAILY_SELECTION = " ".join(f"+{model}" for model in INCREMENTAL)


def differences(con: duckdb.DuckDBPyConnection, table: str, where: str) -> list[tuple]:
    """Rows in one side and not the other. Doubles are compared at 9 decimals: DuckDB's
    parallel sums may order additions differently from run to run (noise in the 16th digit)."""
    columns = con.execute(f"describe full_refresh.{table}").fetchall()
    select = ", ".join(
        f"round({name}, 9) as {name}" if kind == "DOUBLE" else name
        for name, kind, *_ in columns
        if name not in BUILD_STAMPS
    )
    left = f"select {select} from full_refresh.{table} {where}"
    right = f"select {select} from daily.{table} {where}"
    return con.execute(
        f"(({left}) except all ({right})) union all (({right}) except all ({left}))"
    ).fetchall()


@pytest.mark.parametrize("sequence", sorted(SEQUENCES))
def test_incremental_runs_equal_a_full_refresh(
    sequence: str,
    built_home: tuple[Path, DbtResult],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    full_home, full_result = built_home
    assert full_result.ok, full_result.failures
    daily_home = tmp_path / "daily"
    build_landing(daily_home, platforms=tuple(p for p in ALL_PLATFORMS if p != "youtube"))
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "empty")  # models only: tests ran in built_home
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    for run_date, from_date in SEQUENCES[sequence]:
        result = run_dbt(daily_home, run_date, select=DAILY_SELECTION, from_date=from_date)
        assert result.ok, (run_date, result.failures)

    con = duckdb.connect()
    con.execute(f"attach '{full_home / 'warehouse.duckdb'}' as full_refresh (read_only)")
    con.execute(f"attach '{daily_home / 'warehouse.duckdb'}' as daily (read_only)")
    for table in INCREMENTAL:
        where = "where platform <> 'youtube'"
        if table in KEPT_SLICES:  # daily builds keep each run's slice
            key = KEPT_SLICES[table]
            where += f" and {key} in (select {key} from full_refresh.{table})"
        diff = differences(con, table, where)
        assert diff == [], (table, diff)
    slices = con.execute(
        "select distinct as_of_date from daily.int_account_metrics_as_of order by 1"
    ).fetchall()
    assert (BASELINE_DATE.replace(day=31),) in slices and (D,) in slices, slices
    # dbt-duckdb's temporary tables of the incremental Python models were dropped
    leftovers = "select count(*) from duckdb_tables() where contains(table_name, '__dbt_tmp')"
    assert con.execute(leftovers).fetchone() == (0,)
    # the never-extracted platform built as empty sources, not as an error
    assert con.execute("select count(*) from daily.stg_youtube__posts").fetchone() == (0,)
    con.close()


def test_a_full_refresh_over_a_long_history_built_a_month_at_a_time_equals_one_build(
    built_home: tuple[Path, DbtResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`kol transform --full-refresh` over more landed days than KOL_BUILD_MAX_DAYS:
    a full refresh through the first month's end, then an incremental build through D."""
    from pipeline import steps
    from pipeline.config import load
    from pipeline.published import PUBLISHED_TABLES
    from pipeline.state import read_state

    full_home, full_result = built_home
    assert full_result.ok, full_result.failures
    home = tmp_path / "monthly"
    build_landing(home)
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    settings = load({"KOL_HOME": str(home), "KOL_BUILD_MAX_DAYS": "10"}, env_file=None)
    said: list[str] = []
    out = steps.transform(settings, D, full_refresh=True, progress=said.append)
    # the fixture lands 2026-10-25..11-24: 31 days, over the limit of 10
    assert out["ok"] and out["builds_through"] == ["2026-10-31", D.isoformat()]
    assert "full refresh of 31 landed days (more than KOL_BUILD_MAX_DAYS=10)" in said[0]
    assert next(m for m in said if m.startswith("build ")) == "build 1/2: through 2026-10-31"
    assert read_state(settings)["built_through"] == D.isoformat()

    con = duckdb.connect()
    con.execute(f"attach '{full_home / 'warehouse.duckdb'}' as full_refresh (read_only)")
    con.execute(f"attach '{home / 'warehouse.duckdb'}' as daily (read_only)")
    for table in (*INCREMENTAL, *PUBLISHED_TABLES):
        assert differences(con, table, "") == [], table
    con.close()


def test_sentiment_rows_carry_the_build_that_scored_them_and_an_older_table_gains_the_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """scored_on scopes a daily build's data tests on int_comment_sentiment to the rows it
    scored; a warehouse built before the column existed gets it added (older rows NULL), and
    one from before published_at gets its comments' creation times."""
    home = tmp_path / "home"
    build_landing(home)
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    first, second = DAILY_DATES[0], DAILY_DATES[1]
    assert run_dbt(home, first, select="+int_comment_sentiment", unit_tests=False).ok
    db = str(home / "warehouse.duckdb")
    with duckdb.connect(db) as con:
        before = con.execute("select count(*) from int_comment_sentiment").fetchone()[0]
        assert con.execute(
            "select count(*) from int_comment_sentiment where scored_on = ?", [first]
        ).fetchone() == (before,)
        # an old table
        con.execute("alter table int_comment_sentiment drop column scored_on")
        con.execute("alter table int_comment_sentiment drop column published_at")
    # one comment first seen on the second day (the fixture's comments are all seen on the first)
    day = home / "landing" / "records" / "comments" / "platform=instagram" / f"dt={second}"
    landed = pq.read_table(next(day.glob("*.parquet")))
    pq.write_table(
        landed.slice(0, 1).set_column(
            landed.schema.get_field_index("comment_id"), "comment_id", pa.array(["cm_new"])
        ),
        day / "part-new-comment.parquet",
    )
    # the model and its data tests, scoped to what this build scored
    result = run_dbt(
        home, second, select="+int_comment_sentiment", from_date=second, unit_tests=False
    )
    assert result.ok, result.failures
    with duckdb.connect(db, read_only=True) as con:
        counts = dict(
            con.execute(
                "select coalesce(scored_on::varchar, 'null'), count(*) "
                "from int_comment_sentiment group by all"
            ).fetchall()
        )
        dated = con.execute(
            "select count(*), count(s.published_at) from int_comment_sentiment as s "
            "inner join int_comments_unioned as c using (platform, comment_id) "
            "where s.published_at = c.published_at"
        ).fetchone()
    assert counts == {"null": before, second.isoformat(): 1}, counts
    assert dated == (before + 1, before + 1), dated
    # its uniqueness test ran on the rows this build scored only
    tests = home / "dbt" / "target" / "run" / "kol" / "models" / "intermediate"
    compiled = [p.read_text() for p in (tests / "int_comment_sentiment.yml").glob("*.sql")]
    assert len(compiled) == 3  # unique, accepted_values, value_between
    assert all(f"scored_on >= cast('{second}' as date)" in c for c in compiled)


def test_a_comment_re_seen_keeps_one_row_though_it_is_older_than_the_builds_other_comments(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The comment models' delete looks a build's keys up only among the stored comments
    created at or after the earliest one it rewrites (incremental_by_key's key_time). A comment
    made weeks before the fixture's others (published 11-21), re-seen each day with more likes,
    must still replace its stored row: one row, the last day's version, in both models. The
    bound is the earliest one as a literal (a constant prunes the stored blocks, a subquery
    does not)."""
    home = tmp_path / "home"
    build_landing(home, platforms=("instagram",))
    old = {**ig1_comment("cm_old", "Still the best post"), "published_at": ts(BASELINE_DATE)}
    for likes, day in enumerate(DAILY_DATES, start=1):
        write_api(home, "comments", "instagram", day, [{**old, "like_count": likes}], run="old")
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "empty")
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    for run_date, from_date in SEQUENCES["daily"]:
        result = run_dbt(
            home, run_date, select="+int_comment_features", from_date=from_date, unit_tests=False
        )
        assert result.ok, (run_date, result.failures)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        for table in ("int_comments_unioned", "int_comment_features"):
            rows = con.execute(
                f"select like_count, last_seen_date from {table} where comment_id = 'cm_old'"
            ).fetchall()
            assert rows == [(len(DAILY_DATES), D)], (table, rows)
            keys = con.execute(
                f"select count(*) - count(distinct (platform, comment_id)) from {table}"
            ).fetchone()
            assert keys == (0,), table
    merges = home / "dbt" / "target" / "run" / "kol" / "models" / "intermediate"
    for table in ("int_comments_unioned", "int_comment_features"):
        merge = (merges / f"{table}.sql").read_text()
        # the earliest comment rewritten: cm_old, published at BASELINE_DATE 12:00 (ts)
        bound = f"DBT_INTERNAL_DEST.published_at >= cast('{BASELINE_DATE.isoformat()} 12:00:00' as "
        assert bound in merge and "(select min(" not in merge, merge


def test_a_daily_build_tests_the_post_performance_rows_it_rewrote_and_catches_a_bad_one(
    built_home: tuple[Path, DbtResult], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """fct_post_performance is a view over every post ever seen; a daily build's data tests
    on it check the posts whose latest metrics the build rewrote (metrics_snapshot_date >=
    from_date; the gate checks every published row). An out-of-range EMV on a post last
    measured before from_date is not re-tested; the same on a post measured on D fails."""
    full_home, full_result = built_home
    assert full_result.ok, full_result.failures
    home = tmp_path / "home"
    shutil.copytree(full_home, home)
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    db = str(home / "warehouse.duckdb")
    way_too_many = "likes = 1e15::bigint"  # x 0.30 USD a like: 3e14 USD, over the 1e12 bound

    def spoil(last_measured: date) -> None:
        """One more post of D's latest metrics gets way too many likes, as last measured then."""
        with duckdb.connect(db) as con:
            post = con.execute(
                "select platform, post_id from int_post_metrics_latest where snapshot_date = ? "
                "order by all limit 1",
                [D],
            ).fetchone()
            con.execute(
                f"update int_post_metrics_latest set {way_too_many}, snapshot_date = ? "
                "where platform = ? and post_id = ?",
                [last_measured, *post],
            )

    def daily_build() -> DbtResult:
        return run_dbt(home, D, select="fct_post_performance", from_date=D, unit_tests=False)

    spoil(D - timedelta(days=3))
    assert daily_build().ok
    spoil(D)
    result = daily_build()
    assert not result.ok
    assert [f for f in result.failures if "value_between_fct_post_performance_emv_usd" in f]


def test_a_post_words_table_of_an_older_layout_is_recounted_to_this_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """int_post_words_counted matches stored posts on columns an older table may lack (its
    first layout kept an md5 of the text instead of text_hash): a daily build over such a table
    counts every window post again, takes this layout's columns and leaves the rows a full
    refresh gives, none of the old ones."""
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    home, full_home = tmp_path / "daily", tmp_path / "full"
    build_landing(home)
    shutil.copytree(home / "landing", full_home / "landing")
    first, second = DAILY_DATES[0], DAILY_DATES[1]
    select = "+int_post_words_counted"
    assert run_dbt(home, first, select=select, unit_tests=False).ok
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        posts = con.execute("select count(*) from int_post_words_counted").fetchone()[0]
        assert posts > 0
        con.execute("alter table int_post_words_counted drop column text_hash")
        con.execute("alter table int_post_words_counted add column text_md5 varchar")
        con.execute("update int_post_words_counted set text_md5 = 'old', counts = [0]")
    result = run_dbt(home, second, select=select, from_date=second, unit_tests=False)
    assert result.ok, result.failures
    assert run_dbt(full_home, second, select=select, unit_tests=False).ok
    con = duckdb.connect()
    con.execute(f"attach '{full_home / 'warehouse.duckdb'}' as full_refresh (read_only)")
    con.execute(f"attach '{home / 'warehouse.duckdb'}' as daily (read_only)")
    layout = [r[0] for r in con.execute("describe daily.int_post_words_counted").fetchall()]
    assert "text_hash" in layout and "text_md5" not in layout
    assert differences(con, "int_post_words_counted", "") == []
    assert con.execute(
        "select count(*) from daily.int_post_words_counted where counts = [0]"
    ).fetchone() == (0,)


def test_a_comment_scored_long_ago_or_before_scored_on_existed_keeps_its_score(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A daily build looks its comments' scores up among the recent ones first
    (int_comment_features); a re-seen comment whose score is older than that, or has no
    scored_on (a warehouse from before the column), must still get its own score, not NULL."""
    home = tmp_path / "home"
    build_landing(home, platforms=("instagram",))
    texts = {"cm_long_ago": "Loved the colours here", "cm_undated": "Not my style at all"}
    for day in DAILY_DATES[:2]:
        rows = [ig1_comment(comment_id, text) for comment_id, text in texts.items()]
        write_api(home, "comments", "instagram", day, rows, run="rescored")
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "empty")
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    first, second = DAILY_DATES[0], DAILY_DATES[1]
    assert run_dbt(home, first, select="+int_comment_features", unit_tests=False).ok
    db = str(home / "warehouse.duckdb")
    # scores that are not the ones VADER gives, dated a year back and undated
    # (the undated one's comment creation time unknown too: a score its comment no longer dates)
    marked = {
        "cm_long_ago": (0.4242, first - timedelta(days=365), "published_at"),
        "cm_undated": (-0.4242, None, "null"),
    }
    with duckdb.connect(db) as con:
        for comment_id, (compound, scored_on, published_at) in marked.items():
            con.execute(
                "update int_comment_sentiment set compound = ?, scored_on = ?, is_scored = true, "
                f"published_at = {published_at} where comment_id = ?",
                [compound, scored_on, comment_id],
            )
        recent = con.execute(
            "select count(*) from int_comment_sentiment where scored_on = ?", [first]
        ).fetchone()[0]
    assert recent > 0  # the fixture's other comments keep their recent scores
    result = run_dbt(
        home, second, select="+int_comment_features", from_date=second, unit_tests=False
    )
    assert result.ok, result.failures
    with duckdb.connect(db, read_only=True) as con:
        got = dict(
            con.execute(
                "select comment_id, compound from int_comment_features "
                "where comment_id in ('cm_long_ago', 'cm_undated') and last_seen_date = ?",
                [second],
            ).fetchall()
        )
        rescored = con.execute(
            "select count(*) from int_comment_sentiment where comment_id in "
            "('cm_long_ago', 'cm_undated')"
        ).fetchone()
    assert got == {"cm_long_ago": 0.4242, "cm_undated": -0.4242}, got
    assert rescored == (2,)  # found, not scored again


def _campaign_home(home: Path) -> None:
    """Instagram's landing, with cmp1 listing c1's ig2 from the first day and also ig1 from D
    (ig1's comments all landed before D are then looked up among the stored ones); ig2 has a
    comment seen only on the first day and one seen every day, ig1 one seen only on the first."""
    build_landing(home, platforms=("instagram",))
    for day in DAILY_DATES:
        listed = ["ig2", "ig1"] if day == D else ["ig2"]
        link = {"campaign_id": "cmp1", "creator_id": "c1", "platform": "instagram"}
        write_export(
            home,
            "campaign_creators",
            day,
            [{**link, "fee": 100.0, "currency": "USD", "post_ids": listed}],
        )
        rows = [{**ig1_comment("k_daily", "Great colours", author_hash="a1"), "post_id": "ig2"}]
        if day == DAILY_DATES[0]:
            rows += [
                {**ig1_comment("k_once", "Great colours", author_hash="a1"), "post_id": "ig2"},
                ig1_comment("cm_once", "So good", author_hash="a2"),
            ]
        write_api(home, "comments", "instagram", day, rows, run="campaign")


def test_campaign_comments_kept_day_by_day_equal_a_full_refresh(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """int_campaign_comments_collected keeps the attributed posts' comments from one build to
    the next: a comment seen only on the first day stays, and a post attributed on D brings
    the comments landed on earlier days (looked up from its first sighting). The campaign mart
    built on it equals a full refresh's, its spam judged over all of them."""
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "empty")
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    select = "+fct_campaign_creator_performance"
    daily, full = tmp_path / "daily", tmp_path / "full"
    for home in (daily, full):
        _campaign_home(home)
    for run_date, from_date in SEQUENCES["daily"]:
        result = run_dbt(daily, run_date, select=select, from_date=from_date, unit_tests=False)
        assert result.ok, (run_date, result.failures)
    compiled = next(
        (daily / "dbt" / "target" / "compiled").rglob("int_campaign_comments_collected.sql")
    )
    assert f"last_seen_date >= cast('{DAILY_DATES[0]}' as date)" in compiled.read_text()
    assert run_dbt(full, D, select=select, unit_tests=False).ok

    con = duckdb.connect()
    con.execute(f"attach '{full / 'warehouse.duckdb'}' as full_refresh (read_only)")
    con.execute(f"attach '{daily / 'warehouse.duckdb'}' as daily (read_only)")
    for table in ("int_campaign_comments_collected", "fct_campaign_creator_performance"):
        assert differences(con, table, "") == [], table
    kept = con.execute(
        "select post_id, list(comment_id order by comment_id) from daily.int_campaign_comments_collected "
        "where comment_id is not null group by post_id order by post_id"
    ).fetchall()
    assert kept == [
        ("ig1", ["cm1", "cm2", "cm3", "cm4", "cm5", "cm_once"]),
        ("ig2", ["k_daily", "k_once"]),
    ]
    # of the 8: cm4 and cm5 are the generic "nice pic", k_daily and k_once the same text from
    # the same commenter on cmp1's posts (4 spam); cm3 is Spanish, not scored; 3 scored
    spam = con.execute(
        "select spam_comments, scored_comments "
        "from daily.fct_campaign_creator_performance where campaign_id = 'cmp1'"
    ).fetchall()
    assert spam == [(4, 3)], spam
    con.close()


def test_a_post_first_seen_long_before_the_er_window_counts_once_its_publication_moves_into_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The D slice of int_account_metrics_as_of reads int_post_metrics_latest only from the
    earliest first sighting of the ER window's posts. A post first seen in May, whose
    publication time the platform now gives as two days before D, is in D's window: its
    first sighting is that bound, so its engagements count (3 ER posts, as a full refresh
    counts them), though every other kept row is months younger."""
    home = tmp_path / "home"
    build_landing(home, platforms=("instagram",))
    ig = {"creator_id": "c1", "account_id": "ig-1", "caption": "Throwback", "comments_count": 1}
    may = date(2026, 5, 1)
    write_api(
        home,
        "posts",
        "instagram",
        may,
        [{**ig, "post_id": "ig_old", "published_at": ts(may), "like_count": 10}],
        run="old",
    )
    moved = {**ig, "post_id": "ig_old", "published_at": ts(D - timedelta(days=2)), "like_count": 40}
    write_api(home, "posts", "instagram", D, [moved], run="moved")
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    select = "+int_account_metrics_as_of"
    for run_date, from_date in SEQUENCES["daily"]:
        result = run_dbt(home, run_date, select=select, from_date=from_date, unit_tests=False)
        assert result.ok, (run_date, result.failures)
    refreshed = tmp_path / "refreshed"
    shutil.copytree(home, refreshed, ignore=shutil.ignore_patterns("warehouse.duckdb*", "dbt"))
    assert run_dbt(refreshed, D, select=select, unit_tests=False).ok
    query = (
        "select er_posts, engagement_rate from int_account_metrics_as_of "
        "where as_of_date = ? and platform = 'instagram' and creator_id = 'c1'"
    )
    rows = []
    for folder in (home, refreshed):
        with duckdb.connect(str(folder / "warehouse.duckdb"), read_only=True) as con:
            rows.append(con.execute(query, [D]).fetchall())
    assert rows[0] == rows[1], rows
    assert rows[0][0][0] == 3, rows  # ig1, ig2 and ig_old
    compiled = home / "dbt" / "target" / "compiled" / "kol" / "models" / "intermediate"
    bound = f"first_seen_date >= cast('{may.isoformat()}' as date)"
    assert bound in (compiled / "int_account_metrics_as_of.sql").read_text()
