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
    select currency, {{ date_series('first_date', 'last_date') }} as date
    from bounds
),

filled as (
    -- the latest rate on or before each date, among the fx_fallback_days before it (an older
    -- one is never used)
    {%- set candidates -%}
    select
        calendar.currency,
        calendar.date,
        rates.rate_date,
        rates.usd_per_unit
    from calendar
    inner join rates
        on calendar.currency = rates.currency
        and rates.rate_date <= calendar.date
        and rates.rate_date >= calendar.date - {{ var('fx_fallback_days') }}
    {%- endset %}
    {{ keep_first(candidates, 'currency, date', 'rate_date desc') }}
)

select
    currency,
    date,
    rate_date,
    usd_per_unit,
    {{ days_between('rate_date', 'date') }} as days_since_rate
from filled
where rate_date is not null
    and {{ days_between('rate_date', 'date') }} <= {{ var('fx_fallback_days') }}
