{#- Comment authenticity (docs/metrics.md: audience_quality_score, component 3). A duplicate is the
    same normalised text more than once within `partition_by` (an account's window, a campaign's
    posts, a month) from the same commenter where the platform gives a commenter id (X author_id,
    YouTube authorChannelId, stored hashed), or, on platforms without one, more than once at all:
    two people writing "love this recipe" are two genuine comments, one account posting it
    twice is a bot. Reads columns author_hash and normalised_text (int_comment_features). -#}
{% macro comment_is_duplicate(partition_by) -%}
    (count(*) over (partition by {{ partition_by }}, author_hash, normalised_text) > 1)
{%- endmacro %}

{#- Spam or generic: emoji-only, a generic seed phrase, or a duplicate. Such comments are left
    out of sentiment and counted as spam_comments. -#}
{% macro comment_is_spam(partition_by) -%}
    (is_emoji_only or is_generic or {{ comment_is_duplicate(partition_by) }})
{%- endmacro %}
