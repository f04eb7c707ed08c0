-- Comments published up to end of D with their sentiment and the flags behind comment
-- authenticity: emoji-only (no letter or digit), generic (a seed phrase once @handles, emoji and
-- punctuation are stripped) and the normalised text duplicates are judged on downstream (macro
-- comment_is_spam: per commenter where the platform names one).
-- Incremental: a daily run normalises only the comments (re)seen in [from_date, D].
{{ config(
    on_schema_change='fail',
    **incremental_by_key(['platform', 'comment_id'], key_time='published_at')
) }}

with comments as (
    select *
    from {{ ref('int_comments_unioned') }}
    where published_at <= {{ end_of_day(run_date()) }}
    {% if is_incremental() %}
        and last_seen_date >= {{ from_date() }}
    {% endif %}
),

{% if is_incremental() %}
{#- A daily build looks its comments' scores up among those written lately first, then among
    the rest only for the comments not found there (dbt_project.yml lookups: a search order,
    any value gives the same rows). It keeps the lookup off the year of scores (agency at 365
    days, the select: about 7 s, as at 30 days, against 8-9 s when every score was searched);
    when every comment is found among the recent scores the engine skips the older ones. -#}
{%- set recent_scores_from = from_date() ~ ' - ' ~ var('lookups')['recent_scores_days'] %}
recent_sentiment as (
    select sentiment.*
    from {{ ref('int_comment_sentiment') }} as sentiment
    semi join comments
        on sentiment.platform = comments.platform and sentiment.comment_id = comments.comment_id
    where sentiment.scored_on >= {{ recent_scores_from }}
),

without_recent_score as (
    select comments.platform, comments.comment_id
    from comments
    anti join recent_sentiment as found
        on comments.platform = found.platform and comments.comment_id = found.comment_id
),

sentiment as (
    select * from recent_sentiment
    union all
    select sentiment.*
    from {{ ref('int_comment_sentiment') }} as sentiment
    semi join without_recent_score
        on sentiment.platform = without_recent_score.platform
        and sentiment.comment_id = without_recent_score.comment_id
    where sentiment.scored_on < {{ recent_scores_from }} or sentiment.scored_on is null
),
{% else %}
sentiment as (
    select * from {{ ref('int_comment_sentiment') }}
),
{% endif %}

generic as (
    select lower(trim(phrase)) as phrase from {{ ref('generic_comment_phrases') }}
),

normalised as (
    select
        comments.*,
        sentiment.language_guess,
        coalesce(sentiment.is_scored, false) as is_scored,
        sentiment.compound,
        -- lower-case, @handles (a reply's "@maria_12 nice pic" is "nice pic") removed, and every
        -- run of characters that are not letters or digits (spaces, emoji, punctuation) one
        -- space: one pass where removing them and collapsing the spaces took two (a third of
        -- this model's daily time at agency size, 4.5M comments)
        trim({{ regex_replace_all(
            regex_replace_all("lower(coalesce(comments.comment_text, ''))", '(^|\s)@[\w.]+', ' '),
            '[^\pL\pN]+', ' '
        ) }}) as normalised_text
    from comments
    left join sentiment
        on comments.platform = sentiment.platform and comments.comment_id = sentiment.comment_id
)

select
    normalised.*,
    normalised.normalised_text = '' as is_emoji_only,
    generic.phrase is not null as is_generic
from normalised
left join generic on normalised.normalised_text = generic.phrase
