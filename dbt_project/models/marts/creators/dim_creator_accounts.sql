{{ config(tags=['published']) }}
-- One row per creator account: the roster rows, completed with what the platform reported
-- (the account id an extractor resolved, the latest handle and display name, first/last seen).
with roster as (
    select * from {{ ref('stg_exports__roster') }}
),

snapshots as (
    select * from {{ ref('int_account_snapshots_unioned') }}
    where snapshot_date <= {{ run_date() }}
),

starts as (
    select * from {{ ref('int_account_starts_dated') }}
),

latest as (
    select
        platform,
        creator_id,
        arg_max(account_id, snapshot_date) as account_id,
        arg_max(handle, snapshot_date) as handle,
        arg_max(display_name, snapshot_date) as display_name,
        min(snapshot_date) as first_seen_date,
        max(snapshot_date) as last_seen_date
    from snapshots
    group by all
)

select
    cast(roster.creator_id as varchar) as creator_id,
    cast(roster.platform as varchar) as platform,
    cast(coalesce(latest.account_id, roster.account_id) as varchar) as account_id,
    cast(coalesce(roster.handle, latest.handle) as varchar) as handle,
    cast(coalesce(latest.display_name, roster.display_name) as varchar) as display_name,
    cast(latest.first_seen_date as date) as first_seen_date,
    cast(latest.last_seen_date as date) as last_seen_date,
    cast(starts.started_on as date) as started_on,
    cast(starts.started_by as varchar) as started_by,
    cast(latest.last_seen_date as date) as data_as_of
from roster
left join latest on roster.creator_id = latest.creator_id and roster.platform = latest.platform
left join starts on roster.creator_id = starts.creator_id and roster.platform = starts.platform
