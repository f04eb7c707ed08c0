{{ stg_comments('x') }}
