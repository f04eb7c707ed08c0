{#- A creator's niche against a brand's category (docs/matching.md): 'same', 'adjacent' (a row
    of seed niche_adjacency, joined as `adjacency` on niche = category and adjacent_niche =
    the creator's niche), 'unrelated', or NULL when either is unknown or the category is not a
    niche of the seed (`known_category`: the seed's niches, joined on niche = category). -#}
{% macro niche_relation(creator_niche, brand_category, adjacency='adjacency', known='known_category') -%}
    case
        when nullif({{ creator_niche }}, '') is null or nullif({{ brand_category }}, '') is null then null
        when lower({{ creator_niche }}) = lower({{ brand_category }}) then 'same'
        when {{ adjacency }}.niche is not null then 'adjacent'
        when {{ known }}.niche is null then null
        else 'unrelated'
    end
{%- endmacro %}

{#- 100 when the creator's country is one of the brand's target countries, 0 when not, NULL
    when either is unknown. -#}
{% macro country_match(creator_country, target_countries) -%}
    case
        when {{ creator_country }} is null or {{ target_countries }} is null
            or {{ list_length(target_countries) }} = 0 then null
        when {{ list_has(target_countries, creator_country) }} then 100.0
        else 0.0
    end
{%- endmacro %}

{#- `ts` falls in the `days` days before the cutoff date `cutoff` (00:00 UTC): the window a
    matching feature as of the cutoff reads, nothing on or after the cutoff. -#}
{% macro in_window_before(ts, cutoff, days) -%}
    {{ ts }} < cast({{ cutoff }} as timestamp)
    and {{ ts }} >= cast({{ cutoff }} as timestamp) - {{ days_interval(days) }}
{%- endmacro %}

{#- int_account_features_at_cutoff's records of each cutoff's window: `columns` of the CTEs
    `contract_<records>` joined to `contract_cutoffs`, and of `today_<records>` to
    `today_cutoffs` (the model picks each kind's records its own way), alias `records`. -#}
{% macro records_in_cutoff_windows(records, columns, days) -%}
    {%- for kind in ['contract', 'today'] %}
    select cutoffs.*, {{ columns }}
    from {{ kind }}_cutoffs as cutoffs
    inner join {{ kind }}_{{ records }} as records
        on cutoffs.platform = records.platform
        and cutoffs.creator_id = records.creator_id
        and {{ in_window_before('records.published_at', 'cutoffs.cutoff_date', days) }}
    {% if not loop.last %}union all{% endif %}
    {%- endfor %}
{%- endmacro %}
