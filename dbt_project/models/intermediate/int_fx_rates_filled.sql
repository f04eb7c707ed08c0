-- One USD rate per currency and calendar date: the rate of that date, else the latest rate of
-- the fx_fallback_days (7) days before it; dates with neither are absent (the row using them
-- gets a NULL amount, never a guessed one).
with rates as (
    select currency, rate_date, usd_per_unit from {{ ref('stg_exports__fx_rates') }}
),

bounds as (
    select currency, min(rate_date) as first_date, max(rate_date) + {{ var('fx_fallback_days') }} as last_date
    from rates
    group by currency
),

calendar as (
    select currency, cast(unnest(generate_series(first_date, last_date, interval 1 day)) as date) as date
    from bounds
),

filled as (
    select
        calendar.currency,
        calendar.date,
        rates.rate_date,
        rates.usd_per_unit
    from calendar
    asof left join rates
        on calendar.currency = rates.currency and calendar.date >= rates.rate_date
)

select
    currency,
    date,
    rate_date,
    usd_per_unit,
    date - rate_date as days_since_rate
from filled
where rate_date is not null
    and date - rate_date <= {{ var('fx_fallback_days') }}
