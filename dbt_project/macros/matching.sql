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
