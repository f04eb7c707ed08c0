{{ config(
    on_schema_change='fail',
    **incremental_by_key(['platform', 'comment_id'], key_time='published_at')
) }}
-- One row per comment (platform x comment_id), latest version seen; text stays in the warehouse.


-- The latest version of each comment = the largest (snapshot_date, extracted_at, run_id): a
-- run lands a comment once (ingestion/parsing.py), so it names exactly one row. Found on the
-- keys alone, then joined back: a GROUP BY carrying every column (text included) spilled
-- ~24 GB at agency size, a window over them 25 GB; this holds one small row per comment. One
-- platform at a time: all five platforms' keys in one join ran out of memory (2.5 GB) on 9M
-- comments landed in 5 days of agency history; the largest platform alone holds a third.
-- `unioned` is not materialized: read twice (keys, then the rows they pick), never held whole.
{% for p in var('platforms') %}
{% if not loop.first %}union all{% endif %}
select * from (
    with unioned as {{ not_materialized() }} (
        select platform, comment_id, post_id, creator_id, account_id, comment_text, published_at,
               like_count, reply_count, author_hash, snapshot_date, extracted_at, run_id
        from {{ ref('stg_' ~ p ~ '__comments') }}
        where {{ incremental_landing_scope('landing_date') }}
    ),

    latest as (
        select
            platform,
            comment_id,
            max({{ struct_of(['snapshot_date', 'extracted_at', 'run_id']) }}) as version
        from unioned
        group by platform, comment_id
    )

    select
        u.platform,
        u.comment_id,
        u.post_id,
        u.creator_id,
        u.account_id,
        u.comment_text,
        u.published_at,
        u.like_count,
        u.reply_count,
        u.author_hash,
        u.snapshot_date as last_seen_date
    from unioned as u
    inner join latest as l
        on u.platform = l.platform
        and u.comment_id = l.comment_id
        -- null-safe: a version with a NULL part still finds its row (never silently dropped)
        and u.snapshot_date is not distinct from l.version.snapshot_date
        and u.extracted_at is not distinct from l.version.extracted_at
        and u.run_id is not distinct from l.version.run_id
) as {{ p }}_comments
{% endfor %}
