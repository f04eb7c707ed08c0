{#- No dbt packages (no hub access): the one test we need from dbt_utils, written here.

    Keys are first grouped by their 64-bit hash, then only the rows of a hash seen twice are
    grouped by value. Grouping hundreds of millions of string keys by value does not fit
    DuckDB's memory limit (a full refresh over a year of comments, (comment_id, run_id):
    out of memory at 2.5 GB, bench/README.md); their hashes do (8 bytes a row), and the
    second pass compares values, so a hash collision is never reported as a duplicate. -#}
{% test unique_combination_of_columns(model, combination_of_columns) %}
{%- set columns = combination_of_columns | join(', ') %}
with seen_twice as (
    select key_hash
    from (select {{ hash64(columns) }} as key_hash from {{ model }}) hashed
    group by key_hash
    having count(*) > 1
)

select {{ columns }}, count(*) as n
from {{ model }}
where {{ hash64(columns) }} in (select key_hash from seen_twice)
group by {{ columns }}
having count(*) > 1
{% endtest %}
