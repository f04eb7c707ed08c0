{{ stg_comments('youtube') }}
