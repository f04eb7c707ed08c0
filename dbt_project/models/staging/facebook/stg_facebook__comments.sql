{{ stg_comments('facebook') }}
